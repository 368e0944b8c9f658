"""Webhook safety (SPEC §9): outside development an endpoint URL must be https and must not
resolve to a loopback, private, link-local or metadata address, checked at registration and
again at every delivery (DNS rebinding); payloads are bounded and show a tenant admin no more
than they may read elsewhere; old events and attempts are pruned after their retention."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import orjson
import pytest

from billing_center.app import create_app
from billing_center.domain import models, webhook_queue
from billing_center.domain.webhook_urls import public_address
from billing_center.webhooks import payload
from billing_center.webhooks.deliverer import Deliverer
from tests import factories
from tests.factories import gql
from tests.webhook_receiver import receiving

CREATE = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id url } userErrors { code field message } }
}
"""
UPDATE = """
mutation Update($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { endpoint { url } userErrors { code field } }
}
"""

REFUSED_IN_PRODUCTION = [
    "http://93.184.216.34/hook",  # not https
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://localhost/hook",  # a name that resolves to loopback
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4 loopback inside IPv6
    "https://[::ffff:10.0.0.1]/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://[fd00::1]/hook",  # unique local
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://[fe80::1]/hook",
    "https://[fd00:ec2::254]/hook",  # AWS metadata over IPv6
    "https://100.100.100.200/hook",  # Alibaba metadata
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://user:secret@93.184.216.34/hook",  # credentials in the URL
    "https://93.184.216.34/hook#part",
    "not a url",
    "https:///hook",
]


@pytest.fixture
async def production(database, settings, clock, gateway):
    """A client of the app with the production profile (the test's database)."""
    app = create_app(dataclasses.replace(settings, environment="production", graphiql=False),
                     clock=clock, manage_db=False, gateway=gateway)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.mark.parametrize("url", REFUSED_IN_PRODUCTION)
async def test_production_refuses_urls_that_could_reach_the_platforms_own_network(production, clock, url):
    org = await factories.sign_up(clock)
    body = await gql(production, CREATE, {"input": {"url": url}}, token=org.token)
    payload_ = body["data"]["createWebhookEndpoint"]
    assert payload_["endpoint"] is None
    assert [(e["code"], e["field"]) for e in payload_["userErrors"]] == [("WEBHOOK_URL_NOT_ALLOWED", ["input", "url"])]
    assert await models.WebhookEndpoint.filter(tenant_id=org.tenant.id).count() == 0


async def test_production_accepts_a_public_https_address_and_checks_a_changed_url_again(production, clock):
    org = await factories.sign_up(clock)
    body = await gql(production, CREATE, {"input": {"url": "https://93.184.216.34:8443/hooks/billing?x=1"}},
                     token=org.token)
    created = body["data"]["createWebhookEndpoint"]
    assert created["userErrors"] == []
    body = await gql(production, UPDATE, {"input": {"endpointId": created["endpoint"]["id"],
                                                     "url": "https://10.0.0.7/hook"}}, token=org.token)
    assert body["data"]["updateWebhookEndpoint"]["userErrors"][0]["code"] == "WEBHOOK_URL_NOT_ALLOWED"
    stored = await models.WebhookEndpoint.get(tenant_id=org.tenant.id)
    assert stored.url == "https://93.184.216.34:8443/hooks/billing?x=1"


async def test_development_accepts_a_receiver_on_loopback(client, clock):
    org = await factories.sign_up(clock)
    body = await gql(client, CREATE, {"input": {"url": "http://127.0.0.1:9/hook"}}, token=org.token)
    assert body["data"]["createWebhookEndpoint"]["userErrors"] == []


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True), ("8.8.8.8", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("169.254.169.254", False), ("::1", False),
    ("::ffff:169.254.169.254", False), ("::ffff:8.8.8.8", True), ("64:ff9b::7f00:1", False),
    ("2002:7f00:1::", False), ("fe80::1%eth0", False), ("198.18.0.1", False), ("192.0.2.1", False),
])
def test_which_addresses_are_public(address, public):
    assert public_address(address) is public


