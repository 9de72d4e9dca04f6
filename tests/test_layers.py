"""The layers hold: imports run one way, no import cycles, heavy libraries load only when used, every
module is in docs/architecture.md, and a long module says it is one stage."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("connectors", "metrics", "dashboard")
HEAVY = ("great_expectations", "statsmodels", "kaleido", "streamlit")

# What each group may import besides itself (the longest matching prefix names a module's group).
# dashboard -> metrics -> connectors; inside metrics: load -> validation -> quality -> engine ->
# definitions, and okrs -> engine, definitions. The demo asks the engine's dialects how to load a table.
BELOW_METRICS = {"connectors"}
ALLOWED: dict[str, set[str]] = {
    "connectors": set(),
    "metrics": set(),
    "metrics.definitions": {"connectors"},
    "metrics.engine": {"metrics.definitions", "connectors"},
    "metrics.quality": {"metrics.engine", "metrics.definitions", "connectors"},
    "metrics.okrs": {"metrics.engine", "metrics.definitions", "connectors"},
    "metrics.validation": {"metrics.quality", "metrics.engine", "metrics.definitions", "connectors"},
    "metrics.load": {
        "metrics.validation",
        "metrics.quality",
        "metrics.engine",
        "metrics.definitions",
        "connectors",
    },
    "metrics.demo": {"metrics.engine", "metrics.definitions", "connectors"},
    "dashboard": {
        "metrics",
        "metrics.load",
        "metrics.validation",
        "metrics.quality",
        "metrics.okrs",
        "metrics.engine",
        "metrics.definitions",
        "metrics.demo",
        "connectors",
    },
}
LONG_MODULE = 700  # lines; a longer module is one stage (a backend, the figure builders) and says so


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`: never runs


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, path: Path, known: dict[str, Path]) -> list[Edge]:
    """Every import of a project module in `path`, function-local ones included."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                type_only.update(id(n) for n in ast.walk(child))
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                targets.append(full if full in known else module)
        for target in targets:
            if target in known and target != name:
                edges.append(Edge(name, target, node.lineno, id(node) in type_only))
    return edges


def group_of(module: str) -> str:
    best = ""
    for group in ALLOWED:
        if (module == group or module.startswith(group + ".")) and len(group) > len(best):
            best = group
    assert best, f"{module} belongs to no layer: add it to ALLOWED in tests/test_layers.py"
    return best


def graph() -> list[Edge]:
    known = modules()
    return [edge for name, path in known.items() for edge in imports(name, path, known)]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), over imports that run."""
    nodes = sorted({e.source for e in edges} | {e.target for e in edges})
    succ: dict[str, set[str]] = {n: set() for n in nodes}
    for e in edges:
        if not e.type_only:
            succ[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(succ[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_imports_run_one_way() -> None:
    wrong = []
    for edge in graph():
        source, target = group_of(edge.source), group_of(edge.target)
        if source != target and target not in ALLOWED[source]:
            wrong.append(f"{edge.source} (line {edge.line}) imports {edge.target}: {source} -> {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_even_through_function_local_imports() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle_and_skips_type_only_imports() -> None:
    edges = [
        Edge("a", "b", 1, False),
        Edge("b", "c", 1, False),
        Edge("c", "a", 3, False),
        Edge("c", "d", 1, False),
    ]
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles([Edge("a", "b", 1, False), Edge("b", "a", 1, True)]) == []


def test_the_layer_rule_catches_an_import_the_wrong_way(tmp_path: Path) -> None:
    path = tmp_path / "engine.py"
    path.write_text("def f():\n    from metrics.okrs.scoring import score\n")
    edges = imports(
        "metrics.engine.engine", path, {"metrics.engine.engine": path, "metrics.okrs.scoring": path}
    )
    assert [(e.target, e.line) for e in edges] == [("metrics.okrs.scoring", 2)]
    assert group_of("metrics.okrs.scoring") not in ALLOWED[group_of("metrics.engine.engine")]


def test_definitions_import_nothing_else_of_metrics() -> None:
    for edge in graph():
        if group_of(edge.source) == "metrics.definitions" and edge.target.startswith("metrics"):
            assert edge.target.startswith("metrics.definitions"), edge


def _import_all(names: list[str]) -> list[str]:
    code = "import sys, json, importlib\n"
    code += f"for name in {names!r}:\n    importlib.import_module(name)\n"
    code += f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert run.returncode == 0, run.stderr
    loaded: list[str] = json.loads(run.stdout)
    return loaded


def _streamlit_modules() -> set[str]:
    """Dashboard modules that import streamlit (the app's pages and frame), directly or not."""
    known = modules()
    direct = {
        name
        for name, path in known.items()
        if re.search(r"^\s*(import streamlit|from streamlit)", path.read_text(), re.M)
    }
    edges = [e for e in graph() if not e.type_only]
    users = set(direct)
    changed = True
    while changed:
        changed = False
        for edge in edges:
            if edge.target in users and edge.source not in users:
                users.add(edge.source)
                changed = True
    return users


def test_importing_any_module_below_the_app_loads_no_heavy_library() -> None:
    # Importing modules together loads the union of what each loads alone, so one process checks all.
    names = [name for name in modules() if name not in _streamlit_modules()]
    assert "metrics.engine.polars_backend" in names and "dashboard.cli" in names
    assert _import_all(names) == []


def test_the_app_loads_no_heavy_library_but_streamlit() -> None:
    names = sorted(_streamlit_modules())
    assert "dashboard.app" in names or "dashboard.views.common" in names
    assert _import_all([n for n in names if n != "dashboard.app"]) == ["streamlit"]


def test_metrics_and_connectors_never_import_streamlit() -> None:
    for path in [*(ROOT / "metrics").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")]:
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path


def test_every_module_is_in_the_architecture_doc() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"`((?:connectors|metrics|dashboard)/[\w/]+\.py)`", doc))
    present = {str(path.relative_to(ROOT)) for path in modules().values() if path.name != "__init__.py"}
    assert sorted(present - listed) == [], "modules missing from docs/architecture.md"
    assert sorted(listed - present) == [], "docs/architecture.md lists modules that do not exist"


def test_a_long_module_says_it_is_one_stage() -> None:
    long = []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > LONG_MODULE:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "one stage" not in docstring.lower():
                long.append(f"{name}: {text.count(chr(10))} lines")
    assert not long, "split these modules, or say in their opening why each is one stage"
