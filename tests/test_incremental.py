"""Incremental recompute (metrics/engine/incremental.py): when data only grew, a stored answer's early
periods are reused and only the rest is computed, and the numbers are exactly a full recompute's.

Every case computes the same request three times: once before the data grows (stored), once after
with the store (spliced: the test checks that the incremental path was taken, through the store's
counter and the engine's note), and once after without any store (the full recompute). The spliced
frame must equal the full one exactly, nulls and counts included. The rows are made so that what
could go wrong does: users come back on the new days (retention of old cohorts, active users'
look-back), funnels started on old days complete on new ones, and Berlin's DST change and a month
end fall inside the range.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

import connectors.sql as sql_module
from connectors.sql import dispose_engines
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import ActiveUsersMetric, CountMetric, FunnelMetric, RetentionMetric
from metrics.engine import Engine
from metrics.engine.incremental import order_sensitive, reusable_until
from metrics.engine.request import MetricRequest, MetricResult, Window
from metrics.engine.result_store import ResultStore
from metrics.load import load_project, project_from_dicts
from tests.engine_fixtures import Row, frame_of
from tests.sql_fixtures import database_url, drop_table, unique_table

FIRST = dt.date(2026, 3, 16)  # a Monday; Berlin moves its clocks on 2026-03-29, the month ends on 03-31
OLD_DAYS = 20  # 03-16 .. 04-04 before the data grows
NEW_DAYS = 6  # 04-05 .. 04-10 added
EVENTS = ("signup", "open", "purchase", "create_project", "invite")

METRICS: dict[str, Any] = {
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "users": {"type": "count_distinct", "source": "events"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "avg_amount": {"type": "avg", "source": "events", "column": "amount"},
    "max_amount": {"type": "max", "source": "events", "column": "amount"},
    "p90_amount": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.9},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "wau": {"type": "active_users", "source": "events", "window": 7},
    "d1": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    "w1": {"type": "retention", "source": "events", "cohort_event": "signup", "period": "week", "offset": 1},
    "activation": {"type": "funnel", "source": "events", "steps": ["signup", "create_project"], "within": 3},
    "invited": {
        "type": "funnel",
        "source": "events",
        "steps": ["open", "create_project", "invite"],
        "within": 2,
        "order": "any",
        "exclude": ["purchase"],
    },
    "signups_per_user": {"type": "ratio", "numerator": "signups", "denominator": "dau"},
}
ALL = tuple(METRICS)
SOURCE: dict[str, Any] = {
    "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    "dimensions": ["platform", "plan"],
}


def day_rows(day: dt.date, seed: int, users: int = 40) -> list[Row]:
    """One day's rows: about half the users are active, each a few events at spread-out times
    (late evening too, so a local day differs from the UTC day); amounts in cents."""
    rng = random.Random(seed * 7919 + day.toordinal())
    out = []
    for user in range(users):
        if rng.random() < 0.5:
            continue
        for _ in range(rng.randint(1, 4)):
            ts = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=rng.randrange(0, 24 * 60))
            event = rng.choices(EVENTS, weights=(2, 5, 2, 2, 1))[0]
            amount = round(rng.uniform(1, 200), 2) if event == "purchase" else None
            out.append(
                Row(
                    ts,
                    None if rng.random() < 0.02 else f"u{user}",
                    event,
                    platform=rng.choice(("web", "ios", "android")),
                    plan=rng.choice(("free", "pro")),
                    amount=amount,
                )
            )
    return out


def rows_for(first: dt.date, days: int, seed: int = 1) -> list[Row]:
    return [row for d in range(days) for row in day_rows(first + dt.timedelta(days=d), seed)]


def write(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame_of(rows).write_parquet(path)


def file_project(folder: Path, settings: dict[str, Any] | None = None) -> Any:
    source = {"type": "parquet", "path": "data/events_*.parquet", **SOURCE}
    return project_from_dicts(
        sources={"events": source}, metrics=METRICS, settings=settings or {}, root=folder
    )


def request(grain: str = "day", by: str | None = None, start: dt.date | None = FIRST) -> MetricRequest:
    return MetricRequest(ALL, start=start, end=None, grain=grain, by=by)  # type: ignore[arg-type]


FLOAT_SUMS = ("revenue", "avg_amount")  # sums of a float column (engine.incremental.order_sensitive)


def same(spliced: MetricResult, full: MetricResult, float_sums_exact: bool = True) -> None:
    """The same frame, bit for bit. A database adds a float column's values in the order its plan
    reads them (a statement with COUNT(DISTINCT) sorts first, a parallel plan adds per worker), so
    on SQL the sums of floats are compared to 1e-12 of their size, as any two SQL statements'."""
    assert spliced.start == full.start and spliced.end == full.end
    assert spliced.frame.schema == full.frame.schema
    left, right = spliced.frame, full.frame
    if not float_sums_exact:
        sums = pl.col("metric").is_in(FLOAT_SUMS)
        keys = [c for c in right.columns if c not in ("value", "numerator", "denominator")]
        joined = left.filter(sums).join(right.filter(sums), on=keys, how="full", nulls_equal=True)
        assert joined.height == left.filter(sums).height == right.filter(sums).height
        for a, b in zip(joined["value"], joined["value_right"], strict=True):
            assert (a is None) == (b is None) and (a is None or abs(a - b) <= 1e-12 * max(abs(a), abs(b))), (
                a,
                b,
            )
        left, right = left.filter(~sums), right.filter(~sums)
    difference = left.join(right, on=list(right.columns), how="anti", nulls_equal=True)
    assert difference.is_empty(), difference
    assert left.equals(right)


