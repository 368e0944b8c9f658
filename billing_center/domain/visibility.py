"""Who may read what (SPEC §1, §6): one tenant-scoped filter per entity.

Every read of the API goes through these rules, so a list, a nested field and `node(id:)`
agree, and an object of another tenant is indistinguishable from one that does not exist.
Tenants and users are read by raw statements (`resolvers.loaders`) that apply the same rules
as plain tenant ids: `own_tenant_id` and the tenant-wide `users`; the subscriptions page by
one that applies `subscriptions_sql`, the SQL rendering of `subscriptions` (a test keeps the
two in step).
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from billing_center.domain.actor import Actor

NOTHING = Q(id__in=[])


def _tenant(actor: Actor) -> Q:
    if actor.tenant_id is None:
        return NOTHING
    return Q(tenant_id=actor.tenant_id)


def own_tenant_id(actor: Actor) -> int | None:
    """A user sees their own tenant and no other; the operator sees none (None)."""
    return actor.tenant_id


def users(actor: Actor) -> Q:
    """Everyone in a tenant sees its directory (licences are assigned to people in it).
    A removed user (§1 rev. 2) stays readable by id, so the audit entries and purchases that
    name them still do, but no list shows them (`Tenant.users` filters `removed_at`).

    `resolvers.loaders` reads users by id with a raw statement filtered on the caller's
    tenant only: narrowing this rule means changing `user_by_id` there too."""
    return _tenant(actor)


def api_tokens(actor: Actor) -> Q:
    """Your own API tokens; a global admin sees every token of the tenant (§1 rev. 2).
    Others asking about another user's tokens get none (an empty list, a null node). Only
    tokens that work are shown: callers add `domain.tokens.live(now)`."""
    if actor.is_global_admin:
        return _tenant(actor)
    return _tenant(actor) & Q(user_id=actor.user_id)


def domains(actor: Actor) -> Q:
    """Everyone in a tenant sees its domains."""
    return _tenant(actor)


def billing_accounts(actor: Actor) -> Q:
    """Global and billing admins see the organization's accounts; everybody sees the accounts
    they own. Self-service accounts stay private to their buyer (§6)."""
    if actor.manages_billing:
        return _tenant(actor) & (Q(self_service=False) | Q(owner_id=actor.user_id))
    return _tenant(actor) & Q(owner_id=actor.user_id)


def billing_records(actor: Actor) -> Q:
    """Profiles, payment methods and invoices: readable with their billing account."""
    if actor.manages_billing:
        return _tenant(actor) & (
            Q(billing_account__self_service=False) | Q(billing_account__owner_id=actor.user_id)
        )
    return _tenant(actor) & Q(billing_account__owner_id=actor.user_id)


def invoice_lines(actor: Actor) -> Q:
    """Invoice lines (also outstanding ones): readable with their billing profile's account."""
    if actor.manages_billing:
        return _tenant(actor) & (
            Q(billing_profile__billing_account__self_service=False)
            | Q(billing_profile__billing_account__owner_id=actor.user_id)
        )
    return _tenant(actor) & Q(billing_profile__billing_account__owner_id=actor.user_id)


def subscriptions(actor: Actor) -> Q:
    """Admins see every subscription, self-service ones read-only (§6); a plain user sees
    what they bought."""
    if actor.is_admin:
        return _tenant(actor)
    return _tenant(actor) & Q(billing_account__owner_id=actor.user_id)


def subscriptions_sql(actor: Actor, alias: str) -> tuple[str, list[Any]]:
    """`subscriptions` as an SQL condition on the subscription table under `alias`, with `?`
    placeholders and their values: the subscriptions page is a fixed statement (measured: the
    query builder cost more CPU than the page's SQL). The same rule; a test compares the rows
    both forms select for every kind of caller."""
    if actor.tenant_id is None:
        return "1 = 0", []
    if actor.is_admin:
        return f'{alias}."tenant_id" = ?', [actor.tenant_id]
    return (f'{alias}."tenant_id" = ? AND {alias}."billing_account_id" IN '
            '(SELECT "id" FROM "billing_account" WHERE "owner_id" = ?)', [actor.tenant_id, actor.user_id])


def license_assignments(actor: Actor) -> Q:
    """Assignments of visible subscriptions, and a user's own licences."""
    if actor.is_admin:
        return _tenant(actor)
    return _tenant(actor) & (
        Q(subscription__billing_account__owner_id=actor.user_id) | Q(user_id=actor.user_id)
    )


def audit_events(actor: Actor) -> Q:
    """The audit log is for the tenant's admins (§8); what an entry's values may show is
    `audit.withhold_unreadable` (rev. 2: only what the reader may read elsewhere)."""
    return _tenant(actor) if actor.is_admin else NOTHING


def events(actor: Actor) -> Q:
    """Business events (§9) have the audit log's readers, the tenant's admins; their values,
    like an audit entry's, go through `audit.withhold_unreadable`."""
    return audit_events(actor)


def webhook_endpoints(actor: Actor) -> Q:
    """Webhook endpoints and their delivery attempts (§9) are for the tenant's global admins,
    who register them; everybody else sees none."""
    return _tenant(actor) if actor.is_global_admin else NOTHING
