"""How the compiler writes a connection: one page of rows as `edges`, `pageInfo` and `totalCount`.

A page is a subquery that reads its rows in key order with the same conditions as the
regular path (`domain.reads.statements.page_rows` for nested pages, `loaders.SubscriptionFilter` for the
root list), bounded by the cursors, `limit` rows — or `limit + 1`, numbered, when `pageInfo`
asks whether more follow (`pagination.connection` decides it the same way). `edges` is the
JSON array of the page's first `limit` rows in display order; the cursors are those of its
first and last rows; `totalCount` counts with the same conditions, cursors left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import get_named_type

from billing_center.resolvers.compiled import catalogue
from billing_center.resolvers.compiled.bindings import Bindings, NotCompilable, Slot
from billing_center.resolvers.pagination import PageRequest
from billing_center.schema.ids import CURSOR_PREFIX


@dataclass(frozen=True)
class _Page:
    """What the parts of one connection share: its slot, what the request that made the plan
    bound to it, and where its rows come from."""

    slot_index: int
    bindings: Bindings
    table: str
    nested: tuple | None
    root_filter: bool

    @property
    def request(self) -> PageRequest:
        return self.bindings.pages[0]

    def limit(self, bindings: Bindings) -> int:
        """A parameter: the page size this request binds."""
        return bindings.pages[self.slot_index].limit

    def order(self, display: bool) -> str:
        """The page's key order as it is read (`sql_descending`) or as it is shown."""
        descending = self.request.descending if display else self.request.sql_descending
        return "DESC" if descending else "ASC"


