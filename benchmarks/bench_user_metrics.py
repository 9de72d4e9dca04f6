"""Benchmark: six metric types, whole processes, Northstar against hand-written DuckDB SQL.

    .venv/bin/python benchmarks/bench_user_metrics.py --events 1e6 1e7 --repeat 3
    .venv/bin/python benchmarks/bench_user_metrics.py --events 1e8 --repeat 1 --types pack

The pack of issue 16: count, count_distinct of users, sum, 28-day active users, day-7 retention
and a 3-step funnel, at day grain over four months. The data is the demo product's
(`metrics.demo.generate.generate_demo`) last four months, 2026-03-01 .. 2026-06-30 (UTC), generated
so that those months hold about --events rows, and written to its own parquet file under --data
(kept between runs; delete the folder when done). Above 2e7 events the file is that many copies of
the 1e7 data, each copy with its own users (the generator would take many minutes at 1e8).

Each measurement is a fresh subprocess timed from its launch to its exit, imports included:
Northstar is `python -m dashboard.cli compute METRIC... --format json` on a project folder beside
the data; its peer is a Python process that imports DuckDB and runs the same metric written in SQL
as its best user would (window functions, ASOF joins, semi-joins; no self-joins), filling empty
days as the contract does. Per metric type and for the pack (all six in one process, both sides),
the two run back to back, Northstar first in odd rounds and DuckDB first in even ones, --repeat
times; the table shows the best wall time of each, the median of the per-round ratios
Northstar/DuckDB, and each side's peak memory (the child's maximum resident set). Every run's
numbers are compared: the values (and a rate's numerator and denominator) must agree to 1e-9.
The load average is printed with each size: the machine may be shared, so only the ratio of two
runs made together means much.

Both sides run as an installed program does: with Python's bytecode cache (a folder of the run's
own, `PYTHONPYCACHEPREFIX`, even when the environment says `PYTHONDONTWRITEBYTECODE`; pip compiles
an installed package's modules the same way), after one unmeasured warm-up run of each side per
size (it also brings the file into the page cache; `--no-warm-up` skips it), and with Northstar's result store off
(`NORTHSTAR_RESULT_STORE=off`: a later round would otherwise read the first round's answer instead
of the data). `--baseline DIR` also runs the Northstar of another checkout (e.g. `/work/main`, the
code before a change) in the same rounds, so a change is measured against the code it replaces.
`--floor` also runs, for count, count_distinct, sum and retention, the smallest Python process that
answers the same question with Polars: `import polars`, one lazy query over the file written for that
metric alone (filters and time bounds pushed into the reader), the empty days filled, JSON printed.
It is what any Polars-based command pays at best, so floor/DuckDB is the lowest Northstar/DuckDB
this engine can reach for that type on this machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 6, 30)
SHARE = 0.406  # the demo year's rows that fall in its last four months (measured at 1M events)
FUNNEL = ["signup", "create_note", "create_project"]
BASE_EVENTS, COPY_ABOVE = 1e7, 2e7

METRICS: dict[str, dict[str, Any]] = {
    "count": {"type": "count", "source": "events", "filter": {"event": "page_view"}},
    "count_distinct": {"type": "count_distinct", "source": "events"},
    "sum": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "active_users": {"type": "active_users", "source": "events", "window": 28},
    "retention": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "session_start",
        "period": "day",
        "offset": 7,
    },
    "funnel": {"type": "funnel", "source": "events", "steps": FUNNEL, "within": 7},
}
TYPES = [*METRICS, "pack"]


# --- the data and the project ------------------------------------------------------------------


def prepare(folder: Path, events: int) -> Path:
    """`folder/project/`: the four months' events and the project that reads them."""
    project = folder / "project"
    path = project / "events.parquet"
    if not path.exists():
        import polars as pl

        from metrics.demo.generate import generate_demo

        project.mkdir(parents=True, exist_ok=True)
        if events > COPY_ABOVE:  # copies of a 1e7 base, each with its own users (fast to write)
            base = prepare(folder.parent / f"{int(BASE_EVENTS)}", int(BASE_EVENTS)) / "events.parquet"
            copies = [
                pl.scan_parquet(base).with_columns(pl.col("user_id") + f"-{copy}")
                for copy in range(round(events / BASE_EVENTS))
            ]
            tmp = project / ".events.tmp"
            pl.concat(copies).sink_parquet(tmp)
            tmp.rename(path)
            return prepare(folder, events)
        year = folder / "year"
        if not (year / "events.parquet").exists():
            generate_demo(year, events=round(events / SHARE), end=LAST)
        lo, hi = (
            dt.datetime.combine(FIRST, dt.time()),
            dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time()),
        )
        tmp = project / ".events.tmp"
        pl.scan_parquet(year / "events.parquet").filter(
            pl.col("ts").is_between(lo, hi, closed="left")
        ).sink_parquet(tmp)
        tmp.rename(path)
        (year / "events.parquet").unlink()
        year.rmdir()
    (project / "project.yaml").write_text("name: Bench\ntimezone: UTC\n")
    (project / "sources.yaml").write_text(
        json.dumps(
            {
                "sources": {
                    "events": {
                        "type": "parquet",
                        "path": "events.parquet",
                        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
                        "dimensions": ["platform", "country", "plan", "channel"],
                    }
                }
            }
        )
    )
    (project / "metrics.yaml").write_text(json.dumps({"metrics": METRICS}))
    return project


