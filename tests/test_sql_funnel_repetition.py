"""Funnels on shoppers who repeat every step: the SQL backend gives the Polars engine's numbers.

Few users with hundreds of events per user and step (views, carts, checkouts over and over), steps
out of order, many events at the same instant (on a coarse minute grid: a step tied with the next,
the same event twice at one instant, an excluded event tied with t0), null users and null groups,
in Europe/Berlin across its DST change. Strict funnels (a repeated step, a step that comes back
later in the funnel), `order: any`, exclusions on both orders, a filter, a breakdown and one span.
The same rows are read by the Polars engine from parquet and by SQLite, DuckDB, PostgreSQL and
MariaDB from a table (Spark: tests/test_spark.py); PostgreSQL twice: right after the load with no
table statistics (the state after any bulk load until autovacuum runs) and after ANALYZE. A plain-Python greedy reference,
written from CONTRACT.md, anchors the Polars numbers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.sql import dispose_engines
from metrics.engine.sql_dialects import dialect_for
from tests.engine_fixtures import Row, assert_same, compute_rows
from tests.sql_fixtures import DATABASES, LoadedTable, parquet_project, sql_project

ZONE = "Europe/Berlin"
SETTINGS = {"timezone": ZONE}
START, END = dt.date(2025, 10, 22), dt.date(2025, 10, 31)  # Berlin leaves summer time on 10-26
STEPS = ["view", "cart", "checkout", "pay"]
METRICS: dict[str, Any] = {
    "strict": {"type": "funnel", "source": "events", "steps": STEPS, "within": 0.1},
    "repeated": {"type": "funnel", "source": "events", "steps": ["view", "view", "cart"], "within": 0.02},
    "comes_back": {
        "type": "funnel",
        "source": "events",
        "steps": ["cart", "view", "cart", "pay"],
        "within": 0.05,
    },
    "any": {
        "type": "funnel",
        "source": "events",
        "steps": ["pay", "view", "checkout"],
        "within": 0.05,
        "order": "any",
    },
    "strict_excl": {
        "type": "funnel",
        "source": "events",
        "steps": ["view", "checkout", "pay"],
        "within": 0.2,
        "exclude": ["refund", "support"],
    },
    "any_excl": {
        "type": "funnel",
        "source": "events",
        "steps": ["cart", "pay", "checkout"],
        "within": 0.2,
        "order": "any",
        "exclude": ["refund"],
        "filter": {"plan": {"not": "team"}},
    },
}
CASES = [
    pytest.param("day", "platform", None, id="day-by-platform"),
    pytest.param("week", None, None, id="week"),
    pytest.param("day", "platform", dt.date(2025, 10, 28), id="one-span-by-platform"),
]


def generate(seed: int = 5) -> list[Row]:
    """Six shoppers, each with 100-300 events per step on a minute grid in a few busy hours a day."""
    rng = random.Random(seed)
    rows: list[Row] = []
    base = dt.datetime(2025, 10, 21, 20, 0)  # UTC: before START in Berlin, so some fall outside
    for user in ("u1", "u2", "u3", "u4", "u5", "u6"):
        days = sorted(rng.sample(range(12), rng.randint(4, 9)))
        hours = [(d, h) for d in days for h in rng.sample(range(24), 3)]
        platform = rng.choice(["web", "ios"])
        for event in [*STEPS, "refund", "support", "other"]:
            count = rng.randint(100, 300) if event in STEPS else rng.randint(3, 20)
            for _ in range(count):
                day, hour = rng.choice(hours)
                ts = base + dt.timedelta(days=day, hours=hour, minutes=rng.randrange(60))
                group = rng.choice([platform, platform, platform, "android", None])
                rows.append(Row(ts, user, event, group, rng.choice(["free", "free", "team"])))
                if rng.random() < 0.05:  # the same event twice at one instant, in another group
                    rows.append(Row(ts, user, event, rng.choice(["web", None]), "free"))
    # one shopper by hand: two views at t0 (the null group's counts), a refund tied with t0 (not
    # after it: no exclusion), then the rest of the funnel
    t0 = dt.datetime(2025, 10, 23, 6, 0)
    rows += [Row(t0, "u7", "view", "web"), Row(t0, "u7", "view", None), Row(t0, "u7", "refund")]
    rows += [Row(t0, "u7", "cart"), Row(t0 + dt.timedelta(minutes=10), "u7", "checkout")]
    rows += [Row(t0 + dt.timedelta(minutes=20), "u7", "pay")]
    for _ in range(40):  # events without a user are never part of a funnel
        rows.append(Row(base + dt.timedelta(minutes=rng.randrange(12 * 1440)), None, rng.choice(STEPS)))
    rng.shuffle(rows)
    return rows


ROWS = generate()


def test_the_rows_repeat_every_step_with_ties() -> None:
    per_user_step: dict[tuple[str | None, str], int] = defaultdict(int)
    instants: dict[tuple[str | None, dt.datetime], set[str]] = defaultdict(set)
    for row in ROWS:
        per_user_step[(row.user, row.event)] += 1
        instants[(row.user, row.ts)].add(row.event)
    assert (
        min(n for (user, event), n in per_user_step.items() if user not in (None, "u7") and event in STEPS)
        >= 100
    )
    assert sum(len(events) > 1 for events in instants.values()) > 100  # different steps tied


class Greedy:
    """CONTRACT.md's funnel, directly: first step-1 event per user and period; each next step the
    earliest event at or after the previous one (a later one for a repeated step), before
    t0 + within and on or before the end; order any: each other step at or after t0; an excluded
    event after t0 and before completion stops it. Ties at t0 take a null group, then the smallest."""

    def __init__(self, rows: list[Row], grain: str, by: str | None, span_end: dt.date | None) -> None:
        zone = ZoneInfo(ZONE)
        self.grain, self.by, self.span_end = grain, by, span_end
        self.rows = [(r.ts.replace(tzinfo=dt.UTC), r) for r in rows if r.user is not None]
        self.local = {id(r): t.astimezone(zone).date() for t, r in self.rows}

    def period(self, day: dt.date) -> dt.date | None:
        if self.span_end is not None:
            return START if day <= self.span_end else None
        return day if self.grain == "day" else day - dt.timedelta(days=day.weekday())

    def counts(self, metric: Mapping[str, Any]) -> dict[tuple[dt.date, str | None], tuple[int, int]]:
        steps, exclude = metric["steps"], set(metric.get("exclude", []))
        unwanted = metric.get("filter", {}).get("plan", {}).get("not")
        times: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
        entries: dict[tuple[str, dt.date], tuple[dt.datetime, int, str]] = {}
        for t, row in sorted(self.rows, key=lambda pair: pair[0]):
            day = self.local[id(row)]
            if not START <= day <= END or row.plan == unwanted:
                continue
            assert row.user is not None
            times[(row.user, "excluded" if row.event in exclude else row.event)].append(t)
            period = self.period(day)
            if row.event == steps[0] and period is not None:
                group = getattr(row, self.by) if self.by else None
                rank = (t, group is not None, group or "")
                known = entries.get((row.user, period))
                if known is None or rank < (known[0], known[1] == 1, known[2]):
                    entries[(row.user, period)] = (t, int(group is not None), group or "")
        within = dt.timedelta(days=metric["within"])
        out: dict[tuple[dt.date, str | None], list[int]] = defaultdict(lambda: [0, 0])
        for (user, period), (t0, has_group, group) in entries.items():
            done = self.completion(user, t0, steps, metric.get("order", "strict"), times)
            tx = self.first_after(times[(user, "excluded")], t0, strictly=True)
            converted = done is not None and done < t0 + within and (tx is None or tx >= done)
            key = (period, group if has_group else None)
            out[key][0] += int(converted)
            out[key][1] += 1
        return {key: (c[0], c[1]) for key, c in out.items()}

    @staticmethod
    def first_after(times: list[dt.datetime], after: dt.datetime, strictly: bool) -> dt.datetime | None:
        at = (bisect.bisect_right if strictly else bisect.bisect_left)(times, after)
        return times[at] if at < len(times) else None

    def completion(
        self,
        user: str,
        t0: dt.datetime,
        steps: list[str],
        order: str,
        times: Mapping[tuple[str, str], list[dt.datetime]],
    ) -> dt.datetime | None:
        found: list[dt.datetime] = []
        previous = t0
        for before, step in itertools.pairwise(steps):
            after = previous if order == "strict" else t0
            at = self.first_after(times.get((user, step), []), after, strictly=step == before)
            if at is None:
                return None
            found.append(at)
            previous = at
        return max(found)


@pytest.fixture(autouse=True)
def _always_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stored answers: each statistics state and each compiled form must run its own statement
    (the result store's key holds neither)."""
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "off")


