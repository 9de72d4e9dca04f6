"""The layers hold: imports run one way with no cycles (import-linter's contracts in pyproject.toml),
heavy libraries load only when used, every module is in docs/architecture.md, and a long module says
it is one stage."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

PACKAGES = ("connectors", "metrics", "dashboard")
HEAVY = ("great_expectations", "statsmodels", "kaleido", "streamlit")
LONG_MODULE = 700  # lines; a longer module is one stage (a backend, the figure builders) and says so
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], capture_output=True, text=True, cwd=root, timeout=120
    )


def copy_packages(target: Path) -> None:
    """The three packages and the contracts, to plant a wrong import in a copy."""
    for name in (*PACKAGES, "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / name)


def test_imports_run_one_way_with_no_cycles() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a function-local import the wrong way: the engine reaching up into the OKRs
        ("metrics/engine/engine.py", "from metrics.okrs.scoring import score", "metrics: diff>load"),
        # the OKRs and the data checks are independent of each other
        ("metrics/okrs/status.py", "from metrics.quality import run_checks", "metrics: diff>load"),
        # a cycle inside one package, through a function-local import
        ("dashboard/pack/html.py", "from dashboard.pack import build", "no import cycles"),
        # the connectors never know about metrics
        ("connectors/files.py", "from metrics.engine import Engine", "dashboard -> metrics -> connectors"),
    ],
)
def test_the_contracts_catch_a_wrong_import(tmp_path: Path, module: str, line: str, broken: str) -> None:
    copy_packages(tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n\ndef _probe() -> None:\n    {line}  # noqa: F401\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout
    assert re.search(rf"^{re.escape(broken)}.* BROKEN$", run.stdout, re.M), run.stdout


def test_imports_under_type_checking_do_not_count(tmp_path: Path) -> None:
    copy_packages(tmp_path)
    path = tmp_path / "dashboard" / "pack" / "html.py"
    text = path.read_text()
    assert "if TYPE_CHECKING:\n" in text
    path.write_text(
        text.replace("if TYPE_CHECKING:\n", "if TYPE_CHECKING:\n    from dashboard.pack import build\n", 1)
    )
    assert lint_imports(tmp_path).returncode == 0


def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every import a -> b for which b leads back to a: a module-level cycle, a package's own
    `__init__` included (the contracts compare siblings, not a package with its children)."""
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.append((module, *back))
    return found


def test_no_module_is_in_an_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_through_a_package_init() -> None:
    graph = import_graph()
    graph.add_import(
        importer="metrics.engine.engine", imported="metrics.engine", line_number=1, line_contents=""
    )
    assert ("metrics.engine", "metrics.engine.engine", "metrics.engine") in cycles(graph)


def _import_all(names: list[str]) -> list[str]:
    code = "import sys, json, importlib\n"
    code += f"for name in {names!r}:\n    importlib.import_module(name)\n"
    code += f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert run.returncode == 0, run.stderr
    loaded: list[str] = json.loads(run.stdout)
    return loaded


def _streamlit_modules() -> set[str]:
    """The app's frame and pages: every module that imports streamlit, directly or through another."""
    graph = grimp.build_graph(*PACKAGES, include_external_packages=True, exclude_type_checking_imports=True)
    return set(graph.find_downstream_modules("streamlit"))


def test_importing_any_module_below_the_app_loads_no_heavy_library() -> None:
    # Importing modules together loads the union of what each loads alone, so one process checks all.
    names = [name for name in modules() if name not in _streamlit_modules()]
    assert "metrics.engine.polars_backend" in names and "dashboard.cli" in names
    assert _import_all(names) == []


def test_the_app_loads_no_heavy_library_but_streamlit() -> None:
    names = sorted(_streamlit_modules() - {"dashboard.app"})  # importing the frame would run it
    assert "dashboard.views.common" in names
    assert _import_all(names) == ["streamlit"]


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
