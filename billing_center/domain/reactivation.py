"""Reactivate an expired or disabled subscription (SPEC §5 Reactivate).

MCA: a new subscription (same product, licence count and commitment term) starts today; the
old one stays as it was, points to its successor, and hands over its assignments.
MOSA: the same subscription returns to ACTIVE with a payment method. After expiry a new term
starts where the old one ended and is charged now; after cancellation or non-payment the term
end stays, and the credit for the days from now to the term end is charged back. Charges are
outstanding lines the billing engine collects; a past-due amount is settled first, at once, with
the payment method given.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from billing_center.domain import actions, audit, billing_engine, idempotency, invoices, models
from billing_center.domain.actor import Actor
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.money import pro_rata, round_cents
from billing_center.domain.payments import CardDetails, PaymentGateway, validate_card
from billing_center.domain.subscriptions import state_changed, visible_facts

INACTIVE = (models.SubscriptionStatus.EXPIRED, models.SubscriptionStatus.DISABLED)


@dataclass(frozen=True, slots=True)
class Reactivated:
    """The active subscription (new for MCA) and the one it came from."""

    subscription_id: int
    previous_subscription_id: int
    replayed: bool = False


async def reactivate_subscription(
    actor: Actor,
    subscription_id: int,
    clock: Clock,
    gateway: PaymentGateway,
    payment_method_id: int | None = None,
    new_payment_method: CardDetails | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
) -> Reactivated:
    """§5: reactivate within the 90 disabled days (or while expired). Raises NOT_FOUND,
    FORBIDDEN, READ_ONLY_SELF_SERVICE, INVALID_STATUS, REACTIVATION_UNAVAILABLE,
    PAYMENT_METHOD_REQUIRED, CARD_INVALID, PAYMENT_DECLINED, STATE_CHANGED."""
    tenant_id = actor.require_tenant()
    key = idempotency.Key.of("reactivateSubscription", idempotency_key, {
        "subscriptionId": subscription_id, "paymentMethodId": payment_method_id,
        "newCardLast4": new_payment_method.number[-4:] if new_payment_method else None,
        "expectedVersion": expected_version,
    })
    previous = await idempotency.previous_result(actor, key)
    if previous is not None:
        return Reactivated(previous["subscriptionId"], previous["previousSubscriptionId"], True)
    facts, version = await visible_facts(actor, subscription_id)
    if expected_version is not None and expected_version != version:
        raise state_changed(version)
    now = clock.now()
    actions.require(actor, facts, actions.Action.REACTIVATE, now)
    row = (await models.Subscription.filter(id=subscription_id).values(
        "product_id", "billing_account_id", "billing_profile_id", "unit_price", "currency", "purchase_channel", "trial", "status_reason",
        "billing_account__charge_schedule", "billing_account__billing_day", "product__name",
    ))[0]
    mosa = facts.account_type is models.BillingAccountType.MOSA
    token = card = None
    if mosa:
        if payment_method_id is not None and not await models.PaymentMethod.filter(
            id=payment_method_id, tenant_id=tenant_id, billing_account_id=row["billing_account_id"]
        ).exists():
            raise not_found("Payment method", ("input", "paymentMethodId"))
        if payment_method_id is None and new_payment_method is None:
            raise DomainError(ErrorCode.PAYMENT_METHOD_REQUIRED,
                              "MOSA reactivation needs a payment method: paymentMethodId or newPaymentMethod.",
                              ("input", "paymentMethodId"))
        if new_payment_method is not None:
            card = validate_card(new_payment_method, now.date())
            token = await gateway.tokenize(card, new_payment_method.security_code)  # outside the transaction
        if facts.status is models.SubscriptionStatus.DISABLED:
            await _settle_past_due(actor, row, token, payment_method_id, clock, gateway)
    charge_on = charge_date(now.date(), models.ChargeSchedule(row["billing_account__charge_schedule"]),
                            row["billing_account__billing_day"])
    try:
        async with in_transaction():
            if mosa:
                result = await _revive_mosa(actor, subscription_id, facts, version, row, now, charge_on,
                                            payment_method_id, token, card, new_payment_method)
            else:
                result = await _successor_mca(actor, subscription_id, facts, version, row, now, charge_on)
            await idempotency.claim(actor, key, {"subscriptionId": result.subscription_id,
                                                 "previousSubscriptionId": subscription_id}, now)
    except (IntegrityError, DomainError):
        previous = await idempotency.previous_result(actor, key)
        if previous is None:
            raise
        return Reactivated(previous["subscriptionId"], previous["previousSubscriptionId"], True)
    if charge_on <= now.date():
        # §7: charged at once (RENEWAL_DAY), like a renewal.
        await billing_engine.collect_now(tenant_id, now, gateway)
    return result


async def _settle_past_due(actor, row, token, payment_method_id, clock, gateway) -> None:
    """§5 MOSA: a past-due amount is settled first, with the payment method given."""
    if token is None:
        token = (await models.PaymentMethod.get(id=payment_method_id)).gateway_token
    past_due = await models.Invoice.filter(
        tenant_id=actor.tenant_id, billing_account_id=row["billing_account_id"],
        status=models.InvoiceStatus.PAST_DUE,
    ).order_by("id").values("id", "status", "amount_due", "currency")
    for invoice in past_due:
        paid = await invoices.charge_invoice(actor, invoice["id"], invoice, token, payment_method_id, clock, gateway)
        if paid is False:
            raise DomainError(ErrorCode.PAYMENT_DECLINED,
                              "The past-due amount could not be charged to this card; nothing was reactivated.",
                              ("input", "paymentMethodId"))


async def _claim(subscription_id: int, version: int, **changes: object) -> None:
    # Write-first and conditional on the version that was checked: of two racing
    # reactivations exactly one applies; the other is refused.
    updated = await models.Subscription.filter(
        id=subscription_id, version=version, status__in=INACTIVE
    ).update(version=F("version") + 1, **changes)
    if not updated:
        current = await models.Subscription.get(id=subscription_id)
        raise state_changed(current.version)


async def _successor_mca(actor, subscription_id, facts, version, row, now, charge_on) -> Reactivated:
    await _claim(subscription_id, version, assigned_count=0)
    term = facts.commitment_term
    successor = await models.Subscription.create(
        tenant_id=actor.tenant_id, billing_account_id=row["billing_account_id"],
        billing_profile_id=row["billing_profile_id"], product_id=row["product_id"],
        status=models.SubscriptionStatus.ACTIVE, status_changed_at=now, quantity=facts.quantity,
        assigned_count=facts.assigned_count, commitment_term=term, auto_renew=True, start_date=now.date(),
        term_start=now, term_end=term_end(now, term), next_charge_date=charge_on,
        purchase_channel=row["purchase_channel"], purchased_by_id=actor.user_id, unit_price=row["unit_price"],
        currency=row["currency"], reactivated_from_id=subscription_id, created_at=now,
    )
    await models.LicenseAssignment.filter(tenant_id=actor.tenant_id, subscription_id=subscription_id).update(
        subscription_id=successor.id, state=models.LicenseState.ACTIVE
    )
    amount = round_cents(row["unit_price"] * facts.quantity)
    await _line(actor, row, successor.id, models.InvoiceLineKind.PURCHASE,
                f"{row['product__name']}: reactivated as a new subscription, first term", facts.quantity,
                amount, now.date(), successor.term_end.date(), charge_on, now,
                f"{row['unit_price']} {row['currency']} x {facts.quantity} licence(s) for one term")
    await audit.record(actor, actor.tenant_id, "subscription.reactivated", "Subscription", successor.id, now,
                       before={"from": subscription_id, "status": facts.status}, after={"status": "ACTIVE"})
    return Reactivated(successor.id, subscription_id)


async def _revive_mosa(actor, subscription_id, facts, version, row, now, charge_on,
                       payment_method_id, token, card, new_payment_method) -> Reactivated:
    term = facts.commitment_term
    if facts.status is models.SubscriptionStatus.EXPIRED or row["status_reason"] == models.StatusReason.TERM_ENDED:
        # A new term starts where the old one ended, charged now; when that term would be over
        # already (disabled long after expiry), it starts now.
        starts = facts.term_end if term_end(facts.term_end, term) > now else now
        ends = term_end(starts, term)
        amount = round_cents(row["unit_price"] * facts.quantity)
        kind, label = models.InvoiceLineKind.RENEWAL, "reactivated after expiry, new term"
        explanation = f"{row['unit_price']} {row['currency']} x {facts.quantity} licence(s) for one term"
    else:
        # Cancelled or disabled: the term end stays; the credit for now..term end is charged back.
        starts, ends = facts.term_start, facts.term_end
        share = pro_rata(row["unit_price"], facts.quantity, (ends.date() - now.date()).days,
                         (ends.date() - starts.date()).days, row["currency"])
        # A cancelled trial was credited nothing, so nothing is charged back: it stays a trial.
        amount = Decimal("0.00") if row["trial"] else share.amount
        kind, label = models.InvoiceLineKind.PRORATED_CHARGE, "reactivated, rest of the term"
        explanation = "Charge back of the cancellation credit: " + share.explanation
    await _claim(subscription_id, version, status=models.SubscriptionStatus.ACTIVE, status_reason=None,
                 status_changed_at=now, term_start=starts, term_end=ends, auto_renew=True,
                 disabled_at=None, expired_at=None, cancelled_at=None, cancellation_reason=None,
                 cancellation_feedback=None, next_charge_date=charge_on, trial=row["trial"] and amount == 0)
    if token is not None:
        method = await models.PaymentMethod.create(
            tenant_id=actor.tenant_id, billing_account_id=row["billing_account_id"], brand=card.brand,
            last4=card.last4, expiry_month=new_payment_method.expiry_month,
            expiry_year=new_payment_method.expiry_year, name_on_card=new_payment_method.name_on_card.strip(),
            address=new_payment_method.address, gateway_token=token, created_at=now,
        )
        payment_method_id = method.id
    await models.BillingProfile.filter(id=row["billing_profile_id"]).update(payment_method_id=payment_method_id)
    await models.LicenseAssignment.filter(tenant_id=actor.tenant_id, subscription_id=subscription_id).update(
        state=models.LicenseState.ACTIVE
    )
    if amount > 0:
        await _line(actor, row, subscription_id, kind, f"{row['product__name']}: {label}", facts.quantity,
                    amount, max(starts.date(), now.date()), ends.date(), charge_on, now, explanation)
    await audit.record(actor, actor.tenant_id, "subscription.reactivated", "Subscription", subscription_id, now,
                       before={"status": facts.status}, after={"status": "ACTIVE", "termEnd": ends})
    return Reactivated(subscription_id, subscription_id)


async def _line(actor, row, subscription_id, kind, description, quantity, amount, start, end, charge_on, now,
                explanation) -> None:
    await models.InvoiceLine.create(
        tenant_id=actor.tenant_id, billing_profile_id=row["billing_profile_id"], subscription_id=subscription_id,
        kind=kind, description=description, quantity=quantity, unit_price=row["unit_price"], amount=amount,
        currency=row["currency"], period_start=start, period_end=end, explanation=explanation,
        charge_on=charge_on, created_at=now,
    )