def grown_run(
    project_of: Any,
    grow: Any,
    req: MetricRequest,
    store: ResultStore,
) -> tuple[MetricResult, MetricResult, list[str]]:
    """(spliced, full, the engine's explain before computing) after `grow()` adds data."""
    Engine(project_of(), result_store=store).compute(req)
    grow()
    engine = Engine(project_of(), result_store=store)
    words = engine.explain(req)
    spliced = engine.compute(req)
    full = Engine(project_of(), result_store=False).compute(req)
    return spliced, full, words.splitlines()


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "store")


# --- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grain", "by", "settings"),
    [
        ("day", None, {}),
        ("day", "platform", {"timezone": "Europe/Berlin"}),
        ("week", None, {"timezone": "Europe/Berlin"}),
        ("week", "plan", {"week_start": "sunday"}),
        ("month", None, {"timezone": "America/New_York"}),
        ("month", "platform", {"timezone": "Europe/Berlin"}),
        ("quarter", None, {"fiscal_year_start": 2}),
    ],
)
def test_a_new_file_of_new_days_is_spliced_and_equals_a_full_recompute(
    tmp_path: Path, store: ResultStore, grain: str, by: str | None, settings: dict[str, Any]
) -> None:
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    new_first = FIRST + dt.timedelta(days=OLD_DAYS)

    def grow() -> None:
        write(rows_for(new_first, NEW_DAYS), folder / "data" / "events_001.parquet")

    spliced, full, words = grown_run(lambda: file_project(folder, settings), grow, request(grain, by), store)
    same(spliced, full)
    assert full.end >= new_first + dt.timedelta(days=NEW_DAYS - 1)  # the range grew with the data
    if grain in ("day", "week"):  # a month or quarter grain may have no complete period to reuse
        assert store.stats.spliced == 1
        assert any("incremental: periods before" in line for line in words), words
        assert any("read from an earlier stored answer" in note for note in spliced.notes)


def test_the_month_grain_reuses_complete_months(tmp_path: Path, store: ResultStore) -> None:
    """Two months stored, then April grows: March (complete and out of every lookahead) is reused."""
    folder = tmp_path / "p"
    write(rows_for(dt.date(2026, 2, 1), 62), folder / "data" / "events_000.parquet")  # 02-01 .. 04-03

    def grow() -> None:
        write(rows_for(dt.date(2026, 4, 4), 5), folder / "data" / "events_001.parquet")

    req = request("month", "platform", start=dt.date(2026, 2, 1))
    spliced, full, words = grown_run(
        lambda: file_project(folder, {"timezone": "Europe/Berlin"}), grow, req, store
    )
    same(spliced, full)
    assert store.stats.spliced == 1
    # March is complete, but weekly retention (7 x 1 + 6 days after a cohort day) of its last
    # cohorts reads April's days: only February is reused
    assert any("periods before 2026-03-01" in line for line in words), words


