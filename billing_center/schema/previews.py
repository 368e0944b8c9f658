"""What a change would do, read before making it: the type of the `cancellationPreview` query."""

from __future__ import annotations

from datetime import datetime

import strawberry

from billing_center.domain.subscription_rules import DATA_RETENTION_AFTER_CANCEL, DISABLED_PERIOD
from billing_center.schema.errors import UserError
from billing_center.schema.types import Money


@strawberry.type(description="What cancelling a subscription now would do.")
class CancellationPreview:
    eligible: bool = strawberry.field(description="Whether you may cancel it now.")
    blockers: list[UserError] = strawberry.field(description="Every reason it cannot be cancelled now, as the errors cancelSubscription would return.")
    disabled_until: datetime | None = strawberry.field(description=f"Cancelled now, it stays DISABLED until then ({DISABLED_PERIOD.days} days), then is deleted.")
    data_deletable_from: datetime | None = strawberry.field(description="Customer data may be deleted from then on.")
    data_deleted_by: datetime | None = strawberry.field(description=f"Customer data is deleted by then at the latest ({DATA_RETENTION_AFTER_CANCEL.days} days).")
    credit: Money = strawberry.field(description="The pro-rata credit for the unused part of the term, on the next invoice.")
    credit_explanation: str = strawberry.field(description="How the credit is computed: rate, licences, days, rounding.")
    affected_users: int = strawberry.field(description="How many users would lose the service.")
