"""Business events (SPEC §9, first part): every audited change writes an event in its own
transaction, numbered per tenant without gaps in commit order, read oldest first and
resumable; the billing engine's changes included."""

from __future__ import annotations

import asyncio

from billing_center.domain import models
from tests import factories
from tests.api.test_billing_engine import advance, at, buy, sandbox
from tests.factories import gid, gql

EVENTS = """
query Events($first: Int, $after: String, $afterSequence: Int, $types: [String!]) {
  events(first: $first, after: $after, afterSequence: $afterSequence, types: $types) {
    edges { cursor node { id sequence type occurredAt objectType objectId data detailsHidden
      actor { id } object { id ... on Subscription { status } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
AUTO_RENEW = """
mutation AutoRenew($input: SetAutoRenewInput!) { setAutoRenew(input: $input) { userErrors { code } } }
"""


async def _events(client, token, **variables) -> dict:
    body = await gql(client, EVENTS, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["events"]


async def _all_events(client, token) -> list[dict]:
    events, after = [], None
    while True:
        page = await _events(client, token, first=100, after=after)
        events += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return events
        after = page["pageInfo"]["endCursor"]


async def test_every_audited_change_has_its_event_numbered_without_gaps(client, clock):
    """A purchase, an auto-renew change and the engine's renewal, invoice and charge: the
    events match the audit entries one for one, numbered 1..n oldest first."""
    org = await sandbox(clock, at(2026, 1, 10, 9))
    subscription = await buy(client, org, "O365_E1", quantity=2)
    body = await gql(client, AUTO_RENEW, {"input": {"subscriptionId": gid("Subscription", subscription),
                                                     "autoRenew": False}}, token=org.token)
    assert body["data"]["setAutoRenew"]["userErrors"] == []
    body = await gql(client, AUTO_RENEW, {"input": {"subscriptionId": gid("Subscription", subscription),
                                                     "autoRenew": True}}, token=org.token)
    await advance(client, org, at(2026, 2, 11))

    events = await _all_events(client, org.token)
    audit = await models.AuditEvent.filter(tenant_id=org.tenant.id).order_by("id").values_list(
        "action", "object_type", "object_id")
    assert [(e["type"], e["objectType"], e["objectId"]) for e in events] == [
        (action, kind, gid(kind, pk)) for action, kind, pk in audit]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types.index("subscription.purchased") < types.index("subscription.renewed")
    assert "invoice.issued" in types and "invoice.paid" in types
    renewed = events[types.index("subscription.renewed")]
    assert renewed["actor"] is None  # the billing engine
    assert renewed["object"] == {"id": gid("Subscription", subscription), "status": "ACTIVE"}
    purchased = events[types.index("subscription.purchased")]
    assert purchased["actor"] == {"id": gid("User", org.admin.id)}
    # ids of other objects in `data` are global ids a script can pass to node(id:)
    product = await models.Product.get(sku="O365_E1")
    assert purchased["data"]["productId"] == gid("Product", product.id)
    assert purchased["data"]["quantity"] == 2


async def test_a_reader_resumes_after_a_cursor_or_a_sequence_number_and_filters_by_type(client, clock):
    org = await sandbox(clock, at(2026, 1, 10, 9))
    for _ in range(3):
        await buy(client, org, "O365_E1")
    first = await _events(client, org.token, first=2)
    assert [edge["node"]["sequence"] for edge in first["edges"]] == [1, 2]
    rest = await _events(client, org.token, first=100, after=first["pageInfo"]["endCursor"])
    by_sequence = await _events(client, org.token, first=100, afterSequence=2)
    assert [e["node"]["sequence"] for e in rest["edges"]] == [e["node"]["sequence"] for e in by_sequence["edges"]]
    assert rest["edges"][0]["node"]["sequence"] == 3
    purchases = await _events(client, org.token, first=100, types=["subscription.purchased"])
    assert len(purchases["edges"]) == 3
    assert {e["node"]["type"] for e in purchases["edges"]} == {"subscription.purchased"}
    body = await gql(client, EVENTS, {"after": first["pageInfo"]["endCursor"], "afterSequence": 2}, token=org.token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_events_are_for_the_tenants_admins_only_and_never_cross_tenants(client, clock):
    org = await sandbox(clock, at(2026, 1, 10, 9))
    await buy(client, org, "O365_E1")
    other = await factories.sign_up(clock, name="Other")
    theirs = [edge["node"] for edge in (await _events(client, other.token, first=100))["edges"]]
    assert [(e["sequence"], e["type"], e["objectId"]) for e in theirs] == [
        (1, "tenant.signed_up", gid("Tenant", other.tenant.id))]
    _, plain_token = await factories.add_user(org, clock, "Pat")
    body = await gql(client, EVENTS, {}, token=plain_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    event_id = (await _events(client, org.token))["edges"][0]["node"]["id"]
    body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": event_id}, token=other.token)
    assert body["data"]["node"] is None


async def test_fifty_concurrent_changes_of_one_tenant_number_their_events_in_commit_order(client, clock):
    """50 auto-renew changes at once (on PostgreSQL in parallel transactions): the numbers
    are 1..50 without gaps, and a reader polling meanwhile never sees a number before every
    smaller one is visible (no gap at any moment, so resuming after n misses nothing)."""
    org = await factories.sign_up(clock)
    ids = [(await factories.add_subscription(org, clock, quantity=1)).id for _ in range(50)]
    before = await models.Event.filter(tenant_id=org.tenant.id).count()  # the sign-up's
    done = asyncio.Event()
    seen_gaps: list[list[int]] = []

    async def change(subscription_id: int) -> None:
        body = await gql(client, AUTO_RENEW, {"input": {"subscriptionId": gid("Subscription", subscription_id),
                                                         "autoRenew": False}}, token=org.token)
        assert body["data"]["setAutoRenew"]["userErrors"] == []

    async def poll() -> None:
        while not done.is_set():
            sequences = await models.Event.filter(tenant_id=org.tenant.id).order_by("sequence").values_list(
                "sequence", flat=True)
            if sequences != list(range(1, len(sequences) + 1)):
                seen_gaps.append(sequences)
            await asyncio.sleep(0)

    poller = asyncio.create_task(poll())
    await asyncio.gather(*(change(subscription_id) for subscription_id in ids))
    done.set()
    await poller
    assert seen_gaps == []
    events = await models.Event.filter(tenant_id=org.tenant.id).order_by("sequence").values("sequence", "object_id")
    assert [e["sequence"] for e in events] == list(range(1, before + 51))
    assert sorted(e["object_id"] for e in events[before:]) == sorted(ids)
