"""Fixtures: every test runs on SQLite and on PostgreSQL (TEST_POSTGRES_URL, by default the
local server as in scripts/test), each time on a clean database (migrated once per backend,
emptied before every test). Without a reachable PostgreSQL those runs are skipped, and the
terminal summary says why; BILLING_REQUIRE_POSTGRES=1 makes them fail instead."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from tortoise import Tortoise

from billing_center import db
from billing_center.app import create_app
from billing_center.config import Settings, sqlite_url
from billing_center.domain.catalogue import load_catalogue
from billing_center.domain.clock import FixedClock
from billing_center.domain.payment_gateway import SandboxGateway
from billing_center.resolvers import compiled
from tests import compiled_shadow

# The same default as scripts/test, so that plain `pytest` runs the PostgreSQL half too.
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


def postgres_url(environ: Mapping[str, str]) -> str:
    """TEST_POSTGRES_URL, or scripts/test's default when it is unset or empty."""
    return environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def unreachable_reason(url: str, error: BaseException) -> str:
    """Why the PostgreSQL runs cannot happen and how to make them (the password left out)."""
    where = urlsplit(url).hostname or "?"
    port = urlsplit(url).port or 5432
    return (f"PostgreSQL at {where}:{port} (TEST_POSTGRES_URL) is unreachable: {error}. Start one there, "
            "or set TEST_POSTGRES_URL=postgres://user@host:5432/db; -k 'not postgres' runs SQLite only.")


POSTGRES_URL = postgres_url(os.environ)
_postgres_skipped: list[str] = []  # the reason, once the PostgreSQL runs were skipped
# CI sets this so that a PostgreSQL run that cannot happen fails instead of skipping.
REQUIRE_POSTGRES = os.environ.get("BILLING_REQUIRE_POSTGRES") == "1"
OPERATOR_TOKEN = "operator-test-token"
START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def _pg_admin_and_test_urls(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.replace("postgresql://", "postgres://"))
    name = f"billing_test_{os.getpid()}"
    test_url = urlunsplit(parts._replace(path=f"/{name}"))
    return urlunsplit(parts._replace(scheme="postgresql")), test_url, name


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated database of one backend, shared by the session's tests of that backend."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite") / "billing.db")
        await db.migrate_db(url)
        yield url
        await _close()
        return
    admin_url, url, name = _pg_admin_and_test_urls(POSTGRES_URL)
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        reason = unreachable_reason(POSTGRES_URL, error)
        if REQUIRE_POSTGRES:
            pytest.fail(f"BILLING_REQUIRE_POSTGRES=1: {reason}")
        _postgres_skipped.append(reason)
        pytest.skip(reason)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await db.migrate_db(url)
    yield url
    await _close()
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end of the run when the PostgreSQL half was skipped, with the reason."""
    if _postgres_skipped:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {_postgres_skipped[0]}", yellow=True)


_current_url: str | None = None


async def _close() -> None:
    # An open aiosqlite connection keeps its thread, and so the test process, alive.
    global _current_url
    await db.close_db()
    _current_url = None


async def _empty_all_tables() -> None:
    connection = Tortoise.get_connection("default")
    tables = [model._meta.db_table for model in Tortoise.apps["models"].values()]
    if connection.capabilities.dialect == "postgres":
        await connection.execute_script(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )
    else:
        script = "PRAGMA foreign_keys=OFF;" + "".join(f'DELETE FROM "{t}";' for t in tables)
        await connection.execute_script(script + "PRAGMA foreign_keys=ON;")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """A clean database with the default catalogue, open in this process."""
    global _current_url
    if _current_url != database_url:
        await db.init_db(database_url)
        _current_url = database_url
    await _empty_all_tables()
    await load_catalogue()
    yield database_url


@pytest.fixture
def backend(database_url: str) -> str:
    """"sqlite" or "postgres"."""
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


@pytest.fixture
def clock() -> FixedClock:
    """The test clock, standing at START until a test moves it."""
    return FixedClock(START)


@pytest.fixture
def gateway() -> SandboxGateway:
    """The sandbox payment gateway the app charges (it lists its refunds)."""
    return SandboxGateway()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, operator_token=OPERATOR_TOKEN, graphiql=True)


@pytest.fixture(autouse=True)
def compiled_reads_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every read the compiled path answers is answered again by the regular path and must be
    the same (`compiled_shadow`)."""
    compiled_shadow.DIFFERENCES.clear()
    monkeypatch.setattr(compiled, "answer", compiled_shadow.shadowed)
    yield
    assert not compiled_shadow.DIFFERENCES, "\n\n".join(compiled_shadow.DIFFERENCES)


@pytest.fixture
async def client(
    database: str, settings: Settings, clock: FixedClock, gateway: SandboxGateway
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, in process (the test has opened the database)."""
    app = create_app(settings, clock=clock, manage_db=False, gateway=gateway)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def limited(
    database: str, settings: Settings, clock: FixedClock, gateway: SandboxGateway
) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but every caller has only 20 points a minute (rate-limit tests)."""
    app = create_app(dataclasses.replace(settings, rate_limit_points=20), clock=clock, manage_db=False,
                     gateway=gateway)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


class SqlCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s" and record.args and not compiled_shadow.SHADOWING.get():
            self.statements.append(str(record.args[0]))

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_sql() -> Iterator[SqlCounter]:
    """`with count_sql() as sql: ...; sql.count` - statements sent inside the block."""
    logger = logging.getLogger("tortoise.db_client")
    counter = SqlCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
