"""What a caller may do with a subscription right now, and what happens next (SPEC §5).

`action_states` is the one place these rules live: the API lists its answer as
`availableActions` (so a frontend shows exactly the right buttons) and every mutation calls
`require` with the same facts, so the list and the mutations cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from tortoise.expressions import Q, Subquery

from billing_center.domain import lifecycle, models
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import (
    BillingAccountType,
    CommitmentTerm,
    SubscriptionStatus,
)

# §5: MCA subscriptions can be cancelled within 7 days (168 hours) of the term's start.
MCA_CANCELLATION_WINDOW = timedelta(hours=168)
# §5 Decision (rev. 2): 25 or fewer assigned licences may be cancelled online, whatever the
# agreement type.
ONLINE_CANCEL_MAX_ASSIGNED = 25
SEAT_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.EXPIRED)


def offers_seats(tenant_id: int) -> Q:
    """§4, §5 (rev. 2): the subscriptions of a tenant that take assignments and count in its
    licence summary: ACTIVE or EXPIRED, and not the predecessor of an MCA reactivation (its
    seats moved to the new subscription)."""
    predecessors = models.Subscription.filter(tenant_id=tenant_id, reactivated_from_id__not_isnull=True)
    return Q(status__in=SEAT_STATUSES) & ~Q(id__in=Subquery(predecessors.values("reactivated_from_id")))


class Action(str, Enum):
    """Things a frontend offers as buttons on a subscription."""

    CANCEL = "CANCEL"
    REACTIVATE = "REACTIVATE"
    BUY_LICENSES = "BUY_LICENSES"
    REMOVE_LICENSES = "REMOVE_LICENSES"
    ASSIGN_LICENSES = "ASSIGN_LICENSES"
    TURN_ON_AUTO_RENEW = "TURN_ON_AUTO_RENEW"
    TURN_OFF_AUTO_RENEW = "TURN_OFF_AUTO_RENEW"


MONEY_ACTIONS = frozenset({
    Action.CANCEL, Action.REACTIVATE, Action.BUY_LICENSES, Action.REMOVE_LICENSES,
    Action.TURN_ON_AUTO_RENEW, Action.TURN_OFF_AUTO_RENEW,
})


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


@dataclass(frozen=True, slots=True)
class ActionState:
    """One action: allowed now (until `deadline`, if any), or refused with a code and reason."""

    action: Action
    allowed: bool
    deadline: datetime | None = None
    code: ErrorCode | None = None
    reason: str | None = None

    def error(self) -> DomainError:
        """The refusal a mutation raises for this state."""
        return DomainError(self.code or ErrorCode.FORBIDDEN, self.reason or "Not allowed.")


def _refused(action: Action, code: ErrorCode, reason: str) -> ActionState:
    return ActionState(action, False, code=code, reason=reason)


def account_refusal(actor: Actor, self_service: bool, owner_id: int, money: bool = True) -> tuple[ErrorCode, str] | None:
    """§1, §6: who may change what belongs to a billing account. Money (purchases, cards,
    cancellation) is for global/billing admins and the account's owner, licences for
    global/licence admins; a self-service account is its buyer's alone, read-only for admins.
    None when allowed, else the refusal's code and reason."""
    if self_service:
        if owner_id == actor.user_id:
            return None
        if actor.is_admin:
            return ErrorCode.READ_ONLY_SELF_SERVICE, "A user's self-service purchase is read-only for admins."
        return ErrorCode.FORBIDDEN, "Only its buyer manages this self-service purchase."
    if money:
        if actor.manages_billing or owner_id == actor.user_id:
            return None
        return ErrorCode.FORBIDDEN, "Global admins, billing admins and the account owner manage purchases."
    if actor.manages_licenses:
        return None
    return ErrorCode.FORBIDDEN, "Global admins and licence admins assign licences."


