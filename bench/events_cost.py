"""What business events cost a mutation (issue #14, item 6; SPEC §9).

    .venv/bin/python bench/events_cost.py [--requests 400] [--postgres postgres://postgres@127.0.0.1:5432/test]

In process (the ASGI app through httpx, no network), one tenant flips auto-renew on 20
subscriptions, one request at a time, then with 8 at once. Each series runs twice with the
same build: with events (as shipped), and with `audit.record_events` replaced by a no-op, so
the difference is what numbering and writing the events costs. Prints p50/p99 per series and
the ratios (goal: with / without ≤ 1.10). The two runs alternate to spread the machine's noise.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.app import create_app  # noqa: E402
from billing_center.config import Settings, sqlite_url  # noqa: E402
from billing_center.domain import atomic, audit, models  # noqa: E402
from billing_center.domain.catalogue import load_catalogue  # noqa: E402
from billing_center.domain.clock import FixedClock  # noqa: E402
from billing_center.domain.payment_gateway import SandboxGateway  # noqa: E402
from billing_center.schema.ids import to_global_id  # noqa: E402

from tests import factories  # noqa: E402

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
FLIP = """mutation($input: SetAutoRenewInput!) { setAutoRenew(input: $input) { userErrors { code } } }"""


async def _noop(_rows: list) -> None:
    return None


async def series(http: httpx.AsyncClient, token: str, ids: list[str], requests: int, concurrency: int) -> list[float]:
    """Latencies (ms) of `requests` flips, `concurrency` at a time."""
    latencies: list[float] = []
    flips = iter(range(requests))

    async def worker() -> None:
        for n in flips:
            started = time.perf_counter()
            body = (await http.post("/graphql", json={"query": FLIP, "variables": {"input": {
                "subscriptionId": ids[n % len(ids)], "autoRenew": (n // len(ids)) % 2 == 1}}},
                headers={"Authorization": f"Bearer {token}"})).json()
            latencies.append((time.perf_counter() - started) * 1000)
            assert "errors" not in body, body

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def quantiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


async def measure(url: str, label: str, requests: int) -> None:
    await db.migrate_db(url)
    await db.init_db(url)
    await load_catalogue()
    clock = FixedClock(NOW)
    org = await factories.sign_up(clock)
    ids = [to_global_id("Subscription", (await factories.add_subscription(org, clock, quantity=1)).id)
           for _ in range(20)]
    app = create_app(Settings(database_url=url, rate_limit_points=0), clock=clock, manage_db=False,
                     gateway=SandboxGateway())
    results: dict[tuple[str, int], list[float]] = {}
    original = atomic.record_events
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        await series(http, org.token, ids, 50, 1)  # warm up
        for _ in range(2):
            for events_on in (True, False):
                # `audit` imported the function itself: it is replaced where it is looked up
                audit.record_events = original if events_on else _noop
                for concurrency in (1, 8):
                    key = ("with" if events_on else "without", concurrency)
                    results.setdefault(key, []).extend(await series(http, org.token, ids, requests // 2, concurrency))
        audit.record_events = original
    written = await models.Event.filter(tenant_id=org.tenant.id).count()
    await db.close_db()
    for concurrency in (1, 8):
        with_p50, with_p99 = quantiles(results[("with", concurrency)])
        without_p50, without_p99 = quantiles(results[("without", concurrency)])
        print(f"{label:8} c={concurrency}: with events p50 {with_p50:.2f} ms p99 {with_p99:.2f} ms; without p50 "
              f"{without_p50:.2f} ms p99 {without_p99:.2f} ms; ratio p50 {with_p50 / without_p50:.2f}, "
              f"p99 {with_p99 / without_p99:.2f}")
    print(f"{label:8} events written in the 'with' runs (and the sign-up): {written}")


async def main(requests: int, postgres: str | None) -> None:
    await measure(sqlite_url(Path(tempfile.mkdtemp()) / "events.db"), "sqlite", requests)
    if postgres:
        admin = await asyncpg.connect(postgres.replace("postgres://", "postgresql://"))
        await admin.execute('DROP DATABASE IF EXISTS "billing_events_bench"')
        await admin.execute('CREATE DATABASE "billing_events_bench"')
        await admin.close()
        base = postgres.rsplit("/", 1)[0]
        await measure(f"{base}/billing_events_bench", "postgres", requests)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--postgres")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.postgres))
