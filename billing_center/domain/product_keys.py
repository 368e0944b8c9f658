"""Prepaid product keys (SPEC §5 Activate): issued by the operator, redeemed once by a
global or billing admin into a prepaid subscription."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_center.domain import audit, idempotency, models, throttle
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.billing_dates import term_end
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found

# Like retail keys: no vowels, no 0/1/5 (read as O/I/S), so a key is not misread.
ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
KEY_LENGTH = 25
MAX_KEYS_PER_CALL = 100
MAX_VALID_DAYS = 3650
# Brute-force guard: at most this many failed redemptions per tenant in a window (a fixed
# window from its first attempt, `throttle.take_attempt`).
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
_SEPARATORS = re.compile(r"[\s\-]")


def normalise_key(raw: str) -> str | None:
    """25 upper-case letters and digits with dashes and spaces dropped, or None."""
    key = _SEPARATORS.sub("", raw or "")
    # ASCII before upper(): "ﬀ".upper() is "FF" and "ß".upper() "SS", other spellings of a key.
    if not key.isascii():
        return None
    key = key.upper()
    return key if len(key) == KEY_LENGTH and key.isalnum() else None


def format_key(key: str) -> str:
    """XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."""
    return "-".join(key[i : i + 5] for i in range(0, KEY_LENGTH, 5))


@dataclass(frozen=True)
class KeyBatch:
    """What the operator asks for."""

    product_id: int
    count: int
    cloud: models.Cloud
    quantity: int = 1
    commitment_term: models.CommitmentTerm = models.CommitmentTerm.ANNUAL
    valid_days: int = 365


async def issue_product_keys(actor: Actor, batch: KeyBatch, clock: Clock) -> list[str]:
    """The operator issues `count` keys for a product, licence count, term and cloud.
    Raises FORBIDDEN for anyone else, INVALID_INPUT, NOT_FOUND."""
    actor.require(actor.is_operator, "issue product keys")
    if not 1 <= batch.count <= MAX_KEYS_PER_CALL:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Issue 1 to {MAX_KEYS_PER_CALL} keys per call.", ("input", "count"))
    if not 1 <= batch.quantity <= 100_000:
        raise DomainError(ErrorCode.INVALID_INPUT, "A key buys 1 to 100000 licences.", ("input", "quantity"))
    if not 1 <= batch.valid_days <= MAX_VALID_DAYS:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Keys are valid for 1 to {MAX_VALID_DAYS} days.", ("input", "validDays"))
    if not await models.Product.filter(id=batch.product_id).exists():
        raise not_found("Product", ("input", "productId"))
    now = clock.now()
    keys = ["".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH)) for _ in range(batch.count)]
    async with atomic():
        await models.ProductKey.bulk_create([
            models.ProductKey(
                key=key, product_id=batch.product_id, quantity=batch.quantity,
                commitment_term=batch.commitment_term, cloud=batch.cloud,
                expires_at=now + timedelta(days=batch.valid_days), created_at=now,
            )
            for key in keys
        ])
    return [format_key(key) for key in keys]


def _guard_key(tenant_id: int) -> str:
    return f"product-keys:{tenant_id}"


async def redeem_product_key(
    actor: Actor, raw_key: str, clock: Clock, idempotency_key: str | None = None
) -> tuple[int, bool]:
    """§5: a global or billing admin redeems a key into a prepaid subscription for its
    product, licence count and term (auto-renew off: it expires at term end). Case and spaces
    are ignored. Raises FORBIDDEN, THROTTLED, PRODUCT_KEY_MALFORMED, PRODUCT_KEY_UNKNOWN,
    PRODUCT_KEY_ALREADY_REDEEMED, PRODUCT_KEY_EXPIRED, PRODUCT_KEY_WRONG_CLOUD,
    IDEMPOTENCY_KEY_REUSED. Returns (subscription id, replayed)."""
    tenant_id = actor.require_tenant()
    actor.require(actor.manages_billing, "redeem product keys")
    key = normalise_key(raw_key)
    idem = idempotency.Key.of("redeemProductKey", idempotency_key, {"productKey": key or raw_key})
    if (replay := await idempotency.replay(actor, idem, _redeemed)) is not None:
        return replay
    now = clock.now()
    field = ("input", "productKey")
    # NOTE: every attempt is charged to the guard BEFORE the key is looked at, in one
    # conditional statement: guesses sent at once cannot all read a count under the limit
    # (a read-then-write guard let 100 through). A redemption that succeeds gives its attempt
    # back, so what the window counts is failures.
    await throttle.take_attempt(_guard_key(tenant_id), MAX_FAILURES, now, field, window=FAILURE_WINDOW,
                                message="Too many failed attempts; try again in 15 minutes.")
    product_key = await _redeemable_key(key, tenant_id, now)
    account = await models.BillingAccount.filter(tenant_id=tenant_id, self_service=False).order_by("id").first()
    profile = await models.BillingProfile.filter(tenant_id=tenant_id, billing_account_id=account.id).order_by("id").first()
    result, replayed = await idempotency.once(
        actor, idem, lambda: _redeem(actor, key, product_key, account.id, profile.id, now), now)  # type: ignore[union-attr,arg-type]
    await throttle.give_back_attempt(_guard_key(tenant_id))
    return _redeemed(result, replayed)


def _redeemed(result: dict, replayed: bool) -> tuple[int, bool]:
    # The result `_redeem` keeps under the idempotency key, as redeem_product_key returns it.
    return result["subscriptionId"], replayed


async def _redeemable_key(key: str | None, tenant_id: int, now: datetime) -> dict:
    """§5: the product key, if it exists, is unredeemed, unexpired and of the tenant's cloud."""
    field = ("input", "productKey")
    if key is None:
        raise DomainError(
            ErrorCode.PRODUCT_KEY_MALFORMED, "A product key is 25 letters and digits: XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.", field
        )
    rows = await models.ProductKey.filter(key=key).values(
        "id", "product_id", "quantity", "commitment_term", "cloud", "expires_at", "redeemed_at",
        "redeemed_by_tenant_id", "subscription_id", "product__monthly_price", "product__annual_price",
        "product__currency",
    )
    if not rows:
        raise DomainError(ErrorCode.PRODUCT_KEY_UNKNOWN, "No such product key.", field)
    product_key = rows[0]
    tenant = await models.Tenant.get(id=tenant_id)
    if product_key["redeemed_at"] is not None:
        raise DomainError(ErrorCode.PRODUCT_KEY_ALREADY_REDEEMED, "This product key was redeemed already.", field)
    if product_key["expires_at"] < now:
        raise DomainError(ErrorCode.PRODUCT_KEY_EXPIRED, "This product key has expired.", field)
    if models.Cloud(product_key["cloud"]) is not tenant.cloud:
        raise DomainError(
            ErrorCode.PRODUCT_KEY_WRONG_CLOUD, "This product key is not valid in your organization's cloud.", field)
    return product_key


