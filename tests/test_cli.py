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
