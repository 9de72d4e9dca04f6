"""Launch impact (`metrics.okrs.impact`): a big step is detected and a flat series is not; the numbers
are what the docstring says against an independent computation; a small back-test; the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks.backtest_impact import run as backtest
from dashboard.cli import main
from metrics.engine import Engine
from metrics.load import load_project
from metrics.okrs.forecast import ForecastOptions
from metrics.okrs.impact import Effect, ImpactError, effect_of, estimate_impact

D = dt.date
WEEKDAY = np.array([1.08, 1.10, 1.08, 1.04, 0.94, 0.42, 0.46])


def _daily(
    rng: np.random.Generator, days: int, level: float, step: float = 0.0, at: int = 120
) -> list[float]:
    """Counts with the demo's weekday pattern around `level`, plus `step` from day `at` on."""
    t = np.arange(days)
    expected = level * WEEKDAY[t % 7] + np.where(t >= at, step, 0.0)
    return [float(v) for v in rng.poisson(expected)]


def test_a_big_step_is_detected() -> None:
    values = _daily(np.random.default_rng(1), 148, 500.0, step=150.0)
    found = effect_of(values[:120], values[120:], ForecastOptions(lower=0.0, counts=True))
    assert isinstance(found, Effect)
    assert found.low > 0 and found.probability > 0.99
    assert found.low <= 150.0 <= found.high  # and the interval holds the step's size
    # the numbers are as defined: the observed mean, and effect = observed - expected
    assert found.observed == pytest.approx(float(np.mean(values[120:])))
    assert found.effect == pytest.approx(found.observed - found.expected)
    assert found.low <= found.effect <= found.high


def test_a_flat_series_shows_no_effect() -> None:
    values = _daily(np.random.default_rng(2), 148, 500.0)
    found = effect_of(values[:120], values[120:], ForecastOptions(lower=0.0, counts=True))
    assert isinstance(found, Effect)
    assert found.low < 0 < found.high
    assert 0.1 < found.probability < 0.9
    assert abs(found.effect) < 0.05 * found.expected


def test_a_drop_has_a_small_probability_of_being_above_zero() -> None:
    values = _daily(np.random.default_rng(3), 148, 500.0, step=-120.0)
    found = effect_of(values[:120], values[120:], ForecastOptions(lower=0.0, counts=True))
    assert isinstance(found, Effect) and found.high < 0 and found.probability < 0.01


def test_too_little_history_is_a_reason_not_a_number() -> None:
    assert effect_of([10.0] * 5, [12.0] * 7, ForecastOptions()) == (
        "only 5 days of history; a forecast needs at least 14 days"
    )
    assert effect_of([10.0] * 30, [], ForecastOptions()) == "there is no day after the event to compare yet"


def test_backtest_coverage_is_near_80_percent() -> None:
    """A smaller run of benchmarks/backtest_impact.py (fixed seeds): the 80% interval holds the true
    effect, with and without a step, in 60-95% of 40 trials (the full back-test: docs/impact.md)."""
    none = backtest("dau", 40, step=0.0, seed=11, simulations=500)
    step = backtest("dau", 40, step=0.08, seed=12, simulations=500)
    assert none.failed == 0 and step.failed == 0
    assert 0.6 <= none.coverage <= 0.95, none
    assert 0.6 <= step.coverage <= 0.95, step
    assert step.power > 0.7 and none.power < 0.4  # an 8% step is found; nothing is found less often


# --- through the engine and the command line ------------------------------------------------------

LAUNCH = D(2026, 5, 1)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sign-ups: about 40 a day with a weekday pattern for 120 days, then about 70 a day from LAUNCH."""
    folder = tmp_path_factory.mktemp("impact")
    rng = np.random.default_rng(5)
    first = LAUNCH - dt.timedelta(days=120)
    rows: list[dict[str, object]] = []
    counts = _daily(rng, 150, 40.0, step=30.0, at=120)
    for index, count in enumerate(counts):
        day = first + dt.timedelta(days=index)
        rows += [
            {"ts": dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=k), "user_id": f"u{index}_{k}"}
            for k in range(int(count))
        ]
    pl.DataFrame(rows).with_columns(event=pl.lit("signup")).write_parquet(folder / "events.parquet")
    (folder / "sources.yaml").write_text(
        "sources:\n  events:\n    type: parquet\n    path: events.parquet\n"
        "    columns: {timestamp: ts, user: user_id, event: event}\n"
    )
    (folder / "metrics.yaml").write_text(
        "metrics:\n  signups: {type: count, source: events, filter: {event: signup}}\n"
        "  d1: {type: retention, source: events, cohort_event: signup, offset: 1}\n"
    )
    (folder / "annotations.yaml").write_text(
        "annotations:\n"
        f"  launch:\n    label: Launch\n    date: {LAUNCH}\n"
        f"  promo:\n    label: Promo week\n    date: {LAUNCH + dt.timedelta(days=3)}\n"
        f"    end: {LAUNCH + dt.timedelta(days=9)}\n    metrics: [signups]\n"
    )
    return folder


def test_the_impact_of_a_launch_on_a_metric(project_dir: Path) -> None:
    project = load_project(project_dir)
    assert project.ok, project.problems
    engine = Engine(project)
    found = estimate_impact(project, engine, "launch", "signups", as_of=LAUNCH + dt.timedelta(days=28))
    assert found.after == (LAUNCH, LAUNCH + dt.timedelta(days=27)) and found.days == 28
    assert found.before == (LAUNCH - dt.timedelta(days=120), LAUNCH - dt.timedelta(days=1))
    effect = found.effect
    assert effect is not None and effect.low > 0 and effect.probability > 0.99
    assert effect.low <= 30.0 <= effect.high
    # observed: the plain mean of the engine's daily counts over the days compared
    frame = pl.read_parquet(project_dir / "events.parquet").with_columns(day=pl.col("ts").dt.date())
    after = frame.filter(pl.col("day").is_between(LAUNCH, LAUNCH + dt.timedelta(days=27)))
    assert effect.observed == pytest.approx(after.height / 28)
    # the other event in the window is named in the caveat
    assert [key for key, _ in found.others] == ["promo"]
    assert "not an experiment" in found.caveat and "Promo week" in found.caveat
    assert "annotated on other metrics" not in found.caveat


def test_events_annotated_on_other_metrics_are_listed_too(project_dir: Path) -> None:
    """A promotion annotated on sign-ups still happened in d1's window: the caveat names it."""
    project = load_project(project_dir)
    found = estimate_impact(project, Engine(project), "launch", "d1", as_of=LAUNCH + dt.timedelta(days=28))
    assert [key for key, _ in found.others] == ["promo"]
    assert "Promo week (" in found.caveat and "annotated on other metrics" in found.caveat


