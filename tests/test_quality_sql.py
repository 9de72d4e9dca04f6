"""Data-quality checks on SQL sources: the same verdicts as on files, computed in the database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sql import dispose_engines
from metrics.definitions.project import Project
from metrics.demo.sql import load_demo
from metrics.quality import clear_cache, run_checks
from tests.conftest import MARIADB_URL, POSTGRES_URL, require_service
from tests.test_quality import (
    ALL_CHECKS,
    CLEAN,
    DEFECTIVE,
    EXPECT_DAYS,
    NEAR_MIDNIGHT,
    NEAR_MIDNIGHT_DAYS,
    NOW,
    _weekly,
    expectation_days,
)
from tests.test_quality_helpers import by_check, daily_rows, frame, project, write

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_cache()
    yield
    dispose_engines()


class Database:
    """Loads event rows into one table of a database and describes it as a `type: sql` source."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self.table = f"quality_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'events.db'}"
        elif backend == "duckdb":
            self.url = f"duckdb:///{folder / 'events.duckdb'}"
        elif backend == "postgres":
            require_service("postgres")
            self.url = POSTGRES_URL
        else:
            require_service("mariadb")
            self.url = MARIADB_URL

    def load(self, rows: list[tuple[Any, ...]]) -> None:
        parquet = write(frame(rows), self.folder / "load" / "events.parquet")
        load_demo(parquet, self.url, self.table, timestamp="ts")
        dispose_engines()  # drop the connector's memoized fingerprint: the data just changed

    def source(self, *, query: bool = False) -> str:
        where = (
            f"query: select * from {self.table} where event <> 'nothing'" if query else f"table: {self.table}"
        )
        return f"type: sql\n    url: {self.url}\n    {where}"

    def drop(self) -> None:
        if self.backend in ("postgres", "mariadb"):
            engine = sa.create_engine(self.url)
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = Database(request.param, tmp_path)
    yield db
    dispose_engines()
    db.drop()


def _verdicts(proj: Project, now: dt.datetime = NOW) -> list[tuple[Any, ...]]:
    return [
        (r.check, r.severity, r.success, r.unexpected_count, r.days, r.sample)
        for r in run_checks(proj, now=now).results
    ]


def _file_verdicts(
    folder: Path, rows: list[tuple[Any, ...]], checks: str, **kw: Any
) -> list[tuple[Any, ...]]:
    write(frame(rows), folder / "data" / "events.parquet")
    return _verdicts(
        project(folder, checks, **{k: v for k, v in kw.items() if k != "now"}), kw.get("now", NOW)
    )


@pytest.mark.parametrize("query", [False, True], ids=["table", "query"])
def test_defects_give_the_same_verdicts_as_on_files(database: Database, tmp_path: Path, query: bool) -> None:
    database.load(DEFECTIVE)
    proj = project(tmp_path / "sql", ALL_CHECKS, source=database.source(query=query))
    assert proj.problems == ()
    got = _verdicts(proj)
    expected = _file_verdicts(tmp_path / "file", DEFECTIVE, ALL_CHECKS)
    assert [g[:5] for g in got] == [e[:5] for e in expected]
    assert [g[5] for g in got] == [e[5] for e in expected]  # samples too (values, not just counts)
    assert [g[3] for g in got] == [1, 2, 1, None, 1, 1, 1]


def test_clean_data_passes_in_the_database(database: Database, tmp_path: Path) -> None:
    database.load(CLEAN)
    proj = project(tmp_path, ALL_CHECKS, source=database.source())
    assert [(v[0], v[2]) for v in _verdicts(proj)] == [
        ("timestamp_not_null", True),
        ("user_not_null", True),
        ("timestamp_not_in_future", True),
        ("freshness", True),
        ("duplicates", True),
        ("expect_column_values_to_be_between(amount)", True),
        ("expect_column_values_to_be_in_set(platform)", True),
    ]


