"""A direct completion path for objects whose whole selection is already in memory.

After prefetching (`resolvers.relations`), most of a large answer is plain data: attributes of
API objects and relations already loaded. graphql-core still completes it field by field
(resolve info, arguments, awaitable checks, dispatch on the type), which is most of the CPU of
a big nested read. Here an object whose selected fields are all such data is completed with a
plan made once per selection: read, coerce, recurse. Anything the plan does not cover (a field
with a real resolver, an abstract type, deferred fragments, a relation not loaded, a null in a
non-null field, an exception) makes that object go through graphql-core's own path, which then
behaves, and reports errors, exactly as always. The plan only ever answers the same data.

Before any of that, a query the compiler handles (`resolvers.compiled`) is answered by one SQL
statement, with the fields it leaves out executed here as usual and put in their places; any
other operation, or a request the compiler declines, runs as above.
"""

from __future__ import annotations

import logging
import operator
from typing import Any, Callable

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationType,
    is_leaf_type,
)
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import get_argument_values
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from billing_center.resolvers import compiled, relations

log = logging.getLogger("billing_center.execution")


class _Abort(Exception):
    """The plan cannot answer this object: graphql-core's path takes it."""


_ABORT = _Abort()
# Step kinds.
_LEAF, _TYPENAME, _OBJECT, _LEAF_LIST, _OBJECT_LIST = range(5)


