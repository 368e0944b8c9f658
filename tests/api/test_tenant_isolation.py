"""Tenant isolation and read visibility (SPEC §1, §6, §8; domain/visibility.py).

SPEC §1: "Nobody ever reads or changes anything of another tenant. An object of another tenant
is reported exactly like one that does not exist." Tenant A (Contoso) holds one object of every
node type; tenant B (Fabrikam) holds its own, so that B's answers are never trivially empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from billing_center.domain import models
from tests.factories import Org, add_card, add_invoice, add_subscription, add_user, gid, gql, sign_up, token_for

NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"

NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"

EVERYTHING = """
{
  tenant {
    id name
    domains { id name }
    users(first: 50) { totalCount edges { node { id email licenseAssignments { id } apiTokens { id name } } } }
  }
  subscriptions(first: 100) {
    totalCount
    edges { node { id quantity licenseAssignments(first: 100) { totalCount edges { node { id user { id } } } } } }
  }
  billingAccounts {
    id owner { id }
    billingProfiles {
      id paymentMethod { id }
      invoices(period: CUSTOM, from: "2000-01-01", to: "2100-12-31", first: 100) { edges { node { id } } }
    }
  }
  invoices(period: CUSTOM, from: "2000-01-01", to: "2100-12-31", first: 100) {
    totalCount edges { node { id number } }
  }
  auditLog(first: 100) { totalCount edges { node { id objectType objectId actor { id } } } }
  licenseSummary { product { sku } purchased assigned available }
  events(first: 100) { edges { node { id objectId } } }
  webhookEndpoints { id url deliveries(first: 10) { edges { node { id event { id } } } } }
}
"""

SUBSCRIPTIONS_OF_PRODUCT = """
query ByProduct($productId: ID!) {
  subscriptions(filter: {productId: $productId}, first: 100) { totalCount edges { node { id } } }
}
"""

SUBSCRIPTIONS_BY_STATUS = """
query ByStatus($status: [SubscriptionStatus!]) {
  subscriptions(filter: {status: $status}, first: 100) { totalCount edges { node { id } } }
}
"""

# (SPEC §1 rev. 2) the mutations that name a user or a token of the tenant.
IDENTITY_MUTATIONS = {
    "revokeApiToken": ("RevokeApiTokenInput", "revokedTokenId", "tokenId", "ApiToken"),
    "setUserRoles": ("SetUserRolesInput", "user { id }", "userId", "User"),
    "removeUser": ("RemoveUserInput", "removedUserId", "userId", "User"),
}

VISIBLE_READS = """
{
  subscriptions(first: 100) { edges { node { id billingAccount { id } billingProfile { billingAccount { id } } } } }
  billingAccounts { id }
  invoices(period: CUSTOM, from: "2000-01-01", to: "2100-12-31", first: 100) { edges { node { id } } }
  viewer { licenseAssignments { id subscription { id } } }
}
"""

AUDIT_LOG = "{ auditLog(first: 100) { totalCount edges { node { id } } } }"

# No table of a test database ever reaches this primary key.
NONEXISTENT_PK = 987_654_321

NODE_TYPES = [
    "Tenant", "Domain", "User", "BillingAccount", "BillingProfile", "PaymentMethod",
    "Subscription", "LicenseAssignment", "Invoice", "AuditEvent", "ApiToken", "Event", "WebhookEndpoint",
    "WebhookDelivery",
]


@dataclass
class Side:
    """One tenant and the global ID of one object of every node type it owns."""

    org: Org
    user: models.User
    user_token: str
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    a: Side
    b: Side
    a_only_product: models.Product
    shared_product: models.Product


async def _side(clock, name: str, user_name: str, quantity: int, invoice_prefix: str) -> Side:
    org = await sign_up(clock, name)
    user, user_token = await add_user(org, clock, user_name)
    card = await add_card(org, clock)
    subscription = await add_subscription(org, clock, "O365_E3", quantity=quantity, holders=[user])
    assignment = await models.LicenseAssignment.get(subscription_id=subscription.id)
    invoice = await add_invoice(org, clock, f"{invoice_prefix}-0001", days_ago=5)
    domain = await models.Domain.get(tenant_id=org.tenant.id)
    event = await models.AuditEvent.filter(tenant_id=org.tenant.id).order_by("id").first()
    assert event is not None
    business_event = await models.Event.filter(tenant_id=org.tenant.id).order_by("id").first()
    endpoint = await models.WebhookEndpoint.create(
        tenant_id=org.tenant.id, url=f"https://hooks.{name.lower()}.example/", secret="whsec_x", created_at=clock.now())
    delivery = await models.WebhookDelivery.create(
        tenant_id=org.tenant.id, endpoint_id=endpoint.id, event_id=business_event.id, attempt=1,
        status=models.DeliveryStatus.SUCCEEDED, response_status=200, attempted_at=clock.now(), created_at=clock.now())
    side = Side(org, user, user_token)
    side.ids = {
        "Tenant": gid("Tenant", org.tenant.id),
        "Domain": gid("Domain", domain.id),
        "User": gid("User", user.id),
        "BillingAccount": gid("BillingAccount", org.account.id),
        "BillingProfile": gid("BillingProfile", org.profile.id),
        "PaymentMethod": gid("PaymentMethod", card.id),
        "Subscription": gid("Subscription", subscription.id),
        "LicenseAssignment": gid("LicenseAssignment", assignment.id),
        "Invoice": gid("Invoice", invoice.id),
        "AuditEvent": gid("AuditEvent", event.id),
        "ApiToken": gid("ApiToken", (await models.ApiToken.get(user_id=org.admin.id)).id),
        "Event": gid("Event", business_event.id),
        "WebhookEndpoint": gid("WebhookEndpoint", endpoint.id),
        "WebhookDelivery": gid("WebhookDelivery", delivery.id),
    }
    return side


@pytest.fixture
async def world(client, clock) -> World:
    """Contoso (A) and Fabrikam (B), each with a plain user holding a seat of an O365_E3
    subscription, a card, an invoice and audit events; A also has an old invoice and an
    Exchange subscription of a product B never bought."""
    a = await _side(clock, "Contoso", "Alice", quantity=10, invoice_prefix="A")
    b = await _side(clock, "Fabrikam", "Bob", quantity=3, invoice_prefix="B")
    await add_invoice(a.org, clock, "A-0002", days_ago=400)
    await add_subscription(a.org, clock, "EXCHANGE_ONLINE_P1", quantity=5)
    return World(
        a=a, b=b,
        a_only_product=await models.Product.get(sku="EXCHANGE_ONLINE_P1"),
        shared_product=await models.Product.get(sku="O365_E3"),
    )


async def _ids_of(model: type[models.Model], tenant_id: int, type_name: str) -> set[str]:
    pks = await model.filter(tenant_id=tenant_id).values_list("id", flat=True)
    return {gid(type_name, pk) for pk in pks}


# --- node(id:) and nodes(ids:) -------------------------------------------------------------


@pytest.mark.parametrize("type_name", NODE_TYPES)
async def test_node_of_another_tenant_reads_exactly_like_a_nonexistent_one(client, world, type_name):
    """SPEC §1: another tenant's object is reported exactly like one that does not exist."""
    # given
    b_admin = world.b.org.token
    # when
    foreign = await gql(client, NODE, {"id": world.a.ids[type_name]}, token=b_admin)
    missing = await gql(client, NODE, {"id": gid(type_name, NONEXISTENT_PK)}, token=b_admin)
    own = await gql(client, NODE, {"id": world.b.ids[type_name]}, token=b_admin)
    # then
    assert foreign == {"data": {"node": None}}
    assert foreign == missing
    # the same caller does read its own object of that type, so the null above is isolation
    assert own == {"data": {"node": {"__typename": type_name, "id": world.b.ids[type_name]}}}


