"""signUp, createUser, createApiToken over HTTP (SPEC §1, API.md)."""

from __future__ import annotations

from billing_center.domain import models
from billing_center.domain.auth import hash_token
from tests.factories import gql

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    token
    tenant { id name cloud adminCenterUrl domains { name isDefault } }
    user { id displayName email roles }
    userErrors { code field message }
  }
}
"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { token user { id displayName roles } userErrors { code field message } }
}
"""

VIEWER = "{ viewer { displayName roles } tenant { name } }"

BILLING_ACCOUNTS = "{ billingAccounts { type chargeSchedule owner { email } billingProfiles { name } } }"


def sign_up_input(name: str = "Fabrikam", **overrides: object) -> dict:
    return {
        "organizationName": name,
        "adminDisplayName": "Fay Admin",
        "adminEmail": "fay@fabrikam.example",
        "cloud": "WORLDWIDE",
        "billingAccountType": "MOSA",
        **overrides,
    }


async def test_sign_up_creates_tenant_domain_admin_and_billing_account(client):
    # when
    body = await gql(client, SIGN_UP, {"input": sign_up_input()})
    # then
    payload = body["data"]["signUp"]
    assert payload["userErrors"] == []
    assert payload["tenant"]["name"] == "Fabrikam"
    assert payload["tenant"]["domains"] == [{"name": "fabrikam.onmicrosoft.com", "isDefault": True}]
    assert payload["user"]["roles"] == ["GLOBAL_ADMIN"]
    accounts = await gql(client, BILLING_ACCOUNTS, token=payload["token"])
    assert accounts["data"]["billingAccounts"] == [{
        "type": "MOSA",
        "chargeSchedule": "ACCOUNT_BILLING_DAY",
        "owner": {"email": "fay@fabrikam.example"},
        "billingProfiles": [{"name": "Fabrikam billing profile"}],
    }]


async def test_tokens_are_stored_only_as_hashes(client):
    body = await gql(client, SIGN_UP, {"input": sign_up_input()})
    token = body["data"]["signUp"]["token"]
    stored = await models.ApiToken.all().values_list("token_hash", flat=True)
    assert stored == [hash_token(token)]
    assert token not in stored


async def test_sign_up_then_create_user_then_new_users_token_works(client):
    # given
    admin_token = (await gql(client, SIGN_UP, {"input": sign_up_input()}))["data"]["signUp"]["token"]
    # when
    created = await gql(
        client, CREATE_USER,
        {"input": {"displayName": "Lee Licence", "email": "lee@fabrikam.example", "roles": ["LICENSE_ADMIN"]}},
        token=admin_token,
    )
    # then
    payload = created["data"]["createUser"]
    assert payload["userErrors"] == []
    viewer = await gql(client, VIEWER, token=payload["token"])
    assert viewer["data"] == {
        "viewer": {"displayName": "Lee Licence", "roles": ["LICENSE_ADMIN"]},
        "tenant": {"name": "Fabrikam"},
    }


async def test_sign_up_refuses_a_taken_domain_and_creates_nothing(client):
    await gql(client, SIGN_UP, {"input": sign_up_input()})
    tenants_before = await models.Tenant.all().count()
    body = await gql(client, SIGN_UP, {"input": sign_up_input(adminEmail="other@fabrikam.example")})
    assert body["data"]["signUp"]["userErrors"] == [{
        "code": "ALREADY_EXISTS",
        "field": ["input", "domainPrefix"],
        "message": "The domain fabrikam.onmicrosoft.com is taken; choose another domainPrefix.",
    }]
    assert body["data"]["signUp"]["token"] is None
    assert await models.Tenant.all().count() == tenants_before
    assert await models.User.all().count() == 1


async def test_sign_up_with_own_domain_prefix(client):
    body = await gql(client, SIGN_UP, {"input": sign_up_input(domainPrefix="fab2")})
    assert body["data"]["signUp"]["tenant"]["domains"][0]["name"] == "fab2.onmicrosoft.com"


async def test_sign_up_validates_its_input(client):
    body = await gql(client, SIGN_UP, {"input": sign_up_input(adminEmail="not-an-email")})
    [error] = body["data"]["signUp"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "adminEmail"])
    assert await models.Tenant.all().count() == 0


async def test_create_user_is_for_global_admins(client):
    admin_token = (await gql(client, SIGN_UP, {"input": sign_up_input()}))["data"]["signUp"]["token"]
    lee = (await gql(client, CREATE_USER, {"input": {"displayName": "Lee", "email": "lee@f.example", "roles": ["BILLING_ADMIN"]}}, token=admin_token))["data"]["createUser"]
    body = await gql(client, CREATE_USER, {"input": {"displayName": "Kim", "email": "kim@f.example"}}, token=lee["token"])
    assert body["data"]["createUser"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert await models.User.filter(email="kim@f.example").count() == 0


async def test_create_user_refuses_a_duplicate_email(client):
    admin_token = (await gql(client, SIGN_UP, {"input": sign_up_input()}))["data"]["signUp"]["token"]
    body = await gql(client, CREATE_USER, {"input": {"displayName": "Fay again", "email": "FAY@fabrikam.example"}}, token=admin_token)
    assert body["data"]["createUser"]["userErrors"][0]["code"] == "ALREADY_EXISTS"


SIGN_UP_WITH_BILLING = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    token
    billingAccount { id type owner { email } }
    billingProfile { id name billingAccount { id } paymentMethod { id } }
    userErrors { code field message }
  }
}
"""

ADD_CARD = """
mutation Add($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) { paymentMethod { last4 } userErrors { code field message } }
}
"""


async def test_sign_up_returns_the_billing_profile_a_card_is_added_to(client):
    """Issue #13 (newcomer's first hour): a script signs up and adds a card with no query between."""
    # when
    body = await gql(client, SIGN_UP_WITH_BILLING, {"input": sign_up_input()})
    # then
    payload = body["data"]["signUp"]
    assert payload["userErrors"] == []
    account, profile = payload["billingAccount"], payload["billingProfile"]
    assert (account["type"], account["owner"]["email"]) == ("MOSA", "fay@fabrikam.example")
    assert profile["name"] == "Fabrikam billing profile"
    assert profile["billingAccount"]["id"] == account["id"]
    assert profile["paymentMethod"] is None
    card = {"number": "4242424242424242", "securityCode": "737", "expiryMonth": 12, "expiryYear": 2029,
            "nameOnCard": "Fay Admin"}
    added = await gql(client, ADD_CARD, {"input": {"billingProfileId": profile["id"], "card": card}},
                      token=payload["token"])
    assert added["data"]["addPaymentMethod"] == {"paymentMethod": {"last4": "4242"}, "userErrors": []}


async def test_refused_sign_up_returns_no_billing_objects(client):
    body = await gql(client, SIGN_UP_WITH_BILLING, {"input": sign_up_input(adminEmail="not an email")})
    payload = body["data"]["signUp"]
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_INPUT"]
    assert payload["billingAccount"] is None and payload["billingProfile"] is None
