"""Settings read from the environment, with defaults that run with no server at all."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing_center.domain.clock import Clock
    from billing_center.webhooks.deliverer import Deliverer

DEFAULT_SQLITE_PATH = Path("var") / "billing.db"
# WAL is Tortoise's default; FULL fsync because committed money must survive a power cut,
# and a busy timeout so a second process waits for the writer instead of failing at once.
SQLITE_PRAGMAS = "busy_timeout=5000&synchronous=FULL"
# PostgreSQL connections per worker. A read takes a connection twice (the token lookup, then
# its statement); with fewer connections than requests in flight the second wait sends it to
# the back of the queue again: at 16 in flight, a pool of 10 gave p99/p50 2.8-3.2 on the
# peers bench's small read, one of 16 gave 2.3-2.7.
DEFAULT_DB_POOL_SIZE = 16


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


# Payment gateways this build can charge through (SPEC §2). Only the sandbox exists: it
# charges no real card, so production runs on it only when told so explicitly.
PAYMENT_GATEWAYS = ("sandbox",)


class ConfigurationError(ValueError):
    """A setting the service cannot start with; its message says what to set."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, not {raw!r}")


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name} must be a number above 0, not {raw!r}")
    return value


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
    db_pool_size: int = DEFAULT_DB_POOL_SIZE
    # "production" turns GraphiQL, introspection and field suggestions off (README).
    environment: str = "development"
    # Browser origins allowed to call the API (CORS); none by default: scripts need none.
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    # Answers larger than this are replaced by RESPONSE_TOO_LARGE (transport.py).
    max_response_bytes: int = 10 * 1024 * 1024
    # Requests in flight per worker before new ones are shed with 503 (0: no limit).
    max_concurrency: int = 256
    request_timeout_seconds: float = 10.0
    # PostgreSQL only, for the API's connections (a billing run's statements may be longer).
    statement_timeout_ms: int = 5000
    # Points per caller and minute (query 1, mutation 5); 0 turns the limit off (benchmarks).
    rate_limit_points: int = 2000
    # The payment gateway (one of PAYMENT_GATEWAYS); None in production until it is named:
    # the service then refuses to start rather than take money through the sandbox.
    payment_gateway: str | None = "sandbox"
    # Whether signUp may create sandbox tenants (a test clock, SPEC §7): off in production
    # unless BILLING_ALLOW_SANDBOX_TENANTS=1.
    allow_sandbox_tenants: bool = True
    # How `billing-center serve` writes its log lines: `json` (one object per line), `text`,
    # or `auto` (JSON unless stderr is a terminal).
    log_format: str = "auto"
    # Whether each `serve` worker delivers webhooks in the background (off when
    # `billing-center deliver-webhooks` runs as its own process instead).
    webhook_delivery: bool = True
    # Seconds one delivery may take (connect, send, answer) before it counts as failed.
    webhook_timeout_seconds: float = 10.0
    # How long a deliverer holds an endpoint without news (None: the timeout + 30 s). A
    # deliverer that dies leaves its endpoints unserved that long; it must exceed the timeout.
    webhook_lease_seconds: float | None = None
    # Endpoints one deliverer works on at a time.
    webhook_concurrency: int = 4
    # Wait after a delivery's first failure; it doubles per attempt up to 6 hours.
    webhook_first_retry_seconds: float = 60.0
    # Days events (and delivery attempts) are kept before they are pruned.
    event_retention_days: int = 30

    @property
    def production(self) -> bool:
        """True for the production profile."""
        return self.environment == "production"

    def deliverer(self, clock: "Clock | None" = None) -> "Deliverer":
        """A webhook deliverer configured by these settings (`billing_center.webhooks`)."""
        from datetime import timedelta

        from billing_center.domain.clock import SystemClock
        from billing_center.webhooks.deliverer import Deliverer

        return Deliverer(
            production=self.production, clock=clock or SystemClock(), timeout=self.webhook_timeout_seconds,
            lease_seconds=self.webhook_lease_seconds,
            workers=self.webhook_concurrency, first_retry=timedelta(seconds=self.webhook_first_retry_seconds),
            event_retention=timedelta(days=self.event_retention_days))

    def require_payment_gateway(self) -> str:
        """The gateway to charge through; ConfigurationError when none was named (production)."""
        if self.payment_gateway is None:
            raise ConfigurationError(
                "BILLING_ENV=production needs BILLING_PAYMENT_GATEWAY. This build has only the sandbox "
                "gateway, which charges no real card (test card numbers succeed): set "
                "BILLING_PAYMENT_GATEWAY=sandbox to run production on it knowingly."
            )
        return self.payment_gateway

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read DATABASE_URL, BILLING_OPERATOR_TOKEN, BILLING_GRAPHIQL, BILLING_DB_POOL_SIZE,
        BILLING_ENV, BILLING_CORS_ORIGINS (comma-separated), BILLING_MAX_BODY_BYTES, BILLING_MAX_RESPONSE_BYTES,
        BILLING_MAX_CONCURRENCY, BILLING_REQUEST_TIMEOUT_SECONDS, BILLING_STATEMENT_TIMEOUT_MS,
        BILLING_RATE_LIMIT_POINTS, BILLING_PAYMENT_GATEWAY (default `sandbox` in development only) and
        BILLING_ALLOW_SANDBOX_TENANTS (default 1 in development, 0 in production), BILLING_LOG_FORMAT
        (auto, json or text), BILLING_WEBHOOK_DELIVERY (1: serve delivers webhooks), BILLING_WEBHOOK_TIMEOUT_SECONDS,
        BILLING_WEBHOOK_LEASE_SECONDS (how long a deliverer's lease on an endpoint lasts without news,
        so how long a killed deliverer's endpoints wait for another: above the timeout; default the
        timeout + 30 s), BILLING_WEBHOOK_CONCURRENCY, BILLING_WEBHOOK_FIRST_RETRY_SECONDS and
        BILLING_EVENT_RETENTION_DAYS."""
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL") or default_database_url()
        environment = env.get("BILLING_ENV", "development").strip().lower() or "development"
        if environment not in ("development", "production"):
            raise ValueError(f"BILLING_ENV must be development or production, not {environment!r}")
        production = environment == "production"
        origins = tuple(o.strip() for o in env.get("BILLING_CORS_ORIGINS", "").split(",") if o.strip())
        if "*" in origins:
            raise ValueError("BILLING_CORS_ORIGINS must list origins (https://admin.example.com), not *")
        gateway = env.get("BILLING_PAYMENT_GATEWAY", "").strip().lower() or (None if production else "sandbox")
        if gateway is not None and gateway not in PAYMENT_GATEWAYS:
            raise ConfigurationError(
                f"BILLING_PAYMENT_GATEWAY must be one of {', '.join(PAYMENT_GATEWAYS)}, not {gateway!r}")
        log_format = env.get("BILLING_LOG_FORMAT", "").strip().lower() or "auto"
        if log_format not in ("auto", "json", "text"):
            raise ConfigurationError(f"BILLING_LOG_FORMAT must be auto, json or text, not {log_format!r}")
        webhook_timeout = _positive(env, "BILLING_WEBHOOK_TIMEOUT_SECONDS", 10.0)
        lease = _positive(env, "BILLING_WEBHOOK_LEASE_SECONDS", 0) or None
        if lease is not None and lease <= webhook_timeout:
            raise ConfigurationError(f"BILLING_WEBHOOK_LEASE_SECONDS ({lease:g}) must be above "
                                     f"BILLING_WEBHOOK_TIMEOUT_SECONDS ({webhook_timeout:g})")
        return cls(
            database_url=normalise_database_url(url),
            operator_token=env.get("BILLING_OPERATOR_TOKEN") or None,
            # GraphiQL is a development tool: production never serves it.
            graphiql=not production and env.get("BILLING_GRAPHIQL", "1").lower() not in ("0", "false", "no"),
            db_pool_size=int(env.get("BILLING_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE)),
            environment=environment,
            cors_origins=origins,
            max_body_bytes=int(env.get("BILLING_MAX_BODY_BYTES", str(1024 * 1024))),
            max_response_bytes=int(env.get("BILLING_MAX_RESPONSE_BYTES", str(10 * 1024 * 1024))),
            max_concurrency=int(env.get("BILLING_MAX_CONCURRENCY", "256")),
            request_timeout_seconds=float(env.get("BILLING_REQUEST_TIMEOUT_SECONDS", "10")),
            statement_timeout_ms=int(env.get("BILLING_STATEMENT_TIMEOUT_MS", "5000")),
            rate_limit_points=int(env.get("BILLING_RATE_LIMIT_POINTS", "2000")),
            payment_gateway=gateway,
            allow_sandbox_tenants=_flag(env, "BILLING_ALLOW_SANDBOX_TENANTS", default=not production),
            log_format=log_format,
            webhook_delivery=_flag(env, "BILLING_WEBHOOK_DELIVERY", default=True),
            webhook_timeout_seconds=webhook_timeout,
            webhook_lease_seconds=lease,
            webhook_concurrency=int(_positive(env, "BILLING_WEBHOOK_CONCURRENCY", 4)),
            webhook_first_retry_seconds=_positive(env, "BILLING_WEBHOOK_FIRST_RETRY_SECONDS", 60.0),
            event_retention_days=int(_positive(env, "BILLING_EVENT_RETENTION_DAYS", 30)),
        )
