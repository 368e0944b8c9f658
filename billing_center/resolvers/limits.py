"""What one GraphQL request may ask for (RELIABILITY.md A1–A7, A9), refused before any resolver runs.

- tokens ≤ 1,000: Strawberry's MaxTokensLimiter, while parsing;
- before graphql-core validates (`ShapeLimit`): at most 2,000 fields once every fragment spread
  is replaced by its fragment, at most 30 fields landing on one place in the answer (one path of
  response keys), depth ≤ 8 (fields on the longest path, the leaf included: `{ tenant { name } }`
  is 2; introspection counts as 1), aliases ≤ 15 (inside fragments, once per spread), at most 5
  root fields in a mutation (each a separate write, charged separately). `document_shape`
  measures each fragment once, so fragments spreading each other twice are refused in linear
  time rather than walked along their 2**n paths; graphql-core's own rules (linear, but
  quadratic in the fields landing on one place) only see documents within these limits. No rule
  class is added to validation: Strawberry's validation cache is keyed by the rule classes, and
  stays warm;
- page sizes and nodes (`NodeBudget`): `first`/`last` between 1 and 100 (20 when omitted), and
  at most NODE_BUDGET nodes (list items) in the whole answer (`node_count`). Page sizes may come
  from variables, so this one runs when the operation starts, not in (cached) validation.

HTTP batching is not enabled (Strawberry's default): a JSON array body is refused with 400.

The caller's rate limit (`RateLimit`, RELIABILITY.md A9) is charged in two steps: 1 point before
validation, so even a refused document costs its caller; the rest when the operation starts
(a mutation 5 points per root field, plus 1 point per 1,000 nodes it may return).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from billing_center.domain.errors import DomainError
from billing_center.resolvers.document_shape import ShapeMeter, operations
from billing_center.resolvers.node_count import count_nodes

MAX_DEPTH = 8
MAX_ALIASES = 15
MAX_TOKENS = 1_000
MAX_FIELDS = 2_000
MAX_REPEATS = 30
MAX_ROOT_MUTATIONS = 5
NODE_BUDGET = 30_000
QUERY_POINTS = 1
MUTATION_POINTS = 5
NODES_PER_POINT = 1_000
CODE = "QUERY_TOO_COMPLEX"


class ShapeLimit(SchemaExtension):
    """Fields (fragments inlined), repeated fields, depth, aliases and root mutations of every
    operation within their limits, checked before graphql-core validates the document: its
    OverlappingFieldsCanBeMerged compares every pair of fields landing on one place, which a
    document of 1,000 tokens could make cost half a second."""

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        refusal = None if document is None else _shape_refusal(document)
        if refusal is not None:
            operation, message = refusal
            raise GraphQLError(message, operation, extensions={"code": CODE})
        yield


# The parser cache hands the same document object to every request sending the same text, so
# its measure is kept by identity (graphql-core hashes a document by walking all of it). The
# entry holds the document, so its id cannot be reused while cached.
_MEASURED: OrderedDict[int, tuple[DocumentNode, tuple[OperationDefinitionNode, str] | None]] = OrderedDict()
_MEASURED_SIZE = 256


def _shape_refusal(document: DocumentNode) -> tuple[OperationDefinitionNode, str] | None:
    """The first operation of `document` over a limit, with why (None when all are within)."""
    cached = _MEASURED.get(id(document))
    if cached is not None and cached[0] is document:
        _MEASURED.move_to_end(id(document))
        return cached[1]
    meter, refusal = ShapeMeter(document), None
    for operation in operations(document):
        message = _over_limit(meter, operation)
        if message is not None:
            refusal = (operation, message)
            break
    _MEASURED[id(document)] = (document, refusal)
    if len(_MEASURED) > _MEASURED_SIZE:
        _MEASURED.popitem(last=False)
    return refusal


def _over_limit(meter: ShapeMeter, operation: OperationDefinitionNode) -> str | None:
    shape, repeats = meter.operation(operation)
    if shape.fields > MAX_FIELDS:
        return (f"This document has {shape.fields:,} fields once its fragments are inlined; at most "
                f"{MAX_FIELDS:,} are allowed.")
    if repeats > MAX_REPEATS:
        return (f"{repeats:,} fields of this document land on the same place in the answer (fragments inlined); "
                f"at most {MAX_REPEATS} may.")
    if shape.depth > MAX_DEPTH:
        return (f"This operation exceeds the maximum depth of {MAX_DEPTH}: it nests {shape.depth} fields "
                f"(the leaf included).")
    if shape.aliases > MAX_ALIASES:
        return (f"This operation has {shape.aliases} aliases (fragments counted at each spread); at most "
                f"{MAX_ALIASES} are allowed.")
    if operation.operation == OperationType.MUTATION and shape.root_fields > MAX_ROOT_MUTATIONS:
        return f"A document may run at most {MAX_ROOT_MUTATIONS} mutations; this one has {shape.root_fields}."
    return None


def flattened_fields(selection_set: SelectionSetNode | None, fragment: Any,
                     seen: set[str] | None = None) -> Iterator[FieldNode]:
    """The fields of a selection set, fragments flattened (each fragment once, so the walk is
    linear however often a fragment is spread)."""
    seen = set() if seen is None else seen
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from flattened_fields(selection.selection_set, fragment, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            definition = fragment(selection.name.value)
            if definition is not None:
                yield from flattened_fields(definition.selection_set, fragment, seen)


def _operation(context: Any) -> OperationDefinitionNode | None:
    document = context.graphql_document
    return None if document is None else get_operation_ast(document, context.operation_name)


class NodeBudget(SchemaExtension):
    """Page sizes within 1..MAX_PAGE_SIZE and at most NODE_BUDGET nodes in the answer, checked
    with the request's variables before execution starts; the count is left for `RateLimit`."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        operation = _operation(context)
        if operation is not None:
            nodes = count_nodes(context.schema._schema, context.graphql_document, operation, context.variables or {})
            if nodes > NODE_BUDGET:
                raise GraphQLError(
                    f"This query could return up to {nodes:,} nodes (list items: page sizes and list bounds "
                    f"multiplied along each path, added up over fields and aliases); at most {NODE_BUDGET:,} "
                    f"are allowed. Ask for smaller pages or fewer lists.",
                    operation, extensions={"code": CODE},
                )
            # Left on the request's execution context for RateLimit, which charges for it next.
            context.node_count = nodes  # type: ignore[attr-defined]
        yield


