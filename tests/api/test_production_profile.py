"""The production profile and money (security audit finding 9): outside development the
payment gateway must be named explicitly, or the service refuses to start (this build has
only the sandbox gateway, SPEC §2), and sandbox tenants are signed up only where allowed."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from billing_center import cli
from billing_center.app import create_app
from billing_center.config import ConfigurationError, Settings
from billing_center.domain import models
from billing_center.domain.payment_gateway import SandboxGateway
from tests.factories import gql

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { tenant { sandbox } userErrors { code field message } }
}
"""
PRODUCTION = {"DATABASE_URL": "sqlite://:memory:", "BILLING_ENV": "production"}


def _sign_up(sandbox: bool, name: str = "Contoso") -> dict:
    return {"input": {"organizationName": name, "adminDisplayName": "Ada", "adminEmail": "ada@contoso.example",
                      "cloud": "WORLDWIDE", "billingAccountType": "MCA", "sandbox": sandbox}}


def test_production_without_a_named_gateway_refuses_to_start():
    # given: the production profile with no BILLING_PAYMENT_GATEWAY
    settings = Settings.from_env(PRODUCTION)
    # when / then: the app is not built, and the message says what to set
    with pytest.raises(ConfigurationError, match="BILLING_PAYMENT_GATEWAY"):
        create_app(settings, manage_db=False)


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["run-billing"]])
def test_the_commands_that_move_money_refuse_production_without_a_gateway(monkeypatch, capsys, command):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BILLING_PAYMENT_GATEWAY", raising=False)
    assert cli.main(command) == 2
    assert "BILLING_PAYMENT_GATEWAY=sandbox" in capsys.readouterr().err


def test_production_runs_on_the_sandbox_gateway_only_when_it_is_named():
    settings = Settings.from_env({**PRODUCTION, "BILLING_PAYMENT_GATEWAY": "sandbox"})
    assert settings.payment_gateway == "sandbox"
    create_app(settings, manage_db=False)
    # development keeps its sandbox default; a gateway this build does not have is refused
    assert Settings.from_env({"DATABASE_URL": "sqlite://:memory:"}).payment_gateway == "sandbox"
    with pytest.raises(ValueError, match="BILLING_PAYMENT_GATEWAY"):
        Settings.from_env({**PRODUCTION, "BILLING_PAYMENT_GATEWAY": "stripe"})


@pytest.mark.parametrize("environ, allowed", [
    ({}, True),
    ({"BILLING_ENV": "production"}, False),
    ({"BILLING_ENV": "production", "BILLING_ALLOW_SANDBOX_TENANTS": "1"}, True),
    ({"BILLING_ALLOW_SANDBOX_TENANTS": "0"}, False),
])
def test_sandbox_tenants_are_allowed_by_default_in_development_only(environ, allowed):
    assert Settings.from_env({"DATABASE_URL": "sqlite://:memory:", **environ}).allow_sandbox_tenants is allowed


async def test_signing_up_a_sandbox_tenant_where_not_allowed_is_refused_and_creates_nothing(database, settings, clock):
    # given: a deployment that does not offer sandbox tenants
    app = create_app(dataclasses.replace(settings, allow_sandbox_tenants=False), clock=clock, manage_db=False,
                     gateway=SandboxGateway())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        # when
        refused = (await gql(http, SIGN_UP, _sign_up(sandbox=True)))["data"]["signUp"]
        live = (await gql(http, SIGN_UP, _sign_up(sandbox=False, name="Fabrikam")))["data"]["signUp"]
    # then
    assert refused["tenant"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("SANDBOX_NOT_ALLOWED", ["input", "sandbox"])]
    assert live == {"tenant": {"sandbox": False}, "userErrors": []}
    assert await models.Tenant.filter(sandbox=True).count() == 0


async def test_a_sandbox_tenant_signs_up_where_allowed(client):
    body = await gql(client, SIGN_UP, _sign_up(sandbox=True))
    assert body["data"]["signUp"] == {"tenant": {"sandbox": True}, "userErrors": []}
