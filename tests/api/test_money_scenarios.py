"""Bills checked the way a customer checks them (issue: money you can trust; SPEC §3, §5, §7).

Each scenario is a sandbox tenant driven over HTTP with its test clock. Every expected amount
is computed by hand in the comment next to it, from the rule, never from our code: E3 costs
23.00 per licence and month, E1 10.00, Business Basic 7.20, Power BI Pro 14.00; card
4242... pays, ...0341 declines every charge. After each history, `billing-center check`'s
invariants must hold: every licence-day paid once, every credit returned, and
collected - refunded = invoiced - due.
"""

from __future__ import annotations

import re
from decimal import Decimal

from billing_center.domain import integrity, models
from tests import factories
from tests.api.test_billing_engine import ACCOUNT, advance, at, buy, kinds, sandbox
from tests.factories import gid, gql, pk

CANCEL = """mutation C($input: CancelSubscriptionInput!) { cancelSubscription(input: $input) {
  credit { amount } userErrors { code message } } }"""
QUANTITY = """mutation Q($input: UpdateLicenseQuantityInput!) { updateLicenseQuantity(input: $input) {
  subscription { quantity scheduledQuantity timeline { at description } }
  invoiceLine { amount { amount } explanation } userErrors { code message } } }"""
REACTIVATE = """mutation R($input: ReactivateSubscriptionInput!) { reactivateSubscription(input: $input) {
  subscription { id status termStart termEnd } userErrors { code field message } } }"""
PAY = """mutation P($input: PayInvoiceInput!) { payInvoice(input: $input) { invoice { status } userErrors { code } } }"""
SUMMARY = "{ licenseSummary { product { sku } purchased assigned available } }"
ASSIGN = """mutation A($input: AssignLicensesInput!) { assignLicenses(input: $input) {
  assignments { subscription { id } } userErrors { code message } } }"""
POLICY = """mutation S($input: SetSelfServicePolicyInput!) { setSelfServicePolicy(input: $input) { userErrors { code } } }"""
SELF_SERVICE_BUY = """mutation B($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) {
  subscription { id } invoice { status total { amount } } userErrors { code message } } }"""
GOOD_CARD = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030,
             "nameOnCard": "Pat"}


async def books_balance(org: factories.Org, clock) -> None:
    """The ledger rule and every other invariant of `billing-center check`, on the tenant's day."""
    assert await integrity.violations(org.tenant.id, clock.now().date()) == []


async def documents(org: factories.Org) -> list[tuple]:
    """Every document: (issue date, kind, total, due, status), oldest first."""
    return [(str(row["issue_date"]), row["kind"].value, str(row["total"]), str(row["amount_due"]), row["status"].value)
            for row in await models.Invoice.filter(tenant_id=org.tenant.id).order_by("id").values(
                "issue_date", "kind", "total", "amount_due", "status")]


async def cancel(client, org, subscription_id: int) -> dict:
    body = await gql(client, CANCEL, {"input": {"subscriptionId": gid("Subscription", subscription_id),
                                                "reason": "NOT_USING"}}, token=org.token)
    return body["data"]["cancelSubscription"]


async def reactivate(client, org, subscription_id: int, **extra) -> dict:
    body = await gql(client, REACTIVATE, {"input": {"subscriptionId": gid("Subscription", subscription_id), **extra}},
                     token=org.token)
    return body["data"]["reactivateSubscription"]


async def money_moved(org: factories.Org) -> tuple[Decimal, Decimal]:
    """(collected, refunded) at the gateway."""
    rows = await models.PaymentAttempt.filter(tenant_id=org.tenant.id,
                                              status=models.PaymentAttemptStatus.SUCCEEDED).values("kind", "amount")
    collected = sum((r["amount"] for r in rows if r["kind"] == models.PaymentAttemptKind.CHARGE), Decimal("0"))
    refunded = sum((r["amount"] for r in rows if r["kind"] == models.PaymentAttemptKind.REFUND), Decimal("0"))
    return collected, refunded


# -- 1. A credit with nothing to net it against is returned --------------------------------

