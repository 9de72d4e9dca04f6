"""The layers hold: nothing below dashboard/ imports streamlit, and heavy libraries load only when used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("great_expectations", "statsmodels", "kaleido", "streamlit")

MODULES = [
    "connectors.base",
    "connectors.files",
    "connectors.sql",
    "metrics.project",
    "metrics.validation",
    "metrics.engine",
    "metrics.polars_backend",
    "metrics.sql_backend",
    "metrics.okrs",
    "metrics.forecast",
    "metrics.quality",
    "metrics.demo",
    "dashboard.cli",
    "dashboard.figures",
    "dashboard.state",
    "dashboard.snapshot",
]


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_module_loads_no_heavy_library(module: str) -> None:
    code = f"import sys, json, {module}\nprint(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def test_metrics_and_connectors_never_import_streamlit() -> None:
    for path in [*(ROOT / "metrics").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")]:
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
