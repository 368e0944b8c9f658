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


class Made:
    """One loader of a request, made from the caller on first use and then kept on the
    request's `Loaders` (a request touches a few loaders: making all of them for every
    request was measurable on small reads). Referenced as `Loaders.<name>`, so a relation
    naming a loader that does not exist fails at import."""

    def __init__(self, make: Callable[..., DataLoader], *, timed: bool = False) -> None:
        self.make = make
        # Timed loaders also take the request's wall-clock moment (token expiry).
        self.timed = timed
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: "Loaders | None", owner: type) -> Any:
        if loaders is None:
            return self
        loader = self.make(loaders.actor, loaders.wall_now) if self.timed else self.make(loaders.actor)
        # Kept on the instance, which from now on answers before this (non-data) descriptor.
        loaders.__dict__[self.name] = loader
        return loader

    def of(self, loaders: "Loaders") -> DataLoader:
        """This loader of the request's `loaders`."""
        return getattr(loaders, self.name)


class Loaders:
    """Fresh loaders for one request (a loader's cache must never outlive its request),
    each made on first use and kept as an attribute: `loaders.user_by_id`."""

    tenant_by_id = Made(lambda a: _loader(batches.own_tenant_by_id, visibility.own_tenant_id(a), types.Tenant.from_row))
    # visibility.users: a tenant's whole directory; products are global.
    user_by_id = Made(lambda a: _loader(batches.tenant_rows_by_id, models.User, a.tenant_id, types.User.from_row))
    domain_by_id = Made(lambda a: _loader(batches.rows_by_id, models.Domain, visibility.domains(a), types.Domain.from_row))
    billing_account_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.BillingAccount, visibility.billing_accounts(a), types.BillingAccount.from_row
    ))
    billing_profile_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.BillingProfile, visibility.billing_records(a), types.BillingProfile.from_row
    ))
    payment_method_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.PaymentMethod, visibility.billing_records(a), types.PaymentMethod.from_row
    ))
    product_by_id = Made(lambda a: _loader(batches.global_rows_by_id, models.Product, types.Product.from_row))
    subscription_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.Subscription, visibility.subscriptions(a), types.Subscription.from_row
    ))
    license_assignment_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row,
    ))
    invoice_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.Invoice, visibility.billing_records(a), types.Invoice.from_row
    ))
    audit_event_by_id = Made(lambda a: _loader(batches.audit_events_by_id, a, types.AuditEvent.from_row))
    event_by_id = Made(lambda a: _loader(batches.events_by_id, a, types.Event.from_row))
    webhook_endpoint_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.WebhookEndpoint, visibility.webhook_endpoints(a), types.WebhookEndpoint.from_row
    ))
    webhook_delivery_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.WebhookDelivery, visibility.webhook_endpoints(a), types.WebhookDelivery.from_row
    ))
    invoice_line_by_id = Made(lambda a: _loader(
        batches.rows_by_id, models.InvoiceLine, visibility.invoice_lines(a), types.InvoiceLine.from_row
    ))
    billing_profiles_by_account_id = Made(lambda a: _loader(
        batches.rows_grouped, models.BillingProfile, visibility.billing_records(a),
        types.BillingProfile.from_row, "billing_account_id",
    ))
    domains_by_tenant_id = Made(lambda a: _loader(
        batches.rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "tenant_id",
        order=("-is_default", "id"),
    ))
    domains_by_subscription_id = Made(lambda a: _loader(
        batches.rows_grouped, models.Domain, visibility.domains(a), types.Domain.from_row, "subscription_id"
    ))
    license_assignments_by_user_id = Made(lambda a: _loader(
        batches.rows_grouped, models.LicenseAssignment, visibility.license_assignments(a),
        types.LicenseAssignment.from_row, "user_id",
    ))
    subscriptions_by_reactivated_from_id = Made(lambda a: _loader(
        batches.rows_grouped, models.Subscription, visibility.subscriptions(a),
        types.Subscription.from_row, "reactivated_from_id",
    ))
    invoice_lines_by_invoice_id = Made(lambda a: _loader(
        batches.rows_grouped, models.InvoiceLine, Q(tenant_id=a.tenant_id), types.InvoiceLine.from_row,
        "invoice_id",
    ))
    payment_attempts_by_invoice_id = Made(lambda a: _loader(
        batches.rows_grouped, models.PaymentAttempt, Q(tenant_id=a.tenant_id),
        types.PaymentAttempt.from_row, "invoice_id",
    ))
    balances_by_account_id = Made(lambda a: _loader(balances.by_account, a))
    subscription_facts_by_id = Made(lambda a: _loader(_facts, a))

    # Loaders whose rows depend on the wall-clock moment of the request (token expiry).
    api_token_by_id = Made(timed=True, make=lambda a, now: _loader(
        batches.rows_by_id, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row
    ))
    api_tokens_by_user_id = Made(timed=True, make=lambda a, now: _loader(
        batches.rows_grouped, models.ApiToken, visibility.api_tokens(a) & tokens.live(now), types.ApiToken.from_row,
        "user_id",
    ))

    def __init__(self, actor: Actor, tenant_row: dict | None = None, wall_now: datetime | None = None) -> None:
        self.actor = actor
        # The request's wall-clock moment (never a sandbox tenant's clock): token expiry.
        self.wall_now = wall_now or datetime.now(UTC)
        if tenant_row is not None:
            # The caller's tenant came with the token lookup (`domain.auth.Session`).
            self.tenant_by_id = _loader(batches.own_tenant_by_id, visibility.own_tenant_id(actor), types.Tenant.from_row,
                                        known=tenant_row)

    def by_type(self, type_name: str) -> DataLoader | None:
        """The by-id loader of a node type (for `node(id:)`), or None for unknown types."""
        made = _BY_TYPE.get(type_name)
        return made.of(self) if made is not None else None


_BY_TYPE: dict[str, Made] = {
    "Tenant": Loaders.tenant_by_id,
    "User": Loaders.user_by_id,
    "Domain": Loaders.domain_by_id,
    "BillingAccount": Loaders.billing_account_by_id,
    "BillingProfile": Loaders.billing_profile_by_id,
    "PaymentMethod": Loaders.payment_method_by_id,
    "Product": Loaders.product_by_id,
    "Subscription": Loaders.subscription_by_id,
    "LicenseAssignment": Loaders.license_assignment_by_id,
    "Invoice": Loaders.invoice_by_id,
    "AuditEvent": Loaders.audit_event_by_id,
    "Event": Loaders.event_by_id,
    "ApiToken": Loaders.api_token_by_id,
    "WebhookEndpoint": Loaders.webhook_endpoint_by_id,
    "WebhookDelivery": Loaders.webhook_delivery_by_id,
}
