"""Mutations of webhook endpoints (SPEC §9). Endpoint URLs are checked with the deployment's
profile (`production`)."""

from __future__ import annotations

from billing_center.domain import webhooks
from billing_center.domain.actor import Actor
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.schema import types
from billing_center.schema.ids import to_global_id
from billing_center.schema.mutations import webhooks as schema


def _policy(ctx: Context) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(production=ctx.production)


@mutation("Register a webhook endpoint (global admins): it receives the events committed from now on, as signed "
          "POSTs in sequence order. Returns the signing secret once.",
          input="Its URL, event types and description.")
async def create_webhook_endpoint(actor: Actor, ctx: Context,
                                  data: schema.CreateWebhookEndpointInput) -> schema.CreateWebhookEndpointPayload:
    """createWebhookEndpoint: the endpoint and its secret, shown this once."""
    created = await webhooks.create_endpoint(actor, data.url, data.event_types, data.description,
                                             _policy(ctx), ctx.wall_clock)
    return schema.CreateWebhookEndpointPayload(endpoint=types.WebhookEndpoint.from_row(created.row),
                                               secret=created.secret)


@mutation("Change a webhook endpoint's URL, event types or description, or turn it off and on (global admins); "
          "enabling a FAILING endpoint resumes delivery where it stopped.",
          input="The endpoint and its changes.")
async def update_webhook_endpoint(actor: Actor, ctx: Context,
                                  data: schema.UpdateWebhookEndpointInput) -> schema.UpdateWebhookEndpointPayload:
    """updateWebhookEndpoint."""
    row = await webhooks.update_endpoint(actor, input_id(data, "endpoint_id", "WebhookEndpoint"), data.url,
                                         data.event_types, data.enabled, data.description, _policy(ctx),
                                         ctx.wall_clock)
    return schema.UpdateWebhookEndpointPayload(endpoint=types.WebhookEndpoint.from_row(row))


@mutation("Delete a webhook endpoint and its delivery history (global admins).",
          input="The endpoint.")
async def delete_webhook_endpoint(actor: Actor, ctx: Context,
                                  data: schema.DeleteWebhookEndpointInput) -> schema.DeleteWebhookEndpointPayload:
    """deleteWebhookEndpoint."""
    endpoint_id = input_id(data, "endpoint_id", "WebhookEndpoint")
    await webhooks.delete_endpoint(actor, endpoint_id, ctx.wall_clock)
    return schema.DeleteWebhookEndpointPayload(deleted_endpoint_id=to_global_id("WebhookEndpoint", endpoint_id))


@mutation("Deliver an event to an endpoint once more, whatever was delivered before (global admins): one attempt, "
          "without retries, beside the endpoint's ordered stream.",
          input="The endpoint and the event.")
async def redeliver_event(actor: Actor, ctx: Context,
                          data: schema.RedeliverEventInput) -> schema.RedeliverEventPayload:
    """redeliverEvent: a PENDING redelivery."""
    row = await webhooks.redeliver(actor, input_id(data, "endpoint_id", "WebhookEndpoint"),
                                   input_id(data, "event_id", "Event"), ctx.wall_clock)
    return schema.RedeliverEventPayload(delivery=types.WebhookDelivery.from_row(row))
