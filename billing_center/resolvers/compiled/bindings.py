"""What one request binds to a compiled plan: its caller, its pages and its filters.

A plan's parameters are functions of `Bindings`; `bind` computes them for a request from the
same arguments, validated the same way (`pagination.page_request`, `loaders.SubscriptionFilter`
and so `domain.visibility.subscriptions_sql`), as the regular path's resolvers. Where a
resolver would refuse an argument, `bind` raises `NotCompilable`, and the regular path gives
the error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql.execution.values import get_argument_values

from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError
from billing_center.resolvers import loaders as batch
from billing_center.resolvers.pagination import PageRequest, page_request
from billing_center.schema.ids import from_global_id


class NotCompilable(Exception):
    """This operation (or this request of it) is for the regular path."""


@dataclass(frozen=True)
class Slot:
    """A field whose arguments each request binds anew: a connection, or `node(id:)`."""

    field_def: Any
    details: Any
    root_filter: bool = False  # the root `subscriptions` list: its `filter` becomes SQL conditions
    node: bool = False  # `node(id:)`: the id's type and key, and the type's visibility


@dataclass
class Bindings:
    """One request's values for a plan's parameters."""

    actor: Actor
    pages: list[PageRequest | None] = field(default_factory=list)
    # Per slot: the filter's SQL conditions (text, to check the plan) and their values.
    filters: list[tuple[str, list[Any]]] = field(default_factory=list)
    # Per slot: the (type name, key) of a `node(id:)`.
    nodes: list[tuple[str, int] | None] = field(default_factory=list)


def bind(slots: list[Slot], actor: Actor, executor: Any, dialect: str) -> Bindings:
    """The values of `slots` for this request: its pages and filter conditions, validated as
    the resolvers validate them. NotCompilable where a resolver would refuse (an invalid
    cursor, an unknown product id...): the regular path then gives the same error."""
    found = Bindings(actor)
    for slot in slots:
        details = slot.details[0]
        args = get_argument_values(slot.field_def, details.node, executor.variable_values,
                                   details.fragment_variable_values)
        if slot.node:
            decoded = from_global_id(args["id"])
            if decoded is None:
                raise NotCompilable
            found.nodes.append(decoded)
            found.pages.append(None)
            # A subscription by id: the visibility of the subscriptions list, no filter.
            found.filters.append(_filter_sql({}, actor, dialect) if decoded[0] == "Subscription" else ("", []))
            continue
        try:
            found.pages.append(page_request(args))
            found.filters.append(_filter_sql(args, actor, dialect) if slot.root_filter else ("", []))
        except DomainError:
            raise NotCompilable from None
        found.nodes.append(None)
    return found


def _filter_sql(args: dict, actor: Actor, dialect: str) -> tuple[str, list[Any]]:
    """`subscriptions(filter:)` as `loaders.SubscriptionFilter` writes it (visibility first)."""
    chosen = args.get("filter") or {}  # coerced input: GraphQL names, enum members
    product_pk = None
    if chosen.get("productId") is not None:
        decoded = from_global_id(chosen["productId"])
        if decoded is None or decoded[0] != "Product":
            raise NotCompilable
        product_pk = decoded[1]
    statuses, channels = chosen.get("status"), chosen.get("purchaseChannel")
    selected = batch.SubscriptionFilter(
        [getattr(s, "value", s) for s in statuses] if statuses else None,
        [getattr(c, "value", c) for c in channels] if channels else None,
        product_pk,
    )
    conditions, params = selected.where(actor, dialect)
    return " AND ".join(conditions), params


def shape(bindings: Bindings) -> tuple:
    """What of a request's values shapes the statement: each page's direction and which
    cursors bound it, the filters' conditions, the types of the ids asked for."""
    pages = tuple(None if page is None else (page.backward, page.descending, page.after_id is None,
                                             page.before_id is None) for page in bindings.pages)
    return (pages, tuple(text for text, _ in bindings.filters),
            tuple(None if node is None else node[0] for node in bindings.nodes))