@pytest.fixture(scope="module", params=DATABASES)
def table(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedTable]:
    loaded = LoadedTable(request.param, tmp_path_factory.mktemp(request.param), ROWS)
    yield loaded
    loaded.close()


def _statistics_states(table: LoadedTable) -> list[str]:
    """PostgreSQL: first with its statistics removed (as right after a bulk load), then after ANALYZE."""
    return ["no statistics", "after ANALYZE"] if table.kind == "postgres" else [table.kind]


def _set_state(table: LoadedTable, state: str) -> None:
    if table.kind != "postgres":
        return
    dispose_engines()
    engine = sa.create_engine(table.url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if state == "no statistics":
                connection.execute(sa.text(f"ALTER TABLE {table.table} SET (autovacuum_enabled = false)"))
                connection.execute(
                    sa.text(f"DELETE FROM pg_statistic WHERE starelid = '{table.table}'::regclass")
                )
            else:
                connection.execute(sa.text(f"ANALYZE {table.table}"))
            found = connection.execute(
                sa.text("SELECT count(*) FROM pg_stats WHERE tablename = :t"), {"t": table.table}
            ).scalar_one()
    finally:
        engine.dispose()
    assert (found == 0) == (state == "no statistics"), f"{table.table}: {found} columns with statistics"


@pytest.mark.parametrize(("grain", "by", "span_end"), CASES)
def test_sql_equals_polars_on_repeated_steps(
    table: LoadedTable, grain: str, by: str | None, span_end: dt.date | None
) -> None:
    ids = list(METRICS)
    files = parquet_project(table.parquet, METRICS, SETTINGS)
    want = compute_rows(files, ids, START, END, grain, by, span_end=span_end, counts=True)
    assert any(k[0].endswith("#numerator") and v for k, v in want.items()), "nothing converted"
    lost = [
        k
        for k, v in want.items()
        if k[0].endswith("#numerator")
        and v is not None
        and v < want[(k[0].replace("#numerator", "#denominator"), *k[1:])]
    ]
    assert lost, "every entrant converted"
    sql = sql_project(table.url, METRICS, SETTINGS, table=table.table, extra={"timeout_seconds": 30})
    for state in _statistics_states(table):
        _set_state(table, state)
        got = compute_rows(sql, ids, START, END, grain, by, span_end=span_end, counts=True)
        assert_same(got, want)


@pytest.mark.parametrize(("grain", "by", "span_end"), CASES)
def test_polars_equals_the_greedy_reference(
    grain: str, by: str | None, span_end: dt.date | None, tmp_path: Any
) -> None:
    """The Polars engine (the SQL backend's peer above) against the contract, written out by hand."""
    from tests.sql_fixtures import write_parquet

    files = parquet_project(write_parquet(ROWS, tmp_path / "events.parquet"), METRICS, SETTINGS)
    got = compute_rows(files, list(METRICS), START, END, grain, by, span_end=span_end, counts=True)
    reference = Greedy(ROWS, grain, by, span_end)
    for metric_id, metric in METRICS.items():
        want = reference.counts(metric)
        assert want, metric_id
        for (period, group), (converted, entrants) in want.items():
            key = (period, group)
            assert got[(f"{metric_id}#numerator", *key)] == converted, (metric_id, key)
            assert got[(f"{metric_id}#denominator", *key)] == entrants, (metric_id, key)
        for (name, period, group), value in got.items():
            if name == f"{metric_id}#denominator" and (period, group) not in want:
                assert not value, (metric_id, period, group, value)


@pytest.mark.parametrize(
    ("forward_from", "swap_min"),
    [
        pytest.param(2, False, id="forward"),
        pytest.param(99, False, id="backward"),
        pytest.param(2, True, id="forward-other-min"),
        pytest.param(99, True, id="backward-other-min"),
    ],
)
def test_both_compiled_forms_on_every_database(
    table: LoadedTable, monkeypatch: pytest.MonkeyPatch, forward_from: int, swap_min: bool
) -> None:
    """Every funnel compiled forward from its entrants, then every one back from its last step (the
    default picks by step count), each with the dialect's own running MIN and with the other form:
    the form MariaDB runs (no incremental MIN over a growing frame) everywhere, and the MIN form on
    MariaDB, so every form meets every database."""
    dialect = type(dialect_for(sa.engine.make_url(table.url).get_backend_name()))
    monkeypatch.setattr(dialect, "funnel_forward_from_steps", forward_from)
    if swap_min:
        monkeypatch.setattr(dialect, "incremental_window_min", not dialect.incremental_window_min)
    ids = list(METRICS)
    files = parquet_project(table.parquet, METRICS, SETTINGS)
    want = compute_rows(files, ids, START, END, "day", "platform", counts=True)
    sql = sql_project(table.url, METRICS, SETTINGS, table=table.table, extra={"timeout_seconds": 30})
    for state in _statistics_states(table):
        _set_state(table, state)
        assert_same(compute_rows(sql, ids, START, END, "day", "platform", counts=True), want)


def test_only_mariadb_funnels_carry_their_temporary_table_size() -> None:
    """Compiled for MariaDB a funnel's statement runs with larger in-memory temporary tables
    (`SET STATEMENT ... FOR SELECT`, one statement); compiled for MySQL (no SET STATEMENT) it is the
    SELECT alone, as is every other dialect's and every MariaDB statement without a funnel."""
    from sqlalchemy.dialects.mysql import pymysql

    from metrics.engine.sql_dialects import MySqlDialect

    select = sa.select(sa.literal(1).label("n"))
    wrapped = MySqlDialect().for_window_passes(select)
    size = MySqlDialect.window_heap_bytes
    assert size is not None and size > 16 * 1024 * 1024  # above the server's default
    mariadb = str(wrapped.compile(dialect=pymysql.dialect(is_mariadb=True)))
    assert mariadb.startswith(f"SET STATEMENT max_heap_table_size={size}, tmp_table_size={size} FOR SELECT")
    assert str(wrapped.compile(dialect=pymysql.dialect(is_mariadb=False))).startswith("SELECT")
    assert dialect_for("postgresql").for_window_passes(select) is select


@pytest.mark.parametrize(
    "table", [pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb)], indirect=True
)  # MariaDB alone: no skipped runs on the other databases
def test_mariadb_applies_the_size_in_a_read_only_session(table: LoadedTable) -> None:
    """Through the connector (its read-only session, one statement), the server sees the funnel's
    temporary table size for that statement, and its own setting before and after it."""
    assert table.kind == "mariadb"
    from metrics.engine import Engine

    engine = Engine(sql_project(table.url, METRICS, SETTINGS, table=table.table), result_store=False)
    connector = engine.connector("events")
    dialect = dialect_for("mysql")
    probe = sa.select(sa.literal_column("@@max_heap_table_size").label("v"))
    default = connector.execute(probe).item()
    assert connector.execute(dialect.for_window_passes(probe)).item() == type(dialect).window_heap_bytes
    assert connector.execute(probe).item() == default != type(dialect).window_heap_bytes
