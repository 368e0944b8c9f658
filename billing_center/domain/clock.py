"""The one source of "now". Sandbox tenants read their own test clock (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests, demos and the billing engine."""

    def __init__(self, at: datetime):
        self._at = _as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to `at`."""
        self._at = _as_utc(at)


def today(clock: Clock) -> date:
    """Today's UTC date on `clock`."""
    return clock.now().date()


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)
