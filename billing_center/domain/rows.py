"""Rows of fixed SQL statements, converted exactly as Tortoise's `.values()` converts them.

Hot read paths (the token lookup, batch loads) run statements whose text never changes, so
PostgreSQL reuses their prepared statements and no query builder runs per call; this module
gives their select lists and turns their rows into the same Python values the ORM would.
"""

from __future__ import annotations

import functools
import operator
from datetime import timezone as dt_timezone
from typing import Any, Callable, NamedTuple

from tortoise import Tortoise, fields, timezone
from tortoise.models import Model



class Converters(NamedTuple):
    """How to read a model's columns from a result row: all of them at once (`read`, keys
    in the row), under their field `names`, then the conversions of the few whose driver
    value is not the Python value yet (field name, conversion)."""

    read: Callable[[Any], tuple]
    names: tuple[str, ...]
    conversions: tuple[tuple[str, Callable[[Any], Any]], ...]


_CACHE: dict[tuple[type, str, str, str], tuple[str, Converters]] = {}


def dialect() -> str:
    """"postgres" or "sqlite": the database the application runs on."""
    return Tortoise.get_connection("default").capabilities.dialect


def select_list(model: type[Model], alias: str = "", prefix: str = "") -> tuple[str, Converters]:
    """The select list of all of a model's columns and how to convert them.

    Columns come under their field names, or `prefix + name` when the model is joined into
    another's statement (`alias` then qualifies them). Cached per model, alias and backend."""
    key = (model, alias, prefix, dialect())
    if key not in _CACHE:
        meta = model._meta
        native = {name for _, name, _ in meta.db_native_fields}
        qualifier = f'{alias}.' if alias else ""
        columns = list(meta.fields_db_projection.items())
        select = ", ".join(f'{qualifier}"{column}" AS "{prefix}{name}"' for name, column in columns)
        names = tuple(name for name, _ in columns)
        # itemgetter of one key returns the value, not a 1-tuple: a model has more columns.
        converters = Converters(
            read=operator.itemgetter(*(prefix + name for name in names)),
            names=names,
            conversions=tuple((name, _converter(meta.fields_map[name])) for name in names if name not in native),
        )
        _CACHE[key] = (select, converters)
    return _CACHE[key]


def _converter(field: fields.Field) -> Callable[[Any], Any]:
    to_python = field.to_python_value
    if not isinstance(field, fields.DatetimeField) or str(timezone.get_default_timezone()) != "UTC":
        return to_python

    def to_datetime(value: Any) -> Any:
        # asyncpg gives timestamptz as aware UTC datetimes: Tortoise would only move them to
        # the UTC they are in (measured: 5% of a small nested read). Text (SQLite) and any
        # other zone still take Tortoise's conversion.
        return value if getattr(value, "tzinfo", None) is dt_timezone.utc else to_python(value)

    return to_datetime


def convert(row: Any, converters: Converters) -> dict[str, Any]:
    """A result row's columns (see `select_list`) as field name -> Python value."""
    values = dict(zip(converters.names, converters.read(row)))
    for name, to_python in converters.conversions:
        value = values[name]
        if value is not None:
            values[name] = to_python(value)
    return values


@functools.lru_cache(maxsize=512)
def numbered(sql: str, first: int) -> str:
    """`sql` with its `?` placeholders as PostgreSQL's `$first`, `$first+1`, ... (our fixed
    statements have no `?` inside literals)."""
    parts = sql.split("?")
    return "".join(part + (f"${first + i}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))
