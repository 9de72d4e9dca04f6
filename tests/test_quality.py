"""Data-quality checks on file sources: each check on clean and defective data, hand-worked."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metrics.engine.request import MetricError
from metrics.quality import QualityReport, cache_size, clear_cache, run_checks
from metrics.quality.builtin import volume_verdicts
from tests.conftest import ROOT
from tests.test_quality_helpers import by_check, daily_rows, frame, project, write

NOW = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.UTC)
D = dt.date

# Hand-worked defects (now = 2026-03-05 10:00 UTC):
DEFECTIVE = [
    (dt.datetime(2026, 3, 2, 10), "u1", "signup", "web", None),
    (dt.datetime(2026, 3, 2, 11), "u2", "page_view", "ios", None),
    (dt.datetime(2026, 3, 2, 11), "u2", "page_view", "ios", None),  # exact copy of the row above
    (dt.datetime(2026, 3, 3, 9), None, "page_view", "web", None),  # no user
    (dt.datetime(2026, 3, 3, 23, 30), None, "purchase", "web", -5.0),  # no user (Berlin: 03-04), amount < 0
    (None, "u3", "page_view", "web", None),  # no timestamp
    (dt.datetime(2026, 3, 5, 12), "u4", "purchase", "android", 12.0),  # two hours in the future
    (dt.datetime(2026, 3, 4, 8), "u1", "page_view", "desktop", None),  # newest past row: 26 h old
]
CLEAN = [
    (dt.datetime(2026, 3, 2, 10), "u1", "signup", "web", None),
    (dt.datetime(2026, 3, 2, 11), "u2", "page_view", "ios", None),
    (dt.datetime(2026, 3, 3, 9), "u2", "page_view", "web", None),
    (dt.datetime(2026, 3, 5, 4), "u4", "purchase", "android", 12.0),  # 6 h old
]
ALL_CHECKS = """
freshness: {warn_after: 24h, error_after: 72h}
duplicates: {}
expect:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
  - expect_column_values_to_be_in_set: {column: platform, value_set: [web, ios, android], severity: warn}
"""


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_every_check_fails_on_its_hand_worked_defect(tmp_path: Path, suffix: str) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / f"events{suffix}")
    kind = suffix.lstrip(".")
    proj = project(tmp_path, ALL_CHECKS, source=f"type: {kind}\n    path: data/events{suffix}")
    assert proj.problems == ()
    report = run_checks(proj, now=NOW)
    got = by_check(report)
    assert list(got) == [
        "timestamp_not_null",
        "user_not_null",
        "timestamp_not_in_future",
        "freshness",
        "duplicates",
        "expect_column_values_to_be_between(amount)",
        "expect_column_values_to_be_in_set(platform)",
    ]
    expected = {  # check: (severity, success, unexpected_count, days)
        "timestamp_not_null": ("error", False, 1, ()),
        "user_not_null": ("error", False, 2, (D(2026, 3, 3),)),
        "timestamp_not_in_future": ("error", False, 1, (D(2026, 3, 5),)),
        "freshness": ("warn", False, None, ()),
        "duplicates": ("warn", False, 1, (D(2026, 3, 2),)),  # the default severity of duplicates
        # the days of their unexpected rows: -5.0 at 03-03 23:30, 'desktop' at 03-04 08:00 (UTC)
        "expect_column_values_to_be_between(amount)": ("error", False, 1, (D(2026, 3, 3),)),
        "expect_column_values_to_be_in_set(platform)": ("warn", False, 1, (D(2026, 3, 4),)),
    }
    assert {k: (r.severity, r.success, r.unexpected_count, r.days) for k, r in got.items()} == expected
    assert got["timestamp_not_in_future"].sample == ["2026-03-05T12:00:00"]
    assert "26h 0m old" in got["freshness"].details or "1d 2h old" in got["freshness"].details
    assert got["expect_column_values_to_be_between(amount)"].sample == [-5.0]
    assert got["expect_column_values_to_be_in_set(platform)"].sample == ["desktop"]
    assert got["duplicates"].sample == [
        {"ts": "2026-03-02T11:00:00", "user_id": "u2", "event": "page_view", "platform": "ios", "amount": None,
         "copies": 2}
    ]  # fmt: skip
    assert report.failed_errors


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_clean_data_passes_every_check(tmp_path: Path, suffix: str) -> None:
    write(frame(CLEAN), tmp_path / "data" / f"events{suffix}")
    proj = project(tmp_path, ALL_CHECKS, source=f"type: {suffix.lstrip('.')}\n    path: data/events{suffix}")
    report = run_checks(proj, now=NOW)
    assert [(r.check, r.success, r.unexpected_count) for r in report.results] == [
        ("timestamp_not_null", True, 0),
        ("user_not_null", True, 0),
        ("timestamp_not_in_future", True, 0),
        ("freshness", True, None),
        ("duplicates", True, 0),
        ("expect_column_values_to_be_between(amount)", True, 0),
        ("expect_column_values_to_be_in_set(platform)", True, 0),
    ]
    assert all(r.days == () for r in report.results)
    assert not report.failed_errors


def test_days_are_local_days_of_the_project_time_zone(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, timezone="Europe/Berlin")
    got = by_check(run_checks(proj, now=NOW))
    # 2026-03-03 23:30 UTC is 2026-03-04 00:30 in Berlin (CET, UTC+1).
    assert got["user_not_null"].days == (D(2026, 3, 3), D(2026, 3, 4))
    assert got["timestamp_not_in_future"].days == (D(2026, 3, 5),)


# Bad rows near midnight in Los Angeles (PST, UTC-8, before 2026-03-08): local days differ from UTC days.
NEAR_MIDNIGHT = [
    (dt.datetime(2026, 3, 3, 7, 30), "u1", "purchase", "web", -1.0),  # LA 03-02 23:30
    (dt.datetime(2026, 3, 3, 8, 30), "u2", "purchase", "web", -2.0),  # LA 03-03 00:30
    (dt.datetime(2026, 3, 4, 7, 59), "u3", "page_view", "tablet", None),  # LA 03-03 23:59
    (dt.datetime(2026, 3, 4, 8, 0), "u4", "purchase", "ios", 5.0),  # LA 03-04 00:00, good
    (dt.datetime(2026, 3, 4, 12, 0), "u5", "purchase", "android", 7.0),  # good
]
EXPECT_DAYS = """
expect:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
  - expect_column_values_to_be_in_set: {column: platform, value_set: [web, ios, android], severity: warn}
  - expect_table_row_count_to_be_between: {max_value: 2}
