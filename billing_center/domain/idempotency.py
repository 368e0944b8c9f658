"""Idempotency keys of money-moving mutations (API.md): the same key with the same input
returns the first result and does nothing again; with another input it is refused.

The key is recorded, with the result, in the mutation's own transaction, so the record and
the change commit together or not at all. A concurrent call with the same key fails on the
unique (tenant, user, mutation, key) index, which rolls its whole transaction back, and then
replays the first result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from billing_center.domain import models
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.errors import DomainError, ErrorCode

MAX_KEY_LENGTH = 255
Outcome = TypeVar("Outcome")


def request_hash(values: dict[str, Any]) -> str:
    """A fingerprint of a mutation's input, independent of key order."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Key:
    """An idempotency key of one user for one mutation, with its input's fingerprint: keys are
    per user, so two people of a tenant choosing the same key never meet."""

    mutation: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, mutation: str, key: str | None, values: dict[str, Any]) -> "Key | None":
        if key is None:
            return None
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.",
                ("input", "idempotencyKey"),
            )
        return cls(mutation, key, request_hash(values))


async def previous_result(actor: Actor, key: Key | None) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None when there was none.
    Raises IDEMPOTENCY_KEY_REUSED when the key came with a different input."""
    if key is None:
        return None
    rows = await models.IdempotencyRecord.filter(
        tenant_id=actor.tenant_id, user_id=actor.user_id, mutation=key.mutation, key=key.key
    ).values("request_hash", "response")
    if not rows:
        return None
    if rows[0]["request_hash"] != key.fingerprint:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was used with a different input.",
            ("input", "idempotencyKey"),
        )
    return rows[0]["response"]


async def replay(actor: Actor, key: Key | None,
                 outcome: Callable[[dict[str, Any], bool], Outcome]) -> Outcome | None:
    """The outcome of an earlier call with this key, built by `outcome` (the service's
    outcome type's `of`) from its stored result as a replay, or None when there was none.
    Call it first, before any rule is checked, so that a repeat is answered even when its
    rules no longer hold. Raises IDEMPOTENCY_KEY_REUSED when the key came with another input."""
    previous = await previous_result(actor, key)
    return None if previous is None else outcome(previous, True)


async def record(actor: Actor, key: Key | None, result: dict[str, Any], at: datetime) -> None:
    """Record the key with its result; call inside the mutation's transaction. A concurrent
    record of the same key raises IntegrityError (then `previous_result` replays)."""
    if key is None:
        return
    await models.IdempotencyRecord.create(
        tenant_id=actor.tenant_id, user_id=actor.user_id, mutation=key.mutation, key=key.key,
        request_hash=key.fingerprint, response=result, created_at=at,
    )


async def once(actor: Actor, key: Key | None, act: Callable[[], Awaitable[dict[str, Any]]], at: datetime,
                   lost_race: tuple[type[Exception], ...] = (IntegrityError, DomainError)) -> tuple[dict[str, Any], bool]:
    """Run `act` (the writes of a mutation, returning its result) in one transaction that
    also records the result under `key`; return the result and whether it is a replay.

    Call `replay` first, before any rule is checked, so that a repeat is answered even when
    its rules no longer hold. A call that loses a race to another with the same
    key fails on the unique key, or on the state the winner changed (`lost_race`), and
    rolls back; it then returns the winner's result, or raises when there is none."""
    try:
        async with atomic():
            result = await act()
            await record(actor, key, result, at)
    except lost_race:
        previous = await previous_result(actor, key)
        if previous is None:
            raise
        return previous, True
    return result, False
