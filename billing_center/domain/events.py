"""Business events (SPEC §9): what integration scripts read instead of polling.

Every change that writes an audit entry writes its event in the same transaction (`audit`
calls `append`), so there is no change without its event and no event without its change.
The event's type is the audit action (`subscription.purchased`, `invoice.paid`, …; the list is
in the README), its data the values the change set.

Sequence numbers are per tenant, strictly increasing and gap-free **in commit order**: the
writing transaction takes the next numbers with one upsert on the tenant's `event_counter`
row, which stays locked until the transaction ends. A second transaction of the same tenant
waits for that row, so it cannot commit number n+1 while n is still invisible: a consumer that
has read up to n has missed nothing, and can resume after n. (The cost: a tenant's audited
writes commit one after the other from the moment they take their numbers, which is their last
statement or nearly so. SQLite has one writer at a time anyway.)
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from billing_center.domain import bulk, models, rows
from billing_center.domain.clock import SystemClock

# Every event type (an audit action): what webhook endpoints subscribe to. `append` refuses
# an unknown one, so a new action cannot ship without its entry here (and in the README).
TYPES = frozenset({
    "tenant.signed_up", "tenant.clock_advanced",
    "user.created", "user.roles_changed", "user.removed",
    "api_token.created", "api_token.revoked",
    "domain.added", "domain.removed",
    "payment_method.added", "payment_method.updated", "billing_profile.payment_method_replaced",
    "product.self_service_policy_set",
    "subscription.purchased", "product_key.redeemed",
    "subscription.quantity_changed", "subscription.quantity_scheduled",
    "subscription.auto_renew_set", "subscription.cancelled", "subscription.reactivated",
    "licenses.assigned", "licenses.unassigned",
    "subscription.renewed", "subscription.trial_converted",
    "subscription.expired", "subscription.disabled", "subscription.deleted",
    "invoice.issued", "credit_note.issued", "invoice.paid", "invoice.payment_failed",
    "credit_note.refunded", "credit_note.refund_failed",
    "webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.deleted",
})


def selects(patterns: Sequence[str], event_type: str) -> bool:
    """Whether a subscription to `patterns` (types, or `prefix.*`; none: every type) takes
    events of `event_type`."""
    if not patterns:
        return True
    prefix = event_type.split(".", 1)[0] + ".*"
    return event_type in patterns or prefix in patterns


def valid_pattern(pattern: str) -> bool:
    """A known type, or `prefix.*` where some known type has that prefix."""
    if pattern.endswith(".*"):
        return any(t.startswith(pattern[:-1]) for t in TYPES)
    return pattern in TYPES


# Deliverers of this process waiting for new events (`billing_center.webhooks`).
_listeners: set[asyncio.Event] = set()


def listen() -> asyncio.Event:
    """An asyncio.Event set whenever this process commits events (or queues a redelivery):
    a deliverer in the same process starts at once instead of at its next poll."""
    wake = asyncio.Event()
    _listeners.add(wake)
    return wake


def stop_listening(wake: asyncio.Event) -> None:
    """Forget a `listen()` event."""
    _listeners.discard(wake)


def wake_listeners() -> None:
    """Tell this process's deliverers there is new work."""
    for wake in _listeners:
        wake.set()


# Tenants whose numbers one statement takes (the billing engine writes for many at once).
_BATCH = 500


