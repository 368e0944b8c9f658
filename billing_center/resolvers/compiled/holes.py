"""The fields a compiled answer leaves to the regular path, filled in the same response.

The compiler answers in SQL what its catalogue knows; a field it does not (a computed one such
as `availableActions` or `timeline`, a relation whose visibility lives in Python, a root list
such as `invoices`) is a hole. In an object, a hole is written as a null under its own key, so
the answer's keys keep the selection's order, and the object carries a marker, `"#": [hole
number, row id]` — `#` is never a GraphQL name, so no response key can be it. A root field the
compiler does not know is left out of the statement altogether.

`fill` then finds the markers in the parsed answer (tracking each one's response path), loads
each hole's objects through the type's by-id loader — the same batch, the same visibility, as
`node(id:)` — prefetches the relations selected below them at once (`relations.prefetch`, as
any list level does), and has graphql-core execute the hole's fields on them at their paths. So
a hole's fields run the very resolvers the regular path runs, one batch per relation for all the
objects of a hole, and report errors at the same paths.

Anything that would make the answer differ from the regular path's is refused with `Refused`
and the whole operation takes the regular path: an object the loader does not return (gone
between the two reads, or not visible after all), or any field error (a non-null error would
null an ancestor the compiled text already holds).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType
from graphql.pyutils import Path
from strawberry.types.nodes import convert_selections

from billing_center.resolvers import relations

MARKER = "#"


class Refused(Exception):
    """The hybrid answer could differ from the regular path's: answer regularly."""


@dataclass(frozen=True)
class Hole:
    """Fields of one object selection left to the regular path: `grouped` maps their response
    keys to their field details, as graphql-core's field collection gives them."""

    type_name: str
    grouped: dict


def markers(value: Any, path: Path) -> Iterator[tuple[dict, int, int, Path]]:
    """Every marked object in a parsed answer: (the object, hole number, row id, its path).
    The marker is taken out of the object."""
    if isinstance(value, dict):
        marker = value.pop(MARKER, None)
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                yield from markers(item, Path(path, key, None))
        if marker is not None:
            yield value, marker[0], marker[1], path
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                yield from markers(item, Path(path, index, None))


async def fill(executor: Any, holes: tuple[Hole, ...], found: list[tuple[dict, int, int, Path]]) -> None:
    """Execute each hole's fields on its objects and write them into the marked objects."""
    by_hole: dict[int, list[tuple[dict, int, Path]]] = {}
    for target, number, pk, path in found:
        by_hole.setdefault(number, []).append((target, pk, path))
    context = executor.context_value
    for number, places in by_hole.items():
        hole = holes[number]
        object_type: GraphQLObjectType = executor.schema.get_type(hole.type_name)
        loader = context.loaders.by_type(hole.type_name)
        if loader is None:
            raise Refused
        # Loads queued together run as one batch (DataLoader).
        pending = [loader.load(pk) for _, pk, _ in places]
        objects = [await item for item in pending]
        if any(obj is None for obj in objects):
            raise Refused
        await relations.prefetch(context, objects, _selections(executor, object_type, hole.grouped, places[0][2]))
        for (target, _, path), obj in zip(places, objects):
            result = executor.execute_fields(object_type, obj, path, hole.grouped, None)
            if executor.is_awaitable(result):
                result = await result
            target.update(result)


def _selections(executor: Any, object_type: GraphQLObjectType, grouped: dict, path: Path) -> list:
    """The hole's fields as Strawberry selections, what `relations.prefetch` walks."""
    nodes = [details.node for field_details in grouped.values() for details in field_details]
    first = nodes[0]
    info = executor.build_resolve_info(object_type.fields[first.name.value], nodes, object_type, path)
    return convert_selections(info, nodes)
