"""Reactivate an expired or disabled subscription (SPEC §5 Reactivate).

MCA: a new subscription (same product, licence count and commitment term) starts today; the
old one stays as it was, points to its successor, hands over its assignments and offers no
seats any more. MOSA: the same subscription returns to ACTIVE. After expiry (users kept
working) a new term starts where the old one ended; after cancellation or non-payment the
term end stays and the days from today to it are charged. Whatever the path, no day is
charged twice and no day without service is charged: when the term end has passed (or the
subscription expired and was then disabled) a new term starts today. A payment method given
in the call becomes the profile's default and pays the charge; a past-due amount is settled
first, at once, with it (MOSA). Charges are dated when the reactivation happens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from billing_center.domain import audit, available_actions, idempotency, models, spending
from billing_center.domain.actor import Actor
from billing_center.domain.billing import charging, invoice_lines, invoicing, ledger
from billing_center.domain.billing.pay_now import charge_invoice
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.money import pro_rata, round_cents
from billing_center.domain.payment_gateway import CardDetails, PaymentGateway, ValidCard, validate_card
from billing_center.domain.subscription_rules import SubscriptionFacts
from billing_center.domain.subscriptions import at_once, update_if_version, visible_facts

INACTIVE = (models.SubscriptionStatus.EXPIRED, models.SubscriptionStatus.DISABLED)
Status = models.SubscriptionStatus


@dataclass(frozen=True, slots=True)
class Reactivated:
    """The active subscription (new for MCA) and the one it came from."""

    subscription_id: int
    previous_subscription_id: int
    replayed: bool = False

    @classmethod
    def of(cls, result: dict, replayed: bool) -> Reactivated:
        """From the result `_reactivate` keeps under the idempotency key."""
        return cls(result["subscriptionId"], result["previousSubscriptionId"], replayed)


@dataclass(frozen=True, slots=True)
class Revival:
    """What a reactivation charges: the term it runs in and the line for its days."""

    term_start: datetime
    term_end: datetime
    period_start: date
    amount: Decimal
    kind: models.InvoiceLineKind
    label: str
    explanation: str
    trial: bool = False


@dataclass(frozen=True, slots=True)
class _Card:
    """The payment method of the call: an existing one, or a new card already tokenized."""

    method_id: int | None
    token: str | None = None
    card: ValidCard | None = None
    details: CardDetails | None = None


def plan_revival(facts: SubscriptionFacts, reason: models.StatusReason | None, unit_price: Decimal,
                 currency: str, mca: bool, now: datetime) -> Revival:
    """§5: which days a reactivation now charges, and how much. Pure, so each path is tested
    on its own: MCA and a lapsed term start a new term today; after expiry the new term
    starts where the old one ended (users kept working); after cancellation or non-payment
    the rest of the term is charged."""
    term = facts.commitment_term
    full = round_cents(unit_price * facts.quantity)
    unit = "month" if term is models.CommitmentTerm.MONTHLY else "year"
    whole = f"{unit_price} {currency} x {facts.quantity} licence(s) for one {unit} = {full} {currency}"

    def new_term(starts: datetime, label: str) -> Revival:
        ends = term_end(starts, term)
        return Revival(starts, ends, starts.date(), full, models.InvoiceLineKind.RENEWAL, label, whole)

    if mca:
        return replace(new_term(now, "reactivated as a new subscription, first term"),
                       kind=models.InvoiceLineKind.PURCHASE)
    if facts.status is Status.EXPIRED:
        if term_end(facts.term_end, term) > now:
            return new_term(facts.term_end, "reactivated after expiry, new term from the end of the last one")
        return new_term(now, "reactivated after expiry, new term from today")
    if reason is models.StatusReason.TERM_ENDED or facts.term_end <= now:
        # The disabled days are not charged: the term starts today.
        return new_term(now, "reactivated, new term from today")
    if facts.trial:
        return Revival(facts.term_start, facts.term_end, now.date(), Decimal("0.00"), models.InvoiceLineKind.RENEWAL,
                       "reactivated trial", "A trial is free: nothing is charged for its days.", trial=True)
    share = pro_rata(unit_price, facts.quantity, (facts.term_end.date() - now.date()).days,
                     (facts.term_end.date() - facts.term_start.date()).days, currency)
    why = ("Charge back of the cancellation credit for the days from today to the end of the term: "
           if reason is models.StatusReason.CANCELLED else "The days from today to the end of the term: ")
    return Revival(facts.term_start, facts.term_end, now.date(), share.amount, models.InvoiceLineKind.PRORATED_CHARGE,
                   "reactivated, rest of the term", why + share.explanation)


@dataclass(frozen=True, slots=True)
class _Reactivation:
    """A reactivation as decided before its transaction."""

    subscription_id: int
    facts: SubscriptionFacts
    version: int
    row: dict
    card: _Card
    mosa: bool
    revival: Revival
    schedule: models.ChargeSchedule
    charge_on: date
    now: datetime


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
    FORBIDDEN, READ_ONLY_SELF_SERVICE, INVALID_STATUS, INVALID_INPUT, REACTIVATION_UNAVAILABLE,
    PAYMENT_METHOD_REQUIRED, CARD_INVALID, PAYMENT_DECLINED, SPENDING_LIMIT, STATE_CHANGED."""
    tenant_id = actor.require_tenant()
    key = idempotency.Key.of("reactivateSubscription", idempotency_key, {
        "subscriptionId": subscription_id, "paymentMethodId": payment_method_id,
        "newCardLast4": new_payment_method.number[-4:] if new_payment_method else None,
        "expectedVersion": expected_version,
    })
    if (replay := await idempotency.replay(actor, key, Reactivated.of)) is not None:
        return replay
    facts, version = await visible_facts(actor, subscription_id, expected_version)
    now = clock.now()
    available_actions.require(actor, facts, available_actions.Action.REACTIVATE, now)
    row = (await models.Subscription.filter(id=subscription_id).values(
        "product_id", "billing_account_id", "billing_profile_id", "unit_price", "currency", "purchase_channel",
        "status_reason", "billing_account__charge_schedule", "billing_account__billing_day", "product__name",
    ))[0]
    mosa = facts.account_type is models.BillingAccountType.MOSA
    await spending.require_room(row["billing_profile_id"], round_cents(row["unit_price"] * facts.quantity),
                                ("input", "subscriptionId"))
    card = await _payment_method(tenant_id, row["billing_account_id"], payment_method_id, new_payment_method,
                                 mosa, now, gateway)
    if mosa and facts.status is Status.DISABLED:
        await _settle_past_due(actor, row, card, clock, gateway)
    reason = models.StatusReason(row["status_reason"]) if row["status_reason"] else None
    revival = plan_revival(facts, reason, row["unit_price"], row["currency"], not mosa, now)
    schedule = models.ChargeSchedule(row["billing_account__charge_schedule"])
    charge_on = charge_date(now.date(), schedule, row["billing_account__billing_day"])
    plan = _Reactivation(subscription_id, facts, version, row, card, mosa, revival, schedule, charge_on, now)
    result, replayed = await idempotency.once(actor, key, lambda: _reactivate(actor, plan), now)
    if result.get("invoiceId") is not None and not replayed:
        # §7: charged at once (RENEWAL_DAY), like a purchase; a decline starts dunning.
        await charging.collect_now(result["invoiceId"], now, gateway)
    return Reactivated.of(result, replayed)