def test_fewer_days_than_asked_when_the_as_of_comes_first(project_dir: Path) -> None:
    project = load_project(project_dir)
    found = estimate_impact(
        project, Engine(project), "launch", "signups", days=28, as_of=LAUNCH + dt.timedelta(days=9)
    )
    assert found.days == 10 and found.days_asked == 28 and found.effect is not None
    span = estimate_impact(project, Engine(project), "promo", "signups", as_of=LAUNCH + dt.timedelta(days=28))
    assert span.days == 7  # an event with an end compares its own days by default
    early = estimate_impact(project, Engine(project), "launch", "d1", as_of=LAUNCH)
    assert early.effect is None and "no day of or after Launch" in (early.reason or "")  # cohorts not mature


def test_unknown_names_are_errors_with_a_hint(project_dir: Path) -> None:
    project = load_project(project_dir)
    engine = Engine(project)
    with pytest.raises(ImpactError, match="unknown annotation 'lanch' \\(did you mean 'launch'\\?\\)"):
        estimate_impact(project, engine, "lanch", "signups", as_of=LAUNCH)
    with pytest.raises(ImpactError, match="unknown metric 'signup' \\(did you mean 'signups'\\?\\)"):
        estimate_impact(project, engine, "launch", "signup", as_of=LAUNCH)
    with pytest.raises(ImpactError, match="--days must be between 1 and 366"):
        estimate_impact(project, engine, "launch", "signups", days=0, as_of=LAUNCH)


def test_the_command(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    as_of = (LAUNCH + dt.timedelta(days=28)).isoformat()
    main(["impact", "launch", "signups", "--config", str(project_dir), "--as-of", as_of, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["annotation"] == "launch" and out["after"] == {
        "start": LAUNCH.isoformat(),
        "end": (LAUNCH + dt.timedelta(days=27)).isoformat(),
        "days": 28,
    }
    assert out["low"] <= out["effect"] <= out["high"] and out["probability"] > 0.99
    assert out["other_annotations"][0]["id"] == "promo"
    main(["impact", "launch", "signups", "--config", str(project_dir), "--as-of", as_of, "--days", "14"])
    text = capsys.readouterr().out
    assert "Impact of Launch" in text and "P(effect > 0)" in text and "14 days" in text


def test_the_words_name_the_event_not_a_launch(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tour found "days before the launch" for an incident: an annotation has no kind, so every
    sentence names the event by its label ("before Promo week")."""
    as_of = (LAUNCH + dt.timedelta(days=28)).isoformat()
    main(["impact", "promo", "signups", "--config", str(project_dir), "--as-of", as_of])
    text = " ".join(capsys.readouterr().out.split())
    assert "days before Promo week" in text and "daily value since Promo week lies" in text, text
    assert "the launch" not in text, text
    project = load_project(project_dir)
    early = estimate_impact(project, Engine(project), "promo", "signups", as_of=LAUNCH)
    assert early.reason == f"there is no day of or after Promo week to compare yet as of {LAUNCH}"
    with pytest.raises(SystemExit) as done:
        main(["impact", "nope", "signups", "--config", str(project_dir)])
    assert done.value.code == 1
    assert capsys.readouterr().err.startswith("error: unknown annotation 'nope'")


def test_differences_are_signed_in_the_metrics_unit() -> None:
    from metrics.format import format_difference

    assert format_difference(6.53, "count") == "+6.53"
    assert format_difference(-768.7, "ms") == "-769 ms"
    assert format_difference(0.02, "percent") == "+2.0 pp"  # rates: percentage points
    assert format_difference(-0.0001, "ms") == "±0 ms"  # never a signed zero
    assert format_difference(0.0, "percent") == "±0.0 pp"
    assert format_difference(-1200.0, "currency") == "-$1,200"
    assert format_difference(None, "count") == "–"
