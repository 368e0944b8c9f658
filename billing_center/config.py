"""Settings read from the environment, with defaults that run with no server at all."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "billing.db"
# WAL is Tortoise's default; FULL fsync because committed money must survive a power cut,
# and a busy timeout so a second process waits for the writer instead of failing at once.
SQLITE_PRAGMAS = "busy_timeout=5000&synchronous=FULL"


def default_database_url() -> str:
    """The embedded default: a SQLite file under ./var/ of the working directory."""
    return sqlite_url(DEFAULT_SQLITE_PATH)


def sqlite_url(path: Path | str) -> str:
    """A Tortoise SQLite URL for `path` carrying the pragmas billing data needs."""
    return f"sqlite://{Path(path).resolve()}?{SQLITE_PRAGMAS}"


def normalise_database_url(url: str) -> str:
    """Accept the spellings people paste (`postgresql://`) and name what Tortoise knows."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and "?" not in url and url != "sqlite://:memory:":
        url = f"{url}?{SQLITE_PRAGMAS}"
    return url


def is_sqlite(url: str) -> bool:
    """True when `url` names a SQLite database (one writer process)."""
    return url.startswith("sqlite://")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str = field(default_factory=default_database_url)
    operator_token: str | None = None
    graphiql: bool = True
    # Per worker: each uvicorn worker owns a pool, so workers x pool must stay below
    # PostgreSQL's max_connections.
    db_pool_size: int = 10

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read DATABASE_URL, BILLING_OPERATOR_TOKEN, BILLING_GRAPHIQL, BILLING_DB_POOL_SIZE."""
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL") or default_database_url()
        return cls(
            database_url=normalise_database_url(url),
            operator_token=env.get("BILLING_OPERATOR_TOKEN") or None,
            graphiql=env.get("BILLING_GRAPHIQL", "1").lower() not in ("0", "false", "no"),
            db_pool_size=int(env.get("BILLING_DB_POOL_SIZE", "10")),
        )