async def test_a_cancellation_credit_with_nothing_to_net_is_refunded_the_same_day(client, clock):
    """§5 rev. 2: MCA, RENEWAL_DAY: E3 x 4 bought 1 June (92.00 paid), cancelled 4 June.
    Credit 23.00 x 4 x 27/30 = 82.80; no charges that day, so a credit note of -82.80 is
    issued and refunded on 4 June: nothing waits as a credit balance."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=4)
    await advance(client, org, at(2027, 6, 4, 9))
    assert (await cancel(client, org, bought))["credit"] == {"amount": "82.80"}
    payload = await advance(client, org, at(2027, 6, 5))
    assert kinds(payload) == ["CREDIT_NOTE_ISSUED", "REFUND_SUCCEEDED"]
    assert await documents(org) == [("2027-06-01", "INVOICE", "92.00", "0.00", "PAID"),
                                    ("2027-06-04", "CREDIT_NOTE", "-82.80", "0.00", "PAID")]
    # collected - refunded = 92.00 - 82.80 = 9.20 = invoiced (92.00 - 82.80) - due (0)
    assert await money_moved(org) == (Decimal("92.00"), Decimal("82.80"))
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert balances["creditBalance"] == {"amount": "0.00"}
    await advance(client, org, at(2028, 6, 5))
    assert await money_moved(org) == (Decimal("92.00"), Decimal("82.80"))
    await books_balance(org, clock)


async def test_a_self_service_buyers_credit_is_refunded(client, clock):
    """§5, §6: a plain user's self-service purchase (MCA, RENEWAL_DAY) of Power BI Pro x 3
    on 1 June (42.00), cancelled on 5 June: 14.00 x 3 x 26/30 = 36.40, refunded that day."""
    org = await sandbox(clock, at(2027, 6, 1, 9))
    _, token = await factories.add_user(org, clock, "Pat")
    product = gid("Product", (await models.Product.get(sku="POWER_BI_PRO")).id)
    body = await gql(client, SELF_SERVICE_BUY, {"input": {"productId": product, "quantity": 3, "commitmentTerm": "MONTHLY",
                                                          "newPaymentMethod": GOOD_CARD}}, token=token)
    payload = body["data"]["purchaseSubscription"]
    assert payload["invoice"] == {"status": "PAID", "total": {"amount": "42.00"}}
    await advance(client, org, at(2027, 6, 5, 9))
    body = await gql(client, CANCEL, {"input": {"subscriptionId": payload["subscription"]["id"], "reason": "OTHER"}},
                     token=token)
    assert body["data"]["cancelSubscription"]["credit"] == {"amount": "36.40"}
    await advance(client, org, at(2027, 6, 6))
    assert (await documents(org))[-1] == ("2027-06-05", "CREDIT_NOTE", "-36.40", "0.00", "PAID")
    assert await money_moved(org) == (Decimal("42.00"), Decimal("36.40"))
    await books_balance(org, clock)


async def test_a_large_licence_decrease_is_refunded(client, clock):
    """§3, §5: MOSA, RENEWAL_DAY: E3 x 10 bought 1 June (230.00), down to 2 on 16 June:
    23.00 x 8 x 15/30 = 92.00 credited and refunded on 16 June."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=10)
    await advance(client, org, at(2027, 6, 16, 9))
    body = await gql(client, QUANTITY, {"input": {"subscriptionId": gid("Subscription", bought), "totalLicenses": 2}},
                     token=org.token)
    assert body["data"]["updateLicenseQuantity"]["invoiceLine"]["amount"] == {"amount": "-92.00"}
    await advance(client, org, at(2027, 6, 17))
    assert (await documents(org))[-1] == ("2027-06-16", "CREDIT_NOTE", "-92.00", "0.00", "PAID")
    await advance(client, org, at(2027, 7, 2))
    # The next month is 2 licences: 46.00.
    assert (await documents(org))[-1] == ("2027-07-01", "INVOICE", "46.00", "0.00", "PAID")
    await books_balance(org, clock)


# -- 2. A credit larger than the next charges does not hold them back ----------------------

