"""Rate limits (RELIABILITY.md A9): a budget of points per caller, and a stricter count of
card and payment attempts per billing account.

- `PointsBucket`: a token bucket per caller (query 1 point, mutation 5 per root field;
  2,000 points a minute). It lives in the process: every request takes from it, and a write
  per request would cost more than the reads it protects. With N worker processes a caller
  may get up to N budgets; one SQLite worker enforces it exactly.
- `take_attempt`: card and payment mutations (add or update a card, pay an invoice) count
  against their billing account, 10 a minute, in the database (`RateWindow`): a card-testing
  script spread over processes still meets one limit. One conditional upsert counts the
  attempt or refuses it, so racing requests cannot pass the limit together. The product-key
  guard (`product_keys`) uses the same window: 5 failed redemptions per tenant in 15 minutes.

Both refuse with THROTTLED and a `retry_after` in seconds, before any side effect. Windows run
on the clock the caller lives on (a sandbox tenant's test clock for its own attempts).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import Tortoise

from billing_center.domain import rows
from billing_center.domain.errors import DomainError, ErrorCode

PAYMENT_ATTEMPTS_PER_MINUTE = 10
WINDOW = timedelta(minutes=1)


def throttled(message: str, retry_after: float, field: tuple[str, ...] | None = None) -> DomainError:
    """The THROTTLED refusal, with whole seconds to wait (at least 1)."""
    return DomainError(ErrorCode.THROTTLED, message, field, retry_after=max(1, math.ceil(retry_after)))


_TAKE = (
    'INSERT INTO "rate_window" ("key", "started_at", "count") VALUES (?, ?, 1) '
    'ON CONFLICT ("key") DO UPDATE SET '
    '"count" = CASE WHEN "rate_window"."started_at" <= ? THEN 1 ELSE "rate_window"."count" + 1 END, '
    '"started_at" = CASE WHEN "rate_window"."started_at" <= ? THEN ? ELSE "rate_window"."started_at" END '
    'WHERE "rate_window"."started_at" <= ? OR "rate_window"."count" < ? RETURNING "count"'
)


async def take_attempt(key: str, limit: int, now: datetime, field: tuple[str, ...] | None = None,
                       window: timedelta = WINDOW, message: str | None = None) -> None:
    """Count one attempt of `key` in its current window (a minute unless told); THROTTLED
    (with `message`) when the window already holds `limit` attempts."""
    connection = Tortoise.get_connection("default")
    postgres = rows.dialect() == "postgres"
    # SQLite keeps the moments as ISO text: one format, so text order is time order.
    at, cutoff = (now, now - window) if postgres else (now.isoformat(), (now - window).isoformat())
    sql = rows.numbered(_TAKE, 1) if postgres else _TAKE
    # RETURNING rather than a row count: Tortoise reads PostgreSQL's "INSERT 0 1" tag wrongly.
    if await connection.execute_query_dict(sql, [key, at, cutoff, cutoff, at, cutoff, limit]):
        return
    found = await connection.execute_query_dict(
        rows.numbered('SELECT "started_at" FROM "rate_window" WHERE "key" = ?', 1) if postgres
        else 'SELECT "started_at" FROM "rate_window" WHERE "key" = ?', [key])
    started = found[0]["started_at"] if found else now
    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    raise throttled(message or f"Too many attempts: at most {limit} a minute.",
                    (started + window - now).total_seconds(), field)


async def give_back_attempt(key: str) -> None:
    """Uncount one attempt of `key` that turned out not to count (a product key that was
    redeemed: only failures count). One statement, never below zero."""
    sql = 'UPDATE "rate_window" SET "count" = "count" - 1 WHERE "key" = ? AND "count" > 0'
    await Tortoise.get_connection("default").execute_query(
        rows.numbered(sql, 1) if rows.dialect() == "postgres" else sql, [key])


async def take_payment_attempt(billing_account_id: int, now: datetime, field: tuple[str, ...] | None = None) -> None:
    """One card or payment attempt on a billing account (at most 10 a minute)."""
    await take_attempt(f"payments:{billing_account_id}", PAYMENT_ATTEMPTS_PER_MINUTE, now, field)


@dataclass
class _Bucket:
    points: float
    at: float


class PointsBucket:
    """Token buckets of `capacity` points per caller, refilled over a minute; the least
    recently seen callers are forgotten past `max_callers` (a forgotten caller starts full)."""

    def __init__(self, capacity: int, max_callers: int = 100_000) -> None:
        self.capacity = capacity
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str, points: int, now: datetime) -> None:
        """Take `points` from `caller`'s bucket, or refuse with THROTTLED (taking nothing)."""
        bucket = self._refilled(caller, now)
        rate = self.capacity / WINDOW.total_seconds()
        if points > bucket.points:
            wait = (points - bucket.points) / rate if points <= self.capacity else WINDOW.total_seconds()
            raise throttled(f"Rate limit: {self.capacity} points a minute (a query costs 1, a mutation 5).", wait)
        bucket.points -= points

    def spend(self, caller: str, points: int, now: datetime) -> None:
        """Charge `points` for work already done: the bucket may go below zero, and the
        caller waits until it has refilled (a long `advanceClock` pays for its days)."""
        self._refilled(caller, now).points -= points

    def _refilled(self, caller: str, now: datetime) -> _Bucket:
        moment = now.timestamp()
        bucket = self._buckets.pop(caller, None) or _Bucket(float(self.capacity), moment)
        rate = self.capacity / WINDOW.total_seconds()
        bucket.points = min(float(self.capacity), bucket.points + max(0.0, moment - bucket.at) * rate)
        bucket.at = moment
        self._buckets[caller] = bucket
        if len(self._buckets) > self.max_callers:
            self._buckets.popitem(last=False)
        return bucket
