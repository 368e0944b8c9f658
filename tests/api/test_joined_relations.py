"""To-one relations read in their parents' statement (issue #5): a page of licence
assignments reads its users, and a page of subscriptions its products, in passing. The
joined objects are the same as those read on their own, cost no statement, and a joined row
of another tenant never shows."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from billing_center.resolvers.execution import LeanExecutionContext
from tests import factories
from tests.conftest import count_sql
from tests.factories import gql

PAGE = """{ subscriptions(first: 10) { edges { node { id product { %s }
  licenseAssignments(first: 10) { edges { node { id product { id sku } user { %s } } } } } } } }"""
USER_FIELDS = "id displayName email roles createdAt"
PRODUCT_FIELDS = "id sku name monthlyPrice { amount currency } commitmentTerms"


@pytest.fixture
async def org(database, clock):
    org = await factories.sign_up(clock)
    users = [(await factories.add_user(org, clock, f"User {i}", [models.Role.LICENSE_ADMIN] if i == 1 else []))[0]
             for i in range(4)]
    for i in range(3):
        await factories.add_subscription(org, clock, sku=("O365_E3", "POWER_BI_PRO", "VISIO_PLAN_2")[i],
                                         holders=users[i:i + 2])
    await factories.tokens_used_just_now(org, clock)
    return org


async def test_joined_users_and_products_are_the_objects_read_on_their_own(client, org):
    body = await gql(client, PAGE % (PRODUCT_FIELDS, USER_FIELDS), token=org.token)
    assert "errors" not in body, body
    subscriptions = [edge["node"] for edge in body["data"]["subscriptions"]["edges"]]
    users = {a["node"]["user"]["id"]: a["node"]["user"]
             for s in subscriptions for a in s["licenseAssignments"]["edges"]}
    products = {s["product"]["id"]: s["product"] for s in subscriptions}
    assert len(users) == 4 and len(products) == 3
    alone = await gql(client, "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { %s } ... on Product { %s } } }"
                      % (USER_FIELDS, PRODUCT_FIELDS), {"ids": [*users, *products]}, token=org.token)
    assert alone["data"]["nodes"] == [*users.values(), *products.values()]


async def test_selecting_the_user_costs_no_statement(client, org, monkeypatch):
    # The regular path's joins (the compiled one answers the first query only: `roles` is not compiled).
    monkeypatch.setattr(LeanExecutionContext, "compiled", False)
    costs = []
    for user_fields in ("id", USER_FIELDS):
        with count_sql() as sql:
            body = await gql(client, PAGE % ("name", "id") if user_fields == "id" else PAGE % ("name", user_fields),
                             token=org.token)
        assert "errors" not in body, body
        costs.append(sql.count)
    assert costs[0] == costs[1]


async def test_a_joined_row_of_another_tenant_never_shows(client, org, clock):
    # A row that breaks the invariant (an assignment pointing at another tenant's user) must
    # not leak that user: the join is scoped to the caller's tenant like the loader it replaces.
    other = await factories.sign_up(clock, name="Fabrikam")
    subscription = await models.Subscription.filter(tenant_id=org.tenant.id).order_by("id").first()
    await models.LicenseAssignment.create(
        tenant_id=org.tenant.id, subscription_id=subscription.id, user_id=other.admin.id,
        product_id=subscription.product_id, assigned_at=clock.now(),
    )
    body = await gql(client, PAGE % ("name", USER_FIELDS), token=org.token)
    assert "Fabrikam" not in str(body)
    assert "fabrikam" not in str(body)
