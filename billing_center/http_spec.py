"""GraphQL over HTTP as its specification says (https://graphql.github.io/graphql-over-http/):
the media type and the status code of each answer of /graphql (API.md "Transport", rev. 2).

- The answer is `application/graphql-response+json` when the client lists it in `Accept`
  (Apollo Client and graphql-http's client send `application/graphql-response+json,
  application/json;q=0.9`), unless it ranks `application/json` higher; `application/json`
  otherwise: no `Accept`, `*/*`, or nothing we can produce (the spec lets a server answer its
  default type rather than 406).
- A *request error* (the document does not parse or validate, a variable cannot be coerced, the
  operation cannot be chosen, a limit refuses it before any field runs) has no `data` entry at
  all: execution never started. Under `application/graphql-response+json` it is a 4xx (400;
  THROTTLED 429, UNAUTHENTICATED 401, FORBIDDEN 403) or a 5xx (INTERNAL 500); under
  `application/json` it stays 200, as the spec says for legacy clients.
- Once execution started the answer is 200 under both types, with `data` (null when the root
  failed).
- A request that is not GraphQL over HTTP at all (no JSON, no `query`, a mutation over GET) is
  refused with its 4xx under both types; a mutation over GET with 405 and `Allow: POST`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from strawberry.schema.exceptions import InvalidOperationTypeError

from billing_center.persisted_queries import PersistedQueryError

try:  # the exception Strawberry's views turn into an HTTP status (cross-web since 0.33x)
    from cross_web import HTTPException
except ImportError:  # pragma: no cover - older Strawberry
    from strawberry.http.exceptions import HTTPException  # type: ignore[no-redef]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Statuses of request errors under GRAPHQL_RESPONSE, by the first error's code; 400 otherwise.
_REQUEST_ERROR_STATUS = {"THROTTLED": 429, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "INTERNAL": 500}
# The code of each refusal of Strawberry's view besides 400 BAD_REQUEST.
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def response_media_type(accept: str | None) -> str:
    """The media type to answer a client sending this `Accept` header (see the module doc)."""
    if not accept:
        return JSON
    graphql_response = json = 0.0
    for media_range in accept.split(","):
        media_type, *parameters = media_range.split(";")
        media_type = media_type.strip().lower()
        quality = _quality(parameters)
        if media_type == GRAPHQL_RESPONSE:
            # Only when listed by name: a client sending */* may not know the type.
            graphql_response = max(graphql_response, quality)
        elif media_type in (JSON, "application/*", "*/*"):
            json = max(json, quality)
    return GRAPHQL_RESPONSE if graphql_response > 0 and graphql_response >= json else JSON


def is_request_error(data: Any, errors: list[Any] | None) -> bool:
    """Whether an execution result is a request error: no data and no error at a field's path.

    Errors of parsing, validation, variable coercion and of our limits (raised before any
    field runs) have no path; a field's error always has one."""
    return data is None and bool(errors) and all(getattr(error, "path", None) is None for error in errors)


def request_error_status(media_type: str, code: str | None) -> int:
    """The HTTP status of a request error with this first code, answered as `media_type`."""
    if media_type != GRAPHQL_RESPONSE:
        return 200
    return _REQUEST_ERROR_STATUS.get(code or "", 400)


def answer(response: Response, media_type: str, request_error_code: str | None) -> None:
    """Give a GraphQL answer of Strawberry's view its media type, and a request error
    (`request_error_code` not None) its status."""
    response.headers["content-type"] = media_type
    if request_error_code is not None:
        response.status_code = request_error_status(media_type, request_error_code)


def refusal(error: HTTPException | PersistedQueryError) -> tuple[int, str, str, list[tuple[bytes, bytes]]]:
    """The status, code, message and extra headers of a request refused outside GraphQL."""
    if isinstance(error, PersistedQueryError):
        return error.status, error.code, error.message, []
    if isinstance(error.__cause__, InvalidOperationTypeError):
        # The spec: a mutation over GET is 405, whatever the media type. Strawberry says 400.
        return 405, "METHOD_NOT_ALLOWED", "Mutations are not allowed over GET: send them with POST.", [
            (b"allow", b"POST")]
    return error.status_code, _HTTP_CODES.get(error.status_code, "BAD_REQUEST"), error.reason, []
