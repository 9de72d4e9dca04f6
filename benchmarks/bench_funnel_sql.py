"""Funnels on SQL at scale: 2..6-step funnels on a user-heavy table, beside the Polars engine.

    python benchmarks/bench_funnel_sql.py                        # 1M events, PostgreSQL and MariaDB
    python benchmarks/bench_funnel_sql.py --events 200000 --databases postgres

Generates `--events` clickstream rows for few users with many events each (default 2,000 users, so
about 500 events per user: hundreds of product views and cart visits per user, repeated steps all
over), writes them to parquet and loads the same rows into each database with
`metrics.demo.sql.load_demo`. Then, for each funnel of 2..6 steps (visit, view, cart, checkout,
payment, purchase; within 7 days; day grain over the whole range, in Europe/Berlin), it times
`Engine.compute` end to end:

* the Polars engine on the parquet file;
* PostgreSQL right after the load, *without* table statistics (as after any bulk load until
  autovacuum runs: the table's `pg_statistic` rows are removed and autovacuum is off for it);
* PostgreSQL after `ANALYZE`;
* MariaDB (InnoDB keeps its own statistics); with `--before` also without the funnel's
  per-statement temporary table size (`SET STATEMENT max_heap_table_size=..., tmp_table_size=...`),
  as compiled before it (its floor too), right after the current form on the same rows.

Every SQL result is checked against the Polars engine's numbers (a mismatch stops the run). It prints
the best of `--repeat` runs in seconds and the ratio SQL / Polars measured in the same run, then a
table per step count with one column per engine (PostgreSQL without and with statistics, MariaDB).
A query that runs past `--timeout` seconds is reported as a timeout.

Per database it also times the floor: the least any correct plan of the longest funnel does inside
the database, one scan of the funnel's rows, one sort of them by user and instant and one window
pass (a running MIN, COUNT where MIN is not incremental) in that order, with no Northstar around
it; beside the Polars engine's whole longest funnel in the same run. A target below that ratio is
below what the database can do on these rows, whatever SQL the compiler writes. The "hash floor"
row replaces the sort and the pass with one hash aggregation of the same rows (first instant per
user, step and day): the least a form without a sort would do before joining anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from connectors.errors import NorthstarError  # noqa: E402
from connectors.models import SqlSource  # noqa: E402
from connectors.sql import SqlAlchemyConnector, dispose_engines  # noqa: E402
from metrics.definitions.project import Project  # noqa: E402
from metrics.demo.sql import load_demo  # noqa: E402
from metrics.engine import Engine  # noqa: E402
from metrics.engine.local_days import local_midnight  # noqa: E402
from metrics.engine.request import MetricRequest  # noqa: E402
from metrics.engine.sql_dialects import MySqlDialect, dialect_for  # noqa: E402
from metrics.load import project_from_dicts  # noqa: E402

TABLE = "northstar_bench_funnel"
STEPS = ["visit", "view", "cart", "checkout", "payment", "purchase"]
SHARES = [0.12, 0.50, 0.20, 0.08, 0.06, 0.04]  # of each user's events
START = dt.date(2026, 3, 1)
DAYS = 30
ZONE = "Europe/Berlin"
URLS = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def generate(events: int, users: int, seed: int) -> pl.DataFrame:
    """Events spread evenly over the users, at random instants (microseconds) over DAYS days."""
    rng = np.random.default_rng(seed)
    user = rng.integers(0, users, events)
    start = dt.datetime.combine(START, dt.time()) - dt.timedelta(hours=1)  # local midnight, Berlin
    micros = rng.integers(0, DAYS * 86_400_000_000, events)
    return pl.DataFrame(
        {
            "ts": pl.Series(micros).cast(pl.Duration("us")) + start,
            "user_id": pl.Series([f"u{u:05d}" for u in user]),
            "event": pl.Series(STEPS)[rng.choice(len(STEPS), events, p=SHARES)],
            "platform": pl.Series(["web", "ios", "android"])[rng.integers(0, 3, events)],
        }
    ).sort("ts")


def metrics() -> dict[str, Any]:
    return {
        f"funnel_{k}": {"type": "funnel", "source": "events", "steps": STEPS[:k], "within": 7}
        for k in range(2, len(STEPS) + 1)
    }


def project(source: dict[str, Any], root: Path, timeout: float) -> Project:
    base = {"columns": {"timestamp": "ts", "user": "user_id", "event": "event"}, "dimensions": ["platform"]}
    if source["type"] == "sql":
        source = {**source, "timeout_seconds": timeout}
    return project_from_dicts(
        sources={"events": {**source, **base}}, metrics=metrics(), settings={"timezone": ZONE}, root=root
    )


def run(proj: Project, metric: str) -> dict[tuple[dt.date, str], float | None]:
    end = START + dt.timedelta(days=DAYS - 1)
    result = Engine(proj, result_store=False).compute(
        MetricRequest((metric,), start=START, end=end, grain="day")
    )
    out: dict[tuple[dt.date, str], float | None] = {}
    for row in result.frame.iter_rows(named=True):
        out[(row["period"], "value")] = row["value"]
        out[(row["period"], "denominator")] = row["denominator"]
    return out


def timed(call: Callable[[], dict[Any, Any]], repeat: int) -> tuple[float | None, dict[Any, Any] | None, str]:
    best: float | None = None
    answer: dict[Any, Any] | None = None
    for _ in range(repeat):
        began = time.perf_counter()
        try:
            answer = call()
        except NorthstarError as exc:
            return None, None, str(exc).split(";")[0]
        elapsed = time.perf_counter() - began
        best = elapsed if best is None else min(best, elapsed)
    return best, answer, ""


def same(got: dict[Any, Any], want: dict[Any, Any]) -> bool:
    if set(got) != set(want):
        return False
    for key, value in want.items():
        other = got[key]
        if (value is None) != (other is None):
            return False
        if value is not None and not math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def execute(url: str, *statements: str) -> None:
    dispose_engines()
    engine = sa.create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="statement timeout of the SQL source (s)")
    parser.add_argument("--databases", default="postgres,mariadb", help="comma-separated: postgres, mariadb")
    parser.add_argument("--keep", action="store_true", help="leave the loaded tables in place")
    parser.add_argument(
        "--before",
        action="store_true",
        help="MariaDB also without the per-statement temporary table size (the server's 16 MB default)",
    )
    parser.add_argument("--table", default=TABLE, help="name of the table loaded into each database")
    args = parser.parse_args()
    _use_table(args.table)
    os.environ.setdefault("NORTHSTAR_CACHE_DIR", tempfile.mkdtemp(prefix="northstar-bench-cache-"))

    folder = Path(tempfile.mkdtemp(prefix="northstar-bench-funnel-"))
    began = time.perf_counter()
    frame = generate(args.events, args.users, args.seed)
    parquet = folder / "events.parquet"
    frame.write_parquet(parquet)
    per_user = frame.group_by("user_id", "event").len()["len"]
    print(
        f"{frame.height:,} events, {frame['user_id'].n_unique():,} users, "
        f"{per_user.median():.0f} events per user and step (median), generated in "
        f"{time.perf_counter() - began:.1f} s"
    )
    files = project({"type": "parquet", "path": parquet.name}, folder, args.timeout)
    runs: list[tuple[str, Project, Callable[[], None]]] = []
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    for kind in wanted:
        url = URLS[kind]
        began = time.perf_counter()
        load_demo(parquet, url, TABLE)
        print(f"loaded into {kind} in {time.perf_counter() - began:.1f} s")
        proj = project({"type": "sql", "url": url, "table": TABLE}, folder, args.timeout)
        if kind == "postgres":
            forget = (
                f"ALTER TABLE {TABLE} SET (autovacuum_enabled = false)",
                f"DELETE FROM pg_statistic WHERE starelid = '{TABLE}'::regclass",
            )
            runs.append(("postgres, no statistics", proj, lambda url=url, s=forget: execute(url, *s)))
            runs.append(("postgres, after ANALYZE", proj, lambda url=url: execute(url, f"ANALYZE {TABLE}")))
        else:
            heap = MySqlDialect.window_heap_bytes
            runs.append((kind, proj, lambda heap=heap: _window_heap(heap)))
            if args.before:
                runs.append((f"{kind}, server heap (before)", proj, lambda: _window_heap(None)))

    header = f"{'funnel':<10} {'engine':<26} {'best (s)':>9} {'SQL/Polars':>11}"
    print("\n" + header + "\n" + "-" * len(header))
    cells: dict[tuple[str, str], str] = {}  # (metric, engine) -> "SQL s (Polars s: ratio)"
    try:
        for name, proj, prepare in runs:
            prepare()
            if name.startswith("postgres, no"):
                _check_no_statistics(URLS["postgres"])
            for metric in metrics():
                polars_s, want, _ = timed(lambda m=metric: run(files, m), args.repeat)
                assert polars_s is not None and want is not None
                sql_s, got, error = timed(lambda m=metric, p=proj: run(p, m), args.repeat)
                print(f"{metric:<10} {'polars':<26} {polars_s:>9.2f}")
                if sql_s is None or got is None:
                    print(f"{metric:<10} {name:<26} {'-':>9} {'-':>11}  ({error})")
                    cells[(metric, name)] = f"- ({error[:30]})"
                    continue
                if not same(got, want):
                    raise SystemExit(f"{name}: {metric} differs from the Polars engine")
                print(f"{metric:<10} {name:<26} {sql_s:>9.2f} {sql_s / polars_s:>10.2f}x")
                cells[(metric, name)] = f"{sql_s:.2f} ({polars_s:.2f}: {sql_s / polars_s:.1f}x)"
            longest = f"funnel_{len(STEPS)}"
            polars_s, _, _ = timed(lambda m=longest: run(files, m), args.repeat)
            assert polars_s is not None
            for label, hashed in (("floor", False), ("hash floor", True)):
                floor_s, _, error = timed(lambda p=proj, h=hashed: floor(p, h), args.repeat)
                if floor_s is None:
                    print(f"{label:<10} {name:<26} {'-':>9} {'-':>11}  ({error})")
                    cells[(label, name)] = f"- ({error[:30]})"
                    continue
                print(
                    f"{label:<10} {name:<26} {floor_s:>9.2f} {floor_s / polars_s:>10.2f}x  "
                    f"(Polars {longest}: {polars_s:.2f})"
                )
                cells[(label, name)] = f"{floor_s:.2f} ({polars_s:.2f}: {floor_s / polars_s:.1f}x)"
        _summary(cells, [name for name, _, _ in runs])
    finally:
        if not args.keep:
            for kind in wanted:
                execute(URLS[kind], f"DROP TABLE IF EXISTS {TABLE}")
        dispose_engines()


def floor(proj: Project, hashed: bool = False) -> dict[Any, Any]:
    """The least any correct plan of the longest funnel does in the database: scan the funnel's rows,
    sort them by user and instant, one window pass over them (a running MIN; where MIN over a
    growing frame is not incremental, a running COUNT), one row back.

    `hashed`: instead of the sort and the pass, one hash aggregation of the rows (the first instant
    per user, step and day): the least a form without a sort does, one step's aggregate per user and
    bucket, before any join of the chain against it."""
    source = proj.sources["events"]
    assert isinstance(source, SqlSource)
    connector = SqlAlchemyConnector("events", source, proj.root)
    dialect = dialect_for(connector.dialect_name)
    src = connector.selectable()
    # the funnels' rows: local days START .. START + DAYS - 1, as naive UTC instants
    start, end = (
        local_midnight(day, ZONE).astimezone(dt.UTC).replace(tzinfo=None)
        for day in (START, START + dt.timedelta(days=DAYS))
    )
    ts, user, event = src.c.ts, src.c.user_id, src.c.event
    rows = (
        sa.select(
            dialect.partition_key(user).label("u"),
            ts.label("t"),
            sa.case(*[(event == name, sa.literal(i)) for i, name in enumerate(STEPS)]).label("k"),
        )
        .where(ts >= start, ts < end, user.is_not(None), event.in_(STEPS))
        .subquery("funnel_rows")
    )
    if hashed:
        day = sa.cast(rows.c.t, sa.Date()).label("d")
        grouped = sa.select(rows.c.u, rows.c.k, day, sa.func.min(rows.c.t).label("m"))
        buckets = grouped.group_by(rows.c.u, rows.c.k, day).subquery("funnel_buckets")
        counted = sa.select(sa.func.count(buckets.c.m).label("n"))
        return {"rows": connector.execute(dialect.for_window_passes(counted)).item()}
    value = sa.case((rows.c.k == 1, rows.c.t))
    running = sa.func.min(value) if dialect.incremental_window_min else sa.func.count(value)
    passed = sa.select(
        running.over(partition_by=rows.c.u, order_by=rows.c.t.desc(), rows=(None, 0)).label("m")
    ).subquery("funnel_pass")
    # with the settings a funnel's statement runs with (MariaDB: its temporary tables' size)
    frame = connector.execute(dialect.for_window_passes(sa.select(sa.func.count(passed.c.m).label("n"))))
    return {"rows": frame.item()}


def _summary(cells: dict[tuple[str, str], str], engines: list[str]) -> None:
    """Per step count and engine: SQL seconds (the Polars engine's in the same run: SQL/Polars)."""
    print("\nsteps | " + " | ".join(engines) + "   [SQL s (Polars s: SQL/Polars)]")
    for metric in metrics():
        steps = metric.removeprefix("funnel_")
        print(f"{steps:>5} | " + " | ".join(cells.get((metric, engine), "-") for engine in engines))
    print(
        "floor | "
        + " | ".join(cells.get(("floor", engine), "-") for engine in engines)
        + f"   [scan + sort by user and instant + one window pass, {len(STEPS)} steps' rows, "
        "beside Polars' whole funnel]"
    )
    print(
        "hash  | "
        + " | ".join(cells.get(("hash floor", engine), "-") for engine in engines)
        + "   [scan + one hash aggregation per user, step and day, the same rows]"
    )


def _window_heap(size: int | None) -> None:
    """MariaDB's in-memory temporary table size for funnels (None: the server's setting)."""
    MySqlDialect.window_heap_bytes = size


def _use_table(name: str) -> None:
    global TABLE
    TABLE = name


def _check_no_statistics(url: str) -> None:
    dispose_engines()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                sa.text("SELECT count(*) FROM pg_stats WHERE tablename = :t"), {"t": TABLE}
            ).scalar_one()
    finally:
        engine.dispose()
    if count:
        raise SystemExit(f"{TABLE} still has statistics ({count} columns)")


if __name__ == "__main__":
    main()
