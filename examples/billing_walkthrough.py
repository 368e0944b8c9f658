"""An integration script's first day: the help articles' procedures end to end with `gql`.

    python examples/billing_walkthrough.py [--url http://127.0.0.1:8000/graphql] [--schema schema.graphql]

It signs up a sandbox organization (its own test clock, so months pass in seconds), then
does what the articles describe (SPEC §1-§7): add a card (a declined one first), buy a
subscription, create people and assign them licences, buy more licences and remove some,
let the month pass (the renewal is invoiced and charged), let a charge fail (the invoice
becomes past due) and pay it by hand, cancel, and reactivate. It prints each step.

Every document is validated on this side against the schema file before it is sent
(`gql.Client(schema=...)`): a typo in a field name fails here, not on the server. The script
exits with status 1 on any `userError` it did not expect, on a top-level error, and when an
expected refusal does not come.

It only relies on the public contract (API.md): names of operations, fields and error codes.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.httpx import HTTPXTransport

SCHEMA = Path(__file__).resolve().parents[1] / "schema.graphql"

# The sandbox gateway's test cards (README "Using the API"): accepted; declined when added;
# accepted when added but declined whenever charged.
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
FAILING_CARD = "4000000000000341"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token tenant { id name sandbox clockNow } userErrors { code field message } }
}"""

BILLING_PROFILES = """
query BillingProfiles {
  billingAccounts { id type billingProfiles { id name } }
}"""

ADD_CARD = """
mutation AddCard($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) { paymentMethod { id brand last4 } userErrors { code field message } }
}"""

PRODUCTS = """
query Products {
  products { id sku name monthlyPrice { amount currency } commitmentTerms }
}"""

PURCHASE = """
mutation Purchase($input: PurchaseSubscriptionInput!) {
  purchaseSubscription(input: $input) {
    subscription { id status quantity termEnd product { name } }
    invoice { number status total { amount currency } }
    userErrors { code field message }
  }
}"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { user { id displayName } userErrors { code field message } }
}"""

ASSIGN = """
mutation Assign($input: AssignLicensesInput!) {
  assignLicenses(input: $input) {
    results { userId outcome }
    subscription { assignedCount availableCount }
    userErrors { code field message }
  }
}"""

SET_QUANTITY = """
mutation SetQuantity($input: UpdateLicenseQuantityInput!) {
  updateLicenseQuantity(input: $input) {
    subscription { quantity assignedCount }
    invoiceLine { kind description amount { amount currency } }
    userErrors { code field message }
  }
}"""

ADVANCE = """
mutation Advance($input: AdvanceClockInput!) {
  advanceClock(input: $input) {
    now complete
    transitions { at kind description invoice { number status total { amount } } }
    userErrors { code field message }
  }
}"""

SUBSCRIPTION = """
query Subscription($id: ID!) {
  node(id: $id) {
    ... on Subscription {
      status statusReason quantity termEnd
      availableActions { action allowed reason }
      timeline { at status description }
    }
  }
}"""

INVOICES = """
query Invoices {
  invoices(period: LAST_6_MONTHS, first: 20) {
    totalCount
    edges { node { id number kind status issueDate total { amount currency } amountDue { amount } } }
  }
}"""

BALANCES = """
query Balances {
  billingAccounts { outstandingBalance { amount } pastDueBalance { amount } creditBalance { amount } }
}"""

PAY = """
mutation Pay($input: PayInvoiceInput!) {
  payInvoice(input: $input) { invoice { number status amountDue { amount } } userErrors { code field message } }
}"""

CANCEL = """
mutation Cancel($input: CancelSubscriptionInput!) {
  cancelSubscription(input: $input) {
    subscription { status cancelledAt disabledUntil }
    credit { amount currency }
    userErrors { code field message }
  }
}"""

REACTIVATE = """
mutation Reactivate($input: ReactivateSubscriptionInput!) {
  reactivateSubscription(input: $input) {
    subscription { id status termEnd }
    userErrors { code field message }
  }
}"""


class Unexpected(Exception):
    """The service answered something this script did not expect."""