class RateLimit(SchemaExtension):
    """Charge the operation to its caller's points (`domain.throttle.PointsBucket`): 1 point
    before validation, the rest of its cost (`points`) when it starts. Over the budget:
    THROTTLED with `retryAfter`, and nothing runs."""

    def on_validate(self) -> Iterator[None]:
        self._take(QUERY_POINTS)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        operation = _operation(context)
        if operation is not None:
            self._take(points(operation, context.graphql_document, getattr(context, "node_count", 0)) - QUERY_POINTS)
        yield

    def _take(self, count: int) -> None:
        context = self.execution_context
        bucket = getattr(context.context, "points", None)
        if bucket is None or count <= 0:
            return
        try:
            bucket.take(context.context.caller, count, context.context.wall_now())
        except DomainError as error:
            # Raised before execution, it skips the error presenter: the extensions go here.
            raise GraphQLError(error.message, original_error=error, extensions={
                "code": error.code.value, "retryAfter": error.retry_after}) from None


def points(operation: OperationDefinitionNode, document: DocumentNode, nodes: int) -> int:
    """What an operation costs: a query 1 point, a mutation 5 per root field, and 1 more per
    NODES_PER_POINT nodes it may return."""
    if operation.operation == OperationType.MUTATION:
        base = MUTATION_POINTS * max(1, ShapeMeter(document).operation(operation)[0].root_fields)
    else:
        base = QUERY_POINTS
    return base + nodes // NODES_PER_POINT


def extensions() -> list[Any]:
    """The schema extensions (as factories) that enforce these limits. In this order: `RateLimit`
    takes its first point before `ShapeLimit` refuses anything; both run before the validation
    cache (later in the schema's list) validates; `NodeBudget` counts nodes before `RateLimit`
    charges for them."""
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        NodeBudget,
        RateLimit,
        ShapeLimit,
    ]
