"""Mutation payloads: the changed objects plus `userErrors` (API.md conventions)."""

from __future__ import annotations

import strawberry

from billing_center.schema import enums
from billing_center.schema.types import Tenant, User


@strawberry.type(description="A refused business rule: a code to act on, the input field at fault and a message.")
class UserError:
    code: enums.ErrorCode = strawberry.field(description="What went wrong, stable for scripts.")
    field: list[str] | None = strawberry.field(description="Path of the input field at fault, e.g. [\"input\", \"adminEmail\"].")
    message: str = strawberry.field(description="What went wrong, for people.")


@strawberry.type(description="Result of `signUp`.")
class SignUpPayload:
    tenant: Tenant | None = strawberry.field(default=None, description="The new tenant.")
    user: User | None = strawberry.field(default=None, description="Its first global admin, owner of its billing account.")
    token: str | None = strawberry.field(default=None, description="The admin's API token. Shown only once: store it.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.type(description="Result of `createUser`.")
class CreateUserPayload:
    user: User | None = strawberry.field(default=None, description="The new user.")
    token: str | None = strawberry.field(default=None, description="The user's first API token. Shown only once.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.type(description="Result of `createApiToken`.")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(default=None, description="The new API token. Shown only once.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why no token was created, if so.")
