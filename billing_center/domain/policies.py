"""Self-service policies (SPEC §6): whether plain users may buy a product in a tenant, and
the global admin's setting of it."""

from __future__ import annotations

from billing_center.domain import audit, models
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.subscription_rules import self_service_policy_allows


async def policy_for(tenant_id: int, product_id: int) -> models.SelfServicePolicy:
    """§6: the product's self-service policy in a tenant, or the tenant's default."""
    own = await models.ProductSelfServicePolicy.filter(tenant_id=tenant_id, product_id=product_id).values_list(
        "policy", flat=True
    )
    if own:
        return models.SelfServicePolicy(own[0])
    tenant = await models.Tenant.get(id=tenant_id)
    return models.SelfServicePolicy(tenant.default_self_service_policy)


async def require_self_service(actor: Actor, product: dict, trial: bool) -> None:
    """§6: a plain user may buy `product` (a product row) themselves, as a trial or not;
    NOT_SELF_SERVICE or SELF_SERVICE_NOT_ALLOWED otherwise."""
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
