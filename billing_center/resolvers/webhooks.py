"""Resolvers of webhook endpoints (SPEC §9): decode the input, call one domain service, shape
the payload. Endpoint URLs are checked with the deployment's profile (`production`)."""

from __future__ import annotations

from typing import Any

from billing_center.domain import models, visibility, webhooks
from billing_center.resolvers.context import Info
from billing_center.resolvers.errors import run_mutation
from billing_center.resolvers.queries import decode_id
from billing_center.schema import inputs, payloads, types
from billing_center.schema.ids import to_global_id


def _policy(info: Info) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(production=info.context.production)


async def resolve_webhook_endpoints(info: Info) -> list[types.WebhookEndpoint]:
    """webhookEndpoints: the tenant's endpoints, oldest first, for global admins; FORBIDDEN
    for everybody else."""
    actor = info.context.require_user()
    actor.require(actor.is_global_admin, "read the webhook endpoints")
    found: list[dict[str, Any]] = await models.WebhookEndpoint.filter(
        visibility.webhook_endpoints(actor)).order_by("id").values()
    return [types.WebhookEndpoint.from_row(row) for row in found]


async def resolve_create_webhook_endpoint(
        info: Info, data: inputs.CreateWebhookEndpointInput) -> payloads.CreateWebhookEndpointPayload:
    """createWebhookEndpoint: the endpoint and its secret, shown this once."""

    async def work() -> payloads.CreateWebhookEndpointPayload:
        created = await webhooks.create_endpoint(info.context.require_actor(), data.url, data.event_types,
                                                 data.description, _policy(info), info.context.wall_clock)
        return payloads.CreateWebhookEndpointPayload(
            endpoint=types.WebhookEndpoint.from_row(created.row), secret=created.secret)

    return await run_mutation(payloads.CreateWebhookEndpointPayload, work)


async def resolve_update_webhook_endpoint(
        info: Info, data: inputs.UpdateWebhookEndpointInput) -> payloads.UpdateWebhookEndpointPayload:
    """updateWebhookEndpoint."""

    async def work() -> payloads.UpdateWebhookEndpointPayload:
        endpoint_id = decode_id(data.endpoint_id, "WebhookEndpoint", ("input", "endpointId"))
        row = await webhooks.update_endpoint(info.context.require_actor(), endpoint_id, data.url, data.event_types,
                                             data.enabled, data.description, _policy(info), info.context.wall_clock)
        return payloads.UpdateWebhookEndpointPayload(endpoint=types.WebhookEndpoint.from_row(row))

    return await run_mutation(payloads.UpdateWebhookEndpointPayload, work)


async def resolve_delete_webhook_endpoint(
        info: Info, data: inputs.DeleteWebhookEndpointInput) -> payloads.DeleteWebhookEndpointPayload:
    """deleteWebhookEndpoint."""

    async def work() -> payloads.DeleteWebhookEndpointPayload:
        endpoint_id = decode_id(data.endpoint_id, "WebhookEndpoint", ("input", "endpointId"))
        await webhooks.delete_endpoint(info.context.require_actor(), endpoint_id, info.context.wall_clock)
        return payloads.DeleteWebhookEndpointPayload(deleted_endpoint_id=to_global_id("WebhookEndpoint", endpoint_id))

    return await run_mutation(payloads.DeleteWebhookEndpointPayload, work)


async def resolve_redeliver_event(info: Info, data: inputs.RedeliverEventInput) -> payloads.RedeliverEventPayload:
    """redeliverEvent: a PENDING redelivery."""

    async def work() -> payloads.RedeliverEventPayload:
        endpoint_id = decode_id(data.endpoint_id, "WebhookEndpoint", ("input", "endpointId"))
        event_id = decode_id(data.event_id, "Event", ("input", "eventId"))
        row = await webhooks.redeliver(info.context.require_actor(), endpoint_id, event_id, info.context.wall_clock)
        return payloads.RedeliverEventPayload(delivery=types.WebhookDelivery.from_row(row))

    return await run_mutation(payloads.RedeliverEventPayload, work)
