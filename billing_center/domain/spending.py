"""How much one billing profile may commit to (RELIABILITY.md A11, issue: one caller's huge
licence counts overflowed a charge-day document and stopped billing for everyone).

Every count a caller sets is bounded (1 to `subscription_rules.MAX_QUANTITY` licences), and so is the
sum: a profile's ACTIVE subscriptions together cost at most `MAX_PROFILE_COMMITMENT` per term.
A charge-day document holds a profile's renewals plus its changes since the last document, so
it stays far inside what a money column holds. The check runs before the change's transaction:
two changes racing at the limit may both pass, which the margin absorbs (three orders of
magnitude), and the engine refuses to write a document that would not fit its column.
"""

from __future__ import annotations

from decimal import Decimal

from billing_center.domain import models
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.money import MAX_PROFILE_COMMITMENT


async def commitment(profile_id: int) -> Decimal:
    """What the profile's ACTIVE subscriptions cost per term, together (trials included: they
    become paid at their end)."""
    found = await models.Subscription.filter(
        billing_profile_id=profile_id, status=models.SubscriptionStatus.ACTIVE,
    ).values_list("quantity", "unit_price")
    return sum((Decimal(quantity) * Decimal(unit_price) for quantity, unit_price in found), Decimal("0.00"))


async def require_room(profile_id: int | None, extra: Decimal, field: tuple[str, ...]) -> None:
    """Refuse with SPENDING_LIMIT a change that adds `extra` per term to the profile beyond
    MAX_PROFILE_COMMITMENT (`profile_id` None: a profile not created yet, which commits
    nothing so far)."""
    if extra <= 0:
        return
    current = await commitment(profile_id) if profile_id is not None else Decimal("0.00")
    if current + extra > MAX_PROFILE_COMMITMENT:
        raise DomainError(
            ErrorCode.SPENDING_LIMIT,
            f"A billing profile's subscriptions may cost at most {MAX_PROFILE_COMMITMENT:,} per term together; "
            f"this one's cost {current:,} and the change adds {extra:,}. Use another billing profile.",
            field,
        )
