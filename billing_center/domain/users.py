"""A global admin changes a user's roles or removes a user (SPEC §1 rev. 2).

The tenant always keeps a global admin: both changes lock the tenant's row first, so two of
them racing to demote or remove the last two admins run one after the other and the second
sees the first (PostgreSQL; SQLite runs one transaction at a time anyway).

Removing a user keeps their row (`removed_at`) so the audit trail still names them: their
tokens stop working at once (revoked, and the token lookup ignores removed users), their
licences are unassigned, and the self-service subscriptions they pay for keep running to the
end of their term with auto-renew turned off (nobody may manage them any more: §6 makes
them read-only for admins, and a renewal would charge a card whose owner has left). The
owner of the organization's billing account is refused until the account has another owner.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import F

from billing_center.domain import audit, models, rows, seats
from billing_center.domain.actor import Actor, normalise_roles
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found


def _admin_condition(dialect: str) -> str:
    if dialect == "postgres":
        return """"roles" @> '["GLOBAL_ADMIN"]'::jsonb"""
    return """EXISTS (SELECT 1 FROM json_each("roles") WHERE value = 'GLOBAL_ADMIN')"""


async def _lock_tenant(tenant_id: int) -> None:
    # NOTE: `.only()`, not `.values_list()`: Tortoise drops FOR UPDATE from a values query
    # (without the lock, two removals deadlocked on PostgreSQL in the race test). NO KEY
    # UPDATE: it serializes role changes and removals, yet lets the tenant's other writes
    # insert rows that reference the tenant (a plain FOR UPDATE deadlocked a removal with an
    # assignment: tests/domain/test_user_removal_race.py).
    await models.Tenant.filter(id=tenant_id).select_for_update(no_key=True).only("id")


async def _other_global_admins(tenant_id: int, user_id: int) -> int:
    """Current global admins of the tenant other than `user_id` (read after the lock)."""
    dialect = rows.dialect()
    mark = (lambda i: f"${i}") if dialect == "postgres" else (lambda i: "?")
    connection = models.User._meta.db
    [row] = await connection.execute_query_dict(
        f'SELECT COUNT(*) AS "count" FROM "app_user" WHERE "tenant_id" = {mark(1)} AND "id" <> {mark(2)} '
        f'AND "removed_at" IS NULL AND {_admin_condition(dialect)}', [tenant_id, user_id])
    return int(row["count"])


async def _current_user(tenant_id: int, user_id: int) -> dict:
    found = await models.User.filter(id=user_id, tenant_id=tenant_id, removed_at__isnull=True).values(
        "id", "roles", "email", "display_name")
    if not found:
        raise not_found("User", ("input", "userId"))
    return found[0]


def _last_admin(what: str) -> DomainError:
    return DomainError(ErrorCode.LAST_GLOBAL_ADMIN,
                       f"{what} would leave the organization without a global admin; make another user "
                       "a global admin first.", ("input", "userId"))


async def set_user_roles(actor: Actor, user_id: int, roles: list[models.Role], clock: Clock) -> None:
    """A global admin sets a user's roles (an empty list or USER: a plain user); effective
    from the user's next request. Raises FORBIDDEN, NOT_FOUND, LAST_GLOBAL_ADMIN."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "change roles")
    stored = [r.value for r in normalise_roles(roles) if r is not models.Role.USER]
    now = clock.now()
    async with atomic():
        await _lock_tenant(tenant_id)
        user = await _current_user(tenant_id, user_id)
        if models.Role.GLOBAL_ADMIN.value not in stored and not await _other_global_admins(tenant_id, user_id):
            raise _last_admin("Taking the global admin role from this user")
        await models.User.filter(id=user_id, tenant_id=tenant_id).update(roles=stored)
        await audit.record(actor, tenant_id, "user.roles_changed", "User", user_id, now,
                           before={"roles": user["roles"] or []}, after={"roles": stored})


async def remove_user(actor: Actor, user_id: int, clock: Clock) -> None:
    """A global admin removes a user (themself too, unless the last global admin). Raises
    FORBIDDEN, NOT_FOUND, LAST_GLOBAL_ADMIN, BILLING_ACCOUNT_OWNER."""
    tenant_id = actor.require_tenant()
    actor.require(actor.is_global_admin, "remove users")
    now = clock.now()
    async with atomic():
        await _lock_tenant(tenant_id)
        user = await _current_user(tenant_id, user_id)
        if not await _other_global_admins(tenant_id, user_id):
            raise _last_admin("Removing this user")
        if await models.BillingAccount.filter(tenant_id=tenant_id, owner_id=user_id, self_service=False).exists():
            raise DomainError(
                ErrorCode.BILLING_ACCOUNT_OWNER,
                "This user owns the organization's billing account; it needs another owner before they can "
                "be removed.", ("input", "userId"))
        await models.User.filter(id=user_id, tenant_id=tenant_id).update(removed_at=now, removal_key=user_id)
        await models.ApiToken.filter(tenant_id=tenant_id, user_id=user_id, revoked_at__isnull=True).update(
            revoked_at=now)
        unassigned = await _unassign_everything(actor, tenant_id, user_id, now)
        stopped = await _stop_renewals(actor, tenant_id, user_id, now)
        await audit.record(actor, tenant_id, "user.removed", "User", user_id, now,
                           before={"displayName": user["display_name"], "email": user["email"],
                                   "roles": user["roles"] or []},
                           after={"unassignedFromSubscriptionIds": unassigned,
                                  "autoRenewTurnedOffSubscriptionIds": stopped})


async def _unassign_everything(actor: Actor, tenant_id: int, user_id: int, now: datetime) -> list[int]:
    """Every seat the user holds is free again (§4: counts stay equal to the assignments)."""
    held = await models.LicenseAssignment.filter(tenant_id=tenant_id, user_id=user_id).values_list(
        "id", "subscription_id")
    for assignment_id, subscription_id in held:
        deleted = await models.LicenseAssignment.filter(id=assignment_id).delete()
        if deleted:
            await seats.give_back(subscription_id, tenant_id, deleted)
            await audit.record(actor, tenant_id, "licenses.unassigned", "Subscription", subscription_id, now,
                               before={"userIds": [user_id]})
    return sorted({subscription_id for _, subscription_id in held})


async def _stop_renewals(actor: Actor, tenant_id: int, user_id: int, now: datetime) -> list[int]:
    """Auto-renew off on the active subscriptions the user pays for themself (§6): they run to
    their term end, then expire as any subscription whose auto-renew is off (§3)."""
    ids = await models.Subscription.filter(
        tenant_id=tenant_id, billing_account__owner_id=user_id, billing_account__self_service=True,
        status=models.SubscriptionStatus.ACTIVE, auto_renew=True,
    ).values_list("id", flat=True)
    for subscription_id in ids:
        await models.Subscription.filter(id=subscription_id, tenant_id=tenant_id).update(
            auto_renew=False, version=F("version") + 1)
        await audit.record(actor, tenant_id, "subscription.auto_renew_set", "Subscription", subscription_id, now,
                           before={"autoRenew": True}, after={"autoRenew": False})
    return sorted(ids)
