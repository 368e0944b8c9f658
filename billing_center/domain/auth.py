"""Bearer tokens: issued once in clear, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import json
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from billing_center.domain import models
from billing_center.domain.actor import Actor

TOKEN_PREFIX = "bc_"


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens carry 256 random bits, so a fast hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def issue_token(tenant_id: int, user_id: int, at: datetime) -> str:
    """Create an API token for a user and return it in clear (the only time it is seen)."""
    token = new_token()
    await models.ApiToken.create(
        tenant_id=tenant_id, user_id=user_id, token_hash=hash_token(token), created_at=at
    )
    return token


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated caller and, for a sandbox tenant, its clock at that moment."""

    actor: Actor
    tenant_clock_now: datetime | None = None


async def authenticate(token: str, operator_token: str | None) -> Session | None:
    """Who a bearer token stands for (one statement), or None when unknown or revoked."""
    if operator_token and hmac.compare_digest(token.encode(), operator_token.encode()):
        return Session(Actor.operator())
    rows = (
        await models.ApiToken.filter(token_hash=hash_token(token), revoked_at=None)
        .limit(1)
        .values("tenant_id", "user_id", "user__roles", "tenant__clock_now")
    )
    if not rows:
        return None
    row = rows[0]
    roles = row["user__roles"]
    if isinstance(roles, str):  # a JSON column read through a join comes back undecoded
        roles = json.loads(roles)
    return Session(Actor.user(row["tenant_id"], row["user_id"], roles), row["tenant__clock_now"])
