"""Loading by selection: every list level loads each selected relation once, for all its rows.

A resolver that returns a list calls `prefetch(context, objects, selections)`; this walks the
query's selection set and, per relation, makes one batched load for every object of the level,
stores each result in the object's `loaded` dict and recurses into the loaded objects. The
type's field then answers synchronously from `loaded` (graphql-core's cheap path, no coroutine
per row). An object reached on its own (`node`, a payload) loads the relation through the same
batch function when its field is resolved, and prefetches below it from there.

So a query costs one statement per relation per level whatever the number of rows (issue #2,
PERFORMANCE.md: per-row async resolvers cost 5x on large lists).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from billing_center.domain import available_actions, lifecycle, models
from billing_center.domain.billing import invoice_periods
from billing_center.domain.errors import DomainError
from billing_center.domain.money import Money
from billing_center.domain.reads import statements
from billing_center.resolvers import loaders as batch
from billing_center.resolvers.pagination import connection, page_key, page_request
from billing_center.schema import enums, types
from billing_center.schema.ids import encode_cursor, to_global_id

Load = Callable[[Any, Sequence[Any], Mapping[str, Any], SelectedField], Awaitable[list[Any]]]


@dataclass(frozen=True)
class Relation:
    """How one field of one type loads, for many parents at once."""

    load: Load
    # Objects inside a loaded value whose own relations may be selected below.
    nested: Callable[[Any], Iterable[Any]]
    # The selections that apply to those nested objects.
    inner: Callable[[SelectedField], Sequence[Selection]]
    # What distinguishes two loads of the field on one object (its page arguments).
    key: Callable[[Mapping[str, Any]], Hashable]
    # Fields that share one load (the three balances) share this name...
    shared_name: str | None = None
    # ...and pick their entry from the shared value.
    pick: str | None = None
    # A to-one relation its parents' page statement can read in passing (`statements.Join`).
    join: statements.Join | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """A relation whose load was refused (e.g. page size 101): its field raises the error."""

    error: Exception


def _one(value: Any) -> Iterable[Any]:
    return () if value is None else (value,)


def _many(value: Any) -> Iterable[Any]:
    return value


def _edges(value: Any) -> Iterable[Any]:
    return [edge.node for edge in value.edges]


def _own(field: SelectedField) -> Sequence[Selection]:
    return field.selections


def edge_node_selections(field: SelectedField) -> Sequence[Selection]:
    selections: list[Selection] = []
    for edges in fields_of(field.selections):
        if edges.name == "edges":
            for node in fields_of(edges.selections):
                if node.name == "node":
                    selections.extend(node.selections)
    return selections


def _no_args(_: Mapping[str, Any]) -> Hashable:
    return ()


def to_one(loader_name: str, attribute: str, join: statements.Join | None = None) -> Relation:
    """A to-one relation through a by-id loader, keyed by the parent's `attribute`; with
    `join`, a page of parents reads it in its own statement when it is selected."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        keys = [getattr(parent, attribute) for parent in parents]
        wanted = list(dict.fromkeys(key for key in keys if key is not None))
        # The batch function itself, not `load_many`: a DataLoader makes a future per key,
        # which for a level of 500 rows cost more than the statement.
        batch_fn = getattr(ctx.loaders, loader_name).load_fn
        found: list[Any] = []
        for start in range(0, len(wanted), batch.MAX_BATCH):
            found += await batch_fn(wanted[start:start + batch.MAX_BATCH])
        by_key = dict(zip(wanted, found))
        return [by_key.get(key) for key in keys]

    return Relation(load=load, nested=_one, inner=_own, key=_no_args, join=join)


def joins_selected(cls: type, selections: Sequence[Selection]) -> list[tuple[tuple, statements.Join]]:
    """The joinable to-one relations selected on `cls`: their loaded-value keys and joins."""
    found: dict[tuple, statements.Join] = {}
    for field in fields_of(selections, cls.__name__):
        relation = REGISTRY.get((cls, field.name))
        if relation is not None and relation.join is not None:
            found[_cache_key(field.name, relation, field.arguments)] = relation.join
    return list(found.items())


