"""Mutations of cards and the billing profiles they pay for (SPEC §2)."""

from __future__ import annotations

from billing_center.domain import payment_methods
from billing_center.domain.actor import Actor
from billing_center.domain.payment_gateway import CardDetails
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema.mutations import payment_methods as schema
from billing_center.schema.mutations.common import CardInput


def card_details(card: CardInput) -> CardDetails:
    """A card input as the domain takes it."""
    return CardDetails(card.number, card.security_code, card.expiry_month, card.expiry_year,
                       card.name_on_card, card.address.to_json() if card.address else None)


@mutation("Add a card to a billing profile; it becomes the profile's payment method.",
          input="The profile and the card.")
async def add_payment_method(actor: Actor, ctx: Context,
                             data: schema.AddPaymentMethodInput) -> schema.PaymentMethodPayload:
    """addPaymentMethod (SPEC §2)."""
    profile_id = input_id(data, "billing_profile_id", "BillingProfile")
    method_id = await payment_methods.add_payment_method(
        actor, profile_id, card_details(data.card), ctx.clock, ctx.gateway,
    )
    return schema.PaymentMethodPayload(payment_method=await ctx.loaders.payment_method_by_id.load(method_id))


@mutation("Edit a card's security code, expiry, name or address.",
          input="The card and its changes.")
async def update_payment_method(actor: Actor, ctx: Context,
                                data: schema.UpdatePaymentMethodInput) -> schema.PaymentMethodPayload:
    """updatePaymentMethod (SPEC §2)."""
    method_id = input_id(data, "payment_method_id", "PaymentMethod")
    await payment_methods.update_payment_method(
        actor, method_id,
        payment_methods.CardEdit(
            security_code=data.security_code, expiry_month=data.expiry_month, expiry_year=data.expiry_year,
            name_on_card=data.name_on_card, address=data.address.to_json() if data.address else None,
        ),
        ctx.clock,
    )
    return schema.PaymentMethodPayload(payment_method=await ctx.loaders.payment_method_by_id.load(method_id))


@mutation("Pay a billing profile with another card of its billing account.",
          input="The profile and the card.")
async def replace_payment_method(actor: Actor, ctx: Context,
                                 data: schema.ReplacePaymentMethodInput) -> schema.ReplacePaymentMethodPayload:
    """replacePaymentMethod (SPEC §2)."""
    profile_id = input_id(data, "billing_profile_id", "BillingProfile")
    method_id = input_id(data, "payment_method_id", "PaymentMethod")
    await payment_methods.replace_payment_method(actor, profile_id, method_id, ctx.clock)
    return schema.ReplacePaymentMethodPayload(billing_profile=await ctx.loaders.billing_profile_by_id.load(profile_id))
