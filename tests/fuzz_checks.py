"""Schemathesis checks for `test_fuzz.py` (loaded with SCHEMATHESIS_HOOKS=tests.fuzz_checks).

The API answers refusals on queries as top-level errors carrying `extensions.code` (API.md),
so "a GraphQL error" is not a failure by itself here. A failure is: a 5xx, an error without a
code (nothing a script could act on), an INTERNAL error (an unexpected exception, masked), or
anything that looks like a leaked traceback or SQL."""

from __future__ import annotations

import json

import schemathesis

LEAKS = ("Traceback", "File \"", "IntegrityError", "OperationalError", "asyncpg", "sqlite3", "SELECT ", "INSERT ")


@schemathesis.check
def coded_errors_only(ctx, response, case):
    """No 5xx; every top-level error coded and expected; nothing leaked."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    text = response.content.decode("utf-8", "replace")
    for leak in LEAKS:
        if leak in text:
            raise AssertionError(f"the response contains {leak!r}")
    try:
        body = json.loads(text)
    except ValueError:
        # Strawberry refuses a request it cannot read (e.g. a NUL character) with a plain 400.
        if response.status_code == 400 and text.strip():
            return
        raise AssertionError(f"HTTP {response.status_code} without a JSON body: {text[:200]!r}") from None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            raise AssertionError(f"an error without a code: {error.get('message')}")
        if code == "INTERNAL":
            raise AssertionError(f"an unexpected error: {error}")
