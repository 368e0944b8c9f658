"""Bearer tokens, the operator token and the request id (SPEC §1; API.md "Transport";
STYLE.md "Errors": a missing or bad token is a top-level UNAUTHENTICATED error)."""

from __future__ import annotations

import re

import pytest

from billing_center.domain import models
from billing_center.domain.auth import hash_token
from tests.conftest import OPERATOR_TOKEN
from tests.factories import add_user, gid, gql, pk, sign_up

PRODUCTS = "{ products { sku } }"

VIEWER = "{ viewer { id email } }"

TENANT = "{ tenant { id } }"

INTROSPECTION = "{ __schema { queryType { name } mutationType { name } } }"

NODE = "query Node($id: ID!) { node(id: $id) { id } }"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token userErrors { code } }
}
"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { token user { id } userErrors { code field message } }
}
"""

CREATE_API_TOKEN = """
mutation CreateApiToken($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { token apiToken { id name } userErrors { code field message } }
}
"""

REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")

SIGN_UP_INPUT = {
    "organizationName": "Northwind", "adminDisplayName": "Nia Admin", "adminEmail": "nia@northwind.example",
    "cloud": "WORLDWIDE", "billingAccountType": "MCA",
}


async def post(client, query: str, variables: dict | None = None, authorization: str | None = None):
    """POST a GraphQL document with a raw Authorization header; the whole HTTP response."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# --- no token --------------------------------------------------------------------------------


async def test_without_a_token_the_catalogue_and_introspection_are_public(client):
    """API.md Transport: with no token, `products` and introspection work."""
    # when
    products = await gql(client, PRODUCTS)
    schema = await gql(client, INTROSPECTION)
    # then
    assert "errors" not in products
    assert {"sku": "O365_E3"} in products["data"]["products"]
    assert len(products["data"]["products"]) == await models.Product.all().count() > 0
    assert schema == {"data": {"__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}}}}


async def test_without_a_token_sign_up_works(client):
    """API.md Transport: with no token, `signUp` works and returns a usable token."""
    # when
    body = await gql(client, SIGN_UP, {"input": SIGN_UP_INPUT})
    # then
    assert body["data"]["signUp"]["userErrors"] == []
    viewer = await gql(client, VIEWER, token=body["data"]["signUp"]["token"])
    assert viewer["data"]["viewer"]["email"] == "nia@northwind.example"


@pytest.mark.parametrize("query", [VIEWER, TENANT, '{ node(id: "VXNlcjox") { id } }', "{ billingAccounts { id } }"])
async def test_without_a_token_other_fields_are_a_top_level_unauthenticated_error(client, query):
    """API.md Transport: with no token only the public fields work; any other field is a
    top-level UNAUTHENTICATED error in an HTTP 200 response."""
    # when
    response = await post(client, query)
    # then
    assert response.status_code == 200
    body = response.json()
    assert not any((body["data"] or {}).values())  # null; `node` is nullable, so {"node": null}
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_without_a_token_create_user_is_a_top_level_error_not_a_user_error(client, clock):
    """STYLE.md Errors: a missing token is refused as the caller, not as a business rule, so
    it is a top-level UNAUTHENTICATED error and no userError; nothing is created."""
    # given
    await sign_up(clock, "Contoso")
    users_before = await models.User.all().count()
    # when
    response = await post(client, CREATE_USER, {"input": {"displayName": "Kim", "email": "kim@contoso.example"}})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["createUser"]
    assert await models.User.all().count() == users_before


async def test_without_a_token_create_api_token_is_a_top_level_unauthenticated_error(client, clock):
    """STYLE.md Errors: the same holds for `createApiToken`; no token is minted."""
    # given
    org = await sign_up(clock, "Contoso")
    tokens_before = await models.ApiToken.all().count()
    # when
    body = await gql(client, CREATE_API_TOKEN, {"input": {"name": "script"}})
    # then
    assert body["data"] is None
    assert codes(body) == ["UNAUTHENTICATED"]
    assert await models.ApiToken.all().count() == tokens_before


# --- bad tokens ------------------------------------------------------------------------------

BAD_AUTHORIZATIONS = {
    "basic scheme": "Basic bmlhOnNlY3JldA==",
    "scheme without token": "Bearer",
    "other scheme with a valid token": "Token {token}",
    "valid token without scheme": "{token}",
    "unknown token": "Bearer bc_this-token-was-never-issued",
    "valid token with one character changed": "Bearer {tampered}",
    "revoked token": "Bearer {revoked}",
}


@pytest.mark.parametrize("authorization", list(BAD_AUTHORIZATIONS.values()), ids=list(BAD_AUTHORIZATIONS))
async def test_a_present_but_invalid_token_is_refused_with_401_and_nothing_runs(client, clock, authorization):
    """API.md Transport / app.py: a request whose Authorization header is malformed, unknown
    or revoked is refused as a whole (HTTP 401, UNAUTHENTICATED), even for the public
    `signUp`: it is not run as anonymous."""
    # given
    org = await sign_up(clock, "Contoso")
    revoked = (await add_user(org, clock, "Rex"))[1]
    await models.ApiToken.filter(token_hash=hash_token(revoked)).update(revoked_at=clock.now())
    tampered = org.token[:-1] + ("A" if org.token[-1] != "A" else "B")
    header = authorization.format(token=org.token, tampered=tampered, revoked=revoked)
    tenants_before = await models.Tenant.all().count()
    # when
    response = await post(client, SIGN_UP, {"input": SIGN_UP_INPUT}, authorization=header)
    # then
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    request_id = response.headers["x-request-id"]
    assert response.json() == {  # no `data`: nothing ran (GraphQL over HTTP, issue #13)
        "errors": [{
            "message": "Invalid or revoked token.",
            "extensions": {"code": "UNAUTHENTICATED", "requestId": request_id},
        }],
    }
    assert await models.Tenant.all().count() == tenants_before


async def test_an_unknown_token_is_refused_also_on_get_queries(client):
    """API.md Transport: queries over GET are authenticated the same way."""
    # when
    response = await client.get(
        "/graphql", params={"query": PRODUCTS}, headers={"Authorization": "Bearer bc_unknown"}
    )
    # then
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_bearer_scheme_is_case_insensitive(client, clock, scheme):
    """API.md Transport (RFC 7235: the auth scheme is case-insensitive)."""
    # given
    org = await sign_up(clock, "Contoso")
    # when
    response = await post(client, VIEWER, authorization=f"{scheme} {org.token}")
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"id": gid("User", org.admin.id), "email": org.admin.email}}}


