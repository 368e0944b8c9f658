"""Inputs and payloads of the mutations of cards and the billing profiles they pay for:
addPaymentMethod, updatePaymentMethod, replacePaymentMethod."""

from __future__ import annotations

import strawberry

from billing_center.schema.errors import UserError
from billing_center.schema.mutations.common import AddressInput, CardInput
from billing_center.schema.types import BillingProfile, PaymentMethod


@strawberry.input(description="A new card for a billing profile; it becomes the profile's payment method.")
class AddPaymentMethodInput:
    billing_profile_id: strawberry.ID = strawberry.field(description="The billing profile.")
    card: CardInput = strawberry.field(description="The card.")


@strawberry.input(description="Changes to a stored card: security code, expiry, name, address.")
class UpdatePaymentMethodInput:
    payment_method_id: strawberry.ID = strawberry.field(description="The card.")
    security_code: str | None = strawberry.field(default=None, description="A new security code (checked, passed to the gateway, never stored).")
    expiry_month: int | None = strawberry.field(default=None, description="New expiry month.")
    expiry_year: int | None = strawberry.field(default=None, description="New expiry year.")
    name_on_card: str | None = strawberry.field(default=None, description="New cardholder name.")
    address: AddressInput | None = strawberry.field(default=None, description="New billing address.")


@strawberry.type(description="Result of `addPaymentMethod` and `updatePaymentMethod`.")
class PaymentMethodPayload:
    payment_method: PaymentMethod | None = strawberry.field(default=None, description="The card, masked.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="Make another card of the same billing account the profile's payment method.")
class ReplacePaymentMethodInput:
    billing_profile_id: strawberry.ID = strawberry.field(description="The billing profile.")
    payment_method_id: strawberry.ID = strawberry.field(description="The card to use from now on.")


@strawberry.type(description="Result of `replacePaymentMethod`.")
class ReplacePaymentMethodPayload:
    billing_profile: BillingProfile | None = strawberry.field(default=None, description="The profile with its new payment method.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")