async def test_a_credit_larger_than_the_next_charges_does_not_hold_them_back(client, clock):
    """§5, §7 rev. 2: MOSA, ACCOUNT_BILLING_DAY (billing day 1): E3 x 4 (92.00) and Business
    Basic x 2 (14.40) bought 1 June; E3 cancelled 11 June: 23.00 x 4 x 20/30 = 61.333 -> 61.33.
    1 July: Basic renews (14.40); the day's document is a credit note of 14.40 - 61.33 =
    -46.93, refunded. 1 August and 1 September: 14.40 invoiced and charged each month."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA)
    e3 = await buy(client, org, "O365_E3", quantity=4)
    basic = await buy(client, org, "M365_BUSINESS_BASIC", quantity=2)
    await advance(client, org, at(2027, 6, 11, 9))
    assert (await cancel(client, org, e3))["credit"] == {"amount": "61.33"}
    payload = await advance(client, org, at(2027, 9, 2))
    renewals = [t["description"] for t in payload["transitions"] if t["kind"] == "RENEWED"]
    assert renewals and all("charged" not in text or "to be charged" in text for text in renewals)
    assert await documents(org) == [
        ("2027-06-01", "INVOICE", "92.00", "0.00", "PAID"),
        ("2027-06-01", "INVOICE", "14.40", "0.00", "PAID"),
        ("2027-07-01", "CREDIT_NOTE", "-46.93", "0.00", "PAID"),
        ("2027-08-01", "INVOICE", "14.40", "0.00", "PAID"),
        ("2027-09-01", "INVOICE", "14.40", "0.00", "PAID"),
    ]
    # collected 92.00 + 14.40 + 14.40 + 14.40 = 135.20; refunded 46.93
    assert await money_moved(org) == (Decimal("135.20"), Decimal("46.93"))
    balances = (await gql(client, ACCOUNT, token=org.token))["data"]["billingAccounts"][0]
    assert (balances["outstandingBalance"], balances["creditBalance"]) == ({"amount": "0.00"}, {"amount": "0.00"})
    node = await models.Subscription.get(id=basic)
    assert str(node.next_charge_date) == "2027-10-01"
    await books_balance(org, clock)


async def test_an_annual_renewal_is_invoiced_on_its_billing_day_despite_a_large_credit(client, clock):
    """§7: nothing due is held back. MOSA, billing day 1: E3 x 4 annual (4 x 276.00 =
    1,104.00) and E3 x 10 monthly (230.00) bought 1 June 2027; the monthly one is cancelled
    on 2 June (23.00 x 10 x 29/30 = 222.333 -> 222.33). 1 July: a credit note of -222.33.
    1 June 2028: the annual renewal's 1,104.00 is invoiced and charged that day."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA)
    await buy(client, org, "O365_E3", quantity=4, term="ANNUAL")
    monthly = await buy(client, org, "O365_E3", quantity=10)
    await advance(client, org, at(2027, 6, 2, 9))
    assert (await cancel(client, org, monthly))["credit"] == {"amount": "222.33"}
    await advance(client, org, at(2028, 6, 2))
    assert (await documents(org))[2:] == [("2027-07-01", "CREDIT_NOTE", "-222.33", "0.00", "PAID"),
                                          ("2028-06-01", "INVOICE", "1104.00", "0.00", "PAID")]
    await books_balance(org, clock)


# -- 3. Reactivation after non-payment charges no day twice ---------------------------------

async def _renewal_fails_then_cut_off(client, clock) -> tuple[factories.Org, int, models.PaymentMethod]:
    """MOSA, RENEWAL_DAY: E3 x 2 bought 10 March (46.00 paid); the card then declines. The
    renewal of 10 April (46.00) fails, is retried 11, 13 and 17 April; on 17 April the
    subscription is disabled and the days from 17 April to 10 May are credited against the
    past-due invoice: 46.00 x 23/30 = 35.266 -> 35.27, so it asks 46.00 - 35.27 = 10.73
    for the 7 days served (10 to 16 April)."""
    org = await sandbox(clock, at(2027, 3, 10, 9), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=2)
    good = await models.PaymentMethod.get(id=org.profile.payment_method_id)
    await factories.add_card(org, clock, declines=True)
    payload = await advance(client, org, at(2027, 4, 18))
    assert kinds(payload).count("PAYMENT_FAILED") == 4 and "DISABLED_FOR_NON_PAYMENT" in kinds(payload)
    past_due = await models.Invoice.get(tenant_id=org.tenant.id, status=models.InvoiceStatus.PAST_DUE)
    assert (str(past_due.issue_date), past_due.total, past_due.amount_due) == (
        "2027-04-10", Decimal("10.73"), Decimal("10.73"))
    return org, bought, good


async def test_reactivation_after_non_payment_charges_the_served_days_and_the_rest_once(client, clock):
    """§5, §7 rev. 2: reactivated on 18 April with the good card: the past-due 10.73 is
    settled, and 18 April to 10 May is charged: 46.00 x 22/30 = 33.733 -> 33.73. The term
    costs 10.73 + 33.73 = 44.46 for 29 days served; 17 April (disabled) is not charged."""
    org, bought, good = await _renewal_fails_then_cut_off(client, clock)
    payload = await reactivate(client, org, bought, paymentMethodId=gid("PaymentMethod", good.id))
    assert payload["userErrors"] == []
    assert payload["subscription"]["termEnd"].startswith("2027-05-10")
    assert (await documents(org))[1:] == [("2027-04-10", "INVOICE", "10.73", "0.00", "PAID"),
                                          ("2027-04-18", "INVOICE", "33.73", "0.00", "PAID")]
    assert await money_moved(org) == (Decimal("90.46"), Decimal("0"))  # 46.00 + 10.73 + 33.73
    await books_balance(org, clock)
    # The next charge is the renewal of 10 May, at 46.00 again.
    assert str((await models.Subscription.get(id=bought)).next_charge_date) == "2027-05-10"
    await advance(client, org, at(2027, 5, 11))
    assert (await documents(org))[-1] == ("2027-05-10", "INVOICE", "46.00", "0.00", "PAID")
    await books_balance(org, clock)


