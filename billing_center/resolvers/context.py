"""The per-request context: who calls, their loaders, the clock and the request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import strawberry

from billing_center.domain.actor import Actor
from billing_center.domain.clock import Clock, FixedClock
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.payment_gateway import PaymentGateway, SandboxGateway
from billing_center.domain.throttle import PointsBucket
from billing_center.resolvers import relations
from billing_center.resolvers.loaders import Loaders

ANONYMOUS = Actor(tenant_id=None, user_id=None, roles=frozenset())


@dataclass
class Context:
    """Built once per request by the GraphQL view. `clock` is the caller's tenant clock:
    the sandbox clock of a sandbox tenant, the system clock otherwise."""

    clock: Clock
    request_id: str
    gateway: PaymentGateway = field(default_factory=SandboxGateway)
    actor: Actor | None = None
    tenant_clock_now: datetime | None = None
    # The caller's tenant row, read with the token (`domain.auth.Session.tenant`).
    tenant_row: dict | None = None
    # The production profile (`resolvers.profile`): no introspection, no field suggestions.
    production: bool = False
    # The application's rate-limit buckets (`domain.throttle.PointsBucket`), and who pays:
    # the user of the token, or the client address of an anonymous request.
    points: PointsBucket | None = None
    client_address: str = ""
    # Whether signUp may create sandbox tenants here (`Settings.allow_sandbox_tenants`).
    allow_sandbox_tenants: bool = True
    # The HTTP request's `scope["state"]`: the operation's name is left there for the access
    # line (`access_log.OperationName`).
    request_state: dict | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self._system_clock = self.clock
        self.loaders = Loaders(self.actor or ANONYMOUS, self.tenant_row, self._system_clock.now())
        self._use_tenant_clock()

    def _use_tenant_clock(self) -> None:
        # A sandbox tenant lives at its own test clock (SPEC §7): every service called for it
        # reads that moment, so `clock` is the caller's tenant clock from here on.
        self.clock = FixedClock(self.tenant_clock_now) if self.tenant_clock_now is not None else self._system_clock

    def require_actor(self) -> Actor:
        """The authenticated caller; UNAUTHENTICATED when the request carries no token."""
        if self.actor is None:
            raise DomainError(
                ErrorCode.UNAUTHENTICATED,
                "Authentication required: send `Authorization: Bearer <token>`.",
            )
        return self.actor

    def require_user(self) -> Actor:
        """The authenticated tenant user (the operator has no tenant to read)."""
        actor = self.require_actor()
        actor.require_tenant()
        return actor

    @property
    def tenant_id(self) -> int:
        """The caller's tenant id."""
        return self.require_user().tenant_id  # type: ignore[return-value]

    def become(self, actor: Actor, tenant_clock_now: datetime | None = None) -> None:
        """Act as `actor` from now on (after signUp, the payload is read as the new admin)."""
        self.actor = actor
        self.tenant_clock_now = tenant_clock_now
        self.loaders = Loaders(actor, wall_now=self._system_clock.now())
        self._use_tenant_clock()

    @property
    def caller(self) -> str:
        """Whose rate limit this request is charged to."""
        if self.actor is None:
            return f"anonymous:{self.client_address}"
        if self.actor.tenant_id is None:
            return "operator"
        return f"user:{self.actor.tenant_id}:{self.actor.user_id}"

    @property
    def wall_clock(self) -> Clock:
        """The application's own clock: API tokens live on it, never on a sandbox clock."""
        return self._system_clock

    def wall_now(self) -> datetime:
        """The application's own clock (not a sandbox tenant's): rate limits run on it."""
        return self._system_clock.now()

    def now(self) -> datetime:
        """Now for the caller's tenant (its sandbox clock when it has one)."""
        return self.clock.now()

    def today(self) -> date:
        """Today's date for the caller's tenant."""
        return self.now().date()

    def related(self, obj: Any, info: Any, **args: Any) -> Any:
        """The value of the relation field being resolved (`info.field_name`, declared in
        `resolvers.relations.declared`); `args`: its arguments under their GraphQL names."""
        return relations.resolve(self, obj, info.field_name, info, args)


Info = strawberry.Info[Context, None]
