"""The webhook delivery queue (SPEC §9): which endpoint has work, who holds it, what each
attempt did, and when to try again.

An endpoint is worked on by one deliverer at a time: the deliverer **leases** it with a
conditional update (`lease_owner`, `lease_until`), which two deliverers cannot both win, on
SQLite and PostgreSQL alike; a deliverer that dies loses its hold when the lease runs out,
and the next one starts again from what was recorded (so delivery is at least once). While it
holds the endpoint it delivers the events after `delivered_through` one by one, in sequence
order. When one fails the line stops there: the endpoint's head is retried after
`backoff(attempt)` and, once it has failed for `RETRY_PERIOD`, the endpoint is FAILING and
waits to be enabled again. Nothing here makes an HTTP request; no transaction is open while a
deliverer does (`billing_center.webhooks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from billing_center.domain import models, rows

RETRY_PERIOD = timedelta(days=3)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
# Events and attempts older than this (wall clock) are pruned (README, Events).
EVENT_RETENTION = timedelta(days=30)
DELIVERY_RETENTION = timedelta(days=30)
_PRUNE_BATCH = 5000


def backoff(attempt: int, first: timedelta = FIRST_RETRY) -> timedelta:
    """The wait after failed attempt number `attempt` (1, 2, ...): doubling from `first`,
    at most LONGEST_WAIT (1 min, 2, 4, ... 6 h, 6 h, ...: about 20 attempts in 3 days)."""
    return min(first * 2 ** min(attempt - 1, 30), LONGEST_WAIT)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: the HTTP status if an answer came, how long it took, and why it
    failed without an answer (timeout, refused address, connection error)."""

    succeeded: bool
    response_status: int | None
    duration_ms: int
    error: str | None = None


def _sql(text: str) -> str:
    return rows.numbered(text, 1) if rows.dialect() == "postgres" else text


def _time(at: datetime) -> Any:
    # SQLite keeps timestamps as the text Tortoise's adapter writes: compare like with like.
    return at.isoformat(" ") if rows.dialect() == "sqlite" else at


_READY = (
    'SELECT e."id" FROM "webhook_endpoint" e JOIN "event_counter" c ON c."tenant_id" = e."tenant_id" '
    'WHERE e."enabled" AND (e."lease_until" IS NULL OR e."lease_until" <= ?) AND ('
    '(e."failing_since" IS NULL AND e."delivered_through" < c."last_sequence" '
    ' AND (e."next_attempt_at" IS NULL OR e."next_attempt_at" <= ?)) '
    'OR EXISTS (SELECT 1 FROM "webhook_delivery" d WHERE d."endpoint_id" = e."id" '
    ' AND d."status" = \'PENDING\' AND d."next_attempt_at" <= ?)) '
    # Least recently served first (a released endpoint's lease_until is when it was released).
    'ORDER BY e."lease_until" IS NOT NULL, e."lease_until" LIMIT ?'
)


def _free(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lte=now)


async def lease_endpoint(owner: str, now: datetime, lease: timedelta) -> dict[str, Any] | None:
    """An endpoint with work due at `now`, now held by `owner` until `now + lease`; None when
    there is none. Of deliverers racing for one endpoint exactly one wins it."""
    moment = _time(now)
    connection = models.WebhookEndpoint._meta.db
    ready = await connection.execute_query_dict(_sql(_READY), [moment, moment, moment, 8])
    for candidate in ready:
        won = await models.WebhookEndpoint.filter(_free(now), id=candidate["id"]).update(
            lease_owner=owner, lease_until=now + lease)
        if won:
            found = await models.WebhookEndpoint.filter(id=candidate["id"]).values()
            return found[0] if found else None
    return None


async def extend(owner: str, endpoint_id: int, until: datetime) -> bool:
    """Keep holding the endpoint until `until`; False when it is no longer `owner`'s."""
    return bool(await models.WebhookEndpoint.filter(id=endpoint_id, lease_owner=owner).update(lease_until=until))


async def release(owner: str, endpoint_id: int, now: datetime, through: int | None = None) -> None:
    """Let the endpoint go; `through`, when given, is the new `delivered_through` (events up
    to it need nothing more: of types the endpoint does not take)."""
    changes: dict[str, Any] = {"lease_owner": None, "lease_until": now}
    if through is not None:
        changes["delivered_through"] = through
    await models.WebhookEndpoint.filter(id=endpoint_id, lease_owner=owner).update(**changes)


