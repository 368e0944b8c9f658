"""Mutation payloads: the changed objects plus `userErrors` (API.md conventions)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from billing_center.domain.subscription_rules import DATA_RETENTION_AFTER_CANCEL, DISABLED_PERIOD
from billing_center.schema import enums
from billing_center.schema.types import ApiToken, BillingAccount, BillingProfile, Domain, Invoice, InvoiceLine, Money, Product, LicenseAssignment, PaymentMethod, Subscription, Tenant, User, WebhookDelivery, WebhookEndpoint


@strawberry.type(description="A refused business rule: a code to act on, the input field at fault and a message.")
class UserError:
    code: enums.ErrorCode = strawberry.field(description="What went wrong, stable for scripts.")
    field: list[str] | None = strawberry.field(description="Path of the input field at fault, e.g. [\"input\", \"adminEmail\"].")
    message: str = strawberry.field(description="What went wrong, for people.")
    retry_after: int | None = strawberry.field(
        default=None, description="For THROTTLED: seconds to wait before trying again."
    )


@strawberry.type(description="Result of `signUp`.")
class SignUpPayload:
    tenant: Tenant | None = strawberry.field(default=None, description="The new tenant.")
    user: User | None = strawberry.field(default=None, description="Its first global admin, owner of its billing account.")
    token: str | None = strawberry.field(default=None, description="The admin's API token. Shown only once: store it.")
    billing_account: BillingAccount | None = strawberry.field(default=None, description="The organization's billing account, owned by the admin.")
    billing_profile: BillingProfile | None = strawberry.field(default=None, description="The billing account's profile: give its id to `addPaymentMethod` to put a card on file.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.type(description="Result of `createUser`.")
class CreateUserPayload:
    user: User | None = strawberry.field(default=None, description="The new user.")
    token: str | None = strawberry.field(default=None, description="The user's first API token. Shown only once.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.type(description="Result of `createApiToken`.")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(default=None, description="The new API token. Shown only once.")
    api_token: ApiToken | None = strawberry.field(default=None, description="The new token's name and dates.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why no token was created, if so.")


@strawberry.type(description="Result of `revokeApiToken`.")
class RevokeApiTokenPayload:
    revoked_token_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the revoked token; requests with it get 401 from now on.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `setUserRoles`.")
class SetUserRolesPayload:
    user: User | None = strawberry.field(default=None, description="The user with their new roles.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `removeUser`.")
class RemoveUserPayload:
    removed_user_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the removed user.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="What a licence call did for one user.")
class LicenseAssignmentResult:
    user_id: strawberry.ID = strawberry.field(description="The user, as given.")
    outcome: enums.LicenseOutcome = strawberry.field(description="Assigned, already assigned, unassigned or not assigned.")
    assignment: LicenseAssignment | None = strawberry.field(default=None, description="The new assignment (ASSIGNED only).")


@strawberry.type(description="Result of `assignLicenses`.")
class AssignLicensesPayload:
    assignments: list[LicenseAssignment] = strawberry.field(default_factory=list, description="The assignments created by this call.")
    results: list[LicenseAssignmentResult] = strawberry.field(default_factory=list, description="One result per user, in the order given.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription whose seats were used (the first, by product).")
    subscriptions: list[Subscription] = strawberry.field(default_factory=list, description="Every subscription whose seats changed.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nobody was assigned, if so.")


@strawberry.type(description="Result of `unassignLicenses`.")
class UnassignLicensesPayload:
    results: list[LicenseAssignmentResult] = strawberry.field(default_factory=list, description="One result per user, in the order given.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription whose seats were freed (the first, by product).")
    subscriptions: list[Subscription] = strawberry.field(default_factory=list, description="Every subscription whose seats changed.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `setAutoRenew`.")
class SetAutoRenewPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription as it is now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `addPaymentMethod` and `updatePaymentMethod`.")
class PaymentMethodPayload:
    payment_method: PaymentMethod | None = strawberry.field(default=None, description="The card, masked.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `replacePaymentMethod`.")
class ReplacePaymentMethodPayload:
    billing_profile: BillingProfile | None = strawberry.field(default=None, description="The profile with its new payment method.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `addDomain`.")
class AddDomainPayload:
    domain: Domain | None = strawberry.field(default=None, description="The new domain.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `removeDomain`.")
class RemoveDomainPayload:
    removed_domain_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the removed domain.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `updateLicenseQuantity`.")
class UpdateLicenseQuantityPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription with its new licence count.")
    invoice_line: InvoiceLine | None = strawberry.field(default=None, description="The pro-rata charge or credit, outstanding until the billing engine invoices it; null when the total did not change.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="What cancelling a subscription now would do.")
class CancellationPreview:
    eligible: bool = strawberry.field(description="Whether you may cancel it now.")
    blockers: list[UserError] = strawberry.field(description="Every reason it cannot be cancelled now, as the errors cancelSubscription would return.")
    disabled_until: datetime | None = strawberry.field(description=f"Cancelled now, it stays DISABLED until then ({DISABLED_PERIOD.days} days), then is deleted.")
    data_deletable_from: datetime | None = strawberry.field(description="Customer data may be deleted from then on.")
    data_deleted_by: datetime | None = strawberry.field(description=f"Customer data is deleted by then at the latest ({DATA_RETENTION_AFTER_CANCEL.days} days).")
    credit: Money = strawberry.field(description="The pro-rata credit for the unused part of the term, on the next invoice.")
    credit_explanation: str = strawberry.field(description="How the credit is computed: rate, licences, days, rounding.")
    affected_users: int = strawberry.field(description="How many users would lose the service.")


@strawberry.type(description="Result of `cancelSubscription`.")
class CancelSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription, now DISABLED.")
    credit: Money | None = strawberry.field(default=None, description="The pro-rata credit put on the next invoice.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `issueProductKeys`.")
class IssueProductKeysPayload:
    keys: list[str] = strawberry.field(default_factory=list, description="The new keys, formatted XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why no keys were issued, if so.")


@strawberry.type(description="Result of `redeemProductKey`.")
class RedeemProductKeyPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The prepaid subscription the key created.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `purchaseSubscription`.")
class PurchaseSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The new subscription.")
    invoice: Invoice | None = strawberry.field(default=None, description="The paid invoice when the purchase was charged at once (on a RENEWAL_DAY account, or the account's first purchase); null when it is charged on the next billing day, and for a trial.")
    invoice_line: InvoiceLine | None = strawberry.field(default=None, description="The purchase line: on `invoice` when charged at once, else outstanding until the next billing day; null for a trial.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was bought, if so.")


@strawberry.type(description="Result of `setSelfServicePolicy`.")
class SetSelfServicePolicyPayload:
    product: Product | None = strawberry.field(default=None, description="The product.")
    policy: enums.SelfServicePolicy | None = strawberry.field(default=None, description="Its policy in your tenant now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `reactivateSubscription`.")
class ReactivateSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The active subscription: MCA, the new one; MOSA, the same one.")
    previous_subscription: Subscription | None = strawberry.field(default=None, description="The subscription that was reactivated (MCA: stays as it was, pointing to its successor).")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `payInvoice`.")
class PayInvoicePayload:
    invoice: Invoice | None = strawberry.field(default=None, description="The invoice, PAID when the charge succeeded.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why it is not paid, if so (a declined charge is recorded as a failed attempt).")


@strawberry.type(description="One thing the billing engine did.")
class ClockTransition:
    at: datetime = strawberry.field(description="When it happened, on the tenant's clock.")
    kind: enums.TransitionKind = strawberry.field(description="What happened.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription it happened to, if any.")
    invoice: Invoice | None = strawberry.field(default=None, description="The invoice it happened to, if any.")
    description: str = strawberry.field(description="What happened, in words (amounts, dates, why).")


@strawberry.type(description="Result of `advanceClock`.")
class AdvanceClockPayload:
    now: datetime | None = strawberry.field(default=None, description="The sandbox clock after the move.")
    complete: bool = strawberry.field(default=True, description="False when the work one call may do (200 transitions) ran out before `to`: the clock stopped at the end of that day (`now`); call again with the same `to` to carry on. The work done is charged to your rate limit, a point per transition.")
    transitions: list[ClockTransition] = strawberry.field(default_factory=list, description="What the billing engine did on the way, in order.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why the clock did not move, if so.")


@strawberry.type(description="Result of `runBilling`.")
class RunBillingPayload:
    processed: int = strawberry.field(default=0, description="How many transitions the engine made (renewals, expiries, invoices, charges, ...).")
    counts: list[TransitionCount] = strawberry.field(default_factory=list, description="The transitions by kind.")
    failures: list[BillingFailure] = strawberry.field(default_factory=list, description="Tenants whose day could not be processed: each was recorded and skipped, and every other tenant was billed. The next run tries them again.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why billing did not run, if so.")


@strawberry.type(description="A tenant the billing engine skipped because processing one of its days failed.")
class BillingFailure:
    tenant_id: strawberry.ID = strawberry.field(description="The tenant's global id.")
    day: date = strawberry.field(description="The day that could not be processed.")
    error: str = strawberry.field(description="What went wrong (for the operator; also in the service log).")


@strawberry.type(description="How many transitions of one kind a billing run made.")
class TransitionCount:
    kind: enums.TransitionKind = strawberry.field(description="What happened.")
    count: int = strawberry.field(description="How many times.")


@strawberry.type(description="Result of `createWebhookEndpoint`.")
class CreateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The new endpoint; it receives the events committed from now on.")
    secret: str | None = strawberry.field(default=None, description="The signing secret (HMAC-SHA256 key of the `Billing-Signature` header). Shown only once: store it.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.type(description="Result of `updateWebhookEndpoint`.")
class UpdateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The endpoint as it is now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="Result of `deleteWebhookEndpoint`.")
class DeleteWebhookEndpointPayload:
    deleted_endpoint_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted endpoint.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was deleted, if so.")


@strawberry.type(description="Result of `redeliverEvent`.")
class RedeliverEventPayload:
    delivery: WebhookDelivery | None = strawberry.field(default=None, description="The redelivery, PENDING until a deliverer makes it (within a second or so).")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was queued, if so.")
