"""Backtest of the OKR forecast: does the 80% interval hold the end value 80% of the time, and do
KRs given ~70% land ~70% of the time?

Two kinds of cases, each scored on what actually happened at the period's end:

* synthetic daily series with a known future: a level, often a trend, a weekly pattern, sometimes
  a level shift (before or after the as-of day), overdispersed Poisson noise; read four ways
  (period_to_date total, trailing 28-day total, latest day, trailing 28-day average). The counts
  are forecast as counts (`ForecastOptions.counts`, as a count metric's KR is), the average not;
* sparse synthetic counts (`sparse`): a level of 0.2 to 3 a day (errors, incidents), which half of
  the time goes quiet (falls to zero) weeks before the period, read as the counts above by a
  `decrease` key result;
* the demo product (`metrics.demo.generate.generate_demo`): every whole calendar quarter of its year, as-of
  every 7th day from day 14 to day 84, for ten key results on the shipped metrics. Each case runs
  `metrics.okrs.scoring.project_key_result` exactly as `northstar okrs --as-of` would on that day
  (the as-of day counts as complete), and compares with the reading at the quarter's end.

Probabilities are scored against several targets per case (the current reading -15% .. +15%), all
from the same simulations.

    .venv/bin/python benchmarks/backtest_forecast.py            # full: ~4 minutes
    .venv/bin/python benchmarks/backtest_forecast.py --quick    # fewer cases: ~1 minute
    .venv/bin/python benchmarks/backtest_forecast.py --gaussian # counts with Gaussian noise, as before
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.okrs.forecast import Direction, ForecastOptions, Projection, lands, simulate_end  # noqa: E402

QUARTER = 91
TARGET_SHIFTS = (-0.15, -0.1, -0.05, -0.02, 0.0, 0.02, 0.05, 0.1, 0.15)
BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0001))


@dataclass
class Case:
    source: str  # synthetic | demo
    kind: str
    day: int  # as-of day of the period (1-based)
    projection: Projection
    current: float
    realised: float
    direction: Direction


# --- synthetic series --------------------------------------------------------------------------


def synthetic_series(rng: np.random.Generator, days: int, sparse: bool = False) -> tuple[np.ndarray, str]:
    t = np.arange(days)
    level = rng.uniform(0.2, 3) if sparse else rng.uniform(20, 400)
    parts = []
    mean = np.full(days, level)
    if rng.random() < 0.6:
        mean += rng.normal(0, 0.002) * level * t
        parts.append("trend")
    if rng.random() < 0.7:
        mean *= 1 + rng.uniform(0.05, 0.35) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        parts.append("weekly")
    if rng.random() < 0.4:
        mean[rng.integers(days // 3, days) :] *= 1 + rng.normal(0, 0.15)
        parts.append("shift")
    noise = rng.gamma(20, 1 / 20, days)
    floor = 0.5
    if sparse:
        floor = 0.0
        if rng.random() < 0.5:  # fixed: the events stop, in the history (a stop yet to come is news)
            mean[rng.integers(days // 3, days - QUARTER) :] = 0.0
            parts.append("quiet")
    return rng.poisson(np.maximum(mean, floor) * noise).astype(float), "+".join(parts) or "flat"


def synthetic_cases(count: int, seed: int, *, sparse: bool = False, counts: bool = True) -> list[Case]:
    rng = np.random.default_rng(seed + sparse)
    before = 120
    out: list[Case] = []
    source = "sparse" if sparse else "synthetic"
    for _ in range(count):
        y, _shape = synthetic_series(rng, before + QUARTER, sparse)
        period = y[before:]
        for day in (14, 30, 45, 60, 75, 88):
            seen = y[: before + day]
            horizon = QUARTER - day
            history = list(seen[-120:])
            known28 = float(period[max(0, day - (28 - horizon)) : day].sum()) if horizon < 28 else 0.0
            rolling = np.convolve(seen, np.ones(28) / 28, mode="valid")[-120:]
            reads = {
                "period_to_date total": (
                    simulate_end(
                        history,
                        horizon,
                        ForecastOptions(kind="sum", known=float(period[:day].sum()), lower=0, counts=counts),
                    ),
                    float(period[:day].sum()),
                    float(period.sum()),
                ),
                "trailing 28d total": (
                    simulate_end(
                        history,
                        horizon,
                        ForecastOptions(kind="sum", known=known28, summed_days=28, lower=0, counts=counts),
                    ),
                    float(seen[-28:].sum()),
                    float(period[-28:].sum()),
                ),
                "latest day": (
                    simulate_end(history, horizon, ForecastOptions(kind="level", lower=0, counts=counts)),
                    float(seen[-1]),
                    float(period[-1]),
                ),
                "trailing 28d average": (
                    simulate_end(list(rolling), horizon, ForecastOptions(kind="level", step=7, lower=0)),
                    float(rolling[-1]),
                    float(period[-28:].mean()),
                ),
            }
            for kind, (projection, current, realised) in reads.items():
                direction: Direction = "decrease" if sparse else "increase"
                out.append(Case(source, kind, day, projection, current, realised, direction))
    return out


# --- the demo product ---------------------------------------------------------------------------

DEMO_KRS = (
    ("signups", "period_to_date"),
    ("revenue", "trailing_28d"),
    ("weekly_active_writers", "latest"),
    ("mau", "latest"),
    ("stickiness", "trailing_28d"),
    ("conversion_to_paid", "trailing_28d"),
    ("paying_users", "period_to_date"),
    ("activation", "trailing_28d"),
    ("d7_retention", "trailing_28d"),
    ("p90_page_load", "trailing_7d"),
)


def demo_cases(events: int, seed: int, end: dt.date, every: int) -> list[Case]:
    from metrics.definitions.models import KeyResult
    from metrics.demo.generate import generate_demo
    from metrics.engine import Engine
    from metrics.load import load_project
    from metrics.okrs.scoring import project_key_result, read_key_result

    folder = Path(tempfile.mkdtemp(prefix="northstar-backtest-"))
    summary = generate_demo(folder / "data" / "demo", events=events, seed=seed, end=end)
    config = folder / "config"
    config.mkdir()
    for name in ("project.yaml", "metrics.yaml"):
        (config / name).write_text((ROOT / "config" / name).read_text())
    sources = (ROOT / "config" / "sources.yaml").read_text()
    (config / "sources.yaml").write_text(sources.replace("../data/demo/events.parquet", str(summary.path)))
    project = load_project(config, check_data=False)
    if project.problems:
        raise SystemExit("\n".join(str(p) for p in project.problems))
    out: list[Case] = []
    quarters = []
    day = dt.date(summary.start.year, 1, 1)
    while day <= summary.end:
        for month in (1, 4, 7, 10):
            start = dt.date(day.year, month, 1)
            stop = (dt.date(day.year + (month == 10), (month + 2) % 12 + 1, 1)) - dt.timedelta(days=1)
            if summary.start + dt.timedelta(days=14) <= start and stop < summary.end:
                quarters.append((start, stop))
        day = dt.date(day.year + 1, 1, 1)
    for start, stop in quarters:
        for offset in range(13, 84, every):
            as_of = start + dt.timedelta(days=offset)
            clock = as_of + dt.timedelta(days=1)
            engine = Engine(project, today=lambda clock=clock: clock)
            for metric, read in DEMO_KRS:
                kr = KeyResult(id="k", metric=metric, read=read, target=1.0)
                projection = project_key_result(project, engine, kr, start, stop, as_of)
                current = read_key_result(project, engine, kr, start, stop, as_of)
                realised = read_key_result(project, engine, kr, start, stop, stop)
                if current is None or realised is None:
                    continue
                direction = project.metrics[metric].direction
                out.append(
                    Case("demo", f"{metric} {read}", offset + 1, projection, current, realised, direction)
                )
    return out


# --- scoring ------------------------------------------------------------------------------------


def coverage_table(cases: list[Case]) -> list[str]:
    groups: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in cases:
        groups[(case.source, case.kind)].append(case)
    lines = [
        "| data | reading | cases | no forecast | inside 80% interval |",
        "|---|---|---:|---:|---:|",
    ]
    totals: dict[str, list[bool]] = defaultdict(list)
    for (source, kind), items in sorted(groups.items()):
        inside = []
        missing = 0
        for case in items:
            outlook = case.projection.outlook(case.realised, case.direction)
            if outlook.forecast is None:
                missing += 1
                continue
            inside.append(outlook.forecast.low <= case.realised <= outlook.forecast.high)
        totals[source].extend(inside)
        share = f"{np.mean(inside):.0%}" if inside else "-"
        lines.append(f"| {source} | {kind} | {len(items)} | {missing} | {share} |")
    for source, inside in sorted(totals.items()):
        lines.append(f"| **{source}** | **all** | {len(inside)} | | **{np.mean(inside):.0%}** |")
    return lines


def calibration_table(cases: list[Case]) -> list[str]:
    pairs: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for case in cases:
        if case.projection.ends is None:
            continue
        for shift in TARGET_SHIFTS:
            sign = -1 if case.direction == "decrease" else 1
            target = case.current * (1 + sign * shift)
            probability = float(lands(case.projection.ends, target, case.direction).mean())
            landed = bool(lands(np.array([case.realised]), target, case.direction)[0])
            pairs[case.source].append((probability, landed))
            pairs["all"].append((probability, landed))
    lines = [
        "| data | probability given | KR-targets | mean probability | share that landed |",
        "|---|---|---:|---:|---:|",
    ]
    for source in sorted(pairs, key=lambda s: (s == "all", s)):
        values = np.array([p for p, _ in pairs[source]])
        landed = np.array([x for _, x in pairs[source]])
        for low, high in BINS:
            chosen = (values >= low) & (values < high)
            if chosen.any():
                lines.append(
                    f"| {source} | {low:.0%}-{min(high, 1):.0%} | {int(chosen.sum())} | "
                    f"{values[chosen].mean():.0%} | {landed[chosen].mean():.0%} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases (a smoke run)")
    parser.add_argument("--synthetic", type=int, default=None, help="synthetic series (default 60; quick 15)")
    parser.add_argument("--events", type=int, default=1_000_000, help="demo events (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-demo", action="store_true", help="synthetic cases only")
    parser.add_argument(
        "--gaussian",
        action="store_true",
        help="forecast counts with Gaussian noise (the model before counts)",
    )
    parser.add_argument(
        "--end", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25), help="demo end day"
    )
    args = parser.parse_args()
    count = args.synthetic if args.synthetic is not None else (15 if args.quick else 60)
    began = time.perf_counter()
    cases = synthetic_cases(count, args.seed, counts=not args.gaussian)
    cases += synthetic_cases(count, args.seed, sparse=True, counts=not args.gaussian)
    synthetic_seconds = time.perf_counter() - began
    began = time.perf_counter()
    if not args.no_demo:
        cases += demo_cases(args.events, args.seed, args.end, every=21 if args.quick else 7)
    demo_seconds = time.perf_counter() - began
    print(
        f"# Forecast backtest ({len(cases)} cases; synthetic {synthetic_seconds:.0f}s, demo {demo_seconds:.0f}s)"
    )
    print()
    print("\n".join(coverage_table(cases)))
    print()
    print("\n".join(calibration_table(cases)))


if __name__ == "__main__":
    main()
