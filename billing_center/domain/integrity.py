"""The invariants the billing data must always meet (SPEC §4, §7), as one check an operator
can run (`billing-center check`) and the fault and load tests run after their havoc:

- 0 <= assigned <= quantity, and the assigned count is the number of assignment rows;
- each invoice's total is the sum of its lines, 0 <= amount due <= total, the money collected
  on it is total - amount due, and it is PAID exactly when nothing is due;
- charged - credited over invoiced lines equals the sum of invoice totals;
- no subscription was ever credited more than it was charged;
- on SQLite, `PRAGMA integrity_check` is ok.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tortoise import Tortoise
from tortoise.functions import Count

from billing_center.domain import models, rows

ZERO = Decimal("0.00")


async def violations(tenant_id: int | None = None) -> list[str]:
    """Every broken invariant (of one tenant, or of all), described; empty when all hold."""
    found: list[str] = []
    scope = {"tenant_id": tenant_id} if tenant_id is not None else {}
    found += await _licence_counts(scope)
    found += await _money(scope)
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
    collected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for attempt in await models.PaymentAttempt.filter(
            **scope, status=models.PaymentAttemptStatus.SUCCEEDED).values("invoice_id", "amount"):
        collected[attempt["invoice_id"]] += attempt["amount"]
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for invoice in await models.Invoice.filter(**scope).values("id", "tenant_id", "total", "amount_due", "status"):
        totals[invoice["tenant_id"]] += invoice["total"]
        name = f"invoice {invoice['id']}"
        if invoice["total"] != by_invoice[invoice["id"]]:
            found.append(f"{name}: total {invoice['total']} but its lines sum to {by_invoice[invoice['id']]}")
        if not 0 <= invoice["amount_due"] <= invoice["total"]:
            found.append(f"{name}: amount due {invoice['amount_due']} outside 0..{invoice['total']}")
        if collected[invoice["id"]] != invoice["total"] - invoice["amount_due"]:
            found.append(f"{name}: collected {collected[invoice['id']]} but total - due is "
                         f"{invoice['total'] - invoice['amount_due']}")
        if (invoice["status"] == models.InvoiceStatus.PAID) != (invoice["amount_due"] == 0):
            found.append(f"{name}: status {invoice['status'].value} with {invoice['amount_due']} due")
    for tenant in set(charged) | set(credited) | set(totals):
        if charged[tenant] - credited[tenant] != totals[tenant]:
            found.append(f"tenant {tenant}: charged - credited {charged[tenant] - credited[tenant]} but invoices "
                         f"total {totals[tenant]}")
    for subscription_id, (charges, credits) in per_subscription.items():
        if credits > charges:
            found.append(f"subscription {subscription_id}: credited {credits}, charged only {charges}")
    return found


async def _database() -> list[str]:
    if rows.dialect() != "sqlite":
        return []
    result = await Tortoise.get_connection("default").execute_query_dict("PRAGMA integrity_check")
    status = [next(iter(row.values())) for row in result]
    return [] if status == ["ok"] else [f"SQLite integrity_check: {status}"]
