"""Card numbers, security codes and tokens never reach a log line or an error message
(RELIABILITY.md B8; PCI DSS 3.3.1, 3.4.1).

Two leaks exist whatever our own code does: graphql-core echoes an invalid input value in its
coercion errors ("Int cannot represent non-integer value: '4242424242424242'"), and a logged
exception or SQL statement may carry a value of the request. So:

- `redact_error_message` removes the echoed value from GraphQL error messages (the message
  still names the argument and what was wrong), then applies `redact`;
- `install_log_redaction` makes every log record of the process pass through `redact`,
  message, arguments and traceback alike.

`redact` replaces digit runs of 12 or more (spaces, dots and dashes allowed: any card number),
our bearer tokens (`bc_...`), gateway tokens (`tok_...`) and webhook signing secrets
(`whsec_...`). Security codes are short and
cannot be told from other numbers in text, so they are kept out by removing the echoes.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

MASK = "[redacted]"
# 12 or more digits, single spaces, dots or dashes allowed between them: a card number in any
# of the ways people write one ("4242 4242 4242 4242", "4242.4242.4242.4242").
_CARD_NUMBER = re.compile(r"(?<![\w.-])\d(?:[ .-]?\d){11,}(?![\w-])")
_TOKENS = re.compile(r"\b(?:bc|tok|whsec)_[A-Za-z0-9_\-]{6,}")
# graphql-core's echoes of an input value. Since graphql-core 3.3 the echo always ends the
# message (a variable's error wraps the inner one at its end), so each goes to the end: a value
# holding a ";" or a quote cannot leave half of itself behind.
_ECHOES = [
    # graphql-core 3.2: "Variable '$x' got invalid value <value> at 'x.y'; <reason>"
    (re.compile(r"got invalid value .*? at '"), "got an invalid value at '"),
    (re.compile(r"got invalid value .*?;"), "got an invalid value;"),
    # a scalar's own exception text, which may quote the value
    (re.compile(r",? but encountered error .*$", re.S), ""),
    # "... unknown field 'x'. Did you mean 'y'? Found: <value>." / "..., found: <value>."
    (re.compile(r"(?<=\?)\s*\bFound: .*$", re.S), ""),
    (re.compile(r"[,;.]?\s*\b[Ff]ound: .*$", re.S), "."),
    # "Int cannot represent non-integer value: <value>", "Enum 'E' cannot represent non-string value: ..."
    (re.compile(r"(cannot represent [\w -]*value): .*$", re.S), r"\1"),
    (re.compile(r"\bValue '.*' does not exist in '(\w+)' enum", re.S), r"Value does not exist in '\1' enum"),
    # a token of the document in a syntax error: "Expected Name, found Int '4242...'."
    (re.compile(r"\b(Int|Float|String|BlockString) '.*'(?=\.?$)", re.S), r"\1"),
]


def _mask_card(match: re.Match[str]) -> str:
    text = match.group()
    if text.count(".") == 1 and " " not in text and "-" not in text:
        return text  # a decimal number (a pro-rata factor in a logged statement), not a card
    return MASK


def redact(text: str) -> str:
    """`text` with card-number-like digit runs and tokens masked."""
    return _TOKENS.sub(MASK, _CARD_NUMBER.sub(_mask_card, text))


def redact_error_message(message: str) -> str:
    """A GraphQL error message without the input value graphql-core echoes in it."""
    for pattern, replacement in _ECHOES:
        message = pattern.sub(replacement, message)
    return redact(message)


def install_log_redaction() -> None:
    """Make every log record of this process redacted (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_redacting", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return record
        redacted = redact(message)
        if redacted != message:  # records with nothing to hide keep their shape (msg, args)
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    make_record._redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
