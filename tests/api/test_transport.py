"""HTTP transport rules (issue #6 and the transport audit; RELIABILITY.md A3, A6, A8, A10, A11,
B1, B2, B4–B6, B11, B12): JSON-only POST, no mutation over GET, CORS from an allow-list, the
production profile, limits on the body, its JSON nesting, the request head, the answer and the
request time, no caching of answers, and PostgreSQL's statement timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from billing_center import db
from billing_center.app import create_app
from billing_center.config import Settings
from billing_center.domain import models
from billing_center.domain.payment_gateway import SandboxGateway
from tests import factories
from tests.factories import gid, gql

SIGN_UP = """mutation { signUp(input: {organizationName: "Evil", adminDisplayName: "E", adminEmail: "e@evil.example",
  cloud: WORLDWIDE, billingAccountType: MCA}) { token userErrors { code } } }"""
ROOT = Path(__file__).resolve().parents[2]
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
            assert "data" not in body and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", name
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


def _nested(depth: int, kind: str) -> str:
    """A JSON value `depth` containers deep."""
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


async def test_a3_request_json_nested_past_64_levels_is_refused_with_400_and_one_log_line(client, caplog):
    # Audit finding 1: a body nested 1,000 deep got HTTP 500 and ~100 KB of traceback per request.
    bodies = [
        '{"query": "{ __typename }", "variables": {"a": %s}}' % _nested(1000, "list"),
        '{"query": "{ __typename }", "variables": {"a": %s}}' % _nested(1000, "object"),
        '{"query": "{ __typename }", "extensions": {"a": %s}}' % _nested(1000, "list"),
        '{"query": "{ __typename }", "variables": {"a": %s}}' % _nested(63, "list"),  # 65 levels in all
    ]
    for body in bodies:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text[:200]
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "BAD_REQUEST", "requestId": response.headers["x-request-id"]}
        assert "nested deeper than 64 levels" in error["message"]
        # one line besides the request's access line (issue #13)
        logged = [r for r in caplog.records if not r.name.startswith(("httpx", "billing_center.access"))]
        assert len(logged) == 1 and logged[0].exc_info is None and "\n" not in logged[0].getMessage()
        assert "Traceback" not in caplog.text
    # over GET too
    response = await client.get("/graphql", params={"query": "{ __typename }", "variables": '{"a": %s}' % _nested(1000, "list")})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # 64 levels are read as usual
    response = await client.post("/graphql", content='{"query": "{ __typename }", "variables": {"a": %s}}'
                                 % _nested(62, "list"), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exchange(port: int, head: bytes) -> bytes:
    """Send a request head over a raw socket; what came back ("" if the server reset the
    connection while the rest of a huge head was still on its way)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(head)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            return b"".join(chunks) if "chunks" in locals() else b""
        return b"".join(chunks)


def _head(*headers: bytes, target: bytes = b"/health") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(h + b"\r\n" for h in headers) + \
        b"Connection: close\r\n\r\n"


def test_b11_oversized_request_heads_are_refused_at_once_by_the_running_server(database_url):
    # Audit finding 2: a 100 MB header was read whole (seconds of CPU, hundreds of MB).
    if not database_url.startswith("sqlite"):
        pytest.skip("the HTTP server is the same on both databases")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _exchange_ok(port):
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.1)
        # within the limits: 98 headers, 15,000 bytes of them
        assert _exchange(port, _head(*(b"X-H%d: %s" % (i, b"a" * 150) for i in range(98)))).startswith(b"HTTP/1.1 200")
        refused = {
            "20 KiB of one header": _head(b"X-Big: " + b"a" * 20_000),
            "200 headers": _head(*(b"X-H%d: a" % i for i in range(200))),
            "a 100 KiB target": _head(target=b"/graphql?query=" + b"a" * 100_000),
        }
        for name, head in refused.items():
            started = time.monotonic()
            answer = _exchange(port, head)
            assert time.monotonic() - started < 2, name
            status = b"414" if b"target" in name.encode() else b"431"
            assert answer.startswith(b"HTTP/1.1 " + status), (name, answer[:100])
            assert (b'"code":"URI_TOO_LONG"' if status == b"414" else b'"code":"HEADERS_TOO_LARGE"') in answer
        # a 1 MB header: refused (or the connection reset under the rest of it), at once
        started = time.monotonic()
        answer = _exchange(port, _head(b"X-Big: " + b"a" * 1_000_000))
        assert time.monotonic() - started < 2
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
        # and the server goes on answering
        assert _exchange_ok(port)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _exchange_ok(port: int) -> bool:
    try:
        return _exchange(port, _head()).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


