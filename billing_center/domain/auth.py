"""Bearer tokens: issued once in clear, stored only as a SHA-256 hash."""

from __future__ import annotations

import functools
import hashlib
import json
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billing_center.domain import models, rows
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
    """An authenticated caller and, for a sandbox tenant, its clock at that moment.

    `tenant` is the caller's tenant row as read with the token (field name -> value), so a
    request that reads its tenant needs no statement of its own."""

    actor: Actor
    tenant_clock_now: datetime | None = None
    tenant: dict[str, Any] | None = None


_TENANT_PREFIX = "tenant__"


@functools.cache
def _lookup_statement(dialect: str) -> str:
    mark = "$1" if dialect == "postgres" else "?"
    tenant_columns, _ = rows.select_list(models.Tenant, alias="n", prefix=_TENANT_PREFIX)
    return (
        f'SELECT t."tenant_id", t."user_id", u."roles", {tenant_columns} FROM "api_token" t '
        'JOIN "app_user" u ON u."id" = t."user_id" JOIN "tenant" n ON n."id" = t."tenant_id" '
        f'WHERE t."token_hash" = {mark} AND t."revoked_at" IS NULL LIMIT 1'
    )


async def authenticate(token: str, operator_token: str | None) -> Session | None:
    """Who a bearer token stands for (one statement), or None when unknown or revoked.

    Every request runs this, so it is one fixed SQL text rather than a query the ORM builds
    each time (measured: 0.4 ms of CPU through the ORM, 0.1 ms as a fixed statement)."""
    if operator_token and hmac.compare_digest(token.encode(), operator_token.encode()):
        return Session(Actor.operator())
    connection = models.ApiToken._meta.db
    found = await connection.execute_query_dict(_lookup_statement(connection.capabilities.dialect),
                                                [hash_token(token)])
    if not found:
        return None
    row = found[0]
    roles = row["roles"]
    if isinstance(roles, str):  # JSON arrives as text from both drivers
        roles = json.loads(roles)
    tenant = rows.convert(row, rows.select_list(models.Tenant, alias="n", prefix=_TENANT_PREFIX)[1])
    return Session(Actor.user(row["tenant_id"], row["user_id"], roles), tenant["clock_now"], tenant)
