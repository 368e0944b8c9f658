"""Buying subscriptions: by admins for the organization, self-service by plain users, and
trials (SPEC §3, §5 Trials, §6, §7), plus the self-service policy per product.

A purchase charged at once (§7: under RENEWAL_DAY, and the account's first purchase) is
charged before its transaction, outside it: a decline leaves nothing behind, and a purchase
that cannot be recorded after the charge is refunded. Any other purchase leaves an
outstanding PURCHASE line for the billing engine, dated for the next billing day. A trial
leaves no line.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, available_actions, idempotency, models, spending, visibility
from billing_center.domain.atomic import atomic
from billing_center.domain.billing import invoice_lines, invoicing, ledger
from billing_center.domain.policies import policy_for
from billing_center.domain.subscription_rules import (
    MAX_QUANTITY,
    MAX_TRIAL_QUANTITY,
    MIN_QUANTITY,
    licence_total_out_of_range,
    self_service_policy_allows,
    trial_too_large,
)
from billing_center.domain.actor import Actor
from billing_center.domain.billing_dates import charge_date, term_end
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.money import round_cents
from billing_center.domain.payment_gateway import CardDetails, ChargeResult, PaymentGateway, ValidCard, validate_card
from billing_center.domain.billing.term_ends import next_charge_on



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


async def set_self_service_policy(
    actor: Actor, product_id: int, policy: models.SelfServicePolicy, clock: Clock
) -> None:
    """§6: a global admin sets whether plain users may buy a product (ALLOW, TRIALS_ONLY,
    DENY). Raises FORBIDDEN, NOT_FOUND."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "set self-service policies")
    if not await models.Product.filter(id=product_id).exists():
        raise not_found("Product", ("input", "productId"))
    now = clock.now()
    before = await policy_for(tenant_id, product_id)
    async with atomic():
        updated = await models.ProductSelfServicePolicy.filter(tenant_id=tenant_id, product_id=product_id).update(
            policy=policy, updated_at=now
        )
        if not updated:
            await models.ProductSelfServicePolicy.create(
                tenant_id=tenant_id, product_id=product_id, policy=policy, updated_at=now
            )
        await audit.record(actor, tenant_id, "product.self_service_policy_set", "Product", product_id, now,
                           before={"policy": before}, after={"policy": policy})


async def _self_service_account(actor: Actor) -> tuple[int, int, bool]:
    """§6: the buyer's own account (MCA, RENEWAL_DAY), created on first purchase."""
    rows = await models.BillingAccount.filter(
        tenant_id=actor.tenant_id, owner_id=actor.user_id, self_service=True
    ).order_by("id").values("id")
    if rows:
        profile = await models.BillingProfile.filter(billing_account_id=rows[0]["id"]).order_by("id").first()
        return rows[0]["id"], profile.id, False  # type: ignore[union-attr]
    return 0, 0, True


async def _check_self_service(actor: Actor, product: dict, trial: bool) -> None:
    if not product["self_service"]:
        raise DomainError(ErrorCode.NOT_SELF_SERVICE, "This product cannot be bought self-service.", ("input", "productId"))
    policy = await policy_for(actor.tenant_id, product["id"])  # type: ignore[arg-type]
    if not self_service_policy_allows(policy, trial):
        raise DomainError(
            ErrorCode.SELF_SERVICE_NOT_ALLOWED,
            "Your organization does not allow buying this product yourself" + (
                "; a trial is allowed." if policy is models.SelfServicePolicy.TRIALS_ONLY else "."),
            ("input", "productId"),
        )


@dataclass(frozen=True, slots=True)
class _Buyer:
    """Whose account a purchase goes on: the organization's (or the one named), or the buyer's
    own self-service account, which `create_account` says is still to be made."""

    self_service: bool
    account_id: int
    profile_id: int
    create_account: bool


@dataclass(frozen=True, slots=True)
class _Payment:
    """How a purchase is paid: an existing method, or a new card already tokenized."""

    method_id: int | None
    token: str | None
    card: ValidCard | None


