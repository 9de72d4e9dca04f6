"""The forecast: what it projects, when it refuses, and that its interval is about as wide as it
should be on series whose future distribution is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.okrs.forecast import MIN_HISTORY_DAYS, ForecastOptions, project, simulate_end


def test_too_little_history_gives_no_forecast_and_says_why() -> None:
    outlook = project([5.0] * (MIN_HISTORY_DAYS - 1), 10, target=1.0, direction="increase")
    assert outlook.forecast is None and outlook.probability is None
    assert outlook.reason is not None and "13 days" in outlook.reason and "14" in outlook.reason


def test_missing_days_count_against_the_history() -> None:
    history: list[float | None] = [None] * 20 + [3.0] * 10
    outlook = project(history, 5, target=1.0, direction="increase")
    assert outlook.forecast is None and outlook.reason is not None and "10 days" in outlook.reason


def test_weekly_readings_need_three_points_over_two_weeks() -> None:
    weekly = ForecastOptions(step=7)
    assert project([0.3] * 14, 7, weekly, target=0.2, direction="increase").forecast is None  # days 0, 7, 13
    assert project([0.3] * 15, 7, weekly, target=0.2, direction="increase").forecast is not None


def test_a_constant_history_projects_the_constant() -> None:
    # period_to_date total: 10 counted so far, 2 a day for 5 more days -> exactly 20
    outlook = project(
        [2.0] * 30, 5, ForecastOptions(kind="sum", known=10.0), target=20.0, direction="increase"
    )
    assert outlook.forecast is not None
    assert (outlook.forecast.value, outlook.forecast.low, outlook.forecast.high) == (20.0, 20.0, 20.0)
    assert outlook.probability == 1.0
    assert (
        project(
            [2.0] * 30, 5, ForecastOptions(kind="sum", known=10.0), target=20.5, direction="increase"
        ).probability
        == 0.0
    )


def test_trailing_totals_add_only_the_days_in_the_end_window() -> None:
    # 7-day window at the end; 3 of its days are already counted (known = 6); 10 days to go
    outlook = project(
        [2.0] * 30,
        10,
        ForecastOptions(kind="sum", known=0.0, summed_days=7),
        target=14.0,
        direction="increase",
    )
    assert outlook.forecast is not None and outlook.forecast.value == 14.0
    outlook = project(
        [2.0] * 30,
        4,
        ForecastOptions(kind="sum", known=6.0, summed_days=7),
        target=14.0,
        direction="increase",
    )
    assert outlook.forecast is not None and outlook.forecast.value == 14.0  # 6 + 4 * 2


def test_nothing_left_to_happen() -> None:
    outlook = project([1.0, 2.0] * 10, 0, target=2.0, direction="increase")
    assert outlook.forecast is not None and outlook.forecast.value == 2.0 and outlook.probability == 1.0
    assert project([1.0, 2.0] * 10, 0, target=2.0, direction="decrease").probability == 1.0  # 2 <= 2
    assert project([1.0, 2.0] * 10, 0, target=1.5, direction="decrease").probability == 0.0
    outlook = project(
        [1.0] * 20, 0, ForecastOptions(kind="sum", known=25.0), target=25.0, direction="increase"
    )
    assert outlook.probability == 1.0


def test_direction_decides_what_landing_means() -> None:
    rng = np.random.default_rng(1)
    history = list(100 + rng.normal(0, 5, 60))
    up = project(history, 20, target=100.0, direction="increase")
    down = project(history, 20, target=100.0, direction="decrease")
    assert up.probability is not None and down.probability is not None
    assert up.probability + down.probability == pytest.approx(1.0, abs=0.01)
    assert 0.2 < up.probability < 0.8


def test_the_same_history_gives_the_same_forecast() -> None:
    rng = np.random.default_rng(2)
    history = list(rng.poisson(50, 45).astype(float))
    first = project(history, 30, ForecastOptions(kind="sum", known=0.0), target=1500.0, direction="increase")
    second = project(history, 30, ForecastOptions(kind="sum", known=0.0), target=1500.0, direction="increase")
    assert first == second


def test_clipping_keeps_counts_and_rates_in_range() -> None:
    rng = np.random.default_rng(3)
    counts = list(np.maximum(rng.normal(1.0, 2.0, 40), 0.0))
    projection = simulate_end(counts, 30, ForecastOptions(kind="level", lower=0.0))
    assert projection.ends is not None and projection.ends.min() >= 0.0
    rates = list(np.clip(rng.normal(0.95, 0.05, 40), 0, 1))
    projection = simulate_end(rates, 30, ForecastOptions(kind="level", lower=0.0, upper=1.0))
    assert projection.ends is not None and projection.ends.max() <= 1.0


def test_noise_around_a_level_gives_an_interval_of_the_right_width() -> None:
    """White noise N(100, 10^2), 60 days seen, the total of the next 30 days.

    Its true spread: 30 days of noise (sd 10 * sqrt(30) = 54.8) plus not knowing the level exactly
    (30 * 10 / sqrt(60) = 38.7): sd 67, so an 80% interval about 2 * 1.2816 * 67 = 172 wide. The
    model also weighs a slope it cannot rule out, so allow up to twice that, never less than the
    noise alone (140).
    """
    widths = []
    inside = 0
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        series = 100 + rng.normal(0, 10, 90)
        outlook = project(
            list(series[:60]), 30, ForecastOptions(kind="sum", known=0.0), target=3000.0, direction="increase"
        )
        assert outlook.forecast is not None
        widths.append(outlook.forecast.high - outlook.forecast.low)
        inside += outlook.forecast.low <= series[60:].sum() <= outlook.forecast.high
    assert 140 <= float(np.median(widths)) <= 2 * 172
    assert inside >= 3


def test_a_trend_is_extrapolated() -> None:
    # 2 more a day, every day, no noise to speak of: 40 days seen, value in 20 days about 100 + 2 * 59
    rng = np.random.default_rng(4)
    history = list(100 + 2.0 * np.arange(40) + rng.normal(0, 0.5, 40))
    outlook = project(history, 20, target=210.0, direction="increase")
    assert outlook.forecast is not None
    assert outlook.forecast.value == pytest.approx(100 + 2.0 * 59, abs=3)
    assert outlook.probability is not None and outlook.probability > 0.9


def test_weekly_seasonality_is_learned() -> None:
    # weekends are half: the last day of the horizon is a weekend day, so expect about half the level
    days = np.arange(70)
    weekday = days % 7
    history = np.where(weekday >= 5, 50.0, 100.0) + np.random.default_rng(5).normal(0, 2, 70)
    horizon = 5  # day 74: weekday 74 % 7 = 4 -> a weekday; day 75 -> weekday 5 -> weekend
    weekday_end = project(list(history), horizon, target=75.0, direction="increase")
    weekend_end = project(list(history), horizon + 1, target=75.0, direction="increase")
    assert weekday_end.forecast is not None and weekend_end.forecast is not None
    assert weekday_end.forecast.value == pytest.approx(100, abs=5)
    assert weekend_end.forecast.value == pytest.approx(50, abs=5)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        simulate_end([1.0] * 20, -1)
    with pytest.raises(ValueError, match="step"):
        simulate_end([1.0] * 20, 3, ForecastOptions(step=3))
    assert math.isfinite(simulate_end([1.0] * 20, 3).ends.sum())  # type: ignore[union-attr]


def test_vectorised_draw_matches_statsmodels_simulate() -> None:
    """`_draw` re-does `MLEResults.simulate(anchor="end")` vectorised: same distribution of futures."""
    import numpy as np
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    from metrics.okrs.forecast import _draw

    rng = np.random.default_rng(3)
    days = np.arange(60)
    series = 0.02 * days + np.sin(days * 2 * np.pi / 7) * 0.5 + rng.normal(0, 0.3, 60)
    fitted = UnobservedComponents(
        series,
        level="local level",
        freq_seasonal=[{"period": 7, "harmonics": 3}],
        stochastic_freq_seasonal=[False],
    ).fit(disp=False)
    steps, reps = 20, 4000
    ours = _draw(fitted, steps, reps, np.random.default_rng(1))
    theirs = (
        np.asarray(fitted.simulate(steps, anchor="end", repetitions=reps, rng=np.random.default_rng(2)))
        .reshape(steps, reps)
        .T
    )
    for column in (0, steps // 2, steps - 1):
        spread = theirs[:, column].std()
        assert abs(ours[:, column].mean() - theirs[:, column].mean()) < 0.1 * spread
        for q in (0.1, 0.5, 0.9):
            assert abs(np.quantile(ours[:, column], q) - np.quantile(theirs[:, column], q)) < 0.15 * spread
        assert ours[:, column].std() == pytest.approx(spread, rel=0.1)
