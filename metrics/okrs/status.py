"""The arithmetic of the contract (CONTRACT.md, Key results): pace, progress and statuses.

Plain functions of numbers and dates: no engine, no data. `metrics.okrs.scoring` applies them to
each key result's readings.

* `progress` = (current - baseline) / (target - baseline), unclipped.
* `expected_progress`: the piecewise straight line through (0, baseline), (f(m), value) for each
  milestone m and (1, target), at f(as-of), as a fraction of (target - baseline); f(d) is the share
  of the period's days elapsed by day d, counting d.
* statuses: after the period `achieved` (progress >= 1) or `missed`; before, by the forecast's
  probability of landing when there is a forecast, else by pace (thresholds from project.yaml).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics.definitions.models import StatusThresholds
    from metrics.okrs.scorecard import Status

_WORST_FIRST: tuple[Status, ...] = ("off_track", "at_risk", "on_track")


def share_elapsed(day: dt.date, start: dt.date, end: dt.date) -> float:
    """f(d) = (d - start + 1) / (end - start + 1): the share of the period's days elapsed by `day`."""
    return ((day - start).days + 1) / ((end - start).days + 1)


def planned_value(
    day: dt.date,
    start: dt.date,
    end: dt.date,
    baseline: float,
    target: float,
    milestones: Mapping[dt.date, float] | None = None,
) -> float:
    """The value the plan expects on `day`: the line through (0, baseline), milestones, (1, target).

    A milestone on the period's last day gives way to the target (the last day expects the target).
    """
    points = [(0.0, baseline)]
    for when, value in sorted((milestones or {}).items()):
        share = share_elapsed(when, start, end)
        if 0.0 < share < 1.0:
            points.append((share, value))
    points.append((1.0, target))
    at = min(max(share_elapsed(day, start, end), 0.0), 1.0)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if at <= x1:
            return y0 + (y1 - y0) * (at - x0) / (x1 - x0)
    return target


def expected_progress(
    day: dt.date,
    start: dt.date,
    end: dt.date,
    baseline: float,
    target: float,
    milestones: Mapping[dt.date, float] | None = None,
) -> float:
    """The planned value on `day` as a fraction of (target - baseline)."""
    return (planned_value(day, start, end, baseline, target, milestones) - baseline) / (target - baseline)


def progress_of(current: float, baseline: float, target: float) -> float:
    """(current - baseline) / (target - baseline), unclipped."""
    return (current - baseline) / (target - baseline)


def key_result_status(
    *,
    ended: bool,
    progress: float | None,
    expected: float | None,
    probability: float | None,
    thresholds: StatusThresholds,
) -> Status:
    """The contract's status rules. A KR that cannot be read (progress None) is off track / missed."""
    if ended:
        return "achieved" if progress is not None and progress >= 1.0 else "missed"
    if progress is None:
        return "off_track"
    if probability is not None:
        if probability >= thresholds.on_track_probability:
            return "on_track"
        if probability >= thresholds.at_risk_probability:
            return "at_risk"
        return "off_track"
    pace = 0.0 if expected is None else expected
    if progress >= pace - thresholds.on_track_pace_gap:
        return "on_track"
    if progress >= pace - thresholds.at_risk_pace_gap:
        return "at_risk"
    return "off_track"


def objective_progress(key_results: Iterable[tuple[float | None, float]]) -> float:
    """Weight-averaged KR progress, each clipped to [0, 1]; a KR that cannot be read counts as 0."""
    total = weights = 0.0
    for progress, weight in key_results:
        weights += weight
        total += weight * (0.0 if progress is None else min(max(progress, 0.0), 1.0))
    return total / weights if weights > 0 else 0.0


def objective_status(ended: bool, statuses: Sequence[Status]) -> Status:
    """After the period: achieved when every KR is; before: the worst KR status."""
    if ended:
        return "achieved" if statuses and all(s == "achieved" for s in statuses) else "missed"
    for status in _WORST_FIRST:
        if status in statuses:
            return status
    return "on_track"


__all__ = [
    "expected_progress",
    "key_result_status",
    "objective_progress",
    "objective_status",
    "planned_value",
    "progress_of",
    "share_elapsed",
]
