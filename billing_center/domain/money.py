"""Exact money: Decimal amounts with a currency, rounded half-up to the cent (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# The largest amount a money column (numeric(14, 2)) holds.
COLUMN_MAX = Decimal("999999999999.99")
# What one billing profile's subscriptions may cost per term, all together (RELIABILITY.md A11):
# a charge-day document holds at most the renewals of a profile plus its changes since the
# last one, so documents stay far inside COLUMN_MAX. A purchase, increase or reactivation
# beyond it is refused (`SPENDING_LIMIT`); larger organizations use several profiles.
MAX_PROFILE_COMMITMENT = Decimal("1000000000.00")


class AmountTooLarge(ValueError):
    """An amount that would not fit its column: the engine skips the tenant (never a
    truncated or overflowing write)."""


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent, the one rounding rule of every charge and credit."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Never a float."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money amounts are Decimal, never float")
        object.__setattr__(self, "amount", Decimal(self.amount))

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self) -> "Money":
        """This amount rounded half-up to the cent."""
        return Money(round_cents(self.amount), self.currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        """Nothing, in `currency`."""
        return cls(Decimal("0.00"), currency)


@dataclass(frozen=True, slots=True)
class ProRata:
    """A pro-rata amount and how it was computed (SPEC §7: every line explains itself)."""

    amount: Decimal
    unit_price: Decimal
    licences: int
    remaining_days: int
    term_days: int
    currency: str

    @property
    def explanation(self) -> str:
        exact = self.unit_price * self.licences * self.remaining_days / self.term_days
        return (
            f"{self.unit_price} {self.currency} x {self.licences} licence(s) x "
            f"{self.remaining_days}/{self.term_days} days of the term = {readable(exact)}, "
            f"rounded half-up to {self.amount} {self.currency}"
        )


def readable(exact: Decimal) -> str:
    """An exact amount as a person reads it: at most four decimals, "..." when it goes on
    (61.3333... rather than 28 digits)."""
    shown = exact.quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    return f"{shown.normalize():f}" if shown == exact else f"{shown:f}..."


def pro_rata(unit_price: Decimal, licences: int, remaining_days: int, term_days: int, currency: str) -> ProRata:
    """§7: price x licences x remaining days / days in the term, rounded half-up to the cent.
    Never more than the full term's price (the credit cap), never negative."""
    if term_days <= 0:
        raise ValueError("a term has at least one day")
    days = min(max(remaining_days, 0), term_days)
    amount = round_cents(Decimal(unit_price) * licences * days / term_days)
    return ProRata(amount, Decimal(unit_price), licences, days, term_days, currency)
