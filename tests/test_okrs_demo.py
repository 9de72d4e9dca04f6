"""The demo's okrs.yaml: valid, a real team's shape, and a mix of statuses whenever it is generated."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from metrics.demo.generate import generate_demo
from metrics.engine import Engine
from metrics.load import load_project
from metrics.okrs.scoring import score
from tests.conftest import ROOT

CONFIG = ROOT / "config"


def test_the_shipped_okrs_are_valid_and_shaped_like_a_team_s() -> None:
    text = (CONFIG / "okrs.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../docs/schema/okrs.schema.json"
    project = load_project(CONFIG, check_data=False)
    assert [str(p) for p in project.problems if p.location and "okrs.yaml" in p.location.file] == []
    assert len(project.okrs) == 3
    krs = [kr for objective in project.okrs for kr in objective.key_results]
    assert 8 <= len(krs) <= 10
    assert all(objective.period == "current_quarter" for objective in project.okrs)
    assert {kr.metric for kr in krs} <= set(project.metrics)


def _demo_project(tmp_path: Path, end: dt.date, events: int):  # type: ignore[no-untyped-def]
    summary = generate_demo(tmp_path / "data" / "demo", events=events, seed=7, end=end)
    config = tmp_path / "config"
    config.mkdir()
    for name in ("project.yaml", "metrics.yaml", "okrs.yaml"):
        (config / name).write_text((CONFIG / name).read_text())
    sources = (CONFIG / "sources.yaml").read_text()
    (config / "sources.yaml").write_text(sources.replace("../data/demo/events.parquet", str(summary.path)))
    project = load_project(config, check_data=False)
    assert not project.problems, [str(p) for p in project.problems]
    return project


@pytest.mark.slow
@pytest.mark.parametrize(
    "end",
    [
        dt.date(2026, 1, 4),  # day 4 of a quarter: the forecasts lean on last quarter's history
        dt.date(2026, 5, 15),  # the middle of a quarter
        dt.date(2026, 9, 29),  # the day before a quarter ends: little is left to happen
    ],
)
def test_the_demo_mixes_on_track_at_risk_and_off_track(tmp_path: Path, end: dt.date) -> None:
    project = _demo_project(tmp_path, end, events=100_000)
    card = score(project, Engine(project, today=lambda: end))
    statuses = Counter(kr.status for objective in card.objectives for kr in objective.key_results)
    assert statuses["on_track"] >= 1 and statuses["at_risk"] >= 1 and statuses["off_track"] >= 1, (
        f"{end}: {dict(statuses)}\n{card.to_table()}"
    )
    assert all(kr.problem is None for objective in card.objectives for kr in objective.key_results)
