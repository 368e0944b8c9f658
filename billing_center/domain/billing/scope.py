"""Which tenants a billing run covers, and how its steps take rows without stepping on a
concurrent engine (SPEC §7: several engines may run at once on PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from billing_center.domain import models

BATCH = 500


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenants of a run: one tenant, or every live tenant. `simulated`: the run follows
    a sandbox clock, so what happens on a day is dated on that day; a live run dates what
    it does with the moment it runs (never earlier)."""

    tenant_id: int | None = None
    simulated: bool = False
    # A part of the live tenants: ids from..to (inclusive) but the excluded ones. The engine
    # narrows its scope this way to find, and skip, a tenant it cannot process.
    id_range: tuple[int, int] | None = None
    excluded: frozenset[int] = frozenset()

    def q(self) -> Q:
        """The filter on a tenant-owned table."""
        if self.tenant_id is not None:
            return Q(tenant_id=self.tenant_id)
        tenants = models.Tenant.filter(sandbox=False)
        if self.id_range is not None:
            tenants = tenants.filter(id__gte=self.id_range[0], id__lte=self.id_range[1])
        if self.excluded:
            tenants = tenants.exclude(id__in=sorted(self.excluded))
        return Q(tenant_id__in=Subquery(tenants.values("id")))


LIVE = Scope()


async def lock_rows(queryset: Any, *fields: str) -> list[dict]:
    """The rows of `queryset`, locked until the end of the caller's transaction, without the
    rows another transaction holds (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite has one
    writer at a time). Tortoise drops FOR UPDATE from `.values()` queries, so the rows are
    locked by id first and read afterwards."""
    ids = [row.pk for row in await queryset.select_for_update(skip_locked=True).only("id")]
    rows: list[dict] = []
    for start in range(0, len(ids), BATCH):
        rows += await queryset.model.filter(id__in=ids[start:start + BATCH]).values(*fields)
    return rows


def midnight(day: date) -> datetime:
    """The first moment of `day` (UTC)."""
    return datetime.combine(day, time(0), UTC)


def last_second(day: date) -> datetime:
    """The moment a charge day is over: its documents are issued and charged then."""
    return midnight(day + timedelta(days=1)) - timedelta(seconds=1)
