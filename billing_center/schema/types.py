"""Object types of the public API (API.md), built from plain rows by `from_row`.

Scalar fields are plain attributes, so graphql-core resolves them synchronously. A field that
reaches another object is a small sync method handing over to `info.context.related`, which
(through the relation declared for the field in `resolvers.relations.declared`) returns what the list level above already loaded in one batch, or loads it (also in a batch)
when the object was reached on its own (`node`, a mutation payload).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from billing_center.domain import catalogue, lifecycle, models, tenants, webhooks
from billing_center.domain.actor import normalise_roles
from billing_center.domain.money import Money as DomainMoney
from billing_center.domain.subscription_rules import (
    DATA_RETENTION_AFTER_CANCEL,
    DISABLED_PERIOD,
    MCA_CANCELLATION_WINDOW,
)
from billing_center.schema import enums
from billing_center.schema.arguments import LAST_3_MONTHS, After, Before, First, From, Last, Period, To
from billing_center.schema.ids import encode_cursor, event_values, to_global_id

Loaded = strawberry.Private[dict]


@strawberry.interface(description="An object with a globally unique, opaque ID (Relay).")
class Node:
    @strawberry.field(description="The opaque global ID; pass it to `node(id:)`.")
    def id(self) -> strawberry.ID:
        # Encoded only when selected: most rows of a large answer never show their id.
        return strawberry.ID(to_global_id(type(self).__strawberry_definition__.name, self.pk))  # type: ignore[attr-defined]


@strawberry.type(description="An exact amount of money: a decimal string and a currency.")
class Money:
    amount: Decimal = strawberry.field(description='The amount as a decimal string, e.g. "12.50".')
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD.")

    @classmethod
    def of(cls, money: DomainMoney) -> "Money":
        return cls(amount=money.amount, currency=money.currency)

    @classmethod
    def from_amount(cls, amount: Decimal, currency: str) -> "Money":
        return cls(amount=Decimal(amount), currency=currency)


@strawberry.type(description="Where a connection page starts and ends (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of the page.")


@strawberry.type(description="A postal address.")
class Address:
    line1: str = strawberry.field(description="Street and number.")
    line2: str | None = strawberry.field(description="Further address line.")
    city: str = strawberry.field(description="City.")
    postal_code: str = strawberry.field(description="Postal code.")
    state: str | None = strawberry.field(description="State or region.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def from_json(cls, data: dict | None) -> "Address | None":
        if not data:
            return None
        return cls(
            line1=data.get("line1", ""),
            line2=data.get("line2"),
            city=data.get("city", ""),
            postal_code=data.get("postal_code", ""),
            state=data.get("state"),
            country=data.get("country", ""),
        )


@strawberry.type(description="A catalogue product (SKU) with its prices per licence.")
class Product(Node):
    pk: strawberry.Private[int]
    sku: str = strawberry.field(description="Stock-keeping unit, stable across releases.")
    name: str = strawberry.field(description="Display name.")
    monthly_price: Money = strawberry.field(description="Price per licence per month, monthly commitment.")
    annual_price: Money = strawberry.field(description="Price per licence per year, annual commitment.")
    commitment_terms: list[enums.CommitmentTerm] = strawberry.field(description="The commitment terms it can be bought with.")
    self_service: bool = strawberry.field(description="Plain users may buy it for themselves (subject to the tenant's policy).")
    trial_available: bool = strawberry.field(description="It can be started as a free trial.")
    trial_days: int | None = strawberry.field(description="Length of its trial in days; null when it has no trial (`trialAvailable` false).")

    @classmethod
    def from_row(cls, row: dict) -> "Product":
        currency = row["currency"]
        return cls(
            pk=row["id"],
            sku=row["sku"],
            name=row["name"],
            monthly_price=Money.from_amount(row["monthly_price"], currency),
            annual_price=Money.from_amount(row["annual_price"], currency),
            commitment_terms=[enums.CommitmentTerm(t) for t in row["commitment_terms"]],
            self_service=row["self_service"],
            trial_available=row["trial_available"],
            trial_days=catalogue.trial_days(row),
        )


@strawberry.type(description="An organization (tenant): its users, domains and admin center.")
class Tenant(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    name: str = strawberry.field(description="The organization's name.")
    cloud: enums.Cloud = strawberry.field(description="The cloud it lives in.")
    admin_center_url: str = strawberry.field(description="The admin center address for its cloud.")
    sandbox: bool = strawberry.field(description="A sandbox tenant has a test clock (`advanceClock`).")
    clock_now: datetime | None = strawberry.field(description="A sandbox tenant's clock; null for live tenants.")
    default_self_service_policy: enums.SelfServicePolicy = strawberry.field(description="The self-service policy of products without one of their own.")
    created_at: datetime = strawberry.field(description="When it signed up.")

    @classmethod
    def from_row(cls, row: dict) -> "Tenant":
        return cls(
            pk=row["id"],
            loaded={},
            name=row["name"],
            cloud=enums.Cloud(row["cloud"]),
            admin_center_url=tenants.admin_center_url(row["cloud"]),
            sandbox=row["sandbox"],
            clock_now=row["clock_now"],
            default_self_service_policy=enums.SelfServicePolicy(row["default_self_service_policy"]),
            created_at=row["created_at"],
        )

    @strawberry.field(description="Its domains: the default `<name>.onmicrosoft.com` first, then custom ones.")
    def domains(self, info: strawberry.Info) -> list["Domain"]:
        return info.context.related(self, info)

    @strawberry.field(description="Its current users, oldest first (removed users are not listed).")
    def users(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> "UserConnection":
        return info.context.related(self, info, first=first, after=after, last=last, before=before)


@strawberry.type(description="A domain of a tenant; a custom domain may be attached to a subscription.")
class Domain(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    subscription_id: strawberry.Private[int | None]
    name: str = strawberry.field(description="The domain name.")
    is_default: bool = strawberry.field(description="The tenant's default `<name>.onmicrosoft.com` domain.")

    @classmethod
    def from_row(cls, row: dict) -> "Domain":
        return cls(
            pk=row["id"],
            loaded={},
            subscription_id=row["subscription_id"],
            name=row["name"],
            is_default=row["is_default"],
        )

    @strawberry.field(description="The subscription this custom domain is attached to, if any and visible to you.")
    def subscription(self, info: strawberry.Info) -> "Subscription | None":
        return info.context.related(self, info)


@strawberry.type(description="A person in a tenant, with their roles and licences.")
class User(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    display_name: str = strawberry.field(description="Name shown in the admin center.")
    email: str = strawberry.field(description="Sign-in email address, unique in the tenant.")
    roles: list[enums.Role] = strawberry.field(description="Admin roles, or `USER` for a plain user.")
    created_at: datetime = strawberry.field(description="When the user was added.")
    removed_at: datetime | None = strawberry.field(description="When a global admin removed the user (they are kept so that the audit log names them, but listed nowhere); null for current users.")

    @classmethod
    def from_row(cls, row: dict) -> "User":
        return cls(
            pk=row["id"],
            loaded={},
            display_name=row["display_name"],
            email=row["email"],
            roles=_roles(tuple(row["roles"] or ())),
            created_at=row["created_at"],
            removed_at=row["removed_at"],
        )

    @strawberry.field(description="The licences assigned to this user that you may see.")
    def license_assignments(self, info: strawberry.Info) -> list["LicenseAssignment"]:
        return info.context.related(self, info)

    @strawberry.field(description="The user's API tokens that work now (not revoked, not expired), oldest first: your own, or anyone's of your tenant for global admins; an empty list for another user's otherwise.")
    def api_tokens(self, info: strawberry.Info) -> list["ApiToken"]:
        return info.context.related(self, info)


@strawberry.type(description="An API token of a user: what it is called and when it was made, last used and expires. The token itself is shown once, at creation, and never stored (only its hash).")
class ApiToken(Node):
    pk: strawberry.Private[int]
    user_id: strawberry.Private[int]
    name: str = strawberry.field(description="The name its owner gave it, e.g. the script that uses it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(description="When a request last used it, to the minute (recorded at most once a minute); null if never.")
    expires_at: datetime | None = strawberry.field(description="When it stops working; null: it works until revoked.")

    @classmethod
    def from_row(cls, row: dict) -> "ApiToken":
        return cls(
            pk=row["id"],
            user_id=row["user_id"],
            name=row["name"],
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            expires_at=row["expires_at"],
        )


@functools.lru_cache(maxsize=64)
def _roles(stored: tuple[str, ...]) -> tuple[enums.Role, ...]:
    # A handful of role combinations cover every user: convert each once per process (a
    # tuple, since one value is shared by many users).
    return tuple(enums.Role(r.value) for r in normalise_roles(list(stored)))


@strawberry.type(description="A billing account: its agreement type, owner, billing day and balances.")
class BillingAccount(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    owner_id: strawberry.Private[int]
    name: str = strawberry.field(description="Display name.")
    type: enums.BillingAccountType = strawberry.field(description="MCA or MOSA; decides cancellation and reactivation rules.")
    billing_day: int | None = strawberry.field(description="Day of the month charges are collected; set by the first purchase.")
    charge_schedule: enums.ChargeSchedule = strawberry.field(description="When renewals are charged.")
    self_service: bool = strawberry.field(description="A plain user's own account for self-service purchases.")
    currency: str = strawberry.field(description="Currency of its charges.")

    @classmethod
    def from_row(cls, row: dict) -> "BillingAccount":
        return cls(
            pk=row["id"],
            loaded={},
            owner_id=row["owner_id"],
            name=row["name"],
            type=enums.BillingAccountType(row["type"]),
            billing_day=row["billing_day"],
            charge_schedule=enums.ChargeSchedule(row["charge_schedule"]),
            self_service=row["self_service"],
            currency=row["currency"],
        )

    @strawberry.field(description="The user who owns the account.")
    def owner(self, info: strawberry.Info) -> User:
        return info.context.related(self, info)

    @strawberry.field(description="Its billing profiles, oldest first.")
    def billing_profiles(self, info: strawberry.Info) -> list["BillingProfile"]:
        return info.context.related(self, info)

    @strawberry.field(description="Renewed or bought but not yet charged, plus open invoices.")
    def outstanding_balance(self, info: strawberry.Info) -> Money:
        return info.context.related(self, info)

    @strawberry.field(description="Charged and failed: what past-due invoices still ask for.")
    def past_due_balance(self, info: strawberry.Info) -> Money:
        return info.context.related(self, info)

    @strawberry.field(description="Credits waiting for the next invoice (cancellations, licence decreases).")
    def credit_balance(self, info: strawberry.Info) -> Money:
        return info.context.related(self, info)


@strawberry.type(description="A card on file, masked: the full number and security code are never stored.")
class PaymentMethod(Node):
    pk: strawberry.Private[int]
    brand: str = strawberry.field(description="Card brand, e.g. VISA.")
    last4: str = strawberry.field(description="Last four digits of the card number.")
    expiry_month: int = strawberry.field(description="Expiry month, 1-12.")
    expiry_year: int = strawberry.field(description="Expiry year, four digits.")
    name_on_card: str = strawberry.field(description="Cardholder name.")
    address: Address | None = strawberry.field(description="Billing address of the card.")

    @classmethod
    def from_row(cls, row: dict) -> "PaymentMethod":
        return cls(
            pk=row["id"],
            brand=row["brand"],
            last4=row["last4"],
            expiry_month=row["expiry_month"],
            expiry_year=row["expiry_year"],
            name_on_card=row["name_on_card"],
            address=Address.from_json(row["address"]),
        )


@strawberry.type(description="A billing profile: carries the default payment method and receives invoices.")
class BillingProfile(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    billing_account_id: strawberry.Private[int]
    payment_method_id: strawberry.Private[int | None]
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def from_row(cls, row: dict) -> "BillingProfile":
        return cls(
            pk=row["id"],
            loaded={},
            billing_account_id=row["billing_account_id"],
            payment_method_id=row["payment_method_id"],
            name=row["name"],
        )

    @strawberry.field(description="The billing account it belongs to.")
    def billing_account(self, info: strawberry.Info) -> BillingAccount:
        return info.context.related(self, info)

    @strawberry.field(description="Its default payment method; null until one is added.")
    def payment_method(self, info: strawberry.Info) -> PaymentMethod | None:
        return info.context.related(self, info)

    @strawberry.field(description="Its invoices, newest first; by default those issued in the last 3 months.")
    def invoices(
        self,
        info: strawberry.Info,
        period: Period = LAST_3_MONTHS,
        from_: From = None,
        to: To = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> "InvoiceConnection":
        return info.context.related(
            self, info,
            period=period, **{"from": from_}, to=to, first=first, after=after, last=last, before=before,
        )


@strawberry.type(description="An action on a subscription: allowed now (until `deadline`), or why not.")
class SubscriptionActionState:
    action: enums.SubscriptionAction = strawberry.field(description="The action.")
    allowed: bool = strawberry.field(description="Whether you may take it now.")
    deadline: datetime | None = strawberry.field(description="Until when it stays allowed, where a limit applies (e.g. the MCA cancellation window).")
    code: enums.ErrorCode | None = strawberry.field(description="Why not, as the code the mutation would return.")
    reason: str | None = strawberry.field(description="Why not, for people (e.g. deleted: contact support).")


@strawberry.type(description="A projected step of a subscription's lifecycle.")
class LifecycleEvent:
    at: datetime = strawberry.field(description="When it happens.")
    status: enums.SubscriptionStatus | None = strawberry.field(description="The status from then on; null for data-retention dates.")
    description: str = strawberry.field(description="What it means.")


@strawberry.type(description="A tenant's subscription to a product.")
class Subscription(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    product_id: strawberry.Private[int]
    billing_account_id: strawberry.Private[int]
    billing_profile_id: strawberry.Private[int]
    purchased_by_id: strawberry.Private[int | None]
    reactivated_from_id: strawberry.Private[int | None]
    status: enums.SubscriptionStatus = strawberry.field(description="ACTIVE, EXPIRED, DISABLED or DELETED.")
    status_reason: enums.StatusReason | None = strawberry.field(description="Why it is not active; null while active.")
    quantity: int = strawberry.field(description="Licences bought (the licence count).")
    scheduled_quantity: int | None = strawberry.field(
        description="The licence count from the next renewal on, when a decrease is scheduled (an MCA decrease after "
                    f"the {MCA_CANCELLATION_WINDOW.days}-day cancellation window); null when none is. Set the current count again to "
                    "withdraw it.")
    assigned_count: int = strawberry.field(description="Licences assigned to users.")
    available_count: int = strawberry.field(description="Licences bought but not assigned.")
    commitment_term: enums.CommitmentTerm = strawberry.field(description="MONTHLY or ANNUAL.")
    auto_renew: bool = strawberry.field(description="Renews at term end when on.")
    start_date: date = strawberry.field(description="The day it was bought.")
    term_start: datetime = strawberry.field(description="Start of the current term.")
    term_end: datetime = strawberry.field(description="End of the current term: the renewal date.")
    next_charge_date: date | None = strawberry.field(description="When it is charged next; null when nothing is due.")
    purchase_channel: enums.PurchaseChannel = strawberry.field(description="How it was bought.")
    price: Money = strawberry.field(description="Price per licence per commitment term, fixed at purchase.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    cancellation_reason: enums.CancellationReason | None = strawberry.field(description="The reason given at cancellation.")
    cancellation_feedback: str | None = strawberry.field(description="Free-text feedback given at cancellation.")
    disabled_until: datetime | None = strawberry.field(description=f"While DISABLED: when it becomes DELETED ({DISABLED_PERIOD.days} days).")
    data_deletable_from: datetime | None = strawberry.field(description="Customer data may be deleted from this moment (end of the disabled period).")
    data_deletion_date: datetime | None = strawberry.field(description=f"Customer data is deleted at the latest on this date ({DATA_RETENTION_AFTER_CANCEL.days} days after cancellation).")
    version: int = strawberry.field(description="Increments on every change; pass it as `expectedVersion` to refuse acting on a stale view.")
    created_at: datetime = strawberry.field(description="When the row was created.")

    @classmethod
    def from_row(cls, row: dict) -> "Subscription":
        dates = lifecycle.retention_dates(row["status"], row["disabled_at"], row["cancelled_at"])
        return cls(
            pk=row["id"],
            loaded={},
            product_id=row["product_id"],
            billing_account_id=row["billing_account_id"],
            billing_profile_id=row["billing_profile_id"],
            purchased_by_id=row["purchased_by_id"],
            reactivated_from_id=row["reactivated_from_id"],
            status=enums.SubscriptionStatus(row["status"]),
            status_reason=enums.StatusReason(row["status_reason"]) if row["status_reason"] else None,
            quantity=row["quantity"],
            scheduled_quantity=row["scheduled_quantity"],
            assigned_count=row["assigned_count"],
            available_count=row["quantity"] - row["assigned_count"],
            commitment_term=enums.CommitmentTerm(row["commitment_term"]),
            auto_renew=row["auto_renew"],
            start_date=row["start_date"],
            term_start=row["term_start"],
            term_end=row["term_end"],
            next_charge_date=row["next_charge_date"],
            purchase_channel=enums.PurchaseChannel(row["purchase_channel"]),
            price=Money.from_amount(row["unit_price"], row["currency"]),
            cancelled_at=row["cancelled_at"],
            cancellation_reason=(
                enums.CancellationReason(row["cancellation_reason"]) if row["cancellation_reason"] else None
            ),
            cancellation_feedback=row["cancellation_feedback"],
            disabled_until=dates.disabled_until,
            data_deletable_from=dates.data_deletable_from,
            data_deletion_date=dates.data_deleted_by,
            version=row["version"],
            created_at=row["created_at"],
        )

    @strawberry.field(description="The product subscribed to.")
    def product(self, info: strawberry.Info) -> Product:
        return info.context.related(self, info)

    @strawberry.field(description="The billing account that pays for it; null when you may not read that account (licence admins, others' self-service accounts).")
    def billing_account(self, info: strawberry.Info) -> BillingAccount | None:
        return info.context.related(self, info)

    @strawberry.field(description="The billing profile its invoices go to; null when you may not read it.")
    def billing_profile(self, info: strawberry.Info) -> BillingProfile | None:
        return info.context.related(self, info)

    @strawberry.field(description="Who bought it.")
    def purchased_by(self, info: strawberry.Info) -> User | None:
        return info.context.related(self, info)

    @strawberry.field(description="MCA: the subscription this one was reactivated from.")
    def reactivated_from(self, info: strawberry.Info) -> "Subscription | None":
        return info.context.related(self, info)

    @strawberry.field(description="MCA: the new subscription that reactivated this one.")
    def reactivated_as(self, info: strawberry.Info) -> "Subscription | None":
        return info.context.related(self, info)

    @strawberry.field(description="Custom domains attached to it; they must be removed before cancelling.")
    def domains(self, info: strawberry.Info) -> list[Domain]:
        return info.context.related(self, info)

    @strawberry.field(description="Every action with whether you may take it now, its deadline, or why not; the mutations apply the same rules.")
    def available_actions(self, info: strawberry.Info) -> list[SubscriptionActionState]:
        return info.context.related(self, info)

    @strawberry.field(description="What happens next and when: renewal or expiry, disabling, deletion, data deletion.")
    def timeline(self, info: strawberry.Info) -> list[LifecycleEvent]:
        return info.context.related(self, info)

    @strawberry.field(description="Its licence assignments, oldest first.")
    def license_assignments(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> "LicenseAssignmentConnection":
        return info.context.related(
            self, info, first=first, after=after, last=last, before=before
        )


@strawberry.type(description="A user holding a seat of a subscription.")
class LicenseAssignment(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    user_id: strawberry.Private[int]
    subscription_id: strawberry.Private[int]
    product_id: strawberry.Private[int]
    state: enums.LicenseState = strawberry.field(description="ACTIVE, or SUSPENDED while the subscription is disabled.")
    assigned_at: datetime = strawberry.field(description="When the licence was assigned.")

    @classmethod
    def from_row(cls, row: dict) -> "LicenseAssignment":
        return cls(
            pk=row["id"],
            loaded={},
            user_id=row["user_id"],
            subscription_id=row["subscription_id"],
            product_id=row["product_id"],
            state=enums.LicenseState(row["state"]),
            assigned_at=row["assigned_at"],
        )

    @strawberry.field(description="The user holding the licence.")
    def user(self, info: strawberry.Info) -> User:
        return info.context.related(self, info)

    @strawberry.field(description="The subscription the seat belongs to; null when you may not see it.")
    def subscription(self, info: strawberry.Info) -> Subscription | None:
        return info.context.related(self, info)

    @strawberry.field(description="The product the licence is for.")
    def product(self, info: strawberry.Info) -> Product:
        return info.context.related(self, info)


@strawberry.type(description="A charge or credit on an invoice, explaining itself.")
class InvoiceLine:
    loaded: Loaded
    subscription_id: strawberry.Private[int | None]
    kind: enums.InvoiceLineKind = strawberry.field(description="Purchase, renewal, pro-rata charge or pro-rata credit.")
    description: str = strawberry.field(description="One line for people.")
    quantity: int = strawberry.field(description="Licences charged or credited.")
    unit_price: Money = strawberry.field(description="Price per licence for the period.")
    amount: Money = strawberry.field(description="The line's amount; negative for credits.")
    period_start: date = strawberry.field(description="First day covered.")
    period_end: date = strawberry.field(description="Day after the last day covered.")
    explanation: str = strawberry.field(description="How the amount was computed: days, rate, licences, rounding.")

    @classmethod
    def from_row(cls, row: dict) -> "InvoiceLine":
        currency = row["currency"]
        return cls(
            loaded={},
            subscription_id=row["subscription_id"],
            kind=enums.InvoiceLineKind(row["kind"]),
            description=row["description"],
            quantity=row["quantity"],
            unit_price=Money.from_amount(row["unit_price"], currency),
            amount=Money.from_amount(row["amount"], currency),
            period_start=row["period_start"],
            period_end=row["period_end"],
            explanation=row["explanation"],
        )

    @strawberry.field(description="The subscription charged or credited, if visible to you.")
    def subscription(self, info: strawberry.Info) -> Subscription | None:
        return info.context.related(self, info)


@strawberry.type(description="One attempt to charge an invoice, or to refund a credit note.")
class PaymentAttempt:
    kind: enums.PaymentAttemptKind = strawberry.field(description="CHARGE (an invoice) or REFUND (a credit note).")
    amount: Money = strawberry.field(description="Amount charged or refunded.")
    status: enums.PaymentAttemptStatus = strawberry.field(description="SUCCEEDED or FAILED.")
    attempted_at: datetime = strawberry.field(description="When it was attempted.")
    failure_reason: str | None = strawberry.field(description="Why it failed.")

    @classmethod
    def from_row(cls, row: dict) -> "PaymentAttempt":
        return cls(
            kind=enums.PaymentAttemptKind(row["kind"]),
            amount=Money.from_amount(row["amount"], row["currency"]),
            status=enums.PaymentAttemptStatus(row["status"]),
            attempted_at=row["attempted_at"],
            failure_reason=row["failure_reason"],
        )


@strawberry.type(description="An invoice or credit note of a billing profile: one per profile and "
                             "charge day, plus one per change charged at once.")
class Invoice(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    billing_profile_id: strawberry.Private[int]
    number: str = strawberry.field(description="Document number, unique in the tenant (INV-... or CN-...).")
    kind: enums.InvoiceKind = strawberry.field(description="INVOICE, or CREDIT_NOTE when its credits exceed its charges.")
    issue_date: date = strawberry.field(description="Day of issue.")
    period_start: date = strawberry.field(description="First day of the billing period.")
    period_end: date = strawberry.field(description="Last day of the billing period.")
    status: enums.InvoiceStatus = strawberry.field(description="OPEN, PAID, PAST_DUE or VOID.")
    total: Money = strawberry.field(description="Sum of its lines; negative for a credit note.")
    amount_due: Money = strawberry.field(description="What is still owed (0 for a credit note: it is refunded).")

    @classmethod
    def from_row(cls, row: dict) -> "Invoice":
        currency = row["currency"]
        return cls(
            pk=row["id"],
            loaded={},
            billing_profile_id=row["billing_profile_id"],
            number=row["number"],
            kind=enums.InvoiceKind(row["kind"]),
            issue_date=row["issue_date"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            status=enums.InvoiceStatus(row["status"]),
            total=Money.from_amount(row["total"], currency),
            amount_due=Money.from_amount(row["amount_due"], currency),
        )

    @strawberry.field(description="The billing profile it was issued to.")
    def billing_profile(self, info: strawberry.Info) -> BillingProfile:
        return info.context.related(self, info)

    @strawberry.field(description="Its lines in the order they were added.")
    def lines(self, info: strawberry.Info) -> list[InvoiceLine]:
        return info.context.related(self, info)

    @strawberry.field(description="Its charges (or refunds) at the payment gateway, oldest first.")
    def payment_attempts(self, info: strawberry.Info) -> list[PaymentAttempt]:
        return info.context.related(self, info)


@strawberry.type(description="A recorded change: who, what, when, on which object, before and after.")
class AuditEvent(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    actor_user_id: strawberry.Private[int | None]
    action: str = strawberry.field(description="What happened, e.g. `subscription.cancelled`.")
    object_type: str = strawberry.field(description="The GraphQL type of the changed object.")
    object_id: strawberry.ID = strawberry.field(description="The global ID of the changed object.")
    at: datetime = strawberry.field(description="When it happened.")
    before: JSON | None = strawberry.field(description="The changed values before the change; null when there were none or when `detailsHidden`.")
    after: JSON | None = strawberry.field(description="The changed values after the change; null when there were none or when `detailsHidden`.")
    details_hidden: bool = strawberry.field(description="True when `before` and `after` are withheld from you because they show what you may not read elsewhere, e.g. the card details of another person's self-service account.")

    @classmethod
    def from_row(cls, row: dict) -> "AuditEvent":
        """From a row that went through `audit.withhold_unreadable` for the reader."""
        return cls(
            pk=row["id"],
            loaded={},
            actor_user_id=row["actor_user_id"],
            action=row["action"],
            object_type=row["object_type"],
            object_id=to_global_id(row["object_type"], row["object_id"]),
            at=row["at"],
            before=row["before"],
            after=row["after"],
            details_hidden=row["details_hidden"],
        )

    @strawberry.field(description="The user who made the change; null for the platform.")
    def actor(self, info: strawberry.Info) -> User | None:
        return info.context.related(self, info)


# Keys of recorded values that hold another object's database id, and that object's type:
# an event shows them as global ids, which a script can pass to `node(id:)`.
@strawberry.type(description="A business event, for integration scripts: what changed, numbered per tenant. `sequence` is strictly increasing and gap-free in commit order, so a reader who has seen number n has missed nothing before it and can resume after it.")
class Event(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    actor_user_id: strawberry.Private[int | None]
    object_pk: strawberry.Private[int]
    sequence: int = strawberry.field(description="The event's number in its tenant: 1, 2, 3, … without gaps, in the order the changes were committed.")
    type: str = strawberry.field(description="What happened, e.g. `subscription.purchased`, `invoice.paid`, `invoice.payment_failed` (the list is in the README).")
    occurred_at: datetime = strawberry.field(description="When it happened (a sandbox tenant's test clock for what its clock moved).")
    object_type: str = strawberry.field(description="The GraphQL type of the object it is about.")
    object_id: strawberry.ID = strawberry.field(description="The global ID of the object it is about.")
    data: JSON | None = strawberry.field(description="The values the change set (ids of other objects as global IDs, e.g. `productId`, `userIds`); null when there were none or when `detailsHidden`.")
    previous_data: JSON | None = strawberry.field(description="The same values before the change; null when there were none or when `detailsHidden`.")
    details_hidden: bool = strawberry.field(description="True when `data` and `previousData` are withheld from you because they show what you may not read elsewhere, e.g. the card details of another person's self-service account.")

    @classmethod
    def from_row(cls, row: dict) -> "Event":
        """From a row that went through `audit.withhold_unreadable` for the reader."""
        return cls(
            pk=row["id"], loaded={}, actor_user_id=row["actor_user_id"], object_pk=row["object_id"],
            sequence=row["sequence"], type=row["type"], occurred_at=row["occurred_at"],
            object_type=row["object_type"], object_id=to_global_id(row["object_type"], row["object_id"]),
            data=event_values(row["after"]), previous_data=event_values(row["before"]),
            details_hidden=row["details_hidden"],
        )

    @strawberry.field(description="Who made the change; null for the platform (the billing engine).")
    def actor(self, info: strawberry.Info) -> User | None:
        return info.context.related(self, info)

    @strawberry.field(description="The object it is about as it is now, if you may read it (null once it is gone).")
    async def object(self, info: strawberry.Info) -> Node | None:
        loader = info.context.loaders.by_type(self.object_type)
        return await loader.load(self.object_pk) if loader else None


@strawberry.type(description="A URL that receives the organization's events as signed HTTP POSTs, in sequence order, at least once. For global admins.")
class WebhookEndpoint(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="What it is for, as its admin wrote it.")
    event_types: list[str] = strawberry.field(description="The event types it receives (`invoice.*`: every `invoice.` type); empty: every type.")
    enabled: bool = strawberry.field(description="False when an admin turned it off: nothing is sent to it.")
    status: enums.WebhookEndpointStatus = strawberry.field(description="HEALTHY, FAILING (an event failed for 3 days: delivery waits until the endpoint is enabled again) or DISABLED.")
    delivered_through: int = strawberry.field(description="The sequence number up to which every event it takes was delivered; the next one is the head of its line.")
    next_attempt_at: datetime | None = strawberry.field(description="When the event at the head of its line is tried again after a failure; null when nothing is waiting for a retry.")
    failing_since: datetime | None = strawberry.field(description="When it became FAILING; null otherwise.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_row(cls, row: dict) -> "WebhookEndpoint":
        return cls(
            pk=row["id"], loaded={}, url=row["url"], description=row["description"],
            event_types=list(row["event_types"] or ()), enabled=row["enabled"],
            status=enums.WebhookEndpointStatus(webhooks.status(row).value), delivered_through=row["delivered_through"],
            next_attempt_at=row["next_attempt_at"] if row["failing_since"] is None else None,
            failing_since=row["failing_since"], created_at=row["created_at"],
        )

    @strawberry.field(description="Its delivery attempts, newest first.")
    def deliveries(self, info: strawberry.Info, first: First = None, after: After = None, last: Last = None,
                   before: Before = None) -> "WebhookDeliveryConnection":
        return info.context.related(self, info, first=first, after=after, last=last, before=before)


@strawberry.type(description="One attempt to deliver an event to a webhook endpoint, or a redelivery waiting to be made (PENDING).")
class WebhookDelivery(Node):
    pk: strawberry.Private[int]
    loaded: Loaded
    event_pk: strawberry.Private[int]
    attempt: int = strawberry.field(description="1 for the first attempt at this event, 2 for the first retry, and so on (redeliveries by hand count on).")
    status: enums.DeliveryStatus = strawberry.field(description="PENDING (a redelivery not made yet), SUCCEEDED (the receiver answered 2xx) or FAILED.")
    redelivery: bool = strawberry.field(description="True for a redelivery asked for with `redeliverEvent`.")
    response_status: int | None = strawberry.field(description="The HTTP status the receiver answered; null when no answer came.")
    error: str | None = strawberry.field(description="Why it failed without an answer, e.g. a timeout or a refused address.")
    duration_ms: int | None = strawberry.field(description="How long the attempt took, in milliseconds.")
    attempted_at: datetime | None = strawberry.field(description="When it was made; null while PENDING.")
    next_attempt_at: datetime | None = strawberry.field(description="After a FAILED attempt: when the event is tried again (null: no retry, e.g. the endpoint became FAILING, or a redelivery).")

    @classmethod
    def from_row(cls, row: dict) -> "WebhookDelivery":
        return cls(
            pk=row["id"], loaded={}, event_pk=row["event_id"], attempt=row["attempt"],
            status=enums.DeliveryStatus(models.DeliveryStatus(row["status"]).value),
            redelivery=row["manual"], response_status=row["response_status"], error=row["error"],
            duration_ms=row["duration_ms"], attempted_at=row["attempted_at"], next_attempt_at=row["next_attempt_at"],
        )

    @strawberry.field(description="The event it delivers.")
    async def event(self, info: strawberry.Info) -> Event | None:
        return await info.context.loaders.event_by_id.load(self.event_pk)


@strawberry.type(description="Licences of one product over all the tenant's subscriptions that take assignments.")
class ProductLicenseSummary:
    product: Product = strawberry.field(description="The product.")
    purchased: int = strawberry.field(description="Licences bought in active and expired subscriptions.")
    assigned: int = strawberry.field(description="Licences assigned to users.")
    available: int = strawberry.field(description="Licences bought and not assigned.")


def _cursor(self: Any) -> str:
    # Encoded only when selected, like global ids.
    return encode_cursor(self.cursor_key)


def _edge(node_type: type, name: str, what: str) -> type:
    return strawberry.type(
        type(name, (), {
            "__annotations__": {"cursor_key": strawberry.Private[int], "node": node_type},
            "cursor": strawberry.field(resolver=_cursor, description="Opaque cursor of this item."),
            "node": strawberry.field(description=f"The {what}."),
        }),
        description=f"One {what} in a page.",
    )


def _connection(edge_type: type, name: str, what: str) -> type:
    return strawberry.type(
        type(name, (), {
            "__annotations__": {"edges": list[edge_type], "page_info": PageInfo, "total_count": int},
            "edges": strawberry.field(description=f"The {what} of this page."),
            "page_info": strawberry.field(description="Where this page starts and ends."),
            "total_count": strawberry.field(description=f"All {what} matching, over every page."),
        }),
        description=f"A page of {what} (Relay connection).",
    )


SubscriptionEdge = _edge(Subscription, "SubscriptionEdge", "subscription")
SubscriptionConnection = _connection(SubscriptionEdge, "SubscriptionConnection", "subscriptions")
LicenseAssignmentEdge = _edge(LicenseAssignment, "LicenseAssignmentEdge", "licence assignment")
LicenseAssignmentConnection = _connection(LicenseAssignmentEdge, "LicenseAssignmentConnection", "licence assignments")
UserEdge = _edge(User, "UserEdge", "user")
UserConnection = _connection(UserEdge, "UserConnection", "users")
InvoiceEdge = _edge(Invoice, "InvoiceEdge", "invoice")
InvoiceConnection = _connection(InvoiceEdge, "InvoiceConnection", "invoices")
AuditEventEdge = _edge(AuditEvent, "AuditEventEdge", "audit event")
EDGE_TYPES = ("SubscriptionEdge", "LicenseAssignmentEdge", "UserEdge", "InvoiceEdge", "AuditEventEdge", "EventEdge",
              "WebhookDeliveryEdge")
AuditEventConnection = _connection(AuditEventEdge, "AuditEventConnection", "audit events")
EventEdge = _edge(Event, "EventEdge", "event")
EventConnection = _connection(EventEdge, "EventConnection", "events")
WebhookDeliveryEdge = _edge(WebhookDelivery, "WebhookDeliveryEdge", "webhook delivery")
WebhookDeliveryConnection = _connection(WebhookDeliveryEdge, "WebhookDeliveryConnection", "webhook deliveries")

NODE_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Tenant, Domain, User, ApiToken, BillingAccount, BillingProfile, PaymentMethod, Product,
                Subscription, LicenseAssignment, Invoice, AuditEvent, Event, WebhookEndpoint, WebhookDelivery)
}
