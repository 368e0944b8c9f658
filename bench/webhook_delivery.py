"""Webhook deliveries per second to a local receiver (issue #14, item 6; SPEC §9).

    .venv/bin/python bench/webhook_delivery.py [--events 1000] [--fanout-events 200] [--endpoints 20]
        [--postgres postgres://postgres@127.0.0.1:5432/test]

The receiver is as cheap as a receiver gets, so the figures are the deliverer's: a plain asyncio
HTTP/1.1 server in a process of its own on 127.0.0.1 that reads each POST and answers 200 on the
same (kept-alive) connection. The deliverer runs in this process (`Deliverer.run_once`, the
wall clock, development rules so 127.0.0.1 is allowed) on a fresh SQLite file and, with
--postgres, on a fresh database `billing_webhook_bench` on that server. Two cases:

(a) one endpoint and --events events: ordered, one attempt at a time, each recorded before the
    next starts, so it is bound by round trips (HTTP + the attempt's transaction);
(b) --endpoints endpoints (default 20, 10 per tenant) that each take --fanout-events events
    of their tenant, delivered with
    the deliverer's concurrency (4, BILLING_WEBHOOK_CONCURRENCY's default, then one worker per
    endpoint);
(c) one endpoint whose events come one at a time, each delivered by a claim of its own before
    the next is written (a quiet hour of `serve`): the cost of a claim.

Each case prints the deliveries, the seconds, deliveries/s, p50/p99 of the attempts'
`duration_ms` (the HTTP exchange alone, from the attempt rows) and the SQL statements sent per
delivery (Tortoise's log; (c): the milliseconds per claim), so a change to the deliverer can
be weighed with it. The events are written beforehand (as `domain.added`, with a body of the
usual size): writing them is the events_cost benchmark's business, not this one's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.config import sqlite_url  # noqa: E402
from billing_center.domain import events, models, webhooks  # noqa: E402
from billing_center.domain.atomic import atomic  # noqa: E402
from billing_center.domain.catalogue import load_catalogue  # noqa: E402
from billing_center.domain.clock import FixedClock, SystemClock  # noqa: E402
from billing_center.webhooks.deliverer import Deliverer  # noqa: E402

from tests import factories  # noqa: E402

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
BENCH_DATABASE = "billing_webhook_bench"


# --- the receiver (run as `webhook_delivery.py --receiver`, prints its port) ---------------

class _Receiving(asyncio.Protocol):
    """HTTP/1.1 POSTs with Content-Length, pipelined or not; each answered 204."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


