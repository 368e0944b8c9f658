"""setAutoRenew and `availableActions`/`timeline` over the API: what the list offers is what
the mutation allows (SPEC §5, §8)."""

from __future__ import annotations

from billing_center.domain import models
from tests import factories
from tests.conftest import count_sql
from tests.factories import gid, gql

SET_AUTO_RENEW = """
mutation Set($input: SetAutoRenewInput!) {
  setAutoRenew(input: $input) {
    subscription { autoRenew version timeline { status } }
    userErrors { code field message }
  }
}
"""

ACTIONS = """
{ subscriptions(first: 100) { edges { node {
  availableActions { action allowed deadline code reason }
  timeline { at status description }
} } } }
"""


def _actions(body: dict, index: int = 0) -> dict:
    node = body["data"]["subscriptions"]["edges"][index]["node"]
    return {a["action"]: a for a in node["availableActions"]}


async def test_turning_auto_renew_off_changes_the_timeline_and_the_version(client, clock):
    org = await factories.sign_up(clock)
    subscription = await factories.add_subscription(org, clock)
    body = await gql(client, SET_AUTO_RENEW, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "autoRenew": False,
        "expectedVersion": subscription.version,
    }}, token=org.token)
    payload = body["data"]["setAutoRenew"]
    assert payload["userErrors"] == []
    assert payload["subscription"]["autoRenew"] is False
    assert payload["subscription"]["version"] == subscription.version + 1
    assert [e["status"] for e in payload["subscription"]["timeline"]] == ["EXPIRED", "DISABLED", "DELETED"]
    assert await models.AuditEvent.filter(action="subscription.auto_renew_set").count() == 1


async def test_a_stale_version_is_refused(client, clock):
    org = await factories.sign_up(clock)
    subscription = await factories.add_subscription(org, clock)
    body = await gql(client, SET_AUTO_RENEW, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "autoRenew": False, "expectedVersion": 99,
    }}, token=org.token)
    assert body["data"]["setAutoRenew"]["userErrors"][0]["code"] == "STATE_CHANGED"
    assert (await models.Subscription.get(id=subscription.id)).auto_renew is True


async def test_what_available_actions_refuses_the_mutation_refuses_with_the_same_code(client, clock):
    org = await factories.sign_up(clock)
    billing, billing_token = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    licensing, licensing_token = await factories.add_user(org, clock, "Lia", [models.Role.LICENSE_ADMIN])
    subscription = await factories.add_subscription(org, clock)
    for token in (org.token, billing_token, licensing_token):
        offered = _actions(await gql(client, ACTIONS, token=token))["TURN_OFF_AUTO_RENEW"]
        body = await gql(client, SET_AUTO_RENEW, {"input": {
            "subscriptionId": gid("Subscription", subscription.id), "autoRenew": False,
        }}, token=token)
        errors = body["data"]["setAutoRenew"]["userErrors"]
        if offered["allowed"]:
            assert errors == []
            await models.Subscription.filter(id=subscription.id).update(auto_renew=True)
        else:
            assert errors[0]["code"] == offered["code"]


async def test_available_actions_cost_the_same_for_1_and_30_subscriptions(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_subscription(org, clock)
    await factories.tokens_used_just_now(org, clock)
    with count_sql() as one:
        body = await gql(client, ACTIONS, token=org.token)
    assert _actions(body)["CANCEL"]["allowed"] is True
    for _ in range(29):
        await factories.add_subscription(org, clock)
    with count_sql() as thirty:
        body = await gql(client, ACTIONS, token=org.token)
    assert len(body["data"]["subscriptions"]["edges"]) == 30
    assert one.count == thirty.count