def with_joined(obj: Any, row: Mapping[str, Any], joins: Sequence[tuple[tuple, statements.Join]]) -> Any:
    """`obj` with the relations read in its row (see `joins_selected`) stored as loaded."""
    for index, (key, _) in enumerate(joins):
        obj.loaded[key] = row[statements.joined(index)]
    return obj


def to_many(loader_name: str, attribute: str = "pk") -> Relation:
    """A small to-many relation (a plain list) through a grouped loader."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        return list(await getattr(ctx.loaders, loader_name).load_many([getattr(p, attribute) for p in parents]))

    return Relation(load=load, nested=_many, inner=_own, key=_no_args)


def to_first(loader_name: str) -> Relation:
    """The first object of a grouped loader (a reverse to-one such as `reactivatedAs`)."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        groups = await getattr(ctx.loaders, loader_name).load_many([p.pk for p in parents])
        return [group[0] if group else None for group in groups]

    return Relation(load=load, nested=_one, inner=_own, key=_no_args)


def balance(name: str) -> Relation:
    """One of a billing account's balances; the three share one batched aggregate."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        found = await ctx.loaders.balances_by_account_id.load_many([p.pk for p in parents])
        return [
            {key: types.Money.of(Money(amount, parent.currency)) for key, amount in balances.items()}
            for parent, balances in zip(parents, found)
        ]

    return Relation(load=load, nested=_none, inner=_own, key=_no_args, shared_name="balances", pick=name)


def lifecycle_view(name: str) -> Relation:
    """`availableActions` or `timeline`: computed by domain.available_actions and domain.lifecycle from one batch of facts."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        found = await ctx.loaders.subscription_facts_by_id.load_many([p.pk for p in parents])
        actor, now = ctx.require_user(), ctx.now()
        return [
            {
                "availableActions": [
                    types.SubscriptionActionState(
                        action=enums.SubscriptionAction(s.action.value), allowed=s.allowed,
                        deadline=s.deadline, reason=s.reason,
                        code=enums.ErrorCode(s.code.value) if s.code else None,
                    )
                    for s in available_actions.action_states(actor, facts, now)
                ],
                "timeline": [
                    types.LifecycleEvent(
                        at=e.at, description=e.description,
                        status=enums.SubscriptionStatus(e.status.value) if e.status else None,
                    )
                    for e in lifecycle.timeline(facts)
                ],
            }
            for facts in found
        ]

    return Relation(load=load, nested=_none, inner=_own, key=_no_args, shared_name="lifecycle", pick=name)


def _none(_: Any) -> Iterable[Any]:
    return ()


def paged(
    model: type[models.Model],
    parent_column: str,
    connection_type: type,
    edge_type: type,
    build: Callable[[dict], Any],
    *,
    descending: bool = False,
    where: Callable[[Any, Mapping[str, Any]], list[statements.Condition]] | None = None,
    key: Callable[[Mapping[str, Any]], Hashable] = page_key,
) -> Relation:
    """A nested connection: one page of rows per parent in one statement and, only when
    `totalCount` is selected, one grouped count."""

    async def load(ctx: Any, parents: Sequence[Any], args: Mapping[str, Any], field: SelectedField) -> list[Any]:
        page = page_request(args, descending=descending)
        conditions = where(ctx, args) if where else []
        parent_ids = [p.pk for p in parents]
        # `build` is the node type's `from_row`.
        joins = joins_selected(build.__self__, edge_node_selections(field))  # type: ignore[attr-defined]
        pages = await statements.page_rows(model, parent_column, parent_ids, ctx.tenant_id, page, conditions,
                                      [join for _, join in joins])
        counts: dict[int, int] = {}
        if any(f.name == "totalCount" for f in fields_of(field.selections)):
            counts = await statements.counts_by_parent(
                model, parent_column, parent_ids, ctx.tenant_id, conditions
            )
        return [
            connection(
                connection_type, edge_type, [with_joined(build(row), row, joins) for row in pages.get(pid, [])],
                page, build=lambda obj: obj, pk=lambda obj: obj.pk, total_count=counts.get(pid, 0),
            )
            for pid in parent_ids
        ]

    return Relation(load=load, nested=_edges, inner=edge_node_selections, key=key)


