"""Dunning (SPEC §7): when a failed charge is tried again, the key each try uses, and the
non-payment cut-off when the last retry fails."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from billing_center.domain import audit, models
from billing_center.domain.billing import credits, ledger, timers
from billing_center.domain.billing.scope import claim
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
    asks only for the days served. Appends audit rows to `events`."""
    if not invoices:
        return []
    subscription_ids = set(await models.InvoiceLine.filter(
        invoice_id__in=[row["id"] for row in invoices], subscription_id__not_isnull=True
    ).values_list("subscription_id", flat=True))
    rows = await claim(
        models.Subscription.filter(id__in=subscription_ids, status__in=[Status.ACTIVE, Status.EXPIRED]),
        "id", "tenant_id", "status", "version", "billing_profile_id", "quantity", "unit_price", "currency",
        "term_start", "term_end", "commitment_term", "start_date", "product__name",
        "billing_account__charge_schedule", "billing_account__billing_day")
    transitions = []
    for row in rows:
        ends_on = await _withdraw_renewals(row, day)
        await models.Subscription.filter(id=row["id"]).update(
            status=Status.DISABLED, status_reason=models.StatusReason.NON_PAYMENT, status_changed_at=moment,
            disabled_at=moment, auto_renew=False, next_charge_date=None, scheduled_quantity=None,
            term_start=row["term_start"], term_end=row["term_end"], version=row["version"] + 1)
        await ledger.record_service(row["tenant_id"], row["id"], ends_on, 0, models.ServiceChange.NON_PAYMENT)
        credited = await _credit_unserved_days(row, ends_on, moment, {invoice["id"] for invoice in invoices})
        events.append(audit.system_event(row["tenant_id"], "subscription.disabled", "Subscription", row["id"], moment,
                                         {"status": row["status"]},
                                         {"status": Status.DISABLED, "reason": "NON_PAYMENT", "credit": credited}))
        transitions.append(Transition(
            moment, TransitionKind.DISABLED_FOR_NON_PAYMENT, row["tenant_id"], row["id"], None,
            f"{row['product__name']}: the last retry failed; disabled for non-payment from {ends_on}, users lose "
            f"the service" + (f"; {credited} {row['currency']} credited for the days from {ends_on} on, "
                              f"so the past-due amount covers only the days served." if credited else ".")))
    await timers.suspend([row["id"] for row in rows])
    return transitions


async def _withdraw_renewals(row: dict, day: date) -> date:
    """Withdraw the terms that renewed during the retry days (their charges are on no
    document yet: the next billing day comes after the last retry) and put the subscription
    back on the term before them (`row` is changed); the first day not served any more."""
    withdrawn = await models.InvoiceLine.filter(
        subscription_id=row["id"], invoice_id=None, kind=models.InvoiceLineKind.RENEWAL, amount__gt=0,
    ).order_by("period_start").values("id", "period_start")
    if not withdrawn:
        return day
    # With the terms go the changes made in them (more or fewer licences), none billed yet.
    await models.InvoiceLine.filter(subscription_id=row["id"], invoice_id=None,
                                    period_start__gte=withdrawn[0]["period_start"]).delete()
    months = 1 if models.CommitmentTerm(row["commitment_term"]) is models.CommitmentTerm.MONTHLY else 12
    ends = row["term_start"]
    for _ in withdrawn[1:]:
        ends = add_months(ends, -months, row["start_date"].day)
    row["term_end"], row["term_start"] = ends, add_months(ends, -months, row["start_date"].day)
    return min(day, withdrawn[0]["period_start"])


async def _credit_unserved_days(row: dict, since: date, moment: datetime, past_due: set[int]) -> Decimal:
    """Credit every licence-day from `since` to the term's end that is still paid for: the
    licences charged on the past-due invoices against them first, the rest like any credit."""
    lines = await models.InvoiceLine.filter(subscription_id=row["id"]).values(
        "amount", "quantity", "period_start", "period_end", "invoice_id")
    paid = ledger.paid_licences(ledger.LineDays(line["period_start"], line["period_end"], line["quantity"],
                                                line["amount"] > 0) for line in lines)
    unpaid = [line for line in lines if line["amount"] > 0 and line["invoice_id"] in past_due]
    term_end = row["term_end"].date()
    bounds = sorted({since, term_end} | {day for day, _ in paid if since < day < term_end}
                    | {line[edge] for line in unpaid for edge in ("period_start", "period_end")
                       if since < line[edge] < term_end})
    # The cut-off comes after its day's document: other credits go on the next day's.
    charge_on = charge_date(moment.date() + timedelta(days=1),
                            models.ChargeSchedule(row["billing_account__charge_schedule"]),
                            row["billing_account__billing_day"])
    total = Decimal("0.00")
    for start, end in zip(bounds, bounds[1:]):
        licences = ledger.level_on(paid, start)
        owed = min(licences, sum(line["quantity"] for line in unpaid
                                 if line["period_start"] <= start and end <= line["period_end"]))
        for count in (owed, licences - owed):
            if count > 0:
                total += await _credit_days(row, start, end, count, charge_on, moment, frozenset(past_due))
    return total


async def _credit_days(row: dict, start: date, end: date, licences: int, charge_on: date, moment: datetime,
                       held: frozenset[int]) -> Decimal:
    term_start, term_end = row["term_start"].date(), row["term_end"].date()
    share = pro_rata(row["unit_price"], licences, (end - start).days, (term_end - term_start).days, row["currency"])
    amount, explanation = await credits.credit_for(share, row["id"], term_start, term_end, False)
    if amount <= 0:
        return Decimal("0.00")
    await credits.place_credit(dict(
        tenant_id=row["tenant_id"], billing_profile_id=row["billing_profile_id"], subscription_id=row["id"],
        kind=models.InvoiceLineKind.PRORATED_CREDIT,
        description=f"{row['product__name']}: disabled for non-payment, days from {start} not served",
        quantity=licences, unit_price=row["unit_price"], amount=-amount, currency=row["currency"],
        period_start=start, period_end=end, explanation="Credit for the days without service: " + explanation,
        charge_on=charge_on, created_at=moment), held)
    return amount
