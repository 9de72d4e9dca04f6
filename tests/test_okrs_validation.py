"""okrs.yaml errors: each one located on the offending line, all reported at once, never a crash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from metrics.load import load_project

SOURCES = """\
sources:
  events:
    type: parquet
    path: events.parquet
    columns: {timestamp: ts, user: user_id, event: event}
"""
METRICS = """\
metrics:
  signups: {type: count, source: events, filter: {event: signup}}
  p90_load: {type: percentile, source: events, column: load_ms, percentile: 0.9, direction: decrease}
  d30_retention: {type: retention, source: events, cohort_event: signup, offset: 30}
  activation: {type: funnel, source: events, steps: [signup, create_note], within: 7}
"""


def _problems(tmp_path: Path, okrs: str) -> list[str]:
    pl.DataFrame(
        {
            "ts": [dt.datetime(2026, 10, 1, 12)],
            "user_id": ["u1"],
            "event": ["signup"],
            "load_ms": [100.0],
        }
    ).write_parquet(tmp_path / "events.parquet")
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "metrics.yaml").write_text(METRICS)
    (tmp_path / "okrs.yaml").write_text(okrs)
    project = load_project(tmp_path)
    return [str(p).replace(str(tmp_path) + "/", "") for p in project.problems]


def test_a_target_on_the_wrong_side_of_the_baseline(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
okrs:
  - id: speed
    objective: Pages load fast
    period: 2026-Q4
    key_results:
      - id: faster
        metric: p90_load
        read: trailing_7d
        baseline: 1500
        target: 1800
      - id: more
        metric: signups
        direction: decrease
        baseline: 100
        target: 200
""",
    )
    assert problems == [
        "okrs.yaml:10:17: target 1800 is above the baseline 1500, but metric 'p90_load''s direction is decrease "
        "(set `direction: increase` on the key result, or fix the target)",
        "okrs.yaml:15:17: target 200 is above the baseline 100, but the key result's direction is decrease "
        "(set `direction: increase` on the key result, or fix the target)",
    ]


def test_a_period_to_date_cohort_read_that_can_never_mature(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
okrs:
  - id: keep
    objective: Keep new users
    period: {start: 2026-10-01, end: 2026-10-21}
    key_results:
      - id: d30
        metric: d30_retention
        read: period_to_date
        target: 0.2
      - id: act
        metric: activation
        target: 0.4
      - id: d30_trailing
        metric: d30_retention
        read: trailing_28d
        target: 0.2
""",
    )
    assert problems == [
        "okrs.yaml:8:15: d30_retention reads cohorts 30 days after they start, so a period_to_date read of "
        "this 21-day period never has a mature cohort (read it trailing_<N>d (or latest), which counts "
        "cohorts from before the period)",
    ]


def test_a_quarter_leaves_room_for_a_week_long_funnel(tmp_path: Path) -> None:
    okrs = """\
okrs:
  - id: act
    objective: Activate
    period: 2026-Q4
    key_results:
      - {id: act, metric: activation, target: 0.4}
      - {id: week, metric: activation, target: 0.4, read: period_to_date}
"""
    assert _problems(tmp_path, okrs) == []


@pytest.mark.parametrize(
    ("key_result", "message"),
    [
        ("{id: k, metric: signupz, target: 5}", "unknown metric 'signupz' (did you mean 'signups'?)"),
        ("{id: k, metric: signups, baseline: 5, target: 5}", "target equals the baseline (5)"),
        ("{id: k, metric: signups, read: trailing_0d, target: 5}", "unknown read 'trailing_0d'"),
        ("{id: k, metric: signups, target: 5, weight: -1}", "greater than or equal to 0"),
        (
            "{id: k, metric: signups, target: 5, milestones: {2027-01-15: 3}}",
            "milestone 2027-01-15 is outside",
        ),
    ],
)
def test_each_key_result_error_is_reported_with_its_line(
    tmp_path: Path, key_result: str, message: str
) -> None:
    okrs = f"""\
okrs:
  - id: grow
    objective: Grow
    period: 2026-Q4
    key_results:
      - {{id: fine, metric: signups, target: 10}}
      - {key_result}
"""
    problems = _problems(tmp_path, okrs)
    assert len(problems) == 1, problems
    assert problems[0].startswith("okrs.yaml:7:")
    assert message in problems[0]
