"""assignLicenses / unassignLicenses (SPEC §4; §1 who may; §6 self-service read-only; §8)."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

ASSIGN = """
mutation Assign($input: AssignLicensesInput!) {
  assignLicenses(input: $input) {
    results { userId outcome assignment { user { displayName } state } }
    assignments { id }
    subscription { id assignedCount availableCount version }
    userErrors { code field message }
  }
}
"""

UNASSIGN = """
mutation Unassign($input: UnassignLicensesInput!) {
  unassignLicenses(input: $input) {
    results { userId outcome }
    subscription { id assignedCount availableCount }
    userErrors { code field message }
  }
}
"""


async def _people(org, clock, count: int, prefix: str = "Person") -> list[models.User]:
    return [(await factories.add_user(org, clock, f"{prefix} {i}"))[0] for i in range(count)]


async def _seats(subscription_id: int) -> tuple[int, int]:
    row = await models.Subscription.get(id=subscription_id)
    rows = await models.LicenseAssignment.filter(subscription_id=subscription_id).count()
    return row.assigned_count, rows


async def test_assign_gives_each_user_a_seat_and_reports_per_user(client, clock):
    # given
    org = await factories.sign_up(clock)
    people = await _people(org, clock, 3)
    subscription = await factories.add_subscription(org, clock, quantity=5)
    # when
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id),
        "userIds": [gid("User", p.id) for p in people],
    }}, token=org.token)
    # then
    payload = body["data"]["assignLicenses"]
    assert payload["userErrors"] == []
    assert [r["outcome"] for r in payload["results"]] == ["ASSIGNED"] * 3
    assert [r["assignment"]["user"]["displayName"] for r in payload["results"]] == ["Person 0", "Person 1", "Person 2"]
    assert payload["subscription"]["assignedCount"] == 3
    assert payload["subscription"]["availableCount"] == 2
    assert payload["subscription"]["version"] == subscription.version + 1
    assert await _seats(subscription.id) == (3, 3)


async def test_a_user_who_already_holds_the_product_is_a_no_op_per_user(client, clock):
    org = await factories.sign_up(clock)
    [alice, bob] = await _people(org, clock, 2)
    first = await factories.add_subscription(org, clock, quantity=5, holders=[alice])
    second = await factories.add_subscription(org, clock, quantity=5)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", second.id), "userIds": [gid("User", alice.id), gid("User", bob.id)],
    }}, token=org.token)
    payload = body["data"]["assignLicenses"]
    assert payload["userErrors"] == []
    assert [r["outcome"] for r in payload["results"]] == ["ALREADY_ASSIGNED", "ASSIGNED"]
    assert await _seats(first.id) == (1, 1)
    assert await _seats(second.id) == (1, 1)


async def test_at_most_20_users_per_call(client, clock):
    org = await factories.sign_up(clock)
    people = await _people(org, clock, 21)
    subscription = await factories.add_subscription(org, clock, quantity=50)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", p.id) for p in people],
    }}, token=org.token)
    [error] = body["data"]["assignLicenses"]["userErrors"]
    assert error["code"] == "TOO_MANY_USERS"
    assert await _seats(subscription.id) == (0, 0)
    # 20, with a duplicate counted once, is fine
    ids = [gid("User", p.id) for p in people[:20]] + [gid("User", people[0].id)]
    body = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", subscription.id), "userIds": ids}}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"] == []
    assert await _seats(subscription.id) == (20, 20)


@pytest.mark.parametrize("who", ["other tenant's user", "nonexistent user", "malformed id"])
async def test_only_users_of_the_tenant_and_the_same_answer_for_all_others(client, clock, who):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    [mine] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=5)
    foreign = {"other tenant's user": gid("User", other.admin.id), "nonexistent user": gid("User", 999999),
               "malformed id": "garbage"}[who]
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", mine.id), foreign],
    }}, token=org.token)
    [error] = body["data"]["assignLicenses"]["userErrors"]
    assert (error["code"], error["field"]) == ("USER_NOT_IN_TENANT", ["input", "userIds", "1"])
    # A malformed id is refused before the domain counts users, hence its own sentence.
    assert error["message"] in ("1 of the 2 users is not a user of your organization.",
                                "A user is not a user of your organization.")
    assert await _seats(subscription.id) == (0, 0)  # nobody, not even the tenant's own user


async def test_never_more_assignments_than_licences_all_or_nothing(client, clock):
    org = await factories.sign_up(clock)
    people = await _people(org, clock, 3)
    subscription = await factories.add_subscription(org, clock, quantity=2)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", p.id) for p in people],
    }}, token=org.token)
    [error] = body["data"]["assignLicenses"]["userErrors"]
    assert error["code"] == "INSUFFICIENT_LICENSES"
    assert await _seats(subscription.id) == (0, 0)


async def test_assign_by_product_takes_seats_oldest_subscription_first(client, clock):
    org = await factories.sign_up(clock)
    people = await _people(org, clock, 4)
    oldest = await factories.add_subscription(org, clock, quantity=3)
    clock.set(clock.now().replace(hour=11))
    newer = await factories.add_subscription(org, clock, quantity=3)
    body = await gql(client, ASSIGN, {"input": {
        "productId": gid("Product", oldest.product_id), "userIds": [gid("User", p.id) for p in people],
    }}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"] == []
    assert await _seats(oldest.id) == (3, 3)
    assert await _seats(newer.id) == (1, 1)


@pytest.mark.parametrize("status", [models.SubscriptionStatus.DISABLED, models.SubscriptionStatus.DELETED])
async def test_only_active_and_expired_subscriptions_take_assignments(client, clock, status):
    org = await factories.sign_up(clock)
    [person] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=2, status=status)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", person.id)],
    }}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"][0]["code"] == "INVALID_STATUS"


async def test_expired_subscriptions_take_assignments(client, clock):
    org = await factories.sign_up(clock)
    [person] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=2, status=models.SubscriptionStatus.EXPIRED)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", person.id)],
    }}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"] == []


@pytest.mark.parametrize("role, allowed", [
    (models.Role.GLOBAL_ADMIN, True),
    (models.Role.LICENSE_ADMIN, True),
    (models.Role.BILLING_ADMIN, False),
    (None, False),
])
async def test_who_may_assign_the_organizations_licences(client, clock, role, allowed):
    org = await factories.sign_up(clock)
    caller, token = await factories.add_user(org, clock, "Caller", [role] if role else [])
    [person] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=2)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", person.id)],
    }}, token=token)
    errors = body["data"]["assignLicenses"]["userErrors"]
    if allowed:
        assert errors == []
    else:
        # A plain user cannot even see the organization's subscriptions.
        assert errors[0]["code"] in ("FORBIDDEN", "NOT_FOUND")
        assert await _seats(subscription.id) == (0, 0)


async def test_self_service_subscriptions_are_their_buyers_and_read_only_for_admins(client, clock):
    org = await factories.sign_up(clock)
    buyer, buyer_token = await factories.add_user(org, clock, "Buyer")
    [colleague] = await _people(org, clock, 1)
    own_account = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Buyer's account", type=models.BillingAccountType.MCA,
        owner_id=buyer.id, charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True,
        created_at=clock.now(),
    )
    own_profile = await models.BillingProfile.create(
        tenant_id=org.tenant.id, billing_account_id=own_account.id, name="Buyer", created_at=clock.now()
    )
    subscription = await factories.add_subscription(
        org, clock, sku="POWER_BI_PRO", quantity=3, account=own_account, profile=own_profile,
        purchase_channel=models.PurchaseChannel.SELF_SERVICE, purchased_by_id=buyer.id,
    )
    request = {"input": {"subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", colleague.id)]}}
    refused = await gql(client, ASSIGN, request, token=org.token)
    assert refused["data"]["assignLicenses"]["userErrors"][0]["code"] == "READ_ONLY_SELF_SERVICE"
    assert await _seats(subscription.id) == (0, 0)
    done = await gql(client, ASSIGN, request, token=buyer_token)
    assert done["data"]["assignLicenses"]["userErrors"] == []
    assert await _seats(subscription.id) == (1, 1)


async def test_expected_version_refuses_a_stale_view(client, clock):
    org = await factories.sign_up(clock)
    [person] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=2)
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", person.id)],
        "expectedVersion": subscription.version + 1,
    }}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"][0]["code"] == "STATE_CHANGED"
    assert await _seats(subscription.id) == (0, 0)


async def test_unassign_frees_seats_at_once_and_reports_per_user(client, clock):
    org = await factories.sign_up(clock)
    [alice, bob, carol] = await _people(org, clock, 3)
    subscription = await factories.add_subscription(org, clock, quantity=2, holders=[alice, bob])
    body = await gql(client, UNASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", alice.id), gid("User", carol.id)],
    }}, token=org.token)
    payload = body["data"]["unassignLicenses"]
    assert payload["userErrors"] == []
    assert [r["outcome"] for r in payload["results"]] == ["UNASSIGNED", "NOT_ASSIGNED"]
    assert payload["subscription"]["availableCount"] == 1
    assert await _seats(subscription.id) == (1, 1)
    # the freed seat is available at once
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", carol.id)],
    }}, token=org.token)
    assert body["data"]["assignLicenses"]["userErrors"] == []


async def test_every_change_is_audited(client, clock):
    org = await factories.sign_up(clock)
    [person] = await _people(org, clock, 1)
    subscription = await factories.add_subscription(org, clock, quantity=2)
    request = {"input": {"subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", person.id)]}}
    await gql(client, ASSIGN, request, token=org.token)
    await gql(client, UNASSIGN, request, token=org.token)
    events = await models.AuditEvent.filter(object_type="Subscription", object_id=subscription.id).order_by("id").values("action", "before", "after")
    assert events == [
        {"action": "licenses.assigned", "before": None, "after": {"userIds": [person.id]}},
        {"action": "licenses.unassigned", "before": {"userIds": [person.id]}, "after": None},
    ]


@pytest.mark.parametrize("mine, foreign, message", [
    (0, 1, "The user is not a user of your organization."),
    (1, 1, "1 of the 2 users is not a user of your organization."),
    (1, 2, "2 of the 3 users are not users of your organization."),
])
async def test_user_not_in_tenant_message_counts_in_good_english(client, clock, mine, foreign, message):
    """Issue #13 (newcomer's first hour): the message read "1 of the users are not users…"."""
    # given
    org = await factories.sign_up(clock)
    people = await _people(org, clock, mine)
    subscription = await factories.add_subscription(org, clock, quantity=5)
    ids = [gid("User", p.id) for p in people] + [gid("User", 999990 + n) for n in range(foreign)]
    # when
    body = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", subscription.id),
                                                "userIds": ids}}, token=org.token)
    # then
    [error] = body["data"]["assignLicenses"]["userErrors"]
    assert (error["code"], error["message"]) == ("USER_NOT_IN_TENANT", message)
    assert await _seats(subscription.id) == (0, 0)


@pytest.mark.parametrize("holders, wanted, message", [
    (1, 1, "1 licence needed, 0 available; buy more or unassign first."),
    (0, 2, "2 licences needed, 1 available; buy more or unassign first."),
])
async def test_insufficient_licences_message_counts_in_good_english(client, clock, holders, wanted, message):
    org = await factories.sign_up(clock)
    people = await _people(org, clock, holders + wanted)
    subscription = await factories.add_subscription(org, clock, quantity=1, holders=people[:holders])
    body = await gql(client, ASSIGN, {"input": {
        "subscriptionId": gid("Subscription", subscription.id),
        "userIds": [gid("User", p.id) for p in people[holders:]],
    }}, token=org.token)
    [error] = body["data"]["assignLicenses"]["userErrors"]
    assert (error["code"], error["message"]) == ("INSUFFICIENT_LICENSES", message)
