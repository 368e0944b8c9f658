"""A removal racing with an assignment of the same user (SPEC §1 rev. 2, §4): whichever
commits first, the removed user ends up holding no seat, and every subscription's count is
its number of assignments (PostgreSQL: row locks on the user; SQLite: one transaction at a
time)."""

from __future__ import annotations

import asyncio

from billing_center.domain import licenses, models, users
from billing_center.domain.errors import DomainError, ErrorCode
from tests import factories


async def test_a_removal_racing_an_assignment_leaves_the_removed_user_without_a_seat(database, clock):
    # given
    org = await factories.sign_up(clock)
    await factories.add_user(org, clock, "Gia", [models.Role.GLOBAL_ADMIN])
    subscription = await factories.add_subscription(org, clock, quantity=20)
    people = [(await factories.add_user(org, clock, f"Racer {i}"))[0] for i in range(8)]
    target = licenses.Target(subscription_id=subscription.id)

    async def assign(user: models.User) -> None:
        try:
            await licenses.assign_licenses(org.actor, [user.id], target, clock)
        except DomainError as error:
            assert error.code is ErrorCode.USER_NOT_IN_TENANT

    # when
    for user in people:
        await asyncio.gather(assign(user), users.remove_user(org.actor, user.id, clock))
    # then
    assert await models.LicenseAssignment.filter(user_id__in=[u.id for u in people]).count() == 0
    stored = await models.Subscription.get(id=subscription.id)
    assert stored.assigned_count == await models.LicenseAssignment.filter(subscription_id=subscription.id).count() == 0
