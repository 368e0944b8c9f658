"""payInvoice (SPEC §7: "pay now" with any payment method; §2: a charge never runs inside a
transaction and a retried charge never charges twice)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

PAY = """
mutation Pay($input: PayInvoiceInput!) {
  payInvoice(input: $input) {
    replayed
    invoice { status amountDue { amount } paymentAttempts { status amount { amount } failureReason } }
    userErrors { code field message }
  }
}
"""


async def _card(org, clock, token="tok_sandbox_ok_1"):
    card = await factories.add_card(org, clock)
    await models.PaymentMethod.filter(id=card.id).update(gateway_token=token)
    return card


def _pay(invoice, card, **extra):
    return {"input": {"invoiceId": gid("Invoice", invoice.id), "paymentMethodId": gid("PaymentMethod", card.id), **extra}}


async def test_paying_an_open_invoice_charges_it_once(client, clock):
    org = await factories.sign_up(clock)
    card = await _card(org, clock)
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=2, amount="42.50")
    body = await gql(client, PAY, _pay(invoice, card), token=org.token)
    payload = body["data"]["payInvoice"]
    assert payload["userErrors"] == []
    assert payload["invoice"] == {"status": "PAID", "amountDue": {"amount": "0.00"}, "paymentAttempts": [
        {"status": "SUCCEEDED", "amount": {"amount": "42.50"}, "failureReason": None}]}
    again = await gql(client, PAY, _pay(invoice, card), token=org.token)
    assert again["data"]["payInvoice"]["userErrors"][0]["code"] == "INVALID_STATUS"


async def test_a_declined_charge_is_recorded_and_the_invoice_is_past_due(client, clock):
    # §2 sandbox: a card ending in 0341 is accepted when added but declined whenever charged.
    org = await factories.sign_up(clock)
    declining = await _card(org, clock, token="tok_sandbox_chargefail_1")
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=2)
    body = await gql(client, PAY, _pay(invoice, declining), token=org.token)
    assert body["data"]["payInvoice"]["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    stored = await models.Invoice.get(id=invoice.id)
    assert stored.status is models.InvoiceStatus.PAST_DUE
    assert await models.PaymentAttempt.filter(status=models.PaymentAttemptStatus.FAILED).count() == 1
    # a past-due invoice can be paid at once with another card
    good = await _card(org, clock)
    body = await gql(client, PAY, _pay(invoice, good), token=org.token)
    assert body["data"]["payInvoice"]["invoice"]["status"] == "PAID"
    assert [a["status"] for a in body["data"]["payInvoice"]["invoice"]["paymentAttempts"]] == ["FAILED", "SUCCEEDED"]


async def test_racing_payments_charge_once(client, clock):
    org = await factories.sign_up(clock)
    card = await _card(org, clock)
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=2, amount="10.00")
    bodies = await asyncio.gather(*(gql(client, PAY, _pay(invoice, card), token=org.token) for _ in range(6)))
    assert all(b["data"]["payInvoice"]["userErrors"] in ([], [{"code": "INVALID_STATUS", "field": ["input", "invoiceId"],
                                                               "message": "The invoice is PAID: nothing to pay."}]) for b in bodies)
    attempts = await models.PaymentAttempt.filter(invoice_id=invoice.id).values("status", "amount")
    assert attempts == [{"status": models.PaymentAttemptStatus.SUCCEEDED, "amount": Decimal("10.00")}]


async def test_the_same_idempotency_key_replays(client, clock):
    org = await factories.sign_up(clock)
    card = await _card(org, clock)
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=2)
    first = await gql(client, PAY, _pay(invoice, card, idempotencyKey="pay-1"), token=org.token)
    again = await gql(client, PAY, _pay(invoice, card, idempotencyKey="pay-1"), token=org.token)
    assert (first["data"]["payInvoice"]["replayed"], again["data"]["payInvoice"]["replayed"]) == (False, True)
    assert await models.PaymentAttempt.all().count() == 1


async def test_another_tenants_invoice_or_card_is_not_found(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    card = await _card(org, clock)
    foreign_card = await _card(other, clock)
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=2)
    foreign_invoice = await factories.add_invoice(other, clock, "INV-1", days_ago=2)
    body = await gql(client, PAY, _pay(foreign_invoice, card), token=org.token)
    assert body["data"]["payInvoice"]["userErrors"][0]["code"] == "NOT_FOUND"
    body = await gql(client, PAY, _pay(invoice, foreign_card), token=org.token)
    assert body["data"]["payInvoice"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await models.PaymentAttempt.all().count() == 0
