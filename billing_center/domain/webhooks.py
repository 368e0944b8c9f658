"""Webhook endpoints (SPEC §9): a global admin registers URLs that receive the tenant's events.

An endpoint takes the events of its types (none listed: every type; `invoice.*`: every
`invoice.` type) from the moment it is registered, in sequence order; the signing secret is
shown once, at registration. The URL is checked (`webhook_urls`) at registration and again at
every delivery. Delivery itself is `webhook_queue` and `billing_center.webhooks`.

Times here are wall-clock times (`clock` is the application's clock, never a sandbox tenant's
test clock): retries and retention run in real time.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from billing_center.domain import audit, events, models
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.webhook_urls import Resolver, parse, resolve_allowed, system_resolver

# Endpoints per tenant: enough for every integration of an organization, and a bound on the
# work one tenant's events cause.
MAX_ENDPOINTS = 16
MAX_EVENT_TYPES = 64
MAX_DESCRIPTION = 200
SECRET_PREFIX = "whsec_"


class EndpointStatus(str, Enum):
    HEALTHY = "HEALTHY"
    FAILING = "FAILING"
    DISABLED = "DISABLED"


@dataclass(frozen=True)
class UrlPolicy:
    """How endpoint URLs are checked: `production` refuses http and non-public addresses;
    `resolver` finds a host's addresses (the system's, or a test's)."""

    production: bool
    resolver: Resolver = system_resolver

    async def check(self, url: str) -> str:
        """The URL as stored; WEBHOOK_URL_NOT_ALLOWED when refused. In development the host
        is not resolved at registration (it may not exist yet); delivery resolves it."""
        if self.production:
            return (await resolve_allowed(url, True, self.resolver)).url
        parse(url, False)
        return url.strip()


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint and its signing secret (shown this once)."""

    secret: str
    row: dict[str, Any]


def status(row: dict[str, Any]) -> EndpointStatus:
    """HEALTHY, FAILING (the head event failed for the whole retry period; delivery waits
    until the endpoint is enabled again) or DISABLED (turned off by an admin)."""
    if not row["enabled"]:
        return EndpointStatus.DISABLED
    return EndpointStatus.FAILING if row["failing_since"] is not None else EndpointStatus.HEALTHY


def _event_types(given: Sequence[str] | None) -> list[str]:
    patterns = list(dict.fromkeys(p.strip() for p in given or ()))
    if len(patterns) > MAX_EVENT_TYPES:
        raise DomainError(ErrorCode.INVALID_INPUT, f"At most {MAX_EVENT_TYPES} event types.", ("input", "eventTypes"))
    unknown = [p for p in patterns if not events.valid_pattern(p)]
    if unknown:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"Unknown event type {unknown[0]!r}: give types such as invoice.paid, or invoice.* "
                          "(the list is in the README).", ("input", "eventTypes"))
    return patterns


def _description(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DomainError(ErrorCode.INVALID_INPUT, f"A description has at most {MAX_DESCRIPTION} characters.",
                          ("input", "description"))
    return text


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail and events say about an endpoint: never the secret."""
    return {"url": row["url"], "eventTypes": row["event_types"], "enabled": row["enabled"]}


async def _row(tenant_id: int, endpoint_id: int) -> dict[str, Any]:
    found = await models.WebhookEndpoint.filter(tenant_id=tenant_id, id=endpoint_id).values()
    if not found:
        raise not_found("WebhookEndpoint", ("input", "endpointId"))
    return found[0]