async def test_paying_the_past_due_invoice_first_then_reactivating_charges_no_day_twice(client, clock):
    """§5, §7: the same, but the customer pays the 10.73 with pay now first; reactivation
    then charges only 33.73."""
    org, bought, good = await _renewal_fails_then_cut_off(client, clock)
    past_due = await models.Invoice.get(tenant_id=org.tenant.id, status=models.InvoiceStatus.PAST_DUE)
    body = await gql(client, PAY, {"input": {"invoiceId": gid("Invoice", past_due.id),
                                             "paymentMethodId": gid("PaymentMethod", good.id)}}, token=org.token)
    assert body["data"]["payInvoice"] == {"invoice": {"status": "PAID"}, "userErrors": []}
    assert (await reactivate(client, org, bought, paymentMethodId=gid("PaymentMethod", good.id)))["userErrors"] == []
    assert await money_moved(org) == (Decimal("90.46"), Decimal("0"))
    await books_balance(org, clock)


# -- 4. A subscription disabled for non-payment is not renewed or billed --------------------

async def test_a_renewal_inside_the_retry_days_is_withdrawn_at_the_cut_off(client, clock):
    """§7 rev. 2: MOSA, ACCOUNT_BILLING_DAY. E1 bought 1 March (billing day 1, auto-renew
    off), E3 x 4 bought 5 March with a card that then declines: its 92.00 is on the invoice of
    1 April, which fails; retries 2, 4 and 8 April. E3 renews on 5 April, inside the retry
    days; at the cut-off that term is withdrawn: service ends on 5 April, the past-due
    invoice keeps asking 92.00 for 5 March to 4 April, and 1 May bills nothing."""
    org = await sandbox(clock, at(2027, 3, 1, 9), account_type=models.BillingAccountType.MOSA)
    first = await buy(client, org, "O365_E1")
    await gql(client, """mutation($input: SetAutoRenewInput!) { setAutoRenew(input: $input) { userErrors { code } } }""",
              {"input": {"subscriptionId": gid("Subscription", first), "autoRenew": False}}, token=org.token)
    await advance(client, org, at(2027, 3, 5, 9))
    e3 = await buy(client, org, "O365_E3", quantity=4)
    await factories.add_card(org, clock, declines=True)
    payload = await advance(client, org, at(2027, 5, 2))
    assert kinds(payload).count("DISABLED_FOR_NON_PAYMENT") == 1
    assert [t["at"][:10] for t in payload["transitions"] if t["kind"] == "PAYMENT_FAILED"] == [
        "2027-04-01", "2027-04-02", "2027-04-04", "2027-04-08"]
    subscription = await models.Subscription.get(id=e3)
    assert (subscription.status, subscription.status_reason) == (models.SubscriptionStatus.DISABLED,
                                                                 models.StatusReason.NON_PAYMENT)
    assert str(subscription.term_end.date()) == "2027-04-05"
    assert await models.InvoiceLine.filter(subscription_id=e3, kind=models.InvoiceLineKind.RENEWAL).count() == 0
    assert await documents(org) == [("2027-03-01", "INVOICE", "10.00", "0.00", "PAID"),
                                    ("2027-04-01", "INVOICE", "92.00", "92.00", "PAST_DUE")]
    await books_balance(org, clock)


# -- 5. MOSA reactivation after the term end neither bills disabled days nor backdates -----

async def test_reactivation_after_the_term_end_starts_a_new_term_today(client, clock):
    """§5 rev. 2: MOSA, RENEWAL_DAY: E3 x 2 bought 10 March, cancelled 5 April (credit
    46.00 x 5/31 = 7.419 -> 7.42, refunded), reactivated 20 April: the term end (10 April)
    has passed, so a new term runs 20 April to 20 May for 46.00, invoiced and charged on 20
    April; 5 to 19 April are not charged."""
    org = await sandbox(clock, at(2027, 3, 10, 9), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=2)
    await advance(client, org, at(2027, 4, 5, 9))
    assert (await cancel(client, org, bought))["credit"] == {"amount": "7.42"}
    await advance(client, org, at(2027, 4, 20, 15))
    card = org.profile.payment_method_id
    payload = await reactivate(client, org, bought, paymentMethodId=gid("PaymentMethod", card))
    assert payload["userErrors"] == []
    assert (payload["subscription"]["termStart"][:16], payload["subscription"]["termEnd"][:10]) == (
        "2027-04-20T15:00", "2027-05-20")
    assert (await documents(org))[-1] == ("2027-04-20", "INVOICE", "46.00", "0.00", "PAID")
    attempt = await models.PaymentAttempt.filter(tenant_id=org.tenant.id).order_by("-id").first()
    assert attempt.attempted_at == at(2027, 4, 20, 15)
    line = await models.InvoiceLine.get(subscription_id=bought, period_start="2027-04-20")
    assert (str(line.period_end), line.amount) == ("2027-05-20", Decimal("46.00"))
    await books_balance(org, clock)


