"""The audit trail (SPEC §8): written by every change, in the change's own transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from billing_center.domain import models
from billing_center.domain.actor import Actor


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
    """Write one audit event; call it inside the transaction of the change it describes.

    `object_type` is the API type name of the changed object (its global ID's prefix)."""
    await models.AuditEvent.create(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
        at=at,
    )


def system_event(tenant_id: int, action: str, object_type: str, object_id: int, at: datetime,
                 before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """An audit row for `bulk.insert_rows` of a change the billing engine made on its own:
    no actor user (SPEC §8 "who" is the system)."""
    return dict(
        tenant_id=tenant_id, actor_user_id=None, action=action, object_type=object_type, object_id=object_id,
        before=snapshot(before) if before else None, after=snapshot(after) if after else None, at=at,
    )
