"""A small copy of the demo project for the dashboard's tests, browser test and benchmark.

`make_demo(dir, events)` generates the demo's events into `dir/data/events.parquet` and copies the
shipped `config/` YAML next to it with the source path (and the data root) pointing there, so the app runs on exactly
the project a PM gets, only smaller.

The demo ends on a fixed day, `MADE_LAST`, and the tests on it run on the day after, `MADE_TODAY`:
the `made_today` fixture (tests/conftest.py) pins `NORTHSTAR_TODAY` for the tests in this process, and
`pinned_env` gives the environment of the app processes they serve. So the dates the tests name (the
autumn of 2026, the default range and as-of, "current_quarter") hold on any day they run.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from metrics.definitions.clock import TODAY_VARIABLE
from metrics.demo.generate import DemoSummary, generate_demo

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
# The last day of every demo `make_demo` writes (the tests name days of Sep to Nov 2026 on it), and
# the day its tests run as: the data is complete through yesterday, Q4 2026 is the current quarter.
# The small demo's draws move with its last day: on this one the tests' fixed ranges hold what they
# look for (a Data warning, cohorts that finished the activation funnel in October, ...).
MADE_LAST = dt.date(2026, 12, 6)
MADE_TODAY = MADE_LAST + dt.timedelta(days=1)


def pinned_env(**extra: str) -> dict[str, str]:
    """The environment of an app process the tests serve: this one's, with today pinned to
    `MADE_TODAY` (`NORTHSTAR_TODAY`), and `extra`."""
    return {**os.environ, TODAY_VARIABLE: MADE_TODAY.isoformat(), **extra}


# Used only while the shipped config/ has no okrs.yaml of its own (the OKR issue writes it).
FALLBACK_OKRS = """\
okrs:
  - id: first_week_success
    objective: New users succeed in their first week
    owner: growth-pm
    period: current_quarter
    key_results:
      - id: activation_up
        metric: activation
        read: trailing_28d
        baseline: 0.05
        target: 0.12
      - id: signups_quarter
        metric: signups
        read: period_to_date
        target: 600
        weight: 2
  - id: fast_product
    objective: The product feels fast
    owner: platform-eng
    period: current_quarter
    key_results:
      - id: p90_down
        metric: p90_page_load
        read: trailing_28d
        target: 900
      - id: writers_up
        metric: weekly_active_writers
        read: latest
        target: 60
"""


def make_demo(
    folder: Path, events: int = 30_000, seed: int = 7, end: dt.date = MADE_LAST
) -> tuple[Path, DemoSummary]:
    """(config dir, what the generator wrote): a demo of the 365 days that end on `end`."""
    summary = generate_demo(folder / "data", events=events, seed=seed, end=end)
    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    for file in sorted((ROOT / "config").glob("*.yaml")):
        shutil.copy(file, config / file.name)
    if not (config / "okrs.yaml").exists():
        (config / "okrs.yaml").write_text(FALLBACK_OKRS, encoding="utf-8")
    yaml = YAML(typ="rt")
    sources_file = config / "sources.yaml"
    tree = yaml.load(sources_file.read_text(encoding="utf-8"))
    for source in tree["sources"].values():
        if source.get("type") in ("parquet", "csv", "ndjson"):
            source["path"] = "../data/events.parquet"
    with sources_file.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    project_file = config / "project.yaml"
    settings = yaml.load(project_file.read_text(encoding="utf-8"))
    settings["data_roots"] = ["../data"]
    with project_file.open("w", encoding="utf-8") as out:
        yaml.dump(settings, out)
    return config, summary


def chart_specs(at: Any) -> list[dict[str, Any]]:
    """The Plotly figures an AppTest run placed, as dicts (title, data, layout)."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def copy_box_texts(node: Any) -> list[str]:
    """The texts of the copy boxes (`dashboard.views.common.copy_box`) under an AppTest node (the
    whole run, or `at.sidebar`), as the copy button copies them: the box's text, unescaped."""
    found = (re.search(r"<code>(.*?)</code>", str(box.value), re.DOTALL) for box in node.get("html"))
    return [html.unescape(match.group(1)) for match in found if match]


def chart_titles(at: Any) -> list[str]:
    return [spec["layout"].get("title", {}).get("text", "") for spec in chart_specs(at)]


def run_main(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """`northstar ARGV` in this process (`dashboard.cli.main`): its exit code, standard output and
    standard error, as `capsys` caught them."""
    from dashboard.cli import main

    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
