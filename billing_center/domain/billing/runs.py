"""Who starts the billing engine, and for which moment (SPEC §7, API.md).

- A sandbox tenant's admins move its test clock forward with `advance_clock`; the engine runs
  for that tenant up to the new moment and the transitions come back.
- The operator (`runBilling`) and `billing-center run-billing` run it for every live tenant up
  to now. Sandbox tenants are left alone: only their own clock moves them. A tenant whose day
  fails is recorded and skipped, and everyone else is billed (`engine.run(isolate=True)`).

Work per `advance_clock` call is bounded (MAX_TRANSITIONS_PER_ADVANCE): a call that would do
more stops at the end of a day, moves the clock that far and says the target was not reached;
calling again with the same target carries on. So one call stays within the request time
limit, and the resolver charges the caller's rate limit for the work done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_center.domain import audit, models
from billing_center.domain.billing import engine
from billing_center.domain.billing.scope import LIVE, Scope
from billing_center.domain.actor import Actor
from billing_center.domain.billing.transitions import Transition
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.payment_gateway import PaymentGateway

# One call may move a sandbox clock this far: enough for every timer (180 days of retention,
# annual terms), small enough that a typo does not start a century of billing.
MAX_ADVANCE = timedelta(days=3 * 366)
# About half a second of engine work on this machine (400 transitions a second were measured
# for a sandbox tenant with its demo data), far under the 10 s request time limit.
MAX_TRANSITIONS_PER_ADVANCE = 200


@dataclass(frozen=True, slots=True)
class Advanced:
    """The sandbox clock after the move, what the engine did on the way, and whether the
    clock reached the target (False: the work per call ran out; call again to continue)."""

    now: datetime
    transitions: list[Transition]
    complete: bool = True


async def advance_clock(actor: Actor, to: datetime, gateway: PaymentGateway) -> Advanced:
    """§7: move a sandbox tenant's clock forward to `to` (never back) and run everything due
    up to it, or, past MAX_TRANSITIONS_PER_ADVANCE, up to the end of the day where the work ran
    out. Global and billing admins only. Raises FORBIDDEN, CLOCK_NOT_SANDBOX, INVALID_INPUT.
    Moving to the current moment runs what is due and changes nothing else."""
    tenant_id = actor.require_tenant()
    actor.require(actor.manages_billing, "move the sandbox clock")
    tenant = (await models.Tenant.filter(id=tenant_id).values("sandbox", "clock_now"))[0]
    if not tenant["sandbox"] or tenant["clock_now"] is None:
        raise DomainError(ErrorCode.CLOCK_NOT_SANDBOX,
                          "This tenant is live: its time is real time. Sign up with sandbox: true for a test clock.",
                          ("input", "to"))
    if to.tzinfo is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give the moment with its time zone, e.g. 2026-12-01T00:00:00Z.",
                          ("input", "to"))
    current = tenant["clock_now"]
    if to < current:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"The clock only moves forward: it is {current.isoformat()} now.", ("input", "to"))
    if to - current > MAX_ADVANCE:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Move the clock at most {MAX_ADVANCE.days} days per call.",
                          ("input", "to"))
    # Charge leases are about processes being alive, so they use wall time, not the test clock.
    done = await engine.run(Scope(tenant_id, simulated=True), to, gateway,
                            max_transitions=MAX_TRANSITIONS_PER_ADVANCE)
    reached = max(done.reached or to, current)
    # Conditional: of two racing moves, the later moment stays.
    moved = await models.Tenant.filter(id=tenant_id, clock_now__lt=reached).update(clock_now=reached)
    if moved:
        await audit.record(actor, tenant_id, "tenant.clock_advanced", "Tenant", tenant_id, reached,
                           before={"clockNow": current}, after={"clockNow": reached})
    return Advanced(reached, done.transitions, done.complete)


async def run_billing(actor: Actor, clock: Clock, gateway: PaymentGateway,
                      tenant_id: int | None = None) -> engine.Run:
    """§7: process everything due up to now for every live tenant, or for one; a tenant whose
    day fails is recorded, skipped and reported in `Run.failures`. Operator only (and the
    `run-billing` command). Raises FORBIDDEN, NOT_FOUND (no such live tenant)."""
    if not actor.is_operator:
        raise DomainError(ErrorCode.FORBIDDEN, "Only the platform operator runs billing.")
    scope = LIVE
    if tenant_id is not None:
        if not await models.Tenant.filter(id=tenant_id, sandbox=False).exists():
            raise not_found("Live tenant", ("input", "tenantId"))
        scope = Scope(tenant_id)
    return await engine.run(scope, clock.now(), gateway, lease_clock=clock, isolate=True)