async def test_node_of_another_tenant_is_found_by_that_tenant(client, world):
    """SPEC §1: the IDs used above are real objects, readable by their own tenant's admin."""
    # given
    a_admin = world.a.org.token
    # when
    bodies = {t: await gql(client, NODE, {"id": world.a.ids[t]}, token=a_admin) for t in NODE_TYPES}
    # then
    assert bodies == {t: {"data": {"node": {"__typename": t, "id": world.a.ids[t]}}} for t in NODE_TYPES}


async def test_nodes_of_another_tenant_read_exactly_like_nonexistent_ones(client, world):
    """SPEC §1: `nodes(ids:)` nulls another tenant's objects in place, like missing ones."""
    # given
    foreign_ids = [world.a.ids[t] for t in NODE_TYPES]
    missing_ids = [gid(t, NONEXISTENT_PK) for t in NODE_TYPES]
    # when
    foreign = await gql(client, NODES, {"ids": foreign_ids}, token=world.b.org.token)
    missing = await gql(client, NODES, {"ids": missing_ids}, token=world.b.org.token)
    # then
    assert foreign == {"data": {"nodes": [None] * len(NODE_TYPES)}}
    assert foreign == missing


async def test_nodes_mixing_both_tenants_keep_order_and_show_only_the_callers(client, world):
    """SPEC §1: in a mixed list only the caller's own objects come back, in request order."""
    # given
    ids = []
    for type_name in NODE_TYPES:
        ids += [world.a.ids[type_name], world.b.ids[type_name]]
    # when
    body = await gql(client, NODES, {"ids": ids}, token=world.b.org.token)
    # then
    expected = []
    for type_name in NODE_TYPES:
        expected += [None, {"__typename": type_name, "id": world.b.ids[type_name]}]
    assert body == {"data": {"nodes": expected}}


