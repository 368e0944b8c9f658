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

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from billing_center.domain import bulk, models, rows

# Tenants whose numbers one statement takes (the billing engine writes for many at once).
_BATCH = 500


async def append(audit_rows: Sequence[dict[str, Any]]) -> None:
    """Write the event of each audit row (as `audit` builds them: tenant_id, actor_user_id,
    action, object_type, object_id, before, after, at), numbered after the tenant's last
    event, in the caller's transaction. Rows of one tenant are numbered in the given order."""
    if not audit_rows:
        return
    by_tenant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in audit_rows:
        by_tenant[row["tenant_id"]].append(row)
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
                after=row["after"], occurred_at=row["at"],
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
