"""Spark sources through Spark Connect give the Polars engine's numbers and the same data checks.

Needs a Spark Connect server: `bash .ci/spark-connect start` (it prints the URL; `.ci/run` exports it
as NORTHSTAR_SPARK_URL). Without one the tests skip on a laptop and fail with CI=true.

The rows are the SQL differential suite's (tests/test_sql_differential.py: DST changes, quarter and
week edges, null users, funnels out of order and late), written to parquet in a temporary folder
that the local server reads (`path:` sources) or registers as a catalog table (`table:`). Every
metric type, grain, breakdown and time zone of that suite; microsecond funnels; the hand-worked
shapes; naive (TIMESTAMP_NTZ) and zoned (TIMESTAMP) columns; data checks; `northstar compute` on
the demo; incremental recompute after new files (one folder of old rows and one catalog table over
it, shared by those tests). One Spark session per module (the connector's), small data.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import ConnectorError
from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import load_project, project_from_dicts
from tests.conftest import IN_CI, ROOT
from tests.engine_fixtures import Reference, Row, assert_same, compute_rows, reference_rows
from tests.sql_fixtures import SOURCE_BASE, parquet_project, write_parquet
from tests.test_engine_handworked import ANY_ROWS, EXCLUDE_ROWS, FUNNEL_ROWS
from tests.test_engine_reference import METRICS
from tests.test_sql_differential import (
    CASES,
    HAND_FUNNELS,
    MICRO_METRICS,
    MICRO_ROWS,
    ROWS,
    SHAPE_CASES,
)

DEFAULT_URL = "sc://127.0.0.1:15002"
# One metric of each type and shape (for the cases beyond the full differential run): Spark runs a
# statement as many small jobs, so each metric costs time even on tiny data.
ONE_OF_EACH = {
    k: METRICS[k]
    for k in (
        "signups", "users", "revenue", "avg_amount", "min_amount", "max_amount", "p90", "dau", "mau",
        "stickiness", "d1", "w1_first_seen_open", "activation", "activation_any", "activation_no_open",
    )
}  # fmt: skip


def _reachable(url: str) -> bool:
    hostport = url[len("sc://") :].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or hostport, int(port or 15002)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def spark_url() -> Iterator[str]:
    url = os.environ.get("NORTHSTAR_SPARK_URL") or DEFAULT_URL
    if not _reachable(url):
        message = f"no Spark Connect server at {url} (bash .ci/spark-connect start)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)
    yield url
    from connectors.spark import close_sessions

    close_sessions()


def spark_project(
    url: str,
    folder: Path,
    metrics: dict[str, Any],
    settings: dict[str, Any] | None = None,
    *,
    path: str | None = None,
    table: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    source: dict[str, Any] = {"type": "spark", "url": url, **SOURCE_BASE, **(extra or {})}
    if path is not None:
        source["path"] = path
        source["format"] = "parquet"
    if table is not None:
        source["table"] = table
    project = project_from_dicts(
        sources={"events": source}, metrics=metrics, settings=settings or {}, root=folder
    )
    assert not project.problems, project.problems
    return project


@pytest.fixture(scope="module")
def events(spark_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The differential suite's rows in a parquet file the local Spark server reads."""
    return write_parquet(ROWS, tmp_path_factory.mktemp("spark") / "events.parquet")


class CatalogTable:
    """A catalog table over a parquet file (the local server's in-memory catalog), dropped after.

    It is written through a session of its own: Northstar's sessions only read."""

    def __init__(self, url: str, parquet: Path) -> None:
        from connectors.spark import _quiet

        with _quiet():
            from pyspark.sql import SparkSession

            self.session = SparkSession.builder.remote(url).create()
        self.name = f"ns_{uuid.uuid4().hex[:10]}"
        location = str(parquet.parent.resolve()).replace("'", "''")
        self.session.sql(f"CREATE TABLE default.{self.name} USING parquet LOCATION '{location}'")

    def close(self) -> None:
        self.session.sql(f"DROP TABLE IF EXISTS default.{self.name}")
        self.session.stop()


