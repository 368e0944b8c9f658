"""Plain `pytest` runs the PostgreSQL half of the suite as `./scripts/test` does, and says why
when it cannot (issue #13, newcomer's first hour: every PostgreSQL test was skipped silently)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import postgres_url, unreachable_reason

ROOT = Path(__file__).resolve().parents[1]


def test_postgres_url_defaults_to_the_url_of_scripts_test():
    script_default = re.search(r"TEST_POSTGRES_URL:-([^}]+)\}", (ROOT / "scripts" / "test").read_text()).group(1)
    assert postgres_url({}) == script_default == "postgres://postgres@127.0.0.1:5432/test"
    assert postgres_url({"TEST_POSTGRES_URL": ""}) == script_default  # as `${VAR:-default}` reads it


def test_postgres_url_from_the_environment_wins():
    assert postgres_url({"TEST_POSTGRES_URL": "postgres://ci@db:5433/x"}) == "postgres://ci@db:5433/x"


def test_unreachable_reason_says_how_to_point_at_a_server_and_hides_the_password():
    reason = unreachable_reason("postgres://app:s3cret@db.example:5432/test", OSError("Connection refused"))
    assert "s3cret" not in reason
    assert "db.example:5432" in reason and "Connection refused" in reason
    assert "TEST_POSTGRES_URL" in reason and "-k 'not postgres'" in reason


def test_a_plain_pytest_run_without_postgres_says_why_in_its_summary(tmp_path):
    # given: no reachable server at the URL, and PostgreSQL not required
    env = {k: v for k, v in os.environ.items() if k not in ("BILLING_REQUIRE_POSTGRES", "PYTEST_ADDOPTS")}
    env["TEST_POSTGRES_URL"] = "postgres://postgres@127.0.0.1:1/test"
    # when
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "tests/domain/test_catalogue.py::test_loading_the_catalogue_again_changes_nothing"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    # then: SQLite ran, PostgreSQL skipped, and the summary says why and what to do
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if line.startswith("PostgreSQL tests skipped:")]
    assert "127.0.0.1:1" in line and "TEST_POSTGRES_URL" in line
