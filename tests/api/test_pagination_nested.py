"""Nested connections page per parent (API.md "Conventions"): `Subscription.licenseAssignments`
(SPEC §4) and `Tenant.users` (SPEC §1), with aliases, fragments and page limits."""

from __future__ import annotations

import pytest

from tests import factories
from tests.connections import PAGE_INFO, assert_page_cursors, only_error
from tests.factories import gid, gql

LICENSE_ASSIGNMENTS = f"""
query LicenseAssignments($first: Int, $after: String, $last: Int, $before: String) {{
  subscriptions {{
    edges {{
      node {{
        id
        licenseAssignments(first: $first, after: $after, last: $last, before: $before) {{
          totalCount
          {PAGE_INFO}
          edges {{ cursor node {{ user {{ displayName }} }} }}
        }}
      }}
    }}
  }}
}}
"""

LICENSE_ASSIGNMENTS_FIRST_2_LITERAL = f"""
{{ subscriptions {{ edges {{ node {{ id
    licenseAssignments(first: 2) {{
      totalCount
      {PAGE_INFO}
      edges {{ cursor node {{ user {{ displayName }} }} }}
    }}
}} }} }} }}
"""

LICENSE_ASSIGNMENTS_FIRST_101 = """
{ subscriptions { edges { node { id licenseAssignments(first: 101) { totalCount } } } } }
"""

LICENSE_ASSIGNMENTS_TWO_SIZES = """
{ subscriptions { edges { node {
    two: licenseAssignments(first: 2) { totalCount edges { node { user { displayName } } } }
    three: licenseAssignments(first: 3) { totalCount edges { node { user { displayName } } } }
} } } }
"""

LICENSE_ASSIGNMENTS_PAGE_AND_COUNT = """
{ subscriptions { edges { node {
    page: licenseAssignments(first: 2) { edges { node { user { displayName } } } }
    count: licenseAssignments(first: 2) { totalCount }
} } } }
"""

SUBSCRIPTIONS_TOTAL_IN_FRAGMENT = """
{ subscriptions(first: 2) { edges { cursor } } ...Counted }
fragment Counted on Query { subscriptions(first: 2) { totalCount } }
"""

LICENSE_ASSIGNMENTS_TOTAL_IN_FRAGMENT = """
{ subscriptions { edges { node {
    licenseAssignments(first: 2) { edges { node { user { displayName } } } }
    ...Counted
} } } }
fragment Counted on Subscription { licenseAssignments(first: 2) { totalCount } }
"""

TENANT_USERS_TOTAL_IN_FRAGMENT = """
{ tenant { users(first: 2) { edges { cursor } } ...Counted } }
fragment Counted on Tenant { users(first: 2) { totalCount } }
"""

LICENSE_ASSIGNMENTS_DEFAULT_PAGE = """
{ subscriptions { edges { node { licenseAssignments { totalCount pageInfo { hasNextPage } edges { cursor } } } } } }
"""

TENANT_USERS = f"""
query TenantUsers($first: Int, $after: String, $last: Int, $before: String) {{
  tenant {{
    users(first: $first, after: $after, last: $last, before: $before) {{
      totalCount
      {PAGE_INFO}
      edges {{ cursor node {{ displayName }} }}
    }}
  }}
}}
"""


# --- Subscription.licenseAssignments (nested, per subscription) ----------------------------


async def two_subscriptions_with_holders(org: factories.Org, clock) -> tuple[str, list[str], str, list[str]]:
    """Subscription A held by 5 users, B by 3 (SPEC §4: assignments oldest first)."""
    users = [(await factories.add_user(org, clock, f"Holder {i}"))[0] for i in range(8)]
    a = await factories.add_subscription(org, clock, "O365_E3", holders=users[:5])
    b = await factories.add_subscription(org, clock, "O365_E1", holders=users[5:])
    return (
        gid("Subscription", a.id), [u.display_name for u in users[:5]],
        gid("Subscription", b.id), [u.display_name for u in users[5:]],
    )


def assignments_of(body: dict, subscription_id: str, field: str = "licenseAssignments") -> dict:
    assert "errors" not in body, body
    [node] = [e["node"] for e in body["data"]["subscriptions"]["edges"] if e["node"]["id"] == subscription_id]
    return node[field]


def holders(connection: dict) -> list[str]:
    return [edge["node"]["user"]["displayName"] for edge in connection["edges"]]


