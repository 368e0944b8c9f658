"""Inputs and payloads of the mutations of webhook endpoints: createWebhookEndpoint,
updateWebhookEndpoint, deleteWebhookEndpoint, redeliverEvent."""

from __future__ import annotations

import strawberry

from billing_center.schema.errors import UserError
from billing_center.schema.types import WebhookDelivery, WebhookEndpoint


@strawberry.input(description="A webhook endpoint to register (global admins).")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="Where to POST events: https, and outside development a public address (not loopback, private, link-local or metadata).")
    event_types: list[str] | None = strawberry.field(default=None, description="Event types to receive, e.g. [\"invoice.paid\", \"subscription.*\"]; omitted or empty: every type.")
    description: str | None = strawberry.field(default=None, description="What it is for, at most 200 characters.")


@strawberry.type(description="Result of `createWebhookEndpoint`.")
class CreateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The new endpoint; it receives the events committed from now on.")
    secret: str | None = strawberry.field(default=None, description="The signing secret (HMAC-SHA256 key of the `Billing-Signature` header). Shown only once: store it.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was created, if so.")


@strawberry.input(description="Changes to a webhook endpoint (global admins); omitted fields stay as they are.")
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description="A new URL, checked like at registration.")
    event_types: list[str] | None = strawberry.field(default=None, description="The event types it receives from now on; empty: every type.")
    enabled: bool | None = strawberry.field(default=None, description="False stops deliveries; true resumes them, also for a FAILING endpoint (from the event it stopped at).")
    description: str | None = strawberry.field(default=None, description="A new description.")


@strawberry.type(description="Result of `updateWebhookEndpoint`.")
class UpdateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The endpoint as it is now.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="A webhook endpoint to delete, with its delivery history (global admins).")
class DeleteWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.type(description="Result of `deleteWebhookEndpoint`.")
class DeleteWebhookEndpointPayload:
    deleted_endpoint_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the deleted endpoint.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was deleted, if so.")


@strawberry.input(description="An event to deliver again to an endpoint (global admins).")
class RedeliverEventInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint, enabled.")
    event_id: strawberry.ID = strawberry.field(description="The event, of any type, delivered before or not.")


@strawberry.type(description="Result of `redeliverEvent`.")
class RedeliverEventPayload:
    delivery: WebhookDelivery | None = strawberry.field(default=None, description="The redelivery, PENDING until a deliverer makes it (within a second or so).")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was queued, if so.")
