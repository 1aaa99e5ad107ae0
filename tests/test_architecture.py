"""The layout keeps its promises: no import circle in portal/, no function-local import of the
portal's own modules (the way circles hide), and HX-* headers read or written only in portal/hx.py."""
from __future__ import annotations

import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parent.parent / "portal"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PORTAL.rglob("*.py"):
        parts = path.relative_to(PORTAL.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(node, modules) -> set[str]:
    """The portal modules an import statement loads (``from portal import hx`` loads portal.hx,
    not the package's factory)."""
    if isinstance(node, ast.ImportFrom) and node.module:
        subs = {f"{node.module}.{alias.name}" for alias in node.names}
        if subs <= modules.keys():
            return subs
        return {node.module} & modules.keys() | subs & modules.keys()
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules.keys()
    return set()


def _graph():
    modules = _modules()
    graph, local = {name: set() for name in modules}, []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            targets = _imports(node, modules)
            if not targets:
                continue
            if id(node) in top:
                graph[name] |= targets
            else:
                local.append(f"{path.relative_to(PORTAL.parent)}:{node.lineno}")
    return graph, local


def _cycles(graph) -> list[list[str]]:
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_the_portal():
    graph, _local = _graph()
    assert _cycles(graph) == []


def test_the_portal_imports_its_own_modules_at_the_top_only():
    _graph_, local = _graph()
    assert local == []


def test_hx_headers_are_read_and_written_in_hx_py_only():
    offenders = [str(path.relative_to(PORTAL.parent)) for path in PORTAL.rglob("*.py")
                 if path.name != "hx.py" and '"HX-' in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
