"""What the compiler can answer in SQL: per API type, its table and, per field, how the field
is read from that table's row.

A field not listed here (a computed one such as `availableActions`, `timeline`,
`disabledUntil` or `trialDays`, a relation whose visibility needs more than the tenant) is
left to the regular path (`holes`). The relations listed read exactly what
`resolvers.relations` loads for them: products are global, users are the whole tenant's
(`domain.visibility.users`), and the licence assignments of a subscription the caller sees are
all visible to them (the subscription's page already applied `visibility.subscriptions`), so
those pages are filtered on the tenant only, as `domain.reads.statements.page_rows` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from billing_center.domain import models, tenants


@dataclass(frozen=True)
class Column:
    """A column as a scalar: `kind` is text, int, bool, enum, decimal, datetime or date."""

    column: str
    kind: str


@dataclass(frozen=True)
class Difference:
    """An integer field computed from two columns (`availableCount`)."""

    minuend: str
    subtrahend: str


@dataclass(frozen=True)
class Mapped:
    """A string field that is a fixed function of a column (`adminCenterUrl` of the cloud)."""

    column: str
    mapping: dict


@dataclass(frozen=True)
class MoneyOf:
    """A `Money` object from an amount column and a currency column."""

    amount: str
    currency: str
    places: int = 2


@dataclass(frozen=True)
class ToOne:
    """A to-one relation through a foreign key; `tenant_scoped` adds the caller's tenant."""

    target: str
    column: str
    tenant_scoped: bool


@dataclass(frozen=True)
class Paged:
    """A nested connection: the rows of `target` whose `parent_column` is the parent's id, in
    the caller's tenant, with `conditions` (SQL on the row's alias, `{a}`)."""

    target: str
    parent_column: str
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """An API type read from one table."""

    model: type
    fields: dict = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.model._meta.db_table


TABLES: dict[str, Table] = {
    "Tenant": Table(models.Tenant, {
        "name": Column("name", "text"),
        "cloud": Column("cloud", "enum"),
        "adminCenterUrl": Mapped("cloud", {cloud.value: url for cloud, url in tenants.ADMIN_CENTER_URLS.items()}),
        "sandbox": Column("sandbox", "bool"),
        "clockNow": Column("clock_now", "datetime"),
        "defaultSelfServicePolicy": Column("default_self_service_policy", "enum"),
        "createdAt": Column("created_at", "datetime"),
        "users": Paged("User", "tenant_id", ('{a}."removed_at" IS NULL',)),
    }),
    "User": Table(models.User, {
        "displayName": Column("display_name", "text"),
        "email": Column("email", "text"),
        "createdAt": Column("created_at", "datetime"),
        "removedAt": Column("removed_at", "datetime"),
    }),
    "Product": Table(models.Product, {
        "sku": Column("sku", "text"),
        "name": Column("name", "text"),
        "monthlyPrice": MoneyOf("monthly_price", "currency"),
        "annualPrice": MoneyOf("annual_price", "currency"),
        "selfService": Column("self_service", "bool"),
        "trialAvailable": Column("trial_available", "bool"),
    }),
    "Subscription": Table(models.Subscription, {
        "status": Column("status", "enum"),
        "statusReason": Column("status_reason", "enum"),
        "quantity": Column("quantity", "int"),
        "scheduledQuantity": Column("scheduled_quantity", "int"),
        "assignedCount": Column("assigned_count", "int"),
        "availableCount": Difference("quantity", "assigned_count"),
        "commitmentTerm": Column("commitment_term", "enum"),
        "autoRenew": Column("auto_renew", "bool"),
        "startDate": Column("start_date", "date"),
        "termStart": Column("term_start", "datetime"),
        "termEnd": Column("term_end", "datetime"),
        "nextChargeDate": Column("next_charge_date", "date"),
        "purchaseChannel": Column("purchase_channel", "enum"),
        "price": MoneyOf("unit_price", "currency"),
        "cancelledAt": Column("cancelled_at", "datetime"),
        "cancellationReason": Column("cancellation_reason", "enum"),
        "cancellationFeedback": Column("cancellation_feedback", "text"),
        "version": Column("version", "int"),
        "createdAt": Column("created_at", "datetime"),
        "product": ToOne("Product", "product_id", tenant_scoped=False),
        "purchasedBy": ToOne("User", "purchased_by_id", tenant_scoped=True),
        "licenseAssignments": Paged("LicenseAssignment", "subscription_id"),
    }),
    "LicenseAssignment": Table(models.LicenseAssignment, {
        "state": Column("state", "enum"),
        "assignedAt": Column("assigned_at", "datetime"),
        "user": ToOne("User", "user_id", tenant_scoped=True),
        "product": ToOne("Product", "product_id", tenant_scoped=False),
    }),
}