async def create_endpoint(actor: Actor, url: str, event_types: Sequence[str] | None, description: str | None,
                          policy: UrlPolicy, clock: Clock) -> CreatedEndpoint:
    """Register an endpoint (global admins). It receives the events committed from now on.
    Raises FORBIDDEN, INVALID_INPUT, WEBHOOK_URL_NOT_ALLOWED, WEBHOOK_ENDPOINT_LIMIT."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage webhook endpoints")
    patterns = _event_types(event_types)
    text = _description(description)
    url = await policy.check(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    async with atomic():
        # The tenant row locked: racing registrations count one after the other.
        await models.Tenant.filter(id=tenant_id).select_for_update(no_key=True).only("id")
        if await models.WebhookEndpoint.filter(tenant_id=tenant_id).count() >= MAX_ENDPOINTS:
            raise DomainError(ErrorCode.WEBHOOK_ENDPOINT_LIMIT,
                              f"An organization has at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")
        last = await models.EventCounter.filter(tenant_id=tenant_id).values_list("last_sequence", flat=True)
        row = await models.WebhookEndpoint.create(
            tenant_id=tenant_id, url=url, description=text, event_types=patterns, secret=secret,
            delivered_through=last[0] if last else 0, created_by_id=actor.user_id, created_at=now)
        values = await _row(tenant_id, row.id)
        await audit.record(actor, tenant_id, "webhook_endpoint.created", "WebhookEndpoint", row.id, now,
                           after=_shown(values))
    return CreatedEndpoint(secret, values)


async def update_endpoint(actor: Actor, endpoint_id: int, url: str | None, event_types: Sequence[str] | None,
                          enabled: bool | None, description: str | None, policy: UrlPolicy,
                          clock: Clock) -> dict[str, Any]:
    """Change an endpoint's URL, types, description or whether it is enabled (global admins).
    Enabling a FAILING endpoint makes it HEALTHY: delivery resumes with the event it stopped
    at, retried at once. Raises FORBIDDEN, NOT_FOUND, INVALID_INPUT, WEBHOOK_URL_NOT_ALLOWED."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage webhook endpoints")
    before = await _row(tenant_id, endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = await policy.check(url)
    if event_types is not None:
        changes["event_types"] = _event_types(event_types)
    if description is not None:
        changes["description"] = _description(description)
    if enabled is not None:
        changes["enabled"] = enabled
        if enabled and status(before) is not EndpointStatus.HEALTHY:
            # A fresh start for the event it stopped at; a HEALTHY endpoint keeps its retry
            # schedule (enabling it again does not restart the 3 days).
            changes.update(failing_since=None, head_attempts=0, head_failed_since=None, next_attempt_at=None)
    now = clock.now()
    async with atomic():
        if changes and not await models.WebhookEndpoint.filter(tenant_id=tenant_id, id=endpoint_id).update(**changes):
            raise not_found("WebhookEndpoint", ("input", "endpointId"))
        after = await _row(tenant_id, endpoint_id)
        if _shown(after) != _shown(before) or status(after) != status(before):
            await audit.record(actor, tenant_id, "webhook_endpoint.updated", "WebhookEndpoint", endpoint_id, now,
                               before=_shown(before), after=_shown(after))
    return after


async def delete_endpoint(actor: Actor, endpoint_id: int, clock: Clock) -> None:
    """Delete an endpoint and its delivery history (global admins). Raises FORBIDDEN, NOT_FOUND."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage webhook endpoints")
    before = await _row(tenant_id, endpoint_id)
    async with atomic():
        if not await models.WebhookEndpoint.filter(tenant_id=tenant_id, id=endpoint_id).delete():
            raise not_found("WebhookEndpoint", ("input", "endpointId"))
        await audit.record(actor, tenant_id, "webhook_endpoint.deleted", "WebhookEndpoint", endpoint_id,
                           clock.now(), before=_shown(before))


async def redeliver(actor: Actor, endpoint_id: int, event_id: int, clock: Clock) -> dict[str, Any]:
    """Queue one more delivery of an event to an endpoint, whatever its type and whether it
    was delivered before (global admins): a PENDING attempt that the next deliverer makes once,
    without retries, beside the endpoint's ordered stream (also to a FAILING endpoint: a way to
    test a fixed receiver). It is an operation, not a change of billing data: no audit entry,
    no event. Raises FORBIDDEN, NOT_FOUND, INVALID_STATUS (the endpoint is disabled)."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "manage webhook endpoints")
    endpoint = await _row(tenant_id, endpoint_id)
    if not endpoint["enabled"]:
        raise DomainError(ErrorCode.INVALID_STATUS, "The endpoint is disabled: enable it first.", ("input", "endpointId"))
    if not await models.Event.filter(tenant_id=tenant_id, id=event_id).exists():
        raise not_found("Event", ("input", "eventId"))
    now = clock.now()
    async with atomic():
        made = await models.WebhookDelivery.filter(endpoint_id=endpoint_id, event_id=event_id).count()
        row = await models.WebhookDelivery.create(
            tenant_id=tenant_id, endpoint_id=endpoint_id, event_id=event_id, attempt=made + 1, manual=True,
            status=models.DeliveryStatus.PENDING, next_attempt_at=now, created_at=now)
    events.wake_listeners()
    return (await models.WebhookDelivery.filter(id=row.id).values())[0]

