"""Inputs and payloads of the mutations of licence assignments: assignLicenses,
unassignLicenses, and what such a call did for each user."""

from __future__ import annotations

import strawberry

from billing_center.domain.licenses import MAX_USERS_PER_CALL
from billing_center.schema import enums
from billing_center.schema.errors import UserError
from billing_center.schema.types import LicenseAssignment, Subscription


@strawberry.input(description="Users to give seats: of one subscription, or of a product (its active subscriptions, oldest first).")
class AssignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription whose seats to use (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product whose subscriptions' seats to use, oldest subscription first.")
    user_ids: list[strawberry.ID] = strawberry.field(description=f"1 to {MAX_USERS_PER_CALL} users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `assignLicenses`.")
class AssignLicensesPayload:
    assignments: list[LicenseAssignment] = strawberry.field(default_factory=list, description="The assignments created by this call.")
    results: list[LicenseAssignmentResult] = strawberry.field(default_factory=list, description="One result per user, in the order given.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription whose seats were used (the first, by product).")
    subscriptions: list[Subscription] = strawberry.field(default_factory=list, description="Every subscription whose seats changed.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nobody was assigned, if so.")


@strawberry.input(description="Users whose seats to take back: in one subscription, or in a product's subscriptions.")
class UnassignLicensesInput:
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription (or give productId).")
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product: the users' seats in any of its subscriptions you manage.")
    user_ids: list[strawberry.ID] = strawberry.field(description=f"1 to {MAX_USERS_PER_CALL} users of your organization; duplicates count once.")
    expected_version: int | None = strawberry.field(default=None, description="Refuse with STATE_CHANGED unless the subscription is still at this version.")


@strawberry.type(description="Result of `unassignLicenses`.")
class UnassignLicensesPayload:
    results: list[LicenseAssignmentResult] = strawberry.field(default_factory=list, description="One result per user, in the order given.")
    subscription: Subscription | None = strawberry.field(default=None, description="The subscription whose seats were freed (the first, by product).")
    subscriptions: list[Subscription] = strawberry.field(default_factory=list, description="Every subscription whose seats changed.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.type(description="What a licence call did for one user.")
class LicenseAssignmentResult:
    user_id: strawberry.ID = strawberry.field(description="The user, as given.")
    outcome: enums.LicenseOutcome = strawberry.field(description="Assigned, already assigned, unassigned or not assigned.")
    assignment: LicenseAssignment | None = strawberry.field(default=None, description="The new assignment (ASSIGNED only).")