class Api:
    """A gql client that validates each document against the schema file, and the checks of
    every answer."""

    def __init__(self, url: str, schema: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = Client(transport=HTTPXTransport(url=url, headers=headers, timeout=30), schema=schema)

    def query(self, document: str, **variables: Any) -> dict[str, Any]:
        """Run a query; its data."""
        try:
            return self.client.execute(GraphQLRequest(document, variable_values=variables or None))
        except TransportQueryError as error:
            raise Unexpected(f"top-level error: {error.errors}") from None

    def mutate(self, document: str, expect: str | None = None, **input: Any) -> dict[str, Any]:
        """Run a mutation with `input`; its payload. `expect` is the one userError code that
        must come back (a refusal the script provokes on purpose)."""
        data = self.query(document, input=input)
        [payload] = data.values()
        codes = [error["code"] for error in payload["userErrors"]]
        if expect is not None:
            if codes != [expect]:
                raise Unexpected(f"expected the refusal {expect}, got {payload['userErrors'] or 'none'}")
            print(f"    refused as expected: {expect} ({payload['userErrors'][0]['message']})")
        elif codes:
            raise Unexpected(f"unexpected userErrors: {payload['userErrors']}")
        return payload


def step(text: str) -> None:
    print(f"\n== {text}")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def show_transitions(payload: dict[str, Any]) -> list[str]:
    for transition in payload["transitions"]:
        invoice = transition["invoice"]
        suffix = f" [{invoice['number']} {invoice['status']} {invoice['total']['amount']}]" if invoice else ""
        print(f"    {transition['at'][:10]} {transition['kind']:<22} {transition['description']}{suffix}")
    return [transition["kind"] for transition in payload["transitions"]]


def advance_past(api: Api, term_end: str) -> list[str]:
    """Move the tenant's clock to a day after `term_end` (the renewal's charge day has closed
    then), calling again while the service says more work remains; the transition kinds."""
    to = (moment(term_end) + timedelta(days=1)).isoformat()
    kinds: list[str] = []
    while True:
        moved = api.mutate(ADVANCE, to=to)
        kinds += show_transitions(moved)
        if moved["complete"]:
            print(f"    the clock is now {moved['now']}")
            return kinds


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Unexpected(message)


def card(number: str, name: str) -> dict[str, Any]:
    return {"number": number, "securityCode": "123", "expiryMonth": 12, "expiryYear": datetime.now().year + 3,
            "nameOnCard": name, "address": {"line1": "1 Main St", "city": "Seattle", "postalCode": "98052",
                                            "state": "WA", "country": "US"}}


def walkthrough(url: str, schema: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    step("Sign up a sandbox organization (MOSA; its own test clock)")
    signed_up = Api(url, schema).mutate(
        SIGN_UP, organizationName=f"Walkthrough {suffix}", adminDisplayName="Wanda Walker",
        adminEmail=f"wanda@walkthrough-{suffix}.example", cloud="WORLDWIDE", billingAccountType="MOSA", sandbox=True)
    tenant = signed_up["tenant"]
    print(f"    {tenant['name']}, clock at {tenant['clockNow']}; the admin's token came back once")
    api = Api(url, schema, signed_up["token"])
    [account] = api.query(BILLING_PROFILES)["billingAccounts"]
    profile = account["billingProfiles"][0]["id"]

    step("Add a payment method: a card the bank declines, then a good one (003: manage payment methods)")
    api.mutate(ADD_CARD, expect="PAYMENT_DECLINED", billingProfileId=profile, card=card(DECLINED_CARD, "Wanda"))
    good = api.mutate(ADD_CARD, billingProfileId=profile, card=card(GOOD_CARD, "Wanda"))["paymentMethod"]
    print(f"    {good['brand']} ending {good['last4']} is the profile's card")

    step("Buy 5 licences of a monthly subscription (003: buy; the first purchase is charged at once)")
    product = next(p for p in api.query(PRODUCTS)["products"] if "MONTHLY" in p["commitmentTerms"])
    bought = api.mutate(PURCHASE, productId=product["id"], quantity=5, commitmentTerm="MONTHLY",
                        paymentMethodId=good["id"], idempotencyKey=f"walkthrough-{suffix}")
    subscription = bought["subscription"]
    invoice = bought["invoice"]
    print(f"    {subscription['product']['name']} x{subscription['quantity']}, {subscription['status']}, "
          f"term ends {subscription['termEnd']}")
    if invoice:
        print(f"    invoice {invoice['number']} {invoice['status']}: {invoice['total']['amount']} "
              f"{invoice['total']['currency']}")

    step("Create two people and assign them licences (001: activate; 003: assign)")
    people = [api.mutate(CREATE_USER, displayName=name, email=f"{name.lower()}@walkthrough-{suffix}.example")["user"]
              for name in ("Ada", "Ben")]
    assigned = api.mutate(ASSIGN, subscriptionId=subscription["id"], userIds=[p["id"] for p in people])
    print(f"    outcomes {[r['outcome'] for r in assigned['results']]}; "
          f"{assigned['subscription']['availableCount']} licences left")

    step("Change the licence count: buy 3 more, try to go below what is assigned, remove 2 (003)")
    for total, expect in ((8, None), (1, "QUANTITY_BELOW_ASSIGNED"), (6, None)):
        changed = api.mutate(SET_QUANTITY, expect=expect, subscriptionId=subscription["id"], totalLicenses=total)
        line = changed["invoiceLine"]
        if line:
            print(f"    {changed['subscription']['quantity']} licences; {line['description']}: "
                  f"{line['amount']['amount']} {line['amount']['currency']}")

    step("Let the month pass: the subscription renews, the renewal is invoiced and charged (004)")
    kinds = advance_past(api, subscription["termEnd"])
    require("RENEWED" in kinds and "PAYMENT_SUCCEEDED" in kinds, f"no paid renewal among {kinds}")

    step("A card that fails at the next renewal: the invoice becomes past due (004: past-due balance)")
    api.mutate(ADD_CARD, billingProfileId=profile, card=card(FAILING_CARD, "Wanda"))
    renewed = api.query(SUBSCRIPTION, id=subscription["id"])["node"]
    kinds = advance_past(api, renewed["termEnd"])
    require("PAYMENT_FAILED" in kinds, f"no failed charge among {kinds}")
    balances = api.query(BALANCES)["billingAccounts"][0]
    print(f"    past due: {balances['pastDueBalance']['amount']}; outstanding: {balances['outstandingBalance']['amount']}")
    invoices = [edge["node"] for edge in api.query(INVOICES)["invoices"]["edges"]]
    past_due = [i for i in invoices if i["status"] == "PAST_DUE"]
    require(len(past_due) == 1, f"expected one past-due invoice, got {[(i['number'], i['status']) for i in invoices]}")

    step("Pay the past-due invoice with the good card (003: pay an invoice)")
    paid = api.mutate(PAY, invoiceId=past_due[0]["id"], paymentMethodId=good["id"],
                      idempotencyKey=f"pay-{past_due[0]['id']}")["invoice"]
    print(f"    {paid['number']} {paid['status']}, due {paid['amountDue']['amount']}")
    require(paid["status"] == "PAID", f"the invoice is {paid['status']}")

    step("Cancel the subscription (002: cancel; a MOSA credit for the unused days)")
    cancelled = api.mutate(CANCEL, subscriptionId=subscription["id"], reason="NOT_USING",
                           feedback="The walkthrough is over.")
    credit = cancelled["credit"]
    print(f"    {cancelled['subscription']['status']}; credit {credit['amount'] if credit else 'none'}")
    state = api.query(SUBSCRIPTION, id=subscription["id"])["node"]
    actions = {a["action"]: a for a in state["availableActions"]}
    require(actions["REACTIVATE"]["allowed"], f"reactivation not offered: {actions['REACTIVATE']}")
    for event in state["timeline"]:
        print(f"    then {event['at'][:10]}: {event['description']}")

    step("Reactivate it with the good card (000, 001: reactivate)")
    reactivated = api.mutate(REACTIVATE, subscriptionId=subscription["id"], paymentMethodId=good["id"])
    print(f"    {reactivated['subscription']['status']} until {reactivated['subscription']['termEnd']}")
    require(reactivated["subscription"]["status"] == "ACTIVE", "the subscription is not active again")

    step("Invoices of the organization")
    for invoice in (edge["node"] for edge in api.query(INVOICES)["invoices"]["edges"]):
        print(f"    {invoice['issueDate']} {invoice['number']:<14} {invoice['kind']:<12} {invoice['status']:<9} "
              f"{invoice['total']['amount']:>9} {invoice['total']['currency']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql", help="the service's /graphql")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help="the SDL to validate documents against")
    args = parser.parse_args()
    try:
        walkthrough(args.url, args.schema.read_text())
    except Unexpected as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        return 1
    except (TransportError, httpx.HTTPError) as error:
        print(f"\nFAILED: no GraphQL answer from {args.url} ({type(error).__name__}: {error}). Is the service "
              "running? ./scripts/start serves http://127.0.0.1:8000/graphql.", file=sys.stderr)
        return 1
    print("\nDone: every step answered as expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
