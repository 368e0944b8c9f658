"""Licence counts hold when requests race (SPEC §4): 50 concurrent single-user assign calls
at a subscription of 10, over HTTP against a running server, on SQLite (one worker) and
PostgreSQL (two worker processes): exactly 10 succeed, the count is 10, no HTTP 500."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from billing_center.domain import models
from tests import factories
from tests.api.test_assign_licenses import ASSIGN
from tests.factories import gid

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def live_server(database, backend):
    """`billing-center serve` on the test database, in its own process(es)."""
    port = _free_port()
    workers = "2" if backend == "postgres" else "1"
    env = {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "billing_center.cli", "serve", "--port", str(port), "--workers", workers],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(200):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
            else:
                pytest.fail("server did not start")
            yield http
    finally:
        server.terminate()
        server.wait(timeout=20)


async def test_fifty_concurrent_assigns_fill_exactly_ten_seats(live_server, clock):
    # given
    org = await factories.sign_up(clock)
    users = [(await factories.add_user(org, clock, f"Racer {i}"))[0] for i in range(50)]
    subscription = await factories.add_subscription(org, clock, quantity=10)
    headers = {"Authorization": f"Bearer {org.token}"}

    async def assign(user: models.User) -> httpx.Response:
        return await live_server.post("/graphql", headers=headers, json={"query": ASSIGN, "variables": {"input": {
            "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", user.id)],
        }}})

    # when
    responses = await asyncio.gather(*(assign(user) for user in users))
    # then
    assert [r.status_code for r in responses] == [200] * 50
    outcomes = Counter(
        (r.json()["data"]["assignLicenses"]["userErrors"] or [{"code": "OK"}])[0]["code"] for r in responses
    )
    assert outcomes == {"OK": 10, "INSUFFICIENT_LICENSES": 40}
    stored = await models.Subscription.get(id=subscription.id)
    assert stored.assigned_count == 10
    assert await models.LicenseAssignment.filter(subscription_id=subscription.id).count() == 10


async def test_the_same_user_assigned_by_racing_calls_holds_one_seat(live_server, clock):
    org = await factories.sign_up(clock)
    [user] = [(await factories.add_user(org, clock, "Twin"))[0]]
    subscription = await factories.add_subscription(org, clock, quantity=10)
    headers = {"Authorization": f"Bearer {org.token}"}
    request = {"query": ASSIGN, "variables": {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", user.id)],
    }}}
    responses = await asyncio.gather(*(live_server.post("/graphql", headers=headers, json=request) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    outcomes = Counter(r.json()["data"]["assignLicenses"]["results"][0]["outcome"] for r in responses)
    assert outcomes["ASSIGNED"] == 1
    assert outcomes["ALREADY_ASSIGNED"] == 9
    stored = await models.Subscription.get(id=subscription.id)
    assert stored.assigned_count == 1
