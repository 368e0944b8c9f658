"""Mutations of licence assignments (SPEC §4)."""

from __future__ import annotations

from typing import Any

from billing_center.domain import licenses
from billing_center.domain.actor import Actor
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.resolvers.context import Context
from billing_center.resolvers.mutations.registration import input_id, mutation
from billing_center.resolvers.queries import decode_id
from billing_center.schema import enums
from billing_center.schema.ids import to_global_id
from billing_center.schema.mutations import licenses as schema


def _license_target(data: schema.AssignLicensesInput | schema.UnassignLicensesInput) -> tuple[licenses.Target, list[int]]:
    target = licenses.Target(
        subscription_id=input_id(data, "subscription_id", "Subscription"),
        product_id=input_id(data, "product_id", "Product"),
        expected_version=data.expected_version,
    )
    user_ids = []
    for position, user_id in enumerate(data.user_ids):
        try:
            user_ids.append(decode_id(user_id, "User", ("input", "userIds", str(position))))
        except DomainError:
            # A malformed id reads like a user of another tenant (API.md).
            raise DomainError(
                ErrorCode.USER_NOT_IN_TENANT, "A user is not a user of your organization.",
                ("input", "userIds", str(position)),
            ) from None
    return target, user_ids


async def _license_payload(ctx: Context, change: licenses.LicenseChange, payload_type: type) -> Any:
    loaders = ctx.loaders
    subscriptions = [s for s in await loaders.subscription_by_id.load_many(change.subscription_ids) if s]
    assignment_ids = [o.assignment_id for o in change.outcomes if o.assignment_id is not None]
    assignments = {a.pk: a for a in await loaders.license_assignment_by_id.load_many(assignment_ids) if a}
    results = [
        schema.LicenseAssignmentResult(
            user_id=to_global_id("User", o.user_id),
            outcome=enums.LicenseOutcome(o.outcome.value),
            assignment=assignments.get(o.assignment_id) if o.assignment_id else None,
        )
        for o in change.outcomes
    ]
    extra = {"assignments": list(assignments.values())} if payload_type is schema.AssignLicensesPayload else {}
    return payload_type(
        results=results, subscription=subscriptions[0] if subscriptions else None,
        subscriptions=subscriptions, **extra,
    )


@mutation("Give users seats of a subscription or of a product (oldest subscription first); "
          "at most 20 users, all or nothing.",
          input="Whose seats, for whom.")
async def assign_licenses(actor: Actor, ctx: Context,
                          data: schema.AssignLicensesInput) -> schema.AssignLicensesPayload:
    """assignLicenses (SPEC §4)."""
    target, user_ids = _license_target(data)
    change = await licenses.assign_licenses(actor, user_ids, target, ctx.clock)
    return await _license_payload(ctx, change, schema.AssignLicensesPayload)


@mutation("Take seats back from users; they are available at once.",
          input="Whose seats, from whom.")
async def unassign_licenses(actor: Actor, ctx: Context,
                            data: schema.UnassignLicensesInput) -> schema.UnassignLicensesPayload:
    """unassignLicenses (SPEC §4)."""
    target, user_ids = _license_target(data)
    change = await licenses.unassign_licenses(actor, user_ids, target, ctx.clock)
    return await _license_payload(ctx, change, schema.UnassignLicensesPayload)
