"""Lifecycle periods of a subscription (SPEC §3, §5) and the dates derived from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_center.domain.models import SubscriptionStatus

# NOTE: Decision of SPEC §3: 30 days expired (the admin center's usual expired period).
EXPIRED_PERIOD = timedelta(days=30)
DISABLED_PERIOD = timedelta(days=90)
# Customer data is deleted at the latest this long after cancellation (§3).
DATA_RETENTION_AFTER_CANCEL = timedelta(days=180)


@dataclass(frozen=True, slots=True)
class RetentionDates:
    """When a disabled subscription is deleted and when its data may / will be deleted."""

    disabled_until: datetime | None
    data_deletable_from: datetime | None
    data_deleted_by: datetime | None


NO_DATES = RetentionDates(None, None, None)


def retention_dates(
    status: SubscriptionStatus | str, disabled_at: datetime | None, cancelled_at: datetime | None
) -> RetentionDates:
    """§3: DISABLED lasts 90 days, then DELETED; data may be deleted from the end of the
    disabled period and is deleted at the latest 180 days after cancellation (or after it was
    disabled, when it was not cancelled)."""
    if disabled_at is None or SubscriptionStatus(status) not in (
        SubscriptionStatus.DISABLED,
        SubscriptionStatus.DELETED,
    ):
        return NO_DATES
    end_of_disabled = disabled_at + DISABLED_PERIOD
    start = cancelled_at or disabled_at
    return RetentionDates(
        disabled_until=end_of_disabled,
        data_deletable_from=end_of_disabled,
        data_deleted_by=start + DATA_RETENTION_AFTER_CANCEL,
    )
