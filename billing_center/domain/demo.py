"""Demo data for a first look in GraphiQL: one organization with people, subscriptions,
licences and an invoice. Running it again adds nothing but fresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from billing_center.domain import auth, models, tenants
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.money import round_cents

DEMO_DOMAIN = "contosodemo.onmicrosoft.com"
PEOPLE = [
    ("Bianca Billing", "bianca@contoso.example", [models.Role.BILLING_ADMIN]),
    ("Luis License", "luis@contoso.example", [models.Role.LICENSE_ADMIN]),
    ("Uma User", "uma@contoso.example", []),
    ("Ulf User", "ulf@contoso.example", []),
]


@dataclass(frozen=True)
class DemoLogin:
    """A demo person and a fresh token of theirs."""

    display_name: str
    roles: list[str]
    token: str


async def seed_demo(clock: Clock) -> list[DemoLogin]:
    """Create the demo organization once; return a fresh token for each of its people."""
    existing = await models.Domain.get_or_none(name=DEMO_DOMAIN)
    if existing is None:
        await _create(clock)
        existing = await models.Domain.get(name=DEMO_DOMAIN)
    users = await models.User.filter(tenant_id=existing.tenant_id).order_by("id").values(
        "id", "display_name", "roles"
    )
    logins = []
    now = clock.now()
    for user in users:
        token = await auth.issue_token(existing.tenant_id, user["id"], now)
        logins.append(DemoLogin(user["display_name"], user["roles"] or ["USER"], token))
    return logins


async def _create(clock: Clock) -> None:
    signed_up = await tenants.sign_up(
        tenants.SignUp(
            organization_name="Contoso Demo",
            admin_display_name="Grace Global",
            admin_email="grace@contoso.example",
            cloud=models.Cloud.WORLDWIDE,
            billing_account_type=models.BillingAccountType.MOSA,
        ),
        clock,
    )
    admin = Actor.user(signed_up.tenant.id, signed_up.user.id, signed_up.user.roles)
    people = [signed_up.user]
    for name, email, roles in PEOPLE:
        people.append((await tenants.create_user(admin, name, email, roles, clock)).user)
    # NOTE: purchases go through the subscription services once they exist; until then the
    # demo writes its rows directly, keeping assigned_count equal to the assignment rows.
    tenant_id = signed_up.tenant.id
    account = await models.BillingAccount.get(tenant_id=tenant_id)
    profile = await models.BillingProfile.get(tenant_id=tenant_id, billing_account_id=account.id)
    now = clock.now()
    async with in_transaction():
        card = await models.PaymentMethod.create(
            tenant_id=tenant_id, billing_account_id=account.id, brand="VISA", last4="4242",
            expiry_month=12, expiry_year=now.year + 3, name_on_card="Grace Global",
            address={"line1": "1 Demo Way", "city": "Seattle", "postal_code": "98052",
                     "state": "WA", "country": "US"},
            gateway_token="sandbox_tok_demo", created_at=now,
        )
        profile.payment_method_id = card.id
        await profile.save(update_fields=["payment_method_id"])
        account.billing_day = now.day if now.day <= 28 else 28
        await account.save(update_fields=["billing_day"])
        invoice = await models.Invoice.create(
            tenant_id=tenant_id, billing_account_id=account.id, billing_profile_id=profile.id,
            number="INV-000001", issue_date=now.date(), period_start=now.date(),
            period_end=(now + timedelta(days=30)).date(), status=models.InvoiceStatus.PAID,
            total=Decimal("0.00"), amount_due=Decimal("0.00"), created_at=now,
        )
        total = Decimal("0.00")
        for sku, quantity, holders in (("O365_E3", 10, people[:4]), ("POWER_BI_PRO", 5, people[2:4])):
            product = await models.Product.get(sku=sku)
            subscription = await models.Subscription.create(
                tenant_id=tenant_id, billing_account_id=account.id, billing_profile_id=profile.id,
                product_id=product.id, status=models.SubscriptionStatus.ACTIVE,
                status_changed_at=now, quantity=quantity, assigned_count=len(holders),
                commitment_term=models.CommitmentTerm.MONTHLY, auto_renew=True,
                start_date=now.date(), term_start=now, term_end=now + timedelta(days=30),
                next_charge_date=(now + timedelta(days=30)).date(),
                purchase_channel=models.PurchaseChannel.ADMIN, purchased_by_id=signed_up.user.id,
                unit_price=product.monthly_price, currency=product.currency, created_at=now,
            )
            for holder in holders:
                await models.LicenseAssignment.create(
                    tenant_id=tenant_id, subscription_id=subscription.id, user_id=holder.id,
                    product_id=product.id, assigned_at=now,
                )
            amount = round_cents(product.monthly_price * quantity)
            total += amount
            await models.InvoiceLine.create(
                tenant_id=tenant_id, billing_profile_id=profile.id, invoice_id=invoice.id,
                subscription_id=subscription.id, kind=models.InvoiceLineKind.PURCHASE,
                description=f"{product.name}, {quantity} licences, first month",
                quantity=quantity, unit_price=product.monthly_price, amount=amount,
                currency=product.currency, period_start=now.date(),
                period_end=(now + timedelta(days=30)).date(),
                explanation=f"{quantity} x {product.monthly_price} {product.currency} for one month",
                charge_on=now.date(), created_at=now,
            )
        invoice.total = total
        await invoice.save(update_fields=["total"])
