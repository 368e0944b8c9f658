"""runBilling and `billing-center run-billing`: the engine for every live tenant up to now
(SPEC §7), alone or as two processes at once."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from billing_center.domain import models
from billing_center.domain.clock import FixedClock
from tests import factories
from tests.conftest import OPERATOR_TOKEN
from tests.factories import gql

ROOT = Path(__file__).resolve().parents[2]
RUN = """
mutation Run($input: RunBillingInput) {
  runBilling(input: $input) { processed counts { kind count } userErrors { code } }
}
"""


async def test_the_operator_bills_live_tenants_up_to_now_and_leaves_sandboxes_alone(client, clock):
    """§7: runBilling processes every live tenant due up to now; sandbox tenants move only
    with their own clock; a second run for the same moment changes nothing."""
    live = await factories.sign_up(clock, name="Live")
    sandbox = await factories.sign_up(clock, name="Box", sandbox=True)
    for org in (live, sandbox):
        await factories.add_card(org, clock)
        await factories.add_subscription(org, clock, quantity=3)  # term ends in 30 days
    clock.set(clock.now() + timedelta(days=31))

    body = await gql(client, RUN, {"input": {}}, token=OPERATOR_TOKEN)
    payload = body["data"]["runBilling"]
    assert payload["userErrors"] == []
    # Renewed today; charged on the next billing day (the account has none yet: today).
    assert {c["kind"]: c["count"] for c in payload["counts"]} == {
        "RENEWED": 1, "INVOICE_ISSUED": 1, "PAYMENT_SUCCEEDED": 1}
    assert payload["processed"] == 3
    assert await models.Invoice.filter(tenant_id=live.tenant.id, status=models.InvoiceStatus.PAID).count() == 1
    assert await models.InvoiceLine.filter(tenant_id=sandbox.tenant.id).count() == 0

    again = (await gql(client, RUN, {"input": {}}, token=OPERATOR_TOKEN))["data"]["runBilling"]
    assert (again["processed"], again["counts"]) == (0, [])


async def test_only_the_operator_runs_billing(client, clock):
    org = await factories.sign_up(clock)
    body = await gql(client, RUN, {"input": {}}, token=org.token)
    assert body["data"]["runBilling"]["userErrors"] == [{"code": "FORBIDDEN"}]
    body = await gql(client, RUN, {"input": {"tenantId": factories.gid("Tenant", org.tenant.id + 1000)}},
                     token=OPERATOR_TOKEN)
    assert body["data"]["runBilling"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def _billing_process(database_url: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "billing_center.cli", "run-billing", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, err.decode()
    return int(re.search(r"Billing run: (\d+) transitions", out.decode()).group(1)), out.decode()


async def test_two_engine_processes_at_once_never_process_one_item_twice(database, database_url, backend):
    """§7, issue #4: two `run-billing` processes at once on PostgreSQL share the work through
    row locks (FOR UPDATE SKIP LOCKED) and charge leases: every renewal, invoice and charge
    happens exactly once, and their transition counts add up to exactly the work there was."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer process; the concurrent engine is a PostgreSQL feature")
    # Due against the wall clock that the command reads.
    start = datetime.now(UTC) - timedelta(days=45)
    clock = FixedClock(start)
    tenants, per_tenant = 60, 20
    for n in range(tenants):
        org = await factories.sign_up(clock, name=f"Org{n}", charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
        await factories.add_card(org, clock, declines=n % 4 == 0)
        product = await models.Product.get(sku="O365_E1")
        rows = []
        for k in range(per_tenant):
            begins = start + timedelta(days=k % 12, hours=k)
            rows.append(models.Subscription(
                tenant_id=org.tenant.id, billing_account_id=org.account.id, billing_profile_id=org.profile.id,
                product_id=product.id, status=models.SubscriptionStatus.ACTIVE, status_changed_at=begins,
                quantity=1 + k, commitment_term=models.CommitmentTerm.MONTHLY, start_date=begins.date(),
                term_start=begins, term_end=begins + timedelta(days=30), purchase_channel=models.PurchaseChannel.ADMIN,
                unit_price=product.monthly_price, created_at=begins,
                # a few without auto-renew expire instead
                auto_renew=k % 5 != 0,
            ))
        await models.Subscription.bulk_create(rows)
    subscription_ids = await models.Subscription.all().values_list("id", flat=True)
    total_subscriptions = len(subscription_ids)

    (first, _), (second, _) = await asyncio.gather(_billing_process(database_url), _billing_process(database_url))

    renewed = await models.InvoiceLine.filter(kind=models.InvoiceLineKind.RENEWAL).count()
    expired = await models.Subscription.filter(status=models.SubscriptionStatus.EXPIRED).count()
    assert renewed + expired == total_subscriptions
    assert expired == tenants * (per_tenant // 5)
    # one renewal line per renewed subscription, one invoice per profile and charge day
    lines_per_sub = await models.InvoiceLine.filter(kind=models.InvoiceLineKind.RENEWAL).values_list(
        "subscription_id", flat=True)
    assert len(lines_per_sub) == len(set(lines_per_sub))
    invoices = await models.Invoice.all().values("id", "billing_profile_id", "issue_date", "total")
    assert len({(i["billing_profile_id"], i["issue_date"]) for i in invoices}) == len(invoices)
    for invoice in invoices:
        lines = await models.InvoiceLine.filter(invoice_id=invoice["id"]).values_list("amount", flat=True)
        assert sum(lines, Decimal("0")) == invoice["total"]
    # Each try of an invoice is one attempt with its own gateway key; a paid invoice was
    # charged successfully once; declined ones were retried on their days, at most 4 tries.
    attempts = await models.PaymentAttempt.all().values("invoice_id", "status", "gateway_idempotency_key")
    assert len({a["gateway_idempotency_key"] for a in attempts}) == len(attempts)
    paid = {i["id"] for i in invoices if i["total"] > 0} - {
        a["invoice_id"] for a in attempts if a["status"] == models.PaymentAttemptStatus.FAILED}
    succeeded = [a["invoice_id"] for a in attempts if a["status"] == models.PaymentAttemptStatus.SUCCEEDED]
    assert sorted(succeeded) == sorted(paid)
    assert await models.InvoiceLine.filter(invoice_id=None).count() == 0
    # Every item was processed by exactly one of the two processes: their transitions add up
    # to the engine's audit events (one per transition).
    events = await models.AuditEvent.filter(actor_user_id=None).count()
    assert first + second == events
    assert first + second == renewed + expired + len(invoices) + len(attempts) + await models.Subscription.filter(
        status_reason=models.StatusReason.NON_PAYMENT).count()
