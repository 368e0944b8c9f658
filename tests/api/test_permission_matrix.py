"""Who may call which mutation (SPEC §1, §6; API.md): every mutation of the schema against
every kind of caller. A mutation added to the schema without a row here fails the test."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from billing_center.domain import models
from billing_center.domain.auth import hash_token
from billing_center.schema.root import schema
from tests import factories
from tests.conftest import OPERATOR_TOKEN
from tests.factories import gid, gql

ROLES = ["global_admin", "billing_admin", "license_admin", "plain_user", "self_service_buyer",
         "other_tenant_admin", "operator", "no_token"]
ADMINS = {"global_admin"}
MONEY = {"global_admin", "billing_admin"}
LICENCES = {"global_admin", "license_admin"}


@dataclass
class World:
    """One organization with a bit of everything, and a token per kind of caller."""

    tokens: dict[str, str | None]
    ids: dict[str, str]


@pytest.fixture
async def world(database, clock) -> World:
    # A sandbox tenant (its clock is the test clock) so that advanceClock can succeed.
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA, sandbox=True)
    other = await factories.sign_up(clock, name="Fabrikam")
    _, billing = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    _, licensing = await factories.add_user(org, clock, "Lia", [models.Role.LICENSE_ADMIN])
    _, plain = await factories.add_user(org, clock, "Pat")
    buyer, buyer_token = await factories.add_user(org, clock, "Bea")
    member, member_token = await factories.add_user(org, clock, "Member")
    held, _ = await factories.add_user(org, clock, "Holder")
    card = await factories.add_card(org, clock)
    own = await models.BillingAccount.create(
        tenant_id=org.tenant.id, name="Bea's", type=models.BillingAccountType.MCA, owner_id=buyer.id,
        charge_schedule=models.ChargeSchedule.RENEWAL_DAY, self_service=True, created_at=clock.now())
    await models.BillingProfile.create(tenant_id=org.tenant.id, billing_account_id=own.id, name="Bea", created_at=clock.now())
    subscription = await factories.add_subscription(org, clock, quantity=10, holders=[held])
    cancelled = await factories.add_subscription(
        org, clock, status=models.SubscriptionStatus.DISABLED, status_reason=models.StatusReason.CANCELLED,
        disabled_at=clock.now(), cancelled_at=clock.now())
    invoice = await factories.add_invoice(org, clock, "INV-1", days_ago=3)
    domain = await models.Domain.create(tenant_id=org.tenant.id, name="matrix.example", created_at=clock.now())
    product = await models.Product.get(sku="O365_E1")
    endpoint = await models.WebhookEndpoint.create(
        tenant_id=org.tenant.id, url="https://hooks.example.com/billing", secret="whsec_matrix", created_at=clock.now())
    event = await models.Event.filter(tenant_id=org.tenant.id).order_by("sequence").first()
    key = (await models.ProductKey.create(
        key="BCDFGHJKMPQRTVWXY23467899", product_id=product.id, quantity=1,
        commitment_term=models.CommitmentTerm.ANNUAL, cloud=models.Cloud.WORLDWIDE,
        expires_at=clock.now().replace(year=2030), created_at=clock.now())).key
    return World(
        tokens={"global_admin": org.token, "billing_admin": billing, "license_admin": licensing,
                "plain_user": plain, "self_service_buyer": buyer_token, "other_tenant_admin": other.token,
                "operator": OPERATOR_TOKEN, "no_token": None},
        ids={"subscription": gid("Subscription", subscription.id), "cancelled": gid("Subscription", cancelled.id),
             "invoice": gid("Invoice", invoice.id), "member": gid("User", member.id),
             "held": gid("User", held.id),
             "member_token": gid("ApiToken", (await models.ApiToken.get(token_hash=hash_token(member_token))).id), "profile": gid("BillingProfile", org.profile.id),
             "card": gid("PaymentMethod", card.id), "domain": gid("Domain", domain.id),
             "product": gid("Product", product.id), "key": key,
             "endpoint": gid("WebhookEndpoint", endpoint.id), "event": gid("Event", event.id),
             "self_service_product": gid("Product", (await models.Product.get(sku="POWER_BI_PRO")).id)},
    )


CARD = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "X"}

# mutation -> (input builder, roles that succeed). Everyone else is refused.
MATRIX = {
    "signUp": (lambda ids, role: {"organizationName": f"New {role}", "adminDisplayName": "A", "adminEmail": "a@new.example",
                                  "cloud": "WORLDWIDE", "billingAccountType": "MCA"}, set(ROLES)),
    # These name nothing of the organization: another tenant's admin acts on their own tenant.
    "createUser": (lambda ids, role: {"displayName": "N", "email": "n@contoso.example"}, ADMINS | {"other_tenant_admin"}),
    # SPEC §1 rev. 2: everyone of a tenant makes tokens, for themself only.
    "createApiToken": (lambda ids, role: {"name": f"matrix {role}"}, set(ROLES) - {"operator", "no_token"}),
    "revokeApiToken": (lambda ids, role: {"tokenId": ids["member_token"]}, ADMINS),
    "setUserRoles": (lambda ids, role: {"userId": ids["member"], "roles": ["LICENSE_ADMIN"]}, ADMINS),
    "removeUser": (lambda ids, role: {"userId": ids["member"]}, ADMINS),
    "addDomain": (lambda ids, role: {"name": f"new-{role.replace('_', '-')}.example"}, ADMINS | {"other_tenant_admin"}),
    "removeDomain": (lambda ids, role: {"domainId": ids["domain"]}, ADMINS),
    "addPaymentMethod": (lambda ids, role: {"billingProfileId": ids["profile"], "card": CARD}, MONEY),
    "updatePaymentMethod": (lambda ids, role: {"paymentMethodId": ids["card"], "nameOnCard": "Y"}, MONEY),
    "replacePaymentMethod": (lambda ids, role: {"billingProfileId": ids["profile"], "paymentMethodId": ids["card"]}, MONEY),
    "assignLicenses": (lambda ids, role: {"subscriptionId": ids["subscription"], "userIds": [ids["member"]]}, LICENCES),
    "unassignLicenses": (lambda ids, role: {"subscriptionId": ids["subscription"], "userIds": [ids["held"]]}, LICENCES),
    "updateLicenseQuantity": (lambda ids, role: {"subscriptionId": ids["subscription"], "totalLicenses": 12}, MONEY),
    "cancelSubscription": (lambda ids, role: {"subscriptionId": ids["subscription"], "reason": "OTHER"}, MONEY),
    "setAutoRenew": (lambda ids, role: {"subscriptionId": ids["subscription"], "autoRenew": False}, MONEY),
    "redeemProductKey": (lambda ids, role: {"productKey": ids["key"]}, MONEY | {"other_tenant_admin"}),
    # Anyone of a tenant buys: admins who manage billing for the organization, the others
    # self-service (Power BI Pro is a self-service product); the operator has no tenant.
    "purchaseSubscription": (lambda ids, role: {"productId": ids["self_service_product"], "quantity": 1,
                                                "commitmentTerm": "MONTHLY", "newPaymentMethod": CARD},
                             set(ROLES) - {"operator", "no_token"}),
    "setSelfServicePolicy": (lambda ids, role: {"productId": ids["product"], "policy": "DENY"},
                             ADMINS | {"other_tenant_admin"}),
    "reactivateSubscription": (lambda ids, role: {"subscriptionId": ids["cancelled"], "paymentMethodId": ids["card"]}, MONEY),
    "payInvoice": (lambda ids, role: {"invoiceId": ids["invoice"], "paymentMethodId": ids["card"]}, MONEY),
    "issueProductKeys": (lambda ids, role: {"productId": ids["product"], "count": 1, "cloud": "WORLDWIDE"}, {"operator"}),
    # The other tenant is live: its admin is refused with CLOCK_NOT_SANDBOX.
    "advanceClock": (lambda ids, role: {"to": "2026-11-22T10:00:00Z"}, MONEY),
    "runBilling": (lambda ids, role: {}, {"operator"}),
    # SPEC §9: global admins; a new endpoint names nothing of the organization.
    "createWebhookEndpoint": (lambda ids, role: {"url": "https://hooks.example.com/new"},
                              ADMINS | {"other_tenant_admin"}),
    "updateWebhookEndpoint": (lambda ids, role: {"endpointId": ids["endpoint"], "description": "x"}, ADMINS),
    "deleteWebhookEndpoint": (lambda ids, role: {"endpointId": ids["endpoint"]}, ADMINS),
    "redeliverEvent": (lambda ids, role: {"endpointId": ids["endpoint"], "eventId": ids["event"]}, ADMINS),
}
REFUSALS = {"FORBIDDEN", "NOT_FOUND", "READ_ONLY_SELF_SERVICE", "USER_NOT_IN_TENANT", "CLOCK_NOT_SANDBOX"}


def _mutations() -> list[str]:
    return sorted(schema._schema.mutation_type.fields)


def test_every_mutation_has_a_row():
    assert sorted(MATRIX) == _mutations()


def _input_type(mutation: str) -> str:
    return str(schema._schema.mutation_type.fields[mutation].args["input"].type)


@pytest.mark.parametrize("mutation, role", list(itertools.product(sorted(MATRIX), ROLES)))
async def test_permission(client, world, mutation, role):
    build, allowed = MATRIX[mutation]
    document = f"mutation M($input: {_input_type(mutation)}) {{ {mutation}(input: $input) {{ userErrors {{ code }} }} }}"
    body = await gql(client, document, {"input": build(world.ids, role)}, token=world.tokens[role])
    if role == "no_token" and mutation != "signUp":
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        return
    errors = body["data"][mutation]["userErrors"]
    if role in allowed:
        assert errors == [], errors
    else:
        assert errors and errors[0]["code"] in REFUSALS, errors
