"""Root query resolvers: tenant-scoped lookups, pagination, then one prefetch of the tree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from billing_center.domain import audit, cancellation, events, models, seats, visibility
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.reads import subscriptions as reads
from billing_center.resolvers.context import Info
from billing_center.resolvers.errors import user_error
from billing_center.resolvers.pagination import PageRequest, connection, page_request
from billing_center.resolvers.relations import (
    edge_node_selections,
    fields_of,
    invoice_period,
    joins_selected,
    merge_fields,
    prefetch,
    with_joined,
)
from billing_center.schema import types
from billing_center.schema.ids import from_global_id
from billing_center.schema.previews import CancellationPreview

_BOUND_LOOKUP = {">": "gt", "<": "lt"}


def _selected(info: Info) -> Any:
    # The field may be selected several times (fragments); GraphQL merges them into one.
    return merge_fields(info.selected_fields)


async def _page(
    info: Info,
    queryset: QuerySet,
    page: PageRequest,
    build: Any,
    connection_type: type,
    edge_type: type,
    prepare: Callable[[list[dict]], Awaitable[list[dict]]] | None = None,
    key: str = "id",
) -> Any:
    """One page of `queryset` as a connection, its nested relations prefetched; `prepare`
    rewrites the page's rows before they are built (e.g. what a reader may not see). `key`:
    the unique column that orders the rows and that cursors carry."""
    bounded = queryset.filter(**{f"{key}__{_BOUND_LOOKUP[op]}": value for op, value in page.bounds()})
    rows = await bounded.order_by(f"-{key}" if page.sql_descending else key).limit(page.limit + 1).values()
    if prepare is not None:
        rows = await prepare(rows)
    objects = [build(row) for row in rows]
    return await _connection(info, objects, page, queryset.count, connection_type, edge_type,
                             cursor=(lambda obj: getattr(obj, key)) if key != "id" else None)


async def _connection(info: Info, objects: list[Any], page: PageRequest, count: Callable[[], Awaitable[int]],
                      connection_type: type, edge_type: type, cursor: Callable[[Any], int] | None = None) -> Any:
    """A connection of `objects` (a page fetched with `limit + 1`), nested relations
    prefetched; `count` runs only when `totalCount` is selected (a statement of its own);
    `cursor` gives an object's cursor key (its primary key unless given)."""
    field = _selected(info)
    wants_total = any(f.name == "totalCount" for f in fields_of(field.selections))
    total = await count() if wants_total else 0
    result = connection(
        connection_type, edge_type, objects, page, build=lambda obj: obj, pk=cursor or (lambda obj: obj.pk),
        total_count=total,
    )
    await prefetch(info.context, [edge.node for edge in result.edges], edge_node_selections(field))
    return result


def decode_id(global_id: str, expected: str | Sequence[str], field: tuple[str, ...]) -> int:
    """The primary key inside a global ID of the expected type(s); NOT_FOUND otherwise, so a
    malformed ID, another type's ID and another tenant's ID all read the same."""
    decoded = from_global_id(global_id)
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    if decoded is None or decoded[0] not in allowed:
        raise DomainError(ErrorCode.NOT_FOUND, f"{allowed[0]} not found.", field)
    return decoded[1]


async def resolve_node(info: Info, global_id: str) -> Any:
    """Any object the caller may see, by global ID; null for anything else."""
    [node] = await resolve_nodes(info, [global_id])
    return node


async def resolve_nodes(info: Info, global_ids: list[str]) -> list[Any]:
    """Objects by global IDs, in order; null where the caller may not see one."""
    ctx = info.context
    ctx.require_actor()
    if len(global_ids) > 100:
        raise DomainError(ErrorCode.INVALID_INPUT, "At most 100 ids per call.", ("ids",))
    nodes: list[Any] = []
    for global_id in global_ids:
        decoded = from_global_id(global_id)
        loader = ctx.loaders.by_type(decoded[0]) if decoded else None
        nodes.append(loader.load(decoded[1]) if loader else None)
    # Loads of one type were queued together and run as one batch per type.
    results = [await node if node is not None else None for node in nodes]
    await prefetch(ctx, results, _selected(info).selections)
    return results


