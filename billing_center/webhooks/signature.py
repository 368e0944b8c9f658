"""The `Billing-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` with
the endpoint's secret. The timestamp is signed too, so a receiver that refuses old
timestamps (`verify`'s tolerance) cannot be sent a captured delivery again later."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Billing-Signature"
TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver checks: a `v1` signature of this body and timestamp with the secret,
    and a timestamp within `tolerance` seconds of `now`. (The README shows the same in a few
    lines of a receiver's own code.)"""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(_mac(secret, timestamp, body), fields.get("v1", ""))
