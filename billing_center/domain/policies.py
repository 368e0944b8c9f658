"""Self-service policies (SPEC §6): whether plain users may buy a product in a tenant."""

from __future__ import annotations

from billing_center.domain import models


async def policy_for(tenant_id: int, product_id: int) -> models.SelfServicePolicy:
    """§6: the product's self-service policy in a tenant, or the tenant's default."""
    own = await models.ProductSelfServicePolicy.filter(tenant_id=tenant_id, product_id=product_id).values_list(
        "policy", flat=True
    )
    if own:
        return models.SelfServicePolicy(own[0])
    tenant = await models.Tenant.get(id=tenant_id)
    return models.SelfServicePolicy(tenant.default_self_service_policy)
