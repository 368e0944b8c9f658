"""What one GraphQL request may ask for (RELIABILITY.md A1–A7), refused before any resolver runs.

- depth ≤ 8, aliases ≤ 15, tokens ≤ 1,000: Strawberry's limiters. Extensions are passed as
  factories (an extension instance shared by concurrent requests was CVE-prone, RELIABILITY.md
  B9); the limiters' stateless rule classes are built once so validation stays cached;
- at most 5 root fields in a mutation document: each is a separate write (and a separate
  charge to the rate limit), so a document cannot hide a burst of them;
- page sizes: `first`/`last` between 1 and 100 (20 when omitted), and the product of the page
  sizes along any path of nested connections at most 10,000 nodes. Page sizes may come from
  variables, so this one runs when the operation starts, not in (cached) validation.

HTTP batching is not enabled (Strawberry's default): a JSON array body is refused with 400.
Then, once the operation is known to be valid, it is charged to its caller's rate limit
(`RateLimit`, RELIABILITY.md A9).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    GraphQLSchema,
    IntValueNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from billing_center.domain.errors import DomainError
from billing_center.resolvers.pagination import DEFAULT_PAGE_SIZE, page_size

MAX_DEPTH = 8
MAX_ALIASES = 15
MAX_TOKENS = 1_000
MAX_ROOT_MUTATIONS = 5
NODE_BUDGET = 10_000
QUERY_POINTS = 1
MUTATION_POINTS = 5
CODE = "QUERY_TOO_COMPLEX"


class RootMutationLimit(ValidationRule):
    """At most MAX_ROOT_MUTATIONS root fields in a mutation operation (fragments included)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation != OperationType.MUTATION:
            return
        count = sum(1 for _ in flattened_fields(node.selection_set, self.context.get_fragment))
        if count > MAX_ROOT_MUTATIONS:
            self.report_error(GraphQLError(
                f"A document may run at most {MAX_ROOT_MUTATIONS} mutations; this one has {count}.",
                node, extensions={"code": CODE},
            ))


def flattened_fields(selection_set: SelectionSetNode | None, fragment: Any,
                     seen: frozenset[str] = frozenset()) -> Iterator[FieldNode]:
    """The fields of a selection set, fragments flattened (each fragment once per path)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from flattened_fields(selection.selection_set, fragment, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            definition: FragmentDefinitionNode | None = fragment(name)
            if definition is not None and name not in seen:
                yield from flattened_fields(definition.selection_set, fragment, seen | {name})


class NodeBudget(SchemaExtension):
    """Page sizes within 1..MAX_PAGE_SIZE and at most NODE_BUDGET nodes along any path of
    nested connections, checked with the request's variables before execution starts."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            check_node_budget(context.schema._schema, context.graphql_document, context.variables or {},
                              context.operation_name)
        yield


def check_node_budget(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any],
                      operation_name: str | None) -> None:
    """Raise a GraphQLError when a page size is out of range or the pages multiplied along a
    path of nested connections exceed NODE_BUDGET (three connections nest within depth 8)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and _selected(definition, operation_name):
            root = schema.get_root_type(definition.operation)
            if root is not None:
                _check(schema, root, definition.selection_set, 1, fragments, variables, frozenset(), ())


def _selected(operation: OperationDefinitionNode, name: str | None) -> bool:
    return name is None or (operation.name is not None and operation.name.value == name)


def _check(schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None, nodes: int,
           fragments: dict, variables: dict, seen: frozenset[str], path: tuple[str, ...]) -> None:
    # `path` names the response keys down to a field (without list indexes: nothing has run).
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            field_def = getattr(parent, "fields", {}).get(selection.name.value)
            if field_def is None:
                continue  # __typename, or a field validation has already refused
            here = (*path, (selection.alias or selection.name).value)
            below = nodes * _page_size(selection, field_def, variables, here)
            if below > NODE_BUDGET:
                raise GraphQLError(
                    f"This query could return up to {below:,} nodes at `{selection.name.value}` (page sizes "
                    f"multiplied along the path); at most {NODE_BUDGET:,} are allowed. Ask for smaller pages.",
                    selection, path=here, extensions={"code": CODE},
                )
            _check(schema, get_named_type(field_def.type), selection.selection_set, below, fragments, variables,
                   seen, here)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            _check(schema, target, selection.selection_set, nodes, fragments, variables, seen, path)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            definition = fragments.get(name)
            if definition is not None and name not in seen:
                target = schema.get_type(definition.type_condition.name.value)
                _check(schema, target, definition.selection_set, nodes, fragments, variables, seen | {name}, path)


def _page_size(field: FieldNode, field_def: Any, variables: dict, path: tuple[str, ...]) -> int:
    """The page size a connection field asks for (1 for fields that are not paged)."""
    if "first" not in field_def.args:
        return 1
    arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
    for name in ("first", "last"):
        value = arguments.get(name)
        if isinstance(value, VariableNode):
            value = variables.get(value.name.value)
        elif isinstance(value, IntValueNode):
            value = int(value.value)
        if value is None:
            continue
        try:
            return page_size(value, name)
        except DomainError as error:
            raise GraphQLError(error.message, field, path=path,
                               extensions={"code": error.code.value, "field": list(error.field or ())}) from None
    return DEFAULT_PAGE_SIZE


class RateLimit(SchemaExtension):
    """Charge the operation to its caller's points (`domain.throttle.PointsBucket`) before it
    runs: a query costs 1, a mutation 5 per root field. Over the budget: THROTTLED with
    `retryAfter`, and nothing runs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        bucket = getattr(context.context, "points", None)
        document = context.graphql_document
        if bucket is not None and document is not None:
            try:
                bucket.take(context.context.caller, _cost(document, context.operation_name), context.context.wall_now())
            except DomainError as error:
                # Raised before execution, it skips the error presenter: the extensions go here.
                raise GraphQLError(error.message, original_error=error, extensions={
                    "code": error.code.value, "retryAfter": error.retry_after}) from None
        yield


def _cost(document: DocumentNode, operation_name: str | None) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and _selected(definition, operation_name):
            if definition.operation == OperationType.MUTATION:
                return MUTATION_POINTS * max(1, sum(1 for _ in flattened_fields(definition.selection_set, fragments.get)))
            return QUERY_POINTS
    return QUERY_POINTS


# Built once: Strawberry's validation cache is keyed by the rule classes, and these limiters
# make a new class per instance, so per-request factories would miss the cache on every request
# (measured: validation became half of a small read's CPU). Rule classes hold no state of a
# request (graphql-core instantiates them per validation), so sharing them is safe.
_VALIDATION_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    RootMutationLimit,
)


def extensions() -> list[Any]:
    """The schema extensions (as factories) that enforce these limits."""
    return [
        lambda: AddValidationRules(list(_VALIDATION_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        NodeBudget,
        RateLimit,
    ]