def test_rows_added_on_old_days_are_recomputed_from_their_day(tmp_path: Path, store: ResultStore) -> None:
    """A late file holding rows of an old day (and new days): the splice starts at that day."""
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    late_day = FIRST + dt.timedelta(days=17)

    def grow() -> None:
        late = day_rows(late_day, seed=5) + rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 2, seed=3)
        write(late, folder / "data" / "events_001.parquet")

    spliced, full, words = grown_run(lambda: file_project(folder), grow, request(), store)
    same(spliced, full)
    assert store.stats.spliced == 1
    # the late day and every period that reads it (weekly retention: cohorts up to 13 days before)
    assert any(f"from {late_day}" in line for line in words), words
    assert any(f"periods before {late_day - dt.timedelta(days=13)} " in line for line in words), words


def test_a_file_edited_in_place_is_computed_in_full(tmp_path: Path, store: ResultStore) -> None:
    folder = tmp_path / "p"
    old = rows_for(FIRST, OLD_DAYS)
    write(old, folder / "data" / "events_000.parquet")

    def grow() -> None:
        time.sleep(0.01)
        write(
            [*old, *day_rows(FIRST + dt.timedelta(days=OLD_DAYS), 9)], folder / "data" / "events_000.parquet"
        )

    spliced, full, words = grown_run(lambda: file_project(folder), grow, request(), store)
    same(spliced, full)
    assert store.stats.spliced == 0
    assert not any("incremental" in line for line in words)


def test_a_removed_file_is_computed_in_full(tmp_path: Path, store: ResultStore) -> None:
    folder = tmp_path / "p"
    write(rows_for(FIRST, 10), folder / "data" / "events_000.parquet")
    write(rows_for(FIRST + dt.timedelta(days=10), 10), folder / "data" / "events_001.parquet")

    def shrink_and_grow() -> None:
        (folder / "data" / "events_000.parquet").unlink()
        write(rows_for(FIRST + dt.timedelta(days=20), 3), folder / "data" / "events_002.parquet")

    spliced, full, _ = grown_run(lambda: file_project(folder), shrink_and_grow, request("day"), store)
    same(spliced, full)
    assert store.stats.spliced == 0


def test_a_later_start_on_a_period_boundary_reuses_the_stored_periods(
    tmp_path: Path, store: ResultStore
) -> None:
    """The dashboard's trailing range moves its start with the data: a stored answer that started
    earlier still gives the periods both cover."""
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    Engine(file_project(folder), result_store=store).compute(request("day", "plan"))
    write(rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 2), folder / "data" / "events_001.parquet")
    later = request("day", "plan", start=FIRST + dt.timedelta(days=3))
    spliced = Engine(file_project(folder), result_store=store).compute(later)
    full = Engine(file_project(folder), result_store=False).compute(later)
    same(spliced, full)
    assert store.stats.spliced == 1
    # a start inside a week cannot reuse the stored first week (it covered other days): computed in full
    week = request("week", None, start=FIRST + dt.timedelta(days=2))
    Engine(file_project(folder), result_store=store).compute(request("week"))
    write(rows_for(FIRST + dt.timedelta(days=OLD_DAYS + 2), 1), folder / "data" / "events_002.parquet")
    spliced = Engine(file_project(folder), result_store=store).compute(week)
    same(spliced, Engine(file_project(folder), result_store=False).compute(week))
    assert store.stats.spliced == 1


