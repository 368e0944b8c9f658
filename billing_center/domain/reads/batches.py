"""Batch reads by key for the per-request loaders: one statement per batch, visibility first
(`domain.visibility`), one result per key in key order, each row made by `build`."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Sequence

from tortoise.expressions import Q

from billing_center.domain import audit, models, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.reads.statements import rows_with_ids


async def rows_by_id(
    model: type[models.Model], visible: Q, build: Callable[[dict], Any], keys: Sequence[int]
) -> list[Any]:
    """The `visible` rows of `model` with these ids, built; None where there is none."""
    found = await model.filter(visible, id__in=list(keys)).values()
    by_id = {row["id"]: build(row) for row in found}
    return [by_id.get(key) for key in keys]


async def audit_events_by_id(actor: Actor, build: Callable[[dict], Any], keys: Sequence[int]) -> list[Any]:
    """The audit events the caller may read with these ids, built, their values withheld where
    unreadable (`audit.withhold_unreadable`)."""
    # §8 rev. 2: the values of an entry show only what the reader may read elsewhere.
    found = await models.AuditEvent.filter(visibility.audit_events(actor), id__in=list(keys)).values()
    by_id = {row["id"]: build(row) for row in await audit.withhold_unreadable(actor, found)}
    return [by_id.get(key) for key in keys]


async def events_by_id(actor: Actor, build: Callable[[dict], Any], keys: Sequence[int]) -> list[Any]:
    """The events the caller may read with these ids, built, their values withheld where
    unreadable (`audit.withhold_unreadable`)."""
    found = await models.Event.filter(visibility.events(actor), id__in=list(keys)).values()
    by_id = {row["id"]: build(row) for row in await audit.withhold_unreadable(actor, found)}
    return [by_id.get(key) for key in keys]


async def rows_grouped(
    model: type[models.Model],
    visible: Q,
    build: Callable[[dict], Any],
    column: str,
    keys: Sequence[int],
    *,
    order: tuple[str, ...] = ("id",),
) -> list[list[Any]]:
    """The `visible` rows of `model` whose `column` is each key, built, in `order`."""
    found = await model.filter(visible, **{f"{column}__in": list(keys)}).order_by(*order).values()
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in found:
        grouped[row[column]].append(build(row))
    return [grouped.get(key, []) for key in keys]


async def tenant_rows_by_id(
    model: type[models.Model], tenant_id: int | None, build: Callable[[dict], Any], keys: Sequence[int]
) -> list[Any]:
    """Rows of the caller's tenant with these ids (models that are the whole tenant's)."""
    # No tenant (the operator, anonymous callers) sees no tenant's rows.
    if tenant_id is None:
        return [None] * len(keys)
    found = await rows_with_ids(model, keys, build, tenant_id)
    return [found.get(key) for key in keys]


async def own_tenant_by_id(
    tenant_id: int | None, build: Callable[[dict], Any], keys: Sequence[int], known: dict | None = None
) -> list[Any]:
    """The caller's own tenant, built, where it is asked for; `known`: its row, read already."""
    if tenant_id not in keys:
        found = {}
    elif known is not None and known["id"] == tenant_id:
        found = {tenant_id: build(known)}
    else:
        found = await rows_with_ids(models.Tenant, [tenant_id], build)
    return [found.get(key) for key in keys]


async def global_rows_by_id(model: type[models.Model], build: Callable[[dict], Any], keys: Sequence[int]) -> list[Any]:
    """Rows of a global model (products) with these ids, built."""
    found = await rows_with_ids(model, keys, build)
    return [found.get(key) for key in keys]
