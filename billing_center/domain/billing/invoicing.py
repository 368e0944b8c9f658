"""Invoices and credit notes (SPEC §5, §7).

One document per billing profile per charge day, however many times billing runs that day:
a charge day is closed once it is over, and its document takes every outstanding line of
the profile whose charge day has come, credits included. Charges at least as large as the
credits make an INVOICE (amount due 0 when credits cover the charges); credits larger than
the charges make a CREDIT_NOTE, whose amount is refunded the same day (`charging`). Nothing
due is held back. A unique (profile, charge day) makes a second document for a day impossible,
also for two engines at once.

Changes charged at once (under RENEWAL_DAY a purchase, a licence increase or a reactivation;
an account's first purchase under either schedule) get a document of their own at the moment
they happen, outside the charge-day documents.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from tortoise.expressions import F

from billing_center.domain import audit, bulk, models
from billing_center.domain.atomic import atomic
from billing_center.domain.money import COLUMN_MAX, AmountTooLarge
from billing_center.domain.billing.scope import BATCH, Scope, lock_rows
from billing_center.domain.billing.term_ends import next_charge_on
from billing_center.domain.billing.transitions import Transition, TransitionKind

ZERO = Decimal("0.00")
LINE_FIELDS = ("id", "tenant_id", "billing_profile_id", "subscription_id", "amount", "currency", "period_start",
               "period_end")


async def number_invoices(profile_ids: list[int], credit_notes: frozenset[int] = frozenset()) -> dict[int, str]:
    """The next document number of each profile (one document each), `INV-<profile>-<n>`
    (`CN-` for the profiles in `credit_notes`), counted by one increment per profile inside
    the caller's transaction."""
    for start in range(0, len(profile_ids), BATCH):
        await models.BillingProfile.filter(id__in=profile_ids[start:start + BATCH]).update(
            invoice_count=F("invoice_count") + 1)
    counts: dict[int, int] = {}
    for start in range(0, len(profile_ids), BATCH):
        counts.update(await models.BillingProfile.filter(id__in=profile_ids[start:start + BATCH]).values_list(
            "id", "invoice_count"))
    return {pid: f"{'CN' if pid in credit_notes else 'INV'}-{pid:06d}-{counts[pid]:04d}" for pid in profile_ids}


async def _insert(documents: list[dict]) -> dict[int, int]:
    """Write new documents (one per profile) and return their ids by profile."""
    await bulk.insert_rows(models.Invoice, documents)
    by_number = {document["number"]: document["billing_profile_id"] for document in documents}
    ids: dict[int, int] = {}
    numbers = list(by_number)
    for start in range(0, len(numbers), BATCH):
        for row in await models.Invoice.filter(number__in=numbers[start:start + BATCH]).values(
                "id", "number", "billing_profile_id"):
            if by_number.get(row["number"]) == row["billing_profile_id"]:
                ids[row["billing_profile_id"]] = row["id"]
    return ids


def document(lines: list[dict], day: date, moment: datetime, account_id: int, number: str,
             charge_day: date | None) -> dict:
    """The Invoice row of `lines` (one profile's), issued on `day`: an invoice asking for
    its total, nothing due when credits cover the charges, or a credit note to refund.
    Raises AmountTooLarge when the total would not fit its column."""
    total = sum((line["amount"] for line in lines), ZERO)
    if abs(total) > COLUMN_MAX:
        raise AmountTooLarge(f"A document of billing profile {lines[0]['billing_profile_id']} would total {total}, "
                             f"beyond the {COLUMN_MAX} a money column holds.")
    return dict(
        tenant_id=lines[0]["tenant_id"], billing_account_id=account_id, billing_profile_id=lines[0]["billing_profile_id"],
        number=number, kind=models.InvoiceKind.CREDIT_NOTE if total < 0 else models.InvoiceKind.INVOICE,
        charge_day=charge_day, issue_date=day, period_start=min(line["period_start"] for line in lines),
        period_end=max(line["period_end"] for line in lines),
        status=models.InvoiceStatus.PAID if total == 0 else models.InvoiceStatus.OPEN,
        total=total, amount_due=max(total, ZERO), currency=lines[0]["currency"],
        # Charged (or refunded) the same day.
        next_attempt_on=None if total == 0 else day, created_at=moment,
    )


def describe(invoice: dict, line_count: int) -> str:
    """What issuing `invoice` means for the customer, in plain numbers."""
    total, currency = invoice["total"], invoice["currency"]
    if total < 0:
        return (f"Credit note {invoice['number']} issued: credits exceed charges by {-total} {currency}, "
                f"to be refunded to the card on file ({line_count} line(s)).")
    if total == 0:
        return f"Invoice {invoice['number']} issued: credits cover the charges, nothing due ({line_count} line(s))."
    return f"Invoice {invoice['number']} issued: {total} {currency} due, {line_count} line(s)."