async def append(audit_rows: Sequence[dict[str, Any]]) -> None:
    """Write the event of each audit row (as `audit` builds them: tenant_id, actor_user_id,
    action, object_type, object_id, before, after, at), numbered after the tenant's last
    event, in the caller's transaction. Rows of one tenant are numbered in the given order."""
    if not audit_rows:
        return
    unknown = {row["action"] for row in audit_rows} - TYPES
    if unknown:
        raise ValueError(f"event types missing from events.TYPES: {sorted(unknown)}")
    recorded_at = SystemClock().now()
    by_tenant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in audit_rows:
        by_tenant[row["tenant_id"]].append(row)
    if len(by_tenant) == 1 and rows.dialect() == "postgres":
        # A request's change: numbered and written in one round trip.
        await _append_one_tenant(audit_rows, recorded_at)
        return
    # Counter rows are locked in tenant order, so two writers for several tenants (two
    # billing engines) cannot wait for each other in a circle.
    tenants = sorted(by_tenant)
    last: dict[int, int] = {}
    for start in range(0, len(tenants), _BATCH):
        part = tenants[start:start + _BATCH]
        last.update(await _take(part, [len(by_tenant[tenant]) for tenant in part]))
    events = []
    for tenant in tenants:
        first = last[tenant] - len(by_tenant[tenant]) + 1
        for offset, row in enumerate(by_tenant[tenant]):
            events.append(dict(
                tenant_id=tenant, sequence=first + offset, type=row["action"], actor_user_id=row["actor_user_id"],
                object_type=row["object_type"], object_id=row["object_id"], before=row["before"],
                after=row["after"], occurred_at=row["at"], recorded_at=recorded_at,
            ))
    await bulk.insert_rows(models.Event, events)


async def _take(tenants: list[int], counts: list[int]) -> dict[int, int]:
    """Add `counts` to the tenants' counters (creating them at 0) and return the new last
    numbers: one statement, the rows locked until the transaction ends."""
    dialect = rows.dialect()
    marks = iter(f"${n}" for n in range(1, 2 * len(tenants) + 1)) if dialect == "postgres" else None
    values = ", ".join(f"({next(marks)}, {next(marks)})" if marks else "(?, ?)" for _ in tenants)
    sql = (f'INSERT INTO "event_counter" ("tenant_id", "last_sequence") VALUES {values} '
           'ON CONFLICT ("tenant_id") DO UPDATE SET "last_sequence" = "event_counter"."last_sequence" + '
           'excluded."last_sequence" RETURNING "tenant_id", "last_sequence"')
    parameters = [value for pair in zip(tenants, counts) for value in pair]
    found = await models.EventCounter._meta.db.execute_query_dict(sql, parameters)
    return {row["tenant_id"]: row["last_sequence"] for row in found}


# PostgreSQL: the counter's upsert and the events' insert as one statement (the insert reads
# the numbers the upsert returns). Same lock, same numbers as `_take` and `insert_rows`.
_APPEND_ONE_TENANT = (
    'WITH "taken" AS (INSERT INTO "event_counter" ("tenant_id", "last_sequence") VALUES ($1, $2) '
    'ON CONFLICT ("tenant_id") DO UPDATE SET "last_sequence" = "event_counter"."last_sequence" + '
    'excluded."last_sequence" RETURNING "last_sequence") '
    'INSERT INTO "event" ("tenant_id", "sequence", "type", "actor_user_id", "object_type", "object_id", '
    '"before", "after", "occurred_at", "recorded_at") '
    'SELECT $1, "taken"."last_sequence" - $2 + "row"."n", "row"."type", "row"."actor", "row"."object_type", '
    '"row"."object_id", "row"."before"::jsonb, "row"."after"::jsonb, "row"."occurred_at", $3 '
    'FROM "taken", unnest($4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[], '
    '$10::timestamptz[]) WITH ORDINALITY AS "row"("type", "actor", "object_type", "object_id", "before", '
    '"after", "occurred_at", "n")'
)


async def _append_one_tenant(audit_rows: Sequence[dict[str, Any]], recorded_at: Any) -> None:
    def as_json(value: Any) -> str | None:
        return None if value is None else json.dumps(value)

    await models.Event._meta.db.execute_query(_APPEND_ONE_TENANT, [
        audit_rows[0]["tenant_id"], len(audit_rows), recorded_at,
        [row["action"] for row in audit_rows], [row["actor_user_id"] for row in audit_rows],
        [row["object_type"] for row in audit_rows], [row["object_id"] for row in audit_rows],
        [as_json(row["before"]) for row in audit_rows], [as_json(row["after"]) for row in audit_rows],
        [row["at"] for row in audit_rows],
    ])
