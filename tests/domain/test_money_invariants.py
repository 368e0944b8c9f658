"""Money and licence invariants over random histories (SPEC §3, §4, §5, §6, §7; issue #4 item 7).

A stateful property test: each step draws a move that fits the state reached so far and
applies it through the domain services. The single operations: buy, change the licence count,
assign, unassign, cancel, reactivate, turn auto-renew on or off, advance the clock through the
billing engine, swap to a card that fails or one that pays, pay a past-due invoice now. The
longer moves, each a few of those in a row:

- non-payment: the profile's card declines, 8 to 40 days pass (retries 1, 3 and 7 days after
  the first failure, then the cut-off), and a subscription disabled for non-payment is
  reactivated with the good card (MOSA settles the past-due amount first);
- pay, then reactivate: a past-due invoice is paid now, then a disabled subscription is
  reactivated;
- expiry, then reactivation: auto-renew off, the clock passes the term's end (EXPIRED, or
  DISABLED after 30 days), reactivate (MCA: a successor);
- several billing runs on one day: a few hours at a time, to the last second of the day, to
  midnight exactly, or again at the same moment;
- a big decrease: up to 30 licences (bought, or a licence increase), then down to 1;
- self-service: a plain user buys Power BI Pro for themself (a trial or a purchase, with a new
  card that pays or one that declines when charged), while the global admin switches the
  product's self-service policy between ALLOW, TRIALS_ONLY and DENY at random moments;
- a late decrease: more than 7 days into a term (on MCA the decrease is scheduled for the
  renewal), then withdrawn (the current count again) or carried into the renewal.

After every step, and after every part of a longer move, the invariants of
`domain.integrity.violations` must hold on the day the clock stands on:

- 0 <= assigned <= quantity, and the assigned count is the number of assignment rows;
- every document's total is the sum of its lines; what was charged minus what was credited
  equals the sum of the document totals; collected - refunded = invoiced - due;
- an invoice is settled exactly when nothing is due, and never owes more than its total;
- no subscription was ever credited more than it was charged;
- one document per billing profile per charge day, nothing due held back;
- the ledger rule: every licence-day of paid service is paid exactly once.

It is written with `st.data()` rather than a RuleBasedStateMachine because the services are
async on the test's event loop and machine rules are synchronous. CI runs a bounded number
of derandomized histories; `BILLING_PROPERTY_EXAMPLES=1000` runs more (and new ones).
A refusal (DomainError) is a fine outcome of any step; it must leave the invariants intact.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from billing_center.domain import (
    cancellation,
    integrity,
    licenses,
    models,
    policies,
    purchases,
    reactivation,
    subscriptions,
)
from billing_center.domain.actor import Actor
from billing_center.domain.billing import engine, pay_now
from billing_center.domain.billing.scope import Scope, midnight
from billing_center.domain.errors import DomainError
from billing_center.domain.payment_gateway import CardDetails, SandboxGateway
from billing_center.domain.policies import policy_for
from tests import factories
from tests.conftest import START

EXAMPLES = int(os.environ.get("BILLING_PROPERTY_EXAMPLES", "12"))
# CI replays the same histories; a longer local run explores new ones.
DERANDOMIZE = "BILLING_PROPERTY_EXAMPLES" not in os.environ
# Per backend: histories run, steps that succeeded, steps refused, what the engine did.
HISTORIES: Counter[str] = Counter()
SUCCEEDED: defaultdict[str, Counter[str]] = defaultdict(Counter)
REFUSED: defaultdict[str, Counter[str]] = defaultdict(Counter)
ENGINE: defaultdict[str, Counter[str]] = defaultdict(Counter)
SKUS = ["O365_E1", "O365_E3", "M365_BUSINESS_BASIC"]
SELF_SERVICE_SKU = "POWER_BI_PRO"  # self-service, with a trial
PAYS, DECLINES_WHEN_CHARGED = "4242424242424242", "4000000000000341"
_ORGS = itertools.count()

Status = models.SubscriptionStatus


async def check_invariants(tenant_id: int, today) -> None:
    """Every invariant of the module docstring, for one tenant (`domain.integrity`), on the
    day the history's clock stands on."""
    assert await integrity.violations(tenant_id, today) == []


