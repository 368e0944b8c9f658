"""Buying subscriptions: by admins for the organization, self-service by plain users, and
trials (SPEC §3, §5 Trials, §6, §7). Who buys on which account is `buyers`; how it is paid,
`purchase_payment`; the self-service policy, `policies`.

A purchase charged at once (§7: under RENEWAL_DAY, and the account's first purchase) is
charged before its transaction, outside it: a decline leaves nothing behind, and a purchase
that cannot be recorded after the charge is refunded. Any other purchase leaves an
outstanding PURCHASE line for the billing engine, dated for the next billing day. A trial
leaves no line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, buyers, idempotency, models, purchase_payment, spending
from billing_center.domain.actor import Actor
from billing_center.domain.billing import invoice_lines, ledger
from billing_center.domain.billing.term_ends import next_charge_on
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.buyers import Buyer
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.money import round_cents
from billing_center.domain.payment_gateway import CardDetails, PaymentGateway
from billing_center.domain.purchase_payment import Charged, PaymentChoice
from billing_center.domain.subscription_rules import (
    MAX_QUANTITY,
    MAX_TRIAL_QUANTITY,
    MIN_QUANTITY,
    licence_total_out_of_range,
    trial_too_large,
)


@dataclass(frozen=True)
class PurchaseRequest:
    """What a buyer asks for (API.md purchaseSubscription)."""

    product_id: int
    quantity: int
    commitment_term: models.CommitmentTerm
    billing_account_id: int | None = None
    payment_method_id: int | None = None
    new_payment_method: CardDetails | None = None
    trial: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Purchased:
    """The outcome of a purchase."""

    subscription_id: int
    invoice_line_id: int | None
    invoice_id: int | None = None
    replayed: bool = False

    @classmethod
    def of(cls, result: dict, replayed: bool) -> Purchased:
        """From the result `_record` keeps under the idempotency key."""
        return cls(result["subscriptionId"], result["invoiceLineId"], result.get("invoiceId"), replayed)


@dataclass(frozen=True, slots=True)
class _Purchase:
    """Everything a purchase decided before its transaction, for the steps that record it."""

    actor: Actor
    request: PurchaseRequest
    product: dict
    buyer: Buyer
    payment: PaymentChoice
    price: Decimal
    amount: Decimal
    schedule: models.ChargeSchedule
    billing_day: int | None
    charge_on: date
    charged: Charged | None
    now: datetime


async def purchase_subscription(
    actor: Actor, request: PurchaseRequest, clock: Clock, gateway: PaymentGateway
) -> Purchased:
    """§3, §6, §7: buy a product. Admins who manage billing buy for the organization's
    account (or the one they name); anybody else buys self-service on their own account.
    A trial (one per product for the organization and one per product for each self-service
    buyer, at most MAX_TRIAL_QUANTITY licences) costs nothing for its days; a purchase needs a
    payment method on the profile, or one given in the call. The account's first purchase
    sets its billing day. Raises INVALID_INPUT, NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE,
    NOT_SELF_SERVICE, SELF_SERVICE_NOT_ALLOWED, TRIAL_ALREADY_USED, PAYMENT_METHOD_REQUIRED,
    CARD_INVALID, PAYMENT_DECLINED, SPENDING_LIMIT, IDEMPOTENCY_KEY_REUSED."""
    tenant_id = actor.require_tenant()
    key = _idempotency_key(request)
    if (replay := await idempotency.replay(actor, key, Purchased.of)) is not None:
        return replay
    product = await _product_to_buy(request)
    buyer = await buyers.buyer_of(actor, product, request.trial, request.billing_account_id)
    now = clock.now()
    payment = await purchase_payment.payment_for(tenant_id, buyer, request.payment_method_id,
                                                 request.new_payment_method, request.trial, now, gateway)
    monthly = request.commitment_term is models.CommitmentTerm.MONTHLY
    price = product["monthly_price"] if monthly else product["annual_price"]
    amount, currency = round_cents(price * request.quantity), product["currency"]
    await spending.require_room(None if buyer.create_account else buyer.profile_id, amount, ("input", "quantity"))
    schedule, billing_day = await buyers.charge_schedule(buyer)
    # §7: charged at once under RENEWAL_DAY and for the account's first purchase (which sets
    # the billing day); otherwise on the next billing day's one document, which the engine
    # makes when that day is over, so a purchase made on the billing day itself goes on it.
    charge_on = charge_date(now.date(), schedule, billing_day)
    at_once = schedule is models.ChargeSchedule.RENEWAL_DAY or billing_day is None
    charged = None
    if not request.trial and charge_on == now.date() and at_once:
        charged = await purchase_payment.charge_at_once(payment, buyer, amount, currency, tenant_id, actor.user_id,
                                                        key, gateway)
    purchase = _Purchase(actor, request, product, buyer, payment, price, amount, schedule, billing_day, charge_on,
                         charged, now)
    try:
        # A racing call with the same key charged with the same gateway key: nothing to refund.
        result, replayed = await idempotency.once(actor, key, lambda: _record(purchase), now,
                                                  lost_race=(IntegrityError,))
    except IntegrityError:
        await purchase_payment.refund(gateway, charged, amount, currency)
        if request.trial:
            raise DomainError(ErrorCode.TRIAL_ALREADY_USED,
                              "You have had a trial of this product." if buyer.self_service
                              else "Your organization has had a trial of this product.",
                              ("input", "trial")) from None
        raise
    except BaseException:
        await purchase_payment.refund(gateway, charged, amount, currency)
        raise
    return Purchased.of(result, replayed)


def _idempotency_key(request: PurchaseRequest) -> idempotency.Key | None:
    return idempotency.Key.of("purchaseSubscription", request.idempotency_key, {
        "productId": request.product_id, "quantity": request.quantity, "term": request.commitment_term.value,
        "billingAccountId": request.billing_account_id, "paymentMethodId": request.payment_method_id,
        "newCardLast4": request.new_payment_method.number[-4:] if request.new_payment_method else None,
        "trial": request.trial,
    })


async def _product_to_buy(request: PurchaseRequest) -> dict:
    """§3, §5 Trials: the product, if it can be bought in the licence count, term and form
    (trial or not) asked for; INVALID_INPUT or NOT_FOUND otherwise."""
    if licence_total_out_of_range(request.quantity):
        raise DomainError(ErrorCode.INVALID_INPUT, f"Buy {MIN_QUANTITY} to {MAX_QUANTITY} licences.", ("input", "quantity"))
    products = await models.Product.filter(id=request.product_id).values()
    if not products:
        raise not_found("Product", ("input", "productId"))
    product = products[0]
    if request.commitment_term.value not in product["commitment_terms"]:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{product['name']} cannot be bought {request.commitment_term.value}.",
                          ("input", "commitmentTerm"))
    if request.trial and not product["trial_available"]:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{product['name']} has no trial.", ("input", "trial"))
    if request.trial and trial_too_large(request.quantity):
        raise DomainError(ErrorCode.INVALID_INPUT, f"A trial has {MIN_QUANTITY} to {MAX_TRIAL_QUANTITY} licences.",
                          ("input", "quantity"))
    return product


async def _record(p: _Purchase) -> dict:
    """The writes of a purchase, in its one transaction; its result for the idempotency key."""
    actor, request, tenant_id = p.actor, p.request, p.actor.tenant_id
    if request.trial:
        # Write-first: the unique row decides which of two racing trials wins. A
        # self-service trial is its buyer's, the organization's trial the organization's
        # (0): neither uses up the other (§5 Trials, §6).
        await models.TrialUse.create(tenant_id=tenant_id, product_id=p.product["id"],
                                     buyer_id=actor.user_id if p.buyer.self_service else 0, at=p.now)
    account_id, profile_id = p.buyer.account_id, p.buyer.profile_id
    if p.buyer.create_account:
        account_id, profile_id = await buyers.create_self_service_account(actor, p.now)
    payment_method_id = p.payment.method_id
    if p.payment.token is not None and p.payment.card is not None and p.payment.details is not None:
        payment_method_id = await purchase_payment.store_card(tenant_id, account_id, p.payment, p.now)  # type: ignore[arg-type]
    if payment_method_id is not None:
        await models.BillingProfile.filter(id=profile_id).update(payment_method_id=payment_method_id)
    if not request.trial:
        # §7: the account's first purchase sets its billing day; a trial is no purchase (§5).
        await models.BillingAccount.filter(id=account_id, billing_day=None).update(billing_day=p.now.day)
    subscription = await _create_subscription(p, account_id, profile_id)
    line_id = invoice_id = None
    if not request.trial:
        line = _purchase_line(p, profile_id, subscription)
        line_id = await invoice_lines.add(line)
        if p.charged is not None:
            invoice_id = await purchase_payment.paid_invoice(tenant_id, account_id, profile_id, line_id, line,  # type: ignore[arg-type]
                                                             payment_method_id, p.charged, p.now)
    # A trial is in service but not paid service (§7 the ledger rule).
    await ledger.record_service(
        tenant_id, subscription.id, p.now.date(), 0 if request.trial else request.quantity,  # type: ignore[arg-type]
        models.ServiceChange.TRIAL_STARTED if request.trial else models.ServiceChange.PURCHASED)
    await audit.record(actor, tenant_id, "subscription.purchased", "Subscription", subscription.id, p.now,  # type: ignore[arg-type]
                       after={"productId": p.product["id"], "quantity": request.quantity,
                              "term": request.commitment_term, "trial": request.trial,
                              "selfService": p.buyer.self_service})
    return {"subscriptionId": subscription.id, "invoiceLineId": line_id, "invoiceId": invoice_id}


async def _create_subscription(p: _Purchase, account_id: int, profile_id: int) -> models.Subscription:
    """§3, §5 Trials: the new subscription, ACTIVE for its first term (a trial's days)."""
    request, now = p.request, p.now
    ends = now + timedelta(days=p.product["trial_days"]) if request.trial else term_end(now, request.commitment_term)
    if request.trial or p.charged:
        # Nothing is owed now: the next charge is the renewal's.
        next_charge = next_charge_on(models.SubscriptionStatus.ACTIVE, True, ends, p.schedule,
                                     p.billing_day if request.trial else p.billing_day or now.day)
    else:
        next_charge = p.charge_on
    return await models.Subscription.create(
        tenant_id=p.actor.tenant_id, billing_account_id=account_id, billing_profile_id=profile_id,
        product_id=p.product["id"], status=models.SubscriptionStatus.ACTIVE, status_changed_at=now,
        quantity=request.quantity, commitment_term=request.commitment_term, auto_renew=True,
        start_date=now.date(), term_start=now, term_end=ends, next_charge_date=next_charge,
        purchase_channel=(models.PurchaseChannel.TRIAL if request.trial
                          else models.PurchaseChannel.SELF_SERVICE if p.buyer.self_service
                          else models.PurchaseChannel.ADMIN),
        trial=request.trial, purchased_by_id=p.actor.user_id, unit_price=p.price, currency=p.product["currency"],
        created_at=now,
    )


def _purchase_line(p: _Purchase, profile_id: int, subscription: models.Subscription) -> dict:
    """§7: the PURCHASE line of the first term, charged on `charge_on`."""
    term, quantity, currency = p.request.commitment_term, p.request.quantity, p.product["currency"]
    billed = invoice_lines.Billed(p.actor.tenant_id, profile_id, subscription.id, p.product["name"], p.price,  # type: ignore[arg-type]
                                  currency)
    return invoice_lines.line(
        billed, models.InvoiceLineKind.PURCHASE,
        description=f"{p.product['name']}, {quantity} licence(s), first {term.value.lower()} term",
        quantity=quantity, amount=p.amount, period=(p.now.date(), subscription.term_end.date()),
        explanation=f"{p.price} {currency} x {quantity} licence(s) for one "
                    f"{'month' if term is models.CommitmentTerm.MONTHLY else 'year'} = {p.amount} {currency}",
        charge_on=p.charge_on, at=p.now,
    )
