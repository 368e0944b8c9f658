"""Mutations of organizations, people and their API tokens (SPEC §1, §1 rev. 2)."""

from __future__ import annotations

from billing_center.domain import models, tenants, tokens, users
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation, row_of
from billing_center.schema import types
from billing_center.schema.ids import to_global_id
from billing_center.schema.mutations import identity as schema


@mutation("Create an organization, its default domain and its first global admin, who owns its billing account; "
          "returns the admin's token. No token needed.",
          input="The organization and its admin.", public=True)
async def sign_up(ctx: Context, data: schema.SignUpInput) -> schema.SignUpPayload:
    """signUp: a tenant, its first global admin and their token (SPEC §1)."""
    result = await tenants.sign_up(
        tenants.SignUp(
            organization_name=data.organization_name,
            admin_display_name=data.admin_display_name,
            admin_email=data.admin_email,
            cloud=models.Cloud(data.cloud.value),
            billing_account_type=models.BillingAccountType(data.billing_account_type.value),
            charge_schedule=models.ChargeSchedule(data.charge_schedule.value),
            sandbox=data.sandbox,
            domain_prefix=data.domain_prefix,
        ),
        ctx.clock,
        allow_sandbox=ctx.allow_sandbox_tenants,
    )
    # The payload is read as the new admin, so its nested fields show their tenant.
    ctx.become(Actor.user(result.tenant.id, result.user.id, result.user.roles), result.tenant.clock_now)
    return schema.SignUpPayload(
        tenant=types.Tenant.from_row(row_of(result.tenant)),
        user=types.User.from_row(row_of(result.user)),
        token=result.token,
        billing_account=types.BillingAccount.from_row(row_of(result.billing_account)),
        billing_profile=types.BillingProfile.from_row(row_of(result.billing_profile)),
    )


@mutation("Add a user to your tenant (global admins); returns the user's first API token.",
          input="The new user.")
async def create_user(actor: Actor, ctx: Context, data: schema.CreateUserInput) -> schema.CreateUserPayload:
    """createUser: a global admin adds a user and gets the user's first token."""
    result = await tenants.create_user(
        actor, data.display_name, data.email, [models.Role(r.value) for r in data.roles], ctx.clock, ctx.wall_clock,
    )
    return schema.CreateUserPayload(user=types.User.from_row(row_of(result.user)), token=result.token)


@mutation("Create an API token for yourself (only for yourself: nobody mints tokens for others), named, "
          "optionally expiring; at most 50 live tokens per user.",
          input="Its name and expiry.")
async def create_api_token(actor: Actor, ctx: Context,
                           data: schema.CreateApiTokenInput) -> schema.CreateApiTokenPayload:
    """createApiToken: a new token for the caller only."""
    created = await tokens.create_api_token(actor, data.name, data.expires_at, ctx.wall_clock)
    return schema.CreateApiTokenPayload(token=created.token, api_token=types.ApiToken.from_row(row_of(created.row)))


@mutation("Revoke an API token: one of yours, or any of your tenant's as a global admin. "
          "Requests with it get HTTP 401 at once.",
          input="The token.")
async def revoke_api_token(actor: Actor, ctx: Context,
                           data: schema.RevokeApiTokenInput) -> schema.RevokeApiTokenPayload:
    """revokeApiToken: your own token, or any of the tenant's as a global admin."""
    token_id = input_id(data, "token_id", "ApiToken")
    await tokens.revoke_api_token(actor, token_id, ctx.wall_clock)
    return schema.RevokeApiTokenPayload(revoked_token_id=to_global_id("ApiToken", token_id))


@mutation("Set a user's roles (global admins); the organization always keeps a global admin.",
          input="The user and their roles.")
async def set_user_roles(actor: Actor, ctx: Context, data: schema.SetUserRolesInput) -> schema.SetUserRolesPayload:
    """setUserRoles (global admins)."""
    user_id = input_id(data, "user_id", "User")
    await users.set_user_roles(actor, user_id, [models.Role(r.value) for r in data.roles], ctx.clock)
    return schema.SetUserRolesPayload(user=await ctx.loaders.user_by_id.load(user_id))


@mutation("Remove a user (global admins): their tokens stop working at once, their licences are unassigned, "
          "the self-service subscriptions they pay for run to their term end with auto-renew off; "
          "the audit log still names them.",
          input="The user.")
async def remove_user(actor: Actor, ctx: Context, data: schema.RemoveUserInput) -> schema.RemoveUserPayload:
    """removeUser (global admins)."""
    user_id = input_id(data, "user_id", "User")
    await users.remove_user(actor, user_id, ctx.clock)
    return schema.RemoveUserPayload(removed_user_id=to_global_id("User", user_id))
