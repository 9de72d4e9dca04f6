"""Every YAML file we ship validates and computes; the CLI agrees with an independent count."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import load_project
from tests.conftest import DEMO_END, ROOT

SHIPPED = sorted(p.name for p in (ROOT / "config").glob("*.yaml"))


def test_the_demo_project_ships_all_five_files() -> None:
    assert SHIPPED == ["annotations.yaml", "metrics.yaml", "okrs.yaml", "project.yaml", "sources.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_points_editors_at_its_schema(name: str) -> None:
    first = (ROOT / "config" / name).read_text().splitlines()[0]
    stem = name.removesuffix(".yaml")
    assert first == f"# yaml-language-server: $schema=../docs/schema/{stem}.schema.json"
    assert (ROOT / "docs" / "schema" / f"{stem}.schema.json").exists()


def test_shipped_project_is_valid(small_demo: Path) -> None:
    project = load_project(small_demo)
    assert [str(p) for p in project.problems] == []
    assert len(project.metrics) >= 15
    assert len(project.okrs) == 3
    assert 8 <= sum(len(o.key_results) for o in project.okrs) <= 10
    for metric in project.metrics.values():
        assert metric.label and metric.description and metric.owner, metric


def test_every_shipped_metric_computes_sensible_values(small_demo: Path) -> None:
    project = load_project(small_demo)
    engine = Engine(project, today=lambda: DEMO_END)
    result = engine.compute(MetricRequest(metrics=tuple(project.metrics), grain="week"))
    for metric_id, metric in project.metrics.items():
        values = result.series(metric_id)["value"].drop_nulls()
        assert len(values) > 0, metric_id
        assert values.min() >= 0, metric_id  # type: ignore[operator]
        if metric.unit == "percent":
            assert values.max() <= 1, metric_id  # type: ignore[operator]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_compute_json_equals_an_independent_count(small_demo: Path) -> None:
    run = _cli(
        "compute",
        "signups",
        "--config",
        str(small_demo),
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-15",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert {r["period"] for r in rows} == {
        (dt.date(2026, 11, 1) + dt.timedelta(days=i)).isoformat() for i in range(15)
    }
    events = pl.read_parquet(small_demo.parent / "data" / "demo" / "events.parquet")
    local = events.with_columns(
        day=pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin").dt.date()
    )
    expected = dict(local.filter(pl.col("event") == "signup").group_by("day").len().iter_rows())
    for row in rows:
        assert row["value"] == expected.get(dt.date.fromisoformat(row["period"]), 0), row


def test_cli_compute_by_dimension_and_csv(small_demo: Path) -> None:
    run = _cli(
        "compute",
        "revenue",
        "--config",
        str(small_demo),
        "--grain",
        "month",
        "--by",
        "plan",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
        "--format",
        "csv",
    )
    assert run.returncode == 0, run.stderr
    frame = pl.read_csv(run.stdout.encode())
    assert frame.columns == ["metric", "period", "plan", "value"]
    events = pl.read_parquet(small_demo.parent / "data" / "demo" / "events.parquet")
    local = events.with_columns(
        day=pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin").dt.date()
    ).filter(
        (pl.col("event") == "purchase")
        & pl.col("day").is_between(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    )
    expected = dict(local.group_by("plan").agg(pl.col("amount").sum()).iter_rows())
    got = dict(zip(frame["plan"], frame["value"], strict=True))
    assert got.keys() == expected.keys()
    for plan, value in expected.items():
        assert got[plan] == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["compute", "signupz"], "signups"),
        (["compute", "signups", "--start", "2026-13-01"], "--start '2026-13-01' is not a date"),
        (["compute", "signups", "--grain", "fortnight"], "unknown grain 'fortnight'"),
        (["compute", "signups", "--by", "colour"], "colour"),
        (["compute", "signups", "--start", "2026-11-10", "--end", "2026-11-01"], "2026-11-10"),
        (["okrs", "--as-of", "yesterday"], "--as-of 'yesterday' is not a date"),
        # a day the windows around it would carry past Python's dates was an OverflowError
        (
            ["compute", "signups", "--start", "9999-12-30", "--end", "9999-12-31"],
            "--start 9999-12-30 lies outside",
        ),
        (["okrs", "--as-of", "0001-01-01"], "--as-of 0001-01-01 lies outside the years Northstar computes"),
        (["check", "--as-of", "9999-12-31"], "(1900 to 2199)"),
        (["compute"], "Missing argument"),
        (["compute", "signups", "--grian", "week"], "(see `northstar compute --help`)"),
        (["explian", "signups"], "No such command 'explian'"),  # a misspelt command
    ],
)
def test_cli_bad_input_is_one_sentence(small_demo: Path, args: list[str], needle: str) -> None:
    run = _cli(*args, "--config", str(small_demo))
    assert run.returncode in (1, 2)
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, run.stderr
    assert needle in lines[0]
    assert "python" not in lines[0]  # the hint names `northstar`, however the CLI was started


def test_cli_compute_json_carries_a_rates_counts(small_demo: Path) -> None:
    """A ratio's rows carry its parts' values as numerator and denominator; a count's rows carry none."""
    run = _cli(
        "compute",
        "conversion_to_paid",
        "signups",
        "--config",
        str(small_demo),
        "--grain",
        "week",
        "--start",
        "2026-10-05",
        "--end",
        "2026-11-29",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    events = pl.read_parquet(small_demo.parent / "data" / "demo" / "events.parquet")
    weeks = events.with_columns(
        week=pl.col("ts")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Europe/Berlin")
        .dt.date()
        .dt.truncate("1w")  # Monday weeks
    )

    def weekly(event: str) -> dict[dt.date, int]:
        return dict(weeks.filter(pl.col("event") == event).group_by("week").len().iter_rows())

    upgrades, signups = weekly("upgrade"), weekly("signup")
    rates = [r for r in rows if r["metric"] == "conversion_to_paid"]
    assert len(rates) == 8 and sum(r["denominator"] for r in rates) > 0
    for row in rates:
        week = dt.date.fromisoformat(row["period"])
        assert (row["numerator"], row["denominator"]) == (upgrades.get(week, 0), signups.get(week, 0)), row
        assert isinstance(row["denominator"], int)  # counts print as counts
    assert all("numerator" not in r and "denominator" not in r for r in rows if r["metric"] == "signups")