def invoice_period(ctx: Any, args: Mapping[str, Any]) -> tuple[date, date | None]:
    """The issue-date range of `invoices(period, from, to)` (`domain.billing.invoice_periods`)."""
    period = getattr(args.get("period"), "value", args.get("period"))
    return invoice_periods.issue_dates(period, args.get("from"), args.get("to"), ctx.today())


def invoice_conditions(ctx: Any, args: Mapping[str, Any]) -> list[statements.Condition]:
    """`invoices` arguments as conditions on the issue date."""
    start, end = invoice_period(ctx, args)
    conditions = [statements.Condition("issue_date", "gte", start)]
    if end is not None:
        conditions.append(statements.Condition("issue_date", "lte", end))
    return conditions


def invoice_key(args: Mapping[str, Any]) -> Hashable:
    period = getattr(args.get("period"), "value", args.get("period")) or invoice_periods.DEFAULT
    return (period, str(args.get("from")), str(args.get("to")), page_key(args))


# Users are the whole tenant's and products global (domain.visibility): a page of parents may
# read them in its own statement.
def _user(attribute: str) -> Relation:
    return to_one("user_by_id", attribute, statements.Join(models.User, attribute, True, types.User.from_row))


def _product(attribute: str) -> Relation:
    return to_one("product_by_id", attribute, statements.Join(models.Product, attribute, False, types.Product.from_row))


REGISTRY: dict[tuple[type, str], Relation] = {
    (types.Tenant, "domains"): to_many("domains_by_tenant_id"),
    (types.Tenant, "users"): paged(
        models.User, "tenant_id", types.UserConnection, types.UserEdge, types.User.from_row,
        where=lambda ctx, args: [statements.Condition("removed_at", "isnull", True)],
    ),
    (types.Domain, "subscription"): to_one("subscription_by_id", "subscription_id"),
    (types.User, "licenseAssignments"): to_many("license_assignments_by_user_id"),
    (types.User, "apiTokens"): to_many("api_tokens_by_user_id"),
    (types.BillingAccount, "owner"): _user("owner_id"),
    (types.BillingAccount, "billingProfiles"): to_many("billing_profiles_by_account_id"),
    (types.BillingAccount, "outstandingBalance"): balance("outstanding"),
    (types.BillingAccount, "pastDueBalance"): balance("past_due"),
    (types.BillingAccount, "creditBalance"): balance("credit"),
    (types.BillingProfile, "billingAccount"): to_one("billing_account_by_id", "billing_account_id"),
    (types.BillingProfile, "paymentMethod"): to_one("payment_method_by_id", "payment_method_id"),
    (types.BillingProfile, "invoices"): paged(
        models.Invoice, "billing_profile_id", types.InvoiceConnection, types.InvoiceEdge,
        types.Invoice.from_row, descending=True, where=invoice_conditions, key=invoice_key,
    ),
    (types.Subscription, "product"): _product("product_id"),
    (types.Subscription, "billingAccount"): to_one("billing_account_by_id", "billing_account_id"),
    (types.Subscription, "billingProfile"): to_one("billing_profile_by_id", "billing_profile_id"),
    (types.Subscription, "purchasedBy"): _user("purchased_by_id"),
    (types.Subscription, "reactivatedFrom"): to_one("subscription_by_id", "reactivated_from_id"),
    (types.Subscription, "reactivatedAs"): to_first("subscriptions_by_reactivated_from_id"),
    (types.Subscription, "domains"): to_many("domains_by_subscription_id"),
    (types.Subscription, "availableActions"): lifecycle_view("availableActions"),
    (types.Subscription, "timeline"): lifecycle_view("timeline"),
    (types.Subscription, "licenseAssignments"): paged(
        models.LicenseAssignment, "subscription_id", types.LicenseAssignmentConnection,
        types.LicenseAssignmentEdge, types.LicenseAssignment.from_row,
    ),
    (types.LicenseAssignment, "user"): _user("user_id"),
    (types.LicenseAssignment, "subscription"): to_one("subscription_by_id", "subscription_id"),
    (types.LicenseAssignment, "product"): _product("product_id"),
    (types.InvoiceLine, "subscription"): to_one("subscription_by_id", "subscription_id"),
    (types.Invoice, "billingProfile"): to_one("billing_profile_by_id", "billing_profile_id"),
    (types.Invoice, "lines"): to_many("invoice_lines_by_invoice_id"),
    (types.Invoice, "paymentAttempts"): to_many("payment_attempts_by_invoice_id"),
    (types.AuditEvent, "actor"): _user("actor_user_id"),
    (types.Event, "actor"): _user("actor_user_id"),
    (types.WebhookEndpoint, "deliveries"): paged(
        models.WebhookDelivery, "endpoint_id", types.WebhookDeliveryConnection, types.WebhookDeliveryEdge,
        types.WebhookDelivery.from_row, descending=True,
    ),
}


