"""setUserRoles and removeUser (SPEC §1 rev. 2, audit finding 8): a global admin changes
roles and removes users; the organization always keeps a global admin; a removed user's
tokens stop at once, their licences are freed, their self-service subscriptions run out,
and the audit log still names them."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

SET_ROLES = """
mutation Set($input: SetUserRolesInput!) {
  setUserRoles(input: $input) { user { id roles } userErrors { code field message } }
}
"""
REMOVE = """
mutation Remove($input: RemoveUserInput!) {
  removeUser(input: $input) { removedUserId userErrors { code field message } }
}
"""
ASSIGN = """
mutation Assign($input: AssignLicensesInput!) { assignLicenses(input: $input) { userErrors { code field } } }
"""
CREATE_USER = """
mutation C($input: CreateUserInput!) { createUser(input: $input) { user { id } token userErrors { code } } }
"""
USERS = "{ tenant { users(first: 100) { totalCount edges { node { id } } } } }"
AUDIT = "{ auditLog(first: 100) { edges { node { action objectType objectId actor { id displayName removedAt } } } } }"


async def _status(client, token: str) -> int:
    response = await client.post("/graphql", json={"query": "{ viewer { id } }"},
                                 headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def _codes(body: dict, mutation: str) -> list[str]:
    return [e["code"] for e in body["data"][mutation]["userErrors"]]


async def test_set_user_roles_takes_effect_from_the_users_next_request(client, clock):
    # given
    org = await factories.sign_up(clock)
    pat, pat_token = await factories.add_user(org, clock, "Pat")
    subscription = await factories.add_subscription(org, clock)
    assign = {"input": {"subscriptionId": gid("Subscription", subscription.id), "userIds": [gid("User", pat.id)]}}
    # a plain user does not even see the organization's subscriptions
    assert _codes(await gql(client, ASSIGN, assign, token=pat_token), "assignLicenses") == ["NOT_FOUND"]
    # when
    body = await gql(client, SET_ROLES, {"input": {"userId": gid("User", pat.id), "roles": ["LICENSE_ADMIN"]}},
                     token=org.token)
    # then
    assert body["data"]["setUserRoles"] == {"user": {"id": gid("User", pat.id), "roles": ["LICENSE_ADMIN"]},
                                            "userErrors": []}
    assert _codes(await gql(client, ASSIGN, assign, token=pat_token), "assignLicenses") == []
    event = await models.AuditEvent.filter(tenant_id=org.tenant.id, action="user.roles_changed").get()
    assert (event.actor_user_id, event.object_id, event.before, event.after) == (
        org.admin.id, pat.id, {"roles": []}, {"roles": ["LICENSE_ADMIN"]})


@pytest.mark.parametrize("roles", [[], ["USER"], ["BILLING_ADMIN"]])
async def test_the_last_global_admin_cannot_be_demoted(client, clock, roles):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, SET_ROLES, {"input": {"userId": gid("User", org.admin.id), "roles": roles}},
                     token=org.token)
    # then
    assert _codes(body, "setUserRoles") == ["LAST_GLOBAL_ADMIN"]
    assert (await models.User.get(id=org.admin.id)).roles == ["GLOBAL_ADMIN"]


async def test_a_global_admin_may_step_down_when_another_remains(client, clock):
    org = await factories.sign_up(clock)
    await factories.add_user(org, clock, "Gia", [models.Role.GLOBAL_ADMIN])
    body = await gql(client, SET_ROLES, {"input": {"userId": gid("User", org.admin.id), "roles": ["BILLING_ADMIN"]}},
                     token=org.token)
    assert body["data"]["setUserRoles"]["user"]["roles"] == ["BILLING_ADMIN"]
    # the same token now acts as a billing admin
    again = await gql(client, SET_ROLES, {"input": {"userId": gid("User", org.admin.id), "roles": ["GLOBAL_ADMIN"]}},
                      token=org.token)
    assert _codes(again, "setUserRoles") == ["FORBIDDEN"]


async def test_removing_a_user_stops_their_tokens_frees_their_seats_and_keeps_them_in_the_audit_log(client, clock):
    """Finding 8 / SPEC §1 rev. 2: removeUser."""
    # given: Kim holds two seats, has two tokens, pays for a self-service subscription, and
    # made a change the audit log records
    org = await factories.sign_up(clock)
    kim, kim_token = await factories.add_user(org, clock, "Kim", [models.Role.LICENSE_ADMIN])
    pat, _ = await factories.add_user(org, clock, "Pat")
    e3 = await factories.add_subscription(org, clock, quantity=5, holders=[kim])
    e1 = await factories.add_subscription(org, clock, sku="O365_E1", quantity=3)
    own = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Kim's", type=models.BillingAccountType.MCA, owner_id=kim.id,
        charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=clock.now())
    kim_profile = await models.BillingProfile.create(tenant_id=org.tenant.id, billing_account_id=own.id, name="Kim",
                                                     created_at=clock.now())
    bought = await factories.add_subscription(org, clock, sku="POWER_BI_PRO", quantity=2, account=own,
                                              profile=kim_profile, purchase_channel=models.PurchaseChannel.SELF_SERVICE,
                                              purchased_by_id=kim.id)
    assigned = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", e1.id),
                                                    "userIds": [gid("User", kim.id), gid("User", pat.id)]}},
                         token=kim_token)
    assert _codes(assigned, "assignLicenses") == []
    second = (await gql(client, 'mutation { createApiToken(input: {name: "two"}) { token } }',
                        token=kim_token))["data"]["createApiToken"]["token"]
    # when
    body = await gql(client, REMOVE, {"input": {"userId": gid("User", kim.id)}}, token=org.token)
    # then
    assert body["data"]["removeUser"] == {"removedUserId": gid("User", kim.id), "userErrors": []}
    assert await _status(client, kim_token) == 401
    assert await _status(client, second) == 401
    assert await models.LicenseAssignment.filter(user_id=kim.id).count() == 0
    for subscription, held in ((e3, 0), (e1, 1)):
        stored = await models.Subscription.get(id=subscription.id)
        assert stored.assigned_count == held == await models.LicenseAssignment.filter(
            subscription_id=subscription.id).count()
    run_out = await models.Subscription.get(id=bought.id)
    assert (run_out.status, run_out.auto_renew) == (models.SubscriptionStatus.ACTIVE, False)
    assert await models.AuditEvent.filter(action="subscription.auto_renew_set", object_id=bought.id,
                                          actor_user_id=org.admin.id).exists()
    removed = await models.User.get(id=kim.id)
    assert removed.removed_at == clock.now()
    # the directory no longer lists Kim; the audit log still names Kim
    users = (await gql(client, USERS, token=org.token))["data"]["tenant"]["users"]
    assert gid("User", kim.id) not in [e["node"]["id"] for e in users["edges"]]
    assert users["totalCount"] == 2
    audit = [e["node"] for e in (await gql(client, AUDIT, token=org.token))["data"]["auditLog"]["edges"]]
    assert audit[0]["action"] == "user.removed" and audit[0]["actor"]["id"] == gid("User", org.admin.id)
    by_kim = [e for e in audit if e["action"] == "licenses.assigned"]
    assert by_kim[0]["actor"] == {"id": gid("User", kim.id), "displayName": "Kim", "removedAt": "2026-11-21T10:00:00+00:00"}


async def test_a_removed_user_cannot_be_assigned_licences_and_their_email_may_be_reused(client, clock):
    # given
    org = await factories.sign_up(clock)
    kim, _ = await factories.add_user(org, clock, "Kim")
    subscription = await factories.add_subscription(org, clock)
    await gql(client, REMOVE, {"input": {"userId": gid("User", kim.id)}}, token=org.token)
    # when
    assign = await gql(client, ASSIGN, {"input": {"subscriptionId": gid("Subscription", subscription.id),
                                                  "userIds": [gid("User", kim.id)]}}, token=org.token)
    created = await gql(client, CREATE_USER, {"input": {"displayName": "Kim again", "email": kim.email}},
                        token=org.token)
    duplicate = await gql(client, CREATE_USER, {"input": {"displayName": "Kim thrice", "email": kim.email}},
                          token=org.token)
    # then
    assert _codes(assign, "assignLicenses") == ["USER_NOT_IN_TENANT"]
    assert created["data"]["createUser"]["userErrors"] == []
    assert await _status(client, created["data"]["createUser"]["token"]) == 200
    assert _codes(duplicate, "createUser") == ["ALREADY_EXISTS"]
    assert await models.User.filter(tenant_id=org.tenant.id, email=kim.email).count() == 2


async def test_removal_refusals(client, clock):
    """The last global admin cannot remove themself; the organization's billing account
    owner cannot be removed (no handover yet); a removed or unknown user is not found;
    only global admins remove users. Nothing changes on a refusal."""
    # given
    org = await factories.sign_up(clock)
    gia, gia_token = await factories.add_user(org, clock, "Gia", [models.Role.GLOBAL_ADMIN])
    _, billing_token = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    pat, _ = await factories.add_user(org, clock, "Pat")
    # when / then
    owner = await gql(client, REMOVE, {"input": {"userId": gid("User", org.admin.id)}}, token=gia_token)
    assert _codes(owner, "removeUser") == ["BILLING_ACCOUNT_OWNER"]
    forbidden = await gql(client, REMOVE, {"input": {"userId": gid("User", pat.id)}}, token=billing_token)
    assert _codes(forbidden, "removeUser") == ["FORBIDDEN"]
    await models.BillingAccount.filter(id=org.account.id).update(owner_id=gia.id)  # (a handover, by hand)
    itself = await gql(client, REMOVE, {"input": {"userId": gid("User", org.admin.id)}}, token=org.token)
    assert itself["data"]["removeUser"]["userErrors"] == []
    assert await _status(client, org.token) == 401
    last = await gql(client, REMOVE, {"input": {"userId": gid("User", gia.id)}}, token=gia_token)
    assert _codes(last, "removeUser") == ["LAST_GLOBAL_ADMIN"]
    twice = await gql(client, REMOVE, {"input": {"userId": gid("User", org.admin.id)}}, token=gia_token)
    assert _codes(twice, "removeUser") == ["NOT_FOUND"]
    roles_of_removed = await gql(client, SET_ROLES, {"input": {"userId": gid("User", org.admin.id), "roles": []}},
                                 token=gia_token)
    assert _codes(roles_of_removed, "setUserRoles") == ["NOT_FOUND"]
    assert await models.User.filter(tenant_id=org.tenant.id, removed_at__isnull=True).count() == 3
    assert await _status(client, gia_token) == 200
