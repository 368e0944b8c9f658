"""`scripts/start`, the README's first command (issue #13, a newcomer's first hour): the port
is checked before anything is touched, the banner shows the port really used, and a repeated
start reuses the demo organization.

The script runs from a copy in a temporary directory whose `.venv` holds stand-ins: `python`
skips the package installation (the test process already runs the package) and
`billing-center` runs this checkout's CLI. Everything else is the script as shipped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory laid out like the repository, with scripts/start and a stand-in .venv."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "start", tmp_path / "scripts" / "start")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    stand_ins = {
        "python": f'#!/bin/sh\n[ "$1 $2" = "-m pip" ] && exit 0\nexec "{sys.executable}" "$@"\n',
        "billing-center": f'#!/bin/sh\nexec "{sys.executable}" -m billing_center.cli "$@"\n',
    }
    for name, text in stand_ins.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp_path


@pytest.fixture
def env() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORT")}
    environment.update(PYTHONPATH=str(ROOT), PYTHON=sys.executable)
    return environment


def test_start_on_a_taken_port_fails_at_once_and_touches_nothing(checkout, env):
    """Issue #13: with the port taken, scripts/start migrated, seeded and printed five new
    tokens before failing. Now it stops first, naming the port and how to pick another."""
    # given: a port somebody holds
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # when
        started = subprocess.run([str(checkout / "scripts" / "start"), "--port", str(port)], env=env,
                                 cwd=checkout, capture_output=True, text=True, timeout=60)
    # then
    assert started.returncode == 1
    assert f"port {port} on 127.0.0.1 is not free" in started.stderr
    assert f"--port {port + 1}" in started.stderr
    assert not (checkout / "var").exists()  # no database created, nothing migrated
    assert "bc_" not in started.stdout + started.stderr


def _start(checkout: Path, env: dict[str, str], args: list[str]) -> tuple[subprocess.Popen, str]:
    """Start the script; wait until its server answers; return it and what it printed."""
    log = open(checkout / f"start-{len(list(checkout.glob('start-*')))}.log", "w+")
    process = subprocess.Popen([str(checkout / "scripts" / "start"), *args], env=env, cwd=checkout,
                               stdout=log, stderr=subprocess.STDOUT)
    banner = ""
    for _ in range(300):
        log.seek(0)
        banner = log.read()
        if "GraphiQL: http://" in banner:
            url = banner.split("GraphiQL: ", 1)[1].split()[0]
            try:
                urllib.request.urlopen(url.replace("/graphql", "/health"), timeout=1)
                return process, banner
            except OSError:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    pytest.fail(f"scripts/start did not start:\n{banner}")


def _tenant_name(port: int, token: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": "{ tenant { name } }"}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]["tenant"]["name"]


def test_start_prints_the_real_port_and_a_second_start_reuses_the_demo_organization(checkout, env):
    """Issue #13: the banner said 8000 whatever the port; every start minted five tokens. The
    port comes from --port or PORT; a second start prints no token and says how to get one,
    and the tokens of the first start still work."""
    # given: a first start with --port
    port = free_port()
    server, printed = _start(checkout, env, ["--port", str(port)])
    try:
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in printed
        admin = next(line.split()[-1] for line in printed.splitlines() if "GLOBAL_ADMIN" in line)
        assert _tenant_name(port, admin) == "Contoso Demo"
    finally:
        server.terminate()
        server.wait(timeout=20)
    # when: a second start, with PORT
    port = free_port()
    server, printed = _start(checkout, env | {"PORT": str(port)}, [])
    try:
        # then
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in printed
        assert "bc_" not in printed
        assert "demo-token --user NAME" in printed
        assert _tenant_name(port, admin) == "Contoso Demo"
    finally:
        server.terminate()
        server.wait(timeout=20)
