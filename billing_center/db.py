"""Tortoise configuration shared by the app, the tests and the migration commands."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext, get_current_context
from tortoise.migrations.api import migrate as run_migrations

from billing_center.config import DEFAULT_DB_POOL_SIZE, Settings, is_sqlite, normalise_database_url

APP_LABEL = "models"
MODELS_MODULE = "billing_center.domain.models"
MIGRATIONS_MODULE = "billing_center.domain.migrations"


def _with_pool_size(url: str, pool_size: int) -> str:
    # asyncpg's pool defaults to 1..5 connections in Tortoise, which queues requests early.
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("minsize", "1")
    query.setdefault("maxsize", str(pool_size))
    return urlunsplit(parts._replace(query=urlencode(query)))


class NoResetConnection(asyncpg.Connection):
    """A pooled PostgreSQL connection released without asyncpg's reset query.

    The default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) is one
    more round trip per statement, because Tortoise acquires a connection per query
    (PERFORMANCE.md §4.6: +18% requests/s without it). It is safe here because the service
    keeps no session state: no session SET, advisory lock, LISTEN or WITH HOLD cursor. asyncpg
    still rolls back a transaction left open on release."""

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(database_url: str, pool_size: int = DEFAULT_DB_POOL_SIZE,
                    statement_timeout_ms: int | None = None) -> dict[str, Any]:
    """The Tortoise config dict for `database_url` (SQLite or PostgreSQL); on PostgreSQL,
    `statement_timeout_ms` caps every statement of these connections."""
    url = normalise_database_url(database_url)
    connection: str | dict[str, Any] = url
    if not is_sqlite(url):
        connection = expand_db_url(_with_pool_size(url, pool_size))
        connection["credentials"]["connection_class"] = NoResetConnection
        if statement_timeout_ms:
            connection["credentials"]["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str, pool_size: int = DEFAULT_DB_POOL_SIZE,
                  statement_timeout_ms: int | None = None) -> None:
    """Open Tortoise for this process; requests run in other tasks than the lifespan, hence
    the global fallback context (STACK.md §0.1)."""
    # The executor cache is process-global and keyed by connection name: after a switch of
    # backend it would hand SQLite SQL to PostgreSQL (STACK.md §0.3).
    EXECUTOR_CACHE.clear()
    # Only one global context may exist: a process that switches databases (the test suite)
    # closes the previous one first.
    await close_db()
    await Tortoise.init(config=tortoise_config(database_url, pool_size, statement_timeout_ms),
                        _enable_global_fallback=True)


async def close_db() -> None:
    """Close every connection opened by `init_db` (no-op when none is open)."""
    if get_current_context() is not None:
        await Tortoise.close_connections()


async def migrate_db(database_url: str) -> None:
    """Apply every committed migration to `database_url` (creates the SQLite file's tables).

    Runs in a context of its own, so it neither needs nor disturbs an open `init_db`."""
    EXECUTOR_CACHE.clear()
    async with TortoiseContext():
        await run_migrations(config=tortoise_config(database_url))
    EXECUTOR_CACHE.clear()


# The `tortoise` command line (makemigrations, sqlmigrate) reads this:
# `tortoise -c billing_center.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config(Settings.from_env().database_url)
