"""Relay cursor connections over HTTP (API.md "Conventions": first/after/last/before, pageInfo,
totalCount, page size 1-100): root `subscriptions` (oldest first, SPEC §3), `auditLog` (newest
first, SPEC §8) and `invoices` (newest first, last 3 months by default, SPEC §7), and the nested
connections `Subscription.licenseAssignments` (SPEC §4), `Tenant.users` (SPEC §1) and
`BillingProfile.invoices` (SPEC §7)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing_center.domain import models
from billing_center.resolvers.pagination import encode_cursor
from tests import factories
from tests.conftest import START
from tests.factories import gid, gql

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

SUBSCRIPTIONS = f"""
query Subscriptions($first: Int, $after: String, $last: Int, $before: String, $filter: SubscriptionFilter) {{
  subscriptions(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    {PAGE_INFO}
    edges {{ cursor node {{ id }} }}
  }}
}}
"""

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

INVOICES = f"""
query Invoices($period: InvoicePeriod! = LAST_3_MONTHS, $from: Date, $to: Date,
               $first: Int, $after: String, $last: Int, $before: String) {{
  invoices(period: $period, from: $from, to: $to, first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    {PAGE_INFO}
    edges {{ cursor node {{ id number issueDate }} }}
  }}
}}
"""

INVOICES_DEFAULT_PERIOD = "{ invoices { totalCount edges { node { number } } } }"

PROFILE_INVOICES = """
query ProfileInvoices($period: InvoicePeriod! = LAST_3_MONTHS, $from: Date, $to: Date) {
  billingAccounts {
    billingProfiles {
      invoices(period: $period, from: $from, to: $to) { totalCount edges { node { number } } }
    }
  }
}
"""

PROFILE_INVOICES_DEFAULT_PERIOD = """
{ billingAccounts { billingProfiles { invoices { totalCount edges { node { number } } } } } }
"""

PROFILE_INVOICES_CUSTOM_LITERAL = """
{ billingAccounts { billingProfiles {
    invoices(period: CUSTOM, from: "2026-08-13", to: "2026-09-02") { totalCount edges { node { number } } }
} } }
"""

PROFILE_INVOICES_PAGED = f"""
query ProfileInvoicesPaged($first: Int, $after: String, $last: Int, $before: String) {{
  billingAccounts {{
    billingProfiles {{
      invoices(first: $first, after: $after, last: $last, before: $before) {{
        totalCount
        {PAGE_INFO}
        edges {{ cursor node {{ number }} }}
      }}
    }}
  }}
}}
"""

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


# --- helpers -------------------------------------------------------------------------------


def node_ids(page: dict) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def assert_page_cursors(page: dict) -> None:
    """startCursor/endCursor are the first and last edge's cursors (null on an empty page)."""
    cursors = [edge["cursor"] for edge in page["edges"]]
    assert page["pageInfo"]["startCursor"] == (cursors[0] if cursors else None)
    assert page["pageInfo"]["endCursor"] == (cursors[-1] if cursors else None)


def only_error(body: dict) -> dict:
    assert body.get("errors"), body
    [error] = body["errors"]
    return error


async def walk_forward(client, document: str, field: str, token: str, size: int, **variables) -> list[dict]:
    """Every page of root connection `field`, `first: size`, following endCursor."""
    pages: list[dict] = []
    after = None
    while True:
        body = await gql(client, document, {**variables, "first": size, "after": after}, token=token)
        assert "errors" not in body, body
        page = body["data"][field]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 50, "pagination does not end"


async def walk_backward(client, document: str, field: str, token: str, size: int, **variables) -> list[dict]:
    """Every page of root connection `field`, `last: size`, following startCursor back."""
    pages: list[dict] = []
    before = None
    while True:
        body = await gql(client, document, {**variables, "last": size, "before": before}, token=token)
        assert "errors" not in body, body
        page = body["data"][field]
        pages.append(page)
        if not page["pageInfo"]["hasPreviousPage"]:
            return pages
        before = page["pageInfo"]["startCursor"]
        assert len(pages) < 50, "pagination does not end"