async def test_a_mosa_reactivation_after_expiry_charges_the_term_its_dates_show(client, clock):
    """§5: MOSA, RENEWAL_DAY: E3 x 2 bought 1 June with auto-renew off expires on 1 July
    (users keep working); reactivated on 10 July, a new term runs from 1 July to 1 August:
    the line says exactly that and charges one month, 46.00, on 10 July."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=2)
    await gql(client, """mutation($input: SetAutoRenewInput!) { setAutoRenew(input: $input) { userErrors { code } } }""",
              {"input": {"subscriptionId": gid("Subscription", bought), "autoRenew": False}}, token=org.token)
    await advance(client, org, at(2027, 7, 10, 9))
    payload = await reactivate(client, org, bought, paymentMethodId=gid("PaymentMethod", org.profile.payment_method_id))
    assert payload["userErrors"] == []
    line = await models.InvoiceLine.get(subscription_id=bought, kind=models.InvoiceLineKind.RENEWAL)
    assert (str(line.period_start), str(line.period_end), line.amount) == ("2027-07-01", "2027-08-01", Decimal("46.00"))
    assert (await documents(org))[-1] == ("2027-07-10", "INVOICE", "46.00", "0.00", "PAID")
    await books_balance(org, clock)


# -- 6, 7. MCA reactivation: the predecessor offers no seats; the given card pays -----------

async def test_mca_reactivation_after_expiry_moves_every_seat_to_the_new_subscription(client, clock):
    """§5 rev. 2: MCA: E3 x 4 with auto-renew off expires; reactivated, a new subscription
    holds the 4 licences. The licence summary shows 4 purchased (not 8), and assigning by
    product lands on the new subscription."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    old = await buy(client, org, "O365_E3", quantity=4)
    await gql(client, """mutation($input: SetAutoRenewInput!) { setAutoRenew(input: $input) { userErrors { code } } }""",
              {"input": {"subscriptionId": gid("Subscription", old), "autoRenew": False}}, token=org.token)
    await advance(client, org, at(2027, 7, 5))
    payload = await reactivate(client, org, old)
    assert payload["userErrors"] == []
    new = pk(payload["subscription"]["id"])
    summary = (await gql(client, SUMMARY, token=org.token))["data"]["licenseSummary"]
    assert [(s["product"]["sku"], s["purchased"], s["available"]) for s in summary] == [("O365_E3", 4, 4)]
    user, _ = await factories.add_user(org, clock, "Sam")
    product = gid("Product", (await models.Product.get(sku="O365_E3")).id)
    body = await gql(client, ASSIGN, {"input": {"productId": product, "userIds": [gid("User", user.id)]}},
                     token=org.token)
    assert body["data"]["assignLicenses"]["assignments"] == [{"subscription": {"id": gid("Subscription", new)}}]
    body = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", old),
                                                "userIds": [gid("User", user.id)]}}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"][0]["code"] == "INVALID_STATUS"
    await books_balance(org, clock)


