"""How many nodes an operation may return (RELIABILITY.md A5), counted before it runs.

A node is one item of a list in the answer: an edge of a connection page, or an element of a
plain list of objects (`User.licenseAssignments`, `nodes(ids:)`, `Invoice.lines`, …). The count
is the whole document's: sibling fields and aliases add up, lists nested in lists multiply.
A connection page holds `first`/`last` items (20 when omitted); a plain list holds at most its
bound in LIST_BOUNDS. Each fragment is counted once per page size around it and reused at every
spread, so counting takes time linear in the document's size.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
    is_list_type,
)

from billing_center.domain.available_actions import Action
from billing_center.domain.billing.engine import MAX_FAILED_TENANTS
from billing_center.domain.billing.transitions import TransitionKind
from billing_center.domain.errors import DomainError
from billing_center.domain.licenses import MAX_USERS_PER_CALL
from billing_center.domain.tokens import MAX_LIVE_TOKENS
from billing_center.domain.webhooks import MAX_ENDPOINTS, MAX_EVENT_TYPES
from billing_center.resolvers.document_shape import INTROSPECTION, fragments_of
from billing_center.resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size

MAX_IDS = 100  # `nodes(ids:)`: `queries.resolve_nodes` refuses more

# The most items each plain list of objects may hold. Real bounds come from a rule that caps
# the list; estimates (marked) are what a large tenant has, since nothing caps the list: the
# count is then a fair price rather than a guarantee. A test checks every list of objects in
# the schema is here, so a new one gets a bound when it is added.
LIST_BOUNDS: dict[tuple[str, str], int] = {
    # real bounds
    ("AssignLicensesPayload", "assignments"): MAX_USERS_PER_CALL,
    ("AssignLicensesPayload", "results"): MAX_USERS_PER_CALL,
    ("AssignLicensesPayload", "subscriptions"): MAX_USERS_PER_CALL,
    ("UnassignLicensesPayload", "results"): MAX_USERS_PER_CALL,
    ("UnassignLicensesPayload", "subscriptions"): MAX_USERS_PER_CALL,
    ("Subscription", "availableActions"): len(Action),
    ("RunBillingPayload", "counts"): len(TransitionKind),
    ("RunBillingPayload", "failures"): MAX_FAILED_TENANTS,  # more stop the run
    ("User", "apiTokens"): MAX_LIVE_TOKENS,  # only live tokens are listed
    ("Query", "webhookEndpoints"): MAX_ENDPOINTS,
    ("WebhookEndpoint", "eventTypes"): MAX_EVENT_TYPES,
    # estimates
    ("Query", "products"): 50,  # the catalogue: 9 SKUs by default
    ("Query", "licenseSummary"): 50,  # one per product
    ("Query", "billingAccounts"): 10,
    ("BillingAccount", "billingProfiles"): 10,
    ("User", "licenseAssignments"): 50,  # one per subscription the user holds a licence of
    ("Invoice", "lines"): 100,
    ("Invoice", "paymentAttempts"): 10,  # a charge, three retries (SPEC §7), refunds
    ("Subscription", "domains"): 10,
    ("Subscription", "timeline"): 10,  # the next lifecycle steps: a handful
    ("Tenant", "domains"): 50,
    # 200 per call (`runs.MAX_TRANSITIONS_PER_ADVANCE`) plus the rest of the day it ends in
    ("AdvanceClockPayload", "transitions"): 1_000,
    ("CancellationPreview", "blockers"): 10,
}
ERROR_LIST_BOUND = 10  # every `userErrors` list: one error per field at fault, a few at most


def list_bound(parent: str, field: str) -> int | None:
    """The bound of a plain list of objects (None when it has none yet)."""
    if field == "userErrors":
        return ERROR_LIST_BOUND
    return LIST_BOUNDS.get((parent, field))


# The count of an operation without variables depends on its document alone, and the parser
# cache hands every request sending the same text the same document: such counts are kept by
# the operation node's identity (the entry holds the node, so its id cannot be reused).
_COUNTED: OrderedDict[int, tuple[OperationDefinitionNode, DocumentNode, GraphQLSchema, int]] = OrderedDict()
_COUNTED_SIZE = 256


def count_nodes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                variables: dict[str, Any]) -> int:
    """The most nodes `operation` may return. Raises a GraphQLError (INVALID_INPUT) when a page
    size is out of range."""
    if operation.variable_definitions:
        return _count(schema, document, operation, variables)
    cached = _COUNTED.get(id(operation))
    if cached is not None and cached[0] is operation and cached[1] is document and cached[2] is schema:
        _COUNTED.move_to_end(id(operation))
        return cached[3]
    nodes = _count(schema, document, operation, variables)
    _COUNTED[id(operation)] = (operation, document, schema, nodes)
    if len(_COUNTED) > _COUNTED_SIZE:
        _COUNTED.popitem(last=False)
    return nodes


def _count(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
           variables: dict[str, Any]) -> int:
    root = schema.get_root_type(operation.operation)
    return NodeCounter(schema, document, variables).selection_set(root, operation.selection_set, None, ())


class NodeCounter:
    """Counts the nodes of selection sets of one document, each fragment once per page size."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> None:
        self._schema = schema
        self._fragments = fragments_of(document)
        self._variables = variables
        self._counted: dict[tuple[str, int | None], int] = {}
        self._counting: set[tuple[str, int | None]] = set()

    def selection_set(self, parent: Any, selection_set: SelectionSetNode | None, page: int | None,
                      path: tuple[str, ...]) -> int:
        """Nodes under one occurrence of `parent`; `page` is the page size when `parent` is a
        connection (its `edges` hold that many)."""
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, page, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(target, selection.selection_set, page, path)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, page, path)
        return total

    def _field(self, parent: Any, field: FieldNode, page: int | None, path: tuple[str, ...]) -> int:
        name = field.name.value
        field_def = getattr(parent, "fields", {}).get(name)
        if field_def is None or name in INTROSPECTION:
            return 0  # __typename; introspection (off in production); or refused by validation
        here = (*path, (field.alias or field.name).value)
        child = get_named_type(field_def.type)
        if "first" in field_def.args:  # a connection: one object, whose `edges` hold the page
            return self.selection_set(child, field.selection_set, self._page_size(field, here), here)
        if name == "edges" and page is not None:
            items = page
        elif is_list_type(_nullable(field_def.type)) and is_composite_type(child):
            items = self._list_bound(parent.name, field)
        else:
            return self.selection_set(child, field.selection_set, None, here)
        return items + items * self.selection_set(child, field.selection_set, None, here)

    def _fragment(self, name: str, page: int | None, path: tuple[str, ...]) -> int:
        key = (name, page)
        if key in self._counted:
            return self._counted[key]
        definition = self._fragments.get(name)
        if definition is None or key in self._counting:
            return 0  # refused by validation (unknown fragment, or a cycle)
        self._counting.add(key)
        target = self._schema.get_type(definition.type_condition.name.value)
        count = self.selection_set(target, definition.selection_set, page, path)
        self._counting.discard(key)
        self._counted[key] = count
        return count

    def _list_bound(self, parent: str, field: FieldNode) -> int:
        if parent == "Query" and field.name.value == "nodes":
            ids = next((a.value for a in field.arguments or () if a.name.value == "ids"), None)
            if isinstance(ids, VariableNode):
                ids = self._variables.get(ids.name.value)
                return len(ids) if isinstance(ids, list) else 1
            return len(ids.values) if isinstance(ids, ListValueNode) else 1
        bound = list_bound(parent, field.name.value)
        return MAX_PAGE_SIZE if bound is None else bound

    def _page_size(self, field: FieldNode, path: tuple[str, ...]) -> int:
        """The page size a connection field asks for."""
        arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
        for name in ("first", "last"):
            value = arguments.get(name)
            if isinstance(value, VariableNode):
                value = self._variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            if value is None:
                continue
            try:
                return page_size(value, name)
            except DomainError as error:
                raise GraphQLError(error.message, field, path=path, extensions={
                    "code": error.code.value, "field": list(error.field or ())}) from None
        return DEFAULT_PAGE_SIZE


def _nullable(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_
