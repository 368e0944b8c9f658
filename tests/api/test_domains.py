"""addDomain / removeDomain (SPEC §1) and the cancel blocker they make (SPEC §5)."""

from __future__ import annotations

import pytest

from billing_center.domain import models
from tests import factories
from tests.factories import gid, gql

ADD = """
mutation Add($input: AddDomainInput!) {
  addDomain(input: $input) { domain { id name isDefault subscription { id } } userErrors { code field message } }
}
"""
REMOVE = """
mutation Remove($input: RemoveDomainInput!) { removeDomain(input: $input) { removedDomainId userErrors { code field } } }
"""
CANCEL_STATE = """
query($id: ID!) { node(id: $id) { ... on Subscription { domains { name }
  availableActions { action allowed code reason } } } }
"""


async def _cancel_state(client, token, subscription_id):
    body = await gql(client, CANCEL_STATE, {"id": gid("Subscription", subscription_id)}, token=token)
    node = body["data"]["node"]
    return node["domains"], next(a for a in node["availableActions"] if a["action"] == "CANCEL")


async def test_a_domain_attached_to_a_subscription_blocks_cancel_until_removed(client, clock):
    # given
    org = await factories.sign_up(clock, account_type=models.BillingAccountType.MOSA)
    subscription = await factories.add_subscription(org, clock)
    # when
    body = await gql(client, ADD, {"input": {"name": "Contoso.com", "subscriptionId": gid("Subscription", subscription.id)}}, token=org.token)
    # then
    payload = body["data"]["addDomain"]
    assert payload["userErrors"] == []
    assert payload["domain"]["name"] == "contoso.com"
    assert payload["domain"]["subscription"] == {"id": gid("Subscription", subscription.id)}
    domains, cancel = await _cancel_state(client, org.token, subscription.id)
    assert domains == [{"name": "contoso.com"}]
    assert (cancel["allowed"], cancel["code"]) == (False, "DOMAIN_MUST_BE_REMOVED")
    assert "contoso.com" in cancel["reason"]
    removed = await gql(client, REMOVE, {"input": {"domainId": payload["domain"]["id"]}}, token=org.token)
    assert removed["data"]["removeDomain"] == {"removedDomainId": payload["domain"]["id"], "userErrors": []}
    _, cancel = await _cancel_state(client, org.token, subscription.id)
    assert cancel["allowed"] is True


@pytest.mark.parametrize("name", ["not a domain", "x", "contoso.onmicrosoft.com", "-bad-.com"])
async def test_malformed_domains_are_refused(client, clock, name):
    org = await factories.sign_up(clock)
    body = await gql(client, ADD, {"input": {"name": name}}, token=org.token)
    assert body["data"]["addDomain"]["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_low_finding_custom_domains_are_unique_per_tenant_with_no_cross_tenant_answer(client, clock):
    """Low finding (domain oracle and squatting): tenant A adding `contoso.com` made tenant
    B's `addDomain` of it fail with a tell-tale ALREADY_EXISTS. Custom domains are unique per
    tenant only (SPEC §1 decision in domain/domains.py): B adds the name as if A did not
    exist, and only adding it twice to one tenant is refused."""
    # given
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    first = await gql(client, ADD, {"input": {"name": "shared.com"}}, token=org.token)
    assert first["data"]["addDomain"]["userErrors"] == []
    # when
    body = await gql(client, ADD, {"input": {"name": "Shared.com"}}, token=other.token)
    again = await gql(client, ADD, {"input": {"name": "shared.com"}}, token=other.token)
    # then
    assert body["data"]["addDomain"]["userErrors"] == []
    assert body["data"]["addDomain"]["domain"]["name"] == "shared.com"
    assert [e["code"] for e in again["data"]["addDomain"]["userErrors"]] == ["ALREADY_EXISTS"]
    assert await models.Domain.filter(name="shared.com").count() == 2
    assert await models.Domain.filter(name="shared.com", tenant_id=other.tenant.id).count() == 1


async def test_the_default_onmicrosoft_domain_stays_unique_across_tenants(client, clock):
    """SPEC §1 decision: `<prefix>.onmicrosoft.com` is issued by the platform, so a second
    organization asking for a taken prefix is told to choose another."""
    # given
    await factories.sign_up(clock, name="Contoso")
    # when
    body = await gql(client, """mutation S($input: SignUpInput!) { signUp(input: $input) { token
        userErrors { code field } } }""", {"input": {
        "organizationName": "Contoso", "adminDisplayName": "Eve", "adminEmail": "eve@contoso2.example",
        "cloud": "WORLDWIDE", "billingAccountType": "MCA"}})
    # then
    assert body["data"]["signUp"] == {"token": None, "userErrors": [
        {"code": "ALREADY_EXISTS", "field": ["input", "domainPrefix"]}]}
    assert await models.Domain.filter(name="contoso.onmicrosoft.com").count() == 1


async def test_the_default_domain_cannot_be_removed_and_others_tenants_domains_are_not_found(client, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    default = await models.Domain.get(tenant_id=org.tenant.id, is_default=True)
    body = await gql(client, REMOVE, {"input": {"domainId": gid("Domain", default.id)}}, token=org.token)
    assert body["data"]["removeDomain"]["userErrors"][0]["code"] == "INVALID_INPUT"
    body = await gql(client, REMOVE, {"input": {"domainId": gid("Domain", default.id)}}, token=other.token)
    assert body["data"]["removeDomain"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await models.Domain.filter(id=default.id).exists()


async def test_only_global_admins_manage_domains(client, clock):
    org = await factories.sign_up(clock)
    _, token = await factories.add_user(org, clock, "Bill", [models.Role.BILLING_ADMIN])
    body = await gql(client, ADD, {"input": {"name": "contoso.com"}}, token=token)
    assert body["data"]["addDomain"]["userErrors"][0]["code"] == "FORBIDDEN"
