"""Query limits (issue #6; RELIABILITY.md A1–A7): each at its limit passes, and one step over
it is refused before any resolver runs (no statement but the token lookup, `data: null`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from graphql import get_introspection_query
from graphql.language import Lexer, Source, TokenKind

from billing_center.domain import models
from billing_center.resolvers import limits
from tests import factories
from tests.conftest import count_sql
from tests.factories import gid, gql

# Depth is the number of fields on the longest path, the leaf (`id`) included:
# `{ tenant { name } }` has depth 2.
CHAIN = ["subscriptions(first: 1)", "edges", "node", "licenseAssignments(first: 1)", "edges", "node", "user",
         "licenseAssignments", "subscription"]


def _chain(depth: int) -> str:
    return "{ " + " { ".join(CHAIN[:depth - 1]) + " { id }" + " }" * (depth - 2) + " }"


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
    # no `data` entry when refused before execution (issue #13), null when a field refused it
    assert body.get("data") is None, body
    assert body["errors"], body
    assert sql.count == 1, "only the token lookup may run before a refusal"
    return body["errors"][0]


async def _passes(client, token: str, document: str, variables: dict | None = None) -> dict:
    body = await gql(client, document, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def test_a1_depth_8_runs_and_depth_9_is_refused(client, org):
    # Audit finding (LOW): with `MAX_DEPTH = 8`, Strawberry's limiter let 9 fields nest (it did
    # not count the leaf). Now 8 fields run and 9 are refused, also when hidden in a fragment.
    data = await _passes(client, org.token, _chain(8))
    assert data["subscriptions"]["edges"][0]["node"]["licenseAssignments"]["edges"][0]["node"]["user"]["id"]
    error = await _refused(client, org.token, _chain(9))
    assert error["extensions"]["code"] == limits.CODE and "maximum depth of 8" in error["message"]
    hidden = ("fragment Deep on User { licenseAssignments { id } } { subscriptions(first: 1) { edges { node { "
              "licenseAssignments(first: 1) { edges { node { user { ...Deep } } } } } } } }")
    assert "maximum depth of 8" in (await _refused(client, org.token, hidden))["message"]


async def test_a1_introspection_counts_as_one_level_and_graphql_core_bounds_its_nested_lists(client, org):
    # Introspection (development profile) counts as one level of depth, so GraphiQL's query
    # runs; its lists nested in one another (`types { fields { type { fields { … } } } }`, each
    # level multiplying the answer) are bounded by graphql-core's MaxIntrospectionDepthRule.
    data = await _passes(client, org.token, get_introspection_query(descriptions=True))
    assert data["__schema"]["types"]
    deeper = "{ __schema { types { ...Fields } } } fragment Fields on __Type { fields { type { fields { type { fields { name } } } } } }"
    assert "introspection depth" in (await _refused(client, org.token, deeper))["message"]


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
    # The filler varies its fields: 30 fields at most may land on one place (test_a4 below).
    filler = ["sku", "id", "selfService", "trialAvailable", "trialDays", "commitmentTerms", "name"]

    def document(padding: int) -> str:
        return ("{ products { " + "".join(f"... on Product {{ {filler[i % 7]} }} " for i in range(165))
                + "name " * padding + "} }")

    assert _tokens(document(5)) == limits.MAX_TOKENS
    await _passes(client, org.token, document(5))
    assert _tokens(document(6)) == limits.MAX_TOKENS + 1
    assert "1000 tokens" in (await _refused(client, org.token, document(6)))["message"]


async def test_a4_circular_fragments_are_refused(client, org):
    document = "fragment A on User { ...B } fragment B on User { ...A } { viewer { ...A } }"
    await _refused(client, org.token, document)


async def test_a5_page_sizes_are_1_to_100(client, org):
    nested = """query($outer: Int!, $inner: Int!) { subscriptions(first: $outer) { edges { node {
      licenseAssignments(first: $inner) { edges { node { id } } } } } } }"""
    await _passes(client, org.token, nested, {"outer": 100, "inner": 100})
    for outer, inner in ((101, 1), (0, 1), (1, 101)):
        error = await _refused(client, org.token, nested, {"outer": outer, "inner": inner})
        assert error["extensions"]["code"] == "INVALID_INPUT"


PAGES = "subscriptions(first: {outer}) {{ edges {{ node {{ licenseAssignments{inner} {{ edges {{ node {{ id }} }} }} }} }} }}"


def _aliased(count: int, outer: int = 100, inner: str = "(first: 100)") -> str:
    return "{ " + " ".join(f"p{i}: " + PAGES.format(outer=outer, inner=inner) for i in range(count)) + " }"


async def test_a5_the_node_budget_counts_the_whole_document_aliases_and_siblings_included(client, org):
    # Audit finding (MEDIUM): the budget multiplied page sizes along each path but ignored
    # sibling aliases: 15 aliases of 100 x 100 gave a 142 MB answer for one point. Nodes are
    # now added up over the whole document: one 100 x 100 tree is 10,100 nodes (100 + 10,000).
    await _passes(client, org.token, _aliased(2))
    error = await _refused(client, org.token, _aliased(3))
    assert error["extensions"]["code"] == limits.CODE and "30,300 nodes" in error["message"]
    error = await _refused(client, org.token, _aliased(15))
    assert error["extensions"]["code"] == limits.CODE and "151,500 nodes" in error["message"]
    # an omitted page size counts as the default (20): 14 x (100 + 100 x 20) pass, 15 do not,
    # also through a fragment
    await _passes(client, org.token, _aliased(14, inner=""))
    assert "31,500 nodes" in (await _refused(client, org.token, _aliased(15, inner="")))["message"]
    fragment = ("fragment Seats on Subscription { licenseAssignments { edges { node { id } } } } { "
                + " ".join(f"p{i}: subscriptions(first: 100) {{ edges {{ node {{ ...Seats }} }} }}" for i in range(15)) + " }")
    assert "31,500 nodes" in (await _refused(client, org.token, fragment))["message"]


async def test_a5_plain_lists_count_by_their_bound(client, org):
    # Audit finding (MEDIUM): unpaged lists counted as one. `nodes(ids:)` counts the ids given
    # (at most 100), `User.licenseAssignments` its stated bound (50), and so on (LIST_BOUNDS).
    ids = [gid("Subscription", i) for i in range(1, 101)]
    seats = "{ ... on Subscription { licenseAssignments(first: 100) { edges { node { user { licenseAssignments { id } } } } } } }"
    document = "query($ids: [ID!]!) { nodes(ids: $ids) " + seats + " }"
    error = await _refused(client, org.token, document, {"ids": ids})
    # 100 + 100 x (100 + 100 x 50)
    assert error["extensions"]["code"] == limits.CODE and "510,100 nodes" in error["message"]
    assert "errors" not in await gql(client, document, {"ids": ids[:5]}, token=org.token)  # 25,505 nodes
    viewer = "{ viewer { licenseAssignments { subscription { licenseAssignments(first: 100) { edges { node { id } } } } } } }"
    await _passes(client, org.token, viewer)  # 50 + 50 x 100


def test_a5_every_list_of_objects_in_the_schema_has_a_bound():
    # A list that is not a connection page must say how many items it may hold, or the node
    # budget would count it as one.
    from graphql import GraphQLNonNull, get_named_type, is_composite_type, is_list_type, is_object_type

    from billing_center.resolvers.node_count import list_bound
    from billing_center.schema.root import schema

    missing = []
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__") or not is_object_type(type_) or type_.name.endswith("Connection"):
            continue
        for name, field in type_.fields.items():
            nullable = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if is_list_type(nullable) and is_composite_type(get_named_type(nullable)) and name != "nodes":
                if list_bound(type_.name, name) is None:
                    missing.append(f"{type_.name}.{name}")
    assert not missing


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


def _doubling(levels: int, leaf: str = "__typename") -> str:
    """F0 spreads F1 twice, F1 spreads F2 twice, …: 2**(levels-1) paths in about 40 bytes a level."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels - 1)]
    return " ".join(["query { ...F0 }", *fragments, f"fragment F{levels - 1} on Query {{ {leaf} }}"])


