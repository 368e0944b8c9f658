"""Who has had a trial, and how big a trial is (SPEC §5 Trials, §6 self-service; security audit):
a self-service trial is its buyer's (one per product per user), the organization's trial is
the organization's (one per product), neither uses up the other; a trial has at most
MAX_TRIAL_QUANTITY licences, also when its count is changed."""

from __future__ import annotations

import asyncio

import pytest

from billing_center.domain import models
from billing_center.domain.subscription_rules import MAX_TRIAL_QUANTITY
from tests import factories
from tests.factories import gid, gql

PURCHASE = """
mutation Buy($input: PurchaseSubscriptionInput!) {
  purchaseSubscription(input: $input) { subscription { id purchaseChannel quantity } userErrors { code field } }
}
"""
UPDATE = """
mutation Update($input: UpdateLicenseQuantityInput!) {
  updateLicenseQuantity(input: $input) { subscription { quantity } userErrors { code field } }
}
"""


async def _trial(client, token: str, quantity: int = 1, sku: str = "POWER_BI_PRO") -> dict:
    product = gid("Product", (await models.Product.get(sku=sku)).id)
    body = await gql(client, PURCHASE, {"input": {"productId": product, "quantity": quantity,
                                                  "commitmentTerm": "MONTHLY", "trial": True}}, token=token)
    return body["data"]["purchaseSubscription"]


def _code(payload: dict) -> str:
    return (payload["userErrors"] or [{"code": "OK"}])[0]["code"]


async def test_audit_a_plain_users_trial_does_not_use_up_the_organizations_trial(client, clock):
    # given: a plain user's one-seat self-service trial
    org = await factories.sign_up(clock)
    _, pat = await factories.add_user(org, clock, "Pat")
    assert _code(await _trial(client, pat)) == "OK"
    # when: the organization starts its own trial of the product
    organization = await _trial(client, org.token, quantity=10)
    # then
    assert _code(organization) == "OK" and organization["subscription"]["quantity"] == 10
    # and neither has a second one, while another buyer has their own
    _, quinn = await factories.add_user(org, clock, "Quinn")
    codes = [_code(await _trial(client, token)) for token in (pat, org.token, quinn)]
    assert codes == ["TRIAL_ALREADY_USED", "TRIAL_ALREADY_USED", "OK"]
    assert await models.Subscription.filter(purchase_channel=models.PurchaseChannel.TRIAL).count() == 3


async def test_one_self_service_trial_per_buyer_even_when_racing(client, clock):
    org = await factories.sign_up(clock)
    _, pat = await factories.add_user(org, clock, "Pat")
    results = await asyncio.gather(*(_trial(client, pat) for _ in range(4)))
    assert sorted(_code(result) for result in results) == ["OK"] + ["TRIAL_ALREADY_USED"] * 3


@pytest.mark.parametrize("buyer", ["organization", "self-service"])
async def test_audit_a_trial_has_at_most_the_trial_licence_count(client, clock, buyer):
    # given
    org = await factories.sign_up(clock)
    token = org.token if buyer == "organization" else (await factories.add_user(org, clock, "Pat"))[1]
    # when: one licence too many, then the most
    too_big = await _trial(client, token, quantity=MAX_TRIAL_QUANTITY + 1)
    largest = await _trial(client, token, quantity=MAX_TRIAL_QUANTITY)
    # then
    assert [(e["code"], e["field"]) for e in too_big["userErrors"]] == [("INVALID_INPUT", ["input", "quantity"])]
    assert _code(largest) == "OK" and largest["subscription"]["quantity"] == MAX_TRIAL_QUANTITY
    # and a trial's licence count cannot grow past it either (a trial's licences are free)
    body = await gql(client, UPDATE, {"input": {"subscriptionId": largest["subscription"]["id"],
                                                "totalLicenses": MAX_TRIAL_QUANTITY + 1}}, token=token)
    payload = body["data"]["updateLicenseQuantity"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input", "totalLicenses"])]
    assert (await models.Subscription.get(trial=True)).quantity == MAX_TRIAL_QUANTITY


PRODUCTS = "{ products { sku trialAvailable trialDays } }"


async def test_trial_days_is_null_for_a_product_without_a_trial(client):
    """Issue #13 (newcomer's first hour): `trialDays` said 30 on products that have no trial."""
    # when
    body = await gql(client, PRODUCTS)
    # then
    products = body["data"]["products"]
    stored = {p["sku"]: p for p in await models.Product.all().values("sku", "trial_available", "trial_days")}
    assert {p["trialAvailable"] for p in products} == {True, False}
    for product in products:
        row = stored[product["sku"]]
        expected = row["trial_days"] if row["trial_available"] else None
        assert product["trialDays"] == expected, product
    assert all(p["trialDays"] and p["trialDays"] > 0 for p in products if p["trialAvailable"])