async def _reactivate(actor: Actor, r: _Reactivation) -> dict:
    """The writes of a reactivation, in its one transaction; its result for the key."""
    tenant_id, row, revival, now = actor.tenant_id, r.row, r.revival, r.now
    method_id = r.card.method_id
    if method_id is None and r.card.token is not None:
        method_id = await _store_card(tenant_id, row["billing_account_id"], r.card, now)  # type: ignore[arg-type]
    if method_id is not None:
        # §5: the card of the call pays, and becomes the profile's default.
        await models.BillingProfile.filter(id=row["billing_profile_id"]).update(payment_method_id=method_id)
    # Write-first and conditional on the version that was checked: of two racing
    # reactivations exactly one applies; the other is refused (STATE_CHANGED).
    if r.mosa:
        await update_if_version(tenant_id, r.subscription_id, r.version, INACTIVE,  # type: ignore[arg-type]
                                **models.Subscription.revived(now, revival.term_start, revival.term_end,
                                                              r.charge_on, revival.trial))
        await models.LicenseAssignment.filter(tenant_id=tenant_id, subscription_id=r.subscription_id).update(
            state=models.LicenseState.ACTIVE
        )
        active_id = r.subscription_id
    else:
        active_id = await _successor_mca(actor, r)
    invoice_id = None
    if revival.amount > 0:
        line_id = await invoice_lines.add(invoice_lines.line(
            invoice_lines.Billed.of(tenant_id, active_id, row),  # type: ignore[arg-type]
            revival.kind, description=f"{row['product__name']}: {revival.label}", quantity=r.facts.quantity,
            amount=revival.amount, period=(revival.period_start, revival.term_end.date()),
            explanation=revival.explanation, charge_on=r.charge_on, at=now))
        if at_once(r.schedule, r.charge_on, now):
            invoice_id = await invoicing.issue_at_once(line_id, now)
    else:
        # Nothing to charge now (a trial goes on): the next charge is at its term's end.
        await invoicing.refresh_next_charge({active_id})
    if not revival.trial:
        await ledger.record_service(tenant_id, active_id, revival.period_start, r.facts.quantity,  # type: ignore[arg-type]
                                    models.ServiceChange.REACTIVATED if r.mosa
                                    else models.ServiceChange.REACTIVATED_AS_NEW)
    await audit.record(actor, tenant_id, "subscription.reactivated", "Subscription", active_id, now,  # type: ignore[arg-type]
                       before={"from": r.subscription_id, "status": r.facts.status},
                       after={"status": "ACTIVE", "termEnd": revival.term_end, "charge": revival.amount})
    return {"subscriptionId": active_id, "previousSubscriptionId": r.subscription_id, "invoiceId": invoice_id}