def assert_walk(pages: list[dict], expected: list[str], size: int, backward: bool = False) -> None:
    """Pages of `size` cover `expected` exactly once, in order, with consistent pageInfo."""
    walked = list(reversed(pages)) if backward else pages
    seen = [node_id for page in walked for node_id in node_ids(page)]
    assert seen == expected
    assert len(seen) == len(set(seen))
    count = len(pages)
    assert count == -(-len(expected) // size)
    for index, page in enumerate(pages):
        assert page["totalCount"] == len(expected)
        assert_page_cursors(page)
        last_page = index == count - 1
        if backward:
            # the first page fetched is the end of the list; the last one fetched is its start
            assert page["pageInfo"]["hasPreviousPage"] is (not last_page)
            assert page["pageInfo"]["hasNextPage"] is (index > 0)
            assert len(page["edges"]) == (size if not last_page else len(expected) - size * (count - 1))
        else:
            assert page["pageInfo"]["hasNextPage"] is (not last_page)
            assert page["pageInfo"]["hasPreviousPage"] is (index > 0)
            assert len(page["edges"]) == (size if not last_page else len(expected) - size * (count - 1))


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


# --- invoices (newest first, last 3 months by default, SPEC §7) ----------------------------


async def invoices_in_issue_order(org: factories.Org, clock, days_ago: list[int]) -> dict[int, models.Invoice]:
    """Invoices issued `days_ago`, created oldest first as the billing engine would."""
    created = {}
    for days in sorted(days_ago, reverse=True):
        created[days] = await factories.add_invoice(org, clock, f"INV-{days:03d}", days)
    return created


async def test_invoices_are_newest_first_walking_both_ways(client, clock):
    # given
    org = await factories.sign_up(clock)
    invoices = await invoices_in_issue_order(org, clock, [1, 5, 12, 20, 33, 47, 60, 75, 88])
    expected = [gid("Invoice", invoices[d].id) for d in sorted(invoices)]
    # when
    forward = await walk_forward(client, INVOICES, "invoices", org.token, 4)
    backward = await walk_backward(client, INVOICES, "invoices", org.token, 4)
    # then
    assert_walk(forward, expected, 4)
    assert_walk(backward, expected, 4, backward=True)
    dates = [edge["node"]["issueDate"] for page in forward for edge in page["edges"]]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == (START - timedelta(days=1)).date().isoformat()


@pytest.mark.parametrize(
    ("variables", "numbers"),
    [
        pytest.param({}, ["INV-079", "INV-080"], id="default-last-3-months"),
        pytest.param({"period": "LAST_3_MONTHS"}, ["INV-079", "INV-080"], id="last-3-months"),
        pytest.param(
            {"period": "LAST_6_MONTHS"}, ["INV-079", "INV-080", "INV-100", "INV-101", "INV-170"],
            id="last-6-months",
        ),
        pytest.param(
            {"period": "CUSTOM", "from": "2026-08-13", "to": "2026-09-02"}, ["INV-080", "INV-100"],
            id="custom-bounds-inclusive",
        ),
        pytest.param(
            {"period": "CUSTOM", "from": "2026-05-05", "to": "2026-05-05"}, ["INV-200"], id="custom-one-day",
        ),
        pytest.param(
            {"period": "CUSTOM", "from": "2025-01-01", "to": "2025-12-31"}, [], id="custom-empty",
        ),
    ],
)
async def test_invoice_periods(client, clock, variables, numbers):
    # given: the clock stands at 2026-11-21; 80 days ago is 2026-09-02, 100 days ago 2026-08-13
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [79, 80, 100, 101, 170, 200])
    assert (START - timedelta(days=80)).date() == date(2026, 9, 2)
    assert (START - timedelta(days=100)).date() == date(2026, 8, 13)
    assert (START - timedelta(days=200)).date() == date(2026, 5, 5)
    # when
    body = await gql(client, INVOICES, {"first": 100, **variables}, token=org.token)
    # then
    assert "errors" not in body, body
    page = body["data"]["invoices"]
    assert [edge["node"]["number"] for edge in page["edges"]] == numbers
    assert page["totalCount"] == len(numbers)


async def test_invoices_default_to_the_last_3_months_when_no_argument_is_given(client, clock):
    # given
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [80, 100])
    # when
    body = await gql(client, INVOICES_DEFAULT_PERIOD, token=org.token)
    # then
    assert body["data"]["invoices"] == {"totalCount": 1, "edges": [{"node": {"number": "INV-080"}}]}


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"period": "CUSTOM", "from": "2026-08-01"}, id="custom-without-to"),
        pytest.param({"period": "CUSTOM", "to": "2026-08-01"}, id="custom-without-from"),
        pytest.param({"period": "CUSTOM", "from": "2026-09-02", "to": "2026-09-01"}, id="to-before-from"),
        pytest.param({"first": 101}, id="first-101"),
    ],
)
async def test_invalid_invoice_arguments_are_invalid_input(client, clock, variables):
    # given
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [80])
    # when
    body = await gql(client, INVOICES, variables, token=org.token)
    # then
    error = only_error(body)
    assert (error["extensions"]["code"], error["path"]) == ("INVALID_INPUT", ["invoices"])


