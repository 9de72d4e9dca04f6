"""A timestamp column of SQL type DATE holds the project's local days (docs/configuration.md): the
SQL backend reads the same days as the Polars backend reads from a Date column.

Tour 3 (CDNOW in America/New_York, loaded into PostgreSQL): `compute` on the SQL source warned that
"the data runs from Dec 31, 1996 to Jun 29, 1998", a day before each end of the data, because the
data's range took each DATE as a UTC midnight and moved it to New York (the previous evening).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.definitions.project import Project
from metrics.demo.sql import load_demo
from metrics.engine import Engine, MetricRequest
from metrics.load import project_from_dicts
from tests.sql_fixtures import DATABASES, database_url, drop_table, unique_table

D = dt.date
DAYS = [D(2026, 3, 1), D(2026, 3, 1), D(2026, 3, 8), D(2026, 3, 9), D(2026, 3, 31)]
ZONES = ["America/New_York", "Asia/Kolkata", "UTC"]
METRICS = {"rows": {"type": "count", "source": "events"}}
COLUMNS = {"timestamp": "day", "user": "user_id"}


def _on_both(
    url: str, name: str, parquet: Path, metrics: dict[str, Any], zone: str, **source: Any
) -> tuple[Project, Project]:
    """(on the file, in the database): one project's definitions over the same rows."""
    settings = {"timezone": zone}
    kept = {"columns": COLUMNS, **source}
    files = project_from_dicts(
        sources={"events": {"type": "parquet", "path": parquet.name, **kept}},
        metrics=metrics,
        settings=settings,
        root=parquet.parent,
    )
    sql = project_from_dicts(
        sources={"events": {"type": "sql", "url": url, "table": name, **kept}},
        metrics=metrics,
        settings=settings,
    )
    return files, sql


@pytest.fixture(params=DATABASES)
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    frame = pl.DataFrame({"day": pl.Series(DAYS, dtype=pl.Date), "user_id": ["a", "b", "a", "c", "b"]})
    parquet = tmp_path / "days.parquet"
    frame.write_parquet(parquet)
    url = database_url(request.param, tmp_path)
    name = unique_table()
    load_demo(parquet, url, name, timestamp="day")
    try:
        yield url, name, parquet
    finally:
        drop_table(url, name)


@pytest.mark.parametrize("zone", ZONES)
def test_a_date_column_s_range_is_its_first_and_last_day(table: tuple[str, str, Path], zone: str) -> None:
    url, name, parquet = table
    files, sql = _on_both(url, name, parquet, METRICS, zone)
    assert Engine(sql, result_store=False).data_range(["rows"]) == (D(2026, 3, 1), D(2026, 3, 31))
    assert Engine(files, result_store=False).data_range(["rows"]) == (D(2026, 3, 1), D(2026, 3, 31))


def _daily_table(kind: str, folder: Path) -> tuple[str, str, Path]:
    """Eight to twelve rows a day through February and March 2026, 200 on March 20, and one on March 26."""
    days: list[dt.date] = []
    day = D(2026, 2, 1)
    while day <= D(2026, 3, 25):
        days += [day] * (200 if day == D(2026, 3, 20) else 8 + day.day % 5)
        day += dt.timedelta(days=1)
    days.append(D(2026, 3, 26))
    frame = pl.DataFrame(
        {"day": pl.Series(days, dtype=pl.Date), "user_id": [f"u{i % 7}" for i in range(len(days))]}
    )
    parquet = folder / "daily.parquet"
    frame.write_parquet(parquet)
    url = database_url(kind, folder)
    name = unique_table()
    load_demo(parquet, url, name, timestamp="day")
    return url, name, parquet


@pytest.mark.parametrize("kind", DATABASES)
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_data_checks_read_a_date_column_s_days_as_on_files(kind: str, zone: str, tmp_path: Path) -> None:
    """Tour 3: on PostgreSQL the volume check named 1997-07-25 for CDNOW's spike of 1997-07-26 (the
    file source named the 26th), and a check as of a day read the next day's rows: the database
    profile took each DATE as a UTC midnight. It is the local midnight, as for a file's Date."""
    from metrics.quality import clear_cache, run_checks_as_of

    url, name, parquet = _daily_table(kind, tmp_path)
    try:
        checks = {"volume": {"max_deviation": 6}}
        files, sql = _on_both(url, name, parquet, METRICS, zone, checks=checks)
        now = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
        reports = []
        for project in (files, sql):
            clear_cache()
            report = run_checks_as_of(project, Engine(project, result_store=False), D(2026, 3, 25), now=now)
            reports.append(
                {r.check: (r.success, r.unexpected_count, r.details, r.days) for r in report.results}
            )
        on_files, in_db = reports
        assert on_files["volume"][3] == (D(2026, 3, 20),)  # the spike's own day
        assert in_db == on_files
    finally:
        drop_table(url, name)