"""
NEAR_MIDNIGHT_DAYS = {  # check: (unexpected_count, days) in Los Angeles
    "expect_column_values_to_be_between(amount)": (2, (D(2026, 3, 2), D(2026, 3, 3))),
    "expect_column_values_to_be_in_set(platform)": (1, (D(2026, 3, 3),)),
    "expect_table_row_count_to_be_between": (None, ()),  # table-level: no day (flags everything)
}


def expectation_days(proj: Any) -> dict[str, tuple[int | None, tuple[D, ...]]]:
    return {r.check: (r.unexpected_count, r.days) for r in run_checks(proj, now=NOW).results if not r.success}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_failed_expectation_names_the_local_days_of_its_unexpected_rows(
    tmp_path: Path, suffix: str
) -> None:
    write(frame(NEAR_MIDNIGHT), tmp_path / "data" / f"events{suffix}")
    source = f"type: {suffix.lstrip('.')}\n    path: data/events{suffix}"
    proj = project(tmp_path, EXPECT_DAYS, source=source, timezone="America/Los_Angeles")
    assert expectation_days(proj) == NEAR_MIDNIGHT_DAYS


def test_expectation_days_are_bounded_and_need_every_row_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More unexpected rows than GX gives back (`DAY_ROWS`), or one without a timestamp: no days, so
    the check flags every number of its source rather than only some of the days it touches."""
    from metrics.quality import gx_runner

    write(frame(NEAR_MIDNIGHT), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, EXPECT_DAYS, timezone="America/Los_Angeles")
    monkeypatch.setattr(gx_runner, "DAY_ROWS", 1)
    got = expectation_days(proj)
    assert got["expect_column_values_to_be_between(amount)"] == (2, ())
    assert got["expect_column_values_to_be_in_set(platform)"] == (1, (D(2026, 3, 3),))
    monkeypatch.undo()
    clear_cache()
    write(
        frame([*NEAR_MIDNIGHT, (None, "u6", "purchase", "web", -3.0)]), tmp_path / "data" / "events.parquet"
    )
    got = expectation_days(proj)
    assert got["expect_column_values_to_be_between(amount)"] == (3, ())
    assert got["expect_column_values_to_be_in_set(platform)"] == (1, (D(2026, 3, 3),))


