"""Assign and unassign licences (SPEC §4).

Seats are taken first, each subscription's with one conditional UPDATE (`seats.take`), so the
database decides who gets the last seat. The unique (subscription, user) constraint catches
two calls assigning the same person at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tortoise.exceptions import IntegrityError

from billing_center.domain import audit, available_actions, models, seats, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.atomic import atomic
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found
from billing_center.domain.subscriptions import state_changed

# §4: at most 20 users per call.
MAX_USERS_PER_CALL = 20
# Two calls racing for the same person make one of them start over once; more is a bug.
ATTEMPTS = 3


class Outcome(str, Enum):
    """What a licence call did for one user."""

    ASSIGNED = "ASSIGNED"
    ALREADY_ASSIGNED = "ALREADY_ASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    NOT_ASSIGNED = "NOT_ASSIGNED"


@dataclass(frozen=True, slots=True)
class UserOutcome:
    """The result for one user of the call."""

    user_id: int
    outcome: Outcome
    subscription_id: int | None = None
    assignment_id: int | None = None


@dataclass
class LicenseChange:
    """Per-user outcomes, in the order the users were given, and the subscriptions touched."""

    outcomes: list[UserOutcome] = field(default_factory=list)
    subscription_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Target:
    """Which seats a call works on: one subscription, or a product (oldest first)."""

    subscription_id: int | None = None
    product_id: int | None = None
    expected_version: int | None = None


def _user_ids(user_ids: list[int]) -> list[int]:
    unique = list(dict.fromkeys(user_ids))
    if not unique:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give at least one user.", ("input", "userIds"))
    if len(unique) > MAX_USERS_PER_CALL:
        raise DomainError(
            ErrorCode.TOO_MANY_USERS,
            f"At most {MAX_USERS_PER_CALL} users per call; {len(unique)} were given.",
            ("input", "userIds"),
        )
    return unique


async def _require_tenant_users(tenant_id: int, user_ids: list[int], positions: dict[int, int],
                                locked: bool = False) -> None:
    # A removed user (§1 rev. 2) is no user of the organization any more. `locked` (inside
    # the assigning transaction): a removal racing with the assignment waits for it, then
    # frees the seat, or wins and the assignment is refused (PostgreSQL row locks; SQLite
    # runs one transaction at a time).
    current = models.User.filter(tenant_id=tenant_id, id__in=user_ids, removed_at__isnull=True)
    if locked:  # (`.only`: Tortoise drops the lock from values queries)
        found = {user.id for user in await current.select_for_update(no_key=True).only("id")}
    else:
        found = set(await current.values_list("id", flat=True))
    missing = [user_id for user_id in user_ids if user_id not in found]
    if missing:
        # One answer for other tenants' users and ids that do not exist: it reveals nothing.
        raise DomainError(
            ErrorCode.USER_NOT_IN_TENANT,
            _not_users_message(len(missing), len(user_ids)),
            ("input", "userIds", str(positions[missing[0]])),
        )


def _not_users_message(missing: int, given: int) -> str:
    # Said for 1 and for many: "1 of the users are not users" read badly.
    if given == 1:
        return "The user is not a user of your organization."
    if missing == 1:
        return f"1 of the {given} users is not a user of your organization."
    return f"{missing} of the {given} users are not users of your organization."


def _check_may_manage(actor: Actor, row: dict) -> None:
    """§1, §6 through the rule behind `availableActions` (ASSIGN_LICENSES)."""
    refused = available_actions.permission(actor, available_actions.facts_from_row(row),
                                           available_actions.Action.ASSIGN_LICENSES)
    if refused is not None:
        raise DomainError(refused.code or ErrorCode.FORBIDDEN, refused.reason or "Not allowed.",
                          ("input", "subscriptionId"))


_SUBSCRIPTION_COLUMNS = ("product_id", "version", *available_actions.FACT_COLUMNS)


async def _subscriptions(actor: Actor, target: Target, for_assign: bool) -> list[dict]:
    """The subscriptions a call works on, oldest first, after the permission checks."""
    if (target.subscription_id is None) == (target.product_id is None):
        raise DomainError(ErrorCode.INVALID_INPUT, "Give either subscriptionId or productId.", ("input",))
    visible = models.Subscription.filter(visibility.subscriptions(actor))
    if target.subscription_id is not None:
        rows = await visible.filter(id=target.subscription_id).values(*_SUBSCRIPTION_COLUMNS)
        if not rows:
            raise not_found("Subscription", ("input", "subscriptionId"))
        _check_may_manage(actor, rows[0])
        if target.expected_version is not None and rows[0]["version"] != target.expected_version:
            raise state_changed(rows[0]["version"])
        if for_assign and not await visible.filter(seats.offers_seats(actor.tenant_id), id=rows[0]["id"]).exists():
            raise DomainError(
                ErrorCode.INVALID_STATUS,
                f"A {rows[0]['status'].value} subscription takes no new assignments.",
                ("input", "subscriptionId"),
            )
        return rows
    if target.expected_version is not None:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "expectedVersion needs a subscriptionId.", ("input", "expectedVersion")
        )
    if not await models.Product.filter(id=target.product_id).exists():
        raise not_found("Product", ("input", "productId"))
    rows = await visible.filter(product_id=target.product_id).order_by("created_at", "id").values(
        *_SUBSCRIPTION_COLUMNS
    )
    managed = []
    for row in rows:
        try:
            _check_may_manage(actor, row)
        except DomainError:
            continue
        managed.append(row)
    if not managed and rows:
        _check_may_manage(actor, rows[0])  # say why: read-only or forbidden
    if not for_assign:
        return managed
    seated = set(await visible.filter(seats.offers_seats(actor.tenant_id), product_id=target.product_id)
                 .values_list("id", flat=True))
    return [row for row in managed if row["id"] in seated]


async def assign_licenses(actor: Actor, user_ids: list[int], target: Target, clock: Clock) -> LicenseChange:
    """§4: give users seats of a subscription, or of a product's subscriptions oldest first.

    All or nothing: when the seats do not suffice for every user who needs one, nobody is
    assigned. A user already holding the product is a no-op reported per user. Raises
    TOO_MANY_USERS, USER_NOT_IN_TENANT, NOT_FOUND, FORBIDDEN, READ_ONLY_SELF_SERVICE,
    INVALID_STATUS, INSUFFICIENT_LICENSES, STATE_CHANGED.
    """
    tenant_id = actor.require_tenant()
    users = _user_ids(user_ids)
    positions = {user_id: i for i, user_id in enumerate(user_ids)}
    await _require_tenant_users(tenant_id, users, positions)
    for attempt in range(ATTEMPTS):
        subscriptions = await _subscriptions(actor, target, for_assign=True)
        try:
            return await _assign(actor, tenant_id, users, subscriptions, target, clock)
        except IntegrityError:
            # Another call assigned one of these users meanwhile: start over from a fresh read.
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _assign(
    actor: Actor, tenant_id: int, users: list[int], subscriptions: list[dict], target: Target, clock: Clock
) -> LicenseChange:
    product_id = subscriptions[0]["product_id"] if subscriptions else target.product_id
    holders = dict(
        await models.LicenseAssignment.filter(
            tenant_id=tenant_id, product_id=product_id, user_id__in=users
        ).values_list("user_id", "subscription_id")
    )
    needing = [user_id for user_id in users if user_id not in holders]
    if needing and not subscriptions:
        raise DomainError(
            ErrorCode.INSUFFICIENT_LICENSES,
            "No active subscription of this product has seats to assign.",
            ("input", "productId"),
        )
    placed: dict[int, int] = {}
    ids: dict[int, int] = {}
    now = clock.now()
    if needing:
        async with atomic():
            placed = await _place(tenant_id, needing, subscriptions, target)
            await _record_assignments(actor, tenant_id, product_id, users, placed, now)
        ids = await _assignment_ids(tenant_id, placed)
    return _assigned(users, holders, placed, ids, subscriptions)


async def _place(tenant_id: int, needing: list[int], subscriptions: list[dict], target: Target) -> dict[int, int]:
    """Seats taken for every user in `needing`, from the subscriptions in their order: the
    subscription each user is placed on. Raises when they do not suffice for everyone (the
    caller's transaction gives back what was taken)."""
    placed: dict[int, int] = {}
    remaining = list(needing)
    for row in subscriptions:
        if not remaining:
            break
        take = remaining[: max(seats.available(row), 0)] if target.product_id is not None else remaining
        if not take:
            continue
        if not await seats.take(row["id"], tenant_id, len(take), target.expected_version):
            if target.subscription_id is not None:
                raise await seats.refusal(row["id"], len(take), target.expected_version)
            continue  # taken meanwhile: try the next subscription
        for user_id in take:
            placed[user_id] = row["id"]
        remaining = remaining[len(take):]
    if remaining:
        raise DomainError(
            ErrorCode.INSUFFICIENT_LICENSES,
            f"Not enough available licences for {len(remaining)} of the users; nobody was assigned.",
            ("input", "userIds"),
        )
    return placed


async def _record_assignments(actor: Actor, tenant_id: int, product_id: int, users: list[int],
                              placed: dict[int, int], now: datetime) -> None:
    """The assignment rows of the seats taken, and an audit event per subscription."""
    await _require_tenant_users(tenant_id, list(placed), {u: users.index(u) for u in placed}, locked=True)
    await models.LicenseAssignment.bulk_create([
        models.LicenseAssignment(
            tenant_id=tenant_id, subscription_id=subscription_id, user_id=user_id,
            product_id=product_id, state=models.LicenseState.ACTIVE, assigned_at=now,
        )
        for user_id, subscription_id in placed.items()
    ])
    for subscription_id in dict.fromkeys(placed.values()):
        assigned = [u for u, s in placed.items() if s == subscription_id]
        await audit.record(
            actor, tenant_id, "licenses.assigned", "Subscription", subscription_id, now,
            after={"userIds": assigned},
        )


def _assigned(users: list[int], holders: dict[int, int], placed: dict[int, int], ids: dict[int, int],
              subscriptions: list[dict]) -> LicenseChange:
    change = LicenseChange()
    for user_id in users:
        if user_id in placed:
            change.outcomes.append(UserOutcome(user_id, Outcome.ASSIGNED, placed[user_id], ids.get(user_id)))
        else:
            change.outcomes.append(UserOutcome(user_id, Outcome.ALREADY_ASSIGNED, holders[user_id]))
    change.subscription_ids = list(dict.fromkeys(placed.values())) or [
        row["id"] for row in subscriptions[:1]
    ]
    return change


async def _assignment_ids(tenant_id: int, placed: dict[int, int]) -> dict[int, int]:
    rows = await models.LicenseAssignment.filter(
        tenant_id=tenant_id, user_id__in=list(placed), subscription_id__in=list(set(placed.values()))
    ).values_list("user_id", "id")
    return dict(rows)


async def unassign_licenses(actor: Actor, user_ids: list[int], target: Target, clock: Clock) -> LicenseChange:
    """§4: take seats back from users; their seats are available at once. A user without a
    seat there is a no-op reported per user. Raises as `assign_licenses` does."""
    tenant_id = actor.require_tenant()
    users = _user_ids(user_ids)
    positions = {user_id: i for i, user_id in enumerate(user_ids)}
    await _require_tenant_users(tenant_id, users, positions)
    subscriptions = await _subscriptions(actor, target, for_assign=False)
    subscription_ids = [row["id"] for row in subscriptions]
    held = await models.LicenseAssignment.filter(
        tenant_id=tenant_id, subscription_id__in=subscription_ids, user_id__in=users
    ).values("id", "user_id", "subscription_id")
    by_subscription: dict[int, list[dict]] = {}
    for row in held:
        by_subscription.setdefault(row["subscription_id"], []).append(row)
    removed: dict[int, int] = {}
    now = clock.now()
    if held:
        async with atomic():
            for subscription_id, rows in by_subscription.items():
                deleted = await models.LicenseAssignment.filter(id__in=[r["id"] for r in rows]).delete()
                if not deleted:
                    continue  # another call took them back first
                if not await seats.give_back(subscription_id, tenant_id, deleted, target.expected_version):
                    current = await models.Subscription.get(id=subscription_id)
                    raise state_changed(current.version)
                gone = {r["user_id"] for r in rows}
                removed.update({user_id: subscription_id for user_id in gone})
                await audit.record(
                    actor, tenant_id, "licenses.unassigned", "Subscription", subscription_id, now,
                    before={"userIds": sorted(gone)},
                )
    change = LicenseChange()
    for user_id in users:
        if user_id in removed:
            change.outcomes.append(UserOutcome(user_id, Outcome.UNASSIGNED, removed[user_id]))
        else:
            change.outcomes.append(UserOutcome(user_id, Outcome.NOT_ASSIGNED))
    change.subscription_ids = list(dict.fromkeys(removed.values())) or subscription_ids[:1]
    return change

