"""The ledger rule (SPEC §7): every licence-day of service is paid exactly once.

Every charge or credit line states its subscription, its licences (`quantity`) and the days
of service it pays for, `period_start` up to but excluding `period_end` (a term from 1 June
to 1 July pays for 1 to 30 June). A charge pays its licences once for each of its days, a
credit takes them back. So "which licence-days of this subscription are paid, and how often"
is a sum of lines, `paid_licences`.

The service side is recorded separately, as `ServiceLevel` rows written by every change of
service (purchase, licence count, cancel, expiry, non-payment, reactivation, trial
conversion). A day counts as in paid service when the subscription is ACTIVE, and not a
trial, at the end of that day: a subscription cancelled on 4 June is credited from 4 June, one
reactivated on 18 April is charged from 18 April. Trials and prepaid product-key seats are
never charged, so they are left out (SPEC §7).

`mismatches` compares the two: for every day, the licences charged net of the licences
credited must equal the licences in paid service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from billing_center.domain import models

# A step function over days: (first day, level from that day on), sorted by day.
Steps = list[tuple[date, int]]


@dataclass(frozen=True, slots=True)
class LineDays:
    """What one invoice line says about service: these licences for [start, end), paid
    (`charge`) or given back (credit)."""

    start: date
    end: date
    licences: int
    charge: bool


def paid_licences(lines: Iterable[LineDays]) -> Steps:
    """Which licence-days are paid, and how often: the net licences charged for each day,
    as a step function (0 before the first line and after the last)."""
    deltas: dict[date, int] = defaultdict(int)
    for line in lines:
        if line.end > line.start and line.licences:
            signed = line.licences if line.charge else -line.licences
            deltas[line.start] += signed
            deltas[line.end] -= signed
    steps: Steps = []
    level = 0
    for day in sorted(deltas):
        level += deltas[day]
        steps.append((day, level))
    return steps


def service_levels(levels: Iterable[tuple[date, int, int]]) -> Steps:
    """The licences in paid service per day, from `(since, row id, licences)` rows: the
    latest row (by id) among those of the latest `since` on or before a day wins."""
    return [(since, licences) for since, _, licences in sorted(levels)]


def level_on(steps: Steps, day: date) -> int:
    """The value of a step function on `day`."""
    value = 0
    for since, level in steps:
        if since > day:
            break
        value = level
    return value


def mismatches(paid: Steps, served: Steps, until: date | None = None) -> list[tuple[date, int, int]]:
    """The days (before `until`, if given) where what was paid differs from what was
    served: (first such day, paid, served), one per change of either."""
    days = sorted({day for day, _ in paid} | {day for day, _ in served})
    found = []
    for day in days:
        if until is not None and day >= until:
            break
        got, want = level_on(paid, day), level_on(served, day)
        if got != want:
            found.append((day, got, want))
    return found


def service_row(tenant_id: int, subscription_id: int, since: date, licences: int,
                reason: models.ServiceChange) -> dict:
    """A ServiceLevel row for `bulk.insert_rows`: from `since` on, `licences` are in paid service."""
    return dict(tenant_id=tenant_id, subscription_id=subscription_id, since=since, licences=licences, reason=reason)


async def record_service(tenant_id: int, subscription_id: int, since: date, licences: int,
                         reason: models.ServiceChange) -> None:
    """Record a change of paid service; call it in the transaction of the change."""
    await models.ServiceLevel.create(**service_row(tenant_id, subscription_id, since, licences, reason))
