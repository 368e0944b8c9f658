"""API tokens (SPEC §1 rev. 2, audit finding 8): a user lists, names, expires and revokes
their own tokens; a global admin may revoke any of the tenant's; a revoked or expired token
gets HTTP 401 at once; `lastUsedAt` moves at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing_center.domain import models, tokens
from billing_center.domain.auth import hash_token
from tests import factories
from tests.conftest import count_sql
from tests.factories import gid, gql, pk

CREATE = """
mutation Create($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { token apiToken { id name createdAt lastUsedAt expiresAt }
    userErrors { code field message } }
}
"""
REVOKE = """
mutation Revoke($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) { revokedTokenId userErrors { code field message } }
}
"""
TOKENS_OF = """
query Tokens($id: ID!) { node(id: $id) { ... on User { apiTokens { id name createdAt lastUsedAt expiresAt } } } }
"""
NODE = "query N($id: ID!) { node(id: $id) { __typename ... on ApiToken { id name } } }"
VIEWER = "{ viewer { id apiTokens { id name } } }"


async def _status(client, token: str) -> int:
    response = await client.post("/graphql", json={"query": "{ viewer { id } }"},
                                  headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def _create(client, token: str, **values) -> dict:
    body = await gql(client, CREATE, {"input": {"name": "script", **values}}, token=token)
    return body["data"]["createApiToken"]


async def test_a_token_the_owner_revokes_gets_401_from_the_next_request(client, clock):
    """Finding 8: "a revoked token gets 401" was reachable only by editing the database."""
    # given
    org = await factories.sign_up(clock)
    created = await _create(client, org.token, name="ci")
    assert await _status(client, created["token"]) == 200
    # when
    body = await gql(client, REVOKE, {"input": {"tokenId": created["apiToken"]["id"]}}, token=org.token)
    # then
    assert body["data"]["revokeApiToken"] == {"revokedTokenId": created["apiToken"]["id"], "userErrors": []}
    assert await _status(client, created["token"]) == 401
    assert await _status(client, org.token) == 200
    stored = await models.ApiToken.get(id=pk(created["apiToken"]["id"]))
    assert stored.revoked_at is not None
    event = await models.AuditEvent.filter(tenant_id=org.tenant.id).order_by("-id").first()
    assert (event.action, event.object_type, event.object_id, event.actor_user_id) == (
        "api_token.revoked", "ApiToken", stored.id, org.admin.id)
    # revoking it again finds nothing to revoke
    again = await gql(client, REVOKE, {"input": {"tokenId": created["apiToken"]["id"]}}, token=org.token)
    assert [e["code"] for e in again["data"]["revokeApiToken"]["userErrors"]] == ["NOT_FOUND"]


async def test_a_user_may_revoke_their_own_current_token(client, clock):
    # given
    org = await factories.sign_up(clock)
    own = await models.ApiToken.get(token_hash=hash_token(org.token))
    # when
    body = await gql(client, REVOKE, {"input": {"tokenId": gid("ApiToken", own.id)}}, token=org.token)
    # then
    assert body["data"]["revokeApiToken"]["userErrors"] == []
    assert await _status(client, org.token) == 401


@pytest.mark.parametrize("role", [models.Role.BILLING_ADMIN, models.Role.LICENSE_ADMIN, None])
async def test_only_a_global_admin_revokes_another_users_token(client, clock, role):
    """SPEC §1 rev. 2: a global admin may revoke any token of the tenant; anyone else only
    their own, and another's reads as not found."""
    # given
    org = await factories.sign_up(clock)
    _, caller_token = await factories.add_user(org, clock, "Carl", [role] if role else [])
    kim, kim_token = await factories.add_user(org, clock, "Kim")
    kims = gid("ApiToken", (await models.ApiToken.get(token_hash=hash_token(kim_token))).id)
    # when
    refused = await gql(client, REVOKE, {"input": {"tokenId": kims}}, token=caller_token)
    allowed = await gql(client, REVOKE, {"input": {"tokenId": kims}}, token=org.token)
    # then
    assert refused["data"]["revokeApiToken"] == {"revokedTokenId": None, "userErrors": [
        {"code": "NOT_FOUND", "field": ["input", "tokenId"], "message": "ApiToken not found."}]}
    assert allowed["data"]["revokeApiToken"]["userErrors"] == []
    assert await _status(client, kim_token) == 401


