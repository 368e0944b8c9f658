"""Builders of test data through the domain services (and, for what the lifecycle issue has
not built yet, directly as rows that keep the invariants)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from tortoise import Tortoise

from billing_center.domain import auth, models, tenants
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.schema.ids import from_global_id, to_global_id


@dataclass
class Org:
    """A signed-up tenant with its first global admin."""

    tenant: models.Tenant
    admin: models.User
    token: str
    account: models.BillingAccount
    profile: models.BillingProfile

    @property
    def actor(self) -> Actor:
        return Actor.user(self.tenant.id, self.admin.id, self.admin.roles)


async def sign_up(
    clock: Clock,
    name: str = "Contoso",
    account_type: models.BillingAccountType = models.BillingAccountType.MCA,
    sandbox: bool = False,
    charge_schedule: models.ChargeSchedule = models.ChargeSchedule.ACCOUNT_BILLING_DAY,
) -> Org:
    result = await tenants.sign_up(
        tenants.SignUp(
            organization_name=name,
            admin_display_name=f"{name} Admin",
            admin_email=f"admin@{name.lower()}.example",
            cloud=models.Cloud.WORLDWIDE,
            billing_account_type=account_type,
            charge_schedule=charge_schedule,
            sandbox=sandbox,
        ),
        clock,
    )
    account = await models.BillingAccount.get(tenant_id=result.tenant.id)
    profile = await models.BillingProfile.get(tenant_id=result.tenant.id)
    return Org(result.tenant, result.user, result.token, account, profile)


async def add_user(org: Org, clock: Clock, name: str, roles: list[models.Role] | None = None) -> tuple[models.User, str]:
    created = await tenants.create_user(
        org.actor, name, f"{name.lower().replace(' ', '.')}@{org.tenant.name.lower()}.example",
        roles or [], clock,
    )
    return created.user, created.token


async def add_card(org: Org, clock: Clock, declines: bool = False) -> models.PaymentMethod:
    """A card on the org's profile; with `declines`, the sandbox gateway declines its charges."""
    card = await models.PaymentMethod.create(
        tenant_id=org.tenant.id, billing_account_id=org.account.id, brand="VISA",
        last4="0341" if declines else "4242", expiry_month=12, expiry_year=2030, name_on_card="Test Card",
        gateway_token="tok_sandbox_chargefail_test" if declines else "tok_test",
        created_at=clock.now(),
    )
    org.profile.payment_method_id = card.id
    await org.profile.save(update_fields=["payment_method_id"])
    return card


async def add_subscription(
    org: Org,
    clock: Clock,
    sku: str = "O365_E3",
    quantity: int = 10,
    holders: list[models.User] | None = None,
    account: models.BillingAccount | None = None,
    profile: models.BillingProfile | None = None,
    **overrides: Any,
) -> models.Subscription:
    product = await models.Product.get(sku=sku)
    now = clock.now()
    holders = holders or []
    values: dict[str, Any] = dict(
        tenant_id=org.tenant.id,
        billing_account_id=(account or org.account).id,
        billing_profile_id=(profile or org.profile).id,
        product_id=product.id,
        status=models.SubscriptionStatus.ACTIVE,
        status_changed_at=now,
        quantity=quantity,
        assigned_count=len(holders),
        commitment_term=models.CommitmentTerm.MONTHLY,
        auto_renew=True,
        start_date=now.date(),
        term_start=now,
        term_end=now + timedelta(days=30),
        purchase_channel=models.PurchaseChannel.ADMIN,
        purchased_by_id=org.admin.id,
        unit_price=product.monthly_price,
        currency=product.currency,
        created_at=now,
    )
    charged = overrides.pop("charged", False)
    values.update(overrides)
    subscription = await models.Subscription.create(**values)
    if charged:
        # What the term was charged (an outstanding PURCHASE line): credits are capped by it (§7).
        amount = Decimal(values["unit_price"]) * values["quantity"]
        await models.InvoiceLine.create(
            tenant_id=org.tenant.id, billing_profile_id=values["billing_profile_id"], subscription_id=subscription.id,
            kind=models.InvoiceLineKind.PURCHASE, description="purchase", quantity=values["quantity"],
            unit_price=values["unit_price"], amount=amount, period_start=values["term_start"].date(),
            period_end=values["term_end"].date(), explanation="test purchase", charge_on=values["term_start"].date(),
            created_at=now,
        )
    if holders:
        await models.LicenseAssignment.bulk_create([
            models.LicenseAssignment(
                tenant_id=org.tenant.id, subscription_id=subscription.id, user_id=user.id,
                product_id=product.id, assigned_at=now,
            )
            for user in holders
        ])
    return subscription


async def add_invoice(org: Org, clock: Clock, number: str, days_ago: int, amount: str = "10.00") -> models.Invoice:
    issued = (clock.now() - timedelta(days=days_ago)).date()
    return await models.Invoice.create(
        tenant_id=org.tenant.id, billing_account_id=org.account.id, billing_profile_id=org.profile.id,
        number=number, issue_date=issued, period_start=issued, period_end=issued + timedelta(days=30),
        status=models.InvoiceStatus.OPEN, total=Decimal(amount), amount_due=Decimal(amount),
        created_at=clock.now(),
    )


async def tokens_used_just_now(org: Org, clock: Clock) -> None:
    """Mark the tenant's tokens as used a moment ago: a token's use is recorded at most once a
    minute (domain.auth), so a request counted by a statement-count test then runs the token
    lookup and nothing else for its token."""
    await models.ApiToken.filter(tenant_id=org.tenant.id).update(last_used_at=clock.now())


async def token_for(org: Org, user: models.User, clock: Clock) -> str:
    return (await auth.issue_token(org.tenant.id, user.id, clock.now()))[0]


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None
) -> dict:
    """POST a GraphQL document; returns the decoded JSON body (asserting HTTP 200)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def pk(global_id: str) -> int:
    """The database id inside a global id."""
    decoded = from_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


async def row_counts() -> dict[str, int]:
    """How many rows each table holds: a refused call leaves every count as it was."""
    return {name: await model.all().count() for name, model in sorted(Tortoise.apps["models"].items())}
