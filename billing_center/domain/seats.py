"""A subscription's seats (SPEC §4): which subscriptions offer them, and the `assigned_count`
that taking and giving them back moves.

Seats are taken with one conditional UPDATE of the subscription's `assigned_count`
(`... WHERE assigned_count + n <= quantity`), the first statement of the transaction: the
database decides who gets the last seat, on SQLite (one writer; the write-first transaction
waits on the lock instead of failing on a read-to-write upgrade) and on PostgreSQL (the WHERE
clause is re-checked after a concurrent update commits).
"""

from __future__ import annotations

from tortoise.expressions import F, Q, Subquery

from billing_center.domain import models
from billing_center.domain import subscription_rules as rules
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.subscriptions import state_changed


def offers_seats(tenant_id: int) -> Q:
    """§4, §5 (rev. 2): the subscriptions of a tenant that take assignments and count in its
    licence summary: ACTIVE or EXPIRED, and not the predecessor of an MCA reactivation (its
    seats moved to the new subscription). The query form of `rules.status_takes_assignments`
    and `rules.reactivated_as_new`."""
    predecessors = models.Subscription.filter(tenant_id=tenant_id, reactivated_from_id__not_isnull=True)
    return Q(status__in=rules.SEAT_STATUSES) & ~Q(id__in=Subquery(predecessors.values("reactivated_from_id")))


def available(row: dict) -> int:
    """Seats of a subscription row (`quantity`, `assigned_count`) nobody holds."""
    return row["quantity"] - row["assigned_count"]


async def take(subscription_id: int, tenant_id: int, count: int, expected_version: int | None) -> bool:
    """The race-safe taking of seats: one conditional UPDATE; False when it did not apply."""
    conditions = {}
    if expected_version is not None:
        conditions["version"] = expected_version
    updated = await models.Subscription.filter(
        offers_seats(tenant_id),
        id=subscription_id,
        tenant_id=tenant_id,
        assigned_count__lte=F("quantity") - count,
        **conditions,
    ).update(assigned_count=F("assigned_count") + count, version=F("version") + 1)
    return updated == 1


async def refusal(subscription_id: int, count: int, expected_version: int | None) -> DomainError:
    """Why `take` did not apply to the one subscription a call named, read after the fact."""
    current = (await models.Subscription.filter(id=subscription_id).values(
        "status", "quantity", "assigned_count", "version"
    ))[0]
    if expected_version is not None and current["version"] != expected_version:
        return state_changed(current["version"])
    if not rules.status_takes_assignments(models.SubscriptionStatus(current["status"])):
        return DomainError(ErrorCode.INVALID_STATUS, "The subscription takes no new assignments.",
                           ("input", "subscriptionId"))
    return DomainError(
        ErrorCode.INSUFFICIENT_LICENSES,
        f"{count} {'licence' if count == 1 else 'licences'} needed, {available(current)} available; "
        "buy more or unassign first.",
        ("input", "userIds"),
    )


async def give_back(subscription_id: int, tenant_id: int, count: int, expected_version: int | None = None) -> bool:
    """`count` seats free again once their assignments are deleted (§4: the count stays equal
    to the assignments); False when the subscription is no longer at `expected_version`."""
    conditions = {}
    if expected_version is not None:
        conditions["version"] = expected_version
    updated = await models.Subscription.filter(id=subscription_id, tenant_id=tenant_id, **conditions).update(
        assigned_count=F("assigned_count") - count, version=F("version") + 1
    )
    return updated == 1
