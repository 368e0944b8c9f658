"""purchaseSubscription and setSelfServicePolicy (SPEC §3, §5 Trials, §6 self-service, §7)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

PURCHASE = """
mutation Buy($input: PurchaseSubscriptionInput!) {
  purchaseSubscription(input: $input) {
    replayed
    subscription { id status purchaseChannel quantity commitmentTerm termEnd nextChargeDate price { amount }
                   billingAccount { type chargeSchedule selfService billingDay owner { displayName } } }
    invoiceLine { kind amount { amount } }
    invoice { number status total { amount } amountDue { amount } paymentAttempts { status amount { amount } } }
    userErrors { code field message }
  }
}
"""
POLICY = """
mutation Policy($input: SetSelfServicePolicyInput!) { setSelfServicePolicy(input: $input) { policy userErrors { code } } }
"""
CARD = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "Buyer"}


async def _product(sku):
    return gid("Product", (await models.Product.get(sku=sku)).id)


async def _buy(client, token, sku, **extra):
    body = await gql(client, PURCHASE, {"input": {"productId": await _product(sku), "quantity": 5,
                                                   "commitmentTerm": "MONTHLY", **extra}}, token=token)
    return body["data"]["purchaseSubscription"]


async def test_an_admin_buys_for_the_organization_and_the_first_purchase_sets_the_billing_day(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    payload = await _buy(client, org.token, "O365_E3")
    assert payload["userErrors"] == []
    sub = payload["subscription"]
    assert (sub["status"], sub["purchaseChannel"], sub["quantity"]) == ("ACTIVE", "ADMIN", 5)
    assert sub["billingAccount"]["billingDay"] == 21  # §7: the day of the first purchase (21 November)
    assert sub["termEnd"] == (clock.now().replace(month=12)).isoformat()
    assert payload["invoiceLine"] == {"kind": "PURCHASE", "amount": {"amount": "115.00"}}
    # §7: the account's very first purchase is charged the day it sets, on a paid invoice;
    # its next charge is the renewal's, on the billing day.
    assert payload["invoice"]["status"] == "PAID"
    assert payload["invoice"]["total"] == {"amount": "115.00"}
    assert payload["invoice"]["amountDue"] == {"amount": "0.00"}
    assert payload["invoice"]["paymentAttempts"] == [{"status": "SUCCEEDED", "amount": {"amount": "115.00"}}]
    assert sub["nextChargeDate"] == "2026-12-21"
    clock.set(clock.now() + timedelta(days=5))
    second = await _buy(client, org.token, "O365_E1")
    assert second["subscription"]["billingAccount"]["billingDay"] == 21
    # A later purchase under ACCOUNT_BILLING_DAY waits for the next billing day, uncharged.
    assert second["invoice"] is None
    assert second["subscription"]["nextChargeDate"] == "2026-12-21"
    line = await models.InvoiceLine.get(subscription_id=factories.pk(second["subscription"]["id"]))
    assert (line.invoice_id, str(line.charge_on)) == (None, "2026-12-21")


async def test_a_purchase_charged_at_once_and_declined_leaves_nothing_behind(client, clock):
    """§7: "A purchase whose immediate charge is declined is refused (PAYMENT_DECLINED) and
    leaves nothing behind" (the …0341 card is accepted when added, declined when charged)."""
    org = await factories.sign_up(clock)
    payload = await _buy(client, org.token, "O365_E3", newPaymentMethod={**CARD, "number": "4000000000000341"})
    assert payload["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    for model in (models.Subscription, models.PaymentMethod, models.InvoiceLine, models.Invoice,
                  models.PaymentAttempt, models.AuditEvent):
        assert await model.filter(tenant_id=org.tenant.id).exclude(
            **({"action": "tenant.signed_up"} if model is models.AuditEvent else {})).count() == 0, model
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day is None


async def test_a_purchase_that_cannot_be_recorded_after_its_charge_is_refunded(client, clock, gateway, monkeypatch):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(models.IdempotencyRecord, "create", broken)
    body = await gql(client, PURCHASE, {"input": {"productId": await _product("O365_E3"), "quantity": 5,
                                                   "commitmentTerm": "MONTHLY", "idempotencyKey": "k1"}},
                     token=org.token)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert await models.Subscription.all().count() == 0
    assert [(amount, currency) for _, amount, currency in gateway.refunds] == [(factories.Decimal("115.00"), "USD")]


async def test_a_purchase_needs_a_payment_method(client, clock):
    org = await factories.sign_up(clock)
    payload = await _buy(client, org.token, "O365_E3")
    assert payload["userErrors"][0]["code"] == "PAYMENT_METHOD_REQUIRED"
    assert await models.Subscription.all().count() == 0
    payload = await _buy(client, org.token, "O365_E3", newPaymentMethod=CARD)
    assert payload["userErrors"] == []