async def test_mca_reactivation_charges_the_card_given_in_the_call(client, clock):
    """§5 rev. 2: MCA, RENEWAL_DAY: the card on file declines; reactivating with another
    card charges that card (92.00 for E3 x 4) and makes it the profile's default."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=4)
    await advance(client, org, at(2027, 6, 3, 9))
    await cancel(client, org, bought)
    await factories.add_card(org, clock, declines=True)
    await advance(client, org, at(2027, 6, 10, 9))
    payload = await reactivate(client, org, bought, newPaymentMethod=GOOD_CARD)
    assert payload["userErrors"] == []
    assert (await documents(org))[-1] == ("2027-06-10", "INVOICE", "92.00", "0.00", "PAID")
    line = await models.InvoiceLine.get(subscription_id=pk(payload["subscription"]["id"]))
    assert line.explanation == "23.00 USD x 4 licence(s) for one month = 92.00 USD"
    profile = await models.BillingProfile.get(id=org.profile.id)
    card = await models.PaymentMethod.get(id=profile.payment_method_id)
    assert card.gateway_token != "tok_sandbox_chargefail_test"
    both = await reactivate(client, org, pk(payload["subscription"]["id"]), newPaymentMethod=GOOD_CARD,
                            paymentMethodId=gid("PaymentMethod", card.id))
    assert both["userErrors"][0]["code"] in ("INVALID_INPUT", "INVALID_STATUS")
    await books_balance(org, clock)


# -- 8, 9. Trials: no bypass of the self-service policy; no billing day -------------------

async def _self_service_trial(client, clock, policy: str) -> tuple[factories.Org, int]:
    org = await sandbox(clock, at(2027, 6, 1, 9))
    _, token = await factories.add_user(org, clock, "Pat")
    product = gid("Product", (await models.Product.get(sku="POWER_BI_PRO")).id)
    body = await gql(client, SELF_SERVICE_BUY, {"input": {"productId": product, "quantity": 2, "commitmentTerm": "MONTHLY",
                                                          "trial": True, "newPaymentMethod": GOOD_CARD}}, token=token)
    assert body["data"]["purchaseSubscription"]["userErrors"] == []
    body = await gql(client, POLICY, {"input": {"productId": product, "policy": policy}}, token=org.token)
    assert body["data"]["setSelfServicePolicy"]["userErrors"] == []
    return org, (await models.Subscription.get(tenant_id=org.tenant.id)).id


async def test_a_self_service_trial_does_not_convert_against_trials_only(client, clock):
    """§5, §6 rev. 2: a plain user's trial under TRIALS_ONLY expires at its end and says why;
    nothing is charged."""
    org, trial = await _self_service_trial(client, clock, "TRIALS_ONLY")
    payload = await advance(client, org, at(2027, 7, 2))
    expired = [t for t in payload["transitions"] if t["kind"] == "EXPIRED"]
    assert len(expired) == 1 and "policy" in expired[0]["description"]
    assert (await models.Subscription.get(id=trial)).status == models.SubscriptionStatus.EXPIRED
    assert await models.InvoiceLine.filter(tenant_id=org.tenant.id).count() == 0
    await books_balance(org, clock)


async def test_a_self_service_trial_converts_when_the_policy_allows_it(client, clock):
    """The control: under ALLOW the trial converts on 1 July: 14.00 x 2 = 28.00 charged."""
    org, trial = await _self_service_trial(client, clock, "ALLOW")
    payload = await advance(client, org, at(2027, 7, 2))
    assert "TRIAL_CONVERTED" in kinds(payload)
    assert (await documents(org)) == [("2027-07-01", "INVOICE", "28.00", "0.00", "PAID")]
    await books_balance(org, clock)


async def test_a_trial_does_not_set_the_billing_day(client, clock):
    """§5, §7 rev. 2: MOSA, ACCOUNT_BILLING_DAY: a trial on 1 June sets no billing day; the
    first real purchase on 10 June (E1 x 3 = 30.00) is charged at once and sets day 10."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA)
    await buy(client, org, "M365_BUSINESS_BASIC", quantity=2, trial=True)
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day is None
    await advance(client, org, at(2027, 6, 10, 9))
    await buy(client, org, "O365_E1", quantity=3)
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day == 10
    assert await documents(org) == [("2027-06-10", "INVOICE", "30.00", "0.00", "PAID")]
    await books_balance(org, clock)


# -- 10. One document per profile per charge day ----------------------------------------

async def test_billing_run_twice_on_a_billing_day_issues_one_invoice(client, clock):
    """§7 rev. 2: MOSA, billing day 1 (E1 bought 1 May 02:00, 10.00). E3 x 2 bought 1 May at
    20:00 and Basic x 1 bought at 03:00, both renewing on 1 June. Billing runs at 08:00 and
    at 22:00 on 1 June, and after midnight: one invoice for 1 June with all three renewals,
    10.00 + 46.00 + 7.20 = 63.20, charged once."""
    org = await sandbox(clock, at(2027, 5, 1, 2), account_type=models.BillingAccountType.MOSA)
    await buy(client, org, "O365_E1")
    await advance(client, org, at(2027, 5, 1, 3))
    await buy(client, org, "M365_BUSINESS_BASIC")
    await advance(client, org, at(2027, 5, 1, 20))
    await buy(client, org, "O365_E3", quantity=2)
    for moment in (at(2027, 6, 1, 8), at(2027, 6, 1, 22), at(2027, 6, 2, 0, 30)):
        await advance(client, org, moment)
    june = [d for d in await documents(org) if d[0] == "2027-06-01"]
    assert june == [("2027-06-01", "INVOICE", "63.20", "0.00", "PAID")]
    assert await models.PaymentAttempt.filter(tenant_id=org.tenant.id, invoice__issue_date="2027-06-01").count() == 1
    await books_balance(org, clock)


