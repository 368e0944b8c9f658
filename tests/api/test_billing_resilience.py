"""One caller cannot stop billing for everyone (issue #12, finding 2; RELIABILITY.md A11, A12).

- Every count a caller sets is bounded (1 to 100,000 licences) and so is what one billing
  profile commits to per term (`SPENDING_LIMIT`), so a charge-day document fits its column.
- The engine processes every live tenant set-wise, but a tenant whose day fails is recorded,
  reported (log, `runBilling.failures`, `run-billing` exit status 3) and skipped, and every
  other tenant is renewed, invoiced and charged.
- `advanceClock` does a bounded amount of work per call, says when more remains, and charges
  the caller's rate limit for the work done (finding 10).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from billing_center.domain import models
from billing_center.domain.billing import runs
from tests import factories
from tests.api.test_billing_engine import ADVANCE, at, buy, sandbox
from tests.conftest import OPERATOR_TOKEN
from tests.factories import gid, gql

ROOT = Path(__file__).resolve().parents[2]
RUN = """
mutation Run($input: RunBillingInput) {
  runBilling(input: $input) { processed counts { kind count } failures { tenantId day error } userErrors { code } }
}
"""
UPDATE = """
mutation Update($input: UpdateLicenseQuantityInput!) {
  updateLicenseQuantity(input: $input) { subscription { quantity } userErrors { code field message } }
}
"""
PURCHASE = """
mutation Buy($input: PurchaseSubscriptionInput!) {
  purchaseSubscription(input: $input) { subscription { id } userErrors { code field message } }
}
"""
# Fits a price column, but three licences of it renew for more than any money column holds.
HUGE_PRICE = Decimal("500000000000.00")


async def _due_tenants(clock, names: list[str]) -> list[factories.Org]:
    """Live tenants with a card and a 3-licence monthly subscription that renews in 30 days."""
    orgs = []
    for name in names:
        org = await factories.sign_up(clock, name=name, charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
        await factories.add_card(org, clock)
        await factories.add_subscription(org, clock, sku="O365_E1", quantity=3)
        orgs.append(org)
    return orgs


async def test_a_tenant_whose_day_fails_is_recorded_and_skipped_and_everyone_else_is_billed(client, clock, caplog):
    """A planted profile whose renewal cannot be written (on PostgreSQL the line overflows
    numeric(14, 2); on SQLite the document would not fit its column) used to abort the whole
    run, and every run after it. Now the others renew, are invoiced and are paid."""
    first, bad, last = await _due_tenants(clock, ["First", "Bad", "Last"])
    await models.Subscription.filter(tenant_id=bad.tenant.id).update(unit_price=HUGE_PRICE)
    renewal_day = (clock.now() + timedelta(days=30)).date()
    clock.set(clock.now() + timedelta(days=31))

    with caplog.at_level(logging.ERROR, logger="billing_center.domain.billing.engine"):
        payload = (await gql(client, RUN, {"input": {}}, token=OPERATOR_TOKEN))["data"]["runBilling"]

    assert payload["userErrors"] == []
    assert [(f["tenantId"], f["day"]) for f in payload["failures"]] == [
        (gid("Tenant", bad.tenant.id), renewal_day.isoformat())]
    for org in (first, last):
        # renewed on its day (RENEWAL_DAY: charged the same day) and paid 3 x 10.00
        subscription = await models.Subscription.get(tenant_id=org.tenant.id)
        assert subscription.term_start.date() == renewal_day
        invoices = await models.Invoice.filter(tenant_id=org.tenant.id).values("status", "total")
        assert invoices == [{"status": models.InvoiceStatus.PAID, "total": Decimal("30.00")}]
    assert await models.Invoice.filter(tenant_id=bad.tenant.id).count() == 0
    recorded = await models.BillingFailure.filter(tenant_id=bad.tenant.id).values("day", "error")
    assert [row["day"] for row in recorded] == [renewal_day]
    assert any(f"tenant {bad.tenant.id}" in record.getMessage() for record in caplog.records)

    # The next run tries the tenant again (it still fails) and has nothing else to do.
    again = (await gql(client, RUN, {"input": {}}, token=OPERATOR_TOKEN))["data"]["runBilling"]
    assert [f["tenantId"] for f in again["failures"]] == [gid("Tenant", bad.tenant.id)]
    assert again["processed"] == 0
    assert await models.Invoice.filter(tenant_id__in=[first.tenant.id, last.tenant.id]).count() == 2


async def test_run_billing_lists_a_skipped_tenant_and_exits_with_status_3(database, database_url, clock):
    """The command's output and exit status tell cron (and whoever reads its mail)."""
    start = datetime.now(UTC) - timedelta(days=45)
    clock.set(start)
    good, bad = await _due_tenants(clock, ["Good", "Bad"])
    await models.Subscription.filter(tenant_id=bad.tenant.id).update(unit_price=HUGE_PRICE)
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "billing_center.cli", "run-billing", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 3, err.decode()
    assert f"Skipped tenant {bad.tenant.id} on" in err.decode()
    assert "Billing run:" in out.decode()
    assert await models.Invoice.filter(tenant_id=good.tenant.id, status=models.InvoiceStatus.PAID).count() == 1


