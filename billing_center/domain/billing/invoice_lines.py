"""Invoice lines (SPEC §7): the one way a charge or a credit is written.

A line bills licences of one subscription for some days. `line` builds its row from the
subscription it bills (`Billed`) and what it is worth; the sign comes from its kind (a credit
is negative), so no caller negates an amount. `add` writes one line where it belongs: a
charge stays outstanding until its charge day's document takes it; a credit goes where §5
sends it (`credits.place_credit`). The billing run writes the rows `line` builds in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from billing_center.domain import models
from billing_center.domain.billing import credits

CREDIT_KINDS = frozenset({models.InvoiceLineKind.PRORATED_CREDIT})


@dataclass(frozen=True, slots=True)
class Billed:
    """The subscription a line bills, as every line names it: tenant, billing profile,
    product name (for the description), licence price and currency."""

    tenant_id: int
    billing_profile_id: int
    subscription_id: int
    product_name: str
    unit_price: Decimal
    currency: str

    @classmethod
    def of(cls, tenant_id: int, subscription_id: int, row: dict) -> Billed:
        """From a subscription row read with billing_profile_id, product__name, unit_price
        and currency."""
        return cls(tenant_id, row["billing_profile_id"], subscription_id, row["product__name"], row["unit_price"],
                   row["currency"])


def line(billed: Billed, kind: models.InvoiceLineKind, *, description: str, quantity: int, amount: Decimal,
         period: tuple[date, date], explanation: str, charge_on: date, at: datetime) -> dict:
    """The row of a line of `kind` for `quantity` licences of `billed` over `period` (start,
    end), worth `amount` (not negative), chargeable from `charge_on`, written at `at`."""
    if amount < 0:
        raise ValueError(f"a line is worth a positive amount; its kind gives the sign, not {amount}")
    return dict(
        tenant_id=billed.tenant_id, billing_profile_id=billed.billing_profile_id,
        subscription_id=billed.subscription_id, kind=kind, description=description, quantity=quantity,
        unit_price=billed.unit_price, amount=-amount if kind in CREDIT_KINDS else amount,
        currency=billed.currency, period_start=period[0], period_end=period[1], explanation=explanation,
        charge_on=charge_on, created_at=at,
    )


async def add(row: dict) -> int:
    """Write the line `row` (built by `line`) and return its id: a credit where §5 sends it
    (an unpaid invoice of its days, else the next document), a charge outstanding."""
    if row["amount"] < 0:
        return await credits.place_credit(row)
    return (await models.InvoiceLine.create(**row)).id