async def resolve_viewer(info: Info) -> types.User:
    """The calling user."""
    ctx = info.context
    actor = ctx.require_user()
    user = await ctx.loaders.user_by_id.load(actor.user_id)
    if user is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "The token's user no longer exists.")
    return user


async def resolve_tenant(info: Info) -> types.Tenant:
    """The caller's tenant."""
    ctx = info.context
    tenant = await ctx.loaders.tenant_by_id.load(ctx.tenant_id)
    if tenant is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "The token's tenant no longer exists.")
    return tenant


async def resolve_products(info: Info, self_service_only: bool | None) -> list[types.Product]:
    """The public catalogue, in catalogue order."""
    queryset = models.Product.all()
    if self_service_only:
        queryset = queryset.filter(self_service=True)
    rows = await queryset.order_by("position", "id").values()
    return [types.Product.from_row(row) for row in rows]


async def resolve_subscriptions(info: Info, status: list[str] | None, channels: list[str] | None,
                                product_id: str | None, args: dict[str, Any]) -> Any:
    """The subscriptions the caller may see, oldest first, filtered.

    The page is one fixed statement that also reads the selected products (the most read
    list of the API); `totalCount`, when selected, counts with the same conditions."""
    ctx = info.context
    actor = ctx.require_user()
    page = page_request(args)
    product_pk = decode_id(product_id, "Product", ("filter", "productId")) if product_id is not None else None
    selected = reads.SubscriptionFilter(status, channels, product_pk)
    joins = joins_selected(types.Subscription, edge_node_selections(_selected(info)))
    found = await reads.subscription_page(actor, page, selected, [join for _, join in joins])
    objects = [with_joined(types.Subscription.from_row(row), row, joins) for row in found]
    return await _connection(info, objects, page, lambda: reads.subscription_count(actor, selected),
                             types.SubscriptionConnection, types.SubscriptionEdge)


async def resolve_license_summary(info: Info) -> list[types.ProductLicenseSummary]:
    """Purchased, assigned and available licences per product over the subscriptions that
    take assignments (ACTIVE and EXPIRED, not an MCA predecessor: SPEC §4, §5), in catalogue order."""
    ctx = info.context
    actor = ctx.require_user()
    rows = (
        await models.Subscription.filter(
            visibility.subscriptions(actor), seats.offers_seats(actor.tenant_id),
        )
        .annotate(purchased=Sum("quantity"), assigned=Sum("assigned_count"))
        .group_by("product_id")
        .values("product_id", "purchased", "assigned")
    )
    products = await ctx.loaders.product_by_id.load_many([row["product_id"] for row in rows])
    summaries = [
        types.ProductLicenseSummary(
            product=product,
            purchased=int(row["purchased"] or 0),
            assigned=int(row["assigned"] or 0),
            available=int(row["purchased"] or 0) - int(row["assigned"] or 0),
        )
        for row, product in zip(rows, products)
    ]
    summaries.sort(key=lambda s: (s.product.sku,))
    await prefetch(ctx, [s.product for s in summaries],
                   [sel for f in fields_of(_selected(info).selections) if f.name == "product" for sel in f.selections])
    return summaries


async def resolve_billing_accounts(info: Info) -> list[types.BillingAccount]:
    """The billing accounts the caller may read, oldest first."""
    ctx = info.context
    actor = ctx.require_user()
    rows = await models.BillingAccount.filter(visibility.billing_accounts(actor)).order_by("id").values()
    accounts = [types.BillingAccount.from_row(row) for row in rows]
    await prefetch(ctx, accounts, _selected(info).selections)
    return accounts