def permission(actor: Actor, facts: SubscriptionFacts, action: Action) -> ActionState | None:
    """The permission part of `action_states`: None when the caller may take `action`."""
    refusal = account_refusal(actor, facts.self_service, facts.owner_id, money=action in MONEY_ACTIONS)
    return None if refusal is None else _refused(action, *refusal)


def cancel_blockers(facts: SubscriptionFacts, now: datetime) -> list[ActionState]:
    """§5: every reason a cancellation is refused now (a preview lists them all)."""
    blockers: list[ActionState] = []
    if facts.status is not SubscriptionStatus.ACTIVE:
        blockers.append(_refused(Action.CANCEL, ErrorCode.INVALID_STATUS,
                                 f"A {facts.status.value} subscription cannot be cancelled."))
    if facts.custom_domains:
        blockers.append(_refused(Action.CANCEL, ErrorCode.DOMAIN_MUST_BE_REMOVED,
                                 f"Remove the custom domain(s) {', '.join(facts.custom_domains)} first."))
    if facts.assigned_count > ONLINE_CANCEL_MAX_ASSIGNED:
        blockers.append(_refused(
            Action.CANCEL, ErrorCode.CONTACT_SUPPORT_TO_CANCEL,
            f"{facts.assigned_count} licences are assigned; with more than "
            f"{ONLINE_CANCEL_MAX_ASSIGNED} contact support, or unassign first.",
        ))
    if facts.account_type is BillingAccountType.MCA and now > cancellation_window_end(facts):
        blockers.append(_refused(
            Action.CANCEL, ErrorCode.CANCELLATION_WINDOW_CLOSED,
            f"The cancellation window closed at {_iso(cancellation_window_end(facts))}; the term runs "
            f"until {_iso(facts.term_end)}. Turn auto-renew off so it expires then.",
        ))
    return blockers


def cancellation_window_end(facts: SubscriptionFacts) -> datetime:
    """§5 MCA: 168 hours after the start or the last renewal of the term."""
    return facts.term_start + MCA_CANCELLATION_WINDOW


def decrease_waits_for_renewal(facts: SubscriptionFacts, now: datetime) -> bool:
    """§3 Decision (rev. 2): on an MCA account a licence decrease is credited only inside the
    cancellation window; after it, the decrease is scheduled for the next renewal. A trial
    costs nothing, so its count changes at once."""
    return facts.account_type is BillingAccountType.MCA and not facts.trial and now > cancellation_window_end(facts)


def _cancel(facts: SubscriptionFacts, now: datetime) -> ActionState:
    blockers = cancel_blockers(facts, now)
    if blockers:
        return blockers[0]
    if facts.account_type is BillingAccountType.MOSA:
        return ActionState(Action.CANCEL, True)
    return ActionState(Action.CANCEL, True, deadline=cancellation_window_end(facts))


def reactivatable_until(facts: SubscriptionFacts) -> datetime | None:
    """§5: expired and disabled subscriptions can be reactivated until they are deleted."""
    if facts.status is SubscriptionStatus.EXPIRED and facts.expired_at is not None:
        return facts.expired_at + lifecycle.EXPIRED_PERIOD + lifecycle.DISABLED_PERIOD
    if facts.status is SubscriptionStatus.DISABLED and facts.disabled_at is not None:
        return facts.disabled_at + lifecycle.DISABLED_PERIOD
    return None


def _reactivate(facts: SubscriptionFacts, now: datetime) -> ActionState:
    if facts.status is SubscriptionStatus.DELETED:
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "The subscription is deleted; contact support.")
    if facts.status is SubscriptionStatus.ACTIVE:
        return _refused(Action.REACTIVATE, ErrorCode.INVALID_STATUS, "The subscription is active.")
    if facts.successor_id is not None:
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "It was reactivated already as a new subscription.")
    deadline = reactivatable_until(facts)
    if deadline is not None and now > deadline:
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "The reactivation period has ended; contact support.")
    return ActionState(Action.REACTIVATE, True, deadline=deadline)


