"""The `billing-center` command as a newcomer uses it: migrate, seed-demo, serve, export-schema."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "billing_center.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["PYTHONPATH"] = str(ROOT)
    return environment


def post(url: str, query: str, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_migrate_seed_and_serve_from_an_empty_directory(tmp_path, env):
    # given: the default database, ./var/billing.db under the working directory
    migrated = run(["migrate"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "var" / "billing.db").exists()
    assert run(["migrate"], env, tmp_path).returncode == 0  # running it again is harmless
    seeded = run(["seed-demo"], env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    token = next(line.split()[-1] for line in seeded.stdout.splitlines() if "GLOBAL_ADMIN" in line)
    port = free_port()
    server = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    assert json.loads(response.read()) == {"status": "ok"}
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        # when
        body = post(f"{base}/graphql", "{ tenant { name } products { sku } subscriptions { totalCount } }", token)
        # then
        assert body["data"]["tenant"]["name"] == "Contoso Demo"
        assert len(body["data"]["products"]) >= 6
        assert body["data"]["subscriptions"]["totalCount"] >= 1
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_refuses_several_workers_on_sqlite(tmp_path, env):
    result = run(["serve", "--workers", "2"], env, tmp_path)
    assert result.returncode == 2
    assert "SQLite allows one writer process" in result.stderr


def test_export_schema_check_detects_a_stale_file(tmp_path, env):
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")
    assert run(["export-schema", "--output", str(stale), "--check"], env, tmp_path).returncode == 1
    assert run(["export-schema", "--output", str(stale)], env, tmp_path).returncode == 0
    assert run(["export-schema", "--output", str(stale), "--check"], env, tmp_path).returncode == 0
    assert stale.read_text() == (ROOT / "schema.graphql").read_text()


def test_run_billing_runs_the_engine_for_live_tenants(tmp_path, env):
    """SPEC §7, API.md: `billing-center run-billing` processes every live tenant up to now."""
    assert run(["migrate"], env, tmp_path).returncode == 0
    billed = run(["run-billing"], env, tmp_path)
    assert billed.returncode == 0, billed.stderr
    assert billed.stdout.strip() == "Billing run: 0 transitions (nothing was due)."


def test_check_passes_on_sound_data_and_names_a_broken_invariant(tmp_path, env):
    import sqlite3

    assert run(["migrate"], env, tmp_path).returncode == 0
    assert run(["seed-demo"], env, tmp_path).returncode == 0
    checked = run(["check"], env, tmp_path)
    assert checked.returncode == 0 and "Integrity: ok." in checked.stdout, checked.stdout + checked.stderr
    with sqlite3.connect(tmp_path / "var" / "billing.db") as connection:
        connection.execute("UPDATE subscription SET assigned_count = assigned_count + 1 WHERE id = "
                           "(SELECT MIN(id) FROM subscription)")
    checked = run(["check"], env, tmp_path)
    assert checked.returncode == 1
    assert "assignment rows" in checked.stdout and "Integrity: 1 violation." in checked.stdout


LINE_COLUMNS = ("tenant_id, billing_profile_id, invoice_id, subscription_id, kind, description, quantity, unit_price, "
                "amount, currency, period_start, period_end, explanation, charge_on, created_at")


def test_check_reports_a_planted_double_charge_and_a_stranded_credit(tmp_path, env):
    """SPEC §7 the ledger rule: `billing-center check` names a licence-day charged twice and a
    credit that never reached the customer."""
    import sqlite3

    assert run(["migrate"], env, tmp_path).returncode == 0
    assert run(["seed-demo"], env, tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "billing.db") as connection:
        # The same licence-days charged a second time, due far in the future (so not held back).
        connection.execute(
            f"INSERT INTO invoice_line ({LINE_COLUMNS}) SELECT tenant_id, billing_profile_id, NULL, subscription_id, "
            "kind, description, quantity, unit_price, amount, currency, period_start, period_end, explanation, "
            "'2999-01-01', created_at FROM invoice_line WHERE amount > 0 ORDER BY id LIMIT 1")
        # A credit due years ago that no document took.
        connection.execute(
            f"INSERT INTO invoice_line ({LINE_COLUMNS}) SELECT tenant_id, billing_profile_id, NULL, subscription_id, "
            "'PRORATED_CREDIT', 'planted', 0, unit_price, '-5.00', currency, period_start, period_start, 'planted', "
            "'2000-01-01', created_at FROM invoice_line ORDER BY id LIMIT 1")
    checked = run(["check"], env, tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "(the ledger rule)" in checked.stdout and "still on no document (held back)" in checked.stdout


TOKENS_WORK = """
import asyncio, sys
from datetime import UTC, datetime
from billing_center import db
from billing_center.config import Settings
from billing_center.domain.auth import authenticate

async def main():
    await db.init_db(Settings.from_env().database_url)
    try:
        for token in sys.argv[1:]:
            print(await authenticate(token, None, datetime.now(UTC)) is not None)
    finally:
        await db.close_db()

