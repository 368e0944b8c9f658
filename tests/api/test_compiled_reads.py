"""The compiled path (`resolvers/compiled`, issue #15) answers exactly what the regular path
answers: the same JSON, key order included, and the same errors, for callers of every role in
two tenants, on both databases. The corpus: the lean path's queries, hand-written ones for each
compiled feature (aliases, fragments, directives, variables, ids, cursors, enums, money, dates,
`pageInfo`, `totalCount`, backward pages, filters, refused arguments) and selections generated
by Hypothesis over the compiled subset and the fields it leaves to the regular path (which
fill the compiled answer), and queries mixing both at every level. SPEC §1 and §6 (who sees what) hold on both paths.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_center.domain import models
from billing_center.resolvers import compiled
from billing_center.resolvers.execution import LeanExecutionContext
from tests import compiled_shadow, factories
from tests.api.test_lean_execution import QUERIES as LEAN_QUERIES
from tests.api.test_lean_execution import _keys, _without_request_ids
from tests.conftest import count_sql

PEER_QUERY = """{ tenant { name } subscriptions(first: 100) { edges { node { quantity product { name }
  licenseAssignments(first: 100) { edges { node { user { displayName } } } } } } } }"""

COMPILED_QUERIES = [
    PEER_QUERY,
    # every scalar of the compiled types, ids, enums, money, dates and datetimes
    """{ __typename tenant { __typename id name cloud adminCenterUrl sandbox clockNow defaultSelfServicePolicy createdAt }
       subscriptions(first: 10) { __typename totalCount
         pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
         edges { __typename cursor node { __typename id status statusReason quantity scheduledQuantity assignedCount
           availableCount commitmentTerm autoRenew startDate termStart termEnd nextChargeDate purchaseChannel
           price { __typename amount currency } cancelledAt cancellationReason cancellationFeedback version createdAt
           product { id sku name monthlyPrice { amount currency } annualPrice { currency amount } selfService
             trialAvailable }
           purchasedBy { id displayName email createdAt removedAt }
           licenseAssignments(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
             edges { cursor node { id state assignedAt product { sku } user { id email } } } } } } } }""",
    # aliases, fragments (named and inline), repeated fields merged, viewer
    """fragment Seat on LicenseAssignment { state user { displayName } }
       fragment Sub on Subscription { quantity ... on Subscription { product { name } } }
       query Named { me: viewer { id displayName } org: tenant { label: name }
         a: subscriptions(first: 2) { edges { node { ...Sub quantity seats: licenseAssignments(first: 2) {
           edges { node { ...Seat } } } } } }
         b: subscriptions(last: 2) { pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
           edges { cursor node { ... { id } } } } }""",
    # directives and variables: page sizes, cursors and booleans
    """query Q($with: Boolean!, $n: Int!, $after: String) { subscriptions(first: $n, after: $after) {
         pageInfo { hasNextPage endCursor } edges { node {
         product @include(if: $with) { name } quantity @skip(if: $with)
         licenseAssignments(first: $n) @include(if: $with) { totalCount edges { node { user { email } } } } } } } }""",
    # backward pages and both cursors
    """{ subscriptions(last: 3, before: "Y3Vyc29yOjk5OTk") { totalCount pageInfo { hasNextPage hasPreviousPage
         startCursor endCursor } edges { cursor node { quantity licenseAssignments(last: 1) {
         pageInfo { hasPreviousPage hasNextPage } edges { cursor } } } } } }""",
    """{ subscriptions(first: 2, after: "Y3Vyc29yOjE", before: "Y3Vyc29yOjk5OTk") { edges { cursor } } }""",
    # filters
    """{ subscriptions(first: 5, filter: {status: [ACTIVE], purchaseChannel: [ADMIN, SELF_SERVICE]}) {
         totalCount edges { node { status purchaseChannel } } } }""",
    # the tenant's users (with another root field: `tenant` alone needs no statement)
    """{ tenant { users(first: 4) { totalCount pageInfo { hasNextPage endCursor } edges { node { displayName } } } }
       viewer { email } }""",
    # refused arguments: the regular path's errors
    """{ subscriptions(first: 2, after: "bm90LWEtY3Vyc29y") { edges { node { quantity } } } }""",
    """{ subscriptions(first: 2, filter: {productId: "bm9wZQ"}) { edges { node { quantity } } } }""",
    """{ subscriptions(first: 101) { edges { node { quantity } } } }""",
    # the catalogue, whole and self-service only, beside the caller's own list
    """query P($only: Boolean) { all: products { __typename id sku name monthlyPrice { amount currency } selfService
         trialAvailable } mine: products(selfServiceOnly: true) { sku } some: products(selfServiceOnly: $only) { name }
         viewer { displayName } }""",
    # computed fields: left to the regular path inside the compiled answer
    """{ subscriptions(first: 2) { edges { node { quantity disabledUntil availableActions { action } } } } }""",
]

# Fields the compiler leaves to the regular path, inside compiled objects and at the root: the
# compiled path still answers (the rest of the response), the same JSON as the regular one.
HYBRID_QUERIES = [
    # computed fields and Python-side relations at every level of a compiled page
    """{ subscriptions(first: 3) { totalCount edges { cursor node { id quantity disabledUntil dataDeletionDate
         availableActions { action allowed deadline code reason } timeline { at status description }
         product { name trialDays commitmentTerms } billingAccount { name outstandingBalance { amount } }
         purchasedBy { displayName roles }
         licenseAssignments(first: 2) { edges { node { state subscription { id quantity }
           user { email roles } } } } } } } }""",
    # root fields the compiler leaves out, between compiled ones, and holes in the root objects
    """{ products { sku } subscriptions(first: 2) { edges { node { quantity domains { name } } } }
       viewer { email roles apiTokens { name } } licenseSummary { assigned product { sku } }
       tenant { name domains { name } } __typename }""",
    # aliases and fragments over holes; the same hole twice, merged
    """fragment A on Subscription { acts: availableActions { action } }
       { a: subscriptions(first: 2) { edges { node { ...A quantity t: timeline { at }
         ... on Subscription { acts: availableActions { allowed } } } } } }""",
    # a hole that fails (a page over the limit, a list some callers may not read): the
    # regular path answers the whole operation, with its errors
    """{ subscriptions(first: 2) { edges { node { quantity } } } invoices(first: 101) { edges { node { id } } } }""",
    """{ subscriptions(first: 2) { edges { node { quantity } } } billingAccounts { name } }""",
]

VARIABLES = {"with": True, "n": 2, "after": None, "only": True}


@pytest.fixture
async def two_tenants(database, clock):
    """Two tenants with a caller of every role each, a plain user who bought for themselves."""
    callers = {}
    for name in ("Contoso", "Fabrikam"):
        org = await factories.sign_up(clock, name)
        await factories.add_card(org, clock)
        users = {}
        for role in ("BILLING_ADMIN", "LICENSE_ADMIN", "USER"):
            users[role] = await factories.add_user(org, clock, f"{name} {role.title()}",
                                                   [] if role == "USER" else [models.Role(role)])
        plain = users["USER"][0]
        for i in range(4):
            await factories.add_subscription(org, clock, sku=("O365_E3", "POWER_BI_PRO")[i % 2], quantity=6,
                                             holders=[org.admin, users["BILLING_ADMIN"][0], plain][i % 2:])
        own = await models.BillingAccount.create(
            tenant_id=org.tenant.id, name="Own", type=models.BillingAccountType.MCA, owner_id=plain.id,
            charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=clock.now())
        profile = await models.BillingProfile.create(tenant_id=org.tenant.id, billing_account_id=own.id,
                                                     name="Own", created_at=clock.now())
        await factories.add_subscription(org, clock, sku="POWER_BI_PRO", quantity=1, account=own, profile=profile,
                                         holders=[plain], purchase_channel=models.PurchaseChannel.SELF_SERVICE,
                                         purchased_by_id=plain.id)
        callers[f"{name} GLOBAL_ADMIN"] = org.token
        callers.update({f"{name} {role}": token for role, (_, token) in users.items()})
    return callers


async def _both_paths(client, monkeypatch, query: str, token: str, variables: dict | None = None) -> tuple:
    """The answers of the compiled and the regular path, and whether the compiled one answered."""
    answered = []
    real = compiled.answer

    async def spy(*args):
        data = await real(*args)
        answered.append(data is not None)
        return data

    async def ask() -> tuple[int, dict]:
        response = await client.post("/graphql", json={"query": query, "variables": variables or VARIABLES},
                                     headers={"Authorization": f"Bearer {token}"})
        return response.status_code, _without_request_ids(response.json())

    monkeypatch.setattr(compiled, "answer", spy)
    fast = await ask()
    monkeypatch.setattr(LeanExecutionContext, "compiled", False)
    regular = await ask()
    monkeypatch.setattr(LeanExecutionContext, "compiled", True)
    monkeypatch.setattr(compiled, "answer", real)
    assert fast == regular
    assert _keys(fast[1]) == _keys(regular[1])  # key order too
    return fast[1], any(answered)


@pytest.mark.parametrize("query", COMPILED_QUERIES + LEAN_QUERIES)
async def test_compiled_and_regular_paths_answer_the_same_for_every_caller(client, two_tenants, query, monkeypatch):
    used = set()
    for caller, token in two_tenants.items():
        _, was_compiled = await _both_paths(client, monkeypatch, query, token)
        used.add(was_compiled)
    if query in COMPILED_QUERIES[:8] + COMPILED_QUERIES[-2:]:
        assert used == {True}  # the compiled path did answer these


@pytest.mark.parametrize("query", HYBRID_QUERIES)
async def test_fields_left_to_the_regular_path_fill_the_compiled_answer(client, two_tenants, query, monkeypatch):
    used = set()
    for caller, token in two_tenants.items():
        body, was_compiled = await _both_paths(client, monkeypatch, query, token)
        used.add(was_compiled)
        if "errors" in body:
            assert not was_compiled, body  # an error in a hole: the regular path answered
    if query in HYBRID_QUERIES[:3]:
        assert used == {True}


async def test_a_hole_costs_one_statement_per_relation_whatever_the_rows(client, database, clock):
    # given: 3, then 12 subscriptions of one tenant
    query = """{ subscriptions(first: 50) { edges { node { quantity availableActions { allowed }
      billingAccount { name } licenseAssignments(first: 5) { edges { node { subscription { id } } } } } } } }"""
    org = await factories.sign_up(clock, "Contoso")
    await factories.add_card(org, clock)
    for _ in range(3):
        await factories.add_subscription(org, clock, sku="O365_E3", quantity=2, holders=[org.admin])
    headers = {"Authorization": f"Bearer {org.token}"}
    counts = []
    for _ in range(2):
        await client.post("/graphql", json={"query": query}, headers=headers)  # the plan is made
        with count_sql() as sql:
            response = await client.post("/graphql", json={"query": query}, headers=headers)
        assert "errors" not in response.json()
        counts.append((len(response.json()["data"]["subscriptions"]["edges"]), sql.count))
        for _ in range(9):
            await factories.add_subscription(org, clock, sku="O365_E3", quantity=2, holders=[org.admin])
    # then: more rows, the same statements (the holes' objects load in one batch per type)
    assert counts[0][0] < counts[1][0]
    assert counts[0][1] == counts[1][1], counts


async def test_every_compiled_read_of_the_suite_is_checked_against_the_regular_path(client, two_tenants,
                                                                                   monkeypatch):
    # given: a compiled answer that differs from the regular one (a quantity off by one)
    real = compiled_shadow.REAL_ANSWER

    async def wrong(*args):
        data = await real(*args)
        edges = orjson.loads(orjson.dumps(data["subscriptions"]))["edges"]
        edges[0]["node"]["quantity"] += 1
        return {**data, "subscriptions": {"edges": edges}}

    monkeypatch.setattr(compiled_shadow, "REAL_ANSWER", wrong)
    # when: any test reads through the compiled path
    await client.post("/graphql", json={"query": PEER_QUERY},
                      headers={"Authorization": f"Bearer {two_tenants['Contoso GLOBAL_ADMIN']}"})
    # then: the difference is recorded, and would fail that test at teardown
    assert len(compiled_shadow.DIFFERENCES) == 1 and '"quantity":7' in compiled_shadow.DIFFERENCES[0]
    compiled_shadow.DIFFERENCES.clear()


async def test_the_peer_query_is_one_statement_besides_the_token_lookup(client, two_tenants):
    # given: a global admin's token; when: the peer benchmark's query
    headers = {"Authorization": f"Bearer {two_tenants['Contoso GLOBAL_ADMIN']}"}
    await client.post("/graphql", json={"query": PEER_QUERY}, headers=headers)  # the plan is made
    with count_sql() as sql:
        response = await client.post("/graphql", json={"query": PEER_QUERY}, headers=headers)
    # then: the token lookup and one statement that builds the JSON
    assert response.status_code == 200 and "errors" not in response.json()
    assert sql.count == 2, sql.statements
    assert any("json_build_object" in s or "json_quote" in s for s in sql.statements)  # the JSON-building one
    assert len(response.json()["data"]["subscriptions"]["edges"]) == 5


async def test_other_tenants_rows_never_show(client, two_tenants):
    # SPEC §1: each tenant's callers see their own tenant's names only, on the compiled path.
    for caller, token in two_tenants.items():
        body = (await client.post("/graphql", json={"query": PEER_QUERY},
                                  headers={"Authorization": f"Bearer {token}"})).json()
        own, other = caller.split()[0], {"Contoso": "Fabrikam", "Fabrikam": "Contoso"}[caller.split()[0]]
        assert body["data"]["tenant"]["name"] == own
        assert other not in str(body["data"])


# -- generated selections over the compiled subset and fields left to the regular path --------

_SCALARS = {
    "Subscription": ["id", "status", "statusReason", "quantity", "assignedCount", "availableCount", "autoRenew",
                     "startDate", "termEnd", "purchaseChannel", "version", "__typename", "price { amount currency }",
                     # left to the regular path, in the compiled answer
                     "disabledUntil", "availableActions { action allowed }", "timeline { at status }"],
    "Product": ["id", "sku", "name", "selfService", "monthlyPrice { amount }", "__typename", "trialDays"],
    "LicenseAssignment": ["id", "state", "assignedAt", "__typename", "subscription { quantity }"],
    "User": ["id", "displayName", "email", "createdAt", "__typename", "roles"],
}
_RELATIONS = {
    "Subscription": [("product", "Product", False), ("purchasedBy", "User", False),
                     ("licenseAssignments", "LicenseAssignment", True)],
    "LicenseAssignment": [("user", "User", False), ("product", "Product", False)],
}


def _selection(type_name: str, depth: int) -> st.SearchStrategy[str]:
    # Depth 2 is the deepest the depth limit (8) leaves room for: only plain scalars there.
    scalars = [name for name in _SCALARS[type_name] if depth < 2 or "{" not in name]
    fields = st.lists(st.sampled_from(scalars), min_size=1, max_size=4, unique=True)
    relations = _RELATIONS.get(type_name, []) if depth < 2 else []
    nested = st.lists(st.sampled_from(relations), max_size=2, unique=True) if relations else st.just([])

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = [_decorate(draw, name) for name in draw(fields)]
        for name, target, paged in draw(nested):
            inner = draw(_selection(target, depth + 1))
            if paged:
                inner = _page(draw, inner)
                parts.append(f"{name}({draw(_page_args())}) {inner}")
            else:
                parts.append(f"{name} {{ {inner} }}")
        if draw(st.booleans()):
            parts = [f"... on {type_name} {{ {' '.join(parts)} }}"]
        return " ".join(parts)

    return build()


def _decorate(draw: st.DrawFn, field: str) -> str:
    choice = draw(st.sampled_from(["plain", "alias", "skip", "include"]))
    if choice == "alias" and not field.startswith("__"):
        # An alias per field name: one alias over two different fields is a validation error.
        return f"al{draw(st.integers(0, 3))}{field.split(' ')[0]}: {field}"
    if choice == "skip":
        return f"{field.split(' ')[0]} @skip(if: $flag) {field[len(field.split(' ')[0]):]}".strip()
    if choice == "include":
        return f"{field.split(' ')[0]} @include(if: $flag) {field[len(field.split(' ')[0]):]}".strip()
    return field


def _page_args() -> st.SearchStrategy[str]:
    return st.sampled_from(["first: 1", "first: 2", "last: 2", "first: $n", "first: 3, after: \"Y3Vyc29yOjI\""])


def _page(draw: st.DrawFn, node: str) -> str:
    extras = draw(st.lists(st.sampled_from(["totalCount", "pageInfo { hasNextPage hasPreviousPage startCursor }",
                                            "pageInfo { endCursor }"]), max_size=2, unique=True))
    return f"{{ {' '.join(extras)} edges {{ cursor node {{ {node} }} }} }}"


def _generated_documents() -> list[str]:
    found: list[str] = []

    @settings(max_examples=25, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        node = data.draw(_selection("Subscription", 0))
        page = data.draw(_page_args())
        # Both variables used whatever was drawn: validation refuses unused ones.
        found.append(f"query G($flag: Boolean!, $n: Int!) {{ tenant @include(if: $flag) {{ name }} "
                     f"count: subscriptions(first: $n) {{ totalCount }} subscriptions({page}) "
                     + _page(data.draw, node) + " }")

    collect()
    return found


async def test_generated_selections_answer_the_same(client, two_tenants, monkeypatch):
    callers = [two_tenants["Contoso GLOBAL_ADMIN"], two_tenants["Contoso USER"], two_tenants["Fabrikam LICENSE_ADMIN"]]
    compiled_count = 0
    for index, query in enumerate(_generated_documents()):
        variables = {"flag": index % 2 == 0, "n": 1 + index % 3}
        for token in callers:
            body, was_compiled = await _both_paths(client, monkeypatch, query, token, variables)
            assert "errors" not in body, (query, body)
            compiled_count += was_compiled
    assert compiled_count == 25 * len(callers)


async def test_a_missing_non_null_object_gets_the_regular_paths_error(client, two_tenants, clock, monkeypatch):
    # given: an assignment breaking the invariant, its user in another tenant (so not visible)
    contoso = await models.Tenant.get(name="Contoso")
    stranger = await models.User.filter(tenant__name="Fabrikam").first()
    subscription = await models.Subscription.filter(tenant_id=contoso.id).order_by("id").first()
    await models.LicenseAssignment.create(tenant_id=contoso.id, subscription_id=subscription.id, user_id=stranger.id,
                                          product_id=subscription.product_id, assigned_at=clock.now())
    # when: the peer query, on both paths
    body, was_compiled = await _both_paths(client, monkeypatch, PEER_QUERY, two_tenants["Contoso GLOBAL_ADMIN"])
    # then: the non-null `user` is an error on both (the compiled answer was not used), and
    # the other tenant's user never shows
    assert not was_compiled and body["errors"]
    assert "Fabrikam" not in str(body.get("data"))


NODE = """query N($id: ID!) { node(id: $id) { __typename id ... on Subscription { quantity product { name }
  licenseAssignments(first: 2) { totalCount edges { node { user { displayName } } } } }
  ... on User { displayName email } ... on Product { sku monthlyPrice { amount } } ... on Tenant { name cloud }
  ... on LicenseAssignment { state } } }"""


async def test_node_by_id_answers_the_same_for_every_caller(client, two_tenants, monkeypatch):
    # SPEC §1, §6: an object the caller may not see (another tenant's, another user's
    # self-service subscription) is null on both paths.
    ids = []
    for model, type_name in ((models.Subscription, "Subscription"), (models.User, "User"), (models.Tenant, "Tenant"),
                             (models.LicenseAssignment, "LicenseAssignment")):
        ids += [factories.gid(type_name, pk) for pk in await model.all().order_by("id").values_list("id", flat=True)]
    ids += [factories.gid("Product", (await models.Product.first()).id), factories.gid("Subscription", 10**9), "bm9wZQ"]
    compiled_types = set()
    for token in two_tenants.values():
        for global_id in ids[::3] + ids[-3:]:
            body, was_compiled = await _both_paths(client, monkeypatch, NODE, token, {"id": global_id})
            if was_compiled:
                compiled_types.add((body["data"]["node"] or {}).get("__typename"))
    # null: not visible (or no such row), answered on the compiled path too
    assert compiled_types == {"Subscription", "User", "Tenant", "Product", None}