async def due_redeliveries(endpoint_id: int, now: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """Redeliveries asked for by hand that wait for this endpoint, oldest first."""
    return await models.WebhookDelivery.filter(
        endpoint_id=endpoint_id, status=models.DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).order_by("id").limit(limit).values("id", "event_id", "attempt")


async def next_events(endpoint: dict[str, Any], after: int, limit: int) -> list[dict[str, Any]]:
    """The endpoint's tenant's events after sequence `after`, in order."""
    return await models.Event.filter(tenant_id=endpoint["tenant_id"], sequence__gt=after) \
        .order_by("sequence").limit(limit).values()


async def record_redelivery(owner: str, endpoint_id: int, delivery_id: int, outcome: Outcome,
                            now: datetime, lease: timedelta) -> bool:
    """Write what a redelivery by hand did (it is not retried); False when the endpoint is no
    longer `owner`'s."""
    async with in_transaction():
        if not await extend(owner, endpoint_id, now + lease):
            return False
        await models.WebhookDelivery.filter(id=delivery_id, status=models.DeliveryStatus.PENDING).update(
            status=_status(outcome), response_status=outcome.response_status, duration_ms=outcome.duration_ms,
            error=outcome.error, attempted_at=now, next_attempt_at=None)
    return True


def _status(outcome: Outcome) -> models.DeliveryStatus:
    return models.DeliveryStatus.SUCCEEDED if outcome.succeeded else models.DeliveryStatus.FAILED


async def record_attempt(owner: str, endpoint: dict[str, Any], event: dict[str, Any], outcome: Outcome,
                         now: datetime, lease: timedelta, first_retry: timedelta = FIRST_RETRY) -> bool:
    """Write one attempt at the endpoint's head event and move the line: on success past the
    event, on failure to a retry after `backoff` (or to FAILING after RETRY_PERIOD). Returns
    whether the endpoint is still `owner`'s and the line moved on (False: stop working on it).
    `endpoint` is updated in place."""
    attempt = endpoint["head_attempts"] + 1
    if outcome.succeeded:
        changes: dict[str, Any] = dict(delivered_through=event["sequence"], head_attempts=0, head_failed_since=None,
                                       next_attempt_at=None, lease_until=now + lease)
        retry_at = None
    else:
        failed_since = endpoint["head_failed_since"] or now
        retry_at = now + backoff(attempt, first_retry)
        changes = dict(delivered_through=event["sequence"] - 1, head_attempts=attempt, head_failed_since=failed_since,
                       next_attempt_at=retry_at, lease_owner=None, lease_until=now)
        if retry_at - failed_since > RETRY_PERIOD:
            retry_at = None
            changes.update(failing_since=now, next_attempt_at=None)
    async with in_transaction():
        if not await models.WebhookEndpoint.filter(id=endpoint["id"], lease_owner=owner).update(**changes):
            return False
        await models.WebhookDelivery.create(
            tenant_id=endpoint["tenant_id"], endpoint_id=endpoint["id"], event_id=event["id"], attempt=attempt,
            status=_status(outcome), response_status=outcome.response_status, duration_ms=outcome.duration_ms,
            error=outcome.error, attempted_at=now, next_attempt_at=retry_at, created_at=now)
    endpoint.update(changes)
    return outcome.succeeded


async def prune(now: datetime, events_for: timedelta = EVENT_RETENTION,
                deliveries_for: timedelta = DELIVERY_RETENTION) -> tuple[int, int]:
    """Delete delivery attempts and events older than their retention (wall clock), in
    batches; returns (events, attempts) deleted. An event's attempts go with it."""
    attempts = await _prune(models.WebhookDelivery, Q(created_at__lt=now - deliveries_for))
    found = await _prune(models.Event, Q(recorded_at__lt=now - events_for))
    return found, attempts


async def _prune(model: type[models.Model], old: Q) -> int:
    deleted = 0
    while True:
        ids = await model.filter(old).order_by("id").limit(_PRUNE_BATCH).values_list("id", flat=True)
        if not ids:
            return deleted
        deleted += await model.filter(id__in=list(ids)).delete()
        if len(ids) < _PRUNE_BATCH:
            return deleted
