"""What a card input may contain (SPEC §2), from the security audit: digits are ASCII 0-9
only (not full-width, Arabic-Indic or superscript digits, which Python's `str.isdigit`
accepts), and every address field is bounded with a real ISO 3166-1 alpha-2 country."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

ADD = """
mutation Add($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) {
    paymentMethod { last4 address { line1 city state postalCode country } }
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdatePaymentMethodInput!) {
  updatePaymentMethod(input: $input) { paymentMethod { address { country } } userErrors { code field message } }
}
"""
ADDRESS = {"line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _card(**overrides: object) -> dict:
    return {"number": "4242424242424242", "securityCode": "737", "expiryMonth": 12, "expiryYear": 2029,
            "nameOnCard": "Fay Admin", "address": ADDRESS, **overrides}


def _add(org, **overrides: object) -> dict:
    return {"input": {"billingProfileId": gid("BillingProfile", org.profile.id), "card": _card(**overrides)}}


@pytest.mark.parametrize("overrides, field", [
    ({"number": "4242424242424242".translate(FULL_WIDTH)}, "number"),
    ({"number": "4242424242424242".translate(ARABIC_INDIC)}, "number"),
    ({"number": "4242 4242 4242 4242".translate(FULL_WIDTH)}, "number"),
    ({"number": "42424242424242²"}, "number"),      # isdigit() passes, int() fails: was INTERNAL
    ({"number": "4242424242424242²"}, "number"),
    ({"securityCode": "737".translate(FULL_WIDTH)}, "securityCode"),
    ({"securityCode": "737".translate(ARABIC_INDIC)}, "securityCode"),
    ({"securityCode": "73²"}, "securityCode"),
])
async def test_audit_non_ascii_digits_in_card_numbers_and_codes_are_refused_never_internal(
        client, clock, overrides, field):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, ADD, _add(org, **overrides), token=org.token)
    # then: the card's own refusal, on the field, and nothing stored
    assert "errors" not in body, body
    [error] = body["data"]["addPaymentMethod"]["userErrors"]
    assert (error["code"], error["field"]) == ("CARD_INVALID", ["input", "card", field])
    assert await models.PaymentMethod.all().count() == 0


@pytest.mark.parametrize("raw", ["Subscription:٤", "Subscription:４", "Subscription:²"])
async def test_audit_global_ids_with_non_ascii_digits_are_not_ids(client, clock, raw):
    import base64
    from billing_center.schema.ids import from_global_id

    assert from_global_id(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")) is None


@pytest.mark.parametrize("address, field", [
    ({**ADDRESS, "line1": "x" * 201}, "line1"),
    ({**ADDRESS, "line2": "x" * 201}, "line2"),
    ({**ADDRESS, "city": "x" * 101}, "city"),
    ({**ADDRESS, "state": "x" * 101}, "state"),
    ({**ADDRESS, "postalCode": "1" * 21}, "postalCode"),
    ({**ADDRESS, "line1": "   "}, "line1"),
    ({**ADDRESS, "country": "XX"}, "country"),          # not assigned
    ({**ADDRESS, "country": "DEU"}, "country"),         # alpha-3
    ({**ADDRESS, "country": "Germany"}, "country"),
    ({**ADDRESS, "country": "ＤＥ"}, "country"),
    ({**ADDRESS, "country": ""}, "country"),
])
async def test_audit_address_fields_are_bounded_and_the_country_is_iso_3166(client, clock, address, field):
    # given
    org = await factories.sign_up(clock)
    method = await factories.add_card(org, clock)
    # when: on a new card and on an edited one
    added = await gql(client, ADD, _add(org, address=address), token=org.token)
    edited = await gql(client, UPDATE, {"input": {"paymentMethodId": gid("PaymentMethod", method.id),
                                                  "address": address}}, token=org.token)
    # then
    [error] = added["data"]["addPaymentMethod"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "card", "address", field])
    [error] = edited["data"]["updatePaymentMethod"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "address", field])
    assert await models.PaymentMethod.all().count() == 1
    assert (await models.PaymentMethod.get(id=method.id)).address is None


async def test_audit_a_valid_address_is_kept_trimmed_with_its_country_in_capitals(client, clock):
    org = await factories.sign_up(clock)
    address = {"line1": " 1 Main St ", "city": "Zürich", "state": "ZH", "postalCode": "8001", "country": "ch"}
    body = await gql(client, ADD, _add(org, address=address), token=org.token)
    assert body["data"]["addPaymentMethod"] == {"paymentMethod": {"last4": "4242", "address": {
        "line1": "1 Main St", "city": "Zürich", "state": "ZH", "postalCode": "8001", "country": "CH"}},
        "userErrors": []}


@pytest.mark.parametrize("typed", ["BBBBB-CCCCC-DDDDD-ﬀFFF-GGGGG", "BBBBB-CCCCC-DDDDD-FFFFF-GGGG٢", "ＢBBBB-CCCCC-DDDDD-FFFFF-GGGGG"])
def test_audit_a_product_key_is_ascii_before_it_is_upper_cased(typed):
    # "ﬀ".upper() is "FF": without the ASCII check first, this would be another spelling of a key.
    from billing_center.domain.product_keys import normalise_key

    assert normalise_key(typed) is None
    assert normalise_key("bbbbb cccccdddddfffffggggg") == "BBBBBCCCCCDDDDDFFFFFGGGGG"
