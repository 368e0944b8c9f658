"""Tortoise entities for SPEC §1–8 and the enums they use.

Model docstrings become SQL table comments and Tortoise's migration runner splits SQL on
semicolons, so they must not contain one.

Every tenant-owned table carries its own `tenant_id` (also where a parent implies it) so that
isolation is one visible predicate in every query and the table can be distributed by tenant.
Money is a DecimalField next to a currency code, timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model

MONEY = {"max_digits": 14, "decimal_places": 2}


class Cloud(str, Enum):
    WORLDWIDE = "WORLDWIDE"
    GERMANY = "GERMANY"
    CHINA_21VIANET = "CHINA_21VIANET"


class Role(str, Enum):
    GLOBAL_ADMIN = "GLOBAL_ADMIN"
    BILLING_ADMIN = "BILLING_ADMIN"
    LICENSE_ADMIN = "LICENSE_ADMIN"
    USER = "USER"


class BillingAccountType(str, Enum):
    MCA = "MCA"
    MOSA = "MOSA"


class ChargeSchedule(str, Enum):
    ACCOUNT_BILLING_DAY = "ACCOUNT_BILLING_DAY"
    RENEWAL_DAY = "RENEWAL_DAY"


class CommitmentTerm(str, Enum):
    MONTHLY = "MONTHLY"
    ANNUAL = "ANNUAL"


class SubscriptionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    DISABLED = "DISABLED"
    DELETED = "DELETED"


class StatusReason(str, Enum):
    CANCELLED = "CANCELLED"
    TERM_ENDED = "TERM_ENDED"
    NON_PAYMENT = "NON_PAYMENT"
    DISABLED_BY_PROVIDER = "DISABLED_BY_PROVIDER"


class PurchaseChannel(str, Enum):
    ADMIN = "ADMIN"
    SELF_SERVICE = "SELF_SERVICE"
    PRODUCT_KEY = "PRODUCT_KEY"
    TRIAL = "TRIAL"


class CancellationReason(str, Enum):
    TOO_EXPENSIVE = "TOO_EXPENSIVE"
    NOT_USING = "NOT_USING"
    SWITCHING_PRODUCT = "SWITCHING_PRODUCT"
    MISSING_FEATURES = "MISSING_FEATURES"
    OTHER = "OTHER"


class SelfServicePolicy(str, Enum):
    ALLOW = "ALLOW"
    TRIALS_ONLY = "TRIALS_ONLY"
    DENY = "DENY"


class LicenseState(str, Enum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class InvoiceStatus(str, Enum):
    OPEN = "OPEN"
    PAID = "PAID"
    PAST_DUE = "PAST_DUE"
    VOID = "VOID"


class InvoiceLineKind(str, Enum):
    PURCHASE = "PURCHASE"
    RENEWAL = "RENEWAL"
    PRORATED_CHARGE = "PRORATED_CHARGE"
    PRORATED_CREDIT = "PRORATED_CREDIT"


class InvoiceKind(str, Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class PaymentAttemptKind(str, Enum):
    CHARGE = "CHARGE"
    REFUND = "REFUND"


class PaymentAttemptStatus(str, Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ServiceChange(str, Enum):
    """Why the licences in paid service changed (§7 the ledger rule)."""

    PURCHASED = "PURCHASED"
    TRIAL_STARTED = "TRIAL_STARTED"
    REACTIVATED_AS_NEW = "REACTIVATED_AS_NEW"
    LICENCES_CHANGED = "LICENCES_CHANGED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    TRIAL_CONVERTED = "TRIAL_CONVERTED"
    RENEWED = "RENEWED"
    NON_PAYMENT = "NON_PAYMENT"
    REACTIVATED = "REACTIVATED"


# The changes that open a subscription's service record.
OPENING_CHANGES = (ServiceChange.PURCHASED, ServiceChange.TRIAL_STARTED, ServiceChange.REACTIVATED_AS_NEW)


class Tenant(Model):
    """An organization (§1). Sandbox tenants own a test clock (`clock_now`)."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    cloud = fields.CharEnumField(Cloud, max_length=20)
    sandbox = fields.BooleanField(default=False)
    clock_now = fields.DatetimeField(null=True)
    default_self_service_policy = fields.CharEnumField(
        SelfServicePolicy, max_length=12, default=SelfServicePolicy.ALLOW
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "tenant"


class Domain(Model):
    """A tenant's domain: the default `<name>.onmicrosoft.com` or a custom one (§1, §5)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    # Custom names are unique per tenant only: a global key would tell one tenant that another
    # has added a name, and let it squat names (the audit's finding). The default
    # `<prefix>.onmicrosoft.com` is a name the platform issues, so it alone is unique across
    # tenants, through `reserved_name` (set for the default domain only, NULL otherwise:
    # NULLs never collide in a unique key, and Tortoise's migrations make no partial index
    # on SQLite).
    name = fields.CharField(max_length=253)
    reserved_name = fields.CharField(max_length=253, null=True, unique=True)
    is_default = fields.BooleanField(default=False)
    subscription = fields.ForeignKeyField(
        "models.Subscription", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "domain"
        indexes = [Index(fields=("tenant_id", "subscription_id"), name="domain_tenant_sub_idx")]
        constraints = [UniqueConstraint(fields=("tenant_id", "name"), name="domain_tenant_name_uq")]


class User(Model):
    """A person in one tenant (§1), `roles` is a list of Role values (empty: plain user).

    A removed user keeps their row (`removed_at`), so audit entries still name them."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    display_name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=320)
    roles = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    removed_at = fields.DatetimeField(null=True)
    # 0 while the user is current, their own id once removed: the unique (tenant, email,
    # removal_key) then holds among current users only, and a removed user's email can be
    # given to a new user (NULLs never collide in a unique key, and Tortoise's migrations
    # make no partial index on SQLite, hence a number).
    removal_key = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "app_user"
        constraints = [
            UniqueConstraint(fields=("tenant_id", "email", "removal_key"), name="user_current_email_uq")
        ]


class ApiToken(Model):
    """A bearer token of one user, stored only as its SHA-256 hash (§1 rev. 2). Its times
    are wall-clock times, never a sandbox tenant's clock."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100, default="API token", db_default="API token")
    # The hash is how a request finds its tenant, so this lookup key is necessarily global.
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    # Updated at most once a minute per token (domain.auth), not on every request.
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
        indexes = [Index(fields=("tenant_id", "user_id"), name="api_token_user_idx")]


class BillingAccount(Model):
    """A billing account (§2): MCA or MOSA, an owner, a billing day once it has bought (§7)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    type = fields.CharEnumField(BillingAccountType, max_length=4)
    owner = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.RESTRICT)
    billing_day = fields.SmallIntField(null=True)
    charge_schedule = fields.CharEnumField(ChargeSchedule, max_length=20)
    currency = fields.CharField(max_length=3, default="USD")
    # Self-service accounts belong to the buyer, not the organization (§6).
    self_service = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "billing_account"
        indexes = [Index(fields=("tenant_id", "owner_id"), name="billing_account_owner_idx")]
        constraints = [
            CheckConstraint(
                check="billing_day IS NULL OR (billing_day >= 1 AND billing_day <= 31)",
                name="billing_account_billing_day_ck",
            )
        ]


