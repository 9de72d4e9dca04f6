"""Benchmark: what the data-quality layer costs, and where Great Expectations' import time goes.

    .venv/bin/python benchmarks/bench_quality.py                 # 1M demo events, 3 repeats
    .venv/bin/python benchmarks/bench_quality.py --events 1e6 --repeat 5 --postgres

Each figure is measured in a fresh subprocess (best and median of --repeat runs):

- `import great_expectations` alone;
- `import metrics.quality` (must not import GX);
- `load_project` of the shipped config with its `expect:` entries (validated against the shipped
  catalog, metrics/quality/expectations.json: must not import GX) and with them removed;
- `run_checks` on the demo parquet: cold (first run in the process, GX already imported by the
  load) and warm (the cached second call);
- with --sqlite / --postgres: the same checks with the demo loaded into that database;
- `run_checks_as_of` on the last day (what `northstar check` and the dashboard's quality runner run)
  and `northstar check --as-of` as a whole command: the first run (an empty user cache folder, so
  Great Expectations judges every day) and a repeat run in a new process on the same data (its
  stored per-day verdicts reused), for this tree and, with --peer DIR, for another checkout (e.g.
  main) measured in the same run, interleaved, with the ratio. The load average is printed with them.

    .venv/bin/python benchmarks/bench_quality.py --events 1e7 --repeat 3 --peer /work/main --only-as-of
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

END = dt.date(2026, 11, 20)


IMPORTED: dict[str, list[bool]] = {}  # label -> whether each run imported Great Expectations


def _seconds(code: str, root: Path, cache: Path, label: str = "") -> float:
    """Run `code` with `root`'s code first on the path and `cache` as the user cache folder."""
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache), "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        check=True,
        timeout=1800,
    )
    if label:
        lines = done.stderr.strip().splitlines()
        IMPORTED.setdefault(label, []).append(bool(lines) and lines[-1] == "True")
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def _command(config: Path, root: Path, cache: Path) -> float:
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache), "PYTHONPATH": str(root)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "check", "--config", str(config), "--as-of", END.isoformat()],
        capture_output=True, cwd=root, env=env, timeout=1800, check=False,
    )  # fmt: skip
    return time.perf_counter() - started


AS_OF = (
    "import sys, time, datetime as dt; from metrics.load import load_project\n"
    "from metrics.quality import run_checks_as_of\n"
    "p = load_project({path!r})\n"
    "t = time.perf_counter(); run_checks_as_of(p, None, dt.date.fromisoformat({day!r}))\n"
    "d = time.perf_counter() - t\n"
    "print('great_expectations' in sys.modules, file=sys.stderr); print(d)"
)


def as_of_runs(config: Path, repeat: int, peer: Path | None, work: Path) -> None:
    """First and repeat runs of the checks as of the last day, per tree, interleaved."""
    trees = {"this tree": ROOT, **({"peer " + str(peer): peer} if peer else {})}
    found: dict[tuple[str, str], list[float]] = {}
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for attempt in range(repeat):
        for label, root in trees.items():
            cache = work / f"cache-{label.replace(' ', '_').replace('/', '_')}-{attempt}"
            code = AS_OF.format(path=str(config), day=END.isoformat())
            for what in ("run_checks_as_of, first run", "run_checks_as_of, repeat run"):
                found.setdefault((label, what), []).append(_seconds(code, root, cache, f"{what} [{label}]"))
            command_cache = work / f"cmd-{label.replace(' ', '_').replace('/', '_')}-{attempt}"
            found.setdefault((label, "northstar check --as-of, first run"), []).append(
                _command(config, root, command_cache)
            )
            found.setdefault((label, "northstar check --as-of, repeat run"), []).append(
                _command(config, root, command_cache)
            )
    for (label, what), values in found.items():
        imported = IMPORTED.get(f"{what} [{label}]")
        note = "" if imported is None else f"   GX imported: {'yes' if any(imported) else 'no'}"
        _line(f"{what} [{label}]", values, note)
    if peer:
        for what in sorted({w for _, w in found}):
            mine, theirs = found[("this tree", what)], found[("peer " + str(peer), what)]
            print(
                f"{what}: peer / this tree = {statistics.median(theirs) / statistics.median(mine):.1f}x (medians)"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def _timed(code: str, repeat: int) -> list[float]:
    """Run `code` (which prints one JSON number: seconds) in fresh interpreters."""
    out = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=600
        )
        out.append(float(json.loads(done.stdout.strip().splitlines()[-1])))
    return out