OPERATIONS = ["buy", "quantity", "assign", "unassign", "cancel", "reactivate", "auto_renew", "advance", "card",
              "pay", "non_payment", "pay_then_reactivate", "expire_then_reactivate", "same_day_runs",
              "big_decrease", "self_service", "policy", "late_decrease"]
# The moves that make sense before anything was bought.
OPENING = ["buy", "advance", "same_day_runs", "big_decrease", "self_service", "policy", "non_payment"]


def _name(value: Any) -> str:
    """An enum's value as read from the database (an enum or its text)."""
    return getattr(value, "value", value)


class History:
    """One random history: the organization, its people and cards, the clock and the draws."""

    def __init__(self, org: factories.Org, clock: Any, data: Any, backend: str, good: models.PaymentMethod,
                 bad: models.PaymentMethod, people: list[int], buyer: models.User, products: dict[str, int]):
        self.org, self.clock, self.data, self.backend = org, clock, data, backend
        self.good, self.bad, self.people, self.products = good, bad, people, products
        self.admin = org.actor
        self.buyer = Actor.user(org.tenant.id, buyer.id, buyer.roles)  # a plain user (§6)
        self.gateway = SandboxGateway()
        self.scope = Scope(org.tenant.id, simulated=True)

    # -- the pieces every move is made of

    def draw(self, strategy: st.SearchStrategy, label: str) -> Any:
        return self.data.draw(strategy, label)

    def pick(self, ids: list[int], label: str) -> int | None:
        """One of `ids` by position (ids differ between runs of one history), or None."""
        return ids[self.draw(st.integers(0, 9), label) % len(ids)] if ids else None

    async def attempt(self, name: str, action: Awaitable[Any]) -> tuple[bool, Any]:
        """Run one service call; a refusal is fine. Then the invariants must hold."""
        try:
            result = await action
        except DomainError:
            REFUSED[self.backend][name] += 1
            ok, result = False, None
        else:
            SUCCEEDED[self.backend][name] += 1
            ok = True
        await check_invariants(self.org.tenant.id, self.clock.now().date())
        return ok, result

    async def advance(self, to: datetime, name: str) -> None:
        """Move the clock to `to` (never back) and let the billing engine process up to it."""
        if to > self.clock.now():
            self.clock.set(to)
        ok, done = await self.attempt(name, engine.run(self.scope, self.clock.now(), self.gateway))
        if ok:
            ENGINE[self.backend].update(transition.kind.value for transition in done.transitions)

    async def subscription_ids(self, **filters: Any) -> list[int]:
        return await models.Subscription.filter(tenant_id=self.org.tenant.id, **filters).order_by(
            "id").values_list("id", flat=True)

    async def subscription(self, subscription_id: int) -> dict:
        return (await models.Subscription.filter(id=subscription_id).values(
            "status", "quantity", "term_start", "term_end", "billing_account_id", "billing_account__self_service",
            "billing_account__type"))[0]

    async def actor_for_account(self, account_id: int) -> Actor:
        """The organization's admin, or the buyer for their self-service account."""
        own = await models.BillingAccount.filter(id=account_id, self_service=True).exists()
        return self.buyer if own else self.admin

    async def actor_for(self, subscription_id: int) -> Actor:
        return await self.actor_for_account((await self.subscription(subscription_id))["billing_account_id"])

    async def cards(self, account_id: int) -> list[int]:
        return await models.PaymentMethod.filter(billing_account_id=account_id).order_by("id").values_list(
            "id", flat=True)

    async def good_card(self, account_id: int) -> int | None:
        """A card of the account that pays (the sandbox declines charges to ...0341)."""
        ids = await models.PaymentMethod.filter(billing_account_id=account_id).exclude(last4="0341").order_by(
            "id").values_list("id", flat=True)
        return ids[0] if ids else None

    async def set_profile_card(self, card_id: int) -> None:
        await models.BillingProfile.filter(id=self.org.profile.id).update(payment_method_id=card_id)

    # -- the single operations

    async def buy(self) -> None:
        sku = self.draw(st.sampled_from(SKUS), "sku")
        await self.attempt("buy", purchases.purchase_subscription(self.admin, purchases.PurchaseRequest(
            product_id=self.products[sku], quantity=self.draw(st.integers(1, 5), "licences"),
            commitment_term=self.draw(st.sampled_from(list(models.CommitmentTerm)), "term"),
            trial=self.draw(st.booleans(), "trial") and sku != "O365_E1"), self.clock, self.gateway))

    async def quantity(self, sub: int) -> None:
        await self.attempt("quantity", subscriptions.update_license_quantity(
            await self.actor_for(sub), sub, self.draw(st.integers(1, 8), "licences"), self.clock))

    async def assign(self, sub: int, operation: str) -> None:
        chosen = self.draw(st.sets(st.sampled_from(self.people), min_size=1, max_size=4), "people")
        act = licenses.assign_licenses if operation == "assign" else licenses.unassign_licenses
        await self.attempt(operation, act(await self.actor_for(sub), list(chosen),
                                          licenses.Target(subscription_id=sub), self.clock))

    async def cancel(self, sub: int) -> None:
        await self.attempt("cancel", cancellation.cancel_subscription(
            await self.actor_for(sub), sub, models.CancellationReason.OTHER, None, self.clock))

    async def reactivate(self, sub: int) -> None:
        account = (await self.subscription(sub))["billing_account_id"]
        card = self.pick(await self.cards(account), "card")
        await self.attempt("reactivate", reactivation.reactivate_subscription(
            await self.actor_for(sub), sub, self.clock, self.gateway, payment_method_id=card))

    async def auto_renew(self, sub: int) -> None:
        await self.attempt("auto_renew", subscriptions.set_auto_renew(
            await self.actor_for(sub), sub, self.draw(st.booleans(), "auto-renew"), self.clock))

    async def advance_days(self) -> None:
        await self.advance(self.clock.now() + timedelta(days=self.draw(st.integers(1, 45), "days"),
                                                        hours=self.draw(st.integers(0, 23), "hours")), "advance")

    async def card(self) -> None:
        await self.attempt("card", self.set_profile_card(
            self.draw(st.sampled_from([self.good.id, self.bad.id]), "profile card")))

    async def pay(self, name: str = "pay", good_card: bool = False) -> None:
        past_due = await models.Invoice.filter(tenant_id=self.org.tenant.id, status=models.InvoiceStatus.PAST_DUE
                                               ).order_by("id").values_list("id", "billing_account_id")
        if not past_due:
            return
        invoice, account = past_due[self.draw(st.integers(0, 9), "invoice") % len(past_due)]
        card = await self.good_card(account) if good_card else self.pick(await self.cards(account), "card")
        if card is None:
            return
        await self.attempt(name, pay_now.pay_invoice(await self.actor_for_account(account), invoice, card,
                                                     self.clock, self.gateway))

    # -- the longer moves

    async def non_payment(self) -> None:
        """The card declines until the retries run out (1, 3, 7 days after the first failure),
        then a subscription cut off for non-payment comes back with the good card."""
        await self.attempt("non_payment.declining_card", self.set_profile_card(self.bad.id))
        days = self.draw(st.integers(8, 40), "days of non-payment")
        runs = self.draw(st.integers(1, 3), "billing runs")
        start = self.clock.now()
        for run in range(1, runs + 1):
            await self.advance(start + timedelta(days=days * run / runs), "non_payment.advance")
        cut_off = await self.subscription_ids(status=Status.DISABLED, status_reason=models.StatusReason.NON_PAYMENT,
                                              billing_account_id=self.org.account.id)
        sub = self.pick(cut_off, "cut-off subscription")
        if sub is None:
            if self.draw(st.booleans(), "good card back"):
                await self.set_profile_card(self.good.id)
            return
        await self.attempt("non_payment.reactivate", reactivation.reactivate_subscription(
            self.admin, sub, self.clock, self.gateway, payment_method_id=self.good.id))

    async def pay_then_reactivate(self) -> None:
        await self.pay("pay_then_reactivate.pay", good_card=True)
        sub = self.pick(await self.subscription_ids(status=Status.DISABLED), "disabled subscription")
        if sub is None:
            return
        card = await self.good_card((await self.subscription(sub))["billing_account_id"])
        await self.attempt("pay_then_reactivate.reactivate", reactivation.reactivate_subscription(
            await self.actor_for(sub), sub, self.clock, self.gateway, payment_method_id=card))

    async def expire_then_reactivate(self) -> None:
        """Auto-renew off, past the term's end (EXPIRED; after 30 days DISABLED), reactivate:
        on MCA a successor for the same term starting now."""
        sub = self.pick(await self.subscription_ids(status=Status.ACTIVE), "active subscription")
        if sub is None:
            return
        actor = await self.actor_for(sub)
        await self.attempt("expire_then_reactivate.auto_renew_off",
                           subscriptions.set_auto_renew(actor, sub, False, self.clock))
        row = await self.subscription(sub)
        past = timedelta(hours=self.draw(st.integers(0, 24 * 45), "hours past the term end"))
        await self.advance(max(self.clock.now(), row["term_end"] + past), "expire_then_reactivate.advance")
        row = await self.subscription(sub)
        card = await self.good_card(row["billing_account_id"]) if self.draw(st.booleans(), "name a card") else None
        await self.attempt(f"expire_then_reactivate.reactivate.{_name(row['billing_account__type'])}."
                           f"{_name(row['status'])}",
                           reactivation.reactivate_subscription(actor, sub, self.clock, self.gateway,
                                                                payment_method_id=card))

    async def same_day_runs(self) -> None:
        """Several billing runs within one day, some landing on the day's last second, on
        midnight exactly, or again on the same moment."""
        for _ in range(self.draw(st.integers(2, 5), "runs")):
            now = self.clock.now()
            next_midnight = midnight(now.date() + timedelta(days=1))
            how = self.draw(st.sampled_from(["hours", "hours", "midnight", "last_second", "again"]), "run")
            if how == "hours":
                to = min(now + timedelta(hours=self.draw(st.integers(1, 6), "hours"),
                                         minutes=self.draw(st.integers(0, 59), "minutes")), next_midnight)
            elif how == "midnight":
                to = next_midnight
            elif how == "last_second":
                to = next_midnight - timedelta(seconds=1)
            else:
                to = now
            await self.advance(to, f"same_day.{how}")

    async def big_decrease(self) -> None:
        """Up to 30 licences (a purchase, or an increase), some time, then down to 1."""
        big = self.draw(st.integers(10, 30), "many licences")
        active = await self.subscription_ids(status=Status.ACTIVE)
        gateway = self.gateway if self.draw(st.booleans(), "charge at once") else None
        if not active or self.draw(st.booleans(), "buy them"):
            sku = self.draw(st.sampled_from(SKUS), "sku")
            ok, bought = await self.attempt("big_decrease.buy", purchases.purchase_subscription(
                self.admin, purchases.PurchaseRequest(
                    product_id=self.products[sku], quantity=big,
                    commitment_term=self.draw(st.sampled_from(list(models.CommitmentTerm)), "term")),
                self.clock, self.gateway))
            if not ok:
                return
            sub = bought.subscription_id
        else:
            sub = self.pick(active, "active subscription")
            await self.attempt("big_decrease.increase", subscriptions.update_license_quantity(
                await self.actor_for(sub), sub, big, self.clock, gateway=gateway))
        later = timedelta(hours=self.draw(st.sampled_from([0, 0, 1, 30, 24 * 5, 24 * 10]), "hours later"))
        if later:
            await self.advance(self.clock.now() + later, "big_decrease.advance")
        await self.attempt("big_decrease.to_one", subscriptions.update_license_quantity(
            await self.actor_for(sub), sub, 1, self.clock, gateway=gateway))

    async def self_service(self) -> None:
        """A plain user buys Power BI Pro for themself (§6): a trial, or a purchase, with a
        new card; the policy of the moment decides."""
        trial = self.draw(st.booleans(), "trial")
        number = self.draw(st.sampled_from([PAYS, PAYS, DECLINES_WHEN_CHARGED, None]), "new card")
        card = CardDetails(number, "123", 12, 2099, "Plain Buyer") if number else None
        policy = await policy_for(self.org.tenant.id, self.products[SELF_SERVICE_SKU])
        await self.attempt(f"self_service.{'trial' if trial else 'purchase'}.{policy.value}",
                           purchases.purchase_subscription(self.buyer, purchases.PurchaseRequest(
                               product_id=self.products[SELF_SERVICE_SKU],
                               quantity=self.draw(st.integers(1, 5), "licences"),
                               commitment_term=self.draw(st.sampled_from(list(models.CommitmentTerm)), "term"),
                               new_payment_method=card, trial=trial), self.clock, self.gateway))

    async def policy(self) -> None:
        policy = self.draw(st.sampled_from(list(models.SelfServicePolicy)), "policy")
        await self.attempt(f"policy.{policy.value}", policies.set_self_service_policy(
            self.admin, self.products[SELF_SERVICE_SKU], policy, self.clock))

    async def late_decrease(self) -> None:
        """More than 7 days into a term a decrease (on MCA: scheduled for the renewal, no
        credit), then withdrawn, or carried into the renewal (with seats assigned, maybe)."""
        sub = self.pick(await self.subscription_ids(status=Status.ACTIVE, trial=False), "active subscription")
        if sub is None:
            return
        row = await self.subscription(sub)
        into = row["term_start"] + timedelta(days=7, hours=self.draw(st.integers(1, 24 * 20), "hours past 7 days"))
        if self.clock.now() < into < row["term_end"]:
            await self.advance(into, "late_decrease.advance")
        row = await self.subscription(sub)
        actor = await self.actor_for(sub)
        gateway = self.gateway if self.draw(st.booleans(), "charge at once") else None
        total = self.draw(st.integers(1, max(1, row["quantity"] - 1)), "licences")
        await self.attempt(f"late_decrease.decrease.{_name(row['billing_account__type'])}",
                           subscriptions.update_license_quantity(actor, sub, total, self.clock, gateway=gateway))
        then = self.draw(st.sampled_from(["withdraw", "renewal", "assign_then_renewal", "nothing"]), "then")
        if then == "withdraw":
            await self.attempt("late_decrease.withdraw", subscriptions.update_license_quantity(
                actor, sub, row["quantity"], self.clock, gateway=gateway))
        elif then != "nothing":
            if then == "assign_then_renewal":
                await self.assign(sub, "assign")
            row = await self.subscription(sub)
            past = timedelta(hours=self.draw(st.integers(0, 48), "hours past the renewal"))
            await self.advance(max(self.clock.now(), row["term_end"] + past), "late_decrease.renewal")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_money_and_licences_hold_over_any_history(database, backend, clock, data):
    clock.set(START)  # every history starts at the same moment (the fixture outlives examples)
    HISTORIES[backend] += 1
    account_type = data.draw(st.sampled_from(list(models.BillingAccountType)), "account type")
    schedule = data.draw(st.sampled_from(list(models.ChargeSchedule)), "charge schedule")
    org = await factories.sign_up(clock, name=f"Money{next(_ORGS)}", account_type=account_type, sandbox=True,
                                  charge_schedule=schedule)
    good = await factories.add_card(org, clock)
    bad = await factories.add_card(org, clock, declines=True)
    await factories.add_card(org, clock)  # the profile starts with a card that pays
    people = [(await factories.add_user(org, clock, f"P{i}"))[0].id for i in range(6)]
    buyer, _ = await factories.add_user(org, clock, "Buyer")  # no roles: a plain user
    products = {sku: (await models.Product.get(sku=sku)).id for sku in [*SKUS, SELF_SERVICE_SKU]}
    history = History(org, clock, data, backend, good, bad, people, buyer, products)
    for _ in range(data.draw(st.integers(1, 25), "steps")):
        subs = await history.subscription_ids()
        operation = data.draw(st.sampled_from(OPERATIONS if subs else OPENING), "operation")
        if operation in ("quantity", "assign", "unassign", "cancel", "reactivate", "auto_renew"):
            sub = history.pick(subs, "subscription")
            if operation == "quantity":
                await history.quantity(sub)
            elif operation in ("assign", "unassign"):
                await history.assign(sub, operation)
            elif operation == "cancel":
                await history.cancel(sub)
            elif operation == "reactivate":
                await history.reactivate(sub)
            else:
                await history.auto_renew(sub)
        elif operation == "advance":
            await history.advance_days()
        else:
            await getattr(history, operation)()
        # Every move checks after each of its parts; once more on the step's last moment.
        await check_invariants(org.tenant.id, clock.now().date())


def test_report_what_the_histories_did(backend):
    """Prints how many histories ran and how often each step succeeded or was refused
    (pytest -s), to see the histories are varied."""
    print(f"\n[{backend}] histories run: {HISTORIES[backend]}")
    print(f"[{backend}] succeeded operations:", dict(sorted(SUCCEEDED[backend].items())))
    print(f"[{backend}] refused operations:", dict(sorted(REFUSED[backend].items())))
    print(f"[{backend}] billing engine transitions:", dict(sorted(ENGINE[backend].items())))