async def test_licence_counts_are_bounded_like_purchases(client, clock):
    """updateLicenseQuantity took 2,147,483,647 licences (purchases capped at 100,000)."""
    org = await factories.sign_up(clock)
    subscription = await factories.add_subscription(org, clock, quantity=10)
    for total in (2_147_483_647, 100_001):
        body = await gql(client, UPDATE, {"input": {"subscriptionId": gid("Subscription", subscription.id),
                                                    "totalLicenses": total}}, token=org.token)
        errors = body["data"]["updateLicenseQuantity"]["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", ["input", "totalLicenses"])]
    assert (await models.Subscription.get(id=subscription.id)).quantity == 10
    assert await models.InvoiceLine.filter(tenant_id=org.tenant.id).count() == 0


async def test_a_profile_commits_to_at_most_a_billion_per_term(client, clock):
    """What one profile's subscriptions cost per term together is bounded, so that no
    document can outgrow its column: purchases and increases beyond it are refused with
    SPENDING_LIMIT and write nothing; within it they pass."""
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    # 99,500 licences at 10,050.00 a month: 999,975,000.00 per term already.
    held = await factories.add_subscription(org, clock, quantity=99_500, unit_price=Decimal("10050.00"))
    product = gid("Product", (await models.Product.get(sku="O365_E3")).id)
    lines_before = await models.InvoiceLine.filter(tenant_id=org.tenant.id).count()

    # 100 x 276.00 = 27,600.00 more: over 1,000,000,000.00.
    body = await gql(client, PURCHASE, {"input": {"productId": product, "quantity": 100,
                                                   "commitmentTerm": "ANNUAL"}}, token=org.token)
    errors = body["data"]["purchaseSubscription"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("SPENDING_LIMIT", ["input", "quantity"])]
    # 3 more licences at 10,050.00: 1,000,005,150.00.
    body = await gql(client, UPDATE, {"input": {"subscriptionId": gid("Subscription", held.id),
                                                "totalLicenses": 99_503}}, token=org.token)
    errors = body["data"]["updateLicenseQuantity"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("SPENDING_LIMIT", ["input", "totalLicenses"])]
    assert await models.Subscription.filter(tenant_id=org.tenant.id).count() == 1
    assert (await models.Subscription.get(id=held.id)).quantity == 99_500
    assert await models.InvoiceLine.filter(tenant_id=org.tenant.id).count() == lines_before

    # Within the limit passes: 2 more make 999,995,100.00.
    body = await gql(client, UPDATE, {"input": {"subscriptionId": gid("Subscription", held.id),
                                                "totalLicenses": 99_502}}, token=org.token)
    assert body["data"]["updateLicenseQuantity"]["userErrors"] == []
    assert (await models.Subscription.get(id=held.id)).quantity == 99_502


async def test_advance_clock_does_bounded_work_per_call_and_says_when_more_remains(client, clock):
    """Finding 10: one call on a fresh sandbox tenant ran 10.5 s and wrote 1,036 invoices. Now
    a call stops at the end of the day where its work ran out, moves the clock that far and
    answers complete: false; calls with the same target carry on to it, and the history is
    the one a single unbounded move would make (one renewal per subscription and month)."""
    org = await sandbox(clock, at(2026, 1, 1, 9))
    subscriptions = 40
    for _ in range(subscriptions):
        await buy(client, org, "O365_E1")
    target = at(2026, 12, 31, 12)  # 11 renewals each: 440 of them, plus invoices and charges

    calls, renewals, moments = 0, 0, []
    while True:
        body = await gql(client, ADVANCE, {"input": {"to": target.isoformat()}}, token=org.token)
        payload = body["data"]["advanceClock"]
        assert payload["userErrors"] == []
        calls += 1
        renewals += sum(1 for t in payload["transitions"] if t["kind"] == "RENEWED")
        moments.append(payload["now"])
        assert len(payload["transitions"]) <= runs.MAX_TRANSITIONS_PER_ADVANCE + 4 * subscriptions
        if payload["complete"]:
            break
        # Stopped at the end of a day short of the target, and the clock is there.
        reached = datetime.fromisoformat(payload["now"])
        assert reached < target and (reached + timedelta(microseconds=1)).time().isoformat() == "00:00:00"
        assert (await models.Tenant.get(id=org.tenant.id)).clock_now == reached
    assert calls >= 3 and moments == sorted(moments)
    assert datetime.fromisoformat(moments[-1]) == target
    assert renewals == subscriptions * 11
    assert await models.InvoiceLine.filter(tenant_id=org.tenant.id, kind=models.InvoiceLineKind.RENEWAL).count() == (
        subscriptions * 11)


async def test_advance_clock_charges_the_rate_limit_for_the_work_done(limited, clock):
    """A point per transition: a caller who makes the engine work waits for it afterwards
    (20 points a minute here), while another caller is not affected."""
    org = await sandbox(clock, at(2026, 1, 1, 9))
    for _ in range(25):
        await factories.add_subscription(org, clock, sku="O365_E1", quantity=1, charged=True)
    body = await gql(limited, ADVANCE, {"input": {"to": at(2026, 6, 1).isoformat()}}, token=org.token)
    done = body["data"]["advanceClock"]
    assert done["userErrors"] == [] and len(done["transitions"]) > 100
    refused = await gql(limited, "{ viewer { id } }", token=org.token)
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert refused["errors"][0]["extensions"]["retryAfter"] > 60  # 100+ points owed at 20 a minute
    other = await factories.sign_up(clock, name="Other")
    assert "errors" not in await gql(limited, "{ viewer { id } }", token=other.token)
