"""examples/ (issue #13, a newcomer's first hour): the integration script written with the `gql`
client runs end to end against a live server, its documents validated on the client side
against schema.graphql."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from graphql import GraphQLError

from tests.live_server import free_port, live_server, running_server  # noqa: F401 - live_server is a fixture

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = ROOT / "examples" / "billing_walkthrough.py"
CLI = [sys.executable, "-m", "billing_center.cli"]


def test_the_walkthrough_does_the_articles_procedures_end_to_end(live_server):
    url, log = live_server.url, live_server.log
    # when
    done = subprocess.run([sys.executable, str(WALKTHROUGH), "--url", url], capture_output=True, text=True,
                          timeout=300)
    # then
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for seen in ("refused as expected: PAYMENT_DECLINED", "refused as expected: QUANTITY_BELOW_ASSIGNED",
                 "RENEWED", "PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "PAID, due 0.00", "DISABLED; credit",
                 "ACTIVE until", "Done: every step answered as expected."):
        assert seen in done.stdout, seen
    assert "Traceback" not in log.read_text()


def _load_walkthrough():
    spec = importlib.util.spec_from_file_location("walkthrough", WALKTHROUGH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_walkthrough_exits_with_1_on_a_refusal_it_did_not_expect(live_server, monkeypatch, capsys):
    """Run with a card the sandbox declines where the good one belongs: the script must stop
    with status 1 and say why, not carry on."""
    # given
    url = live_server.url
    walkthrough = _load_walkthrough()
    monkeypatch.setattr(walkthrough, "GOOD_CARD", walkthrough.DECLINED_CARD)
    monkeypatch.setattr(sys, "argv", ["billing_walkthrough.py", "--url", url])
    # when
    status = walkthrough.main()
    # then
    assert status == 1
    assert "FAILED: unexpected userErrors" in capsys.readouterr().err


def test_the_walkthrough_validates_its_documents_on_the_client_before_sending():
    # given: a client whose server does not exist
    walkthrough = _load_walkthrough()
    api = walkthrough.Api(f"http://127.0.0.1:{free_port()}/graphql", (ROOT / "schema.graphql").read_text())
    # when / then: a misspelt field fails against schema.graphql, before any connection
    with pytest.raises(GraphQLError, match="Cannot query field 'billingProfile' on type 'BillingAccount'"):
        api.query("query { billingAccounts { billingProfile { id } } }")
    # and every document of the script is valid
    documents = [document for name, document in vars(walkthrough).items()
                 if name.isupper() and isinstance(document, str) and document.lstrip().startswith(("query", "mutation"))]
    assert len(documents) >= 14
    for document in documents:
        api.client.validate(walkthrough.GraphQLRequest(document))


CONSUMER = ROOT / "examples" / "webhook_consumer.py"


def _post(url: str, token: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = json.load(answer)
    assert "errors" not in body, body
    return body["data"]


def test_the_webhook_consumer_handles_every_event_once_in_order_across_its_restarts(tmp_path):
    """SPEC §9, issue #14's "done when": a script subscribes, verifies every delivery, and
    misses nothing across its own restarts (it replays from its last sequence)."""
    add_domain = "mutation A($name: String!) { addDomain(input: {name: $name}) { userErrors { code } } }"
    last_event = "{ events(last: 1) { edges { node { sequence } } } }"
    with running_server(tmp_path, seed=True, BILLING_WEBHOOK_FIRST_RETRY_SECONDS="1") as server:
        admin = server.tokens_by_role["GLOBAL_ADMIN"]
        port, state = free_port(), tmp_path / "consumer.json"
        handled_file = state.with_suffix(".events.jsonl")

        def start(*extra: str) -> subprocess.Popen:
            process = subprocess.Popen([sys.executable, str(CONSUMER), "--api", server.url, "--token", admin,
                                        "--port", str(port), "--state", str(state), *extra],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert "Consuming on" in process.stdout.readline()
            return process

        def change(names: list[str]) -> None:
            for name in names:
                _post(server.url, admin, add_domain, {"name": f"{name}.example"})

        def handled() -> list[int]:
            lines = handled_file.read_text().splitlines() if handled_file.exists() else []
            return [json.loads(line)["sequence"] for line in lines]

        def settled() -> list[int]:
            last = _post(server.url, admin, last_event)["events"]["edges"][0]["node"]["sequence"]
            deadline = time.monotonic() + 30
            while (handled() or [0])[-1] < last:
                assert time.monotonic() < deadline, (handled(), last)
                time.sleep(0.1)
            return handled()

        consumer = start("--register")
        registered = _post(server.url, admin, '{ events(types: ["webhook_endpoint.created"]) { edges { node { sequence } } } }')
        first = registered["events"]["edges"][0]["node"]["sequence"]
        try:
            change(["one", "two", "three"])
            settled()
            consumer.terminate()
            consumer.wait(timeout=10)
            change(["while-down-1", "while-down-2"])  # their deliveries fail: nobody listens
            consumer = start()
            change(["after-1", "after-2"])
            sequences = settled()
            time.sleep(2)  # retries of the deliveries that failed while it was down come now
            assert handled() == sequences
        finally:
            consumer.terminate()
            consumer.wait(timeout=10)
    # every event since it registered, once, in order: its own registration and 7 domains
    assert sequences == list(range(first, first + 8))
