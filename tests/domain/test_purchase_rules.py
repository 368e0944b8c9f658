"""The purchase rules through the service, each at its boundary (SPEC §3 licence counts, §5
Trials, §6 self-service, §7 charges; API.md idempotency keys; RELIABILITY.md A11 spending
limit). `purchases.purchase_subscription` is called directly with an Actor and the test clock;
every amount expected is worked out by hand from the catalogue price and the SPEC's rule, and
every refusal is checked to leave every table as it was."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing_center.domain import cancellation, integrity, models, policies, purchases
from billing_center.domain.actor import Actor
from billing_center.domain.billing import engine
from billing_center.domain.billing.scope import Scope
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import CommitmentTerm, SelfServicePolicy
from billing_center.domain.payment_gateway import CardDetails
from billing_center.domain.subscription_rules import MAX_QUANTITY, MAX_TRIAL_QUANTITY, MIN_QUANTITY
from tests import factories

CARD = CardDetails("4242424242424242", "123", 12, 2030, "Pat Buyer")
MONTHLY, ANNUAL = CommitmentTerm.MONTHLY, CommitmentTerm.ANNUAL


async def _request(sku: str = "O365_E3", quantity: int = 5, term: CommitmentTerm = MONTHLY,
                   **extra) -> purchases.PurchaseRequest:
    product = await models.Product.get(sku=sku)
    return purchases.PurchaseRequest(product_id=product.id, quantity=quantity, commitment_term=term, **extra)


async def _buy(actor: Actor, clock, gateway, sku: str = "O365_E3", quantity: int = 5,
               term: CommitmentTerm = MONTHLY, **extra) -> purchases.Purchased:
    return await purchases.purchase_subscription(actor, await _request(sku, quantity, term, **extra), clock, gateway)


async def _refused(actor: Actor, clock, gateway, sku: str = "O365_E3", quantity: int = 5,
                   term: CommitmentTerm = MONTHLY, **extra) -> DomainError:
    """The refusal of a purchase, checked to have left every table as it was."""
    before = await factories.row_counts()
    with pytest.raises(DomainError) as refused:
        await _buy(actor, clock, gateway, sku, quantity, term, **extra)
    assert await factories.row_counts() == before
    return refused.value


async def _admin_with_card(clock) -> factories.Org:
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    return org


async def _plain_user(org: factories.Org, clock, name: str = "Pat") -> Actor:
    user, _ = await factories.add_user(org, clock, name)
    return Actor.user(org.tenant.id, user.id, user.roles)


# --- §3 Licence counts ---------------------------------------------------------------------


@pytest.mark.parametrize("quantity, refused", [
    (MIN_QUANTITY - 1, True), (MIN_QUANTITY, False), (MAX_QUANTITY, False), (MAX_QUANTITY + 1, True),
], ids=["0", "1", "100000", "100001"])
async def test_a_purchase_buys_1_to_100000_licences_s3(database, clock, gateway, quantity, refused):
    # given
    org = await _admin_with_card(clock)
    # when / then
    if refused:
        error = await _refused(org.actor, clock, gateway, quantity=quantity)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "quantity"))
        return
    bought = await _buy(org.actor, clock, gateway, quantity=quantity)
    assert (await models.Subscription.get(id=bought.subscription_id)).quantity == quantity


# --- §7 The first line, by hand ------------------------------------------------------------


@pytest.mark.parametrize("sku, term, quantity, amount, period_end", [
    # price per licence per month (monthly) or per year (annual) x licences
    ("O365_E3", MONTHLY, 7, "161.00", date(2026, 12, 21)),               # 23.00 x 7
    ("M365_BUSINESS_BASIC", MONTHLY, 7, "50.40", date(2026, 12, 21)),    # 7.20 x 7
    ("O365_E3", ANNUAL, 7, "1932.00", date(2027, 11, 21)),               # 276.00 x 7
    ("EXCHANGE_ONLINE_P1", ANNUAL, 3, "144.00", date(2027, 11, 21)),     # 48.00 x 3
])
async def test_the_first_purchase_line_is_price_times_licences_for_one_term_and_charged_that_day_s7(
        database, clock, gateway, sku, term, quantity, amount, period_end):
    # given: the account has no billing day yet (21 November 2026 is the test clock's day)
    org = await _admin_with_card(clock)
    # when
    bought = await _buy(org.actor, clock, gateway, sku, quantity, term)
    # then: one PURCHASE line for the whole first term
    line = await models.InvoiceLine.get(id=bought.invoice_line_id)
    assert (line.kind, line.quantity, line.amount, line.currency) == (
        models.InvoiceLineKind.PURCHASE, quantity, Decimal(amount), "USD")
    assert (line.period_start, line.period_end) == (date(2026, 11, 21), period_end)
    subscription = await models.Subscription.get(id=bought.subscription_id)
    assert subscription.term_end.date() == period_end
    # and the account's first purchase sets the billing day and is charged that day, paid
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day == 21
    invoice = await models.Invoice.get(id=bought.invoice_id)
    assert (invoice.status, invoice.total, invoice.amount_due) == (
        models.InvoiceStatus.PAID, Decimal(amount), Decimal("0.00"))
    [attempt] = await models.PaymentAttempt.filter(invoice_id=invoice.id)
    assert (attempt.status, attempt.amount) == (models.PaymentAttemptStatus.SUCCEEDED, Decimal(amount))


@pytest.mark.parametrize("days_later, charge_on", [
    (1, date(2026, 12, 21)),     # 22 November: the next billing day is a month away
    (29, date(2026, 12, 21)),    # 20 December: the next day
], ids=["day after", "day before the billing day"])
async def test_a_later_purchase_waits_for_the_next_billing_day_uncharged_s7(
        database, clock, gateway, days_later, charge_on):
    # given: billing day 21, schedule ACCOUNT_BILLING_DAY
    org = await _admin_with_card(clock)
    await _buy(org.actor, clock, gateway)
    clock.set(clock.now() + timedelta(days=days_later))
    # when: 18.00 x 4 = 72.00 (Visio Plan 2, monthly)
    bought = await _buy(org.actor, clock, gateway, "VISIO_PLAN_2", 4)
    # then: an outstanding line for the billing day, and no invoice or charge now
    line = await models.InvoiceLine.get(id=bought.invoice_line_id)
    assert (line.amount, line.charge_on, line.invoice_id, bought.invoice_id) == (
        Decimal("72.00"), charge_on, None, None)
    assert await models.PaymentAttempt.all().count() == 1  # the first purchase's only


async def test_a_purchase_on_the_billing_day_goes_on_that_days_one_invoice_s7(database, clock, gateway):
    # given: billing day 21 (E3 x 5 bought 21 November), renewing on 21 December
    org = await factories.sign_up(clock, sandbox=True)
    await factories.add_card(org, clock)
    await _buy(org.actor, clock, gateway)
    clock.set(clock.now() + timedelta(days=30))
    # when: E1 x 2 (10.00 x 2 = 20.00) bought on 21 December, and the day closes
    await _buy(org.actor, clock, gateway, "O365_E1", 2)
    await engine.run(Scope(org.tenant.id, simulated=True), clock.now() + timedelta(days=1), gateway)
    # then: one invoice for 21 December, the renewal (23.00 x 5 = 115.00) and the purchase together
    december = await models.Invoice.filter(billing_profile_id=org.profile.id, issue_date=date(2026, 12, 21))
    assert [invoice.total for invoice in december] == [Decimal("135.00")]
    # and over the whole history: each licence-day paid once, collected - refunded = invoiced - due
    assert await integrity.violations(org.tenant.id, clock.now().date()) == []


# --- §7 Payment ----------------------------------------------------------------------------


async def test_a_purchase_without_a_payment_method_is_refused_s7(database, clock, gateway):
    # given: no card on the profile, none in the call
    org = await factories.sign_up(clock)
    # when
    error = await _refused(org.actor, clock, gateway)
    # then
    assert (error.code, error.field) == (ErrorCode.PAYMENT_METHOD_REQUIRED, ("input", "paymentMethodId"))


async def test_a_declined_first_charge_refuses_the_purchase_and_leaves_nothing_behind_s7(
        database, clock, gateway):
    # given: the profile's card is declined whenever it is charged
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock, declines=True)
    # when
    error = await _refused(org.actor, clock, gateway)
    # then: the billing day is not set either
    assert error.code is ErrorCode.PAYMENT_DECLINED
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day is None


# --- §5 Trials -----------------------------------------------------------------------------


@pytest.mark.parametrize("quantity, refused", [
    (MAX_TRIAL_QUANTITY - 1, False), (MAX_TRIAL_QUANTITY, False), (MAX_TRIAL_QUANTITY + 1, True),
], ids=["24", "25", "26"])
async def test_a_trial_has_at_most_25_licences_s5(database, clock, gateway, quantity, refused):
    # given
    org = await factories.sign_up(clock)
    # when / then
    if refused:
        error = await _refused(org.actor, clock, gateway, quantity=quantity, trial=True)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "quantity"))
        return
    bought = await _buy(org.actor, clock, gateway, quantity=quantity, trial=True)
    assert (await models.Subscription.get(id=bought.subscription_id)).quantity == quantity


async def test_a_trial_lasts_30_days_costs_nothing_needs_no_card_and_sets_no_billing_day_s5(
        database, clock, gateway):
    # given: no payment method anywhere
    org = await factories.sign_up(clock)
    # when
    bought = await _buy(org.actor, clock, gateway, trial=True)
    # then
    trial = await models.Subscription.get(id=bought.subscription_id)
    assert (trial.trial, trial.purchase_channel) == (True, models.PurchaseChannel.TRIAL)
    assert (trial.term_start, trial.term_end) == (clock.now(), clock.now() + timedelta(days=30))
    assert (bought.invoice_line_id, bought.invoice_id) == (None, None)
    assert await models.InvoiceLine.all().count() == 0
    # (rev. 2) a trial is not a purchase: the first real purchase, later, sets the billing day
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day is None
    await factories.add_card(org, clock)
    clock.set(clock.now() + timedelta(days=4))
    await _buy(org.actor, clock, gateway, "O365_E1")
    assert (await models.BillingAccount.get(id=org.account.id)).billing_day == 25


async def test_one_trial_per_product_per_tenant_s5(database, clock, gateway):
    # given: the organization's trial of E3
    org = await factories.sign_up(clock)
    await _buy(org.actor, clock, gateway, trial=True)
    # when: a second trial of E3, by another admin of the organization
    other, _ = await factories.add_user(org, clock, "Gus", [models.Role.GLOBAL_ADMIN])
    error = await _refused(Actor.user(org.tenant.id, other.id, other.roles), clock, gateway, trial=True)
    # then
    assert (error.code, error.field) == (ErrorCode.TRIAL_ALREADY_USED, ("input", "trial"))
    # and a trial of another product is its own
    await _buy(org.actor, clock, gateway, "M365_BUSINESS_BASIC", trial=True)


async def test_a_cancelled_trial_still_uses_up_the_products_trial_s5(database, clock, gateway):
    # given: a trial, cancelled the next day
    org = await factories.sign_up(clock)
    bought = await _buy(org.actor, clock, gateway, trial=True)
    clock.set(clock.now() + timedelta(days=1))
    await cancellation.cancel_subscription(org.actor, bought.subscription_id, models.CancellationReason.OTHER,
                                           None, clock)
    # when
    error = await _refused(org.actor, clock, gateway, trial=True)
    # then
    assert error.code is ErrorCode.TRIAL_ALREADY_USED


async def test_a_product_without_a_trial_is_refused_as_a_trial_s5(database, clock, gateway):
    org = await factories.sign_up(clock)
    error = await _refused(org.actor, clock, gateway, "O365_E1", trial=True)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "trial"))


async def test_a_term_the_product_does_not_offer_is_refused_s3(database, clock, gateway):
    # Exchange Online (Plan 1) is sold annually only.
    org = await _admin_with_card(clock)
    error = await _refused(org.actor, clock, gateway, "EXCHANGE_ONLINE_P1", term=MONTHLY)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "commitmentTerm"))


# --- §6 Self-service -----------------------------------------------------------------------


async def test_a_plain_user_cannot_buy_a_product_that_is_not_self_service_s6(database, clock, gateway):
    org = await factories.sign_up(clock)
    pat = await _plain_user(org, clock)
    error = await _refused(pat, clock, gateway, "O365_E3", new_payment_method=CARD)
    assert (error.code, error.field) == (ErrorCode.NOT_SELF_SERVICE, ("input", "productId"))


@pytest.mark.parametrize("policy, trial, refused", [
    (SelfServicePolicy.ALLOW, False, False),
    (SelfServicePolicy.ALLOW, True, False),
    (SelfServicePolicy.TRIALS_ONLY, False, True),
    (SelfServicePolicy.TRIALS_ONLY, True, False),
    (SelfServicePolicy.DENY, False, True),
    (SelfServicePolicy.DENY, True, True),
])
async def test_a_self_service_purchase_against_the_products_policy_is_refused_s6(
        database, clock, gateway, policy, trial, refused):
    # given
    org = await factories.sign_up(clock)
    pat = await _plain_user(org, clock)
    product = await models.Product.get(sku="POWER_BI_PRO")
    await policies.set_self_service_policy(org.actor, product.id, policy, clock)
    # when / then
    if refused:
        error = await _refused(pat, clock, gateway, "POWER_BI_PRO", new_payment_method=CARD, trial=trial)
        assert (error.code, error.field) == (ErrorCode.SELF_SERVICE_NOT_ALLOWED, ("input", "productId"))
        return
    bought = await _buy(pat, clock, gateway, "POWER_BI_PRO", new_payment_method=CARD, trial=trial)
    subscription = await models.Subscription.get(id=bought.subscription_id)
    assert subscription.purchase_channel is (models.PurchaseChannel.TRIAL if trial
                                             else models.PurchaseChannel.SELF_SERVICE)


async def test_the_self_service_policy_binds_plain_users_not_the_organizations_admins_s6(
        database, clock, gateway):
    # given: plain users may not buy Power BI Pro
    org = await _admin_with_card(clock)
    product = await models.Product.get(sku="POWER_BI_PRO")
    await policies.set_self_service_policy(org.actor, product.id, SelfServicePolicy.DENY, clock)
    # when: the admin buys it for the organization
    bought = await _buy(org.actor, clock, gateway, "POWER_BI_PRO")
    # then
    subscription = await models.Subscription.get(id=bought.subscription_id)
    assert (subscription.purchase_channel, subscription.billing_account_id) == (
        models.PurchaseChannel.ADMIN, org.account.id)


async def test_a_self_service_buyer_pays_on_an_own_mca_account_charged_at_once_s6_s7(database, clock, gateway):
    # given
    org = await factories.sign_up(clock)
    pat = await _plain_user(org, clock)
    # when: 14.00 x 3 = 42.00 (Power BI Pro, monthly)
    bought = await _buy(pat, clock, gateway, "POWER_BI_PRO", 3, new_payment_method=CARD)
    # then: a new account of theirs, MCA, RENEWAL_DAY, and the charge is collected at once
    subscription = await models.Subscription.get(id=bought.subscription_id)
    account = await models.BillingAccount.get(id=subscription.billing_account_id)
    assert account.id != org.account.id
    assert (account.type, account.charge_schedule, account.self_service, account.owner_id) == (
        models.BillingAccountType.MCA, models.ChargeSchedule.RENEWAL_DAY, True, pat.user_id)
    invoice = await models.Invoice.get(id=bought.invoice_id)
    assert (invoice.status, invoice.total) == (models.InvoiceStatus.PAID, Decimal("42.00"))


async def test_a_self_service_buyer_cannot_name_a_billing_account_s6(database, clock, gateway):
    org = await factories.sign_up(clock)
    pat = await _plain_user(org, clock)
    error = await _refused(pat, clock, gateway, "POWER_BI_PRO", new_payment_method=CARD,
                           billing_account_id=org.account.id)
    assert (error.code, error.field) == (ErrorCode.FORBIDDEN, ("input", "billingAccountId"))


# --- RELIABILITY.md A11: what one profile may commit to ------------------------------------


@pytest.mark.parametrize("committed, refused", [
    # 1,000,000,000.00 per term at most; the purchase adds 23.00 x 5 = 115.00
    ("999999885.00", False),
    ("999999885.01", True),
], ids=["reaches the limit", "a cent over"])
async def test_a_purchase_beyond_the_profiles_spending_limit_is_refused(
        database, clock, gateway, committed, refused):
    # given: the profile's active subscriptions already cost `committed` per term
    org = await _admin_with_card(clock)
    await factories.add_subscription(org, clock, quantity=1, unit_price=Decimal(committed))
    # when / then
    if refused:
        error = await _refused(org.actor, clock, gateway)
        assert (error.code, error.field) == (ErrorCode.SPENDING_LIMIT, ("input", "quantity"))
        return
    bought = await _buy(org.actor, clock, gateway)
    assert (await models.InvoiceLine.get(id=bought.invoice_line_id)).amount == Decimal("115.00")


async def test_a_disabled_subscription_commits_nothing_to_the_spending_limit(database, clock, gateway):
    # given: what would be over the limit, were it active
    org = await _admin_with_card(clock)
    await factories.add_subscription(org, clock, quantity=1, unit_price=Decimal("999999999.00"),
                                     status=models.SubscriptionStatus.DISABLED)
    # when / then
    await _buy(org.actor, clock, gateway)


# --- API.md idempotency keys ---------------------------------------------------------------


async def test_the_same_key_and_input_returns_the_first_purchase_and_does_nothing_again(
        database, clock, gateway):
    # given
    org = await _admin_with_card(clock)
    first = await _buy(org.actor, clock, gateway, idempotency_key="buy-1")
    after_first = await factories.row_counts()
    # when
    again = await _buy(org.actor, clock, gateway, idempotency_key="buy-1")
    # then
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.subscription_id, again.invoice_line_id, again.invoice_id) == (
        first.subscription_id, first.invoice_line_id, first.invoice_id)
    assert await factories.row_counts() == after_first


async def test_a_replay_is_answered_even_when_the_rule_would_now_refuse(database, clock, gateway):
    # given: the organization's one trial of E3, bought with a key
    org = await factories.sign_up(clock)
    first = await _buy(org.actor, clock, gateway, trial=True, idempotency_key="trial-1")
    # when: the same call again (a second trial would be TRIAL_ALREADY_USED)
    again = await _buy(org.actor, clock, gateway, trial=True, idempotency_key="trial-1")
    # then
    assert (again.replayed, again.subscription_id) == (True, first.subscription_id)


@pytest.mark.parametrize("change", [
    {"quantity": 6}, {"sku": "O365_E1"}, {"term": ANNUAL}, {"trial": True},
], ids=["quantity", "product", "term", "trial"])
async def test_the_same_key_with_another_input_is_refused(database, clock, gateway, change):
    # given
    org = await _admin_with_card(clock)
    await _buy(org.actor, clock, gateway, idempotency_key="buy-1")
    # when
    error = await _refused(org.actor, clock, gateway, idempotency_key="buy-1",
                           **{"sku": "O365_E3", "quantity": 5, **change})
    # then
    assert (error.code, error.field) == (ErrorCode.IDEMPOTENCY_KEY_REUSED, ("input", "idempotencyKey"))


async def test_idempotency_keys_are_each_users_own(database, clock, gateway):
    # given: an admin's purchase with key "buy-1"
    org = await _admin_with_card(clock)
    first = await _buy(org.actor, clock, gateway, idempotency_key="buy-1")
    # when: another admin uses the same key for another purchase
    other, _ = await factories.add_user(org, clock, "Gus", [models.Role.BILLING_ADMIN])
    second = await _buy(Actor.user(org.tenant.id, other.id, other.roles), clock, gateway, "O365_E1",
                        idempotency_key="buy-1")
    # then: a purchase of its own
    assert (second.replayed, second.subscription_id != first.subscription_id) == (False, True)


@pytest.mark.parametrize("key, refused", [("", True), ("   ", True), ("k" * 255, False), ("k" * 256, True)],
                         ids=["empty", "blank", "255", "256"])
async def test_an_idempotency_key_has_1_to_255_characters(database, clock, gateway, key, refused):
    org = await _admin_with_card(clock)
    if refused:
        error = await _refused(org.actor, clock, gateway, idempotency_key=key)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, ("input", "idempotencyKey"))
        return
    assert not (await _buy(org.actor, clock, gateway, idempotency_key=key)).replayed