@dataclass(frozen=True, slots=True)
class _Purchase:
    """Everything a purchase decided before its transaction, for the steps that record it."""

    actor: Actor
    request: PurchaseRequest
    product: dict
    buyer: _Buyer
    payment: _Payment
    price: Decimal
    amount: Decimal
    schedule: models.ChargeSchedule
    billing_day: int | None
    charge_on: date
    charge: ChargeResult | None
    gateway_key: str | None
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
    previous = await idempotency.previous_result(actor, key)
    if previous is not None:
        return Purchased(previous["subscriptionId"], previous["invoiceLineId"], previous.get("invoiceId"), True)
    product = await _product_to_buy(request)
    buyer = await _buyer(actor, request, product)
    now = clock.now()
    payment = await _payment(tenant_id, request, buyer, now, gateway)
    term = request.commitment_term
    price = product["monthly_price"] if term is models.CommitmentTerm.MONTHLY else product["annual_price"]
    amount = round_cents(price * request.quantity)
    currency = product["currency"]
    await spending.require_room(None if buyer.create_account else buyer.profile_id, amount, ("input", "quantity"))
    schedule, billing_day = await _charge_schedule(buyer)
    # §7: charged at once under RENEWAL_DAY and for the account's first purchase (which sets
    # the billing day), otherwise on the next billing day by the billing engine.
    charge_on = charge_date(now.date(), schedule, billing_day)
    charge = gateway_key = None
    if not request.trial and charge_on == now.date():
        card_token = payment.token or await _profile_card_token(payment.method_id, buyer.profile_id)
        gateway_key = _purchase_gateway_key(tenant_id, actor.user_id, key)
        # NOTE: outside the transaction (§2). A decline leaves nothing behind (§7).
        charge = await gateway.charge(card_token, amount, currency, gateway_key)  # type: ignore[arg-type]
        if not charge.succeeded:
            raise DomainError(ErrorCode.PAYMENT_DECLINED, "The card was declined; nothing was bought.",
                              ("input", "newPaymentMethod" if payment.token else "paymentMethodId"))
    purchase = _Purchase(actor, request, product, buyer, payment, price, amount, schedule, billing_day, charge_on,
                         charge, gateway_key, now)
    try:
        # A racing call with the same key charged with the same gateway key: nothing to refund.
        result, replayed = await idempotency.once(actor, key, lambda: _record(purchase), now,
                                                  lost_race=(IntegrityError,))
    except IntegrityError:
        await _refund(gateway, charge, amount, currency)
        if request.trial:
            raise DomainError(ErrorCode.TRIAL_ALREADY_USED,
                              "You have had a trial of this product." if buyer.self_service
                              else "Your organization has had a trial of this product.",
                              ("input", "trial")) from None
        raise
    except BaseException:
        await _refund(gateway, charge, amount, currency)
        raise
    return Purchased(result["subscriptionId"], result["invoiceLineId"], result.get("invoiceId"), replayed)


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


async def _buyer(actor: Actor, request: PurchaseRequest, product: dict) -> _Buyer:
    """§6: a caller who manages billing buys on an account they may use (the organization's
    first one unless named); anybody else self-service, on their own account."""
    if not actor.manages_billing:
        await _check_self_service(actor, product, request.trial)
        if request.billing_account_id is not None:
            raise DomainError(ErrorCode.FORBIDDEN, "Self-service purchases use your own billing account.",
                              ("input", "billingAccountId"))
        return _Buyer(True, *await _self_service_account(actor))
    account_query = models.BillingAccount.filter(visibility.billing_accounts(actor))
    account_query = (account_query.filter(id=request.billing_account_id) if request.billing_account_id is not None
                     else account_query.filter(self_service=False).order_by("id"))
    accounts = await account_query.values("id", "self_service", "owner_id")
    if not accounts:
        raise not_found("Billing account", ("input", "billingAccountId"))
    refusal = available_actions.account_refusal(actor, accounts[0]["self_service"], accounts[0]["owner_id"])
    if refusal is not None:
        raise DomainError(refusal[0], refusal[1], ("input", "billingAccountId"))
    account_id = accounts[0]["id"]
    profile_id = (await models.BillingProfile.filter(billing_account_id=account_id).order_by("id").first()).id  # type: ignore[union-attr]
    return _Buyer(False, account_id, profile_id, False)


