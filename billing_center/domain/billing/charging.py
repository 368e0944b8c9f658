"""Charges and refunds at the gateway (SPEC §2, §5, §7).

Every invoice due on a charge day (and every retry due) is charged, and every credit note
due is refunded to the profile's card, outside any transaction: the documents are locked
and leased in a short transaction, the gateway is called, and the outcomes are recorded in
another. A document being charged carries a lease, so two engine processes never charge one
twice; after a crash the lease runs out and the document is charged again with the same
gateway key, which the gateway charges once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from billing_center.domain import audit, bulk, models
from billing_center.domain.atomic import atomic
from billing_center.domain.billing import dunning
from billing_center.domain.billing.scope import BATCH, Scope, lock_rows
from billing_center.domain.billing.transitions import Transition, TransitionKind
from billing_center.domain.clock import Clock, SystemClock
from billing_center.domain.payment_gateway import ChargeResult, PaymentGateway

# A charge in flight is someone else's for this long; after a crash it is taken over and
# charged again with the same gateway key (charged once).
CHARGE_LEASE = timedelta(minutes=10)
PAYABLE = (models.InvoiceStatus.OPEN, models.InvoiceStatus.PAST_DUE)
DOCUMENT_FIELDS = ("id", "tenant_id", "billing_profile_id", "number", "kind", "status", "total", "amount_due",
                   "currency", "first_failed_on")


@dataclass(frozen=True, slots=True)
class _Outcome:
    document: dict
    result: ChargeResult
    key: str
    payment_method_id: int | None
    amount: Decimal

    @property
    def refund(self) -> bool:
        return self.document["kind"] == models.InvoiceKind.CREDIT_NOTE


async def collect(scope: Scope, day: date, moment: datetime, gateway: PaymentGateway,
                  lease_clock: Clock) -> list[Transition]:
    """§5, §7: charge every invoice and retry due by `day`, refund every credit note due;
    record the outcomes and apply dunning."""
    return await _collect(models.Invoice.filter(scope.q(), status__in=PAYABLE, next_attempt_on__lte=day),
                          day, moment, gateway, lease_clock)


async def collect_now(invoice_id: int, now: datetime, gateway: PaymentGateway) -> list[Transition]:
    """§7 "charged at once": charge one document issued now, after the transaction that
    issued it. A decline makes it past due, with dunning, like any charge."""
    return await _collect(models.Invoice.filter(id=invoice_id, status__in=PAYABLE), now.date(), now, gateway,
                          SystemClock())


async def _collect(documents: QuerySet[models.Invoice], day: date, moment: datetime, gateway: PaymentGateway,
                   lease_clock: Clock) -> list[Transition]:
    # Leases are about processes being alive, so they use wall time, not a test clock.
    leased_at = lease_clock.now()
    async with atomic():
        leased = await lock_rows(
            documents.filter(Q(charge_claimed_at=None) | Q(charge_claimed_at__lt=leased_at - CHARGE_LEASE)),
            *DOCUMENT_FIELDS)
        for start in range(0, len(leased), BATCH):
            await models.Invoice.filter(id__in=[row["id"] for row in leased[start:start + BATCH]]).update(
                charge_claimed_at=leased_at)
    if not leased:
        return []
    cards = {row["id"]: row for row in await models.BillingProfile.filter(
        id__in={row["billing_profile_id"] for row in leased}).values(
        "id", "payment_method_id", "payment_method__gateway_token")}
    failures = dict(await models.PaymentAttempt.filter(
        invoice_id__in=[row["id"] for row in leased], status=models.PaymentAttemptStatus.FAILED
    ).annotate(n=Count("id")).group_by("invoice_id").values_list("invoice_id", "n"))
    outcomes: list[_Outcome] = []
    for row in leased:
        card = cards[row["billing_profile_id"]]
        token = card["payment_method__gateway_token"]
        refund = row["kind"] == models.InvoiceKind.CREDIT_NOTE
        amount = -row["total"] if refund else row["amount_due"]
        tries = failures.get(row["id"], 0)
        key = f"credit-note-{row['id']}-refund-{tries + 1}" if refund else dunning.gateway_key(row["id"], tries)
        # NOTE: outside any transaction (§2); the key makes a repeated call a no-op.
        if token is None:
            result = ChargeResult(False, "", "No payment method on the billing profile.")
        elif refund:
            result = await gateway.refund_to_card(token, amount, row["currency"], key)
        else:
            result = await gateway.charge(token, amount, row["currency"], key)
        outcomes.append(_Outcome(row, result, key, card["payment_method_id"], amount))
    try:
        async with atomic():
            return await _record(outcomes, day, moment)
    except IntegrityError:
        # A concurrent payInvoice recorded one of these charges (same gateway key): record the
        # others one by one.
        transitions: list[Transition] = []
        for outcome in outcomes:
            try:
                async with atomic():
                    transitions += await _record([outcome], day, moment)
            except IntegrityError:
                await models.Invoice.filter(id=outcome.document["id"]).update(charge_claimed_at=None)
        return transitions


def _attempt(outcome: _Outcome, moment: datetime) -> dict:
    row, result = outcome.document, outcome.result
    return dict(
        tenant_id=row["tenant_id"], invoice_id=row["id"], payment_method_id=outcome.payment_method_id,
        kind=models.PaymentAttemptKind.REFUND if outcome.refund else models.PaymentAttemptKind.CHARGE,
        amount=outcome.amount, currency=row["currency"],
        status=models.PaymentAttemptStatus.SUCCEEDED if result.succeeded else models.PaymentAttemptStatus.FAILED,
        gateway_idempotency_key=outcome.key, gateway_reference=result.reference or None,
        failure_reason=result.failure_reason, attempted_at=moment,
    )


async def _record(outcomes: list[_Outcome], day: date, moment: datetime) -> list[Transition]:
    settled: list[dict] = []
    failed: list[dict] = []
    given_up: list[dict] = []
    events: list[dict] = []
    transitions: list[Transition] = []
    for outcome in outcomes:
        row, result, amount = outcome.document, outcome.result, outcome.amount
        money = f"{amount} {row['currency']}"
        if result.succeeded:
            settled.append(dict(id=row["id"], status=models.InvoiceStatus.PAID, amount_due=Decimal("0.00"),
                                next_attempt_on=None, charge_claimed_at=None))
            kind = TransitionKind.REFUND_SUCCEEDED if outcome.refund else TransitionKind.PAYMENT_SUCCEEDED
            what = "credit_note.refunded" if outcome.refund else "invoice.paid"
            events.append(audit.system_event(row["tenant_id"], what, "Invoice", row["id"], moment,
                                             {"status": row["status"]}, {"status": "PAID", "amount": amount}))
            transitions.append(Transition(
                moment, kind, row["tenant_id"], None, row["id"],
                f"Credit note {row['number']}: {money} refunded to the card on file." if outcome.refund
                else f"Invoice {row['number']}: {money} charged."))
            continue
        if outcome.refund:
            # A refund is ours to make: tried again every day until it goes through.
            retry_on = day + timedelta(days=1)
            failed.append(dict(id=row["id"], status=row["status"], first_failed_on=row["first_failed_on"] or day,
                               next_attempt_on=retry_on, charge_claimed_at=None))
            events.append(audit.system_event(row["tenant_id"], "credit_note.refund_failed", "Invoice", row["id"],
                                             moment, None, {"retryOn": retry_on}))
            transitions.append(Transition(moment, TransitionKind.REFUND_FAILED, row["tenant_id"], None, row["id"],
                                          f"Credit note {row['number']}: refund of {money} failed "
                                          f"({result.failure_reason}); tried again on {retry_on}."))
            continue
        first = row["first_failed_on"] or day
        retry_on = dunning.next_retry(first, day)
        failed.append(dict(id=row["id"], status=models.InvoiceStatus.PAST_DUE, first_failed_on=first,
                           next_attempt_on=retry_on, charge_claimed_at=None))
        events.append(audit.system_event(row["tenant_id"], "invoice.payment_failed", "Invoice", row["id"], moment,
                                         {"status": row["status"]}, {"status": "PAST_DUE", "retryOn": retry_on}))
        transitions.append(Transition(
            moment, TransitionKind.PAYMENT_FAILED, row["tenant_id"], None, row["id"],
            f"Invoice {row['number']}: charge of {money} declined; "
            + (f"retried on {retry_on}." if retry_on else "that was the last retry.")))
        if retry_on is None:
            given_up.append(row)
    await bulk.insert_rows(models.PaymentAttempt, [_attempt(outcome, moment) for outcome in outcomes])
    # Conditional on the document still being payable: a payInvoice may have settled it meanwhile.
    open_ids = set(await models.Invoice.filter(id__in=[o.document["id"] for o in outcomes],
                                               status__in=PAYABLE).values_list("id", flat=True))
    await bulk.update_rows(models.Invoice, ["status", "amount_due", "next_attempt_on", "charge_claimed_at"],
                           [change for change in settled if change["id"] in open_ids])
    await bulk.update_rows(models.Invoice, ["status", "first_failed_on", "next_attempt_on", "charge_claimed_at"],
                           [change for change in failed if change["id"] in open_ids])
    transitions += await dunning.cut_off([row for row in given_up if row["id"] in open_ids], day, moment, events)
    await audit.record_system(events)
    return transitions
