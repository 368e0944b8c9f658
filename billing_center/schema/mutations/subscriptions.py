"""Inputs and payloads of the mutations of subscriptions: setAutoRenew,
updateLicenseQuantity, cancelSubscription, purchaseSubscription, setSelfServicePolicy,
reactivateSubscription."""

from __future__ import annotations

import strawberry

from billing_center.domain.subscription_rules import MAX_QUANTITY, MAX_TRIAL_QUANTITY, MIN_QUANTITY
from billing_center.schema import enums
from billing_center.schema.errors import UserError
from billing_center.schema.mutations.common import CardInput
from billing_center.schema.types import Invoice, InvoiceLine, Money, Product, Subscription


@strawberry.input(description="Turn a subscription's auto-renew on or off.")
class SetAutoRenewInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    auto_renew: bool = strawberry.field(description="On (renews at term end) or off (expires at term end).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `setAutoRenew`.")
class SetAutoRenewPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription as it is now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="The new total licence count of a subscription (100 plus 5 more: give 105).")
class UpdateLicenseQuantityInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    total_licenses: int = strawberry.field(description=f"The new total: {MIN_QUANTITY} to {MAX_QUANTITY:,} and at least the assigned count; a trial at most {MAX_TRIAL_QUANTITY}.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `updateLicenseQuantity`.")
class UpdateLicenseQuantityPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription with its new licence count.")
    invoice_line: InvoiceLine | None = strawberry.field(default=None, description="The pro-rata charge or credit, outstanding until the billing engine invoices it; null when the total did not change.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="Cancel a subscription, saying why.")
class CancelSubscriptionInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    reason: enums.CancellationReason = strawberry.field(description="Why it is cancelled.")
    feedback: str | None = strawberry.field(default=None, description="Free-text feedback, at most 2000 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `cancelSubscription`.")
class CancelSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription, now DISABLED.")
    credit: Money | None = strawberry.field(default=None, description="The pro-rata credit put on the next invoice.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="Buy a product: admins for the organization, plain users for themselves.")
class PurchaseSubscriptionInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    quantity: int = strawberry.field(description=f"Licences to buy: {MIN_QUANTITY} to {MAX_QUANTITY:,}; a trial {MIN_QUANTITY} to {MAX_TRIAL_QUANTITY}.")
    commitment_term: enums.CommitmentTerm = strawberry.field(description="MONTHLY or ANNUAL, as the product allows.")
    billing_account_id: strawberry.ID | None = strawberry.field(default=None, description="Admins: the account to buy on (default: the organization's). Self-service uses your own.")
    payment_method_id: strawberry.ID | None = strawberry.field(default=None, description="A card of that account to pay with.")
    new_payment_method: CardInput | None = strawberry.field(default=None, description="A new card to pay with (needed when the account has none).")
    trial: bool = strawberry.field(default=False, description=f"Start the product's free trial instead: one per product for the organization and one per product for each self-service buyer, neither using up the other; at most {MAX_TRIAL_QUANTITY} licences.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")


@strawberry.type(description="Result of `purchaseSubscription`.")
class PurchaseSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The new subscription.")
    invoice: Invoice | None = strawberry.field(default=None, description="The paid invoice when the purchase was charged at once (on a RENEWAL_DAY account, or the account's first purchase); null when it is charged on the next billing day, and for a trial.")
    invoice_line: InvoiceLine | None = strawberry.field(default=None, description="The purchase line: on `invoice` when charged at once, else outstanding until the next billing day; null for a trial.")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was bought, if so.")


@strawberry.input(description="Whether plain users may buy a product themselves.")
class SetSelfServicePolicyInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    policy: enums.SelfServicePolicy = strawberry.field(description="ALLOW, TRIALS_ONLY or DENY.")


@strawberry.type(description="Result of `setSelfServicePolicy`.")
class SetSelfServicePolicyPayload:
    product: Product | None = strawberry.field(default=None, description="The product.")
    policy: enums.SelfServicePolicy | None = strawberry.field(default=None, description="Its policy in your tenant now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="Reactivate an expired or disabled subscription.")
class ReactivateSubscriptionInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    payment_method_id: strawberry.ID | None = strawberry.field(default=None, description="MOSA: a card of its billing account to pay with.")
    new_payment_method: CardInput | None = strawberry.field(default=None, description="MOSA: a new card to pay with.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `reactivateSubscription`.")
class ReactivateSubscriptionPayload:
    subscription: Subscription | None = strawberry.field(default=None, description="The active subscription: MCA, the new one; MOSA, the same one.")
    previous_subscription: Subscription | None = strawberry.field(default=None, description="The subscription that was reactivated (MCA: stays as it was, pointing to its successor).")
    replayed: bool = strawberry.field(default=False, description="True when this is the stored result of an earlier call with the same idempotency key.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")
