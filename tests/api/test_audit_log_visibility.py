"""The audit log shows a reader only what they may read elsewhere (SPEC §8 rev. 2; security
audit finding 6): the card details of a self-service account (name, address, last four,
expiry) only to its owner. Every admin still sees the entry itself (who, what, when)."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

PURCHASE = """
mutation Buy($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) { userErrors { code } } }
"""
ADD = """
mutation Add($input: AddPaymentMethodInput!) { addPaymentMethod(input: $input) { userErrors { code } } }
"""
UPDATE = """
mutation Update($input: UpdatePaymentMethodInput!) { updatePaymentMethod(input: $input) { userErrors { code } } }
"""
AUDIT_LOG = """
{ auditLog(first: 100) { edges { node { id action objectType objectId before after detailsHidden at
                                        actor { displayName } } } } }
"""
NODE = """
query Node($id: ID!) { node(id: $id) { ... on AuditEvent { action before after detailsHidden } } }
"""
CARD = {"number": "4111111111111111", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030,
        "nameOnCard": "Pat Buyer", "address": {"line1": "7 Secret Lane", "city": "Bonn", "postalCode": "53111",
                                                "country": "DE"}}
CARD_DETAILS = ("1111", "Pat Buyer", "7 Secret Lane", "Bonn", "Pat Paid", "9 Hidden Road", "2031")


async def _card_entries(client, token: str) -> list[dict]:
    body = await gql(client, AUDIT_LOG, token=token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["auditLog"]["edges"]
            if edge["node"]["objectType"] == "PaymentMethod"]


async def _self_service_card_of(client, clock, org, token: str, owner_id: int) -> None:
    """`token`'s user buys self-service, adds a card to their own profile, then edits its
    name, address and expiry."""
    product = gid("Product", (await models.Product.get(sku="POWER_BI_PRO")).id)
    body = await gql(client, PURCHASE, {"input": {"productId": product, "quantity": 1, "commitmentTerm": "MONTHLY",
                                                  "newPaymentMethod": {**CARD, "number": "4242424242424242"}}},
                     token=token)
    assert body["data"]["purchaseSubscription"]["userErrors"] == []
    profile = await models.BillingProfile.get(billing_account__owner_id=owner_id, billing_account__self_service=True)
    body = await gql(client, ADD, {"input": {"billingProfileId": gid("BillingProfile", profile.id), "card": CARD}},
                     token=token)
    assert body["data"]["addPaymentMethod"]["userErrors"] == []
    method = await models.PaymentMethod.get(billing_account__owner_id=owner_id, last4="1111")
    body = await gql(client, UPDATE, {"input": {"paymentMethodId": gid("PaymentMethod", method.id), "expiryYear": 2031,
                                                "nameOnCard": "Pat Paid",
                                                "address": {**CARD["address"], "line1": "9 Hidden Road"}}}, token=token)
    assert body["data"]["updatePaymentMethod"]["userErrors"] == []


@pytest.mark.parametrize("reader", ["global admin", "billing admin", "licence admin"])
async def test_admins_see_a_self_service_card_entry_without_its_card_details(client, clock, reader):
    # given: a plain user's self-service card, added and edited
    org = await factories.sign_up(clock)
    pat, pat_token = await factories.add_user(org, clock, "Pat")
    await _self_service_card_of(client, clock, org, pat_token, pat.id)
    roles = {"global admin": [models.Role.GLOBAL_ADMIN], "billing admin": [models.Role.BILLING_ADMIN],
             "licence admin": [models.Role.LICENSE_ADMIN]}[reader]
    _, token = await factories.add_user(org, clock, "Reader", roles)
    # when
    entries = await _card_entries(client, token)
    # then: who, what and when, but no card detail anywhere in the entry
    assert sorted(entry["action"] for entry in entries) == ["payment_method.added", "payment_method.updated"]
    for entry in entries:
        assert entry["actor"] == {"displayName": "Pat"} and entry["at"]
        assert (entry["before"], entry["after"], entry["detailsHidden"]) == (None, None, True)
        single = (await gql(client, NODE, {"id": entry["id"]}, token=token))["data"]["node"]
        assert single == {"action": entry["action"], "before": None, "after": None, "detailsHidden": True}
    assert not any(detail in str(entries) for detail in CARD_DETAILS)


async def test_an_admin_who_owns_the_self_service_account_sees_its_card_details(client, clock):
    # given: a licence admin buys self-service (licence admins do not manage the organization's money)
    org = await factories.sign_up(clock)
    lee, lee_token = await factories.add_user(org, clock, "Lee", [models.Role.LICENSE_ADMIN])
    await _self_service_card_of(client, clock, org, lee_token, lee.id)
    # when
    own = await _card_entries(client, lee_token)
    others = await _card_entries(client, org.token)
    # then: the owner reads everything, the global admin nothing of it
    updated = next(entry for entry in own if entry["action"] == "payment_method.updated")
    assert updated["detailsHidden"] is False
    assert updated["before"]["name_on_card"] == "Pat Buyer" and updated["after"]["name_on_card"] == "Pat Paid"
    assert updated["after"]["address"]["line1"] == "9 Hidden Road" and updated["after"]["expiry_year"] == 2031
    added = next(entry for entry in own if entry["action"] == "payment_method.added")
    assert added["after"]["last4"] == "1111"
    assert len(others) == 2 and not any(detail in str(others) for detail in CARD_DETAILS)


async def test_the_organizations_card_entries_show_to_those_who_read_its_cards(client, clock):
    # given: the organization's own card, added by its global admin
    org = await factories.sign_up(clock)
    body = await gql(client, ADD, {"input": {"billingProfileId": gid("BillingProfile", org.profile.id), "card": CARD}},
                     token=org.token)
    assert body["data"]["addPaymentMethod"]["userErrors"] == []
    _, billing = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    _, licences = await factories.add_user(org, clock, "Lee", [models.Role.LICENSE_ADMIN])
    # then: billing admins read the organization's cards elsewhere, licence admins do not
    for token in (org.token, billing):
        [entry] = await _card_entries(client, token)
        assert entry["detailsHidden"] is False and entry["after"]["last4"] == "1111"
    [entry] = await _card_entries(client, licences)
    assert (entry["action"], entry["after"], entry["detailsHidden"]) == ("payment_method.added", None, True)
