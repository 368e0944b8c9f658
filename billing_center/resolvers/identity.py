"""Mutation resolvers for people and their API tokens (SPEC §1 rev. 2): decode the input,
call one domain service, shape the payload."""

from __future__ import annotations

from billing_center.domain import models, tokens, users
from billing_center.resolvers.context import Info
from billing_center.resolvers.errors import run_mutation
from billing_center.resolvers.queries import decode_id
from billing_center.schema import inputs, payloads, types
from billing_center.schema.ids import to_global_id


async def resolve_create_api_token(info: Info, data: inputs.CreateApiTokenInput) -> payloads.CreateApiTokenPayload:
    """createApiToken: a new token for the caller only."""

    async def work() -> payloads.CreateApiTokenPayload:
        actor = info.context.require_actor()
        created = await tokens.create_api_token(actor, data.name, data.expires_at, info.context.wall_clock)
        row = {column: getattr(created.row, column) for column in created.row._meta.fields_db_projection}
        return payloads.CreateApiTokenPayload(token=created.token, api_token=types.ApiToken.from_row(row))

    return await run_mutation(payloads.CreateApiTokenPayload, work)


async def resolve_revoke_api_token(info: Info, data: inputs.RevokeApiTokenInput) -> payloads.RevokeApiTokenPayload:
    """revokeApiToken: your own token, or any of the tenant's as a global admin."""

    async def work() -> payloads.RevokeApiTokenPayload:
        actor = info.context.require_actor()
        token_id = decode_id(data.token_id, "ApiToken", ("input", "tokenId"))
        await tokens.revoke_api_token(actor, token_id, info.context.wall_clock)
        return payloads.RevokeApiTokenPayload(revoked_token_id=to_global_id("ApiToken", token_id))

    return await run_mutation(payloads.RevokeApiTokenPayload, work)


async def resolve_set_user_roles(info: Info, data: inputs.SetUserRolesInput) -> payloads.SetUserRolesPayload:
    """setUserRoles (global admins)."""

    async def work() -> payloads.SetUserRolesPayload:
        actor = info.context.require_actor()
        user_id = decode_id(data.user_id, "User", ("input", "userId"))
        await users.set_user_roles(actor, user_id, [models.Role(r.value) for r in data.roles], info.context.clock)
        return payloads.SetUserRolesPayload(user=await info.context.loaders.user_by_id.load(user_id))

    return await run_mutation(payloads.SetUserRolesPayload, work)


async def resolve_remove_user(info: Info, data: inputs.RemoveUserInput) -> payloads.RemoveUserPayload:
    """removeUser (global admins)."""

    async def work() -> payloads.RemoveUserPayload:
        actor = info.context.require_actor()
        user_id = decode_id(data.user_id, "User", ("input", "userId"))
        await users.remove_user(actor, user_id, info.context.clock)
        return payloads.RemoveUserPayload(removed_user_id=to_global_id("User", user_id))

    return await run_mutation(payloads.RemoveUserPayload, work)