async def test_license_assignments_first_page_per_subscription(client, clock):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS, {"first": 2}, token=org.token)
    literal = await gql(client, LICENSE_ASSIGNMENTS_FIRST_2_LITERAL, token=org.token)
    # then
    for response in (body, literal):
        page_a, page_b = assignments_of(response, a), assignments_of(response, b)
        assert holders(page_a) == a_holders[:2]
        assert holders(page_b) == b_holders[:2]
        assert (page_a["totalCount"], page_b["totalCount"]) == (5, 3)
        for page in (page_a, page_b):
            assert page["pageInfo"]["hasNextPage"] is True
            assert page["pageInfo"]["hasPreviousPage"] is False
            assert_page_cursors(page)


@pytest.mark.parametrize("which", ["a", "b"])
async def test_license_assignments_page_forward_through_each_subscription(client, clock, which):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    subscription, expected = (a, a_holders) if which == "a" else (b, b_holders)
    # when
    pages = [assignments_of(await gql(client, LICENSE_ASSIGNMENTS, {"first": 2}, token=org.token), subscription)]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        after = pages[-1]["pageInfo"]["endCursor"]
        body = await gql(client, LICENSE_ASSIGNMENTS, {"first": 2, "after": after}, token=org.token)
        pages.append(assignments_of(body, subscription))
        assert len(pages) < 10
    # then
    assert [holders(p) for p in pages] == [expected[i:i + 2] for i in range(0, len(expected), 2)]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert {p["totalCount"] for p in pages} == {len(expected)}
    for page in pages:
        assert_page_cursors(page)


async def test_license_assignments_page_backward_per_subscription(client, clock):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS, {"last": 2}, token=org.token)
    page_a = assignments_of(body, a)
    earlier = await gql(
        client, LICENSE_ASSIGNMENTS, {"last": 2, "before": page_a["pageInfo"]["startCursor"]}, token=org.token
    )
    # then
    assert holders(page_a) == a_holders[3:]
    assert holders(assignments_of(body, b)) == b_holders[1:]
    assert page_a["pageInfo"]["hasPreviousPage"] is True
    assert page_a["pageInfo"]["hasNextPage"] is False
    assert holders(assignments_of(earlier, a)) == a_holders[1:3]


async def test_license_assignments_page_never_crosses_its_before_cursor(client, clock):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    everything = assignments_of(await gql(client, LICENSE_ASSIGNMENTS, {"first": 5}, token=org.token), a)
    third = everything["edges"][2]["cursor"]
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS, {"first": 5, "before": third}, token=org.token)
    # then
    if body.get("errors"):
        assert {e["extensions"]["code"] for e in body["errors"]} == {"INVALID_INPUT"}
    else:
        assert holders(assignments_of(body, a)) == a_holders[:2]
        # B's assignments all come after A's third one
        assert holders(assignments_of(body, b)) == []


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"first": 101}, id="first-101"),
        pytest.param({"first": 0}, id="first-0"),
        pytest.param({"first": 2, "last": 2}, id="first-and-last"),
        pytest.param({"after": "garbage"}, id="garbage-cursor"),
    ],
)
async def test_invalid_license_assignment_page_is_an_error_at_the_nested_field(client, clock, variables):
    # given
    org = await factories.sign_up(clock)
    await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS, variables, token=org.token)
    # then
    assert body.get("errors"), body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "INVALID_INPUT"
        assert error["path"][0] == "subscriptions"
        assert error["path"][-1] == "licenseAssignments"


async def test_license_assignments_first_101_literal_is_refused_before_execution_at_the_nested_field(client, clock):
    # Issue #6 (RELIABILITY.md A5): page sizes are checked before any resolver runs, so the
    # whole request is refused and the error names the nested field (no list index: nothing ran).
    # given
    org = await factories.sign_up(clock)
    await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS_FIRST_101, token=org.token)
    # then
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["subscriptions", "edges", "node", "licenseAssignments"]


async def test_aliases_of_license_assignments_with_different_page_sizes(client, clock):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS_TWO_SIZES, token=org.token)
    # then
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["subscriptions"]["edges"]]
    assert [(holders(n["two"]), holders(n["three"])) for n in nodes] == [
        (a_holders[:2], a_holders[:3]),
        (b_holders[:2], b_holders[:3]),
    ]
    assert [(n["two"]["totalCount"], n["three"]["totalCount"]) for n in nodes] == [(5, 5), (3, 3)]


