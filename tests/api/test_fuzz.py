"""Schema fuzzing (issue #6; RELIABILITY.md E6): schemathesis in GraphQL mode against a running
server, for each role and without a token, bounded (deterministic generation, 10 examples per
operation) so it fits in CI. Every answer must pass `tests/fuzz_checks.py`: no 5xx, every
error coded and none INTERNAL, no leaked traceback or SQL; and the server logs no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import running_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("BILLING_FUZZ_EXAMPLES", "10")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("fuzz"), seed=True, BILLING_RATE_LIMIT_POINTS="0") as server:
        yield server.url, server.tokens_by_role, server.log


@pytest.mark.parametrize("role", ["GLOBAL_ADMIN", "BILLING_ADMIN", "LICENSE_ADMIN", "USER", None])
def test_fuzzing_finds_no_server_error_and_no_uncoded_error(demo_server, role):
    url, tokens, log = demo_server
    headers = ["-H", f"Authorization: Bearer {tokens[role]}"] if role else []
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_checks", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run", url, *headers, "-n", EXAMPLES,
         "--generation-deterministic", "-c", "coded_errors_only", "--no-color"],
        # its run cache goes next to the demo server's files, not into the repository
        env=env, cwd=log.parent, capture_output=True, text=True, timeout=600,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "generated" in summary
    assert "Traceback" not in log.read_text()