def test_volume_and_local_days_in_the_database(database: Database, tmp_path: Path) -> None:
    counts = _weekly(42)
    counts[36] = 10  # 2026-03-10
    rows = daily_rows(counts, dt.date(2026, 2, 2), hour=23)  # 23:00 UTC is the next day in Berlin
    rows[0] = (rows[0][0], None, *rows[0][2:])  # 2026-02-02 23:00 UTC, no user
    database.load(rows)
    checks = "volume: {window_days: 28, max_deviation: 4}\nduplicates: {columns: [ts]}"
    proj = project(tmp_path / "sql", checks, source=database.source(), timezone="Europe/Berlin")
    now = dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC)
    got = {v[0]: v for v in _verdicts(proj, now)}
    assert got["volume"][2:5] == (False, 1, (dt.date(2026, 3, 11),))  # Berlin's day of 2026-03-10 23:xx UTC
    assert got["user_not_null"][4] == (dt.date(2026, 2, 3),)
    assert got["duplicates"][2] is True
    expected = _file_verdicts(tmp_path / "file", rows, checks, timezone="Europe/Berlin", now=now)
    assert list(got.values()) == expected


@pytest.mark.parametrize("query", [False, True], ids=["table", "query"])
def test_a_failed_expectation_names_the_local_days_of_its_unexpected_rows(
    database: Database, tmp_path: Path, query: bool
) -> None:
    """GX in the database gives the timestamps of the unexpected rows (DuckDB: their positions in the
    fetched frame); their days are Los Angeles days, as on files."""
    database.load(NEAR_MIDNIGHT)
    source = database.source(query=query)
    proj = project(tmp_path, EXPECT_DAYS, source=source, timezone="America/Los_Angeles")
    assert proj.problems == ()
    assert expectation_days(proj) == NEAR_MIDNIGHT_DAYS


def test_results_are_cached_until_the_table_changes(tmp_path: Path) -> None:
    database = Database("sqlite", tmp_path)
    database.load(CLEAN)
    proj = project(tmp_path, "duplicates: {}", source=database.source())
    first = run_checks(proj, now=NOW)
    assert run_checks(proj, now=NOW).results[0] is first.results[0]
    database.load([*CLEAN, CLEAN[0], (dt.datetime(2026, 3, 4), "u9", "x", "web", None)])
    result = by_check(run_checks(proj, now=NOW))["duplicates"]
    assert (result.success, result.unexpected_count) == (False, 1)


def test_an_unreachable_database_is_one_failed_check(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        ALL_CHECKS,
        source="type: sql\n    url: postgresql+psycopg://postgres@127.0.0.1:1/test\n    table: events",
        check_data=False,
    )
    [result] = run_checks(proj, now=NOW).results
    assert (result.source, result.check, result.severity, result.success) == (
        "events",
        "readable",
        "error",
        False,
    )
    assert "cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:1/test" in result.details


def test_a_missing_database_file_is_one_failed_check(tmp_path: Path) -> None:
    proj = project(
        tmp_path, source="type: sql\n    url: sqlite:///nope.db\n    table: events", check_data=False
    )
    [result] = run_checks(proj, now=NOW).results
    assert result.check == "readable"
    assert f"there is no database file at {tmp_path / 'nope.db'}" in result.details


def test_a_missing_table_is_one_failed_check(tmp_path: Path) -> None:
    database = Database("sqlite", tmp_path)
    database.load(CLEAN)
    proj = project(
        tmp_path, source="type: sql\n    url: sqlite:///events.db\n    table: nope", check_data=False
    )
    [result] = run_checks(proj, now=NOW).results
    assert result.check == "readable"
    assert "table 'nope' does not exist" in result.details


def test_sql_only_expectations_run_in_the_database(tmp_path: Path) -> None:
    database = Database("sqlite", tmp_path)
    database.load(DEFECTIVE)
    checks = (
        "expect:\n"
        "  - unexpected_rows_expectation:\n"
        "      unexpected_rows_query: \"select * from {batch} where event = 'purchase' and amount < 0\"\n"
    )
    proj = project(tmp_path, checks, source=database.source())
    assert proj.problems == ()
    result = by_check(run_checks(proj, now=NOW))["unexpected_rows_expectation"]
    assert (result.success, result.unexpected_count) == (False, 1)