async def test_aliases_of_the_same_page_each_get_their_own_fields(client, clock):
    # given
    org = await factories.sign_up(clock)
    a, a_holders, b, b_holders = await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS_PAGE_AND_COUNT, token=org.token)
    # then
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["subscriptions"]["edges"]]
    assert [holders(n["page"]) for n in nodes] == [a_holders[:2], b_holders[:2]]
    assert [n["count"]["totalCount"] for n in nodes] == [5, 3]


@pytest.mark.parametrize(
    ("document", "path", "totals"),
    [
        pytest.param(SUBSCRIPTIONS_TOTAL_IN_FRAGMENT, ("subscriptions",), [2], id="root-subscriptions"),
        pytest.param(
            LICENSE_ASSIGNMENTS_TOTAL_IN_FRAGMENT, ("subscriptions", "edges", "node", "licenseAssignments"),
            [5, 3], id="nested-license-assignments",
        ),
        pytest.param(TENANT_USERS_TOTAL_IN_FRAGMENT, ("tenant", "users"), [9], id="tenant-users"),
    ],
)
async def test_total_count_selected_in_a_fragment_is_counted(client, clock, document, path, totals):
    # given
    org = await factories.sign_up(clock)
    await two_subscriptions_with_holders(org, clock)
    # when
    body = await gql(client, document, token=org.token)
    # then
    assert "errors" not in body, body
    values = [body["data"]]
    for key in path:
        values = [item for value in values for item in (value[key] if isinstance(value[key], list) else [value[key]])]
    assert [value["totalCount"] for value in values] == totals
    assert all(len(value["edges"]) == 2 for value in values)


async def test_license_assignments_default_page_is_20(client, clock):
    # given
    org = await factories.sign_up(clock)
    users = [(await factories.add_user(org, clock, f"Holder {i}"))[0] for i in range(21)]
    await factories.add_subscription(org, clock, quantity=25, holders=users)
    # when
    body = await gql(client, LICENSE_ASSIGNMENTS_DEFAULT_PAGE, token=org.token)
    # then
    assert "errors" not in body, body
    [edge] = body["data"]["subscriptions"]["edges"]
    page = edge["node"]["licenseAssignments"]
    assert len(page["edges"]) == 20
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 21


# --- Tenant.users (nested, SPEC §1) --------------------------------------------------------


async def test_tenant_users_page_with_total_count(client, clock):
    # given
    org = await factories.sign_up(clock)
    for name in ["Ann", "Bob", "Cid", "Dee"]:
        await factories.add_user(org, clock, name)
    other = await factories.sign_up(clock, name="Fabrikam")
    await factories.add_user(other, clock, "Stranger")
    expected = ["Contoso Admin", "Ann", "Bob", "Cid", "Dee"]

    async def fetch(**variables) -> dict:
        body = await gql(client, TENANT_USERS, variables, token=org.token)
        assert "errors" not in body, body
        return body["data"]["tenant"]["users"]

    # when
    forward = [await fetch(first=2)]
    while forward[-1]["pageInfo"]["hasNextPage"]:
        forward.append(await fetch(first=2, after=forward[-1]["pageInfo"]["endCursor"]))
    backward = [await fetch(last=2)]
    while backward[-1]["pageInfo"]["hasPreviousPage"]:
        backward.append(await fetch(last=2, before=backward[-1]["pageInfo"]["startCursor"]))
    # then
    names = lambda page: [edge["node"]["displayName"] for edge in page["edges"]]  # noqa: E731
    assert [names(p) for p in forward] == [expected[0:2], expected[2:4], expected[4:]]
    assert [names(p) for p in backward] == [expected[3:], expected[1:3], expected[:1]]
    assert [p["pageInfo"]["hasPreviousPage"] for p in forward] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in forward] == [True, True, False]
    for page in forward + backward:
        assert page["totalCount"] == 5
        assert_page_cursors(page)


async def test_tenant_users_first_101_is_invalid_input(client, clock):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, TENANT_USERS, {"first": 101}, token=org.token)
    # then
    error = only_error(body)
    assert (error["extensions"]["code"], error["path"]) == ("INVALID_INPUT", ["tenant", "users"])
