"""The reactivation rules through the service, each at its boundary (SPEC §5 Reactivate, §7
charges; API.md idempotency keys). `reactivation.reactivate_subscription` is called directly
with an Actor and the test clock: MOSA revives the same subscription, MCA starts a successor;
every amount expected is worked out by hand, and every refusal is checked to leave every
table as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_center.domain import cancellation, models, reactivation
from billing_center.domain import subscription_rules as rules
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import BillingAccountType, StatusReason, SubscriptionStatus
from billing_center.domain.payment_gateway import CardDetails
from tests import factories

MCA, MOSA = BillingAccountType.MCA, BillingAccountType.MOSA
CARD = CardDetails("4242424242424242", "123", 12, 2030, "Ada Admin")
# The test clock's START (tests/conftest.py), named here because every date below is counted from it.
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
# A 30-day term that started 10 days ago: 20 days are left.
TERM_START, TERM_END = NOW - timedelta(days=10), NOW + timedelta(days=20)


async def _cancelled(org, clock, at: datetime = NOW, quantity: int = 7, **extra) -> models.Subscription:
    """E3 (23.00 a licence a month) cancelled at `at`, in the 30-day term TERM_START..TERM_END."""
    return await factories.add_subscription(
        org, clock, quantity=quantity, term_start=TERM_START, term_end=TERM_END, status=SubscriptionStatus.DISABLED,
        status_reason=StatusReason.CANCELLED, status_changed_at=at, disabled_at=at, cancelled_at=at,
        auto_renew=False, **extra)


async def _expired(org, clock, at: datetime, quantity: int = 7, **extra) -> models.Subscription:
    """E3 whose 30-day term ended at `at` with auto-renew off (its users keep working)."""
    return await factories.add_subscription(
        org, clock, quantity=quantity, term_start=at - timedelta(days=30), term_end=at, **extra,
        status=SubscriptionStatus.EXPIRED, status_reason=StatusReason.TERM_ENDED, status_changed_at=at,
        expired_at=at, auto_renew=False)


async def _org(clock, account_type: BillingAccountType, **extra) -> tuple[factories.Org, int]:
    """A tenant with a card on its profile; returns it and the card's id (MOSA must name it)."""
    org = await factories.sign_up(clock, account_type=account_type, **extra)
    return org, (await factories.add_card(org, clock)).id


async def _reactivate(org, subscription_id: int, clock, gateway, **extra) -> reactivation.Reactivated:
    return await reactivation.reactivate_subscription(org.actor, subscription_id, clock, gateway, **extra)


async def _refused(org, subscription_id: int, clock, gateway, **extra) -> DomainError:
    """The refusal of a reactivation, checked to have left every table as it was."""
    before = await factories.row_counts()
    with pytest.raises(DomainError) as refused:
        await _reactivate(org, subscription_id, clock, gateway, **extra)
    assert await factories.row_counts() == before
    return refused.value


# --- MOSA: the same subscription returns to ACTIVE ----------------------------------------


async def test_mosa_revives_a_cancelled_subscription_keeps_its_term_end_and_charges_the_rest_of_the_term_s5(
        database, clock, gateway):
    # given: E3 x 6, cancelled today, 20 of its 30 days left; its assignment suspended
    org, card = await _org(clock, MOSA)
    [ada] = [(await factories.add_user(org, clock, "Ada"))[0]]
    old = await _cancelled(org, clock, quantity=6, holders=[ada])
    await models.LicenseAssignment.filter(subscription_id=old.id).update(state=models.LicenseState.SUSPENDED)
    # when
    done = await _reactivate(org, old.id, clock, gateway, payment_method_id=card)
    # then: the same subscription, ACTIVE in the same term
    assert (done.subscription_id, done.previous_subscription_id) == (old.id, old.id)
    revived = await models.Subscription.get(id=old.id)
    assert (revived.status, revived.term_start, revived.term_end) == (SubscriptionStatus.ACTIVE, TERM_START, TERM_END)
    assert await models.Subscription.all().count() == 1
    assert [a.state for a in await models.LicenseAssignment.filter(subscription_id=old.id)] == [
        models.LicenseState.ACTIVE]
    # and the days from today to the term end are charged: 23.00 x 6 x 20/30 = 92.00
    [line] = await models.InvoiceLine.filter(subscription_id=old.id)
    assert (line.kind, line.quantity, line.amount) == (models.InvoiceLineKind.PRORATED_CHARGE, 6, Decimal("92.00"))
    assert (line.period_start, line.period_end) == (date(2026, 11, 21), date(2026, 12, 11))


