"""Errors as in API.md: typed refusals, masked unexpected errors with a request id, and no
HTTP 500 for any input (issue #2 item 9)."""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings, strategies as st

from billing_center.domain import models
from billing_center.resolvers import queries
from tests import factories
from tests.factories import gql

PRODUCTS = "{ products { sku } }"


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(client, monkeypatch, caplog):
    # given
    async def broken(info, self_service_only):
        raise KeyError("secret-detail")

    monkeypatch.setattr(queries, "resolve_products", broken)
    # when
    with caplog.at_level(logging.ERROR, logger="billing_center.errors"):
        response = await client.post("/graphql", json={"query": PRODUCTS})
    # then
    assert response.status_code == 200
    [error] = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["message"] == "Internal error."
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "secret-detail" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_refusals_on_queries_carry_their_code(client, clock):
    org = await factories.sign_up(clock)
    body = await gql(client, "{ subscriptions(first: 101) { totalCount } }", token=org.token)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["subscriptions"]


async def test_malformed_requests_are_client_errors(client):
    cases = [
        client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/graphql", content=b"query=x", headers={"content-type": "text/plain"}),
        client.post("/graphql", json={"nothing": "here"}),
        client.get("/graphql", params={"query": 'mutation { signUp(input: {organizationName: "x", adminDisplayName: "x", adminEmail: "a@b.cd", cloud: WORLDWIDE, billingAccountType: MCA}) { token } }'}),
    ]
    for pending in cases:
        response = await pending
        assert 400 <= response.status_code < 500, response.text


async def test_queries_work_over_get_and_graphiql_is_served(client):
    response = await client.get("/graphql", params={"query": PRODUCTS})
    assert response.status_code == 200
    assert len(response.json()["data"]["products"]) >= 6
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.sampled_from([
        PRODUCTS,
        "{ subscriptions(first: $n) { totalCount } }",
        "query Q($n: Int) { subscriptions(first: $n) { totalCount } }",
        "mutation M($input: SignUpInput!) { signUp(input: $input) { token userErrors { code } } }",
        "mutation M($input: CreateUserInput!) { createUser(input: $input) { token } }",
        "{ node(id: $id) { id } }",
        "query Q($id: ID!) { node(id: $id) { id } }",
    ]) | st.text(max_size=60),
    variables=json_values,
)
async def test_no_input_gives_a_server_error(client, query, variables):
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        for error in response.json().get("errors", []):
            assert error.get("extensions", {}).get("code") != "INTERNAL", error


async def test_nul_characters_are_refused_before_anything_runs(client):
    # PostgreSQL cannot store U+0000: refused once for every field, without echoing the value.
    sign_up = 'mutation($i: SignUpInput!) { signUp(input: $i) { token } }'
    values = {"organizationName": "Nul\x00Corp", "adminDisplayName": "A", "adminEmail": "a@b.cd",
              "cloud": "WORLDWIDE", "billingAccountType": "MCA"}
    for request in (
        {"query": sign_up, "variables": {"i": values}},
        {"query": 'mutation { signUp(input: {organizationName: "Nul\\u0000Corp", adminDisplayName: "A", '
                  'adminEmail: "a@b.cd", cloud: WORLDWIDE, billingAccountType: MCA}) { token } }'},
    ):
        response = await client.post("/graphql", json=request)
        assert response.status_code == 400
        assert "U+0000" in response.text and "NulCorp" not in response.text
    assert await models.Tenant.all().count() == 0
