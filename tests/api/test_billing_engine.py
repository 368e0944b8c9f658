"""The billing engine through advanceClock on sandbox tenants (SPEC §3, §5, §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql, pk

ADVANCE = """
mutation Advance($input: AdvanceClockInput!) {
  advanceClock(input: $input) {
    now
    complete
    transitions { at kind description subscription { id status } invoice { id number status } }
    userErrors { code field message }
  }
}
"""
PURCHASE = """
mutation Buy($input: PurchaseSubscriptionInput!) {
  purchaseSubscription(input: $input) { subscription { id } invoice { status } userErrors { code message } }
}
"""
SUBSCRIPTION = """
query Sub($id: ID!) {
  node(id: $id) { ... on Subscription { status statusReason termStart termEnd nextChargeDate disabledUntil
    licenseAssignments { edges { node { state } } } } }
}
"""
ACCOUNT = """
{ billingAccounts { outstandingBalance { amount } pastDueBalance { amount } creditBalance { amount } } }
"""


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def advance(client, org, to: datetime) -> dict:
    """advanceClock to `to`, calling again while the work per call runs out first; the
    transitions of every call, in order."""
    transitions: list[dict] = []
    while True:
        body = await gql(client, ADVANCE, {"input": {"to": to.isoformat()}}, token=org.token)
        assert "errors" not in body, body
        payload = body["data"]["advanceClock"]
        transitions += payload["transitions"]
        if payload["complete"] or payload["userErrors"]:
            return {**payload, "transitions": transitions}


async def buy(client, org, sku: str, quantity: int = 1, term: str = "MONTHLY", **extra) -> int:
    product = gid("Product", (await models.Product.get(sku=sku)).id)
    body = await gql(client, PURCHASE, {"input": {"productId": product, "quantity": quantity,
                                                   "commitmentTerm": term, **extra}}, token=org.token)
    payload = body["data"]["purchaseSubscription"]
    assert payload["userErrors"] == [], payload
    return pk(payload["subscription"]["id"])


async def sandbox(clock, start: datetime, **options) -> factories.Org:
    """A sandbox tenant whose clock starts at `start`, with a card that pays."""
    clock.set(start)
    org = await factories.sign_up(clock, sandbox=True, **options)
    await factories.add_card(org, clock)
    return org


def kinds(payload: dict) -> list[str]:
    return [t["kind"] for t in payload["transitions"]]


async def test_the_articles_example_renews_on_its_day_and_is_charged_on_the_billing_day(client, clock):
    """§7 ACCOUNT_BILLING_DAY: billing day 25; a monthly subscription bought 1 September
    renews 1 October, is outstanding from then, and is charged on 25 October."""
    org = await sandbox(clock, at(2026, 7, 25, 9))
    first = await buy(client, org, "O365_E1")  # the first purchase sets billing day 25
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day == 25
    await advance(client, org, at(2026, 9, 1, 9))
    bought = await buy(client, org, "O365_E3", quantity=5)

    payload = await advance(client, org, at(2026, 10, 1, 12))
    renewal = [t for t in payload["transitions"] if t["subscription"] and pk(t["subscription"]["id"]) == bought]
    assert [t["kind"] for t in renewal] == ["RENEWED"]
    assert renewal[0]["at"] == "2026-10-01T09:00:00+00:00"
    line = await models.InvoiceLine.get(subscription_id=bought, kind=models.InvoiceLineKind.RENEWAL)
    assert (str(line.period_start), str(line.period_end), str(line.charge_on)) == ("2026-10-01", "2026-11-01", "2026-10-25")
    assert line.invoice_id is None  # outstanding from the renewal on

    await advance(client, org, at(2026, 10, 24, 23))
    assert (await models.InvoiceLine.get(id=line.id)).invoice_id is None
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["outstandingBalance"] == {"amount": "115.00"}

    payload = await advance(client, org, at(2026, 10, 26))
    assert kinds(payload) == ["RENEWED", "INVOICE_ISSUED", "PAYMENT_SUCCEEDED"]
    invoice = await models.Invoice.get(id=(await models.InvoiceLine.get(id=line.id)).invoice_id)
    assert str(invoice.issue_date) == "2026-10-25"
    # Everything renewed between two billing days is on one invoice: E3 (1 Oct) and E1 (25 Oct).
    lines = await models.InvoiceLine.filter(invoice_id=invoice.id).order_by("period_start").values_list(
        "subscription_id", "amount")
    assert lines == [(bought, Decimal("115.00")), (first, Decimal("10.00"))]
    assert (invoice.status, invoice.total, invoice.amount_due) == (models.InvoiceStatus.PAID, Decimal("125.00"), 0)
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["outstandingBalance"] == {"amount": "0.00"}


async def test_renewal_day_schedule_renews_and_charges_on_the_same_day(client, clock):
    """§7 RENEWAL_DAY: the subscription renews and is charged on the same day."""
    org = await sandbox(clock, at(2026, 1, 10, 8), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=2)
    payload = await advance(client, org, at(2026, 2, 10, 20))
    assert kinds(payload) == ["RENEWED"]  # the charge day closes when it is over
    payload = await advance(client, org, at(2026, 2, 11))
    assert kinds(payload) == ["INVOICE_ISSUED", "PAYMENT_SUCCEEDED"]
    assert payload["transitions"][1]["at"] == "2026-02-10T23:59:59+00:00"
    line = await models.InvoiceLine.get(subscription_id=bought, kind=models.InvoiceLineKind.RENEWAL)
    invoice = await models.Invoice.get(id=line.invoice_id)
    assert (str(line.charge_on), str(invoice.issue_date), invoice.status) == ("2026-02-10", "2026-02-10",
                                                                              models.InvoiceStatus.PAID)
    assert "46.00" in line.explanation and "23.00 USD x 2 licence(s)" in line.explanation


async def test_renewal_dates_keep_the_day_the_subscription_started(client, clock):
    """§7: a subscription bought on the 31st renews on the last day of shorter months and on
    the 31st again afterwards; its billing day is clamped the same way."""
    org = await sandbox(clock, at(2027, 1, 31, 10), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E1")
    await advance(client, org, at(2027, 5, 1))
    ends = [(str(s), str(e)) for s, e in await models.InvoiceLine.filter(subscription_id=bought).order_by(
        "period_start").values_list("period_start", "period_end")]
    assert ends == [("2027-01-31", "2027-02-28"), ("2027-02-28", "2027-03-31"), ("2027-03-31", "2027-04-30"),
                    ("2027-04-30", "2027-05-31")]


async def test_a_term_without_auto_renew_expires_then_is_disabled_then_deleted(client, clock):
    """§3: term end with auto-renew off → EXPIRED for 30 days (users keep working) →
    DISABLED for 90 days (assignments suspended) → DELETED."""
    org = await sandbox(clock, at(2026, 3, 1, 10))
    user, _ = await factories.add_user(org, clock, "Ann")
    bought = await buy(client, org, "O365_E3", quantity=2)
    await models.Subscription.filter(id=bought).update(auto_renew=False)
    await models.LicenseAssignment.create(tenant_id=org.tenant.id, subscription_id=bought, user_id=user.id,
                                          product_id=(await models.Subscription.get(id=bought)).product_id,
                                          assigned_at=clock.now())
    await models.Subscription.filter(id=bought).update(assigned_count=1)
    sub_id = gid("Subscription", bought)

    payload = await advance(client, org, at(2026, 4, 2))
    assert kinds(payload) == ["EXPIRED"]
    node = (await gql(client, SUBSCRIPTION, {"id": sub_id}, token=org.token))["data"]["node"]
    assert (node["status"], node["statusReason"]) == ("EXPIRED", "TERM_ENDED")
    assert node["licenseAssignments"]["edges"][0]["node"]["state"] == "ACTIVE"  # users keep working

    payload = await advance(client, org, at(2026, 5, 1, 9, 59))
    assert kinds(payload) == []  # 30 days after 1 April 10:00 is 1 May 10:00
    payload = await advance(client, org, at(2026, 5, 1, 10))
    assert kinds(payload) == ["DISABLED"]
    node = (await gql(client, SUBSCRIPTION, {"id": sub_id}, token=org.token))["data"]["node"]
    assert node["status"] == "DISABLED"
    assert node["disabledUntil"] == "2026-07-30T10:00:00+00:00"
    assert node["licenseAssignments"]["edges"][0]["node"]["state"] == "SUSPENDED"

    payload = await advance(client, org, at(2026, 7, 30, 10))
    assert kinds(payload) == ["DELETED"]
    sub = await models.Subscription.get(id=bought)
    assert (sub.status, sub.deleted_at) == (models.SubscriptionStatus.DELETED, at(2026, 7, 30, 10))
    assert await models.InvoiceLine.filter(subscription_id=bought).count() == 1  # never renewed


async def test_a_trial_converts_to_paid_with_auto_renew_and_a_card(client, clock):
    """§5 Trials: at its end a trial converts to paid, charged like a renewal."""
    org = await sandbox(clock, at(2026, 11, 21, 10))
    trial = await buy(client, org, "O365_E3", quantity=3, trial=True)
    assert await models.InvoiceLine.filter(subscription_id=trial).count() == 0
    payload = await advance(client, org, at(2026, 12, 22))
    assert kinds(payload) == ["TRIAL_CONVERTED", "INVOICE_ISSUED", "PAYMENT_SUCCEEDED"]
    sub = await models.Subscription.get(id=trial)
    assert (sub.trial, sub.term_start, sub.term_end) == (False, at(2026, 12, 21, 10), at(2027, 1, 21, 10))
    line = await models.InvoiceLine.get(subscription_id=trial)
    assert (line.kind, line.amount) == (models.InvoiceLineKind.RENEWAL, Decimal("69.00"))


async def test_a_trial_without_a_payment_method_expires(client, clock):
    """§5 Trials: without a payment method (or with auto-renew off) the trial expires."""
    clock.set(at(2026, 11, 21, 10))
    org = await factories.sign_up(clock, sandbox=True)
    trial = await buy(client, org, "O365_E3", quantity=3, trial=True)
    payload = await advance(client, org, at(2026, 12, 22))
    assert kinds(payload) == ["EXPIRED"]
    assert "trial ended" in payload["transitions"][0]["description"]
    assert (await models.Subscription.get(id=trial)).status == models.SubscriptionStatus.EXPIRED
    assert await models.Invoice.all().count() == 0


async def test_failed_charges_are_retried_after_1_3_and_7_days_then_the_subscription_is_disabled(client, clock):
    """§7 dunning: a failed charge is retried 1, 3 and 7 days after the first failure; when
    the last retry fails the subscription is DISABLED with NON_PAYMENT and users lose the
    service. Each try reaches the gateway with its own key."""
    org = await sandbox(clock, at(2026, 1, 5, 10), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    user, _ = await factories.add_user(org, clock, "Ann")
    bought = await buy(client, org, "O365_E3", quantity=2)
    await models.LicenseAssignment.create(tenant_id=org.tenant.id, subscription_id=bought, user_id=user.id,
                                          product_id=(await models.Subscription.get(id=bought)).product_id,
                                          assigned_at=clock.now())
    await models.Subscription.filter(id=bought).update(assigned_count=1)
    await factories.add_card(org, clock, declines=True)

    payload = await advance(client, org, at(2026, 2, 6))
    assert kinds(payload) == ["RENEWED", "INVOICE_ISSUED", "PAYMENT_FAILED"]
    invoice = await models.Invoice.get(status=models.InvoiceStatus.PAST_DUE)
    assert (str(invoice.first_failed_on), str(invoice.next_attempt_on)) == ("2026-02-05", "2026-02-06")
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["pastDueBalance"] == {"amount": "46.00"}

    tries = []
    for day in (6, 7, 8, 9, 10, 11, 12, 13):
        payload = await advance(client, org, at(2026, 2, day + 1))  # day is over
        tries += [(day, kind) for kind in kinds(payload)]
    assert tries == [(6, "PAYMENT_FAILED"), (8, "PAYMENT_FAILED"), (12, "PAYMENT_FAILED"),
                     (12, "DISABLED_FOR_NON_PAYMENT")]
    attempts = await models.PaymentAttempt.filter(invoice_id=invoice.id).order_by("id").values_list(
        "gateway_idempotency_key", "status")
    assert attempts == [(f"invoice-{invoice.id}-try-{n}", models.PaymentAttemptStatus.FAILED) for n in (1, 2, 3, 4)]
    node = (await gql(client, SUBSCRIPTION, {"id": gid("Subscription", bought)}, token=org.token))["data"]["node"]
    assert (node["status"], node["statusReason"]) == ("DISABLED", "NON_PAYMENT")
    assert node["licenseAssignments"]["edges"][0]["node"]["state"] == "SUSPENDED"
    # §7 rev. 2: service ended on 12 February, so the days from then to 5 March are credited
    # against the past-due invoice: 23.00 x 2 x 21/28 = 34.50; it asks 46.00 - 34.50 = 11.50
    # for the 7 days served (5 to 11 February).
    cut = await models.Invoice.get(id=invoice.id)
    assert (cut.next_attempt_on, cut.status, cut.total, cut.amount_due) == (
        None, models.InvoiceStatus.PAST_DUE, Decimal("11.50"), Decimal("11.50"))
    credit = await models.InvoiceLine.get(invoice_id=invoice.id, kind=models.InvoiceLineKind.PRORATED_CREDIT)
    assert (credit.amount, str(credit.period_start), str(credit.period_end), credit.quantity) == (
        Decimal("-34.50"), "2026-02-12", "2026-03-05", 2)
    # Nothing more is tried, and a disabled subscription does not renew.
    payload = await advance(client, org, at(2026, 4, 1))
    assert kinds(payload) == []


async def test_a_new_card_during_dunning_pays_at_the_next_retry(client, clock):
    """§7: the retry charges the profile's current payment method."""
    org = await sandbox(clock, at(2026, 1, 5, 10), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E1")
    await factories.add_card(org, clock, declines=True)
    await advance(client, org, at(2026, 2, 6))
    await factories.add_card(org, clock)
    payload = await advance(client, org, at(2026, 2, 7))
    assert kinds(payload) == ["PAYMENT_SUCCEEDED"]
    invoice = await models.Invoice.get(billing_profile_id=org.profile.id, issue_date="2026-02-05")
    assert (invoice.status, invoice.amount_due, invoice.next_attempt_on) == (models.InvoiceStatus.PAID, 0, None)
    assert (await models.Subscription.get(id=bought)).status == models.SubscriptionStatus.ACTIVE


async def test_paying_a_past_due_invoice_now_stops_the_retries(client, clock):
    """§7 "pay now": a past-due invoice paid at once is not retried."""
    org = await sandbox(clock, at(2026, 1, 5, 10), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    await buy(client, org, "O365_E1")
    await factories.add_card(org, clock, declines=True)
    await advance(client, org, at(2026, 2, 6))
    good = await factories.add_card(org, clock)
    invoice = await models.Invoice.get(status=models.InvoiceStatus.PAST_DUE)
    body = await gql(client, """mutation P($input: PayInvoiceInput!) { payInvoice(input: $input) {
        invoice { status } userErrors { code } } }""",
                     {"input": {"invoiceId": gid("Invoice", invoice.id), "paymentMethodId": gid("PaymentMethod", good.id)}},
                     token=org.token)
    assert body["data"]["payInvoice"] == {"invoice": {"status": "PAID"}, "userErrors": []}
    payload = await advance(client, org, at(2026, 2, 20))
    assert kinds(payload) == []
    assert await models.PaymentAttempt.filter(invoice_id=invoice.id).count() == 2


async def test_a_cancellation_credit_with_no_charges_that_day_is_refunded_on_a_credit_note(client, clock):
    """§5 rev. 2 "the credit always reaches the customer": under RENEWAL_DAY a credit is due
    the day it is given; with no charges that day to net it against, that day's document is
    a credit note and its amount is refunded to the card the same day."""
    org = await sandbox(clock, at(2026, 1, 10, 10), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    keep = await buy(client, org, "O365_E3", quantity=2)
    await advance(client, org, at(2026, 1, 20, 10))
    cancel = await buy(client, org, "O365_E1", quantity=3)  # 30.00, 20 January to 20 February
    await advance(client, org, at(2026, 1, 25, 10))
    body = await gql(client, """mutation C($input: CancelSubscriptionInput!) { cancelSubscription(input: $input) {
        credit { amount } userErrors { code } } }""",
                     {"input": {"subscriptionId": gid("Subscription", cancel), "reason": "NOT_USING"}}, token=org.token)
    # 10.00 x 3 x 26/31 days (25 January to 20 February) = 25.161... -> 25.16
    assert body["data"]["cancelSubscription"]["credit"] == {"amount": "25.16"}
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["creditBalance"] == {"amount": "25.16"}

    payload = await advance(client, org, at(2026, 1, 26))
    assert kinds(payload) == ["CREDIT_NOTE_ISSUED", "REFUND_SUCCEEDED"]
    note = await models.Invoice.get(kind=models.InvoiceKind.CREDIT_NOTE)
    assert (str(note.issue_date), note.total, note.amount_due, note.status) == (
        "2026-01-25", Decimal("-25.16"), Decimal("0.00"), models.InvoiceStatus.PAID)
    refund = await models.PaymentAttempt.get(invoice_id=note.id)
    assert (refund.kind, refund.amount, refund.status) == (
        models.PaymentAttemptKind.REFUND, Decimal("25.16"), models.PaymentAttemptStatus.SUCCEEDED)
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["creditBalance"] == {"amount": "0.00"}
    # keep's renewal on 10 February is charged in full: the credit was returned already.
    await advance(client, org, at(2026, 2, 11))
    renewal = await models.InvoiceLine.get(subscription_id=keep, kind=models.InvoiceLineKind.RENEWAL)
    assert (await models.Invoice.get(id=renewal.invoice_id)).total == Decimal("46.00")


async def test_running_twice_for_the_same_moment_changes_nothing(client, clock):
    """§7: running the engine twice for one moment changes nothing the second time."""
    org = await sandbox(clock, at(2026, 1, 5, 10))
    await buy(client, org, "O365_E3", quantity=2)
    await buy(client, org, "O365_E1", quantity=1, trial=False)
    await advance(client, org, at(2026, 3, 1))

    async def snapshot():
        return [await model.all().count() for model in (models.Invoice, models.InvoiceLine, models.PaymentAttempt,
                                                        models.AuditEvent)] + [
            sorted(await models.Subscription.all().values_list("id", "version", "term_end"))]

    before = await snapshot()
    payload = await advance(client, org, at(2026, 3, 1))
    assert payload["transitions"] == []
    assert await snapshot() == before


async def test_one_jump_and_daily_steps_give_the_same_history(client, clock):
    """§7: the engine processes what is due day by day, so advancing once by three months
    gives the invoices that ninety daily runs give."""
    histories = []
    for name, step in (("Jumper", None), ("Stepper", timedelta(days=1))):
        clock.set(at(2026, 1, 31, 10))
        org = await factories.sign_up(clock, name=name, sandbox=True)
        await factories.add_card(org, clock)
        await buy(client, org, "O365_E3", quantity=2)
        await advance(client, org, at(2026, 2, 15, 10))
        await buy(client, org, "O365_E1", quantity=4)
        end = at(2026, 5, 10)
        if step is None:
            await advance(client, org, end)
        else:
            moment = at(2026, 2, 15, 10)
            while moment < end:
                moment = min(end, moment + step)
                await advance(client, org, moment)
        histories.append(await models.Invoice.filter(tenant_id=org.tenant.id).order_by("issue_date").values_list(
            "issue_date", "total", "status"))
    assert histories[0] == histories[1]
    # Billing day 31 (clamped): the first purchase, then E3's renewal with E1's purchase or
    # renewal of the month on each billing day.
    assert [(str(day), str(total)) for day, total, _ in histories[0]] == [
        ("2026-01-31", "46.00"), ("2026-02-28", "86.00"), ("2026-03-31", "86.00"), ("2026-04-30", "86.00")]


async def test_only_sandbox_tenants_move_their_clock_and_only_forward(client, clock):
    """§7, API.md: live tenants get CLOCK_NOT_SANDBOX; the clock never moves back; plain users
    may not move it."""
    live = await factories.sign_up(clock, name="Live")
    body = await gql(client, ADVANCE, {"input": {"to": "2027-01-01T00:00:00Z"}}, token=live.token)
    assert body["data"]["advanceClock"]["userErrors"][0]["code"] == "CLOCK_NOT_SANDBOX"

    org = await sandbox(clock, at(2026, 6, 1, 10))
    body = await gql(client, ADVANCE, {"input": {"to": "2026-05-01T00:00:00Z"}}, token=org.token)
    error = body["data"]["advanceClock"]["userErrors"][0]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "to"])
    body = await gql(client, ADVANCE, {"input": {"to": "2036-05-01T00:00:00Z"}}, token=org.token)
    assert body["data"]["advanceClock"]["userErrors"][0]["code"] == "INVALID_INPUT"
    _, token = await factories.add_user(org, clock, "Plain")
    body = await gql(client, ADVANCE, {"input": {"to": "2026-07-01T00:00:00Z"}}, token=token)
    assert body["data"]["advanceClock"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert (await models.Tenant.get(id=org.tenant.id)).clock_now == at(2026, 6, 1, 10)

    payload = await advance(client, org, at(2026, 7, 1))
    assert payload["now"] == "2026-07-01T00:00:00+00:00"
    viewer = await gql(client, "{ tenant { clockNow } }", token=org.token)
    assert viewer["data"]["tenant"]["clockNow"] == "2026-07-01T00:00:00+00:00"


async def test_mutations_of_a_sandbox_tenant_happen_at_its_clock(client, clock):
    """§7: a sandbox tenant's writes are dated by its test clock, not the wall clock."""
    org = await sandbox(clock, at(2026, 6, 1, 10))
    await advance(client, org, at(2026, 8, 15, 12))
    clock.set(at(2030, 1, 1))  # the wall clock is elsewhere
    bought = await buy(client, org, "O365_E3")
    sub = await models.Subscription.get(id=bought)
    assert (sub.term_start, str(sub.start_date)) == (at(2026, 8, 15, 12), "2026-08-15")


async def test_after_non_payment_a_mosa_reactivation_settles_the_past_due_invoice_first(client, clock):
    """§5, §7: disabled for non-payment by the engine, then reactivated with a card that pays:
    the past-due invoice is paid first and the subscription keeps its term end."""
    org = await sandbox(clock, at(2026, 1, 5, 10), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E1", quantity=2)
    await factories.add_card(org, clock, declines=True)
    await advance(client, org, at(2026, 2, 13))
    assert (await models.Subscription.get(id=bought)).status_reason == models.StatusReason.NON_PAYMENT
    term_end = (await models.Subscription.get(id=bought)).term_end
    good = await factories.add_card(org, clock)
    body = await gql(client, """mutation R($input: ReactivateSubscriptionInput!) { reactivateSubscription(input: $input) {
        subscription { status termEnd } userErrors { code } } }""",
                     {"input": {"subscriptionId": gid("Subscription", bought), "paymentMethodId": gid("PaymentMethod", good.id)}},
                     token=org.token)
    payload = body["data"]["reactivateSubscription"]
    assert payload["userErrors"] == []
    assert payload["subscription"] == {"status": "ACTIVE", "termEnd": term_end.isoformat()}
    invoice = await models.Invoice.get(issue_date="2026-02-05")
    assert (invoice.status, invoice.amount_due) == (models.InvoiceStatus.PAID, 0)
    # It renews on its day again.
    payload = await advance(client, org, at(2026, 3, 6))
    assert "RENEWED" in kinds(payload)


async def test_under_renewal_day_a_licence_increase_is_charged_at_once(client, clock):
    """§7: a licence increase is charged like a renewal: at once under RENEWAL_DAY, on the
    next billing day under ACCOUNT_BILLING_DAY."""
    update = """mutation U($input: UpdateLicenseQuantityInput!) { updateLicenseQuantity(input: $input) {
        invoiceLine { amount { amount } } userErrors { code } } }"""
    now_paid = await sandbox(clock, at(2026, 3, 1, 10), name="Now", charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    later = await sandbox(clock, at(2026, 3, 1, 10), name="Later")
    for org in (now_paid, later):
        bought = await buy(client, org, "O365_E3", quantity=2)  # the first purchase: charged at once
        await advance(client, org, at(2026, 3, 11, 10))
        body = await gql(client, update, {"input": {"subscriptionId": gid("Subscription", bought), "totalLicenses": 5}},
                         token=org.token)
        assert body["data"]["updateLicenseQuantity"]["userErrors"] == []
    charged = await models.InvoiceLine.get(tenant_id=now_paid.tenant.id, kind=models.InvoiceLineKind.PRORATED_CHARGE)
    invoice = await models.Invoice.get(id=charged.invoice_id)
    assert (invoice.status, str(invoice.issue_date), invoice.total) == (models.InvoiceStatus.PAID, "2026-03-11",
                                                                       charged.amount)
    waiting = await models.InvoiceLine.get(tenant_id=later.tenant.id, kind=models.InvoiceLineKind.PRORATED_CHARGE)
    assert (waiting.invoice_id, str(waiting.charge_on)) == (None, "2026-04-01")
