"""How a mutation is declared: one decorated function is both its GraphQL field and its resolver.

    @mutation("Cancel a subscription: ...", input="The subscription, reason and feedback.")
    async def cancel_subscription(actor: Actor, ctx: Context,
                                  data: schema.CancelSubscriptionInput) -> schema.CancelSubscriptionPayload:

becomes the field `cancelSubscription(input: CancelSubscriptionInput!): CancelSubscriptionPayload!`
that `schema.root.Mutation` takes from `declared()`: declaring it is all it takes to be in the schema.
The field requires a caller (UNAUTHENTICATED otherwise) unless it is `public`, and runs the body
through `run_mutation`, so a refusal comes back as the payload's `userErrors`; input and
payload types are read from the body's annotations (`schema` there is the subject's module
of inputs and payloads, `schema.mutations.<subject>`). The body decodes the global IDs it needs
with `input_id`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from billing_center.domain import models
from billing_center.resolvers.errors import run_mutation
from billing_center.resolvers.queries import decode_id

Body = Callable[..., Awaitable[Any]]

# Every mutation declared in this package, by its Python name, in declaration order: the
# package imports the subject modules in a fixed order, so the schema's field order is stable.
# (A test may declare mutations of its own elsewhere: those are not the API's.)
_DECLARED: dict[str, StrawberryField] = {}


def declared() -> dict[str, StrawberryField]:
    """The API's mutations, by Python name (the field is its camelCase)."""
    import billing_center.resolvers.mutations  # noqa: F401 - importing the subjects declares them

    return dict(_DECLARED)


def mutation(description: str, *, input: str, public: bool = False) -> Callable[[Body], StrawberryField]:
    """Declare the decorated body as a mutation field described by `description`, its one
    argument `input` described by `input`. The body is called as `body(actor, ctx, data)`,
    or `body(ctx, data)` when `public` (no token needed, e.g. signUp). An input annotated
    `X | None` may be omitted (the body then gets None)."""

    def register(body: Body) -> StrawberryField:
        hints = typing.get_type_hints(body)
        input_type = hints[list(inspect.signature(body).parameters)[-1]]
        payload_type = hints["return"]
        optional = type(None) in typing.get_args(input_type)

        async def resolve(info: strawberry.Info, input: Any = None) -> Any:
            context = info.context
            if public:
                return await run_mutation(payload_type, partial(body, context, input))
            # Outside `run_mutation` or in, UNAUTHENTICATED is a top-level error; checked
            # first, so a caller without a token learns nothing about the input.
            actor = context.require_actor()
            return await run_mutation(payload_type, partial(body, actor, context, input))

        # Strawberry reads arguments and types from the signature: the input's description
        # rides on the annotation, as on a hand-written resolver.
        resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info),
                inspect.Parameter(
                    "input", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    annotation=Annotated[input_type, strawberry.argument(description=input)],
                    default=None if optional else inspect.Parameter.empty,
                ),
            ],
            return_annotation=payload_type,
        )
        resolve.__name__ = resolve.__qualname__ = body.__name__
        resolve.__module__, resolve.__doc__ = body.__module__, body.__doc__
        field = strawberry.mutation(resolver=resolve, description=description)
        if body.__module__.startswith(f"{__package__}."):
            if body.__name__ in _DECLARED:
                raise ValueError(f"mutation {body.__name__} declared twice")
            _DECLARED[body.__name__] = field
        return field

    return register


def input_id(data: object | None, name: str, expected: str | Sequence[str]) -> int | None:
    """The primary key behind the global ID in the input's field `name` (its Python name):
    None when the field is null or the input omitted; NOT_FOUND naming the field
    (`input.<fieldName>`) when it is not an ID of the `expected` type(s)."""
    value = getattr(data, name) if data is not None else None
    if value is None:
        return None
    return decode_id(value, expected, ("input", to_camel_case(name)))


def row_of(instance: models.Model) -> dict[str, Any]:
    """The column values of a freshly written entity, as `.values()` would return them."""
    return {column: getattr(instance, column) for column in instance._meta.fields_db_projection}
