"""Mutation resolvers: decode the input, call one domain service, shape the payload."""

from __future__ import annotations

from typing import Any

from billing_center.domain import models, tenants
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Info
from billing_center.resolvers.errors import run_mutation
from billing_center.resolvers.queries import decode_id
from billing_center.schema import inputs, payloads, types


def row_of(instance: models.Model) -> dict[str, Any]:
    """The column values of a freshly written entity, as `.values()` would return them."""
    return {column: getattr(instance, column) for column in instance._meta.fields_db_projection}


async def resolve_sign_up(info: Info, data: inputs.SignUpInput) -> payloads.SignUpPayload:
    """signUp: a tenant, its first global admin and their token (SPEC §1)."""

    async def work() -> payloads.SignUpPayload:
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
            info.context.clock,
        )
        # The payload is read as the new admin, so its nested fields show their tenant.
        info.context.become(
            Actor.user(result.tenant.id, result.user.id, result.user.roles), result.tenant.clock_now
        )
        return payloads.SignUpPayload(
            tenant=types.Tenant.from_row(row_of(result.tenant)),
            user=types.User.from_row(row_of(result.user)),
            token=result.token,
        )

    return await run_mutation(payloads.SignUpPayload, work)


async def resolve_create_user(info: Info, data: inputs.CreateUserInput) -> payloads.CreateUserPayload:
    """createUser: a global admin adds a user and gets the user's first token."""

    async def work() -> payloads.CreateUserPayload:
        actor = info.context.require_actor()
        result = await tenants.create_user(
            actor, data.display_name, data.email, [models.Role(r.value) for r in data.roles],
            info.context.clock,
        )
        return payloads.CreateUserPayload(user=types.User.from_row(row_of(result.user)), token=result.token)

    return await run_mutation(payloads.CreateUserPayload, work)


async def resolve_create_api_token(info: Info, data: inputs.CreateApiTokenInput) -> payloads.CreateApiTokenPayload:
    """createApiToken: a new token for yourself, or for anyone as a global admin."""

    async def work() -> payloads.CreateApiTokenPayload:
        actor = info.context.require_actor()
        user_id = decode_id(data.user_id, "User", ("input", "userId"))
        token = await tenants.create_api_token(actor, user_id, info.context.clock)
        return payloads.CreateApiTokenPayload(token=token)

    return await run_mutation(payloads.CreateApiTokenPayload, work)
