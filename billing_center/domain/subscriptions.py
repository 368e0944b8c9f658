"""Services on one subscription (SPEC §3, §5). Each checks the rule behind
`availableActions` (domain.available_actions) before it writes; the rules themselves are
named in domain.subscription_rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tortoise.expressions import F

from billing_center.domain import audit, available_actions, idempotency, models, spending, visibility
from billing_center.domain import subscription_rules as rules
from billing_center.domain.atomic import atomic
from billing_center.domain.billing import charging, credits, invoice_lines, invoicing, ledger
from billing_center.domain.billing_dates import charge_date
from billing_center.domain.money import pro_rata
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.payment_gateway import PaymentGateway


async def visible_facts(
    actor: Actor, subscription_id: int, expected_version: int | None = None
) -> tuple[rules.SubscriptionFacts, int]:
    """The facts and version of a subscription the caller may see; NOT_FOUND otherwise, and
    STATE_CHANGED when the caller expected another version (§8)."""
    tenant_id = actor.require_tenant()
    rows = await models.Subscription.filter(visibility.subscriptions(actor), id=subscription_id).values("version")
    if not rows:
        raise not_found("Subscription", ("input", "subscriptionId"))
    facts = await available_actions.load_facts(tenant_id, [subscription_id])
    version = rows[0]["version"]
    if expected_version is not None and expected_version != version:
        raise state_changed(version)
    return facts[subscription_id], version


async def update_if_version(
    tenant_id: int, subscription_id: int, version: int,
    in_status: models.SubscriptionStatus | tuple[models.SubscriptionStatus, ...] = models.SubscriptionStatus.ACTIVE,
    **changes: object,
) -> None:
    """Apply `changes` to a subscription still at `version` and in `in_status` (ACTIVE unless
    told), moving its version on; STATE_CHANGED otherwise (§8). Write-first and conditional on
    what the caller checked, so a concurrent change makes it apply to nothing. Keys ending in
    a lookup (`assigned_count__lte`) are further conditions, not changes."""
    conditions = {key: value for key, value in changes.items() if "__" in key}
    values = {key: value for key, value in changes.items() if "__" not in key}
    status = {"status__in": in_status} if isinstance(in_status, tuple) else {"status": in_status}
    updated = await models.Subscription.filter(
        id=subscription_id, tenant_id=tenant_id, version=version, **status, **conditions,
    ).update(version=F("version") + 1, **values)
    if not updated:
        current = await models.Subscription.get(id=subscription_id)
        raise state_changed(current.version)


def state_changed(version: int) -> DomainError:
    """The refusal of a change made against a stale version (§8)."""
    return DomainError(
        ErrorCode.STATE_CHANGED,
        f"The subscription changed since you read it (now version {version}); reload and retry.",
        ("input", "expectedVersion"),
    )


async def set_auto_renew(
    actor: Actor, subscription_id: int, auto_renew: bool, clock: Clock, expected_version: int | None = None
) -> None:
    """§3, §5: turn auto-renew on or off while the subscription is active (turning it off is
    the way out of an MCA term after the cancellation window). Raises NOT_FOUND, FORBIDDEN,
    READ_ONLY_SELF_SERVICE, INVALID_STATUS, STATE_CHANGED."""
    facts, version = await visible_facts(actor, subscription_id, expected_version)
    action = (available_actions.Action.TURN_ON_AUTO_RENEW if auto_renew
              else available_actions.Action.TURN_OFF_AUTO_RENEW)
    now = clock.now()
    available_actions.require(actor, facts, action, now)
    async with atomic():
        await update_if_version(actor.tenant_id, subscription_id, version, auto_renew=auto_renew)  # type: ignore[arg-type]
        await audit.record(
            actor, actor.tenant_id, "subscription.auto_renew_set", "Subscription", subscription_id, now,  # type: ignore[arg-type]
            before={"autoRenew": facts.auto_renew}, after={"autoRenew": auto_renew},
        )


@dataclass(frozen=True, slots=True)
class QuantityChange:
    """The outcome of `update_license_quantity`."""

    subscription_id: int
    invoice_line_id: int | None
    replayed: bool = False

    @classmethod
    def of(cls, result: dict, replayed: bool) -> QuantityChange:
        """From the result a licence count change keeps under the idempotency key."""
        return cls(result["subscriptionId"], result["invoiceLineId"], replayed)


@dataclass(frozen=True, slots=True)
class _Resize:
    """A change of the licence count as decided before its transaction: from `facts` (at
    `version`) to `total`, and the pro-rata line it brings (`amount` 0: none)."""

    subscription_id: int
    facts: rules.SubscriptionFacts
    version: int
    row: dict
    total: int
    amount: Decimal
    explanation: str
    schedule: models.ChargeSchedule
    charge_on: date
    now: datetime

    @property
    def increase(self) -> bool:
        return self.total > self.facts.quantity

    @property
    def difference(self) -> int:
        return abs(self.total - self.facts.quantity)


async def update_license_quantity(
    actor: Actor,
    subscription_id: int,
    total: int,
    clock: Clock,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    gateway: PaymentGateway | None = None,
) -> QuantityChange:
    """§3: set the licence count to a new total (100 + 5 more: 105), 1 to 100,000 (a trial's
    at most rules.MAX_TRIAL_QUANTITY) and never below the assigned count. An increase is charged and a decrease credited pro rata for the
    rest of the term (§7), as an invoice line that explains itself; under RENEWAL_DAY the
    charge is collected at once (with `gateway`). On an MCA account a decrease after the
    cancellation window is scheduled for the renewal instead (no credit); the current total
    again withdraws it. Raises NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE, INVALID_INPUT,
    INVALID_STATUS, QUANTITY_BELOW_ASSIGNED, SPENDING_LIMIT, STATE_CHANGED, IDEMPOTENCY_KEY_REUSED."""
    key = idempotency.Key.of("updateLicenseQuantity", idempotency_key,
                             {"subscriptionId": subscription_id, "totalLicenses": total,
                              "expectedVersion": expected_version})
    actor.require_tenant()
    if (replay := await idempotency.replay(actor, key, QuantityChange.of)) is not None:
        return replay
    if rules.licence_total_out_of_range(total):
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"A subscription has {rules.MIN_QUANTITY} to {rules.MAX_QUANTITY} licences.",
                          ("input", "totalLicenses"))
    facts, version = await visible_facts(actor, subscription_id, expected_version)
    row = (await models.Subscription.filter(id=subscription_id).values(
        "unit_price", "currency", "billing_profile_id", "billing_account__charge_schedule",
        "billing_account__billing_day", "product__name", "trial", "scheduled_quantity",
    ))[0]
    if row["trial"] and rules.trial_too_large(total, facts.quantity):
        # A trial's licences are free: it grows no further than a trial's size (§5 Trials);
        # one begun larger, before the bound, may still shrink.
        raise DomainError(ErrorCode.INVALID_INPUT, f"A trial has {rules.MIN_QUANTITY} to {rules.MAX_TRIAL_QUANTITY} licences.",
                          ("input", "totalLicenses"))
    if total == facts.quantity and row["scheduled_quantity"] is None:
        return QuantityChange(subscription_id, None)
    now = clock.now()
    await _check_resize(actor, facts, row, total, now)
    if total <= facts.quantity and rules.decrease_waits_for_renewal(facts, now):
        return await _schedule_decrease(actor, subscription_id, facts, version, row, total, now, key)
    resize = await _plan_resize(subscription_id, facts, version, row, total, now)
    # A concurrent call with the same key may win the race: its result is then ours.
    result, replayed = await idempotency.once(actor, key, lambda: _resize(actor, resize), now)
    if gateway is not None and result.get("invoiceId") is not None and not replayed:
        await charging.collect_now(result["invoiceId"], now, gateway)
    return QuantityChange.of(result, replayed)


async def _check_resize(actor: Actor, facts: rules.SubscriptionFacts, row: dict, total: int, now: datetime) -> None:
    """§3: the caller may buy or remove licences now, no fewer than are assigned remain, and
    an increase fits the spending limit."""
    increase = total > facts.quantity
    available_actions.require(actor, facts, available_actions.Action.BUY_LICENSES if increase
                              else available_actions.Action.REMOVE_LICENSES, now)
    if rules.total_below_assigned(facts, total):
        raise DomainError(
            ErrorCode.QUANTITY_BELOW_ASSIGNED,
            f"{facts.assigned_count} licences are assigned; unassign some before going down to {total}.",
            ("input", "totalLicenses"),
        )
    if increase:
        await spending.require_room(row["billing_profile_id"], row["unit_price"] * (total - facts.quantity),
                                    ("input", "totalLicenses"))


async def _plan_resize(subscription_id: int, facts: rules.SubscriptionFacts, version: int, row: dict, total: int,
                       now: datetime) -> _Resize:
    """§7: the pro-rata charge (increase) or credit (decrease) for the rest of the term, and
    when it is charged; a trial's licences cost nothing."""
    share = pro_rata(row["unit_price"], abs(total - facts.quantity),
                     (facts.term_end.date() - now.date()).days,
                     (facts.term_end.date() - facts.term_start.date()).days, row["currency"])
    if total > facts.quantity:
        amount, explanation = ((Decimal("0.00"), credits.TRIAL_EXPLANATION) if row["trial"]
                               else (share.amount, share.explanation))
    else:
        amount, explanation = await credits.credit_for(share, subscription_id, facts.term_start.date(),
                                                       facts.term_end.date(), row["trial"])
    schedule = models.ChargeSchedule(row["billing_account__charge_schedule"])
    charge_on = charge_date(now.date(), schedule, row["billing_account__billing_day"])
    return _Resize(subscription_id, facts, version, row, total, amount, explanation, schedule, charge_on, now)