async def test_an_expired_token_gets_401_by_the_wall_clock(client, clock):
    """Finding 8: an expired token is refused at once; expiry is wall-clock time."""
    # given
    org = await factories.sign_up(clock)
    created = await _create(client, org.token, expiresAt=(clock.now() + timedelta(hours=1)).isoformat())
    assert created["userErrors"] == []
    assert await _status(client, created["token"]) == 200
    # when
    clock.set(clock.now() + timedelta(hours=1))
    # then
    assert await _status(client, created["token"]) == 401
    assert await _status(client, org.token) == 200


async def test_a_sandbox_clock_moved_ahead_does_not_expire_tokens(client, clock):
    """Expiry is checked on the real clock, not a sandbox tenant's test clock: a sandbox
    moved a year ahead keeps its admin's day-long token working."""
    # given
    org = await factories.sign_up(clock, sandbox=True)
    created = await _create(client, org.token, expiresAt=(clock.now() + timedelta(days=1)).isoformat())
    # when
    moved = await gql(client, """mutation { advanceClock(input: {to: "2027-12-01T00:00:00Z"}) {
        now userErrors { code } } }""", token=created["token"])
    # then
    assert moved["data"]["advanceClock"]["userErrors"] == []
    assert await _status(client, created["token"]) == 200
    listed = await gql(client, VIEWER, token=created["token"])
    assert created["apiToken"]["id"] in [t["id"] for t in listed["data"]["viewer"]["apiTokens"]]


