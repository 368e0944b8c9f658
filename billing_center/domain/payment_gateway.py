"""Cards and the payment gateway (SPEC §2).

A card number and security code are validated here and handed to the gateway, which keeps
them and returns a token; we store only brand, last four digits, expiry, name, address and
the token. Messages never repeat what was typed.

The built-in sandbox gateway behaves by card number, like public test-card conventions:

| card number          | when added  | when charged |
|----------------------|-------------|--------------|
| any other valid one  | accepted    | succeeds     |
| ...0002 (e.g. 4000000000000002) | declined | -      |
| ...0341 (e.g. 4000000000000341) | accepted | declined, every time |

Refunds of credit notes (§5) to any card the sandbox accepted succeed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from billing_center.domain.addresses import validate_address
from billing_center.domain.errors import DomainError, ErrorCode

DECLINED_WHEN_ADDED = "0002"
DECLINED_WHEN_CHARGED = "0341"
_SEPARATORS = re.compile(r"[ \-]")


@dataclass(frozen=True)
class CardDetails:
    """A card as typed by a person. Lives only for the request; never stored or logged."""

    number: str
    security_code: str
    expiry_month: int
    expiry_year: int
    name_on_card: str
    address: dict | None = None

    def __repr__(self) -> str:  # a stray log line must not show the number
        return f"CardDetails(last4={self.number[-4:]!r})"


@dataclass(frozen=True, slots=True)
class ValidCard:
    """A validated card: what may be stored, plus the number for the gateway."""

    number: str
    brand: str
    last4: str
    # The billing address as stored: trimmed, country in capitals (None when none was given).
    address: dict | None = None


def ascii_digits(text: str) -> bool:
    """Only 0-9. `str.isdigit` also accepts full-width, Arabic-Indic and superscript digits,
    which a card network never issues (and `int` cannot read a superscript one)."""
    return text.isascii() and text.isdigit()


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """The card network by number prefix."""
    if digits.startswith("4"):
        return "VISA"
    if digits[:2] in {"34", "37"}:
        return "AMEX"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "MASTERCARD"
    if digits.startswith("6011") or digits.startswith("65"):
        return "DISCOVER"
    return "CARD"


def _invalid(message: str, field: str) -> DomainError:
    return DomainError(ErrorCode.CARD_INVALID, message, ("input", "card", field))


def validate_expiry(month: int, year: int, today: date, path: tuple[str, ...] = ("input", "card")) -> None:
    """§2: an expiry month 1-12 of a four-digit year, not in the past."""
    if not 1 <= month <= 12:
        raise DomainError(ErrorCode.CARD_INVALID, "The expiry month must be 1 to 12.", (*path, "expiryMonth"))
    if not 2000 <= year <= 2100:
        raise DomainError(ErrorCode.CARD_INVALID, "The expiry year must have four digits.", (*path, "expiryYear"))
    if (year, month) < (today.year, today.month):
        raise DomainError(ErrorCode.CARD_INVALID, "The card has expired.", (*path, "expiryYear"))


def validate_security_code(code: str, brand: str | None, path: tuple[str, ...] = ("input", "card")) -> None:
    """§2: 3 or 4 digits (American Express uses 4)."""
    if not (ascii_digits(code) and len(code) in (3, 4)) or (brand == "AMEX" and len(code) != 4):
        raise DomainError(ErrorCode.CARD_INVALID, "The security code must be 3 or 4 digits.", (*path, "securityCode"))


MAX_NAME_ON_CARD = 200


def validate_name_on_card(name: str | None, path: tuple[str, ...] = ("input", "card")) -> str:
    """A cardholder name: not blank, at most 200 characters (the column's size)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_ON_CARD:
        raise DomainError(ErrorCode.CARD_INVALID, f"The name on the card must have 1 to {MAX_NAME_ON_CARD} characters.",
                          (*path, "nameOnCard"))
    return name


def validate_card(card: CardDetails, today: date) -> ValidCard:
    """§2: Luhn-valid number of 12-19 digits (0-9), expiry not in the past, 3-4 digit code,
    and a bounded address. Raises CARD_INVALID naming the field, never its value, and
    INVALID_INPUT for the address."""
    digits = _SEPARATORS.sub("", card.number or "")
    if not ascii_digits(digits) or not 12 <= len(digits) <= 19:
        raise _invalid("The card number must be 12 to 19 digits.", "number")
    if not luhn_valid(digits):
        raise _invalid("The card number is not valid (checksum).", "number")
    brand = card_brand(digits)
    validate_expiry(card.expiry_month, card.expiry_year, today)
    validate_security_code(card.security_code or "", brand)
    validate_name_on_card(card.name_on_card)
    address = validate_address(card.address, ("input", "card", "address"))
    return ValidCard(number=digits, brand=brand, last4=digits[-4:], address=address)


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What the gateway answered to a charge."""

    succeeded: bool
    reference: str
    failure_reason: str | None = None


class PaymentGateway(Protocol):
    """Keeps cards and charges them. Never called inside an open database transaction."""

    async def tokenize(self, card: ValidCard, security_code: str) -> str:
        """Store the card; its token, or DomainError(PAYMENT_DECLINED)."""
        ...

    async def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str) -> ChargeResult:
        """Charge `amount`; the same idempotency key never charges twice."""
        ...

    async def refund(self, reference: str, amount: Decimal, currency: str) -> None:
        """Give back a charge whose purchase could not be recorded."""
        ...

    async def refund_to_card(self, token: str, amount: Decimal, currency: str, idempotency_key: str) -> ChargeResult:
        """Pay `amount` back to the card (a credit note's refund, §5); the same idempotency
        key never refunds twice."""
        ...


class SandboxGateway:
    """The deterministic test gateway (see the module docstring for its cards)."""

    # A server process charges for months: remember the latest keys only (a retry comes
    # within minutes or days, not after a hundred thousand other charges).
    MAX_REMEMBERED_CHARGES = 100_000

    def __init__(self) -> None:
        self._charges: OrderedDict[str, ChargeResult] = OrderedDict()
        self.refunds: list[tuple[str, Decimal, str]] = []

    async def tokenize(self, card: ValidCard, security_code: str) -> str:
        if card.number.endswith(DECLINED_WHEN_ADDED):
            raise DomainError(ErrorCode.PAYMENT_DECLINED, "The card was declined.", ("input", "card", "number"))
        behaviour = "chargefail" if card.number.endswith(DECLINED_WHEN_CHARGED) else "ok"
        return f"tok_sandbox_{behaviour}_{secrets.token_hex(8)}"

    async def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str) -> ChargeResult:
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        reference = "ch_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        if token.startswith("tok_sandbox_chargefail_"):
            result = ChargeResult(False, reference, "The card was declined.")
        else:
            result = ChargeResult(True, reference)
        self._charges[idempotency_key] = result
        if len(self._charges) > self.MAX_REMEMBERED_CHARGES:
            self._charges.popitem(last=False)
        return result

    async def refund(self, reference: str, amount: Decimal, currency: str) -> None:
        self.refunds.append((reference, amount, currency))

    async def refund_to_card(self, token: str, amount: Decimal, currency: str, idempotency_key: str) -> ChargeResult:
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        result = ChargeResult(True, "re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16])
        self._charges[idempotency_key] = result
        self.refunds.append((result.reference, amount, currency))
        return result


def gateway_named(name: str) -> PaymentGateway:
    """The gateway a deployment named (`Settings.require_payment_gateway`): only the sandbox
    exists in this build."""
    if name == "sandbox":
        return SandboxGateway()
    raise ValueError(f"No payment gateway named {name!r} in this build.")
