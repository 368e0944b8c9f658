"""The root types and the schema object."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext, ExecutionResult

from billing_center.access_log import OperationName
from billing_center.resolvers import limits, pipeline, profile, queries, relations
from billing_center.resolvers.errors import ErrorPresenter, present_unseen
from billing_center.resolvers.execution import LeanExecutionContext
from billing_center.resolvers.mutations import registration
from billing_center.resolvers.operation_choice import OperationChoice
from billing_center.schema import enums, types
from billing_center.schema.arguments import LAST_3_MONTHS, After, Before, First, From, Last, Period, To
from billing_center.schema.previews import CancellationPreview


@strawberry.input(description="Narrows the subscription list; all given conditions must hold.")
class SubscriptionFilter:
    status: list[enums.SubscriptionStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    purchase_channel: list[enums.PurchaseChannel] | None = strawberry.field(
        default=None, description="Only these purchase channels (e.g. SELF_SERVICE for self-service only)."
    )
    product_id: strawberry.ID | None = strawberry.field(default=None, description="Only this product.")


def _page_args(first: int | None, after: str | None, last: int | None, before: str | None) -> dict[str, Any]:
    return {"first": first, "after": after, "last": last, "before": before}


@strawberry.type(description="Everything that can be read. All but `products` need a bearer token.")
class Query:
    @strawberry.field(description="Any object you may see, by its global ID; null otherwise.")
    async def node(
        self, info: strawberry.Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")],
    ) -> types.Node | None:
        return await queries.resolve_node(info, id)

    @strawberry.field(description="Objects by global IDs (at most 100), in order; null where you may not see one.")
    async def nodes(
        self, info: strawberry.Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global IDs.")],
    ) -> list[types.Node | None]:
        return await queries.resolve_nodes(info, ids)

    @strawberry.field(description="The calling user.")
    async def viewer(self, info: strawberry.Info) -> types.User:
        return await queries.resolve_viewer(info)

    @strawberry.field(description="The caller's organization.")
    async def tenant(self, info: strawberry.Info) -> types.Tenant:
        return await queries.resolve_tenant(info)

    @strawberry.field(description="The product catalogue; public.")
    async def products(
        self, info: strawberry.Info,
        self_service_only: Annotated[bool | None, strawberry.argument(description="Only products plain users may buy themselves.")] = None,
    ) -> list[types.Product]:
        return await queries.resolve_products(info, self_service_only)

    @strawberry.field(description="Subscriptions you may see, oldest first: all of the tenant's for admins (self-service ones read-only), your own for plain users.")
    async def subscriptions(
        self, info: strawberry.Info,
        filter: Annotated[SubscriptionFilter | None, strawberry.argument(description="Conditions on status, channel and product.")] = None,
        first: First = None, after: After = None, last: Last = None, before: Before = None,
    ) -> types.SubscriptionConnection:
        return await queries.resolve_subscriptions(
            info,
            [s.value for s in filter.status] if filter and filter.status else None,
            [c.value for c in filter.purchase_channel] if filter and filter.purchase_channel else None,
            filter.product_id if filter else None,
            _page_args(first, after, last, before),
        )

    @strawberry.field(description="Purchased, assigned and available licences per product.")
    async def license_summary(self, info: strawberry.Info) -> list[types.ProductLicenseSummary]:
        return await queries.resolve_license_summary(info)

    @strawberry.field(description="Billing accounts you may read, with profiles, masked payment methods and balances.")
    async def billing_accounts(self, info: strawberry.Info) -> list[types.BillingAccount]:
        return await queries.resolve_billing_accounts(info)

    @strawberry.field(description="Invoices of the billing profiles you may read, newest first.")
    async def invoices(
        self, info: strawberry.Info,
        period: Period = LAST_3_MONTHS,
        from_: From = None,
        to: To = None,
        first: First = None, after: After = None, last: Last = None, before: Before = None,
    ) -> types.InvoiceConnection:
        return await queries.resolve_invoices(
            info, {"period": period, "from": from_, "to": to, **_page_args(first, after, last, before)}
        )

    @strawberry.field(description="What cancelling a subscription now would do: eligibility with every blocker, dates, credit, affected users.")
    async def cancellation_preview(
        self, info: strawberry.Info,
        subscription_id: Annotated[strawberry.ID, strawberry.argument(description="The subscription.")],
    ) -> CancellationPreview:
        return await queries.resolve_cancellation_preview(info, subscription_id)

    @strawberry.field(description="Every recorded change of the tenant, newest first; for admins.")
    async def audit_log(
        self, info: strawberry.Info,
        first: First = None, after: After = None, last: Last = None, before: Before = None,
    ) -> types.AuditEventConnection:
        return await queries.resolve_audit_log(info, _page_args(first, after, last, before))

    @strawberry.field(description="The tenant's business events, oldest first, for admins: `sequence` numbers them 1, 2, 3, … without gaps in commit order. Resume where you stopped with the `after` cursor of the last event you handled, or with `afterSequence`: its sequence number.")
    async def events(
        self, info: strawberry.Info,
        first: First = None, after: After = None, last: Last = None, before: Before = None,
        types: Annotated[list[str] | None, strawberry.argument(description="Only events of these types (at most 50), e.g. [\"invoice.paid\"], or every type of a prefix: [\"subscription.*\"].")] = None,
        after_sequence: Annotated[int | None, strawberry.argument(description="Only events after this sequence number (instead of `after`).")] = None,
    ) -> types.EventConnection:
        return await queries.resolve_events(info, _page_args(first, after, last, before), types, after_sequence)

    @strawberry.field(description="The organization's webhook endpoints, oldest first (global admins).")
    async def webhook_endpoints(self, info: strawberry.Info) -> list[types.WebhookEndpoint]:
        return await queries.resolve_webhook_endpoints(info)


# Each mutation is declared, described and resolved in its subject module
# (`resolvers.mutations`); declaring it puts it here.
Mutation = strawberry.type(type("Mutation", (), registration.declared()),
                           description="Every change. Refusals come back as `userErrors` in the payload.")


class BillingSchema(strawberry.Schema):
    """The schema; unexpected errors are logged once, with their request id, by ErrorPresenter,
    and every error leaves with `extensions.code` (`resolvers.errors.present_unseen`)."""

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(query, variable_values, context_value, *args, **kwargs)
        if result.errors:
            result.errors = present_unseen(result.errors, context_value)
        return result

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        return None

    def create_extensions_runner(self, execution_context: ExecutionContext,
                                 extensions: list[Any]) -> pipeline.ExtensionsRunner:
        # The same hooks in the same order, prepared once per extension class (`pipeline`).
        return pipeline.ExtensionsRunner(execution_context=execution_context, extensions=extensions)


schema = BillingSchema(
    query=Query,
    mutation=Mutation,
    types=list(types.NODE_TYPES.values()),
    extensions=[
        ErrorPresenter,
        OperationName,
        OperationChoice,
        profile.IntrospectionGuard,
        *limits.extensions(),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
    execution_context_class=LeanExecutionContext,
)
relations.install_fast_paths(schema._schema)
