"""From domain refusals to the API's two error channels, and masking of everything else.

Mutations return refusals as `userErrors`; queries raise them as top-level errors carrying
`extensions.code`. An unexpected exception never reaches the client: it becomes "Internal
error." with the request id, and the traceback goes to the log under that same id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.redaction import redact_error_message
from billing_center.resolvers import profile
from billing_center.schema import enums
from billing_center.schema.payloads import UserError

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


class ErrorPresenter(MaskErrors):
    """Adds `extensions.code` to refusals and masks unexpected errors behind a request id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
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
            if profile.is_production(context) and original is None:
                message = profile.without_suggestions(message)
            extensions = dict(error.extensions or {})
            if isinstance(original, DomainError):
                extensions["code"] = original.code.value
                if original.field:
                    extensions["field"] = list(original.field)
                if original.retry_after is not None:
                    extensions["retryAfter"] = original.retry_after
            elif original is None and not extensions.get("code"):
                # The document itself was refused (syntax, validation, limits): say so in the
                # one place scripts read, like every other error.
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
            # A copy: validation errors are cached and shared by every request of a document.
            processed.append(GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                                          path=error.path, original_error=original, extensions=extensions))
        return processed
