"""How a refused business rule reads in the API: `UserError`, the entries of every mutation
payload's `userErrors` and of `cancellationPreview`'s `blockers`."""

from __future__ import annotations

import strawberry

from billing_center.schema import enums


@strawberry.type(description="A refused business rule: a code to act on, the input field at fault and a message.")
class UserError:
    code: enums.ErrorCode = strawberry.field(description="What went wrong, stable for scripts.")
    field: list[str] | None = strawberry.field(description="Path of the input field at fault, e.g. [\"input\", \"adminEmail\"].")
    message: str = strawberry.field(description="What went wrong, for people.")
    retry_after: int | None = strawberry.field(
        default=None, description="For THROTTLED: seconds to wait before trying again."
    )
