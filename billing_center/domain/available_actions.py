"""What a caller may do with a subscription right now (SPEC §5 "the actions available to the
caller right now"), and the facts the rules look at.

`action_states` is the one place the rules of `domain.subscription_rules` become actions: the
API lists its answer as `availableActions` (so a frontend shows exactly the right buttons) and
every mutation calls `require` with the same facts, so the list and the mutations cannot
disagree. The rules themselves (numbers, windows) live in `subscription_rules`; the timeline
of what happens next in `lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from billing_center.domain import models
from billing_center.domain import subscription_rules as rules
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import (
    BillingAccountType,
    CommitmentTerm,
    SubscriptionStatus,
)
from billing_center.domain.subscription_rules import SubscriptionFacts


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
    if rules.custom_domains_block_cancel(facts):
        blockers.append(_refused(Action.CANCEL, ErrorCode.DOMAIN_MUST_BE_REMOVED,
                                 f"Remove the custom domain(s) {', '.join(facts.custom_domains)} first."))
    if rules.too_many_assigned_to_cancel_online(facts):
        blockers.append(_refused(
            Action.CANCEL, ErrorCode.CONTACT_SUPPORT_TO_CANCEL,
            f"{facts.assigned_count} licences are assigned; with more than "
            f"{rules.ONLINE_CANCEL_MAX_ASSIGNED} contact support, or unassign first.",
        ))
    if rules.cancellation_window_closed(facts, now):
        blockers.append(_refused(
            Action.CANCEL, ErrorCode.CANCELLATION_WINDOW_CLOSED,
            f"The cancellation window closed at {_iso(rules.cancellation_window_end(facts))}; the term runs "
            f"until {_iso(facts.term_end)}. Turn auto-renew off so it expires then.",
        ))
    return blockers


def _cancel(facts: SubscriptionFacts, now: datetime) -> ActionState:
    blockers = cancel_blockers(facts, now)
    if blockers:
        return blockers[0]
    return ActionState(Action.CANCEL, True, deadline=rules.cancellation_deadline(facts))


def _reactivate(facts: SubscriptionFacts, now: datetime) -> ActionState:
    if facts.status is SubscriptionStatus.DELETED:
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "The subscription is deleted; contact support.")
    if facts.status is SubscriptionStatus.ACTIVE:
        return _refused(Action.REACTIVATE, ErrorCode.INVALID_STATUS, "The subscription is active.")
    if rules.reactivated_as_new(facts):
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "It was reactivated already as a new subscription.")
    if rules.reactivation_period_over(facts, now):
        return _refused(Action.REACTIVATE, ErrorCode.REACTIVATION_UNAVAILABLE,
                        "The reactivation period has ended; contact support.")
    return ActionState(Action.REACTIVATE, True, deadline=rules.reactivatable_until(facts))


def _licence_counts(facts: SubscriptionFacts) -> tuple[ActionState, ActionState]:
    if facts.status is not SubscriptionStatus.ACTIVE:
        reason = f"Licence counts change only while the subscription is active, not {facts.status.value}."
        return (_refused(Action.BUY_LICENSES, ErrorCode.INVALID_STATUS, reason),
                _refused(Action.REMOVE_LICENSES, ErrorCode.INVALID_STATUS, reason))
    buy = ActionState(Action.BUY_LICENSES, True, deadline=facts.term_end)
    if rules.keeps_fewest_licences(facts):
        remove = _refused(Action.REMOVE_LICENSES, ErrorCode.INVALID_INPUT, f"A subscription keeps at least {rules.MIN_QUANTITY} licence.")
    elif rules.all_licences_assigned(facts):
        remove = _refused(Action.REMOVE_LICENSES, ErrorCode.QUANTITY_BELOW_ASSIGNED,
                          "Every licence is assigned; unassign some first.")
    else:
        remove = ActionState(Action.REMOVE_LICENSES, True, deadline=facts.term_end)
    return buy, remove


def _assign(facts: SubscriptionFacts) -> ActionState:
    if not rules.status_takes_assignments(facts.status):
        return _refused(Action.ASSIGN_LICENSES, ErrorCode.INVALID_STATUS,
                        f"A {facts.status.value} subscription takes no new assignments.")
    if rules.reactivated_as_new(facts):
        return _refused(Action.ASSIGN_LICENSES, ErrorCode.INVALID_STATUS,
                        "It was reactivated as a new subscription, which holds its seats now.")
    if rules.all_licences_assigned(facts):
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