async def _resize(actor: Actor, r: _Resize) -> dict:
    """The writes of a licence count change, in its one transaction; its result for the key."""
    tenant_id, row, now = actor.tenant_id, r.row, r.now
    # A concurrent assignment makes it apply to nothing instead of breaking assigned <= quantity.
    await update_if_version(tenant_id, r.subscription_id, r.version,  # type: ignore[arg-type]
                            assigned_count__lte=r.total, quantity=r.total, scheduled_quantity=None)
    if not row["trial"]:
        await ledger.record_service(tenant_id, r.subscription_id, now.date(), r.total,  # type: ignore[arg-type]
                                    models.ServiceChange.LICENCES_CHANGED)
    line_id = invoice_id = None
    if r.amount > 0:
        line_id = await invoice_lines.add(invoice_lines.line(
            invoice_lines.Billed.of(tenant_id, r.subscription_id, row),  # type: ignore[arg-type]
            models.InvoiceLineKind.PRORATED_CHARGE if r.increase else models.InvoiceLineKind.PRORATED_CREDIT,
            description=(f"{row['product__name']}: {'+' if r.increase else '-'}{r.difference} "
                         f"licence(s), {r.facts.quantity} -> {r.total}, rest of the term"),
            quantity=r.difference, amount=r.amount, period=(now.date(), r.facts.term_end.date()),
            explanation=("Charge: " if r.increase else "Credit: ") + r.explanation, charge_on=r.charge_on, at=now,
        ))
        if r.increase and at_once(r.schedule, r.charge_on, now):
            invoice_id = await invoicing.issue_at_once(line_id, now)
    await audit.record(
        actor, tenant_id, "subscription.quantity_changed", "Subscription", r.subscription_id, now,  # type: ignore[arg-type]
        before={"quantity": r.facts.quantity},
        after={"quantity": r.total, "invoiceLineId": line_id, "explanation": r.explanation},
    )
    return {"subscriptionId": r.subscription_id, "invoiceLineId": line_id, "invoiceId": invoice_id}


