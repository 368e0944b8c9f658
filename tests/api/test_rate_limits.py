"""Rate limits (issue #6; RELIABILITY.md A9): points per caller (query 1, mutation 5) and at
most 10 card or payment attempts a minute per billing account. Over the budget: THROTTLED
with a retry-after, and no side effect."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from billing_center.app import create_app
from billing_center.domain import models, throttle
from billing_center.domain.errors import DomainError, ErrorCode
from billing_center.domain.payment_gateway import SandboxGateway
from tests import factories
from tests.conftest import count_sql
from tests.factories import gid, gql

CREATE_TOKEN = 'mutation { createApiToken(input: {name: "%s"}) { token userErrors { code } } }'
ADD = """mutation Add($input: AddPaymentMethodInput!) { addPaymentMethod(input: $input) {
  paymentMethod { last4 } userErrors { code field message retryAfter } } }"""


class CountingGateway(SandboxGateway):
    def __init__(self) -> None:
        super().__init__()
        self.tokenized = 0

    async def tokenize(self, card, security_code):
        self.tokenized += 1
        return await super().tokenize(card, security_code)


async def test_points_a_query_costs_1_a_mutation_5_and_over_budget_nothing_runs(limited, clock):
    org = await factories.sign_up(clock)
    other = await factories.sign_up(clock, name="Fabrikam")
    for _ in range(15):
        assert "errors" not in await gql(limited, "{ tenant { name } }", token=org.token)
    assert (await gql(limited, CREATE_TOKEN % gid("User", org.admin.id), token=org.token))["data"]  # 20 points
    tokens = await models.ApiToken.filter(tenant_id=org.tenant.id).count()
    with count_sql() as sql:
        body = await gql(limited, CREATE_TOKEN % gid("User", org.admin.id), token=org.token)
    assert "data" not in body  # refused before execution
    [error] = body["errors"]
    assert error["extensions"]["code"] == "THROTTLED" and 1 <= error["extensions"]["retryAfter"] <= 60
    assert sql.count == 1  # the token lookup: the mutation never ran
    assert await models.ApiToken.filter(tenant_id=org.tenant.id).count() == tokens
    assert (await gql(limited, "{ tenant { name } }", token=org.token))["errors"][0]["extensions"]["code"] == "THROTTLED"
    # another caller has a budget of its own
    assert "errors" not in await gql(limited, "{ tenant { name } }", token=other.token)
    # the bucket refills over the minute
    clock.set(clock.now() + timedelta(seconds=15))
    assert "errors" not in await gql(limited, CREATE_TOKEN % gid("User", org.admin.id), token=org.token)


async def test_points_anonymous_callers_pay_by_address(limited):
    for _ in range(20):
        assert "errors" not in await gql(limited, "{ products { sku } }")
    assert (await gql(limited, "{ products { sku } }"))["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_ten_card_attempts_a_minute_per_billing_account(database, settings, clock):
    org = await factories.sign_up(clock)
    gateway = CountingGateway()
    app = create_app(settings, clock=clock, manage_db=False, gateway=gateway)
    card = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030,
            "nameOnCard": "Pat"}
    variables = {"input": {"billingProfileId": gid("BillingProfile", org.profile.id), "card": card}}
    bad = {"input": {**variables["input"], "card": {**card, "number": "4242424242424241"}}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        outcomes = []
        for attempt in range(10):
            body = await gql(http, ADD, bad if attempt % 2 else variables, token=org.token)
            outcomes.append((body["data"]["addPaymentMethod"]["userErrors"] or [{"code": "OK"}])[0]["code"])
        assert outcomes == ["OK", "CARD_INVALID"] * 5
        stored, tokenized = await models.PaymentMethod.filter(tenant_id=org.tenant.id).count(), gateway.tokenized
        body = await gql(http, ADD, variables, token=org.token)
        [error] = body["data"]["addPaymentMethod"]["userErrors"]
        assert error["code"] == "THROTTLED" and error["retryAfter"] == 60
        assert await models.PaymentMethod.filter(tenant_id=org.tenant.id).count() == stored
        assert gateway.tokenized == tokenized  # the gateway never saw the card
        clock.set(clock.now() + timedelta(seconds=45))
        assert (await gql(http, ADD, variables, token=org.token))["data"]["addPaymentMethod"]["userErrors"][0][
            "retryAfter"] == 15
        clock.set(clock.now() + timedelta(seconds=15))
        assert (await gql(http, ADD, variables, token=org.token))["data"]["addPaymentMethod"]["userErrors"] == []


async def test_racing_attempts_never_pass_the_limit(database, clock):
    # On PostgreSQL these run on several pooled connections at once.
    async def attempt() -> bool:
        try:
            await throttle.take_attempt("payments:race", 10, clock.now())
            return True
        except DomainError as error:
            assert error.code is ErrorCode.THROTTLED
            return False

    results = await asyncio.gather(*(attempt() for _ in range(40)))
    assert results.count(True) == 10
    assert (await models.RateWindow.get(key="payments:race")).count == 10