FUNNEL_ROWS = [  # (user, day, event); America/New_York's clocks go forward on 2026-03-08, back on 2026-11-01
    ("a", D(2026, 2, 7), "join"),  # 30 days later is 2026-03-09: only 719 hours after, so inside 30 x 24 h
    ("a", D(2026, 3, 9), "buy"),
    ("b", D(2026, 2, 1), "join"),  # 30 days later, no clock change between: outside
    ("b", D(2026, 3, 3), "buy"),
    ("c", D(2026, 2, 8), "join"),  # 29 days later: inside
    ("c", D(2026, 3, 9), "buy"),
    ("e", D(2026, 11, 1), "join"),  # the next day is 25 hours later: outside 1.01 x 24 h
    ("e", D(2026, 11, 2), "buy"),
    ("f", D(2026, 10, 20), "join"),  # the next day, 24 hours later: inside 1.01 x 24 h
    ("f", D(2026, 10, 21), "buy"),
]


@pytest.mark.parametrize("kind", DATABASES)
def test_a_funnel_window_over_a_date_column_is_real_hours_as_on_files(kind: str, tmp_path: Path) -> None:
    """Tour 3: CDNOW's second purchase within 30 days read 21.0% for March 1997 on the file and 20.7%
    on PostgreSQL. The contract's window is `within` x 24 hours from t0, and a date's t0 is its local
    midnight: across the spring change, 30 x 24 hours reach into day t0 + 30. The SQL backend counted
    calendar days; both now count the hours (`local_days.date_window_runs`)."""
    users, days, events = zip(*FUNNEL_ROWS, strict=True)
    frame = pl.DataFrame(
        {"day": pl.Series(days, dtype=pl.Date), "user_id": list(users), "event": list(events)}
    )
    parquet = tmp_path / "funnel.parquet"
    frame.write_parquet(parquet)
    url = database_url(kind, tmp_path)
    name = unique_table()
    load_demo(parquet, url, name, timestamp="day")
    columns = {**COLUMNS, "event": "event"}
    metrics = {
        "month": {"type": "funnel", "source": "events", "steps": ["join", "buy"], "within": 30},
        "day": {"type": "funnel", "source": "events", "steps": ["join", "buy"], "within": 1.01},
    }
    try:
        files, sql = _on_both(url, name, parquet, metrics, "America/New_York", columns=columns)
        frames = []
        for project in (files, sql):
            request = MetricRequest(("month", "day"), D(2026, 2, 1), D(2026, 12, 31), "month")
            frame = Engine(project, result_store=False).compute(request).frame
            frames.append(
                frame.sort("metric", "period").select("metric", "period", "value", "numerator", "denominator")
            )
        on_files, in_db = frames
        february = on_files.filter((pl.col("metric") == "month") & (pl.col("period") == D(2026, 2, 1)))
        assert february.select("numerator", "denominator").row(0) == (2, 3)  # a and c, not b
        day_rows = on_files.filter((pl.col("metric") == "day") & pl.col("denominator").is_not_null())
        by_month = {
            row["period"]: (row["numerator"], row["denominator"]) for row in day_rows.iter_rows(named=True)
        }
        assert by_month[D(2026, 10, 1)] == (1, 1) and by_month[D(2026, 11, 1)] == (0, 1)  # f in, e out
        assert in_db.to_dicts() == on_files.to_dicts()
    finally:
        drop_table(url, name)


@pytest.mark.parametrize("kind", DATABASES)
def test_rows_without_a_user_on_a_date_column_reach_the_same_days_as_on_files(
    kind: str, tmp_path: Path
) -> None:
    """user_not_null records which metrics' rows lack a user and on which days (`reaches`); in the
    database a DATE column's days are moved to their local midnight like the profile's buckets."""
    from metrics.quality import clear_cache, run_checks_as_of

    days = [D(2026, 3, 9), D(2026, 3, 9), D(2026, 3, 10), D(2026, 3, 10), D(2026, 3, 11)]
    frame = pl.DataFrame(
        {"day": pl.Series(days, dtype=pl.Date), "user_id": ["a", None, "b", "c", None], "event": ["x"] * 5}
    )
    parquet = tmp_path / "nulls.parquet"
    frame.write_parquet(parquet)
    url = database_url(kind, tmp_path)
    name = unique_table()
    load_demo(parquet, url, name, timestamp="day")
    columns = {**COLUMNS, "event": "event"}
    metrics = {"people": {"type": "count_distinct", "source": "events"}, **METRICS}
    try:
        files, sql = _on_both(url, name, parquet, metrics, "America/New_York", columns=columns)
        found = []
        for project in (files, sql):
            clear_cache()
            report = run_checks_as_of(
                project,
                Engine(project, result_store=False),
                D(2026, 3, 11),
                now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
            )
            (result,) = [r for r in report.results if r.check == "user_not_null"]
            found.append((result.success, result.days, result.reaches))
        on_files, in_db = found
        assert on_files[0] is False and on_files[1] == (D(2026, 3, 9), D(2026, 3, 11))
        assert in_db == on_files
    finally:
        drop_table(url, name)