async def test_a_name_that_resolves_elsewhere_at_delivery_time_is_refused_then(client, clock):
    """DNS rebinding: the host was public when registered, it points at loopback now."""
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        endpoint = await models.WebhookEndpoint.create(
            tenant_id=org.tenant.id, url=f"https://hooks.example.com:{receiver.port}/hook", secret="whsec_t",
            created_at=clock.now())
        await factories.add_user(org, clock, "Una")

        async def rebound(host, port):
            return ["127.0.0.1"]

        deliverer = Deliverer(production=True, clock=clock, resolver=rebound, timeout=2.0)
        assert await deliverer.run_once() == 1
    assert receiver.received == []
    [attempt] = await models.WebhookDelivery.filter(endpoint_id=endpoint.id).values()
    assert attempt["status"] == models.DeliveryStatus.FAILED and attempt["response_status"] is None
    assert "not public (127.0.0.1)" in attempt["error"]


async def test_in_development_the_same_delivery_goes_to_the_address_the_name_resolves_to(client, clock):
    """The resolver's answer is where the deliverer connects (no second lookup to race)."""
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        await models.WebhookEndpoint.create(
            tenant_id=org.tenant.id, url=f"http://hooks.example.com:{receiver.port}/hook", secret="whsec_t",
            created_at=clock.now())
        await factories.add_user(org, clock, "Una")

        async def resolver(host, port):
            return ["127.0.0.1"]

        made = await Deliverer(production=False, clock=clock, resolver=resolver).run_once()
    assert made == len(receiver.received) == 2  # tenant.signed_up, user.created
    assert {r.headers["host"] for r in receiver.received} == {f"hooks.example.com:{receiver.port}"}


async def test_payloads_are_bounded_and_withhold_what_a_tenant_admin_may_not_read(client, clock):
    org = await factories.sign_up(clock)
    buyer, _ = await factories.add_user(org, clock, "Bea")
    own = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Bea's", type=models.BillingAccountType.MCA, owner_id=buyer.id,
        charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=clock.now())
    profile = await models.BillingProfile.create(tenant_id=org.tenant.id, billing_account_id=own.id, name="Bea",
                                                 created_at=clock.now())
    base = dict(tenant_id=org.tenant.id, type="billing_profile.payment_method_replaced", actor_user_id=buyer.id,
                object_type="BillingProfile", occurred_at=clock.now(), before=None)
    hidden = dict(base, id=1, sequence=1, object_id=profile.id, after={"paymentMethodId": 7})
    shown = dict(base, id=2, sequence=2, object_id=org.profile.id, after={"paymentMethodId": 7})
    huge = dict(base, id=3, sequence=3, object_id=org.profile.id, after={"note": "x" * (payload.MAX_BODY_BYTES + 1)})

    bodies = await payload.bodies(org.tenant.id, [hidden, shown, huge])

    assert orjson.loads(bodies[1])["detailsHidden"] is True and orjson.loads(bodies[1])["data"] is None
    assert orjson.loads(bodies[2])["detailsHidden"] is False and orjson.loads(bodies[2])["data"]["paymentMethodId"]
    assert len(bodies[3]) < 1024
    assert orjson.loads(bodies[3])["dataOmitted"] is True and orjson.loads(bodies[3])["data"] is None


async def test_events_and_attempts_past_their_retention_are_pruned(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_user(org, clock, "Una")
    endpoint = await models.WebhookEndpoint.create(tenant_id=org.tenant.id, url="http://127.0.0.1:9/",
                                                   secret="whsec_t", created_at=clock.now())
    events = await models.Event.filter(tenant_id=org.tenant.id).order_by("sequence").values("id", "sequence")
    assert len(events) >= 2
    now = clock.now()
    old, recent = events[0]["id"], events[-1]["id"]
    await models.Event.filter(id=old).update(recorded_at=now - timedelta(days=31))
    await models.Event.filter(id=recent).update(recorded_at=now - timedelta(days=29))
    for event_id, age in ((old, 31), (recent, 29), (recent, 31)):
        await models.WebhookDelivery.create(
            tenant_id=org.tenant.id, endpoint_id=endpoint.id, event_id=event_id, attempt=1,
            status=models.DeliveryStatus.SUCCEEDED, created_at=now - timedelta(days=age))

    deleted = await webhook_queue.prune(now)

    assert deleted == (1, 2)  # the old event; the old attempt of the recent event, the old event's with it
    assert not await models.Event.filter(id=old).exists()
    assert await models.Event.filter(id=recent).exists()
    assert await models.WebhookDelivery.filter(endpoint_id=endpoint.id).count() == 1
    # numbering goes on where it was: a reader sees the gap only as events it can no longer read
    assert (await models.EventCounter.get(tenant_id=org.tenant.id)).last_sequence == events[-1]["sequence"]
