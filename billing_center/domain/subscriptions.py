"""Services on one subscription (SPEC §3, §5). Each checks the rule behind
`availableActions` (domain.actions) before it writes."""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from billing_center.domain import actions, audit, models, visibility
from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock
from billing_center.domain.errors import DomainError, ErrorCode, not_found


async def visible_facts(actor: Actor, subscription_id: int) -> tuple[actions.SubscriptionFacts, int]:
    """The facts and version of a subscription the caller may see; NOT_FOUND otherwise."""
    tenant_id = actor.require_tenant()
    rows = await models.Subscription.filter(visibility.subscriptions(actor), id=subscription_id).values("version")
    if not rows:
        raise not_found("Subscription", ("input", "subscriptionId"))
    facts = await actions.load_facts(tenant_id, [subscription_id])
    return facts[subscription_id], rows[0]["version"]


def state_changed(version: int) -> DomainError:
    """The refusal of a change made against a stale version (§8)."""
    return DomainError(
        ErrorCode.STATE_CHANGED,
        f"The subscription changed since you read it (now version {version}); reload and retry.",
        ("input", "expectedVersion"),
    )


async def set_auto_renew(
    actor: Actor, subscription_id: int, auto_renew: bool, clock: Clock, expected_version: int | None = None
) -> None:
    """§3, §5: turn auto-renew on or off while the subscription is active (turning it off is
    the way out of an MCA term after the cancellation window). Raises NOT_FOUND, FORBIDDEN,
    READ_ONLY_SELF_SERVICE, INVALID_STATUS, STATE_CHANGED."""
    facts, version = await visible_facts(actor, subscription_id)
    if expected_version is not None and expected_version != version:
        raise state_changed(version)
    action = actions.Action.TURN_ON_AUTO_RENEW if auto_renew else actions.Action.TURN_OFF_AUTO_RENEW
    now = clock.now()
    actions.require(actor, facts, action, now)
    async with in_transaction():
        # Conditional on what the check saw: a concurrent change makes this a no-op.
        updated = await models.Subscription.filter(
            id=subscription_id, tenant_id=actor.tenant_id, version=version,
            status=models.SubscriptionStatus.ACTIVE,
        ).update(auto_renew=auto_renew, version=F("version") + 1)
        if not updated:
            current = await models.Subscription.get(id=subscription_id)
            raise state_changed(current.version)
        await audit.record(
            actor, actor.tenant_id, "subscription.auto_renew_set", "Subscription", subscription_id, now,  # type: ignore[arg-type]
            before={"autoRenew": facts.auto_renew}, after={"autoRenew": auto_renew},
        )
