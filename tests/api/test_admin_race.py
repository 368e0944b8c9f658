"""The organization always keeps a global admin, also when changes race (SPEC §1 rev. 2):
the last two global admins demoting or removing each other at the same moment, over HTTP
against a running server on SQLite (one worker) and PostgreSQL (two worker processes), never
leave a tenant without one. Exactly one of the two changes happens."""

from __future__ import annotations

import asyncio

import httpx

from billing_center.domain import models, users
from tests import factories
from tests.api.test_license_race import live_server  # noqa: F401 (fixture)
from tests.factories import gid

SET_ROLES = """mutation S($input: SetUserRolesInput!) { setUserRoles(input: $input) { userErrors { code } } }"""
REMOVE = """mutation R($input: RemoveUserInput!) { removeUser(input: $input) { userErrors { code } } }"""
# (what the first admin does to the second, what the second does to the first)
PAIRS = [("demote", "demote"), ("demote", "remove"), ("remove", "demote"), ("remove", "remove")]
ROUNDS = 3


def _request(action: str, target: models.User) -> dict:
    if action == "demote":
        return {"query": SET_ROLES, "variables": {"input": {"userId": gid("User", target.id), "roles": ["USER"]}}}
    return {"query": REMOVE, "variables": {"input": {"userId": gid("User", target.id)}}}


def _succeeded(response: httpx.Response) -> bool:
    # A 401 or FORBIDDEN means the other change won first (this admin was removed or demoted).
    if response.status_code != 200:
        assert response.status_code == 401, response.text
        return False
    data = response.json()["data"]
    assert data is not None, response.text
    errors = next(iter(data.values()))["userErrors"]
    assert errors == [] or errors[0]["code"] in {"LAST_GLOBAL_ADMIN", "FORBIDDEN", "NOT_FOUND"}, errors
    return errors == []


async def test_the_last_two_global_admins_demoting_or_removing_each_other_leave_one(live_server, clock):  # noqa: F811
    # given: tenants whose only global admins are Gia and Gus (the signing-up admin, who owns
    # the billing account, has stepped down)
    tenants = []
    for index in range(ROUNDS * len(PAIRS)):
        org = await factories.sign_up(clock, name=f"Race{index}")
        gia, gia_token = await factories.add_user(org, clock, "Gia", [models.Role.GLOBAL_ADMIN])
        gus, gus_token = await factories.add_user(org, clock, "Gus", [models.Role.GLOBAL_ADMIN])
        await users.set_user_roles(org.actor, org.admin.id, [], clock)
        tenants.append((org, (gia, gia_token), (gus, gus_token), PAIRS[index % len(PAIRS)]))

    async def race(tenant) -> list[bool]:
        _, (gia, gia_token), (gus, gus_token), (first, second) = tenant
        responses = await asyncio.gather(
            live_server.post("/graphql", json=_request(first, gus), headers={"Authorization": f"Bearer {gia_token}"}),
            live_server.post("/graphql", json=_request(second, gia), headers={"Authorization": f"Bearer {gus_token}"}),
        )
        return [_succeeded(r) for r in responses]

    # when
    outcomes = await asyncio.gather(*(race(tenant) for tenant in tenants))
    # then
    for (org, *_), outcome in zip(tenants, outcomes):
        current = await models.User.filter(tenant_id=org.tenant.id, removed_at__isnull=True).values_list("roles", flat=True)
        admins = [roles for roles in current if "GLOBAL_ADMIN" in roles]
        assert len(admins) == 1, (org.tenant.name, outcome)
        assert outcome.count(True) == 1, (org.tenant.name, outcome)
