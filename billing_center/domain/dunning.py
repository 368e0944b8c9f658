"""Dunning (SPEC §7): when a failed charge is tried again, and the key each try uses."""

from __future__ import annotations

from datetime import date, timedelta

# NOTE: Decision of SPEC §7: retries 1, 3 and 7 days after the first failure.
RETRY_AFTER_DAYS = (1, 3, 7)


def next_retry(first_failed_on: date, failed_on: date) -> date | None:
    """The day of the next retry after a failure on `failed_on`, counted from the first
    failure; None when that was the last retry (the subscriptions are then disabled)."""
    for days in RETRY_AFTER_DAYS:
        retry_on = first_failed_on + timedelta(days=days)
        if retry_on > failed_on:
            return retry_on
    return None


def gateway_key(invoice_id: int, failed_attempts: int) -> str:
    """The gateway idempotency key of the next charge of an invoice. It changes only after a
    recorded failure: calls racing on the same amount due, or a retry after a crash between
    charge and record, reach the gateway with one key and are charged once."""
    return f"invoice-{invoice_id}-try-{failed_attempts + 1}"