class ConnectionWriter:
    """The connection half of `compiler.Compiler`, which it is mixed into (parameters,
    aliases, field collection and objects come from there)."""

    def _connection(self, field_def: Any, details: Any, target: str, nested: tuple | None,
                    root_filter: bool = False) -> str:
        """A page of `target` rows (nested: (Paged spec, parent alias)) as a connection."""
        slot_index = len(self.slots)
        slot = Slot(field_def, details, root_filter)
        self.slots.append(slot)
        # The shape of this page (direction, cursors, filter) is what the plan's key fixed.
        compiled = self._bindings_of([slot])
        table = catalogue.TABLES.get(target)
        if table is None:
            raise NotCompilable
        page = _Page(slot_index, compiled, table.table, nested, root_filter)
        inner, a = ("s" if root_filter else self.alias()), self.alias()
        aggregates = self._aggregates
        connection_type = get_named_type(field_def.type)
        selected = self._fields(connection_type.name, details)
        # `pageInfo` needs the row after the page (is there more?), and so row numbers to keep
        # it out of `edges`; without it the page is `limit` rows as they come.
        extra = any(d[0].node.name.value == "pageInfo" for d in selected.values())
        pairs = self._connection_pairs(page, connection_type, selected, target, a, extra)
        if self._aggregates == aggregates:
            # Nothing read from the page's rows (only `totalCount`, constants): without an
            # aggregate, a FROM would give one answer per row, or none without rows.
            return self.dialect.nested(f"SELECT {self.dialect.object(pairs)}")
        ranked = self._page_rows(page, inner, extra)
        return self.dialect.nested(f"SELECT {self.dialect.object(pairs)} FROM ({ranked}) {a}")

    def _connection_pairs(self, page: _Page, connection_type: Any, selected: dict, target: str, a: str,
                          extra: bool) -> list[tuple[str, str]]:
        """The connection's fields over the page's rows under alias `a`."""
        pairs = []
        for key, field_details in selected.items():
            name = field_details[0].node.name.value
            if name == "__typename":
                pairs.append((key, self.dialect.literal(connection_type.name)))
            elif name == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type).name
                element = self._edge(edge_type, target, field_details, a)
                keep = (f'{a}."rn__" <= ' + self.param(page.limit)) if extra else None
                self._aggregates += 1
                pairs.append((key, self.dialect.array(element, keep, f'{a}."id" {page.order(display=True)}')))
            elif name == "pageInfo":
                pairs.append((key, self._page_info(field_details, page.request, a, page.slot_index)))
            elif name == "totalCount":
                counted = "s" if page.root_filter else self.alias()
                pairs.append((key, f'(SELECT COUNT(*) FROM "{page.table}" {counted} '
                                   f'WHERE {self._page_conditions(page, counted, False)})'))
            else:
                raise NotCompilable
        return pairs

    def _page_conditions(self, page: _Page, alias: str, bounded: bool) -> str:
        """The page's rows under `alias`: of their parent (nested) or through the root list's
        filter, and between the cursors when `bounded` (`totalCount` counts without them)."""
        found = []
        if page.nested is not None:
            spec, parent = page.nested
            found.append(f'{alias}."{spec.parent_column}" = {parent}."id"')
            found.append(f'{alias}."tenant_id" = ' + self.param(lambda b: b.actor.tenant_id))
            found.extend(condition.format(a=alias) for condition in spec.conditions)
        if page.root_filter:
            # `loaders.SubscriptionFilter` writes its conditions on alias `s`.
            text, values = page.bindings.filters[0]
            found.append(self._bind_text(text, page.slot_index, len(values)))
        if bounded:
            slot_index = page.slot_index
            for index, (operator, _) in enumerate(page.request.bounds()):
                found.append(f'{alias}."id" {operator} ' + self.param(
                    lambda b, i=index: b.pages[slot_index].bounds()[i][1]))
        return " AND ".join(found) or "1 = 1"

    def _page_rows(self, page: _Page, inner: str, extra: bool) -> str:
        """The page's rows in display order: `limit` of them, or `limit + 1` numbered in
        key order when `extra` (`pageInfo`)."""
        sql_direction, display_direction = page.order(display=False), page.order(display=True)
        rows = (f'SELECT {inner}.* FROM "{page.table}" {inner} WHERE {self._page_conditions(page, inner, True)} '
                f'ORDER BY {inner}."id" {sql_direction} LIMIT '
                + self.param(lambda b: page.limit(b) + (1 if extra else 0)))
        if extra:
            return (f'SELECT {inner}.*, ROW_NUMBER() OVER (ORDER BY {inner}."id" {sql_direction}) AS "rn__" '
                    f'FROM ({rows}) {inner} ORDER BY {inner}."id" {display_direction}')
        if sql_direction != display_direction:
            return f'SELECT {inner}.* FROM ({rows}) {inner} ORDER BY {inner}."id" {display_direction}'
        return rows

    def _bind_text(self, text: str, slot_index: int, count: int) -> str:
        """`text` with its `?` placeholders numbered, bound to the slot's filter values."""
        parts = text.split("?")
        assert len(parts) == count + 1
        out = parts[0]
        for index, part in enumerate(parts[1:]):
            out += self.param(lambda b, i=index: b.filters[slot_index][1][i]) + part
        return out

    def _edge(self, edge_type: str, target: str, details: Any, a: str) -> str:
        pairs = []
        for key, field_details in self._fields(edge_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                pairs.append((key, self.dialect.literal(edge_type)))
            elif name == "cursor":
                pairs.append((key, self.dialect.encoded(CURSOR_PREFIX, f'{a}."id"')))
            elif name == "node":
                pairs.append((key, self.object(target, field_details, a)))
            else:
                raise NotCompilable
        return self.dialect.object(pairs)

    def _page_info(self, details: Any, page: PageRequest, a: str, slot_index: int) -> str:
        """`pagination.connection`'s page info: `has_more` from the extra row fetched."""
        kept = f'{a}."rn__" <= '
        first, last = ("MIN", "MAX") if not page.descending else ("MAX", "MIN")
        pairs = []
        for key, field_details in self._fields("PageInfo", details).items():
            name = field_details[0].node.name.value
            if name == "hasNextPage":
                pairs.append((key, self._has_more(a, slot_index) if not page.backward
                               else self.dialect.constant(page.before_id is not None)))
            elif name == "hasPreviousPage":
                pairs.append((key, self._has_more(a, slot_index) if page.backward
                               else self.dialect.constant(page.after_id is not None)))
            elif name in ("startCursor", "endCursor"):
                aggregate = first if name == "startCursor" else last
                bound = self.param(lambda b: b.pages[slot_index].limit)
                self._aggregates += 1
                pairs.append((key, self.dialect.encoded(
                    CURSOR_PREFIX, f'{aggregate}({a}."id") FILTER (WHERE {kept}{bound})')))
            elif name == "__typename":
                pairs.append((key, self.dialect.literal("PageInfo")))
            else:
                raise NotCompilable
        return self.dialect.object(pairs)

    def _has_more(self, a: str, slot_index: int) -> str:
        more = "COUNT(*) > " + self.param(lambda b: b.pages[slot_index].limit)
        self._aggregates += 1
        return f"({more})" if self.dialect.name == "postgres" else self.dialect.boolean(f"({more})")