# --- the operator token ----------------------------------------------------------------------


async def test_the_operator_token_is_accepted_but_has_no_tenant(client, clock):
    """API.md Transport: the operator token is for platform operations only; it is a valid
    token (no 401) but reads no tenant: `viewer` and `tenant` are FORBIDDEN, nodes are null."""
    # given
    org = await sign_up(clock, "Contoso")
    # when
    products = await post(client, PRODUCTS, authorization=f"Bearer {OPERATOR_TOKEN}")
    viewer = await post(client, VIEWER, authorization=f"Bearer {OPERATOR_TOKEN}")
    tenant = await post(client, TENANT, authorization=f"Bearer {OPERATOR_TOKEN}")
    node = await post(client, NODE, {"id": gid("Tenant", org.tenant.id)}, authorization=f"Bearer {OPERATOR_TOKEN}")
    # then
    assert products.status_code == viewer.status_code == tenant.status_code == node.status_code == 200
    assert "errors" not in products.json()
    assert viewer.json()["data"] is None
    assert codes(viewer.json()) == ["FORBIDDEN"]
    assert codes(tenant.json()) == ["FORBIDDEN"]
    assert node.json() == {"data": {"node": None}}


async def test_the_operator_cannot_mint_tokens_or_users_of_a_tenant(client, clock):
    """SPEC §1: the operator is no tenant user: `createApiToken` and `createUser` are refused
    with FORBIDDEN and write nothing."""
    # given
    org = await sign_up(clock, "Contoso")
    tokens_before = await models.ApiToken.all().count()
    users_before = await models.User.all().count()
    # when
    token = await gql(client, CREATE_API_TOKEN, {"input": {"name": "operator"}}, token=OPERATOR_TOKEN)
    user = await gql(
        client, CREATE_USER, {"input": {"displayName": "Op", "email": "op@contoso.example"}}, token=OPERATOR_TOKEN
    )
    # then
    assert token["data"]["createApiToken"]["token"] is None
    assert token["data"]["createApiToken"]["apiToken"] is None
    assert [e["code"] for e in token["data"]["createApiToken"]["userErrors"]] == ["FORBIDDEN"]
    assert user["data"]["createUser"]["user"] is None
    assert [e["code"] for e in user["data"]["createUser"]["userErrors"]] == ["FORBIDDEN"]
    assert await models.ApiToken.all().count() == tokens_before
    assert await models.User.all().count() == users_before


# --- createApiToken (SPEC §1 rev. 2: for the caller only) ---------------------------------


