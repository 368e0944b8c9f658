"""What the pagination tests (tests/api/test_pagination_*.py) share: the root
`subscriptions` document, and walking a root connection page by page with the checks every
page must pass (API.md "Conventions": first/after/last/before, pageInfo, totalCount)."""

from __future__ import annotations

from tests.factories import gql

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
