"""The audit trail (SPEC §8): written by every change, in the change's own transaction,
together with the change's business event (§9, `events`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from billing_center.domain import bulk, models, visibility
from billing_center.domain.atomic import record_events
from billing_center.domain.actor import Actor

# Objects whose before/after values not every reader of the audit log may read elsewhere:
# cards, billing profiles and invoices are readable with their billing account only (a
# self-service account is its buyer's alone, §6; licence admins do not manage money, §1).
_BILLING_RECORDS: dict[str, type[models.Model]] = {
    "PaymentMethod": models.PaymentMethod,
    "BillingProfile": models.BillingProfile,
    "Invoice": models.Invoice,
}


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of `values` for the before/after columns."""
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


async def record(
    actor: Actor,
    tenant_id: int,
    action: str,
    object_type: str,
    object_id: int,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry and its business event; call it inside the transaction of the
    change it describes. `object_type` is the API type name of the changed object (its
    global ID's prefix)."""
    row = dict(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
        at=at,
    )
    await models.AuditEvent.create(**row)
    await record_events([row])


def system_event(tenant_id: int, action: str, object_type: str, object_id: int, at: datetime,
                 before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """An audit row for `record_system` of a change the billing engine made on its own: no
    actor user (SPEC §8 "who" is the system)."""
    return dict(
        tenant_id=tenant_id, actor_user_id=None, action=action, object_type=object_type, object_id=object_id,
        before=snapshot(before) if before else None, after=snapshot(after) if after else None, at=at,
    )


async def record_system(rows: list[dict[str, Any]]) -> None:
    """Write the billing engine's audit rows (`system_event`) and their business events,
    set-wise, in the caller's transaction."""
    await bulk.insert_rows(models.AuditEvent, rows)
    await record_events(rows)


async def withhold_unreadable(actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """§8 rev. 2: a reader sees in an audit entry only what they may read elsewhere. The
    before/after values of an entry about a billing record the reader may not read (e.g. the
    card details of another person's self-service account) are withheld: set to None, with
    `details_hidden` True. The entry itself (who, what, when, which object) stays. One
    statement per kind of billing record on the page."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if row["object_type"] in _BILLING_RECORDS and (row["before"] is not None or row["after"] is not None):
            wanted[row["object_type"]].add(row["object_id"])
    readable: set[tuple[str, int]] = set()
    for object_type, ids in wanted.items():
        found = await _BILLING_RECORDS[object_type].filter(
            visibility.billing_records(actor), id__in=sorted(ids)).values_list("id", flat=True)
        readable.update((object_type, object_id) for object_id in found)
    for row in rows:
        hidden = row["object_id"] in wanted.get(row["object_type"], ()) and (
            (row["object_type"], row["object_id"]) not in readable)
        row["details_hidden"] = hidden
        if hidden:
            row["before"] = row["after"] = None
    return rows