# --- the differential suite --------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "grain", "by", "start", "end"), CASES)
def test_spark_equals_polars_engine(
    spark_url: str,
    events: Path,
    settings: dict[str, Any],
    grain: str,
    by: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> None:
    ids = list(METRICS)
    spark = spark_project(spark_url, events.parent, METRICS, settings, path=events.name)
    got = compute_rows(spark, ids, start, end, grain, by, counts=True)
    want = compute_rows(parquet_project(events, METRICS, settings), ids, start, end, grain, by, counts=True)
    assert got, "no rows computed"
    assert any(k[0].endswith("#denominator") and v for k, v in got.items()), "no rate counted anything"
    assert_same(got, want)


def test_funnels_on_repeated_steps_match_polars(spark_url: str, tmp_path: Path) -> None:
    """The heavy-repetition funnels of tests/test_sql_funnel_repetition.py (hundreds of events per
    user and step, ties, exclusions, order any, Berlin across its DST change) by day and platform."""
    from tests import test_sql_funnel_repetition as rep

    parquet = write_parquet(rep.ROWS, tmp_path / "events.parquet")
    ids = list(rep.METRICS)
    spark = spark_project(spark_url, tmp_path, rep.METRICS, rep.SETTINGS, path=parquet.name)
    files = parquet_project(parquet, rep.METRICS, rep.SETTINGS)
    got = compute_rows(spark, ids, rep.START, rep.END, "day", "platform", counts=True)
    want = compute_rows(files, ids, rep.START, rep.END, "day", "platform", counts=True)
    assert any(k[0].endswith("#numerator") and v for k, v in want.items()), "nothing converted"
    assert_same(got, want)


@pytest.mark.parametrize("aware", [False, True], ids=["timestamp_ntz", "timestamp"])
def test_catalog_tables_with_naive_and_zoned_timestamps(spark_url: str, tmp_path: Path, aware: bool) -> None:
    """`table:` sources; a TIMESTAMP (instant) column gives the numbers of a naive UTC one."""
    parquet = write_parquet(ROWS, tmp_path / "table" / "part-0.parquet", aware=aware)
    table = CatalogTable(spark_url, parquet)
    try:
        settings = {"timezone": "America/New_York", "week_start": "sunday"}
        spark = spark_project(spark_url, tmp_path, ONE_OF_EACH, settings, table=f"default.{table.name}")
        kinds = Engine(spark).connector("events").schema()
        assert kinds["ts"] == "timestamp"
        ids = list(ONE_OF_EACH)
        start, end = dt.date(2025, 10, 1), dt.date(2025, 11, 5)
        got = compute_rows(spark, ids, start, end, "week", "platform", counts=True)
    finally:
        table.close()
    want = compute_rows(
        parquet_project(write_parquet(ROWS, tmp_path / "naive.parquet"), ONE_OF_EACH, settings),
        ids,
        start,
        end,
        "week",
        "platform",
        counts=True,
    )
    assert_same(got, want)
    reference = Reference(ROWS, settings)  # once, an anchor outside both engines
    assert_same(got, reference_rows(reference, ONE_OF_EACH, ids, start, end, "week", "platform", counts=True))


def test_comparisons_and_one_span_match(spark_url: str, events: Path) -> None:
    settings = {"timezone": "Europe/Berlin"}
    spark = Engine(spark_project(spark_url, events.parent, METRICS, settings, path=events.name))
    files = Engine(parquet_project(events, METRICS, settings))
    compared = MetricRequest(
        ("signups", "wau", "d1", "activation", "p90"),
        start=dt.date(2025, 10, 27),
        end=dt.date(2025, 11, 9),
        grain="week",
        compare="previous_period",
    )
    got, want = spark.compute(compared).comparison, files.compute(compared).comparison
    assert got is not None and want is not None
    keys = ("metric", "period", "compared_period")
    assert_same(
        {tuple(r[k] for k in keys): r["value"] for r in got.iter_rows(named=True)},
        {tuple(r[k] for k in keys): r["value"] for r in want.iter_rows(named=True)},
    )
    span = MetricRequest(
        tuple(ONE_OF_EACH),
        start=dt.date(2025, 10, 6),
        end=dt.date(2025, 11, 9),
        by="platform",
        span_end=dt.date(2025, 10, 26),
    )
    keys = ("metric", "period", "platform")
    got_frame, want_frame = spark.compute(span).frame, files.compute(span).frame
    for column in ("value", "numerator", "denominator"):
        assert_same(
            {tuple(r[k] for k in keys): r[column] for r in got_frame.iter_rows(named=True)},
            {tuple(r[k] for k in keys): r[column] for r in want_frame.iter_rows(named=True)},
        )


@pytest.mark.parametrize(("settings", "by"), [({}, None), ({"timezone": "Europe/Berlin"}, "platform")])
def test_microsecond_funnels_match_polars(
    spark_url: str, tmp_path: Path, settings: dict[str, Any], by: str | None
) -> None:
    """Steps under a millisecond apart and events in the last millisecond of a day: Spark keeps
    microseconds, so its funnels and days are Polars'."""
    ids = list(MICRO_METRICS)
    start, end = dt.date(2025, 10, 1), dt.date(2025, 10, 20)
    parquet = write_parquet(MICRO_ROWS, tmp_path / "micro.parquet")
    spark = spark_project(spark_url, tmp_path, MICRO_METRICS, settings, path=parquet.name)
    want = compute_rows(parquet_project(parquet, MICRO_METRICS, settings), ids, start, end, "week", by)
    assert_same(compute_rows(spark, ids, start, end, "week", by), want)
    files = parquet_project(parquet, MICRO_METRICS, settings)
    assert_same(
        compute_rows(spark, ["views", "dau"], start, end, "day", by),
        compute_rows(files, ["views", "dau"], start, end, "day", by),
    )


def test_hand_worked_shapes_and_funnels(spark_url: str, tmp_path: Path) -> None:
    """The hand-worked fixtures (negated filters, first seen, Berlin days; funnel ties, order and
    exclusions) give the hand-counted values on Spark."""
    for index, case in enumerate(SHAPE_CASES):
        rows, metrics, settings, metric, days, want = case.values
        folder = tmp_path / f"shape{index}"
        parquet = write_parquet(rows, folder / "events.parquet")
        spark = spark_project(spark_url, folder, metrics, settings, path=parquet.name)
        expected = {
            (metric, d, None): None if v is None else float(v) for d, v in zip(days, want, strict=True)
        }
        assert_same(compute_rows(spark, [metric], days[0], days[-1]), expected)
    rows: list[Row] = FUNNEL_ROWS + ANY_ROWS + EXCLUDE_ROWS
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 3)
    parquet = write_parquet(rows, tmp_path / "hand" / "events.parquet")
    spark = spark_project(spark_url, parquet.parent, HAND_FUNNELS, {}, path=parquet.name)
    got = compute_rows(spark, list(HAND_FUNNELS), start, end)
    jan1 = {k[0]: v for k, v in got.items() if k[1] == start}
    assert jan1 == {"strict": 9 / 16, "any_order": 13 / 16, "strict_exclude": 7 / 16, "any_exclude": 10 / 16}
    assert_same(got, compute_rows(parquet_project(parquet, HAND_FUNNELS, {}), list(HAND_FUNNELS), start, end))