async def test_mosa_revives_an_expired_subscription_with_a_new_term_from_where_the_old_one_ended_s5(
        database, clock, gateway):
    # given: E3 x 7 expired 3 days ago (18 November 10:00); users kept working
    org, card = await _org(clock, MOSA)
    ended = NOW - timedelta(days=3)
    old = await _expired(org, clock, ended)
    # when
    done = await _reactivate(org, old.id, clock, gateway, payment_method_id=card)
    # then: a monthly term 18 November -> 18 December, charged whole: 23.00 x 7 = 161.00
    revived = await models.Subscription.get(id=done.subscription_id)
    assert (revived.id, revived.status) == (old.id, SubscriptionStatus.ACTIVE)
    assert (revived.term_start, revived.term_end) == (ended, datetime(2026, 12, 18, 10, 0, tzinfo=UTC))
    [line] = await models.InvoiceLine.filter(subscription_id=old.id)
    assert (line.kind, line.amount) == (models.InvoiceLineKind.RENEWAL, Decimal("161.00"))
    assert (line.period_start, line.period_end) == (date(2026, 11, 18), date(2026, 12, 18))


async def test_mosa_reactivation_names_a_payment_method_even_with_one_on_the_profile_s5(
        database, clock, gateway):
    # given: a card on the profile, but none named in the call
    org, _ = await _org(clock, MOSA)
    old = await _cancelled(org, clock)
    # when
    error = await _refused(org, old.id, clock, gateway)
    # then
    assert (error.code, error.field) == (ErrorCode.PAYMENT_METHOD_REQUIRED, ("input", "paymentMethodId"))


async def test_a_cancelled_and_reactivated_mosa_term_is_charged_for_every_day_but_the_disabled_ones_s5_s7(
        database, clock, gateway):
    # given: E3 x 3, its 30-day term paid (23.00 x 3 = 69.00), cancelled with 20 days left:
    # credit 23.00 x 3 x 20/30 = 46.00
    org, card = await _org(clock, MOSA)
    subscription = await factories.add_subscription(org, clock, quantity=3, term_start=TERM_START,
                                                    term_end=TERM_END, charged=True)
    await cancellation.cancel_subscription(org.actor, subscription.id, models.CancellationReason.OTHER, None, clock)
    # when: reactivated 2 days later, 18 days left: charged back 23.00 x 3 x 18/30 = 41.40
    clock.set(NOW + timedelta(days=2))
    await _reactivate(org, subscription.id, clock, gateway, payment_method_id=card)
    # then: the term is paid for its 28 days in service, not the 2 disabled ones:
    # 69.00 - 46.00 + 41.40 = 64.40 = 23.00 x 3 x 28/30
    lines = await models.InvoiceLine.filter(subscription_id=subscription.id).order_by("id")
    assert [line.amount for line in lines] == [Decimal("69.00"), Decimal("-46.00"), Decimal("41.40")]
    assert sum(line.amount for line in lines) == Decimal("64.40")


# --- MCA: a successor subscription --------------------------------------------------------