def test_spliced_answers_chain_and_a_second_run_reads_the_store(tmp_path: Path, store: ResultStore) -> None:
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    Engine(file_project(folder), result_store=store).compute(request("week", "platform"))
    for index in range(1, 4):
        first = FIRST + dt.timedelta(days=OLD_DAYS + 2 * (index - 1))
        write(rows_for(first, 2, seed=index), folder / "data" / f"events_{index:03}.parquet")
        spliced = Engine(file_project(folder), result_store=store).compute(request("week", "platform"))
        same(spliced, Engine(file_project(folder), result_store=False).compute(request("week", "platform")))
    assert store.stats.spliced == 3
    hits, writes = store.stats.hits, store.stats.writes
    again = Engine(file_project(folder), result_store=store).compute(request("week", "platform"))
    assert store.stats.hits > hits and store.stats.writes == writes and store.stats.spliced == 3
    assert any("read from the result store" in note for note in again.notes)


def test_the_data_range_grows_with_the_new_files(tmp_path: Path, store: ResultStore) -> None:
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    assert Engine(file_project(folder), result_store=store).data_range(["signups"]) == (
        FIRST,
        FIRST + dt.timedelta(days=OLD_DAYS - 1),
    )
    earlier = [Row(dt.datetime(2026, 3, 1, 12), "u1", "open")]
    write(
        [*earlier, *rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 2)], folder / "data" / "events_001.parquet"
    )
    grown = Engine(file_project(folder), result_store=store).data_range(["signups"])
    assert grown == Engine(file_project(folder), result_store=False).data_range(["signups"])
    assert grown == (dt.date(2026, 3, 1), FIRST + dt.timedelta(days=OLD_DAYS + 1))


# --- which periods stay: the rule itself ------------------------------------------------------------


def window(grain: str, start: dt.date, end: dt.date, zone: str = "UTC") -> Window:
    calendar = Calendar(zone, "monday", 1)
    return Window(start, end, grain, calendar)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "grain", "expected"),
    [
        (CountMetric(type="count", source="e"), "day", dt.date(2026, 4, 5)),
        (ActiveUsersMetric(type="active_users", source="e", window=28), "day", dt.date(2026, 4, 5)),
        # a day-1 retention cohort of 04-04 reads 04-05: recomputed
        (
            RetentionMetric(type="retention", source="e", cohort_event="s", offset=1),
            "day",
            dt.date(2026, 4, 4),
        ),
        (
            RetentionMetric(type="retention", source="e", cohort_event="s", period="week", offset=1),
            "day",
            dt.date(2026, 3, 23),
        ),
        # 3 days of 24 hours, plus the day DST can add
        (FunnelMetric(type="funnel", source="e", steps=["a", "b"], within=3), "day", dt.date(2026, 4, 1)),
        (CountMetric(type="count", source="e"), "week", dt.date(2026, 3, 30)),
        (CountMetric(type="count", source="e"), "month", dt.date(2026, 4, 1)),
    ],
)
def test_reusable_until_follows_what_each_type_reads(metric: Any, grain: str, expected: dt.date) -> None:
    stored = (dt.date(2026, 3, 2), dt.date(2026, 4, 10))
    new = window(grain, dt.date(2026, 3, 2), dt.date(2026, 4, 12))
    assert reusable_until({"m": metric}, stored, new, dt.date(2026, 4, 5)) == expected


def test_reusable_until_refuses_what_it_cannot_prove() -> None:
    count = {"m": CountMetric(type="count", source="e")}
    first, end = dt.date(2026, 3, 2), dt.date(2026, 4, 12)
    # the stored answer ended later, or started later, or the change reaches the first period
    assert reusable_until(count, (first, end + dt.timedelta(days=1)), window("day", first, end), None) is None
    assert reusable_until(count, (first + dt.timedelta(days=1), end), window("day", first, end), None) is None
    assert reusable_until(count, (first, end), window("day", first, end), first) is None
    # nothing changed and the same end: every period stays
    assert reusable_until(count, (first, end), window("day", first, end), None) == end + dt.timedelta(days=1)
    # a stored last week cut by its end is recomputed
    assert reusable_until(count, (first, dt.date(2026, 3, 31)), window("week", first, end), None) == dt.date(
        2026, 3, 30
    )


# --- SQL -----------------------------------------------------------------------------------------


