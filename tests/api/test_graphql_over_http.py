"""GraphQL over HTTP as its specification says (issue #13, item 2; API.md "Transport", rev. 2):
`application/graphql-response+json` when the client accepts it, with its status codes (400 for
request errors, 200 once execution started), `application/json` otherwise (200 for anything
GraphQL answered); request errors carry no `data` entry; a mutation over GET is 405 with
`Allow: POST`; a document with several operations needs `operationName`; every refusal is coded.
The `graphql-http` audit itself runs against a live server at the end of this file."""

from __future__ import annotations

import json
import subprocess

import pytest

from billing_center.domain import models
from tests.live_server import NODE_DIR, install_node_packages, live_server  # noqa: F401 - a fixture

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# What Apollo Client and graphql-http's client send.
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"
SIGN_UP = """mutation %s { signUp(input: {organizationName: "%s", adminDisplayName: "A", adminEmail: "a@%s.example",
  cloud: WORLDWIDE, billingAccountType: MCA}) { token userErrors { code } } }"""
TWO_OPERATIONS = SIGN_UP % ("First", "First", "first") + "\n" + SIGN_UP % ("Second", "Second", "second")
PRODUCTS = "query Products { products { sku } }"
# (document, variables) refused before execution starts.
REQUEST_ERRORS = {
    "syntax error": ("{ products { sku ", None),
    "unknown field": ("{ produts { sku } }", None),
    "variable of the wrong type": ("query P($only: Boolean) { products(selfServiceOnly: $only) { sku } }",
                                   {"only": "yes"}),
    "missing required variable": ("query P($only: Boolean!) { products(selfServiceOnly: $only) { sku } }", {}),
}


def _post(client, document, variables=None, accept=JSON, operation_name=None, **headers):
    body = {"query": document, "variables": variables}
    if operation_name is not None:
        body["operationName"] = operation_name
    return client.post("/graphql", json=body, headers={"accept": accept, **headers})


