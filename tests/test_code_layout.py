"""The code stays easy to live in: short modules, short functions, docstrings on the public
API (the layering itself is import-linter's contract in pyproject.toml, run by `make test`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "vocvision"
MODULES = sorted(SOURCE.rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_modules_and_functions_are_short(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    for function in _functions(ast.parse(path.read_text())):
        length = function.end_lineno - function.lineno + 1
        assert length <= MAX_FUNCTION_LINES, f"{path.name}:{function.name}: {length} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_modules_and_public_classes_have_docstrings(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.name}: no module docstring"
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{path.name}:{node.name}: no docstring"


def test_every_module_name_is_unique_across_packages():
    # A newcomer reading `training.py` must know which one is meant: no module repeats the
    # name of another package's module, nor of a package.
    names: dict[str, list[str]] = {}
    for path in MODULES:
        name = path.parent.name if path.name == "__init__.py" else path.stem
        names.setdefault(name, []).append(str(path.relative_to(SOURCE)))
    repeated = {n: where for n, where in names.items() if len(where) > 1 and n != "vocvision"}
    assert not repeated, repeated


def test_no_import_hides_behind_type_checking():
    # import-linter skips TYPE_CHECKING imports, so an upward one would break the layering
    # unseen: there are none.
    hidden = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                hidden.append(str(path.relative_to(SOURCE)))
    assert not hidden, hidden