async def close_day(scope: Scope, day: date, moment: datetime) -> list[Transition]:
    """§7: per billing profile, one document of every outstanding line whose charge day has
    come, issued on `day`."""
    async with atomic():
        lines = await lock_rows(models.InvoiceLine.filter(scope.q(), invoice_id=None, charge_on__lte=day), *LINE_FIELDS)
        by_profile: dict[int, list[dict]] = defaultdict(list)
        for line in lines:
            by_profile[line["billing_profile_id"]].append(line)
        await _postpone_late_lines(by_profile, day)
        if not by_profile:
            return []
        lines = [line for group in by_profile.values() for line in group]
        profile_ids = sorted(by_profile)
        accounts = dict(await models.BillingProfile.filter(id__in=profile_ids).values_list("id", "billing_account_id"))
        credit_notes = frozenset(pid for pid, group in by_profile.items() if sum(line["amount"] for line in group) < 0)
        numbers = await number_invoices(profile_ids, credit_notes)
        documents = [document(by_profile[pid], day, moment, accounts[pid], numbers[pid], day) for pid in profile_ids]
        ids = await _insert(documents)
        await bulk.update_rows(models.InvoiceLine, ["invoice_id"], [
            dict(id=line["id"], invoice_id=ids[pid]) for pid in profile_ids for line in by_profile[pid]])
        await refresh_next_charge({line["subscription_id"] for line in lines if line["subscription_id"] is not None})
        await audit.record_system([
            audit.system_event(invoice["tenant_id"], f"{invoice['kind'].value.lower()}.issued", "Invoice",
                               ids[invoice["billing_profile_id"]], moment, None,
                               {"number": invoice["number"], "total": invoice["total"]})
            for invoice in documents])
    return [Transition(moment, TransitionKind.CREDIT_NOTE_ISSUED if invoice["total"] < 0 else TransitionKind.INVOICE_ISSUED,
                       invoice["tenant_id"], None, ids[invoice["billing_profile_id"]],
                       describe(invoice, len(by_profile[invoice["billing_profile_id"]])))
            for invoice in documents]


async def _postpone_late_lines(by_profile: dict[int, list[dict]], day: date) -> None:
    """A line written after its profile's document of `day` was issued (in the last instant
    of the day) goes on the next day's document: a charge day has one document."""
    closed = set(await models.Invoice.filter(billing_profile_id__in=list(by_profile), charge_day=day)
                 .values_list("billing_profile_id", flat=True)) if by_profile else set()
    for profile_id in closed:
        await models.InvoiceLine.filter(id__in=[line["id"] for line in by_profile.pop(profile_id)]).update(
            charge_on=day + timedelta(days=1))


async def issue_at_once(line_id: int, now: datetime) -> int:
    """§7 "charged at once": the document of one line, issued now and due now (the caller
    charges it after its transaction). Call inside the transaction that wrote the line."""
    line = (await models.InvoiceLine.filter(id=line_id).values(*LINE_FIELDS, "billing_profile__billing_account_id"))[0]
    profile_id = line["billing_profile_id"]
    number = (await number_invoices([profile_id]))[profile_id]
    invoice = await models.Invoice.create(**document([line], now.date(), now,
                                                     line["billing_profile__billing_account_id"], number, None))
    await models.InvoiceLine.filter(id=line_id).update(invoice_id=invoice.id)
    if line["subscription_id"] is not None:
        await refresh_next_charge({line["subscription_id"]})
    return invoice.id


async def refresh_next_charge(subscription_ids: set[int]) -> None:
    """Once a subscription's charges are on a document, its next charge is its next renewal."""
    ids = sorted(subscription_ids)
    rows: list[dict] = []
    for start in range(0, len(ids), BATCH):
        rows += await models.Subscription.filter(id__in=ids[start:start + BATCH]).values(
            "id", "status", "auto_renew", "term_end", "billing_account__charge_schedule",
            "billing_account__billing_day")
    await bulk.update_rows(models.Subscription, ["next_charge_date"], [
        dict(id=row["id"], next_charge_date=next_charge_on(
            models.SubscriptionStatus(row["status"]), row["auto_renew"], row["term_end"],
            models.ChargeSchedule(row["billing_account__charge_schedule"]), row["billing_account__billing_day"]))
        for row in rows
    ])