# --- lists -----------------------------------------------------------------------------------


async def test_lists_of_a_global_admin_contain_only_their_own_tenant(client, world):
    """SPEC §1: every list (tenant users and domains, subscriptions and their assignments,
    billing accounts, profiles, cards, invoices of any period, audit log, licence summary)
    holds the caller's tenant only."""
    # given
    a, b = world.a, world.b
    b_tenant = b.org.tenant.id
    b_users = sorted([(gid("User", b.org.admin.id), b.org.admin.email), (b.ids["User"], b.user.email)])
    # when
    body = await gql(client, EVERYTHING, token=b.org.token)
    # then
    assert "errors" not in body, body
    data = body["data"]
    tenant = data["tenant"]
    assert (tenant["id"], tenant["name"]) == (b.ids["Tenant"], "Fabrikam")
    assert tenant["domains"] == [{"id": b.ids["Domain"], "name": "fabrikam.onmicrosoft.com"}]
    users = tenant["users"]
    assert users["totalCount"] == 2
    assert sorted((e["node"]["id"], e["node"]["email"]) for e in users["edges"]) == b_users
    assignments_of_users = [la["id"] for e in users["edges"] for la in e["node"]["licenseAssignments"]]
    assert assignments_of_users == [b.ids["LicenseAssignment"]]

    assert data["subscriptions"] == {
        "totalCount": 1,
        "edges": [{"node": {
            "id": b.ids["Subscription"],
            "quantity": 3,
            "licenseAssignments": {
                "totalCount": 1,
                "edges": [{"node": {"id": b.ids["LicenseAssignment"], "user": {"id": b.ids["User"]}}}],
            },
        }}],
    }
    assert data["billingAccounts"] == [{
        "id": b.ids["BillingAccount"],
        "owner": {"id": gid("User", b.org.admin.id)},
        "billingProfiles": [{
            "id": b.ids["BillingProfile"],
            "paymentMethod": {"id": b.ids["PaymentMethod"]},
            "invoices": {"edges": [{"node": {"id": b.ids["Invoice"]}}]},
        }],
    }]
    assert data["invoices"] == {
        "totalCount": 1, "edges": [{"node": {"id": b.ids["Invoice"], "number": "B-0001"}}],
    }
    audit = data["auditLog"]
    b_events = await _ids_of(models.AuditEvent, b_tenant, "AuditEvent")
    a_events = await _ids_of(models.AuditEvent, a.org.tenant.id, "AuditEvent")
    listed = {e["node"]["id"] for e in audit["edges"]}
    assert audit["totalCount"] == len(b_events) >= 2  # signed up + Bob created
    assert listed == b_events
    assert not listed & a_events
    a_objects = set(a.ids.values()) | {gid("User", a.org.admin.id)}
    assert not {e["node"]["objectId"] for e in audit["edges"]} & a_objects
    assert {e["node"]["actor"]["id"] for e in audit["edges"]} == {gid("User", b.org.admin.id)}
    # A has 10 + 5 licences in two products; B's summary knows only its own 3
    assert data["licenseSummary"] == [
        {"product": {"sku": "O365_E3"}, "purchased": 3, "assigned": 1, "available": 2},
    ]


