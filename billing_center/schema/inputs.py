"""Mutation inputs: one `<Verb><Noun>Input` per mutation (API.md)."""

from __future__ import annotations

import strawberry

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
    sandbox: bool = strawberry.field(default=False, description="A sandbox tenant gets a test clock (`advanceClock`).")
    domain_prefix: str | None = strawberry.field(
        default=None,
        description="Prefix of the default `<prefix>.onmicrosoft.com` domain; derived from the name when omitted.",
    )


@strawberry.input(description="A new user of the caller's tenant.")
class CreateUserInput:
    display_name: str = strawberry.field(description="Name shown in the admin center.")
    email: str = strawberry.field(description="Sign-in email, unique in the tenant.")
    roles: list[enums.Role] = strawberry.field(default_factory=list, description="Admin roles; none (or USER) for a plain user.")


@strawberry.input(description="Which user gets a new API token.")
class CreateApiTokenInput:
    user_id: strawberry.ID = strawberry.field(description="The user: yourself, or anyone in your tenant if you are a global admin.")


@strawberry.input(description="Users to give seats: of one subscription, or of a product (its active subscriptions, oldest first).")
class AssignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription whose seats to use (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product whose subscriptions' seats to use, oldest subscription first.")
    user_ids: list[strawberry.ID] = strawberry.field(description="1 to 20 users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Users whose seats to take back: in one subscription, or in a product's subscriptions.")
class UnassignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product: the users' seats in any of its subscriptions you manage.")
    user_ids: list[strawberry.ID] = strawberry.field(description="1 to 20 users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.input(description="Turn a subscription's auto-renew on or off.")
class SetAutoRenewInput:
    subscription_id: strawberry.ID = strawberry.field(description="The subscription.")
    auto_renew: bool = strawberry.field(description="On (renews at term end) or off (expires at term end).")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")
