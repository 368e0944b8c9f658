"""Billing-run benchmark (issue #4): one month of billing for N subscriptions.

    .venv/bin/python bench/billing_run.py [--sizes 10000 100000] [--postgres postgres://postgres@127.0.0.1:5432/test]
    .venv/bin/python bench/billing_run.py --sizes 1000000 --postgres-only --postgres postgres://...

For each size N and database, builds N monthly subscriptions across N/100 live tenants
(bought through January 2026 on days spread over the month; half the accounts charge on
their billing day, half on the renewal day; 1 account in 20 has a card that declines; 1
subscription in 10 has auto-renew off), then runs the engine as a daily job would, at the end of
each day of February, and prints the seconds, subscriptions per second and what
the month produced. Growth should be linear: the ratio line compares the largest size with
the smallest. Data is written with bulk inserts; only the engine is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.config import sqlite_url  # noqa: E402
from billing_center.domain import models  # noqa: E402
from billing_center.domain.billing import engine  # noqa: E402
from billing_center.domain.billing.scope import LIVE  # noqa: E402
from billing_center.domain.catalogue import load_catalogue  # noqa: E402
from billing_center.domain.clock import FixedClock  # noqa: E402
from billing_center.domain.payment_gateway import SandboxGateway  # noqa: E402

PER_TENANT = 100
START = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 2000


async def build(size: int) -> None:
    """N subscriptions across N/100 tenants, written in bulk."""
    await load_catalogue()
    product = await models.Product.get(sku="O365_E3")
    tenants = size // PER_TENANT
    await models.Tenant.bulk_create([
        models.Tenant(name=f"Tenant {t}", cloud=models.Cloud.WORLDWIDE, created_at=START) for t in range(tenants)
    ], batch_size=BATCH)
    tenant_ids = await models.Tenant.all().order_by("id").values_list("id", flat=True)
    await models.User.bulk_create([
        models.User(tenant_id=tid, display_name="Admin", email=f"admin{tid}@bench.example",
                    roles=[models.Role.GLOBAL_ADMIN], created_at=START) for tid in tenant_ids
    ], batch_size=BATCH)
    owners = dict(await models.User.all().values_list("tenant_id", "id"))
    await models.BillingAccount.bulk_create([
        models.BillingAccount(
            tenant_id=tid, name="Main", type=models.BillingAccountType.MCA, owner_id=owners[tid],
            billing_day=1 + n % 28,
            charge_schedule=(models.ChargeSchedule.ACCOUNT_BILLING_DAY if n % 2 else models.ChargeSchedule.RENEWAL_DAY),
            created_at=START)
        for n, tid in enumerate(tenant_ids)
    ], batch_size=BATCH)
    accounts = dict(await models.BillingAccount.all().values_list("tenant_id", "id"))
    await models.PaymentMethod.bulk_create([
        models.PaymentMethod(
            tenant_id=tid, billing_account_id=accounts[tid], brand="VISA", last4="4242", expiry_month=12,
            expiry_year=2030, name_on_card="Bench",
            gateway_token="tok_sandbox_chargefail_b" if n % 20 == 0 else f"tok_sandbox_ok_{n}", created_at=START)
        for n, tid in enumerate(tenant_ids)
    ], batch_size=BATCH)
    cards = dict(await models.PaymentMethod.all().values_list("tenant_id", "id"))
    await models.BillingProfile.bulk_create([
        models.BillingProfile(tenant_id=tid, billing_account_id=accounts[tid], name="Main",
                              payment_method_id=cards[tid], created_at=START)
        for tid in tenant_ids
    ], batch_size=BATCH)
    profiles = dict(await models.BillingProfile.all().values_list("tenant_id", "id"))
    rows = []
    for n, tid in enumerate(tenant_ids):
        for k in range(PER_TENANT):
            begins = START + timedelta(days=(n + k) % 31, hours=k % 24)
            ends = begins.replace(month=2) if begins.day <= 28 else datetime(2026, 2, 28, begins.hour, tzinfo=UTC)
            rows.append(models.Subscription(
                tenant_id=tid, billing_account_id=accounts[tid], billing_profile_id=profiles[tid],
                product_id=product.id, status=models.SubscriptionStatus.ACTIVE, status_changed_at=begins,
                quantity=1 + k % 25, commitment_term=models.CommitmentTerm.MONTHLY, auto_renew=k % 10 != 0,
                start_date=begins.date(), term_start=begins, term_end=ends,
                purchase_channel=models.PurchaseChannel.ADMIN, unit_price=product.monthly_price,
                created_at=begins))
        if len(rows) >= BATCH * 5:
            await models.Subscription.bulk_create(rows, batch_size=BATCH)
            rows = []
    if rows:
        await models.Subscription.bulk_create(rows, batch_size=BATCH)


async def one_month() -> tuple[float, int]:
    """Daily runs at the end of each day of February; the seconds they took and their transitions."""
    gateway = SandboxGateway()
    transitions = 0
    started = time.perf_counter()
    for day in range(1, 29):
        moment = datetime(2026, 2, day, 23, 59, 59, tzinfo=UTC)
        done = await engine.run(LIVE, moment, gateway, lease_clock=FixedClock(moment), isolate=True)
        transitions += len(done.transitions)
    return time.perf_counter() - started, transitions


async def measure(url: str, size: int) -> dict:
    await db.migrate_db(url)
    await db.init_db(url)
    try:
        await build(size)
        seconds, transitions = await one_month()
        renewed = await models.InvoiceLine.filter(kind=models.InvoiceLineKind.RENEWAL).count()
        expired = await models.Subscription.filter(status=models.SubscriptionStatus.EXPIRED).count()
        invoices = await models.Invoice.all().count()
        paid = await models.Invoice.filter(status=models.InvoiceStatus.PAID).count()
        past_due = await models.Invoice.filter(status=models.InvoiceStatus.PAST_DUE).count()
        billed = sum(await models.Invoice.all().values_list("total", flat=True), Decimal("0"))
    finally:
        await db.close_db()
    assert renewed + expired == size, (renewed, expired, size)
    return {"seconds": seconds, "per_second": size / seconds, "transitions": transitions, "renewed": renewed,
            "expired": expired, "invoices": invoices, "paid": paid, "past_due": past_due, "billed": billed}


async def postgres_database(server: str) -> str:
    admin = await asyncpg.connect(server.replace("postgres://", "postgresql://"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS billing_bench_run WITH (FORCE)")
        await admin.execute("CREATE DATABASE billing_bench_run")
    finally:
        await admin.close()
    return server.rsplit("/", 1)[0] + "/billing_bench_run"


async def main_async(args: argparse.Namespace) -> None:
    results: dict[tuple[str, int], dict] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as directory:
            targets = [("sqlite", sqlite_url(Path(directory) / "bench.db"))] if not args.postgres_only else []
            if args.postgres:
                targets.append(("postgres", await postgres_database(args.postgres)))
            for name, url in targets:
                result = await measure(url, size)
                results[(name, size)] = result
                print(f"{name:8} N={size:>7}: {result['seconds']:7.1f} s  {result['per_second']:8.0f} subscriptions/s  "
                      f"renewed {result['renewed']}, expired {result['expired']}, invoices {result['invoices']} "
                      f"(paid {result['paid']}, past due {result['past_due']}), billed {result['billed']} USD, "
                      f"{result['transitions']} transitions", flush=True)
    smallest, largest = min(args.sizes), max(args.sizes)
    for name in ("sqlite", "postgres"):
        if (name, smallest) in results and (name, largest) in results and largest != smallest:
            growth = results[(name, largest)]["seconds"] / results[(name, smallest)]["seconds"]
            print(f"{name:8} time ratio N={largest}/N={smallest}: {growth:.2f} (linear: {largest / smallest:.0f})")
    for size in args.sizes:
        if ("sqlite", size) in results and ("postgres", size) in results:
            ratio = results[("postgres", size)]["seconds"] / results[("sqlite", size)]["seconds"]
            print(f"N={size}: PostgreSQL takes {ratio:.2f}x the time of SQLite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (database billing_bench_run is created)")
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite (e.g. for --sizes 1000000)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
