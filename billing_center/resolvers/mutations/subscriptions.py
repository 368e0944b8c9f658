"""Mutations of subscriptions: buying, changing, cancelling and reactivating them, and who
may buy what (SPEC §3, §5, §6, §7)."""

from __future__ import annotations

from billing_center.domain import cancellation, models, policies, purchases, reactivation, subscriptions
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.payment_methods import card_details
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema import types
from billing_center.schema.mutations import subscriptions as schema


@mutation("Turn auto-renew on or off while the subscription is active.",
          input="Which subscription, on or off.")
async def set_auto_renew(actor: Actor, ctx: Context, data: schema.SetAutoRenewInput) -> schema.SetAutoRenewPayload:
    """setAutoRenew (SPEC §3, §5)."""
    subscription_id = input_id(data, "subscription_id", "Subscription")
    await subscriptions.set_auto_renew(actor, subscription_id, data.auto_renew, ctx.clock, data.expected_version)
    return schema.SetAutoRenewPayload(subscription=await ctx.loaders.subscription_by_id.load(subscription_id))


@mutation("Buy or remove licences by giving the new total; charged or credited pro rata. "
          "Accepts an idempotency key.",
          input="The subscription and its new total.")
async def update_license_quantity(actor: Actor, ctx: Context,
                                  data: schema.UpdateLicenseQuantityInput) -> schema.UpdateLicenseQuantityPayload:
    """updateLicenseQuantity (SPEC §3, §7)."""
    change = await subscriptions.update_license_quantity(
        actor, input_id(data, "subscription_id", "Subscription"), data.total_licenses, ctx.clock,
        data.idempotency_key, data.expected_version, ctx.gateway,
    )
    loaders = ctx.loaders
    return schema.UpdateLicenseQuantityPayload(
        subscription=await loaders.subscription_by_id.load(change.subscription_id),
        invoice_line=await loaders.invoice_line_by_id.load(change.invoice_line_id) if change.invoice_line_id else None,
        replayed=change.replayed,
    )


@mutation("Cancel a subscription: DISABLED for 90 days, assignments suspended, unused term credited on the "
          "next invoice. Accepts an idempotency key.",
          input="The subscription, reason and feedback.")
async def cancel_subscription(actor: Actor, ctx: Context,
                              data: schema.CancelSubscriptionInput) -> schema.CancelSubscriptionPayload:
    """cancelSubscription (SPEC §5)."""
    done = await cancellation.cancel_subscription(
        actor, input_id(data, "subscription_id", "Subscription"), models.CancellationReason(data.reason.value),
        data.feedback, ctx.clock, data.idempotency_key, data.expected_version,
    )
    return schema.CancelSubscriptionPayload(
        subscription=await ctx.loaders.subscription_by_id.load(done.subscription_id),
        credit=types.Money.from_amount(done.credit, done.currency), replayed=done.replayed,
    )


@mutation("Buy a product or start its trial: admins for the organization, plain users self-service. "
          "Accepts an idempotency key.",
          input="What to buy and how to pay.")
async def purchase_subscription(actor: Actor, ctx: Context,
                                data: schema.PurchaseSubscriptionInput) -> schema.PurchaseSubscriptionPayload:
    """purchaseSubscription (SPEC §3, §6, §7)."""
    request = purchases.PurchaseRequest(
        product_id=input_id(data, "product_id", "Product"),
        quantity=data.quantity,
        commitment_term=models.CommitmentTerm(data.commitment_term.value),
        billing_account_id=input_id(data, "billing_account_id", "BillingAccount"),
        payment_method_id=input_id(data, "payment_method_id", "PaymentMethod"),
        new_payment_method=card_details(data.new_payment_method) if data.new_payment_method else None,
        trial=data.trial,
        idempotency_key=data.idempotency_key,
    )
    done = await purchases.purchase_subscription(actor, request, ctx.clock, ctx.gateway)
    loaders = ctx.loaders
    return schema.PurchaseSubscriptionPayload(
        subscription=await loaders.subscription_by_id.load(done.subscription_id),
        invoice=await loaders.invoice_by_id.load(done.invoice_id) if done.invoice_id else None,
        invoice_line=await loaders.invoice_line_by_id.load(done.invoice_line_id) if done.invoice_line_id else None,
        replayed=done.replayed,
    )


@mutation("Set whether plain users may buy a product themselves (global admins).",
          input="The product and its policy.")
async def set_self_service_policy(actor: Actor, ctx: Context,
                                  data: schema.SetSelfServicePolicyInput) -> schema.SetSelfServicePolicyPayload:
    """setSelfServicePolicy (SPEC §6)."""
    product_id = input_id(data, "product_id", "Product")
    await policies.set_self_service_policy(actor, product_id, models.SelfServicePolicy(data.policy.value), ctx.clock)
    return schema.SetSelfServicePolicyPayload(
        product=await ctx.loaders.product_by_id.load(product_id), policy=data.policy
    )


@mutation("Reactivate an expired or disabled subscription: MCA creates a new one, MOSA revives the same one "
          "with a payment method. Accepts an idempotency key.",
          input="The subscription and, for MOSA, how to pay.")
async def reactivate_subscription(actor: Actor, ctx: Context,
                                  data: schema.ReactivateSubscriptionInput) -> schema.ReactivateSubscriptionPayload:
    """reactivateSubscription (SPEC §5)."""
    done = await reactivation.reactivate_subscription(
        actor, input_id(data, "subscription_id", "Subscription"), ctx.clock, ctx.gateway,
        payment_method_id=input_id(data, "payment_method_id", "PaymentMethod"),
        new_payment_method=card_details(data.new_payment_method) if data.new_payment_method else None,
        idempotency_key=data.idempotency_key, expected_version=data.expected_version,
    )
    loaders = ctx.loaders
    return schema.ReactivateSubscriptionPayload(
        subscription=await loaders.subscription_by_id.load(done.subscription_id),
        previous_subscription=await loaders.subscription_by_id.load(done.previous_subscription_id),
        replayed=done.replayed,
    )
