"""Idempotency keys are per user (API.md; RELIABILITY.md D4: the lookup key is tenant,
actor, mutation and key). Low finding: keys were shared tenant-wide, so two users of one
tenant choosing the same key collided: one got the other's replay (and saw their purchase)
or IDEMPOTENCY_KEY_REUSED."""

from __future__ import annotations

from datetime import timedelta

from billing_center.domain import models
from tests import factories
from tests.api.test_purchase_subscription import CARD, _buy
from tests.api.test_update_license_quantity import UPDATE
from tests.factories import gid, gql


async def test_low_finding_two_users_buying_with_the_same_key_both_buy(client, clock):
    # given: two plain users of one tenant, each buying self-service with the key "order-1"
    org = await factories.sign_up(clock)
    ann, ann_token = await factories.add_user(org, clock, "Ann")
    bob, bob_token = await factories.add_user(org, clock, "Bob")
    # when
    first = await _buy(client, ann_token, "POWER_BI_PRO", newPaymentMethod=CARD, idempotencyKey="order-1")
    second = await _buy(client, bob_token, "POWER_BI_PRO", newPaymentMethod=CARD, idempotencyKey="order-1")
    repeat = await _buy(client, bob_token, "POWER_BI_PRO", newPaymentMethod=CARD, idempotencyKey="order-1")
    # then: each bought their own; a user's own repeat still replays
    assert first["userErrors"] == second["userErrors"] == []
    assert first["replayed"] is second["replayed"] is False
    assert first["subscription"]["id"] != second["subscription"]["id"]
    assert second["subscription"]["billingAccount"]["owner"]["displayName"] == "Bob"
    assert repeat["replayed"] is True and repeat["subscription"]["id"] == second["subscription"]["id"]
    for user in (ann, bob):
        assert await models.Subscription.filter(tenant_id=org.tenant.id, purchased_by_id=user.id).count() == 1


async def test_low_finding_two_admins_changing_counts_with_the_same_key_both_act(client, clock):
    # given: a global and a billing admin, each changing a subscription with the key "k"
    org = await factories.sign_up(clock)
    _, billing_token = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    start = clock.now() - timedelta(days=10)
    mine, theirs = [await factories.add_subscription(org, clock, quantity=100, term_start=start,
                                                     term_end=start + timedelta(days=30)) for _ in range(2)]
    # when
    first = await gql(client, UPDATE, {"input": {"subscriptionId": gid("Subscription", mine.id), "totalLicenses": 105,
                                                 "idempotencyKey": "k"}}, token=org.token)
    second = await gql(client, UPDATE, {"input": {"subscriptionId": gid("Subscription", theirs.id),
                                                  "totalLicenses": 110, "idempotencyKey": "k"}}, token=billing_token)
    # then
    assert first["data"]["updateLicenseQuantity"]["userErrors"] == []
    assert second["data"]["updateLicenseQuantity"]["userErrors"] == []
    assert second["data"]["updateLicenseQuantity"]["replayed"] is False
    assert [(await models.Subscription.get(id=s.id)).quantity for s in (mine, theirs)] == [105, 110]
