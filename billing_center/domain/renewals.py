"""What happens to a subscription when its term ends (SPEC §3, §5 Trials, §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from billing_center.domain import models
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.money import round_cents


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
) -> TermEndPlan:
    """§3: with auto-renew on, a new term of the same length starts where the old one ended,
    ends on the subscription's renewal day (`renewal_day`, the day it started), and is charged like a renewal (§7: on the renewal day, or on the account's next billing
    day). §5 Trials: a trial converts to paid only with auto-renew on and a payment method.
    Otherwise the subscription expires."""
    if not auto_renew or (trial and not has_payment_method):
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
