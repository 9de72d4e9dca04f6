"""The contract's OKR arithmetic, pinned with hand-computed numbers (no engine, no data)."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.definitions.models import StatusThresholds
from metrics.okrs.status import (
    expected_progress,
    key_result_status,
    objective_progress,
    objective_status,
    planned_value,
    progress_of,
    share_elapsed,
)

D = dt.date
OCT1, OCT10 = D(2026, 10, 1), D(2026, 10, 10)  # a 10-day period: day k is k/10 of it


def test_share_elapsed_counts_the_day_itself() -> None:
    assert share_elapsed(OCT1, OCT1, OCT10) == pytest.approx(0.1)
    assert share_elapsed(D(2026, 10, 5), OCT1, OCT10) == pytest.approx(0.5)
    assert share_elapsed(OCT10, OCT1, OCT10) == pytest.approx(1.0)
    # Q4 2026 has 31 + 30 + 31 = 92 days; 2026-11-15 is its day 46
    assert share_elapsed(D(2026, 11, 15), D(2026, 10, 1), D(2026, 12, 31)) == pytest.approx(46 / 92)


def test_linear_pace_without_milestones() -> None:
    assert expected_progress(D(2026, 10, 5), OCT1, OCT10, 0.0, 20.0) == pytest.approx(0.5)
    assert expected_progress(OCT1, OCT1, OCT10, 0.31, 0.45) == pytest.approx(0.1)
    assert expected_progress(OCT10, OCT1, OCT10, 0.31, 0.45) == pytest.approx(1.0)


def test_pace_through_milestones() -> None:
    milestones = {D(2026, 10, 3): 4.0, D(2026, 10, 6): 14.0}  # at f = 0.3 and f = 0.6
    # Oct 2 (f = 0.2): on the segment (0, 0) .. (0.3, 4): 4 * 0.2 / 0.3 = 2.6667, / 20
    assert planned_value(D(2026, 10, 2), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(8 / 3)
    assert expected_progress(D(2026, 10, 2), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(2 / 15)
    # Oct 5 (f = 0.5): (0.3, 4) .. (0.6, 14): 4 + 10 * 0.2 / 0.3 = 10.6667 -> 0.53333
    assert expected_progress(D(2026, 10, 5), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(32 / 60)
    # on a milestone day the plan is the milestone: Oct 6 -> 14 / 20
    assert expected_progress(D(2026, 10, 6), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(0.7)
    # Oct 8 (f = 0.8): (0.6, 14) .. (1, 20): 14 + 6 * 0.2 / 0.4 = 17 -> 0.85
    assert expected_progress(D(2026, 10, 8), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(0.85)


def test_pace_of_a_decrease_key_result() -> None:
    # baseline 2000 ms, target 1500 ms, milestone 1900 ms on Oct 5 (f = 0.5)
    milestones = {D(2026, 10, 5): 1900.0}
    # Oct 8 (f = 0.8): 1900 + (1500 - 1900) * 0.3 / 0.5 = 1660 -> (1660 - 2000) / (1500 - 2000) = 0.68
    assert planned_value(D(2026, 10, 8), OCT1, OCT10, 2000.0, 1500.0, milestones) == pytest.approx(1660.0)
    assert expected_progress(D(2026, 10, 8), OCT1, OCT10, 2000.0, 1500.0, milestones) == pytest.approx(0.68)


def test_the_last_day_expects_the_target_even_with_a_milestone_on_it() -> None:
    milestones = {OCT10: 15.0}
    assert expected_progress(OCT10, OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(1.0)
    assert expected_progress(D(2026, 10, 5), OCT1, OCT10, 0.0, 20.0, milestones) == pytest.approx(0.5)


def test_progress_is_unclipped_and_signed_by_the_target() -> None:
    assert progress_of(10.0, 0.0, 20.0) == pytest.approx(0.5)
    assert progress_of(25.0, 0.0, 20.0) == pytest.approx(1.25)
    assert progress_of(0.5, 2 / 3, 0.8) == pytest.approx(-1.25)
    assert progress_of(720.0, 1000.0, 500.0) == pytest.approx(0.56)  # a decrease KR moving the right way
    assert progress_of(1100.0, 1000.0, 500.0) == pytest.approx(-0.2)


DEFAULT = StatusThresholds()


@pytest.mark.parametrize(
    ("probability", "status"),
    [
        (0.7, "on_track"),
        (0.95, "on_track"),
        (0.69, "at_risk"),
        (0.3, "at_risk"),
        (0.29, "off_track"),
        (0.0, "off_track"),
    ],
)
def test_status_by_probability(probability: float, status: str) -> None:
    # the pace would say off_track: with a forecast the probability decides
    got = key_result_status(
        ended=False, progress=0.0, expected=0.9, probability=probability, thresholds=DEFAULT
    )
    assert got == status


@pytest.mark.parametrize(
    ("progress", "status"),
    [
        (0.5, "on_track"),
        (0.4, "on_track"),
        (0.39, "at_risk"),
        (0.25, "at_risk"),
        (0.24, "off_track"),
        (-1.0, "off_track"),
    ],
)
def test_status_by_pace_without_a_forecast(progress: float, status: str) -> None:
    got = key_result_status(
        ended=False, progress=progress, expected=0.5, probability=None, thresholds=DEFAULT
    )
    assert got == status


def test_status_after_the_period_ignores_forecast_and_pace() -> None:
    assert (
        key_result_status(ended=True, progress=1.0, expected=1.0, probability=0.0, thresholds=DEFAULT)
        == "achieved"
    )
    assert (
        key_result_status(ended=True, progress=0.99, expected=1.0, probability=1.0, thresholds=DEFAULT)
        == "missed"
    )
    assert (
        key_result_status(ended=True, progress=None, expected=None, probability=None, thresholds=DEFAULT)
        == "missed"
    )


def test_a_key_result_that_cannot_be_read_is_off_track() -> None:
    got = key_result_status(ended=False, progress=None, expected=0.1, probability=None, thresholds=DEFAULT)
    assert got == "off_track"


def test_custom_thresholds() -> None:
    strict = StatusThresholds(
        on_track_probability=0.9, at_risk_probability=0.5, on_track_pace_gap=0.0, at_risk_pace_gap=0.05
    )
    assert (
        key_result_status(ended=False, progress=0.0, expected=0.0, probability=0.8, thresholds=strict)
        == "at_risk"
    )
    assert (
        key_result_status(ended=False, progress=0.0, expected=0.0, probability=0.4, thresholds=strict)
        == "off_track"
    )
    assert (
        key_result_status(ended=False, progress=0.49, expected=0.5, probability=None, thresholds=strict)
        == "at_risk"
    )
    assert (
        key_result_status(ended=False, progress=0.44, expected=0.5, probability=None, thresholds=strict)
        == "off_track"
    )


def test_objective_progress_clips_and_weighs() -> None:
    # (1.25 -> 1) * 2 + 0.5 * 1 + (-0.3 -> 0) * 1 = 2.5, / 4
    assert objective_progress([(1.25, 2.0), (0.5, 1.0), (-0.3, 1.0)]) == pytest.approx(0.625)
    # a KR that cannot be read counts as 0; a KR of weight 0 does not count
    assert objective_progress([(None, 1.0), (0.8, 1.0), (0.1, 0.0)]) == pytest.approx(0.4)


def test_objective_status() -> None:
    assert objective_status(False, ["on_track", "at_risk", "on_track"]) == "at_risk"
    assert objective_status(False, ["on_track", "off_track", "at_risk"]) == "off_track"
    assert objective_status(False, ["on_track", "on_track"]) == "on_track"
    assert objective_status(True, ["achieved", "achieved"]) == "achieved"
    assert objective_status(True, ["achieved", "missed"]) == "missed"
