"""Apollo's automatic persisted queries (issue #13, item 3; API.md "Transport", rev. 2): an
unknown hash answers PERSISTED_QUERY_NOT_FOUND, the retry with the document registers it (its
hash checked), then the hash alone runs it, over POST and GET; the cache is bounded; the
document found by its hash meets every limit a sent one meets. The requests are those Apollo
Client's persisted-queries link sends, byte for byte in their JSON shape."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess

import httpx
import pytest

from billing_center import persisted_queries
from billing_center.app import create_app
from billing_center.domain import models
from billing_center.domain.payment_gateway import SandboxGateway
from billing_center.persisted_queries import PersistedQueryStore
from billing_center.resolvers import limits
from tests import factories
from tests.live_server import NODE_DIR, install_node_packages, live_server  # noqa: F401 - a fixture

# Apollo Client prints documents this way (with __typename added) before hashing them.
PRODUCTS = "query Products {\n  products {\n    sku\n    __typename\n  }\n}"
TENANT = "query Tenant {\n  tenant {\n    name\n    __typename\n  }\n}"
SIGN_UP = """mutation SignUp {
  signUp(input: {organizationName: "Hashed", adminDisplayName: "H", adminEmail: "h@hashed.example", cloud: WORLDWIDE, billingAccountType: MCA}) {
    token
    __typename
  }
}"""
APOLLO_HEADERS = {"accept": "application/graphql-response+json,application/json;q=0.9",
                  "content-type": "application/json"}


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def apollo_body(document: str, operation_name: str, with_query: bool, version: int = 1,
                hash_: str | None = None) -> dict:
    """The JSON body Apollo Client's persisted-queries link posts (hash only, then with the query)."""
    body = {"operationName": operation_name, "variables": {},
            "extensions": {"persistedQuery": {"version": version, "sha256Hash": hash_ or sha256(document)}}}
    if with_query:
        body["query"] = document
    return body


def apollo_params(document: str, operation_name: str, with_query: bool) -> dict:
    """The same as query-string parameters (Apollo's `useGETForHashedQueries`): JSON strings."""
    body = apollo_body(document, operation_name, with_query)
    return {key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for key, value in body.items()}


def assert_not_found(response: httpx.Response) -> None:
    # What the link retries on: HTTP 200 (a 400 or 500 would turn APQ off), the message and the code.
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apollo_protocol_over_post_unknown_hash_then_register_then_hash_only(client):
    # Issue #13 item 3: an Apollo app with the APQ link on got 400 text/plain.
    post = lambda body: client.post("/graphql", json=body, headers=APOLLO_HEADERS)  # noqa: E731
    assert_not_found(await post(apollo_body(PRODUCTS, "Products", with_query=False)))
    registered = await post(apollo_body(PRODUCTS, "Products", with_query=True))
    assert registered.status_code == 200
    assert registered.headers["content-type"].startswith("application/graphql-response+json")
    products = registered.json()["data"]["products"]
    assert len(products) == 8 and products[0]["__typename"] == "Product"
    by_hash = await post(apollo_body(PRODUCTS, "Products", with_query=False))
    assert by_hash.status_code == 200 and by_hash.json() == registered.json()


async def test_apollo_protocol_over_get_unknown_hash_then_register_then_hash_only(client):
    get = lambda params, accept=APOLLO_HEADERS["accept"]: client.get(  # noqa: E731
        "/graphql", params=params, headers={"accept": accept})
    assert_not_found(await get(apollo_params(PRODUCTS, "Products", with_query=False)))
    # a hash-only GET from a tool accepting anything is a request for data, not for GraphiQL
    assert_not_found(await get(apollo_params(PRODUCTS, "Products", with_query=False), accept="*/*"))
    registered = await get(apollo_params(PRODUCTS, "Products", with_query=True))
    assert registered.status_code == 200 and len(registered.json()["data"]["products"]) == 8
    by_hash = await get(apollo_params(PRODUCTS, "Products", with_query=False))
    assert by_hash.json() == registered.json()
    # registered over GET, found over POST too (one cache)
    assert (await client.post("/graphql", json=apollo_body(PRODUCTS, "Products", False))).json() == registered.json()


async def test_a_hash_that_is_not_the_documents_is_refused_runs_nothing_and_is_not_kept(client):
    wrong = sha256(PRODUCTS)
    response = await client.post("/graphql", json=apollo_body(SIGN_UP, "SignUp", with_query=True, hash_=wrong))
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert await models.Tenant.all().count() == 0
    assert_not_found(await client.post("/graphql", json=apollo_body(PRODUCTS, "Products", with_query=False)))


