"""SQL sources at scale: the demo metric pack on PostgreSQL, through Northstar vs hand-written SQL.

    python benchmarks/bench_sql.py --events 10000000            # generate, load, time
    python benchmarks/bench_sql.py --events 10000000 --reuse    # keep an already loaded table

Generates the demo events (`metrics.demo.generate.generate_demo`), loads them into a PostgreSQL table with
`metrics.demo_sql.load_demo`, then times, over the whole range at day grain in the shipped project's
time zone:

* Northstar: `Engine.compute` for every metric of config/metrics.yaml on a `type: sql` source (one
  compiled statement, then gap filling and ratios in Python) - end to end;
* hand-written: the same numbers as PostgreSQL SQL written by hand, one query per sourced metric,
  run directly with psycopg (the same algorithms: rolling active users as per-user intervals with a
  running sum, retention as a join of first sign-ups to session days, the funnel as one join per step).

The hand-written queries run twice: with the server's defaults and with Northstar's session settings
(JIT without inlining and optimization). It prints wall time (best of --repeat) and the rows that
came back to Python: the output rows, never the input rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402
import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from connectors.sql import SqlAlchemyConnector, dispose_engines  # noqa: E402
from metrics.demo.generate import generate_demo  # noqa: E402
from metrics.demo.sql import load_demo  # noqa: E402
from metrics.engine import Engine  # noqa: E402
from metrics.engine.request import MetricRequest  # noqa: E402
from metrics.load import project_from_dicts  # noqa: E402

TABLE = "northstar_bench_events"


def hand_written(zone: str, lo: str, hi: str, start: dt.date, end: dt.date) -> dict[str, str]:
    """The demo pack as an analyst would write it for PostgreSQL (day grain, whole range)."""
    day = f"(ts AT TIME ZONE 'UTC' AT TIME ZONE '{zone}')::date"
    rng = f"ts >= '{lo}' AND ts < '{hi}'"

    def simple(select: str, event: str) -> str:
        return f"SELECT {day} AS day, {select} FROM {TABLE} WHERE event = '{event}' AND {rng} GROUP BY 1"

    def rolling(event: str, window: int) -> str:
        lookback = (
            f"ts >= (('{start}'::date - {window - 1})::timestamp AT TIME ZONE '{zone}' AT TIME ZONE 'UTC')"
        )
        return f"""
        WITH ud AS (
          SELECT DISTINCT user_id, {day} AS d FROM {TABLE}
          WHERE event = '{event}' AND user_id IS NOT NULL AND {lookback} AND ts < '{hi}'),
        lagged AS (SELECT d, lag(d) OVER (PARTITION BY user_id ORDER BY d) AS prev FROM ud),
        deltas AS (
          SELECT CASE WHEN prev IS NULL OR prev + {window} <= d THEN d ELSE prev + {window} END AS x, 1 AS delta
          FROM lagged
          UNION ALL SELECT d + {window}, -1 FROM lagged),
        per_day AS (SELECT x, sum(delta) AS s FROM deltas WHERE x <= '{end}' GROUP BY x)
        SELECT x AS day, sum(s) OVER (ORDER BY x) AS active FROM per_day"""

    def retention(offset: int) -> str:
        return f"""
        WITH firsts AS (
          SELECT user_id, min(ts) AS t FROM {TABLE}
          WHERE event = 'signup' AND user_id IS NOT NULL AND ts < '{hi}' GROUP BY user_id),
        cohort AS (
          SELECT user_id, (t AT TIME ZONE 'UTC' AT TIME ZONE '{zone}')::date AS c FROM firsts WHERE t >= '{lo}'),
        back AS (
          SELECT DISTINCT user_id, {day} AS d FROM {TABLE}
          WHERE event = 'session_start' AND user_id IS NOT NULL AND {rng})
        SELECT c AS day, count(*) AS cohort, count(back.user_id) AS retained
        FROM cohort LEFT JOIN back ON back.user_id = cohort.user_id AND back.d = cohort.c + {offset}
        GROUP BY c"""

    funnel = f"""
        WITH entries AS (
          SELECT user_id, {day} AS day, min(ts) AS t0 FROM {TABLE}
          WHERE event = 'signup' AND user_id IS NOT NULL AND {rng} GROUP BY 1, 2),
        s2 AS (
          SELECT e.user_id, e.day, e.t0, min(x.ts) AS t FROM entries e JOIN {TABLE} x
            ON x.user_id = e.user_id AND x.event = 'create_note' AND x.ts >= e.t0
           AND x.ts < e.t0 + interval '7 days' AND x.ts < '{hi}'
          GROUP BY 1, 2, 3),
        s3 AS (
          SELECT e.user_id, e.day, e.t0, min(x.ts) AS t FROM s2 e JOIN {TABLE} x
            ON x.user_id = e.user_id AND x.event = 'create_project' AND x.ts >= e.t
           AND x.ts < e.t0 + interval '7 days' AND x.ts < '{hi}'
          GROUP BY 1, 2, 3),
        s4 AS (
          SELECT e.user_id, e.day FROM s3 e JOIN {TABLE} x
            ON x.user_id = e.user_id AND x.event = 'invite_teammate' AND x.ts >= e.t
           AND x.ts < e.t0 + interval '7 days' AND x.ts < '{hi}'
          GROUP BY 1, 2)
        SELECT e.day, count(*) AS entrants, count(s4.user_id) AS converted
        FROM entries e LEFT JOIN s4 ON s4.user_id = e.user_id AND s4.day = e.day GROUP BY e.day"""

    return {
        "signups": simple("count(*)", "signup"),
        "paid_conversions": simple("count(*)", "upgrade"),
        "revenue": simple("coalesce(sum(amount), 0)", "purchase"),
        "paying_users": simple("count(DISTINCT user_id)", "purchase"),
        "p90_page_load": simple("percentile_cont(0.9) WITHIN GROUP (ORDER BY load_ms)", "page_view"),
        "dau": simple("count(DISTINCT user_id)", "session_start"),
        "wau": rolling("session_start", 7),
        "mau": rolling("session_start", 28),
        "weekly_active_writers": rolling("create_note", 7),
        "ai_summary_users": rolling("use_ai_summary", 7),
        "d1_retention": retention(1),
        "d7_retention": retention(7),
        "d30_retention": retention(30),
        "activation": funnel,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--data", type=Path, default=Path("/tmp/northstar-bench"))
    parser.add_argument("--reuse", action="store_true", help="skip generating and loading when present")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    end = dt.date(2026, 6, 30)
    folder = args.data / f"{args.events}"
    parquet = folder / "events.parquet"
    if not (args.reuse and parquet.exists()):
        began = time.perf_counter()
        generate_demo(folder, events=args.events, seed=7, end=end)
        print(f"generated {args.events:,} events in {time.perf_counter() - began:.1f} s")
    plain = sa.create_engine(args.url)
    with plain.connect() as connection:
        exists = sa.inspect(connection).has_table(TABLE)
        count = connection.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar() if exists else 0
    plain.dispose()
    wanted = pl.scan_parquet(parquet).select(pl.len()).collect().item()
    if not (args.reuse and count == wanted):
        began = time.perf_counter()
        count = load_demo(parquet, args.url, TABLE)
        print(
            f"loaded {count:,} rows into {TABLE} in {time.perf_counter() - began:.1f} s (COPY + index + ANALYZE)"
        )

    yaml = YAML(typ="safe")
    metrics: dict[str, Any] = yaml.load((ROOT / "config" / "metrics.yaml").read_text())["metrics"]
    settings: dict[str, Any] = yaml.load((ROOT / "config" / "project.yaml").read_text())
    files = yaml.load((ROOT / "config" / "sources.yaml").read_text())["sources"]["events"]
    source = {
        "type": "sql",
        "url": args.url,
        "table": TABLE,
        "columns": files["columns"],
        "timeout_seconds": 1800,
    }
    source["dimensions"] = files["dimensions"]
    project = project_from_dicts(sources={"events": source}, metrics=metrics, settings=settings)
    engine = Engine(project)
    start, stop = engine.data_range(tuple(metrics))
    request = MetricRequest(tuple(metrics), start=start, end=stop, grain="day")

    connector = engine.connector("events")
    assert isinstance(connector, SqlAlchemyConnector)
    transferred: list[int] = []
    execute = connector.execute

    def counting(statement: object) -> Any:
        frame = execute(statement)
        transferred.append(frame.height)
        return frame

    connector.execute = counting  # type: ignore[method-assign]
    northstar: list[float] = []
    for _ in range(args.repeat):
        transferred.clear()
        began = time.perf_counter()
        result = engine.compute(request)
        northstar.append(time.perf_counter() - began)
    ns_rows = sum(transferred)

    zone = settings.get("timezone", "UTC")
    lo = (dt.datetime.combine(start, dt.time(), tzinfo=project.settings.zone)).astimezone(dt.UTC)
    hi = (
        dt.datetime.combine(stop + dt.timedelta(days=1), dt.time(), tzinfo=project.settings.zone)
    ).astimezone(dt.UTC)
    queries = hand_written(
        zone, lo.strftime("%Y-%m-%d %H:%M:%S"), hi.strftime("%Y-%m-%d %H:%M:%S"), start, stop
    )
    conninfo = sa.make_url(args.url).set(drivername="postgresql").render_as_string(hide_password=False)
    session = ["SET jit_inline_above_cost = -1", "SET jit_optimize_above_cost = -1"]
    timings: dict[str, list[float]] = {"server defaults": [], "Northstar's session settings": []}
    hand_rows = 0
    for label, settings_sql in zip(timings, ([], session), strict=True):
        with psycopg.connect(conninfo) as connection:
            connection.execute("SET default_transaction_read_only = on")
            for statement in settings_sql:
                connection.execute(statement)
            for _ in range(args.repeat):
                began = time.perf_counter()
                hand_rows = 0
                for sql in queries.values():
                    hand_rows += len(connection.execute(sql).fetchall())
                timings[label].append(time.perf_counter() - began)
    dispose_engines()

    best_ns = min(northstar)
    best_hand = min(min(v) for v in timings.values())
    print()
    print(f"demo metric pack on PostgreSQL: {count:,} events, {start} .. {stop}, day grain, {zone}")
    print(f"{len(metrics)} metrics ({len(queries)} sourced, the rest ratios); best of {args.repeat} runs")
    print()
    print("| run | wall time (s) | median (s) | rows to Python |")
    print("|---|---:|---:|---:|")
    print(
        f"| Northstar (one compiled statement, end to end) | {best_ns:.2f} | {statistics.median(northstar):.2f} | "
        f"{ns_rows:,} |"
    )
    for label, values in timings.items():
        print(
            f"| hand-written SQL, {len(queries)} queries ({label}) | {min(values):.2f} | "
            f"{statistics.median(values):.2f} | {hand_rows:,} |"
        )
    print()
    print(f"Northstar / best hand-written: {best_ns / best_hand:.2f}x (target: at most 1.5x)")
    print(f"result rows after gap filling and ratios: {result.frame.height:,}; input rows: {count:,}")


if __name__ == "__main__":
    main()
