"""Relay cursor pagination by primary key (keyset), for root and nested connections.

Cursors are opaque (base64 of the row id); a page is `first` items after a cursor or `last`
items before one, 1 to 100 items (default 20). Connections order by id ascending (oldest
first) or descending (newest first, e.g. invoices and the audit log).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.schema.ids import CURSOR_PREFIX, encode_cursor
from billing_center.schema.types import PageInfo

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_CURSOR_PREFIX = CURSOR_PREFIX


def decode_cursor(cursor: str, argument: str) -> int:
    """The row id inside `cursor`; INVALID_INPUT when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = raw[len(_CURSOR_PREFIX) :]
        # 18 digits stay inside a BIGINT: a longer number is not a cursor we issued.
        if raw.startswith(_CURSOR_PREFIX) and digits.isascii() and digits.isdigit() and len(digits) <= 18:
            return int(digits)
    except (ValueError, UnicodeDecodeError):
        pass
    raise DomainError(ErrorCode.INVALID_INPUT, f"`{argument}` is not a valid cursor.", (argument,))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A validated page: `limit` rows after `after_id` (forward) or before `before_id`."""

    limit: int
    after_id: int | None
    before_id: int | None
    backward: bool
    descending: bool

    @property
    def sql_descending(self) -> bool:
        """Whether the rows are fetched in descending id order."""
        return self.descending != self.backward

    def bounds(self) -> list[tuple[str, int]]:
        """The keyset conditions as (operator, id) pairs, e.g. [(">", 42)]. Both cursors
        bound the page whichever end it is taken from (Relay: after and before together)."""
        conditions = []
        if self.after_id is not None:
            conditions.append(("<" if self.descending else ">", self.after_id))
        if self.before_id is not None:
            conditions.append((">" if self.descending else "<", self.before_id))
        return conditions


def page_size(value: Any, argument: str) -> int:
    """`first` or `last` when it is between 1 and MAX_PAGE_SIZE; INVALID_INPUT otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PAGE_SIZE:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"`{argument}` must be between 1 and {MAX_PAGE_SIZE}.",
            (argument,),
        )
    return value


def int_argument(value: Any) -> Any:
    """An Int argument as a Python int: selection sets carry literals as their source text."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def page_request(args: Mapping[str, Any], descending: bool = False) -> PageRequest:
    """Validate `first/after/last/before` (GraphQL argument names) into a PageRequest."""
    first, last = int_argument(args.get("first")), int_argument(args.get("last"))
    after, before = args.get("after"), args.get("before")
    if first is not None and last is not None:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Pass either `first` or `last`, not both.", ("last",)
        )
    backward = last is not None or (before is not None and first is None)
    if backward:
        limit = page_size(last if last is not None else DEFAULT_PAGE_SIZE, "last")
    else:
        limit = page_size(first if first is not None else DEFAULT_PAGE_SIZE, "first")
    return PageRequest(
        limit=limit,
        after_id=decode_cursor(after, "after") if after is not None else None,
        before_id=decode_cursor(before, "before") if before is not None else None,
        backward=backward,
        descending=descending,
    )


def page_key(args: Mapping[str, Any]) -> tuple:
    """What identifies a page among the arguments, for caching loaded pages per parent."""
    return (
        int_argument(args.get("first")), args.get("after"),
        int_argument(args.get("last")), args.get("before"),
    )


def connection(
    connection_type: type,
    edge_type: type,
    rows: Sequence[Any],
    page: PageRequest,
    build: Callable[[Any], Any],
    pk: Callable[[Any], int],
    total_count: int,
) -> Any:
    """A connection from rows fetched with `limit + 1` in `page.sql_descending` order."""
    has_more = len(rows) > page.limit
    rows = list(rows[: page.limit])
    if page.backward:
        rows.reverse()
    edges = [edge_type(cursor_key=pk(row), node=build(row)) for row in rows]
    return connection_type(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_more if not page.backward else page.before_id is not None,
            has_previous_page=has_more if page.backward else page.after_id is not None,
            start_cursor=encode_cursor(edges[0].cursor_key) if edges else None,
            end_cursor=encode_cursor(edges[-1].cursor_key) if edges else None,
        ),
        total_count=total_count,
    )
