"""The dates a subscription's lifecycle periods (SPEC §3, §5; their lengths are in
`subscription_rules`) lead to: retention dates and the timeline of what happens next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_center.domain.models import CommitmentTerm, SubscriptionStatus
from billing_center.domain.subscription_rules import (
    DATA_RETENTION_AFTER_CANCEL,
    DISABLED_PERIOD,
    EXPIRED_PERIOD,
    SubscriptionFacts,
)


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


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A projected step of the lifecycle: when, the status from then on, and what it means."""

    at: datetime
    status: SubscriptionStatus | None
    description: str


def timeline(facts: SubscriptionFacts) -> list[LifecycleEvent]:
    """§3, §5: the next status changes and their dates, plus the reactivation and data dates."""
    events: list[LifecycleEvent] = []
    term = "month" if facts.commitment_term is CommitmentTerm.MONTHLY else "year"
    if facts.status is SubscriptionStatus.ACTIVE:
        if facts.auto_renew and facts.trial:
            events.append(LifecycleEvent(
                facts.term_end, SubscriptionStatus.ACTIVE,
                f"The trial ends: it becomes a paid {term}ly term, charged like a renewal, when a payment method "
                "is on file; otherwise it expires."))
        elif facts.auto_renew and facts.scheduled_quantity is not None:
            events.append(LifecycleEvent(
                facts.term_end, SubscriptionStatus.ACTIVE,
                f"Renews for another {term} with {facts.scheduled_quantity} licence(s) instead of {facts.quantity} "
                "(a scheduled decrease; it can be withdrawn until then)."))
        elif facts.auto_renew:
            events.append(LifecycleEvent(facts.term_end, SubscriptionStatus.ACTIVE, f"Renews for another {term}."))
        else:
            expired = facts.term_end
            disabled = expired + EXPIRED_PERIOD
            events += [
                LifecycleEvent(expired, SubscriptionStatus.EXPIRED, f"The term ends without renewal; users keep working for {EXPIRED_PERIOD.days} days."),
                LifecycleEvent(disabled, SubscriptionStatus.DISABLED, "Users lose the service; admins can still read everything."),
                LifecycleEvent(disabled + DISABLED_PERIOD, SubscriptionStatus.DELETED, "The subscription is deleted."),
            ]
    elif facts.status is SubscriptionStatus.EXPIRED and facts.expired_at is not None:
        disabled = facts.expired_at + EXPIRED_PERIOD
        events += [
            LifecycleEvent(disabled, SubscriptionStatus.DISABLED, "Users lose the service; admins can still read everything."),
            LifecycleEvent(disabled + DISABLED_PERIOD, SubscriptionStatus.DELETED, "The subscription is deleted."),
        ]
    elif facts.status is SubscriptionStatus.DELETED and facts.disabled_at is not None:
        dates = retention_dates(facts.status, facts.disabled_at, facts.cancelled_at)
        events.append(LifecycleEvent(dates.data_deleted_by, None, "Customer data is deleted by now at the latest."))  # type: ignore[arg-type]
    elif facts.status is SubscriptionStatus.DISABLED and facts.disabled_at is not None:
        dates = retention_dates(facts.status, facts.disabled_at, facts.cancelled_at)
        events += [
            LifecycleEvent(facts.disabled_at + DISABLED_PERIOD, SubscriptionStatus.DELETED,
                           "The subscription is deleted; reactivation is possible until then."),
            LifecycleEvent(dates.data_deletable_from, None, "Customer data may be deleted from now on."),  # type: ignore[arg-type]
            LifecycleEvent(dates.data_deleted_by, None, "Customer data is deleted by now at the latest."),  # type: ignore[arg-type]
        ]
    return sorted(events, key=lambda e: e.at)
