"""Payment methods of billing profiles: add, edit, replace (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_center.domain import audit, available_actions, models, throttle, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.addresses import validate_address
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, not_found
from billing_center.domain.payment_gateway import (
    CardDetails,
    PaymentGateway,
    validate_card,
    validate_expiry,
    validate_name_on_card,
    validate_security_code,
)


@dataclass(frozen=True)
class CardEdit:
    """What may change on a stored card (§2): security code, expiry, name, address."""

    security_code: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None
    name_on_card: str | None = None
    address: dict | None = None


async def _account_of(actor: Actor, model: type[models.Model], object_id: int, what: str, field: str) -> dict:
    rows = await model.filter(visibility.billing_records(actor), id=object_id).values(
        "id", "billing_account_id", "billing_account__self_service", "billing_account__owner_id"
    )
    if not rows:
        raise not_found(what, ("input", field))
    row = rows[0]
    refusal = available_actions.account_refusal(actor, row["billing_account__self_service"], row["billing_account__owner_id"])
    if refusal is not None:
        raise DomainError(refusal[0], refusal[1], ("input", field))
    return row


async def add_payment_method(
    actor: Actor, billing_profile_id: int, card: CardDetails, clock: Clock, gateway: PaymentGateway
) -> int:
    """§2: validate a card, hand it to the gateway, keep only the masked card and the token,
    and make it the profile's payment method. Raises NOT_FOUND, FORBIDDEN,
    READ_ONLY_SELF_SERVICE, THROTTLED, CARD_INVALID, PAYMENT_DECLINED. Returns the new card's id."""
    tenant_id = actor.require_tenant()
    profile = await _account_of(actor, models.BillingProfile, billing_profile_id, "Billing profile", "billingProfileId")
    now = clock.now()
    # Card testing: every attempt counts, valid or not, before the gateway sees it (A9).
    await throttle.take_payment_attempt(profile["billing_account_id"], now, ("input", "card"))
    valid = validate_card(card, now.date())
    # NOTE: the gateway is a network call: never inside the transaction (§2).
    token = await gateway.tokenize(valid, card.security_code)
    async with atomic():
        method = await models.PaymentMethod.create(
            tenant_id=tenant_id, billing_account_id=profile["billing_account_id"], brand=valid.brand,
            last4=valid.last4, expiry_month=card.expiry_month, expiry_year=card.expiry_year,
            name_on_card=card.name_on_card.strip(), address=valid.address, gateway_token=token,
            created_at=now,
        )
        await models.BillingProfile.filter(id=billing_profile_id, tenant_id=tenant_id).update(
            payment_method_id=method.id
        )
        await audit.record(
            actor, tenant_id, "payment_method.added", "PaymentMethod", method.id, now,
            after={"brand": valid.brand, "last4": valid.last4, "billingProfileId": billing_profile_id},
        )
    return method.id


async def update_payment_method(actor: Actor, payment_method_id: int, edit: CardEdit, clock: Clock) -> None:
    """§2: edit a card's security code, expiry, name or address. The security code is checked
    and passed on, never stored. Raises NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE,
    THROTTLED, CARD_INVALID."""
    tenant_id = actor.require_tenant()
    method = await _account_of(actor, models.PaymentMethod, payment_method_id, "Payment method", "paymentMethodId")
    await throttle.take_payment_attempt(method["billing_account_id"], clock.now(), ("input",))
    current = await models.PaymentMethod.get(id=payment_method_id, tenant_id=tenant_id)
    path = ("input",)
    if edit.security_code is not None:
        validate_security_code(edit.security_code, current.brand, path)
    month = edit.expiry_month if edit.expiry_month is not None else current.expiry_month
    year = edit.expiry_year if edit.expiry_year is not None else current.expiry_year
    now = clock.now()
    validate_expiry(month, year, now.date(), path)
    changes: dict = {"expiry_month": month, "expiry_year": year}
    if edit.name_on_card is not None:
        changes["name_on_card"] = validate_name_on_card(edit.name_on_card, path)
    if edit.address is not None:
        changes["address"] = validate_address(edit.address, (*path, "address"))
    before = {key: getattr(current, key) for key in changes}
    async with atomic():
        await models.PaymentMethod.filter(id=payment_method_id, tenant_id=tenant_id).update(**changes)
        await audit.record(
            actor, tenant_id, "payment_method.updated", "PaymentMethod", payment_method_id, now,
            before=before, after=changes,
        )


async def replace_payment_method(actor: Actor, billing_profile_id: int, payment_method_id: int, clock: Clock) -> None:
    """§2: make another card of the same billing account the profile's payment method.
    Raises NOT_FOUND (also for a card of another account), FORBIDDEN, READ_ONLY_SELF_SERVICE."""
    tenant_id = actor.require_tenant()
    profile = await _account_of(actor, models.BillingProfile, billing_profile_id, "Billing profile", "billingProfileId")
    card = await models.PaymentMethod.filter(
        id=payment_method_id, tenant_id=tenant_id, billing_account_id=profile["billing_account_id"]
    ).exists()
    if not card:
        raise not_found("Payment method", ("input", "paymentMethodId"))
    now = clock.now()
    before = await models.BillingProfile.filter(id=billing_profile_id).values_list("payment_method_id", flat=True)
    async with atomic():
        await models.BillingProfile.filter(id=billing_profile_id, tenant_id=tenant_id).update(
            payment_method_id=payment_method_id
        )
        await audit.record(
            actor, tenant_id, "billing_profile.payment_method_replaced", "BillingProfile", billing_profile_id, now,
            before={"paymentMethodId": before[0] if before else None}, after={"paymentMethodId": payment_method_id},
        )
