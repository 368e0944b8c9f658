"""Strawberry's extension hooks, made ready once per extension class instead of per request.

Each request runs four phases (operation, parsing, validation, execution), and Strawberry
builds each phase's context manager by asking every extension of the schema whether it has
that phase's hook (`inspect.isgeneratorfunction` and friends), then wraps each hook it finds
in a fresh `contextlib.contextmanager` (a `functools.wraps` per hook per request). With our
ten extensions that is forty questions and about ten wrappers per request, for answers that
depend only on the extension's class. Here the answer and the wrapper are made once per
class and hook; a request binds them to its own extension instances with `functools.partial`.
The hooks then run exactly as in Strawberry: in the schema's order, on one exit stack per
phase, each generator entered and resumed (or handed the exception) the same way.

Hooks of other forms (plain or `async` functions rather than generators) still go through
Strawberry's own `get_hook`. The extensions' `get_results` are only awaited for the classes
that override them (the default returns `{}`, which adds nothing).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.utils.await_maybe import await_maybe

_NONE = object()  # the class does not define the hook
_OTHER = object()  # a hook that is not a generator: Strawberry's `get_hook` wraps it
_HOOKS: dict[tuple[type, str], Any] = {}


def _hook(cls: type, name: str) -> Any:
    """How `cls` implements hook `name`: _NONE, _OTHER, or (context manager factory, is_async)."""
    key = (cls, name)
    made = _HOOKS.get(key)
    if made is None:
        function = getattr(cls, name)
        if function is getattr(SchemaExtension, name):
            made = _NONE
        elif inspect.isgeneratorfunction(function):
            made = (contextlib.contextmanager(function), False)
        elif inspect.isasyncgenfunction(function):
            made = (contextlib.asynccontextmanager(function), True)
        else:
            made = _OTHER
        _HOOKS[key] = made
    return made


class _PreparedHooks:
    """`get_hook` from the per-class table (mixed into Strawberry's phase context managers)."""

    HOOK_NAME: str

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        made = _hook(type(extension), self.HOOK_NAME)
        if made is _NONE:
            return None
        if made is _OTHER:
            return super().get_hook(extension)  # type: ignore[misc]
        factory, is_async = made
        return WrappedHook(extension=extension, hook=functools.partial(factory, extension), is_async=is_async)


class _Operation(_PreparedHooks, OperationContextManager):
    pass


class _Parsing(_PreparedHooks, ParsingContextManager):
    pass


class _Validation(_PreparedHooks, ValidationContextManager):
    pass


class _Executing(_PreparedHooks, ExecutingContextManager):
    pass


class ExtensionsRunner(SchemaExtensionsRunner):
    """Strawberry's runner with hooks prepared per class (see the module doc)."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)

    async def get_extensions_results(self, ctx: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if type(extension).get_results is not SchemaExtension.get_results:
                data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
