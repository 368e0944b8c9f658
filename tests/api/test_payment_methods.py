"""addPaymentMethod, updatePaymentMethod, replacePaymentMethod (SPEC §2): validation, the
sandbox gateway's test cards, permissions, and no card number or code stored or logged."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest
from tortoise import Tortoise

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

ADD = """
mutation Add($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) {
    paymentMethod { id brand last4 expiryMonth expiryYear nameOnCard address { city country } }
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdatePaymentMethodInput!) {
  updatePaymentMethod(input: $input) { paymentMethod { expiryYear nameOnCard } userErrors { code field message } }
}
"""
REPLACE = """
mutation Replace($input: ReplacePaymentMethodInput!) {
  replacePaymentMethod(input: $input) { billingProfile { paymentMethod { last4 } } userErrors { code field message } }
}
"""
GOOD = "4242424242424242"
CVC = "737"


def card(number: str = GOOD, **overrides: object) -> dict:
    return {"number": number, "securityCode": CVC, "expiryMonth": 12, "expiryYear": 2029,
            "nameOnCard": "Fay Admin", "address": {"line1": "1 Main St", "city": "Berlin",
                                                   "postalCode": "10115", "country": "DE"}, **overrides}


def add_input(org, **card_overrides: object) -> dict:
    return {"input": {"billingProfileId": gid("BillingProfile", org.profile.id), "card": card(**card_overrides)}}


async def test_a_card_is_stored_masked_and_becomes_the_profiles_payment_method(client, clock):
    org = await factories.sign_up(clock)
    body = await gql(client, ADD, add_input(org, number="4242 4242 4242 4242"), token=org.token)
    payload = body["data"]["addPaymentMethod"]
    assert payload["userErrors"] == []
    assert payload["paymentMethod"] | {"id": None} == {
        "id": None, "brand": "VISA", "last4": "4242", "expiryMonth": 12, "expiryYear": 2029,
        "nameOnCard": "Fay Admin", "address": {"city": "Berlin", "country": "DE"},
    }
    profile = await models.BillingProfile.get(id=org.profile.id)
    assert gid("PaymentMethod", profile.payment_method_id) == payload["paymentMethod"]["id"]


async def _everything_stored() -> str:
    connection = Tortoise.get_connection("default")
    dumped = []
    for model in Tortoise.apps["models"].values():
        rows = await connection.execute_query_dict(f'SELECT * FROM "{model._meta.db_table}"')
        dumped.append(repr(rows))
    return "\n".join(dumped)


async def test_the_card_number_and_security_code_are_never_stored_or_logged(client, clock, database, caplog):
    # given: every logger at DEBUG, SQL statements with their values included
    org = await factories.sign_up(clock)
    number, code = "4000056655665556", "9138"
    with caplog.at_level(logging.DEBUG):
        # when: a good card, then one that fails validation with a wrong type next to it
        await gql(client, ADD, add_input(org, number=number, securityCode=code), token=org.token)
        await gql(client, ADD, add_input(org, number=number, securityCode=code, expiryYear="soon"), token=org.token)
        await gql(client, ADD, add_input(org, number=number[:-1] + "7", securityCode=code), token=org.token)
    # then
    stored = await _everything_stored()
    assert "5556" in stored  # the last four digits are kept, so the scan does see card data
    assert number not in stored and number[:-1] + "7" not in stored
    # Four digits also occur inside random hashes and timestamps: look for the code as a value.
    standalone_code = re.compile(rf"(?<![0-9a-zA-Z.]){code}(?![0-9a-zA-Z])")
    assert not standalone_code.search(stored)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert number not in logged and not standalone_code.search(logged)
    if database.startswith("sqlite"):
        path = Path(database.removeprefix("sqlite://").split("?")[0])
        # Read by another process: closing a file of the database in this one would drop this
        # process's SQLite locks on it (POSIX), and the next process to close the database would
        # then take itself for the last one and remove the WAL under this process's connection.
        files = sorted(str(p) for p in path.parent.glob(path.name + "*"))
        raw = subprocess.run(["cat", *files], capture_output=True, check=True).stdout
        assert number.encode() not in raw
        assert not re.search(rb"(?<![0-9a-zA-Z.])" + code.encode() + rb"(?![0-9a-zA-Z])", raw)


@pytest.mark.parametrize("overrides, field", [
    ({"number": "4242424242424241"}, "number"),          # Luhn
    ({"number": "42424242"}, "number"),                  # too short
    ({"number": "4242-4242-abcd-4242"}, "number"),
    ({"expiryMonth": 13}, "expiryMonth"),
    ({"expiryMonth": 10, "expiryYear": 2026}, "expiryYear"),  # before November 2026
    ({"securityCode": "12"}, "securityCode"),
    ({"securityCode": "12a4"}, "securityCode"),
    ({"nameOnCard": "  "}, "nameOnCard"),
    ({"nameOnCard": "N" * 201}, "nameOnCard"),  # longer than the column: a refusal, not a database error
])
async def test_invalid_cards_are_refused_with_card_invalid_and_nothing_stored(client, clock, overrides, field):
    org = await factories.sign_up(clock)
    body = await gql(client, ADD, add_input(org, **overrides), token=org.token)
    [error] = body["data"]["addPaymentMethod"]["userErrors"]
    assert (error["code"], error["field"]) == ("CARD_INVALID", ["input", "card", field])
    for value in overrides.values():
        if isinstance(value, str) and value.strip():
            assert value not in error["message"]
    assert await models.PaymentMethod.all().count() == 0


async def test_a_card_expiring_this_month_is_still_valid(client, clock):
    org = await factories.sign_up(clock)
    body = await gql(client, ADD, add_input(org, expiryMonth=11, expiryYear=2026), token=org.token)
    assert body["data"]["addPaymentMethod"]["userErrors"] == []


async def test_the_sandbox_declines_0002_when_added_and_accepts_0341(client, clock):
    org = await factories.sign_up(clock)
    declined = await gql(client, ADD, add_input(org, number="4000000000000002"), token=org.token)
    assert declined["data"]["addPaymentMethod"]["userErrors"][0]["code"] == "PAYMENT_DECLINED"
    assert await models.PaymentMethod.all().count() == 0
    accepted = await gql(client, ADD, add_input(org, number="4000000000000341"), token=org.token)
    assert accepted["data"]["addPaymentMethod"]["userErrors"] == []


async def test_update_changes_expiry_and_name_but_checks_them(client, clock):
    org = await factories.sign_up(clock)
    method = await factories.add_card(org, clock)
    request = {"input": {"paymentMethodId": gid("PaymentMethod", method.id), "expiryYear": 2031,
                         "nameOnCard": "F. Admin", "securityCode": "123"}}
    body = await gql(client, UPDATE, request, token=org.token)
    assert body["data"]["updatePaymentMethod"] == {
        "paymentMethod": {"expiryYear": 2031, "nameOnCard": "F. Admin"}, "userErrors": []}
    expired = {"input": {"paymentMethodId": gid("PaymentMethod", method.id), "expiryYear": 2025}}
    body = await gql(client, UPDATE, expired, token=org.token)
    assert body["data"]["updatePaymentMethod"]["userErrors"][0]["code"] == "CARD_INVALID"
    assert (await models.PaymentMethod.get(id=method.id)).expiry_year == 2031


async def test_replace_uses_another_card_of_the_same_account_only(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    first = await factories.add_card(org, clock)
    second = await models.PaymentMethod.create(
        tenant_id=org.tenant.id, billing_account_id=org.account.id, brand="MASTERCARD", last4="4444",
        expiry_month=1, expiry_year=2030, name_on_card="Fay", gateway_token="tok", created_at=clock.now())
    foreign = await factories.add_card(other, clock)
    body = await gql(client, REPLACE, {"input": {"billingProfileId": gid("BillingProfile", org.profile.id),
                                                 "paymentMethodId": gid("PaymentMethod", second.id)}}, token=org.token)
    assert body["data"]["replacePaymentMethod"] == {"billingProfile": {"paymentMethod": {"last4": "4444"}}, "userErrors": []}
    body = await gql(client, REPLACE, {"input": {"billingProfileId": gid("BillingProfile", org.profile.id),
                                                 "paymentMethodId": gid("PaymentMethod", foreign.id)}}, token=org.token)
    assert body["data"]["replacePaymentMethod"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await models.BillingProfile.get(id=org.profile.id)).payment_method_id == second.id
    _ = first


@pytest.mark.parametrize("role, allowed", [
    (models.Role.GLOBAL_ADMIN, True), (models.Role.BILLING_ADMIN, True),
    (models.Role.LICENSE_ADMIN, False), (None, False),
])
async def test_who_may_manage_the_organizations_cards(client, clock, role, allowed):
    # §1: global admins, billing admins and the account owner manage payment methods.
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Caller", [role] if role else [])
    body = await gql(client, ADD, add_input(org), token=token)
    errors = body["data"]["addPaymentMethod"]["userErrors"]
    if allowed:
        assert errors == []
    else:
        # Those who may not read the organization's billing do not see the profile at all.
        assert errors[0]["code"] == "NOT_FOUND"
        assert await models.PaymentMethod.all().count() == 0
