"""Benchmark: the demo metric pack in Northstar, in hand-written DuckDB SQL, and in pandas.

    .venv/bin/python benchmarks/bench_engine.py                  # 1M and 10M events
    .venv/bin/python benchmarks/bench_engine.py --events 5e7      # Northstar alone (peers skipped)
    .venv/bin/python benchmarks/bench_engine.py --events 1e7 --skip-pandas-above 1e8   # pandas too

The demo data (`metrics.demo.generate.generate_demo`) is generated once per size into --data (default
/tmp/northstar-bench); then each implementation computes the same pack over the whole range at day
grain, in its own fresh subprocess, and reports its wall time (best of --repeat runs, imports not
included) and peak memory (the subprocess's `ru_maxrss`). Every implementation's numbers are
compared with Northstar's; the table says how far apart the largest difference is.

The pack is the shipped demo pack (config/metrics.yaml, 18 metrics: counts, a filtered sum, a
filtered distinct count, a filtered percentile, five active-users metrics of three filters, D1 / D7
/ D30 retention, a 4-step funnel and four ratios), in the time zone given by --timezone (default
Europe/Berlin, as the shipped project).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

# The shipped demo pack (config/metrics.yaml), minus labels and descriptions; a test keeps them equal.
ACTIVE = {"type": "active_users", "source": "events"}
PACK: dict[str, dict[str, Any]] = {
    "weekly_active_writers": {**ACTIVE, "window": 7, "filter": {"event": "create_note"}},
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "activation": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create_note", "create_project", "invite_teammate"],
        "within": 7,
    },
    "dau": {**ACTIVE, "window": 1, "filter": {"event": "session_start"}},
    "wau": {**ACTIVE, "window": 7, "filter": {"event": "session_start"}},
    "mau": {**ACTIVE, "window": 28, "filter": {"event": "session_start"}},
    "stickiness": {"type": "ratio", "numerator": "dau", "denominator": "mau"},
    **{
        f"d{offset}_retention": {
            "type": "retention",
            "source": "events",
            "cohort_event": "signup",
            "return_event": "session_start",
            "period": "day",
            "offset": offset,
        }
        for offset in (1, 7, 30)
    },
    "paid_conversions": {"type": "count", "source": "events", "filter": {"event": "upgrade"}},
    "conversion_to_paid": {"type": "ratio", "numerator": "paid_conversions", "denominator": "signups"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "paying_users": {"type": "count_distinct", "source": "events", "filter": {"event": "purchase"}},
    "arppu": {"type": "ratio", "numerator": "revenue", "denominator": "paying_users"},
    "p90_page_load": {
        "type": "percentile",
        "source": "events",
        "column": "load_ms",
        "percentile": 0.9,
        "filter": {"event": "page_view"},
    },
    "ai_summary_users": {**ACTIVE, "window": 7, "filter": {"event": "use_ai_summary"}},
    "ai_summary_adoption": {"type": "ratio", "numerator": "ai_summary_users", "denominator": "wau"},
}
FUNNEL = PACK["activation"]["steps"]


# --- the three implementations -------------------------------------------------------------------


def northstar_pack(path: Path, zone: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    from metrics.engine import Engine
    from metrics.engine.request import MetricRequest
    from metrics.load import project_from_dicts

    project = project_from_dicts(
        sources={
            "events": {
                "type": "parquet",
                "path": str(path),
                "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
                "dimensions": ["platform", "country", "plan", "channel"],
            }
        },
        metrics=PACK,
        settings={"timezone": zone},
        root=path.parent,
    )
    result = Engine(project).compute(MetricRequest(tuple(PACK), start=start, end=end, grain="day"))
    return result.frame


def duckdb_sql(path: Path, zone: str, start: dt.date, end: dt.date) -> str:
    """The pack as one hand-written DuckDB query (one column per metric)."""
    s, e = f"DATE '{start}'", f"DATE '{end}'"
    steps = [f"'{step}'" for step in FUNNEL]

    def active(name: str, event: str, windows: dict[str, int]) -> str:
        widest = max(windows.values())
        counts = ",\n           ".join(
            f"count(DISTINCT u.user_id) FILTER (WHERE u.day > d.day - {width}) AS {metric}"
            for metric, width in windows.items()
        )
        return f"""{name}_days AS (
    SELECT DISTINCT user_id, day FROM ev
    WHERE user_id IS NOT NULL AND event = '{event}' AND day BETWEEN {s} - {widest - 1} AND {e}
),
{name} AS (
    SELECT d.day,
           {counts}
    FROM days d JOIN {name}_days u ON u.day BETWEEN d.day - {widest - 1} AND d.day
    GROUP BY d.day
)"""

    return f"""
