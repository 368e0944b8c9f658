"""Compiled plans, kept per operation, variable shape and kind of caller, and running them.

A plan is made on an operation's first request and reused while the parser cache hands out
the same document: the key is the operation node's identity (kept alive by the plan), the
database, whether the caller is an admin (which of `visibility.subscriptions`' two forms the
statement holds), and the variables' shape — the values of booleans (they decide
`@include`/`@skip`), which variables are null (they decide which cursors bound a page) and
the type inside an id (it decides the table of `node(id:)`).
Every request binds its own values (`compiler.bind`) and checks they fit the plan's shape:
anything else takes the regular path rather than a wrong statement.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLObjectType, OperationType
from graphql.pyutils import Path
from tortoise import Tortoise

from billing_center.domain import rows
from billing_center.schema.ids import from_global_id
from billing_center.resolvers.compiled.bindings import Bindings, NotCompilable, Slot, bind, shape
from billing_center.resolvers.compiled import holes
from billing_center.resolvers.compiled.compiler import Compiler, non_null_roots
from billing_center.resolvers.compiled.dialects import DIALECTS, MISSING, b64url

MAX_PLANS = 256


@dataclass(frozen=True)
class Plan:
    """One operation's statement and how a request fills in its parameters."""

    operation: Any  # the operation node, kept alive so its id keys this plan
    sql: str
    getters: tuple[Callable[[Bindings], Any], ...]
    slots: tuple[Slot, ...]
    shape: tuple  # the page forms and filter texts the statement was written for
    columns: tuple[str, ...]  # the root fields the statement answers, a column each
    non_null: frozenset[str]  # those of them that may not be null
    marked: frozenset[str]  # those of them whose answer holds holes
    holes: tuple[holes.Hole, ...]


# An operation that cannot be compiled is kept as (its operation, None).
_PLANS: OrderedDict[tuple, tuple[Any, Plan | None]] = OrderedDict()


def _shape_of(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, dict):
        return tuple((key, _shape_of(item)) for key, item in sorted(value.items()))
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        # An id's type decides which table `node(id:)` reads.
        decoded = from_global_id(value)
        return ("str", decoded and decoded[0])
    return type(value).__name__


def plan_for(executor: Any, root_type: GraphQLObjectType, grouped: dict, dialect: str) -> Plan | None:
    """The cached plan of this request's operation and shape, made if needed; None when the
    operation cannot be compiled."""
    actor = executor.context_value.actor
    operation = executor.operation
    key = (id(operation), dialect, actor.is_admin, _shape_of(dict(executor.variable_values.coerced)))
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is operation:
        _PLANS.move_to_end(key)
        return cached[1]
    try:
        compiler = Compiler(executor, DIALECTS[dialect], lambda slots: bind(slots, actor, executor, dialect))
        sql, marked = compiler.root(root_type, grouped)
        plan = Plan(operation, sql, tuple(compiler.getters),
                    tuple(compiler.slots), shape(bind(compiler.slots, actor, executor, dialect)),
                    tuple(compiler.columns), frozenset(non_null_roots(root_type, grouped)), frozenset(marked),
                    tuple(compiler.holes))
    except NotCompilable:
        plan = None
    _PLANS[key] = (operation, plan)
    if len(_PLANS) > MAX_PLANS:
        _PLANS.popitem(last=False)
    return plan


async def answer(executor: Any, root_type: GraphQLObjectType, grouped: dict) -> dict[str, Any] | None:
    """The operation's `data`, or None: the regular path answers it.

    The root fields the statement answers are JSON text from the database, passed into the
    response as they are (`orjson.Fragment`: no Python object per row, no second encoding);
    fields it leaves to the regular path (`holes`) are executed by graphql-core and put in
    their places. Runs only for queries of a tenant's user, after every check of the request
    (the token, the document's shape, the node budget and rate points ran before execution)."""
    actor = getattr(executor.context_value, "actor", None)
    if actor is None or actor.tenant_id is None or executor.operation.operation != OperationType.QUERY:
        return None
    dialect = rows.dialect()
    plan = plan_for(executor, root_type, grouped, dialect)
    if plan is None:
        return None
    params = _params(plan, actor, executor, dialect)
    if params is None:
        return None
    texts = await _fetch_row(plan.sql, params, dialect)
    answered: dict[str, Any] = {}
    found: list = []
    for key, text in zip(plan.columns, texts):
        if text is None:
            if key in plan.non_null:
                return None  # e.g. the token's tenant is gone: the regular path gives the error
            answered[key] = None
        elif MISSING in text:
            return None  # a non-null object is missing: the regular path gives the error
        elif key in plan.marked:
            answered[key] = value = orjson.loads(text)
            found.extend(holes.markers(value, Path(None, key, root_type.name)))
        else:
            answered[key] = orjson.Fragment(text)
    try:
        await holes.fill(executor, plan.holes, found)
        left = {key: details for key, details in grouped.items() if key not in answered}
        if left:
            result = executor.execute_fields(root_type, executor.root_value, None, left, None)
            answered.update(await result if executor.is_awaitable(result) else result)
    except (holes.Refused, GraphQLError):
        return None
    return {key: answered[key] for key in grouped}


# Without variables, a plan's parameters depend on the caller alone: (plan, values) by
# (plan id, caller), the plan kept to check the id still names it.
_PARAMS: dict[tuple, tuple[Plan, list[Any]]] = {}
MAX_PARAMS = 4096


def _params(plan: Plan, actor: Any, executor: Any, dialect: str) -> list[Any] | None:
    """The statement's parameters for this request, or None when its arguments do not fit the
    plan (e.g. an invalid cursor: the regular path gives the error)."""
    key = None if executor.variable_values.coerced else (id(plan), actor)
    cached = _PARAMS.get(key) if key is not None else None
    if cached is not None and cached[0] is plan:
        return cached[1]
    try:
        bindings = bind(list(plan.slots), actor, executor, dialect)
    except NotCompilable:
        return None
    if shape(bindings) != plan.shape:
        return None
    params = [getter(bindings) for getter in plan.getters]
    if key is not None:
        if len(_PARAMS) >= MAX_PARAMS:
            _PARAMS.clear()
        _PARAMS[key] = (plan, params)
    return params


_WITH_FUNCTIONS: weakref.WeakSet = weakref.WeakSet()


async def _fetch_row(sql: str, params: list[Any], dialect: str) -> tuple:
    """The one row of the plan's statement, sent through Tortoise (so it is logged and
    counted like every statement)."""
    connection = Tortoise.get_connection("default")
    if dialect == "sqlite" and getattr(connection, "_connection", None) not in _WITH_FUNCTIONS:
        async with connection.acquire_connection() as raw:
            if raw not in _WITH_FUNCTIONS:
                await raw.create_function("b64url", 1, b64url, deterministic=True)
                _WITH_FUNCTIONS.add(raw)
    _, found = await connection.execute_query(sql, params)
    return tuple(found[0])
