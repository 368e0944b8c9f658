"""Serving with several worker processes, each on its own SO_REUSEPORT socket.

uvicorn's `--workers` shares one listening socket: whichever worker wakes first accepts, so a
client that opens its keep-alive connections at once (a frontend's pool, a load generator)
can land all of them on one worker and leave the others idle (measured with the peers bench:
2 workers answered no faster than 1 on the small query). With one socket per worker bound with
SO_REUSEPORT, the kernel spreads new connections evenly over the workers.

The parent only supervises: it restarts a worker that dies and stops them all on SIGINT or
SIGTERM. Where SO_REUSEPORT does not exist, uvicorn's own multi-process mode is used.
"""

from __future__ import annotations

import logging
import logging.config
import multiprocessing
import signal
import socket
import time
from typing import Any

log = logging.getLogger("billing_center.workers")

APP = "billing_center.app:create_app"
# uvicorn's httptools protocol with limits on request heads (http_protocol.py).
HTTP = "billing_center.http_protocol:BoundedHttpToolsProtocol"
# A worker that exits with an error this soon after starting is broken (a bad setting, the
# database unreachable), not unlucky: restarting it would only loop.
_MIN_LIFETIME = 5.0


def _serve_one(host: str, port: int, log_format: str) -> None:
    import uvicorn

    from billing_center.access_log import logging_config

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(APP, factory=True, http=HTTP, access_log=False, log_level="info",
                            log_config=logging_config(log_format))
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, log_format: str = "auto") -> int:
    """Serve the application on `host:port` with `workers` processes; returns an exit code.
    Log lines go to stderr as `access_log.logging_config(log_format)` says (one access line
    per request; uvicorn's own access log is off)."""
    import uvicorn

    from billing_center.access_log import logging_config

    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, http=HTTP, host=host, port=port, workers=workers, access_log=False,
                    log_level="info", log_config=logging_config(log_format))
        return 0
    # The supervisor's own lines (a worker died) in the same format as the workers'.
    logging.config.dictConfig(logging_config(log_format))
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> Any:
        process = context.Process(target=_serve_one, args=(host, port, log_format), daemon=False)
        process.start()
        process.started_at = time.monotonic()  # type: ignore[attr-defined]
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [start() for _ in range(workers)]
    log.info("Serving http://%s:%s with %s workers (SO_REUSEPORT)", host, port, workers)
    code = 0
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if process.is_alive() or stopping:
                continue
            if process.exitcode > 0 and time.monotonic() - process.started_at < _MIN_LIFETIME:
                log.error("worker %s exited with %s right after starting; stopping", process.pid, process.exitcode)
                stopping, code = True, 1
                break
            log.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
            processes[index] = start()
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    return code
