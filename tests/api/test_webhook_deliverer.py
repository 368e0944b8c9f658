"""The deliverer's own promises (SPEC §9: at least once, per endpoint in order, never a
request's concern): it holds an endpoint for the whole of every attempt it makes, stops
between attempts when told to, lets its endpoints go when it is cancelled, and a host that
never resolves costs it one timeout. In process, with a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import importlib.abc
import socket
import ssl
import sys
import time

from billing_center.domain import domains, models, webhooks
from billing_center.domain.clock import SystemClock
from billing_center.webhooks.deliverer import Deliverer
from tests import factories
from tests.webhook_receiver import receiving

DEVELOPMENT = webhooks.UrlPolicy(production=False)


async def _endpoint(org, clock, url: str) -> dict:
    return (await webhooks.create_endpoint(org.actor, url, None, None, DEVELOPMENT, clock)).row


async def _add_domains(org, clock, count: int) -> int:
    """Adds `count` domains (an event each); the tenant's last sequence."""
    for n in range(count):
        await domains.add_domain(org.actor, f"d{n}.example", None, clock)
    return (await models.EventCounter.get(tenant_id=org.tenant.id)).last_sequence


async def _held(endpoint_id: int) -> dict:
    return (await models.WebhookEndpoint.filter(id=endpoint_id).values(
        "lease_owner", "delivered_through"))[0]


async def test_a_deliverer_keeps_its_endpoint_for_the_whole_of_every_attempt_however_short_its_lease(database, clock):
    # given a receiver that takes most of the timeout to answer, and a lease barely longer
    org = await factories.sign_up(clock)
    async with receiving(delay=0.4) as receiver:
        endpoint = await _endpoint(org, clock, receiver.url())
        last = await _add_domains(org, clock, 3)
        one, other = (Deliverer(production=False, clock=SystemClock(), timeout=0.5, lease_seconds=0.6, workers=1)
                      for _ in range(2))
        # when one deliverer works through the line while another keeps looking for work
        working = asyncio.create_task(one.run_once())
        await receiver.wait_for(1)
        while not working.done():
            await other.run_once()
            await asyncio.sleep(0.02)
        await working
    # then the other never took the endpoint over: every event arrived once, in order
    head = endpoint["delivered_through"] + 1
    assert [e["sequence"] for e in receiver.events()] == list(range(head, last + 1))
    assert await models.WebhookDelivery.all().count() == last - head + 1


async def test_a_deliverer_told_to_stop_ends_after_the_attempt_under_way_and_lets_its_endpoint_go(database, clock):
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        endpoint = await _endpoint(org, clock, receiver.url())
        last = await _add_domains(org, clock, 30)
        stop = asyncio.Event()
        # given a deliverer with a long line to deliver
        running = asyncio.create_task(Deliverer(production=False, clock=clock, workers=1).run_forever(stop))
        await receiver.wait_for(1)
        # when it is told to stop (SIGTERM) as the first request arrives
        stop.set()
        await asyncio.wait_for(running, 5)
    # then it stops without working through the line, and what it sent is recorded
    sent = len(receiver.received)
    assert sent <= 2
    held = await _held(endpoint["id"])
    assert held == {"lease_owner": None, "delivered_through": endpoint["delivered_through"] + sent}
    assert held["delivered_through"] < last


async def test_a_deliverer_cancelled_mid_attempt_lets_its_endpoint_go_at_once(database, clock):
    org = await factories.sign_up(clock)
    async with receiving(hang=True) as receiver:
        endpoint = await _endpoint(org, clock, receiver.url())
        await _add_domains(org, clock, 1)
        running = asyncio.create_task(Deliverer(production=False, clock=clock, timeout=30).run_forever(asyncio.Event()))
        await receiver.wait_for(1)
        assert (await _held(endpoint["id"]))["lease_owner"] is not None
        # when serve shuts down and cancels delivery while a receiver keeps it waiting
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    # then another deliverer may take the endpoint now, not when the 60 s lease ends
    assert await _held(endpoint["id"]) == {"lease_owner": None, "delivered_through": endpoint["delivered_through"]}
    assert await models.WebhookDelivery.all().count() == 0  # the attempt is made again


