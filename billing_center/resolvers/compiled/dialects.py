"""How each value of a compiled answer is written in SQL, for PostgreSQL and for SQLite.

The compiler (`compiler.py`) builds one statement whose values are the JSON of the root fields
it answers; everything that differs between the two databases is here: building JSON objects and
arrays, and turning columns into exactly the text the API's scalars serialise to (what
Strawberry's `DateTime`, `Date`, `Decimal`, `Boolean` and `ID` would print for the value the
ORM would have read). A test runs every compiled query on both databases against the regular
path, so a difference shows up there.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence


def b64url(text: str | None) -> str | None:
    """base64url without padding: how global ids and cursors are encoded (`schema.ids`)."""
    if text is None:
        return None
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# Stands for a to-one object that is missing where the API says it cannot be (`product`,
# `user`): the regular path would answer with an error, so an answer holding it is not
# used (`runner`). A user's text showing it too only sends that request the regular way.
MISSING = '"\\u0000missing"'


class Dialect:
    """What both databases share; each subclass fills in the rest."""

    name = ""

    def literal(self, text: str) -> str:
        """A string literal (only ever our own type and field names: no quote inside)."""
        assert "'" not in text
        return f"'{text}'"

    def object(self, pairs: Sequence[tuple[str, str]]) -> str:
        """A JSON object of (key, SQL expression) pairs, keys in the given order."""
        raise NotImplementedError

    def answer(self, value: str) -> str:
        """A root field's value in the statement: its JSON as text."""
        return value

    def nested(self, subquery: str) -> str:
        """The JSON value of a scalar subquery (null stays null)."""
        raise NotImplementedError

    def marker(self, hole: int, column: str) -> str:
        """A hole's marker (`holes`): the JSON array [hole number, the row's id]."""
        raise NotImplementedError

    def present(self, value: str) -> str:
        """A non-null object's JSON, or MISSING."""
        raise NotImplementedError

    def array(self, element: str, keep: str | None, order: str) -> str:
        """The JSON array of `element` over the rows of the query it is aggregated in, only
        rows where `keep` holds (all when None), in `order` (the rows already come in that order)."""
        raise NotImplementedError

    def boolean(self, column: str) -> str:
        raise NotImplementedError

    def constant(self, value: bool) -> str:
        raise NotImplementedError

    def text(self, column: str) -> str:
        """A string or integer column as it is."""
        return column

    def decimal(self, column: str, places: int) -> str:
        raise NotImplementedError

    def datetime(self, column: str) -> str:
        raise NotImplementedError

    def date(self, column: str) -> str:
        raise NotImplementedError

    def encoded(self, prefix: str, column: str) -> str:
        """base64url of `prefix` followed by the integer `column` (null for null)."""
        raise NotImplementedError


class Postgres(Dialect):
    name = "postgres"

    def answer(self, value: str) -> str:
        return f"({value})::text"

    def object(self, pairs: Sequence[tuple[str, str]]) -> str:
        return "json_build_object(" + ", ".join(f"{self.literal(key)}, {value}" for key, value in pairs) + ")"

    def nested(self, subquery: str) -> str:
        return f"({subquery})"

    def marker(self, hole: int, column: str) -> str:
        return f"json_build_array({hole}, {column})"

    def present(self, value: str) -> str:
        return f"COALESCE({value}, {self.literal(MISSING)}::json)"

    def array(self, element: str, keep: str | None, order: str) -> str:
        kept = f" FILTER (WHERE {keep})" if keep else ""
        return f"COALESCE(json_agg({element} ORDER BY {order}){kept}, '[]'::json)"

    def boolean(self, column: str) -> str:
        return column

    def constant(self, value: bool) -> str:
        return "true" if value else "false"

    def decimal(self, column: str, places: int) -> str:
        # NUMERIC(p, places) prints its scale, as the Decimal asyncpg reads does.
        return f"({column})::text"

    def datetime(self, column: str) -> str:
        # datetime.isoformat() of the UTC value: microseconds only when there are some.
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (f"CASE WHEN {column} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
                f"CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
                f"ELSE to_char({utc}, '.US') END || '+00:00' END")

    def date(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM-DD')"

    def encoded(self, prefix: str, column: str) -> str:
        # Our ids are short: PostgreSQL's base64 wraps lines only past 76 characters.
        return (f"rtrim(translate(encode(convert_to({self.literal(prefix)} || ({column})::text, 'UTF8'), "
                f"'base64'), '+/', '-_'), '=')")


class Json(str):
    """A SQL expression whose value is JSON text already (an object, an array, a boolean), or
    NULL; any other expression is a scalar the dialect still has to write as JSON."""


class Sqlite(Dialect):
    """SQLite writes JSON as text, by concatenation: its JSON functions would not do. A value
    that comes out of a subquery loses SQLite's JSON subtype, so each level of nesting would
    have to `json()` it again, parsing every nested object once per level above it. Here
    nothing is parsed: scalars go through `json_quote`, JSON text goes in as it is, arrays are
    `group_concat`s of their elements (measured on the peers benchmark's statements: 0.16 →
    0.10 ms for 5 × 10 rows, 1.34 → 0.93 ms for 50 × 10)."""

    name = "sqlite"

    def object(self, pairs: Sequence[tuple[str, str]]) -> str:
        parts = []
        for index, (key, value) in enumerate(pairs):
            written = f"COALESCE({value}, 'null')" if isinstance(value, Json) else f"json_quote({value})"
            parts.append(self.literal(("{" if index == 0 else ",") + f'"{key}":') + f" || {written}")
        return Json("(" + " || ".join(parts) + " || '}')") if parts else Json("'{}'")

    def nested(self, subquery: str) -> str:
        return Json(f"({subquery})")

    def marker(self, hole: int, column: str) -> str:
        return Json(f"('[{hole},' || {column} || ']')")

    def present(self, value: str) -> str:
        return Json(f"COALESCE({value}, {self.literal(MISSING)})")

    def array(self, element: str, keep: str | None, order: str) -> str:
        # group_concat takes no ORDER BY before SQLite 3.44; the rows come ordered.
        kept = f" FILTER (WHERE {keep})" if keep else ""
        return Json(f"('[' || COALESCE(group_concat({element}, ','){kept}, '') || ']')")

    def boolean(self, column: str) -> str:
        return Json(f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} THEN 'true' ELSE 'false' END")

    def constant(self, value: bool) -> str:
        return Json("'true'" if value else "'false'")

    def decimal(self, column: str, places: int) -> str:
        # Stored as text (Tortoise: VARCHAR); the ORM quantizes it to the field's places.
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE printf('%.{places}f', CAST({column} AS REAL)) END"

    def datetime(self, column: str) -> str:
        # Stored as isoformat(" ") of the UTC value; the API prints isoformat().
        return f"(substr({column}, 1, 10) || 'T' || substr({column}, 12))"

    def date(self, column: str) -> str:
        return column

    def encoded(self, prefix: str, column: str) -> str:
        # SQLite has no base64: `runner` registers b64url() on the connection.
        return f"b64url({self.literal(prefix)} || {column})"


DIALECTS = {"postgres": Postgres(), "sqlite": Sqlite()}
