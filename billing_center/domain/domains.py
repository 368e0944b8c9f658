"""Custom domains of a tenant (SPEC §1), optionally attached to a subscription, which then
cannot be cancelled until the domain is removed (SPEC §5).

**Decision**: a custom domain name is unique within its tenant, not across tenants (any
organization may add `contoso.com`; proving ownership, e.g. by DNS, is not modelled). The
default `<prefix>.onmicrosoft.com` is issued by the platform and is unique across tenants
(`models.Domain.reserved_name`); custom domains may not end in `.onmicrosoft.com`.
"""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, models, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.tenants import DEFAULT_DOMAIN_SUFFIX

HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


async def add_domain(actor: Actor, name: str, subscription_id: int | None, clock: Clock) -> int:
    """A global admin adds a custom domain, optionally attached to a subscription of the
    tenant. Names are unique per tenant only: whether another tenant has added a name is
    never revealed (nor can a tenant squat a name for the others). Raises FORBIDDEN,
    INVALID_INPUT, NOT_FOUND, ALREADY_EXISTS (your tenant has it). Returns its id."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage domains")
    name = (name or "").strip().lower().rstrip(".")
    if not HOSTNAME.match(name) or name.endswith(DEFAULT_DOMAIN_SUFFIX):
        raise DomainError(ErrorCode.INVALID_INPUT, "Give a domain name such as contoso.com.", ("input", "name"))
    if subscription_id is not None and not await models.Subscription.filter(
        visibility.subscriptions(actor), id=subscription_id
    ).exists():
        raise not_found("Subscription", ("input", "subscriptionId"))
    now = clock.now()
    try:
        async with atomic():
            domain = await models.Domain.create(
                tenant_id=tenant_id, name=name, is_default=False, subscription_id=subscription_id, created_at=now
            )
            await audit.record(actor, tenant_id, "domain.added", "Domain", domain.id, now,
                               after={"name": name, "subscriptionId": subscription_id})
    except IntegrityError:
        raise DomainError(ErrorCode.ALREADY_EXISTS, "Your organization has this domain already.",
                          ("input", "name")) from None
    return domain.id


async def remove_domain(actor: Actor, domain_id: int, clock: Clock) -> None:
    """A global admin removes a custom domain (never the default one). Raises FORBIDDEN,
    NOT_FOUND, INVALID_INPUT."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage domains")
    rows = await models.Domain.filter(tenant_id=tenant_id, id=domain_id).values("name", "is_default", "subscription_id")
    if not rows:
        raise not_found("Domain", ("input", "domainId"))
    if rows[0]["is_default"]:
        raise DomainError(ErrorCode.INVALID_INPUT, "The default domain cannot be removed.", ("input", "domainId"))
    now = clock.now()
    async with atomic():
        deleted = await models.Domain.filter(tenant_id=tenant_id, id=domain_id).delete()
        if deleted:
            await audit.record(actor, tenant_id, "domain.removed", "Domain", domain_id, now,
                               before={"name": rows[0]["name"], "subscriptionId": rows[0]["subscription_id"]})
