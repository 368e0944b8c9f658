"""`invoices` and `BillingProfile.invoices` (SPEC §7): newest first, the last 3 months by
default, the last 6 months or a custom range, paged like every connection (API.md
"Conventions")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing_center.domain import models
from tests import factories
from tests.connections import (
    PAGE_INFO,
    assert_page_cursors,
    assert_walk,
    only_error,
    walk_backward,
    walk_forward,
)
from tests.conftest import START
from tests.factories import gid, gql

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