def _line(label: str, values: list[float], note: str = "") -> None:
    print(f"{label:<58} best {min(values):6.2f} s   median {statistics.median(values):6.2f} s{note}")


def _project(root: Path, events: int, *, expect: bool) -> Path:
    from metrics.demo.generate import generate_demo

    data = root / "data" / "demo"
    if not (data / "events.parquet").exists():
        generate_demo(data, events=events, seed=7, end=END)
    config = root / ("config" if expect else "config_no_expect")
    if not config.exists():
        shutil.copytree(ROOT / "config", config)
        if not expect:
            text = (config / "sources.yaml").read_text()
            (config / "sources.yaml").write_text(text.split("      expect:")[0])
    return config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--peer", type=Path, help="another checkout to measure in the same run (e.g. /work/main)"
    )
    parser.add_argument(
        "--only-as-of", action="store_true", help="only the first and repeat runs as of a day"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="northstar-quality-"))
    config = _project(work, int(args.events), expect=True)
    plain = _project(work, int(args.events), expect=False)
    print(f"{int(args.events):,} demo events in {work}\n")
    as_of_runs(config, args.repeat, args.peer, work)
    if args.only_as_of:
        shutil.rmtree(work, ignore_errors=True)
        return

    _line("import great_expectations", _timed(
        "import time; t = time.perf_counter(); import great_expectations; print(time.perf_counter() - t)",
        args.repeat,
    ))  # fmt: skip
    _line("import metrics.quality (GX must stay out)", _timed(
        "import sys, time; t = time.perf_counter(); import metrics.quality; d = time.perf_counter() - t\n"
        "assert 'great_expectations' not in sys.modules; print(d)",
        args.repeat,
    ))  # fmt: skip
    load = (
        "import sys, time; from metrics.load import load_project\n"
        "t = time.perf_counter(); p = load_project({path!r}); d = time.perf_counter() - t\n"
        "assert not p.problems, p.problems\n"
        "assert ('great_expectations' in sys.modules) == {gx}; print(d)"
    )
    _line("load_project, shipped config (expect: checked against the catalog, no GX)", _timed(
        load.format(path=str(config), gx=False), args.repeat
    ))  # fmt: skip
    _line(
        "load_project, no expect: entries (no GX)",
        _timed(load.format(path=str(plain), gx=False), args.repeat),
    )
    run = (
        "import time, datetime as dt; from metrics.load import load_project\n"
        "from metrics.quality import run_checks\n"
        "p = load_project({path!r}); now = dt.datetime(2026, 11, 21, 6)\n"
        "t = time.perf_counter(); r = run_checks(p, now=now); cold = time.perf_counter() - t\n"
        "t = time.perf_counter(); run_checks(p, now=now); warm = time.perf_counter() - t\n"
        "print({which})"
    )
    _line("run_checks parquet, 8 checks (cold, GX imported)", _timed(
        run.format(path=str(config), which="cold"), args.repeat
    ))  # fmt: skip
    _line(
        "run_checks parquet, cached second call",
        _timed(run.format(path=str(config), which="warm"), args.repeat),
    )
    _line("run_checks parquet, built-ins only (no GX at all)", _timed(
        run.format(path=str(plain), which="cold"), args.repeat
    ))  # fmt: skip

    for backend, wanted in (("sqlite", args.sqlite), ("postgres", args.postgres)):
        if not wanted:
            continue
        from metrics.demo.sql import load_demo

        url = (
            f"sqlite:///{work / 'events.db'}"
            if backend == "sqlite"
            else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        load_demo(work / "data" / "demo" / "events.parquet", url, "quality_bench", timestamp="ts")
        sql = work / f"config_{backend}"
        shutil.copytree(config, sql, dirs_exist_ok=True)
        text = (sql / "sources.yaml").read_text()
        text = text.replace("type: parquet", "type: sql").replace(
            "path: ../data/demo/events.parquet", f"url: {url}\n    table: quality_bench"
        )
        (sql / "sources.yaml").write_text(text)
        _line(f"run_checks {backend}, 8 checks (cold, GX imported)", _timed(
            run.format(path=str(sql), which="cold"), args.repeat
        ))  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
