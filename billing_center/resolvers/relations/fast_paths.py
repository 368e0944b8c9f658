"""Plain graphql-core resolvers for relation fields whose value is loaded already, for ids
and for cursors (`install_fast_paths`), and the reader `execution.py` uses (`loaded_reader`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from billing_center.resolvers.relations.registry import REGISTRY, Failed, Relation, cache_key
from billing_center.schema import types
from billing_center.schema.ids import encode_cursor, to_global_id

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
        value = _ready(relation, source, cache_key(name, relation, args))
        return slow(source, info, **args) if value is _MISSING else value

    return resolve


def loaded_reader(cls: type, name: str, args: Mapping[str, Any], abort: Exception) -> Callable[[Any], Any]:
    """A function reading relation `name` (with `args`) from an object's loaded values, and
    raising `abort` when it is not loaded or its load was refused (for `execution.py`)."""
    relation = REGISTRY[(cls, name)]
    key = cache_key(name, relation, args)

    def read(source: Any) -> Any:
        value = _ready(relation, source, key)
        if value is _MISSING:
            raise abort
        return value

    return read