def test_freshness_thresholds(tmp_path: Path) -> None:
    write(frame([(dt.datetime(2026, 3, 5, 8), "u1", "x", "web", None)]), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, "freshness: {warn_after: 24h, error_after: 72h}")

    def verdict(now: dt.datetime) -> tuple[str, bool]:
        result = by_check(run_checks(proj, now=now))["freshness"]
        return result.severity, result.success

    assert verdict(dt.datetime(2026, 3, 6, 7, 59)) == ("error", True)  # 23h59m
    assert verdict(dt.datetime(2026, 3, 6, 8, 1)) == ("warn", False)  # 24h01m
    assert verdict(dt.datetime(2026, 3, 8, 8, 1)) == ("error", False)  # 72h01m
    # A row in the future does not make the source look fresh.
    write(
        frame(
            [
                (dt.datetime(2026, 3, 1), "u1", "x", "web", None),
                (dt.datetime(2027, 1, 1), "u1", "x", "web", None),
            ]
        ),
        tmp_path / "data" / "events.parquet",
    )
    result = by_check(run_checks(proj, now=dt.datetime(2026, 3, 6)))["freshness"]
    assert (result.severity, result.success) == ("error", False)
    assert "2026-03-01 00:00 UTC" in result.details


def test_duplicates_on_chosen_columns_group_nulls_together(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, "duplicates: {columns: [user_id], severity: warn}")
    result = by_check(run_checks(proj, now=NOW))["duplicates"]
    # user_id groups: u1 x2 (first 03-02), u2 x2 (03-02), null x2 (03-03), u3, u4: 3 extra rows.
    assert (result.severity, result.success, result.unexpected_count) == ("warn", False, 3)
    assert result.days == (D(2026, 3, 2), D(2026, 3, 3))
    assert sorted(s["user_id"] or "" for s in result.sample) == ["", "u1", "u2"]


def test_builtin_severities_can_be_lowered_or_switched_off(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, "builtin: {user_not_null: warn, timestamp_not_in_future: 'off'}")
    got = by_check(run_checks(proj, now=NOW))
    assert list(got) == ["timestamp_not_null", "user_not_null"]
    assert (got["user_not_null"].severity, got["user_not_null"].success) == ("warn", False)


def test_a_source_without_a_user_column_gets_no_user_check(tmp_path: Path) -> None:
    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, columns="{timestamp: ts}")
    assert [r.check for r in run_checks(proj, now=NOW).results] == [
        "timestamp_not_null",
        "timestamp_not_in_future",
    ]


# --- volume --------------------------------------------------------------------------------------


def test_volume_z_matches_an_independent_computation() -> None:
    """Seven days of history without a weekly pattern, then a day at a tenth: z by hand."""
    counts = [100, 102, 98, 101, 99, 100, 100, 10]
    first = D(2026, 3, 2)
    verdicts = volume_verdicts(
        {first + dt.timedelta(days=i): c for i, c in enumerate(counts)}, D(2026, 3, 9), 7
    )
    assert [v.day for v in verdicts] == [D(2026, 3, 9)]  # the only day with 7 earlier days
    logs = [math.log(1 + c) for c in counts[:7]]
    center = statistics.median(logs)
    mad = statistics.median(abs(x - center) for x in logs)
    scale = max(1.4826 * mad, 1 / math.sqrt(100))  # the spread is below the Poisson floor here
    assert verdicts[0].expected == pytest.approx(100.0)
    assert verdicts[0].z == pytest.approx((math.log(11) - math.log(101)) / scale)
    assert verdicts[0].z == pytest.approx(-22.17, abs=0.01)