async def _payment_method(tenant_id: int, account_id: int, payment_method_id: int | None,
                          new_payment_method: CardDetails | None, required: bool, now: datetime,
                          gateway: PaymentGateway) -> _Card:
    """§5: the payment method the call names (MOSA must name one), validated and tokenized
    before the transaction; input the call cannot use is refused."""
    if payment_method_id is not None and new_payment_method is not None:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give paymentMethodId or newPaymentMethod, not both.",
                          ("input", "newPaymentMethod"))
    if payment_method_id is not None:
        if not await models.PaymentMethod.filter(id=payment_method_id, tenant_id=tenant_id,
                                                 billing_account_id=account_id).exists():
            raise not_found("Payment method", ("input", "paymentMethodId"))
        return _Card(payment_method_id)
    if new_payment_method is not None:
        card = validate_card(new_payment_method, now.date())
        token = await gateway.tokenize(card, new_payment_method.security_code)  # outside the transaction
        return _Card(None, token, card, new_payment_method)
    if required:
        raise DomainError(ErrorCode.PAYMENT_METHOD_REQUIRED,
                          "MOSA reactivation needs a payment method: paymentMethodId or newPaymentMethod.",
                          ("input", "paymentMethodId"))
    if not await models.BillingProfile.filter(billing_account_id=account_id, payment_method_id__not_isnull=True).exists():
        # MCA: the new subscription is charged like a purchase, which needs a card (§7).
        raise DomainError(ErrorCode.PAYMENT_METHOD_REQUIRED,
                          "Add a payment method: give paymentMethodId or newPaymentMethod.", ("input", "paymentMethodId"))
    return _Card(None)


async def _store_card(tenant_id: int, account_id: int, card: _Card, now: datetime) -> int:
    details = card.details
    method = await models.PaymentMethod.create(
        tenant_id=tenant_id, billing_account_id=account_id, brand=card.card.brand, last4=card.card.last4,  # type: ignore[union-attr]
        expiry_month=details.expiry_month, expiry_year=details.expiry_year,  # type: ignore[union-attr]
        name_on_card=details.name_on_card.strip(), address=card.card.address, gateway_token=card.token,  # type: ignore[union-attr]
        created_at=now,
    )
    return method.id


async def _settle_past_due(actor: Actor, row: dict, card: _Card, clock: Clock, gateway: PaymentGateway) -> None:
    """§5 MOSA: a past-due amount (only the days served, §7) is settled first, with the
    payment method given."""
    token = card.token or (await models.PaymentMethod.get(id=card.method_id)).gateway_token
    past_due = await models.Invoice.filter(
        tenant_id=actor.tenant_id, billing_account_id=row["billing_account_id"],
        status=models.InvoiceStatus.PAST_DUE,
    ).order_by("id").values("id", "status", "amount_due", "currency", "first_failed_on")
    for invoice in past_due:
        paid = await charge_invoice(actor, invoice["id"], invoice, token, card.method_id, clock, gateway)
        if paid is False:
            raise DomainError(ErrorCode.PAYMENT_DECLINED,
                              "The past-due amount could not be charged to this card; nothing was reactivated.",
                              ("input", "paymentMethodId"))


async def _successor_mca(actor: Actor, r: _Reactivation) -> int:
    """§5 MCA: the old subscription offers no seats any more; its successor takes over its
    assignments and every field it does not start afresh (`Subscription.successor`)."""
    await update_if_version(actor.tenant_id, r.subscription_id, r.version, INACTIVE,  # type: ignore[arg-type]
                            assigned_count=0)
    previous = await models.Subscription.get(id=r.subscription_id, tenant_id=actor.tenant_id)
    successor = await models.Subscription.create(**previous.successor(
        r.revival.term_start, r.revival.term_end, r.charge_on, actor.user_id, r.facts.assigned_count))
    await models.LicenseAssignment.filter(tenant_id=actor.tenant_id, subscription_id=r.subscription_id).update(
        subscription_id=successor.id, state=models.LicenseState.ACTIVE
    )
    return successor.id

