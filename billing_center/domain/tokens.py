"""API tokens (SPEC §1 rev. 2): a token belongs to one user and acts as that user only.

A user creates, names, lists and revokes their own tokens, optionally with an expiry; a
global admin may revoke any token of the tenant. Nobody mints a token for someone else: the
first token of a new user comes once, from `createUser` (`domain.tenants`).

Token times (created, last used, expiry) are wall-clock times: `clock` here is always the
application's clock, never a sandbox tenant's test clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from billing_center.domain import audit, auth, models
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found

MAX_NAME = 100
# The furthest expiry a token may have: long-lived secrets are what leaks (audit finding 8).
MAX_LIFETIME = timedelta(days=365)
# Live (not revoked, not expired) tokens per user: enough for every script of a person,
# and keeps `User.apiTokens` a short list.
MAX_LIVE_TOKENS = 50


@dataclass(frozen=True)
class CreatedToken:
    """A new token in clear (shown once) and its row."""

    token: str
    row: models.ApiToken


def live(now: datetime) -> Q:
    """Tokens that work at `now` (wall clock): not revoked, not expired. A removed user's
    tokens are revoked with the removal (`domain.users`)."""
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def token_name(value: str | None) -> str:
    """A token's name: 1 to MAX_NAME characters once trimmed. Raises INVALID_INPUT."""
    name = (value or "").strip()
    if not name or len(name) > MAX_NAME:
        raise DomainError(ErrorCode.INVALID_INPUT, f"A token name has 1 to {MAX_NAME} characters.",
                          ("input", "name"))
    return name


def _expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give expiresAt with a time zone (e.g. ...Z).",
                          ("input", "expiresAt"))
    if expires_at <= now or expires_at > now + MAX_LIFETIME:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"expiresAt must be in the future and at most {MAX_LIFETIME.days} days ahead.",
                          ("input", "expiresAt"))
    return expires_at


async def create_api_token(actor: Actor, name: str | None, expires_at: datetime | None, clock: Clock) -> CreatedToken:
    """A new token for the caller, and only the caller (§1 rev. 2). Raises FORBIDDEN (the
    operator), INVALID_INPUT (name, expiry), TOKEN_LIMIT_REACHED (MAX_LIVE_TOKENS live)."""
    tenant_id = actor.require_tenant()
    name = token_name(name)
    now = clock.now()
    expires_at = _expiry(expires_at, now)
    async with atomic():
        # Racing calls of one user count one after the other (the caller's row locked on
        # PostgreSQL; SQLite runs one transaction at a time), so the bound holds, and a
        # removal waits for, or wins over, the new token.
        locked = await models.User.filter(id=actor.user_id, tenant_id=tenant_id, removed_at__isnull=True) \
            .select_for_update(no_key=True).only("id")  # (values queries drop the lock)
        if not locked:
            raise DomainError(ErrorCode.FORBIDDEN, "Your user has been removed.")
        count = await models.ApiToken.filter(live(now), tenant_id=tenant_id, user_id=actor.user_id).count()
        if count >= MAX_LIVE_TOKENS:
            raise DomainError(
                ErrorCode.TOKEN_LIMIT_REACHED,
                f"You have {MAX_LIVE_TOKENS} live tokens, the most allowed; revoke one first.",
            )
        token, row = await auth.issue_token(tenant_id, actor.user_id, now, name, expires_at)  # type: ignore[arg-type]
        # Only whose token it is: every admin reads the audit log, while a token's name and
        # expiry are for its owner and global admins (§8 rev. 2: no more than elsewhere).
        await audit.record(actor, tenant_id, "api_token.created", "ApiToken", row.id, now,
                           after={"userId": actor.user_id})
    return CreatedToken(token, row)


async def revoke_api_token(actor: Actor, token_id: int, clock: Clock) -> None:
    """Revoke a live token: your own, or any of the tenant's as a global admin. It answers
    401 from the next request. Raises NOT_FOUND (also for tokens you may not see)."""
    tenant_id = actor.require_tenant()
    now = clock.now()
    owned = {} if actor.is_global_admin else {"user_id": actor.user_id}
    async with atomic():
        # Write-first and conditional: of two racing revocations one revokes, the other finds
        # nothing to revoke.
        revoked = await models.ApiToken.filter(live(now), id=token_id, tenant_id=tenant_id, **owned).update(
            revoked_at=now)
        if not revoked:
            raise not_found("ApiToken", ("input", "tokenId"))
        owner = await models.ApiToken.filter(id=token_id).values_list("user_id", flat=True)
        await audit.record(actor, tenant_id, "api_token.revoked", "ApiToken", token_id, now,
                           before={"userId": owner[0]})
