"""Money and licence invariants over random histories (SPEC §3, §4, §5, §7; issue #4 item 7).

A stateful property test: each step draws an operation that fits the state reached so far
(buy, change the licence count, assign, unassign, cancel, reactivate, turn auto-renew on or
off, advance the clock through the billing engine, swap to a card that fails or one that
pays, pay a past-due invoice now) and applies it through the domain services; after every
step the invariants must hold:

- 0 <= assigned <= quantity, and the assigned count is the number of assignment rows;
- every invoice total is the sum of its lines, and what was charged minus what was credited
  on invoices equals the sum of the invoice totals;
- what was collected on an invoice (successful payment attempts) is its total minus what is
  still due; an invoice is PAID exactly when nothing is due, and never owes more than its total;
- no subscription was ever credited more than it was charged.

It is written with `st.data()` rather than a RuleBasedStateMachine because the services are
async on the test's event loop and machine rules are synchronous. CI runs a bounded number
of derandomized histories; `BILLING_PROPERTY_EXAMPLES=300` runs more.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from billing_center.domain import (
    cancellation,
    integrity,
    licenses,
    models,
    purchases,
    reactivation,
    subscriptions,
)
from billing_center.domain.billing import engine, pay_now
from billing_center.domain.billing.scope import Scope
from billing_center.domain.errors import DomainError
from billing_center.domain.payments import SandboxGateway
from tests import factories
from tests.conftest import START

EXAMPLES = int(os.environ.get("BILLING_PROPERTY_EXAMPLES", "12"))
# CI replays the same histories; a longer local run explores new ones.
DERANDOMIZE = "BILLING_PROPERTY_EXAMPLES" not in os.environ
SUCCEEDED: Counter[str] = Counter()
SKUS = ["O365_E1", "O365_E3", "M365_BUSINESS_BASIC"]
_ORGS = itertools.count()


async def check_invariants(tenant_id: int, today) -> None:
    """Every invariant of the module docstring, for one tenant (`domain.integrity`), on the
    day the history's clock stands on."""
    assert await integrity.violations(tenant_id, today) == []


OPERATIONS = ["buy", "quantity", "assign", "unassign", "cancel", "reactivate", "auto_renew", "advance", "card",
              "pay"]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_money_and_licences_hold_over_any_history(database, clock, data):
    clock.set(START)  # every history starts at the same moment (the fixture outlives examples)
    account_type = data.draw(st.sampled_from(list(models.BillingAccountType)), "account type")
    schedule = data.draw(st.sampled_from(list(models.ChargeSchedule)), "charge schedule")
    org = await factories.sign_up(clock, name=f"Money{next(_ORGS)}", account_type=account_type, sandbox=True,
                                  charge_schedule=schedule)
    good = await factories.add_card(org, clock)
    bad = await factories.add_card(org, clock, declines=True)
    await factories.add_card(org, clock)  # the profile starts with a card that pays
    people = [(await factories.add_user(org, clock, f"P{i}"))[0].id for i in range(6)]
    products = {sku: (await models.Product.get(sku=sku)).id for sku in SKUS}
    gateway = SandboxGateway()
    actor = org.actor
    for _ in range(data.draw(st.integers(1, 25), "steps")):
        subs = await models.Subscription.filter(tenant_id=org.tenant.id).order_by("id").values_list("id", flat=True)
        operation = data.draw(st.sampled_from(OPERATIONS if subs else ["buy", "advance"]), "operation")
        # Draw positions, not ids: ids differ between runs of one history.
        sub = subs[data.draw(st.integers(0, 9), "subscription") % len(subs)] if subs and operation not in (
            "buy", "advance", "card", "pay") else None
        try:
            if operation == "buy":
                sku = data.draw(st.sampled_from(SKUS))
                await purchases.purchase_subscription(actor, purchases.PurchaseRequest(
                    product_id=products[sku], quantity=data.draw(st.integers(1, 5)),
                    commitment_term=data.draw(st.sampled_from(list(models.CommitmentTerm))),
                    trial=data.draw(st.booleans()) and sku != "O365_E1"), clock, gateway)
            elif operation == "quantity":
                await subscriptions.update_license_quantity(actor, sub, data.draw(st.integers(1, 8)), clock)
            elif operation in ("assign", "unassign"):
                chosen = data.draw(st.sets(st.sampled_from(people), min_size=1, max_size=4))
                act = licenses.assign_licenses if operation == "assign" else licenses.unassign_licenses
                await act(actor, list(chosen), licenses.Target(subscription_id=sub), clock)
            elif operation == "cancel":
                await cancellation.cancel_subscription(actor, sub, models.CancellationReason.OTHER, None, clock)
            elif operation == "reactivate":
                await reactivation.reactivate_subscription(actor, sub, clock, gateway,
                                                           payment_method_id=data.draw(st.sampled_from([good.id, bad.id])))
            elif operation == "auto_renew":
                await subscriptions.set_auto_renew(actor, sub, data.draw(st.booleans()), clock)
            elif operation == "advance":
                clock.set(clock.now() + timedelta(days=data.draw(st.integers(1, 45)), hours=data.draw(st.integers(0, 23))))
                await engine.run(Scope(org.tenant.id, simulated=True), clock.now(), gateway)
            elif operation == "card":
                await models.BillingProfile.filter(id=org.profile.id).update(
                    payment_method_id=data.draw(st.sampled_from([good.id, bad.id])))
            else:
                past_due = await models.Invoice.filter(tenant_id=org.tenant.id, status=models.InvoiceStatus.PAST_DUE
                                                       ).order_by("id").values_list("id", flat=True)
                if past_due:
                    await pay_now.pay_invoice(actor, past_due[data.draw(st.integers(0, 9)) % len(past_due)],
                                               data.draw(st.sampled_from([good.id, bad.id])), clock, gateway)
        except DomainError:
            pass  # a refusal is fine; it must leave the invariants intact
        else:
            SUCCEEDED[operation] += 1
        await check_invariants(org.tenant.id, clock.now().date())


def test_report_what_the_histories_did():
    """Prints how often each operation succeeded (pytest -s), to see the histories are varied."""
    print("succeeded operations:", dict(sorted(SUCCEEDED.items())))
