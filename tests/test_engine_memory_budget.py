"""The memory budget: how it is written, its default, and how the Polars backend plans passes from it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from metrics.engine import Engine, polars_backend
from metrics.engine.memory_budget import (
    DEFAULT_SHARE,
    ENV_VAR,
    describe,
    machine_memory,
    memory_budget,
    parse_budget,
)
from metrics.engine.request import MetricError, MetricRequest
from metrics.load import project_from_dicts

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2GB", 2 * 10**9),
        ("800 mb", 800 * 10**6),
        ("1.5GiB", int(1.5 * GIB)),
        ("512KiB", 512 * 1024),
        ("123456", 123456),
        (" 10% ", int(8 * GIB * 0.10)),
    ],
)
def test_a_budget_is_a_size_or_a_share_of_memory(text: str, size: int) -> None:
    assert parse_budget(text, 8 * GIB) == size


@pytest.mark.parametrize("text", ["lots", "2 GBs", "-1GB", "GB", "0", "0.1B", "1e9"])
def test_a_bad_budget_is_one_sentence_naming_the_variable(text: str) -> None:
    with pytest.raises(MetricError, match=ENV_VAR) as caught:
        parse_budget(text, 8 * GIB)
    assert "\n" not in str(caught.value)


def test_the_default_is_a_share_of_the_machines_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    memory = machine_memory()
    assert memory > 64 * 1024**2
    assert memory <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_budget() == int(memory * DEFAULT_SHARE)
    monkeypatch.setenv(ENV_VAR, "300MB")
    assert memory_budget() == 300 * 10**6


def test_sizes_are_described_as_people_read_them() -> None:
    assert [describe(n) for n in (12, 12_000, 1_500_000_000, 640 * 10**6)] == [
        "12 B",
        "12 kB",
        "1.5 GB",
        "640 MB",
    ]


def _project(tmp_path: Path, metrics: dict[str, dict[str, object]]) -> Engine:
    day = dt.datetime(2026, 3, 1, 9)
    events = ["signup", "session_start", "purchase", "session_start"]
    rows = [
        {
            "ts": day + dt.timedelta(days=i % 40, hours=i % 7),
            "user_id": f"u{i % 37}",
            "event": events[i % 4],
            "amount": float(i % 11),
        }
        for i in range(2000)
    ]
    pl.DataFrame(rows).write_parquet(tmp_path / "events.parquet")
    project = project_from_dicts(
        sources={
            "events": {
                "type": "parquet",
                "path": "events.parquet",
                "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
            }
        },
        metrics=metrics,
        root=tmp_path,
    )
    return Engine(project)


USER_PACK: dict[str, dict[str, object]] = {
    "events": {"type": "count", "source": "events"},
    "users": {"type": "count_distinct", "source": "events"},
    "mau": {"type": "active_users", "source": "events", "window": 28},
    "d7": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 7},
    "buy": {"type": "funnel", "source": "events", "steps": ["signup", "purchase"], "within": 7},
}


def test_passes_follow_the_budget_and_give_the_same_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _project(tmp_path, USER_PACK)
    request = MetricRequest(tuple(USER_PACK))
    monkeypatch.setenv(ENV_VAR, "1GB")
    assert "one streaming pass, within the memory budget 1.0 GB" in engine.explain(request)
    once = engine.compute(request).frame
    # room for 500 rows a pass (half of a budget below the fixed share is usable): 4 passes of 2000
    monkeypatch.setenv(ENV_VAR, str(2 * 500 * polars_backend.USER_BYTES_PER_ROW))
    plan = engine.explain(request)
    assert "one streaming pass for each of 4 sets of users" in plan, plan
    assert "percentile" not in plan  # no pass is planned for percentiles the request does not have
    assert engine.compute(request).frame.equals(once)


def test_percentiles_alone_are_split_into_runs_of_periods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics: dict[str, dict[str, object]] = {
        "p50": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.5},
        "p90": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.9},
        "revenue": {"type": "sum", "source": "events", "column": "amount"},
    }
    engine = _project(tmp_path, metrics)
    request = MetricRequest(tuple(metrics), grain="week")
    once = engine.compute(request).frame
    monkeypatch.setenv(ENV_VAR, str(2 * 700 * 2 * polars_backend.PERCENTILE_BYTES_PER_ROW))
    plan = engine.explain(request)
    runs = re.search(r"each of (\d+) runs of periods", plan)
    assert runs is not None and int(runs.group(1)) >= 2 and "sets of users" not in plan, plan
    assert engine.compute(request).frame.equals(once)


def test_a_bad_budget_stops_compute_with_one_sentence(tmp_path: Path) -> None:
    _project(tmp_path, USER_PACK)
    (tmp_path / "sources.yaml").write_text(
        json.dumps(
            {
                "sources": {
                    "events": {
                        "type": "parquet",
                        "path": "events.parquet",
                        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
                    }
                }
            }
        )
    )
    (tmp_path / "metrics.yaml").write_text(json.dumps({"metrics": {"users": USER_PACK["users"]}}))
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "compute", "users", "--config", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, ENV_VAR: "plenty"},
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"error: {ENV_VAR}='plenty' is not a size; write it as e.g. 2GB, 800MB, 1.5GiB or 10% (of the "
        "machine's memory)"
    ]


# Libraries `northstar compute` on a file source has no use for (the SQL, Spark, pandas and chart stacks).
UNUSED_BY_COMPUTE = (
    "sqlalchemy",
    "sqlglot",
    "duckdb",
    "pandas",
    "pyspark",
    "great_expectations",
    "statsmodels",
    "plotly",
    "kaleido",
    "streamlit",
    "numpy",  # with pyarrow: the demo generator's, imported only to write the demo data
    "pyarrow",
    # our own: the data checks' runner (loading a project validates `checks:` and their `expect:`
    # entries without it) and the demo generator
    "metrics.quality.checks",
    "metrics.quality.gx_days",
    "metrics.quality.gx_cache",
    "metrics.quality.builtin",
    "metrics.quality.gx_runner",
    "metrics.quality.report",
    "metrics.demo.generate",
)


def test_compute_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    _project(tmp_path, USER_PACK)
    (tmp_path / "sources.yaml").write_text(
        json.dumps(
            {
                "sources": {
                    "events": {
                        "type": "parquet",
                        "path": "events.parquet",
                        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
                        "checks": {
                            "freshness": {"warn_after": "24h", "error_after": "72h"},
                            "duplicates": {},
                            "expect": [{"expect_column_values_to_not_be_null": {"column": "user_id"}}],
                        },
                    }
                }
            }
        )
    )
    (tmp_path / "metrics.yaml").write_text(json.dumps({"metrics": USER_PACK}))
    code = (
        "import sys, json\n"
        "from dashboard.cli import main\n"
        "try:\n"
        f"    main(['compute', *{list(USER_PACK)!r}, '--config', {str(tmp_path)!r}, '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {list(UNUSED_BY_COMPUTE)!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)  # it computed
    assert json.loads(run.stderr.strip().splitlines()[-1]) == []


def _stage1_plan(engine: Engine, metrics: tuple[str, ...]) -> str:
    text = engine.explain(MetricRequest(metrics, dt.date(2026, 3, 1), dt.date(2026, 4, 9)))
    return text.split("stage 1", 1)[1].split("stage 2", 1)[0]


def test_a_single_output_pushes_its_filters_into_the_reader(tmp_path: Path) -> None:
    """A cache node stops Polars from pushing filters into the parquet reader: a request with one
    stage-1 output reads a plain scan, whose event filter and time bounds become the scan's
    SELECTION; several outputs still share one cached scan."""
    metrics = {
        "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
        **USER_PACK,
    }
    engine = _project(tmp_path, metrics)
    alone = _stage1_plan(engine, ("revenue",))
    selection = alone.split("SELECTION:", 1)[1].splitlines()[0] if "SELECTION:" in alone else ""
    assert '"purchase"' in selection and "2026-03-01" in selection, alone
    assert "CACHE" not in alone
    shared = _stage1_plan(engine, ("revenue", "users", "d7"))
    assert "CACHE[" in shared, shared


def test_the_command_line_collects_garbage_rarely_and_restores_the_thresholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from dashboard import cli
    from dashboard.cli_app import QUIET_GC

    seen: list[tuple[int, ...]] = []

    def spy(config: Path) -> Path:
        seen.append(gc.get_threshold())
        return config

    monkeypatch.setattr(cli, "_resolve_config", spy)
    freezes: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(True))  # other tests' app runs freeze too
    before = gc.get_threshold()
    with pytest.raises(SystemExit):
        cli.main(["compute", "users", "--config", str(tmp_path / "missing")])
    assert seen == [QUIET_GC]
    assert gc.get_threshold() == before != QUIET_GC
    assert freezes == []  # called with its arguments, as here: the process goes on
