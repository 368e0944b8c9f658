"""issueProductKeys and redeemProductKey (SPEC §5 Activate)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from billing_center.domain import models
from tests import factories
from tests.conftest import OPERATOR_TOKEN
from tests.factories import gid, gql

ISSUE = """
mutation Issue($input: IssueProductKeysInput!) { issueProductKeys(input: $input) { keys userErrors { code } } }
"""
REDEEM = """
mutation Redeem($input: RedeemProductKeyInput!) {
  redeemProductKey(input: $input) {
    replayed
    subscription { status purchaseChannel quantity commitmentTerm autoRenew product { sku } }
    userErrors { code field message retryAfter }
  }
}
"""


async def _issue(client, cloud="WORLDWIDE", **extra) -> str:
    product = await models.Product.get(sku="O365_E1")
    body = await gql(client, ISSUE, {"input": {"productId": gid("Product", product.id), "count": 1, "cloud": cloud,
                                               "quantity": 15, **extra}}, token=OPERATOR_TOKEN)
    [key] = body["data"]["issueProductKeys"]["keys"]
    return key


def _redeem(key: str, **extra) -> dict:
    return {"input": {"productKey": key, **extra}}


async def test_a_key_creates_a_prepaid_subscription_once_case_and_spaces_ignored(client, clock):
    org = await factories.sign_up(clock)
    key = await _issue(client)
    assert len(key) == 29 and key.count("-") == 4
    typed = " " + key.lower().replace("-", " ") + " "
    body = await gql(client, REDEEM, _redeem(typed), token=org.token)
    payload = body["data"]["redeemProductKey"]
    assert payload["userErrors"] == []
    assert payload["subscription"] == {"status": "ACTIVE", "purchaseChannel": "PRODUCT_KEY", "quantity": 15,
                                       "commitmentTerm": "ANNUAL", "autoRenew": False, "product": {"sku": "O365_E1"}}
    again = await gql(client, REDEEM, _redeem(key), token=org.token)
    assert again["data"]["redeemProductKey"]["userErrors"][0]["code"] == "PRODUCT_KEY_ALREADY_REDEEMED"
    assert await models.Subscription.all().count() == 1


async def test_distinct_errors_for_malformed_unknown_expired_and_wrong_cloud(client, clock):
    org = await factories.sign_up(clock)  # WORLDWIDE
    china = await _issue(client, cloud="CHINA_21VIANET")
    expired = await _issue(client)
    await models.ProductKey.filter(key=expired.replace("-", "")).update(expires_at=clock.now() - timedelta(days=1))
    cases = {
        "ABCDE-12345": "PRODUCT_KEY_MALFORMED",
        "BBBBB-CCCCC-DDDDD-FFFFF-GGGGG": "PRODUCT_KEY_UNKNOWN",
        expired: "PRODUCT_KEY_EXPIRED",
        china: "PRODUCT_KEY_WRONG_CLOUD",
    }
    for key, code in cases.items():
        body = await gql(client, REDEEM, _redeem(key), token=org.token)
        assert body["data"]["redeemProductKey"]["userErrors"][0]["code"] == code, key
    assert await models.Subscription.all().count() == 0


async def test_repeated_failures_are_throttled_per_tenant(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    good = await _issue(client)
    for _ in range(5):
        await gql(client, REDEEM, _redeem("BBBBB-CCCCC-DDDDD-FFFFF-GGGGG"), token=org.token)
    clock.set(clock.now() + timedelta(minutes=5))
    body = await gql(client, REDEEM, _redeem(good), token=org.token)
    assert body["data"]["redeemProductKey"]["userErrors"][0]["code"] == "THROTTLED"
    assert body["data"]["redeemProductKey"]["userErrors"][0]["retryAfter"] == 10 * 60
    # another tenant is not throttled, and the throttled tenant recovers after the window
    clock.set(clock.now() + timedelta(minutes=16))
    body = await gql(client, REDEEM, _redeem(good), token=org.token)
    assert body["data"]["redeemProductKey"]["userErrors"] == []
    assert (await gql(client, REDEEM, _redeem(await _issue(client)), token=other.token))["data"]["redeemProductKey"]["userErrors"] == []


async def test_racing_redemptions_of_one_key_produce_one_subscription(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    key = await _issue(client)
    bodies = await asyncio.gather(*(gql(client, REDEEM, _redeem(key), token=t) for t in [org.token, other.token] * 3))
    codes = sorted((b["data"]["redeemProductKey"]["userErrors"] or [{"code": "OK"}])[0]["code"] for b in bodies)
    assert codes == ["OK"] + ["PRODUCT_KEY_ALREADY_REDEEMED"] * 5
    assert await models.Subscription.all().count() == 1


@pytest.mark.parametrize("role", [models.Role.LICENSE_ADMIN, None])
async def test_only_global_and_billing_admins_redeem(client, clock, role):
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Caller", [role] if role else [])
    body = await gql(client, REDEEM, _redeem(await _issue(client)), token=token)
    assert body["data"]["redeemProductKey"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_only_the_operator_issues_keys(client, clock):
    org = await factories.sign_up(clock)
    product = await models.Product.get(sku="O365_E1")
    body = await gql(client, ISSUE, {"input": {"productId": gid("Product", product.id), "count": 1, "cloud": "WORLDWIDE"}}, token=org.token)
    assert body["data"]["issueProductKeys"] == {"keys": [], "userErrors": [{"code": "FORBIDDEN"}]}
    assert await models.ProductKey.all().count() == 0


@pytest.mark.parametrize("extra, field", [({"validDays": 2_000_000_000}, "validDays"), ({"quantity": 0}, "quantity"),
                                          ({"count": 101}, "count")])
async def test_out_of_range_batches_are_refused_not_crashed(client, clock, extra, field):
    product = await models.Product.get(sku="O365_E1")
    body = await gql(client, ISSUE, {"input": {"productId": gid("Product", product.id), "count": 1,
                                               "cloud": "WORLDWIDE", **extra}}, token=OPERATOR_TOKEN)
    assert body["data"]["issueProductKeys"] == {"keys": [], "userErrors": [{"code": "INVALID_INPUT"}]}


async def test_audit_racing_bad_guesses_never_pass_the_guard_together(client, clock):
    # Security audit: the guard read the failure count, then wrote it, so 100 guesses sent at
    # once all read "fewer than 5" and all reached the key check. MAX_FAILURES + 30 at once:
    # on PostgreSQL they run on several pooled connections.
    from billing_center.domain.product_keys import MAX_FAILURES

    org = await factories.sign_up(clock)
    guesses = [f"BBBBB-CCCCC-DDDDD-FFFFF-{''.join(c * 5 for c in 'GHJKMPQRTVWXY2346789BCDF'[i % 24])}"
               for i in range(MAX_FAILURES + 30)]
    bodies = await asyncio.gather(*(gql(client, REDEEM, _redeem(guess), token=org.token) for guess in guesses))
    codes = [body["data"]["redeemProductKey"]["userErrors"][0]["code"] for body in bodies]
    assert codes.count("PRODUCT_KEY_UNKNOWN") == MAX_FAILURES
    assert codes.count("THROTTLED") == 30


async def test_a_successful_redemption_does_not_count_as_a_failure(client, clock):
    org = await factories.sign_up(clock)
    for _ in range(4):
        await gql(client, REDEEM, _redeem("BBBBB-CCCCC-DDDDD-FFFFF-GGGGG"), token=org.token)
    assert (await gql(client, REDEEM, _redeem(await _issue(client)), token=org.token))[
        "data"]["redeemProductKey"]["userErrors"] == []
    # the fifth failure is still allowed, the sixth attempt is not
    fifth = await gql(client, REDEEM, _redeem("BBBBB-CCCCC-DDDDD-FFFFF-GGGGG"), token=org.token)
    assert fifth["data"]["redeemProductKey"]["userErrors"][0]["code"] == "PRODUCT_KEY_UNKNOWN"
    sixth = await gql(client, REDEEM, _redeem(await _issue(client)), token=org.token)
    assert sixth["data"]["redeemProductKey"]["userErrors"][0]["code"] == "THROTTLED"