def test_the_statement_binds_every_value(spark_url: str, events: Path) -> None:
    """Filter values, zones and instants travel as `?` parameters: none is in the SQL text."""
    metrics = {
        "odd": {"type": "count", "source": "events", "filter": {"event": "it's; DROP TABLE x --"}},
        "dau": {"type": "active_users", "source": "events", "window": 1},
    }
    settings = {"timezone": "Europe/Berlin"}
    engine = Engine(spark_project(spark_url, events.parent, metrics, settings, path=events.name))
    request = MetricRequest(("odd", "dau"), start=dt.date(2025, 10, 1), end=dt.date(2025, 10, 3))
    text = engine.explain(request)
    assert "DROP" not in text and "Europe/Berlin" not in text.split("\n", 1)[1] and "?" in text
    frame = engine.compute(request).frame
    assert frame.filter(frame["metric"] == "odd")["value"].to_list() == [0.0, 0.0, 0.0]


# --- incremental recompute --------------------------------------------------------------------

# The pack of tests/test_incremental.py's types that a splice can get wrong: count, count_distinct,
# active users (1 and 7 days), retention (day and week cohorts), funnels (strict; any order with an
# exclusion), a ratio of two of them, and a float sum (computed over the whole range: order_sensitive).
INCREMENTAL_PACK = (
    "signups", "users", "revenue", "dau", "wau", "d1", "w1", "activation", "invited", "signups_per_user",
)  # fmt: skip