@pytest.mark.parametrize("persisted, code", [
    ({"version": 2, "sha256Hash": sha256(PRODUCTS)}, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
    ({"sha256Hash": sha256(PRODUCTS)}, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
    ({"version": 1, "sha256Hash": "abc"}, "BAD_REQUEST"),
    ({"version": 1, "sha256Hash": 12}, "BAD_REQUEST"),
    ({"version": 1}, "BAD_REQUEST"),
    ("yes", "BAD_REQUEST"),
])
async def test_a_malformed_persisted_query_is_a_coded_400(client, persisted, code):
    for body in ({"extensions": {"persistedQuery": persisted}},
                 {"query": PRODUCTS, "extensions": {"persistedQuery": persisted}}):
        response = await client.post("/graphql", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_a_mutation_found_by_its_hash_still_never_runs_over_get(client):
    registered = await client.post("/graphql", json=apollo_body(SIGN_UP, "SignUp", with_query=True))
    assert registered.json()["data"]["signUp"]["token"]
    response = await client.get("/graphql", params=apollo_params(SIGN_UP, "SignUp", with_query=False),
                                headers={"accept": "application/json"})
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert await models.Tenant.all().count() == 1


async def test_a_document_refused_by_the_limits_or_validation_is_refused_alike_and_not_kept(client):
    too_deep = "query Deep { " + "viewer { tenant { " * 5 + "name" + " }" * 10 + " }"
    invalid = "query Typo { produts { sku } }"
    for document, name, code in ((too_deep, "Deep", limits.CODE), (invalid, "Typo", "GRAPHQL_VALIDATION_FAILED")):
        sent = (await client.post("/graphql", json={"query": document})).json()
        hashed = await client.post("/graphql", json=apollo_body(document, name, with_query=True))
        assert hashed.status_code == 200 and hashed.json()["errors"] == sent["errors"] != []
        assert sent["errors"][0]["extensions"]["code"] == code
        assert_not_found(await client.post("/graphql", json=apollo_body(document, name, with_query=False)))


async def test_the_rate_limit_charges_a_document_found_by_its_hash_as_a_sent_one(database, settings, clock):
    # No bypass: 20 points a minute are 20 queries, sent or by hash.
    org = await factories.sign_up(clock)
    app = create_app(dataclasses.replace(settings, rate_limit_points=20), clock=clock, manage_db=False,
                     gateway=SandboxGateway())
    auth = {"authorization": f"Bearer {org.token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        first = await http.post("/graphql", json=apollo_body(TENANT, "Tenant", with_query=True), headers=auth)
        assert first.json()["data"]["tenant"]["name"]
        for _ in range(19):
            response = await http.post("/graphql", json=apollo_body(TENANT, "Tenant", with_query=False), headers=auth)
            assert response.json() == first.json()
        throttled = await http.post("/graphql", json=apollo_body(TENANT, "Tenant", with_query=False),
                                    headers={**auth, **APOLLO_HEADERS})
    body = throttled.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled.status_code == 429  # a request error under application/graphql-response+json


def test_the_cache_is_bounded_in_documents_and_bytes_dropping_the_least_recently_used():
    store = PersistedQueryStore(max_documents=3, max_bytes=100)
    for name in "abc":
        store.keep(name, name * 10)
    store.document("a")  # used: "b" is now the least recently used
    store.keep("d", "d" * 10)
    assert len(store) == 3
    with pytest.raises(persisted_queries.PersistedQueryError):
        store.document("b")
    assert store.document("a") == "a" * 10
    store.keep("e", "e" * 80)  # 110 bytes in all: the least recently used go until 100 fit
    assert store.size <= 100 and store.document("e") == "e" * 80
    store.keep("huge", "x" * 101)  # larger than the whole cache: not kept, nothing dropped for it
    assert store.size <= 100 and store.document("e")
    with pytest.raises(persisted_queries.PersistedQueryError):
        store.document("huge")
    assert persisted_queries.MAX_DOCUMENTS == 10_000


def test_apollo_clients_own_persisted_queries_link_works_over_post_and_get(live_server):  # noqa: F811
    # Issue #13 item 3, "done when": APQ works from a real Apollo-protocol request. Here the
    # requests are those of @apollo/client's PersistedQueryLink itself (tests/http_audit).
    node = install_node_packages()
    result = subprocess.run([node, "apollo_apq.mjs", live_server.url], cwd=NODE_DIR, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)}
    assert all(step["products"] == 8 for step in steps.values()), steps
    shape = {name: [(r["method"], r["withQuery"], r["status"], r["codes"]) for r in step["requests"]]
             for name, step in steps.items()}
    assert shape == {
        "post: first use": [("POST", False, 200, ["PERSISTED_QUERY_NOT_FOUND"]), ("POST", True, 200, [])],
        "post: known hash": [("POST", False, 200, [])],
        "get: first use": [("GET", False, 200, ["PERSISTED_QUERY_NOT_FOUND"]), ("POST", True, 200, [])],
        "get: known hash": [("GET", False, 200, [])],
    }
    assert all(r["hashed"] and r["contentType"].startswith("application/graphql-response+json")
               for step in steps.values() for r in step["requests"])
    assert "Traceback" not in live_server.log.read_text()
