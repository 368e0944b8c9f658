"""Every read of the test suite that the compiled path answers is answered a second time by the
regular path, in the same request, and the two must be the same JSON, key order included
(issue #15: "every read in the test suite" in the differential corpus).

`conftest` installs `shadowed` in place of `compiled.answer` for every in-process test. A
difference is recorded, not raised (the execution context would log it and quietly answer
regularly), and the test fails at teardown naming the query. The regular run's statements are
kept out of `count_sql`, so tests that count statements count what the compiled path sends.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson
from graphql import print_ast
from graphql.execution.executor import CollectedErrors
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from billing_center.resolvers import compiled

REAL_ANSWER = compiled.answer
# True while the regular path re-answers a request: its statements are not counted.
SHADOWING: ContextVar[bool] = ContextVar("shadowing", default=False)
DIFFERENCES: list[str] = []


def _canonical(data: Any) -> bytes:
    # The database's JSON text keeps its own spacing: compare what a client parses.
    return orjson.dumps(orjson.loads(orjson.dumps(data)))


async def shadowed(executor: Any, root_type: Any, grouped: dict) -> Any:
    """`compiled.answer`, checked against the regular path when it answered."""
    data = await REAL_ANSWER(executor, root_type, grouped)
    if data is None:
        return None
    own_errors, executor.collected_errors = executor.collected_errors, CollectedErrors()
    token = SHADOWING.set(True)
    try:
        regular = StrawberryGraphQLCoreExecutionContext.execute_collected_root_fields(
            executor, root_type, executor.root_value, grouped, False, [])
        if executor.is_awaitable(regular):
            regular = await regular
        errors = executor.collected_errors.errors
    finally:
        SHADOWING.reset(token)
        executor.collected_errors = own_errors
    if errors or _canonical(data) != _canonical(regular):
        DIFFERENCES.append(f"{print_ast(executor.operation)}\ncompiled: {_canonical(data)[:2000]!r}\n"
                           f"regular: {_canonical(regular)[:2000]!r}\nerrors: {errors}")
    return data