@pytest.fixture(scope="module")
def grown_folder(spark_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One folder of old rows (35 days, tests/test_incremental.py's users who return and complete
    funnels) as `data/events_000.parquet`, and a catalog table over `data/`, shared by the tests
    below; each test adds its new files and removes them after (`add_files`)."""
    from tests import test_incremental as inc

    folder = tmp_path_factory.mktemp("spark-incremental")
    old = write_parquet(inc.rows_for(inc.FIRST, inc.SQL_DAYS), folder / "data" / "events_000.parquet")
    table = CatalogTable(spark_url, old)
    try:
        yield folder, f"default.{table.name}"
    finally:
        table.close()


@pytest.fixture
def add_files(grown_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`add(rows)` writes a new file into the shared folder; the files go again after the test."""
    import connectors.spark as spark_module

    monkeypatch.setattr(spark_module, "FINGERPRINT_TTL_SECONDS", 0.0)  # see every new file at once
    added: list[Path] = []

    def add(rows: list[Row]) -> None:
        path = grown_folder[0] / "data" / f"events_{len(added) + 1:03}.parquet"
        added.append(write_parquet(rows, path))

    yield add
    for path in added:
        path.unlink()


def incremental_project(url: str, folder: Path, table: str | None, late: int | None, zone: str) -> Any:
    from tests import test_incremental as inc

    extra: dict[str, Any] = {} if late is None else {"late_arrival_days": late}
    metrics = {m: inc.METRICS[m] for m in INCREMENTAL_PACK}
    source = {"path": "data"} if table is None else {"table": table}
    return spark_project(url, folder, metrics, {"timezone": zone}, **source, extra=extra)


@pytest.mark.parametrize(
    ("where", "grain", "by", "zone"),
    [("table", "day", "platform", "Europe/Berlin"), ("path", "week", None, "UTC")],
)
def test_new_days_on_spark_are_spliced_and_equal_a_full_recompute(
    spark_url: str,
    grown_folder: tuple[Path, str],
    add_files: Any,
    tmp_path: Path,
    where: str,
    grain: str,
    by: str | None,
    zone: str,
) -> None:
    """New days and a late row inside the late-arrival window (two days before the newest stored
    day): Spark counts the rows before the bound, the count is unchanged, so the stored periods
    before the bound are reused and only the rest is computed in Spark. The answer equals a full
    recompute (float sums to 1e-12, as on any SQL engine), and the incremental path was taken."""
    from metrics.engine.result_store import ResultStore
    from tests import test_incremental as inc

    folder, table = grown_folder
    new_first = inc.FIRST + dt.timedelta(days=inc.SQL_DAYS)
    late = Row(dt.datetime.combine(new_first - dt.timedelta(days=2), dt.time(13)), "u3", "invite")
    store = ResultStore(tmp_path / "store")
    spliced, full, words = inc.grown_run(
        lambda: incremental_project(spark_url, folder, table if where == "table" else None, None, zone),
        lambda: add_files([*inc.rows_for(new_first, 3, seed=4), late]),
        MetricRequest(INCREMENTAL_PACK, start=inc.FIRST, grain=grain, by=by),  # type: ignore[arg-type]
        store,
    )
    inc.same(spliced, full, float_sums_exact=False)
    assert full.end >= new_first + dt.timedelta(days=2)  # Spark saw the new file (a refreshed listing)
    assert store.stats.spliced == 1
    assert any("rows before" in line and "unchanged" in line for line in words), words
    assert any("read from an earlier stored answer" in note for note in spliced.notes), spliced.notes


def test_a_spark_row_before_the_late_window_gives_a_full_recompute(
    spark_url: str, grown_folder: tuple[Path, str], add_files: Any, tmp_path: Path
) -> None:
    """A row 30 days back (before `late_arrival_days: 2` from the newest day) changes Spark's count of
    the rows before the bound: nothing is reused, and the answer is the full recompute's."""
    from metrics.engine.result_store import ResultStore
    from tests import test_incremental as inc

    folder, table = grown_folder
    store = ResultStore(tmp_path / "store")
    request = MetricRequest(INCREMENTAL_PACK, start=inc.FIRST, grain="day")

    def project() -> Any:
        return incremental_project(spark_url, folder, table, 2, "UTC")

    before = Engine(project(), result_store=store).compute(request)
    old_day = inc.FIRST + dt.timedelta(days=4)
    new_day = inc.day_rows(inc.FIRST + dt.timedelta(days=inc.SQL_DAYS), seed=9)
    add_files([Row(dt.datetime.combine(old_day, dt.time(9)), "u7", "signup"), *new_day])
    engine = Engine(project(), result_store=store)
    words = engine.explain(request)
    got = engine.compute(request)
    inc.same(got, Engine(project(), result_store=False).compute(request), float_sums_exact=False)
    assert store.stats.spliced == 0 and "incremental" not in words

    def signups(result: Any) -> float:
        frame = result.frame
        return float(frame.filter((frame["metric"] == "signups") & (frame["period"] == old_day))["value"][0])

    assert signups(got) == signups(before) + 1  # the old row is counted: nothing stale was reused


# --- sources, errors ---------------------------------------------------------------------------


def test_an_unreachable_server_is_one_sentence_within_seconds(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_parquet(ROWS[:10], tmp_path / "events.parquet")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  events:\n    type: spark\n"
        f"    url: sc://127.0.0.1:{port}/;token=s3cret\n"
        "    path: events.parquet\n    columns: {timestamp: ts, user: user_id, event: event}\n"
    )
    (tmp_path / "metrics.yaml").write_text("metrics:\n  n: {type: count, source: events}\n")
    project = load_project(tmp_path)
    problems = [str(p) for p in project.problems]
    assert len(problems) == 1, problems
    assert "sources.yaml:" in problems[0] and "cannot reach the Spark Connect server" in problems[0]
    assert "s3cret" not in problems[0]
    from connectors.base import connect
    from connectors.models import SparkSource

    source = SparkSource.model_validate(
        {
            "type": "spark",
            "url": f"sc://127.0.0.1:{port}/;token=s3cret",
            "path": "events.parquet",
            **SOURCE_BASE,
        }
    )
    began = time.monotonic()
    with pytest.raises(ConnectorError, match="cannot reach the Spark Connect server") as raised:
        connect("events", source, tmp_path).schema()
    assert time.monotonic() - began < 15
    assert "\n" not in str(raised.value) and "token=***" in str(raised.value)


def test_a_missing_table_or_path_is_one_sentence(
    spark_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from connectors.base import connect
    from connectors.models import SparkSource

    base = {"type": "spark", "url": spark_url, **SOURCE_BASE}
    missing = SparkSource.model_validate({**base, "table": "default.no_such_table_here"})
    with pytest.raises(ConnectorError, match=r"table 'default\.no_such_table_here' does not exist") as raised:
        connect("events", missing, tmp_path).schema()
    assert "\n" not in str(raised.value)
    (tmp_path / "empty").mkdir()
    nothing = SparkSource.model_validate({**base, "path": "empty/nothing.parquet"})
    with pytest.raises(ConnectorError, match=r"Spark finds no files at 'empty/nothing\.parquet'"):
        connect("events", nothing, tmp_path).schema()
    assert capfd.readouterr().err == ""  # pyspark's own log of the failure (a JVM stack trace) is off


def test_a_local_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    from connectors.base import connect
    from connectors.models import SparkSource

    source = SparkSource.model_validate(
        {"type": "spark", "url": DEFAULT_URL, "path": "/etc/passwd", "format": "csv", **SOURCE_BASE}
    )
    with pytest.raises(ConnectorError, match="outside the project folder"):
        connect("events", source, tmp_path)
    remote = SparkSource.model_validate(
        {"type": "spark", "url": DEFAULT_URL, "path": "s3a://bucket/events/", **SOURCE_BASE}
    )
    assert connect("events", remote, tmp_path).files == "s3a://bucket/events/"  # the cluster reads it


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "postgresql://x/y", "table": "t"}, "Spark Connect URL"),
        ({"url": DEFAULT_URL}, "exactly one of `table:` or `path:`"),
        ({"url": DEFAULT_URL, "table": "t", "path": "p"}, "exactly one of `table:` or `path:`"),
        ({"url": DEFAULT_URL, "table": "t", "format": "csv"}, "`format:` goes with `path:`"),
        ({"url": DEFAULT_URL, "path": "p", "format": "xlsx"}, "expected 'parquet', 'orc'"),
        ({"url": DEFAULT_URL, "table": "t", "late_arrival_days": -1}, "late_arrival_days"),
    ],
)
def test_spark_source_fields_are_validated(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  events:\n    type: spark\n"
        + "".join(f"    {k}: {v}\n" for k, v in fields.items())
        + "    columns: {timestamp: ts}\n"
    )
    problems = [p.message for p in load_project(tmp_path).problems]
    assert any(message in p for p in problems), problems


