"""Read-path benchmark: the nested subscriptions query of issue #2, in process and over HTTP.

    .venv/bin/python bench/read_path.py [--postgres postgres://postgres@127.0.0.1:5432/test]

Builds one tenant with 100 subscriptions x 10 licence assignments (20 tenants' worth of
PERFORMANCE.md's "full tree"), then prints for each database: SQL statements per request,
resolved fields, ms per request and µs per resolved field in process (schema.execute, no
HTTP), and requests/s over HTTP through uvicorn with 16 concurrent clients (wrk when
installed, otherwise an httpx loop, which itself eats CPU: compare runs of the same kind).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.config import sqlite_url  # noqa: E402
from billing_center.domain.catalogue import load_catalogue  # noqa: E402
from billing_center.domain.clock import SystemClock  # noqa: E402
from billing_center.resolvers.context import Context  # noqa: E402
from billing_center.domain.auth import authenticate  # noqa: E402
from billing_center.schema.root import schema  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import count_sql  # noqa: E402

QUERY = """{ subscriptions(first: 100) { edges { node {
  id quantity product { name } billingAccount { billingProfiles { paymentMethod { last4 } } }
  licenseAssignments(first: 100) { edges { node { id user { displayName } } } } } } } }"""
SUBSCRIPTIONS, HOLDERS, USERS = 100, 10, 50


async def build(url: str) -> str:
    await db.migrate_db(url)
    await db.init_db(url)
    await load_catalogue()
    clock = SystemClock()
    org = await factories.sign_up(clock, name="Benchco")
    await factories.add_card(org, clock)
    users = [(await factories.add_user(org, clock, f"User {i}"))[0] for i in range(USERS)]
    for i in range(SUBSCRIPTIONS):
        holders = [users[(i + k) % USERS] for k in range(HOLDERS)]
        await factories.add_subscription(org, clock, quantity=HOLDERS + 5, holders=holders)
    return org.token


def count_fields(value: object) -> int:
    if isinstance(value, dict):
        return sum(1 + count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_fields(v) for v in value)
    return 0


async def in_process(token: str, rounds: int) -> dict:
    session = await authenticate(token, None, SystemClock().now())
    async def once() -> dict:
        ctx = Context(clock=SystemClock(), request_id="bench", actor=session.actor)
        result = await schema.execute(QUERY, context_value=ctx)
        assert not result.errors, result.errors
        return result.data
    with count_sql() as sql:
        data = await once()
    for _ in range(3):
        await once()
    started = time.perf_counter()
    for _ in range(rounds):
        await once()
    elapsed = (time.perf_counter() - started) / rounds
    fields = count_fields(data)
    return {"statements": sql.count, "fields": fields, "ms": elapsed * 1000, "us_per_field": elapsed * 1e6 / fields}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def over_http(url: str, token: str, seconds: int) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           # a benchmark measures the read path, not the rate limit (which would answer 429s)
           "BILLING_RATE_LIMIT_POINTS": "0"}
    server = subprocess.Popen([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        body = json.dumps({"query": QUERY})
        if shutil.which("wrk"):
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                             f'wrk.headers["Content-Type"] = "application/json"\n'
                             f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            subprocess.run(["wrk", "-t1", "-c16", "-d3s", "-s", script.name, f"{base}/graphql"], capture_output=True)
            out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency",
                                  "-s", script.name, f"{base}/graphql"], capture_output=True, text=True).stdout
            rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
            p50 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("50%"))
            return {"tool": "wrk -c16", "req_per_s": rps, "p50": p50}
        return asyncio.run(_httpx_load(base, body, token, seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _httpx_load(base: str, body: str, token: str, seconds: int) -> dict:
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    done = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        deadline = time.perf_counter() + seconds
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.post("/graphql", content=body)
                assert response.status_code == 200
                done += 1
        await asyncio.gather(*(worker() for _ in range(16)))
    return {"tool": "httpx -c16", "req_per_s": done / seconds}


async def main_async(args: argparse.Namespace) -> None:
    targets = [("sqlite", sqlite_url(Path(tempfile.mkdtemp()) / "bench.db"))]
    if args.postgres:
        admin = await asyncpg.connect(args.postgres.replace("postgres://", "postgresql://"))
        await admin.execute("DROP DATABASE IF EXISTS billing_bench WITH (FORCE)")
        await admin.execute("CREATE DATABASE billing_bench")
        await admin.close()
        targets.append(("postgres", args.postgres.rsplit("/", 1)[0] + "/billing_bench"))
    gc.set_threshold(50_000, 50, 100)
    for name, url in targets:
        token = await build(url)
        figures = await in_process(token, args.rounds)
        await db.close_db()
        http = over_http(url, token, args.seconds)
        print(f"{name:8} statements/request={figures['statements']} fields={figures['fields']} "
              f"in-process={figures['ms']:.1f} ms ({figures['us_per_field']:.2f} µs/field) "
              f"http[{http['tool']}]={http['req_per_s']:.1f} req/s" + (f" p50={http['p50']}" if "p50" in http else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (a database billing_bench is created)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
