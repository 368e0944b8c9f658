"""Sign-up and new users (SPEC §1); tokens in `domain.tokens`, roles and removal in `domain.users`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, auth, models
from billing_center.domain.actor import Actor, normalise_roles
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode

DEFAULT_DOMAIN_SUFFIX = ".onmicrosoft.com"
ADMIN_CENTER_URLS = {
    models.Cloud.WORLDWIDE: "https://admin.microsoft.com/",
    models.Cloud.GERMANY: "https://portal.office.de/",
    models.Cloud.CHINA_21VIANET: "https://portal.partner.microsoftonline.cn/",
}
MAX_NAME = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_PREFIX = re.compile(r"^[a-z0-9]{1,27}$")


@dataclass(frozen=True)
class SignUp:
    """What a sign-up asks for."""

    organization_name: str
    admin_display_name: str
    admin_email: str
    cloud: models.Cloud
    billing_account_type: models.BillingAccountType
    charge_schedule: models.ChargeSchedule = models.ChargeSchedule.ACCOUNT_BILLING_DAY
    sandbox: bool = False
    domain_prefix: str | None = None


@dataclass(frozen=True)
class SignedUp:
    """A new tenant, its first global admin, that admin's token (shown once) and the billing
    account and profile the admin owns (a card goes on the profile)."""

    tenant: models.Tenant
    user: models.User
    token: str
    billing_account: models.BillingAccount
    billing_profile: models.BillingProfile


@dataclass(frozen=True)
class CreatedUser:
    """A new user and their first API token (shown once)."""

    user: models.User
    token: str


def admin_center_url(cloud: models.Cloud | str) -> str:
    """The admin center address of a cloud (§1)."""
    return ADMIN_CENTER_URLS[models.Cloud(cloud)]


def default_domain_prefix(organization_name: str) -> str:
    """`Contoso Ltd.` → `contosoltd`: the admin center's default `<name>.onmicrosoft.com`."""
    return re.sub(r"[^a-z0-9]", "", organization_name.lower())[:27]


def _required_text(value: str, field: str, max_length: int = MAX_NAME) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(ErrorCode.INVALID_INPUT, f"{field} must not be empty.", ("input", field))
    if len(value) > max_length:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"{field} must be at most {max_length} characters.",
            ("input", field),
        )
    return value


def _email(value: str, field: str) -> str:
    value = _required_text(value, field, 320).lower()
    if not EMAIL.match(value):
        raise DomainError(ErrorCode.INVALID_INPUT, f"{field} is not an email address.", ("input", field))
    return value


async def sign_up(request: SignUp, clock: Clock, allow_sandbox: bool = True) -> SignedUp:
    """Create a tenant with its default domain and first global admin, who owns the tenant's
    billing account (of the chosen type) with one billing profile (§1, §2). `allow_sandbox`
    is the deployment's choice whether sandbox tenants (a test clock, §7) may be created.

    Raises SANDBOX_NOT_ALLOWED, INVALID_INPUT for bad names or emails and ALREADY_EXISTS
    when the domain is taken.
    """
    if request.sandbox and not allow_sandbox:
        # A sandbox tenant moves its own clock: renewals, trials and dunning on demand.
        raise DomainError(ErrorCode.SANDBOX_NOT_ALLOWED, "This service does not create sandbox tenants.",
                          ("input", "sandbox"))
    name = _required_text(request.organization_name, "organizationName")
    admin_name = _required_text(request.admin_display_name, "adminDisplayName")
    email = _email(request.admin_email, "adminEmail")
    domain_name = _default_domain(request, name)
    now = clock.now()
    try:
        async with atomic():
            return await _create_tenant(request, name, admin_name, email, domain_name, now)
    except IntegrityError:
        # The default domain's reserved name is the only unique key a sign-up can collide on.
        raise DomainError(
            ErrorCode.ALREADY_EXISTS,
            f"The domain {domain_name} is taken; choose another domainPrefix.",
            ("input", "domainPrefix"),
        ) from None


def _default_domain(request: SignUp, name: str) -> str:
    """§1: the tenant's default domain, from the prefix asked for or the organization's name."""
    prefix = (request.domain_prefix or default_domain_prefix(name)).lower()
    if not DOMAIN_PREFIX.match(prefix):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "The domain prefix must be 1-27 letters or digits.",
            ("input", "domainPrefix" if request.domain_prefix else "organizationName"),
        )
    return prefix + DEFAULT_DOMAIN_SUFFIX


async def _create_tenant(request: SignUp, name: str, admin_name: str, email: str, domain_name: str,
                         now: datetime) -> SignedUp:
    """The writes of a sign-up, inside its transaction."""
    # Write-first: on SQLite the transaction then holds the write lock from its first
    # statement instead of failing on a read-to-write upgrade.
    tenant = await models.Tenant.create(
        name=name,
        cloud=request.cloud,
        sandbox=request.sandbox,
        clock_now=now if request.sandbox else None,
        created_at=now,
    )
    await models.Domain.create(
        tenant_id=tenant.id, name=domain_name, reserved_name=domain_name, is_default=True, created_at=now
    )
    user = await models.User.create(
        tenant_id=tenant.id,
        display_name=admin_name,
        email=email,
        roles=[models.Role.GLOBAL_ADMIN.value],
        created_at=now,
    )
    account = await models.BillingAccount.create(
        tenant_id=tenant.id,
        name=f"{name} billing account",
        type=request.billing_account_type,
        owner_id=user.id,
        charge_schedule=request.charge_schedule,
        created_at=now,
    )
    profile = await models.BillingProfile.create(
        tenant_id=tenant.id,
        billing_account_id=account.id,
        name=f"{name} billing profile",
        created_at=now,
    )
    token, _ = await auth.issue_token(tenant.id, user.id, now, "Sign-up token")
    actor = Actor.user(tenant.id, user.id, user.roles)
    await audit.record(
        actor, tenant.id, "tenant.signed_up", "Tenant", tenant.id, now,
        after={"name": name, "cloud": request.cloud, "domain": domain_name,
               "billingAccountType": request.billing_account_type,
               "chargeSchedule": request.charge_schedule, "sandbox": request.sandbox},
    )
    return SignedUp(tenant=tenant, user=user, token=token, billing_account=account, billing_profile=profile)


async def create_user(
    actor: Actor, display_name: str, email: str, roles: list[models.Role], clock: Clock,
    wall_clock: Clock | None = None,
) -> CreatedUser:
    """A global admin adds a user to their tenant, with roles, and gets the user's first token
    (the only token anyone gets for someone else, §1 rev. 2; its times on `wall_clock`).

    Raises FORBIDDEN for anyone else, INVALID_INPUT, ALREADY_EXISTS for an email a current
    user has (a removed user's email may be reused).
    """
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "create users")
    display_name = _required_text(display_name, "displayName")
    email = _email(email, "email")
    stored_roles = [r.value for r in normalise_roles(roles) if r is not models.Role.USER]
    now = clock.now()
    try:
        async with atomic():
            user = await models.User.create(
                tenant_id=tenant_id,
                display_name=display_name,
                email=email,
                roles=stored_roles,
                created_at=now,
            )
            token, _ = await auth.issue_token(tenant_id, user.id, (wall_clock or clock).now(), "First token")
            await audit.record(
                actor, tenant_id, "user.created", "User", user.id, now,
                after={"displayName": display_name, "email": email, "roles": stored_roles},
            )
    except IntegrityError:
        raise DomainError(
            ErrorCode.ALREADY_EXISTS, "A user with this email already exists.", ("input", "email")
        ) from None
    return CreatedUser(user=user, token=token)