SQL_DAYS = 35  # 03-16 .. 04-19: weekly retention leaves whole weeks to reuse
SQL_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def insert(url: str, table: str, rows: Sequence[Row]) -> None:
    dispose_engines()  # read-only handles (DuckDB files) would block the write
    engine = sa.create_engine(url)
    try:
        frame = frame_of(rows)
        with engine.begin() as connection:
            target = sa.table(table, *(sa.column(name) for name in frame.columns))
            connection.execute(sa.insert(target), frame.to_dicts())
    finally:
        engine.dispose()


@pytest.fixture
def sql_table(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    monkeypatch.setattr(sql_module, "FINGERPRINT_TTL_SECONDS", 0.0)  # see every insert at once
    from metrics.demo.sql import load_demo

    url = database_url(request.param, tmp_path)
    table = unique_table("incr")
    parquet = tmp_path / "old.parquet"
    write(rows_for(FIRST, SQL_DAYS), parquet)
    load_demo(parquet, url, table, chunk_rows=2000)
    try:
        yield url, table
    finally:
        drop_table(url, table)
        dispose_engines()


def sql_project(url: str, table: str, late: int | None = None, settings: dict[str, Any] | None = None) -> Any:
    source: dict[str, Any] = {"type": "sql", "url": url, "table": table, **SOURCE}
    if late is not None:
        source["late_arrival_days"] = late
    return project_from_dicts(sources={"events": source}, metrics=METRICS, settings=settings or {}, root=".")


@pytest.mark.parametrize("sql_table", SQL_KINDS, indirect=True)
@pytest.mark.parametrize(
    ("grain", "by", "zone"), [("day", "platform", "Europe/Berlin"), ("week", None, "UTC")]
)
def test_inserted_rows_of_new_days_are_spliced(
    sql_table: tuple[str, str], store: ResultStore, grain: str, by: str | None, zone: str
) -> None:
    url, table = sql_table
    new_first = FIRST + dt.timedelta(days=SQL_DAYS)
    # rows of new days, and one row a day before the newest stored day (inside the late window)
    late = [Row(dt.datetime.combine(new_first - dt.timedelta(days=2), dt.time(13)), "u3", "invite")]
    spliced, full, words = grown_run(
        lambda: sql_project(url, table, settings={"timezone": zone}),
        lambda: insert(url, table, [*rows_for(new_first, 3), *late]),
        request(grain, by),
        store,
    )
    same(spliced, full, float_sums_exact=False)
    assert store.stats.spliced == 1
    assert any("rows before" in line and "unchanged" in line for line in words), words


@pytest.mark.parametrize("sql_table", SQL_KINDS[:2], indirect=True)
def test_a_row_older_than_the_late_window_gives_a_full_recompute(
    sql_table: tuple[str, str], store: ResultStore
) -> None:
    url, table = sql_table
    old_row = Row(dt.datetime.combine(FIRST + dt.timedelta(days=4), dt.time(9)), "u7", "signup")
    spliced, full, _ = grown_run(
        lambda: sql_project(url, table, late=2),
        lambda: insert(url, table, [old_row, *rows_for(FIRST + dt.timedelta(days=SQL_DAYS), 1)]),
        request(),
        store,
    )
    same(spliced, full, float_sums_exact=False)
    assert store.stats.spliced == 0


@pytest.mark.parametrize("sql_table", SQL_KINDS[:1], indirect=True)
def test_a_spliced_sql_answer_keeps_the_age_of_its_head(
    sql_table: tuple[str, str], store: ResultStore
) -> None:
    """A SQL answer is read for SQL_MAX_AGE only; a splice must not make its head young again."""
    url, table = sql_table
    Engine(sql_project(url, table), result_store=store).compute(request())
    time.sleep(0.05)
    insert(url, table, rows_for(FIRST + dt.timedelta(days=SQL_DAYS), 1))
    before = time.time()
    Engine(sql_project(url, table), result_store=store).compute(request())
    assert store.stats.spliced == 1
    ages = sorted(
        ResultStore(store.folder).get_dated(path.stem)[0]  # type: ignore[index]
        for path in store.folder.glob("*.arrows")
    )
    assert len(ages) == 2 and ages[0] == ages[1] < before


def test_late_arrival_days_is_validated_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  events:\n"
        "    type: sql\n"
        "    url: sqlite:///x.db\n"
        "    table: events\n"
        "    late_arrival_days: -1\n"
        "    columns: {timestamp: ts}\n"
    )
    (tmp_path / "metrics.yaml").write_text("metrics: {}\n")
    project = load_project(tmp_path, check_data=False)
    messages = [str(problem) for problem in project.problems]
    assert any("sources.yaml:6" in m and "late_arrival_days" in m for m in messages), messages


