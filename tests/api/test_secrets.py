"""No card number, security code or token in any response or log line, whatever the input
(issue #6 and the transport audit's finding 6; RELIABILITY.md B8). Every request below carries card data in a valid or a broken
shape; afterwards the responses and every captured log record (DEBUG and up, SQL included)
are scanned for Luhn-valid numbers, the security code and the tokens."""

from __future__ import annotations

import logging
import re

import pytest

from billing_center.domain import models
from billing_center.redaction import redact, redact_error_message
from tests import factories
from tests.factories import gid

PAN = "4242424242424242"
SPACED_PAN = "4242 4242 4242 4242"
DOTTED_PAN = "4242.4242.4242.4242"
DASHED_PAN = "4242-4242-4242-4242"
AMEX = "378282246310005"
CVC = "8642"
ADD = """mutation Add($input: AddPaymentMethodInput!) { addPaymentMethod(input: $input) {
  paymentMethod { brand last4 } userErrors { code field message } } }"""


def luhn_numbers(text: str) -> list[str]:
    """Every 13-19 digit run (spaces, dots and dashes allowed) that passes the Luhn check; a
    decimal number (one dot, nothing else) is not a card."""
    found = []
    for match in re.finditer(r"\d(?:[ .-]?\d){12,18}", text):
        if match.group().count(".") == 1 and not re.search(r"[ -]", match.group()):
            continue
        digits = [int(d) for d in re.sub(r"\D", "", match.group())]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            found.append(match.group())
    return found


def test_the_scan_finds_what_it_looks_for():
    assert luhn_numbers(f"x {PAN} y {SPACED_PAN}, {AMEX}, {DOTTED_PAN}") == [PAN, SPACED_PAN, AMEX, DOTTED_PAN]
    assert luhn_numbers("4242424242424241 2026-11-21 12:00:00 0.3333333333333") == []


def test_redaction_masks_card_numbers_in_every_format():
    for number in (PAN, SPACED_PAN, DOTTED_PAN, DASHED_PAN, AMEX):
        assert redact(f"card '{number}'.") == "card '[redacted]'."
    assert redact("a factor 0.333333333333333 and 2026-11-21 12:00:00") == "a factor 0.333333333333333 and 2026-11-21 12:00:00"


def test_redaction_masks_numbers_tokens_and_echoed_values():
    assert PAN not in redact(f"card {PAN} token bc_AbCdEf123456 gateway tok_sandbox_ok_12ab34cd")
    assert "bc_" not in redact("token bc_AbCdEf123456") and "tok_" not in redact("tok_sandbox_ok_12ab34cd")
    # SPEC §9: a webhook signing secret never reaches a log line either
    assert redact("secret whsec_Q2F0c0FyZUdyZWF0 sent") == "secret [redacted] sent"
    echoed = f"Variable '$input' got invalid value '{CVC}' at 'input.card.expiryMonth'; Int cannot represent non-integer value: '{CVC}'"
    assert CVC not in redact_error_message(echoed)
    assert "input.card.expiryMonth" in redact_error_message(echoed)


@pytest.fixture
async def org(database, clock):
    return await factories.sign_up(clock)


