"""Webhooks (SPEC §9): a global admin registers an endpoint, and every event of its types is
POSTed to it as JSON, signed with the secret shown once, at least once, in sequence order,
retried with backoff for 3 days before the endpoint is marked FAILING; every attempt is
readable and any event can be redelivered. A real receiver on 127.0.0.1 takes the POSTs; the
deliverer runs in this process on the test clock, so retries fall due when the test says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

from billing_center.domain import models
from billing_center.webhooks.deliverer import Deliverer
from tests import factories
from tests.factories import gid, gql
from tests.webhook_receiver import receiving

CREATE = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    secret endpoint { id url eventTypes enabled status deliveredThrough }
    userErrors { code field message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes enabled status nextAttemptAt failingSince }
    userErrors { code field message }
  }
}
"""
DELETE = """
mutation Delete($input: DeleteWebhookEndpointInput!) {
  deleteWebhookEndpoint(input: $input) { deletedEndpointId userErrors { code field message } }
}
"""
REDELIVER = """
mutation Redeliver($input: RedeliverEventInput!) {
  redeliverEvent(input: $input) { delivery { id attempt status redelivery event { sequence } } userErrors { code field } }
}
"""
ENDPOINTS = """
{ webhookEndpoints { id url status deliveredThrough nextAttemptAt failingSince
    deliveries(first: 100) { totalCount edges { node {
      attempt status redelivery responseStatus error durationMs attemptedAt nextAttemptAt event { id sequence type } } } } } }
"""
EVENTS = """
query Events($after: Int) { events(afterSequence: $after, first: 100) { edges { node {
  id sequence type occurredAt objectType objectId actor { id } data previousData detailsHidden } } } }
"""
ADD_DOMAIN = "mutation Add($input: AddDomainInput!) { addDomain(input: $input) { userErrors { code } } }"


async def _create(client, token, url, event_types=None) -> dict:
    variables = {"input": {"url": url, **({"eventTypes": event_types} if event_types is not None else {})}}
    body = await gql(client, CREATE, variables, token=token)
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["userErrors"] == [], payload
    return payload


async def _add_domains(client, token, count: int, prefix: str = "d") -> None:
    for n in range(count):
        body = await gql(client, ADD_DOMAIN, {"input": {"name": f"{prefix}{n}.example"}}, token=token)
        assert body["data"]["addDomain"]["userErrors"] == []