async def test_a_host_that_never_resolves_costs_one_timeout_and_counts_as_a_failed_attempt(database, clock):
    async def never(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return []

    org = await factories.sign_up(clock)
    endpoint = await _endpoint(org, clock, "http://hooks.example/")
    started = time.monotonic()
    made = await asyncio.wait_for(
        Deliverer(production=False, clock=clock, resolver=never, timeout=0.3).run_once(), 5)
    assert made == 1 and time.monotonic() - started < 3
    [attempt] = await models.WebhookDelivery.filter(endpoint_id=endpoint["id"]).values("status", "error")
    assert attempt["status"] == models.DeliveryStatus.FAILED
    assert "did not resolve within 0.3s" in attempt["error"]


async def test_a_deliverer_loads_the_certificate_authorities_once_not_per_lease(database, clock, monkeypatch):
    loads = []
    original = ssl.SSLContext.load_verify_locations

    def counted(context, *args, **kwargs):
        loads.append(args or kwargs)
        return original(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    org = await factories.sign_up(clock)
    deliverer = Deliverer(production=False, clock=clock)
    async with receiving() as receiver:
        for path in ("/one", "/two"):
            await _endpoint(org, clock, receiver.url(path))
        # four leases: two endpoints, twice
        for _ in range(2):
            await domains.add_domain(org.actor, f"d{len(receiver.received)}.example", None, clock)
            assert await deliverer.run_once() >= 2
    # ~15 ms of CPU each time, on serve's event loop: once per deliverer
    assert len(loads) == 1
    # and certificates are still verified, for the host name
    assert deliverer.tls.verify_mode == ssl.CERT_REQUIRED and deliverer.tls.check_hostname


async def test_a_delivery_imports_nothing_and_searches_for_no_module(database, clock):
    # A module that is missing is searched for on every import attempt (httpcore tries
    # sniffio four times a request): that search costs more CPU than the rest of the request.
    class Watch(importlib.abc.MetaPathFinder):
        def __init__(self) -> None:
            self.searched: list[str] = []

        def find_spec(self, name, path=None, target=None):
            self.searched.append(name)
            return None

    org = await factories.sign_up(clock)
    deliverer = Deliverer(production=False, clock=clock)
    async with receiving() as receiver:
        await _endpoint(org, clock, receiver.url())
        assert await deliverer.run_once() == 1  # the first one may import what it uses
        await _add_domains(org, clock, 3)
        watch = Watch()
        sys.meta_path.insert(0, watch)
        try:
            assert await deliverer.run_once() == 3
        finally:
            sys.meta_path.remove(watch)
    assert watch.searched == []


async def test_each_worker_holds_its_endpoints_in_a_name_of_its_own_that_fits_any_host_name(
        database, clock, monkeypatch):
    # a host name may be 64 characters long; lease_owner holds 64 (PostgreSQL enforces it)
    monkeypatch.setattr(socket, "gethostname", lambda: "h" * 64)
    org = await factories.sign_up(clock)
    deliverer = Deliverer(production=False, clock=clock, timeout=30, workers=2)
    async with receiving(hang=True) as receiver:
        ids = [(await _endpoint(org, clock, receiver.url(path)))["id"] for path in ("/one", "/two")]
        running = asyncio.create_task(deliverer.run_forever(asyncio.Event()))
        try:
            await receiver.wait_for(2, timeout=5)  # both endpoints held, each by one worker
            owners = await models.WebhookEndpoint.filter(id__in=ids).values_list("lease_owner", flat=True)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert len(set(owners)) == 2
    assert all(owner.startswith(deliverer.owner + "/") and len(owner) <= 64 for owner in owners)


async def test_when_one_worker_fails_the_others_finish_before_the_error_is_raised(database, clock, monkeypatch):
    """No worker is left running unawaited into the next round (it would race the next one)."""
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        failing = await _endpoint(org, clock, receiver.url("/failing"))
        slow = await _endpoint(org, clock, receiver.url("/slow"))
        await _add_domains(org, clock, 1)
        deliverer = Deliverer(production=False, clock=SystemClock(), workers=2, timeout=5.0)
        original = Deliverer._work

        async def work(self, owner, endpoint, stop):
            if endpoint["id"] == failing["id"]:
                raise RuntimeError("planted")
            await asyncio.sleep(0.3)
            return await original(self, owner, endpoint, stop)

        monkeypatch.setattr(Deliverer, "_work", work)
        try:
            await deliverer.run_once()
        except RuntimeError as error:
            assert str(error) == "planted"
        else:
            raise AssertionError("the planted error was not raised")
        # the slow worker's deliveries are done and recorded by the time run_once raised
        assert [r.path for r in receiver.received] == ["/slow", "/slow"]
        assert (await _held(slow["id"]))["lease_owner"] is None
        assert (await _held(failing["id"]))["lease_owner"] is None
