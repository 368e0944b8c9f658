"""The house stays readable: in `domain/` and `resolvers/` no function is over 60 lines and no
module over 300 non-blank lines (STYLE.md: "split a module past ~300 lines"), the generated
migrations and the declarative entities aside. A function is counted from its `def` line to
its last line (decorators aside), docstring and comments included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("billing_center/domain", "billing_center/resolvers")
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 300
# Declarations, not logic: one entity after the other.
DECLARATIVE = {"billing_center/domain/models.py"}


def _modules() -> list[tuple[str, str]]:
    found = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                found.append((path.relative_to(ROOT).as_posix(), path.read_text()))
    return found


MODULES = _modules()


def test_no_function_is_over_60_lines() -> None:
    # given every function and method of the checked modules, nested ones too
    long = []
    for name, source in MODULES:
        for node in ast.walk(ast.parse(source, name)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # when it is measured
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name} has {lines} lines")
    # then none is too long
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n" + "\n".join(long)


def test_no_module_is_over_300_lines() -> None:
    # given the non-blank lines of every checked module
    sizes = {name: sum(1 for line in source.splitlines() if line.strip()) for name, source in MODULES}
    # when the declarative ones are set aside
    large = [f"{name} has {lines} non-blank lines" for name, lines in sizes.items()
             if lines > MAX_MODULE_LINES and name not in DECLARATIVE]
    # then every other one fits
    assert not large, (f"modules over {MAX_MODULE_LINES} non-blank lines (move a coherent part into a module "
                       "named after what it holds):\n" + "\n".join(large))
