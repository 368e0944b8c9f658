"""The direct completion path (`resolvers/execution.py`) answers exactly what graphql-core's
own path answers: the same data, nulls, errors and key order, for queries that use fragments,
aliases, directives, variables, nested pages, enums, lists of enums, money, dates, nullable
relations and refused arguments. Each query runs with the path on and off."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_center.domain import models
from billing_center.resolvers.execution import LeanExecutionContext
from tests import factories
from tests.factories import gid

QUERIES = [
    # the peer benchmark's shape
    """{ tenant { name } subscriptions(first: 100) { edges { node { quantity product { name }
       licenseAssignments(first: 100) { edges { node { user { displayName } } } } } } } }""",
    # aliases, __typename, fragments (spread and inline), ids and cursors, enums, lists of enums
    """fragment Who on User { id displayName roles __typename }
       query { viewer { ...Who } first: subscriptions(first: 2) { totalCount pageInfo { hasNextPage endCursor }
         edges { cursor node { id __typename status statusReason commitmentTerm autoRenew price { amount currency }
           startDate termEnd availableCount
           ... on Subscription { product { sku monthlyPrice { amount } commitmentTerms } }
           seats: licenseAssignments(first: 3) { edges { node { id state user { ...Who } } } } } } }
         second: subscriptions(first: 2, after: "Y3Vyc29yOjE") { edges { node { quantity } } } }""",
    # directives with variables, and a nested page argument from a variable
    """query Q($with: Boolean!, $n: Int!) { subscriptions(first: 5) { edges { node {
         product @include(if: $with) { name } quantity @skip(if: $with)
         licenseAssignments(first: $n) { totalCount edges { node { user { email } } } } } } } }""",
    # relations, nullable ones, balances and lists of objects
    """{ billingAccounts { name type chargeSchedule billingDay owner { displayName }
         outstandingBalance { amount } billingProfiles { name paymentMethod { brand last4 expiryYear } } }
       subscriptions(first: 3) { edges { node { billingAccount { name } timeline { at status description }
         availableActions { action allowed deadline reason } } } } }""",
    # a refused nested argument: the error must be identical
    """{ subscriptions(first: 2) { edges { node { quantity licenseAssignments(first: 101) { edges { node { id } } } } } } }""",
    # invoices with lines and money
    """{ invoices(period: LAST_6_MONTHS) { edges { node { number status total { amount currency } amountDue { amount }
         lines { kind amount { amount } explanation } } } } }""",
]


@pytest.fixture(autouse=True)
def regular_path_only(monkeypatch):
    # These compare the lean path with graphql-core's own: the compiled path
    # (`test_compiled_reads`) would answer both requests.
    monkeypatch.setattr(LeanExecutionContext, "compiled", False)


@pytest.fixture
async def world(database, clock):
    org = await factories.sign_up(clock)
    await factories.add_card(org, clock)
    users = [(await factories.add_user(org, clock, f"User {i}", [models.Role.LICENSE_ADMIN] if i % 3 == 0 else []))[0]
             for i in range(6)]
    for i in range(5):
        await factories.add_subscription(org, clock, sku=("O365_E3", "POWER_BI_PRO")[i % 2], quantity=8,
                                         holders=users[i % 3: i % 3 + 3], charged=i % 2 == 0)
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=10, amount="46.00")
    await models.InvoiceLine.create(
        tenant_id=org.tenant.id, billing_profile_id=org.profile.id, invoice_id=invoice.id,
        kind=models.InvoiceLineKind.RENEWAL, description="renewal", quantity=2, unit_price=Decimal("23.00"),
        amount=Decimal("46.00"), period_start=clock.now().date(), period_end=clock.now().date(),
        explanation="23.00 x 2", charge_on=clock.now().date(), created_at=clock.now())
    return org


def _without_request_ids(body: dict) -> dict:
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


@pytest.mark.parametrize("query", QUERIES)
async def test_both_paths_answer_the_same(client, world, query, monkeypatch):
    variables = {"with": True, "n": 2}
    headers = {"Authorization": f"Bearer {world.token}"}

    async def ask() -> dict:
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return _without_request_ids(response.json())

    lean = await ask()
    monkeypatch.setattr(LeanExecutionContext, "enabled", False)
    standard = await ask()
    assert lean == standard
    assert list(lean) == list(standard) and _keys(lean) == _keys(standard)  # key order too


def _keys(value: object) -> list:
    if isinstance(value, dict):
        return [(key, _keys(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_keys(item) for item in value]
    return []


async def test_a_licence_admin_sees_null_billing_accounts_on_both_paths(client, world, clock, monkeypatch):
    _, token = await factories.add_user(world, clock, "Lia", [models.Role.LICENSE_ADMIN])
    query = "{ subscriptions(first: 5) { edges { node { quantity billingAccount { name } product { name } } } } }"
    headers = {"Authorization": f"Bearer {token}"}
    lean = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
    monkeypatch.setattr(LeanExecutionContext, "enabled", False)
    standard = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
    assert lean == standard
    assert all(e["node"]["billingAccount"] is None for e in lean["data"]["subscriptions"]["edges"])
    assert gid("Tenant", world.tenant.id)  # the org exists; its accounts are hidden from this role
