"""Every relation field of the API, declared once: the type's field function, and how it
loads (a relation kind over a `Loaders.<name>` loader). A misspelt field, loader or parent
attribute fails when this module is imported, i.e. when the schema is built."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from datetime import date
from typing import Any, Callable

from strawberry.schema.name_converter import NameConverter

from billing_center.domain import models
from billing_center.domain.billing import invoice_periods
from billing_center.domain.reads import statements
from billing_center.resolvers.loaders import Loaders
from billing_center.resolvers.pagination import page_key
from billing_center.resolvers.relations.kinds import balance, lifecycle_view, paged, to_first, to_many, to_one
from billing_center.resolvers.relations.registry import REGISTRY, Relation
from billing_center.schema import types

_NAMES = NameConverter()


def _fields_by_function() -> dict[Callable, tuple[type, Any]]:
    found: dict[Callable, tuple[type, Any]] = {}
    for cls in vars(types).values():
        definition = getattr(cls, "__strawberry_definition__", None)
        if not isinstance(cls, type) or definition is None or definition.origin is not cls:
            continue
        for field in definition.fields:
            if field.base_resolver is not None:
                found[field.base_resolver.wrapped_func] = (cls, field)
    return found


_FIELDS = _fields_by_function()


def declare(field_function: Callable, relation: Relation) -> None:
    """Register `relation` as how the field `field_function` (e.g. `types.Subscription.product`)
    loads, under its type and GraphQL name; a to-one relation's key attribute must exist."""
    cls, field = _FIELDS[field_function]
    if relation.attribute is not None and relation.attribute not in {f.name for f in dataclasses.fields(cls)}:
        raise AttributeError(f"{cls.__name__} has no attribute {relation.attribute!r}")
    REGISTRY[(cls, _NAMES.get_graphql_name(field))] = relation


def invoice_period(ctx: Any, args: Mapping[str, Any]) -> tuple[date, date | None]:
    """The issue-date range of `invoices(period, from, to)` (`domain.billing.invoice_periods`)."""
    period = getattr(args.get("period"), "value", args.get("period"))
    return invoice_periods.issue_dates(period, args.get("from"), args.get("to"), ctx.today())


def invoice_conditions(ctx: Any, args: Mapping[str, Any]) -> list[statements.Condition]:
    """`invoices` arguments as conditions on the issue date."""
    start, end = invoice_period(ctx, args)
    conditions = [statements.Condition("issue_date", "gte", start)]
    if end is not None:
        conditions.append(statements.Condition("issue_date", "lte", end))
    return conditions


def invoice_key(args: Mapping[str, Any]) -> Hashable:
    """What distinguishes two loads of `invoices` on one profile: period, range and page."""
    period = getattr(args.get("period"), "value", args.get("period")) or invoice_periods.DEFAULT
    return (period, str(args.get("from")), str(args.get("to")), page_key(args))


# Users are the whole tenant's and products global (domain.visibility): a page of parents may
# read them in its own statement.
def _user(attribute: str) -> Relation:
    return to_one(Loaders.user_by_id, attribute, statements.Join(models.User, attribute, True, types.User.from_row))


def _product(attribute: str) -> Relation:
    return to_one(Loaders.product_by_id, attribute, statements.Join(models.Product, attribute, False, types.Product.from_row))


declare(types.Tenant.domains, to_many(Loaders.domains_by_tenant_id))
declare(types.Tenant.users, paged(
    models.User, "tenant_id", types.UserConnection, types.UserEdge, types.User.from_row,
    where=lambda ctx, args: [statements.Condition("removed_at", "isnull", True)],
))
declare(types.Domain.subscription, to_one(Loaders.subscription_by_id, "subscription_id"))
declare(types.User.license_assignments, to_many(Loaders.license_assignments_by_user_id))
declare(types.User.api_tokens, to_many(Loaders.api_tokens_by_user_id))
declare(types.BillingAccount.owner, _user("owner_id"))
declare(types.BillingAccount.billing_profiles, to_many(Loaders.billing_profiles_by_account_id))
declare(types.BillingAccount.outstanding_balance, balance("outstanding"))
declare(types.BillingAccount.past_due_balance, balance("past_due"))
declare(types.BillingAccount.credit_balance, balance("credit"))
declare(types.BillingProfile.billing_account, to_one(Loaders.billing_account_by_id, "billing_account_id"))
declare(types.BillingProfile.payment_method, to_one(Loaders.payment_method_by_id, "payment_method_id"))
declare(types.BillingProfile.invoices, paged(
    models.Invoice, "billing_profile_id", types.InvoiceConnection, types.InvoiceEdge,
    types.Invoice.from_row, descending=True, where=invoice_conditions, key=invoice_key,
))
declare(types.Subscription.product, _product("product_id"))
declare(types.Subscription.billing_account, to_one(Loaders.billing_account_by_id, "billing_account_id"))
declare(types.Subscription.billing_profile, to_one(Loaders.billing_profile_by_id, "billing_profile_id"))
declare(types.Subscription.purchased_by, _user("purchased_by_id"))
declare(types.Subscription.reactivated_from, to_one(Loaders.subscription_by_id, "reactivated_from_id"))
declare(types.Subscription.reactivated_as, to_first(Loaders.subscriptions_by_reactivated_from_id))
declare(types.Subscription.domains, to_many(Loaders.domains_by_subscription_id))
declare(types.Subscription.available_actions, lifecycle_view("availableActions"))
declare(types.Subscription.timeline, lifecycle_view("timeline"))
declare(types.Subscription.license_assignments, paged(
    models.LicenseAssignment, "subscription_id", types.LicenseAssignmentConnection,
    types.LicenseAssignmentEdge, types.LicenseAssignment.from_row,
))
declare(types.LicenseAssignment.user, _user("user_id"))
declare(types.LicenseAssignment.subscription, to_one(Loaders.subscription_by_id, "subscription_id"))
declare(types.LicenseAssignment.product, _product("product_id"))
declare(types.InvoiceLine.subscription, to_one(Loaders.subscription_by_id, "subscription_id"))
declare(types.Invoice.billing_profile, to_one(Loaders.billing_profile_by_id, "billing_profile_id"))
declare(types.Invoice.lines, to_many(Loaders.invoice_lines_by_invoice_id))
declare(types.Invoice.payment_attempts, to_many(Loaders.payment_attempts_by_invoice_id))
declare(types.AuditEvent.actor, _user("actor_user_id"))
declare(types.Event.actor, _user("actor_user_id"))
declare(types.WebhookEndpoint.deliveries, paged(
    models.WebhookDelivery, "endpoint_id", types.WebhookDeliveryConnection, types.WebhookDeliveryEdge,
    types.WebhookDelivery.from_row, descending=True,
))
