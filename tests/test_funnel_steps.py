"""The funnels page's step counts are the funnel metric's own entrants and converted users.

Regression (issue 13): with a breakdown, the page counted step 1 as distinct users with a step-1
event per group, so a user who entered on two platforms counted in both groups (96/55/24 started
where the funnel metric has 94/54/23). The engine's rule groups a user by the value on their first
step-1 event in the period; the page now asks the engine for its counts instead of counting.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from dashboard import derived
from metrics.definitions.models import FunnelMetric
from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from tests.engine_fixtures import Row, make_project

T = dt.datetime(2026, 3, 2, 9)
H = dt.timedelta(hours=1)
ROWS = [
    # u1 starts on web, signs up again on iOS the next day, then creates and invites: web only
    Row(T, "u1", "signup", platform="web"),
    Row(T + 24 * H, "u1", "signup", platform="ios"),
    Row(T + 25 * H, "u1", "create", platform="ios"),
    Row(T + 26 * H, "u1", "invite", platform="ios"),
    # u2 starts on iOS and stops there
    Row(T + 2 * H, "u2", "signup", platform="ios"),
    # u3 starts on Android and creates on web
    Row(T + 3 * H, "u3", "signup", platform="android"),
    Row(T + 4 * H, "u3", "create", platform="web"),
    # u4 starts on iOS, later signs up on web and does every step: iOS
    Row(T + 5 * H, "u4", "signup", platform="ios"),
    Row(T + 30 * H, "u4", "signup", platform="web"),
    Row(T + 31 * H, "u4", "create", platform="web"),
    Row(T + 32 * H, "u4", "invite", platform="web"),
]
FUNNEL = {"type": "funnel", "source": "events", "steps": ["signup", "create", "invite"], "within": 7}
START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 15)

# By hand from the contract: each user in the group of their first sign-up.
BY_HAND = {
    "web": [1, 1, 1],  # u1
    "ios": [2, 1, 1],  # u2, u4
    "android": [1, 1, 0],  # u3
}


def _steps(tmp_path: Path, by: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    project = make_project(tmp_path, ROWS, {"activation": FUNNEL})
    metric = project.metrics["activation"]
    assert isinstance(metric, FunnelMetric)
    extra = derived.funnel_metrics("activation", metric)
    engine = Engine(project).with_metrics(extra)
    span = MetricRequest((*extra, "activation"), START, END, by=by, span_end=END)
    result = engine.compute(span)
    return derived.funnel_steps(result, "activation", metric, by), result.frame


def test_a_user_who_entered_on_two_platforms_counts_in_one_group(tmp_path: Path) -> None:
    steps, _ = _steps(tmp_path, "platform")
    got = {
        group: [int(u) for u in part.sort("step")["users"]]
        for (group,), part in steps.partition_by("platform", as_dict=True).items()
    }
    assert {g: v for g, v in got.items() if any(v)} == BY_HAND


def test_groups_add_up_to_the_funnel_without_a_breakdown(tmp_path: Path) -> None:
    grouped, _ = _steps(tmp_path / "by", "platform")
    total, _ = _steps(tmp_path / "all", None)
    summed = grouped.group_by("step").agg(pl.col("users").sum()).sort("step")["users"].to_list()
    assert summed == total.sort("step")["users"].to_list() == [4, 3, 2]
    assert total["step_label"].to_list() == ["signup", "create", "invite"]


@pytest.mark.parametrize("by", [None, "platform"])
def test_the_steps_are_the_engines_entrants_and_conversions(tmp_path: Path, by: str | None) -> None:
    steps, frame = _steps(tmp_path, by)
    funnel = frame.filter(pl.col("metric") == "activation")
    first = steps.filter(pl.col("step") == 1)["users"].sum()
    last = steps.filter(pl.col("step") == 3)["users"].sum()
    assert first == funnel["denominator"].sum() and last == funnel["numerator"].sum()
    if by is None:
        assert last / first == pytest.approx(funnel["value"].item())  # the page's conversion is the metric's
