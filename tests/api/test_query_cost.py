"""No N+1: a nested query costs the same number of SQL statements for 10 rows as for 100
(issue #2; PERFORMANCE.md goal G1: at most one statement per list level)."""

from __future__ import annotations

import pytest

from billing_center.resolvers.execution import LeanExecutionContext
from tests import factories
from tests.conftest import count_sql
from tests.factories import gql

NESTED_SUBSCRIPTIONS = """
query Nested($n: Int!) {
  subscriptions(first: $n) {
    edges { node {
      product { name }
      billingAccount { billingProfiles { paymentMethod { last4 } } }
      licenseAssignments(first: 100) { edges { node { user { displayName } } } }
    } }
  }
}
"""

# One statement per list level and relation of the query, plus the token lookup: auth token,
# subscriptions page (which reads their products in passing), billing accounts, billing
# profiles, payment methods, the assignment pages (one window-function statement for every
# subscription, which reads their users in passing).
STATEMENTS = 6


@pytest.fixture
async def hundred_subscriptions(database, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    users = [(await factories.add_user(org, clock, f"User {i}"))[0] for i in range(20)]
    for i in range(100):
        holders = [users[(i + k) % 20] for k in range(3)] + ([org.admin] if i % 10 == 0 else [])
        await factories.add_subscription(
            org, clock, sku=("O365_E3", "POWER_BI_PRO", "VISIO_PLAN_2")[i % 3], holders=holders
        )
    await factories.tokens_used_just_now(org, clock)
    return org


async def _cost(client, token: str, n: int) -> tuple[int, dict]:
    with count_sql() as sql:
        body = await gql(client, NESTED_SUBSCRIPTIONS, {"n": n}, token=token)
    assert "errors" not in body, body
    return sql.count, body


async def test_nested_query_costs_the_same_for_10_and_100_rows(client, hundred_subscriptions):
    # given
    token = hundred_subscriptions.token
    # when
    cost_10, body_10 = await _cost(client, token, 10)
    cost_100, body_100 = await _cost(client, token, 100)
    # then
    edges = body_100["data"]["subscriptions"]["edges"]
    assert len(body_10["data"]["subscriptions"]["edges"]) == 10
    assert len(edges) == 100
    assert sum(len(e["node"]["licenseAssignments"]["edges"]) for e in edges) == 310
    assert all(e["node"]["billingAccount"]["billingProfiles"][0]["paymentMethod"]["last4"] == "4242" for e in edges)
    print(f"SQL statements: N=10 -> {cost_10}, N=100 -> {cost_100}")
    assert cost_10 == cost_100 == STATEMENTS


async def test_a_single_object_loads_its_subtree_in_batches(client, hundred_subscriptions):
    # `viewer` is one object: its list fields load through the same batch functions, and
    # everything below them is prefetched per level.
    query = """{ viewer { licenseAssignments { subscription { product { name }
                 licenseAssignments(first: 100) { edges { node { user { displayName } } } } } } } }"""
    with count_sql() as sql:
        body = await gql(client, query, token=hundred_subscriptions.token)
    assert "errors" not in body, body
    held = body["data"]["viewer"]["licenseAssignments"]
    assert len(held) == 10
    assert all(len(a["subscription"]["licenseAssignments"]["edges"]) == 4 for a in held)
    # token, viewer, its assignments, their subscriptions, products, assignment pages (and
    # their users)
    assert sql.count == 6


@pytest.mark.parametrize("compiled", [False, True])
async def test_the_peer_benchmark_query_costs_one_statement_per_relation(client, hundred_subscriptions, compiled,
                                                                         monkeypatch):
    """Issue #5 (bench/peers): tenant → subscriptions → product and licence assignments →
    user costs the token lookup plus one statement per relation, for 10 rows as for 100, on
    the regular path; the compiled path (issue #15) answers it with one statement."""
    monkeypatch.setattr(LeanExecutionContext, "compiled", compiled)
    query = """query Tree($n: Int!) { tenant { name } subscriptions(first: $n) { edges { node { quantity
               product { name } licenseAssignments(first: 100) { edges { node { user { displayName } } } } } } } }"""
    costs = []
    for n in (10, 100):
        with count_sql() as sql:
            body = await gql(client, query, {"n": n}, token=hundred_subscriptions.token)
        assert "errors" not in body and len(body["data"]["subscriptions"]["edges"]) == n
        costs.append(sql.count)
    # token (which brings the caller's tenant), subscriptions page (and their products),
    # assignment pages (and their users): one statement per list level; compiled: the token
    # and the one statement
    assert costs == ([2, 2] if compiled else [3, 3])


async def test_the_callers_tenant_comes_with_the_token_lookup(client, hundred_subscriptions):
    # `tenant` is read by most screens: its row rides on the token's statement.
    with count_sql() as sql:
        body = await gql(client, "{ tenant { name sandbox createdAt } }", token=hundred_subscriptions.token)
    assert body["data"]["tenant"]["name"] and body["data"]["tenant"]["sandbox"] is False
    assert sql.count == 1