def fields_of(selections: Iterable[Selection], type_name: str | None = None) -> Iterable[SelectedField]:
    """The fields of a selection set, fragments flattened (those that apply to `type_name`)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            condition = selection.type_condition
            if type_name is None or condition in (None, type_name, "Node"):
                yield from fields_of(selection.selections, type_name)


def _cache_key(name: str, relation: Relation, args: Mapping[str, Any]) -> tuple:
    return (relation.shared_name or name, relation.key(args))


async def prefetch(ctx: Any, objects: Sequence[Any], selections: Sequence[Selection]) -> None:
    """Load every relation selected on `objects` (and below), one batch per relation."""
    by_type: dict[type, list[Any]] = {}
    for obj in objects:
        if obj is not None:
            by_type.setdefault(type(obj), []).append(obj)
    for cls, group in by_type.items():
        for relation, field in _merged(cls, selections):
            await _load_level(ctx, relation, field, group)


def _merged(cls: type, selections: Sequence[Selection]) -> list[tuple[Relation, SelectedField]]:
    """The selected relations of `cls`, one per load: GraphQL merges a field selected twice
    with the same arguments (e.g. once in a fragment) into one, so its sub-selections are
    united before loading (one may ask for `totalCount`, the other for `edges`)."""
    merged: dict[tuple, tuple[Relation, SelectedField]] = {}
    for field in fields_of(selections, cls.__name__):
        relation = REGISTRY.get((cls, field.name))
        if relation is None:
            continue
        key = (field.name, _cache_key(field.name, relation, field.arguments))
        if key in merged:
            field = merge_fields([merged[key][1], field])
        merged[key] = (relation, field)
    return list(merged.values())


def merge_fields(fields: Sequence[SelectedField]) -> SelectedField:
    """One field with the sub-selections of all `fields` (the same field, merged by GraphQL)."""
    if len(fields) == 1:
        return fields[0]
    return replace(fields[0], selections=[s for f in fields for s in f.selections])


async def _load_level(ctx: Any, relation: Relation, field: SelectedField, group: list[Any]) -> None:
    key = _cache_key(field.name, relation, field.arguments)
    todo = [obj for obj in group if key not in obj.loaded]
    if todo:
        try:
            values = await relation.load(ctx, todo, field.arguments, field)
        except DomainError as error:
            for obj in todo:
                obj.loaded[key] = Failed(error)
            return
        for obj, value in zip(todo, values):
            obj.loaded[key] = value
    children: list[Any] = []
    seen: set[int] = set()
    for obj in group:
        value = obj.loaded[key]
        if isinstance(value, Failed):
            continue
        for child in relation.nested(value):
            if id(child) not in seen:
                seen.add(id(child))
                children.append(child)
    if children:
        await prefetch(ctx, children, relation.inner(field))


def resolve(ctx: Any, obj: Any, name: str, info: Any, args: Mapping[str, Any]) -> Any:
    """The value of relation `name` on `obj`: already loaded, or an awaitable that loads it.

    `args` are the field's arguments under their GraphQL names."""
    relation = REGISTRY[(type(obj), name)]
    key = _cache_key(name, relation, args)
    if key in obj.loaded:
        return _pick(relation, obj.loaded[key])
    return _load_alone(ctx, relation, obj, key, info)


