"""`northstar explain METRIC`: the engine's plan for a request, as the dashboard's definitions page
shows it (`Engine.explain`, the one call both make), with a SQL source's statement in its dialect."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import load_project
from tests.app_support import run_main as _main
from tests.conftest import ROOT
from tests.engine_fixtures import Row
from tests.sql_fixtures import DATABASES, LoadedTable

D = dt.date


def test_explain_prints_the_definitions_page_plan_of_the_demo(
    small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(small_demo)]
    span = ["--start", "2026-11-01", "--end", "2026-11-20", "--grain", "week", "--by", "platform"]
    code, out, err = _main(["explain", "revenue", *config, *span], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "range 2026-11-01 .. 2026-11-20, grain week, time zone Europe/Berlin, by platform"
    assert "source events (PolarsBackend): revenue" in lines
    assert '"purchase"' in out and "events.parquet" in out  # the filter and the file it scans
    # the same engine call as the definitions page, for the same request
    project = load_project(small_demo)
    request = MetricRequest(("revenue",), D(2026, 11, 1), D(2026, 11, 20), "week", by="platform")
    page = Engine(project).explain(request)
    assert out == page + "\n"
    # defaults as compute's: day grain over the data's own range, no breakdown
    code, out, _ = _main(["explain", "d1_retention", *config], capsys)
    assert code == 0 and out.startswith(
        "range 2025-11-21 .. 2026-11-20, grain day, time zone Europe/Berlin, by -"
    )


def test_an_unknown_or_unavailable_metric_is_reported_as_compute_reports_it(
    small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(small_demo)]
    explained = _main(["explain", "revenu", *config], capsys)
    computed = _main(["compute", "revenu", *config], capsys)
    assert explained == computed
    code, out, err = explained
    assert code != 0 and not out and err == "error: unknown metric 'revenu'; did you mean 'revenue'?\n"
    code, _, err = _main(["explain", "revenue", *config, "--grain", "year"], capsys)
    assert code == 1 and err.startswith("error: unknown grain 'year'")
    code, _, err = _main(["explain", "revenue", *config, "--by", "platfrom"], capsys)
    assert code == 1 and "did you mean 'platform'?" in err and "Traceback" not in err


ROWS = [
    Row(dt.datetime(2026, 3, 1, 8) + dt.timedelta(hours=9 * i), f"u{i % 3}", "open", "web", "pro", float(i))
    for i in range(10)
]
PARAMETERS = {"sqlite": "?", "duckdb": "$1", "postgres": "%(", "mariadb": "%("}


@pytest.mark.parametrize("kind", [p for p in DATABASES if p.values[0] != "mariadb"])
def test_explain_prints_a_sql_sources_statement_in_its_dialect(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = LoadedTable(kind, tmp_path, ROWS)
    try:
        config = tmp_path / "project"
        config.mkdir()
        source = {
            "type": "sql",
            "url": "${NS_EXPLAIN_URL}",
            "table": loaded.table,
            "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
            "dimensions": ["platform", "plan"],
        }
        (config / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
        metric = {"type": "count", "source": "events", "filter": {"event": "open"}}
        (config / "metrics.yaml").write_text(json.dumps({"metrics": {"opens": metric}}))
        monkeypatch.setenv("NS_EXPLAIN_URL", loaded.url)
        span = ["--start", "2026-03-01", "--end", "2026-03-04"]
        code, out, err = _main(["explain", "opens", "--config", str(config), *span], capsys)
        assert code == 0, err
        assert "source events (SqlBackend): opens" in out
        assert "SELECT" in out.upper() and loaded.table in out
        assert PARAMETERS[kind] in out and "'open'" not in out  # bound, in the driver's own style
        project = load_project(config)
        request = MetricRequest(("opens",), D(2026, 3, 1), D(2026, 3, 4))
        assert out == Engine(project).explain(request) + "\n"  # the definitions page's call, verbatim
        # what the plan says is what compute computes: 10 opens over those days
        code, out, err = _main(
            ["compute", "opens", "--config", str(config), *span, "--format", "json"], capsys
        )
        assert code == 0, err
        assert sum(row["value"] for row in json.loads(out)) == len(ROWS)
    finally:
        loaded.close()


def test_explain_builds_its_command_alone_and_loads_no_heavy_library(small_demo: Path) -> None:
    import typer.main

    from dashboard import cli
    from dashboard.cli_app import command_app

    assert list(typer.main.get_command(command_app(cli.app, ["explain", "dau"])).commands) == ["explain"]
    heavy = ["great_expectations", "statsmodels", "kaleido", "streamlit", "plotly"]
    code = (
        "import sys, json\n"
        "from dashboard.cli import main\n"
        f"main(['explain', 'dau', '--config', {str(small_demo)!r}])\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("range ") and json.loads(run.stderr.strip().splitlines()[-1]) == []