@pytest.mark.parametrize("status", [SubscriptionStatus.DISABLED, SubscriptionStatus.EXPIRED])
async def test_mca_reactivation_starts_a_successor_today_and_the_old_one_keeps_no_seats_s5(
        database, clock, gateway, status):
    # given: E3 x 7 (monthly) with one assignment, cancelled today or expired 3 days ago
    org, _ = await _org(clock, MCA)
    [ada] = [(await factories.add_user(org, clock, "Ada"))[0]]
    if status is SubscriptionStatus.DISABLED:
        old = await _cancelled(org, clock, holders=[ada])
    else:
        old = await _expired(org, clock, NOW - timedelta(days=3), holders=[ada])
    # when: with the card on the profile (MCA need not name one)
    done = await _reactivate(org, old.id, clock, gateway)
    # then: a new subscription, same product, count and term, for a month from now
    assert done.previous_subscription_id == old.id and done.subscription_id != old.id
    new = await models.Subscription.get(id=done.subscription_id)
    assert (new.status, new.product_id, new.quantity, new.commitment_term, new.reactivated_from_id) == (
        SubscriptionStatus.ACTIVE, old.product_id, 7, models.CommitmentTerm.MONTHLY, old.id)
    assert (new.term_start, new.term_end) == (NOW, datetime(2026, 12, 21, 10, 0, tzinfo=UTC))
    # and the old one stays as it was, but hands over its seats
    previous = await models.Subscription.get(id=old.id)
    assert (previous.status, previous.assigned_count) == (status, 0)
    assert [(a.subscription_id, a.state) for a in await models.LicenseAssignment.all()] == [
        (new.id, models.LicenseState.ACTIVE)]
    # and the new term is charged like a purchase: 23.00 x 7 = 161.00
    [line] = await models.InvoiceLine.filter(subscription_id=new.id)
    assert (line.kind, line.amount) == (models.InvoiceLineKind.PURCHASE, Decimal("161.00"))
    assert (line.period_start, line.period_end) == (date(2026, 11, 21), date(2026, 12, 21))
    assert await models.InvoiceLine.filter(subscription_id=old.id).count() == 0


async def test_an_mca_predecessor_is_not_reactivated_a_second_time_s5(database, clock, gateway):
    org, _ = await _org(clock, MCA)
    old = await _cancelled(org, clock)
    await _reactivate(org, old.id, clock, gateway)
    error = await _refused(org, old.id, clock, gateway)
    assert error.code is ErrorCode.REACTIVATION_UNAVAILABLE


