"""What a relation is, and the registry of every relation field by (type, GraphQL name).

The registry is filled by `declared` from the declarations there, each keyed by the type's
field function itself; the loading and the fast paths read it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.types.nodes import SelectedField, Selection

from billing_center.domain.reads import statements
from billing_center.resolvers.relations.selections import fields_of

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
    # The parent's attribute holding the key of a to-one relation (checked by `declared`).
    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """A relation whose load was refused (e.g. page size 101): its field raises the error."""

    error: Exception


REGISTRY: dict[tuple[type, str], Relation] = {}


def cache_key(name: str, relation: Relation, args: Mapping[str, Any]) -> tuple:
    """Where an object keeps the value of relation `name` loaded with `args`."""
    return (relation.shared_name or name, relation.key(args))


def joins_selected(cls: type, selections: Sequence[Selection]) -> list[tuple[tuple, statements.Join]]:
    """The joinable to-one relations selected on `cls`: their loaded-value keys and joins."""
    found: dict[tuple, statements.Join] = {}
    for field in fields_of(selections, cls.__name__):
        relation = REGISTRY.get((cls, field.name))
        if relation is not None and relation.join is not None:
            found[cache_key(field.name, relation, field.arguments)] = relation.join
    return list(found.items())


def with_joined(obj: Any, row: Mapping[str, Any], joins: Sequence[tuple[tuple, statements.Join]]) -> Any:
    """`obj` with the relations read in its row (see `joins_selected`) stored as loaded."""
    for index, (key, _) in enumerate(joins):
        obj.loaded[key] = row[statements.joined(index)]
    return obj



def with_joined(obj: Any, row: Mapping[str, Any], joins: Sequence[tuple[tuple, statements.Join]]) -> Any:
    """`obj` with the relations read in its row (see `joins_selected`) stored as loaded."""
    for index, (key, _) in enumerate(joins):
        obj.loaded[key] = row[statements.joined(index)]
    return obj
