"""The billing engine (SPEC §3, §5, §7): everything that happens because time passes.

`run(scope, until)` processes everything due up to `until`, one day at a time in calendar
order, so that a run over three months gives the same history as ninety daily runs:

1. term ends: renew, convert a trial, or expire (`term_ends`);
2. lifecycle timers: EXPIRED for 30 days → DISABLED, DISABLED for 90 days → DELETED (`timers`);
3. once a day is over, its charge day is closed: per billing profile one document of every
   outstanding line due (`invoicing`), then every invoice and retry due is charged and every
   credit note refunded, with dunning and the non-payment cut-off (`charging`, `dunning`).

A day that is not over yet (the last day of a run) gets steps 1 and 2 only: its document is
issued by the first run after it ends, so hourly runs make one document per charge day.
Every step is conditional on the state it changes, so running twice for one moment changes
nothing the second time. Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED` inside
short transactions (PostgreSQL; SQLite has one writer at a time), so two engine processes
never process one item twice. Lists are processed set-wise (a few statements per step
whatever the number of rows).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.functions import Min

from billing_center.domain import models
from billing_center.domain.billing import charging, invoicing, term_ends, timers
from billing_center.domain.billing.charging import PAYABLE
from billing_center.domain.billing.scope import Scope, last_second, midnight
from billing_center.domain.billing.transitions import Transition
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.lifecycle import DISABLED_PERIOD, EXPIRED_PERIOD
from billing_center.domain.payments import PaymentGateway

Status = models.SubscriptionStatus


async def run(scope: Scope, until: datetime, gateway: PaymentGateway,
              lease_clock: Clock | None = None) -> list[Transition]:
    """Process everything due in `scope` up to `until`, day by day; what it did, in order.
    `lease_clock` (wall time) dates charge leases; `until` may be a sandbox clock's moment."""
    lease_clock = lease_clock or SystemClock()
    transitions: list[Transition] = []
    after: date | None = None
    while (day := await _next_due_day(scope, until, after)) is not None:
        over = until >= last_second(day)
        # A day being closed is processed to its very end: the renewals of its last second
        # are its own, those at the next midnight the next day's.
        bound = midnight(day + timedelta(days=1)) - timedelta(microseconds=1) if over else until
        transitions += await term_ends.renew_or_expire(scope, bound)
        transitions += await timers.advance(scope, bound)
        if not over:
            break
        # A sandbox day closes at its last second; a live run dates what it does now.
        moment = last_second(day) if scope.simulated else until
        transitions += await invoicing.close_day(scope, day, moment)
        transitions += await charging.collect(scope, day, moment, gateway, lease_clock)
        after = day
    return transitions


async def _next_due_day(scope: Scope, until: datetime, after: date | None) -> date | None:
    """The first day after `after` (if given) on which something is due, up to `until`."""
    since = midnight(after + timedelta(days=1)) if after else None
    candidates: list[date] = []

    async def earliest(query: Any, column: str, shift: timedelta = timedelta()) -> None:
        value = (await query.annotate(first=Min(column)).values_list("first", flat=True))[0]
        if value is not None:
            if isinstance(value, str):  # SQLite aggregates come back as text
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            if isinstance(value, datetime):
                value = (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)) + shift
                value = value.date()
            candidates.append(value)

    subscriptions = models.Subscription.filter(scope.q())
    await earliest(subscriptions.filter(status=Status.ACTIVE, term_end__lte=until,
                                        **({"term_end__gte": since} if since else {})), "term_end")
    await earliest(subscriptions.filter(status=Status.EXPIRED, expired_at__lte=until - EXPIRED_PERIOD,
                                        **({"expired_at__gte": since - EXPIRED_PERIOD} if since else {})),
                   "expired_at", EXPIRED_PERIOD)
    await earliest(subscriptions.filter(status=Status.DISABLED, disabled_at__lte=until - DISABLED_PERIOD,
                                        **({"disabled_at__gte": since - DISABLED_PERIOD} if since else {})),
                   "disabled_at", DISABLED_PERIOD)
    day_range = {"charge_on__lte": until.date(), **({"charge_on__gte": since.date()} if since else {})}
    await earliest(models.InvoiceLine.filter(scope.q(), invoice_id=None, **day_range), "charge_on")
    attempt_range = {"next_attempt_on__lte": until.date(),
                     **({"next_attempt_on__gte": since.date()} if since else {})}
    await earliest(models.Invoice.filter(scope.q(), status__in=PAYABLE, **attempt_range), "next_attempt_on")
    return min(candidates) if candidates else None