class PaymentMethod(Model):
    """A card (§2): only what may be shown, plus the gateway's token. Never the full number
    nor the security code."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    billing_account = fields.ForeignKeyField(
        "models.BillingAccount", related_name=False, on_delete=fields.CASCADE
    )
    brand = fields.CharField(max_length=20)
    last4 = fields.CharField(max_length=4)
    expiry_month = fields.SmallIntField()
    expiry_year = fields.SmallIntField()
    name_on_card = fields.CharField(max_length=200)
    address = fields.JSONField(null=True)
    gateway_token = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()

    class Meta:
        table = "payment_method"
        indexes = [Index(fields=("tenant_id", "billing_account_id"), name="payment_method_account_idx")]


class BillingProfile(Model):
    """A billing profile (§2): carries the default payment method and receives invoices."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    billing_account = fields.ForeignKeyField(
        "models.BillingAccount", related_name=False, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    payment_method = fields.ForeignKeyField(
        "models.PaymentMethod", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Invoices of a profile are numbered 1, 2, ... by one conditional increment of this.
    invoice_count = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "billing_profile"
        indexes = [Index(fields=("tenant_id", "billing_account_id"), name="billing_profile_account_idx")]


class Product(Model):
    """A catalogue product (SKU, §3). The catalogue is global, prices are per licence."""

    id = fields.BigIntField(primary_key=True)
    sku = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    monthly_price = fields.DecimalField(**MONEY)
    annual_price = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="USD")
    commitment_terms = fields.JSONField()
    self_service = fields.BooleanField(default=False)
    trial_available = fields.BooleanField(default=False)
    trial_days = fields.SmallIntField(default=30)
    position = fields.SmallIntField(default=0)

    class Meta:
        table = "product"


