"""Per-request batch loading: one SQL statement per list level, whatever the row count.

Every batch function (`domain.reads.batches`) starts from the caller's visibility filter
(`domain.visibility`), so an object of another tenant never loads, whichever path reaches it.
Batch functions return one result per key, in key order; rows become API types right here
(each loader passes its type's `from_row`), never ORM instances.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any, Callable, Sequence

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q

from billing_center.domain import available_actions, models, tokens, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.billing import balances
from billing_center.domain.reads import batches
# Re-exported: `resolvers.compiled` writes the root list's filter as this class does.
from billing_center.domain.reads.subscriptions import SubscriptionFilter  # noqa: F401
from billing_center.schema import types

# asyncpg refuses statements with more than 32,767 parameters (STACK.md §0.9): the ORM's
# batch reads send one parameter per key.
MAX_BATCH = 1000


async def _facts(actor: Actor, subscription_ids: Sequence[int]) -> list[Any]:
    if actor.tenant_id is None:
        return [None] * len(subscription_ids)
    facts = await available_actions.load_facts(actor.tenant_id, list(subscription_ids))
    return [facts.get(key) for key in subscription_ids]


def _loader(fn: Callable, *args: Any, **kwargs: Any) -> DataLoader:
    return DataLoader(load_fn=partial(fn, *args, **kwargs), max_batch_size=MAX_BATCH)


# Loaders whose rows depend on the wall-clock moment of the request (token expiry).
_TIMED_SPECS: dict[str, Callable[[Actor, datetime], DataLoader]] = {
    "api_token_by_id": lambda a, now: _loader(
        batches.rows_by_id, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row
    ),
    "api_tokens_by_user_id": lambda a, now: _loader(
        batches.rows_grouped, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row,
        "user_id",
    ),
}


# How each loader of a request is made from the caller, by name. A request touches a few of
# them: making all of them for every request was measurable on small reads.
_SPECS: dict[str, Callable[[Actor], DataLoader]] = {
    "tenant_by_id": lambda a: _loader(batches.own_tenant_by_id, visibility.own_tenant_id(a), types.Tenant.from_row),
    # visibility.users: a tenant's whole directory; products are global.
    "user_by_id": lambda a: _loader(batches.tenant_rows_by_id, models.User, a.tenant_id, types.User.from_row),
    "domain_by_id": lambda a: _loader(batches.rows_by_id, models.Domain, visibility.domains(a), types.Domain.from_row),
    "billing_account_by_id": lambda a: _loader(
        batches.rows_by_id, models.BillingAccount, visibility.billing_accounts(a), types.BillingAccount.from_row
    ),
    "billing_profile_by_id": lambda a: _loader(
        batches.rows_by_id, models.BillingProfile, visibility.billing_records(a), types.BillingProfile.from_row
    ),
    "payment_method_by_id": lambda a: _loader(
        batches.rows_by_id, models.PaymentMethod, visibility.billing_records(a), types.PaymentMethod.from_row
    ),
    "product_by_id": lambda a: _loader(batches.global_rows_by_id, models.Product, types.Product.from_row),
    "subscription_by_id": lambda a: _loader(
        batches.rows_by_id, models.Subscription, visibility.subscriptions(a), types.Subscription.from_row
    ),
    "license_assignment_by_id": lambda a: _loader(
        batches.rows_by_id, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row,
    ),
    "invoice_by_id": lambda a: _loader(
        batches.rows_by_id, models.Invoice, visibility.billing_records(a), types.Invoice.from_row
    ),
    "audit_event_by_id": lambda a: _loader(batches.audit_events_by_id, a, types.AuditEvent.from_row),
    "event_by_id": lambda a: _loader(batches.events_by_id, a, types.Event.from_row),
    "webhook_endpoint_by_id": lambda a: _loader(
        batches.rows_by_id, models.WebhookEndpoint, visibility.webhook_endpoints(a), types.WebhookEndpoint.from_row
    ),
    "webhook_delivery_by_id": lambda a: _loader(
        batches.rows_by_id, models.WebhookDelivery, visibility.webhook_endpoints(a), types.WebhookDelivery.from_row
    ),
    "invoice_line_by_id": lambda a: _loader(
        batches.rows_by_id, models.InvoiceLine, visibility.invoice_lines(a), types.InvoiceLine.from_row
    ),
    "billing_profiles_by_account_id": lambda a: _loader(
        batches.rows_grouped, models.BillingProfile, visibility.billing_records(a),
        types.BillingProfile.from_row, "billing_account_id",
    ),
    "domains_by_tenant_id": lambda a: _loader(
        batches.rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "tenant_id",
        order=("-is_default", "id"),
    ),
    "domains_by_subscription_id": lambda a: _loader(
        batches.rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "subscription_id"
    ),
    "license_assignments_by_user_id": lambda a: _loader(
        batches.rows_grouped, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row, "user_id",
    ),
    "subscriptions_by_reactivated_from_id": lambda a: _loader(
        batches.rows_grouped, models.Subscription, visibility.subscriptions(a),
        types.Subscription.from_row, "reactivated_from_id",
    ),
    "invoice_lines_by_invoice_id": lambda a: _loader(
        batches.rows_grouped, models.InvoiceLine, Q(tenant_id=a.tenant_id), types.InvoiceLine.from_row,
        "invoice_id",
    ),
    "payment_attempts_by_invoice_id": lambda a: _loader(
        batches.rows_grouped, models.PaymentAttempt, Q(tenant_id=a.tenant_id),
        types.PaymentAttempt.from_row, "invoice_id",
    ),
    "balances_by_account_id": lambda a: _loader(balances.by_account, a),
    "subscription_facts_by_id": lambda a: _loader(_facts, a),
}


class Loaders:
    """Fresh loaders for one request (a loader's cache must never outlive its request),
    each made on first use and kept as an attribute: `loaders.user_by_id`."""

    def __init__(self, actor: Actor, tenant_row: dict | None = None, wall_now: datetime | None = None) -> None:
        self.actor = actor
        # The request's wall-clock moment (never a sandbox tenant's clock): token expiry.
        self.wall_now = wall_now or datetime.now(UTC)
        if tenant_row is not None:
            # The caller's tenant came with the token lookup (`domain.auth.Session`).
            self.tenant_by_id = _loader(batches.own_tenant_by_id, visibility.own_tenant_id(actor), types.Tenant.from_row,
                                        known=tenant_row)

    def __getattr__(self, name: str) -> DataLoader:
        # Only called for loaders not made yet.
        make = _SPECS.get(name)
        if make is not None:
            loader = make(self.actor)
        elif name in _TIMED_SPECS:
            loader = _TIMED_SPECS[name](self.actor, self.wall_now)
        else:
            raise AttributeError(name)
        setattr(self, name, loader)
        return loader

    def by_type(self, type_name: str) -> DataLoader | None:
        """The by-id loader of a node type (for `node(id:)`), or None for unknown types."""
        return _BY_TYPE.get(type_name) and getattr(self, _BY_TYPE[type_name])


_BY_TYPE = {
    "Tenant": "tenant_by_id",
    "User": "user_by_id",
    "Domain": "domain_by_id",
    "BillingAccount": "billing_account_by_id",
    "BillingProfile": "billing_profile_by_id",
    "PaymentMethod": "payment_method_by_id",
    "Product": "product_by_id",
    "Subscription": "subscription_by_id",
    "LicenseAssignment": "license_assignment_by_id",
    "Invoice": "invoice_by_id",
    "AuditEvent": "audit_event_by_id",
    "Event": "event_by_id",
    "ApiToken": "api_token_by_id",
    "WebhookEndpoint": "webhook_endpoint_by_id",
    "WebhookDelivery": "webhook_delivery_by_id",
}
