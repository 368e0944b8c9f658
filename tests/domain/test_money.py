"""Exact money and pro rata (SPEC §7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from billing_center.domain.billing_dates import charge_date, day_in_month, next_billing_date
from billing_center.domain.models import ChargeSchedule
from billing_center.domain.money import Money, pro_rata, round_cents


def test_rounding_is_half_up_to_the_cent():
    assert round_cents(Decimal("0.005")) == Decimal("0.01")
    assert round_cents(Decimal("0.0049")) == Decimal("0.00")
    assert round_cents(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_pro_rata_example_explains_itself():
    # 5 licences at 23.00 for 10 of 30 days: 23 x 5 x 10 / 30 = 38.333... -> 38.33
    result = pro_rata(Decimal("23.00"), 5, 10, 30, "USD")
    assert result.amount == Decimal("38.33")
    assert result.explanation == (
        "23.00 USD x 5 licence(s) x 10/30 days of the term = 38.3333..., "
        "rounded half-up to 38.33 USD"
    )  # §7: numbers a person reads, not 28 digits


@given(
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2),
    licences=st.integers(min_value=1, max_value=10_000),
    term_days=st.integers(min_value=28, max_value=366),
    remaining=st.integers(min_value=-5, max_value=400),
)
def test_pro_rata_never_exceeds_the_full_term_and_is_exact_to_the_cent(price, licences, term_days, remaining):
    result = pro_rata(price, licences, remaining, term_days, "USD")
    assert Decimal("0") <= result.amount <= price * licences
    assert result.amount == result.amount.quantize(Decimal("0.01"))
    exact = price * licences * result.remaining_days / term_days
    assert abs(result.amount - exact) <= Decimal("0.005")


def test_billing_day_is_clamped_to_the_months_last_day():
    # §7: in a month without the billing day, the month's last day.
    assert day_in_month(2026, 2, 31) == date(2026, 2, 28)
    assert next_billing_date(date(2026, 1, 31), 31) == date(2026, 1, 31)
    assert next_billing_date(date(2026, 2, 1), 31) == date(2026, 2, 28)


def test_the_articles_example_charge_on_the_next_billing_day():
    # §7: billing day 25; something renewed on 1 October is charged on 25 October.
    assert charge_date(date(2026, 10, 1), ChargeSchedule.ACCOUNT_BILLING_DAY, 25) == date(2026, 10, 25)
    assert charge_date(date(2026, 10, 26), ChargeSchedule.ACCOUNT_BILLING_DAY, 25) == date(2026, 11, 25)
    assert charge_date(date(2026, 10, 1), ChargeSchedule.RENEWAL_DAY, 25) == date(2026, 10, 1)