async def test_an_mca_reactivation_under_renewal_day_is_charged_at_once_s7(database, clock, gateway):
    # given
    org, _ = await _org(clock, MCA, charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    old = await _cancelled(org, clock, quantity=4)
    # when
    done = await _reactivate(org, old.id, clock, gateway)
    # then: 23.00 x 4 = 92.00 on a paid invoice of today
    [line] = await models.InvoiceLine.filter(subscription_id=done.subscription_id)
    invoice = await models.Invoice.get(id=line.invoice_id)
    assert (invoice.issue_date, invoice.total, invoice.amount_due, invoice.status) == (
        date(2026, 11, 21), Decimal("92.00"), Decimal("0.00"), models.InvoiceStatus.PAID)


# --- When reactivation is possible ---------------------------------------------------------


@pytest.mark.parametrize("account_type", [MCA, MOSA])
async def test_an_active_subscription_is_not_reactivated_s5(database, clock, gateway, account_type):
    org, card = await _org(clock, account_type)
    active = await factories.add_subscription(org, clock)
    error = await _refused(org, active.id, clock, gateway, payment_method_id=card)
    assert error.code is ErrorCode.INVALID_STATUS


@pytest.mark.parametrize("account_type", [MCA, MOSA])
async def test_a_deleted_subscription_is_reactivated_only_by_support_s5(database, clock, gateway, account_type):
    org, card = await _org(clock, account_type)
    deleted = await _cancelled(org, clock, at=NOW - timedelta(days=91))
    await models.Subscription.filter(id=deleted.id).update(status=SubscriptionStatus.DELETED, deleted_at=NOW)
    error = await _refused(org, deleted.id, clock, gateway, payment_method_id=card)
    assert error.code is ErrorCode.REACTIVATION_UNAVAILABLE and "contact support" in error.message


@pytest.mark.parametrize("account_type", [MCA, MOSA])
@pytest.mark.parametrize("after, refused", [
    (rules.DISABLED_PERIOD, False), (rules.DISABLED_PERIOD + timedelta(seconds=1), True),
], ids=["at the 90th day", "a second after"])
async def test_a_disabled_subscription_is_reactivatable_for_90_days_its_last_moment_included_s5(
        database, clock, gateway, account_type, after, refused):
    # given: cancelled at NOW; its term ended long before the deadline
    org, card = await _org(clock, account_type)
    old = await _cancelled(org, clock)
    clock.set(NOW + after)
    # when / then
    if refused:
        error = await _refused(org, old.id, clock, gateway, payment_method_id=card)
        assert error.code is ErrorCode.REACTIVATION_UNAVAILABLE and "contact support" in error.message
        return
    done = await _reactivate(org, old.id, clock, gateway, payment_method_id=card)
    active = await models.Subscription.get(id=done.subscription_id)
    # the term end has passed: a new month from today (test_subscription_rules pins the 90 days),
    # 19 February 2027 10:00 to 19 March
    assert (active.status, active.term_start, active.term_end) == (
        SubscriptionStatus.ACTIVE, NOW + after, datetime(2027, 3, 19, 10, 0, tzinfo=UTC))


@pytest.mark.parametrize("account_type", [MCA, MOSA])
@pytest.mark.parametrize("after, refused", [
    (rules.EXPIRED_PERIOD + rules.DISABLED_PERIOD, False),
    (rules.EXPIRED_PERIOD + rules.DISABLED_PERIOD + timedelta(seconds=1), True),
], ids=["at the 120th day", "a second after"])
async def test_an_expired_subscription_is_reactivatable_for_its_30_and_then_90_days_s5(
        database, clock, gateway, account_type, after, refused):
    # given: expired at NOW
    org, card = await _org(clock, account_type)
    old = await _expired(org, clock, NOW)
    clock.set(NOW + after)
    # when / then
    if refused:
        error = await _refused(org, old.id, clock, gateway, payment_method_id=card)
        assert error.code is ErrorCode.REACTIVATION_UNAVAILABLE
        return
    done = await _reactivate(org, old.id, clock, gateway, payment_method_id=card)
    assert (await models.Subscription.get(id=done.subscription_id)).status is SubscriptionStatus.ACTIVE


async def test_a_licence_admin_may_not_reactivate_s5(database, clock, gateway):
    org, _ = await _org(clock, MCA)
    lia, _ = await factories.add_user(org, clock, "Lia", [models.Role.LICENSE_ADMIN])
    old = await _cancelled(org, clock)
    before = await factories.row_counts()
    with pytest.raises(DomainError) as refused:
        await reactivation.reactivate_subscription(
            Actor.user(org.tenant.id, lia.id, lia.roles), old.id, clock, gateway)
    assert refused.value.code is ErrorCode.FORBIDDEN
    assert await factories.row_counts() == before


# --- API.md idempotency keys ---------------------------------------------------------------


async def test_the_same_key_returns_the_first_reactivation_and_does_nothing_again(database, clock, gateway):
    # given
    org, _ = await _org(clock, MCA)
    old = await _cancelled(org, clock)
    first = await _reactivate(org, old.id, clock, gateway, idempotency_key="back-1")
    after_first = await factories.row_counts()
    # when: the same call again (a second reactivation of the predecessor would be refused)
    again = await _reactivate(org, old.id, clock, gateway, idempotency_key="back-1")
    # then
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.subscription_id, again.previous_subscription_id) == (first.subscription_id, old.id)
    assert await factories.row_counts() == after_first


async def test_the_same_reactivation_key_with_another_input_is_refused(database, clock, gateway):
    # given
    org, card = await _org(clock, MOSA)
    old = await _cancelled(org, clock)
    await _reactivate(org, old.id, clock, gateway, payment_method_id=card, idempotency_key="back-1")
    # when: the same key with a new card instead
    error = await _refused(org, old.id, clock, gateway, new_payment_method=CARD, idempotency_key="back-1")
    # then
    assert (error.code, error.field) == (ErrorCode.IDEMPOTENCY_KEY_REUSED, ("input", "idempotencyKey"))
