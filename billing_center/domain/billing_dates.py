"""Billing days and charge dates (SPEC §7)."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from billing_center.domain.models import ChargeSchedule, CommitmentTerm


def day_in_month(year: int, month: int, day: int) -> date:
    """`day` of the month, or the month's last day when it has no such day (§7)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_billing_date(today: date, billing_day: int) -> date:
    """The account's next billing day on or after `today`."""
    this_month = day_in_month(today.year, today.month, billing_day)
    if this_month >= today:
        return this_month
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return day_in_month(year, month, billing_day)


def charge_date(today: date, schedule: ChargeSchedule, billing_day: int | None) -> date:
    """§7: when a purchase, reactivation or licence increase made today is charged: at once
    under RENEWAL_DAY (and before the account has a billing day), else on the next billing day."""
    if schedule is ChargeSchedule.RENEWAL_DAY or billing_day is None:
        return today
    return next_billing_date(today, billing_day)


def add_months(moment: datetime, months: int, day: int | None = None) -> datetime:
    """The same moment `months` later, on `day` (default: the same day) or the month's last
    day when it has no such day (§7)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    target = day_in_month(year, month + 1, day or moment.day)
    return moment.replace(year=target.year, month=target.month, day=target.day)


def term_end(start: datetime, term: CommitmentTerm, renewal_day: int | None = None) -> datetime:
    """The end of a term starting at `start`: a month or a year later (§3), on the
    subscription's renewal day (the day it started: a term that began on the 28th of February
    because the 31st does not exist there ends on the 31st of March)."""
    return add_months(start, 1 if term is CommitmentTerm.MONTHLY else 12, renewal_day)