async def _receive() -> None:
    server = await asyncio.get_running_loop().create_server(_Receiving, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start_receiver() -> tuple[subprocess.Popen, int]:
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver"], stdout=subprocess.PIPE, text=True)
    return receiver, int(receiver.stdout.readline())


# --- the measurement -------------------------------------------------------------------------

class _Statements(logging.Handler):
    """Counts the SQL statements Tortoise sends (its db_client debug records)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s":
            self.count += 1


async def _write_events(tenant_id: int, actor_user_id: int, count: int) -> None:
    for start in range(0, count, 500):
        rows = [dict(tenant_id=tenant_id, actor_user_id=actor_user_id, action="domain.added", object_type="Domain",
                     object_id=n + 1, before=None, after={"name": f"d{n}.contoso.example", "verified": False,
                                                           "subscriptionId": None, "addedAt": NOW.isoformat()},
                     at=NOW) for n in range(start, min(count, start + 500))]
        async with atomic():
            await events.append(rows)


async def case(label: str, port: int, endpoints: int, count: int, workers: int) -> None:
    """`endpoints` endpoints (10 a tenant: a tenant has at most 16), `count` events each;
    deliver them all and print."""
    clock = FixedClock(NOW)
    policy = webhooks.UrlPolicy(production=False)
    ids = []
    for first in range(0, endpoints, 10):
        org = await factories.sign_up(clock, name=f"Bench{endpoints}x{workers}t{first}")
        for n in range(first, min(endpoints, first + 10)):
            created = await webhooks.create_endpoint(org.actor, f"http://127.0.0.1:{port}/hook/{n}", ["domain.*"],
                                                     None, policy, clock)
            ids.append(created.row["id"])
        await _write_events(org.tenant.id, org.admin.id, count)
    deliverer = Deliverer(production=False, clock=SystemClock(), timeout=10, workers=workers)
    counter = _Statements()
    logger = logging.getLogger("tortoise.db_client")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    started = time.perf_counter()
    try:
        made = await deliverer.run_once()
    finally:
        seconds = time.perf_counter() - started
        logger.removeHandler(counter)
        logger.setLevel(logging.WARNING)
    rows = await models.WebhookDelivery.filter(endpoint_id__in=ids).values_list("status", "duration_ms")
    assert made == len(rows) == endpoints * count, (made, len(rows))
    assert all(status == models.DeliveryStatus.SUCCEEDED for status, _ in rows)
    durations = [ms for _, ms in rows]
    cuts = statistics.quantiles(durations, n=100)
    print(f"{label}: {made} deliveries in {seconds:.2f} s = {made / seconds:.0f} deliveries/s; attempt duration "
          f"p50 {cuts[49]:.0f} ms p99 {cuts[98]:.0f} ms; {counter.count / made:.1f} SQL statements per delivery",
          flush=True)


async def trickle(label: str, port: int, count: int) -> None:
    """One endpoint, its events written one at a time, each delivered (one claim) before the
    next is written: what a deliverer pays per claim, as in a quiet hour of `serve`."""
    clock = FixedClock(NOW)
    org = await factories.sign_up(clock, name="BenchTrickle")
    created = await webhooks.create_endpoint(org.actor, f"http://127.0.0.1:{port}/hook/trickle", ["domain.*"],
                                             None, webhooks.UrlPolicy(production=False), clock)
    deliverer = Deliverer(production=False, clock=SystemClock(), timeout=10, workers=1)
    seconds = 0.0
    for _ in range(count):
        await _write_events(org.tenant.id, org.admin.id, 1)
        started = time.perf_counter()
        assert await deliverer.run_once() == 1
        seconds += time.perf_counter() - started
    made = await models.WebhookDelivery.filter(endpoint_id=created.row["id"]).count()
    assert made == count
    print(f"{label}: {made} deliveries, one claim each, in {seconds:.2f} s = {made / seconds:.0f} deliveries/s; "
          f"{seconds / made * 1000:.1f} ms per claim and delivery", flush=True)


async def measure(url: str, backend: str, port: int, count: int, fanout_count: int, endpoints: int) -> None:
    await db.migrate_db(url)
    await db.init_db(url)
    await load_catalogue()
    try:
        await case(f"{backend:8} (a) 1 endpoint, {count} events, ordered", port, 1, count, 1)
        for workers in (4, endpoints):
            await case(f"{backend:8} (b) {endpoints} endpoints x {fanout_count} events, concurrency {workers}",
                       port, endpoints, fanout_count, workers)
        await trickle(f"{backend:8} (c) 1 endpoint, events one at a time", port, 200)
    finally:
        await db.close_db()


async def main(count: int, fanout_count: int, endpoints: int, postgres: str | None) -> None:
    receiver, port = start_receiver()
    try:
        await measure(sqlite_url(Path(tempfile.mkdtemp()) / "webhooks.db"), "sqlite", port, count, fanout_count,
                      endpoints)
        if postgres:
            admin = await asyncpg.connect(postgres.replace("postgres://", "postgresql://"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"')
            await admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
            await admin.close()
            base = postgres.rsplit("/", 1)[0]
            await measure(f"{base}/{BENCH_DATABASE}", "postgres", port, count, fanout_count, endpoints)
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["--receiver"]:
        asyncio.run(_receive())
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="events for the one endpoint of (a)")
    parser.add_argument("--fanout-events", type=int, default=200, help="events for each endpoint of (b)")
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--postgres")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.fanout_events, arguments.endpoints, arguments.postgres))