def _pick(relation: Relation, value: Any) -> Any:
    if isinstance(value, Failed):
        raise value.error
    if relation.pick is not None:
        return value[relation.pick]
    return value


async def _load_alone(ctx: Any, relation: Relation, obj: Any, key: tuple, info: Any) -> Any:
    field = merge_fields(info.selected_fields)
    [value] = await relation.load(ctx, [obj], field.arguments, field)
    obj.loaded[key] = value
    await prefetch(ctx, list(relation.nested(value)), relation.inner(field))
    return _pick(relation, value)


_MISSING = object()


def install_fast_paths(graphql_schema: Any) -> None:
    """Answer already-loaded relations without Strawberry's per-call machinery.

    Every relation field is a Strawberry resolver taking `info`, so each row's call builds a
    Strawberry `Info`, converts arguments and runs the field's extension wrapper (measured:
    11% of a 5,000-field nested read; PERFORMANCE.md on per-row resolver overhead).
    Here each such field gets a plain graphql-core resolver that returns the prefetched value
    straight from the object's `loaded` dict, and hands anything else (not loaded, a refused
    load) to Strawberry's resolver, which behaves exactly as before. Ids and cursors, which
    are encoded only when selected, get plain resolvers too."""
    for (cls, name) in REGISTRY:
        field = graphql_schema.type_map[cls.__strawberry_definition__.name].fields[name]
        field.resolve = _fast(name, field.resolve)
    for type_name in types.NODE_TYPES:
        graphql_schema.type_map[type_name].fields["id"].resolve = _global_id(type_name)
    for type_name in types.EDGE_TYPES:
        graphql_schema.type_map[type_name].fields["cursor"].resolve = _cursor


def _cursor(source: Any, info: Any) -> str:
    return encode_cursor(source.cursor_key)


# Reads nothing but the object: `execution.py` may call it without an `info`.
_cursor._lean = True  # type: ignore[attr-defined]


def _global_id(type_name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any) -> str:
        return to_global_id(type_name, source.pk)

    resolve._lean = True  # type: ignore[attr-defined]
    return resolve


def _ready(relation: Relation, source: Any, key: tuple) -> Any:
    """The field's value when its load is done and succeeded, else _MISSING."""
    value = source.loaded.get(key, _MISSING)
    if value is _MISSING or isinstance(value, Failed):
        return _MISSING
    return value if relation.pick is None else value[relation.pick]


def _fast(name: str, slow: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **args: Any) -> Any:
        relation = REGISTRY[(type(source), name)]
        value = _ready(relation, source, _cache_key(name, relation, args))
        return slow(source, info, **args) if value is _MISSING else value

    return resolve


def loaded_reader(cls: type, name: str, args: Mapping[str, Any], abort: Exception) -> Callable[[Any], Any]:
    """A function reading relation `name` (with `args`) from an object's loaded values, and
    raising `abort` when it is not loaded or its load was refused (for `execution.py`)."""
    relation = REGISTRY[(cls, name)]
    key = _cache_key(name, relation, args)

    def read(source: Any) -> Any:
        value = _ready(relation, source, key)
        if value is _MISSING:
            raise abort
        return value

    return read
