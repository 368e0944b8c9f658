"""Faults (issue #6; RELIABILITY.md E1, D3): `kill -9` of the server in the middle of a stream
of mutations, on SQLite and PostgreSQL, then a restart. Every request either fully happened
or not at all, every invariant holds (`domain.integrity`), and purchases retried with their
idempotency keys take effect exactly once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from billing_center.domain import integrity, models
from tests import factories
from tests.factories import gid

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("BILLING_FAULT_KILLS", "3"))
PURCHASES = 24
PURCHASE = """mutation Buy($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) {
  replayed subscription { id } userErrors { code message } } }"""
ASSIGN = """mutation Assign($input: AssignLicensesInput!) { assignLicenses(input: $input) {
  userErrors { code } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _start(database: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT), "BILLING_RATE_LIMIT_POINTS": "0"}
    server = subprocess.Popen([sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        for _ in range(300):
            try:
                if (await http.get("/health")).status_code == 200:
                    return server, base
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    server.kill()
    pytest.fail("server did not start")


async def test_kill_9_mid_stream_loses_nothing_and_retries_take_effect_once(database, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    users = [(await factories.add_user(org, clock, f"Seat {i}"))[0] for i in range(30)]
    seats = await factories.add_subscription(org, clock, quantity=20)
    product = gid("Product", (await models.Product.get(sku="O365_E1")).id)
    headers = {"Authorization": f"Bearer {org.token}"}

    def purchase(i: int) -> dict:
        return {"query": PURCHASE, "variables": {"input": {
            "productId": product, "quantity": 1 + i % 3, "commitmentTerm": "MONTHLY", "idempotencyKey": f"fault-{i}"}}}

    def assign(i: int) -> dict:
        return {"query": ASSIGN, "variables": {"input": {
            "subscriptionId": gid("Subscription", seats.id), "userIds": [gid("User", users[i].id)]}}}

    answered: set[int] = set()
    lost = 0
    rng = random.Random(7)
    for _ in range(KILLS):
        server, base = await _start(database)
        outcomes: list[str] = []
        async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
            async def send(i: int) -> None:
                try:
                    if i < PURCHASES:
                        body = (await http.post("/graphql", json=purchase(i))).json()
                        payload = body["data"]["purchaseSubscription"]
                        assert payload["userErrors"] == [], payload
                        answered.add(i)
                    else:
                        await http.post("/graphql", json=assign(i - PURCHASES))
                    outcomes.append("ok")
                except httpx.HTTPError:
                    outcomes.append("lost")

            stream = [asyncio.ensure_future(send(i)) for i in rng.sample(range(PURCHASES + len(users)), 40)]
            # kill once the stream is well under way
            cut = rng.randint(10, 30)
            while len(outcomes) < cut and not all(task.done() for task in stream):
                await asyncio.sleep(0.005)
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            await asyncio.gather(*stream)
        lost += outcomes.count("lost")
    assert lost, "the kills must cut requests off mid-stream"
    # restart; every purchase is retried with its key
    server, base = await _start(database)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
            replies = [(await http.post("/graphql", json=purchase(i))).json()["data"]["purchaseSubscription"]
                       for i in range(PURCHASES)]
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert all(reply["userErrors"] == [] for reply in replies), replies
    # a purchase answered before a kill is replayed, never bought again
    assert all(replies[i]["replayed"] for i in answered)
    bought = await models.Subscription.filter(tenant_id=org.tenant.id).exclude(id=seats.id).count()
    assert bought == PURCHASES == len({reply["subscription"]["id"] for reply in replies})
    assert await integrity.violations(org.tenant.id) == []
    assert await integrity.violations() == []
    print(f"faults: {KILLS} kills, {lost} requests cut off, {len(answered)} purchases answered before a kill, "
          f"{PURCHASES} retried after restart ({sum(bool(r['replayed']) for r in replies)} replayed: they had "
          f"happened), {bought} subscriptions bought, 0 violations")
