"""Query limits (issue #6; RELIABILITY.md A1–A7): each at its limit passes, and one step over
it is refused before any resolver runs (no statement but the token lookup, `data: null`)."""

from __future__ import annotations

import pytest
from graphql.language import Lexer, Source, TokenKind

from billing_center.domain import models
from billing_center.resolvers import limits
from tests import factories
from tests.conftest import count_sql
from tests.factories import gid, gql

# Depth as Strawberry's limiter counts it: nested selection sets, under the last of which a
# leaf (`id`) is selected.
CHAIN = ["subscriptions(first: 1)", "edges", "node", "licenseAssignments(first: 1)", "edges", "node", "user",
         "licenseAssignments", "subscription"]


def _chain(depth: int) -> str:
    return "{ " + " { ".join(CHAIN[:depth]) + " { id }" + " }" * (depth - 1) + " }"


def _tokens(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


@pytest.fixture
async def org(database, clock):
    org = await factories.sign_up(clock)
    user, _ = await factories.add_user(org, clock, "Pat")
    await factories.add_subscription(org, clock, holders=[user])
    await factories.tokens_used_just_now(org, clock)
    return org


async def _refused(client, token: str, document: str, variables: dict | None = None) -> dict:
    with count_sql() as sql:
        body = await gql(client, document, variables, token=token)
    assert body["data"] is None, body
    assert body["errors"], body
    assert sql.count == 1, "only the token lookup may run before a refusal"
    return body["errors"][0]


async def _passes(client, token: str, document: str, variables: dict | None = None) -> dict:
    body = await gql(client, document, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def test_a1_depth_8_runs_and_depth_9_is_refused(client, org):
    data = await _passes(client, org.token, _chain(8))
    assert data["subscriptions"]["edges"][0]["node"]["licenseAssignments"]["edges"][0]["node"]["user"]["licenseAssignments"]
    error = await _refused(client, org.token, _chain(9))
    assert "maximum operation depth of 8" in error["message"]


async def test_a2_fifteen_aliases_run_and_sixteen_are_refused_even_inside_a_fragment(client, org):
    fifteen = "{ " + " ".join(f"p{i}: products {{ name }}" for i in range(15)) + " }"
    assert len(await _passes(client, org.token, fifteen)) == 15
    sixteen = "{ " + " ".join(f"p{i}: products {{ name }}" for i in range(16)) + " }"
    assert "aliases" in (await _refused(client, org.token, sixteen))["message"].lower()
    # 8 aliases in a fragment spread twice are 16
    hidden = ("fragment Eight on Query { " + " ".join(f"p{i}: products {{ name }}" for i in range(8)) + " } "
              "{ ...Eight tenant { name } ... on Query { ...Eight } }")
    await _refused(client, org.token, hidden)


async def test_a3_a_document_of_1000_tokens_runs_and_1001_is_refused(client, org):
    def document(padding: int) -> str:
        return "{ products { " + "... on Product { name } " * 165 + "name " * padding + "} }"

    assert _tokens(document(5)) == limits.MAX_TOKENS
    await _passes(client, org.token, document(5))
    assert _tokens(document(6)) == limits.MAX_TOKENS + 1
    assert "1000 tokens" in (await _refused(client, org.token, document(6)))["message"]


async def test_a4_circular_fragments_are_refused(client, org):
    document = "fragment A on User { ...B } fragment B on User { ...A } { viewer { ...A } }"
    await _refused(client, org.token, document)


async def test_a5_page_sizes_are_1_to_100_and_their_product_at_most_10000(client, org):
    nested = """query($outer: Int!, $inner: Int!) { subscriptions(first: $outer) { edges { node {
      licenseAssignments(first: $inner) { edges { node { id } } } } } } }"""
    await _passes(client, org.token, nested, {"outer": 100, "inner": 100})
    for outer, inner in ((101, 1), (0, 1), (1, 101)):
        error = await _refused(client, org.token, nested, {"outer": outer, "inner": inner})
        assert error["extensions"]["code"] == "INVALID_INPUT"
    three = """query($n: Int!) { subscriptions(first: 100) { edges { node { licenseAssignments(first: 100) {
      edges { node { subscription { licenseAssignments(first: $n) { totalCount } } } } } } } } }"""
    await _passes(client, org.token, three, {"n": 1})
    error = await _refused(client, org.token, three, {"n": 2})
    assert error["extensions"]["code"] == limits.CODE and "20,000" in error["message"]
    assert error["path"] == ["subscriptions", "edges", "node", "licenseAssignments", "edges", "node",
                             "subscription", "licenseAssignments"]
    # an omitted page size counts as the default (20): 20 x 100 x 20, also through a fragment
    defaults = """fragment Seats on Subscription { licenseAssignments { totalCount } }
      { subscriptions { edges { node { licenseAssignments(first: 100) { edges { node { subscription { ...Seats } } } } } } } }"""
    error = await _refused(client, org.token, defaults)
    assert error["extensions"]["code"] == limits.CODE and "40,000" in error["message"]


async def test_a6_http_batching_is_refused(client, org):
    response = await client.post("/graphql", json=[{"query": "{ tenant { name } }"}] * 2,
                                 headers={"Authorization": f"Bearer {org.token}"})
    assert response.status_code == 400


async def test_a7_five_root_mutations_run_and_six_are_refused_with_nothing_written(client, org):
    def document(count: int) -> str:
        fields = " ".join(
            f'm{i}: createApiToken(input: {{name: "limits {i}"}}) {{ token }}'
            for i in range(count)
        )
        return "mutation { " + fields + " }"

    before = await models.ApiToken.all().count()
    assert len(await _passes(client, org.token, document(5))) == 5
    assert await models.ApiToken.all().count() == before + 5
    error = await _refused(client, org.token, document(6))
    assert error["extensions"]["code"] == limits.CODE
    assert await models.ApiToken.all().count() == before + 5


async def test_the_limits_keep_validation_cached(client, org):
    # The limiters' rule classes are built once: a class per request would make every request
    # miss the validation cache (validation was half of a small read's CPU).
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache = _get_validate_cache(256)
    document = "{ tenant { name } subscriptions(first: 3) { totalCount } }"
    await _passes(client, org.token, document)
    before = cache.cache_info()
    await _passes(client, org.token, document)
    after = cache.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