async def test_no_list_of_another_tenant_names_an_object_of_tenant_a(client, world):
    """SPEC §1: nowhere in B's answer appears an ID, a name or an email of tenant A."""
    # given
    a = world.a
    a_markers = set(a.ids.values()) | {
        gid("User", a.org.admin.id), "Contoso", "contoso", a.user.email, a.org.admin.email, "A-0001", "A-0002",
    }
    # when
    body = await gql(client, EVERYTHING, token=world.b.org.token)
    # then
    text = str(body)
    assert [marker for marker in a_markers if marker in text] == []
    # and tenant A's own admin does see them, so the markers are real
    own = str(await gql(client, EVERYTHING, token=a.org.token))
    assert all(marker in own for marker in set(a.ids.values()) | {"A-0001", "A-0002", a.user.email})


async def test_subscription_filter_by_a_product_only_another_tenant_holds_is_empty(client, world):
    """SPEC §1: filtering by a catalogue product finds the caller's subscriptions only."""
    # when
    a_only = await gql(
        client, SUBSCRIPTIONS_OF_PRODUCT, {"productId": gid("Product", world.a_only_product.id)},
        token=world.b.org.token,
    )
    shared = await gql(
        client, SUBSCRIPTIONS_OF_PRODUCT, {"productId": gid("Product", world.shared_product.id)},
        token=world.b.org.token,
    )
    by_status = await gql(client, SUBSCRIPTIONS_BY_STATUS, {"status": ["ACTIVE"]}, token=world.b.org.token)
    # then
    assert a_only == {"data": {"subscriptions": {"totalCount": 0, "edges": []}}}
    only_b = {"data": {"subscriptions": {"totalCount": 1, "edges": [{"node": {"id": world.b.ids["Subscription"]}}]}}}
    assert shared == only_b
    assert by_status == only_b


async def test_subscription_filter_with_another_tenants_id_reads_like_a_nonexistent_id(client, world):
    """SPEC §1: an ID of another tenant's object given as a filter is refused exactly like an
    ID that does not exist."""
    # when
    foreign = await gql(
        client, SUBSCRIPTIONS_OF_PRODUCT, {"productId": world.a.ids["Subscription"]}, token=world.b.org.token
    )
    missing = await gql(
        client, SUBSCRIPTIONS_OF_PRODUCT, {"productId": gid("Subscription", NONEXISTENT_PK)},
        token=world.b.org.token,
    )
    # then
    assert foreign["data"] is None
    assert [e["extensions"]["code"] for e in foreign["errors"]] == ["NOT_FOUND"]
    assert foreign == missing


