"""How a purchase is paid (SPEC §7): the payment method named or given in the call, the
charge at once (under RENEWAL_DAY, and for an account's first purchase) made before the
purchase's transaction, outside it, and its paid invoice; a purchase that cannot be recorded
after its charge is refunded."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_center.domain import idempotency, models
from billing_center.domain.billing import invoicing
from billing_center.domain.buyers import Buyer
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.payment_gateway import CardDetails, ChargeResult, PaymentGateway, ValidCard, validate_card


@dataclass(frozen=True, slots=True)
class PaymentChoice:
    """How a purchase is paid: an existing method, or a new card (`details`) already
    tokenized."""

    method_id: int | None
    token: str | None
    card: ValidCard | None
    details: CardDetails | None


@dataclass(frozen=True, slots=True)
class Charged:
    """A purchase charged at once: the gateway's answer and the key it was charged under."""

    result: ChargeResult
    gateway_key: str


async def payment_for(tenant_id: int, buyer: Buyer, payment_method_id: int | None, new_card: CardDetails | None,
                      trial: bool, now: datetime, gateway: PaymentGateway) -> PaymentChoice:
    """§7: the payment method named or given in the call (a new card is tokenized here,
    before the transaction); a purchase that is no trial needs one, or one on the profile."""
    if payment_method_id is not None and not await models.PaymentMethod.filter(
        id=payment_method_id, tenant_id=tenant_id, billing_account_id=buyer.account_id
    ).exists():
        raise not_found("Payment method", ("input", "paymentMethodId"))
    token = None
    card = None
    if new_card is not None:
        card = validate_card(new_card, now.date())
        # NOTE: the gateway is a network call: never inside the transaction (§2).
        token = await gateway.tokenize(card, new_card.security_code)
    has_card = payment_method_id is not None or token is not None or (
        not buyer.create_account
        and await models.BillingProfile.filter(id=buyer.profile_id, payment_method_id__not_isnull=True).exists()
    )
    if not trial and not has_card:
        raise DomainError(ErrorCode.PAYMENT_METHOD_REQUIRED,
                          "Add a payment method: give paymentMethodId or newPaymentMethod.", ("input", "paymentMethodId"))
    return PaymentChoice(payment_method_id, token, card, new_card)


async def charge_at_once(payment: PaymentChoice, buyer: Buyer, amount: Decimal, currency: str, tenant_id: int,
                         user_id: int | None, key: idempotency.Key | None, gateway: PaymentGateway) -> Charged:
    """§7: charge the purchase now, before its transaction; PAYMENT_DECLINED leaves nothing
    behind."""
    card_token = payment.token or await _profile_card_token(payment.method_id, buyer.profile_id)
    gateway_key = _gateway_key(tenant_id, user_id, key)
    # NOTE: outside the transaction (§2). A decline leaves nothing behind (§7).
    charge = await gateway.charge(card_token, amount, currency, gateway_key)
    if not charge.succeeded:
        raise DomainError(ErrorCode.PAYMENT_DECLINED, "The card was declined; nothing was bought.",
                          ("input", "newPaymentMethod" if payment.token else "paymentMethodId"))
    return Charged(charge, gateway_key)


async def store_card(tenant_id: int, account_id: int, payment: PaymentChoice, now: datetime) -> int:
    """The new card of `payment` as a payment method of the account; its id."""
    card, details = payment.card, payment.details
    method = await models.PaymentMethod.create(
        tenant_id=tenant_id, billing_account_id=account_id, brand=card.brand, last4=card.last4,  # type: ignore[union-attr]
        expiry_month=details.expiry_month, expiry_year=details.expiry_year,  # type: ignore[union-attr]
        name_on_card=details.name_on_card.strip(),  # type: ignore[union-attr]
        address=card.address, gateway_token=payment.token, created_at=now,  # type: ignore[union-attr]
    )
    return method.id


async def refund(gateway: PaymentGateway, charged: Charged | None, amount: Decimal, currency: str) -> None:
    """Give the money of a charge at once back: the purchase could not be recorded."""
    if charged is not None and charged.result.succeeded:
        await gateway.refund(charged.result.reference, amount, currency)


async def paid_invoice(tenant_id: int, account_id: int, profile_id: int, line_id: int, line: dict,
                       payment_method_id: int | None, charged: Charged, now: datetime) -> int:
    """The invoice of a purchase charged at once: its one line, paid."""
    number = (await invoicing.number_invoices([profile_id]))[profile_id]
    invoice = await models.Invoice.create(
        tenant_id=tenant_id, billing_account_id=account_id, billing_profile_id=profile_id, number=number,
        issue_date=now.date(), period_start=line["period_start"], period_end=line["period_end"],
        status=models.InvoiceStatus.PAID, total=line["amount"], amount_due=Decimal("0.00"), currency=line["currency"],
        created_at=now,
    )
    await models.InvoiceLine.filter(id=line_id).update(invoice_id=invoice.id)
    if payment_method_id is None:
        payment_method_id = (await models.BillingProfile.filter(id=profile_id).values_list(
            "payment_method_id", flat=True))[0]
    await models.PaymentAttempt.create(
        tenant_id=tenant_id, invoice_id=invoice.id, payment_method_id=payment_method_id, amount=line["amount"],
        currency=line["currency"], status=models.PaymentAttemptStatus.SUCCEEDED,
        gateway_idempotency_key=charged.gateway_key, gateway_reference=charged.result.reference, attempted_at=now,
    )
    return invoice.id


async def _profile_card_token(payment_method_id: int | None, profile_id: int) -> str:
    if payment_method_id is not None:
        return (await models.PaymentMethod.filter(id=payment_method_id).values_list("gateway_token", flat=True))[0]
    return (await models.BillingProfile.filter(id=profile_id).values_list(
        "payment_method__gateway_token", flat=True))[0]


def _gateway_key(tenant_id: int, user_id: int | None, key: idempotency.Key | None) -> str:
    # With an idempotency key, a repeated or racing call reaches the gateway with the same
    # key and is charged once; the input's fingerprint is part of it, so a retry with another
    # card after a decline is a new charge. Without a key, every call is its own purchase.
    # Keys are the user's own (idempotency.Key): two people choosing the same one are two
    # purchases, two charges.
    if key is None:
        return f"purchase-{secrets.token_hex(16)}"
    digest = hashlib.sha256(f"{key.key}\n{key.fingerprint}".encode()).hexdigest()[:32]
    return f"purchase-{tenant_id}-{user_id}-{digest}"
