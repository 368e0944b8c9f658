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
nothing the second time. Rows are locked with `SELECT ... FOR UPDATE SKIP LOCKED` inside
short transactions (PostgreSQL; SQLite has one writer at a time), so two engine processes
never process one item twice. Lists are processed set-wise (a few statements per step
whatever the number of rows). When a day fails for a run over many tenants (`isolate`), the
day is processed again for each half of the tenants, down to the tenant at fault, which is
recorded and skipped while everyone else is billed (issue #12: one tenant's bad data used to
stop billing for all).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.functions import Max, Min

from billing_center.domain import models
from billing_center.domain.billing import charging, invoicing, term_ends, timers
from billing_center.domain.billing.charging import PAYABLE
from billing_center.domain.billing.scope import Scope, last_second, midnight
from billing_center.domain.billing.transitions import Transition
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.subscription_rules import DISABLED_PERIOD, EXPIRED_PERIOD
from billing_center.domain.payment_gateway import PaymentGateway

Status = models.SubscriptionStatus
log = logging.getLogger(__name__)
# More tenants than this failing in one run is no longer one tenant's fault: the run stops.
MAX_FAILED_TENANTS = 10


@dataclass(frozen=True, slots=True)
class Failure:
    """A tenant whose day the engine could not process: recorded, logged and skipped."""

    tenant_id: int
    day: date
    error: str


@dataclass(slots=True)
class Run:
    """What a run did, in order; the tenants it skipped; and how far it got: `reached` is
    `until` unless the run stopped at `max_transitions` (`complete` False), at the end of a
    day, so that the next run carries on from there."""

    transitions: list[Transition] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    reached: datetime | None = None
    complete: bool = True


async def run(scope: Scope, until: datetime, gateway: PaymentGateway, lease_clock: Clock | None = None, *,
              isolate: bool = False, max_transitions: int | None = None) -> Run:
    """Process everything due in `scope` up to `until`, day by day.

    `lease_clock` (wall time) dates charge leases; `until` may be a sandbox clock's moment.
    `isolate`: a tenant whose day fails is recorded (`BillingFailure`, the log) and skipped
    for the rest of the run while every other tenant is billed; without it the error rises.
    `max_transitions`: stop after the first closed day that reaches this many transitions."""
    lease_clock = lease_clock or SystemClock()
    done = Run(reached=until)
    after: date | None = None
    while (day := await _next_due_day(scope, until, after)) is not None:
        over = until >= last_second(day)
        # A day being closed is processed to its very end: the renewals of its last second
        # are its own, those at the next midnight the next day's.
        bound = midnight(day + timedelta(days=1)) - timedelta(microseconds=1) if over else until

        async def process(part: Scope, day: date = day, bound: datetime = bound, over: bool = over) -> list[Transition]:
            return await _process_day(part, day, bound, until if over else None, gateway, lease_clock)

        if isolate:
            done.transitions += await _isolated(scope, day, process, done.failures, lease_clock)
            scope = replace(scope, excluded=scope.excluded | {failure.tenant_id for failure in done.failures})
        else:
            done.transitions += await process(scope)
        if not over:
            break
        after = day
        if max_transitions is not None and len(done.transitions) >= max_transitions and bound < until:
            done.reached, done.complete = bound, False
            break
    return done


async def _process_day(scope: Scope, day: date, bound: datetime, until: datetime | None,
                       gateway: PaymentGateway, lease_clock: Clock) -> list[Transition]:
    """One day: term ends and timers up to `bound`; when the day is over (`until` given), its
    documents issued and charged."""
    transitions = await term_ends.renew_or_expire(scope, bound)
    transitions += await timers.advance(scope, bound)
    if until is None:
        return transitions
    # A sandbox day closes at its last second; a live run dates what it does now.
    moment = last_second(day) if scope.simulated else until
    transitions += await invoicing.close_day(scope, day, moment)
    transitions += await charging.collect(scope, day, moment, gateway, lease_clock)
    return transitions


async def _isolated(scope: Scope, day: date, process: Callable[[Scope], Awaitable[list[Transition]]],
                    failures: list[Failure], clock: Clock) -> list[Transition]:
    """`process(scope)`; if it fails, the same for each half of the scope's tenants, down to
    the one tenant that fails, which is recorded and left out. Every step is conditional on
    the state it changes, so processing a part again redoes nothing the failed attempt kept.
    Past MAX_FAILED_TENANTS failures in a run the error rises: then the fault is not in a
    tenant (the database is down, say) and bisecting every tenant would only add load."""
    try:
        return await process(scope)
    except Exception as error:  # noqa: BLE001 - any fault of one tenant must not stop the others
        if len(failures) >= MAX_FAILED_TENANTS:
            raise
        if scope.tenant_id is not None:
            failures.append(await _record(scope.tenant_id, day, error, clock))
            return []
        low, high = scope.id_range or await _tenant_ids()
        if low is None:
            raise
        if low >= high:
            failures.append(await _record(low, day, error, clock))
            return []
        middle = (low + high) // 2
        first = await _isolated(replace(scope, id_range=(low, middle)), day, process, failures, clock)
        return first + await _isolated(replace(scope, id_range=(middle + 1, high)), day, process, failures, clock)


async def _tenant_ids() -> tuple[int | None, int | None]:
    """The lowest and highest live tenant id of a run over every live tenant."""
    found = await models.Tenant.filter(sandbox=False).annotate(low=Min("id"), high=Max("id")).values("low", "high")
    return found[0]["low"], found[0]["high"]


async def _record(tenant_id: int, day: date, error: Exception, clock: Clock) -> Failure:
    described = f"{type(error).__name__}: {error}"[:2000]
    log.error("Billing skipped tenant %s on %s: %s", tenant_id, day, described, exc_info=error)
    await models.BillingFailure.create(tenant_id=tenant_id, day=day, error=described, occurred_at=clock.now())
    return Failure(tenant_id, day, described)


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
