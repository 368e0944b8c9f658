"""The `subscriptions` filter (status, purchase channel, product) pages and counts only the
matches (API.md "Conventions", SPEC §3, §6)."""

from __future__ import annotations

from billing_center.domain import models
from tests import factories
from tests.connections import (
    SUBSCRIPTIONS,
    assert_walk,
    node_ids,
    only_error,
    walk_backward,
    walk_forward,
)
from tests.factories import gid, gql


# --- subscriptions filter ------------------------------------------------------------------


async def test_subscriptions_filter_by_status_channel_and_product(client, clock):
    # given
    org = await factories.sign_up(clock)
    status, channel = models.SubscriptionStatus, models.PurchaseChannel
    e3_admin = await factories.add_subscription(org, clock, "O365_E3")
    e1_self = await factories.add_subscription(org, clock, "O365_E1", purchase_channel=channel.SELF_SERVICE)
    e3_expired = await factories.add_subscription(org, clock, "O365_E3", status=status.EXPIRED)
    bi_trial_disabled = await factories.add_subscription(
        org, clock, "POWER_BI_PRO", status=status.DISABLED, purchase_channel=channel.TRIAL
    )
    e3_self = await factories.add_subscription(org, clock, "O365_E3", purchase_channel=channel.SELF_SERVICE)
    e3 = gid("Product", (await models.Product.get(sku="O365_E3")).id)
    cases = [
        ({"status": ["ACTIVE"]}, [e3_admin, e1_self, e3_self]),
        ({"status": ["EXPIRED", "DISABLED"]}, [e3_expired, bi_trial_disabled]),
        ({"status": ["DELETED"]}, []),
        ({"purchaseChannel": ["SELF_SERVICE"]}, [e1_self, e3_self]),
        ({"purchaseChannel": ["ADMIN", "TRIAL"]}, [e3_admin, e3_expired, bi_trial_disabled]),
        ({"productId": e3}, [e3_admin, e3_expired, e3_self]),
        ({"status": ["ACTIVE"], "purchaseChannel": ["SELF_SERVICE"], "productId": e3}, [e3_self]),
        ({}, [e3_admin, e1_self, e3_expired, bi_trial_disabled, e3_self]),
    ]
    for filter_, subscriptions in cases:
        # when
        body = await gql(client, SUBSCRIPTIONS, {"filter": filter_}, token=org.token)
        # then
        assert "errors" not in body, (filter_, body)
        page = body["data"]["subscriptions"]
        assert node_ids(page) == [gid("Subscription", s.id) for s in subscriptions], filter_
        assert page["totalCount"] == len(subscriptions), filter_


async def test_filtered_subscriptions_page_and_count_only_the_matches(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = []
    for index in range(7):
        channel = models.PurchaseChannel.SELF_SERVICE if index % 2 else models.PurchaseChannel.ADMIN
        subscription = await factories.add_subscription(org, clock, purchase_channel=channel)
        if channel is models.PurchaseChannel.ADMIN:
            expected.append(gid("Subscription", subscription.id))
    # when
    forward = await walk_forward(
        client, SUBSCRIPTIONS, "subscriptions", org.token, 3, filter={"purchaseChannel": ["ADMIN"]}
    )
    backward = await walk_backward(
        client, SUBSCRIPTIONS, "subscriptions", org.token, 3, filter={"purchaseChannel": ["ADMIN"]}
    )
    # then
    assert len(expected) == 4
    assert_walk(forward, expected, 3)
    assert_walk(backward, expected, 3, backward=True)


async def test_subscriptions_filter_with_a_malformed_product_id_is_not_found(client, clock):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"filter": {"productId": "nonsense"}}, token=org.token)
    # then
    assert only_error(body)["extensions"]["code"] == "NOT_FOUND"
