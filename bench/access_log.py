"""What the access line costs per request (issue #13).

    .venv/bin/python bench/access_log.py [--requests 20000]

Runs a trivial ASGI app (it only answers) bare and inside `access_log.AccessLog`, with the
service's formatter writing JSON to /dev/null, and prints the microseconds per request of
each and of a plain `log.info` line for comparison. Best of three runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

from billing_center.access_log import AccessLog, LogFormatter
from billing_center.redaction import install_log_redaction


async def answer(scope, receive, send) -> None:
    scope["state"].update(request_id="0123456789abcdef", operation_name="TenantName")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _ignore(message) -> None:
    return None


async def _nothing() -> dict:
    return {}


async def per_request(app, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await app({"type": "http", "method": "POST", "path": "/graphql", "state": {}}, _nothing, _ignore)
    return (time.perf_counter() - started) / count * 1e6


def plain_line(count: int) -> float:
    log = logging.getLogger("billing_center.bench")
    started = time.perf_counter()
    for _ in range(count):
        log.info("%s %s %s %.1f ms", "POST", "/graphql", 200, 3.1)
    return (time.perf_counter() - started) / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    count = parser.parse_args().requests
    install_log_redaction()
    handler = logging.StreamHandler(open(os.devnull, "w"))
    handler.setFormatter(LogFormatter(json=True))
    logger = logging.getLogger("billing_center")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    bare = min([await per_request(answer, count) for _ in range(3)])
    logged = min([await per_request(AccessLog(answer), count) for _ in range(3)])
    plain = min(plain_line(count) for _ in range(3))
    print(f"bare app {bare:.1f} us/request; with the access line {logged:.1f} us (+{logged - bare:.1f}); "
          f"a plain log.info line {plain:.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
