"""The kinds of relation: to-one by id, small to-many lists, the first of a group, nested
connections (pages per parent), and values computed per parent (balances, lifecycle views).

Each kind takes the loader it goes through as `Loaders.<name>` (typed, checked at import)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from strawberry.types.nodes import SelectedField, Selection

from billing_center.domain import available_actions, lifecycle, models
from billing_center.domain.money import Money
from billing_center.domain.reads import statements
from billing_center.resolvers.loaders import MAX_BATCH, Loaders, Made
from billing_center.resolvers.pagination import connection, page_key, page_request
from billing_center.resolvers.relations.registry import Relation, joins_selected, with_joined
from billing_center.resolvers.relations.selections import edge_node_selections, fields_of
from billing_center.schema import enums, types


def _one(value: Any) -> Iterable[Any]:
    return () if value is None else (value,)


def _many(value: Any) -> Iterable[Any]:
    return value


def _edges(value: Any) -> Iterable[Any]:
    return [edge.node for edge in value.edges]


def _own(field: SelectedField) -> Sequence[Selection]:
    return field.selections


def _no_args(_: Mapping[str, Any]) -> Hashable:
    return ()


def to_one(loader: Made, attribute: str, join: statements.Join | None = None) -> Relation:
    """A to-one relation through a by-id loader, keyed by the parent's `attribute`; with
    `join`, a page of parents reads it in its own statement when it is selected."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        keys = [getattr(parent, attribute) for parent in parents]
        wanted = list(dict.fromkeys(key for key in keys if key is not None))
        # The batch function itself, not `load_many`: a DataLoader makes a future per key,
        # which for a level of 500 rows cost more than the statement.
        batch_fn = loader.of(ctx.loaders).load_fn
        found: list[Any] = []
        for start in range(0, len(wanted), MAX_BATCH):
            found += await batch_fn(wanted[start:start + MAX_BATCH])
        by_key = dict(zip(wanted, found))
        return [by_key.get(key) for key in keys]

    return Relation(load=load, nested=_one, inner=_own, key=_no_args, join=join, attribute=attribute)


def to_many(loader: Made, attribute: str = "pk") -> Relation:
    """A small to-many relation (a plain list) through a grouped loader."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        return list(await loader.of(ctx.loaders).load_many([getattr(p, attribute) for p in parents]))

    return Relation(load=load, nested=_many, inner=_own, key=_no_args)


def to_first(loader: Made) -> Relation:
    """The first object of a grouped loader (a reverse to-one such as `reactivatedAs`)."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        groups = await loader.of(ctx.loaders).load_many([p.pk for p in parents])
        return [group[0] if group else None for group in groups]

    return Relation(load=load, nested=_one, inner=_own, key=_no_args)


def balance(name: str) -> Relation:
    """One of a billing account's balances; the three share one batched aggregate."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        found = await Loaders.balances_by_account_id.of(ctx.loaders).load_many([p.pk for p in parents])
        return [
            {key: types.Money.of(Money(amount, parent.currency)) for key, amount in balances.items()}
            for parent, balances in zip(parents, found)
        ]

    return Relation(load=load, nested=_none, inner=_own, key=_no_args, shared_name="balances", pick=name)


def lifecycle_view(name: str) -> Relation:
    """`availableActions` or `timeline`: computed by domain.available_actions and domain.lifecycle from one batch of facts."""

    async def load(ctx: Any, parents: Sequence[Any], _args: Mapping[str, Any], _f: SelectedField) -> list[Any]:
        found = await Loaders.subscription_facts_by_id.of(ctx.loaders).load_many([p.pk for p in parents])
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