# --- inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mutation", sorted(IDENTITY_MUTATIONS))
async def test_identity_mutations_on_another_tenants_user_or_token_read_like_a_nonexistent_one(
    client, world, mutation
):
    """SPEC §1 rev. 2: B's global admin cannot revoke A's tokens, change A's roles or remove
    A's users; the refusal is the one for an object that does not exist, nothing is written."""
    # given
    input_type, selection, argument, type_name = IDENTITY_MUTATIONS[mutation]
    document = (f"mutation M($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} "
                "userErrors { code field message } } }")
    foreign_pk = (await models.ApiToken.get(user_id=world.a.user.id)).id if type_name == "ApiToken" else world.a.user.id
    extra = {"roles": ["GLOBAL_ADMIN"]} if mutation == "setUserRoles" else {}
    events_before = await models.AuditEvent.all().count()
    # when
    foreign = await gql(client, document, {"input": {argument: gid(type_name, foreign_pk), **extra}},
                        token=world.b.org.token)
    missing = await gql(client, document, {"input": {argument: gid(type_name, NONEXISTENT_PK), **extra}},
                        token=world.b.org.token)
    # then
    [error] = foreign["data"][mutation]["userErrors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", argument])
    assert foreign == missing
    assert await models.AuditEvent.all().count() == events_before
    assert (await models.User.get(id=world.a.user.id)).removed_at is None
    assert await gql(client, "{ viewer { id } }", token=world.a.user_token) == {"data": {"viewer": {"id": world.a.ids["User"]}}}


async def test_tokens_of_one_tenant_never_read_the_other(client, world, clock):
    """SPEC §1: a fresh token of A's plain user reads A, never B (the isolation is symmetric)."""
    # given
    token = await token_for(world.a.org, world.a.user, clock)
    # when
    body = await gql(client, NODES, {"ids": list(world.b.ids.values())}, token=token)
    viewer = await gql(client, "{ viewer { id } tenant { id } }", token=token)
    # then
    assert body == {"data": {"nodes": [None] * len(NODE_TYPES)}}
    assert viewer == {"data": {"viewer": {"id": world.a.ids["User"]}, "tenant": {"id": world.a.ids["Tenant"]}}}


# --- read visibility inside one tenant (SPEC §1, §6, §8; visibility.py) ----------------------


@dataclass
class Office:
    """One tenant: a global admin owning the organization's account, a billing admin, a
    licence admin, a plain user Pat holding a seat of the organization's subscription, and
    a plain user Sam with a self-service account, subscription, seat and invoice."""

    org: Org
    tokens: dict[str, str]
    ids: dict[str, str]


@pytest.fixture
async def office(client, clock) -> Office:
    org = await sign_up(clock, "Contoso")
    billing_admin, billing_token = await add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    license_admin, license_token = await add_user(org, clock, "Lena", [models.Role.LICENSE_ADMIN])
    pat, pat_token = await add_user(org, clock, "Pat")
    sam, sam_token = await add_user(org, clock, "Sam")
    org_subscription = await add_subscription(org, clock, "O365_E3", quantity=5, holders=[pat])
    org_invoice = await add_invoice(org, clock, "ORG-1", days_ago=3)
    now = clock.now()
    sam_account = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Sam's account", type=models.BillingAccountType.MCA, owner_id=sam.id,
        charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=now,
    )
    sam_profile = await models.BillingProfile.create(
        tenant_id=org.tenant.id, billing_account_id=sam_account.id, name="Sam's profile", created_at=now,
    )
    sam_subscription = await add_subscription(
        org, clock, "POWER_BI_PRO", quantity=2, holders=[sam], account=sam_account, profile=sam_profile,
        purchase_channel=models.PurchaseChannel.SELF_SERVICE, purchased_by_id=sam.id,
    )
    sam_invoice = await models.Invoice.create(
        tenant_id=org.tenant.id, billing_account_id=sam_account.id, billing_profile_id=sam_profile.id,
        number="SAM-1", issue_date=(now - timedelta(days=2)).date(), period_start=now.date(),
        period_end=(now + timedelta(days=30)).date(), status=models.InvoiceStatus.PAID,
        total="28.00", amount_due="0.00", created_at=now,
    )
    pat_seat = await models.LicenseAssignment.get(user_id=pat.id)
    sam_seat = await models.LicenseAssignment.get(user_id=sam.id)
    return Office(
        org=org,
        tokens={
            "GLOBAL_ADMIN": org.token, "BILLING_ADMIN": billing_token, "LICENSE_ADMIN": license_token,
            "PLAIN_USER": pat_token, "SELF_SERVICE_BUYER": sam_token,
        },
        ids={
            "org_subscription": gid("Subscription", org_subscription.id),
            "sam_subscription": gid("Subscription", sam_subscription.id),
            "org_account": gid("BillingAccount", org.account.id),
            "sam_account": gid("BillingAccount", sam_account.id),
            "org_invoice": gid("Invoice", org_invoice.id),
            "sam_invoice": gid("Invoice", sam_invoice.id),
            "pat_seat": gid("LicenseAssignment", pat_seat.id),
            "sam_seat": gid("LicenseAssignment", sam_seat.id),
        },
    )


