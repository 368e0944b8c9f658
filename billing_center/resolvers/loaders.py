"""Per-request batch loading: one SQL statement per list level, whatever the row count.

Every batch function starts from the caller's visibility filter (`domain.visibility`), so an
object of another tenant never loads, whichever path reaches it. Batch functions return one
result per key, in key order; rows become API types right here, never ORM instances.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from strawberry.dataloader import DataLoader
from tortoise import Tortoise
from tortoise.expressions import Q
from tortoise.functions import Count

from billing_center.domain import audit, available_actions, models, rows, tokens, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.billing import balances
from billing_center.resolvers.pagination import PageRequest
from billing_center.schema import types

# asyncpg refuses statements with more than 32,767 parameters (STACK.md §0.9).
MAX_BATCH = 1000
MAX_IDS_PER_STATEMENT = 10_000


async def _rows_by_id(
    model: type[models.Model], visible: Q, build: Callable[[dict], Any], keys: Sequence[int]
) -> list[Any]:
    found = await model.filter(visible, id__in=list(keys)).values()
    by_id = {row["id"]: build(row) for row in found}
    return [by_id.get(key) for key in keys]


async def _audit_events_by_id(actor: Actor, keys: Sequence[int]) -> list[Any]:
    # §8 rev. 2: the values of an entry show only what the reader may read elsewhere.
    found = await models.AuditEvent.filter(visibility.audit_events(actor), id__in=list(keys)).values()
    by_id = {row["id"]: types.AuditEvent.from_row(row) for row in await audit.withhold_unreadable(actor, found)}
    return [by_id.get(key) for key in keys]


async def _events_by_id(actor: Actor, keys: Sequence[int]) -> list[Any]:
    found = await models.Event.filter(visibility.events(actor), id__in=list(keys)).values()
    by_id = {row["id"]: types.Event.from_row(row) for row in await audit.withhold_unreadable(actor, found)}
    return [by_id.get(key) for key in keys]


async def _rows_grouped(
    model: type[models.Model],
    visible: Q,
    build: Callable[[dict], Any],
    column: str,
    keys: Sequence[int],
    *,
    order: tuple[str, ...] = ("id",),
) -> list[list[Any]]:
    found = await model.filter(visible, **{f"{column}__in": list(keys)}).order_by(*order).values()
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in found:
        grouped[row[column]].append(build(row))
    return [grouped.get(key, []) for key in keys]


def _in_list(dialect: str) -> str:
    # One statement text for any number of values, so prepared statements are reused.
    if dialect == "postgres":
        return "= ANY(?)"
    return "IN (SELECT value FROM json_each(?))"


def _list_param(dialect: str, values: Sequence[Any]) -> Any:
    return list(values) if dialect == "postgres" else json.dumps(list(values))


async def _fetch(sql: str, params: Sequence[Any]) -> Sequence[Any]:
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
    page: PageRequest,
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
    params: list[Any] = [tenant_id, _list_param(dialect, parent_ids)]
    conditions = ["tenant_id = ?", f"{parent_column} {_in_list(dialect)}"]
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
    joined_select, joined_from, joined_params, read_joined = _joins(joins, "ranked", tenant_id)
    sql = (
        f"SELECT {names}{joined_select} FROM ("
        f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {parent_column} ORDER BY id {direction}) AS position__ "
        f'FROM "{model._meta.db_table}" WHERE ' + " AND ".join(conditions) + f") AS ranked{joined_from} "
        f'WHERE ranked.position__ <= ? ORDER BY ranked."{parent_column}", ranked."id" {direction}'
    )
    pages: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in await _fetch(sql, [*params, *joined_params, page.limit + 1]):
        values = read_joined(row, rows.convert(row, converters))
        pages[values[parent_column]].append(values)
    return pages


def _joins(joins: Sequence[Join], parent: str, tenant_id: int | None) -> tuple[str, str, list[Any], Callable]:
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
            conditions.append(f's."status" {_in_list(dialect)}')
            params.append(_list_param(dialect, self.statuses))
        if self.channels:
            conditions.append(f's."purchase_channel" {_in_list(dialect)}')
            params.append(_list_param(dialect, self.channels))
        if self.product_id is not None:
            conditions.append('s."product_id" = ?')
            params.append(self.product_id)
        return conditions, params


async def subscription_page(
    actor: Actor, page: PageRequest, selected: SubscriptionFilter, joins: Sequence[Join] = ()
) -> list[dict[str, Any]]:
    """One page (`limit + 1` rows) of the subscriptions the caller may see, filtered, with
    `joins` read in passing: one fixed statement (`visibility.subscriptions_sql`)."""
    dialect = rows.dialect()
    names, converters = rows.select_list(models.Subscription, alias="s")
    joined_select, joined_from, joined_params, read_joined = _joins(joins, "s", actor.tenant_id)
    conditions, params = selected.where(actor, dialect)
    for operator, pk in page.bounds():
        conditions.append(f's."id" {operator} ?')
        params.append(pk)
    direction = "DESC" if page.sql_descending else "ASC"
    sql = (f'SELECT {names}{joined_select} FROM "subscription" s{joined_from} WHERE ' + " AND ".join(conditions)
           + f' ORDER BY s."id" {direction} LIMIT ?')
    found = await _fetch(sql, [*joined_params, *params, page.limit + 1])
    return [read_joined(row, rows.convert(row, converters)) for row in found]


async def subscription_count(actor: Actor, selected: SubscriptionFilter) -> int:
    """How many subscriptions the caller may see match the filter (`totalCount`)."""
    conditions, params = selected.where(actor, rows.dialect())
    [row] = await _fetch('SELECT COUNT(*) AS "count" FROM "subscription" s WHERE ' + " AND ".join(conditions), params)
    return row["count"]


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
    sql = f'SELECT {names} FROM "{model._meta.db_table}" WHERE "id" {_in_list(dialect)}'
    if tenant_id is not None:
        sql += ' AND "tenant_id" = ?'
    # Nested pages can name 100 x 100 ids per parent level: stay under asyncpg's limit.
    for start in range(0, len(wanted), MAX_IDS_PER_STATEMENT):
        chunk = wanted[start : start + MAX_IDS_PER_STATEMENT]
        params: list[Any] = [_list_param(dialect, chunk)]
        if tenant_id is not None:
            params.append(tenant_id)
        for row in await _fetch(sql, params):
            values = rows.convert(row, converters)
            found[values["id"]] = build(values)
    return found


async def _tenant_rows_by_id(
    model: type[models.Model], tenant_id: int | None, build: Callable[[dict], Any], keys: Sequence[int]
) -> list[Any]:
    # No tenant (the operator, anonymous callers) sees no tenant's rows.
    if tenant_id is None:
        return [None] * len(keys)
    found = await rows_with_ids(model, keys, build, tenant_id)
    return [found.get(key) for key in keys]


async def _own_tenant_by_id(
    tenant_id: int | None, build: Callable[[dict], Any], keys: Sequence[int], known: dict | None = None
) -> list[Any]:
    if tenant_id not in keys:
        found = {}
    elif known is not None and known["id"] == tenant_id:
        found = {tenant_id: build(known)}
    else:
        found = await rows_with_ids(models.Tenant, [tenant_id], build)
    return [found.get(key) for key in keys]


async def _global_rows_by_id(model: type[models.Model], build: Callable[[dict], Any], keys: Sequence[int]) -> list[Any]:
    found = await rows_with_ids(model, keys, build)
    return [found.get(key) for key in keys]


async def _facts(actor: Actor, subscription_ids: Sequence[int]) -> list[Any]:
    if actor.tenant_id is None:
        return [None] * len(subscription_ids)
    facts = await available_actions.load_facts(actor.tenant_id, list(subscription_ids))
    return [facts.get(key) for key in subscription_ids]


def _loader(fn: Callable, *args: Any, **kwargs: Any) -> DataLoader:
    return DataLoader(load_fn=partial(fn, *args, **kwargs), max_batch_size=MAX_BATCH)


# Loaders whose rows depend on the wall-clock moment of the request (token expiry).
_TIMED_SPECS: dict[str, Callable[[Actor, datetime], DataLoader]] = {
    "api_token_by_id": lambda a, now: _loader(
        _rows_by_id, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row
    ),
    "api_tokens_by_user_id": lambda a, now: _loader(
        _rows_grouped, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row,
        "user_id",
    ),
}


# How each loader of a request is made from the caller, by name. A request touches a few of
# them: making all of them for every request was measurable on small reads.
_SPECS: dict[str, Callable[[Actor], DataLoader]] = {
    "tenant_by_id": lambda a: _loader(_own_tenant_by_id, visibility.own_tenant_id(a), types.Tenant.from_row),
    # visibility.users: a tenant's whole directory; products are global.
    "user_by_id": lambda a: _loader(_tenant_rows_by_id, models.User, a.tenant_id, types.User.from_row),
    "domain_by_id": lambda a: _loader(_rows_by_id, models.Domain, visibility.domains(a), types.Domain.from_row),
    "billing_account_by_id": lambda a: _loader(
        _rows_by_id, models.BillingAccount, visibility.billing_accounts(a), types.BillingAccount.from_row
    ),
    "billing_profile_by_id": lambda a: _loader(
        _rows_by_id, models.BillingProfile, visibility.billing_records(a), types.BillingProfile.from_row
    ),
    "payment_method_by_id": lambda a: _loader(
        _rows_by_id, models.PaymentMethod, visibility.billing_records(a), types.PaymentMethod.from_row
    ),
    "product_by_id": lambda a: _loader(_global_rows_by_id, models.Product, types.Product.from_row),
    "subscription_by_id": lambda a: _loader(
        _rows_by_id, models.Subscription, visibility.subscriptions(a), types.Subscription.from_row
    ),
    "license_assignment_by_id": lambda a: _loader(
        _rows_by_id, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row,
    ),
    "invoice_by_id": lambda a: _loader(
        _rows_by_id, models.Invoice, visibility.billing_records(a), types.Invoice.from_row
    ),
    "audit_event_by_id": lambda a: _loader(_audit_events_by_id, a),
    "event_by_id": lambda a: _loader(_events_by_id, a),
    "webhook_endpoint_by_id": lambda a: _loader(
        _rows_by_id, models.WebhookEndpoint, visibility.webhook_endpoints(a), types.WebhookEndpoint.from_row
    ),
    "webhook_delivery_by_id": lambda a: _loader(
        _rows_by_id, models.WebhookDelivery, visibility.webhook_endpoints(a), types.WebhookDelivery.from_row
    ),
    "invoice_line_by_id": lambda a: _loader(
        _rows_by_id, models.InvoiceLine, visibility.invoice_lines(a), types.InvoiceLine.from_row
    ),
    "billing_profiles_by_account_id": lambda a: _loader(
        _rows_grouped, models.BillingProfile, visibility.billing_records(a),
        types.BillingProfile.from_row, "billing_account_id",
    ),
    "domains_by_tenant_id": lambda a: _loader(
        _rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "tenant_id",
        order=("-is_default", "id"),
    ),
    "domains_by_subscription_id": lambda a: _loader(
        _rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "subscription_id"
    ),
    "license_assignments_by_user_id": lambda a: _loader(
        _rows_grouped, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row, "user_id",
    ),
    "subscriptions_by_reactivated_from_id": lambda a: _loader(
        _rows_grouped, models.Subscription, visibility.subscriptions(a),
        types.Subscription.from_row, "reactivated_from_id",
    ),
    "invoice_lines_by_invoice_id": lambda a: _loader(
        _rows_grouped, models.InvoiceLine, Q(tenant_id=a.tenant_id), types.InvoiceLine.from_row,
        "invoice_id",
    ),
    "payment_attempts_by_invoice_id": lambda a: _loader(
        _rows_grouped, models.PaymentAttempt, Q(tenant_id=a.tenant_id),
        types.PaymentAttempt.from_row, "invoice_id",
    ),
    "balances_by_account_id": lambda a: _loader(balances.by_account, a),
    "subscription_facts_by_id": lambda a: _loader(_facts, a),
}


class Loaders:
    """Fresh loaders for one request (a loader's cache must never outlive its request),
    each made on first use and kept as an attribute: `loaders.user_by_id`."""

    def __init__(self, actor: Actor, tenant_row: dict | None = None, wall_now: datetime | None = None) -> None:
        self.actor = actor
        # The request's wall-clock moment (never a sandbox tenant's clock): token expiry.
        self.wall_now = wall_now or datetime.now(UTC)
        if tenant_row is not None:
            # The caller's tenant came with the token lookup (`domain.auth.Session`).
            self.tenant_by_id = _loader(_own_tenant_by_id, visibility.own_tenant_id(actor), types.Tenant.from_row,
                                        known=tenant_row)

    def __getattr__(self, name: str) -> DataLoader:
        # Only called for loaders not made yet.
        make = _SPECS.get(name)
        if make is not None:
            loader = make(self.actor)
        elif name in _TIMED_SPECS:
            loader = _TIMED_SPECS[name](self.actor, self.wall_now)
        else:
            raise AttributeError(name)
        setattr(self, name, loader)
        return loader

    def by_type(self, type_name: str) -> DataLoader | None:
        """The by-id loader of a node type (for `node(id:)`), or None for unknown types."""
        return _BY_TYPE.get(type_name) and getattr(self, _BY_TYPE[type_name])


_BY_TYPE = {
    "Tenant": "tenant_by_id",
    "User": "user_by_id",
    "Domain": "domain_by_id",
    "BillingAccount": "billing_account_by_id",
    "BillingProfile": "billing_profile_by_id",
    "PaymentMethod": "payment_method_by_id",
    "Product": "product_by_id",
    "Subscription": "subscription_by_id",
    "LicenseAssignment": "license_assignment_by_id",
    "Invoice": "invoice_by_id",
    "AuditEvent": "audit_event_by_id",
    "Event": "event_by_id",
    "ApiToken": "api_token_by_id",
    "WebhookEndpoint": "webhook_endpoint_by_id",
    "WebhookDelivery": "webhook_delivery_by_id",
}
