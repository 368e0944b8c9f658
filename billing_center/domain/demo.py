"""Demo data for a first look in GraphiQL: one organization with people, a card,
subscriptions and licences, made through the same services as the API. Running it again adds
nothing but fresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from billing_center.domain import auth, licenses, models, payment_methods, purchases, tenants
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.payments import CardDetails, SandboxGateway

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
    existing = await models.Domain.get_or_none(reserved_name=DEMO_DOMAIN)
    if existing is None:
        await _create(clock)
        existing = await models.Domain.get(reserved_name=DEMO_DOMAIN)
    users = await models.User.filter(tenant_id=existing.tenant_id, removed_at__isnull=True).order_by("id").values(
        "id", "display_name", "roles"
    )
    logins = []
    now = clock.now()
    for user in users:
        # The operator's demo seeding, not an API call: it hands out logins of a made-up
        # organization (SPEC §1 rev. 2 forbids minting for others through the API).
        token, _ = await auth.issue_token(existing.tenant_id, user["id"], now, "Demo login")
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
    gateway = SandboxGateway()
    profile = await models.BillingProfile.get(tenant_id=signed_up.tenant.id)
    await payment_methods.add_payment_method(
        admin, profile.id,
        CardDetails("4242424242424242", "123", 12, clock.now().year + 3, "Grace Global",
                    {"line1": "1 Demo Way", "city": "Seattle", "postal_code": "98052", "state": "WA",
                     "country": "US"}),
        clock, gateway,
    )
    for sku, quantity, holders in (("O365_E3", 10, people[:4]), ("POWER_BI_PRO", 5, people[2:4])):
        product = await models.Product.get(sku=sku)
        bought = await purchases.purchase_subscription(
            admin, purchases.PurchaseRequest(product.id, quantity, models.CommitmentTerm.MONTHLY), clock, gateway
        )
        await licenses.assign_licenses(
            admin, [user.id for user in holders], licenses.Target(subscription_id=bought.subscription_id), clock
        )