def _weekly(days: int, weekday: int = 200, weekend: int = 80) -> list[int]:
    first = D(2026, 2, 2)  # a Monday
    wobble = [0, 6, -4, 3, -7, 5, -2, 4, -5, 1]
    return [
        (weekend if (first + dt.timedelta(days=i)).weekday() >= 5 else weekday) + wobble[i % len(wobble)]
        for i in range(days)
    ]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_volume_flags_the_low_day_but_not_the_weekly_pattern(tmp_path: Path, suffix: str) -> None:
    counts = _weekly(42)
    late = 36  # 2026-03-10, a Tuesday
    counts[late] = 10
    counts.append(30)  # today (2026-03-16), still being loaded: never judged
    rows = daily_rows(counts, D(2026, 2, 2))
    write(frame(rows), tmp_path / "data" / f"events{suffix}")
    proj = project(
        tmp_path,
        "volume: {window_days: 28, max_deviation: 4, severity: error}",
        source=f"type: {suffix.lstrip('.')}\n    path: data/events{suffix}",
    )
    result = by_check(run_checks(proj, now=dt.datetime(2026, 3, 16, 18)))["volume"]
    assert (result.severity, result.success, result.unexpected_count) == ("error", False, 1)
    assert result.days == (D(2026, 3, 10),)
    assert result.sample[0]["rows"] == 10
    assert result.sample[0]["expected"] == pytest.approx(200, rel=0.05)
    assert "2026-03-10 (10 rows" in result.details
    assert "28 complete days" in result.details


def test_volume_passes_on_a_regular_history_and_a_missing_day_is_a_zero(tmp_path: Path) -> None:
    counts = _weekly(42)
    write(frame(daily_rows(counts, D(2026, 2, 2))), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, "volume: {}")
    result = by_check(run_checks(proj, now=dt.datetime(2026, 3, 16, 1)))["volume"]
    assert (result.success, result.unexpected_count, result.days) == (True, 0, ())
    counts[30] = 0  # no rows at all on 2026-03-04: that day is judged as 0, not skipped
    write(frame(daily_rows(counts, D(2026, 2, 2))), tmp_path / "data" / "events.parquet")
    result = by_check(run_checks(proj, now=dt.datetime(2026, 3, 16, 1)))["volume"]
    assert (result.success, result.days) == (False, (D(2026, 3, 4),))


def test_volume_needs_two_weeks_of_history(tmp_path: Path) -> None:
    write(frame(daily_rows([100, 100, 5], D(2026, 3, 2))), tmp_path / "data" / "events.parquet")
    result = by_check(run_checks(project(tmp_path, "volume: {}"), now=dt.datetime(2026, 3, 6)))["volume"]
    assert (result.success, result.unexpected_count) == (True, 0)
    assert "not enough history" in result.details


# --- sources that cannot be read --------------------------------------------------------------


def test_a_missing_file_is_one_failed_check_with_the_reason(tmp_path: Path) -> None:
    proj = project(tmp_path, ALL_CHECKS, check_data=False)
    report = run_checks(proj, now=NOW)
    assert [(r.check, r.severity, r.success, r.unexpected_count) for r in report.results] == [
        ("readable", "error", False, None)
    ]
    assert "no file matches data/events.parquet" in report.results[0].details
    assert report.failed_errors
    assert cache_size() == 0  # nothing cached: the next run tries again


def test_a_corrupt_file_is_one_failed_check_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "events.parquet").write_bytes(b"this is not parquet")
    proj = project(tmp_path, check_data=False)
    [result] = run_checks(proj, now=NOW).results
    assert (result.check, result.success) == ("readable", False)
    assert result.details.startswith("the source cannot be read")
    assert "\n" not in result.details


def test_a_missing_column_fails_its_check_only(tmp_path: Path) -> None:
    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(
        tmp_path,
        "duplicates: {columns: [session]}\nexpect:\n  - expect_column_values_to_not_be_null: {column: sesion}\n",
        check_data=False,
    )
    got = by_check(run_checks(proj, now=NOW))
    assert got["timestamp_not_null"].success
    assert not got["duplicates"].success
    assert "column 'session' is not in the data" in got["duplicates"].details
    result = got["expect_column_values_to_not_be_null(sesion)"]
    assert not result.success
    assert "sesion" in result.details


def test_unknown_source_name_is_a_metric_error(tmp_path: Path) -> None:
    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    with pytest.raises(MetricError, match="unknown source 'event'; did you mean 'events'"):
        run_checks(project(tmp_path), sources=["event"], now=NOW)


# --- caching -----------------------------------------------------------------------------------


