"""The rules of a subscription's life (SPEC §3, §4, §5, §6), one named predicate or constant
per sentence of the SPEC.

Every number of a rule lives here once: the services, `availableActions`, the billing engine
and the GraphQL descriptions read it from here, and tests/domain/test_subscription_rules.py
pins each rule at its boundary. Pure functions of plain values (no database, no clock): the
caller passes `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_center.domain.models import (
    BillingAccountType,
    CommitmentTerm,
    SelfServicePolicy,
    SubscriptionStatus,
)

# §5 Cancel (rev. 2, Decision): 25 or fewer assigned licences may be cancelled online,
# whatever the agreement type; with more the caller contacts support or unassigns first.
ONLINE_CANCEL_MAX_ASSIGNED = 25
# §5 Cancel: MCA subscriptions can be cancelled within 7 days (168 hours) of the term's
# start or last renewal.
MCA_CANCELLATION_WINDOW = timedelta(hours=168)
# §3 (Decision): a term that ends with auto-renew off is EXPIRED this long (users keep
# working), the admin center's usual expired period.
EXPIRED_PERIOD = timedelta(days=30)
# §3: DISABLED lasts this long (admins read, users lose the service), then DELETED.
DISABLED_PERIOD = timedelta(days=90)
# §3: customer data is deleted at the latest this long after cancellation.
DATA_RETENTION_AFTER_CANCEL = timedelta(days=180)
# §3: a licence count is at least 1; the upper bound is ours (README "Choices"), as for purchases.
MIN_QUANTITY = 1
MAX_QUANTITY = 100_000
# §5 Trials: a trial is for trying the product out, not for running a company on it for free:
# at most this many licences, like the admin center's trials (SPEC names no number).
MAX_TRIAL_QUANTITY = 25
# §4: only ACTIVE and EXPIRED subscriptions take new assignments.
SEAT_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.EXPIRED)


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    """What the rules look at: the subscription, its billing account and its custom domains."""

    status: SubscriptionStatus
    account_type: BillingAccountType
    self_service: bool
    owner_id: int
    quantity: int
    assigned_count: int
    commitment_term: CommitmentTerm
    auto_renew: bool
    term_start: datetime
    term_end: datetime
    expired_at: datetime | None
    disabled_at: datetime | None
    cancelled_at: datetime | None
    custom_domains: tuple[str, ...] = ()
    # MCA: the new subscription a reactivation created (the old one cannot be reactivated again).
    successor_id: int | None = None
    # The current term is a free trial (§5 Trials).
    trial: bool = False
    # §3 MCA: the licence count a decrease after the cancellation window sets at the renewal.
    scheduled_quantity: int | None = None


# --- §5 Cancel ----------------------------------------------------------------------------


def too_many_assigned_to_cancel_online(facts: SubscriptionFacts) -> bool:
    """§5 Cancel (rev. 2): with more than ONLINE_CANCEL_MAX_ASSIGNED licences assigned, on
    any agreement type, the caller must contact support (or unassign first)."""
    return facts.assigned_count > ONLINE_CANCEL_MAX_ASSIGNED


def cancellation_window_end(facts: SubscriptionFacts) -> datetime:
    """§5 Cancel, MCA: the window closes 168 hours after the start or the last renewal of the term."""
    return facts.term_start + MCA_CANCELLATION_WINDOW


def cancellation_deadline(facts: SubscriptionFacts) -> datetime | None:
    """§5 Cancel: an MCA subscription is cancelled until its cancellation window ends; a MOSA
    one at any time (None)."""
    return cancellation_window_end(facts) if facts.account_type is BillingAccountType.MCA else None


def cancellation_window_closed(facts: SubscriptionFacts, now: datetime) -> bool:
    """§5 Cancel: an MCA subscription is cancelled only within its cancellation window (its
    last moment included); a MOSA one at any time."""
    deadline = cancellation_deadline(facts)
    return deadline is not None and now > deadline


def custom_domains_block_cancel(facts: SubscriptionFacts) -> bool:
    """§5 Cancel: a custom domain attached to the subscription must be removed first."""
    return bool(facts.custom_domains)


# --- §3 Licence counts --------------------------------------------------------------------


def licence_total_out_of_range(total: int) -> bool:
    """§3: a licence count is a total of at least MIN_QUANTITY (and at most MAX_QUANTITY)."""
    return not MIN_QUANTITY <= total <= MAX_QUANTITY


def total_below_assigned(facts: SubscriptionFacts, total: int) -> bool:
    """§3: the total never goes below the licences assigned (unassign first)."""
    return total < facts.assigned_count


def keeps_fewest_licences(facts: SubscriptionFacts) -> bool:
    """§3: a subscription at MIN_QUANTITY licences has none to remove."""
    return facts.quantity <= MIN_QUANTITY


def decrease_waits_for_renewal(facts: SubscriptionFacts, now: datetime) -> bool:
    """§3 Decision (rev. 2): on an MCA account a licence decrease is credited only inside the
    cancellation window; after it, the decrease is scheduled for the next renewal. A trial
    costs nothing, so its count changes at once."""
    return not facts.trial and cancellation_window_closed(facts, now)


# --- §4 Seats ------------------------------------------------------------------------------


def all_licences_assigned(facts: SubscriptionFacts) -> bool:
    """§4: never more assignments than the subscription's quantity."""
    return facts.assigned_count >= facts.quantity