async def _redeem(actor: Actor, key: str, product_key: dict, account_id: int, profile_id: int, now: datetime) -> dict:
    """The writes of a redemption, in its one transaction: the key is spent and the prepaid
    subscription (auto-renew off) starts today."""
    tenant_id = actor.tenant_id
    # Write-first and conditional: of two racing redemptions exactly one redeems the key.
    redeemed = await models.ProductKey.filter(id=product_key["id"], redeemed_at=None).update(
        redeemed_at=now, redeemed_by_tenant_id=tenant_id
    )
    if not redeemed:
        raise DomainError(ErrorCode.PRODUCT_KEY_ALREADY_REDEEMED, "This product key was redeemed already.",
                          ("input", "productKey"))
    term = models.CommitmentTerm(product_key["commitment_term"])
    price = product_key["product__monthly_price" if term is models.CommitmentTerm.MONTHLY else "product__annual_price"]
    subscription = await models.Subscription.create(
        tenant_id=tenant_id, billing_account_id=account_id, billing_profile_id=profile_id,
        product_id=product_key["product_id"], status=models.SubscriptionStatus.ACTIVE,
        status_changed_at=now, quantity=product_key["quantity"], commitment_term=term,
        auto_renew=False, start_date=now.date(), term_start=now, term_end=term_end(now, term),
        purchase_channel=models.PurchaseChannel.PRODUCT_KEY, purchased_by_id=actor.user_id,
        unit_price=price, currency=product_key["product__currency"], created_at=now,
    )
    await models.ProductKey.filter(id=product_key["id"]).update(subscription_id=subscription.id)
    await audit.record(actor, tenant_id, "product_key.redeemed", "Subscription", subscription.id, now,  # type: ignore[arg-type]
                       after={"productKey": format_key(key)[:11] + "-…", "quantity": product_key["quantity"]})
    return {"subscriptionId": subscription.id}
