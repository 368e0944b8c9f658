"""Credits (SPEC §5, §7): how large one may be, and where it goes.

"A credit never exceeds what was paid for that period", and "the credit always reaches the
customer": it first reduces an unpaid invoice of its term, otherwise it rides on the
profile's next document (netted against that day's charges, or refunded on a credit note).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing_center.domain import models
from billing_center.domain.money import ProRata

TRIAL_EXPLANATION = "A trial is free: nothing is charged or credited for its days."
PAYABLE = (models.InvoiceStatus.OPEN, models.InvoiceStatus.PAST_DUE)


async def left_to_credit(subscription_id: int, term_start: date, term_end: date) -> Decimal:
    """What was charged for a subscription's current term minus what was already credited
    for it: the most any further credit for this term may be."""
    lines = await models.InvoiceLine.filter(
        subscription_id=subscription_id, period_start__gte=term_start, period_end__lte=term_end
    ).values("amount", "period_start", "period_end")
    return left_in_term(lines, term_start, term_end)


def left_in_term(lines: list[dict], term_start: date, term_end: date) -> Decimal:
    """`left_to_credit` over lines already read (dicts with amount and period)."""
    return max(sum((line["amount"] for line in lines
                    if line["period_start"] >= term_start and line["period_end"] <= term_end), Decimal("0.00")),
               Decimal("0.00"))


async def credit_for(share: ProRata, subscription_id: int, term_start: date, term_end: date,
                     trial: bool) -> tuple[Decimal, str]:
    """The pro-rata credit `share`, capped at what is left to credit for the term, with its
    explanation. A trial credits nothing."""
    if trial:
        return Decimal("0.00"), TRIAL_EXPLANATION
    return capped(share, await left_to_credit(subscription_id, term_start, term_end))


def capped(share: ProRata, available: Decimal) -> tuple[Decimal, str]:
    """§7: the credit `share`, at most `available` (what its term was charged and not yet
    credited), with its explanation."""
    available = max(available, Decimal("0.00"))
    if share.amount <= available:
        return share.amount, share.explanation
    return available, (f"{share.explanation}; capped at {available} {share.currency}, what was charged for "
                       f"this term and not credited yet")


async def place_credit(line: dict) -> int:
    """Write the credit line `line` (InvoiceLine fields, a negative amount, the charge day
    of the profile's next document in `charge_on`) where §5 sends it, and return its id.

    If a charge for the same days is on an unpaid invoice whose amount due covers the credit,
    the credit goes on that invoice and reduces what it asks (to nothing: VOID). Invoices
    being charged right now (under a lease) are left alone: the charge may be under way.
    Otherwise the line stays outstanding for the next document."""
    amount = -line["amount"]
    invoice_ids = sorted(set(await models.InvoiceLine.filter(
        tenant_id=line["tenant_id"], subscription_id=line["subscription_id"], amount__gt=0,
        invoice__kind=models.InvoiceKind.INVOICE, invoice__status__in=PAYABLE,
        period_start__lt=line["period_end"], period_end__gt=line["period_start"],
    ).values_list("invoice_id", flat=True)))
    for invoice_id in invoice_ids:
        rows = [{"id": invoice.id, "total": invoice.total, "amount_due": invoice.amount_due}
                for invoice in await models.Invoice.filter(
                    id=invoice_id, status__in=PAYABLE, charge_claimed_at=None
                ).select_for_update().only("id", "total", "amount_due")]
        if not rows or rows[0]["amount_due"] < amount:
            continue
        due = rows[0]["amount_due"] - amount
        changes: dict = {"total": rows[0]["total"] - amount, "amount_due": due}
        if due == 0:
            # Nothing is owed any more, and nothing was collected: the invoice is void.
            changes.update(status=models.InvoiceStatus.VOID, next_attempt_on=None)
        await models.Invoice.filter(id=invoice_id).update(**changes)
        return (await models.InvoiceLine.create(**{**line, "invoice_id": invoice_id})).id
    return (await models.InvoiceLine.create(**line)).id