def _probe(source: Any, info: Any) -> None:
    return None


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the direct path for in-memory objects."""

    # Tests turn these off to compare the paths on the same requests.
    enabled = True
    compiled = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware would wrap every resolver: then everything takes the standard path.
        manager = self.middleware_manager
        self._lean = self.enabled and (manager is None or manager.get_field_resolver(_probe) is _probe)
        self._plans: dict[tuple[str, int], Any] = {}
        # Keyed by the identity of field details that the plans themselves keep alive.
        self._item_plans: dict[tuple[str, int], Any] = {}

    def execute_collected_root_fields(self, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any,
                                      serially: bool, new_defer_usages: Any) -> Any:
        # A query the compiler handles is answered by one statement (`resolvers.compiled`);
        # execution has started, so every check of the request has passed.
        if self._lean and self.compiled and not serially and not new_defer_usages \
                and self.operation.operation == OperationType.QUERY:
            return self._compiled_or_regular(root_type, root_value, grouped_field_set, new_defer_usages)
        return super().execute_collected_root_fields(root_type, root_value, grouped_field_set, serially,
                                                     new_defer_usages)

    async def _compiled_or_regular(self, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any,
                                   new_defer_usages: Any) -> Any:
        # Fields the compiler leaves to the regular path run first on their own error list: an
        # error there sends the whole operation the regular way, so errors are reported once,
        # in the regular path's order, with its nulls.
        regular_errors, self.collected_errors = self.collected_errors, CollectedErrors()
        try:
            data = await compiled.answer(self, root_type, grouped_field_set)
        except Exception:  # noqa: BLE001 - a compiler bug must not cost the answer: the regular path gives it
            log.exception("compiled query failed; answered by the regular path")
            data = None
        if self.collected_errors.errors:
            data = None
        self.collected_errors = regular_errors
        if data is not None:
            return data
        result = super().execute_collected_root_fields(root_type, root_value, grouped_field_set, False,
                                                       new_defer_usages)
        return await result if self.is_awaitable(result) else result

    def collect_and_execute_subfields(self, return_type: GraphQLObjectType, field_details_list: Any, path: Any,
                                      result: Any, position_context: Any) -> Any:
        if self._lean:
            plan = self._plan(return_type, field_details_list)
            if plan is not None:
                try:
                    return self._run(plan, result)
                except Exception:  # noqa: BLE001 - _Abort or a surprise: the standard path below takes it
                    pass
        return super().collect_and_execute_subfields(return_type, field_details_list, path, result,
                                                     position_context)

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        key = (object_type.name, id(grouped))
        if key not in self._plans:
            self._plans[key] = None if defer_usages else self._make_plan(object_type, grouped)
        return self._plans[key]

    def _make_plan(self, object_type: GraphQLObjectType, grouped: Any) -> Any:
        definition = object_type.extensions.get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if origin is None:
            return None
        steps: list[tuple] = []
        for response_key, details in grouped.items():
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                steps.append((response_key, _TYPENAME, object_type.name))
                continue
            field_def = object_type.fields.get(name)
            if field_def is None:
                return None
            read = self._reader(origin, name, field_def, details)
            if read is None:
                return None
            step = self._step(response_key, field_def.type, read, details)
            if step is None:
                return None
            steps.append(step)
        return (origin, tuple(steps))

    def _reader(self, origin: type, name: str, field_def: Any, details: Any) -> Callable[[Any], Any] | None:
        resolve = field_def.resolve
        node = details[0].node
        if (origin, name) in relations.REGISTRY:
            args = get_argument_values(field_def, node, self.variable_values,
                                       details[0].fragment_variable_values, self.hide_suggestions)
            return relations.loaded_reader(origin, name, args, _ABORT)
        if field_def.args or node.arguments:
            return None
        if getattr(resolve, "_lean", False):  # our own resolvers that ignore `info` (ids, cursors)
            return lambda source: resolve(source, None)
        definition = field_def.extensions.get("strawberry-definition")
        if getattr(resolve, "_is_default", False) and definition is not None and definition.base_resolver is None:
            return operator.attrgetter(definition.python_name)
        return None

    def _step(self, response_key: str, field_type: Any, read: Callable[[Any], Any], details: Any) -> tuple | None:
        non_null = isinstance(field_type, GraphQLNonNull)
        inner = field_type.of_type if non_null else field_type
        if is_leaf_type(inner):
            return (response_key, _LEAF, read, non_null, inner)
        if isinstance(inner, GraphQLObjectType):
            return (response_key, _OBJECT, read, non_null, (inner, details))
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            item_non_null = isinstance(item, GraphQLNonNull)
            item_type = item.of_type if item_non_null else item
            if is_leaf_type(item_type):
                return (response_key, _LEAF_LIST, read, non_null, (item_type, item_non_null))
            if isinstance(item_type, GraphQLObjectType):
                return (response_key, _OBJECT_LIST, read, non_null, (item_type, item_non_null, details))
        return None

    def _object(self, object_type: GraphQLObjectType, details: Any, value: Any) -> dict[str, Any]:
        # Every item of a list shares the list's field details: find its plan once.
        key = (object_type.name, id(details))
        plan = self._item_plans.get(key, _ABORT)
        if plan is _ABORT:
            plan = self._item_plans[key] = self._plan(object_type, details)
        if plan is None:
            raise _ABORT
        return self._run(plan, value)

    def _run(self, plan: Any, source: Any) -> dict[str, Any]:
        origin, steps = plan
        if not isinstance(source, origin):
            raise _ABORT
        out: dict[str, Any] = {}
        for response_key, kind, read, non_null, extra in steps:
            if kind == _TYPENAME:
                out[response_key] = read
                continue
            value = read(source)
            if value is None:
                if non_null:
                    raise _ABORT
                out[response_key] = None
                continue
            if kind == _LEAF:
                out[response_key] = _leaf(extra, value)
            elif kind == _OBJECT:
                out[response_key] = self._object(extra[0], extra[1], value)
            elif kind == _LEAF_LIST:
                item_type, item_non_null = extra
                out[response_key] = [_item_leaf(item_type, item_non_null, item) for item in _items(value)]
            else:
                item_type, item_non_null, details = extra
                out[response_key] = [
                    self._object(item_type, details, item) if item is not None
                    else _null_item(item_non_null)
                    for item in _items(value)
                ]
        return out


def _leaf(leaf_type: Any, value: Any) -> Any:
    coerced = leaf_type.coerce_output_value(value)
    if coerced is None or coerced is Undefined:
        raise _ABORT
    return coerced


def _item_leaf(leaf_type: Any, non_null: bool, value: Any) -> Any:
    if value is None:
        return _null_item(non_null)
    return _leaf(leaf_type, value)


def _null_item(non_null: bool) -> None:
    if non_null:
        raise _ABORT
    return None


def _items(value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _ABORT
    return value
