"""Dunning (SPEC §7): when a failed charge is tried again, the key each try uses, and the
non-payment cut-off when the last retry fails."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing_center.domain import audit, bulk, models
from billing_center.domain.billing import credits, invoice_lines, ledger, timers
from billing_center.domain.billing.scope import lock_rows
from billing_center.domain.billing.transitions import Transition, TransitionKind
from billing_center.domain.billing_dates import add_months, charge_date
from billing_center.domain.money import pro_rata

Status = models.SubscriptionStatus

# NOTE: Decision of SPEC §7: retries 1, 3 and 7 days after the first failure.
RETRY_AFTER_DAYS = (1, 3, 7)


def next_retry(first_failed_on: date, failed_on: date) -> date | None:
    """The day of the next retry after a failure on `failed_on`, counted from the first
    failure; None when that was the last retry (the subscriptions are then disabled)."""
    for days in RETRY_AFTER_DAYS:
        retry_on = first_failed_on + timedelta(days=days)
        if retry_on > failed_on:
            return retry_on
    return None


def gateway_key(invoice_id: int, failed_attempts: int) -> str:
    """The gateway idempotency key of the next charge of an invoice. It changes only after a
    recorded failure: calls racing on the same amount due, or a retry after a crash between
    charge and record, reach the gateway with one key and are charged once."""
    return f"invoice-{invoice_id}-try-{failed_attempts + 1}"


async def cut_off(invoices: list[dict], day: date, moment: datetime, events: list[dict]) -> list[Transition]:
    """§7 rev. 2: when the last retry of an invoice fails, its subscriptions are cancelled
    (DISABLED, NON_PAYMENT) and their users lose the service, so billing ends too. A term
    that renewed during the retry days is withdrawn (its charge was on no document yet), and
    every day from the cut-off on is credited: first against the past-due invoice, which then
    asks only for the days served. Set-wise, like the rest of the engine; appends audit rows
    to `events`."""
    if not invoices:
        return []
    past_due = {row["id"] for row in invoices}
    subscription_ids = set(await models.InvoiceLine.filter(
        invoice_id__in=past_due, subscription_id__not_isnull=True).values_list("subscription_id", flat=True))
    rows = await lock_rows(
        models.Subscription.filter(id__in=subscription_ids, status__in=[Status.ACTIVE, Status.EXPIRED]),
        "id", "tenant_id", "status", "version", "billing_profile_id", "quantity", "unit_price", "currency",
        "term_start", "term_end", "commitment_term", "start_date", "product__name",
        "billing_account__charge_schedule", "billing_account__billing_day")
    if not rows:
        return []
    ends_on = await _withdraw_renewals(rows, day)
    cut_off = models.Subscription.disabled_for_non_payment(moment)
    await bulk.update_rows(models.Subscription, [*cut_off, "term_start", "term_end", "version"], [
        dict(id=row["id"], **cut_off, term_start=row["term_start"], term_end=row["term_end"],
             version=row["version"] + 1)
        for row in rows])
    await bulk.insert_rows(models.ServiceLevel, [
        ledger.service_row(row["tenant_id"], row["id"], ends_on[row["id"]], 0, models.ServiceChange.NON_PAYMENT)
        for row in rows])
    credited = await _credit_unserved_days(rows, ends_on, moment, past_due)
    await timers.suspend([row["id"] for row in rows])
    transitions = []
    for row in rows:
        amount, since = credited.get(row["id"], Decimal("0.00")), ends_on[row["id"]]
        events.append(audit.system_event(row["tenant_id"], "subscription.disabled", "Subscription", row["id"], moment,
                                         {"status": row["status"]},
                                         {"status": Status.DISABLED, "reason": "NON_PAYMENT", "credit": amount}))
        transitions.append(Transition(
            moment, TransitionKind.DISABLED_FOR_NON_PAYMENT, row["tenant_id"], row["id"], None,
            f"{row['product__name']}: the last retry failed; disabled for non-payment from {since}, users lose "
            f"the service" + (f"; {amount} {row['currency']} credited for the days from {since} on, "
                              f"so the past-due amount covers only the days served." if amount else ".")))
    return transitions


async def _withdraw_renewals(rows: list[dict], day: date) -> dict[int, date]:
    """Withdraw the terms that renewed during the retry days (their charges are on no
    document yet: the next billing day comes after the last retry), with every change made
    in them, and put each subscription back on the term before them (`rows` are changed);
    the first day not served any more, by subscription."""
    first: dict[int, date] = {}
    count: dict[int, int] = defaultdict(int)
    for line in await models.InvoiceLine.filter(
            subscription_id__in=[row["id"] for row in rows], invoice_id=None, kind=models.InvoiceLineKind.RENEWAL,
            amount__gt=0).order_by("period_start").values("subscription_id", "period_start"):
        first.setdefault(line["subscription_id"], line["period_start"])
        count[line["subscription_id"]] += 1
    for row in rows:
        if row["id"] not in first:
            continue
        await models.InvoiceLine.filter(subscription_id=row["id"], invoice_id=None,
                                        period_start__gte=first[row["id"]]).delete()
        months = 1 if models.CommitmentTerm(row["commitment_term"]) is models.CommitmentTerm.MONTHLY else 12
        ends = row["term_start"]
        for _ in range(count[row["id"]] - 1):
            ends = add_months(ends, -months, row["start_date"].day)
        row["term_end"], row["term_start"] = ends, add_months(ends, -months, row["start_date"].day)
    return {row["id"]: min(day, first.get(row["id"], day)) for row in rows}


async def _credit_unserved_days(rows: list[dict], ends_on: dict[int, date], moment: datetime,
                                past_due: set[int]) -> dict[int, Decimal]:
    """Credit every licence-day from the cut-off to the term's end that is still paid for:
    the licences charged on the past-due invoices against them (while their amount due
    covers it), the rest like any credit. The amounts credited, by subscription."""
    lines: dict[int, list[dict]] = defaultdict(list)
    for line in await models.InvoiceLine.filter(subscription_id__in=[row["id"] for row in rows]).values(
            "subscription_id", "amount", "quantity", "period_start", "period_end", "invoice_id"):
        lines[line["subscription_id"]].append(line)
    dues = {invoice["id"]: invoice for invoice in await models.Invoice.filter(id__in=past_due).values(
        "id", "total", "amount_due")}
    attached: list[dict] = []
    elsewhere: list[dict] = []
    credited: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in rows:
        for start, end, licences, invoice_id in _unserved(lines[row["id"]], ends_on[row["id"]], row, past_due):
            term_start, term_end = row["term_start"].date(), row["term_end"].date()
            share = pro_rata(row["unit_price"], licences, (end - start).days, (term_end - term_start).days,
                             row["currency"])
            amount, explanation = credits.capped(share, credits.left_in_term(lines[row["id"]], term_start, term_end))
            if amount <= 0:
                continue
            line = invoice_lines.line(
                invoice_lines.Billed.of(row["tenant_id"], row["id"], row), models.InvoiceLineKind.PRORATED_CREDIT,
                description=f"{row['product__name']}: disabled for non-payment, days from {start} not served",
                quantity=licences, amount=amount, period=(start, end),
                explanation="Credit for the days without service: " + explanation,
                # The cut-off comes after its day's document: a credit not on the past-due
                # invoice goes on the next day's.
                charge_on=charge_date(moment.date() + timedelta(days=1),
                                      models.ChargeSchedule(row["billing_account__charge_schedule"]),
                                      row["billing_account__billing_day"]),
                at=moment)
            lines[row["id"]].append({**line, "invoice_id": invoice_id})
            credited[row["id"]] += amount
            if invoice_id is not None and dues[invoice_id]["amount_due"] >= amount:
                dues[invoice_id]["amount_due"] -= amount
                dues[invoice_id]["total"] -= amount
                attached.append({**line, "invoice_id": invoice_id})
            else:
                elsewhere.append(line)
    await bulk.insert_rows(models.InvoiceLine, attached)
    reduced = {line["invoice_id"] for line in attached}
    await bulk.update_rows(models.Invoice, ["total", "amount_due", "status", "next_attempt_on"], [
        dict(id=invoice_id, total=dues[invoice_id]["total"], amount_due=dues[invoice_id]["amount_due"],
             # Nothing is owed any more, and nothing was collected: the invoice is void.
             status=models.InvoiceStatus.VOID if dues[invoice_id]["amount_due"] == 0 else models.InvoiceStatus.PAST_DUE,
             next_attempt_on=None)
        for invoice_id in reduced])
    for line in elsewhere:
        await invoice_lines.add(line)
    return credited


def _unserved(lines: list[dict], since: date, row: dict, past_due: set[int]) -> list[tuple[date, date, int, int | None]]:
    """The licence-days from `since` to the term's end still paid for, as (start, end,
    licences, past-due invoice id or None): the part charged on a past-due invoice first."""
    paid = ledger.paid_licences(ledger.LineDays(line["period_start"], line["period_end"], line["quantity"],
                                                line["amount"] > 0) for line in lines)
    unpaid = [line for line in lines if line["amount"] > 0 and line["invoice_id"] in past_due]
    term_end = row["term_end"].date()
    bounds = sorted({since, term_end} | {day for day, _ in paid if since < day < term_end}
                    | {line[edge] for line in unpaid for edge in ("period_start", "period_end")
                       if since < line[edge] < term_end})
    pieces = []
    for start, end in zip(bounds, bounds[1:]):
        left = ledger.level_on(paid, start)
        # Each past-due invoice takes back the licences it charged for these days.
        per_invoice: dict[int, int] = defaultdict(int)
        for line in unpaid:
            if line["period_start"] <= start and end <= line["period_end"] and left > 0:
                taken = min(left, line["quantity"])
                per_invoice[line["invoice_id"]] += taken
                left -= taken
        pieces += [(start, end, licences, invoice_id) for invoice_id, licences in sorted(per_invoice.items())]
        if left > 0:
            pieces.append((start, end, left, None))
    return pieces
