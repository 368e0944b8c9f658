"""cancellationPreview and cancelSubscription (SPEC §5 Cancel; §4 independence; §6)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

CANCEL = """
mutation Cancel($input: CancelSubscriptionInput!) {
  cancelSubscription(input: $input) {
    replayed
    credit { amount currency }
    subscription { status statusReason cancellationReason cancellationFeedback disabledUntil
                   dataDeletableFrom dataDeletionDate autoRenew
                   licenseAssignments { edges { node { state } } } }
    userErrors { code field message }
  }
}
"""
PREVIEW = """
query Preview($id: ID!) {
  cancellationPreview(subscriptionId: $id) {
    eligible blockers { code message } disabledUntil dataDeletableFrom dataDeletedBy
    credit { amount currency } creditExplanation affectedUsers
  }
}
"""


async def _holders(org, clock, count):
    return [(await factories.add_user(org, clock, f"H {i}"))[0] for i in range(count)]


def _cancel(subscription, **extra):
    return {"input": {"subscriptionId": gid("Subscription", subscription.id), "reason": "TOO_EXPENSIVE", **extra}}


async def _mosa_subscription(org, clock, holders=(), **overrides):
    start = clock.now() - timedelta(days=10)
    return await factories.add_subscription(
        org, clock, quantity=30, holders=list(holders), term_start=start, term_end=start + timedelta(days=30), **overrides
    )


async def test_cancel_disables_suspends_and_credits_the_unused_term(client, clock):
    # given: MOSA, 30 licences at 23.00, 20 of 30 days left, 2 users
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _mosa_subscription(org, clock, holders=await _holders(org, clock, 2), charged=True)
    sibling = await _mosa_subscription(org, clock)
    # when
    body = await gql(client, CANCEL, _cancel(subscription, feedback="We use another tool"), token=org.token)
    # then
    payload = body["data"]["cancelSubscription"]
    assert payload["userErrors"] == []
    sub = payload["subscription"]
    assert (sub["status"], sub["statusReason"], sub["cancellationReason"]) == ("DISABLED", "CANCELLED", "TOO_EXPENSIVE")
    assert sub["cancellationFeedback"] == "We use another tool"
    assert sub["autoRenew"] is False
    assert sub["disabledUntil"] == (clock.now() + timedelta(days=90)).isoformat()
    assert sub["dataDeletionDate"] == (clock.now() + timedelta(days=180)).isoformat()
    assert [e["node"]["state"] for e in sub["licenseAssignments"]["edges"]] == ["SUSPENDED", "SUSPENDED"]
    # 23.00 x 30 x 20 / 30 = 460.00, as an outstanding credit for the next invoice
    assert payload["credit"] == {"amount": "460.00", "currency": "USD"}
    line = await models.InvoiceLine.get(subscription_id=subscription.id, kind=models.InvoiceLineKind.PRORATED_CREDIT)
    assert (str(line.amount), line.invoice_id) == ("-460.00", None)
    # §4: the other subscription of the product is untouched
    untouched = await models.Subscription.get(id=sibling.id)
    assert (untouched.status, untouched.version) == (models.SubscriptionStatus.ACTIVE, sibling.version)


@pytest.mark.parametrize("assigned, code", [(25, None), (26, "CONTACT_SUPPORT_TO_CANCEL")])
async def test_mosa_online_cancellation_with_at_most_25_assigned(client, clock, assigned, code):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _mosa_subscription(org, clock, holders=await _holders(org, clock, assigned))
    body = await gql(client, CANCEL, _cancel(subscription), token=org.token)
    errors = body["data"]["cancelSubscription"]["userErrors"]
    assert [e["code"] for e in errors] == ([code] if code else [])


async def test_mca_cancellation_only_within_168_hours_then_auto_renew_off_is_the_way(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MCA)
    late = await factories.add_subscription(org, clock, term_start=clock.now() - timedelta(hours=169))
    body = await gql(client, CANCEL, _cancel(late), token=org.token)
    [error] = body["data"]["cancelSubscription"]["userErrors"]
    assert error["code"] == "CANCELLATION_WINDOW_CLOSED" and "auto-renew off" in error["message"]
    recent = await factories.add_subscription(org, clock, term_start=clock.now() - timedelta(hours=167))
    body = await gql(client, CANCEL, _cancel(recent), token=org.token)
    assert body["data"]["cancelSubscription"]["userErrors"] == []


async def test_the_preview_lists_every_blocker_dates_credit_and_users(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _mosa_subscription(org, clock, holders=await _holders(org, clock, 26), charged=True)
    await models.Domain.create(tenant_id=org.tenant.id, name="contoso.com", subscription_id=subscription.id, created_at=clock.now())
    body = await gql(client, PREVIEW, {"id": gid("Subscription", subscription.id)}, token=org.token)
    preview = body["data"]["cancellationPreview"]
    assert preview["eligible"] is False
    assert [b["code"] for b in preview["blockers"]] == ["DOMAIN_MUST_BE_REMOVED", "CONTACT_SUPPORT_TO_CANCEL"]
    assert "contoso.com" in preview["blockers"][0]["message"]
    assert preview["affectedUsers"] == 26
    assert preview["credit"] == {"amount": "460.00", "currency": "USD"}
    assert "20/30 days" in preview["creditExplanation"]
    assert preview["dataDeletedBy"] == (clock.now() + timedelta(days=180)).isoformat()
    assert await models.Subscription.get(id=subscription.id).values_list("status", flat=True) == models.SubscriptionStatus.ACTIVE


async def test_a_trial_is_cancelled_with_no_credit(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    trial = await _mosa_subscription(org, clock, purchase_channel=models.PurchaseChannel.TRIAL, trial=True)
    body = await gql(client, CANCEL, _cancel(trial), token=org.token)
    assert body["data"]["cancelSubscription"]["credit"]["amount"] == "0.00"
    assert await models.InvoiceLine.all().count() == 0


async def test_cancelling_twice_with_one_key_replays_and_credits_once(client, clock):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _mosa_subscription(org, clock, charged=True)
    first = await gql(client, CANCEL, _cancel(subscription, idempotencyKey="c-1"), token=org.token)
    again = await gql(client, CANCEL, _cancel(subscription, idempotencyKey="c-1"), token=org.token)
    assert again["data"]["cancelSubscription"]["replayed"] is True
    assert again["data"]["cancelSubscription"]["credit"] == first["data"]["cancelSubscription"]["credit"]
    assert first["data"]["cancelSubscription"]["credit"]["amount"] != "0.00"
    assert await models.InvoiceLine.filter(kind=models.InvoiceLineKind.PRORATED_CREDIT).count() == 1
    without_key = await gql(client, CANCEL, _cancel(subscription), token=org.token)
    assert without_key["data"]["cancelSubscription"]["userErrors"][0]["code"] == "INVALID_STATUS"


@pytest.mark.parametrize("role, code", [
    (models.Role.BILLING_ADMIN, None), (models.Role.LICENSE_ADMIN, "FORBIDDEN"),
])
async def test_who_may_cancel(client, clock, role, code):
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    _, token = await factories.add_user(org, clock, "Caller", [role])
    subscription = await _mosa_subscription(org, clock)
    body = await gql(client, CANCEL, _cancel(subscription), token=token)
    assert [e["code"] for e in body["data"]["cancelSubscription"]["userErrors"]] == ([code] if code else [])


async def test_a_credit_never_exceeds_what_the_term_was_charged(client, clock):
    """§7: "A credit never exceeds what was paid for that period": a term charged only in
    part (here: nothing but a 100.00 line) credits at most that."""
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await _mosa_subscription(org, clock)
    await models.InvoiceLine.create(
        tenant_id=org.tenant.id, billing_profile_id=org.profile.id, subscription_id=subscription.id,
        kind=models.InvoiceLineKind.PURCHASE, description="part", quantity=1, unit_price=Decimal("100.00"),
        amount=Decimal("100.00"), period_start=subscription.term_start.date(), period_end=subscription.term_end.date(),
        explanation="part", charge_on=clock.now().date(), created_at=clock.now())
    body = await gql(client, PREVIEW, {"id": gid("Subscription", subscription.id)}, token=org.token)
    preview = body["data"]["cancellationPreview"]
    assert preview["credit"] == {"amount": "100.00", "currency": "USD"}  # pro rata would be 460.00
    assert "capped at 100.00 USD" in preview["creditExplanation"]
    body = await gql(client, CANCEL, _cancel(subscription), token=org.token)
    assert body["data"]["cancelSubscription"]["credit"]["amount"] == "100.00"
