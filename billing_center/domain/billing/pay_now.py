"""Paying an invoice at once ("pay now", SPEC §7).

The charge runs outside any transaction (§2). Its gateway key (`dunning.gateway_key`) is
derived from the invoice and the number of failed attempts recorded so far, so a retry after
a crash between charge and record, two calls racing, or a call racing the billing engine,
reach the gateway with the same key and are charged once; the unique (tenant, key) of
payment attempts records the charge once. (The sandbox remembers keys
per process; a real gateway deduplicates keys on its side.)
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, available_actions, idempotency, models, throttle, visibility
from billing_center.domain.atomic import atomic
from billing_center.domain.billing import dunning
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.payment_gateway import PaymentGateway

PAYABLE = (models.InvoiceStatus.OPEN, models.InvoiceStatus.PAST_DUE)


@dataclass(frozen=True, slots=True)
class InvoicePaid:
    """The outcome of `pay_invoice`: the invoice, and whether this call was a replay."""

    invoice_id: int
    replayed: bool = False

    @classmethod
    def of(cls, result: dict, replayed: bool) -> InvoicePaid:
        """From the result a payment keeps under the idempotency key."""
        return cls(result["invoiceId"], replayed)


async def pay_invoice(
    actor: Actor,
    invoice_id: int,
    payment_method_id: int,
    clock: Clock,
    gateway: PaymentGateway,
    idempotency_key: str | None = None,
) -> InvoicePaid:
    """§7: charge what an open or past-due invoice asks for with any card of its billing
    account. A declined charge is recorded as a failed attempt and refused with
    PAYMENT_DECLINED. Raises NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE, INVALID_STATUS,
    PAYMENT_DECLINED, IDEMPOTENCY_KEY_REUSED, THROTTLED."""
    tenant_id = actor.require_tenant()
    key = idempotency.Key.of("payInvoice", idempotency_key,
                             {"invoiceId": invoice_id, "paymentMethodId": payment_method_id})
    if (replay := await idempotency.replay(actor, key, InvoicePaid.of)) is not None:
        return replay
    rows = await models.Invoice.filter(visibility.billing_records(actor), id=invoice_id).values(
        "status", "amount_due", "currency", "billing_account_id", "billing_account__self_service",
        "billing_account__owner_id",
    )
    if not rows:
        raise not_found("Invoice", ("input", "invoiceId"))
    invoice = rows[0]
    refusal = available_actions.account_refusal(actor, invoice["billing_account__self_service"], invoice["billing_account__owner_id"])
    if refusal is not None:
        raise DomainError(refusal[0], refusal[1], ("input", "invoiceId"))
    if invoice["status"] not in PAYABLE or invoice["amount_due"] <= 0:
        raise DomainError(ErrorCode.INVALID_STATUS, f"The invoice is {invoice['status'].value}: nothing to pay.",
                          ("input", "invoiceId"))
    await throttle.take_payment_attempt(invoice["billing_account_id"], clock.now(), ("input", "invoiceId"))
    cards = await models.PaymentMethod.filter(
        id=payment_method_id, tenant_id=tenant_id, billing_account_id=invoice["billing_account_id"]
    ).values("gateway_token")
    if not cards:
        raise not_found("Payment method", ("input", "paymentMethodId"))
    succeeded = await charge_invoice(actor, invoice_id, invoice, cards[0]["gateway_token"], payment_method_id,
                                     clock, gateway, key)
    if succeeded is None:
        return InvoicePaid(invoice_id, replayed=await idempotency.previous_result(actor, key) is not None)
    if not succeeded:
        raise DomainError(ErrorCode.PAYMENT_DECLINED, "The card was declined; the invoice is past due.",
                          ("input", "paymentMethodId"))
    return InvoicePaid(invoice_id)


async def charge_invoice(
    actor: Actor,
    invoice_id: int,
    invoice: dict,
    token: str,
    payment_method_id: int | None,
    clock: Clock,
    gateway: PaymentGateway,
    key: idempotency.Key | None = None,
) -> bool | None:
    """Charge what `invoice` (a row with status, amount_due, currency) asks for and record
    the attempt: True when paid, False when declined (now past due), None when a concurrent
    call recorded the same charge. Runs the charge outside any transaction."""
    tenant_id = actor.tenant_id
    # The key changes only after a recorded failure: calls racing on the same due amount reach
    # the gateway with one key (charged once), and a retry after a decline is a new charge.
    failures = await models.PaymentAttempt.filter(
        tenant_id=tenant_id, invoice_id=invoice_id, status=models.PaymentAttemptStatus.FAILED
    ).count()
    gateway_key = dunning.gateway_key(invoice_id, failures)
    # NOTE: outside any transaction; the key makes a repeated charge a no-op at the gateway.
    result = await gateway.charge(token, invoice["amount_due"], invoice["currency"], gateway_key)
    now = clock.now()
    try:
        async with atomic():
            await models.PaymentAttempt.create(
                tenant_id=tenant_id, invoice_id=invoice_id, payment_method_id=payment_method_id,
                amount=invoice["amount_due"], currency=invoice["currency"],
                status=models.PaymentAttemptStatus.SUCCEEDED if result.succeeded else models.PaymentAttemptStatus.FAILED,
                gateway_idempotency_key=gateway_key, gateway_reference=result.reference,
                failure_reason=result.failure_reason, attempted_at=now,
            )
            if result.succeeded:
                await models.Invoice.filter(id=invoice_id, status__in=PAYABLE).update(
                    status=models.InvoiceStatus.PAID, amount_due=0, next_attempt_on=None)
            else:
                # A failed "pay now" is past due like a failed scheduled charge; the engine's
                # retries (§7) keep their schedule, counted from the first failure.
                first = invoice.get("first_failed_on") or now.date()
                await models.Invoice.filter(id=invoice_id, status__in=PAYABLE, first_failed_on=None).update(
                    first_failed_on=first, next_attempt_on=dunning.next_retry(first, now.date()))
                await models.Invoice.filter(id=invoice_id, status__in=PAYABLE).update(
                    status=models.InvoiceStatus.PAST_DUE)
            await audit.record(actor, tenant_id, "invoice.paid" if result.succeeded else "invoice.payment_failed",  # type: ignore[arg-type]
                               "Invoice", invoice_id, now, before={"status": invoice["status"]},
                               after={"amount": invoice["amount_due"], "succeeded": result.succeeded})
            if result.succeeded:
                await idempotency.record(actor, key, {"invoiceId": invoice_id}, now)
    except IntegrityError:
        # The same charge was recorded by a concurrent call (same gateway key): it is paid once.
        return None
    return result.succeeded
