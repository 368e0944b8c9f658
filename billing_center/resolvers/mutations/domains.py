"""Mutations of custom domains (SPEC §1, §5)."""

from __future__ import annotations

from billing_center.domain import domains
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema.mutations import domains as schema


@mutation("Add a custom domain, optionally attached to a subscription (global admins).",
          input="The domain.")
async def add_domain(actor: Actor, ctx: Context, data: schema.AddDomainInput) -> schema.AddDomainPayload:
    """addDomain (SPEC §1, §5)."""
    domain_id = await domains.add_domain(
        actor, data.name, input_id(data, "subscription_id", "Subscription"), ctx.clock)
    return schema.AddDomainPayload(domain=await ctx.loaders.domain_by_id.load(domain_id))


@mutation("Remove a custom domain (global admins); needed before cancelling its subscription.",
          input="The domain.")
async def remove_domain(actor: Actor, ctx: Context, data: schema.RemoveDomainInput) -> schema.RemoveDomainPayload:
    """removeDomain (SPEC §1, §5)."""
    await domains.remove_domain(actor, input_id(data, "domain_id", "Domain"), ctx.clock)
    return schema.RemoveDomainPayload(removed_domain_id=data.domain_id)
