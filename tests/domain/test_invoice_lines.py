"""The one way an invoice line is built (domain.billing.invoice_lines): the kind gives the
sign (SPEC §7: a credit is a negative line), so no caller negates an amount."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_center.domain.billing import invoice_lines
from billing_center.domain.models import InvoiceLineKind

BILLED = invoice_lines.Billed(tenant_id=1, billing_profile_id=2, subscription_id=3, product_name="Office",
                              unit_price=Decimal("12.50"), currency="EUR")


def _line(kind: InvoiceLineKind, amount: str) -> dict:
    return invoice_lines.line(BILLED, kind, description="d", quantity=4, amount=Decimal(amount),
                              period=(date(2026, 11, 1), date(2026, 12, 1)), explanation="e",
                              charge_on=date(2026, 11, 2), at=datetime(2026, 11, 1, tzinfo=UTC))


@pytest.mark.parametrize("kind", [InvoiceLineKind.PURCHASE, InvoiceLineKind.RENEWAL,
                                  InvoiceLineKind.PRORATED_CHARGE])
def test_a_charge_is_written_positive(kind):
    assert _line(kind, "50.00")["amount"] == Decimal("50.00")


def test_a_credit_is_written_negative():
    assert _line(InvoiceLineKind.PRORATED_CREDIT, "20.00")["amount"] == Decimal("-20.00")


def test_a_line_names_its_subscription_profile_price_and_days():
    row = _line(InvoiceLineKind.PRORATED_CHARGE, "1.00")
    assert (row["tenant_id"], row["billing_profile_id"], row["subscription_id"]) == (1, 2, 3)
    assert (row["unit_price"], row["currency"], row["quantity"]) == (Decimal("12.50"), "EUR", 4)
    assert (row["period_start"], row["period_end"], row["charge_on"]) == (
        date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 2))


def test_a_signed_amount_is_refused_so_a_credit_is_never_negated_twice():
    with pytest.raises(ValueError):
        _line(InvoiceLineKind.PRORATED_CREDIT, "-20.00")
