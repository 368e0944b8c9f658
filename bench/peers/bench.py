"""Peers benchmark (issue #5): our server against PostGraphile v5 and a raw json_agg floor.

    bash bench/peers/run [--warmup 3] [--duration 10] [--connections 16] ...

(`run` installs wrk, Node 22 and PostGraphile v5 on first use, then calls this script.)

One run:
1. creates the PostgreSQL database `billing_peers` (dropped first) with the project's migrations and
   catalogue, fills it in bulk (dataset.py), and copies the same rows into a fresh SQLite file;
2. starts each server on 127.0.0.1 with a free port, one at a time: ours (PostgreSQL, 1 and
   2 workers; SQLite, 1 worker), PostGraphile v5, and the floor (floor.py);
3. with `log_statement = all` on the bench database: fetches the small and full trees from every
   server, checks they are the same data (fails loudly otherwise), and counts SQL statements
   per request from the PostgreSQL log;
4. with logging reset: loads every server with wrk (warm-up, then a measured run) on both
   queries, and measures server CPU (process and its children) per request;
5. measures assignLicenses / purchaseSubscription / cancelSubscription latency at c=1 and c=16
   against our server (PostgreSQL, 1 worker);
6. prints the figures, the ratios and the project's targets; writes results to
   bench/peers/.cache/last_run.{txt,json} and the table into bench/peers/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = HERE / ".cache"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.config import sqlite_url  # noqa: E402
from billing_center.schema.ids import to_global_id  # noqa: E402

import dataset  # noqa: E402

PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
VENV = ROOT / ".venv" / "bin"
NODE = CACHE / "node22" / "node_modules" / ".bin" / "node"
PG5 = CACHE / "pg5"

OURS_QUERY = ("{ tenant { name } subscriptions(first: 100) { edges { node { quantity product { name } "
              "licenseAssignments(first: 100) { edges { node { user { displayName } } } } } } } }")
PEER_QUERY = ("query Tree($tenantId: BigInt!) { tenant(rowId: $tenantId) { name subscriptions { quantity "
              "product { name } licenseAssignments { user { displayName } } } } }")

_children: list[subprocess.Popen] = []


# ---------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop a server's whole process group (uvicorn workers, node)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever is left of the group (workers that outlived their parent)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        stop(proc)


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, utime+stime ticks) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            data = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2:].split()
        table[int(entry)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    return table


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user+system) used so far by `pid` and all its live descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for p, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(p)
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in table:
            total += table[p][1]
        todo += children.get(p, [])
    return total / os.sysconf("SC_CLK_TCK")


def pg_backends_cpu_seconds(database: str) -> float:
    """CPU seconds used so far by the live PostgreSQL backends connected to `database` (their
    process title names it). Backends that exit during a run are missed (an undercount)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes()
            if not title.startswith(b"postgres: ") or f" {database} ".encode() not in title:
                continue
            data = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2:].split()
        ticks += int(rest[11]) + int(rest[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name: str, kind: str, database: str, workers: int = 1):
        self.name, self.kind, self.database, self.workers = name, kind, database, workers
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def command(self, ctx: "Ctx") -> tuple[list[str], dict[str, str], Path]:
        env = dict(os.environ)
        if self.kind == "ours":
            env.update(DATABASE_URL=ctx.pg_url if self.database == "pg" else ctx.sqlite_url,
                       BILLING_GRAPHIQL="0", BILLING_RATE_LIMIT_POINTS="0", PYTHONPATH=str(ROOT),
                       # the webhook deliverer's poll (once a second, no endpoints here) would be
                       # counted in the statements per request
                       BILLING_WEBHOOK_DELIVERY="0")
            return ([str(VENV / "billing-center"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                     "--workers", str(self.workers)], env, ROOT)
        if self.kind == "postgraphile":
            env.update(NODE_ENV="production", PEERS_PG_URL=ctx.pg_url, PEERS_HOST="127.0.0.1",
                       PEERS_PORT=str(self.port))
            return ([str(NODE), str(PG5 / "node_modules" / ".bin" / "postgraphile"), "-C", "graphile.config.mjs"],
                    env, PG5)
        if self.kind == "floor":
            env.update(FLOOR_DATABASE_URL=ctx.pg_url.replace("postgres://", "postgresql://"))
            return ([str(VENV / "python"), "-m", "uvicorn", "floor:app", "--app-dir", str(HERE), "--host",
                     "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers), "--no-access-log",
                     "--log-level", "warning"], env, HERE)
        raise ValueError(self.kind)

    def start(self, ctx: "Ctx") -> None:
        self.port = free_port()
        cmd, env, cwd = self.command(ctx)
        log = open(CACHE / "logs" / f"{self.name}.log", "ab")
        log.write(f"\n==== {datetime.now(UTC).isoformat()} {' '.join(cmd)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        _children.append(self.proc)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {log.name}")
            try:
                r = httpx.post(self.url, json={"query": "{ __typename }"}, timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after 90 s; see {log.name}")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def body(self, ctx: "Ctx", query: str) -> dict:
        if self.kind == "ours":
            return {"query": OURS_QUERY}
        tenant = ctx.built.small_tenant_id if query == "small" else ctx.built.full_tenant_id
        return {"query": PEER_QUERY, "variables": {"tenantId": str(tenant)}}

    def token(self, ctx: "Ctx", query: str) -> str | None:
        if self.kind != "ours":
            return None
        return ctx.tokens.small if query == "small" else ctx.tokens.full

    def normalise(self, answer: dict) -> tuple:
        if answer.get("errors"):
            raise AssertionError(f"{self.name}: GraphQL errors {answer['errors']!r:.500}")
        data = answer["data"]
        if self.kind == "ours":
            name = data["tenant"]["name"]
            subs = [(e["node"]["product"]["name"], e["node"]["quantity"],
                     tuple(sorted(a["node"]["user"]["displayName"] for a in e["node"]["licenseAssignments"]["edges"])))
                    for e in data["subscriptions"]["edges"]]
        else:
            name = data["tenant"]["name"]
            subs = [(s["product"]["name"], s["quantity"],
                     tuple(sorted(a["user"]["displayName"] for a in s["licenseAssignments"])))
                    for s in data["tenant"]["subscriptions"]]
        return name, tuple(sorted(subs))


class Ctx:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.admin_url = args.pg_admin
        self.pg_url = args.pg_admin.replace("postgresql://", "postgres://").rsplit("/", 1)[0] + "/" + args.db_name
        self.sqlite_path = CACHE / "sqlite" / "peers.db"
        self.sqlite_url = sqlite_url(self.sqlite_path)
        self.tokens = dataset.Tokens.new()
        self.built: dataset.Built | None = None
        self.now = datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------- database

async def execute_on(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def admin_execute(ctx: Ctx, *statements: str) -> None:
    await execute_on(ctx.admin_url, *statements)


async def bench_execute(ctx: Ctx, *statements: str) -> None:
    await execute_on(ctx.pg_url, *statements)


async def build_databases(ctx: Ctx) -> None:
    name = ctx.args.db_name
    await admin_execute(ctx, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    started = time.perf_counter()
    await db.migrate_db(ctx.pg_url)
    await db.init_db(ctx.pg_url)
    try:
        n = ctx.args.mutation_requests
        ctx.built = await dataset.build(ctx.now, ctx.tokens, mutation_users=n + 20, cancel_subs=n + 20)
    finally:
        await db.close_db()
    # PostGraphile: avoid the clash of table `subscription` with the root type Subscription, and
    # get natural names for the relations the query walks (bench database only).
    await bench_execute(
        ctx,
        "COMMENT ON TABLE subscription IS E'@name tenant_subscription'",
        "COMMENT ON CONSTRAINT subscription_tenant_id_fkey ON subscription IS E'@foreignFieldName subscriptions'",
        "COMMENT ON CONSTRAINT license_assignment_subscription_id_fkey ON license_assignment "
        "IS E'@foreignFieldName licenseAssignments'",
        "ANALYZE",
    )
    print(f"PostgreSQL {name}: {ctx.built.counts} in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    shutil.rmtree(ctx.sqlite_path.parent, ignore_errors=True)
    ctx.sqlite_path.parent.mkdir(parents=True)
    await db.migrate_db(ctx.sqlite_url)
    await db.init_db(ctx.sqlite_url)
    try:
        built = await dataset.build(ctx.now, ctx.tokens)
    finally:
        await db.close_db()
    print(f"SQLite {ctx.sqlite_path.relative_to(ROOT)}: {built.counts} in {time.perf_counter() - started:.1f} s",
          flush=True)


# ---------------------------------------------------------------- pass 1: data check and SQL count

LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[\d+\] \S*@(\S+) LOG:  (statement|execute [^:]*): (.*)$")


def count_statements(offset: int, database: str, dump: Path) -> tuple[int, int]:
    """(data statements, pool-reset statements) logged for `database` since byte `offset`;
    the statements are written to `dump`."""
    data = resets = 0
    seen = []
    with PG_LOG.open("rb") as f:
        f.seek(offset)
        for raw in f:
            m = LOG_LINE.match(raw.decode(errors="replace").rstrip("\n"))
            if not m or m.group(1) != database:
                continue
            seen.append(f"{m.group(2)}: {m.group(3)}")
            if "pg_advisory_unlock_all" in m.group(3):
                resets += 1
            else:
                data += 1
    dump.write_text("\n".join(seen) + "\n")
    return data, resets


def post(server: Server, ctx: Ctx, query: str, client: httpx.Client) -> dict:
    token = server.token(ctx, query)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = client.post(server.url, json=server.body(ctx, query), headers=headers, timeout=60)
    if r.status_code != 200:
        raise AssertionError(f"{server.name} {query}: HTTP {r.status_code} {r.text[:300]}")
    return r.json()


def check_pass(ctx: Ctx, servers: list[Server], results: dict) -> None:
    n = ctx.args.count_requests
    can_count = PG_LOG.exists() and os.access(PG_LOG, os.R_OK)
    answers: dict[str, dict[str, tuple]] = {}
    asyncio.run(bench_execute(ctx, f"ALTER DATABASE {ctx.args.db_name} SET log_statement = 'all'"))
    try:
        for server in servers:
            server.start(ctx)
            try:
                with httpx.Client() as client:
                    for query in ("small", "full"):
                        answers.setdefault(query, {})[server.name] = server.normalise(post(server, ctx, query, client))
                        if server.database != "pg" or not can_count:
                            results[(server.name, query)]["sql"] = None
                            continue
                        for _ in range(10):  # warm (per-connection type introspection and the like)
                            post(server, ctx, query, client)
                        time.sleep(0.3)
                        offset = PG_LOG.stat().st_size
                        for _ in range(n):
                            post(server, ctx, query, client)
                        time.sleep(0.5)
                        data, resets = count_statements(offset, ctx.args.db_name,
                                                        CACHE / "logs" / f"sql-{server.name}-{query}.txt")
                        results[(server.name, query)]["sql"] = (data / n, resets / n)
            finally:
                server.stop()
    finally:
        asyncio.run(bench_execute(ctx, f"ALTER DATABASE {ctx.args.db_name} RESET log_statement"))

    expected = {"small": (dataset.SMALL["subs"], dataset.SMALL["holders"]),
                "full": (dataset.LARGE["subs"], dataset.LARGE["holders"])}
    for query, by_server in answers.items():
        reference_name, reference = next(iter(by_server.items()))
        for name, answer in by_server.items():
            if answer != reference:
                raise SystemExit(f"DATA MISMATCH on {query}: {name} differs from {reference_name}\n"
                                 f"  {reference_name}: {reference!r:.600}\n  {name}: {answer!r:.600}")
        subs, holders = expected[query]
        if len(reference[1]) != subs or any(len(s[2]) != holders for s in reference[1]):
            raise SystemExit(f"{query}: expected {subs} subscriptions x {holders} licences, got {reference!r:.300}")
        print(f"data check {query}: {len(by_server)} servers agree ({reference[0]}: {subs} subscriptions x "
              f"{holders} licences)", flush=True)


# ---------------------------------------------------------------- pass 2: load

def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    number, unit = float(m.group(1)), m.group(2)
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(server: Server, ctx: Ctx, query: str, seconds: int, body_file: Path) -> dict:
    env = dict(os.environ, BODY=str(body_file), AUTH=server.token(ctx, query) or "",
               CHECK_ERRORS="0" if ctx.args.no_check_errors else "1")
    cmd = ["wrk", "-t1", f"-c{ctx.args.connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "--latency",
           "-s", str(HERE / "post.lua"), server.url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120).stdout
    result = {"requests": 0, "rps": 0.0, "p50": None, "p99": None, "non2xx": 0, "socket_errors": 0,
              "graphql_errors": 0, "raw": out}
    for line in out.splitlines():
        line = line.strip()
        if m := re.match(r"(\d+) requests in", line):
            result["requests"] = int(m.group(1))
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif line.startswith("50%"):
            result["p50"] = _ms(line.split()[1])
        elif line.startswith("99%"):
            result["p99"] = _ms(line.split()[1])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non2xx"] = int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", line))
        elif line.startswith("GRAPHQL_ERRORS"):
            result["graphql_errors"] = int(line.split()[1])
    if not result["requests"] or result["p50"] is None:
        raise RuntimeError(f"wrk against {server.name} ({query}) gave no figures:\n{out}")
    return result


def load_pass(ctx: Ctx, servers: list[Server], results: dict) -> None:
    bodies = Path(tempfile.mkdtemp(prefix="peers-bodies-", dir=CACHE))
    try:
        for server in servers:
            server.start(ctx)
            try:
                for query in ("small", "full"):
                    body_file = bodies / f"{server.name}-{query}.json"
                    body_file.write_text(json.dumps(server.body(ctx, query)))
                    wrk(server, ctx, query, ctx.args.warmup, body_file)
                    cpu_before = tree_cpu_seconds(server.proc.pid)
                    pg_before = pg_backends_cpu_seconds(ctx.args.db_name)
                    run = wrk(server, ctx, query, ctx.args.duration, body_file)
                    cpu_after = tree_cpu_seconds(server.proc.pid)
                    pg_after = pg_backends_cpu_seconds(ctx.args.db_name)
                    run["cpu_ms"] = (cpu_after - cpu_before) * 1000 / run["requests"]
                    run["pg_cpu_ms"] = ((pg_after - pg_before) * 1000 / run["requests"]
                                        if server.database == "pg" else None)
                    results[(server.name, query)].update(run)
                    print(f"  {server.name:<16} {query:<5} {run['rps']:9.1f} req/s  p50 {run['p50']} ms  "
                          f"p99 {run['p99']} ms  cpu {run['cpu_ms']:.2f} (+PG {fmt(run['pg_cpu_ms'], '.2f')}) ms/req  errors "
                          f"{run['non2xx'] + run['socket_errors'] + run['graphql_errors']}", flush=True)
            finally:
                server.stop()
    finally:
        shutil.rmtree(bodies, ignore_errors=True)


# ---------------------------------------------------------------- pass 3: mutations

ASSIGN = "mutation($input: AssignLicensesInput!) { assignLicenses(input: $input) { userErrors { code message } } }"
PURCHASE = ("mutation($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) "
            "{ userErrors { code message } } }")
CANCEL = ("mutation($input: CancelSubscriptionInput!) { cancelSubscription(input: $input) "
          "{ userErrors { code message } } }")


def mutation_bodies(ctx: Ctx) -> dict[str, list[dict]]:
    b = ctx.built
    users = iter(b.assign_user_ids)
    cancels = iter(b.cancel_subscription_ids)
    n = ctx.args.mutation_requests + 20
    return {
        "assignLicenses": [{"query": ASSIGN, "variables": {"input": {
            "subscriptionId": to_global_id("Subscription", b.assign_subscription_id),
            "userIds": [to_global_id("User", next(users))]}}} for _ in range(n)],
        "purchaseSubscription": [{"query": PURCHASE, "variables": {"input": {
            "productId": to_global_id("Product", b.product_id), "quantity": 1, "commitmentTerm": "MONTHLY"}}}
            for _ in range(n)],
        "cancelSubscription": [{"query": CANCEL, "variables": {"input": {
            "subscriptionId": to_global_id("Subscription", next(cancels)), "reason": "OTHER"}}} for _ in range(n)],
    }


async def run_mutations(url: str, token: str, field: str, bodies: list[dict], concurrency: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker() -> None:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                try:
                    r = await client.post(url, json=body)
                    elapsed = time.perf_counter() - started
                    answer = r.json() if r.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as error:
                    errors.append(repr(error))
                    continue
                latencies.append(elapsed * 1000)
                if answer is None:
                    errors.append(f"HTTP {r.status_code}")
                elif answer.get("errors"):
                    errors.append(json.dumps(answer["errors"])[:200])
                elif answer["data"][field]["userErrors"]:
                    errors.append(json.dumps(answer["data"][field]["userErrors"])[:200])
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None
    return {"n": len(bodies), "p50": pct(0.50), "p99": pct(0.99), "rps": len(bodies) / wall, "errors": len(errors),
            "first_error": errors[0] if errors else None}


def mutation_pass(ctx: Ctx, server: Server) -> dict:
    bodies = mutation_bodies(ctx)
    n = ctx.args.mutation_requests
    n1 = max(1, n // 4)  # c=1 gets a quarter, c=16 the rest (plus 20 warm-up calls in all)
    results = {}
    server.start(ctx)
    try:
        for field, items in bodies.items():
            warm, c1, c16 = items[:4], items[4:4 + n1], items[4 + n1:4 + n]
            asyncio.run(run_mutations(server.url, ctx.tokens.mutation, field, warm, 1))
            for concurrency, batch in ((1, c1), (ctx.args.connections, c16)):
                r = asyncio.run(run_mutations(server.url, ctx.tokens.mutation, field, batch, concurrency))
                results[(field, concurrency)] = r
                print(f"  {field:<21} c={concurrency:<3} n={r['n']:<4} p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
                      f"{r['rps']:.0f} req/s  errors {r['errors']}" +
                      (f"  first: {r['first_error']}" if r["first_error"] else ""), flush=True)
    finally:
        server.stop()
    return results


# ---------------------------------------------------------------- report

def fmt(value, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def report(ctx: Ctx, servers: list[Server], results: dict, mutations: dict, header: str) -> str:
    lines = [header, ""]
    lines.append(f"Read query, wrk -t1 -c{ctx.args.connections} --timeout 30s, {ctx.args.warmup:g} s warm-up + "
                 f"{ctx.args.duration:g} s measured; CPU = server process + children, ms per request;")
    lines.append("PG CPU = CPU of the PostgreSQL backends of the bench database, ms per request (undercounts when "
                 "backends exit during the run).")
    lines.append("SQL = statements per request from the PostgreSQL log (+ asyncpg pool resets); the statements are "
                 "in bench/peers/.cache/logs/sql-*.txt.")
    lines.append("")
    lines.append("| server | query | req/s | p50 ms | p99 ms | p99/p50 | errors | CPU ms/req | PG CPU ms/req | SQL/req |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for server in servers:
        for query in ("small", "full"):
            r = results[(server.name, query)]
            if "rps" not in r:
                continue
            errors = r["non2xx"] + r["socket_errors"] + r["graphql_errors"]
            ratio = r["p99"] / r["p50"] if r.get("p50") else None
            sql = r.get("sql")
            sql_text = "n/a" if sql is None else f"{sql[0]:g} (+{sql[1]:g})"
            lines.append(f"| {server.name} | {query} | {r['rps']:.1f} | {fmt(r['p50'], '.2f')} | {fmt(r['p99'], '.2f')} "
                         f"| {fmt(ratio, '.2f')} | {errors} | {fmt(r.get('cpu_ms'), '.2f')} | {fmt(r.get('pg_cpu_ms'), '.2f')} "
                         f"| {sql_text} |")
    lines.append("")

    def rps(name: str, query: str) -> float | None:
        r = results.get((name, query), {})
        return r.get("rps") or None

    def ratio(a: str, b: str, query: str) -> float | None:
        x, y = rps(a, query), rps(b, query)
        return x / y if x and y else None

    def mark(value, ok) -> str:
        return "?" if value is None else ("✓" if ok(value) else "✗")

    lines.append("| ratio | small | full | target |")
    lines.append("|---|---:|---:|---|")
    rows = [
        ("ours (1 worker) / PostGraphile v5", "ours-pg-1w", "postgraphile-v5", (0.3, 0.3)),
        ("ours (1 worker) / floor", "ours-pg-1w", "floor", (0.10, 0.07)),
        ("ours 2 workers / 1 worker", "ours-pg-2w", "ours-pg-1w", (1.7, 1.7)),
        ("ours SQLite / PostgreSQL (1 worker)", "ours-sqlite-1w", "ours-pg-1w", (0.75, 0.75)),
        ("PostGraphile v5 / floor (info)", "postgraphile-v5", "floor", None),
    ]
    for label, a, b, targets in rows:
        cells = []
        for i, query in enumerate(("small", "full")):
            value = ratio(a, b, query)
            if targets:
                cells.append(f"{fmt(value, '.3f')} {mark(value, lambda v, t=targets[i]: v >= t)}")
            else:
                cells.append(fmt(value, ".3f"))
        target = "–" if not targets else (f"≥ {targets[0]:g}" if targets[0] == targets[1]
                                          else f"≥ {targets[0]:g} small / ≥ {targets[1]:g} full")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
    for server in servers:
        if not server.name.startswith("ours"):
            continue
        cells = []
        for query in ("small", "full"):
            r = results.get((server.name, query), {})
            value = r["p99"] / r["p50"] if r.get("p50") else None
            cells.append(f"{fmt(value, '.2f')} {mark(value, lambda v: v <= 2.5)}")
        lines.append(f"| p99/p50 {server.name} | {cells[0]} | {cells[1]} | ≤ 2.5 |")
    total_errors = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) + r.get("graphql_errors", 0)
                       for r in results.values())
    lines.append(f"| errors, all servers and queries | {total_errors} {mark(total_errors, lambda v: v == 0)} | | 0 |")
    lines.append("")

    if mutations:
        lines.append("Mutations against ours (PostgreSQL, 1 worker), asyncio + httpx client; an error is a non-200, "
                     "a GraphQL error or a non-empty userErrors.")
        lines.append("")
        lines.append("| mutation | concurrency | requests | p50 ms | p99 ms | req/s | errors |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for (field, concurrency), r in mutations.items():
            lines.append(f"| {field} | {concurrency} | {r['n']} | {fmt(r['p50'])} | {fmt(r['p99'])} | {r['rps']:.0f} "
                         f"| {r['errors']} |")
        lines.append("")
    return "\n".join(lines)


def versions(ctx: Ctx) -> str:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip() or "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    pg5 = "?"
    try:
        pg5 = json.loads((PG5 / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    except OSError:
        pass
    wrk_version = out(["sh", "-c", "wrk -v 2>&1 | head -1"]).split(" [")[0]
    server_version = asyncio.run(_pg_version(ctx))
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; PostgreSQL {server_version}; "
            f"Python {sys.version.split()[0]}; Node {out([str(NODE), '--version'])}; postgraphile {pg5}; {wrk_version}")


async def _pg_version(ctx: Ctx) -> str:
    conn = await asyncpg.connect(ctx.admin_url.replace("postgres://", "postgresql://"))
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def write_readme(table: str) -> None:
    readme = HERE / "README.md"
    start, end = "<!-- latest-run:start -->", "<!-- latest-run:end -->"
    text = readme.read_text() if readme.exists() else ""
    if start in text and end in text:
        text = text[:text.index(start) + len(start)] + "\n" + table + "\n" + text[text.index(end):]
        readme.write_text(text)


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-admin", default=os.environ.get("PEERS_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="an existing database to connect to as admin (only to create/drop the bench database)")
    parser.add_argument("--db-name", default="billing_peers")
    parser.add_argument("--warmup", type=int, default=3, help="seconds")
    parser.add_argument("--duration", type=int, default=10, help="seconds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--count-requests", type=int, default=10, help="requests per query in the SQL-count pass")
    parser.add_argument("--mutation-requests", type=int, default=400, help="per mutation: 1/4 at c=1, rest at c=16")
    parser.add_argument("--servers", default="ours-pg-1w,ours-pg-2w,ours-sqlite-1w,postgraphile-v5,floor")
    parser.add_argument("--skip-mutations", action="store_true")
    parser.add_argument("--no-check-errors", action="store_true", help="do not scan response bodies for GraphQL errors")
    parser.add_argument("--no-readme", action="store_true", help="do not write the table into README.md")
    args = parser.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    (CACHE / "logs").mkdir(parents=True, exist_ok=True)
    all_servers = [Server("ours-pg-1w", "ours", "pg", 1), Server("ours-pg-2w", "ours", "pg", 2),
                   Server("ours-sqlite-1w", "ours", "sqlite", 1), Server("postgraphile-v5", "postgraphile", "pg"),
                   Server("floor", "floor", "pg")]
    wanted = args.servers.split(",")
    servers = [s for s in all_servers if s.name in wanted]
    ctx = Ctx(args)
    results: dict = {(s.name, q): {} for s in servers for q in ("small", "full")}
    mutations: dict = {}
    try:
        asyncio.run(build_databases(ctx))
        print("pass 1: data check and SQL statements per request (log_statement = all)", flush=True)
        check_pass(ctx, servers, results)
        print("pass 2: load", flush=True)
        load_pass(ctx, servers, results)
        if not args.skip_mutations:
            print("pass 3: mutations", flush=True)
            mutations = mutation_pass(ctx, Server("ours-pg-1w", "ours", "pg", 1))
    finally:
        stop_all()
    table = report(ctx, servers, results, mutations, versions(ctx))
    print()
    print(table, flush=True)
    (CACHE / "last_run.txt").write_text(table + "\n")
    (CACHE / "last_run.json").write_text(json.dumps(
        {"reads": {f"{k[0]}/{k[1]}": {kk: vv for kk, vv in v.items() if kk != "raw"} for k, v in results.items()},
         "mutations": {f"{k[0]}/c{k[1]}": v for k, v in mutations.items()}}, indent=1, default=str))
    if not args.no_readme:
        write_readme(table)


if __name__ == "__main__":
    main()
