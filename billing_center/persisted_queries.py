"""Apollo's automatic persisted queries (APQ; API.md "Transport", rev. 2; issue #13 item 3).

A client sends `extensions.persistedQuery {version: 1, sha256Hash}` instead of the document, over
POST or GET (there `extensions` is a JSON string of the query string). The protocol, as Apollo
Client's persisted-queries link speaks it:

1. hash only, unknown here: HTTP 200, one error `PersistedQueryNotFound` coded
   PERSISTED_QUERY_NOT_FOUND and no `data`. It is 200 under both media types (as Apollo Server
   answers it): the link gives up on APQ altogether on a 400 or a 500, and retries with the
   document on this message or code;
2. hash and document: the hash must be the SHA-256 of the document's UTF-8 text, in hex
   (otherwise HTTP 400 PERSISTED_QUERY_HASH_MISMATCH and nothing runs). The document runs as if
   sent alone, and is kept once it has parsed, validated and passed every limit;
3. hash only, known: the kept document runs.

Only version 1 exists (another is HTTP 400 PERSISTED_QUERY_VERSION_NOT_SUPPORTED), and a hash is
64 hexadecimal digits (otherwise HTTP 400 BAD_REQUEST).

The document found by its hash goes through exactly the path of a sent one: token limit,
shape limits, node budget, rate-limit points, introspection guard, and no mutation over GET
(HTTP 405). A request whose hash is unknown costs no rate-limit point: it runs nothing, and
costs a dictionary lookup, like a refused unreadable body.

The cache is per worker process, in memory, bounded (least recently used dropped first): at
most MAX_DOCUMENTS documents and MAX_BYTES of their text, each no larger than the request body
limit anyway. This works with several workers, and across restarts, without shared storage: a
worker that has not seen a hash answers PERSISTED_QUERY_NOT_FOUND, and the client's retry with
the document registers it there (one extra round trip per worker and document). Keeping the
documents in the database would save that round trip at the price of a write path that any
anonymous caller could fill; not worth it for documents a client can always resend.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_DOCUMENTS = 10_000
MAX_BYTES = 32 * 1024 * 1024
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
VERSION_NOT_SUPPORTED = "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryError(Exception):
    """A refused persisted-query request: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PersistedQuery:
    """What a request asks: the hash (lower-case hex) and whether it carries the document."""

    sha256: str
    register: bool


def requested(extensions: dict[str, Any] | None, query: str | None) -> PersistedQuery | None:
    """The persisted query the request's `extensions` ask for, None when none; checks the
    version, the hash's form and, with the document, that the hash is the document's."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise PersistedQueryError(400, "BAD_REQUEST", "`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != 1:
        raise PersistedQueryError(400, VERSION_NOT_SUPPORTED, "Unsupported persisted query version: only 1 exists.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise PersistedQueryError(400, "BAD_REQUEST", "`sha256Hash` must be 64 hexadecimal digits.")
    sha256 = sha256.lower()
    if query is not None and hashlib.sha256(query.encode("utf-8")).hexdigest() != sha256:
        raise PersistedQueryError(400, HASH_MISMATCH, "`sha256Hash` is not the SHA-256 of the query sent with it.")
    return PersistedQuery(sha256=sha256, register=query is not None)


class PersistedQueryStore:
    """The documents known by their hash, in this process (see the module doc): at most
    `max_documents` of them and `max_bytes` of their text, the least recently used dropped first."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS, max_bytes: int = MAX_BYTES):
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.size = 0  # bytes of the documents kept
        self._documents: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def document(self, sha256: str) -> str:
        """The document of this hash; PersistedQueryError NOT_FOUND when it is not known."""
        document = self._documents.get(sha256)
        if document is None:
            raise PersistedQueryError(200, NOT_FOUND, "PersistedQueryNotFound")
        self._documents.move_to_end(sha256)
        return document

    def keep(self, sha256: str, document: str) -> None:
        """Keep `document` under its (checked) hash, dropping the least recently used past the bounds."""
        if sha256 in self._documents:
            self._documents.move_to_end(sha256)
            return
        size = len(document.encode("utf-8"))
        if size > self.max_bytes:
            return
        self._documents[sha256] = document
        self.size += size
        while len(self._documents) > self.max_documents or self.size > self.max_bytes:
            _, dropped = self._documents.popitem(last=False)
            self.size -= len(dropped.encode("utf-8"))
