"""annotations.yaml: loading and located validation, `data_start+Nd`, the charts that draw the events,
and the review pack that lists them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboard import figures
from dashboard.pack.build import plan_pack
from dashboard.pack.html import render_summary
from dashboard.pack.notes import pack_events
from metrics.definitions.models import Annotation
from metrics.definitions.project import Project
from metrics.demo.generate import AI_LAUNCH_DAYS_BEFORE_END, PERF_RELEASE_DAYS_BEFORE_END
from metrics.engine import Engine
from metrics.load import load_project, project_from_dicts
from tests.conftest import DEMO_END

D = dt.date
FIRST_DAY = D(2026, 3, 2)  # the first day of the small project's data


def _project(folder: Path, annotations: str | None) -> Path:
    """A small project: events on every day of March 2026 (UTC), two metrics."""
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(30)]
    frame = pl.DataFrame(
        {
            "ts": [dt.datetime.combine(d, dt.time(12)) for d in days],
            "user_id": [f"u{i}" for i in range(len(days))],
            "event": ["signup"] * len(days),
        }
    )
    frame.write_csv(folder / "events.csv")
    (folder / "sources.yaml").write_text(
        "sources:\n  events:\n    type: csv\n    path: events.csv\n"
        "    columns: {timestamp: ts, user: user_id, event: event}\n"
    )
    (folder / "metrics.yaml").write_text(
        "metrics:\n  signups: {type: count, source: events, filter: {event: signup}}\n"
        "  dau: {type: active_users, source: events, window: 1}\n"
    )
    if annotations is not None:
        (folder / "annotations.yaml").write_text(annotations)
    return folder


def _problems(project: Project) -> list[str]:
    return [f"{p.location.line}:{p.location.column}: {p.message}" for p in project.problems if p.location]


def test_the_file_is_optional(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, None))
    assert project.ok, project.problems
    assert project.annotations == {}


def test_annotations_load_with_their_days_resolved(tmp_path: Path) -> None:
    project = load_project(
        _project(
            tmp_path,
            "annotations:\n"
            "  launch:\n    label: Launch\n    date: 2026-03-10\n"
            "  campaign:\n    label: Campaign\n    date: data_start+5d\n    end: data_start+9d\n"
            "    metrics: [signups]\n",
        )
    )
    assert project.ok, project.problems
    launch, campaign = project.annotations["launch"], project.annotations["campaign"]
    assert (launch.first, launch.last) == (D(2026, 3, 10), D(2026, 3, 10))
    assert (campaign.first, campaign.last) == (
        FIRST_DAY + dt.timedelta(days=5),
        FIRST_DAY + dt.timedelta(days=9),
    )
    assert project.annotations_for("signups") == (campaign, launch)  # oldest first
    assert project.annotations_for("dau") == (launch,)  # the campaign names signups only
    assert list(project.annotations_between(D(2026, 3, 12), D(2026, 3, 31))) == []  # after both
    assert list(project.annotations_between(D(2026, 3, 11), D(2026, 3, 11))) == ["campaign"]  # its last day
    assert list(project.annotations_between(D(2026, 3, 1), D(2026, 3, 31))) == ["campaign", "launch"]


def test_every_problem_is_located(tmp_path: Path) -> None:
    text = (
        "annotations:\n"  # 1
        "  bad_day:\n"  # 2
        "    label: A\n"  # 3
        "    date: 2026-02-30\n"  # 4
        "  backwards:\n"  # 5
        "    label: B\n"  # 6
        "    date: 2026-03-10\n"  # 7
        "    end: 2026-03-01\n"  # 8
        "  typo_metric:\n"  # 9
        "    label: C\n"  # 10
        "    date: 2026-03-10\n"  # 11
        "    metrics: [dau, sigups]\n"  # 12
        "  odd_key:\n"  # 13
        "    label: D\n"  # 14
        "    date: 2026-03-10\n"  # 15
        "    colour: red\n"  # 16
        "  BadId:\n"  # 17
        "    label: E\n"  # 18
        "    date: 2026-03-10\n"  # 19
        "  relative_typo:\n"  # 20
        "    label: F\n"  # 21
        "    date: data_start+5\n"  # 22
        "  no_label:\n"  # 23
        "    lable: G\n"  # 24
        "    date: 2026-03-10\n"  # 25
    )
    project = load_project(_project(tmp_path, text))
    found = _problems(project)
    assert found == [
        "4:11: '2026-02-30' is not a real date; write it as YYYY-MM-DD (or data_start+Nd)",
        "8:10: annotation 'backwards' ends (2026-03-01) before its date (2026-03-10)",
        "12:20: annotation 'typo_metric' names unknown metric 'sigups'",
        "16:5: unknown key 'colour'",
        "17:3: 'BadId' is not a valid annotation id",
        "22:11: 'data_start+5' is not a real date; write it as YYYY-MM-DD (or data_start+Nd)",
        "24:5: unknown key 'lable'",
    ]
    hints = {p.message: p.hint for p in project.problems}
    assert hints["annotation 'typo_metric' names unknown metric 'sigups'"] == "did you mean 'signups'?"
    assert hints["unknown key 'lable'"] == "did you mean 'label'?"
    # the valid ones still load; the broken ones are left out
    assert set(project.annotations) == {"typo_metric"}


def test_a_relative_day_without_readable_data_is_a_located_error(tmp_path: Path) -> None:
    folder = _project(tmp_path, "annotations:\n  x:\n    label: X\n    date: data_start+3d\n")
    (folder / "events.csv").unlink()
    project = load_project(folder)
    assert any(
        p.location
        and p.location.file.endswith("annotations.yaml")
        and (p.location.line, p.location.column) == (4, 11)
        for p in project.problems
    ), project.problems


def test_the_shipped_demo_annotates_its_two_launches(small_demo: Path) -> None:
    project = load_project(small_demo)
    assert project.ok, project.problems
    launch = project.annotations["ai_summary_launch"]
    release = project.annotations["performance_release"]
    # the generator's own days (metrics/demo/generate.py), counted from the data's end
    assert launch.first == DEMO_END - dt.timedelta(days=AI_LAUNCH_DAYS_BEFORE_END)
    assert release.first == DEMO_END - dt.timedelta(days=PERF_RELEASE_DAYS_BEFORE_END)
    assert launch.metrics is None and release.metrics == ["p90_page_load"]


# --- the figures ----------------------------------------------------------------------------------


def _series(start: dt.date, days: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": [start + dt.timedelta(days=i) for i in range(days)],
            "value": [float(i) for i in range(days)],
        }
    )


def _events(**items: dict[str, Any]) -> tuple[Annotation, ...]:
    return tuple(Annotation.model_validate(v) for v in items.values())


def _layout(fig: go.Figure) -> dict[str, Any]:
    return json.loads(fig.to_json())["layout"]


def test_a_chart_draws_a_line_for_a_day_and_a_band_for_a_span_in_its_range() -> None:
    events = _events(
        day={"label": "Launch <b>v2</b>", "date": "2026-03-10", "description": "Big one"},
        span={"label": "Campaign", "date": "2026-03-20", "end": "2026-04-10"},
        outside={"label": "Old", "date": "2026-01-05"},
    )
    fig = figures.metric_timeseries(
        _series(D(2026, 3, 1), 31),
        label="Sign-ups",
        unit="count",
        start=D(2026, 3, 1),
        end=D(2026, 3, 31),
        grain="day",
        annotations=events,
    )
    layout = _layout(fig)
    lines = [s for s in layout["shapes"] if s["type"] == "line"]
    bands = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert [line["x0"][:10] for line in lines] == ["2026-03-10"]
    assert len(bands) == 1
    assert bands[0]["x0"].startswith("2026-03-19T12") and bands[0]["x1"].startswith(
        "2026-03-31T12"
    )  # clipped
    labels = [a for a in layout["annotations"] if a.get("name") == "event"]
    assert [a["text"] for a in labels] == ["Launch &lt;b&gt;v2&lt;/b&gt;", "Campaign"]  # user text is inert
    assert "Big one" in labels[0]["hovertext"] and "Mar 10, 2026" in labels[0]["hovertext"]


def test_a_chart_without_events_in_its_range_draws_none() -> None:
    fig = figures.metric_timeseries(
        _series(D(2026, 3, 1), 10),
        label="Sign-ups",
        unit="count",
        start=D(2026, 3, 1),
        end=D(2026, 3, 10),
        grain="day",
        annotations=_events(late={"label": "Later", "date": "2026-03-11"}),
    )
    layout = _layout(fig)
    assert not layout.get("shapes") and not layout.get("annotations")


def test_key_result_charts_draw_their_metrics_events_and_sparklines_stay_unlabelled() -> None:
    target = figures.TargetPath(start=D(2026, 1, 1), end=D(2026, 3, 31), baseline=1.0, target=2.0)
    history = pl.DataFrame({"date": [D(2026, 1, 1), D(2026, 2, 1)], "value": [1.0, 1.4]})
    events = _events(x={"label": "Release", "date": "2026-02-15"})
    full = _layout(figures.kr_chart(history, title="KR", unit="count", target=target, annotations=events))
    small = _layout(
        figures.kr_chart(history, title="KR", unit="count", target=target, annotations=events, compact=True)
    )
    assert any(s["type"] == "line" and s["x0"].startswith("2026-02-15") for s in full["shapes"])
    assert [a["text"] for a in full["annotations"] if a.get("name") == "event"] == ["Release"]
    assert any(s["type"] == "line" and s["x0"].startswith("2026-02-15") for s in small["shapes"])
    assert not [a for a in small.get("annotations", []) if a.get("name") == "event"]


# --- the review pack ------------------------------------------------------------------------------


def test_the_pack_charts_and_lists_the_events_of_its_period(small_demo: Path) -> None:
    project = load_project(small_demo)
    review = project.settings.review.model_copy(update={"pinned_metrics": ["p90_page_load"]})
    project = dataclasses.replace(project, settings=project.settings.model_copy(update={"review": review}))
    as_of = DEMO_END
    plan = plan_pack(project, Engine(project, today=lambda: as_of), as_of=as_of, base_url="http://x")
    release = project.annotations["performance_release"]
    pinned = next(i for i in plan.items if i.kind == "metric" and i.id == "p90_page_load")
    assert release.label in [a.text for a in pinned.figure.layout.annotations]
    kr = next(i for i in plan.items if i.kind == "key_result" and i.id == "pages_under_1400ms")
    assert release.label in [a.text for a in kr.figure.layout.annotations]
    signups = next(i for i in plan.items if i.kind == "key_result" and i.id == "signups_2400")
    assert release.label not in [a.text for a in signups.figure.layout.annotations]  # not its metric

    events = pack_events(project, plan)
    assert events.start <= release.first <= events.end
    summary = render_summary(project, plan.scorecard, plan.items, plan.stamp, events=events)
    section = summary.split("Annotations (", 1)[1]
    assert "AI summary launch (all metrics)" in section
    assert "Performance release (Page load time (p90))" in section
    assert section.index("AI summary launch") < section.index("Performance release")  # oldest first


def test_project_from_dicts_takes_annotations() -> None:
    project = project_from_dicts(
        sources={"e": {"type": "csv", "path": "x.csv", "columns": {"timestamp": "ts"}}},
        metrics={"n": {"type": "count", "source": "e"}},
        annotations={"x": {"label": "X", "date": "2026-01-02", "metrics": ["n"]}},
    )
    assert project.annotations["x"].first == D(2026, 1, 2)
    with pytest.raises(Exception, match="unknown metric 'm'"):
        project_from_dicts(
            sources={"e": {"type": "csv", "path": "x.csv", "columns": {"timestamp": "ts"}}},
            metrics={"n": {"type": "count", "source": "e"}},
            annotations={"x": {"label": "X", "date": "2026-01-02", "metrics": ["m"]}},
        )


def test_a_duplicate_id_or_key_leaves_out_that_annotation_only(tmp_path: Path) -> None:
    text = (
        "annotations:\n"  # 1
        "  a:\n    label: A\n    date: 2026-03-10\n"  # 2-4
        "  a:\n    label: B\n    date: 2026-03-11\n"  # 5-7
        "  b:\n    label: B\n    date: 2026-03-12\n    label: C\n"  # 8-11
        "  c:\n    label: C\n    date: 2026-03-13\n"  # 12-14
    )
    project = load_project(_project(tmp_path, text))
    assert _problems(project) == ["5:3: duplicate key 'a'", "11:5: duplicate key 'label'"]
    assert list(project.annotations) == ["c"]
