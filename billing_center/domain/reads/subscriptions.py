"""The root `subscriptions` list: its filter, a page and the count, as fixed statements
(`domain.visibility.subscriptions_sql` first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from billing_center.domain import models, rows, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.reads.statements import Join, Page, fetch, in_list, join_sql, list_param


@dataclass(frozen=True)
class SubscriptionFilter:
    """The root `subscriptions` list's filter, as database values."""

    statuses: Sequence[str] | None = None
    channels: Sequence[str] | None = None
    product_id: int | None = None

    def where(self, actor: Actor, dialect: str) -> tuple[list[str], list[Any]]:
        """SQL conditions on `subscription s` (visibility first) and their parameters."""
        visible, params = visibility.subscriptions_sql(actor, "s")
        conditions = [visible]
        if self.statuses:
            conditions.append(f's."status" {in_list(dialect)}')
            params.append(list_param(dialect, self.statuses))
        if self.channels:
            conditions.append(f's."purchase_channel" {in_list(dialect)}')
            params.append(list_param(dialect, self.channels))
        if self.product_id is not None:
            conditions.append('s."product_id" = ?')
            params.append(self.product_id)
        return conditions, params


async def subscription_page(
    actor: Actor, page: Page, selected: SubscriptionFilter, joins: Sequence[Join] = ()
) -> list[dict[str, Any]]:
    """One page (`limit + 1` rows) of the subscriptions the caller may see, filtered, with
    `joins` read in passing: one fixed statement (`visibility.subscriptions_sql`)."""
    dialect = rows.dialect()
    names, converters = rows.select_list(models.Subscription, alias="s")
    joined_select, joined_from, joined_params, read_joined = join_sql(joins, "s", actor.tenant_id)
    conditions, params = selected.where(actor, dialect)
    for operator, pk in page.bounds():
        conditions.append(f's."id" {operator} ?')
        params.append(pk)
    direction = "DESC" if page.sql_descending else "ASC"
    sql = (f'SELECT {names}{joined_select} FROM "subscription" s{joined_from} WHERE ' + " AND ".join(conditions)
           + f' ORDER BY s."id" {direction} LIMIT ?')
    found = await fetch(sql, [*joined_params, *params, page.limit + 1])
    return [read_joined(row, rows.convert(row, converters)) for row in found]


async def subscription_count(actor: Actor, selected: SubscriptionFilter) -> int:
    """How many subscriptions the caller may see match the filter (`totalCount`)."""
    conditions, params = selected.where(actor, rows.dialect())
    [row] = await fetch('SELECT COUNT(*) AS "count" FROM "subscription" s WHERE ' + " AND ".join(conditions), params)
    return row["count"]
