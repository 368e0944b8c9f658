"""advanceClock work per call (issue #12, finding 10).

    .venv/bin/python bench/advance_clock.py [--subscriptions 60] [--years 3]

A fresh sandbox tenant buys N monthly subscriptions through the API, then moves its clock
`--years` ahead, calling again while the answer says `complete: false`. Prints the calls, the
slowest and the mean call, and what a single unbounded engine run over the same span takes on
a copy of the same data (what one call did before the work per call was bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from billing_center import db  # noqa: E402
from billing_center.app import create_app  # noqa: E402
from billing_center.domain.catalogue import load_catalogue  # noqa: E402
from billing_center.config import Settings, sqlite_url  # noqa: E402
from billing_center.domain import models  # noqa: E402
from billing_center.domain.billing import engine  # noqa: E402
from billing_center.domain.billing.scope import Scope  # noqa: E402
from billing_center.domain.clock import FixedClock  # noqa: E402
from billing_center.domain.payment_gateway import SandboxGateway  # noqa: E402

START = datetime(2026, 1, 1, 9, tzinfo=UTC)
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { code } } }"""
BUY = """mutation($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) { userErrors { code } } }"""
ADVANCE = """mutation($input: AdvanceClockInput!) { advanceClock(input: $input) { now complete transitions { kind } } }"""
CARD = {"number": "4242424242424242", "securityCode": "123", "expiryMonth": 12, "expiryYear": 2030,
        "nameOnCard": "Bench"}


async def post(http: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = (await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)).json()
    assert "errors" not in body, body
    return body["data"]


async def main(subscriptions: int, years: int) -> None:
    url = sqlite_url(Path(tempfile.mkdtemp()) / "bench.db")
    await db.migrate_db(url)
    await db.init_db(url)
    await load_catalogue()
    await db.close_db()
    settings = Settings(database_url=url, rate_limit_points=1_000_000)
    app = create_app(settings, clock=FixedClock(START), gateway=SandboxGateway())
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        token = (await post(http, SIGN_UP, {"input": {
            "organizationName": "Bench", "adminDisplayName": "A", "adminEmail": "a@bench.example",
            "cloud": "WORLDWIDE", "billingAccountType": "MCA", "sandbox": True}}))["signUp"]["token"]
        product = (await models.Product.get(sku="O365_E1")).id
        from billing_center.schema.ids import to_global_id
        for n in range(subscriptions):
            extra = {"newPaymentMethod": CARD} if n == 0 else {}
            await post(http, BUY, {"input": {"productId": to_global_id("Product", product), "quantity": 1 + n % 5,
                                             "commitmentTerm": "MONTHLY", **extra}}, token)
        tenant_id = (await models.Tenant.get(sandbox=True)).id
        target = START + timedelta(days=365 * years)

        seconds: list[float] = []
        transitions = 0
        while True:
            started = time.perf_counter()
            done = (await post(http, ADVANCE, {"input": {"to": target.isoformat()}}, token))["advanceClock"]
            seconds.append(time.perf_counter() - started)
            transitions += len(done["transitions"])
            if done["complete"]:
                break
        print(f"{subscriptions} subscriptions, {years} years: {len(seconds)} calls, {transitions} transitions; "
              f"slowest call {max(seconds):.2f} s, mean {statistics.mean(seconds):.2f} s, all {sum(seconds):.1f} s")

        # The same span as one unbounded run (the behaviour before the bound), on a fresh
        # tenant with the same purchases: rewind by re-buying under a second sandbox tenant.
        token2 = (await post(http, SIGN_UP, {"input": {
            "organizationName": "Bench2", "adminDisplayName": "A", "adminEmail": "a@bench2.example",
            "cloud": "WORLDWIDE", "billingAccountType": "MCA", "sandbox": True}}))["signUp"]["token"]
        for n in range(subscriptions):
            extra = {"newPaymentMethod": CARD} if n == 0 else {}
            await post(http, BUY, {"input": {"productId": to_global_id("Product", product), "quantity": 1 + n % 5,
                                             "commitmentTerm": "MONTHLY", **extra}}, token2)
        second = (await models.Tenant.filter(sandbox=True, id__not=tenant_id).first()).id
        started = time.perf_counter()
        whole = await engine.run(Scope(second, simulated=True), target, SandboxGateway())
        print(f"one unbounded run over the same span: {time.perf_counter() - started:.2f} s, "
              f"{len(whole.transitions)} transitions; slowest bounded call / unbounded run = "
              f"{max(seconds) / (time.perf_counter() - started):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=60)
    parser.add_argument("--years", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.subscriptions, arguments.years))