def test_frames_helper_sanity() -> None:
    """The rows exercise what a splice could get wrong: returns and completions on the new days."""
    old = frame_of(rows_for(FIRST, OLD_DAYS))
    new = frame_of(rows_for(FIRST + dt.timedelta(days=OLD_DAYS), NEW_DAYS))
    returning = set(old["user_id"].drop_nulls()) & set(new["user_id"].drop_nulls())
    assert len(returning) > 20
    assert new.filter(pl.col("event") == "create_project").height > 10


@pytest.mark.parametrize(("name", "spliced"), [("events_001.csv", 1), ("aaa_events.csv", 0)])
def test_csv_files_are_spliced_only_when_the_new_one_sorts_last(
    tmp_path: Path, store: ResultStore, name: str, spliced: int
) -> None:
    """A CSV set's schema is inferred from its first file: a new file sorting first could change it."""
    folder = tmp_path / "p"
    (folder / "data").mkdir(parents=True)
    frame_of(rows_for(FIRST, OLD_DAYS)).write_csv(folder / "data" / "events_000.csv")
    source = {"type": "csv", "path": "data/*.csv", **SOURCE}

    def project() -> Any:
        return project_from_dicts(sources={"events": source}, metrics=METRICS, settings={}, root=folder)

    def grow() -> None:
        frame_of(rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 2)).write_csv(folder / "data" / name)

    got, full, _ = grown_run(project, grow, request(), store)
    same(got, full)
    assert store.stats.spliced == spliced


def test_an_integer_sum_is_spliced_and_a_float_sum_computed_over_the_whole_range(
    tmp_path: Path, store: ResultStore
) -> None:
    """Whole numbers add up exactly in any order, so their sums are spliced; sums of floats are
    computed over the whole range (`order_sensitive`). Both equal the full recompute bit for bit."""

    def write_whole(rows: Sequence[Row], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame_of(rows).with_columns(pl.col("amount").round().cast(pl.Int64)).write_parquet(path)

    folder = tmp_path / "p"
    write_whole(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    project = file_project(folder)
    sourced = {m: project.leaves(m)[m] for m in ("revenue", "avg_amount", "signups")}
    assert order_sensitive(sourced, Engine(project).connector("events")) == frozenset()
    floats = tmp_path / "f"
    write(rows_for(FIRST, 2), floats / "data" / "events_000.parquet")
    assert order_sensitive(sourced, Engine(file_project(floats)).connector("events")) == {
        "revenue",
        "avg_amount",
    }

    def grow() -> None:
        write_whole(rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 2), folder / "data" / "events_001.parquet")

    got, full, _ = grown_run(lambda: file_project(folder), grow, request(), store)
    same(got, full)
    assert store.stats.spliced == 1
    assert full.frame.filter(pl.col("metric") == "revenue")["value"].sum() > 0


def test_a_compared_request_is_spliced_and_equals_a_full_recompute(
    tmp_path: Path, store: ResultStore
) -> None:
    """The main range and the compared one each find their own earlier answer."""
    folder = tmp_path / "p"
    write(rows_for(FIRST, OLD_DAYS), folder / "data" / "events_000.parquet")
    req = MetricRequest(
        ALL, FIRST + dt.timedelta(days=1), None, grain="day", by="platform", compare="previous_period"
    )

    def grow() -> None:
        write(rows_for(FIRST + dt.timedelta(days=OLD_DAYS), 7), folder / "data" / "events_001.parquet")

    got, full, _ = grown_run(lambda: file_project(folder), grow, req, store)
    same(got, full)
    assert got.comparison is not None and full.comparison is not None
    assert got.comparison.equals(full.comparison)
    assert got.compared == full.compared
    assert store.stats.spliced >= 1
