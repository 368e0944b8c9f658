"""The compiler: one query operation into one SQL statement with a column per root field.

It walks the operation with graphql-core's own field collection (the executor's
`collect_subfields`), so fragments, aliases, `@include`/`@skip` and variables select exactly
what the regular path would, in the same order, and writes each object as a JSON object
(`dialects`), each relation as a correlated subquery and each connection as a page subquery
with its cursors, `pageInfo` and `totalCount` (`connections`). A field outside `catalogue` is a
hole (`holes`) the regular path fills; a root field outside it gets no column.

Parameters are numbered where they are made (`$n` or `?n`), so a fragment of SQL can be placed
anywhere. Each one is a function of `Bindings`: what one request binds (its caller, its pages,
the conditions of its filters), so a plan made for one request serves the next ones with the
same shape (`runner`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, get_named_type
from graphql.execution.values import get_argument_values

from billing_center.resolvers.compiled import catalogue
from billing_center.resolvers.compiled.bindings import Bindings, NotCompilable, Slot
from billing_center.resolvers.compiled.connections import ConnectionWriter
from billing_center.resolvers.compiled.dialects import Dialect
from billing_center.resolvers.compiled.holes import MARKER, Hole


class Compiler(ConnectionWriter):
    """Writes one operation's statement; `sql`, `getters` and `slots` make its plan."""

    def __init__(self, executor: Any, dialect: Dialect, bindings_of: Callable[[list[Slot]], Bindings]) -> None:
        self.executor = executor
        self.dialect = dialect
        self.getters: list[Callable[[Bindings], Any]] = []
        self.slots: list[Slot] = []
        # Fields of objects left to the regular path (`holes`).
        self.holes: list[Hole] = []
        self._holed = False
        # The statement's columns: one per root field it answers, by response key.
        self.columns: list[str] = []
        self._bindings_of = bindings_of
        self._aliases = 0
        # Aggregates over page rows written so far (see `_connection`).
        self._aggregates = 0

    # -- parameters and aliases ---------------------------------------------------------

    def param(self, getter: Callable[[Bindings], Any]) -> str:
        self.getters.append(getter)
        number = len(self.getters)
        return f"${number}" if self.dialect.name == "postgres" else f"?{number}"

    def alias(self) -> str:
        self._aliases += 1
        return f"a{self._aliases}"

    # -- the operation ------------------------------------------------------------------

    def root(self, root_type: GraphQLObjectType, grouped: dict) -> tuple[str, list[str]]:
        """The statement, a column of JSON text per root field it answers (`columns`; the
        others are left to the regular path), and those of its columns that hold holes."""
        values, marked = [], []
        for key, details in grouped.items():
            getters_before, slots_before, holes_before = len(self.getters), len(self.slots), len(self.holes)
            name = details[0].node.name.value
            if name == "tenant":
                a = self.alias()
                where = f'{a}."id" = ' + self.param(lambda b: b.actor.tenant_id)
                value = self._one("Tenant", details, a, where)
            elif name == "viewer":
                a = self.alias()
                where = (f'{a}."id" = ' + self.param(lambda b: b.actor.user_id) + f' AND {a}."tenant_id" = '
                         + self.param(lambda b: b.actor.tenant_id))
                value = self._one("User", details, a, where)
            elif name == "node" and self._node_type(root_type.fields[name], details) in _NODE_TYPES:
                value = self._node(root_type.fields[name], details)
            elif name == "subscriptions":
                value = self._connection(root_type.fields[name], details, "Subscription", None, root_filter=True)
            elif name == "products":
                value = self._products(root_type.fields[name], details)
            else:
                continue
            if name in ("tenant", "viewer", "node") and self._holed:
                # The object itself has holes: the regular path would load it by id to fill
                # them anyway, so it answers the whole field (one statement fewer).
                del self.getters[getters_before:], self.slots[slots_before:], self.holes[holes_before:]
                continue
            self.columns.append(key)
            values.append(self.dialect.answer(value))
            if len(self.holes) > holes_before:
                marked.append(key)
        if not any(grouped[key][0].node.name.value != "tenant" for key in self.columns):
            # Nothing the token did not already bring (the caller's tenant): no statement.
            raise NotCompilable
        return "SELECT " + ", ".join(values), marked

    def _products(self, field_def: Any, details: Any) -> str:
        """The public catalogue in catalogue order, as `queries.resolve_products` reads it
        (`selfServiceOnly` is a literal or a boolean variable, which the plan's key fixes)."""
        args = get_argument_values(field_def, details[0].node, self.executor.variable_values,
                                   details[0].fragment_variable_values)
        a, b = self.alias(), self.alias()
        where = f' WHERE {a}."self_service"' if args.get("selfServiceOnly") else ""
        table = catalogue.TABLES["Product"].table
        rows = f'SELECT {a}.* FROM "{table}" {a}{where} ORDER BY {a}."position", {a}."id"'
        element = self.object("Product", details, b)
        products = self.dialect.array(element, None, f'{b}."position", {b}."id"')
        return self.dialect.nested(f"SELECT {products} FROM ({rows}) {b}")

    def _node_type(self, field_def: Any, details: Any) -> str | None:
        """The type named by this request's `node(id:)` (the plan's key fixes it); None for
        an id that names none."""
        try:
            return self._bindings_of([Slot(field_def, details, node=True)]).nodes[0][0]
        except NotCompilable:
            return None

    def _node(self, field_def: Any, details: Any) -> str:
        """`node(id:)` of a type whose visibility is SQL here (`queries.resolve_node` reads it
        through the type's by-id loader): null when the caller may not see it."""
        slot_index = len(self.slots)
        self.slots.append(Slot(field_def, details, node=True))
        type_name, _ = self._bindings_of([self.slots[-1]]).nodes[0]
        a = "s" if type_name == "Subscription" else self.alias()
        where = f'{a}."id" = ' + self.param(lambda b: b.nodes[slot_index][1])
        if type_name == "Subscription":  # `loaders.SubscriptionFilter` writes on alias `s`
            text, values = self._bindings_of([self.slots[-1]]).filters[0]
            where += " AND " + self._bind_text(text, slot_index, len(values))
        elif type_name in ("User", "Tenant"):  # the caller's tenant; its own row for Tenant
            column = "tenant_id" if type_name == "User" else "id"
            where += f' AND {a}."{column}" = ' + self.param(lambda b: b.actor.tenant_id)
        return self._one(type_name, details, a, where)

    # -- objects ------------------------------------------------------------------------

    def _fields(self, type_name: str, details: Any) -> dict:
        object_type = self.executor.schema.get_type(type_name)
        grouped, defer_usages, _ = self.executor.collect_subfields(object_type, details)
        if defer_usages:
            raise NotCompilable
        return grouped

    def _one(self, type_name: str, details: Any, a: str, where: str) -> str:
        """A to-one object: a subquery of its table under alias `a`."""
        table = catalogue.TABLES[type_name]
        body = self.object(type_name, details, a)
        return self.dialect.nested(f'SELECT {body} FROM "{table.table}" {a} WHERE {where}')

    def object(self, type_name: str, details: Any, a: str) -> str:
        """The JSON object of `type_name` for the row under alias `a`; a field the catalogue
        does not know is a hole (`holes`): null here, and the object marked."""
        table = catalogue.TABLES.get(type_name)
        if table is None:
            raise NotCompilable
        object_type = self.executor.schema.get_type(type_name)
        pairs = []
        left: dict = {}
        for key, field_details in self._fields(type_name, details).items():
            node = field_details[0].node
            name = node.name.value
            if name == "__typename":
                pairs.append((key, self.dialect.literal(type_name)))
                continue
            if name == "id":
                pairs.append((key, self.dialect.encoded(f"{type_name}:", f'{a}."id"')))
                continue
            spec = table.fields.get(name)
            if spec is None or (node.arguments and not isinstance(spec, catalogue.Paged)):
                left[key] = field_details
                pairs.append((key, "NULL"))
                continue
            if isinstance(spec, catalogue.Paged):
                pairs.append((key, self._connection(object_type.fields[name], field_details, spec.target,
                                                    (spec, a))))
                continue
            pairs.append((key, self._value(spec, object_type.fields[name], field_details, a)))
        if left:
            self.holes.append(Hole(type_name, left))
            pairs.append((MARKER, self.dialect.marker(len(self.holes) - 1, f'{a}."id"')))
        # Of the last object written (its nested objects were written before it).
        self._holed = bool(left)
        return self.dialect.object(pairs)

    def _value(self, spec: Any, field_def: Any, details: Any, a: str) -> str:
        if isinstance(spec, catalogue.Column):
            return self._scalar(spec, field_def, f'{a}."{spec.column}"')
        if isinstance(spec, catalogue.Difference):
            return f'({a}."{spec.minuend}" - {a}."{spec.subtrahend}")'
        if isinstance(spec, catalogue.Mapped):
            cases = " ".join(f"WHEN {self.dialect.literal(k)} THEN {self.dialect.literal(v)}"
                             for k, v in spec.mapping.items())
            return f'CASE {a}."{spec.column}" {cases} END'
        if isinstance(spec, catalogue.MoneyOf):
            return self._money(spec, details, a)
        if isinstance(spec, catalogue.ToOne):
            b = self.alias()
            where = f'{b}."id" = {a}."{spec.column}"'
            if spec.tenant_scoped:
                where += f' AND {b}."tenant_id" = ' + self.param(lambda bound: bound.actor.tenant_id)
            found = self._one(spec.target, details, b, where)
            return self.dialect.present(found) if isinstance(field_def.type, GraphQLNonNull) else found
        raise NotCompilable

    def _scalar(self, spec: catalogue.Column, field_def: Any, column: str) -> str:
        if spec.kind == "enum":
            enum_type = get_named_type(field_def.type)
            # The column holds the enum's value; the API prints its name: the same text only
            # when every name is its value.
            if not isinstance(enum_type, GraphQLEnumType) or any(
                getattr(value.value, "value", value.value) != name for name, value in enum_type.values.items()
            ):
                raise NotCompilable
            return column
        if spec.kind in ("text", "int"):
            return column
        if spec.kind == "bool":
            return self.dialect.boolean(column)
        if spec.kind == "datetime":
            return self.dialect.datetime(column)
        if spec.kind == "date":
            return self.dialect.date(column)
        raise NotCompilable

    def _money(self, spec: catalogue.MoneyOf, details: Any, a: str) -> str:
        pairs = []
        for key, field_details in self._fields("Money", details).items():
            name = field_details[0].node.name.value
            if name == "amount":
                pairs.append((key, self.dialect.decimal(f'{a}."{spec.amount}"', spec.places)))
            elif name == "currency":
                pairs.append((key, f'{a}."{spec.currency}"'))
            elif name == "__typename":
                pairs.append((key, self.dialect.literal("Money")))
            else:
                raise NotCompilable
        return self.dialect.object(pairs)

# The types whose `node(id:)` the compiler answers: their visibility is SQL here.
_NODE_TYPES = ("Subscription", "User", "Tenant", "Product")


def non_null_roots(root_type: GraphQLObjectType, grouped: dict) -> list[str]:
    """Response keys of root fields that may not be null: a null there means the regular
    path would answer with an error instead."""
    return [key for key, details in grouped.items()
            if details[0].node.name.value != "__typename"
            and isinstance(root_type.fields[details[0].node.name.value].type, GraphQLNonNull)]
