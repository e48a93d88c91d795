"""The shape of the house (docs/architecture.md): import directions, no import cycle, file sizes.

Read from the source with `ast`, so a violation names the file and the import that makes it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from vigil.features import FEATURES
from vigil.profiles import NAMES, load_profile

ROOT = Path(__file__).resolve().parents[1] / "vigil"
MAX_LINES = 700


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or package)
    names: tuple[str, ...]
    line: int
    typing_only: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str) -> list[Import]:
    """Module-level imports of one module (function bodies are deferred imports, not edges)."""
    found: list[Import] = []

    def visit(nodes: list[ast.stmt], typing_only: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If):
                visit(node.body, typing_only or _is_type_checking(node))
                visit(node.orelse, typing_only)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(block, typing_only)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vigil"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    target = sub if sub in MODULES else node.module
                    found.append(Import(name, target, (alias.name,), node.lineno, typing_only))
            elif isinstance(node, ast.Import):
                found.extend(Import(name, a.name, (), node.lineno, typing_only) for a in node.names
                             if a.name.startswith("vigil"))

    visit(ast.parse(MODULES[name].read_text()).body, False)
    return found


ALL_IMPORTS = [imp for name in MODULES for imp in imports_of(name)]


def graph(include_typing: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in ALL_IMPORTS:
        if imp.typing_only and not include_typing:
            continue
        parts = imp.target.split(".")
        # importing a.b.c runs a and a.b first
        for k in range(2, len(parts) + 1):
            pkg = ".".join(parts[:k])
            if pkg in MODULES and pkg != imp.source and not imp.source.startswith(pkg + "."):
                edges[imp.source].add(pkg)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph(include_typing=False)) == []


def test_type_only_references_loop_within_one_package_at_most() -> None:
    # A part may name the type of the service it belongs to (storage's volumes, shares and
    # encryption name StorageService under TYPE_CHECKING); across packages not even that.
    crossing = [c for c in cycles(graph(include_typing=True)) if len({_package(m) for m in c}) > 1]
    assert crossing == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_storage_does_not_import_recording() -> None:
    wrong = [imp for imp in ALL_IMPORTS
             if imp.source.startswith("vigil.features.storage") and imp.target.startswith("vigil.features.recording")]
    assert wrong == []


def test_footage_stands_on_core_only() -> None:
    wrong = [imp for imp in ALL_IMPORTS if imp.source.startswith("vigil.footage")
             and not imp.target.startswith(("vigil.footage", "vigil.core"))]
    assert wrong == []


def test_core_imports_no_feature() -> None:
    wrong = [imp for imp in ALL_IMPORTS if imp.source.startswith("vigil.core")
             and not imp.target.startswith("vigil.core")]
    assert wrong == []


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["vigil", "features"] else ".".join(parts[:2])


def test_no_package_imports_another_packages_private_names() -> None:
    wrong = [imp for imp in ALL_IMPORTS if any(n.startswith("_") and not n.startswith("__") for n in imp.names)
             and _package(imp.source) != _package(imp.target)]
    assert wrong == []


def test_no_python_file_is_over_700_lines() -> None:
    long = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("name", NAMES)
def test_profiles_name_only_features_that_exist_or_io_ports_they_have(name: str) -> None:
    profile = load_profile(name)
    loaded = {f.name for f in FEATURES} & profile.features
    assert ("io" in loaded) == bool(profile.hardware.io_ports)
    assert {"events", "eventstream", "mqtt", "notify"} <= loaded  # the platform every device has


def test_every_feature_package_says_what_flows_through_it() -> None:
    for feature in FEATURES:
        package = ROOT / "features" / feature.name / "__init__.py"
        doc = ast.get_docstring(ast.parse(package.read_text()))
        assert doc, f"{package} has no docstring"
