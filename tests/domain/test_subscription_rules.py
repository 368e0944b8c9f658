"""Each rule of `domain.subscription_rules` at its boundary (SPEC §3, §4, §5, §6): the pure
predicates on plain facts, and the 25-licence cancel rule also through the service."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from billing_center.domain import cancellation, models
from billing_center.domain import subscription_rules as rules
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import (
    BillingAccountType,
    CommitmentTerm,
    SelfServicePolicy,
    SubscriptionStatus,
)
from billing_center.domain.subscription_rules import SubscriptionFacts
from tests import factories

START = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
MCA = SubscriptionFacts(
    status=SubscriptionStatus.ACTIVE, account_type=BillingAccountType.MCA, self_service=False,
    owner_id=1, quantity=30, assigned_count=10, commitment_term=CommitmentTerm.MONTHLY,
    auto_renew=True, term_start=START, term_end=START + timedelta(days=30), expired_at=None,
    disabled_at=None, cancelled_at=None,
)
MOSA = replace(MCA, account_type=BillingAccountType.MOSA)
WINDOW_END = START + timedelta(hours=168)


def test_the_numbers_of_the_rules_are_those_of_the_spec():
    # §3, §5: one place for each number; this pins them to the SPEC's sentences.
    assert rules.ONLINE_CANCEL_MAX_ASSIGNED == 25
    assert rules.MCA_CANCELLATION_WINDOW == timedelta(days=7) == timedelta(hours=168)
    assert rules.EXPIRED_PERIOD == timedelta(days=30)
    assert rules.DISABLED_PERIOD == timedelta(days=90)
    assert rules.DATA_RETENTION_AFTER_CANCEL == timedelta(days=180)
    assert (rules.MIN_QUANTITY, rules.MAX_QUANTITY, rules.MAX_TRIAL_QUANTITY) == (1, 100_000, 25)


# --- §5 Cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize("facts", [MCA, MOSA], ids=["MCA", "MOSA"])
@pytest.mark.parametrize("assigned, too_many", [(24, False), (25, False), (26, True)])
def test_cancel_online_with_at_most_25_assigned_on_every_agreement_type_s5(facts, assigned, too_many):
    # §5 rev. 2 Decision: 25 or fewer assigned: online; more: contact support. MCA too.
    assert rules.too_many_assigned_to_cancel_online(replace(facts, assigned_count=assigned)) is too_many


@pytest.mark.parametrize("now, closed", [
    (WINDOW_END - timedelta(days=1), False),
    (WINDOW_END, False),
    (WINDOW_END + timedelta(seconds=1), True),
    (WINDOW_END + timedelta(days=1), True),
], ids=["day before", "on", "just after", "day after"])
def test_mca_cancellation_window_is_168_hours_after_the_term_start_s5(now, closed):
    # §5 MCA: cancel only within 7 days (168 hours) after the start or the last renewal.
    assert rules.cancellation_window_end(MCA) == WINDOW_END
    assert rules.cancellation_deadline(MCA) == WINDOW_END
    assert rules.cancellation_window_closed(MCA, now) is closed


def test_mca_cancellation_window_restarts_with_each_renewal_s5():
    renewed = replace(MCA, term_start=START + timedelta(days=30), term_end=START + timedelta(days=60))
    assert not rules.cancellation_window_closed(renewed, START + timedelta(days=31))


@pytest.mark.parametrize("now", [START, WINDOW_END + timedelta(days=1), START + timedelta(days=29)])
def test_mosa_cancels_at_any_time_s5(now):
    assert rules.cancellation_deadline(MOSA) is None
    assert rules.cancellation_window_closed(MOSA, now) is False


def test_a_custom_domain_must_be_removed_before_cancelling_s5():
    assert rules.custom_domains_block_cancel(replace(MCA, custom_domains=("contoso.com",)))
    assert not rules.custom_domains_block_cancel(MCA)


# --- §3 Licence counts ---------------------------------------------------------------------


@pytest.mark.parametrize("total, out", [(0, True), (1, False), (100_000, False), (100_001, True)])
def test_a_licence_total_is_1_to_100000_s3(total, out):
    assert rules.licence_total_out_of_range(total) is out


@pytest.mark.parametrize("total, below", [(9, True), (10, False), (11, False)])
def test_a_total_never_goes_below_the_assigned_licences_s3(total, below):
    assert rules.total_below_assigned(replace(MCA, assigned_count=10), total) is below


@pytest.mark.parametrize("quantity, fewest", [(1, True), (2, False)])
def test_a_subscription_keeps_at_least_1_licence_s3(quantity, fewest):
    assert rules.keeps_fewest_licences(replace(MCA, quantity=quantity)) is fewest


@pytest.mark.parametrize("now, waits", [
    (WINDOW_END - timedelta(days=1), False),
    (WINDOW_END, False),
    (WINDOW_END + timedelta(days=1), True),
], ids=["day before", "on", "day after"])
def test_an_mca_decrease_after_the_cancellation_window_waits_for_the_renewal_s3(now, waits):
    # §3 Decision (rev. 2): credited inside the window, scheduled for the renewal after it.
    assert rules.decrease_waits_for_renewal(MCA, now) is waits


def test_a_mosa_or_trial_decrease_never_waits_for_the_renewal_s3():
    later = WINDOW_END + timedelta(days=1)
    assert not rules.decrease_waits_for_renewal(MOSA, later)
    assert not rules.decrease_waits_for_renewal(replace(MCA, trial=True), later)


# --- §4 Seats ------------------------------------------------------------------------------


@pytest.mark.parametrize("assigned, full", [(29, False), (30, True)])
def test_never_more_assignments_than_the_quantity_s4(assigned, full):
    assert rules.all_licences_assigned(replace(MCA, assigned_count=assigned)) is full


@pytest.mark.parametrize("status, takes", [
    (SubscriptionStatus.ACTIVE, True), (SubscriptionStatus.EXPIRED, True),
    (SubscriptionStatus.DISABLED, False), (SubscriptionStatus.DELETED, False),
])
def test_only_active_and_expired_subscriptions_take_assignments_s4(status, takes):
    assert rules.status_takes_assignments(status) is takes


def test_the_predecessor_of_an_mca_reactivation_offers_no_seats_s5():
    assert rules.reactivated_as_new(replace(MCA, successor_id=7))
    assert not rules.reactivated_as_new(MCA)


# --- §5 Reactivate -------------------------------------------------------------------------


@pytest.mark.parametrize("after, over", [
    (timedelta(days=89), False), (timedelta(days=90), False), (timedelta(days=91), True),
], ids=["day before", "on", "day after"])
def test_a_disabled_subscription_is_reactivatable_for_90_days_s5(after, over):
    facts = replace(MCA, status=SubscriptionStatus.DISABLED, disabled_at=START, cancelled_at=START)
    assert rules.reactivatable_until(facts) == START + timedelta(days=90)
    assert rules.reactivation_period_over(facts, START + after) is over


@pytest.mark.parametrize("after, over", [
    (timedelta(days=119), False), (timedelta(days=120), False), (timedelta(days=121), True),
], ids=["day before", "on", "day after"])
def test_an_expired_subscription_is_reactivatable_for_its_30_and_then_90_days_s5(after, over):
    facts = replace(MCA, status=SubscriptionStatus.EXPIRED, expired_at=START)
    assert rules.reactivatable_until(facts) == START + timedelta(days=120)
    assert rules.reactivation_period_over(facts, START + after) is over


def test_an_active_subscription_has_no_reactivation_deadline_s5():
    assert rules.reactivatable_until(MCA) is None
    assert not rules.reactivation_period_over(MCA, START + timedelta(days=1000))


# --- §5 Trials -----------------------------------------------------------------------------


@pytest.mark.parametrize("total, too_large", [(24, False), (25, False), (26, True)])
def test_a_trial_has_at_most_25_licences_s5(total, too_large):
    assert rules.trial_too_large(total) is too_large


def test_a_trial_begun_larger_may_keep_or_shrink_its_count_but_not_grow_s5():
    assert not rules.trial_too_large(40, current=40)
    assert not rules.trial_too_large(30, current=40)
    assert rules.trial_too_large(41, current=40)


@pytest.mark.parametrize("auto_renew, trial, card, may_convert, renews", [
    (True, False, False, True, True),    # a paid term renews while auto-renew is on
    (False, False, True, True, False),   # auto-renew off: it expires
    (True, True, True, True, True),      # a trial converts with auto-renew and a card
    (True, True, False, True, False),    # ... not without a card
    (False, True, True, True, False),    # ... not with auto-renew off
    (True, True, True, False, False),    # ... not when the self-service policy forbids buying
])
def test_a_term_renews_or_a_trial_converts_only_with_auto_renew_card_and_policy_s3_s5(
        auto_renew, trial, card, may_convert, renews):
    assert rules.renews_at_term_end(auto_renew, trial, card, may_convert) is renews


# --- §6 Self-service -----------------------------------------------------------------------


@pytest.mark.parametrize("policy, purchase, trial", [
    (SelfServicePolicy.ALLOW, True, True),
    (SelfServicePolicy.TRIALS_ONLY, False, True),
    (SelfServicePolicy.DENY, False, False),
])
def test_the_self_service_policy_decides_purchases_and_trials_s6(policy, purchase, trial):
    assert rules.self_service_policy_allows(policy, trial=False) is purchase
    assert rules.self_service_policy_allows(policy, trial=True) is trial


# --- The cancel rule through the service ---------------------------------------------------


@pytest.mark.parametrize("account_type", [BillingAccountType.MCA, BillingAccountType.MOSA])
@pytest.mark.parametrize("assigned, refused", [(25, False), (26, True)])
async def test_cancel_subscription_refuses_online_cancellation_above_25_assigned_s5(
        database, clock, account_type, assigned, refused):
    # given: inside the MCA window, so only the 25-licence rule can refuse
    org = await factories.sign_up(clock, account_type=account_type)
    subscription = await factories.add_subscription(org, clock, quantity=30, assigned_count=assigned)
    # when
    try:
        await cancellation.cancel_subscription(org.actor, subscription.id, models.CancellationReason.OTHER,
                                               None, clock)
        code = None
    except DomainError as error:
        code = error.code
    # then
    assert code is (ErrorCode.CONTACT_SUPPORT_TO_CANCEL if refused else None)
    stored = await models.Subscription.get(id=subscription.id)
    assert stored.status is (SubscriptionStatus.ACTIVE if refused else SubscriptionStatus.DISABLED)
