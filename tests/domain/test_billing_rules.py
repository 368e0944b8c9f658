"""Pure rules of the billing engine: dunning days, term-end outcomes, renewal dates (SPEC §3,
§5 Trials, §7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_center.domain import models
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.billing.dunning import gateway_key, next_retry
from billing_center.domain.billing.term_ends import TermEndOutcome, plan_term_end

ABD = models.ChargeSchedule.ACCOUNT_BILLING_DAY
RD = models.ChargeSchedule.RENEWAL_DAY
MONTHLY = models.CommitmentTerm.MONTHLY


def test_retries_come_1_3_and_7_days_after_the_first_failure():
    """§7 Decision: retries 1, 3 and 7 days after the first failure, then none."""
    first = date(2026, 2, 5)
    assert next_retry(first, first) == date(2026, 2, 6)
    assert next_retry(first, date(2026, 2, 6)) == date(2026, 2, 8)
    assert next_retry(first, date(2026, 2, 8)) == date(2026, 2, 12)
    assert next_retry(first, date(2026, 2, 12)) is None
    # a "pay now" failure in between does not shift the schedule
    assert next_retry(first, date(2026, 2, 7)) == date(2026, 2, 8)


def test_each_try_of_an_invoice_has_its_own_gateway_key():
    assert [gateway_key(7, n) for n in range(3)] == ["invoice-7-try-1", "invoice-7-try-2", "invoice-7-try-3"]


def _plan(**overrides):
    values = dict(ended_at=datetime(2026, 10, 1, 9, tzinfo=UTC), term=MONTHLY, auto_renew=True, trial=False,
                  has_payment_method=True, unit_price=Decimal("23.00"), quantity=5, schedule=ABD, billing_day=25,
                  renewal_day=1)
    values.update(overrides)
    return plan_term_end(**values)


def test_the_articles_example_as_a_plan():
    """§7: billing day 25, bought 1 September: renews 1 October, charged 25 October."""
    plan = _plan()
    assert plan.outcome is TermEndOutcome.RENEWED
    assert (plan.term_start.date(), plan.term_end.date(), plan.charge_on) == (
        date(2026, 10, 1), date(2026, 11, 1), date(2026, 10, 25))
    assert plan.amount == Decimal("115.00")
    assert _plan(schedule=RD).charge_on == date(2026, 10, 1)


@pytest.mark.parametrize("overrides, outcome", [
    ({"auto_renew": False}, TermEndOutcome.EXPIRED),
    ({"trial": True}, TermEndOutcome.TRIAL_CONVERTED),
    ({"trial": True, "has_payment_method": False}, TermEndOutcome.EXPIRED),
    ({"trial": True, "auto_renew": False}, TermEndOutcome.EXPIRED),
    ({"has_payment_method": False}, TermEndOutcome.RENEWED),  # renewed; the charge will fail (dunning)
])
def test_what_a_term_end_becomes(overrides, outcome):
    """§3, §5 Trials."""
    assert _plan(**overrides).outcome is outcome


def test_terms_end_on_the_renewal_day_clamped_to_the_month():
    """§7: renewal on the day it started, or the month's last day."""
    feb = datetime(2027, 2, 28, 10, tzinfo=UTC)
    assert term_end(datetime(2027, 1, 31, 10, tzinfo=UTC), MONTHLY) == feb
    assert term_end(feb, MONTHLY, 31).date() == date(2027, 3, 31)
    assert term_end(datetime(2028, 2, 29, tzinfo=UTC), models.CommitmentTerm.ANNUAL).date() == date(2029, 2, 28)
    assert charge_date(date(2027, 2, 1), ABD, 31) == date(2027, 2, 28)


async def test_the_sandbox_gateway_charges_a_key_once_and_forgets_only_old_keys(monkeypatch):
    """§2/§7: a repeated key returns the first result; the memory of keys is bounded."""
    from billing_center.domain.payment_gateway import SandboxGateway

    monkeypatch.setattr(SandboxGateway, "MAX_REMEMBERED_CHARGES", 2)
    gateway = SandboxGateway()
    first = await gateway.charge("tok_sandbox_chargefail_x", Decimal("1.00"), "USD", "k1")
    # the same key with a card that would pay: still the first (declined) result
    assert await gateway.charge("tok_ok", Decimal("1.00"), "USD", "k1") == first
    await gateway.charge("tok_ok", Decimal("1.00"), "USD", "k2")
    await gateway.charge("tok_ok", Decimal("1.00"), "USD", "k3")
    assert "k1" not in gateway._charges and list(gateway._charges) == ["k2", "k3"]
