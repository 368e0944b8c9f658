"""Inputs and payloads of the mutations of custom domains: addDomain, removeDomain."""

from __future__ import annotations

import strawberry

from billing_center.schema.errors import UserError
from billing_center.schema.types import Domain


@strawberry.input(description="A custom domain for the tenant, optionally attached to a subscription.")
class AddDomainInput:
    name: str = strawberry.field(description="The domain name, e.g. contoso.com.")
    subscription_id: strawberry.ID | None = strawberry.field(default=None, description="The subscription it serves; it blocks cancelling that subscription until removed.")


@strawberry.type(description="Result of `addDomain`.")
class AddDomainPayload:
    domain: Domain | None = strawberry.field(default=None, description="The new domain.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")


@strawberry.input(description="Which custom domain to remove.")
class RemoveDomainInput:
    domain_id: strawberry.ID = strawberry.field(description="The domain (not the default one).")


@strawberry.type(description="Result of `removeDomain`.")
class RemoveDomainPayload:
    removed_domain_id: strawberry.ID | None = strawberry.field(default=None, description="The ID of the removed domain.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing changed, if so.")