WITH ev AS (
    SELECT ts, user_id, event, amount, load_ms,
           CAST(timezone('{zone}', ts AT TIME ZONE 'UTC') AS DATE) AS day
    FROM read_parquet('{path}')
    WHERE ts < CAST(timezone('UTC', CAST({e} + 1 AS TIMESTAMP) AT TIME ZONE '{zone}') AS TIMESTAMP)
),
days AS (SELECT CAST(d AS DATE) AS day FROM range({s}, {e} + 1, INTERVAL 1 DAY) AS t(d)),
simple AS (
    SELECT day,
           count(*) FILTER (WHERE event = 'signup') AS signups,
           count(*) FILTER (WHERE event = 'upgrade') AS paid_conversions,
           coalesce(sum(amount) FILTER (WHERE event = 'purchase'), 0) AS revenue,
           count(DISTINCT user_id) FILTER (WHERE event = 'purchase') AS paying_users,
           quantile_cont(load_ms, 0.9) FILTER (WHERE event = 'page_view') AS p90_page_load
    FROM ev WHERE day BETWEEN {s} AND {e} GROUP BY day
),
{active("sessions", "session_start", {"dau": 1, "wau": 7, "mau": 28})},
{active("writers", "create_note", {"weekly_active_writers": 7})},
{active("ai", "use_ai_summary", {"ai_summary_users": 7})},
cohort AS (
    SELECT user_id, min(day) AS c FROM ev
    WHERE event = 'signup' AND user_id IS NOT NULL GROUP BY user_id
),
retention AS (
    SELECT co.c AS day, count(*) AS size,
           count(a1.user_id) AS r1, count(a7.user_id) AS r7, count(a30.user_id) AS r30
    FROM cohort co
    LEFT JOIN sessions_days a1 ON a1.user_id = co.user_id AND a1.day = co.c + 1
    LEFT JOIN sessions_days a7 ON a7.user_id = co.user_id AND a7.day = co.c + 7
    LEFT JOIN sessions_days a30 ON a30.user_id = co.user_id AND a30.day = co.c + 30
    WHERE co.c BETWEEN {s} AND {e}
    GROUP BY co.c
),
step_events AS (
    SELECT user_id, event, ts, day FROM ev
    WHERE user_id IS NOT NULL AND event IN ({", ".join(steps)}) AND day BETWEEN {s} AND {e}
),
f1 AS (
    SELECT user_id, day, min(ts) AS t0 FROM step_events WHERE event = {steps[0]} GROUP BY user_id, day
),
f2 AS (
    SELECT f.user_id, f.day, f.t0, min(x.ts) AS t FROM f1 f JOIN step_events x
      ON x.user_id = f.user_id AND x.event = {steps[1]} AND x.ts >= f.t0 AND x.ts < f.t0 + INTERVAL 7 DAY
    GROUP BY ALL
),
f3 AS (
    SELECT f.user_id, f.day, f.t0, min(x.ts) AS t FROM f2 f JOIN step_events x
      ON x.user_id = f.user_id AND x.event = {steps[2]} AND x.ts >= f.t AND x.ts < f.t0 + INTERVAL 7 DAY
    GROUP BY f.user_id, f.day, f.t0
),
f4 AS (
    SELECT DISTINCT f.user_id, f.day FROM f3 f JOIN step_events x
      ON x.user_id = f.user_id AND x.event = {steps[3]} AND x.ts >= f.t AND x.ts < f.t0 + INTERVAL 7 DAY
),
funnel AS (
    SELECT f1.day, count(*) AS entrants, count(f4.user_id) AS converted
    FROM f1 LEFT JOIN f4 ON f4.user_id = f1.user_id AND f4.day = f1.day GROUP BY f1.day
),
wide AS (
    SELECT days.day AS period,
           coalesce(writers.weekly_active_writers, 0) AS weekly_active_writers,
           coalesce(simple.signups, 0) AS signups,
           funnel.converted / funnel.entrants AS activation,
           coalesce(sessions.dau, 0) AS dau, coalesce(sessions.wau, 0) AS wau,
           coalesce(sessions.mau, 0) AS mau,
           CASE WHEN sessions.mau > 0 THEN coalesce(sessions.dau, 0) / sessions.mau END AS stickiness,
           CASE WHEN days.day + 1 <= {e} THEN retention.r1 / retention.size END AS d1_retention,
           CASE WHEN days.day + 7 <= {e} THEN retention.r7 / retention.size END AS d7_retention,
           CASE WHEN days.day + 30 <= {e} THEN retention.r30 / retention.size END AS d30_retention,
           coalesce(simple.paid_conversions, 0) AS paid_conversions,
           CASE WHEN simple.signups > 0 THEN coalesce(simple.paid_conversions, 0) / simple.signups END
               AS conversion_to_paid,
           coalesce(simple.revenue, 0) AS revenue,
           coalesce(simple.paying_users, 0) AS paying_users,
           CASE WHEN simple.paying_users > 0 THEN simple.revenue / simple.paying_users END AS arppu,
           simple.p90_page_load,
           coalesce(ai.ai_summary_users, 0) AS ai_summary_users,
           CASE WHEN sessions.wau > 0 THEN coalesce(ai.ai_summary_users, 0) / sessions.wau END
               AS ai_summary_adoption
    FROM days
    LEFT JOIN simple USING (day) LEFT JOIN sessions USING (day) LEFT JOIN writers USING (day)
    LEFT JOIN ai USING (day) LEFT JOIN retention USING (day) LEFT JOIN funnel USING (day)
),
typed AS (SELECT period, CAST(COLUMNS(* EXCLUDE (period)) AS DOUBLE) FROM wide)
SELECT * FROM typed ORDER BY period
"""


def duckdb_pack(path: Path, zone: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        table = con.sql(duckdb_sql(path, zone, start, end)).to_arrow_table()
    wide = pl.from_arrow(table)
    assert isinstance(wide, pl.DataFrame)
    return wide.unpivot(index="period", variable_name="metric").select(
        "metric", pl.col("period").cast(pl.Date), pl.col("value").cast(pl.Float64)
    )


def pandas_pack(path: Path, zone: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    import pandas as pd

    s, e = pd.Timestamp(start), pd.Timestamp(end)
    ev = pd.read_parquet(path, columns=["ts", "user_id", "event", "amount", "load_ms"])
    ev["day"] = ev["ts"].dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    ev = ev[ev["day"] <= e]
    days = pd.date_range(s, e, freq="D")
    out = pd.DataFrame(index=days)
    inside = ev[ev["day"] >= s]

    def of(event: str) -> pd.DataFrame:
        return inside[inside["event"] == event]

    out["signups"] = of("signup").groupby("day").size()
    out["paid_conversions"] = of("upgrade").groupby("day").size()
    out["revenue"] = of("purchase").groupby("day")["amount"].sum()
    out["paying_users"] = of("purchase").groupby("day")["user_id"].nunique()
    for column in ("signups", "paid_conversions", "revenue", "paying_users"):
        out[column] = out[column].fillna(0)
    out["p90_page_load"] = of("page_view").groupby("day")["load_ms"].quantile(0.9)
    out["conversion_to_paid"] = (out["paid_conversions"] / out["signups"]).where(out["signups"] > 0)
    out["arppu"] = (out["revenue"] / out["paying_users"]).where(out["paying_users"] > 0)

    def user_days(event: str, width: int) -> pd.DataFrame:
        rows = ev[
            ev["user_id"].notna() & (ev["event"] == event) & (ev["day"] >= s - pd.Timedelta(days=width - 1))
        ]
        return rows[["user_id", "day"]].drop_duplicates()

    def active(event: str, width: int) -> pd.Series:
        seen = user_days(event, width)
        covered = pd.concat([seen.assign(day=seen["day"] + pd.Timedelta(days=k)) for k in range(width)])
        return covered.drop_duplicates().groupby("day").size().reindex(days).fillna(0)

    for name, event, width in (
        ("dau", "session_start", 1),
        ("wau", "session_start", 7),
        ("mau", "session_start", 28),
        ("weekly_active_writers", "create_note", 7),
        ("ai_summary_users", "use_ai_summary", 7),
    ):
        out[name] = active(event, width)
    out["stickiness"] = (out["dau"] / out["mau"]).where(out["mau"] > 0)
    out["ai_summary_adoption"] = (out["ai_summary_users"] / out["wau"]).where(out["wau"] > 0)

    cohort = ev[(ev["event"] == "signup") & ev["user_id"].notna()].groupby("user_id")["day"].min()
    cohort = cohort[(cohort >= s) & (cohort <= e)].rename("c").reset_index()
    sizes = cohort.groupby("c").size()
    marks = user_days("session_start", 1).assign(hit=True)
    for offset in (1, 7, 30):
        probe = cohort.assign(day=cohort["c"] + pd.Timedelta(days=offset))
        kept = probe.merge(marks, on=["user_id", "day"], how="left")["hit"].fillna(False).astype(bool)
        rate = kept.groupby(probe["c"].to_numpy()).sum() / sizes
        mature = rate.index + pd.Timedelta(days=offset) <= e
        out[f"d{offset}_retention"] = rate[mature].reindex(days)

    steps = ev[ev["user_id"].notna() & (ev["day"] >= s) & ev["event"].isin(FUNNEL)]
    entrants = steps[steps["event"] == FUNNEL[0]].groupby(["user_id", "day"], as_index=False)["ts"].min()
    entrants = entrants.rename(columns={"ts": "t0"})
    entrants["prev"] = entrants["t0"]
    current = entrants
    for step in FUNNEL[1:]:
        later = steps.loc[steps["event"] == step, ["user_id", "ts"]].sort_values("ts")
        current = pd.merge_asof(
            current.sort_values("prev"),
            later,
            left_on="prev",
            right_on="ts",
            by="user_id",
            direction="forward",
        )
        current = current[current["ts"].notna() & (current["ts"] < current["t0"] + pd.Timedelta(days=7))]
        current = current.drop(columns=["prev"]).rename(columns={"ts": "prev"})
    out["activation"] = current.groupby("day").size().reindex(days).fillna(0) / entrants.groupby("day").size()

    long = (
        out.rename_axis("period").reset_index().melt(id_vars="period", var_name="metric", value_name="value")
    )
    return pl.from_pandas(long).select(
        "metric", pl.col("period").cast(pl.Date), pl.col("value").cast(pl.Float64)
    )


IMPLEMENTATIONS: dict[str, Callable[[Path, str, dt.date, dt.date], pl.DataFrame]] = {
    "northstar": northstar_pack,
    "duckdb": duckdb_pack,
    "pandas": pandas_pack,
}


# --- measuring -----------------------------------------------------------------------------------


def _run_one(args: argparse.Namespace) -> None:
    """Child process: time one implementation, write its values, print one JSON line."""
    run = IMPLEMENTATIONS[args.run]
    path = Path(args.path)
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    best, cpu = math.inf, math.inf
    frame = pl.DataFrame()
    for _ in range(args.repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        frame = run(path, args.timezone, start, end)
        wall = time.perf_counter() - began
        if wall < best:
            best, cpu = wall, time.process_time() - began_cpu
    frame.write_parquet(args.out)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": best, "cpu": cpu, "peak_mb": peak_kib / 1024, "rows": frame.height}))


def _measure(name: str, path: Path, start: dt.date, end: dt.date, args: argparse.Namespace) -> dict[str, Any]:
    out = path.parent / f"values_{name}.parquet"
    command = [
        sys.executable,
        __file__,
        "--run",
        name,
        "--path",
        str(path),
        "--start",
        str(start),
        "--end",
        str(end),
        "--timezone",
        args.timezone,
        "--repeat",
        str(args.repeat),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["values"] = pl.read_parquet(out)
    return report


def largest_difference(ours: pl.DataFrame, theirs: pl.DataFrame) -> float:
    """Largest relative difference between two long tables (a null on one side only counts as inf)."""
    joined = ours.join(theirs, on=["metric", "period"], how="full", coalesce=True, suffix="_other")
    worst = 0.0
    for a, b in zip(joined["value"].to_list(), joined["value_other"].to_list(), strict=True):
        if a is None and b is None:
            continue
        if (
            a is None
            or b is None
            or (isinstance(a, float) and math.isnan(a)) != (isinstance(b, float) and math.isnan(b))
        ):
            return math.inf
        worst = max(worst, abs(a - b) / max(1.0, abs(a), abs(b)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--data", type=Path, default=Path("/tmp/northstar-bench"))
    parser.add_argument("--timezone", default="Europe/Berlin")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-pandas-above", type=float, default=2e6)
    parser.add_argument("--skip-duckdb-above", type=float, default=2e7)
    parser.add_argument("--end", default="2026-06-30", help="last day of the generated data")
    parser.add_argument("--run", choices=list(IMPLEMENTATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run_one(args)
        return

    from metrics.demo.generate import generate_demo

    print(
        f"# {os.cpu_count()} CPUs, polars {pl.__version__}, time zone {args.timezone}, best of {args.repeat}"
    )
    print(
        "| events | implementation | wall time (s) | vs DuckDB | CPU time (s) | peak memory (MB) | largest difference |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for count in (int(n) for n in args.events):
        folder = args.data / f"{count}"
        path = folder / "events.parquet"
        if not path.exists():
            generate_demo(folder, events=count, end=dt.date.fromisoformat(args.end))
        stats = (
            pl.scan_parquet(path)
            .select(pl.len(), pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi"))
            .collect()
            .row(0)
        )
        from zoneinfo import ZoneInfo

        local = [ts.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(args.timezone)).date() for ts in stats[1:]]
        start, end = local[0], local[1]
        names = ["northstar"]
        names += ["duckdb"] if count <= args.skip_duckdb_above else []
        names += ["pandas"] if count <= args.skip_pandas_above else []
        reports = {name: _measure(name, path, start, end, args) for name in names}
        base = reports["duckdb"]["seconds"] if "duckdb" in reports else math.nan
        for name in names:
            report = reports[name]
            diff = (
                0.0
                if name == "northstar"
                else largest_difference(reports["northstar"]["values"], report["values"])
            )
            print(
                f"| {stats[0]:,} | {name} | {report['seconds']:.2f} | {report['seconds'] / base:.2f} | "
                f"{report['cpu']:.2f} | {report['peak_mb']:.0f} | {diff:.1e} |",
                flush=True,
            )
        for name, limit in (("duckdb", args.skip_duckdb_above), ("pandas", args.skip_pandas_above)):
            if name not in names:
                print(f"| {stats[0]:,} | {name} | skipped (above {limit:.0e} events) | | | | |", flush=True)


if __name__ == "__main__":
    main()
