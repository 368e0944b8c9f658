"""The root types and the schema object."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext, ExecutionResult

from billing_center.access_log import OperationName
from billing_center.resolvers import identity, limits, mutations, profile, queries, relations, webhooks
from billing_center.resolvers.errors import ErrorPresenter, present_unseen
from billing_center.resolvers.execution import LeanExecutionContext
from billing_center.resolvers.operation_choice import OperationChoice
from billing_center.schema import enums, inputs, payloads, types
from billing_center.schema.arguments import LAST_3_MONTHS, After, Before, First, From, Last, Period, To


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
    ) -> payloads.CancellationPreview:
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
        return await webhooks.resolve_webhook_endpoints(info)


@strawberry.type(description="Every change. Refusals come back as `userErrors` in the payload.")
class Mutation:
    @strawberry.mutation(description="Create an organization, its default domain and its first global admin, who owns its billing account; returns the admin's token. No token needed.")
    async def sign_up(
        self, info: strawberry.Info,
        input: Annotated[inputs.SignUpInput, strawberry.argument(description="The organization and its admin.")],
    ) -> payloads.SignUpPayload:
        return await mutations.resolve_sign_up(info, input)

    @strawberry.mutation(description="Add a user to your tenant (global admins); returns the user's first API token.")
    async def create_user(
        self, info: strawberry.Info,
        input: Annotated[inputs.CreateUserInput, strawberry.argument(description="The new user.")],
    ) -> payloads.CreateUserPayload:
        return await mutations.resolve_create_user(info, input)

    @strawberry.mutation(description="Create an API token for yourself (only for yourself: nobody mints tokens for others), named, optionally expiring; at most 50 live tokens per user.")
    async def create_api_token(
        self, info: strawberry.Info,
        input: Annotated[inputs.CreateApiTokenInput, strawberry.argument(description="Its name and expiry.")],
    ) -> payloads.CreateApiTokenPayload:
        return await identity.resolve_create_api_token(info, input)

    @strawberry.mutation(description="Revoke an API token: one of yours, or any of your tenant's as a global admin. Requests with it get HTTP 401 at once.")
    async def revoke_api_token(
        self, info: strawberry.Info,
        input: Annotated[inputs.RevokeApiTokenInput, strawberry.argument(description="The token.")],
    ) -> payloads.RevokeApiTokenPayload:
        return await identity.resolve_revoke_api_token(info, input)

    @strawberry.mutation(description="Set a user's roles (global admins); the organization always keeps a global admin.")
    async def set_user_roles(
        self, info: strawberry.Info,
        input: Annotated[inputs.SetUserRolesInput, strawberry.argument(description="The user and their roles.")],
    ) -> payloads.SetUserRolesPayload:
        return await identity.resolve_set_user_roles(info, input)

    @strawberry.mutation(description="Remove a user (global admins): their tokens stop working at once, their licences are unassigned, the self-service subscriptions they pay for run to their term end with auto-renew off; the audit log still names them.")
    async def remove_user(
        self, info: strawberry.Info,
        input: Annotated[inputs.RemoveUserInput, strawberry.argument(description="The user.")],
    ) -> payloads.RemoveUserPayload:
        return await identity.resolve_remove_user(info, input)


    @strawberry.mutation(description="Give users seats of a subscription or of a product (oldest subscription first); at most 20 users, all or nothing.")
    async def assign_licenses(
        self, info: strawberry.Info,
        input: Annotated[inputs.AssignLicensesInput, strawberry.argument(description="Whose seats, for whom.")],
    ) -> payloads.AssignLicensesPayload:
        return await mutations.resolve_assign_licenses(info, input)

    @strawberry.mutation(description="Take seats back from users; they are available at once.")
    async def unassign_licenses(
        self, info: strawberry.Info,
        input: Annotated[inputs.UnassignLicensesInput, strawberry.argument(description="Whose seats, from whom.")],
    ) -> payloads.UnassignLicensesPayload:
        return await mutations.resolve_unassign_licenses(info, input)


    @strawberry.mutation(description="Turn auto-renew on or off while the subscription is active.")
    async def set_auto_renew(
        self, info: strawberry.Info,
        input: Annotated[inputs.SetAutoRenewInput, strawberry.argument(description="Which subscription, on or off.")],
    ) -> payloads.SetAutoRenewPayload:
        return await mutations.resolve_set_auto_renew(info, input)


    @strawberry.mutation(description="Add a card to a billing profile; it becomes the profile's payment method.")
    async def add_payment_method(
        self, info: strawberry.Info,
        input: Annotated[inputs.AddPaymentMethodInput, strawberry.argument(description="The profile and the card.")],
    ) -> payloads.PaymentMethodPayload:
        return await mutations.resolve_add_payment_method(info, input)

    @strawberry.mutation(description="Edit a card's security code, expiry, name or address.")
    async def update_payment_method(
        self, info: strawberry.Info,
        input: Annotated[inputs.UpdatePaymentMethodInput, strawberry.argument(description="The card and its changes.")],
    ) -> payloads.PaymentMethodPayload:
        return await mutations.resolve_update_payment_method(info, input)

    @strawberry.mutation(description="Pay a billing profile with another card of its billing account.")
    async def replace_payment_method(
        self, info: strawberry.Info,
        input: Annotated[inputs.ReplacePaymentMethodInput, strawberry.argument(description="The profile and the card.")],
    ) -> payloads.ReplacePaymentMethodPayload:
        return await mutations.resolve_replace_payment_method(info, input)


    @strawberry.mutation(description="Add a custom domain, optionally attached to a subscription (global admins).")
    async def add_domain(
        self, info: strawberry.Info,
        input: Annotated[inputs.AddDomainInput, strawberry.argument(description="The domain.")],
    ) -> payloads.AddDomainPayload:
        return await mutations.resolve_add_domain(info, input)

    @strawberry.mutation(description="Remove a custom domain (global admins); needed before cancelling its subscription.")
    async def remove_domain(
        self, info: strawberry.Info,
        input: Annotated[inputs.RemoveDomainInput, strawberry.argument(description="The domain.")],
    ) -> payloads.RemoveDomainPayload:
        return await mutations.resolve_remove_domain(info, input)


    @strawberry.mutation(description="Buy or remove licences by giving the new total; charged or credited pro rata. Accepts an idempotency key.")
    async def update_license_quantity(
        self, info: strawberry.Info,
        input: Annotated[inputs.UpdateLicenseQuantityInput, strawberry.argument(description="The subscription and its new total.")],
    ) -> payloads.UpdateLicenseQuantityPayload:
        return await mutations.resolve_update_license_quantity(info, input)


    @strawberry.mutation(description="Cancel a subscription: DISABLED for 90 days, assignments suspended, unused term credited on the next invoice. Accepts an idempotency key.")
    async def cancel_subscription(
        self, info: strawberry.Info,
        input: Annotated[inputs.CancelSubscriptionInput, strawberry.argument(description="The subscription, reason and feedback.")],
    ) -> payloads.CancelSubscriptionPayload:
        return await mutations.resolve_cancel_subscription(info, input)


    @strawberry.mutation(description="Issue product keys (platform operator only).")
    async def issue_product_keys(
        self, info: strawberry.Info,
        input: Annotated[inputs.IssueProductKeysInput, strawberry.argument(description="Product, count, cloud, licences, term.")],
    ) -> payloads.IssueProductKeysPayload:
        return await mutations.resolve_issue_product_keys(info, input)

    @strawberry.mutation(description="Move a sandbox tenant's test clock forward and run everything due up to the new moment: renewals, charges, retries, expiry... (global and billing admins of sandbox tenants). Live tenants get CLOCK_NOT_SANDBOX.")
    async def advance_clock(
        self, info: strawberry.Info,
        input: Annotated[inputs.AdvanceClockInput, strawberry.argument(description="The new moment.")],
    ) -> payloads.AdvanceClockPayload:
        return await mutations.resolve_advance_clock(info, input)

    @strawberry.mutation(description="Run the billing engine for every live tenant up to now (platform operator only); also `billing-center run-billing`. Running it twice changes nothing the second time.")
    async def run_billing(
        self, info: strawberry.Info,
        input: Annotated[inputs.RunBillingInput | None, strawberry.argument(description="Optionally one live tenant.")] = None,
    ) -> payloads.RunBillingPayload:
        return await mutations.resolve_run_billing(info, input)

    @strawberry.mutation(description="Redeem a product key into a prepaid subscription (global and billing admins). Accepts an idempotency key.")
    async def redeem_product_key(
        self, info: strawberry.Info,
        input: Annotated[inputs.RedeemProductKeyInput, strawberry.argument(description="The key.")],
    ) -> payloads.RedeemProductKeyPayload:
        return await mutations.resolve_redeem_product_key(info, input)


    @strawberry.mutation(description="Buy a product or start its trial: admins for the organization, plain users self-service. Accepts an idempotency key.")
    async def purchase_subscription(
        self, info: strawberry.Info,
        input: Annotated[inputs.PurchaseSubscriptionInput, strawberry.argument(description="What to buy and how to pay.")],
    ) -> payloads.PurchaseSubscriptionPayload:
        return await mutations.resolve_purchase_subscription(info, input)

    @strawberry.mutation(description="Set whether plain users may buy a product themselves (global admins).")
    async def set_self_service_policy(
        self, info: strawberry.Info,
        input: Annotated[inputs.SetSelfServicePolicyInput, strawberry.argument(description="The product and its policy.")],
    ) -> payloads.SetSelfServicePolicyPayload:
        return await mutations.resolve_set_self_service_policy(info, input)


    @strawberry.mutation(description="Reactivate an expired or disabled subscription: MCA creates a new one, MOSA revives the same one with a payment method. Accepts an idempotency key.")
    async def reactivate_subscription(
        self, info: strawberry.Info,
        input: Annotated[inputs.ReactivateSubscriptionInput, strawberry.argument(description="The subscription and, for MOSA, how to pay.")],
    ) -> payloads.ReactivateSubscriptionPayload:
        return await mutations.resolve_reactivate_subscription(info, input)


    @strawberry.mutation(description="Pay an open or past-due invoice now with any card of its billing account. Accepts an idempotency key.")
    async def pay_invoice(
        self, info: strawberry.Info,
        input: Annotated[inputs.PayInvoiceInput, strawberry.argument(description="The invoice and the card.")],
    ) -> payloads.PayInvoicePayload:
        return await mutations.resolve_pay_invoice(info, input)

    @strawberry.mutation(description="Register a webhook endpoint (global admins): it receives the events committed from now on, as signed POSTs in sequence order. Returns the signing secret once.")
    async def create_webhook_endpoint(
        self, info: strawberry.Info,
        input: Annotated[inputs.CreateWebhookEndpointInput, strawberry.argument(description="Its URL, event types and description.")],
    ) -> payloads.CreateWebhookEndpointPayload:
        return await webhooks.resolve_create_webhook_endpoint(info, input)

    @strawberry.mutation(description="Change a webhook endpoint's URL, event types or description, or turn it off and on (global admins); enabling a FAILING endpoint resumes delivery where it stopped.")
    async def update_webhook_endpoint(
        self, info: strawberry.Info,
        input: Annotated[inputs.UpdateWebhookEndpointInput, strawberry.argument(description="The endpoint and its changes.")],
    ) -> payloads.UpdateWebhookEndpointPayload:
        return await webhooks.resolve_update_webhook_endpoint(info, input)

    @strawberry.mutation(description="Delete a webhook endpoint and its delivery history (global admins).")
    async def delete_webhook_endpoint(
        self, info: strawberry.Info,
        input: Annotated[inputs.DeleteWebhookEndpointInput, strawberry.argument(description="The endpoint.")],
    ) -> payloads.DeleteWebhookEndpointPayload:
        return await webhooks.resolve_delete_webhook_endpoint(info, input)

    @strawberry.mutation(description="Deliver an event to an endpoint once more, whatever was delivered before (global admins): one attempt, without retries, beside the endpoint's ordered stream.")
    async def redeliver_event(
        self, info: strawberry.Info,
        input: Annotated[inputs.RedeliverEventInput, strawberry.argument(description="The endpoint and the event.")],
    ) -> payloads.RedeliverEventPayload:
        return await webhooks.resolve_redeliver_event(info, input)


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
