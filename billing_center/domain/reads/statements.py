"""Fixed SQL statements of the read paths, on either backend: pages of children per parent,
to-one rows joined in passing, rows by id.

Statement texts never depend on how many values they carry (a list is one parameter), so
PostgreSQL reuses their prepared statements and no query builder runs per call. Callers pass
`build` to turn a row (converted as Tortoise's `.values()` converts it) into what they need;
this module knows nothing about GraphQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, Protocol, Sequence

from tortoise import Tortoise
from tortoise.functions import Count

from billing_center.domain import models, rows

# asyncpg refuses statements with more than 32,767 parameters (STACK.md §0.9).
MAX_IDS_PER_STATEMENT = 10_000


class Page(Protocol):
    """A keyset page (`resolvers.pagination.PageRequest`): how many rows, which order, bounds."""

    limit: int

    @property
    def sql_descending(self) -> bool: ...

    def bounds(self) -> list[tuple[str, int]]: ...


def in_list(dialect: str) -> str:
    """The SQL of `column IN <one list parameter>` (see `list_param`)."""
    # One statement text for any number of values, so prepared statements are reused.
    if dialect == "postgres":
        return "= ANY(?)"
    return "IN (SELECT value FROM json_each(?))"


def list_param(dialect: str, values: Sequence[Any]) -> Any:
    """A list of values as the one parameter `in_list` takes."""
    return list(values) if dialect == "postgres" else json.dumps(list(values))


async def fetch(sql: str, params: Sequence[Any]) -> Sequence[Any]:
    """Run a fixed statement written with `?` placeholders on either backend; its rows are
    the driver's records (read by column name), not copied into dicts first: `rows.convert`
    makes the dicts (measured: the copy was 7% of a 500-row nested read)."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        sql = rows.numbered(sql, 1)
    _, found = await connection.execute_query(sql, list(params))
    return found


class Condition(NamedTuple):
    """An extra filter of a nested connection, e.g. Condition("issue_date", "gte", day)."""

    column: str
    lookup: str  # one of _SQL_OPERATORS, or "isnull" (value True: IS NULL)
    value: Any


_SQL_OPERATORS = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}


@dataclass(frozen=True)
class Join:
    """A to-one relation read in its parents' statement instead of one of its own.

    Only for models whose visibility needs nothing but the tenant (`tenant_scoped`, users) or
    nothing at all (products): see `domain.visibility`."""

    model: type[models.Model]
    column: str  # the parent's foreign-key column
    tenant_scoped: bool
    build: Callable[[dict], Any]


async def page_rows(
    model: type[models.Model],
    parent_column: str,
    parent_ids: Sequence[int],
    tenant_id: int,
    page: Page,
    where: Sequence[Condition] = (),
    joins: Sequence[Join] = (),
) -> dict[int, list[dict[str, Any]]]:
    """One page of child rows per parent, in one statement (a window function), with their
    values converted as Tortoise's `.values()` converts them.

    Each parent gets up to `page.limit + 1` rows so the caller can tell whether more follow.
    The row of each of `joins`, built, comes under the key `joined(i)` (None when there is none).
    """
    dialect = rows.dialect()
    names, converters = rows.select_list(model, alias="ranked")
    params: list[Any] = [tenant_id, list_param(dialect, parent_ids)]
    conditions = ["tenant_id = ?", f"{parent_column} {in_list(dialect)}"]
    for operator, pk in page.bounds():
        params.append(pk)
        conditions.append(f"id {operator} ?")
    for condition in where:
        if condition.lookup == "isnull":
            conditions.append(f"{condition.column} IS {'' if condition.value else 'NOT '}NULL")
            continue
        params.append(condition.value)
        conditions.append(f"{condition.column} {_SQL_OPERATORS[condition.lookup]} ?")
    direction = "DESC" if page.sql_descending else "ASC"
    joined_select, joined_from, joined_params, read_joined = join_sql(joins, "ranked", tenant_id)
    sql = (
        f"SELECT {names}{joined_select} FROM ("
        f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {parent_column} ORDER BY id {direction}) AS position__ "
        f'FROM "{model._meta.db_table}" WHERE ' + " AND ".join(conditions) + f") AS ranked{joined_from} "
        f'WHERE ranked.position__ <= ? ORDER BY ranked."{parent_column}", ranked."id" {direction}'
    )
    pages: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in await fetch(sql, [*params, *joined_params, page.limit + 1]):
        values = read_joined(row, rows.convert(row, converters))
        pages[values[parent_column]].append(values)
    return pages


