"""Benchmark: `metrics.drivers.drivers` on the demo, against one single-span read of the same metric.

    .venv/bin/python benchmarks/bench_drivers.py                 # 1M events
    .venv/bin/python benchmarks/bench_drivers.py --events 3e6

The demo data is generated once per size into --data (default /tmp/northstar-bench-drivers) beside a
copy of the shipped config/. For every metric of the shipped project, over the 28 days ending on the
data's last complete day (moved back by a cohort metric's maturity lag), it times the split by every
dimension (2 spans x (1 + 4 dimensions) single-span engine requests, plus a level's row counts) and,
as the peer measured in the same run, one single-span read of the metric (what a KR's reading costs);
best of --repeat runs each, on a warm engine (the source scanned once before).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e6)
    parser.add_argument("--data", type=Path, default=Path("/tmp/northstar-bench-drivers"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from metrics.demo.generate import generate_demo
    from metrics.drivers import default_span, drivers
    from metrics.engine import Engine
    from metrics.engine.request import MetricRequest
    from metrics.load import load_project

    events = int(args.events)
    folder = args.data / f"{events}"
    config = folder / "config"
    if not (folder / "data" / "demo" / "events.parquet").exists():
        generate_demo(folder / "data" / "demo", events=events, seed=7, end=dt.date(2026, 11, 20))
    config.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "config").glob("*.yaml"):
        shutil.copy(path, config / path.name)
    project = load_project(config, check_values=False)
    engine = Engine(project)
    last = engine.data_range(list(project.metrics)[:1])[1] - dt.timedelta(days=1)

    def best(task: object) -> float:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            task()  # type: ignore[operator]
            times.append(time.perf_counter() - began)
        return min(times)

    print(f"{events:,} events; span: the 28 days ending {last} (minus a cohort's lag); best of {args.repeat}")
    print(f"{'metric':<24} {'method':<9} {'drivers s':>10} {'one read s':>11} {'ratio':>7} {'segments':>9}")
    total_d = total_r = 0.0
    for metric_id in project.metrics:
        start, end = default_span(engine, metric_id, last)
        observe = end + dt.timedelta(days=project.maturity_lag(metric_id))
        result = drivers(engine, metric_id, start, end)  # warm: the scan is cached
        split = best(lambda m=metric_id, s=start, e=end: drivers(engine, m, s, e))
        read = best(
            lambda m=metric_id, s=start, e=end, o=observe: engine.compute(
                MetricRequest((m,), s, o, span_end=e)
            )
        )
        total_d += split
        total_r += read
        print(
            f"{metric_id:<24} {result.method:<9} {split:>10.3f} {read:>11.3f} {split / read:>7.1f} "
            f"{len(result.segments):>9}"
        )
    print(f"{'all':<24} {'':<9} {total_d:>10.3f} {total_r:>11.3f} {total_d / total_r:>7.1f}")


if __name__ == "__main__":
    main()
