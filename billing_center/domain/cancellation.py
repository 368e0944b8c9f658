"""Cancel a subscription, and preview what cancelling would do (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_center.domain import audit, available_actions, idempotency, lifecycle, models
from billing_center.domain.billing import credits, invoice_lines, ledger
from billing_center.domain.actor import Actor
from billing_center.domain.billing_dates import charge_date
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.money import pro_rata
from billing_center.domain.subscription_rules import SubscriptionFacts
from billing_center.domain.subscriptions import update_if_version, visible_facts

MAX_FEEDBACK = 2000


@dataclass(frozen=True)
class Preview:
    """What cancelling now would do (§5): eligible or every blocker, dates, credit, users."""

    eligible: bool
    blockers: list[DomainError]
    dates: lifecycle.RetentionDates
    credit: Decimal
    currency: str
    credit_explanation: str
    affected_users: int


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The outcome of `cancel_subscription`."""

    subscription_id: int
    credit: Decimal
    currency: str
    replayed: bool = False

    @classmethod
    def of(cls, result: dict, replayed: bool) -> Cancelled:
        """From the result `_cancel` keeps under the idempotency key."""
        return cls(result["subscriptionId"], Decimal(result["credit"]), result["currency"], replayed)


async def _terms(subscription_id: int) -> dict:
    return (await models.Subscription.filter(id=subscription_id).values(
        "unit_price", "currency", "quantity", "trial", "billing_profile_id",
        "billing_account__charge_schedule", "billing_account__billing_day", "product__name",
    ))[0]


async def _credit(subscription_id: int, row: dict, facts: SubscriptionFacts,
                  now: datetime) -> tuple[Decimal, str]:
    # NOTE: a trial was free, so cancelling it credits nothing (§5 Trials), and no credit is
    # more than what the term was charged (§7).
    share = pro_rata(row["unit_price"], row["quantity"], (facts.term_end.date() - now.date()).days,
                     (facts.term_end.date() - facts.term_start.date()).days, row["currency"])
    amount, explanation = await credits.credit_for(share, subscription_id, facts.term_start.date(),
                                                   facts.term_end.date(), row["trial"])
    return amount, "Credit for the unused part of the term: " + explanation


async def preview_cancellation(actor: Actor, subscription_id: int, clock: Clock) -> Preview:
    """§5: whether the caller may cancel now, with every blocker; the dates that would follow;
    the pro-rata credit and how it is computed; how many users would lose the service."""
    facts, _ = await visible_facts(actor, subscription_id)
    now = clock.now()
    blockers = [state.error() for state in available_actions.cancel_blockers(facts, now)]
    refusal = available_actions.permission(actor, facts, available_actions.Action.CANCEL)
    if refusal is not None:
        blockers.insert(0, refusal.error())
    row = await _terms(subscription_id)
    credit, explanation = await _credit(subscription_id, row, facts, now)
    return Preview(
        eligible=not blockers,
        blockers=blockers,
        dates=lifecycle.retention_dates(models.SubscriptionStatus.DISABLED, now, now),
        credit=credit, currency=row["currency"], credit_explanation=explanation,
        affected_users=facts.assigned_count,
    )


async def cancel_subscription(
    actor: Actor,
    subscription_id: int,
    reason: models.CancellationReason,
    feedback: str | None,
    clock: Clock,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
) -> Cancelled:
    """§5: the subscription goes straight to DISABLED (reason CANCELLED) for 90 days, its
    assignments are suspended, and the unused part of the term is credited pro rata on the
    next invoice of its billing profile. Other subscriptions of the product are untouched.
    Raises NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE, INVALID_STATUS, CONTACT_SUPPORT_TO_CANCEL,
    CANCELLATION_WINDOW_CLOSED, DOMAIN_MUST_BE_REMOVED, STATE_CHANGED, IDEMPOTENCY_KEY_REUSED."""
    actor.require_tenant()
    key = idempotency.Key.of("cancelSubscription", idempotency_key, {
        "subscriptionId": subscription_id, "reason": reason.value, "feedback": feedback,
        "expectedVersion": expected_version,
    })
    if (replay := await idempotency.replay(actor, key, Cancelled.of)) is not None:
        return replay
    if feedback is not None and len(feedback) > MAX_FEEDBACK:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Feedback has at most {MAX_FEEDBACK} characters.", ("input", "feedback"))
    facts, version = await visible_facts(actor, subscription_id, expected_version)
    now = clock.now()
    available_actions.require(actor, facts, available_actions.Action.CANCEL, now)
    row = await _terms(subscription_id)
    credit, explanation = await _credit(subscription_id, row, facts, now)
    cancellation = _Cancellation(subscription_id, facts, version, row, reason, feedback, credit, explanation, now)
    return Cancelled.of(*await idempotency.once(actor, key, lambda: _cancel(actor, cancellation), now))


@dataclass(frozen=True, slots=True)
class _Cancellation:
    """What a cancellation decided before its transaction: the subscription as seen, why,
    and the credit for the unused part of its term."""

    subscription_id: int
    facts: SubscriptionFacts
    version: int
    row: dict
    reason: models.CancellationReason
    feedback: str | None
    credit: Decimal
    explanation: str
    now: datetime


async def _cancel(actor: Actor, c: _Cancellation) -> dict:
    """The writes of a cancellation, in its one transaction; its result for the key."""
    tenant_id, subscription_id, row, now = actor.tenant_id, c.subscription_id, c.row, c.now
    await update_if_version(tenant_id, subscription_id, c.version,  # type: ignore[arg-type]
                            **models.Subscription.cancelled(now, c.reason, c.feedback))
    await models.LicenseAssignment.filter(tenant_id=tenant_id, subscription_id=subscription_id).update(
        state=models.LicenseState.SUSPENDED
    )
    if not row["trial"]:
        await ledger.record_service(tenant_id, subscription_id, now.date(), 0,  # type: ignore[arg-type]
                                    models.ServiceChange.CANCELLED)
    if c.credit > 0:
        await invoice_lines.add(invoice_lines.line(
            invoice_lines.Billed.of(tenant_id, subscription_id, row),  # type: ignore[arg-type]
            models.InvoiceLineKind.PRORATED_CREDIT,
            description=f"{row['product__name']}: cancelled, unused part of the term",
            quantity=row["quantity"], amount=c.credit, period=(now.date(), c.facts.term_end.date()),
            explanation=c.explanation,
            # "Within the next billing cycle": an unpaid invoice of the term, else the next document.
            charge_on=charge_date(now.date(), models.ChargeSchedule(row["billing_account__charge_schedule"]),
                                  row["billing_account__billing_day"]),
            at=now,
        ))
    await audit.record(
        actor, tenant_id, "subscription.cancelled", "Subscription", subscription_id, now,  # type: ignore[arg-type]
        before={"status": c.facts.status},
        after={"status": models.SubscriptionStatus.DISABLED, "reason": c.reason, "feedback": c.feedback,
               "credit": c.credit},
    )
    return {"subscriptionId": subscription_id, "credit": str(c.credit), "currency": row["currency"]}
