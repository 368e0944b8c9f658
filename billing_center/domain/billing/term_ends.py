"""What happens to a subscription when its term ends (SPEC §3, §5 Trials, §7): it renews
(a RENEWAL line for the new term, charged like a renewal), a trial converts to paid, or it
expires."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from billing_center.domain import audit, bulk, models
from billing_center.domain.atomic import atomic
from billing_center.domain.billing import invoice_lines, ledger
from billing_center.domain.billing.scope import Scope, lock_rows
from billing_center.domain.billing.transitions import Transition, TransitionKind
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.money import round_cents
from billing_center.domain.policies import policy_for
from billing_center.domain.subscription_rules import EXPIRED_PERIOD, renews_at_term_end, self_service_policy_allows

Status = models.SubscriptionStatus


class TermEndOutcome(str, Enum):
    """Renewed for another term, a trial turned into a paid term, or expired."""

    RENEWED = "RENEWED"
    TRIAL_CONVERTED = "TRIAL_CONVERTED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class TermEndPlan:
    """The outcome at term end and, for a new term, its dates and its charge."""

    outcome: TermEndOutcome
    term_start: datetime | None = None
    term_end: datetime | None = None
    amount: Decimal | None = None
    charge_on: date | None = None


def plan_term_end(
    ended_at: datetime,
    term: models.CommitmentTerm,
    auto_renew: bool,
    trial: bool,
    has_payment_method: bool,
    unit_price: Decimal,
    quantity: int,
    schedule: models.ChargeSchedule,
    billing_day: int | None,
    renewal_day: int,
    may_convert: bool = True,
) -> TermEndPlan:
    """§3: with auto-renew on, a new term of the same length starts where the old one ended,
    ends on the subscription's renewal day (`renewal_day`, the day it started), and is charged like a renewal (§7: on the renewal day, or on the account's next billing
    day). §5 Trials: a trial converts to paid only with auto-renew on, a payment method and,
    for a self-service trial, a policy that allows the purchase (`may_convert`). Otherwise
    the subscription expires."""
    if not renews_at_term_end(auto_renew, trial, has_payment_method, may_convert):
        return TermEndPlan(TermEndOutcome.EXPIRED)
    return TermEndPlan(
        TermEndOutcome.TRIAL_CONVERTED if trial else TermEndOutcome.RENEWED,
        term_start=ended_at,
        term_end=term_end(ended_at, term, renewal_day),
        amount=round_cents(unit_price * quantity),
        charge_on=charge_date(ended_at.date(), schedule, billing_day),
    )


def next_charge_on(
    status: models.SubscriptionStatus, auto_renew: bool, ends: datetime,
    schedule: models.ChargeSchedule, billing_day: int | None,
) -> date | None:
    """When an active subscription whose charges are settled is charged next: the charge day
    of its next renewal, or never (auto-renew off, or not active)."""
    if status is not models.SubscriptionStatus.ACTIVE or not auto_renew:
        return None
    return charge_date(ends.date(), schedule, billing_day)


async def _conversion_allowed(rows: list[dict], accounts: dict[int, dict]) -> set[int]:
    """§5 Trials, §6: the ids of self-service trials whose product the buyer may still buy
    (policy ALLOW at this moment); other trials are not limited by a policy."""
    allowed: set[int] = set()
    for row in rows:
        if row["trial"] and accounts[row["billing_account_id"]]["self_service"]:
            policy = await policy_for(row["tenant_id"], row["product_id"])
            # Converting is buying: the policy must allow a purchase, not only a trial (§6).
            if self_service_policy_allows(policy, trial=False):
                allowed.add(row["id"])
    return allowed


def _licences_at_renewal(row: dict) -> tuple[int, str]:
    """§3 MCA: a decrease scheduled for the renewal applies now, unless more licences are
    assigned than it leaves; then the count stays and the transition says why."""
    scheduled = row["scheduled_quantity"]
    if scheduled is None:
        return row["quantity"], ""
    if scheduled < row["assigned_count"]:
        return row["quantity"], (f" The scheduled decrease to {scheduled} licence(s) was not applied: "
                                 f"{row['assigned_count']} are assigned; unassign first.")
    return scheduled, f" The scheduled decrease from {row['quantity']} to {scheduled} licence(s) applies."


@dataclass(frozen=True, slots=True)
class _Known:
    """What the term ends of one batch read besides the subscriptions: their accounts, the
    profiles with a card, product names, and the self-service trials that may convert."""

    accounts: dict[int, dict]
    with_card: set[int]
    names: dict[int, str]
    convertible: set[int]

    @classmethod
    async def load(cls, rows: list[dict]) -> "_Known":
        accounts = {row["id"]: row for row in await models.BillingAccount.filter(
            id__in={row["billing_account_id"] for row in rows}).values(
            "id", "charge_schedule", "billing_day", "self_service")}
        with_card = set(await models.BillingProfile.filter(
            id__in={row["billing_profile_id"] for row in rows}, payment_method_id__not_isnull=True
        ).values_list("id", flat=True))
        names = dict(await models.Product.filter(id__in={row["product_id"] for row in rows}).values_list("id", "name"))
        return cls(accounts, with_card, names, await _conversion_allowed(rows, accounts))

    def self_service_trial(self, row: dict) -> bool:
        return row["trial"] and self.accounts[row["billing_account_id"]]["self_service"]


@dataclass(slots=True)
class _Writes:
    """The rows a batch of term ends writes, in bulk, and the transitions it reports."""

    renewed: list[dict] = field(default_factory=list)
    expired: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    service: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    async def save(self) -> None:
        if self.renewed:
            await bulk.update_rows(models.Subscription, _changed(self.renewed), self.renewed)
            await bulk.insert_rows(models.InvoiceLine, self.lines)
        if self.expired:
            await bulk.update_rows(models.Subscription, _changed(self.expired), self.expired)
        await bulk.insert_rows(models.ServiceLevel, self.service)
        await audit.record_system(self.events)


def _changed(rows: list[dict]) -> list[str]:
    # The columns a batch of subscription rows changes: those its rows carry, the id aside.
    return [column for column in rows[0] if column != "id"]


async def renew_or_expire(scope: Scope, bound: datetime) -> list[Transition]:
    """§3, §5 Trials, §7: renew, convert or expire every active subscription whose term
    ended by `bound`."""
    async with atomic():
        rows = await lock_rows(
            models.Subscription.filter(scope.q(), status=Status.ACTIVE, term_end__lte=bound),
            "id", "tenant_id", "billing_account_id", "billing_profile_id", "product_id", "term_end", "start_date",
            "commitment_term", "auto_renew", "trial", "quantity", "scheduled_quantity", "assigned_count",
            "unit_price", "currency", "version")
        if not rows:
            return []
        known = await _Known.load(rows)
        writes = _Writes()
        for row in rows:
            account = known.accounts[row["billing_account_id"]]
            quantity, note = _licences_at_renewal(row)
            plan = plan_term_end(row["term_end"], models.CommitmentTerm(row["commitment_term"]), row["auto_renew"],
                                 row["trial"], row["billing_profile_id"] in known.with_card, row["unit_price"],
                                 quantity, models.ChargeSchedule(account["charge_schedule"]), account["billing_day"],
                                 # A converted trial starts as a paid subscription on that day.
                                 row["term_end"].day if row["trial"] else row["start_date"].day,
                                 may_convert=not known.self_service_trial(row) or row["id"] in known.convertible)
            if plan.outcome is TermEndOutcome.EXPIRED:
                _expire(row, known, writes)
            else:
                _renew(row, plan, quantity, note, known, writes)
        await writes.save()
    return writes.transitions


def _expire(row: dict, known: _Known, writes: _Writes) -> None:
    """§3, §5 Trials: the subscription expires at its term end, and the transition says why."""
    ended = row["term_end"]
    writes.expired.append(dict(id=row["id"], **models.Subscription.expired(ended), version=row["version"] + 1))
    writes.service.append(ledger.service_row(row["tenant_id"], row["id"], ended.date(), 0,
                                             models.ServiceChange.EXPIRED))
    if known.self_service_trial(row) and row["id"] not in known.convertible and row["auto_renew"]:
        why = "the organization's self-service policy no longer allows buying this product"
    elif row["trial"]:
        why = "the trial ended without auto-renew and a payment method"
    else:
        why = "auto-renew is off"
    writes.events.append(audit.system_event(
        row["tenant_id"], "subscription.expired", "Subscription", row["id"], ended,
        {"status": Status.ACTIVE}, {"status": Status.EXPIRED, "reason": "TERM_ENDED"}))
    writes.transitions.append(Transition(
        ended, TransitionKind.EXPIRED, row["tenant_id"], row["id"], None,
        f"{known.names[row['product_id']]}: the term ended and {why}; expired for {EXPIRED_PERIOD.days} days."))


def _renew(row: dict, plan: TermEndPlan, quantity: int, note: str, known: _Known, writes: _Writes) -> None:
    """§3, §7: a new term (a trial's first paid one) with its RENEWAL line."""
    ended = row["term_end"]
    converted = plan.outcome is TermEndOutcome.TRIAL_CONVERTED
    schedule = models.ChargeSchedule(known.accounts[row["billing_account_id"]]["charge_schedule"])
    name = known.names[row["product_id"]]
    writes.renewed.append(dict(
        id=row["id"], version=row["version"] + 1,
        **models.Subscription.renewed(plan.term_start, plan.term_end, plan.charge_on, quantity,  # type: ignore[arg-type]
                                      ended.date() if converted else row["start_date"]),
    ))
    if converted or quantity != row["quantity"]:
        writes.service.append(ledger.service_row(
            row["tenant_id"], row["id"], ended.date(), quantity,
            models.ServiceChange.TRIAL_CONVERTED if converted else models.ServiceChange.RENEWED))
    unit = "month" if models.CommitmentTerm(row["commitment_term"]) is models.CommitmentTerm.MONTHLY else "year"
    label = "trial converted to paid" if converted else "renewal"
    billed = invoice_lines.Billed(row["tenant_id"], row["billing_profile_id"], row["id"], name, row["unit_price"],
                                  row["currency"])
    writes.lines.append(invoice_lines.line(
        billed, models.InvoiceLineKind.RENEWAL, description=f"{name}, {quantity} licence(s), {label}",
        quantity=quantity, amount=plan.amount,  # type: ignore[arg-type]
        period=(plan.term_start.date(), plan.term_end.date()),  # type: ignore[union-attr]
        explanation=f"{row['unit_price']} {row['currency']} x {quantity} licence(s) for one {unit} "
                    f"= {plan.amount} {row['currency']}, due on {plan.charge_on} "
                    f"({schedule.value.replace('_', ' ').lower()})",
        charge_on=plan.charge_on, at=ended,  # type: ignore[arg-type]
    ))
    kind = TransitionKind.TRIAL_CONVERTED if converted else TransitionKind.RENEWED
    writes.events.append(audit.system_event(
        row["tenant_id"], f"subscription.{kind.value.lower()}", "Subscription", row["id"], ended,
        {"termEnd": ended, "quantity": row["quantity"]},
        {"termEnd": plan.term_end, "chargeOn": plan.charge_on, "quantity": quantity}))
    writes.transitions.append(Transition(
        ended, kind, row["tenant_id"], row["id"], None,
        f"{name}: {label} until {plan.term_end:%Y-%m-%d}; {plan.amount} {row['currency']} "
        f"to be charged on {plan.charge_on}.{note}",
    ))