def at_once(schedule: models.ChargeSchedule, charge_on: date, now: datetime) -> bool:
    """§7: a change charged today under RENEWAL_DAY is charged at once, on a document of its
    own; under ACCOUNT_BILLING_DAY it waits for the billing day's document."""
    return schedule is models.ChargeSchedule.RENEWAL_DAY and charge_on <= now.date()


async def _schedule_decrease(actor: Actor, subscription_id: int, facts: rules.SubscriptionFacts, version: int,
                             row: dict, total: int, now: datetime, key: idempotency.Key | None) -> QuantityChange:
    """§3 MCA after the cancellation window: the decrease waits for the renewal (no credit);
    asking for the current count withdraws a scheduled one."""
    scheduled = None if total == facts.quantity else total

    async def schedule() -> dict:
        await update_if_version(actor.tenant_id, subscription_id, version,  # type: ignore[arg-type]
                                scheduled_quantity=scheduled)
        await audit.record(
            actor, actor.tenant_id, "subscription.quantity_scheduled", "Subscription", subscription_id, now,  # type: ignore[arg-type]
            before={"quantity": facts.quantity, "scheduledQuantity": row["scheduled_quantity"]},
            after={"scheduledQuantity": scheduled, "appliesOn": facts.term_end if scheduled else None},
        )
        return {"subscriptionId": subscription_id, "invoiceLineId": None}

    return QuantityChange.of(*await idempotency.once(actor, key, schedule, now))