def test_compile_only_dialect() -> None:
    """Back-quoted names, Spark's type names, `?` markers in order, constant LIMIT."""
    import sqlalchemy as sa

    from connectors.spark import compile_spark, table_parts

    t = sa.table("my table", sa.column("select", sa.String()), sa.column("x", sa.Integer()))
    statement = (
        sa.select(sa.cast(t.c.x, sa.Double()).label("d"), sa.cast(t.c.x, sa.String()).label("s"))
        .where(t.c["select"].in_(["a", "b"]), t.c.x > 3)
        .limit(5)
    )
    text, values = compile_spark(statement)
    assert "`my table`" in text and "`select`" in text
    assert "CAST(`my table`.x AS DOUBLE)" in text and "AS STRING)" in text
    assert "IN (?, ?)" in text and text.rstrip().endswith("LIMIT 5")
    assert values == ["a", "b", 3]
    assert table_parts("cat.`my.db`.events") == ["cat", "my.db", "events"]
    with pytest.raises(ValueError, match="not a table name"):
        table_parts("a..b")


# --- data checks -------------------------------------------------------------------------------


def test_data_checks_give_the_verdicts_of_files(spark_url: str, tmp_path: Path) -> None:
    """Built-in checks (nulls, future, freshness, duplicates) run as aggregates in Spark; `expect:`
    entries on a pandas frame of their columns: the same verdicts, counts, days and samples as on the
    parquet file."""
    from metrics.quality import clear_cache, run_checks
    from tests.test_quality import ALL_CHECKS, DEFECTIVE, NOW
    from tests.test_quality_helpers import frame, project, write

    write(frame(DEFECTIVE), tmp_path / "spark" / "data" / "events.parquet")
    source = f"type: spark\n    url: {spark_url}\n    path: data/events.parquet\n    format: parquet"
    clear_cache()
    spark = project(tmp_path / "spark", ALL_CHECKS + "volume: {window_days: 7}\n", source=source)
    assert spark.problems == ()
    write(frame(DEFECTIVE), tmp_path / "file" / "data" / "events.parquet")
    files = project(tmp_path / "file", ALL_CHECKS + "volume: {window_days: 7}\n")

    def verdicts(proj: Any) -> list[tuple[Any, ...]]:
        return [
            (r.check, r.severity, r.success, r.unexpected_count, r.days, r.sample)
            for r in run_checks(proj, now=NOW).results
        ]

    got = verdicts(spark)
    assert got == verdicts(files)
    assert {g[0] for g in got if not g[2]} >= {"user_not_null", "timestamp_not_in_future", "duplicates"}


