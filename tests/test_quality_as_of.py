"""Data checks judged as of a day (CONTRACT.md, `northstar check`): they read the data up to the end
of the as-of day in the project's time zone, and freshness is the newest timestamp's age at the end
of that day (or now, when that is earlier). The same judgement in `check`, the pack and the dashboard
(`metrics.quality.clock.quality_clock`, run by `run_checks_as_of`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sql import dispose_engines
from metrics.quality import clear_cache, quality_clock, run_checks_as_of
from tests.test_quality_helpers import by_check, frame, project, write
from tests.test_quality_sql import BACKENDS, Database

D = dt.date
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # two weeks after the data ends
CHECKS = """
freshness: {warn_after: 24h, error_after: 72h}
expect:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
"""
# Clean days Mar 1..3; on Mar 4 (Berlin) a row without a user and a negative amount; the newest
# row on Mar 4 at 08:00 UTC.
ROWS: list[tuple[Any, ...]] = [
    (dt.datetime(2026, 3, 1, 10), "u1", "signup", "web", None),
    (dt.datetime(2026, 3, 2, 11), "u2", "purchase", "ios", 12.0),
    (dt.datetime(2026, 3, 3, 9), "u2", "page_view", "web", None),
    (dt.datetime(2026, 3, 3, 22, 30), "u1", "page_view", "web", None),  # Mar 3, 23:30 in Berlin
    (dt.datetime(2026, 3, 3, 23, 30), None, "purchase", "web", -5.0),  # Mar 4, 00:30 in Berlin
    (dt.datetime(2026, 3, 4, 8), "u1", "page_view", "web", None),
]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_cache()
    yield
    dispose_engines()


def _cli(*args: str) -> tuple[int, str]:
    from dashboard.cli import main

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def test_check_on_historical_data_reports_no_freshness_failure(tmp_path: Path) -> None:
    """The data ended in March: by default (its last day) and as of a day in it, the check passes;
    as of a week later the same data is stale, by the clock of that day, not the machine's."""
    clean = [r for r in ROWS if r[1] is not None]
    write(frame(clean), tmp_path / "data" / "events.parquet")
    project(tmp_path, CHECKS, timezone="Europe/Berlin")
    code, out = _cli("check", "--config", str(tmp_path), "--format", "json")
    checks = {c["check"]: c for c in json.loads(out)["checks"]}
    assert code == 0 and checks["freshness"]["success"], checks["freshness"]
    assert "timestamp_not_in_future" not in checks  # nothing read can be later than the day's end
    code, out = _cli("check", "--config", str(tmp_path), "--as-of", "2026-03-04", "--format", "json")
    assert code == 0
    code, out = _cli("check", "--config", str(tmp_path), "--as-of", "2026-03-11", "--format", "json")
    stale = {c["check"]: c for c in json.loads(out)["checks"]}["freshness"]
    assert code == 1 and not stale["success"] and stale["severity"] == "error"
    assert "7d 15h old" in stale["details"]  # Mar 4 08:00 UTC to the end of Mar 11 in Berlin (23:00 UTC)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_checks_as_of_a_day_before_bad_rows_do_not_see_them(tmp_path: Path, suffix: str) -> None:
    write(frame(ROWS), tmp_path / "data" / f"events{suffix}")
    kind = suffix.lstrip(".")
    proj = project(
        tmp_path, CHECKS, source=f"type: {kind}\n    path: data/events{suffix}", timezone="Europe/Berlin"
    )
    before = by_check(run_checks_as_of(proj, None, D(2026, 3, 3), now=NOW))
    after = by_check(run_checks_as_of(proj, None, D(2026, 3, 4), now=NOW))
    between = "expect_column_values_to_be_between(amount)"
    assert before["user_not_null"].success and before[between].success
    assert not after["user_not_null"].success and not after[between].success
    assert after[between].unexpected_count == 1
    # freshness at the end of Mar 3 (23:00 UTC): the row of 22:30 UTC is 30 minutes old
    assert before["freshness"].success and "30m old" in before["freshness"].details


@pytest.mark.parametrize("query", [False, True], ids=["table", "query"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_sql_checks_as_of_a_day_read_the_rows_up_to_its_end(
    tmp_path: Path, backend: str, query: bool
) -> None:
    """The same cut in the database, on a table or a query source: the built-in checks' queries and
    the expectations (GX's SQL data source, or the columns fetched for pandas where GX cannot run on
    the dialect)."""
    database = Database(backend, tmp_path)
    try:
        database.load(ROWS)
        proj = project(tmp_path / "p", CHECKS, source=database.source(query=query), timezone="Europe/Berlin")
        before = by_check(run_checks_as_of(proj, None, D(2026, 3, 3), now=NOW))
        after = by_check(run_checks_as_of(proj, None, D(2026, 3, 4), now=NOW))
        between = "expect_column_values_to_be_between(amount)"
        assert before["user_not_null"].success and before[between].success, before[between].details
        assert not after["user_not_null"].success and not after[between].success
        assert before["freshness"].success and after["freshness"].success
    finally:
        dispose_engines()
        database.drop()


def test_the_as_of_day_still_running_is_judged_now_and_reads_every_row(tmp_path: Path) -> None:
    """As of today the checks read everything and judge by the real time: a row later than now is
    in the future."""
    rows = [*ROWS, (dt.datetime(2026, 3, 20, 15), "u3", "page_view", "web", None)]
    write(frame(rows), tmp_path / "data" / "events.parquet")
    proj = project(tmp_path, CHECKS, timezone="Europe/Berlin")
    clock = quality_clock(proj, D(2026, 3, 20), now=NOW)
    assert (clock.now, clock.until) == (NOW, None)
    got = by_check(run_checks_as_of(proj, None, D(2026, 3, 20), now=NOW))
    assert not got["timestamp_not_in_future"].success and got["timestamp_not_in_future"].unexpected_count == 1
    assert not got["user_not_null"].success  # the bad row of Mar 4 is read


@pytest.mark.parametrize("where", ["parquet", "sqlite"])
def test_checks_as_of_a_day_before_the_data_say_there_is_nothing_to_check(tmp_path: Path, where: str) -> None:
    """On zero rows every check would pass vacuously ("every row has a timestamp"): as of a day
    before the first row the source gets one failed check, `has_data`, that says so, and `check`
    exits 1 (nothing was checked, so the run cannot vouch for the data)."""
    if where == "parquet":
        write(frame(ROWS), tmp_path / "data" / "events.parquet")
        proj = project(tmp_path, CHECKS, timezone="Europe/Berlin")
        database = None
    else:
        database = Database("sqlite", tmp_path)
        database.load(ROWS)
        proj = project(tmp_path / "p", CHECKS, source=database.source(query=False), timezone="Europe/Berlin")
    try:
        before = run_checks_as_of(proj, None, D(2026, 2, 28), now=NOW)
        first = by_check(run_checks_as_of(proj, None, D(2026, 3, 1), now=NOW))
    finally:
        dispose_engines()
        if database is not None:
            database.drop()
    assert [(r.check, r.success, r.severity) for r in before.results] == [("has_data", False, "error")]
    assert "no data to check up to 2026-02-28" in before.results[0].details
    assert before.failed_errors and "all passed" not in before.to_table()
    assert "has_data" not in first and first["timestamp_not_null"].success  # the first day has data
    if where == "parquet":
        code, out = _cli("check", "--config", str(tmp_path), "--as-of", "2026-02-28")
        assert code == 1 and "no data to check up to 2026-02-28" in out and "all passed" not in out
