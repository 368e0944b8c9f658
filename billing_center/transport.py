"""HTTP-level limits of /graphql (RELIABILITY.md A3, A8, A10, A11, B12): body size, JSON nesting,
response size, request time and requests in flight; and no caching of its answers.

Each answers in the API's error shape (`errors[].extensions.code`, and the request id once
one is given: shedding runs before), before or instead of the GraphQL layer:

- a body over `max_body_bytes` (1 MiB) is refused with HTTP 413 `PAYLOAD_TOO_LARGE`, whether
  `Content-Length` announces it or the stream only turns out that long; nothing is parsed;
- request JSON nested deeper than `MAX_JSON_DEPTH` (64) levels, or text with U+0000, is refused
  with HTTP 400 `BAD_REQUEST` (`request_json_problem`; no real request nests past ~6, and
  every later walk of it, ours or a library's, may then recurse safely);
- an answer over `max_response_bytes` (10 MiB) is not sent: `RESPONSE_TOO_LARGE` instead. The
  node budget of `resolvers.limits` keeps answers well below; this is the last line of defence
  against a client (or a bug) making the server build and send hundreds of megabytes;
- past `max_concurrency` requests in flight in the worker (256), a request is shed at once
  with HTTP 503 `OVERLOADED` and `Retry-After: 1`, before anything runs: under overload the
  requests already admitted keep their latency instead of everyone timing out;
- a request still running after `request_timeout_seconds` (10 s) is answered with HTTP 504
  `TIMEOUT`. The work is not cancelled: a mutation finishes (or rolls back) its transaction
  as one whole, so the client's retry with the same idempotency key finds it done or
  redoes it, and never half of it. PostgreSQL's `statement_timeout` bounds what a read can
  still cost the database.

Every /graphql answer carries `Cache-Control: no-store` (`NoStore`): it may hold a tenant's
data, and no browser or proxy cache should keep it. Limits on the request head (header size
and count) are the HTTP server's: `http_protocol`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("billing_center.transport")


def error_body(message: str, code: str, request_id: str) -> bytes:
    """The JSON body of a request refused outside GraphQL execution: no `data` entry, since
    execution never started (GraphQL over HTTP, `http_spec`)."""
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]})


async def respond(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None,
                  media_type: str = "application/json") -> None:
    """Send a whole JSON response."""
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


MAX_JSON_DEPTH = 64


def request_json_problem(value: Any) -> str | None:
    """Why the decoded request JSON `value` is refused, or None: nesting past MAX_JSON_DEPTH
    levels, or U+0000 in a string (PostgreSQL cannot store it; no name, key or card number
    contains it). Iterative, so any depth the JSON parser accepts is walked safely."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Text must not contain the NUL character (U+0000)."
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"The request JSON is nested deeper than {MAX_JSON_DEPTH} levels."
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (str, dict, list)))
    return None


def too_large_answer(size: int, limit: int, request_id: str) -> bytes:
    """The body sent instead of an answer of `size` bytes over `limit` (RESPONSE_TOO_LARGE)."""
    log.warning("request %s: answer of %d bytes over the %d-byte limit, not sent", request_id, size, limit)
    message = (f"The answer is larger than {limit:,} bytes and was not sent: select fewer fields or smaller pages. "
               "A mutation in the request has run; read its outcome with a smaller selection.")
    # Execution ran, so `data` is there (null: withheld), and the status stays 200.
    return orjson.dumps({"data": None, "errors": [
        {"message": message, "extensions": {"code": "RESPONSE_TOO_LARGE", "requestId": request_id}}]})


def _request_id(scope: Scope) -> str:
    return scope.get("state", {}).get("request_id", "")


class BodyLimit:
    """Refuse /graphql bodies over `max_bytes` with 413, reading at most `max_bytes + 1`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await respond(send, 413, error_body(
            f"The request body is larger than {self.max_bytes:,} bytes.", "PAYLOAD_TOO_LARGE", _request_id(scope)
        ))


class ConcurrencyLimit:
    """Shed requests beyond `limit` in flight with 503 OVERLOADED (see the module doc)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await respond(send, 503, error_body("The server is busy; retry in a second.", "OVERLOADED",
                                                _request_id(scope)), extra=[(b"retry-after", b"1")])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class RequestTimeout:
    """Answer 504 TIMEOUT when a request runs longer than `seconds` (see the module doc).

    A timer rather than a task per request: the request keeps running in its own task, and
    only a request that times out costs anything more."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = timed_out = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the client already has its 504
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        def expire() -> None:
            nonlocal timed_out
            if started:
                return  # the answer is already on its way: let it finish
            timed_out = True
            log.warning("request %s took longer than %.1f s: answered 504, left to finish",
                        _request_id(scope), self.seconds)
            asyncio.ensure_future(respond(send, 504, error_body(
                f"The request took longer than {self.seconds:g} s. A mutation sent with an idempotency key may "
                "be retried with the same key.", "TIMEOUT", _request_id(scope),
            )))

        timer = asyncio.get_running_loop().call_later(self.seconds, expire)
        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
            log.exception("request %s, answered with 504, later failed", _request_id(scope))
        finally:
            timer.cancel()


class NoStore:
    """`Cache-Control: no-store` on every /graphql answer, refusals included: an answer may
    carry a tenant's data (RELIABILITY.md B12)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != "/graphql":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_no_store)