# --- the command line on the demo ----------------------------------------------------------------


def test_northstar_compute_on_spark_returns_the_polars_numbers(spark_url: str, tmp_path: Path) -> None:
    """`python -m dashboard.cli compute <every demo metric> --format json` on a `type: spark` copy of
    the demo project equals the same command on the parquet project, row for row."""
    from metrics.demo.generate import generate_demo

    files = tmp_path / "files"
    generate_demo(files / "data" / "demo", events=20_000, seed=7, end=dt.date(2026, 11, 20))
    (files / "config").mkdir()
    for path in (ROOT / "config").glob("*.yaml"):
        shutil.copy(path, files / "config" / path.name)
    spark = tmp_path / "spark"
    shutil.copytree(files / "config", spark)
    shutil.copy(files / "data" / "demo" / "events.parquet", spark / "events.parquet")
    sources = (spark / "sources.yaml").read_text()
    assert "    type: parquet\n    path: ../data/demo/events.parquet\n" in sources
    (spark / "sources.yaml").write_text(
        sources.replace(
            "    type: parquet\n    path: ../data/demo/events.parquet\n",
            f"    type: spark\n    url: {spark_url}\n    path: events.parquet\n    format: parquet\n",
        )
    )
    metrics = list(load_project(files / "config").metrics)
    assert len(metrics) >= 10

    def compute(config: Path) -> list[dict[str, Any]]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dashboard.cli",
                "compute",
                *metrics,
                "--config",
                str(config),
                "--start",
                "2026-08-01",
                "--end",
                "2026-11-20",
                "--grain",
                "week",
                "--format",
                "json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)
        return rows

    got, want = compute(spark), compute(files / "config")
    assert len(got) == len(want) > 100

    def keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {(r["metric"], r["period"]): r for r in rows}

    assert keyed(got).keys() == keyed(want).keys()
    for key, row in keyed(want).items():
        other = keyed(got)[key]
        for field in row:
            a, b = other[field], row[field]
            if isinstance(b, float) and isinstance(a, float | int):
                assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (key, field, a, b)
            else:
                assert a == b, (key, field, a, b)


def test_the_shipped_ci_script_names_its_commands() -> None:
    script = (ROOT / ".ci" / "spark-connect").read_text()
    assert "start)" in script and "stop)" in script
    run = (ROOT / ".ci" / "run").read_text()
    assert "spark-connect start" in run and "spark-connect stop" in run and "NORTHSTAR_SPARK_URL" in run


def test_importing_the_connector_loads_no_pyspark() -> None:
    code = "import sys, connectors.spark, connectors.base; print('pyspark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_spark_source_fields_are_documented() -> None:
    from connectors.models import SparkSource

    text = (ROOT / "docs" / "configuration.md").read_text()
    assert [f for f in SparkSource.model_fields if f != "type" and f"`{f}" not in text] == []
    assert "## Spark sources (Spark Connect)" in (ROOT / "docs" / "sql.md").read_text()