def _expected_signature(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check, written here from the rule, not from our code: t=<unix>,
    v1=hex HMAC-SHA256 of "<t>.<body>" keyed with the secret."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


def _deliverer(clock, **options) -> Deliverer:
    return Deliverer(production=False, clock=clock, **{"timeout": 5.0, "workers": 2, **options})


async def _endpoints(client, token) -> list[dict]:
    body = await gql(client, ENDPOINTS, token=token)
    assert "errors" not in body, body
    return body["data"]["webhookEndpoints"]


async def test_deliveries_are_signed_with_the_secret_shown_once_and_carry_the_event_as_the_api_shows_it(
        client, clock):
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        created = await _create(client, org.token, receiver.url())
        secret = created["secret"]
        assert secret.startswith("whsec_") and len(secret) > 40
        assert created["endpoint"]["status"] == "HEALTHY"
        await _add_domains(client, org.token, 2)

        made = await _deliverer(clock).run_once()

        # its own registration first: a first delivery that tells the receiver it is connected
        assert made == 3 and len(receiver.received) == 3
        events = (await gql(client, EVENTS, {"after": created["endpoint"]["deliveredThrough"]},
                            token=org.token))["data"]["events"]["edges"]
        for request, edge in zip(receiver.received, events):
            assert request.path == "/hook"
            assert request.headers["content-type"] == "application/json"
            assert _expected_signature(secret, request.headers["billing-signature"], request.body)
            assert not _expected_signature(secret + "x", request.headers["billing-signature"], request.body)
            node = edge["node"]
            sent = request.event
            assert sent["id"] == node["id"] == request.headers["billing-event-id"]
            assert sent["tenantId"] == gid("Tenant", org.tenant.id)
            assert {k: sent[k] for k in ("sequence", "type", "objectType", "objectId", "data", "previousData",
                                         "detailsHidden")} == {k: node[k] for k in (
                "sequence", "type", "objectType", "objectId", "data", "previousData", "detailsHidden")}
            assert sent["actorId"] == node["actor"]["id"]
        assert [e["type"] for e in receiver.events()] == ["webhook_endpoint.created", "domain.added", "domain.added"]
    # the secret is never readable again
    body = await gql(client, "{ webhookEndpoints { id } __type(name: \"WebhookEndpoint\") { fields { name } } }",
                     token=org.token)
    assert "secret" not in {f["name"] for f in body["data"]["__type"]["fields"]}
    stored = await models.AuditEvent.filter(tenant_id=org.tenant.id, action="webhook_endpoint.created").values("after")
    assert secret not in json.dumps(stored)


async def test_each_endpoint_gets_every_event_of_its_types_once_in_sequence_order(client, clock):
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        everything = await _create(client, org.token, receiver.url("/all"))
        domains = await _create(client, org.token, receiver.url("/domains"), ["domain.added"])
        users = await _create(client, org.token, receiver.url("/users"), ["user.*"])
        start = everything["endpoint"]["deliveredThrough"]
        await _add_domains(client, org.token, 12)
        await factories.add_user(org, clock, "Una")
        body = await gql(client, "mutation { createUser(input: {displayName: \"Ann\", email: \"ann@contoso.example\"}) { userErrors { code } } }", token=org.token)
        assert body["data"]["createUser"]["userErrors"] == []
        await _add_domains(client, org.token, 3, prefix="late")

        await _deliverer(clock).run_once()

    all_sequences = [e["sequence"] for e in receiver.events("/all")]
    last = (await models.EventCounter.get(tenant_id=org.tenant.id)).last_sequence
    # nothing from before the endpoint was registered
    assert all_sequences == list(range(start + 1, last + 1))
    assert [e["type"] for e in receiver.events("/domains")] == ["domain.added"] * 15
    assert [e["sequence"] for e in receiver.events("/domains")] == sorted(
        e["sequence"] for e in receiver.events("/all") if e["type"] == "domain.added")
    assert [e["type"] for e in receiver.events("/users")] == ["user.created", "user.created"]
    listed = {e["url"]: e["deliveredThrough"] for e in await _endpoints(client, org.token)}
    # an endpoint is done with events it does not take, too
    assert set(listed.values()) == {last}
    assert domains and users


async def test_a_failed_delivery_is_retried_with_backoff_and_the_line_waits_for_it(client, clock):
    org = await factories.sign_up(clock)
    async with receiving(statuses=[500]) as receiver:
        await _create(client, org.token, receiver.url())
        await _add_domains(client, org.token, 3)
        deliverer = _deliverer(clock)

        assert await deliverer.run_once() == 1  # the first event fails: the line stops
        [endpoint] = await _endpoints(client, org.token)
        [failed] = [e["node"] for e in endpoint["deliveries"]["edges"]]
        assert failed["status"] == "FAILED" and failed["responseStatus"] == 500 and failed["attempt"] == 1
        assert endpoint["nextAttemptAt"] == failed["nextAttemptAt"] == (clock.now() + timedelta(minutes=1)).isoformat()
        assert endpoint["status"] == "HEALTHY"

        clock.set(clock.now() + timedelta(seconds=59))
        assert await deliverer.run_once() == 0  # not due yet
        clock.set(clock.now() + timedelta(seconds=1))
        assert await deliverer.run_once() == 4

    sequences = [e["sequence"] for e in receiver.events()]
    first = sequences[0]
    assert sequences == [first, first, first + 1, first + 2, first + 3]
    [endpoint] = await _endpoints(client, org.token)
    attempts = [(e["node"]["event"]["sequence"], e["node"]["attempt"], e["node"]["status"])
                for e in reversed(endpoint["deliveries"]["edges"])]
    assert attempts == [(first, 1, "FAILED"), (first, 2, "SUCCEEDED"), (first + 1, 1, "SUCCEEDED"),
                        (first + 2, 1, "SUCCEEDED"), (first + 3, 1, "SUCCEEDED")]
    assert endpoint["nextAttemptAt"] is None


async def test_after_three_days_of_failures_the_endpoint_is_failing_until_enabled_again(client, clock):
    org = await factories.sign_up(clock)
    async with receiving(default=503) as receiver:
        created = await _create(client, org.token, receiver.url())
        await _add_domains(client, org.token, 2)
        deliverer = _deliverer(clock)
        started = clock.now()
        waits = []
        while True:
            assert await deliverer.run_once() == 1
            [endpoint] = await _endpoints(client, org.token)
            if endpoint["status"] == "FAILING":
                break
            due = endpoint["nextAttemptAt"]
            waits.append(round((models_time(due) - clock.now()).total_seconds()))
            clock.set(models_time(due))
        # 1 min, doubling, at most 6 h; given up once the next try would pass 3 days
        assert waits[:4] == [60, 120, 240, 480]
        assert max(waits) == 6 * 3600
        assert timedelta(days=3) - timedelta(hours=6) <= clock.now() - started <= timedelta(days=3)
        assert endpoint["nextAttemptAt"] is None and endpoint["failingSince"] == clock.now().isoformat()
        count = len(receiver.received)
        assert {e["sequence"] for e in receiver.events()} == {created["endpoint"]["deliveredThrough"] + 1}
        clock.set(clock.now() + timedelta(days=1))
        assert await deliverer.run_once() == 0  # FAILING: nothing is sent
        assert len(receiver.received) == count

        receiver.default = 200
        body = await gql(client, UPDATE, {"input": {"endpointId": endpoint["id"], "enabled": True}}, token=org.token)
        assert body["data"]["updateWebhookEndpoint"]["endpoint"]["status"] == "HEALTHY"
        # resumes with the event it stopped at; its re-enabling is an event too
        assert await deliverer.run_once() == 4
    first = created["endpoint"]["deliveredThrough"] + 1
    assert [e["sequence"] for e in receiver.events()][-4:] == [first, first + 1, first + 2, first + 3]
    assert receiver.events()[-1]["type"] == "webhook_endpoint.updated"


def models_time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


async def test_a_receiver_that_hangs_times_out_and_costs_the_api_nothing(client, clock):
    org = await factories.sign_up(clock)
    async with receiving(hang=True) as receiver:
        await _create(client, org.token, receiver.url())
        await _add_domains(client, org.token, 1)
        delivering = asyncio.create_task(_deliverer(clock, timeout=1.0).run_once())
        await receiver.wait_for(1)
        # the delivery is waiting for the receiver; the API answers meanwhile
        await _add_domains(client, org.token, 3, prefix="meanwhile")
        body = await gql(client, "{ viewer { displayName } }", token=org.token)
        assert body["data"]["viewer"]["displayName"] and not delivering.done()
        assert await delivering == 1
    [endpoint] = await _endpoints(client, org.token)
    [attempt] = [e["node"] for e in endpoint["deliveries"]["edges"]]
    assert attempt["status"] == "FAILED" and attempt["responseStatus"] is None
    assert attempt["error"] == "no answer within 1s" and attempt["durationMs"] >= 900


async def test_any_event_can_be_redelivered_by_hand_once(client, clock):
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        created = await _create(client, org.token, receiver.url(), ["domain.added"])
        await _add_domains(client, org.token, 2)
        deliverer = _deliverer(clock)
        await deliverer.run_once()
        first = receiver.events()[0]
        body = await gql(client, REDELIVER, {"input": {"endpointId": created["endpoint"]["id"],
                                                         "eventId": first["id"]}}, token=org.token)
        delivery = body["data"]["redeliverEvent"]["delivery"]
        assert delivery == {"id": delivery["id"], "attempt": 2, "status": "PENDING", "redelivery": True,
                            "event": {"sequence": first["sequence"]}}
        # an event of a type the endpoint does not take can be sent by hand too
        signed_up = (await models.Event.get(tenant_id=org.tenant.id, type="tenant.signed_up")).id
        body = await gql(client, REDELIVER, {"input": {"endpointId": created["endpoint"]["id"],
                                                         "eventId": gid("Event", signed_up)}}, token=org.token)
        assert body["data"]["redeliverEvent"]["userErrors"] == []
        assert await deliverer.run_once() == 2
        assert await deliverer.run_once() == 0
    assert [e["sequence"] for e in receiver.events()] == [
        first["sequence"], first["sequence"] + 1, first["sequence"], 1]
    assert receiver.events()[2] == first
    [endpoint] = await _endpoints(client, org.token)
    statuses = [(e["node"]["redelivery"], e["node"]["status"]) for e in endpoint["deliveries"]["edges"]]
    assert statuses.count((True, "SUCCEEDED")) == 2


async def test_endpoint_rules_and_refusals(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    _, billing = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])

    async def create(variables, token=org.token):
        return (await gql(client, CREATE, {"input": variables}, token=token))["data"]["createWebhookEndpoint"]

    assert [e["code"] for e in (await create({"url": "https://h.example/", "eventTypes": ["invoice.payed"]}))[
        "userErrors"]] == ["INVALID_INPUT"]
    assert (await create({"url": "ftp://h.example/"}))["userErrors"][0]["code"] == "WEBHOOK_URL_NOT_ALLOWED"
    assert (await create({"url": "https://h.example/"}, token=billing))["userErrors"][0]["code"] == "FORBIDDEN"
    body = await gql(client, ENDPOINTS, token=billing)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for n in range(16):
        assert (await create({"url": f"https://h.example/{n}", "eventTypes": ["invoice.*"]}))["userErrors"] == []
    assert (await create({"url": "https://h.example/17"}))["userErrors"][0]["code"] == "WEBHOOK_ENDPOINT_LIMIT"
    endpoint_id = (await _endpoints(client, org.token))[0]["id"]
    # another tenant's endpoint reads exactly like a missing one
    for document, variables in ((UPDATE, {"endpointId": endpoint_id, "enabled": False}),
                                (DELETE, {"endpointId": endpoint_id})):
        body = await gql(client, document, {"input": variables}, token=other.token)
        assert list(body["data"].values())[0]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await _endpoints(client, other.token) == []
    body = await gql(client, UPDATE, {"input": {"endpointId": endpoint_id, "enabled": False}}, token=org.token)
    assert body["data"]["updateWebhookEndpoint"]["endpoint"]["status"] == "DISABLED"
    event_id = gid("Event", (await models.Event.filter(tenant_id=org.tenant.id).first()).id)
    body = await gql(client, REDELIVER, {"input": {"endpointId": endpoint_id, "eventId": event_id}}, token=org.token)
    assert body["data"]["redeliverEvent"]["userErrors"][0]["code"] == "INVALID_STATUS"
    body = await gql(client, DELETE, {"input": {"endpointId": endpoint_id}}, token=org.token)
    assert body["data"]["deleteWebhookEndpoint"]["deletedEndpointId"] == endpoint_id
    assert len(await _endpoints(client, org.token)) == 15
    actions = await models.AuditEvent.filter(tenant_id=org.tenant.id, action__startswith="webhook_endpoint.") \
        .values_list("action", flat=True)
    assert sorted(set(actions)) == ["webhook_endpoint.created", "webhook_endpoint.deleted",
                                    "webhook_endpoint.updated"]