async def resolve_invoices(info: Info, args: dict[str, Any]) -> Any:
    """Invoices of every billing profile the caller may read, newest first (SPEC §7)."""
    ctx = info.context
    actor = ctx.require_user()
    page = page_request(args, descending=True)
    start, end = invoice_period(ctx, args)
    queryset = models.Invoice.filter(visibility.billing_records(actor), issue_date__gte=start)
    if end is not None:
        queryset = queryset.filter(issue_date__lte=end)
    return await _page(info, queryset, page, types.Invoice.from_row,
                       types.InvoiceConnection, types.InvoiceEdge)


async def resolve_audit_log(info: Info, args: dict[str, Any]) -> Any:
    """The tenant's audit events, newest first; for admins only (SPEC §8)."""
    ctx = info.context
    actor = ctx.require_user()
    actor.require(actor.is_admin, "read the audit log")
    page = page_request(args, descending=True)
    queryset = models.AuditEvent.filter(visibility.audit_events(actor))
    return await _page(info, queryset, page, types.AuditEvent.from_row,
                       types.AuditEventConnection, types.AuditEventEdge,
                       prepare=partial(audit.withhold_unreadable, actor))


async def resolve_events(info: Info, args: dict[str, Any], types_wanted: list[str] | None,
                         after_sequence: int | None) -> Any:
    """The tenant's business events, oldest first, from a cursor or after a sequence number;
    for admins only (SPEC §9). Cursors carry the sequence number."""
    ctx = info.context
    actor = ctx.require_user()
    actor.require(actor.is_admin, "read the events")
    if after_sequence is not None:
        if args.get("after") is not None:
            raise DomainError(ErrorCode.INVALID_INPUT, "Pass either `after` or `afterSequence`, not both.",
                              ("afterSequence",))
        if after_sequence < 0:
            raise DomainError(ErrorCode.INVALID_INPUT, "`afterSequence` is 0 or more.", ("afterSequence",))
    page = page_request(args)
    queryset = models.Event.filter(visibility.events(actor))
    if after_sequence:
        queryset = queryset.filter(sequence__gt=after_sequence)
    if types_wanted:
        # Types or `prefix.*`, as webhook endpoints take them.
        patterns = types_wanted[:50]
        queryset = queryset.filter(type__in=[t for t in events.TYPES if events.selects(patterns, t)])
    return await _page(info, queryset, page, types.Event.from_row, types.EventConnection, types.EventEdge,
                       prepare=partial(audit.withhold_unreadable, actor), key="sequence")


async def resolve_cancellation_preview(info: Info, subscription_id: str) -> CancellationPreview:
    """cancellationPreview (SPEC §5): refusals to read it are top-level errors (a query)."""
    actor = info.context.require_user()
    preview = await cancellation.preview_cancellation(
        actor, decode_id(subscription_id, "Subscription", ("subscriptionId",)), info.context.clock
    )
    return CancellationPreview(
        eligible=preview.eligible,
        blockers=[user_error(error) for error in preview.blockers],
        disabled_until=preview.dates.disabled_until,
        data_deletable_from=preview.dates.data_deletable_from,
        data_deleted_by=preview.dates.data_deleted_by,
        credit=types.Money.from_amount(preview.credit, preview.currency),
        credit_explanation=preview.credit_explanation,
        affected_users=preview.affected_users,
    )


async def resolve_webhook_endpoints(info: Info) -> list[types.WebhookEndpoint]:
    """webhookEndpoints: the tenant's endpoints, oldest first, for global admins; FORBIDDEN
    for everybody else."""
    actor = info.context.require_user()
    actor.require(actor.is_global_admin, "read the webhook endpoints")
    found: list[dict[str, Any]] = await models.WebhookEndpoint.filter(
        visibility.webhook_endpoints(actor)).order_by("id").values()
    return [types.WebhookEndpoint.from_row(row) for row in found]
