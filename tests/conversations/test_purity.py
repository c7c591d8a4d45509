"""conversations/ stays a pure core: no transport, database or analytics imports, no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conversations

PACKAGE = Path(conversations.__file__).parent
FORBIDDEN = frozenset(
    {"aiogram", "telegram", "sqlmodel", "sqlalchemy", "storage", "bot", "analytics"}
)
# Only these modules read files (definition files and the shipped area table).
MAY_READ_FILES = frozenset({"loader.py", "areas.py"})
FILE_CALLS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes"})
MODULES = sorted(PACKAGE.rglob("*.py"))
NO_IO_MODULES = [p for p in MODULES if p.relative_to(PACKAGE).as_posix() not in MAY_READ_FILES]


def imported_roots(tree: ast.AST) -> set[str]:
    """The top-level package of every absolute import in a module."""
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def file_calls(tree: ast.AST) -> list[str]:
    """Calls that open or read files: open(...), path.open(), path.read_text() and the like."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in FILE_CALLS:
            found.append(f"line {node.lineno}: {name}()")
    return found


def test_the_package_has_modules() -> None:
    names = {path.name for path in MODULES}
    assert {"engine.py", "events.py", "definition.py", "expressions.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_nothing_outside_the_core(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert imported_roots(tree) & FORBIDDEN == set()


@pytest.mark.parametrize("path", NO_IO_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_does_no_file_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert file_calls(tree) == []


def test_the_checks_catch_offenders() -> None:
    tree = ast.parse("import aiogram.types\nfrom storage.repo import x\nopen('f')\np.read_text()")
    assert imported_roots(tree) & FORBIDDEN == {"aiogram", "storage"}
    assert file_calls(tree) == ["line 3: open()", "line 4: read_text()"]
