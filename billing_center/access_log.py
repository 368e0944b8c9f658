"""One access line per request (issue #13), and the format of the service's log lines.

`AccessLog`, the outermost middleware, logs one record per HTTP request on the
`billing_center.access` logger when the answer is complete: request id, operation name,
method, path, status, duration in ms, and who called (tenant and user ids, `anonymous` or
`operator`). It reads what the inner layers left in the request's `scope["state"]`: the
request id and session of `app.RequestIdentity`, and the operation name, which only exists
once the body is parsed: the `OperationName` schema extension puts it there. Requests shed
before `RequestIdentity` runs (503 `OVERLOADED`) are logged too, without a request id.

The fields ride on the record as `record.access`; its message is a short human summary
without them, for handlers configured by someone else. Every value is redacted when taken
(`masked`), as every message of the process is: a client chooses its path and
operation name, and might put a token or a card number there.

`LogFormatter` writes one JSON object per line when stderr is not a terminal (a log
collector reads it), a plain line when it is (a person reads it); `BILLING_LOG_FORMAT`
(`json` or `text`) overrides. `logging_config` is what `billing-center serve` hands uvicorn,
whose own access log is off (the line here replaces it).

Cost: a timer read, a closure and one log record per request; no database statement.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from billing_center.redaction import MASK, redact

ACCESS_LOGGER = "billing_center.access"
log = logging.getLogger(ACCESS_LOGGER)
# A GraphQL name (the spec's Name), at most 100 characters: anything else a client sends as
# operationName is not worth a log column (and cannot carry a line break).
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
# `redact` looks for tokens and card numbers standing alone; in a name or a path they may be
# glued to other characters ("x_bc_...", "_4242..."), so these columns are masked harder.
_GLUED = re.compile(r"(?:bc|tok)_[A-Za-z0-9_\-]{6,}|\d{12,}")
LOG_FORMATS = ("auto", "json", "text")


class AccessLog:
    """ASGI middleware: one `billing_center.access` record per HTTP request (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except Exception:
            # Starlette's outermost middleware turns it into a 500 after us.
            status = status or 500
            raise
        finally:
            if log.isEnabledFor(logging.INFO):
                _log(scope, status, (time.perf_counter() - started) * 1000)


def _log(scope: Scope, status: int | None, duration_ms: float) -> None:
    state = scope.get("state") or {}
    session = state.get("session")
    actor = session.actor if session is not None else None
    if actor is None:
        caller = "anonymous"
    else:
        caller = "operator" if actor.is_operator else "user"
    fields = {
        "request_id": state.get("request_id"),
        "operation": state.get("operation_name"),
        "method": scope["method"],
        "path": masked(scope["path"][:200]),
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "caller": caller,
        "tenant_id": actor.tenant_id if actor is not None else None,
        "user_id": actor.user_id if actor is not None else None,
    }
    # makeRecord + handle is what `log.info` does, minus looking up the caller's source line
    # (a stack walk per request, for a line that always comes from here).
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %s %.1f ms",
                            (fields["method"], fields["path"], status, fields["duration_ms"]), None,
                            extra={"access": fields})
    log.handle(record)


class OperationName(SchemaExtension):
    """Leaves the name of the operation run (given as `operationName` or read from the
    document) in the request's state for `AccessLog`, once the operation is over."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            state = getattr(self.execution_context.context, "request_state", None)
            if state is not None:
                state["operation_name"] = operation_name(self.execution_context.operation_name)


def operation_name(name: str | None) -> str | None:
    """`name` fit for a log column: a GraphQL name, masked; None otherwise."""
    return masked(name) if isinstance(name, str) and _NAME.fullmatch(name) else None


@functools.lru_cache(maxsize=512)  # the same few paths and operation names, request after request
def masked(text: str) -> str:
    """`text` redacted, tokens and card numbers glued to other characters included."""
    return _GLUED.sub(MASK, redact(text))


class LogFormatter(logging.Formatter):
    """One JSON object per line (`json=True`) or a plain line; None picks JSON when stderr
    is not a terminal. Access records are written from their fields (masked when taken);
    other records from their message and traceback (redacted by the record factory,
    `redaction.install_log_redaction`)."""

    def __init__(self, json: bool | None = None) -> None:
        super().__init__()
        self.json = (not _is_terminal(sys.stderr)) if json is None else json

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        error = self._traceback(record)
        if self.json:
            entry: dict[str, Any] = {"time": _timestamp(record), "level": record.levelname, "logger": record.name}
            if access is not None:
                entry.update(access)
            else:
                entry["message"] = record.getMessage()
            if error:
                entry["error"] = error
            return orjson.dumps(entry).decode()
        if access is not None:
            a = access
            who = a["caller"] if a["tenant_id"] is None else f"tenant {a['tenant_id']} user {a['user_id']}"
            line = (f"{_timestamp(record)} {a['method']} {a['path']} {a['status']} {a['duration_ms']:.1f} ms "
                    f"{a['operation'] or '-'} ({who}) request {a['request_id'] or '-'}")
        else:
            line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        return f"{line}\n{error}" if error else line

    def _traceback(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:  # a record made before redaction was installed
            record.exc_text = redact(self.formatException(record.exc_info))
        return record.exc_text or ""


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def logging_config(log_format: str = "auto") -> dict[str, Any]:
    """The `logging.config.dictConfig` of `billing-center serve` (given to uvicorn, which
    applies it in every worker process): the service's and uvicorn's records through
    `LogFormatter` to stderr, uvicorn's own access log off."""
    json = {"auto": None, "json": True, "text": False}[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"billing": {"()": "billing_center.access_log.LogFormatter", "json": json}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "billing", "stream": "ext://sys.stderr"}},
        "loggers": {
            "billing_center": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