def prepare_child(folder: Path, events: int) -> None:
    sys.path.insert(0, str(ROOT))
    import polars as pl

    project = prepare(folder, events)
    rows = pl.scan_parquet(project / "events.parquet").select(pl.len()).collect().item()
    print(json.dumps([rows, pl.__version__]))


# --- DuckDB, as its best user writes it --------------------------------------------------------


def duckdb_queries(path: Path, start: dt.date, end: dt.date) -> dict[str, str]:
    """One query per metric: (metric, period, value, numerator, denominator) per day of the range."""
    s, e = f"DATE '{start}'", f"DATE '{end}'"
    scan = f"read_parquet('{path}')"
    upper = f"ts < CAST({e} + 1 AS TIMESTAMP)"
    inside = f"ts >= CAST({s} AS TIMESTAMP) AND {upper}"
    days = f"(SELECT CAST(d AS DATE) AS day FROM range({s}, {e} + 1, INTERVAL 1 DAY) t(d))"

    def per_day(name: str, body: str, fill: str = "0") -> str:
        return f"""WITH v AS ({body})
SELECT '{name}' AS metric, days.day AS period, coalesce(v.value, {fill}) AS value,
       NULL AS numerator, NULL AS denominator
FROM {days} days LEFT JOIN v USING (day)"""

    steps = FUNNEL
    return {
        "count": per_day(
            "count",
            f"SELECT CAST(ts AS DATE) AS day, count(*) AS value FROM {scan} "
            f"WHERE {inside} AND event = 'page_view' GROUP BY ALL",
        ),
        "count_distinct": per_day(
            "count_distinct",
            f"SELECT CAST(ts AS DATE) AS day, count(DISTINCT user_id) AS value FROM {scan} "
            f"WHERE {inside} GROUP BY ALL",
        ),
        "sum": per_day(
            "sum",
            f"SELECT CAST(ts AS DATE) AS day, coalesce(sum(amount), 0) AS value FROM {scan} "
            f"WHERE {inside} AND event = 'purchase' GROUP BY ALL",
        ),
        # Each active day d covers d .. d + 27, cut short by the user's next active day: the covers
        # of one user never overlap, so +1 where one starts and -1 where it ends, summed and
        # accumulated over days, counts the active users of every day.
        "active_users": f"""WITH ud AS (
    SELECT DISTINCT user_id, CAST(ts AS DATE) AS day FROM {scan}
    WHERE user_id IS NOT NULL AND ts >= CAST({s} - 27 AS TIMESTAMP) AND {upper}
),
covers AS (
    SELECT day, least(day + 28, lead(day) OVER (PARTITION BY user_id ORDER BY day)) AS stop FROM ud
),
deltas AS (
    SELECT day, sum(delta) AS delta FROM (
        SELECT day, 1 AS delta FROM covers UNION ALL SELECT coalesce(stop, day + 28), -1 FROM covers
    ) GROUP BY day
),
running AS (
    SELECT d.day, sum(coalesce(deltas.delta, 0)) OVER (ORDER BY d.day) AS value
    FROM (SELECT CAST(x AS DATE) AS day FROM range({s} - 27, {e} + 1, INTERVAL 1 DAY) t(x)) d
    LEFT JOIN deltas USING (day)
)
SELECT 'active_users' AS metric, day AS period, value, NULL AS numerator, NULL AS denominator
FROM running WHERE day >= {s}""",
        # cohort: first ever sign-up; retained: a session on cohort day + 7 (a semi-join)
        "retention": f"""WITH cohort AS (
    SELECT user_id, CAST(min(ts) AS DATE) AS c FROM {scan}
    WHERE event = 'signup' AND user_id IS NOT NULL AND {upper} GROUP BY user_id
),
returns AS (
    SELECT user_id, CAST(ts AS DATE) AS day FROM {scan} WHERE event = 'session_start' AND {inside}
),
v AS (
    SELECT c AS day, count(*) AS size,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM returns r WHERE r.user_id = m.user_id AND r.day = m.c + 7
           )) AS kept
    FROM cohort m WHERE c BETWEEN {s} AND {e} GROUP BY c
)
SELECT 'retention' AS metric, days.day AS period,
       CASE WHEN days.day + 7 <= {e} AND v.size > 0 THEN v.kept / v.size END AS value,
       CASE WHEN days.day + 7 <= {e} THEN coalesce(v.kept, 0) END AS numerator,
       coalesce(v.size, 0) AS denominator
FROM {days} days LEFT JOIN v USING (day)""",
        # entrants: each user's first sign-up per day; then the earliest next step at or after the
        # previous one (an ASOF join), within 7 days of t0
        "funnel": f"""WITH steps AS (
    SELECT user_id, event, ts FROM {scan}
    WHERE user_id IS NOT NULL AND event IN ('{steps[0]}', '{steps[1]}', '{steps[2]}') AND {inside}
),
f1 AS (
    SELECT user_id, CAST(ts AS DATE) AS day, min(ts) AS t0 FROM steps
    WHERE event = '{steps[0]}' GROUP BY ALL
),
s2 AS (SELECT user_id, ts FROM steps WHERE event = '{steps[1]}'),
s3 AS (SELECT user_id, ts FROM steps WHERE event = '{steps[2]}'),
f2 AS (
    SELECT f1.*, s2.ts AS t2 FROM f1 ASOF LEFT JOIN s2 ON f1.user_id = s2.user_id AND s2.ts >= f1.t0
),
f3 AS (
    SELECT f2.*, s3.ts AS t3 FROM f2 ASOF LEFT JOIN s3 ON f2.user_id = s3.user_id AND s3.ts >= f2.t2
),
v AS (
    SELECT day, count(*) AS entrants,
           count(*) FILTER (WHERE t2 < t0 + INTERVAL 7 DAY AND t3 < t0 + INTERVAL 7 DAY) AS converted
    FROM f3 GROUP BY day
)
SELECT 'funnel' AS metric, days.day AS period, v.converted / v.entrants AS value,
       coalesce(v.converted, 0) AS numerator, coalesce(v.entrants, 0) AS denominator
FROM {days} days LEFT JOIN v USING (day)""",
    }


