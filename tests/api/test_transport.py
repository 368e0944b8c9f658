"""HTTP transport rules (issue #6; RELIABILITY.md A3, A6, A8, B1, B2, B4–B6): JSON-only POST,
no mutation over GET, CORS from an allow-list, the production profile, body size and request
time limits, and PostgreSQL's statement timeout."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import httpx
import orjson
import pytest

from billing_center import db
from billing_center.app import create_app
from billing_center.config import Settings
from billing_center.domain import models
from billing_center.domain.payments import SandboxGateway
from tests import factories
from tests.factories import gid, gql

SIGN_UP = """mutation { signUp(input: {organizationName: "Evil", adminDisplayName: "E", adminEmail: "e@evil.example",
  cloud: WORLDWIDE, billingAccountType: MCA}) { token userErrors { code } } }"""
PURCHASE = """mutation Buy($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) {
  replayed subscription { id } userErrors { code } } }"""


async def _client(settings: Settings, clock, gateway=None) -> httpx.AsyncClient:
    app = create_app(settings, clock=clock, manage_db=False, gateway=gateway or SandboxGateway())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
async def test_b1_only_json_bodies_are_read_and_nothing_else_writes(client, database, content_type):
    response = await client.post("/graphql", content=orjson.dumps({"query": SIGN_UP}),
                                 headers={"content-type": content_type})
    assert response.status_code == 400
    assert await models.Tenant.all().count() == 0


async def test_b2_mutations_never_run_over_get_while_queries_do(client, database):
    response = await client.get("/graphql", params={"query": SIGN_UP})
    assert 400 <= response.status_code < 500
    assert await models.Tenant.all().count() == 0
    response = await client.get("/graphql", params={"query": "{ products { sku } }"})
    assert response.status_code == 200 and len(response.json()["data"]["products"]) == 8


async def test_b4_cors_answers_only_listed_origins(database, settings, clock):
    allowed = "https://admin.example.com"
    async with await _client(dataclasses.replace(settings, cors_origins=(allowed,)), clock) as http:
        for origin, echoed in ((allowed, allowed), ("https://evil.example", None)):
            preflight = await http.options("/graphql", headers={
                "origin": origin, "access-control-request-method": "POST",
                "access-control-request-headers": "authorization,content-type"})
            assert preflight.headers.get("access-control-allow-origin") == echoed
            response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": origin})
            assert response.headers.get("access-control-allow-origin") == echoed
            assert response.headers.get("access-control-allow-credentials") is None
    # no list, no CORS at all (scripts need none)
    async with await _client(settings, clock) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": allowed})
        assert "access-control-allow-origin" not in response.headers
    with pytest.raises(ValueError):
        Settings.from_env({"BILLING_CORS_ORIGINS": "*"})


async def test_b5_b6_production_has_no_graphiql_no_introspection_and_no_suggestions(database, clock):
    production = Settings.from_env({"DATABASE_URL": "sqlite://:memory:", "BILLING_ENV": "production"})
    development = Settings.from_env({"DATABASE_URL": "sqlite://:memory:"})
    assert production.production and not production.graphiql and development.graphiql
    queries = {
        "introspection": "{ __schema { types { name } } }",
        "hidden introspection": "fragment T on Query { __type(name: \"Subscription\") { name } } { ...T }",
        "typo": "{ produts { sku } }",
    }
    async with await _client(production, clock) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        for name in ("introspection", "hidden introspection"):
            body = (await http.post("/graphql", json={"query": queries[name]})).json()
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", name
        typo = (await http.post("/graphql", json={"query": queries["typo"]})).json()
        assert "Cannot query field 'produts'" in typo["errors"][0]["message"]
        assert "Did you mean" not in str(typo)
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).json()["data"] == {"__typename": "Query"}
    async with await _client(development, clock) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        body = (await http.post("/graphql", json={"query": queries["introspection"]})).json()
        assert "errors" not in body
        assert "Did you mean" in str((await http.post("/graphql", json={"query": queries["typo"]})).json())


async def test_a3_a_body_of_1_mib_is_read_and_one_byte_more_is_refused_with_413(client, database):
    limit = 1024 * 1024

    def body(size: int) -> bytes:
        # padding inside a GraphQL comment: it costs no token
        empty = orjson.dumps({"query": "{ __typename }\n#"})
        return orjson.dumps({"query": "{ __typename }\n#" + "x" * (size - len(empty))})

    assert len(body(limit)) == limit
    response = await client.post("/graphql", content=body(limit), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}
    response = await client.post("/graphql", content=body(limit + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    # a streamed body (no Content-Length) is cut off as soon as it passes the limit
    async def chunks():
        for _ in range(3):
            yield b" " * limit

    response = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


class SlowGateway(SandboxGateway):
    """A gateway whose charges take longer than the request timeout."""

    async def charge(self, token, amount, currency, idempotency_key):
        await asyncio.sleep(0.6)
        return await super().charge(token, amount, currency, idempotency_key)


async def test_a8_a_request_over_the_time_limit_gets_504_and_happens_once_or_not_at_all(database, settings, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    product = gid("Product", (await models.Product.get(sku="O365_E3")).id)
    variables = {"input": {"productId": product, "quantity": 2, "commitmentTerm": "MONTHLY", "idempotencyKey": "slow-1"}}
    async with await _client(dataclasses.replace(settings, request_timeout_seconds=0.3), clock, SlowGateway()) as http:
        response = await http.post("/graphql", json={"query": PURCHASE, "variables": variables},
                                   headers={"authorization": f"Bearer {org.token}"})
        assert response.status_code == 504
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
        # the work was left to finish as a whole: one subscription, and the retry replays it
        for _ in range(50):
            if await models.Subscription.filter(tenant_id=org.tenant.id).count():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
    assert await models.Subscription.filter(tenant_id=org.tenant.id).count() == 1
    async with await _client(settings, clock) as http:
        again = (await gql(http, PURCHASE, variables, token=org.token))["data"]["purchaseSubscription"]
    assert again["userErrors"] == [] and again["replayed"] is True
    assert await models.Subscription.filter(tenant_id=org.tenant.id).count() == 1


async def test_a8_postgresql_statements_stop_at_the_statement_timeout(database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("statement_timeout is PostgreSQL's")
    credentials = db.tortoise_config(database_url, statement_timeout_ms=200)["connections"]["default"]["credentials"]
    assert "statement_timeout" not in str(db.tortoise_config(database_url)["connections"])
    connection = await asyncpg.connect(user=credentials["user"], host=credentials["host"], port=credentials["port"],
                                       database=credentials["database"], server_settings=credentials["server_settings"])
    try:
        assert await connection.fetchval("SHOW statement_timeout") == "200ms"
        with pytest.raises(asyncpg.QueryCanceledError):
            await connection.execute("SELECT pg_sleep(1)")
        assert await connection.fetchval("SELECT 1") == 1  # the connection stays usable
    finally:
        await connection.close()
    assert Settings.from_env({}).statement_timeout_ms == 5000


class SlowCards(SandboxGateway):
    async def tokenize(self, card, security_code):
        await asyncio.sleep(0.3)
        return await super().tokenize(card, security_code)


async def test_a10_past_the_concurrency_limit_requests_are_shed_with_503_and_nothing_done(database, settings, clock):
    org = await factories.sign_up(clock)
    add = """mutation Add($input: AddPaymentMethodInput!) { addPaymentMethod(input: $input) { userErrors { code } } }"""
    card = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "P"}
    variables = {"input": {"billingProfileId": gid("BillingProfile", org.profile.id), "card": card}}
    async with await _client(dataclasses.replace(settings, max_concurrency=2), clock, SlowCards()) as http:
        responses = await asyncio.gather(*(
            http.post("/graphql", json={"query": add, "variables": variables},
                      headers={"authorization": f"Bearer {org.token}"}) for _ in range(6)))
    served = [r for r in responses if r.status_code == 200]
    shed = [r for r in responses if r.status_code == 503]
    assert len(served) == 2 and len(shed) == 4
    assert all(r.json()["data"]["addPaymentMethod"]["userErrors"] == [] for r in served)
    assert all(r.headers["retry-after"] == "1" and r.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
               for r in shed)
    assert await models.PaymentMethod.filter(tenant_id=org.tenant.id).count() == 2
