"""How large a credit may be (SPEC §7: "a credit never exceeds what was paid for that period")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing_center.domain import models
from billing_center.domain.money import ProRata

TRIAL_EXPLANATION = "A trial is free: nothing is charged or credited for its days."


async def left_to_credit(subscription_id: int, term_start: date, term_end: date) -> Decimal:
    """What was charged for a subscription's current term minus what was already credited
    for it: the most any further credit for this term may be."""
    amounts = await models.InvoiceLine.filter(
        subscription_id=subscription_id, period_start__gte=term_start, period_end__lte=term_end
    ).values_list("amount", flat=True)
    return max(sum(amounts, Decimal("0.00")), Decimal("0.00"))


async def credit_for(share: ProRata, subscription_id: int, term_start: date, term_end: date,
                     trial: bool) -> tuple[Decimal, str]:
    """The pro-rata credit `share`, capped at what is left to credit for the term, with its
    explanation. A trial credits nothing."""
    if trial:
        return Decimal("0.00"), TRIAL_EXPLANATION
    available = await left_to_credit(subscription_id, term_start, term_end)
    if share.amount <= available:
        return share.amount, share.explanation
    return available, (f"{share.explanation}; capped at {available} {share.currency}, what was charged for "
                       f"this term and not credited yet")
