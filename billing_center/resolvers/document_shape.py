"""The shape of a GraphQL operation: its depth, aliases, fields, root fields and the most fields
landing on one place in the answer, measured in time linear in the document's size (RELIABILITY.md
A1, A2, A4, A7).

Fragments can spread one another: `F0` spreading `F1` twice, `F1` spreading `F2` twice, …
gives 2**30 paths in 30 short lines. A walk that follows every spread (Strawberry's depth and
alias limiters did) takes exponential time, so each fragment is measured once here and its
measure reused at every spread; the counts it adds up are those of the document with every
spread replaced by its fragment (Python integers do not overflow).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# Introspection's own nesting (`ofType { ofType { … } }` in GraphiQL's query) is not the API's:
# its subtrees count as one level of depth (Strawberry's depth limiter ignored them), but their
# fields and aliases count. graphql-core's MaxIntrospectionDepthRule bounds its lists nested in
# one another, and the production profile refuses introspection (`profile.IntrospectionGuard`).
INTROSPECTION = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Shape:
    """What a selection set holds once its fragments are inlined."""

    depth: int = 0  # fields on its longest path, the leaf included: `{ tenant { name } }` is 2
    aliases: int = 0  # aliased fields
    fields: int = 0  # field selections
    root_fields: int = 0  # fields directly in it (through fragments too): root mutations

    def __add__(self, other: Shape) -> Shape:
        return Shape(max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields,
                     self.root_fields + other.root_fields)


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    """The operations of a document."""
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The fragment definitions of a document by name (the first of a name: graphql-core's
    UniqueFragmentNames refuses a document defining one twice)."""
    found: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            found.setdefault(definition.name.value, definition)
    return found


Paths = Counter[tuple[str, ...]]  # fields by response path (response keys from the selection set down)


class ShapeMeter:
    """Measures operations of one document, each fragment once (a cycle counts as nothing:
    graphql-core's NoFragmentCycles refuses it)."""

    def __init__(self, document: DocumentNode) -> None:
        self._fragments = fragments_of(document)
        self._measured: dict[str, tuple[Shape, Paths]] = {}
        self._measuring: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> tuple[Shape, int]:
        """The shape of one operation, and the most fields landing on one response path
        (graphql-core's OverlappingFieldsCanBeMerged compares every pair of them)."""
        shape, paths = self._selection_set(operation.selection_set)
        return shape, max(paths.values(), default=0)

    def _selection_set(self, selection_set: SelectionSetNode | None) -> tuple[Shape, Paths]:
        shape, paths = Shape(), Paths()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below, below_paths = self._selection_set(selection.selection_set)
                depth = 1 if selection.name.value in INTROSPECTION else 1 + below.depth
                shape += Shape(depth, below.aliases + (selection.alias is not None), 1 + below.fields, 1)
                key = (selection.alias or selection.name).value
                paths[(key,)] += 1
                for path, count in below_paths.items():
                    paths[(key, *path)] += count
            else:
                inner, inner_paths = (self._selection_set(selection.selection_set)
                                      if isinstance(selection, InlineFragmentNode)
                                      else self._fragment(selection.name.value))
                shape += inner
                paths.update(inner_paths)
        return shape, paths

    def _fragment(self, name: str) -> tuple[Shape, Paths]:
        """A named fragment's measure, taken on its first spread."""
        if name in self._measured:
            return self._measured[name]
        definition = self._fragments.get(name)
        if definition is None or name in self._measuring:
            return Shape(), Paths()
        self._measuring.add(name)
        measured = self._selection_set(definition.selection_set)
        self._measuring.discard(name)
        self._measured[name] = measured
        return measured
