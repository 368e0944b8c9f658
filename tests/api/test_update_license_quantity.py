"""updateLicenseQuantity (SPEC §3 licence counts, §7 pro rata, API.md idempotency, §8 versions)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

UPDATE = """
mutation Update($input: UpdateLicenseQuantityInput!) {
  updateLicenseQuantity(input: $input) {
    replayed
    subscription { quantity version }
    invoiceLine { kind quantity amount { amount currency } explanation periodStart periodEnd }
    userErrors { code field message }
  }
}
"""


async def _subscription(org, clock, quantity=100, holders=None, charged=False):
    # A 30-day term that started 10 days ago: 20 days remain.
    start = clock.now() - timedelta(days=10)
    return await factories.add_subscription(
        org, clock, quantity=quantity, holders=holders, term_start=start, term_end=start + timedelta(days=30),
        charged=charged,
    )


def _input(subscription, total, **extra):
    return {"input": {"subscriptionId": gid("Subscription", subscription.id), "totalLicenses": total, **extra}}


async def test_the_caller_gives_the_new_total_and_the_increase_is_charged_pro_rata(client, clock):
    # §3: 100 licences plus 5 more: enter 105.
    org = await factories.sign_up(clock)
    await models.BillingAccount.filter(id=org.account.id).update(billing_day=5)
    subscription = await _subscription(org, clock)
    body = await gql(client, UPDATE, _input(subscription, 105), token=org.token)
    payload = body["data"]["updateLicenseQuantity"]
    assert payload["userErrors"] == []
    assert payload["subscription"] == {"quantity": 105, "version": subscription.version + 1}
    line = payload["invoiceLine"]
    # 23.00 x 5 x 20 / 30 = 76.666... -> 76.67
    assert (line["kind"], line["quantity"], line["amount"]) == ("PRORATED_CHARGE", 5, {"amount": "76.67", "currency": "USD"})
    assert "20/30 days" in line["explanation"] and "rounded half-up" in line["explanation"]
    stored = await models.InvoiceLine.get(subscription_id=subscription.id)
    # outstanding until the account's next billing day (§7 ACCOUNT_BILLING_DAY)
    assert (stored.invoice_id, str(stored.charge_on)) == (None, "2026-12-05")


async def test_a_decrease_is_credited_pro_rata(client, clock):
    # MOSA: at any time (an MCA decrease after the cancellation window waits for the renewal).
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _subscription(org, clock, charged=True)
    body = await gql(client, UPDATE, _input(subscription, 97), token=org.token)
    line = body["data"]["updateLicenseQuantity"]["invoiceLine"]
    # 23.00 x 3 x 20 / 30 = 46.00
    assert (line["kind"], line["amount"]["amount"]) == ("PRORATED_CREDIT", "-46.00")


async def test_never_below_the_assigned_count_nor_below_one(client, clock):
    org = await factories.sign_up(clock)
    people = [(await factories.add_user(org, clock, f"P {i}"))[0] for i in range(3)]
    subscription = await _subscription(org, clock, quantity=5, holders=people)
    below = await gql(client, UPDATE, _input(subscription, 2), token=org.token)
    assert below["data"]["updateLicenseQuantity"]["userErrors"][0]["code"] == "QUANTITY_BELOW_ASSIGNED"
    zero = await gql(client, UPDATE, _input(subscription, 0), token=org.token)
    assert zero["data"]["updateLicenseQuantity"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert (await models.Subscription.get(id=subscription.id)).quantity == 5
    assert await models.InvoiceLine.all().count() == 0
    exact = await gql(client, UPDATE, _input(subscription, 3), token=org.token)
    assert exact["data"]["updateLicenseQuantity"]["userErrors"] == []


async def test_the_same_key_and_input_replays_and_changes_nothing_again(client, clock):
    org = await factories.sign_up(clock)
    subscription = await _subscription(org, clock)
    first = await gql(client, UPDATE, _input(subscription, 105, idempotencyKey="k-1"), token=org.token)
    again = await gql(client, UPDATE, _input(subscription, 105, idempotencyKey="k-1"), token=org.token)
    assert first["data"]["updateLicenseQuantity"]["replayed"] is False
    assert again["data"]["updateLicenseQuantity"]["replayed"] is True
    assert again["data"]["updateLicenseQuantity"]["invoiceLine"] == first["data"]["updateLicenseQuantity"]["invoiceLine"]
    assert await models.InvoiceLine.all().count() == 1
    assert (await models.Subscription.get(id=subscription.id)).quantity == 105


async def test_the_same_key_with_another_input_is_refused(client, clock):
    org = await factories.sign_up(clock)
    subscription = await _subscription(org, clock)
    await gql(client, UPDATE, _input(subscription, 105, idempotencyKey="k-1"), token=org.token)
    body = await gql(client, UPDATE, _input(subscription, 110, idempotencyKey="k-1"), token=org.token)
    assert body["data"]["updateLicenseQuantity"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await models.Subscription.get(id=subscription.id)).quantity == 105


async def test_concurrent_calls_with_one_key_execute_once(client, clock):
    org = await factories.sign_up(clock)
    subscription = await _subscription(org, clock)
    bodies = await asyncio.gather(*(
        gql(client, UPDATE, _input(subscription, 105, idempotencyKey="same"), token=org.token) for _ in range(5)
    ))
    assert sorted(b["data"]["updateLicenseQuantity"]["replayed"] for b in bodies) == [False] + [True] * 4
    assert await models.InvoiceLine.all().count() == 1
    assert (await models.Subscription.get(id=subscription.id)).version == subscription.version + 1


async def test_keys_of_other_tenants_are_independent(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    mine = await _subscription(org, clock)
    theirs = await _subscription(other, clock)
    await gql(client, UPDATE, _input(mine, 105, idempotencyKey="k"), token=org.token)
    body = await gql(client, UPDATE, _input(theirs, 101, idempotencyKey="k"), token=other.token)
    assert body["data"]["updateLicenseQuantity"]["replayed"] is False
    assert (await models.Subscription.get(id=theirs.id)).quantity == 101


async def test_a_stale_version_is_refused(client, clock):
    org = await factories.sign_up(clock)
    subscription = await _subscription(org, clock)
    body = await gql(client, UPDATE, _input(subscription, 105, expectedVersion=subscription.version + 3), token=org.token)
    assert body["data"]["updateLicenseQuantity"]["userErrors"][0]["code"] == "STATE_CHANGED"


async def test_licence_admins_may_not_buy(client, clock):
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Lia", [models.Role.LICENSE_ADMIN])
    subscription = await _subscription(org, clock)
    body = await gql(client, UPDATE, _input(subscription, 105), token=token)
    assert body["data"]["updateLicenseQuantity"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert Decimal(0) == sum([l.amount for l in await models.InvoiceLine.all()], Decimal(0))


async def test_a_trial_changes_its_licence_count_for_free(client, clock):
    """§5 Trials: a trial is free, so more or fewer licences during it are neither charged
    nor credited."""
    org = await factories.sign_up(clock)
    trial = await _subscription(org, clock, quantity=10)  # a trial has at most 25 licences
    await models.Subscription.filter(id=trial.id).update(trial=True, purchase_channel=models.PurchaseChannel.TRIAL)
    for total in (20, 9):
        body = await gql(client, UPDATE, _input(trial, total), token=org.token)
        assert body["data"]["updateLicenseQuantity"]["userErrors"] == []
        assert body["data"]["updateLicenseQuantity"]["invoiceLine"] is None
    assert (await models.Subscription.get(id=trial.id)).quantity == 9
    assert await models.InvoiceLine.all().count() == 0