# -- Truthful texts -----------------------------------------------------------------------

async def test_explanations_are_numbers_a_person_reads(client, clock):
    """§7: 23.00 x 4 x 20/30 is shown rounded, not as a 28-digit decimal."""
    org = await sandbox(clock, at(2027, 6, 1, 9), account_type=models.BillingAccountType.MOSA)
    bought = await buy(client, org, "O365_E3", quantity=4)
    await advance(client, org, at(2027, 6, 11, 9))
    await cancel(client, org, bought)
    line = await models.InvoiceLine.get(subscription_id=bought, kind=models.InvoiceLineKind.PRORATED_CREDIT)
    assert "61.33" in line.explanation
    assert not re.search(r"\d\.\d{5,}", line.explanation), line.explanation


# -- §3 rev. 2: MCA licence decreases follow the cancellation window -----------------------

async def _decrease(client, org, subscription_id: int, total: int) -> dict:
    body = await gql(client, QUANTITY, {"input": {"subscriptionId": gid("Subscription", subscription_id),
                                                  "totalLicenses": total}}, token=org.token)
    return body["data"]["updateLicenseQuantity"]


async def test_an_mca_decrease_inside_the_window_is_credited(client, clock):
    """§3: MCA, RENEWAL_DAY: E3 x 10 bought 1 June; down to 6 on 3 June (inside the 168
    hours): 23.00 x 4 x 28/30 = 85.866 -> 85.87 credited at once."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=10)
    await advance(client, org, at(2027, 6, 3, 9))
    payload = await _decrease(client, org, bought, 6)
    assert (payload["subscription"]["quantity"], payload["invoiceLine"]["amount"]) == (6, {"amount": "-85.87"})
    await books_balance(org, clock)


async def test_an_mca_decrease_after_the_window_waits_for_the_renewal(client, clock):
    """§3 rev. 2: down to 6 on 12 June (after the window): no credit; the subscription shows
    6 scheduled and its timeline the renewal of 1 July, which charges 23.00 x 6 = 138.00."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=10)
    await advance(client, org, at(2027, 6, 12, 9))
    payload = await _decrease(client, org, bought, 6)
    assert payload["userErrors"] == [] and payload["invoiceLine"] is None
    assert (payload["subscription"]["quantity"], payload["subscription"]["scheduledQuantity"]) == (10, 6)
    renewal = payload["subscription"]["timeline"][0]
    assert renewal["at"].startswith("2027-07-01") and "6 licence(s)" in renewal["description"]
    await advance(client, org, at(2027, 7, 2))
    subscription = await models.Subscription.get(id=bought)
    assert (subscription.quantity, subscription.scheduled_quantity) == (6, None)
    assert (await documents(org))[-1] == ("2027-07-01", "INVOICE", "138.00", "0.00", "PAID")
    await books_balance(org, clock)


async def test_a_scheduled_decrease_can_be_withdrawn_and_never_goes_below_the_assigned(client, clock):
    """§3 rev. 2: the current count again withdraws the schedule; a renewal that would leave
    fewer licences than are assigned keeps the count and says why."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=3)
    await advance(client, org, at(2027, 6, 12, 9))
    await _decrease(client, org, bought, 1)
    assert (await _decrease(client, org, bought, 3))["subscription"]["scheduledQuantity"] is None
    await _decrease(client, org, bought, 1)
    users = [gid("User", (await factories.add_user(org, clock, f"U{n}"))[0].id) for n in range(2)]
    body = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", bought), "userIds": users}},
                     token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"] == []
    payload = await advance(client, org, at(2027, 7, 2))
    renewed = [t["description"] for t in payload["transitions"] if t["kind"] == "RENEWED"]
    assert len(renewed) == 1 and "not applied" in renewed[0]
    assert (await models.Subscription.get(id=bought)).quantity == 3
    assert (await documents(org))[-1] == ("2027-07-01", "INVOICE", "69.00", "0.00", "PAID")
    await books_balance(org, clock)


async def test_the_25_licence_rule_holds_for_mca_too(client, clock):
    """§5 rev. 2: an MCA subscription with 26 licences assigned cannot be cancelled online,
    even inside the cancellation window; with 25 it can."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E1", quantity=30)
    users = [(await factories.add_user(org, clock, f"P{n}"))[0] for n in range(26)]
    for chunk in (users[:20], users[20:]):
        body = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", bought),
                                                    "userIds": [gid("User", u.id) for u in chunk]}}, token=org.token)
        assert body["data"]["assignLicenses"]["userErrors"] == []
    assert (await cancel(client, org, bought))["userErrors"][0]["code"] == "CONTACT_SUPPORT_TO_CANCEL"
    await gql(client, """mutation U($input: UnassignLicensesInput!) { unassignLicenses(input: $input) {
        userErrors { code } } }""", {"input": {"subscriptionId": gid("Subscription", bought),
                                              "userIds": [gid("User", users[0].id)]}}, token=org.token)
    assert (await cancel(client, org, bought))["userErrors"] == []