async def test_a_declined_new_card_leaves_nothing_behind(client, clock):
    org = await factories.sign_up(clock)
    payload = await _buy(client, org.token, "O365_E3", newPaymentMethod={**CARD, "number": "4000000000000002"})
    assert payload["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    assert await models.Subscription.all().count() == 0
    assert await models.PaymentMethod.all().count() == 0
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day is None


async def test_a_plain_user_buys_self_service_on_an_own_account(client, clock):
    # §6: the buyer's own MCA account with schedule RENEWAL_DAY, created on first purchase.
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Pat")
    payload = await _buy(client, token, "POWER_BI_PRO", newPaymentMethod=CARD)
    assert payload["userErrors"] == []
    assert payload["subscription"]["purchaseChannel"] == "SELF_SERVICE"
    account = payload["subscription"]["billingAccount"]
    assert (account["type"], account["chargeSchedule"], account["selfService"]) == ("MCA", "RENEWAL_DAY", True)
    assert account["owner"]["displayName"] == "Pat"
    again = await _buy(client, token, "VISIO_PLAN_2")  # the card is on the own account now
    assert again["userErrors"] == []
    assert await models.BillingAccount.filter(self_service=True).count() == 1


async def test_plain_users_cannot_buy_products_that_are_not_self_service(client, clock):
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Pat")
    payload = await _buy(client, token, "O365_E3", newPaymentMethod=CARD)
    assert payload["userErrors"][0]["code"] == "NOT_SELF_SERVICE"


@pytest.mark.parametrize("policy, trial, code", [
    ("DENY", False, "SELF_SERVICE_NOT_ALLOWED"),
    ("DENY", True, "SELF_SERVICE_NOT_ALLOWED"),
    ("TRIALS_ONLY", False, "SELF_SERVICE_NOT_ALLOWED"),
    ("TRIALS_ONLY", True, None),
    ("ALLOW", False, None),
])
async def test_the_self_service_policy_decides(client, clock, policy, trial, code):
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Pat")
    set_policy = await gql(client, POLICY, {"input": {"productId": await _product("POWER_BI_PRO"), "policy": policy}}, token=org.token)
    assert set_policy["data"]["setSelfServicePolicy"] == {"policy": policy, "userErrors": []}
    payload = await _buy(client, token, "POWER_BI_PRO", newPaymentMethod=CARD, trial=trial)
    assert [e["code"] for e in payload["userErrors"]] == ([code] if code else [])


async def test_one_trial_per_product_per_tenant_even_when_racing(client, clock):
    org = await factories.sign_up(clock)
    results = await asyncio.gather(*(_buy(client, org.token, "O365_E3", trial=True) for _ in range(4)))
    codes = sorted((r["userErrors"] or [{"code": "OK"}])[0]["code"] for r in results)
    assert codes == ["OK"] + ["TRIAL_ALREADY_USED"] * 3
    trial = await models.Subscription.get(purchase_channel=models.PurchaseChannel.TRIAL)
    assert trial.term_end == clock.now() + timedelta(days=30)
    assert await models.InvoiceLine.all().count() == 0  # a trial costs nothing


async def test_a_product_without_a_trial_or_with_another_term_is_refused(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    assert (await _buy(client, org.token, "O365_E1", trial=True))["userErrors"][0]["code"] == "INVALID_INPUT"
    payload = await _buy(client, org.token, "EXCHANGE_ONLINE_P1")  # annual only
    assert payload["userErrors"][0]["field"] == ["input", "commitmentTerm"]


async def test_the_same_idempotency_key_buys_once(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    first = await _buy(client, org.token, "O365_E3", idempotencyKey="buy-1")
    again = await _buy(client, org.token, "O365_E3", idempotencyKey="buy-1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["subscription"]["id"] == first["subscription"]["id"]
    assert await models.Subscription.all().count() == 1
    other = await _buy(client, org.token, "O365_E1", idempotencyKey="buy-1")
    assert other["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_a_declined_purchase_retried_with_its_key_and_another_card_is_charged(client, clock):
    """§7 with API.md idempotency: nothing was recorded for the declined call, so the same key
    with a card that pays buys (a new gateway charge), and a replay then charges nothing more."""
    org = await factories.sign_up(clock)
    declined = await _buy(client, org.token, "O365_E3", idempotencyKey="buy-1",
                          newPaymentMethod={**CARD, "number": "4000000000000341"})
    assert declined["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    bought = await _buy(client, org.token, "O365_E3", idempotencyKey="buy-1", newPaymentMethod=CARD)
    assert bought["userErrors"] == [] and bought["invoice"]["status"] == "PAID"
    replay = await _buy(client, org.token, "O365_E3", idempotencyKey="buy-1", newPaymentMethod=CARD)
    assert replay["replayed"] is True
    assert await models.PaymentAttempt.all().count() == 1
