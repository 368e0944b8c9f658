"""Which invoices a reader asks for (SPEC §7): the last 3 months by default, the last 6
months, or a CUSTOM range of issue dates (both ends inclusive)."""

from __future__ import annotations

from datetime import date
from typing import Any

from billing_center.domain.errors import DomainError, ErrorCode

DEFAULT = "LAST_3_MONTHS"
_MONTHS = {"LAST_3_MONTHS": 3, "LAST_6_MONTHS": 6}


def issue_dates(period: str | None, start: Any, end: Any, today: date) -> tuple[date, date | None]:
    """The issue-date range of `period` (None: the default) as (first, last or None).

    Raises INVALID_INPUT when CUSTOM lacks `from` or `to`, a bound is not a date, or `to`
    is before `from`."""
    period = period or DEFAULT
    if period == "CUSTOM":
        if start is None or end is None:
            raise DomainError(ErrorCode.INVALID_INPUT, "CUSTOM needs both `from` and `to`.", ("from",))
        start, end = _as_date(start, "from"), _as_date(end, "to")
        if end < start:
            raise DomainError(ErrorCode.INVALID_INPUT, "`to` is before `from`.", ("to",))
        return start, end
    return months_before(today, _MONTHS.get(period, 3)), None


def _as_date(value: Any, argument: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, f"`{argument}` is not a date.", (argument,)) from None


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, or the last day of that month when it is shorter."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))
