"""Mutation inputs: one `<Verb><Noun>Input` per mutation (API.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from billing_center.domain.licenses import MAX_USERS_PER_CALL
from billing_center.domain.subscription_rules import MAX_QUANTITY, MAX_TRIAL_QUANTITY, MIN_QUANTITY
from billing_center.schema import enums


@strawberry.input(description="A new organization and its first global admin.")
class SignUpInput:
    organization_name: str = strawberry.field(description="The organization's name.")
    admin_display_name: str = strawberry.field(description="The first global admin's name.")
    admin_email: str = strawberry.field(description="The first global admin's email.")
    cloud: enums.Cloud = strawberry.field(description="The cloud the tenant lives in.")
    billing_account_type: enums.BillingAccountType = strawberry.field(description="The agreement of its billing account: MCA or MOSA.")
    charge_schedule: enums.ChargeSchedule = strawberry.field(
        default=enums.ChargeSchedule.ACCOUNT_BILLING_DAY,  # type: ignore[attr-defined]
        description="When renewals are charged (default ACCOUNT_BILLING_DAY).",
    )
    sandbox: bool = strawberry.field(default=False, description="A sandbox tenant gets a test clock (`advanceClock`). Refused with SANDBOX_NOT_ALLOWED where the deployment does not offer them (production by default).")
    domain_prefix: str | None = strawberry.field(
        default=None,
        description="Prefix of the default `<prefix>.onmicrosoft.com` domain; derived from the name when omitted.",
    )


@strawberry.input(description="A new user of the caller's tenant.")
class CreateUserInput:
    display_name: str = strawberry.field(description="Name shown in the admin center.")
    email: str = strawberry.field(description="Sign-in email, unique in the tenant.")
    roles: list[enums.Role] = strawberry.field(default_factory=list, description="Admin roles; none (or USER) for a plain user.")


@strawberry.input(description="A new API token for yourself (nobody mints tokens for others).")
class CreateApiTokenInput:
    name: str = strawberry.field(description="What it is for, 1 to 100 characters (e.g. the script that uses it).")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working: in the future, at most 365 days ahead. Omitted: it works until revoked.",
    )


@strawberry.input(description="An API token to revoke.")
class RevokeApiTokenInput:
    token_id: strawberry.ID = strawberry.field(description="The token: one of yours, or any of your tenant's if you are a global admin.")


@strawberry.input(description="A user's new roles (global admins).")
class SetUserRolesInput:
    user_id: strawberry.ID = strawberry.field(description="The user, of your tenant.")
    roles: list[enums.Role] = strawberry.field(description="All their roles from now on; none (or USER) for a plain user.")


@strawberry.input(description="A user to remove from the organization (global admins).")
class RemoveUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user, of your tenant.")


@strawberry.input(description="Users to give seats: of one subscription, or of a product (its active subscriptions, oldest first).")
class AssignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription whose seats to use (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product whose subscriptions' seats to use, oldest subscription first.")
    user_ids: list[strawberry.ID] = strawberry.field(description=f"1 to {MAX_USERS_PER_CALL} users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Users whose seats to take back: in one subscription, or in a product's subscriptions.")
class UnassignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product: the users' seats in any of its subscriptions you manage.")
    user_ids: list[strawberry.ID] = strawberry.field(description=f"1 to {MAX_USERS_PER_CALL} users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Turn a subscription's auto-renew on or off.")
class SetAutoRenewInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    auto_renew: bool = strawberry.field(description="On (renews at term end) or off (expires at term end).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="A postal address; surrounding spaces are dropped, a field too long or a country that is no ISO 3166-1 code is refused with INVALID_INPUT naming it.")
class AddressInput:
    line1: str = strawberry.field(description="Street and number: 1 to 200 characters.")
    line2: str | None = strawberry.field(default=None, description="Further address line: at most 200 characters.")
    city: str = strawberry.field(description="City: 1 to 100 characters.")
    postal_code: str = strawberry.field(description="Postal code: 1 to 20 characters.")
    state: str | None = strawberry.field(default=None, description="State or region: at most 100 characters.")
    country: str = strawberry.field(description="An officially assigned ISO 3166-1 alpha-2 country code, e.g. `DE` (any case).")

    def to_json(self) -> dict:
        return {"line1": self.line1, "line2": self.line2, "city": self.city,
                "postal_code": self.postal_code, "state": self.state, "country": self.country}


@strawberry.input(description="A card as typed. Number and security code are strings so that no error can echo them; neither is stored.")
class CardInput:
    number: str = strawberry.field(description="The card number: 12 to 19 digits 0-9; spaces and dashes are ignored.")
    security_code: str = strawberry.field(description="The 3- or 4-digit security code (digits 0-9).")
    expiry_month: int = strawberry.field(description="Expiry month, 1-12.")
    expiry_year: int = strawberry.field(description="Expiry year, four digits.")
    name_on_card: str = strawberry.field(description="Cardholder name.")
    address: AddressInput | None = strawberry.field(default=None, description="Billing address of the card.")


@strawberry.input(description="A new card for a billing profile; it becomes the profile's payment method.")
class AddPaymentMethodInput:
    billing_profile_id: strawberry.ID = strawberry.field(description="The billing profile.")
    card: CardInput = strawberry.field(description="The card.")


@strawberry.input(description="Changes to a stored card: security code, expiry, name, address.")
class UpdatePaymentMethodInput:
    payment_method_id: strawberry.ID = strawberry.field(description="The card.")
    security_code: str | None = strawberry.field(default=None, description="A new security code (checked, passed to the gateway, never stored).")
    expiry_month: int | None = strawberry.field(default=None, description="New expiry month.")
    expiry_year: int | None = strawberry.field(default=None, description="New expiry year.")
    name_on_card: str | None = strawberry.field(default=None, description="New cardholder name.")
    address: AddressInput | None = strawberry.field(default=None, description="New billing address.")


@strawberry.input(description="Make another card of the same billing account the profile's payment method.")
class ReplacePaymentMethodInput:
    billing_profile_id: strawberry.ID = strawberry.field(description="The billing profile.")
    payment_method_id: strawberry.ID = strawberry.field(description="The card to use from now on.")


@strawberry.input(description="A custom domain for the tenant, optionally attached to a subscription.")
class AddDomainInput:
    name: str = strawberry.field(description="The domain name, e.g. contoso.com.")
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription it serves; it blocks cancelling that subscription until removed.")


@strawberry.input(description="Which custom domain to remove.")
class RemoveDomainInput:
    domain_id: strawberry.ID = strawberry.field(description="The domain (not the default one).")


@strawberry.input(description="The new total licence count of a subscription (100 plus 5 more: give 105).")
class UpdateLicenseQuantityInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    total_licenses: int = strawberry.field(description=f"The new total: {MIN_QUANTITY} to {MAX_QUANTITY:,} and at least the assigned count; a trial at most {MAX_TRIAL_QUANTITY}.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Cancel a subscription, saying why.")
class CancelSubscriptionInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    reason: enums.CancellationReason = strawberry.field(description="Why it is cancelled.")
    feedback: str | None = strawberry.field(default=None, description="Free-text feedback, at most 2000 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Keys to issue (operator only).")
class IssueProductKeysInput:
    product_id: strawberry.ID = strawberry.field(description="The product the keys activate.")
    count: int = strawberry.field(description="How many keys, 1-100.")
    cloud: enums.Cloud = strawberry.field(description="The cloud the keys are valid in.")
    quantity: int = strawberry.field(default=1, description="Licences each key buys.")
    commitment_term: enums.CommitmentTerm = strawberry.field(default=enums.CommitmentTerm.ANNUAL, description="The prepaid term.")  # type: ignore[attr-defined]
    valid_days: int = strawberry.field(default=365, description="Days until the keys expire.")


@strawberry.input(description="A product key to redeem.")
class RedeemProductKeyInput:
    product_key: str = strawberry.field(description="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX; case, dashes and spaces are ignored.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")


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


@strawberry.input(description="Whether plain users may buy a product themselves.")
class SetSelfServicePolicyInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    policy: enums.SelfServicePolicy = strawberry.field(description="ALLOW, TRIALS_ONLY or DENY.")


@strawberry.input(description="Reactivate an expired or disabled subscription.")
class ReactivateSubscriptionInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    payment_method_id: strawberry.ID | None = strawberry.field(default=None, description="MOSA: a card of its billing account to pay with.")
    new_payment_method: CardInput | None = strawberry.field(default=None, description="MOSA: a new card to pay with.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Pay an open or past-due invoice now.")
class PayInvoiceInput:
    invoice_id: strawberry.ID = strawberry.field(description="The invoice.")
    payment_method_id: strawberry.ID = strawberry.field(description="Any card of the invoice's billing account.")
    idempotency_key: str | None = strawberry.field(default=None, description="Repeat a call safely: the same key and input return the first result (1-255 characters).")


@strawberry.input(description="Where to move a sandbox tenant's test clock.")
class AdvanceClockInput:
    to: datetime = strawberry.field(description="The new moment, with its time zone; not before the clock's current moment, at most 3 years ahead.")


@strawberry.input(description="Which live tenants to bill up to now (operator only).")
class RunBillingInput:
    tenant_id: strawberry.ID | None = strawberry.field(default=None, description="Only this live tenant; by default every live tenant.")


@strawberry.input(description="A webhook endpoint to register (global admins).")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="Where to POST events: https, and outside development a public address (not loopback, private, link-local or metadata).")
    event_types: list[str] | None = strawberry.field(default=None, description="Event types to receive, e.g. [\"invoice.paid\", \"subscription.*\"]; omitted or empty: every type.")
    description: str | None = strawberry.field(default=None, description="What it is for, at most 200 characters.")


@strawberry.input(description="Changes to a webhook endpoint (global admins); omitted fields stay as they are.")
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description="A new URL, checked like at registration.")
    event_types: list[str] | None = strawberry.field(default=None, description="The event types it receives from now on; empty: every type.")
    enabled: bool | None = strawberry.field(default=None, description="False stops deliveries; true resumes them, also for a FAILING endpoint (from the event it stopped at).")
    description: str | None = strawberry.field(default=None, description="A new description.")


@strawberry.input(description="A webhook endpoint to delete, with its delivery history (global admins).")
class DeleteWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="An event to deliver again to an endpoint (global admins).")
class RedeliverEventInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint, enabled.")
    event_id: strawberry.ID = strawberry.field(description="The event, of any type, delivered before or not.")
