"""The demo's planted defects are caught, by the shipped checks, on exactly the days they happened."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from metrics.demo.generate import DemoSummary, generate_demo
from metrics.load import load_project
from metrics.quality import QualityReport, clear_cache, run_checks
from tests.conftest import DEMO_END, ROOT

# Large enough that the duplicated hour has rows and the late day stands out of ordinary noise.
EVENTS = 200_000
NOW = dt.datetime.combine(DEMO_END + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    root = tmp_path_factory.mktemp("quality_demo")
    summary = generate_demo(root / "data" / "demo", events=EVENTS, seed=7, end=DEMO_END)
    shutil.copytree(ROOT / "config", root / "config")
    return root / "config", summary


def _run(config: Path, timezone: str | None = None) -> QualityReport:
    if timezone is not None:
        text = (config / "project.yaml").read_text()
        (config / "project.yaml").write_text(
            "\n".join(
                f"timezone: {timezone}" if line.startswith("timezone:") else line
                for line in text.splitlines()
            )
        )
    project = load_project(config)
    assert project.problems == ()
    clear_cache()
    return run_checks(project, now=NOW)


def test_the_shipped_checks_catch_each_defect_on_its_utc_day(
    demo: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    config, summary = demo
    utc = tmp_path / "config"
    shutil.copytree(config, utc)
    (tmp_path / "data").symlink_to(config.parent / "data")
    report = _run(utc, "UTC")
    defects = summary.defects
    failed = {r.check: (r.severity, r.days) for r in report.results if not r.success}
    assert failed == {
        "user_not_null": ("error", (defects["null_user_day"],)),
        "duplicates": ("warn", (defects["duplicated_hour"],)),
        "volume": ("warn", (defects["late_day"],)),
    }
    passed = [r.check for r in report.results if r.success]
    assert passed == [
        "timestamp_not_null",
        "timestamp_not_in_future",
        "freshness",
        "expect_column_values_to_be_between(amount)",
        "expect_column_values_to_be_in_set(platform)",
    ]
    assert report.failed_errors  # the null-user day is an error: `northstar check` exits 1

    import polars as pl  # the counts, computed independently on the raw rows

    events = pl.read_parquet(summary.path)
    by_name = {r.check: r for r in report.results}
    assert by_name["user_not_null"].unexpected_count == events["user_id"].null_count() > 0
    late = events.filter(pl.col("ts").dt.date() == defects["late_day"]).height
    assert by_name["volume"].sample[0]["rows"] == late
    assert by_name["volume"].sample[0]["expected"] > 10 * late


def test_in_berlin_the_defect_days_spill_into_the_next_local_day(demo: tuple[Path, DemoSummary]) -> None:
    config, summary = demo
    report = _run(config)  # the shipped project: Europe/Berlin
    defects = summary.defects
    days = {r.check: r.days for r in report.results if not r.success}
    # The null-user UTC day runs 01:00/02:00 .. 01:00/02:00 the next day in Berlin.
    assert days["user_not_null"] == (defects["null_user_day"], defects["null_user_day"] + DAY)
    assert days["duplicates"] == (defects["duplicated_hour"],)  # 14:00 UTC is mid-afternoon in Berlin
    assert days["volume"] == (defects["late_day"],)  # the next day loses only its first hour or two
    assert set(days) == {"user_not_null", "duplicates", "volume"}


def test_the_duplicated_hour_is_counted_exactly(demo: tuple[Path, DemoSummary]) -> None:
    import polars as pl

    config, summary = demo
    report = _run(config)
    [dups] = [r for r in report.results if r.check == "duplicates"]
    events = pl.read_parquet(summary.path)
    hour = dt.datetime.combine(summary.defects["duplicated_hour"], dt.time(14))
    in_hour = events.filter(pl.col("ts").is_between(hour, hour + dt.timedelta(hours=1), closed="left"))
    assert dups.unexpected_count == in_hour.height - in_hour.unique().height > 0
