"""The directory is the bottom layer: accounts and claims refer to it, never the other way round."""
from __future__ import annotations

import ast
from pathlib import Path

import portal.directory

PACKAGE = Path(portal.directory.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_the_directory_imports_accounts_or_claims():
    found = {
        f"{path.name}: {name}"
        for path in PACKAGE.glob("*.py")
        for name in imported_modules(path)
        if name.split(".")[:2] in (["portal", "accounts"], ["portal", "claims"], ["portal", "directory_import"])
    }
    assert found == set()
