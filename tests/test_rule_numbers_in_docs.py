"""The numbers of the rules in README.md and in the GraphQL descriptions (schema.graphql) are
those of `domain.subscription_rules` and its neighbours (SPEC §3, §4, §5, §7): a number lives
in one place, and a document that says another one fails here.

Most descriptions are built from the constants; this also holds the README (written by hand)
and the descriptions that are still literal text."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from billing_center.domain import subscription_rules as rules
from billing_center.domain.billing.dunning import RETRY_AFTER_DAYS
from billing_center.domain.licenses import MAX_USERS_PER_CALL

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SCHEMA = (ROOT / "schema.graphql").read_text()


def _numbers(pattern: str, text: str) -> list[tuple[int, ...]]:
    """Every match of `pattern` in `text` (whitespace-insensitive), its groups as integers."""
    flat = re.sub(r"\s+", " ", text)
    return [tuple(int(group.replace(",", "")) for group in match.groups())
            for match in re.finditer(pattern, flat)]


RETRIES = tuple(RETRY_AFTER_DAYS)
# (document, pattern with the rule's number(s) as groups, what they must be)
SENTENCES = [
    # §5 Cancel: 25 licences, 7 days (168 hours)
    (README, r"The (\d+)-licence online-cancellation limit", (rules.ONLINE_CANCEL_MAX_ASSIGNED,)),
    (README, r"after the (\d+)-hour cancellation window", (rules.MCA_CANCELLATION_WINDOW // timedelta(hours=1),)),
    (SCHEMA, r"(\d+)-day cancellation window", (rules.MCA_CANCELLATION_WINDOW.days,)),
    # §3 lifecycle: EXPIRED 30 days, DISABLED 90 days, data deleted by 180 days
    (README, r"`EXPIRED` (\d+) days → `DISABLED`", (rules.EXPIRED_PERIOD.days,)),
    (README, r"→ (\d+) days → `DELETED`", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"EXPIRED for (\d+) days", (rules.EXPIRED_PERIOD.days,)),
    (SCHEMA, r"[Ee]xpired for (\d+) days: DISABLED", (rules.EXPIRED_PERIOD.days,)),
    (SCHEMA, r"keep working for (\d+) days", (rules.EXPIRED_PERIOD.days,)),
    (SCHEMA, r"DISABLED for (\d+) days", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"Disabled for (\d+) days: DELETED", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"read everything for (\d+) days", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"DELETED \((\d+) days\)", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"DISABLED until then \((\d+) days\)", (rules.DISABLED_PERIOD.days,)),
    (SCHEMA, r"at the latest \((\d+) days\)", (rules.DATA_RETENTION_AFTER_CANCEL.days,)),
    (SCHEMA, r"\((\d+) days after cancellation\)", (rules.DATA_RETENTION_AFTER_CANCEL.days,)),
    # §3 licence totals and §5 trial size
    (README, r"Totals are (\d+) to ([\d,]+)", (rules.MIN_QUANTITY, rules.MAX_QUANTITY)),
    (README, r"(\d+) to ([\d,]+) licences per subscription", (rules.MIN_QUANTITY, rules.MAX_QUANTITY)),
    (README, r"other\), of at most (\d+) licences", (rules.MAX_TRIAL_QUANTITY,)),
    (SCHEMA, r"The new total: (\d+) to ([\d,]+) and", (rules.MIN_QUANTITY, rules.MAX_QUANTITY)),
    (SCHEMA, r"a trial at most (\d+)\.", (rules.MAX_TRIAL_QUANTITY,)),
    (SCHEMA, r"Licences to buy: (\d+) to ([\d,]+); a trial (\d+) to (\d+)\.",
     (rules.MIN_QUANTITY, rules.MAX_QUANTITY, rules.MIN_QUANTITY, rules.MAX_TRIAL_QUANTITY)),
    (SCHEMA, r"free trial instead:[^\"]*at most (\d+) licences", (rules.MAX_TRIAL_QUANTITY,)),
    # §4: at most 20 users per call
    (SCHEMA, r"1 to (\d+) users of your organization", (MAX_USERS_PER_CALL,)),
    (SCHEMA, r"[Aa]t most (\d+) users", (MAX_USERS_PER_CALL,)),
    # §7: retries 1, 3 and 7 days after the first failure
    (README, r"retried (\d+), (\d+) and (\d+) days after the first failure", RETRIES),
    (SCHEMA, r"retried (\d+), (\d+) and (\d+) days after the first failure", RETRIES),
]


@pytest.mark.parametrize("document, pattern, expected", SENTENCES,
                         ids=[f"{'README' if d is README else 'schema'}: {p}" for d, p, _ in SENTENCES])
def test_a_rule_number_in_the_docs_is_the_constant(document, pattern, expected):
    found = _numbers(pattern, document)
    # The sentence is there (a rewording fails here, so this list is kept up to date) and
    # every occurrence states the constant.
    assert found, f"no sentence matches {pattern!r}"
    assert set(found) == {expected}
