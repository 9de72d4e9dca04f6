"""Benchmark: what `northstar validate` costs, in fresh processes, wall time and CPU time (user + sys).

    .venv/bin/python benchmarks/bench_validate.py                    # this checkout, 5 repeats
    .venv/bin/python benchmarks/bench_validate.py --repo /tmp/old    # another checkout (before/after)

Each figure is one `python -m dashboard.cli validate --config P` in a fresh interpreter, run from the
checkout given by --repo (default: this one), best and median of --repeat runs. Projects:

- `config`: the shipped demo (2 `expect:` entries; the 1M-event demo is generated when missing);
- `tests/projects/shop`: the second test project (2 `expect:` entries);
- `many-checks`: the shop with 9 `expect:` entries, among them the kinds only GX itself can judge
  (LIKE patterns, regex lists, strftime formats, row-count bounds), written to a temporary folder.

Modes: `cold`: an empty cache folder (`NORTHSTAR_CACHE_DIR`) every run, as on a fresh machine or
right after editing every `expect:` entry; `warm`: the cache filled by one earlier run, as on the
second `validate` after an edit elsewhere. A checkout from before the cache ignores the variable, so
its two modes measure the same thing. `--help` measures the command line's own import time.

A measurement, not a test: the machine's load moves the wall times (CPU time moves less).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANY_CHECKS = """\
      expect:
        - expect_column_values_to_be_between: {column: amount, min_value: 0}
        - expect_column_values_to_be_in_set: {column: platform, value_set: [web, ios, android], severity: warn}
        - expect_column_values_to_not_be_null: {column: event}
        - expect_column_values_to_match_like_pattern: {column: event, like_pattern: "%", escape: "!"}
        - expect_column_values_to_match_regex_list: {column: event, regex_list: ["^[a-z_]+$"]}
        - expect_column_values_to_match_strftime_format: {column: user_id, strftime_format: "%Y", mostly: 0}
        - expect_table_row_count_to_be_between: {min_value: 1, max_value: 10000000}
        - expect_compound_columns_to_be_unique: {column_list: [ts, user_id, event], mostly: 0.5}
        - expect_column_distinct_values_to_be_in_set: {column: platform, value_set: [web, ios, android, tv]}
"""


def many_checks(folder: Path) -> Path:
    """The shop project with MANY_CHECKS as its `expect:` entries."""
    shutil.copytree(ROOT / "tests" / "projects" / "shop", folder)
    sources = folder / "sources.yaml"
    text = sources.read_text()
    sources.write_text(text.split("      expect:")[0] + MANY_CHECKS)
    return folder


def run(repo: Path, args: list[str], cache: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its output) of one `python -m dashboard.cli ARGS`."""
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    said = (done.stdout + done.stderr).strip().splitlines()
    return wall, cpu, said[-1] if said else ""


def line(label: str, walls: list[float], cpus: list[float], said: str) -> None:
    print(
        f"{label:<34} wall best {min(walls):5.2f} median {statistics.median(walls):5.2f} s   "
        f"CPU best {min(cpus):5.2f} median {statistics.median(cpus):5.2f} s   | {said[:60]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    repo = options.repo.resolve()
    work = Path(tempfile.mkdtemp(prefix="northstar-bench-validate-"))
    try:
        projects = {
            "config": repo / "config",
            "tests/projects/shop": repo / "tests" / "projects" / "shop",
            "many-checks": many_checks(work / "many-checks"),
        }
        print(f"repo {repo}; load average {os.getloadavg()[0]:.1f}; {options.repeat} runs each\n")
        run(repo, ["validate", "--config", str(projects["config"])], work / "prime")  # demo data, disk cache
        walls, cpus, said = [], [], ""
        for _ in range(options.repeat):
            wall, cpu, said = run(repo, ["--help"], work / "unused")
            walls.append(wall)
            cpus.append(cpu)
        line("northstar --help", walls, cpus, "")
        for name, path in projects.items():
            warm = work / f"warm-{name.replace('/', '-')}"
            run(repo, ["validate", "--config", str(path)], warm)
            for mode in ("cold", "warm"):
                walls, cpus = [], []
                for index in range(options.repeat):
                    cache = warm if mode == "warm" else work / f"cold-{name.replace('/', '-')}-{index}"
                    wall, cpu, said = run(repo, ["validate", "--config", str(path)], cache)
                    walls.append(wall)
                    cpus.append(cpu)
                line(f"validate {name} ({mode})", walls, cpus, said)
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
