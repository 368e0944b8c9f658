"""One access line per request (issue #13, a newcomer's first hour: "the server logs nothing per
request"): request id, operation name, method, path, status, duration and the caller's tenant,
as JSON when stderr is not a terminal, with no token or card data in it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from billing_center.access_log import ACCESS_LOGGER, LogFormatter
from tests import factories
from tests.factories import gid

ROOT = Path(__file__).resolve().parents[2]
PAN = "4242424242424242"
CVC = "8642"
LOOKALIKE = "bc_AbCdEf123456GhIjKl"  # shaped like a token, and a GraphQL name
TENANT_NAME = "query TenantName { tenant { name } }"
ADD_CARD = """mutation AddCard($input: AddPaymentMethodInput!) { addPaymentMethod(input: $input) {
  paymentMethod { last4 } userErrors { code } } }"""
FIELDS = {"request_id", "operation", "method", "path", "status", "duration_ms", "caller", "tenant_id", "user_id"}


@pytest.fixture
async def org(database, clock):
    return await factories.sign_up(clock)


async def _one_line(client, caplog, method: str, path: str, **request) -> tuple[dict, object]:
    """Send one request; return the fields of its one access record, and the response."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = await client.request(method, path, **request)
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert set(records[0].access) == FIELDS
    return records[0].access, response


async def test_every_request_logs_one_access_line_with_who_called_and_how_it_went(client, org, caplog):
    # when: a named query with a token
    line, response = await _one_line(client, caplog, "POST", "/graphql", json={"query": TENANT_NAME},
                                     headers={"Authorization": f"Bearer {org.token}"})
    # then
    assert response.status_code == 200 and response.json()["data"]["tenant"]["name"] == "Contoso"
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["operation"], line["method"], line["path"], line["status"]) == ("TenantName", "POST", "/graphql", 200)
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
    assert (line["caller"], line["tenant_id"], line["user_id"]) == ("user", org.tenant.id, org.admin.id)
    # an anonymous query, its operation chosen by operationName among two, over GET
    line, response = await _one_line(client, caplog, "GET", "/graphql", params={
        "query": "query A { products { sku } } query B { __typename }", "operationName": "B"})
    assert response.status_code == 200
    assert (line["operation"], line["method"], line["caller"], line["tenant_id"]) == ("B", "GET", "anonymous", None)
    # a refused token: 401 before GraphQL runs
    line, response = await _one_line(client, caplog, "POST", "/graphql", json={"query": TENANT_NAME},
                                     headers={"Authorization": "Bearer bc_not_a_real_token_42"})
    assert (line["status"], line["caller"], line["operation"]) == (401, "anonymous", None)
    assert line["request_id"] == response.headers["x-request-id"]
    # not GraphQL at all
    line, _ = await _one_line(client, caplog, "GET", "/health")
    assert (line["path"], line["status"], line["operation"]) == ("/health", 200, None)


async def test_access_lines_are_one_json_object_each_off_a_terminal_with_no_token_or_card(client, org, caplog):
    # given: requests carrying a card, a security code and tokens where a client can put them
    headers = {"Authorization": f"Bearer {org.token}"}
    card = {"number": PAN, "securityCode": CVC, "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "Pat"}
    requests = [
        {"json": {"query": ADD_CARD, "variables": {"input": {"billingProfileId": gid("BillingProfile", org.profile.id),
                                                               "card": card}}}},
        {"json": {"query": "{ tenant { name ", "operationName": f"x_{LOOKALIKE}"}},  # broken, named like a token
        {"json": {"query": "{ tenant { name } }", "operationName": PAN}},          # not a name at all
        {"json": {"query": f"query _{PAN} {{ tenant {{ name }} }}"}},              # a name holding a card number
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        for request in requests:
            await client.post("/graphql", headers=headers, **request)
        await client.get(f"/graphql/{PAN}/{org.token}", headers=headers)
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(records) == len(requests) + 1
    # when
    as_json = [LogFormatter(json=True).format(record) for record in records]
    as_text = [LogFormatter(json=False).format(record) for record in records]
    # then
    entries = [json.loads(line) for line in as_json]
    assert all("\n" not in line for line in as_json + as_text)
    assert [e["operation"] for e in entries] == ["AddCard", "x_[redacted]", None, "_[redacted]", None]
    assert entries[0]["status"] == 200 and entries[0]["logger"] == ACCESS_LOGGER and entries[0]["level"] == "INFO"
    assert entries[-1]["status"] == 404 and entries[-1]["path"] == "/graphql/[redacted]/[redacted]"
    assert not any(line.lstrip().startswith("{") for line in as_text)
    assert "AddCard (tenant" in as_text[0] and f"request {entries[0]['request_id']}" in as_text[0]
    # A record's clock and process numbers are not from the request: they may hold the
    # security code's digits by chance (as request ids may, random hex, below).
    incidental = {"created", "msecs", "relativeCreated", "thread", "process", "time"}
    fields = [repr({k: v for k, v in r.__dict__.items() if k not in incidental}) for r in records]
    everything = "\n".join(as_json + as_text + fields)
    for entry in entries:
        everything = everything.replace(entry["request_id"], "<request id>").replace(entry["time"], "<time>")
    for secret in (PAN, CVC, org.token, LOOKALIKE):
        assert secret not in everything


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_writes_one_json_line_per_request_to_stderr_and_no_uvicorn_access_line(tmp_path):
    # given: the server as deployed, its stderr a file (not a terminal)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BILLING_LOG_FORMAT")}
    env["PYTHONPATH"] = str(ROOT)
    port = _free_port()
    (tmp_path / "var").mkdir()  # where the default SQLite database goes (/health opens it)
    with open(tmp_path / "stderr.log", "w") as stderr:
        server = subprocess.Popen([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port)], env=env,
                                  cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            for _ in range(100):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            # when: two more requests
            request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", headers={
                "content-type": "application/json"}, data=b'{"query": "query Ping { __typename }"}')
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read()) == {"data": {"__typename": "Query"}}
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
                assert response.status == 200
        finally:
            server.terminate()
            server.wait(timeout=20)
    # then: every line is a JSON object (uvicorn's own lines too); one access line per request
    lines = [json.loads(line) for line in (tmp_path / "stderr.log").read_text().splitlines()]
    access = [line for line in lines if line["logger"] == ACCESS_LOGGER]
    assert [(a["method"], a["path"], a["status"]) for a in access][-2:] == [("POST", "/graphql", 200),
                                                                              ("GET", "/health", 200)]
    assert access[-2]["operation"] == "Ping" and access[-2]["caller"] == "anonymous"
    assert len(access) == len({a["request_id"] for a in access}) >= 3  # the first health polls too
    assert not any("HTTP/1.1" in line.get("message", "") for line in lines)  # uvicorn's access log is off
