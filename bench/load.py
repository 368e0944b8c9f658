"""Mixed load with correctness (issue #6; RELIABILITY.md E5): many concurrent clients run
reads, licence assignments, purchases and cancellations against a running server for a fixed
time; then every invariant of the billing data is checked (`domain.integrity`, 0 allowed).

    .venv/bin/python bench/load.py                                   # SQLite, 1 worker
    .venv/bin/python bench/load.py --postgres postgres://postgres@127.0.0.1:5432/test --workers 2

Prints requests per second, p50/p99 per kind, errors (non-200, GraphQL errors, transport
failures) and refusals (userErrors: business answers such as "already assigned", counted
apart), then the invariant check. Exit code 1 on any error or violation. The data is the
peers benchmark's (`bench/peers/dataset.py`) in a fresh database (`billing_load` on
PostgreSQL, a temporary file for SQLite). The client runs on the same machine (2 cores here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench" / "peers")]

import dataset  # noqa: E402
from billing_center import db  # noqa: E402
from billing_center.config import sqlite_url  # noqa: E402
from billing_center.domain import integrity  # noqa: E402
from billing_center.schema.ids import to_global_id  # noqa: E402

READ = ("{ tenant { name } subscriptions(first: 20) { edges { node { status quantity product { name } "
        "licenseAssignments(first: 20) { edges { node { user { displayName } } } } } } } }")
ASSIGN = "mutation($input: AssignLicensesInput!) { assignLicenses(input: $input) { userErrors { code } } }"
UNASSIGN = "mutation($input: UnassignLicensesInput!) { unassignLicenses(input: $input) { userErrors { code } } }"
PURCHASE = ("mutation($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) "
            "{ userErrors { code } } }")
CANCEL = "mutation($input: CancelSubscriptionInput!) { cancelSubscription(input: $input) { userErrors { code } } }"
MIX = [("read", 60), ("assign", 20), ("purchase", 10), ("cancel", 10)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _fresh_postgres(url: str) -> str:
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")))
    try:
        await admin.execute("DROP DATABASE IF EXISTS billing_load WITH (FORCE)")
        await admin.execute("CREATE DATABASE billing_load")
    finally:
        await admin.close()
    return urlunsplit(parts._replace(path="/billing_load"))


async def _prepare(url: str, users: int, cancels: int) -> tuple[dataset.Tokens, dataset.Built]:
    await db.migrate_db(url)
    await db.init_db(url)
    try:
        tokens = dataset.Tokens.new()
        built = await dataset.build(datetime.now(UTC), tokens, mutation_users=users, cancel_subs=cancels)
    finally:
        await db.close_db()
    return tokens, built


def _start(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "BILLING_GRAPHIQL": "0",
           "BILLING_RATE_LIMIT_POINTS": "0"}  # a few tokens make all the load: no per-caller limit
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "billing-center"), "serve", "--port", str(port),
                               "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/graphql"
    for _ in range(300):
        try:
            if httpx.post(base, json={"query": "{ __typename }"}, timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


async def _load(url: str, tokens: dataset.Tokens, built: dataset.Built, clients: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    cancels = list(built.cancel_subscription_ids)
    purchase_keys = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    subscription = to_global_id("Subscription", built.assign_subscription_id)

    def body(kind: str, rng: random.Random) -> tuple[dict, str, str]:
        if kind == "read":
            return {"query": READ}, tokens.small if rng.random() < 0.5 else tokens.mutation, ""
        if kind == "assign":
            user = to_global_id("User", rng.choice(built.assign_user_ids))
            document = ASSIGN if rng.random() < 0.6 else UNASSIGN
            field = "assignLicenses" if document is ASSIGN else "unassignLicenses"
            return {"query": document, "variables": {"input": {"subscriptionId": subscription,
                                                               "userIds": [user]}}}, tokens.mutation, field
        if kind == "purchase":
            return {"query": PURCHASE, "variables": {"input": {
                "productId": to_global_id("Product", built.product_id), "quantity": 1, "commitmentTerm": "MONTHLY",
                "idempotencyKey": f"load-{next(purchase_keys)}"}}}, tokens.mutation, "purchaseSubscription"
        target = cancels.pop() if cancels else built.cancel_subscription_ids[0]
        return {"query": CANCEL, "variables": {"input": {"subscriptionId": to_global_id("Subscription", target),
                                                          "reason": "OTHER"}}}, tokens.mutation, "cancelSubscription"

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:
        async def client(seed: int) -> None:
            rng = random.Random(seed)
            kinds, weights = zip(*MIX)
            while time.perf_counter() < deadline:
                kind = rng.choices(kinds, weights)[0]
                payload, token, field = body(kind, rng)
                started = time.perf_counter()
                try:
                    response = await http.post(url, json=payload, headers={"authorization": f"Bearer {token}"})
                except httpx.HTTPError as error:
                    errors[f"{kind}: {type(error).__name__}"] += 1
                    continue
                latencies[kind].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors[f"{kind}: HTTP {response.status_code}"] += 1
                    continue
                answer = response.json()
                if answer.get("errors"):
                    errors[f"{kind}: {answer['errors'][0].get('message', '')[:80]}"] += 1
                elif field and answer["data"][field]["userErrors"]:
                    refusals[f"{kind}: {answer['data'][field]['userErrors'][0]['code']}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(seed) for seed in range(clients)))
        wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "refusals": refusals, "wall": wall}


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create the database billing_load")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    if args.postgres:
        url = await _fresh_postgres(args.postgres)
    else:
        url = sqlite_url(Path(tempfile.mkdtemp(prefix="billing-load-")) / "load.db")
    tokens, built = await _prepare(url, users=200, cancels=2000)
    server, base = _start(url, args.workers)
    try:
        result = await _load(base, tokens, built, args.clients, args.duration)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    total = sum(len(v) for v in result["latencies"].values())
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {args.workers} worker(s), {args.clients} clients, {result['wall']:.1f} s: "
          f"{total / result['wall']:.0f} requests/s, {total} answered")
    for kind, _ in MIX:
        values = result["latencies"][kind]
        print(f"  {kind:<9} {len(values):>6}  p50 {_pct(values, 0.5):7.1f} ms  p99 {_pct(values, 0.99):7.1f} ms")
    print(f"errors: {sum(result['errors'].values())}" + "".join(f"\n  {k}: {v}" for k, v in result["errors"].items()))
    print(f"refusals (userErrors): {sum(result['refusals'].values())}"
          + "".join(f"\n  {k}: {v}" for k, v in sorted(result["refusals"].items())))
    await db.init_db(url)
    try:
        violations = await integrity.violations()
    finally:
        await db.close_db()
    print(f"invariants: {len(violations)} violations" + "".join(f"\n  {v}" for v in violations[:20]))
    return 1 if violations or result["errors"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