def join_sql(joins: Sequence[Join], parent: str, tenant_id: int | None) -> tuple[str, str, list[Any], Callable]:
    """The select list, LEFT JOINs and parameters that read `joins` in the statement of
    their parents (under `parent`), and a function storing each joined row, built, in its
    parent's values."""
    selects, clauses, params, readers = [], [], [], []
    for index, join in enumerate(joins):
        alias = joined(index)
        select, convert = rows.select_list(join.model, alias=alias, prefix=f"{alias}__")
        selects.append(f", {select}")
        clause = f' LEFT JOIN "{join.model._meta.db_table}" {alias} ON {alias}."id" = {parent}."{join.column}"'
        if join.tenant_scoped:
            clause += f' AND {alias}."tenant_id" = ?'
            params.append(tenant_id)
        clauses.append(clause)
        readers.append((alias, convert, join.build))

    def read(row: Any, values: dict[str, Any]) -> dict[str, Any]:
        for alias, convert, build in readers:
            values[alias] = None if row[f"{alias}__id"] is None else build(rows.convert(row, convert))
        return values

    return "".join(selects), "".join(clauses), params, read


def joined(index: int) -> str:
    """The key (and SQL alias) of the `index`-th joined row of a `page_rows` row."""
    return f"j{index}"


async def counts_by_parent(
    model: type[models.Model],
    parent_column: str,
    parent_ids: Sequence[int],
    tenant_id: int,
    where: Sequence[Condition] = (),
) -> dict[int, int]:
    """How many rows each parent has (for `totalCount` of nested connections)."""
    filters = {f"{c.column}__{c.lookup}": c.value for c in where}
    counted = (
        await model.filter(tenant_id=tenant_id, **{f"{parent_column}__in": list(parent_ids)}, **filters)
        .annotate(count=Count("id"))
        .group_by(parent_column)
        .values(parent_column, "count")
    )
    return {row[parent_column]: row["count"] for row in counted}


async def rows_with_ids(
    model: type[models.Model], ids: Iterable[int], build: Callable[[dict], Any], tenant_id: int | None = None
) -> dict[int, Any]:
    """Rows with these ids (of `tenant_id` when given), built, by id, with their values
    converted as Tortoise's `.values()` converts them. Only for ids whose visibility is
    settled: from a statement that applied it (`page_ids`), or of a model that is the whole
    tenant's (users, domains) or global (products) — see `domain.visibility`."""
    wanted = list(ids)
    found: dict[int, Any] = {}
    dialect = rows.dialect()
    # The id list is one parameter, so the text never changes (PostgreSQL reuses its
    # prepared statement) and no query builder runs per call: measured, Tortoise spent more
    # time building `IN ($1, ..., $500)` than the database spent running it.
    names, converters = rows.select_list(model)
    sql = f'SELECT {names} FROM "{model._meta.db_table}" WHERE "id" {in_list(dialect)}'
    if tenant_id is not None:
        sql += ' AND "tenant_id" = ?'
    # Nested pages can name 100 x 100 ids per parent level: stay under asyncpg's limit.
    for start in range(0, len(wanted), MAX_IDS_PER_STATEMENT):
        chunk = wanted[start : start + MAX_IDS_PER_STATEMENT]
        params: list[Any] = [list_param(dialect, chunk)]
        if tenant_id is not None:
            params.append(tenant_id)
        for row in await fetch(sql, params):
            values = rows.convert(row, converters)
            found[values["id"]] = build(values)
    return found
