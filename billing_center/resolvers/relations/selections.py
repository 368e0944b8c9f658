"""Walking a query's selection set: the fields selected (fragments flattened), those under a
connection's `edges.node`, and one field merged from its repeated selections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def fields_of(selections: Iterable[Selection], type_name: str | None = None) -> Iterable[SelectedField]:
    """The fields of a selection set, fragments flattened (those that apply to `type_name`)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            condition = selection.type_condition
            if type_name is None or condition in (None, type_name, "Node"):
                yield from fields_of(selection.selections, type_name)


def edge_node_selections(field: SelectedField) -> Sequence[Selection]:
    """The selections under a connection field's `edges { node { ... } }`."""
    selections: list[Selection] = []
    for edges in fields_of(field.selections):
        if edges.name == "edges":
            for node in fields_of(edges.selections):
                if node.name == "node":
                    selections.extend(node.selections)
    return selections


def merge_fields(fields: Sequence[SelectedField]) -> SelectedField:
    """One field with the sub-selections of all `fields` (the same field, merged by GraphQL)."""
    if len(fields) == 1:
        return fields[0]
    return replace(fields[0], selections=[s for f in fields for s in f.selections])