async def test_card_data_never_appears_in_responses_or_logs(client, org, caplog):
    profile = gid("BillingProfile", org.profile.id)

    def card(**changes):
        return {"number": PAN, "securityCode": CVC, "expiryMonth": 12, "expiryYear": 2030, "nameOnCard": "Pat",
                **changes}

    inputs = [
        card(),                                   # a good card (stored as a token + last4)
        card(number=SPACED_PAN),
        card(number=AMEX, securityCode="12a4"),   # a malformed security code
        card(number=PAN[:-1] + "1"),              # fails Luhn
        card(expiryMonth=PAN),                    # the number where an Int belongs: graphql-core echoes it
        card(expiryYear=CVC + "x"),
        card(securityCode=int(PAN)),              # the wrong type for the code
        {"number": PAN, "securityCode": CVC},     # required fields missing
        # audit finding 6: graphql-core 3.3 echoes the whole card object ("Found: {...}")
        card(number=DOTTED_PAN),                  # refused by the rules (dots are not ignored)
        card(number=DOTTED_PAN, securityCode=int(CVC)),  # an Int where a String belongs
        card(number=DOTTED_PAN, nmber=DASHED_PAN, securityCod=CVC),  # unknown fields
        card(number=DOTTED_PAN, expiryMonth=DOTTED_PAN),
        card(number=DOTTED_PAN, expiryYear=CVC),
        {"number": DOTTED_PAN, "securityCode": CVC, "expiryMonth": 12},  # required fields missing
        [card(number=DOTTED_PAN)],                # a list where an object belongs
    ]
    caplog.set_level(logging.DEBUG)
    bodies = []
    for card_input in inputs:
        response = await client.post("/graphql", json={"query": ADD, "variables": {
            "input": {"billingProfileId": profile, "card": card_input}}}, headers={"Authorization": f"Bearer {org.token}"})
        assert response.status_code == 200
        bodies.append(response.text)
    # the number as a literal in the document, not a variable
    literal = ADD.replace("$input: AddPaymentMethodInput!", "").replace(
        "input: $input", f'input: {{billingProfileId: "{profile}", card: {{number: {PAN}, securityCode: "{CVC}", '
                         f'expiryMonth: 12, expiryYear: 2030, nameOnCard: "Pat"}}}}').replace("Add()", "Add")
    bodies.append((await client.post("/graphql", json={"query": literal},
                                      headers={"Authorization": f"Bearer {org.token}"})).text)
    # the same as literals of the wrong type, of unknown fields, and in broken documents
    card_literals = [
        f'number: "{DOTTED_PAN}", securityCode: {CVC}, expiryMonth: 12, expiryYear: 2030, nameOnCard: "Pat"',
        f'number: "{PAN}", securityCode: "{CVC}", expiryMonth: "{DOTTED_PAN}", expiryYear: 2030, nameOnCard: "P"',
        f'number: "{DOTTED_PAN}", securityCode: "{CVC}", expiryMonth: 12, expiryYear: {CVC}.5, nameOnCard: "P", '
        f'nmber: {PAN}',
        f'number: {PAN} {CVC}',                    # a syntax error right at the number
        f'number: "{PAN}", securityCode: {CVC}{CVC}"',  # and at the code
    ]
    for fields in card_literals:
        document = (f'mutation {{ addPaymentMethod(input: {{billingProfileId: "{profile}", card: {{{fields}}}}}) '
                    '{ userErrors { code } } }')
        bodies.append((await client.post("/graphql", json={"query": document},
                                          headers={"Authorization": f"Bearer {org.token}"})).text)
    # a card number or a code where an enum value belongs
    purchase = """mutation P($input: PurchaseSubscriptionInput!) { purchaseSubscription(input: $input) {
      userErrors { code } } }"""
    for value in (DOTTED_PAN, CVC, int(CVC)):
        bodies.append((await client.post("/graphql", json={"query": purchase, "variables": {"input": {
            "productId": "x", "quantity": 1, "commitmentTerm": value}}}, headers={"Authorization": f"Bearer {org.token}"})).text)
    # a token that does not exist, and a valid one, in the header
    bodies.append((await client.post("/graphql", json={"query": "{ tenant { name } }"},
                                      headers={"Authorization": "Bearer bc_not_a_real_token_42"})).text)

    stored = await models.PaymentMethod.filter(tenant_id=org.tenant.id).values_list("gateway_token", flat=True)
    assert len(stored) == 2  # the two good cards were added
    everything = "\n".join(bodies) + "\n" + caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "tenant_id" in caplog.text or caplog.records, "the scan must see real log output"
    assert luhn_numbers(everything) == []
    assert CVC not in everything
    for secret in (org.token, "bc_not_a_real_token_42", *stored):
        assert secret not in everything
    # the refusals still say what was wrong
    assert ".card.expiryMonth: Int cannot represent non-integer value" in everything
    assert "not to include unknown field 'nmber'" in everything
    assert "does not exist in 'CommitmentTerm' enum" in everything
    assert "CARD_INVALID" in everything and "The security code must be 3 or 4 digits." in everything