def _licence_counts(facts: SubscriptionFacts) -> tuple[ActionState, ActionState]:
    if facts.status is not SubscriptionStatus.ACTIVE:
        reason = f"Licence counts change only while the subscription is active, not {facts.status.value}."
        return (_refused(Action.BUY_LICENSES, ErrorCode.INVALID_STATUS, reason),
                _refused(Action.REMOVE_LICENSES, ErrorCode.INVALID_STATUS, reason))
    buy = ActionState(Action.BUY_LICENSES, True, deadline=facts.term_end)
    if facts.quantity <= 1:
        remove = _refused(Action.REMOVE_LICENSES, ErrorCode.INVALID_INPUT, "A subscription keeps at least 1 licence.")
    elif facts.assigned_count >= facts.quantity:
        remove = _refused(Action.REMOVE_LICENSES, ErrorCode.QUANTITY_BELOW_ASSIGNED,
                          "Every licence is assigned; unassign some first.")
    else:
        remove = ActionState(Action.REMOVE_LICENSES, True, deadline=facts.term_end)
    return buy, remove


def _assign(facts: SubscriptionFacts) -> ActionState:
    if facts.status not in SEAT_STATUSES:
        return _refused(Action.ASSIGN_LICENSES, ErrorCode.INVALID_STATUS,
                        f"A {facts.status.value} subscription takes no new assignments.")
    if facts.successor_id is not None:
        return _refused(Action.ASSIGN_LICENSES, ErrorCode.INVALID_STATUS,
                        "It was reactivated as a new subscription, which holds its seats now.")
    if facts.assigned_count >= facts.quantity:
        return _refused(Action.ASSIGN_LICENSES, ErrorCode.INSUFFICIENT_LICENSES,
                        "Every licence is assigned; buy more or unassign first.")
    return ActionState(Action.ASSIGN_LICENSES, True)


def _auto_renew(facts: SubscriptionFacts) -> tuple[ActionState, ActionState]:
    if facts.status is not SubscriptionStatus.ACTIVE:
        reason = f"Auto-renew is set while the subscription is active, not {facts.status.value}."
        return (_refused(Action.TURN_ON_AUTO_RENEW, ErrorCode.INVALID_STATUS, reason),
                _refused(Action.TURN_OFF_AUTO_RENEW, ErrorCode.INVALID_STATUS, reason))
    on = (_refused(Action.TURN_ON_AUTO_RENEW, ErrorCode.INVALID_STATUS, "Auto-renew is on already.")
          if facts.auto_renew else ActionState(Action.TURN_ON_AUTO_RENEW, True, deadline=facts.term_end))
    off = (ActionState(Action.TURN_OFF_AUTO_RENEW, True, deadline=facts.term_end)
           if facts.auto_renew else _refused(Action.TURN_OFF_AUTO_RENEW, ErrorCode.INVALID_STATUS, "Auto-renew is off already."))
    return on, off


def action_states(actor: Actor, facts: SubscriptionFacts, now: datetime) -> list[ActionState]:
    """Every action with whether `actor` may take it now; permission refusals come first."""
    buy, remove = _licence_counts(facts)
    on, off = _auto_renew(facts)
    by_rule = [_cancel(facts, now), _reactivate(facts, now), buy, remove, _assign(facts), on, off]
    return [permission(actor, facts, state.action) or state for state in by_rule]