@pytest.mark.parametrize(("values", "field"), [
    ({"expiresAt": "2026-11-21T09:59:59Z"}, "expiresAt"),  # the past (the test clock is at 10:00)
    ({"expiresAt": "2026-11-21T10:00:00Z"}, "expiresAt"),  # now
    ({"expiresAt": "2027-11-21T10:00:01Z"}, "expiresAt"),  # more than 365 days ahead
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
])
async def test_bad_names_and_expiries_are_refused_and_mint_nothing(client, clock, values, field):
    # given
    org = await factories.sign_up(clock)
    before = await models.ApiToken.all().count()
    # when
    payload = await _create(client, org.token, **values)
    # then
    assert payload["token"] is None and payload["apiToken"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input", field])]
    assert await models.ApiToken.all().count() == before


async def test_the_longest_name_and_the_furthest_expiry_are_accepted(client, clock):
    org = await factories.sign_up(clock)
    payload = await _create(client, org.token, name="x" * 100, expiresAt="2027-11-21T10:00:00Z")
    assert payload["userErrors"] == []
    assert payload["apiToken"]["expiresAt"] == "2027-11-21T10:00:00+00:00"


async def test_live_tokens_per_user_are_bounded(client, clock):
    """At most 50 live tokens per user; a revoked or expired one frees a place."""
    # given: the sign-up token and 49 more
    org = await factories.sign_up(clock)
    await models.ApiToken.bulk_create([
        models.ApiToken(tenant_id=org.tenant.id, user_id=org.admin.id, name=f"t{i}", token_hash=f"h{i}",
                        created_at=clock.now())
        for i in range(tokens.MAX_LIVE_TOKENS - 1)
    ])
    # when
    refused = await _create(client, org.token)
    await models.ApiToken.filter(token_hash="h0").update(revoked_at=clock.now())
    await models.ApiToken.filter(token_hash="h1").update(expires_at=clock.now())
    first = await _create(client, org.token)
    second = await _create(client, org.token)
    third = await _create(client, org.token)
    # then
    assert [e["code"] for e in refused["userErrors"]] == ["TOKEN_LIMIT_REACHED"]
    assert first["userErrors"] == second["userErrors"] == []
    assert [e["code"] for e in third["userErrors"]] == ["TOKEN_LIMIT_REACHED"]


async def test_api_tokens_are_listed_for_their_owner_and_global_admins_only(client, clock):
    """User.apiTokens: your own; a global admin's view of anyone of the tenant; another
    user's tokens are an empty list for everyone else, and `node(id:)` agrees. Revoked and
    expired tokens are not listed."""
    # given
    org = await factories.sign_up(clock)
    kim, kim_token = await factories.add_user(org, clock, "Kim")
    _, billing_token = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    extra = await _create(client, kim_token, name="kim's backup", expiresAt="2026-12-01T00:00:00Z")
    gone = await _create(client, kim_token, name="gone")
    await gql(client, REVOKE, {"input": {"tokenId": gone["apiToken"]["id"]}}, token=kim_token)
    first = await models.ApiToken.get(token_hash=hash_token(kim_token))
    expected = [{"id": gid("ApiToken", first.id), "name": "First token"},
                {"id": extra["apiToken"]["id"], "name": "kim's backup"}]
    # when
    own = await gql(client, VIEWER, token=kim_token)
    by_admin = await gql(client, TOKENS_OF, {"id": gid("User", kim.id)}, token=org.token)
    by_billing_admin = await gql(client, TOKENS_OF, {"id": gid("User", kim.id)}, token=billing_token)
    node_by_admin = await gql(client, NODE, {"id": extra["apiToken"]["id"]}, token=org.token)
    node_by_billing_admin = await gql(client, NODE, {"id": extra["apiToken"]["id"]}, token=billing_token)
    node_revoked = await gql(client, NODE, {"id": gone["apiToken"]["id"]}, token=kim_token)
    # then
    assert own["data"]["viewer"]["apiTokens"] == expected
    assert [{"id": t["id"], "name": t["name"]} for t in by_admin["data"]["node"]["apiTokens"]] == expected
    assert by_billing_admin == {"data": {"node": {"apiTokens": []}}}
    assert node_by_admin == {"data": {"node": {"__typename": "ApiToken", "id": extra["apiToken"]["id"],
                                               "name": "kim's backup"}}}
    assert node_by_billing_admin == node_revoked == {"data": {"node": None}}
    # an expired token is not listed either
    clock.set(clock.now() + timedelta(days=11))
    later = await gql(client, VIEWER, token=kim_token)
    assert later["data"]["viewer"]["apiTokens"] == expected[:1]


async def test_the_api_never_exposes_a_tokens_hash_or_secret():
    """ApiToken { id name createdAt lastUsedAt expiresAt }: nothing else."""
    from billing_center.schema.root import schema

    fields = set(schema._schema.type_map["ApiToken"].fields)
    assert fields == {"id", "name", "createdAt", "lastUsedAt", "expiresAt"}


async def test_last_used_at_moves_at_most_once_a_minute(client, clock):
    """lastUsedAt is recorded by a conditional UPDATE only when older than a minute: a
    request with a token used less than a minute ago costs no write (PERFORMANCE.md)."""
    # given
    org = await factories.sign_up(clock)
    start = clock.now()
    stored = lambda: models.ApiToken.get(token_hash=hash_token(org.token))  # noqa: E731
    assert (await stored()).last_used_at is None
    # when / then: the first use is recorded
    assert await _status(client, org.token) == 200
    assert (await stored()).last_used_at == start
    # within the minute, nothing is written: the request runs the token lookup only
    clock.set(start + timedelta(seconds=59))
    with count_sql() as sql:
        await gql(client, "{ tenant { name } }", token=org.token)
    assert sql.count == 1
    assert (await stored()).last_used_at == start
    # a minute later it moves on
    clock.set(start + timedelta(seconds=60))
    assert await _status(client, org.token) == 200
    assert (await stored()).last_used_at == start + timedelta(seconds=60)
    listed = await gql(client, VIEWER.replace("name", "name lastUsedAt"), token=org.token)
    assert listed["data"]["viewer"]["apiTokens"][0]["lastUsedAt"] == "2026-11-21T10:01:00+00:00"