async def test_a_deleted_endpoint_gets_nothing_more(client, clock):
    org = await factories.sign_up(clock)
    async with receiving() as receiver:
        created = await _create(client, org.token, receiver.url())
        await gql(client, DELETE, {"input": {"endpointId": created["endpoint"]["id"]}}, token=org.token)
        await _add_domains(client, org.token, 2)
        assert await _deliverer(clock).run_once() == 0
    assert receiver.received == []


async def test_the_events_query_takes_type_patterns_like_endpoints_do(client, clock):
    org = await factories.sign_up(clock)
    await _add_domains(client, org.token, 2)
    await factories.add_user(org, clock, "Una")
    query = "query E($types: [String!]) { events(first: 100, types: $types) { edges { node { type } } } }"
    body = await gql(client, query, {"types": ["domain.*", "tenant.signed_up"]}, token=org.token)
    assert [e["node"]["type"] for e in body["data"]["events"]["edges"]] == [
        "tenant.signed_up", "domain.added", "domain.added"]


async def test_enabling_a_healthy_endpoint_that_is_retrying_keeps_its_retry_schedule(client, clock):
    """Only a FAILING or DISABLED endpoint starts afresh; otherwise "enabled: true" would
    restart the 3 days of retries every time a script sent it."""
    org = await factories.sign_up(clock)
    async with receiving(default=500) as receiver:
        created = await _create(client, org.token, receiver.url())
        await _deliverer(clock).run_once()
        [before] = await _endpoints(client, org.token)
        body = await gql(client, UPDATE, {"input": {"endpointId": created["endpoint"]["id"], "enabled": True}},
                         token=org.token)
        after = body["data"]["updateWebhookEndpoint"]["endpoint"]
    assert before["nextAttemptAt"] is not None
    assert (after["status"], after["nextAttemptAt"]) == ("HEALTHY", before["nextAttemptAt"])
    stored = await models.WebhookEndpoint.get(tenant_id=org.tenant.id)
    assert stored.head_attempts == 1 and stored.head_failed_since is not None
