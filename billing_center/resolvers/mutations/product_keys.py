"""Mutations of product keys: the operator issues them, tenants redeem them (SPEC §5)."""

from __future__ import annotations

from billing_center.domain import models, product_keys
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema.mutations import product_keys as schema


@mutation("Issue product keys (platform operator only).",
          input="Product, count, cloud, licences, term.")
async def issue_product_keys(actor: Actor, ctx: Context,
                             data: schema.IssueProductKeysInput) -> schema.IssueProductKeysPayload:
    """issueProductKeys (operator, SPEC §5)."""
    keys = await product_keys.issue_product_keys(actor, product_keys.KeyBatch(
        product_id=input_id(data, "product_id", "Product"), count=data.count,
        cloud=models.Cloud(data.cloud.value), quantity=data.quantity,
        commitment_term=models.CommitmentTerm(data.commitment_term.value), valid_days=data.valid_days,
    ), ctx.clock)
    return schema.IssueProductKeysPayload(keys=keys)


@mutation("Redeem a product key into a prepaid subscription (global and billing admins). "
          "Accepts an idempotency key.",
          input="The key.")
async def redeem_product_key(actor: Actor, ctx: Context,
                             data: schema.RedeemProductKeyInput) -> schema.RedeemProductKeyPayload:
    """redeemProductKey (SPEC §5)."""
    subscription_id, replayed = await product_keys.redeem_product_key(
        actor, data.product_key, ctx.clock, data.idempotency_key
    )
    return schema.RedeemProductKeyPayload(
        subscription=await ctx.loaders.subscription_by_id.load(subscription_id), replayed=replayed
    )
