"""A billing account's balances (SPEC §7): outstanding, past due and credit.

Outstanding is what open invoices still ask for plus charges not invoiced yet; past due is
what past-due invoices still ask for; credit is the credits (negative lines) waiting for the
next invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from tortoise.functions import Sum

from billing_center.domain import models, visibility
from billing_center.domain.actor import Actor

ZERO = Decimal("0.00")


async def by_account(actor: Actor, account_ids: Sequence[int]) -> list[dict[str, Decimal]]:
    """Outstanding, past-due and credit balances of each account, in key order (one
    aggregate over invoices and one read of uninvoiced lines, whatever the number of accounts)."""
    visible = visibility.billing_records(actor)
    keys = list(account_ids)
    invoice_rows = (
        await models.Invoice.filter(
            visible,
            billing_account_id__in=keys,
            status__in=[models.InvoiceStatus.OPEN, models.InvoiceStatus.PAST_DUE],
        )
        .annotate(due=Sum("amount_due"))
        .group_by("billing_account_id", "status")
        .values("billing_account_id", "status", "due")
    )
    line_rows = (
        await models.InvoiceLine.filter(
            tenant_id=actor.tenant_id,
            invoice_id=None,
            billing_profile__billing_account_id__in=keys,
        )
        .values("billing_profile__billing_account_id", "amount")
    )
    result = {key: {"outstanding": ZERO, "past_due": ZERO, "credit": ZERO} for key in keys}
    for row in invoice_rows:
        bucket = "past_due" if row["status"] == models.InvoiceStatus.PAST_DUE else "outstanding"
        result[row["billing_account_id"]][bucket] += Decimal(row["due"] or 0)
    for row in line_rows:
        amount = Decimal(row["amount"])
        balances = result[row["billing_profile__billing_account_id"]]
        # NOTE: an uninvoiced charge is owed now; an uninvoiced credit waits for the next invoice.
        if amount >= 0:
            balances["outstanding"] += amount
        else:
            balances["credit"] -= amount
    return [result[key] for key in keys]
