"""reactivateSubscription (SPEC §5 Reactivate)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

REACTIVATE = """
mutation Reactivate($input: ReactivateSubscriptionInput!) {
  reactivateSubscription(input: $input) {
    replayed
    subscription { id status quantity commitmentTerm termStart termEnd reactivatedFrom { id }
                   licenseAssignments { edges { node { state user { displayName } } } } }
    previousSubscription { id status reactivatedAs { id } assignedCount }
    userErrors { code field message }
  }
}
"""
CARD = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "X"}


async def _cancelled(org, clock, days_ago=5, holders=None, **extra):
    at = clock.now() - timedelta(days=days_ago)
    start = clock.now() - timedelta(days=10)
    return await factories.add_subscription(
        org, clock, quantity=7, holders=holders, commitment_term=models.CommitmentTerm.ANNUAL,
        term_start=start, term_end=start + timedelta(days=365), status=models.SubscriptionStatus.DISABLED,
        status_reason=models.StatusReason.CANCELLED, disabled_at=at, cancelled_at=at, **extra)


def _input(subscription, **extra):
    return {"input": {"subscriptionId": gid("Subscription", subscription.id), **extra}}


async def test_mca_reactivation_creates_a_new_subscription_and_moves_the_assignments(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MCA)
    await factories.add_card(org, clock)  # the new subscription is charged like a purchase (§7)
    [user] = [(await factories.add_user(org, clock, "Ada"))[0]]
    old = await _cancelled(org, clock, holders=[user])
    body = await gql(client, REACTIVATE, _input(old), token=org.token)
    payload = body["data"]["reactivateSubscription"]
    assert payload["userErrors"] == []
    new, previous = payload["subscription"], payload["previousSubscription"]
    assert new["id"] != previous["id"]
    assert (new["status"], new["quantity"], new["commitmentTerm"]) == ("ACTIVE", 7, "ANNUAL")
    assert new["termStart"] == clock.now().isoformat()  # starts on the day of reactivation
    assert new["reactivatedFrom"] == {"id": previous["id"]}
    assert previous == {"id": gid("Subscription", old.id), "status": "DISABLED",
                        "reactivatedAs": {"id": new["id"]}, "assignedCount": 0}
    assert [e["node"] for e in new["licenseAssignments"]["edges"]] == [{"state": "ACTIVE", "user": {"displayName": "Ada"}}]
    again = await gql(client, REACTIVATE, _input(old), token=org.token)
    assert again["data"]["reactivateSubscription"]["userErrors"][0]["code"] == "REACTIVATION_UNAVAILABLE"


async def test_mosa_reactivation_needs_a_payment_method_and_keeps_the_term_end(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    old = await _cancelled(org, clock)
    refused = await gql(client, REACTIVATE, _input(old), token=org.token)
    assert refused["data"]["reactivateSubscription"]["userErrors"][0]["code"] == "PAYMENT_METHOD_REQUIRED"
    body = await gql(client, REACTIVATE, _input(old, newPaymentMethod=CARD), token=org.token)
    payload = body["data"]["reactivateSubscription"]
    assert payload["userErrors"] == []
    assert payload["subscription"]["id"] == gid("Subscription", old.id)
    assert payload["subscription"]["status"] == "ACTIVE"
    assert payload["subscription"]["termEnd"] == old.term_end.isoformat()
    # the credit for now..term end is charged back: 23.00 (its price) x 7 x 355/365 = 156.589...
    line = await models.InvoiceLine.get(subscription_id=old.id)
    assert (line.kind, str(line.amount)) == (models.InvoiceLineKind.PRORATED_CHARGE, "156.59")


async def test_mosa_reactivation_after_expiry_starts_a_new_term_where_the_old_ended(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    card = await factories.add_card(org, clock)
    ended = clock.now() - timedelta(days=3)
    old = await factories.add_subscription(
        org, clock, term_start=ended - timedelta(days=30), term_end=ended, status=models.SubscriptionStatus.EXPIRED,
        status_reason=models.StatusReason.TERM_ENDED, expired_at=ended, auto_renew=False)
    body = await gql(client, REACTIVATE, _input(old, paymentMethodId=gid("PaymentMethod", card.id)), token=org.token)
    sub = body["data"]["reactivateSubscription"]["subscription"]
    assert (sub["status"], sub["termStart"]) == ("ACTIVE", ended.isoformat())
    line = await models.InvoiceLine.get(subscription_id=old.id)
    assert line.kind is models.InvoiceLineKind.RENEWAL


async def test_deleted_or_too_late_says_contact_support(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MCA)
    deleted = await factories.add_subscription(org, clock, status=models.SubscriptionStatus.DELETED)
    body = await gql(client, REACTIVATE, _input(deleted), token=org.token)
    [error] = body["data"]["reactivateSubscription"]["userErrors"]
    assert error["code"] == "REACTIVATION_UNAVAILABLE" and "contact support" in error["message"]
    late = await _cancelled(org, clock, days_ago=91)
    body = await gql(client, REACTIVATE, _input(late), token=org.token)
    assert body["data"]["reactivateSubscription"]["userErrors"][0]["code"] == "REACTIVATION_UNAVAILABLE"


async def test_two_racing_reactivations_produce_exactly_one_result(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MCA)
    await factories.add_card(org, clock)
    old = await _cancelled(org, clock)
    bodies = await asyncio.gather(*(gql(client, REACTIVATE, _input(old), token=org.token) for _ in range(4)))
    ok = [b for b in bodies if not b["data"]["reactivateSubscription"]["userErrors"]]
    assert len(ok) == 1
    assert await models.Subscription.filter(reactivated_from_id=old.id).count() == 1


async def test_licence_admins_may_not_reactivate(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MCA)
    _, token = await factories.add_user(org, clock, "Lia", [models.Role.LICENSE_ADMIN])
    old = await _cancelled(org, clock)
    body = await gql(client, REACTIVATE, _input(old), token=token)
    assert body["data"]["reactivateSubscription"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_mosa_reactivation_after_non_payment_settles_the_past_due_amount_first(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    old = await _cancelled(org, clock)
    await models.Subscription.filter(id=old.id).update(status_reason=models.StatusReason.NON_PAYMENT, cancelled_at=None)
    invoice = await factories.add_invoice(org, clock, "INV-9", days_ago=20, amount="99.00")
    await models.Invoice.filter(id=invoice.id).update(status=models.InvoiceStatus.PAST_DUE)
    declined = await gql(client, REACTIVATE, _input(old, newPaymentMethod={**CARD, "number": "4000000000000341"}),
                         token=org.token)
    assert declined["data"]["reactivateSubscription"]["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    assert (await models.Subscription.get(id=old.id)).status is models.SubscriptionStatus.DISABLED
    body = await gql(client, REACTIVATE, _input(old, newPaymentMethod=CARD), token=org.token)
    assert body["data"]["reactivateSubscription"]["userErrors"] == []
    assert (await models.Invoice.get(id=invoice.id)).status is models.InvoiceStatus.PAID
