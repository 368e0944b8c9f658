"""Schema fuzzing (issue #6; RELIABILITY.md E6): schemathesis in GraphQL mode against a running
server, for each role and without a token, bounded (deterministic generation, 10 examples per
operation) so it fits in CI. Every answer must pass `tests/fuzz_checks.py`: no 5xx, every
error coded and none INTERNAL, no leaked traceback or SQL; and the server logs no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "billing_center.cli"]
EXAMPLES = os.environ.get("BILLING_FUZZ_EXAMPLES", "10")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PYTHONPATH=str(ROOT), BILLING_RATE_LIMIT_POINTS="0")
    assert subprocess.run(CLI + ["migrate"], env=env, cwd=directory, capture_output=True).returncode == 0
    seeded = subprocess.run(CLI + ["seed-demo"], env=env, cwd=directory, capture_output=True, text=True)
    tokens = {line.split()[-2]: line.split()[-1] for line in seeded.stdout.splitlines() if " bc_" in line}
    port = _free_port()
    log = open(directory / "server.log", "w")
    server = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=directory, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/graphql"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url, tokens, directory / "server.log"
    server.terminate()
    server.wait(timeout=20)
    log.close()


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
