"""`billing-center serve --workers N` (issue #5): one SO_REUSEPORT socket per worker, so
connections opened at once spread over all workers; a worker that dies is replaced; stopping
the server stops every worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The worker processes of server `pid` (not multiprocessing's resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.append(int(entry))
    return found


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def _health(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _wait(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


async def test_workers_share_connections_are_replaced_and_stop_together(database, backend):
    if backend != "postgres":
        pytest.skip("several workers need PostgreSQL (SQLite is refused, see test_cli)")
    port = _free_port()
    # Sockets are counted per worker: no background webhook delivery opening database
    # connections of its own meanwhile.
    env = {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT), "BILLING_WEBHOOK_DELIVERY": "0"}
    server = subprocess.Popen([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: len(_children(server.pid)) == 2 and _health(port))
        workers = _children(server.pid)
        assert _wait(lambda: all(_health(port) for _ in range(4)))
        before = {pid: _sockets(pid) for pid in workers}
        # a client opening its keep-alive connections at once
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        for conn in clients:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for conn in clients:
            assert conn.recv(64).startswith(b"HTTP/1.1 200")
        gained = {pid: _sockets(pid) - before[pid] for pid in workers}
        for conn in clients:
            conn.close()
        assert all(count > 0 for count in gained.values()), gained
        assert sum(gained.values()) >= 16
        # a worker killed outright is replaced, and the server keeps answering
        os.kill(workers[0], signal.SIGKILL)
        assert _wait(lambda: len(_children(server.pid)) == 2 and workers[0] not in _children(server.pid))
        assert _wait(lambda: _health(port))
        current = _children(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0
    assert _wait(lambda: not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                                 for pid in current), 10)


def test_workers_that_cannot_start_stop_the_server_instead_of_looping():
    with socket.socket() as taken:  # the port is someone else's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere", "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port),
                                 "--workers", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "right after starting" in result.stderr
