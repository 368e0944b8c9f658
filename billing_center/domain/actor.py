"""Who is calling: a user of one tenant with roles, or the platform operator (SPEC §1)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.models import Role

ADMIN_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.BILLING_ADMIN, Role.LICENSE_ADMIN})
BILLING_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.BILLING_ADMIN})
LICENSE_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.LICENSE_ADMIN})


def normalise_roles(roles: list[Role] | list[str] | None) -> list[Role]:
    """Admin roles in a stable order; a user with none of them is a plain `USER`."""
    given = {Role(r) for r in roles or ()}
    admin = [r for r in Role if r in given and r in ADMIN_ROLES]
    return admin or [Role.USER]


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of one request. `tenant_id`/`user_id` are None only for the operator."""

    tenant_id: int | None
    user_id: int | None
    roles: frozenset[Role]
    is_operator: bool = False

    @classmethod
    def user(cls, tenant_id: int, user_id: int, roles: list[str] | list[Role]) -> "Actor":
        """A tenant user with `roles` (normalised)."""
        return cls(tenant_id, user_id, frozenset(normalise_roles(roles)))

    @classmethod
    def operator(cls) -> "Actor":
        """The platform operator (BILLING_OPERATOR_TOKEN): platform operations only."""
        return cls(None, None, frozenset(), is_operator=True)

    @property
    def is_global_admin(self) -> bool:
        return Role.GLOBAL_ADMIN in self.roles

    @property
    def is_admin(self) -> bool:
        """Any admin role: sees the organization's subscriptions and the audit log."""
        return not self.roles.isdisjoint(ADMIN_ROLES)

    @property
    def manages_billing(self) -> bool:
        """Global or billing admin: buys, cancels and pays for the organization (§1)."""
        return not self.roles.isdisjoint(BILLING_ROLES)

    @property
    def manages_licenses(self) -> bool:
        """Global or licence admin: assigns the organization's licences (§1)."""
        return not self.roles.isdisjoint(LICENSE_ROLES)

    def require_tenant(self) -> int:
        """The caller's tenant id; the operator has none and is refused."""
        if self.tenant_id is None:
            raise DomainError(ErrorCode.FORBIDDEN, "This operation needs a tenant user's token.")
        return self.tenant_id

    def require(self, allowed: bool, what: str) -> None:
        """Refuse with FORBIDDEN unless `allowed`; `what` names the missing permission."""
        if not allowed:
            raise DomainError(ErrorCode.FORBIDDEN, f"You are not allowed to {what}.")
