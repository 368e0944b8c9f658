"""The body of a delivery: the event as JSON, in the same shape and with the same values as the
GraphQL `Event` (global IDs, `data` withheld where a tenant admin could not read it elsewhere).

Bounded: a body over MAX_BODY_BYTES goes without `data` and `previousData`
(`dataOmitted: true`); the receiver reads the event with `node(id:)` if it needs them."""

from __future__ import annotations

from typing import Any

import orjson

from billing_center.domain import audit
from billing_center.domain.actor import Actor
from billing_center.domain.models import Role
from billing_center.schema.ids import event_values, to_global_id

MAX_BODY_BYTES = 64 * 1024


def _audience(tenant_id: int) -> Actor:
    # The tenant's admins, not one person: what any global admin may read (a self-service
    # buyer's card details are theirs alone, SPEC §6).
    return Actor(tenant_id, None, frozenset({Role.GLOBAL_ADMIN}))


async def bodies(tenant_id: int, events: list[dict[str, Any]]) -> dict[int, bytes]:
    """Event id -> the JSON body to deliver, for events (`Event` rows) of one tenant."""
    shown = await audit.withhold_unreadable(_audience(tenant_id), [dict(row) for row in events])
    return {row["id"]: body(row) for row in shown}


def body(row: dict[str, Any]) -> bytes:
    """One event row (after `audit.withhold_unreadable`) as a delivery body."""
    document = {
        "id": to_global_id("Event", row["id"]),
        "sequence": row["sequence"],
        "type": row["type"],
        "occurredAt": row["occurred_at"].isoformat(),
        "tenantId": to_global_id("Tenant", row["tenant_id"]),
        "objectType": row["object_type"],
        "objectId": to_global_id(row["object_type"], row["object_id"]),
        "actorId": to_global_id("User", row["actor_user_id"]) if row["actor_user_id"] is not None else None,
        "data": event_values(row["after"]),
        "previousData": event_values(row["before"]),
        "detailsHidden": row["details_hidden"],
    }
    encoded = orjson.dumps(document)
    if len(encoded) > MAX_BODY_BYTES:
        document.update(data=None, previousData=None, dataOmitted=True)
        encoded = orjson.dumps(document)
    return encoded
