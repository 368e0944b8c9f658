"""A webhook consumer that misses nothing: it verifies every delivery, handles each event once
and in order, and catches up from the `events` query after its own restarts.

    python examples/webhook_consumer.py --api http://127.0.0.1:8000/graphql --token TOKEN \\
        --port 8787 --state consumer.json --register

Standard library only. `--register` makes a webhook endpoint for http://127.0.0.1:PORT/
(a global admin's token; development accepts http on loopback) and keeps its secret in the
state file; later starts reuse it. The state file also holds the last sequence number handled.
Handling an event here means appending it to `<state>.events.jsonl`; a real consumer does its
work there.

Why it cannot miss an event: deliveries arrive in sequence order, each at least once, and a
delivery whose sequence number is not the next one means events went by while this process
was down (or before it registered). Then, and at every start, it reads what it missed with
`events(afterSequence: <last handled>)` before handling the delivery. A delivery it handled
already (same or older sequence) is answered 200 and skipped: at least once becomes once.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOLERANCE_SECONDS = 300
EVENTS = """query Missed($after: Int!) { events(afterSequence: $after, first: 100) {
  edges { node { id sequence type occurredAt objectType objectId data previousData } }
  pageInfo { hasNextPage } } }"""
REGISTER = """mutation Register($url: String!) { createWebhookEndpoint(input: {url: $url}) {
  secret endpoint { id deliveredThrough } userErrors { code message } } }"""


def verified(secret: str, header: str, body: bytes) -> bool:
    """The README's check: `Billing-Signature` signs this raw body, recently."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = fields.get("t", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class Consumer:
    """The state (secret, last sequence handled) and the handling, one event at a time."""

    def __init__(self, api: str, token: str, state: Path):
        self.api, self.token, self.state_file = api, token, state
        self.state: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {}
        self.lock = threading.Lock()

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.api, data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.load(answer)
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def register(self, url: str) -> None:
        created = self.graphql(REGISTER, {"url": url})["createWebhookEndpoint"]
        if created["userErrors"]:
            raise RuntimeError(created["userErrors"])
        self.state = {"endpointId": created["endpoint"]["id"], "secret": created["secret"],
                      "last": created["endpoint"]["deliveredThrough"]}
        self._save()

    def catch_up(self) -> None:
        """Handle, in order, every event after the last one handled (the query pages them)."""
        while True:
            page = self.graphql(EVENTS, {"after": self.state["last"]})["events"]
            for edge in page["edges"]:
                self._handle(edge["node"])
            if not page["pageInfo"]["hasNextPage"]:
                return

    def delivered(self, event: dict[str, Any]) -> None:
        """A verified delivery: skipped if handled already, after what was missed otherwise."""
        with self.lock:
            if event["sequence"] <= self.state["last"]:
                return
            if event["sequence"] > self.state["last"] + 1:
                self.catch_up()
            if event["sequence"] > self.state["last"]:
                self._handle(event)

    def _handle(self, event: dict[str, Any]) -> None:
        # The work of a real consumer goes here; it must be done before `last` moves on.
        with open(self.state_file.with_suffix(".events.jsonl"), "a") as out:
            out.write(json.dumps({k: event[k] for k in ("id", "sequence", "type")}) + "\n")
        self.state["last"] = event["sequence"]
        self._save()

    def _save(self) -> None:
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state))
        temporary.replace(self.state_file)


def serve(consumer: Consumer, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not verified(consumer.state["secret"], self.headers.get("Billing-Signature", ""), body):
                self.send_response(400)
            else:
                consumer.delivered(json.loads(body))
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"Consuming on http://127.0.0.1:{port}/ after sequence {consumer.state['last']}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--token", required=True, help="a global admin's API token")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--state", type=Path, default=Path("consumer.json"))
    parser.add_argument("--register", action="store_true", help="register this consumer's endpoint first")
    args = parser.parse_args()
    consumer = Consumer(args.api, args.token, args.state)
    if args.register and not consumer.state:
        consumer.register(f"http://127.0.0.1:{args.port}/")
    consumer.catch_up()
    serve(consumer, args.port)


if __name__ == "__main__":
    main()