async def _payment(tenant_id: int, request: PurchaseRequest, buyer: _Buyer, now: datetime,
                   gateway: PaymentGateway) -> _Payment:
    """§7: the payment method named or given in the call (a new card is tokenized here,
    before the transaction); a purchase that is no trial needs one, or one on the profile."""
    payment_method_id = request.payment_method_id
    if payment_method_id is not None and not await models.PaymentMethod.filter(
        id=payment_method_id, tenant_id=tenant_id, billing_account_id=buyer.account_id
    ).exists():
        raise not_found("Payment method", ("input", "paymentMethodId"))
    token = None
    card = None
    if request.new_payment_method is not None:
        card = validate_card(request.new_payment_method, now.date())
        # NOTE: the gateway is a network call: never inside the transaction (§2).
        token = await gateway.tokenize(card, request.new_payment_method.security_code)
    has_card = payment_method_id is not None or token is not None or (
        not buyer.create_account
        and await models.BillingProfile.filter(id=buyer.profile_id, payment_method_id__not_isnull=True).exists()
    )
    if not request.trial and not has_card:
        raise DomainError(ErrorCode.PAYMENT_METHOD_REQUIRED,
                          "Add a payment method: give paymentMethodId or newPaymentMethod.", ("input", "paymentMethodId"))
    return _Payment(payment_method_id, token, card)


async def _charge_schedule(buyer: _Buyer) -> tuple[models.ChargeSchedule, int | None]:
    """§7: how the account is charged; a new self-service account is charged on renewal days."""
    if buyer.create_account:
        return models.ChargeSchedule.RENEWAL_DAY, None
    account_row = (await models.BillingAccount.filter(id=buyer.account_id).values("charge_schedule", "billing_day"))[0]
    return models.ChargeSchedule(account_row["charge_schedule"]), account_row["billing_day"]


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
        account_id, profile_id = await _create_self_service_account(actor, p.now)
    payment_method_id = p.payment.method_id
    if p.payment.token is not None and p.payment.card is not None and request.new_payment_method is not None:
        payment_method_id = await _store_card(tenant_id, account_id, p.payment, request.new_payment_method, p.now)  # type: ignore[arg-type]
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
        if p.charge is not None:
            invoice_id = await _paid_invoice(tenant_id, account_id, profile_id, line_id, line, payment_method_id,  # type: ignore[arg-type]
                                             p.charge, p.gateway_key, p.now)  # type: ignore[arg-type]
    # A trial is in service but not paid service (§7 the ledger rule).
    await ledger.record_service(
        tenant_id, subscription.id, p.now.date(), 0 if request.trial else request.quantity,  # type: ignore[arg-type]
        models.ServiceChange.TRIAL_STARTED if request.trial else models.ServiceChange.PURCHASED)
    await audit.record(actor, tenant_id, "subscription.purchased", "Subscription", subscription.id, p.now,  # type: ignore[arg-type]
                       after={"productId": p.product["id"], "quantity": request.quantity,
                              "term": request.commitment_term, "trial": request.trial,
                              "selfService": p.buyer.self_service})
    return {"subscriptionId": subscription.id, "invoiceLineId": line_id, "invoiceId": invoice_id}


async def _create_self_service_account(actor: Actor, now: datetime) -> tuple[int, int]:
    """§6: the buyer's own account (MCA, RENEWAL_DAY) and its profile, on first purchase."""
    account = await models.BillingAccount.create(
        tenant_id=actor.tenant_id, name="Self-service purchases", type=models.BillingAccountType.MCA,
        owner_id=actor.user_id, charge_schedule=models.ChargeSchedule.RENEWAL_DAY,
        self_service=True, created_at=now,
    )
    profile = await models.BillingProfile.create(
        tenant_id=actor.tenant_id, billing_account_id=account.id, name="Self-service", created_at=now,
    )
    return account.id, profile.id