# --- BillingProfile.invoices (the same rules one level down) -------------------------------


def profile_invoices(body: dict) -> dict:
    assert "errors" not in body, body
    [account] = body["data"]["billingAccounts"]
    [profile] = account["billingProfiles"]
    return profile["invoices"]


@pytest.mark.parametrize(
    ("variables", "numbers"),
    [
        pytest.param({}, ["INV-079", "INV-080"], id="default-last-3-months"),
        pytest.param(
            {"period": "LAST_6_MONTHS"}, ["INV-079", "INV-080", "INV-100", "INV-101", "INV-170"],
            id="last-6-months",
        ),
        pytest.param(
            {"period": "CUSTOM", "from": "2026-08-13", "to": "2026-09-02"}, ["INV-080", "INV-100"],
            id="custom-bounds-inclusive",
        ),
    ],
)
async def test_profile_invoice_periods(client, clock, variables, numbers):
    # given
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [79, 80, 100, 101, 170, 200])
    # when
    body = await gql(client, PROFILE_INVOICES, variables, token=org.token)
    # then
    invoices = profile_invoices(body)
    assert [edge["node"]["number"] for edge in invoices["edges"]] == numbers
    assert invoices["totalCount"] == len(numbers)


async def test_profile_invoices_default_and_literal_custom_period(client, clock):
    # given
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [79, 80, 100, 101, 170, 200])
    # when
    default = await gql(client, PROFILE_INVOICES_DEFAULT_PERIOD, token=org.token)
    custom = await gql(client, PROFILE_INVOICES_CUSTOM_LITERAL, token=org.token)
    # then
    assert profile_invoices(default) == {
        "totalCount": 2, "edges": [{"node": {"number": "INV-079"}}, {"node": {"number": "INV-080"}}],
    }
    assert profile_invoices(custom) == {
        "totalCount": 2, "edges": [{"node": {"number": "INV-080"}}, {"node": {"number": "INV-100"}}],
    }


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"period": "CUSTOM", "from": "2026-08-01"}, id="custom-without-to"),
        pytest.param({"period": "CUSTOM", "from": "2026-09-02", "to": "2026-09-01"}, id="to-before-from"),
    ],
)
async def test_invalid_profile_invoice_arguments_are_invalid_input_at_the_nested_field(client, clock, variables):
    # given
    org = await factories.sign_up(clock)
    await invoices_in_issue_order(org, clock, [80])
    # when
    body = await gql(client, PROFILE_INVOICES, variables, token=org.token)
    # then
    error = only_error(body)
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["billingAccounts", 0, "billingProfiles", 0, "invoices"]


async def test_profile_invoices_are_newest_first_walking_both_ways(client, clock):
    # given
    org = await factories.sign_up(clock)
    invoices = await invoices_in_issue_order(org, clock, [2, 9, 15, 30, 44, 61, 70])
    expected = [invoices[d].number for d in sorted(invoices)]

    async def fetch(**variables) -> dict:
        return profile_invoices(await gql(client, PROFILE_INVOICES_PAGED, variables, token=org.token))

    # when
    forward = [await fetch(first=3)]
    while forward[-1]["pageInfo"]["hasNextPage"]:
        forward.append(await fetch(first=3, after=forward[-1]["pageInfo"]["endCursor"]))
    backward = [await fetch(last=3)]
    while backward[-1]["pageInfo"]["hasPreviousPage"]:
        backward.append(await fetch(last=3, before=backward[-1]["pageInfo"]["startCursor"]))
    # then
    numbers = lambda page: [edge["node"]["number"] for edge in page["edges"]]  # noqa: E731
    assert [numbers(p) for p in forward] == [expected[0:3], expected[3:6], expected[6:]]
    assert [numbers(p) for p in backward] == [expected[4:], expected[1:4], expected[:1]]
    for page in forward + backward:
        assert page["totalCount"] == 7
        assert_page_cursors(page)
    assert [p["pageInfo"]["hasPreviousPage"] for p in forward] == [False, True, True]
    assert [p["pageInfo"]["hasNextPage"] for p in backward] == [False, True, True]


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