def test_results_are_cached_and_invalidated_when_the_file_changes(tmp_path: Path) -> None:
    path = write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, "duplicates: {}")
    first = run_checks(proj, now=NOW)
    again = run_checks(proj, now=NOW)
    assert all(a is b for a, b in zip(first.results, again.results, strict=True))  # from the cache
    assert by_check(first)["duplicates"].success

    write(frame([*CLEAN, CLEAN[0]]), path)  # the data changes: one duplicated row
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = by_check(run_checks(proj, now=NOW))["duplicates"]
    assert (changed.success, changed.unexpected_count) == (False, 1)

    other_clock = run_checks(proj, now=NOW + dt.timedelta(hours=1))
    assert other_clock.results[0] is not again.results[0]  # an explicit `now` is part of the key
    clear_cache()
    assert cache_size() == 0


def test_engine_connectors_are_used(tmp_path: Path) -> None:
    from metrics.engine import Engine

    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path)
    engine = Engine(proj)
    report = run_checks(proj, engine, now=NOW)
    assert by_check(report)["user_not_null"].unexpected_count == 2
    assert "events" in engine._connectors


# --- the report --------------------------------------------------------------------------------


def test_report_json_is_exactly_the_contract_shape(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    report = run_checks(project(tmp_path, ALL_CHECKS), now=NOW)
    payload = json.loads(json.dumps(report.to_json()))
    assert list(payload) == ["checks"]
    for item in payload["checks"]:
        assert list(item) == ["source", "check", "severity", "success", "unexpected_count", "details"]
        assert item["severity"] in ("error", "warn")
        assert isinstance(item["success"], bool)
        assert item["unexpected_count"] is None or isinstance(item["unexpected_count"], int)
    assert payload["checks"][1] == {
        "source": "events",
        "check": "user_not_null",
        "severity": "error",
        "success": False,
        "unexpected_count": 2,
        "details": payload["checks"][1]["details"],
    }


def test_report_helpers(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    report = run_checks(project(tmp_path, ALL_CHECKS), now=NOW)
    assert isinstance(report, QualityReport)
    assert report.for_source("events") == report.results
    assert report.for_source("nope") == ()
    assert [r.check for r in report.failed_error_checks("events")] == [
        "timestamp_not_null",
        "user_not_null",
        "timestamp_not_in_future",
        "expect_column_values_to_be_between(amount)",
    ]
    assert report.marked_days("events", severity="error") == {
        D(2026, 3, 3): ["user_not_null", "expect_column_values_to_be_between(amount)"],
        D(2026, 3, 5): ["timestamp_not_in_future"],
    }
    assert report.marked_days("events")[D(2026, 3, 2)] == ["duplicates"]
    table = report.to_table().splitlines()
    assert table[0].split() == ["source", "check", "severity", "status", "unexpected", "details"]
    assert table[2].split()[:5] == ["events", "user_not_null", "error", "FAIL", "2"]
    assert table[-1] == "7 checks: 4 failed, 3 warnings"


def test_a_warning_is_never_called_a_failure_in_the_check_table() -> None:
    """Tour 3 (CDNOW): a volume warning alone closed `northstar check` with '3 checks, 1 failed (0 of
    severity error)' while the review pack's stamp said 'data checks: 1 warning'. Both say it as the
    contract does (a warning is shown as a warning, never as a failure), in the same words."""
    from dashboard.pack.model import Quality
    from metrics.quality.report import CheckResult

    def result(check: str, severity: Any, success: bool) -> CheckResult:
        return CheckResult("events", check, severity, success, 0 if success else 1, "")

    ran = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    passed = [result("timestamp_not_null", "error", True), result("user_not_null", "error", True)]
    warned = QualityReport((*passed, result("volume", "warn", False)), ran)
    assert warned.to_table().splitlines()[-1] == "3 checks: 1 warning"
    assert Quality(warnings=1, checks=3).words() == "data checks: 1 warning"
    both = QualityReport(
        (passed[0], result("user_not_null", "error", False), result("volume", "warn", False)), ran
    )
    assert both.to_table().splitlines()[-1] == "3 checks: 1 failed, 1 warning"
    assert Quality(failed=1, warnings=1, checks=3).words() == "data checks: 1 failed, 1 warning"
    assert QualityReport(tuple(passed), ran).to_table().splitlines()[-1] == "2 checks, all passed"


@pytest.mark.parametrize(
    ("checks", "columns"),
    [
        ("volume: {max_deviaton: 6}", "{timestamp: ts, user: user_id, event: event}"),  # a typo in checks:
        ("", "{timestamp: tss, user: user_id, event: event}"),  # a timestamp column that is not there
    ],
)
def test_check_fails_when_a_source_is_left_out_for_errors(tmp_path: Path, checks: str, columns: str) -> None:
    """A source whose definition has errors is left out, and none of its checks run: `northstar check`
    said "no checks to run" and exited 0, so `northstar check || stop` let the review go ahead on
    data nobody checked (the CDNOW tour). It exits 1 and names the source."""
    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, checks, columns=columns)
    assert proj.problems and "events" not in proj.sources
    assert proj.left_out_sources() == ("events",)
    # the review pack's stamp says the same, never "no data checks" as if none were set up
    from dashboard.pack.build import _Facts
    from metrics.engine import Engine

    engine = Engine(proj)
    facts = _Facts(proj, engine, run_checks(proj, engine, now=NOW), None)
    assert facts.quality(set(proj.sources)).words() == "data checks not run"
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "check", "--config", str(tmp_path), "--as-of", "2026-03-05"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "error: source 'events' has errors in its definition, so none of its data checks ran" in run.stderr
    assert "Traceback" not in run.stderr


# --- Great Expectations stays out of the way --------------------------------------------------


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    return done.stdout.strip()


def test_importing_metrics_quality_does_not_import_great_expectations() -> None:
    assert _python("import sys, metrics.quality; print('great_expectations' in sys.modules)") == "False"


def test_projects_without_expectations_never_import_great_expectations(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    project(tmp_path, "freshness: {warn_after: 1h, error_after: 2h}\nvolume: {}\nduplicates: {}")
    code = (
        "import sys, datetime as dt\n"
        "from metrics.load import load_project\n"
        "from metrics.quality import run_checks\n"
        f"p = load_project({str(tmp_path)!r})\n"
        "assert p.problems == (), p.problems\n"
        "r = run_checks(p, now=dt.datetime(2026, 3, 5))\n"
        "print(len(r.results), 'great_expectations' in sys.modules)\n"
    )
    assert _python(code) == "6 False"


def test_expectations_write_no_files(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, ALL_CHECKS)
    before = sorted(p for p in tmp_path.rglob("*"))
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        run_checks(proj, now=NOW)
    finally:
        os.chdir(cwd)
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_sql_only_expectations_are_refused_on_files(tmp_path: Path) -> None:
    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(
        tmp_path,
        "expect:\n  - unexpected_rows_expectation: {unexpected_rows_query: 'select * from {batch}'}\n",
    )
    assert [str(p).split(": ", 1)[1] for p in proj.problems] == [
        "unexpected_rows_expectation runs SQL of its own, so it works on SQL sources only"
    ]
    [*_, result] = run_checks(proj, now=NOW).results
    assert (result.check, result.success) == ("unexpected_rows_expectation", False)


def test_great_expectations_gets_only_the_columns_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.quality import gx_runner

    seen: list[list[str]] = []
    real = gx_runner.run_on_pandas

    def spy(data: Any, specs: Any) -> Any:
        seen.append(list(data.columns))
        return real(data, specs)

    from metrics.quality import polars_expect

    monkeypatch.setattr(gx_runner, "run_on_pandas", spy)
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    first = run_checks(project(tmp_path, ALL_CHECKS), now=NOW)
    assert seen == []  # between and in_set on these columns are judged in Polars (polars_expect)
    monkeypatch.setattr(polars_expect, "TRANSLATED", frozenset())
    clear_cache()
    again = run_checks(project(tmp_path, ALL_CHECKS), now=NOW)

    def shown(report: QualityReport) -> list[tuple[Any, ...]]:
        return [(r.check, r.success, r.unexpected_count, r.details, r.sample, r.days) for r in report.results]

    assert shown(again) == shown(first)  # the same report from GX
    # Row-wise expectations run per batch of days (metrics.quality.gx_days): the rows' days come from
    # the scan, so GX gets no timestamp, only the columns the expectations read.
    assert seen and all(columns == ["amount", "platform"] for columns in seen)
    assert gx_runner.columns_of(
        "expect_column_pair_values_to_be_equal", {"column_A": "a", "column_B": "b"}
    ) == [
        "a",
        "b",
    ]
    assert gx_runner.columns_of("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}) == [
        "a",
        "b",
    ]
    assert gx_runner.columns_of("expect_table_columns_to_match_set", {"column_set": ["a"]}) is None
    assert (
        gx_runner.columns_of("expect_column_values_to_be_in_set", {"column": "a", "row_condition": "x"})
        is None
    )
