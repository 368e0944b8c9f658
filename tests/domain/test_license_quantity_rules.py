"""The licence count rules through the service, each at its boundary (SPEC §3 licence counts,
§5 Trials, §7 pro rata). `subscriptions.update_license_quantity` is called directly with an
Actor and the test clock; every amount expected is worked out by hand (price x licences x
remaining days / days in the term, rounded half-up to the cent), and every refusal is checked
to leave every table as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing_center.domain import models, subscriptions
from billing_center.domain import subscription_rules as rules
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import BillingAccountType, InvoiceLineKind
from tests import factories

MCA, MOSA = BillingAccountType.MCA, BillingAccountType.MOSA
# The test clock's START (tests/conftest.py), named here because every date below is counted from it.
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


async def _subscription(org, clock, quantity: int = 10, days_in: int = 10, days: int = 30,
                        **extra) -> models.Subscription:
    """E3 (23.00 a licence a month) in a `days`-day term that started `days_in` days ago."""
    start = NOW - timedelta(days=days_in)
    return await factories.add_subscription(org, clock, quantity=quantity, term_start=start,
                                            term_end=start + timedelta(days=days), **extra)


async def _refused(org, subscription: models.Subscription, total: int, clock) -> DomainError:
    """The refusal of a new total, checked to have left every table, and the subscription, as they were."""
    before = await factories.row_counts()
    with pytest.raises(DomainError) as refused:
        await subscriptions.update_license_quantity(org.actor, subscription.id, total, clock)
    assert await factories.row_counts() == before
    stored = await models.Subscription.get(id=subscription.id)
    assert (stored.quantity, stored.scheduled_quantity, stored.version) == (
        subscription.quantity, subscription.scheduled_quantity, subscription.version)
    return refused.value


# --- §3 What a total may be ----------------------------------------------------------------


@pytest.mark.parametrize("total, refused", [
    (rules.MIN_QUANTITY - 1, True), (rules.MIN_QUANTITY, False),
    (rules.MAX_QUANTITY, False), (rules.MAX_QUANTITY + 1, True),
], ids=["0", "1", "100000", "100001"])
async def test_a_licence_total_is_1_to_100000_s3(database, clock, total, refused):
    # given: MOSA, so that a decrease is applied at once
    org = await factories.sign_up(clock, account_type=MOSA)
    subscription = await _subscription(org, clock, charged=True)
    # when / then
    if refused:
        error = await _refused(org, subscription, total, clock)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "totalLicenses"))
        return
    await subscriptions.update_license_quantity(org.actor, subscription.id, total, clock)
    assert (await models.Subscription.get(id=subscription.id)).quantity == total


@pytest.mark.parametrize("total, refused", [(2, True), (3, False)])
async def test_a_total_never_goes_below_the_assigned_licences_s3(database, clock, total, refused):
    # given: 3 of 5 licences assigned
    org = await factories.sign_up(clock, account_type=MOSA)
    people = [(await factories.add_user(org, clock, f"P{n}"))[0] for n in range(3)]
    subscription = await _subscription(org, clock, quantity=5, holders=people, charged=True)
    # when / then
    if refused:
        error = await _refused(org, subscription, total, clock)
        assert (error.code, error.field) == (ErrorCode.QUANTITY_BELOW_ASSIGNED, ("input", "totalLicenses"))
        return
    await subscriptions.update_license_quantity(org.actor, subscription.id, total, clock)
    assert (await models.Subscription.get(id=subscription.id)).quantity == 3


@pytest.mark.parametrize("status", [models.SubscriptionStatus.EXPIRED, models.SubscriptionStatus.DISABLED])
async def test_licence_counts_change_only_while_the_subscription_is_active_s3(database, clock, status):
    org = await factories.sign_up(clock, account_type=MOSA)
    subscription = await _subscription(org, clock, status=status)
    error = await _refused(org, subscription, 12, clock)
    assert error.code is ErrorCode.INVALID_STATUS


# --- §7 Pro rata, by hand ------------------------------------------------------------------


@pytest.mark.parametrize("unit_price, added, days_in, days, amount", [
    ("23.00", 6, 10, 30, "92.00"),    # 23.00 x 6 x 20/30 = 92.00
    ("23.00", 5, 10, 30, "76.67"),    # 23.00 x 5 x 20/30 = 76.666... -> 76.67
    ("12.45", 1, 15, 30, "6.23"),     # 12.45 x 1 x 15/30 = 6.225 -> 6.23 (half-up, not to even)
    ("12.50", 7, 0, 30, "87.50"),     # 12.50 x 7 x 30/30: a whole term
    ("276.00", 5, 300, 365, "245.75"),  # annual: 276.00 x 5 x 65/365 = 245.753... -> 245.75
])
async def test_an_increase_is_charged_pro_rata_for_the_rest_of_the_term_s3_s7(
        database, clock, unit_price, added, days_in, days, amount):
    # given: billing day 5, so the charge waits for 5 December (ACCOUNT_BILLING_DAY)
    org = await factories.sign_up(clock)
    await models.BillingAccount.filter(id=org.account.id).update(billing_day=5)
    subscription = await _subscription(org, clock, quantity=10, days_in=days_in, days=days,
                                       unit_price=Decimal(unit_price))
    # when: the caller gives the new total (10 plus `added` more)
    done = await subscriptions.update_license_quantity(org.actor, subscription.id, 10 + added, clock)
    # then
    assert (await models.Subscription.get(id=subscription.id)).quantity == 10 + added
    line = await models.InvoiceLine.get(id=done.invoice_line_id)
    assert (line.kind, line.quantity, line.unit_price, line.amount) == (
        InvoiceLineKind.PRORATED_CHARGE, added, Decimal(unit_price), Decimal(amount))
    assert (line.period_start, line.period_end) == (date(2026, 11, 21), subscription.term_end.date())
    assert (line.charge_on, line.invoice_id) == (date(2026, 12, 5), None)
    assert "rounded half-up" in line.explanation


async def test_a_mosa_decrease_is_credited_pro_rata_at_any_time_s3_s7(database, clock):
    # given: MOSA, 20 days into a paid 30-day term (the MCA window closed long ago)
    org = await factories.sign_up(clock, account_type=MOSA)
    subscription = await _subscription(org, clock, quantity=10, days_in=20, charged=True)
    # when
    done = await subscriptions.update_license_quantity(org.actor, subscription.id, 7, clock)
    # then: 23.00 x 3 x 10/30 = 23.00, credited
    line = await models.InvoiceLine.get(id=done.invoice_line_id)
    assert (line.kind, line.quantity, line.amount) == (InvoiceLineKind.PRORATED_CREDIT, 3, Decimal("-23.00"))
    assert (await models.Subscription.get(id=subscription.id)).quantity == 7


# --- §3 MCA decreases follow the cancellation window (rev. 2) ------------------------------


@pytest.mark.parametrize("after, scheduled", [
    (rules.MCA_CANCELLATION_WINDOW, False), (rules.MCA_CANCELLATION_WINDOW + timedelta(seconds=1), True),
], ids=["at the 168th hour", "a second after"])
async def test_an_mca_decrease_is_credited_inside_the_window_and_scheduled_for_the_renewal_after_it_s3(
        database, clock, after, scheduled):
    # given: MCA, a paid 30-day term from NOW (21 November to 21 December), 10 licences
    org = await factories.sign_up(clock, account_type=MCA)
    subscription = await _subscription(org, clock, quantity=10, days_in=0, charged=True)
    clock.set(NOW + after)
    lines_before = await models.InvoiceLine.all().count()
    # when: down to 7
    done = await subscriptions.update_license_quantity(org.actor, subscription.id, 7, clock)
    stored = await models.Subscription.get(id=subscription.id)
    # then
    if scheduled:
        # no credit; the count stays until the renewal, which shows the scheduled count
        assert (stored.quantity, stored.scheduled_quantity, done.invoice_line_id) == (10, 7, None)
        assert await models.InvoiceLine.all().count() == lines_before
        return
    # 28 November, 23 of 30 days left: 23.00 x 3 x 23/30 = 52.90, credited now
    assert (stored.quantity, stored.scheduled_quantity) == (7, None)
    line = await models.InvoiceLine.get(id=done.invoice_line_id)
    assert (line.kind, line.amount, line.period_start) == (
        InvoiceLineKind.PRORATED_CREDIT, Decimal("-52.90"), date(2026, 11, 28))


async def test_a_scheduled_mca_decrease_is_withdrawn_by_asking_for_the_current_total_s3(database, clock):
    # given: a decrease to 7 scheduled after the window
    org = await factories.sign_up(clock, account_type=MCA)
    subscription = await _subscription(org, clock, quantity=10, days_in=10, charged=True)
    await subscriptions.update_license_quantity(org.actor, subscription.id, 7, clock)
    assert (await models.Subscription.get(id=subscription.id)).scheduled_quantity == 7
    # when
    await subscriptions.update_license_quantity(org.actor, subscription.id, 10, clock)
    # then
    stored = await models.Subscription.get(id=subscription.id)
    assert (stored.quantity, stored.scheduled_quantity) == (10, None)
    assert await models.InvoiceLine.filter(subscription_id=subscription.id).count() == 1  # the term's charge


async def test_an_mca_increase_after_the_window_is_still_charged_at_once_pro_rata_s3_s7(database, clock):
    # given: MCA, 10 days into the term (the window closed 3 days ago)
    org = await factories.sign_up(clock, account_type=MCA)
    subscription = await _subscription(org, clock, quantity=10, days_in=10)
    # when
    done = await subscriptions.update_license_quantity(org.actor, subscription.id, 13, clock)
    # then: 23.00 x 3 x 20/30 = 46.00
    assert (await models.Subscription.get(id=subscription.id)).quantity == 13
    assert (await models.InvoiceLine.get(id=done.invoice_line_id)).amount == Decimal("46.00")


# --- §5 Trials -----------------------------------------------------------------------------


@pytest.mark.parametrize("total, refused", [
    (rules.MAX_TRIAL_QUANTITY, False), (rules.MAX_TRIAL_QUANTITY + 1, True),
], ids=["25", "26"])
async def test_a_trial_grows_for_free_up_to_25_licences_s5(database, clock, total, refused):
    # given: a 10-licence trial
    org = await factories.sign_up(clock)
    subscription = await _subscription(org, clock, quantity=10, trial=True,
                                       purchase_channel=models.PurchaseChannel.TRIAL)
    # when / then
    if refused:
        error = await _refused(org, subscription, total, clock)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "totalLicenses"))
        return
    done = await subscriptions.update_license_quantity(org.actor, subscription.id, total, clock)
    assert (await models.Subscription.get(id=subscription.id)).quantity == total
    assert (done.invoice_line_id, await models.InvoiceLine.all().count()) == (None, 0)