@pytest.mark.parametrize("role", ["GLOBAL_ADMIN", "BILLING_ADMIN", "LICENSE_ADMIN", "USER"])
async def test_create_api_token_makes_a_token_of_the_caller_whatever_their_role(client, clock, role):
    """API.md createApiToken / SPEC §1 rev. 2: anyone creates tokens for themself; a created
    token works at once and stands for its creator; the caller's own token keeps working."""
    # given
    org = await sign_up(clock, "Contoso")
    if role == "GLOBAL_ADMIN":
        caller, caller_token = org.admin, org.token
    else:
        roles = [] if role == "USER" else [models.Role(role)]
        caller, caller_token = await add_user(org, clock, "Carl", roles)
    tokens_before = await models.ApiToken.filter(user_id=caller.id).count()
    # when
    body = await gql(client, CREATE_API_TOKEN, {"input": {"name": "nightly export"}}, token=caller_token)
    # then
    payload = body["data"]["createApiToken"]
    assert payload["userErrors"] == []
    assert payload["apiToken"]["name"] == "nightly export"
    assert await models.ApiToken.filter(user_id=caller.id).count() == tokens_before + 1
    viewer = await gql(client, VIEWER, token=payload["token"])
    assert viewer == {"data": {"viewer": {"id": gid("User", caller.id), "email": caller.email}}}
    still = await gql(client, VIEWER, token=caller_token)
    assert still["data"]["viewer"]["id"] == gid("User", caller.id)


async def test_finding_7_a_global_admin_cannot_mint_a_token_for_another_user(client, clock):
    """Audit finding 7 / SPEC §1 rev. 2: `createApiToken(input: {userId})` let a global admin
    act as anyone; the input has no user any more, so naming one is a malformed request and
    mints nothing for anybody."""
    # given
    org = await sign_up(clock, "Contoso")
    kim, _ = await add_user(org, clock, "Kim")
    tokens_before = await models.ApiToken.all().count()
    # when
    body = await gql(client, CREATE_API_TOKEN, {"input": {"userId": gid("User", kim.id), "name": "as Kim"}},
                     token=org.token)
    # then
    assert "data" not in body  # refused before execution (GraphQL over HTTP, issue #13)
    assert len(body["errors"]) == 1 and "userId" in body["errors"][0]["message"]
    assert await models.ApiToken.all().count() == tokens_before
    assert "userId" not in str(await gql(client, '{ __type(name: "CreateApiTokenInput") { inputFields { name } } }'))


async def test_a_created_token_is_recorded_in_the_audit_log(client, clock):
    """SPEC §8: minting a token is a change, recorded with who did it (its owner)."""
    # given
    org = await sign_up(clock, "Contoso")
    kim, kim_token = await add_user(org, clock, "Kim")
    # when
    body = await gql(client, CREATE_API_TOKEN, {"input": {"name": "kim's script"}}, token=kim_token)
    # then
    event = await models.AuditEvent.filter(tenant_id=org.tenant.id).order_by("-id").first()
    assert event is not None
    assert (event.action, event.object_type, event.object_id, event.actor_user_id) == (
        "api_token.created", "ApiToken", pk(body["data"]["createApiToken"]["apiToken"]["id"]), kim.id,
    )


# --- request id ------------------------------------------------------------------------------

REQUESTS = {
    "public query": ("POST", "/graphql", {"json": {"query": PRODUCTS}}, 200),
    "unauthenticated field": ("POST", "/graphql", {"json": {"query": VIEWER}}, 200),
    "invalid token": ("POST", "/graphql", {"json": {"query": PRODUCTS}, "headers": {"Authorization": "Bearer nope"}}, 401),
    "operator": ("POST", "/graphql", {"json": {"query": VIEWER}, "headers": {"Authorization": f"Bearer {OPERATOR_TOKEN}"}}, 200),
    "malformed document": ("POST", "/graphql", {"json": {"query": "{ products { "}}, 200),
    "mutation over GET": ("GET", "/graphql", {"params": {"query": "mutation { signUp { token } }"}}, 405),
    "GraphiQL": ("GET", "/graphql", {"headers": {"Accept": "text/html"}}, 200),
    "health": ("GET", "/health", {}, 200),
    "unknown path": ("GET", "/no-such-page", {}, 404),
}


@pytest.mark.parametrize(("method", "path", "options", "status"), list(REQUESTS.values()), ids=list(REQUESTS))
async def test_every_response_carries_a_request_id(client, method, path, options, status):
    """API.md Transport / STYLE.md Errors: every response carries `X-Request-Id`, a fresh
    id per request, the same one an error body names."""
    # when
    first = await client.request(method, path, **options)
    second = await client.request(method, path, **options)
    # then
    assert first.status_code == second.status_code == status
    ids = [first.headers.get("x-request-id"), second.headers.get("x-request-id")]
    assert all(request_id and REQUEST_ID.match(request_id) for request_id in ids), ids
    assert ids[0] != ids[1]
    if first.headers.get("content-type", "").startswith("application/json"):
        for error in first.json().get("errors") or []:
            if "requestId" in error.get("extensions", {}):
                assert error["extensions"]["requestId"] == ids[0]