def require(actor: Actor, facts: SubscriptionFacts, action: Action, now: datetime) -> None:
    """Raise the refusal of `action` unless it is allowed now (what mutations call)."""
    state = next(s for s in action_states(actor, facts, now) if s.action is action)
    if not state.allowed:
        raise state.error()


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
            disabled = expired + lifecycle.EXPIRED_PERIOD
            events += [
                LifecycleEvent(expired, SubscriptionStatus.EXPIRED, "The term ends without renewal; users keep working for 30 days."),
                LifecycleEvent(disabled, SubscriptionStatus.DISABLED, "Users lose the service; admins can still read everything."),
                LifecycleEvent(disabled + lifecycle.DISABLED_PERIOD, SubscriptionStatus.DELETED, "The subscription is deleted."),
            ]
    elif facts.status is SubscriptionStatus.EXPIRED and facts.expired_at is not None:
        disabled = facts.expired_at + lifecycle.EXPIRED_PERIOD
        events += [
            LifecycleEvent(disabled, SubscriptionStatus.DISABLED, "Users lose the service; admins can still read everything."),
            LifecycleEvent(disabled + lifecycle.DISABLED_PERIOD, SubscriptionStatus.DELETED, "The subscription is deleted."),
        ]
    elif facts.status is SubscriptionStatus.DELETED and facts.disabled_at is not None:
        dates = lifecycle.retention_dates(facts.status, facts.disabled_at, facts.cancelled_at)
        events.append(LifecycleEvent(dates.data_deleted_by, None, "Customer data is deleted by now at the latest."))  # type: ignore[arg-type]
    elif facts.status is SubscriptionStatus.DISABLED and facts.disabled_at is not None:
        dates = lifecycle.retention_dates(facts.status, facts.disabled_at, facts.cancelled_at)
        events += [
            LifecycleEvent(facts.disabled_at + lifecycle.DISABLED_PERIOD, SubscriptionStatus.DELETED,
                           "The subscription is deleted; reactivation is possible until then."),
            LifecycleEvent(dates.data_deletable_from, None, "Customer data may be deleted from now on."),  # type: ignore[arg-type]
            LifecycleEvent(dates.data_deleted_by, None, "Customer data is deleted by now at the latest."),  # type: ignore[arg-type]
        ]
    return sorted(events, key=lambda e: e.at)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


FACT_COLUMNS = (
    "id", "status", "quantity", "assigned_count", "commitment_term", "auto_renew", "term_start",
    "term_end", "expired_at", "disabled_at", "cancelled_at", "billing_account__type",
    "billing_account__self_service", "billing_account__owner_id", "trial", "scheduled_quantity",
)


def facts_from_row(
    row: dict, custom_domains: tuple[str, ...] = (), successor_id: int | None = None
) -> SubscriptionFacts:
    """Facts from a subscription row selected with FACT_COLUMNS."""
    return SubscriptionFacts(
        status=SubscriptionStatus(row["status"]),
        account_type=BillingAccountType(row["billing_account__type"]),
        self_service=bool(row["billing_account__self_service"]),
        owner_id=row["billing_account__owner_id"],
        quantity=row["quantity"],
        assigned_count=row["assigned_count"],
        commitment_term=CommitmentTerm(row["commitment_term"]),
        auto_renew=bool(row["auto_renew"]),
        term_start=row["term_start"],
        term_end=row["term_end"],
        expired_at=row["expired_at"],
        disabled_at=row["disabled_at"],
        cancelled_at=row["cancelled_at"],
        custom_domains=custom_domains,
        successor_id=successor_id,
        trial=bool(row.get("trial", False)),
        scheduled_quantity=row.get("scheduled_quantity"),
    )


async def load_facts(tenant_id: int, subscription_ids: list[int]) -> dict[int, SubscriptionFacts]:
    """Facts of many subscriptions of one tenant in three statements."""
    rows = await models.Subscription.filter(tenant_id=tenant_id, id__in=subscription_ids).values(*FACT_COLUMNS)
    domains: dict[int, list[str]] = {}
    for domain in await models.Domain.filter(
        tenant_id=tenant_id, subscription_id__in=subscription_ids
    ).order_by("name").values("subscription_id", "name"):
        domains.setdefault(domain["subscription_id"], []).append(domain["name"])
    successors = dict(await models.Subscription.filter(
        tenant_id=tenant_id, reactivated_from_id__in=subscription_ids
    ).values_list("reactivated_from_id", "id"))
    return {
        row["id"]: facts_from_row(row, tuple(domains.get(row["id"], ())), successors.get(row["id"]))
        for row in rows
    }