async def test_a11_an_answer_over_the_response_limit_is_not_sent(database, settings, clock):
    # Audit finding 3: the last line of defence behind the node budget.
    async with await _client(settings, clock) as http:
        full = await http.post("/graphql", json={"query": "{ products { sku name } }"})
    assert full.status_code == 200 and len(full.json()["data"]["products"]) == 8
    size = len(full.content)
    async with await _client(dataclasses.replace(settings, max_response_bytes=size), clock) as http:
        assert (await http.post("/graphql", json={"query": "{ products { sku name } }"})).content == full.content
    async with await _client(dataclasses.replace(settings, max_response_bytes=size - 1), clock) as http:
        response = await http.post("/graphql", json={"query": "{ products { sku name } }"})
        small = await http.post("/graphql", json={"query": "{ products { sku } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
    assert "O365_E3" not in response.text
    assert small.status_code == 200 and len(small.json()["data"]["products"]) == 8
    assert Settings.from_env({}).max_response_bytes == 10 * 1024 * 1024
    assert Settings.from_env({"BILLING_MAX_RESPONSE_BYTES": "1000"}).max_response_bytes == 1000


async def test_b12_every_graphql_answer_says_no_store(client, database, clock):
    # Audit finding 4: answers carrying a tenant's data could be kept by a browser or proxy cache.
    org = await factories.sign_up(clock)
    auth = {"authorization": f"Bearer {org.token}"}
    answers = [
        await client.post("/graphql", json={"query": "{ tenant { name } }"}, headers=auth),
        await client.get("/graphql", params={"query": "{ tenant { name } }"}, headers=auth),
        await client.post("/graphql", json={"query": "{ products { sku } }"}),
        await client.post("/graphql", json={"query": "{ tenant { name } }"}, headers={"authorization": "Bearer bc_nope_123456"}),
        await client.post("/graphql", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}),
        await client.post("/graphql", content=b"{", headers={"content-type": "application/json"}),
    ]
    assert answers[0].json()["data"]["tenant"]["name"]
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 413, 400]
    assert all(a.headers.get("cache-control") == "no-store" for a in answers)
    assert "no-store" not in (await client.get("/health")).headers.get("cache-control", "")


# Each is refused before anything runs; (document, variables).
REFUSED_DOCUMENTS = {
    "variable of the wrong type": (PURCHASE, {"input": {"productId": "x", "quantity": "ten", "commitmentTerm": "MONTHLY"}}),
    "missing required variable": (PURCHASE, {}),
    "unknown input field in a variable": (PURCHASE, {"input": {"productId": "x", "quantity": 1, "commitmentTerm": "MONTHLY",
                                                               "quantiy": 2}}),
    "unknown enum value in a variable": (PURCHASE, {"input": {"productId": "x", "quantity": 1, "commitmentTerm": "MONTHY"}}),
    "unknown enum value in the document": ('mutation { purchaseSubscription(input: {productId: "x", quantity: 1, '
                                           'commitmentTerm: MONTHY}) { userErrors { code } } }', None),
    "unknown argument": ("{ subscriptions(frist: 1) { totalCount } }", None),
    "unknown type": ("query Q($n: Inte) { __typename }", None),
    "unknown field": ("{ produts { sku } }", None),
    "syntax error": ("{ products { sku ", None),
    "document nested too deeply": ("{ products(x: %s) { sku } }" % ("[" * 300 + "]" * 300), None),
}


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_b6_every_refused_document_or_variable_carries_a_code_and_production_no_suggestion(
        database, clock, environment):
    # Audit finding 5: variable errors had no code, and production still said "Did you mean".
    settings = Settings.from_env({"DATABASE_URL": "sqlite://:memory:", "BILLING_ENV": environment})
    suggestions = []
    async with await _client(settings, clock) as http:
        for name, (document, variables) in REFUSED_DOCUMENTS.items():
            response = await http.post("/graphql", json={"query": document, "variables": variables})
            assert response.status_code == 200, name
            body = response.json()
            assert "data" not in body and body["errors"], name  # a request error (issue #13)
            for error in body["errors"]:
                assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", (name, error)
            suggestions += [name for error in body["errors"] if "Did you mean" in error["message"]]
    assert await models.Subscription.all().count() == 0
    if environment == "production":
        assert suggestions == []
    else:  # development keeps them for people exploring the API
        assert {"unknown input field in a variable", "unknown enum value in a variable", "unknown argument",
                "unknown field"} <= set(suggestions)