DUCKDB_CHILD = """
import json, sys
import duckdb
queries = json.loads(sys.argv[1])
out = []
with duckdb.connect() as con:
    con.execute("SET enable_progress_bar = false")
    for sql in queries:
        for metric, period, value, numerator, denominator in con.sql(sql).fetchall():
            row = {"metric": metric, "period": period.isoformat(), "value": value}
            if metric in ("retention", "funnel"):
                row["numerator"], row["denominator"] = numerator, denominator
            out.append(row)
print(json.dumps(out))
"""


# --- the Polars floor: the same metric as one bare Polars query ----------------------------------

FLOOR_CHILD = """
import datetime as dt, json, sys
import polars as pl
kind, path, first, last = sys.argv[1], sys.argv[2], *map(dt.date.fromisoformat, sys.argv[3:5])
lo, hi = dt.datetime.combine(first, dt.time()), dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
scan = pl.scan_parquet(path)
inside = scan.filter(pl.col("ts") >= lo, pl.col("ts") < hi)
day = pl.col("ts").dt.date().alias("period")
if kind == "count":
    v = inside.filter(pl.col("event") == "page_view").group_by(day).agg(pl.len().alias("value"))
elif kind == "sum":
    v = inside.filter(pl.col("event") == "purchase").group_by(day).agg(pl.col("amount").sum().alias("value"))
elif kind == "count_distinct":
    v = inside.select(day, "user_id").drop_nulls().unique().group_by("period").agg(pl.len().alias("value"))
else:  # retention: first ever sign-up day, kept when a session falls on that day + 7
    cohort = (
        scan.filter(pl.col("ts") < hi, pl.col("event") == "signup", pl.col("user_id").is_not_null())
        .group_by("user_id").agg(pl.col("ts").min().dt.date().alias("period"))
        .filter(pl.col("period") >= first)
    )
    back = inside.filter(pl.col("event") == "session_start").select(
        "user_id", (pl.col("ts").dt.date() - dt.timedelta(days=7)).alias("period"), pl.lit(1).alias("kept")
    ).unique()
    v = cohort.join(back, on=["user_id", "period"], how="left").group_by("period").agg(
        pl.len().alias("denominator"), pl.col("kept").count().alias("numerator")
    )
days = pl.LazyFrame({"period": pl.date_range(first, last, eager=True)})
out = days.join(v.collect(engine="streaming").lazy(), on="period", how="left").sort("period").collect()
rows = []
for row in out.iter_rows(named=True):
    if kind == "retention":
        mature = row["period"] + dt.timedelta(days=7) <= last
        size, kept = row["denominator"] or 0, row["numerator"] or 0
        row = {"period": row["period"], "value": kept / size if mature and size else None,
               "numerator": kept if mature else None, "denominator": size}
    else:
        row["value"] = row["value"] or 0
    rows.append({"metric": kind, **row, "period": row["period"].isoformat()})
print(json.dumps(rows))
"""
FLOOR_TYPES = ("count", "count_distinct", "sum", "retention")


