"""uvicorn's httptools protocol with bounds on the request head (RELIABILITY.md B11).

uvicorn serves with httptools when it is installed (it is, with `uvicorn[standard]`), and
neither sets a limit on headers: `h11_max_incomplete_event_size` is h11's only. A 100 MB
header was read whole, and httptools gathers a header by appending each chunk to what it has,
so it also cost seconds of CPU. Here, as the head arrives:

- header names and values together above `MAX_HEADER_BYTES` (16 KiB), or more than
  `MAX_HEADERS` (100) headers: HTTP 431 `HEADERS_TOO_LARGE`;
- a request target (path and query string, which carries GET documents) above
  `MAX_URL_BYTES` (64 KiB): HTTP 414 `URI_TOO_LONG`.

The refusal is written at once and the connection closed, so the rest of the head is never
read: the cost is at most one read of the socket (256 KiB) past the limit.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from billing_center.transport import error_body

log = logging.getLogger("billing_center.http")

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_URL_BYTES = 64 * 1024
# Bytes of a head besides header names, values and the target: the request line's method and
# version, ": " and CRLF per header.
_HEAD_OVERHEAD = 64 + 4 * MAX_HEADERS
_HEADERS_TOO_LARGE = f"The request has more than {MAX_HEADERS} headers or {MAX_HEADER_BYTES:,} bytes of them."
_CODES = {414: "URI_TOO_LONG", 431: "HEADERS_TOO_LARGE"}


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol refusing request heads over the limits of this module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = b""
        self._refused = False
        self._in_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._header_bytes = 0
        self._headers = 0
        self._message_ended = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._message_ended = False
        super().data_received(data)
        if self._refused or not self._in_head or self._message_ended:
            # A head that began inside this chunk, after the end of the previous request, is
            # not counted here: its complete headers are, one by one, in on_header.
            return
        # The header being read is not seen until it ends: bound what has arrived of it.
        self._head_bytes += len(data)
        if self._head_bytes - len(self.url) > MAX_HEADER_BYTES + _HEAD_OVERHEAD:
            self._refuse(431, _HEADERS_TOO_LARGE)

    # Parser callbacks. Once the head is refused the parser still runs to the end of the chunk
    # it was given: everything it reports is ignored (no request reaches the application).

    def on_message_begin(self) -> None:
        if not self._refused:
            super().on_message_begin()
            self._in_head, self._header_bytes, self._headers = True, 0, 0

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refuse(414, f"The request target is longer than {MAX_URL_BYTES:,} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._headers += 1
        self._header_bytes += len(name) + len(value)
        if self._headers > MAX_HEADERS or self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(431, _HEADERS_TOO_LARGE)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if not self._refused:
            self._in_head = False
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()
            self._in_head, self._head_bytes, self._message_ended = True, 0, True

    def _refuse(self, status: int, reason: str) -> None:
        """Answer `status` with a coded JSON error and close: the rest of the head is never read."""
        self._refused = True
        client = "%s:%d" % self.client if self.client else "?"
        log.warning("refused a request head from %s with HTTP %d %s", client, status, _CODES[status])
        body = error_body(reason, _CODES[status], "")
        self.transport.write(b"".join([
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]))
        self.transport.close()
