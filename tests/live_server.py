"""A real `billing-center serve` for tests that drive the service with tools written by others
(the `graphql-http` audit, Apollo Client), and the Node packages of those tools."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "billing_center.cli"]
# The Node tools' own folder: package.json and package-lock.json pin them.
NODE_DIR = ROOT / "tests" / "http_audit"


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str  # of the GraphQL endpoint
    log: Path  # what the server printed
    # with `seed=True`: the demo people's tokens by display name and by role
    tokens_by_name: dict[str, str] = dataclasses.field(default_factory=dict)
    tokens_by_role: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def base(self) -> str:
        """The server's address, without the endpoint's path."""
        return self.url.removesuffix("/graphql")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(directory: Path, seed: bool = False, **environment: str) -> Iterator[LiveServer]:
    """Migrate a SQLite database in `directory` (with `seed`, also the demo organization) and
    serve it on a free port until the block ends. The test process's DATABASE_URL and
    BILLING_ENV are not passed on: the server is the development profile on that file, unless
    `environment` names another DATABASE_URL (a test's own database, of either backend)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BILLING_ENV")}
    env.update(PYTHONPATH=str(ROOT), **environment)
    migrated = subprocess.run(CLI + ["migrate"], env=env, cwd=directory, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    by_name, by_role = {}, {}
    if seed:
        seeded = subprocess.run(CLI + ["seed-demo"], env=env, cwd=directory, capture_output=True, text=True)
        assert seeded.returncode == 0, seeded.stderr
        # "  Grace Global   GLOBAL_ADMIN   bc_…": display name, role, token
        for words in (line.split() for line in seeded.stdout.splitlines() if " bc_" in line):
            by_name[" ".join(words[:-2])] = by_role[words[-2]] = words[-1]
    port = free_port()
    log_path = directory / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=directory, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.1)
            yield LiveServer(url=f"http://127.0.0.1:{port}/graphql", log=log_path, tokens_by_name=by_name,
                             tokens_by_role=by_role)
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`billing-center serve` on a migrated SQLite database, with the default settings. Tests
    using it take no database parameter: the HTTP layer is the same on SQLite and PostgreSQL."""
    with running_server(tmp_path_factory.mktemp("live")) as server:
        yield server


def install_node_packages() -> str:
    """`npm ci` in NODE_DIR unless its locked packages are installed already; the path of `node`.

    Node 20 or later and npm are required (CI has them): without them the test fails rather than
    skips, so a CI run cannot pass without the audit."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node 20+ and npm are needed for the GraphQL-over-HTTP audit and the Apollo Client test"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node 20 or later is needed, found {version}"
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    return node