# caller -> (subscriptions with the billing account each shows, billing accounts, invoices,
#            the caller's own licence assignments with the subscription each shows,
#            may read the audit log)
READ_MATRIX = {
    "GLOBAL_ADMIN": (
        [("org_subscription", "org_account"), ("sam_subscription", None)],
        ["org_account"], ["org_invoice"], [], True,
    ),
    "BILLING_ADMIN": (
        [("org_subscription", "org_account"), ("sam_subscription", None)],
        ["org_account"], ["org_invoice"], [], True,
    ),
    "LICENSE_ADMIN": (
        [("org_subscription", None), ("sam_subscription", None)],
        [], [], [], True,
    ),
    "PLAIN_USER": (
        [], [], [], [("pat_seat", None)], False,
    ),
    "SELF_SERVICE_BUYER": (
        [("sam_subscription", "sam_account")],
        ["sam_account"], ["sam_invoice"], [("sam_seat", "sam_subscription")], False,
    ),
}


@pytest.mark.parametrize("caller", list(READ_MATRIX))
async def test_read_visibility_by_role(client, office, caller):
    """SPEC §1, §6, §8: admins see every subscription (self-service ones too); only billing
    admins and owners read billing accounts and invoices, self-service ones only their buyer;
    a plain user sees what they bought and always their own licences; the audit log is for
    admins. A list, a nested field and `node(id:)` agree."""
    # given
    subscriptions, accounts, invoices, seats, reads_audit = READ_MATRIX[caller]
    ids = office.ids
    token = office.tokens[caller]
    # when
    body = await gql(client, VISIBLE_READS, token=token)
    audit = await gql(client, AUDIT_LOG, token=token)
    # then
    assert "errors" not in body, body
    data = body["data"]
    assert [
        (e["node"]["id"], e["node"]["billingAccount"] and e["node"]["billingAccount"]["id"])
        for e in data["subscriptions"]["edges"]
    ] == [(ids[s], ids[a] if a else None) for s, a in subscriptions]
    # a subscription's billing profile is readable exactly when its billing account is
    assert [
        e["node"]["billingProfile"] and e["node"]["billingProfile"]["billingAccount"]["id"]
        for e in data["subscriptions"]["edges"]
    ] == [ids[a] if a else None for _, a in subscriptions]
    assert [a["id"] for a in data["billingAccounts"]] == [ids[a] for a in accounts]
    assert [e["node"]["id"] for e in data["invoices"]["edges"]] == [ids[i] for i in invoices]
    assert [
        (la["id"], la["subscription"] and la["subscription"]["id"]) for la in data["viewer"]["licenseAssignments"]
    ] == [(ids[la], ids[s] if s else None) for la, s in seats]
    if reads_audit:
        assert "errors" not in audit, audit
        assert audit["data"]["auditLog"]["totalCount"] >= 5  # signed up + four users created
    else:
        assert audit["data"] is None
        assert [e["extensions"]["code"] for e in audit["errors"]] == ["FORBIDDEN"]
        assert audit["errors"][0]["path"] == ["auditLog"]
    # node(id:) agrees with the lists
    visible = {ids[s] for s, _ in subscriptions} | {ids[a] for a in accounts} | {ids[i] for i in invoices}
    for name, global_id in ids.items():
        if name.endswith("_seat"):
            continue
        node = await gql(client, NODE, {"id": global_id}, token=token)
        assert (node["data"]["node"] is not None) == (global_id in visible), (name, node)
