"""The rules behind `availableActions` and `timeline` (SPEC §5, §3, §1, §6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from billing_center.domain.available_actions import Action, action_states, require
from billing_center.domain.lifecycle import timeline
from billing_center.domain.subscription_rules import SubscriptionFacts
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import BillingAccountType, CommitmentTerm, Role, SubscriptionStatus

START = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
ADMIN = Actor.user(1, 1, [Role.GLOBAL_ADMIN])
BILLING = Actor.user(1, 2, [Role.BILLING_ADMIN])
LICENSING = Actor.user(1, 3, [Role.LICENSE_ADMIN])
PLAIN = Actor.user(1, 4, [])
FACTS = SubscriptionFacts(
    status=SubscriptionStatus.ACTIVE, account_type=BillingAccountType.MCA, self_service=False,
    owner_id=1, quantity=30, assigned_count=10, commitment_term=CommitmentTerm.MONTHLY,
    auto_renew=True, term_start=START, term_end=START + timedelta(days=30), expired_at=None,
    disabled_at=None, cancelled_at=None,
)


def state(actor: Actor, facts: SubscriptionFacts, action: Action, now: datetime = START):
    return next(s for s in action_states(actor, facts, now) if s.action is action)


def test_mca_cancel_is_allowed_for_168_hours_after_the_term_starts():
    # §5 MCA: the cancellation window is 7 days (168 hours) after the start or the renewal.
    inside = state(ADMIN, FACTS, Action.CANCEL, START + timedelta(hours=167, minutes=59))
    assert inside.allowed and inside.deadline == START + timedelta(hours=168)
    closed = state(ADMIN, FACTS, Action.CANCEL, START + timedelta(hours=168, seconds=1))
    assert not closed.allowed and closed.code is ErrorCode.CANCELLATION_WINDOW_CLOSED
    assert "2026-12-01T10:00Z" in closed.reason and "auto-renew off" in closed.reason


@pytest.mark.parametrize("assigned, allowed", [(24, True), (25, True), (26, False)])
def test_mosa_cancel_online_with_at_most_25_assigned(assigned, allowed):
    # §5 MOSA Decision: 25 or fewer assigned may cancel online; more must contact support.
    facts = replace(FACTS, account_type=BillingAccountType.MOSA, assigned_count=assigned)
    result = state(ADMIN, facts, Action.CANCEL, START + timedelta(days=20))
    assert result.allowed is allowed
    if not allowed:
        assert result.code is ErrorCode.CONTACT_SUPPORT_TO_CANCEL


def test_a_custom_domain_blocks_cancel_and_is_named():
    facts = replace(FACTS, custom_domains=("contoso.com",))
    result = state(ADMIN, facts, Action.CANCEL)
    assert (result.allowed, result.code) == (False, ErrorCode.DOMAIN_MUST_BE_REMOVED)
    assert "contoso.com" in result.reason


def test_reactivate_deleted_says_contact_support():
    result = state(ADMIN, replace(FACTS, status=SubscriptionStatus.DELETED), Action.REACTIVATE)
    assert (result.allowed, result.code) == (False, ErrorCode.REACTIVATION_UNAVAILABLE)
    assert "contact support" in result.reason


def test_reactivate_disabled_until_the_end_of_its_90_days():
    disabled_at = START + timedelta(days=3)
    facts = replace(FACTS, status=SubscriptionStatus.DISABLED, disabled_at=disabled_at, cancelled_at=disabled_at)
    result = state(BILLING, facts, Action.REACTIVATE)
    assert result.allowed and result.deadline == disabled_at + timedelta(days=90)


@pytest.mark.parametrize("actor, money, licences", [
    (ADMIN, True, True), (BILLING, True, False), (LICENSING, False, True), (PLAIN, False, False),
])
def test_who_may_do_what_on_an_organization_subscription(actor, money, licences):
    # §1: money for global/billing admins and the owner; licences for global/licence admins.
    states = {s.action: s for s in action_states(actor, FACTS, START)}
    assert states[Action.BUY_LICENSES].allowed is money
    assert states[Action.TURN_OFF_AUTO_RENEW].allowed is money
    assert states[Action.ASSIGN_LICENSES].allowed is licences
    for s in states.values():
        if not s.allowed and s.code is ErrorCode.FORBIDDEN:
            assert s.reason


def test_self_service_subscriptions_are_read_only_for_admins_and_open_to_their_buyer():
    # §6
    facts = replace(FACTS, self_service=True, owner_id=PLAIN.user_id)
    assert all(s.code is ErrorCode.READ_ONLY_SELF_SERVICE for s in action_states(ADMIN, facts, START))
    buyer = {s.action: s for s in action_states(PLAIN, facts, START)}
    assert buyer[Action.ASSIGN_LICENSES].allowed and buyer[Action.CANCEL].allowed


def test_remove_licenses_needs_unassigned_seats_and_keeps_one():
    full = state(ADMIN, replace(FACTS, quantity=10, assigned_count=10), Action.REMOVE_LICENSES)
    assert full.code is ErrorCode.QUANTITY_BELOW_ASSIGNED
    single = state(ADMIN, replace(FACTS, quantity=1, assigned_count=0), Action.REMOVE_LICENSES)
    assert single.code is ErrorCode.INVALID_INPUT


def test_require_raises_the_listed_refusal():
    with pytest.raises(DomainError) as refused:
        require(ADMIN, replace(FACTS, auto_renew=False), Action.TURN_OFF_AUTO_RENEW, START)
    assert refused.value.code is ErrorCode.INVALID_STATUS
    require(ADMIN, FACTS, Action.TURN_OFF_AUTO_RENEW, START)


def test_timeline_of_an_active_subscription_without_auto_renew():
    # §3: term end → EXPIRED for 30 days → DISABLED for 90 days → DELETED.
    events = timeline(replace(FACTS, auto_renew=False))
    end = FACTS.term_end
    assert [(e.at, e.status) for e in events] == [
        (end, SubscriptionStatus.EXPIRED),
        (end + timedelta(days=30), SubscriptionStatus.DISABLED),
        (end + timedelta(days=120), SubscriptionStatus.DELETED),
    ]


def test_timeline_of_a_cancelled_subscription_shows_data_dates():
    # §3: data deletable from the end of the 90 disabled days, deleted by 180 days after cancelling.
    cancelled = START + timedelta(days=2)
    events = timeline(replace(FACTS, status=SubscriptionStatus.DISABLED, disabled_at=cancelled, cancelled_at=cancelled))
    assert [(e.at, e.status) for e in events] == [
        (cancelled + timedelta(days=90), SubscriptionStatus.DELETED),
        (cancelled + timedelta(days=90), None),
        (cancelled + timedelta(days=180), None),
    ]


def test_timeline_of_a_trial_says_it_converts_or_expires():
    """§5 Trials: the next change of a trial is its end, converting to paid or expiring."""
    [event] = timeline(replace(FACTS, trial=True))
    assert event.at == FACTS.term_end and "trial ends" in event.description
    assert "paid monthly term" in event.description and "otherwise it expires" in event.description
    assert timeline(FACTS)[0].description == "Renews for another month."


@pytest.mark.parametrize("account_type", list(BillingAccountType))
@pytest.mark.parametrize(("assigned", "allowed"), [(25, True), (26, False)])
def test_the_25_licence_rule_holds_for_every_agreement_type(account_type, assigned, allowed):
    # §5 rev. 2: the seed states the rule without naming an agreement type.
    facts = replace(FACTS, account_type=account_type, assigned_count=assigned)
    cancel = state(ADMIN, facts, Action.CANCEL, START + timedelta(hours=1))
    assert cancel.allowed is allowed
    if not allowed:
        assert cancel.code is ErrorCode.CONTACT_SUPPORT_TO_CANCEL


def test_timeline_of_a_deleted_subscription_keeps_its_data_deletion_date():
    # §3: data is deleted at the latest 180 days after cancellation, also once DELETED.
    cancelled = START + timedelta(days=2)
    events = timeline(replace(FACTS, status=SubscriptionStatus.DELETED, disabled_at=cancelled, cancelled_at=cancelled))
    assert [(event.at, event.description) for event in events] == [
        (cancelled + timedelta(days=180), "Customer data is deleted by now at the latest.")]


def test_an_mca_decrease_after_the_window_is_scheduled_and_shown():
    # §3 rev. 2: after the 168 hours a decrease waits for the renewal; the timeline says so.
    from billing_center.domain.subscription_rules import decrease_waits_for_renewal
    assert not decrease_waits_for_renewal(FACTS, START + timedelta(hours=167))
    assert decrease_waits_for_renewal(FACTS, START + timedelta(hours=169))
    assert not decrease_waits_for_renewal(replace(FACTS, account_type=BillingAccountType.MOSA),
                                          START + timedelta(days=20))
    [renewal] = timeline(replace(FACTS, scheduled_quantity=12))
    assert renewal.at == FACTS.term_end and "12 licence(s) instead of 30" in renewal.description
