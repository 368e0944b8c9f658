"""Webhook delivery as it runs in production (SPEC §9, issue #14): deliverers as processes of
their own (`billing-center deliver-webhooks`) sharing one PostgreSQL database, a deliverer
killed in the middle of an attempt, and `serve` delivering by itself. The processes are real;
so is the receiver, on 127.0.0.1 in this process. Each test takes a few seconds."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from billing_center.config import ConfigurationError, Settings
from billing_center.domain import domains, events, models, webhooks
from billing_center.domain.clock import Clock
from tests import factories
from tests.live_server import CLI, ROOT, running_server
from tests.webhook_receiver import Receiver, receiving

DEVELOPMENT = webhooks.UrlPolicy(production=False)
# What a deliverer process logs per lease (`Deliverer._drain`).
LEASE_LINE = re.compile(r"webhook endpoint (\d+): (\d+) delivery attempts")


@contextmanager
def deliverers(count: int, database_url: str, directory: Path, label: str = "deliverer",
               **environment: str) -> Iterator[list[subprocess.Popen]]:
    """`count` `billing-center deliver-webhooks` processes on `database_url`, each logging as
    text to directory/<label>-N.log, running once they said so. Left running at the end of
    the block they are killed (a test stops them itself to check how they stop)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BILLING_ENV")}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url, BILLING_LOG_FORMAT="text", **environment)
    processes = []
    try:
        for n in range(count):
            with open(directory / f"{label}-{n}.log", "w") as log:
                processes.append(subprocess.Popen(CLI + ["deliver-webhooks"], env=env, cwd=directory, stdout=log,
                                                  stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        for n, process in enumerate(processes):
            while "Delivering webhooks as" not in log_of(directory, n, label):
                assert process.poll() is None and time.monotonic() < deadline, log_of(directory, n, label)
                time.sleep(0.05)
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def log_of(directory: Path, n: int, label: str = "deliverer") -> str:
    return (directory / f"{label}-{n}.log").read_text()


def stop(processes: list[subprocess.Popen]) -> list[int]:
    """SIGTERM to each, then their exit codes."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    return [process.wait(timeout=30) for process in processes]


async def delivered_through(endpoint_ids: list[int]) -> dict[int, int]:
    rows = await models.WebhookEndpoint.filter(id__in=endpoint_ids).values("id", "delivered_through")
    return {row["id"]: row["delivered_through"] for row in rows}


async def wait_until_delivered(expected: dict[int, int], timeout: float = 30.0) -> None:
    """Until every endpoint's delivered_through is its expected sequence."""
    async with asyncio.timeout(timeout):
        while await delivered_through(list(expected)) != expected:
            await asyncio.sleep(0.1)


async def last_sequence(tenant_id: int) -> int:
    return (await models.EventCounter.get(tenant_id=tenant_id)).last_sequence


async def expected_sequences(endpoint: dict, through: int) -> list[int]:
    """What an endpoint must receive: its tenant's events after its registration, up to
    `through`, of its types, in order."""
    found = await models.Event.filter(tenant_id=endpoint["tenant_id"], sequence__gt=endpoint["delivered_through"],
                                      sequence__lte=through).order_by("sequence").values("sequence", "type")
    return [e["sequence"] for e in found if events.selects(endpoint["event_types"], e["type"])]


async def register(org: factories.Org, clock: Clock, receiver: Receiver, path: str,
                   event_types: list[str] | None = None) -> dict:
    return (await webhooks.create_endpoint(org.actor, receiver.url(path), event_types, None, DEVELOPMENT, clock)).row


async def test_two_deliverer_processes_on_postgresql_share_the_endpoints_and_deliver_every_event_once_in_order(
        database, backend, clock, tmp_path):
    if backend == "sqlite":
        pytest.skip("several deliverer processes share a PostgreSQL database; SQLite has one writer")
    # given two tenants with three endpoints each, one taking only domain events
    orgs = [await factories.sign_up(clock, name=name) for name in ("Contoso", "Fabrikam")]
    async with receiving() as receiver:
        endpoints = []
        for org in orgs:
            for path, types in (("all", None), ("also-all", None), ("domains", ["domain.added"])):
                endpoints.append(await register(org, clock, receiver, f"/{org.tenant.id}/{path}", types))
        with deliverers(2, database, tmp_path, BILLING_WEBHOOK_CONCURRENCY="2") as processes:
            # when both tenants write events while the two processes deliver
            for n in range(45):
                for org in orgs:
                    await domains.add_domain(org.actor, f"d{n}.{org.tenant.name.lower()}.example", None, clock)
                    if n % 9 == 0:
                        await factories.add_user(org, clock, f"User {n}")
            last = {org.tenant.id: await last_sequence(org.tenant.id) for org in orgs}
            await wait_until_delivered({e["id"]: last[e["tenant_id"]] for e in endpoints})
            exits = stop(processes)

    # then each endpoint got every event of its types exactly once, in sequence order
    for endpoint in endpoints:
        path = endpoint["url"].removeprefix(f"http://127.0.0.1:{receiver.port}")
        got = [event["sequence"] for event in receiver.events(path)]
        assert got == await expected_sequences(endpoint, last[endpoint["tenant_id"]]), path
    assert len(receiver.received) > 6 * 45
    # one attempt row per request, all of them delivered
    attempts = await models.WebhookDelivery.all().values_list("status", flat=True)
    assert len(attempts) == len(receiver.received) and set(attempts) == {models.DeliveryStatus.SUCCEEDED}
    # both processes did part of the work, and their attempts add up to the requests made
    made = [sum(int(m.group(2)) for m in LEASE_LINE.finditer(log_of(tmp_path, n))) for n in range(2)]
    assert all(made) and sum(made) == len(receiver.received), made
    # and SIGTERM stops them cleanly
    assert exits == [0, 0], [log_of(tmp_path, n)[-2000:] for n in range(2)]


async def test_a_deliverer_killed_mid_attempt_is_replaced_once_its_lease_ends_and_nothing_is_lost_or_reordered(
        database, clock, tmp_path):
    lease = 4.0
    settings = dict(BILLING_WEBHOOK_TIMEOUT_SECONDS="3", BILLING_WEBHOOK_LEASE_SECONDS=str(lease))
    org = await factories.sign_up(clock)
    async with receiving(hang_first=1) as receiver:
        endpoint = await register(org, clock, receiver, "/hook")
        for n in range(3):
            await domains.add_domain(org.actor, f"d{n}.example", None, clock)
        last = await last_sequence(org.tenant.id)
        # given a deliverer waiting for a receiver that does not answer its first request
        with deliverers(1, database, tmp_path, **settings) as [first]:
            await receiver.wait_for(1)
            # when it is killed there, holding the endpoint
            first.kill()
            first.wait()
        killed_at = time.monotonic()
        assert await models.WebhookDelivery.all().count() == 0  # it recorded nothing
        with deliverers(1, database, tmp_path, "replacement", **settings) as [second]:
            await wait_until_delivered({endpoint["id"]: last})
            assert stop([second]) == [0]

    # then the next deliverer waited for the dead one's lease, then sent everything in order:
    # the interrupted event again (at least once), and the rest once
    sequences = [event["sequence"] for event in receiver.events()]
    head = endpoint["delivered_through"] + 1
    assert sequences == [head] + list(range(head, last + 1))
    assert receiver.received[1].at - receiver.received[0].at >= lease - 0.5
    assert receiver.received[1].at >= killed_at
    rows = await models.WebhookDelivery.all().order_by("id").values_list("status", flat=True)
    assert rows == [models.DeliveryStatus.SUCCEEDED] * (last - head + 1)


SIGNED_IN_CREATE = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id deliveredThrough } userErrors { code message } }
}
"""
ADD_DOMAIN = "mutation Add($input: AddDomainInput!) { addDomain(input: $input) { userErrors { code } } }"
ENDPOINTS = "{ webhookEndpoints { id deliveredThrough } }"


@pytest.mark.parametrize("delivery", ["on", "off"])
async def test_serve_delivers_webhooks_by_itself_unless_told_not_to(database, clock, tmp_path, delivery):
    org = await factories.sign_up(clock)
    environment = {"DATABASE_URL": database, "BILLING_WEBHOOK_DELIVERY": "1" if delivery == "on" else "0"}
    async with receiving() as receiver:
        with running_server(tmp_path, **environment) as server:
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {org.token}"}, timeout=10) as http:
                async def gql(document: str, variables: dict | None = None) -> dict:
                    body = (await http.post(server.url, json={"query": document, "variables": variables or {}})).json()
                    assert "errors" not in body, body
                    return body["data"]

                # given an endpoint registered over HTTP, with no other process running
                created = (await gql(SIGNED_IN_CREATE, {"input": {"url": receiver.url()}}))["createWebhookEndpoint"]
                assert created["userErrors"] == []
                # when a change is made over HTTP
                added = await gql(ADD_DOMAIN, {"input": {"name": "served.example"}})
                assert added["addDomain"]["userErrors"] == []
                if delivery == "on":
                    # then the receiver gets its events within seconds: the registration, the domain
                    await receiver.wait_for(2, timeout=5)
                    assert [e["type"] for e in receiver.events()] == ["webhook_endpoint.created", "domain.added"]
                    expected = created["endpoint"]["deliveredThrough"] + 2
                    async with asyncio.timeout(5):
                        while (await gql(ENDPOINTS))["webhookEndpoints"][0]["deliveredThrough"] != expected:
                            await asyncio.sleep(0.1)
                else:
                    # then (BILLING_WEBHOOK_DELIVERY=0: a deliverer process does it) nothing is sent
                    await asyncio.sleep(2.5)
                    assert receiver.received == []
                    [endpoint] = (await gql(ENDPOINTS))["webhookEndpoints"]
                    assert endpoint["deliveredThrough"] == created["endpoint"]["deliveredThrough"]


def test_a_deliverers_lease_outlasts_its_timeout_and_can_be_set():
    assert Settings.from_env({}).deliverer().lease == timedelta(seconds=40)
    chosen = Settings.from_env({"BILLING_WEBHOOK_TIMEOUT_SECONDS": "3", "BILLING_WEBHOOK_LEASE_SECONDS": "4.5"})
    assert chosen.deliverer().lease == timedelta(seconds=4.5)
    # a shorter lease would let a second deliverer start on an endpoint while an attempt runs
    with pytest.raises(ConfigurationError, match="BILLING_WEBHOOK_LEASE_SECONDS"):
        Settings.from_env({"BILLING_WEBHOOK_TIMEOUT_SECONDS": "10", "BILLING_WEBHOOK_LEASE_SECONDS": "10"})