def floor(project: Path, kind: str) -> list[str]:
    path = project / "events.parquet"
    return [sys.executable, "-c", FLOOR_CHILD, kind, str(path), str(FIRST), str(LAST)]


# --- measuring ------------------------------------------------------------------------------------


def run(
    command: list[str], env: dict[str, str], cwd: Path = ROOT
) -> tuple[float, float, float, list[dict[str, Any]]]:
    """Wall seconds from launch to exit, CPU seconds (all threads), peak resident MB, and the JSON rows."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{err.read()[-3000:]}")
        out.seek(0)
        text = out.read()
        try:
            rows: list[dict[str, Any]] = json.loads(text)
        except json.JSONDecodeError:
            raise SystemExit(f"{' '.join(command[:4])} ... printed no JSON:\n{text[:2000]}") from None
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, rows


def northstar(project: Path, kind: str) -> list[str]:
    metrics = list(METRICS) if kind == "pack" else [kind]
    return [
        sys.executable,
        "-m",
        "dashboard.cli",
        "compute",
        *metrics,
        "--config",
        str(project),
        "--start",
        str(FIRST),
        "--end",
        str(LAST),
        "--format",
        "json",
    ]


def duckdb(project: Path, kind: str) -> list[str]:
    queries = duckdb_queries(project / "events.parquet", FIRST, LAST)
    chosen = list(queries.values()) if kind == "pack" else [queries[kind]]
    return [sys.executable, "-c", DUCKDB_CHILD, json.dumps(chosen)]


def largest_difference(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> float:
    """Largest relative difference of value, numerator and denominator; inf for a missing row or null."""
    keyed = {(r["metric"], r["period"]): r for r in theirs}
    if len(keyed) != len(ours):
        return math.inf
    worst = 0.0
    for row in ours:
        other = keyed.get((row["metric"], row["period"]))
        if other is None:
            return math.inf
        for field in ("value", "numerator", "denominator"):
            a, b = row.get(field), other.get(field)
            if field != "value" and field not in row:
                continue
            if a is None or b is None:
                if a is not b:
                    return math.inf
                continue
            worst = max(worst, abs(float(a) - float(b)) / max(1.0, abs(float(a)), abs(float(b))))
    return worst


def side_command(side: str, project: Path, kind: str, baseline: Path | None) -> tuple[list[str], Path]:
    """The command of one side and the folder it runs in (Northstar's code is the one in that folder)."""
    if side == "duckdb":
        return duckdb(project, kind), ROOT
    if side == "floor":
        return floor(project, kind), ROOT
    if side == "baseline":
        assert baseline is not None
        return northstar(project, kind), baseline.resolve()
    return northstar(project, kind), ROOT


def cells(measured: dict[str, list[tuple[float, float, float]]], worst: float) -> list[str]:
    """The table's cells after the metric type (see `main`'s header)."""
    ours, theirs = measured["northstar"], measured.get("duckdb", [])
    out = [f"{min(w for w, _, _ in ours):.2f}"]
    if not theirs:
        out += ["", "", "", f"{statistics.median(c for _, c, _ in ours):.2f}", "", ""]
        out += [f"{max(p for _, _, p in ours):.0f}", "", ""]
        runs = measured.get("baseline")
        if runs:  # without DuckDB: the baseline's wall time, CPU and peak, and Northstar/baseline
            out += [
                f"{min(w for w, _, _ in runs):.2f} (CPU {statistics.median(c for _, c, _ in runs):.2f}, "
                f"peak {max(p for _, _, p in runs):.0f} MB)",
                "",
                f"{statistics.median(a[0] / b[0] for a, b in zip(ours, runs, strict=True)):.2f}",
            ]
        return out
    walls = [a[0] / b[0] for a, b in zip(ours, theirs, strict=True)]
    cpus = [a[1] / b[1] for a, b in zip(ours, theirs, strict=True)]
    out += [
        f"{min(w for w, _, _ in theirs):.2f}",
        f"**{statistics.median(walls):.2f}**",
        " ".join(f"{r:.2f}" for r in walls),
        f"{statistics.median(c for _, c, _ in ours):.2f}",
        f"{statistics.median(c for _, c, _ in theirs):.2f}",
        f"{statistics.median(cpus):.2f}",
        f"{max(p for _, _, p in ours):.0f}",
        f"{max(p for _, _, p in theirs):.0f}",
        f"{worst:.1e}",
    ]
    for peer in ("baseline", "floor"):  # each: its best wall time, it / DuckDB, Northstar / it
        runs = measured.get(peer)
        if runs:
            out += [
                f"{min(w for w, _, _ in runs):.2f}",
                f"{statistics.median(a[0] / b[0] for a, b in zip(runs, theirs, strict=True)):.2f}",
                f"{statistics.median(a[0] / b[0] for a, b in zip(ours, runs, strict=True)):.2f}",
            ]
        elif peer == "floor" and peer in measured:
            out += ["", "", ""]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "northstar-bench-users")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--types", nargs="+", choices=TYPES, default=TYPES)
    parser.add_argument(
        "--no-duckdb", action="store_true", help="Northstar alone (e.g. for peak memory at 1e8)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run Northstar from this checkout (its own dashboard/ and metrics/) in the same rounds",
    )
    parser.add_argument(
        "--no-warm-up", action="store_true", help="skip the unmeasured first run of each side (e.g. at 1e8)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help=f"also run the bare Polars query of {', '.join(FLOOR_TYPES)} (the floor; see above)",
    )
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare_child(args.prepare, int(args.events[0]))
        return

    # This process stays small: a child's peak memory counts its parent's at the fork.
    cache = tempfile.TemporaryDirectory(prefix="northstar-bench-cache-")
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": cache.name, "NORTHSTAR_RESULT_STORE": "off"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(cache.name) / "bytecode")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sides = ["northstar", "duckdb"]
    if args.no_duckdb:
        sides.remove("duckdb")
    if args.baseline:
        sides.append("baseline")
    if args.floor:
        sides.append("floor")
    print(f"# {os.cpu_count()} CPUs, {args.repeat} round(s); whole processes, imports included")
    if args.baseline:
        print(f"# baseline: Northstar from {args.baseline}")
    for count in (int(n) for n in args.events):
        folder = args.data / f"{count}"
        project = folder / "project"
        command = [sys.executable, __file__, "--prepare", str(folder), "--events", str(count)]
        rows, version = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        )
        for side in [] if args.no_warm_up else sides:  # warm-up: bytecode written, file in the page cache
            if side == "floor" and args.types[0] not in FLOOR_TYPES:
                continue
            command, cwd = side_command(side, project, args.types[0], args.baseline)
            run(command, env, cwd)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"\n## {rows:,} events, {FIRST} .. {LAST} at day grain, polars {version} (load average {load})\n"
        )
        header = [
            "metric type",
            "Northstar wall (s)",
            "DuckDB wall (s)",
            "Northstar/DuckDB wall",
            "per round",
            "Northstar CPU (s)",
            "DuckDB CPU (s)",
            "Northstar/DuckDB CPU",
            "Northstar peak (MB)",
            "DuckDB peak (MB)",
            "largest difference",
        ]
        if args.baseline:
            header += ["baseline wall (s)", "baseline/DuckDB wall", "Northstar/baseline wall"]
        if args.floor:
            header += ["Polars floor wall (s)", "floor/DuckDB wall", "Northstar/floor wall"]
        print(f"| {' | '.join(header)} |")
        print("|---|" + "---:|" * 3 + "---|" + "---:|" * (len(header) - 5))
        for kind in args.types:
            here = [s for s in sides if s != "floor" or kind in FLOOR_TYPES]
            measured: dict[str, list[tuple[float, float, float]]] = {side: [] for side in sides}
            worst = 0.0
            for i in range(args.repeat):
                order = here[i % len(here) :] + here[: i % len(here)]
                got: dict[str, list[dict[str, Any]]] = {}
                for side in order:
                    command, cwd = side_command(side, project, kind, args.baseline)
                    wall, cpu, peak, out = run(command, env, cwd)
                    measured[side].append((wall, cpu, peak))
                    got[side] = out
                if "duckdb" in got:
                    for side in ("northstar", "baseline", "floor"):
                        if side in got:
                            worst = max(worst, largest_difference(got[side], got["duckdb"]))
            print(f"| {kind} | {' | '.join(cells(measured, worst))} |", flush=True)
        print(f"\n(load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    cache.cleanup()


if __name__ == "__main__":
    main()