async def test_a_line_written_in_the_last_instant_of_a_closed_day_goes_on_the_next_days_document(client, clock):
    """§7: one document per profile per charge day. MOSA, RENEWAL_DAY: E3 x 2 and E1 x 3
    bought 10 May renew on 10 June (46.00 + 30.00 = 76.00 on that day's invoice, issued at
    its last second, 23:59:59). E1 cancelled in that very second: the whole new term is
    credited (10.00 x 3 x 30/30 = 30.00), due that day; its document is issued already, so
    the credit goes on the next day's, a credit note refunded on 11 June."""
    org = await sandbox(clock, at(2027, 5, 10, 9), account_type=models.BillingAccountType.MOSA,
                        charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    await buy(client, org, "O365_E3", quantity=2)
    cancelled = await buy(client, org, "O365_E1", quantity=3)
    await advance(client, org, at(2027, 6, 10, 23, 59, 59))
    assert (await documents(org))[2:] == [("2027-06-10", "INVOICE", "76.00", "0.00", "PAID")]
    assert (await cancel(client, org, cancelled))["credit"] == {"amount": "30.00"}
    await advance(client, org, at(2027, 6, 12))
    assert (await documents(org))[2:] == [("2027-06-10", "INVOICE", "76.00", "0.00", "PAID"),
                                          ("2027-06-11", "CREDIT_NOTE", "-30.00", "0.00", "PAID")]
    await books_balance(org, clock)


async def test_a_cut_off_reduces_every_past_due_invoice_of_the_term(client, clock):
    """§7 rev. 2: MCA, RENEWAL_DAY: E3 x 3 bought 1 June (69.00 paid); the card then
    declines. 1 July: 5 more licences, charged at once (23.00 x 5 x 31/31 = 115.00), and the
    renewal of 3 (69.00) both fail; retries 2, 4 and 8 July. At the cut-off on 8 July each
    past-due invoice takes back its own licences for 8 to 31 July (24 of 31 days):
    23.00 x 3 x 24/31 = 53.419 -> 53.42 (69.00 -> 15.58) and 23.00 x 5 x 24/31 = 89.032 ->
    89.03 (115.00 -> 25.97). Nothing is refunded: nothing was paid for July."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=3)
    await factories.add_card(org, clock, declines=True)
    await advance(client, org, at(2027, 7, 1, 10))
    body = await gql(client, QUANTITY, {"input": {"subscriptionId": gid("Subscription", bought), "totalLicenses": 8}},
                     token=org.token)
    assert body["data"]["updateLicenseQuantity"]["invoiceLine"]["amount"] == {"amount": "115.00"}
    await advance(client, org, at(2027, 7, 10))
    assert sorted(await documents(org))[1:] == [("2027-07-01", "INVOICE", "15.58", "15.58", "PAST_DUE"),
                                                ("2027-07-01", "INVOICE", "25.97", "25.97", "PAST_DUE")]
    assert await money_moved(org) == (Decimal("69.00"), Decimal("0"))
    await books_balance(org, clock)


async def test_an_mca_reactivation_with_no_card_anywhere_is_refused(client, clock):
    """§5, §7: an MCA reactivation is charged like a purchase: with no card given and none
    on the profile it is refused (PAYMENT_METHOD_REQUIRED) and changes nothing."""
    org = await sandbox(clock, at(2027, 6, 1, 9), charge_schedule=models.ChargeSchedule.RENEWAL_DAY)
    bought = await buy(client, org, "O365_E3", quantity=2)
    await advance(client, org, at(2027, 6, 2, 9))
    await cancel(client, org, bought)
    await models.BillingProfile.filter(id=org.profile.id).update(payment_method_id=None)
    payload = await reactivate(client, org, bought)
    assert [e["code"] for e in payload["userErrors"]] == ["PAYMENT_METHOD_REQUIRED"]
    assert await models.Subscription.filter(tenant_id=org.tenant.id).count() == 1
