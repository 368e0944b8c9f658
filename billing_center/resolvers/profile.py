"""The production profile (`BILLING_ENV=production`, RELIABILITY.md B5, B6): no introspection
and no field suggestions, so the schema cannot be mapped from outside; GraphiQL is off too
(`config.Settings`). The development profile keeps all three for people exploring the API.

The profile is read from each request's context rather than baked into the schema, so one
process (the test suite) can serve both, and the validation cache stays profile-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from billing_center.resolvers.limits import flattened_fields

_INTROSPECTION = {"__schema", "__type"}
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def is_production(context: Any) -> bool:
    """Whether the request runs under the production profile."""
    return bool(getattr(context, "production", False))


def without_suggestions(message: str) -> str:
    """`message` without graphql-core's "Did you mean ...?" hints."""
    return _SUGGESTION.sub("", message)


class IntrospectionGuard(SchemaExtension):
    """Refuses `__schema` and `__type` before execution under the production profile
    (`__typename` stays: clients need it for unions and caching). Both exist only on the
    query root, and validation has run by then, so the root fields are enough to look at."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and is_production(context.context):
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode) and any(
                        field.name.value in _INTROSPECTION
                        for field in flattened_fields(definition.selection_set, fragments.get)):
                    raise GraphQLError("Introspection is disabled on this server.", definition,
                                       extensions={"code": "FORBIDDEN"})
        yield
