"""The domain core is pure Python: its modules import only the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).parents[2] / "shared" / "domain"
CORE = [
    "case.py",
    "events.py",
    "periods.py",
    "timeutil.py",
    "__init__.py",
    *(f"figures/{p.name}" for p in sorted((DOMAIN / "figures").glob("*.py"))),
]


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports (absolute imports only)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_only_the_standard_library(name: str) -> None:
    """case, events, figures, periods, timeutil: stdlib and shared.domain only."""
    path = DOMAIN / name
    roots = imported_roots(path)
    outside = sorted(r for r in roots if r not in sys.stdlib_module_names and r != "shared")
    assert outside == []
    shared = [
        node.module
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared")
    ]
    assert all(m.startswith("shared.domain") for m in shared), shared