def status_takes_assignments(status: SubscriptionStatus) -> bool:
    """§4: only ACTIVE and EXPIRED subscriptions take new assignments."""
    return status in SEAT_STATUSES


def reactivated_as_new(facts: SubscriptionFacts) -> bool:
    """§5 Reactivate, MCA (rev. 2): the predecessor of a reactivation offers no seats and is
    not reactivated again; its successor holds the seats."""
    return facts.successor_id is not None


# --- §5 Reactivate -------------------------------------------------------------------------


def reactivatable_until(facts: SubscriptionFacts) -> datetime | None:
    """§5 Reactivate: an EXPIRED subscription (its 30 days and then the 90 disabled ones) or a
    DISABLED one within its 90 days, until it is deleted; None when no such limit applies."""
    if facts.status is SubscriptionStatus.EXPIRED and facts.expired_at is not None:
        return facts.expired_at + EXPIRED_PERIOD + DISABLED_PERIOD
    if facts.status is SubscriptionStatus.DISABLED and facts.disabled_at is not None:
        return facts.disabled_at + DISABLED_PERIOD
    return None


def reactivation_period_over(facts: SubscriptionFacts, now: datetime) -> bool:
    """§5 Reactivate: after its 90 disabled days (its last moment included) only support
    reactivates a subscription."""
    deadline = reactivatable_until(facts)
    return deadline is not None and now > deadline


# --- §5 Trials ----------------------------------------------------------------------------


def trial_too_large(total: int, current: int = 0) -> bool:
    """§5 Trials: a trial has at most MAX_TRIAL_QUANTITY licences. One begun larger (before the
    bound, `current`) may keep its count or shrink, never grow."""
    return total > max(MAX_TRIAL_QUANTITY, current)


def renews_at_term_end(auto_renew: bool, trial: bool, has_payment_method: bool, may_convert: bool) -> bool:
    """§3, §5 Trials: a term renews while auto-renew is on; a trial converts to paid only with
    auto-renew on and a payment method, and a self-service trial only when its product's
    policy allows the purchase then (`may_convert`). Otherwise it expires."""
    return auto_renew and (has_payment_method or not trial) and may_convert


# --- §6 Self-service -----------------------------------------------------------------------


def self_service_policy_allows(policy: SelfServicePolicy, trial: bool) -> bool:
    """§6: a plain user may buy under ALLOW, and start a trial under ALLOW or TRIALS_ONLY;
    DENY refuses both. A trial's conversion to paid is a purchase (§5 Trials)."""
    return policy is SelfServicePolicy.ALLOW or (policy is SelfServicePolicy.TRIALS_ONLY and trial)
