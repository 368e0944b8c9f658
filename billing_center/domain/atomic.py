"""One transaction per write (STYLE: every write is one transaction), ending with the numbering
of the business events its changes wrote (SPEC §9, `events`).

`atomic()` is `tortoise.transactions.in_transaction()` that collects the events written inside
it and numbers them as its last statements, just before the commit. So a tenant's event
counter row is locked only for the commit itself, and never before another row of the same
transaction: two writers cannot wait for each other through it (a lock-order cycle with the
billing engine, which locks the rows it takes and then the counters of their tenants). Nested,
it is a savepoint: the events of a part rolled back are dropped with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from tortoise.transactions import in_transaction

from billing_center.domain import events

_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("pending_events", default=None)


@asynccontextmanager
async def atomic() -> AsyncIterator[Any]:
    """A transaction (a savepoint when nested) whose events are numbered at its end."""
    outer = _pending.get()
    if outer is not None:
        mark = len(outer)
        try:
            async with in_transaction() as connection:
                yield connection
        except BaseException:
            del outer[mark:]
            raise
        return
    pending: list[dict[str, Any]] = []
    token = _pending.set(pending)
    try:
        async with in_transaction() as connection:
            yield connection
            await events.append(pending)
    finally:
        _pending.reset(token)
    if pending:
        events.wake_listeners()


async def record_events(audit_rows: list[dict[str, Any]]) -> None:
    """Have the events of `audit_rows` written by the enclosing `atomic()` at its end; outside
    one, numbered and written at once in a transaction of their own."""
    pending = _pending.get()
    if pending is not None:
        pending.extend(audit_rows)
        return
    async with atomic():
        await record_events(audit_rows)
