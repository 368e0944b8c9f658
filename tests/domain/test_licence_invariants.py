"""Licence counts hold over any sequence of operations (SPEC §3, §4, §5; RELIABILITY I1, I2):
after every step, 0 <= assigned <= quantity and `assigned_count` equals the assignment rows."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from billing_center.domain import cancellation, integrity, licenses, models, reactivation, subscriptions
from billing_center.domain.errors import DomainError
from billing_center.domain.payment_gateway import SandboxGateway
from tests import factories

_ORGS = itertools.count()
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("assign"), st.integers(0, 2), st.sets(st.integers(0, 7), min_size=1, max_size=5)),
        st.tuples(st.just("unassign"), st.integers(0, 2), st.sets(st.integers(0, 7), min_size=1, max_size=5)),
        st.tuples(st.just("assign_product"), st.just(0), st.sets(st.integers(0, 7), min_size=1, max_size=5)),
        st.tuples(st.just("quantity"), st.integers(0, 2), st.integers(0, 9)),
        st.tuples(st.just("cancel"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("reactivate"), st.integers(0, 2), st.just(0)),
    ),
    min_size=1, max_size=25,
)


async def check_licence_counts(tenant_id: int, today) -> None:
    """0 <= assigned <= quantity, and the assigned count is the number of assignment rows
    (with every other invariant of `domain.integrity`, on the test clock's day)."""
    assert await integrity.violations(tenant_id, today) == []


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
async def test_licence_counts_hold_over_any_sequence(database, clock, operations):
    org = await factories.sign_up(clock, name=f"Inv{next(_ORGS)}", account_type=models.BillingAccountType.MOSA)
    card = await factories.add_card(org, clock)
    people = [(await factories.add_user(org, clock, f"P{i}"))[0].id for i in range(8)]
    subs = [(await factories.add_subscription(org, clock, quantity=3)).id for _ in range(3)]
    product_id = (await models.Subscription.get(id=subs[0])).product_id
    actor = org.actor
    for operation, index, argument in operations:
        try:
            if operation == "assign":
                await licenses.assign_licenses(actor, [people[i] for i in argument],
                                               licenses.Target(subscription_id=subs[index]), clock)
            elif operation == "unassign":
                await licenses.unassign_licenses(actor, [people[i] for i in argument],
                                                 licenses.Target(subscription_id=subs[index]), clock)
            elif operation == "assign_product":
                await licenses.assign_licenses(actor, [people[i] for i in argument],
                                               licenses.Target(product_id=product_id), clock)
            elif operation == "quantity":
                await subscriptions.update_license_quantity(actor, subs[index], argument, clock)
            elif operation == "cancel":
                await cancellation.cancel_subscription(actor, subs[index], models.CancellationReason.OTHER, None, clock)
            else:
                await reactivation.reactivate_subscription(actor, subs[index], clock, SandboxGateway(),
                                                           payment_method_id=card.id)
        except DomainError:
            pass  # a refusal is fine; it must leave the invariants intact
        await check_licence_counts(org.tenant.id, clock.now().date())
