"""Relay cursor connections over HTTP (API.md "Conventions": first/after/last/before, pageInfo,
totalCount, page size 1-100), on root `subscriptions` (oldest first, SPEC §3) and `auditLog`
(newest first, SPEC §8): pages walk both ways without gaps or duplicates, cursors are stable,
and page arguments are checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing_center.domain import models
from billing_center.resolvers.pagination import encode_cursor
from tests import factories
from tests.connections import (
    PAGE_INFO,
    SUBSCRIPTIONS,
    assert_page_cursors,
    assert_walk,
    node_ids,
    only_error,
    walk_backward,
    walk_forward,
)
from tests.conftest import START
from tests.factories import gid, gql

SUBSCRIPTIONS_FIRST_LITERAL_0 = "{ subscriptions(first: 0) { totalCount edges { cursor } } }"

AUDIT_LOG = f"""
query AuditLog($first: Int, $after: String, $last: Int, $before: String) {{
  auditLog(first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    {PAGE_INFO}
    edges {{ cursor node {{ id action at }} }}
  }}
}}
"""


async def subscriptions_of(org: factories.Org, clock, count: int) -> list[str]:
    ids = []
    for index in range(count):
        subscription = await factories.add_subscription(
            org, clock, created_at=START + timedelta(minutes=index)
        )
        ids.append(gid("Subscription", subscription.id))
    return ids


# --- root subscriptions (oldest first) -----------------------------------------------------


async def test_subscriptions_walk_forward_oldest_first_without_gaps_or_duplicates(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 25)
    # when
    pages = await walk_forward(client, SUBSCRIPTIONS, "subscriptions", org.token, 10)
    # then
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert_walk(pages, expected, 10)


async def test_subscriptions_walk_backward_with_last_and_before(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 25)
    # when
    pages = await walk_backward(client, SUBSCRIPTIONS, "subscriptions", org.token, 10)
    # then
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    # each page is itself oldest first
    assert node_ids(pages[0]) == expected[15:]
    assert node_ids(pages[1]) == expected[5:15]
    assert node_ids(pages[2]) == expected[:5]
    assert_walk(pages, expected, 10, backward=True)


async def test_a_node_has_the_same_cursor_whichever_way_it_is_reached(client, clock):
    # given
    org = await factories.sign_up(clock)
    await subscriptions_of(org, clock, 7)
    # when
    forward = await walk_forward(client, SUBSCRIPTIONS, "subscriptions", org.token, 3)
    backward = await walk_backward(client, SUBSCRIPTIONS, "subscriptions", org.token, 2)
    # then
    forward_cursors = {e["node"]["id"]: e["cursor"] for p in forward for e in p["edges"]}
    backward_cursors = {e["node"]["id"]: e["cursor"] for p in backward for e in p["edges"]}
    assert forward_cursors == backward_cursors
    assert len(set(forward_cursors.values())) == 7


async def test_subscriptions_last_alone_is_the_end_of_the_list(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 5)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"last": 2}, token=org.token)
    # then
    page = body["data"]["subscriptions"]
    assert node_ids(page) == expected[3:]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["totalCount"] == 5


async def test_subscriptions_default_page_is_20(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 25)
    # when
    first_page = (await gql(client, SUBSCRIPTIONS, token=org.token))["data"]["subscriptions"]
    rest = await gql(
        client, SUBSCRIPTIONS, {"after": first_page["pageInfo"]["endCursor"]}, token=org.token
    )
    # then
    assert node_ids(first_page) == expected[:20]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert first_page["pageInfo"]["hasPreviousPage"] is False
    assert first_page["totalCount"] == 25
    second_page = rest["data"]["subscriptions"]
    assert node_ids(second_page) == expected[20:]
    assert second_page["pageInfo"]["hasNextPage"] is False
    assert second_page["pageInfo"]["hasPreviousPage"] is True


async def test_subscriptions_first_100_is_allowed(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 25)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"first": 100}, token=org.token)
    # then
    assert "errors" not in body, body
    page = body["data"]["subscriptions"]
    assert node_ids(page) == expected
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert_page_cursors(page)


async def test_subscriptions_exactly_one_full_page_has_no_next_page(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 4)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"first": 4}, token=org.token)
    # then
    page = body["data"]["subscriptions"]
    assert node_ids(page) == expected
    assert page["pageInfo"]["hasNextPage"] is False


async def test_an_empty_connection_has_no_cursors(client, clock):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"first": 5}, token=org.token)
    # then
    assert body["data"]["subscriptions"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
    }


async def test_subscriptions_of_other_tenants_are_neither_listed_nor_counted(client, clock):
    # given
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    await subscriptions_of(other, clock, 3)
    mine = await subscriptions_of(org, clock, 2)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"first": 10}, token=org.token)
    # then
    page = body["data"]["subscriptions"]
    assert node_ids(page) == mine
    assert page["totalCount"] == 2


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"first": 0}, id="first-0"),
        pytest.param({"first": 101}, id="first-101"),
        pytest.param({"first": -1}, id="first-negative"),
        pytest.param({"last": 0}, id="last-0"),
        pytest.param({"last": 101}, id="last-101"),
        pytest.param({"first": 2, "last": 2}, id="first-and-last"),
        pytest.param({"after": "garbage"}, id="garbage-after"),
        pytest.param({"before": "garbage"}, id="garbage-before"),
        pytest.param({"first": 2, "after": gid("Subscription", 1)}, id="global-id-as-cursor"),
    ],
)
async def test_invalid_page_arguments_are_a_top_level_invalid_input_error(client, clock, arguments):
    # given
    org = await factories.sign_up(clock)
    await subscriptions_of(org, clock, 3)
    # when
    body = await gql(client, SUBSCRIPTIONS, arguments, token=org.token)
    # then
    error = only_error(body)
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["subscriptions"]
    assert body["data"] is None


async def test_first_0_as_a_literal_is_invalid_input(client, clock):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, SUBSCRIPTIONS_FIRST_LITERAL_0, token=org.token)
    # then
    assert only_error(body)["extensions"]["code"] == "INVALID_INPUT"


async def test_a_cursor_with_an_out_of_range_id_is_invalid_input(client, clock):
    """A forged cursor past BIGINT is not ours: INVALID_INPUT, not a database error."""
    # given
    org = await factories.sign_up(clock)
    await subscriptions_of(org, clock, 3)
    forged = encode_cursor(10**20)
    # when
    body = await gql(client, SUBSCRIPTIONS, {"first": 2, "after": forged}, token=org.token)
    # then
    error = only_error(body)
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize(
    ("arguments", "window"),
    [
        pytest.param({"first": 5, "before": 2}, range(0, 2), id="first-before"),
        pytest.param({"first": 10, "after": 5, "before": 9}, range(6, 9), id="first-after-before"),
        pytest.param({"last": 10, "after": 19}, range(20, 25), id="last-after"),
        pytest.param({"last": 2, "after": 5, "before": 12}, range(10, 12), id="last-after-before"),
    ],
)
async def test_a_page_never_crosses_the_cursors_it_was_given(client, clock, arguments, window):
    """Relay: edges lie strictly after `after` and before `before`, whichever of first/last
    sizes the page; refusing the combination (INVALID_INPUT) would keep the contract too."""
    # given
    org = await factories.sign_up(clock)
    expected = await subscriptions_of(org, clock, 25)
    everything = (await gql(client, SUBSCRIPTIONS, {"first": 25}, token=org.token))["data"]["subscriptions"]
    cursors = [edge["cursor"] for edge in everything["edges"]]
    variables = {
        name: cursors[value] if name in ("after", "before") else value for name, value in arguments.items()
    }
    # when
    body = await gql(client, SUBSCRIPTIONS, variables, token=org.token)
    # then
    if body.get("errors"):
        assert only_error(body)["extensions"]["code"] == "INVALID_INPUT"
    else:
        assert node_ids(body["data"]["subscriptions"]) == [expected[i] for i in window]


# --- auditLog (newest first, SPEC §8) ------------------------------------------------------


async def audit_events_newest_first(org: factories.Org, clock) -> list[str]:
    for index in range(4):
        clock.set(START + timedelta(hours=index + 1))
        await factories.add_user(org, clock, f"User {index}")
    clock.set(START)
    rows = await models.AuditEvent.filter(tenant_id=org.tenant.id).order_by("-id").values_list("id", flat=True)
    return [gid("AuditEvent", pk) for pk in rows]


async def test_audit_log_is_newest_first_walking_forward(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await audit_events_newest_first(org, clock)
    assert len(expected) >= 5
    # when
    pages = await walk_forward(client, AUDIT_LOG, "auditLog", org.token, 2)
    # then
    assert_walk(pages, expected, 2)
    times = [edge["node"]["at"] for page in pages for edge in page["edges"]]
    assert times == sorted(times, reverse=True)
    assert times[0] > times[-1]


async def test_audit_log_walks_backward_to_the_oldest_event(client, clock):
    # given
    org = await factories.sign_up(clock)
    expected = await audit_events_newest_first(org, clock)
    # when
    pages = await walk_backward(client, AUDIT_LOG, "auditLog", org.token, 2)
    # then
    assert_walk(pages, expected, 2, backward=True)
    # the last page fetched backward holds the newest events, still newest first
    assert node_ids(pages[-1]) == expected[:len(pages[-1]["edges"])]


async def test_audit_log_rejects_an_oversized_page(client, clock):
    # given
    org = await factories.sign_up(clock)
    # when
    body = await gql(client, AUDIT_LOG, {"first": 101}, token=org.token)
    # then
    error = only_error(body)
    assert (error["extensions"]["code"], error["path"]) == ("INVALID_INPUT", ["auditLog"])
