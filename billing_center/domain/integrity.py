"""The invariants the billing data must always meet (SPEC §4, §5, §7), as one check an
operator can run (`billing-center check`) and the property, fault and load tests run after
every step of their histories:

- 0 <= assigned <= quantity, and the assigned count is the number of assignment rows;
- each document's total is the sum of its lines; an invoice asks 0 <= due <= total, the money
  collected on it is total - due, and it is settled (PAID or VOID) exactly when nothing is due;
  a credit note (negative total) asks nothing and has been refunded exactly when it is PAID;
  so, per tenant, collected - refunded = invoiced - due - refunds still to make;
- charged - credited over documented lines equals the sum of document totals, and no
  subscription was ever credited more than it was charged;
- one document per billing profile per charge day;
- the ledger rule: for every subscription and day, the licences charged net of the licences
  credited equal the licences in paid service (`billing.ledger`), so no licence-day is paid
  twice, no disabled day is charged and no seat is in service unpaid;
- nothing held back: no charge or credit whose charge day is over is still on no document,
  no credit note is left unrefunded after its day, no active subscription's next charge date
  is in the past;
- on SQLite, `PRAGMA integrity_check` is ok.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tortoise import Tortoise
from tortoise.functions import Count

from billing_center.domain import models, rows
from billing_center.domain.billing import ledger

ZERO = Decimal("0.00")
SETTLED = (models.InvoiceStatus.PAID, models.InvoiceStatus.VOID)
# A live tenant's charge day is closed by the first billing run after it: allow a day for it.
LIVE_SLACK = timedelta(days=1)


async def violations(tenant_id: int | None = None, today: date | None = None) -> list[str]:
    """Every broken invariant (of one tenant, or of all), described; empty when all hold.
    `today` is the day the check stands on (default: each tenant's clock, with a day of
    slack for live tenants)."""
    found: list[str] = []
    scope = {"tenant_id": tenant_id} if tenant_id is not None else {}
    found += await _licence_counts(scope)
    found += await _money(scope)
    found += await _ledger(scope)
    found += await _held_back(scope, today)
    found += await _database()
    return found


async def _licence_counts(scope: dict) -> list[str]:
    found = []
    subscriptions = await models.Subscription.filter(**scope).values("id", "quantity", "assigned_count")
    held = dict(await models.LicenseAssignment.filter(**scope).annotate(n=Count("id"))
                .group_by("subscription_id").values_list("subscription_id", "n"))
    for row in subscriptions:
        if not 0 <= row["assigned_count"] <= row["quantity"]:
            found.append(f"subscription {row['id']}: {row['assigned_count']} assigned of {row['quantity']}")
        if row["assigned_count"] != held.get(row["id"], 0):
            found.append(f"subscription {row['id']}: assigned_count {row['assigned_count']} but "
                         f"{held.get(row['id'], 0)} assignment rows")
    return found


def _document(invoice: dict, lines_sum: Decimal, collected: Decimal, refunded: Decimal) -> list[str]:
    name = f"{invoice['kind'].value.lower()} {invoice['number']}"
    total, due, status = invoice["total"], invoice["amount_due"], invoice["status"]
    found = []
    if total != lines_sum:
        found.append(f"{name}: total {total} but its lines sum to {lines_sum}")
    if invoice["kind"] is models.InvoiceKind.CREDIT_NOTE:
        if total >= 0 or due != 0 or collected != 0:
            found.append(f"{name}: a credit note with total {total}, {due} due and {collected} collected")
        if refunded != (-total if status is models.InvoiceStatus.PAID else ZERO):
            found.append(f"{name}: {status.value} with {refunded} of {-total} refunded")
        return found
    if refunded != 0:
        found.append(f"{name}: an invoice with {refunded} refunded")
    if not 0 <= due <= total:
        found.append(f"{name}: amount due {due} outside 0..{total}")
    if collected != total - due:
        found.append(f"{name}: collected {collected} but total - due is {total - due}")
    if (status in SETTLED) != (due == 0):
        found.append(f"{name}: status {status.value} with {due} due")
    return found


async def _money(scope: dict) -> list[str]:
    found = []
    lines = await models.InvoiceLine.filter(**scope).values("tenant_id", "invoice_id", "subscription_id", "amount")
    by_invoice: dict[int, Decimal] = defaultdict(lambda: ZERO)
    charged: dict[int, Decimal] = defaultdict(lambda: ZERO)
    credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
    per_subscription: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        amount = line["amount"]
        per_subscription[line["subscription_id"]][0 if amount >= 0 else 1] += abs(amount)
        if line["invoice_id"] is not None:
            by_invoice[line["invoice_id"]] += amount
            if amount >= 0:
                charged[line["tenant_id"]] += amount
            else:
                credited[line["tenant_id"]] -= amount
    moved: dict[tuple[int, models.PaymentAttemptKind], Decimal] = defaultdict(lambda: ZERO)
    for attempt in await models.PaymentAttempt.filter(**scope, status=models.PaymentAttemptStatus.SUCCEEDED).values(
            "invoice_id", "kind", "amount"):
        moved[attempt["invoice_id"], models.PaymentAttemptKind(attempt["kind"])] += attempt["amount"]
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    ledger_sides: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    per_day: Counter[tuple[int, date]] = Counter()
    for invoice in await models.Invoice.filter(**scope).values(
            "id", "tenant_id", "number", "kind", "total", "amount_due", "status", "billing_profile_id", "charge_day"):
        invoice["kind"], invoice["status"] = models.InvoiceKind(invoice["kind"]), models.InvoiceStatus(invoice["status"])
        collected = moved[invoice["id"], models.PaymentAttemptKind.CHARGE]
        refunded = moved[invoice["id"], models.PaymentAttemptKind.REFUND]
        found += _document(invoice, by_invoice[invoice["id"]], collected, refunded)
        tenant = invoice["tenant_id"]
        totals[tenant] += invoice["total"]
        pending_refund = -invoice["total"] - refunded if invoice["kind"] is models.InvoiceKind.CREDIT_NOTE else ZERO
        ledger_sides[tenant][0] += collected - refunded
        ledger_sides[tenant][1] += invoice["total"] - invoice["amount_due"] + pending_refund
        if invoice["charge_day"] is not None:
            per_day[invoice["billing_profile_id"], invoice["charge_day"]] += 1
    for (profile, day), count in per_day.items():
        if count > 1:
            found.append(f"billing profile {profile}: {count} documents for charge day {day}")
    for tenant, (money_moved, owed) in ledger_sides.items():
        if money_moved != owed:
            found.append(f"tenant {tenant}: collected - refunded is {money_moved} but invoiced - due is {owed}")
    for tenant in set(charged) | set(credited) | set(totals):
        if charged[tenant] - credited[tenant] != totals[tenant]:
            found.append(f"tenant {tenant}: charged - credited {charged[tenant] - credited[tenant]} but documents "
                         f"total {totals[tenant]}")
    for subscription_id, (charges, credits) in per_subscription.items():
        if credits > charges:
            found.append(f"subscription {subscription_id}: credited {credits}, charged only {charges}")
    return found


async def _ledger(scope: dict) -> list[str]:
    """§7 the ledger rule, per subscription. Prepaid product keys are left out, and so are
    subscriptions whose service was not recorded from their start (made before the ledger
    was kept)."""
    subscriptions = {row["id"]: row for row in await models.Subscription.filter(**scope).exclude(
        purchase_channel=models.PurchaseChannel.PRODUCT_KEY).values("id", "status", "trial", "term_end")}
    lines: dict[int, list[ledger.LineDays]] = defaultdict(list)
    for line in await models.InvoiceLine.filter(**scope, subscription_id__not_isnull=True).values(
            "subscription_id", "amount", "quantity", "period_start", "period_end"):
        lines[line["subscription_id"]].append(ledger.LineDays(line["period_start"], line["period_end"],
                                                              line["quantity"], line["amount"] > 0))
    levels: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    opened: set[int] = set()
    for level in await models.ServiceLevel.filter(**scope).order_by("id").values(
            "id", "subscription_id", "since", "licences", "reason"):
        if not levels[level["subscription_id"]] and level["reason"] in models.OPENING_CHANGES:
            opened.add(level["subscription_id"])
        levels[level["subscription_id"]].append((level["since"], level["id"], level["licences"]))
    found = []
    for subscription_id, row in subscriptions.items():
        if subscription_id not in opened:
            continue
        served = ledger.service_levels(levels[subscription_id])
        paid = ledger.paid_licences(lines[subscription_id])
        # An active paid subscription is paid in advance up to its term's end; what comes
        # after is the next term's business.
        until = row["term_end"].date() if row["status"] == models.SubscriptionStatus.ACTIVE and not row["trial"] else None
        for day, got, want in ledger.mismatches(paid, served, until)[:1]:
            found.append(f"subscription {subscription_id}: on {day}, {got} licence(s) paid for but {want} in paid "
                         f"service (the ledger rule)")
    return found


async def _held_back(scope: dict, today: date | None) -> list[str]:
    """§5, §7: nothing due held back, every credit returned within its cycle."""
    tenants = await models.Tenant.filter(**({"id": scope["tenant_id"]} if scope else {})).values(
        "id", "sandbox", "clock_now")
    wall = datetime.now(UTC)
    day_of = {row["id"]: today or (row["clock_now"].date() if row["sandbox"] and row["clock_now"]
                                   else (wall - LIVE_SLACK).date()) for row in tenants}
    found = []
    for line in await models.InvoiceLine.filter(**scope, invoice_id=None).values(
            "id", "tenant_id", "subscription_id", "amount", "charge_on"):
        if line["charge_on"] < day_of[line["tenant_id"]]:
            what = "credit" if line["amount"] < 0 else "charge"
            found.append(f"{what} line {line['id']} of subscription {line['subscription_id']}: due on "
                         f"{line['charge_on']}, still on no document (held back)")
    for note in await models.Invoice.filter(**scope, kind=models.InvoiceKind.CREDIT_NOTE,
                                            status=models.InvoiceStatus.OPEN).values("tenant_id", "number", "issue_date"):
        if note["issue_date"] < day_of[note["tenant_id"]]:
            found.append(f"credit note {note['number']} of {note['issue_date']}: not refunded yet")
    for row in await models.Subscription.filter(**scope, status=models.SubscriptionStatus.ACTIVE,
                                                next_charge_date__not_isnull=True).values(
            "id", "tenant_id", "next_charge_date"):
        if row["next_charge_date"] < day_of[row["tenant_id"]]:
            found.append(f"subscription {row['id']}: next charge date {row['next_charge_date']} is in the past")
    return found


async def _database() -> list[str]:
    if rows.dialect() != "sqlite":
        return []
    result = await Tortoise.get_connection("default").execute_query_dict("PRAGMA integrity_check")
    status = [next(iter(row.values())) for row in result]
    return [] if status == ["ok"] else [f"SQLite integrity_check: {status}"]
