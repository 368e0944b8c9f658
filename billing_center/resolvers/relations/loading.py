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

from collections.abc import Mapping, Sequence
from typing import Any

from strawberry.types.nodes import SelectedField, Selection

from billing_center.domain.errors import DomainError
from billing_center.resolvers.relations.registry import REGISTRY, Failed, Relation, cache_key
from billing_center.resolvers.relations.selections import fields_of, merge_fields


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
        key = (field.name, cache_key(field.name, relation, field.arguments))
        if key in merged:
            field = merge_fields([merged[key][1], field])
        merged[key] = (relation, field)
    return list(merged.values())


async def _load_level(ctx: Any, relation: Relation, field: SelectedField, group: list[Any]) -> None:
    key = cache_key(field.name, relation, field.arguments)
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
    key = cache_key(name, relation, args)
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
