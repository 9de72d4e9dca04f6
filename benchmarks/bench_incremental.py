"""Benchmark: one new day of data, full recompute against incremental recompute (the result store).

    flock /tmp/northstar-bench.lock .venv/bin/python benchmarks/bench_incremental.py --events 1e7 --repeat 3

The data is `bench_user_metrics`' four months of demo events (2026-03-01 .. 2026-06-30, about
--events rows; its file under --source-data is reused when it exists, else generated there). It
is split into two files in this benchmark's own folder (--data): every day but the last (in time
order by default, as an append-only log is written; `--layout as-generated` keeps the generator's
order by user), then the last day, "the new file". The request is that benchmark's pack (count, count_distinct of users, a
sum of a float column, 28-day active users, day-7 retention, a 3-step funnel) over the data's whole
range at --grain, as `northstar compute` and the dashboard ask it (no --start/--end: the range
follows the data).

Each round, in one process:
1. with only the old file, an engine with a fresh result store computes the request (stored);
2. the new file is added;
3. **full**: a new engine without a store computes the grown request (the peer: what any process
   did before incremental recompute, and what the store does for a source it cannot prove grew);
4. **incremental**: a new engine on the store of step 1 computes it (the store's data range, the
   new file's first day, the stored head and the computed tail).
Steps 3 and 4 swap order every other round. Both answers must be equal, bit for bit (on DuckDB a
float sum to 1e-12 of its size: the database adds floats in its plan's order). `--source duckdb`
does the same on a DuckDB table (a `type: sql` source): the old rows are loaded once into
`--data/.../events.duckdb`, and the new day is inserted (and deleted before each round). `--source
spark` does it on a `type: spark` source (`path: data`, parquet) that the Spark Connect server at
`$NORTHSTAR_SPARK_URL` (default sc://127.0.0.1:15002) reads: the new day is the same new file, and
the session's listing is refreshed right after the file comes or goes and before each timed compute
(`connectors.spark.forget_listings`: what a process sees once the fingerprint's minute has passed),
so both pay one refresh and the incremental one its count of the rows before the bound in Spark.
Spark local is slow: use --events 1e6. The table shows the best and median wall time of each, the
median of the per-round ratios, and the load average.

    flock /tmp/northstar-bench.lock .venv/bin/python benchmarks/bench_incremental.py --events 1e6 --source spark
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from benchmarks.bench_user_metrics import LAST, METRICS, prepare  # noqa: E402
from metrics.engine import Engine  # noqa: E402
from metrics.engine.request import MetricRequest, MetricResult  # noqa: E402
from metrics.engine.result_store import ResultStore  # noqa: E402
from metrics.load import project_from_dicts  # noqa: E402


def split(source: Path, folder: Path, layout: str) -> tuple[Path, Path]:
    """`folder/data/events_000.parquet` (every day before LAST) and the new day's file, kept apart.

    `sorted`: the old file in time order, as an append-only log is written (its row groups' time
    statistics let a scan skip the days before the tail); `as-generated`: in the generator's order
    (by user), where every row group spans all days and any scan reads the whole file."""
    old, new = folder / "data" / "events_000.parquet", folder / "new" / "events_001.parquet"
    if not old.exists() or not new.exists():
        for path in (old, new):
            path.parent.mkdir(parents=True, exist_ok=True)
        cut = dt.datetime.combine(LAST, dt.time())
        before = pl.scan_parquet(source).filter(pl.col("ts") < cut)
        (before.sort("ts") if layout == "sorted" else before).sink_parquet(old)
        pl.scan_parquet(source).filter(pl.col("ts") >= cut).sink_parquet(new)
    return old, new


def duckdb_table(folder: Path, old: Path, new: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """A DuckDB file `folder/events.duckdb` holding the old rows; (remove the new day's rows, insert them)."""
    import duckdb

    from connectors.sql import dispose_engines

    path = folder / "events.duckdb"

    def run(statement: str) -> None:
        dispose_engines()  # Northstar's read-only handles would keep the file from being written
        with duckdb.connect(str(path)) as connection:
            connection.execute(statement)

    if not path.exists():
        run(f"CREATE TABLE events AS SELECT * FROM read_parquet('{old}') ORDER BY ts")
    cut = dt.datetime.combine(LAST, dt.time())
    return (
        lambda: run(f"DELETE FROM events WHERE ts >= TIMESTAMP '{cut}'"),
        lambda: run(f"INSERT INTO events SELECT * FROM read_parquet('{new}')"),
    )


SPARK_URL = os.environ.get("NORTHSTAR_SPARK_URL") or "sc://127.0.0.1:15002"


def project(folder: Path, kind: str = "parquet"):  # type: ignore[no-untyped-def]
    source: dict[str, object] = {
        "type": "parquet",
        "path": "data/events_*.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
        "dimensions": ["platform", "country", "plan", "channel"],
    }
    if kind == "duckdb":
        del source["path"]
        source.update(type="sql", url=f"duckdb:///{folder / 'events.duckdb'}", table="events")
    if kind == "spark":  # the folder: the old file and, once added, the new one
        source.update(type="spark", url=SPARK_URL, path="data", format="parquet")
    return project_from_dicts(
        sources={"events": source}, metrics=METRICS, settings={"timezone": "UTC"}, root=folder
    )


def timed(engine: Engine, request: MetricRequest) -> tuple[float, MetricResult]:
    began = time.perf_counter()
    result = engine.compute(request)
    return time.perf_counter() - began, result


def close(ours: pl.DataFrame, theirs: pl.DataFrame) -> bool:
    """Equal, a float sum's last bits aside (a database adds floats in its plan's order)."""
    if ours.select(pl.exclude("value")).equals(theirs.select(pl.exclude("value"))) is False:
        return False
    a, b = ours["value"], theirs["value"]
    both = (a.is_null() == b.is_null()).all()
    return bool(both) and bool(
        ((a - b).abs() <= 1e-12 * pl.max_horizontal(a.abs(), b.abs())).fill_null(True).all()
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=float, default=1e7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grain", choices=["day", "week", "month"], default="day")
    parser.add_argument("--layout", choices=["sorted", "as-generated"], default="sorted")
    parser.add_argument(
        "--source",
        choices=["parquet", "duckdb", "spark"],
        default="parquet",
        help="files, a DuckDB table (sql), or the files read by Spark (Spark Connect)",
    )
    parser.add_argument(
        "--source-data", type=Path, default=Path(tempfile.gettempdir()) / "northstar-bench-users"
    )
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "northstar-bench-incr")
    args = parser.parse_args()

    events = int(args.events)
    source = args.source_data / str(events) / "project" / "events.parquet"
    if not source.exists():
        source = prepare(args.source_data / str(events), events) / "events.parquet"
    folder = args.data / f"{events}-{args.layout}"
    old, new = split(source, folder, args.layout)
    added = folder / "data" / new.name
    kind = args.source
    if kind == "duckdb":
        import connectors.sql

        connectors.sql.FINGERPRINT_TTL_SECONDS = 0.0  # see the insert at once, not a minute later
        remove_day, insert_day = duckdb_table(folder, old, new)
    else:

        def remove_day() -> None:
            added.unlink(missing_ok=True)
            fresh()

        def insert_day() -> None:
            shutil.copyfile(new, added)
            fresh()

    def fresh() -> None:
        """Spark: the next statement re-lists the files (as once the fingerprint's minute has passed)."""
        if kind == "spark":
            import connectors.spark

            connectors.spark.forget_listings()

    rows_old = pl.scan_parquet(old).select(pl.len()).collect().item()
    rows_new = pl.scan_parquet(new).select(pl.len()).collect().item()
    request = MetricRequest(tuple(METRICS), grain=args.grain)
    print(
        f"{rows_old + rows_new:,} events: {rows_old:,} in the old file, {rows_new:,} on the new day {LAST}; "
        f"{kind}, old rows {args.layout}; pack of {len(METRICS)} metrics at {args.grain} grain; polars {pl.__version__}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    fulls, incrementals, ratios, firsts = [], [], [], []
    for round_ in range(args.repeat):
        remove_day()
        store_folder = folder / f"store-{round_}"
        shutil.rmtree(store_folder, ignore_errors=True)
        store = ResultStore(store_folder)
        first, _ = timed(Engine(project(folder, kind), result_store=store), request)
        firsts.append(first)
        time.sleep(0.01)
        insert_day()

        def full() -> tuple[float, MetricResult]:
            fresh()
            return timed(Engine(project(folder, kind), result_store=False), request)

        def incremental(store: ResultStore = store) -> tuple[float, MetricResult]:
            fresh()
            return timed(Engine(project(folder, kind), result_store=store), request)

        if round_ % 2 == 0:
            (t_full, r_full), (t_incr, r_incr) = full(), incremental()
        else:
            (t_incr, r_incr), (t_full, r_full) = incremental(), full()
        if store.stats.spliced != 1:
            raise SystemExit(f"round {round_ + 1}: the incremental path was not taken ({store.stats})")
        if not r_incr.frame.equals(r_full.frame) and not close(r_incr.frame, r_full.frame):
            raise SystemExit(f"round {round_ + 1}: the incremental answer differs from the full recompute")
        note = next(n for n in r_incr.notes if "earlier stored answer" in n)
        fulls.append(t_full)
        incrementals.append(t_incr)
        ratios.append(t_incr / t_full)
        print(
            f"round {round_ + 1}: first compute {first:.2f} s; after one new day: full {t_full:.2f} s, "
            f"incremental {t_incr:.2f} s (ratio {t_incr / t_full:.3f}); load {os.getloadavg()[0]:.1f}; {note}"
        )
        shutil.rmtree(store_folder, ignore_errors=True)
    remove_day()
    print()
    print("| after one new day | best | median |")
    print("|---|---:|---:|")
    print(f"| full recompute (no store) | {min(fulls):.2f} s | {statistics.median(fulls):.2f} s |")
    print(f"| incremental (store) | {min(incrementals):.2f} s | {statistics.median(incrementals):.2f} s |")
    print(f"| incremental / full, median of rounds | {statistics.median(ratios):.3f} | |")
    print(
        f"(first compute before the new day, into an empty store: median {statistics.median(firsts):.2f} s)"
    )


if __name__ == "__main__":
    main()