async def _store_card(tenant_id: int, account_id: int, payment: _Payment, details: CardDetails, now: datetime) -> int:
    card = payment.card
    method = await models.PaymentMethod.create(
        tenant_id=tenant_id, billing_account_id=account_id, brand=card.brand, last4=card.last4,  # type: ignore[union-attr]
        expiry_month=details.expiry_month, expiry_year=details.expiry_year,
        name_on_card=details.name_on_card.strip(),
        address=card.address, gateway_token=payment.token, created_at=now,  # type: ignore[union-attr]
    )
    return method.id


async def _create_subscription(p: _Purchase, account_id: int, profile_id: int) -> models.Subscription:
    """§3, §5 Trials: the new subscription, ACTIVE for its first term (a trial's days)."""
    request, now = p.request, p.now
    ends = now + timedelta(days=p.product["trial_days"]) if request.trial else term_end(now, request.commitment_term)
    if request.trial or p.charge:
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


async def _profile_card_token(payment_method_id: int | None, profile_id: int) -> str:
    if payment_method_id is not None:
        return (await models.PaymentMethod.filter(id=payment_method_id).values_list("gateway_token", flat=True))[0]
    return (await models.BillingProfile.filter(id=profile_id).values_list(
        "payment_method__gateway_token", flat=True))[0]


def _purchase_gateway_key(tenant_id: int, user_id: int | None, key: idempotency.Key | None) -> str:
    # With an idempotency key, a repeated or racing call reaches the gateway with the same
    # key and is charged once; the input's fingerprint is part of it, so a retry with another
    # card after a decline is a new charge. Without a key, every call is its own purchase.
    # Keys are the user's own (idempotency.Key): two people choosing the same one are two
    # purchases, two charges.
    if key is None:
        return f"purchase-{secrets.token_hex(16)}"
    digest = hashlib.sha256(f"{key.key}\n{key.fingerprint}".encode()).hexdigest()[:32]
    return f"purchase-{tenant_id}-{user_id}-{digest}"


async def _refund(gateway: PaymentGateway, charge: ChargeResult | None, amount: Decimal, currency: str) -> None:
    # The purchase could not be recorded after its card was charged: give the money back.
    if charge is not None and charge.succeeded:
        await gateway.refund(charge.reference, amount, currency)


async def _paid_invoice(tenant_id: int, account_id: int, profile_id: int, line_id: int, line: dict,
                        payment_method_id: int | None, charge: ChargeResult, gateway_key: str, now: datetime) -> int:
    """The invoice of a purchase charged at once: its one line, paid."""
    number = (await invoicing.number_invoices([profile_id]))[profile_id]
    invoice = await models.Invoice.create(
        tenant_id=tenant_id, billing_account_id=account_id, billing_profile_id=profile_id, number=number,
        issue_date=now.date(), period_start=line["period_start"], period_end=line["period_end"],
        status=models.InvoiceStatus.PAID, total=line["amount"], amount_due=Decimal("0.00"), currency=line["currency"],
        created_at=now,
    )
    await models.InvoiceLine.filter(id=line_id).update(invoice_id=invoice.id)
    if payment_method_id is None:
        payment_method_id = (await models.BillingProfile.filter(id=profile_id).values_list(
            "payment_method_id", flat=True))[0]
    await models.PaymentAttempt.create(
        tenant_id=tenant_id, invoice_id=invoice.id, payment_method_id=payment_method_id, amount=line["amount"],
        currency=line["currency"], status=models.PaymentAttemptStatus.SUCCEEDED, gateway_idempotency_key=gateway_key,
        gateway_reference=charge.reference, attempted_at=now,
    )
    return invoice.id
