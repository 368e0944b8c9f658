"""Inputs and payloads of the mutations of organizations, people and their API tokens:
signUp, createUser, createApiToken, revokeApiToken, setUserRoles, removeUser."""

from __future__ import annotations

from datetime import datetime

import strawberry

from billing_center.schema import enums
from billing_center.schema.errors import UserError
from billing_center.schema.types import ApiToken, BillingAccount, BillingProfile, Tenant, User


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


@strawberry.type(description="Result of `signUp`.")
class SignUpPayload:
    tenant: Tenant | None = strawberry.field(default=None, description="The new tenant.")
    user: User | None = strawberry.field(default=None, description="Its first global admin, owner of its billing account.")
    token: str | None = strawberry.field(default=None, description="The admin's API token. Shown only once: store it.")
    billing_account: BillingAccount | None = strawberry.field(default=None, description="The organization's billing account, owned by the admin.")
    billing_profile: BillingProfile | None = strawberry.field(default=None, description="The billing account's profile: give its id to `addPaymentMethod` to put a card on file.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.input(description="A new user of the caller's tenant.")
class CreateUserInput:
    display_name: str = strawberry.field(description="Name shown in the admin center.")
    email: str = strawberry.field(description="Sign-in email, unique in the tenant.")
    roles: list[enums.Role] = strawberry.field(default_factory=list, description="Admin roles; none (or USER) for a plain user.")


@strawberry.type(description="Result of `createUser`.")
class CreateUserPayload:
    user: User | None = strawberry.field(default=None, description="The new user.")
    token: str | None = strawberry.field(default=None, description="The user's first API token. Shown only once.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.input(description="A new API token for yourself (nobody mints tokens for others).")
class CreateApiTokenInput:
    name: str = strawberry.field(description="What it is for, 1 to 100 characters (e.g. the script that uses it).")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working: in the future, at most 365 days ahead. Omitted: it works until revoked.",
    )


@strawberry.type(description="Result of `createApiToken`.")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(default=None, description="The new API token. Shown only once.")
    api_token: ApiToken | None = strawberry.field(default=None, description="The new token's name and dates.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why no token was created, if so.")


@strawberry.input(description="An API token to revoke.")
class RevokeApiTokenInput:
    token_id: strawberry.ID = strawberry.field(description="The token: one of yours, or any of your tenant's if you are a global admin.")


@strawberry.type(description="Result of `revokeApiToken`.")
class RevokeApiTokenPayload:
    revoked_token_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the revoked token; requests with it get 401 from now on.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="A user's new roles (global admins).")
class SetUserRolesInput:
    user_id: strawberry.ID = strawberry.field(description="The user, of your tenant.")
    roles: list[enums.Role] = strawberry.field(description="All their roles from now on; none (or USER) for a plain user.")


@strawberry.type(description="Result of `setUserRoles`.")
class SetUserRolesPayload:
    user: User | None = strawberry.field(default=None, description="The user with their new roles.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="A user to remove from the organization (global admins).")
class RemoveUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user, of your tenant.")


@strawberry.type(description="Result of `removeUser`.")
class RemoveUserPayload:
    removed_user_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the removed user.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")