asyncio.run(main())
"""


def tokens_work(tokens: list[str], env: dict[str, str], cwd: Path) -> list[bool]:
    """Whether each token authenticates against the database of `cwd`, as a request would."""
    done = subprocess.run([sys.executable, "-c", TOKENS_WORK, *tokens], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line == "True" for line in done.stdout.split()]


def demo_rows(cwd: Path) -> tuple[int, int]:
    """(demo organizations, API tokens) in the database of `cwd`."""
    import sqlite3

    with sqlite3.connect(cwd / "var" / "billing.db") as connection:
        organizations = connection.execute("SELECT COUNT(*) FROM tenant WHERE name = 'Contoso Demo'").fetchone()[0]
        tokens = connection.execute("SELECT COUNT(*) FROM api_token").fetchone()[0]
    return organizations, tokens


def test_seed_demo_twice_keeps_one_demo_organization_and_mints_no_new_token(tmp_path, env):
    """Issue #13 (a newcomer's first hour): every `scripts/start` ran seed-demo, which minted
    five new tokens each time. A second seeding changes nothing, says how to get a token, and
    the first seeding's tokens still work."""
    # given
    assert run(["migrate"], env, tmp_path).returncode == 0
    first = run(["seed-demo"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    tokens = [line.split()[-1] for line in first.stdout.splitlines() if " bc_" in line]
    assert len(tokens) == 5
    organizations, token_rows = demo_rows(tmp_path)
    assert organizations == 1
    # when
    second = run(["seed-demo"], env, tmp_path)
    # then
    assert second.returncode == 0, second.stderr
    assert "bc_" not in second.stdout
    assert "exists already" in second.stdout and "demo-token --user NAME" in second.stdout
    assert "grace" in second.stdout and "GLOBAL_ADMIN" in second.stdout
    assert demo_rows(tmp_path) == (1, token_rows)
    assert tokens_work(tokens, env, tmp_path) == [True] * 5


def test_demo_token_gives_a_working_token_that_replaces_the_persons_earlier_demo_token(tmp_path, env):
    """Issue #13: the way to a token on a repeated start. One live demo token per person, so
    asking again and again stays within a user's 50 live tokens."""
    # given
    assert run(["migrate"], env, tmp_path).returncode == 0
    missing = run(["demo-token"], env, tmp_path)
    assert missing.returncode == 1 and "run `billing-center seed-demo` first" in missing.stderr
    seeded = run(["seed-demo"], env, tmp_path)
    grace_first = next(line.split()[-1] for line in seeded.stdout.splitlines() if "GLOBAL_ADMIN" in line)
    uma = next(line.split()[-1] for line in seeded.stdout.splitlines() if "Uma User" in line)
    # when
    fresh = run(["demo-token", "--user", "admin"], env, tmp_path)
    by_name = run(["demo-token", "--user", "grace"], env, tmp_path)
    unknown = run(["demo-token", "--user", "mallory"], env, tmp_path)
    # then
    assert fresh.returncode == 0 and by_name.returncode == 0, fresh.stderr + by_name.stderr
    assert fresh.stdout.strip().startswith("bc_") and "Grace Global (GLOBAL_ADMIN)" in fresh.stderr
    assert tokens_work([grace_first, fresh.stdout.strip(), by_name.stdout.strip(), uma], env, tmp_path) == [
        False, False, True, True]
    assert unknown.returncode == 1 and "grace, bianca, luis, uma, ulf" in unknown.stderr


def _subcommands() -> dict:
    import argparse

    from billing_center.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    return {name: (helps.get(name), sub) for name, sub in commands.choices.items()}


def test_every_subcommand_has_a_help_line_a_description_and_explained_options():
    """Issue #13 (newcomer's first hour): `billing-center <cmd> --help` explained nothing."""
    subcommands = _subcommands()
    assert set(subcommands) >= {"serve", "migrate", "seed-demo", "run-billing", "check", "export-schema"}
    for name, (help_line, sub) in subcommands.items():
        assert help_line, f"{name} has no help line"
        assert sub.description and len(sub.description) > len(help_line), f"{name} has no description"
        unexplained = [a.dest for a in sub._actions if a.dest != "help" and not a.help]
        assert unexplained == [], f"{name}: options without help {unexplained}"


def test_subcommand_help_shows_its_options_with_their_meaning(tmp_path, env):
    result = run(["serve", "--help"], env, tmp_path)
    assert result.returncode == 0
    assert "--port" in result.stdout and "default: 8000" in result.stdout
    assert "GraphiQL" in result.stdout and "DATABASE_URL" in result.stdout


def test_export_schema_check_says_so_when_the_file_is_current(tmp_path, env):
    """Issue #13 (newcomer's first hour): `export-schema --check` printed nothing on success."""
    current = tmp_path / "schema.graphql"
    current.write_text((ROOT / "schema.graphql").read_text())
    checked = run(["export-schema", "--output", str(current), "--check"], env, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"{current} is current."
