"""Which operation of a document runs (GraphQL spec, GetOperation; issue #13 item 2).

Strawberry runs the first operation when no `operationName` is given, even in a document with
several, and refuses an unknown name outside GraphQL (an HTTP 400 of its own). Here both are
request errors coded OPERATION_RESOLUTION_FAILURE (Apollo Server's code for the same two
cases), raised right after parsing: nothing runs, and the answer has no `data`.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

CODE = "OPERATION_RESOLUTION_FAILURE"


class OperationChoice(SchemaExtension):
    """Refuses a document with several operations and no `operationName`, and an
    `operationName` the document does not define."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None:  # a syntax error: already refused
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        # What the client sent: `operation_name` falls back to the first operation's name.
        wanted = getattr(context, "_provided_operation_name", None)
        if wanted is None:
            if len(operations) > 1:
                raise GraphQLError(
                    f"The document has {len(operations)} operations: say which one to run with `operationName`.",
                    extensions={"code": CODE},
                )
        elif not any(o.name is not None and o.name.value == wanted for o in operations):
            raise GraphQLError(f'Unknown operation named "{wanted}".', extensions={"code": CODE})
