"""Lifecycle timers (SPEC §3): EXPIRED for 30 days, then DISABLED (users lose the
service) for 90 days, then DELETED."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_center.domain import audit, bulk, models
from billing_center.domain.atomic import atomic
from billing_center.domain.billing.scope import BATCH, Scope, lock_rows
from billing_center.domain.billing.transitions import Transition, TransitionKind
from billing_center.domain.subscription_rules import DISABLED_PERIOD, EXPIRED_PERIOD

Status = models.SubscriptionStatus


@dataclass(frozen=True, slots=True)
class _Timer:
    """A status that ends after a period: which status follows, stamped in which column."""

    status: models.SubscriptionStatus
    since: str
    period: timedelta
    then: models.SubscriptionStatus
    stamp: str
    kind: TransitionKind
    description: str


# §3: EXPIRED for 30 days → DISABLED (users lose the service); DISABLED for 90 days → DELETED.
TIMERS = (
    _Timer(Status.EXPIRED, "expired_at", EXPIRED_PERIOD, Status.DISABLED, "disabled_at", TransitionKind.DISABLED,
           f"Expired for {EXPIRED_PERIOD.days} days: disabled for {DISABLED_PERIOD.days} days, users lose the service."),
    _Timer(Status.DISABLED, "disabled_at", DISABLED_PERIOD, Status.DELETED, "deleted_at", TransitionKind.DELETED,
           f"Disabled for {DISABLED_PERIOD.days} days: deleted."),
)


async def advance(scope: Scope, bound: datetime) -> list[Transition]:
    """§3: move every subscription whose timed status has run out to the next status."""
    transitions: list[Transition] = []
    async with atomic():
        for timer in TIMERS:
            rows = await lock_rows(
                models.Subscription.filter(scope.q(), status=timer.status,
                                           **{f"{timer.since}__lte": bound - timer.period}),
                "id", "tenant_id", timer.since, "version")
            if not rows:
                continue
            changes, events = [], []
            for row in rows:
                at = row[timer.since] + timer.period
                changes.append({"id": row["id"], "status": timer.then, "status_changed_at": at, timer.stamp: at,
                                "version": row["version"] + 1})
                events.append(audit.system_event(row["tenant_id"], f"subscription.{timer.then.value.lower()}",
                                                 "Subscription", row["id"], at, {"status": timer.status},
                                                 {"status": timer.then}))
                transitions.append(Transition(at, timer.kind, row["tenant_id"], row["id"], None, timer.description))
            await bulk.update_rows(models.Subscription, ["status", "status_changed_at", timer.stamp, "version"], changes)
            if timer.then is Status.DISABLED:
                await suspend([row["id"] for row in rows])
            await audit.record_system(events)
    return transitions


async def suspend(subscription_ids: list[int]) -> None:
    """§3: users of these subscriptions lose the service (their assignments are suspended)."""
    for start in range(0, len(subscription_ids), BATCH):
        await models.LicenseAssignment.filter(subscription_id__in=subscription_ids[start:start + BATCH]).update(
            state=models.LicenseState.SUSPENDED)
