"""From domain refusals to the API's two error channels, and masking of everything else.

Mutations return refusals as `userErrors`; queries raise them as top-level errors carrying
`extensions.code`. An unexpected exception never reaches the client: it becomes "Internal
error." with the request id, and the traceback goes to the log under that same id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.redaction import redact_error_message
from billing_center.resolvers import profile
from billing_center.schema import enums
from billing_center.schema.errors import UserError

log = logging.getLogger("billing_center.errors")
Payload = TypeVar("Payload")


def user_error(error: DomainError) -> UserError:
    """The `userErrors` entry of a refusal."""
    return UserError(
        code=enums.ErrorCode(error.code.value),
        field=list(error.field) if error.field else None,
        message=error.message,
        retry_after=error.retry_after,
    )


async def run_mutation(payload_type: Callable[..., Payload], work: Callable[[], Awaitable[Payload]]) -> Payload:
    """Run one mutation: its payload, or the payload carrying the refusal as a userError."""
    try:
        return await work()
    except DomainError as error:
        if error.code is ErrorCode.UNAUTHENTICATED:
            raise  # not a refusal of the rule but of the caller: a top-level error
        return payload_type(user_errors=[user_error(error)])


def is_expected(error: GraphQLError) -> bool:
    """Errors the client may see as they are: refusals, and GraphQL's own request errors."""
    original = error.original_error
    return original is None or isinstance(original, (DomainError, GraphQLError))


def present(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """The errors as the client sees them: every one with `extensions.code`, unexpected ones
    masked (and logged with their traceback under the request id), echoed input values
    removed, and no "Did you mean ...?" under the production profile."""
    request_id = getattr(context, "request_id", None)
    production = profile.is_production(context)
    processed: list[GraphQLError] = []
    for error in errors:
        original = error.original_error
        if not is_expected(error):
            log.error(
                "unexpected error in request %s at %s", request_id, error.path,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
            processed.append(GraphQLError("Internal error.", nodes=error.nodes, path=error.path,
                                          extensions={"code": "INTERNAL", "requestId": request_id}))
            continue
        # graphql-core echoes invalid input values: a card number must not come back.
        message = redact_error_message(error.message)
        if production:
            message = profile.without_suggestions(message)
        extensions = dict(error.extensions or {})
        if isinstance(original, DomainError):
            extensions["code"] = original.code.value
            if original.field:
                extensions["field"] = list(original.field)
            if original.retry_after is not None:
                extensions["retryAfter"] = original.retry_after
        elif not extensions.get("code"):
            # The document or its variables were refused (syntax, validation, coercion of a
            # variable, limits): say so in the one place scripts read, like every other error.
            extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
        # A copy: validation errors are cached and shared by every request of a document.
        processed.append(GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                                      path=error.path, original_error=original, extensions=extensions))
    return processed


def present_unseen(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """`errors` with those that skipped `ErrorPresenter` presented: Strawberry returns an error
    raised in an extension's hook (a syntax error from the parser cache) without running the
    extensions' `on_operation` again. Presented errors always carry a code."""
    if all((error.extensions or {}).get("code") for error in errors):
        return errors
    return [error if (error.extensions or {}).get("code") else present([error], context)[0] for error in errors]


class ErrorPresenter(MaskErrors):
    """Adds `extensions.code` to refusals and masks unexpected errors behind a request id (`present`)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return present(errors, self.execution_context.context)

    def _process_result(self, result: object) -> None:
        # MaskErrors' own test, `isinstance(result, <a runtime-checkable Protocol with `errors`>)`,
        # costs 7 µs a request; the attribute read decides the same.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]
