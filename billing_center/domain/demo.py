"""Demo data for a first look in GraphiQL: one organization with people, a card,
subscriptions and licences, made through the same services as the API.

Seeding is idempotent: the first run creates the organization and returns a token for each of
its people; a later run finds it and mints nothing (a restart of `scripts/start` must not pile
up tokens). `demo_token` hands the operator a fresh token for one demo person on request."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from billing_center.domain import auth, licenses, models, payment_methods, purchases, tenants
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.payment_gateway import CardDetails, SandboxGateway

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


@dataclass(frozen=True)
class DemoPerson:
    """A person of the demo organization: `key` (their email's local part) picks them in
    `demo_token`."""

    key: str
    email: str
    display_name: str
    roles: list[str]


@dataclass(frozen=True)
class DemoSeed:
    """What seeding did: `created` is False when the organization existed already, and then
    `logins` is empty (no token was minted)."""

    created: bool
    logins: list[DemoLogin]
    people: list[DemoPerson]


TOKEN_NAME = "Demo login"


async def seed_demo(clock: Clock) -> DemoSeed:
    """Create the demo organization once, with a token for each of its people; when it exists
    already, change nothing and only list its people."""
    existing = await models.Domain.get_or_none(reserved_name=DEMO_DOMAIN)
    if existing is not None:
        return DemoSeed(False, [], await demo_people())
    tenant_id = await _create(clock)
    people = await _people(tenant_id)
    logins = []
    now = clock.now()
    for person in people:
        # The operator's demo seeding, not an API call: it hands out logins of a made-up
        # organization (SPEC §1 rev. 2 forbids minting for others through the API).
        token, _ = await auth.issue_token(tenant_id, person[0], now, TOKEN_NAME)
        logins.append(DemoLogin(person[1].display_name, person[1].roles, token))
    return DemoSeed(True, logins, [person for _, person in people])


async def demo_people() -> list[DemoPerson]:
    """The demo organization's people (empty when it was never seeded)."""
    existing = await models.Domain.get_or_none(reserved_name=DEMO_DOMAIN)
    return [person for _, person in await _people(existing.tenant_id)] if existing else []


async def demo_token(who: str, clock: Clock) -> DemoLogin:
    """A fresh token for the demo person `who`: their key (`grace`), email, or a role
    (`GLOBAL_ADMIN` or `admin`, `USER`; the first person holding it). Earlier demo tokens of that person
    are revoked, so asking again and again leaves one live demo token per person (the
    `User.apiTokens` bound of 50 live tokens holds). LookupError when the organization or
    the person does not exist (the message says which names exist)."""
    existing = await models.Domain.get_or_none(reserved_name=DEMO_DOMAIN)
    if existing is None:
        raise LookupError("There is no demo organization: run `billing-center seed-demo` first.")
    people = await _people(existing.tenant_id)
    wanted = who.strip().lower()
    role = "GLOBAL_ADMIN" if wanted == "admin" else wanted.upper()
    match = next((p for p in people if wanted in (p[1].key, p[1].email.lower())), None) or next(
        (p for p in people if role in p[1].roles), None)
    if match is None:
        names = ", ".join(p.key for _, p in people)
        raise LookupError(f"No demo person {who!r}: use one of {names} (or a role such as GLOBAL_ADMIN).")
    user_id, person = match
    now = clock.now()
    async with in_transaction():
        await models.ApiToken.filter(tenant_id=existing.tenant_id, user_id=user_id, name=TOKEN_NAME,
                                     revoked_at__isnull=True).update(revoked_at=now)
        token, _ = await auth.issue_token(existing.tenant_id, user_id, now, TOKEN_NAME)
    return DemoLogin(person.display_name, person.roles, token)


async def _people(tenant_id: int) -> list[tuple[int, DemoPerson]]:
    users = await models.User.filter(tenant_id=tenant_id, removed_at__isnull=True).order_by("id").values(
        "id", "display_name", "email", "roles"
    )
    return [
        (u["id"], DemoPerson(u["email"].partition("@")[0].lower(), u["email"], u["display_name"], u["roles"] or ["USER"]))
        for u in users
    ]


async def _create(clock: Clock) -> int:
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
    return signed_up.tenant.id
