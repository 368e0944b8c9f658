"""Inputs several subjects' mutations share: a card as typed and its billing address
(adding and editing cards, paying a purchase or a reactivation with a new card)."""

from __future__ import annotations

import strawberry


@strawberry.input(description="A postal address; surrounding spaces are dropped, a field too long or a country that is no ISO 3166-1 code is refused with INVALID_INPUT naming it.")
class AddressInput:
    line1: str = strawberry.field(description="Street and number: 1 to 200 characters.")
    line2: str | None = strawberry.field(default=None, description="Further address line: at most 200 characters.")
    city: str = strawberry.field(description="City: 1 to 100 characters.")
    postal_code: str = strawberry.field(description="Postal code: 1 to 20 characters.")
    state: str | None = strawberry.field(default=None, description="State or region: at most 100 characters.")
    country: str = strawberry.field(description="An officially assigned ISO 3166-1 alpha-2 country code, e.g. `DE` (any case).")

    def to_json(self) -> dict:
        return {"line1": self.line1, "line2": self.line2, "city": self.city,
                "postal_code": self.postal_code, "state": self.state, "country": self.country}


@strawberry.input(description="A card as typed. Number and security code are strings so that no error can echo them; neither is stored.")
class CardInput:
    number: str = strawberry.field(description="The card number: 12 to 19 digits 0-9; spaces and dashes are ignored.")
    security_code: str = strawberry.field(description="The 3- or 4-digit security code (digits 0-9).")
    expiry_month: int = strawberry.field(description="Expiry month, 1-12.")
    expiry_year: int = strawberry.field(description="Expiry year, four digits.")
    name_on_card: str = strawberry.field(description="Cardholder name.")
    address: AddressInput | None = strawberry.field(default=None, description="Billing address of the card.")