class ProductSelfServicePolicy(Model):
    """A global admin's self-service policy for one product in one tenant (§6)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.CASCADE)
    policy = fields.CharEnumField(SelfServicePolicy, max_length=12)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "self_service_policy"
        constraints = [
            UniqueConstraint(fields=("tenant_id", "product_id"), name="self_service_policy_uq")
        ]


class Subscription(Model):
    """A tenant's subscription to a product (§3) with its licence count and lifecycle (§5).

    `assigned_count` mirrors the number of assignment rows so that taking seats is one
    conditional UPDATE (race-safe on SQLite and PostgreSQL), `version` moves on every change.
    """

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    billing_account = fields.ForeignKeyField(
        "models.BillingAccount", related_name=False, on_delete=fields.RESTRICT
    )
    billing_profile = fields.ForeignKeyField(
        "models.BillingProfile", related_name=False, on_delete=fields.RESTRICT
    )
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.RESTRICT)
    status = fields.CharEnumField(SubscriptionStatus, max_length=10)
    status_reason = fields.CharEnumField(StatusReason, max_length=24, null=True)
    status_changed_at = fields.DatetimeField()
    quantity = fields.IntField()
    assigned_count = fields.IntField(default=0)
    commitment_term = fields.CharEnumField(CommitmentTerm, max_length=8)
    auto_renew = fields.BooleanField(default=True)
    start_date = fields.DateField()
    term_start = fields.DatetimeField()
    term_end = fields.DatetimeField()
    next_charge_date = fields.DateField(null=True)
    purchase_channel = fields.CharEnumField(PurchaseChannel, max_length=12)
    # The current term is a free trial (§5 Trials): it converts to paid or expires at term end.
    trial = fields.BooleanField(default=False, db_default=False)
    purchased_by = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    unit_price = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="USD")
    cancelled_at = fields.DatetimeField(null=True)
    cancellation_reason = fields.CharEnumField(CancellationReason, max_length=20, null=True)
    cancellation_feedback = fields.TextField(null=True)
    expired_at = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    reactivated_from = fields.ForeignKeyField(
        "models.Subscription", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # §3 MCA: a decrease after the cancellation window waits for the renewal (null: none).
    scheduled_quantity = fields.IntField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    # What a successor (§5 MCA reactivation) does not take over: its identity, its term and
    # lifecycle, its buyer and its link back. Every other field is carried over, so a field
    # added later is carried too unless it is named here.
    NOT_CARRIED_TO_SUCCESSOR = frozenset({
        "id", "status", "status_reason", "status_changed_at", "auto_renew", "start_date", "term_start", "term_end",
        "next_charge_date", "trial", "purchased_by_id", "cancelled_at", "cancellation_reason",
        "cancellation_feedback", "expired_at", "disabled_at", "deleted_at", "reactivated_from_id",
        "scheduled_quantity", "version", "created_at",
    })

    def successor(self, term_start: datetime, term_end: datetime, next_charge_date: date | None,
                  purchased_by_id: int | None, assigned_count: int) -> dict[str, Any]:
        """§5 MCA reactivation: the fields of the new subscription that takes this one's place,
        ACTIVE for a new term from `term_start`, holding its `assigned_count` assignments."""
        names = [*self._meta.fields_db_projection, *(f"{fk}_id" for fk in sorted(self._meta.fk_fields))]
        carried = {name: getattr(self, name) for name in names if name not in self.NOT_CARRIED_TO_SUCCESSOR}
        return carried | dict(
            status=SubscriptionStatus.ACTIVE, status_changed_at=term_start, auto_renew=True,
            start_date=term_start.date(), term_start=term_start, term_end=term_end, next_charge_date=next_charge_date,
            purchased_by_id=purchased_by_id, assigned_count=assigned_count, reactivated_from_id=self.id,
            created_at=term_start,
        )

    @staticmethod
    def cancelled(now: datetime, reason: CancellationReason, feedback: str | None) -> dict[str, Any]:
        """§5 cancel: the changes that take a subscription to DISABLED (reason CANCELLED) now,
        with nothing more to charge or to schedule."""
        return dict(
            status=SubscriptionStatus.DISABLED, status_reason=StatusReason.CANCELLED, status_changed_at=now,
            disabled_at=now, cancelled_at=now, cancellation_reason=reason, cancellation_feedback=feedback,
            auto_renew=False, next_charge_date=None, scheduled_quantity=None,
        )

    @staticmethod
    def revived(now: datetime, term_start: datetime, term_end: datetime, next_charge_date: date | None,
                trial: bool) -> dict[str, Any]:
        """§5 MOSA reactivation: the changes that make a subscription ACTIVE again for the term
        given, forgetting how it ended."""
        return dict(
            status=SubscriptionStatus.ACTIVE, status_reason=None, status_changed_at=now,
            term_start=term_start, term_end=term_end, auto_renew=True,
            disabled_at=None, expired_at=None, cancelled_at=None, cancellation_reason=None,
            cancellation_feedback=None, next_charge_date=next_charge_date, trial=trial,
        )

    @staticmethod
    def renewed(term_start: datetime, term_end: datetime, next_charge_date: date | None, quantity: int,
                start_date: date) -> dict[str, Any]:
        """§3, §7 term end: the changes of a new term (a trial's first paid one), at `quantity`
        licences (a scheduled decrease applied), charged from `next_charge_date`."""
        return dict(
            term_start=term_start, term_end=term_end, trial=False, start_date=start_date, quantity=quantity,
            scheduled_quantity=None, next_charge_date=next_charge_date,
        )

    @staticmethod
    def expired(at: datetime) -> dict[str, Any]:
        """§3 term end without renewal: the changes that take a subscription to EXPIRED (reason
        TERM_ENDED) at `at`, with nothing more to charge or to schedule."""
        return dict(
            status=SubscriptionStatus.EXPIRED, status_reason=StatusReason.TERM_ENDED, status_changed_at=at,
            expired_at=at, next_charge_date=None, scheduled_quantity=None,
        )

    @staticmethod
    def disabled_for_non_payment(at: datetime) -> dict[str, Any]:
        """§7 the non-payment cut-off: the changes that take a subscription to DISABLED (reason
        NON_PAYMENT) at `at`; it renews no more."""
        return dict(
            status=SubscriptionStatus.DISABLED, status_reason=StatusReason.NON_PAYMENT, status_changed_at=at,
            disabled_at=at, auto_renew=False, next_charge_date=None, scheduled_quantity=None,
        )

    class Meta:
        table = "subscription"
        indexes = [
            Index(fields=("tenant_id", "product_id"), name="subscription_tenant_product_idx"),
            Index(fields=("tenant_id", "billing_account_id"), name="subscription_tenant_account_idx"),
            Index(fields=("tenant_id", "purchased_by_id"), name="subscription_tenant_buyer_idx"),
            # A tenant's subscriptions page in key order (the most read list, keyset cursors):
            # without it PostgreSQL's generic plan walks the primary key of every tenant.
            Index(fields=("tenant_id", "id"), name="subscription_tenant_page_idx"),
            # The billing engine's scans: what is due by status and moment.
            Index(fields=("status", "term_end"), name="subscription_status_term_end_idx"),
            Index(fields=("status", "expired_at"), name="subscription_status_expired_idx"),
            Index(fields=("status", "disabled_at"), name="subscription_status_disabled_idx"),
        ]
        constraints = [
            CheckConstraint(check="quantity >= 1", name="subscription_quantity_ck"),
            CheckConstraint(
                check="assigned_count >= 0 AND assigned_count <= quantity",
                name="subscription_assigned_ck",
            ),
        ]


class LicenseAssignment(Model):
    """A user holding a seat of a subscription (§4), suspended while it is disabled (§3)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    subscription = fields.ForeignKeyField(
        "models.Subscription", related_name=False, on_delete=fields.CASCADE
    )
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    # Denormalised from the subscription so "who holds this product" is one indexed lookup.
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.RESTRICT)
    state = fields.CharEnumField(LicenseState, max_length=10, default=LicenseState.ACTIVE)
    assigned_at = fields.DatetimeField()

    class Meta:
        table = "license_assignment"
        indexes = [Index(fields=("tenant_id", "user_id"), name="license_assignment_user_idx")]
        constraints = [
            UniqueConstraint(fields=("subscription_id", "user_id"), name="license_assignment_uq")
        ]