async def test_a4_doubling_fragments_are_refused_fast_even_anonymously(client):
    # Audit finding (HIGH): 22 levels of fragments spreading the next one twice (under the
    # token limit) blocked a worker 16-21 s, each level doubling it, because the depth and
    # alias limiters walked every path of spreads. Every check now measures each fragment
    # once, and a document that expands past MAX_FIELDS fields is refused.
    document = _doubling(30)
    assert _tokens(document) < limits.MAX_TOKENS

    async def timed(request):
        started = time.perf_counter()
        return await request, time.perf_counter() - started

    # the heavy request and a health check at once, on the app's one event loop
    (body, heavy), (health, check) = await asyncio.gather(timed(gql(client, document)), timed(client.get("/health")))
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == limits.CODE
    assert f"{2 ** 29:,}" in error["message"]
    assert health.status_code == 200
    assert heavy < 2 and check < 2, f"took {heavy:.1f} s and {check:.1f} s"


async def test_a4_fields_landing_on_one_place_are_limited_before_graphql_core_compares_them(client, org):
    # graphql-core's OverlappingFieldsCanBeMerged compares every pair of fields landing on the
    # same place in the answer: 240 copies of `tenant { name }` (under 1,000 tokens) cost it
    # half a second. At most 30 may land on one place, fragments inlined.
    await _passes(client, org.token, "{ " + "tenant { name } " * 30 + "}")
    error = await _refused(client, org.token, "{ " + "tenant { name } " * 31 + "}")
    assert error["extensions"]["code"] == limits.CODE and "31 fields" in error["message"]
    started = time.perf_counter()
    await _refused(client, org.token, "{ " + "tenant { name } " * 240 + "}")
    nested = "{ viewer { " + ("licenseAssignments { subscription { " + "id " * 26 + "} } ") * 30 + "} }"
    assert "780 fields" in (await _refused(client, org.token, nested))["message"]
    assert time.perf_counter() - started < 2


async def test_a4_doubling_fragments_that_select_lists_are_refused_fast(client, org):
    # The same shape with a list field and aliases at the bottom (the node budget, the alias
    # count and graphql-core's OverlappingFieldsCanBeMerged all see every spread).
    started = time.perf_counter()
    error = await _refused(client, org.token, _doubling(30, "a: subscriptions(first: 100) { edges { node { id } } }"))
    assert error["extensions"]["code"] == limits.CODE
    assert time.perf_counter() - started < 2


async def test_a9_a_query_is_charged_for_its_nodes_and_a_refused_one_for_its_validation(limited, org):
    # Audit findings (HIGH, MEDIUM): a refused document cost nothing however long validation
    # took, and 150,000 nodes cost one point. Now 1 point is taken before validation, and a
    # query costs 1 more per 1,000 nodes: 10,100 nodes are 11 points.
    await _passes(limited, org.token, _aliased(1))
    for _ in range(8):
        assert "maximum depth" in (await _refused(limited, org.token, _chain(9)))["message"]
    await _passes(limited, org.token, "{ tenant { name } }")  # the 20th point
    error = await _refused(limited, org.token, "{ tenant { name } }")
    assert error["extensions"]["code"] == "THROTTLED"