@pytest.mark.parametrize("accept, media_type", [
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (APOLLO_ACCEPT, GRAPHQL_RESPONSE),
    ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
    (JSON, JSON),
    ("*/*", JSON),
    (None, JSON),
    ("application/graphql-response+json;q=0.5, application/json", JSON),
    ("application/graphql-response+json;q=0, application/json", JSON),
    ("text/html", JSON),  # nothing acceptable: the legacy type, as the spec allows
])
async def test_the_answer_is_graphql_response_json_when_the_client_accepts_it(client, accept, media_type):
    # Issue #13 item 2: `application/graphql-response+json` was never answered (8 audit warnings).
    headers = {"accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("accept", None)
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("name", REQUEST_ERRORS)
async def test_request_errors_carry_no_data_entry_and_a_code_400_only_under_graphql_response_json(client, name):
    # Issue #13 item 2: request errors carried `"data": null` (must be absent), and syntax and
    # variable errors must carry `extensions.code`.
    document, variables = REQUEST_ERRORS[name]
    for accept, status, media_type in ((GRAPHQL_RESPONSE, 400, GRAPHQL_RESPONSE), (JSON, 200, JSON)):
        response = await _post(client, document, variables, accept=accept)
        assert response.status_code == status, (name, accept, response.text)
        assert response.headers["content-type"].split(";")[0] == media_type
        body = response.json()
        assert "data" not in body, (name, accept, body)
        assert body["errors"] and all(e["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" for e in body["errors"])


async def test_an_error_once_execution_started_keeps_data_null_and_status_200(client):
    # The spec's other case: execution started and failed at the root, so `data` is present.
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = await _post(client, "{ viewer { id } }", accept=accept)  # anonymous
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON, "*/*"])
async def test_a_mutation_over_get_is_405_with_allow_post_and_nothing_runs(client, accept):
    # Issue #13 item 2: a mutation over GET answered 400 (the spec says 405 Method Not Allowed).
    for params in ({"query": SIGN_UP % ("Get", "Get", "get")},
                   {"query": TWO_OPERATIONS, "operationName": "Second"}):
        response = await client.get("/graphql", params=params, headers={"accept": accept})
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        body = response.json()
        assert "data" not in body and body["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert await models.Tenant.all().count() == 0
    # a query over GET still runs
    response = await client.get("/graphql", params={"query": PRODUCTS}, headers={"accept": accept})
    assert response.status_code == 200 and len(response.json()["data"]["products"]) == 8


async def test_a_document_with_two_operations_and_no_operation_name_runs_nothing(client):
    # Issue #13 item 2: the first operation ran.
    for accept, status in ((JSON, 200), (GRAPHQL_RESPONSE, 400)):
        response = await _post(client, TWO_OPERATIONS, accept=accept)
        assert response.status_code == status
        body = response.json()
        assert "data" not in body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
        assert "operationName" in error["message"]
    assert await models.Tenant.all().count() == 0
    # named, the chosen one runs, and only it
    response = await _post(client, TWO_OPERATIONS, operation_name="Second")
    assert response.json()["data"]["signUp"]["userErrors"] == []
    assert [t.name for t in await models.Tenant.all()] == ["Second"]


async def test_an_unknown_operation_name_is_a_coded_json_error(client):
    # Issue #13 item 2: an unknown operationName answered 400 text/plain.
    for accept, status, media_type in ((JSON, 200, JSON), (GRAPHQL_RESPONSE, 400, GRAPHQL_RESPONSE)):
        response = await _post(client, PRODUCTS, accept=accept, operation_name="Nope")
        assert response.status_code == status
        assert response.headers["content-type"].split(";")[0] == media_type
        body = response.json()
        assert "data" not in body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE" and '"Nope"' in error["message"]


@pytest.mark.parametrize("operation_name", [{"a": 1}, 0, False, ["Products"]])
async def test_an_operation_name_that_is_not_a_string_is_refused_with_400(client, operation_name):
    response = await client.post("/graphql", json={"query": PRODUCTS, "operationName": operation_name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_refusals_outside_graphql_carry_no_data_entry_and_the_negotiated_type(client):
    # Not GraphQL answers at all (unreadable JSON, no query, a bad token): no `data` either.
    answers = [
        await client.post("/graphql", content=b"{", headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE}),
        await client.post("/graphql", json={"notquery": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}),
        await client.post("/graphql", json={"query": "{ __typename }"},
                          headers={"accept": GRAPHQL_RESPONSE, "authorization": "Bearer bc_nope_123456"}),
        await client.post("/graphql", content=b"x" * (1024 * 1024 + 1), headers={"content-type": JSON}),
    ]
    assert [a.status_code for a in answers] == [400, 400, 401, 413]
    for answer in answers:
        body = answer.json()
        assert "data" not in body and body["errors"][0]["extensions"]["code"], body
    assert [a.headers["content-type"].split(";")[0] for a in answers[:2]] == [GRAPHQL_RESPONSE, GRAPHQL_RESPONSE]


def test_the_graphql_http_audit_finds_no_warning_and_no_error(live_server):  # noqa: F811
    # Issue #13 item 2: 53 of 61 ok, 8 warnings. It needs no database parameter: the HTTP layer
    # is the same on SQLite and PostgreSQL, so it runs once, against a server on SQLite.
    node = install_node_packages()
    result = subprocess.run([node, "audit.mjs", live_server.url], cwd=NODE_DIR, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = dict(part.split("=") for part in result.stdout.strip().splitlines()[-1].split())
    assert counts == {"ok": "61", "notice": "0", "warn": "0", "error": "0"}, result.stdout
    assert "Traceback" not in live_server.log.read_text()


def test_the_node_packages_are_pinned():
    # The audit is reproducible: exact versions in package.json, all locked.
    manifest = json.loads((NODE_DIR / "package.json").read_text())
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit() and lock["packages"][f"node_modules/{name}"]["version"] == version, name