class ProductKey(Model):
    """A prepaid 25-character product key (§5), issued by the operator, redeemable once."""

    id = fields.BigIntField(primary_key=True)
    # Stored normalised: 25 upper-case characters without dashes or spaces.
    key = fields.CharField(max_length=25, unique=True)
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.RESTRICT)
    quantity = fields.IntField()
    commitment_term = fields.CharEnumField(CommitmentTerm, max_length=8)
    cloud = fields.CharEnumField(Cloud, max_length=20)
    expires_at = fields.DatetimeField()
    redeemed_at = fields.DatetimeField(null=True)
    redeemed_by_tenant = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    subscription = fields.ForeignKeyField(
        "models.Subscription", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "product_key"
        constraints = [CheckConstraint(check="quantity >= 1", name="product_key_quantity_ck")]


class Invoice(Model):
    """An invoice or credit note of a billing profile (§7), `total` is the sum of its lines.

    A credit note (credits larger than charges) has a negative total, nothing due, and is
    OPEN until its amount is refunded, then PAID."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    billing_account = fields.ForeignKeyField(
        "models.BillingAccount", related_name=False, on_delete=fields.RESTRICT
    )
    billing_profile = fields.ForeignKeyField(
        "models.BillingProfile", related_name=False, on_delete=fields.RESTRICT
    )
    number = fields.CharField(max_length=32)
    kind = fields.CharEnumField(InvoiceKind, max_length=12, default=InvoiceKind.INVOICE,
                                db_default=InvoiceKind.INVOICE.value)
    # The charge day this document closes (§7: one per profile and charge day); null for a
    # document charged at once (a purchase, or a change under RENEWAL_DAY).
    charge_day = fields.DateField(null=True)
    issue_date = fields.DateField()
    period_start = fields.DateField()
    period_end = fields.DateField()
    status = fields.CharEnumField(InvoiceStatus, max_length=10)
    total = fields.DecimalField(**MONEY)
    amount_due = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="USD")
    # Dunning (§7): the day the engine charges next (null: nothing to charge), the day of the
    # first failed charge (retries are counted from it) and the lease of a charge in flight.
    next_attempt_on = fields.DateField(null=True)
    first_failed_on = fields.DateField(null=True)
    charge_claimed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "invoice"
        indexes = [
            Index(fields=("tenant_id", "issue_date"), name="invoice_tenant_issue_idx"),
            Index(fields=("tenant_id", "billing_profile_id"), name="invoice_tenant_profile_idx"),
            Index(fields=("next_attempt_on",), name="invoice_next_attempt_idx"),
        ]
        constraints = [
            UniqueConstraint(fields=("tenant_id", "number"), name="invoice_number_uq"),
            UniqueConstraint(fields=("tenant_id", "billing_profile_id", "charge_day"), name="invoice_charge_day_uq"),
            CheckConstraint(check="amount_due >= 0", name="invoice_amount_due_ck"),
        ]


class InvoiceLine(Model):
    """A charge or credit (§7). Until an invoice takes it (`invoice` null) it is outstanding."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    billing_profile = fields.ForeignKeyField(
        "models.BillingProfile", related_name=False, on_delete=fields.RESTRICT
    )
    invoice = fields.ForeignKeyField(
        "models.Invoice", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    subscription = fields.ForeignKeyField(
        "models.Subscription", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(InvoiceLineKind, max_length=16)
    description = fields.CharField(max_length=300)
    quantity = fields.IntField()
    unit_price = fields.DecimalField(**MONEY)
    amount = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="USD")
    period_start = fields.DateField()
    period_end = fields.DateField()
    explanation = fields.TextField()
    # The day from which this line may be charged (§7 charge schedules).
    charge_on = fields.DateField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "invoice_line"
        indexes = [
            Index(fields=("tenant_id", "invoice_id"), name="invoice_line_invoice_idx"),
            Index(fields=("tenant_id", "billing_profile_id"), name="invoice_line_profile_idx"),
            Index(fields=("charge_on",), name="invoice_line_charge_on_idx"),
        ]


class PaymentAttempt(Model):
    """One charge of an invoice, or refund of a credit note, at the gateway (§5, §7); its
    key makes a retry charge (or refund) once."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, on_delete=fields.CASCADE)
    payment_method = fields.ForeignKeyField(
        "models.PaymentMethod", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(PaymentAttemptKind, max_length=8, default=PaymentAttemptKind.CHARGE,
                                db_default=PaymentAttemptKind.CHARGE.value)
    amount = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="USD")
    status = fields.CharEnumField(PaymentAttemptStatus, max_length=10)
    gateway_idempotency_key = fields.CharField(max_length=100)
    gateway_reference = fields.CharField(max_length=100, null=True)
    failure_reason = fields.CharField(max_length=200, null=True)
    attempted_at = fields.DatetimeField()

    class Meta:
        table = "payment_attempt"
        indexes = [Index(fields=("tenant_id", "invoice_id"), name="payment_attempt_invoice_idx")]
        constraints = [
            UniqueConstraint(
                fields=("tenant_id", "gateway_idempotency_key"), name="payment_attempt_key_uq"
            )
        ]


class ServiceLevel(Model):
    """From `since` on, `licences` licences of a subscription are in paid service (§7 the
    ledger rule); 0 when none are (trial, cancelled, expired, disabled). The latest row
    whose `since` is on or before a day gives that day's level. Written with every change
    of service, so the ledger can be checked against it: what was charged for a day, net
    of credits, must equal the licences in paid service that day."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    subscription = fields.ForeignKeyField("models.Subscription", related_name=False, on_delete=fields.CASCADE)
    since = fields.DateField()
    licences = fields.IntField()
    reason = fields.CharEnumField(ServiceChange, max_length=20)

    class Meta:
        table = "service_level"
        indexes = [Index(fields=("tenant_id", "subscription_id"), name="service_level_subscription_idx")]


class AuditEvent(Model):
    """Who changed what, when, on which object, before and after (§8)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    actor_user = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=40)
    object_id = fields.BigIntField()
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "audit_event"
        indexes = [Index(fields=("tenant_id", "id"), name="audit_event_tenant_idx")]


class IdempotencyRecord(Model):
    """The first result of a money-moving mutation under a client's key (API.md)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    mutation = fields.CharField(max_length=64)
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_record"
        # Per user: two people of one tenant choosing the same key act independently.
        constraints = [
            UniqueConstraint(fields=("tenant_id", "user_id", "mutation", "key"), name="idempotency_user_key_uq")
        ]


class TrialUse(Model):
    """A trial a buyer has had of a product (§5 Trials, §6): one per product for the
    organization (`buyer_id` 0) and one per product for each self-service buyer (their user
    id), so that neither uses up the other. Held by a unique constraint so that two racing
    trial purchases of one buyer cannot both win."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.CASCADE)
    # Not a foreign key: 0 stands for the organization, and a unique key over a NULL would
    # let the organization's racing trials both in.
    buyer_id = fields.BigIntField()
    at = fields.DatetimeField()

    class Meta:
        table = "trial_use"
        # unique_together, not Meta.constraints: CreateModel drops the latter (0002's note).
        unique_together = (("tenant_id", "product_id", "buyer_id"),)


class RateWindow(Model):
    """A fixed window of a rate limit (RELIABILITY.md A9): how many attempts `key` made since
    `started_at`. One row per key, updated in place by a single conditional upsert so that
    racing requests of several processes cannot exceed the limit."""

    key = fields.CharField(max_length=200, primary_key=True)
    started_at = fields.DatetimeField()
    count = fields.IntField()

    class Meta:
        table = "rate_window"


class BillingFailure(Model):
    """A tenant whose charge day the billing engine could not process (§7): the run recorded
    it, skipped the tenant and billed everyone else. The next run tries the tenant again."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    day = fields.DateField()
    error = fields.TextField()
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "billing_failure"
        indexes = [Index(fields=("tenant_id", "day"), name="billing_failure_tenant_day_idx")]


class EventCounter(Model):
    """The last event sequence number of a tenant (§9). Taken with an upsert in the writing
    transaction: the row stays locked until that transaction ends, so a tenant's events get
    their numbers in commit order, without gaps."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.OneToOneField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    last_sequence = fields.BigIntField()

    class Meta:
        table = "event_counter"


class Event(Model):
    """A business event (§9): what an audit entry records, numbered per tenant for consumers
    (`sequence`: strictly increasing and gap-free in commit order)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    sequence = fields.BigIntField()
    type = fields.CharField(max_length=64)
    actor_user = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    object_type = fields.CharField(max_length=40)
    object_id = fields.BigIntField()
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    occurred_at = fields.DatetimeField()
    # Wall-clock time of writing (occurred_at follows a sandbox tenant's test clock): what the
    # retention counts from. Null only for events written before it existed. Indexed
    # (event_recorded_idx, migration 0012) for the pruning.
    recorded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "event"
        # Tortoise 1.x leaves Meta.constraints out of a CreateModel: unique_together holds.
        unique_together = (("tenant_id", "sequence"),)


class DeliveryStatus(str, Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookEndpoint(Model):
    """A URL that receives a tenant's events (§9), in sequence order. `delivered_through` is
    the last sequence number done with (delivered, or not of its event types): the head of the
    line is the next event after it, retried at `next_attempt_at` while it fails. A deliverer
    holds the endpoint while it works on it (`lease_owner` until `lease_until`)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=200, default="")
    # Event types sent; empty: every type.
    event_types = fields.JSONField(default=list)
    secret = fields.CharField(max_length=80)
    enabled = fields.BooleanField(default=True)
    # Set when the head event failed for longer than the retry period: delivery stops until
    # the endpoint is enabled again.
    failing_since = fields.DatetimeField(null=True)
    delivered_through = fields.BigIntField(default=0)
    head_attempts = fields.IntField(default=0)
    head_failed_since = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_endpoint"
        indexes = [Index(fields=["tenant_id"], name="webhook_endpoint_tenant_idx")]


class WebhookDelivery(Model):
    """One attempt to deliver an event to an endpoint (§9): its outcome, the response code,
    how long it took, and when the next attempt is due after a failure. A redelivery asked for
    by hand waits as PENDING until a deliverer makes it."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    endpoint = fields.ForeignKeyField("models.WebhookEndpoint", related_name=False, on_delete=fields.CASCADE)
    event = fields.ForeignKeyField("models.Event", related_name=False, on_delete=fields.CASCADE)
    attempt = fields.IntField()
    manual = fields.BooleanField(default=False)
    status = fields.CharEnumField(DeliveryStatus, max_length=10)
    response_status = fields.IntField(null=True)
    duration_ms = fields.IntField(null=True)
    # Why an attempt failed without an HTTP answer (timeout, refused address, ...).
    error = fields.CharField(max_length=200, null=True)
    attempted_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_delivery"
        # Also webhook_delivery_event_idx on event_id (migration 0012), for the cascade when
        # old events are pruned.
        indexes = [Index(fields=["endpoint_id", "id"], name="webhook_delivery_endpoint_idx"),
                   Index(fields=["created_at"], name="webhook_delivery_created_idx")]
