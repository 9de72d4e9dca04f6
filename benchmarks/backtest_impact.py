"""Back-test of the launch impact (`metrics.okrs.impact.effect_of`): does the 80% interval of the
effect hold the true effect 80% of the time, and cover zero 80% of the time when nothing happened?

Synthetic daily series shaped like the demo product's (metrics/demo/generate.py): 120 days before a
launch day and `--days` (28) after it.

* `dau`: daily active users: a level of 300 to 3,000 growing up to 2x a year, wandering a little
  (a random walk on its log), the demo's weekday pattern (`_ACTIVE_WEEKDAY`: weekends at 42-46% of
  a weekday) and overdispersed Poisson noise (gamma mixing, 8% sd); forecast as counts, as a count
  metric's is;
* `p90`: a p90 page load time in ms: a level of 1,500 to 2,500 ms, a slight weekday pattern (busier
  days slower), lognormal day-to-day noise (6%), forecast as a level;
* `model` (not run by default): drawn from the forecast's own model family, a Gaussian random-walk
  level (sd 3 a day around 1,000), a fixed additive weekly pattern and Gaussian noise (sd 25), to tell
  the model's own calibration from a mismatch between the model and the series.

Each trial draws its own series. With a step, the expected value of every day from the launch on
rises by `--step` (a share of the level on the launch day: +8% by default, -20% for `p90`), so the
true effect on the mean daily value is that size exactly; without one, the true effect is zero. A
trial counts as covered when the effect's 80% interval (low, high) holds the true effect. The
step trials and the no-step trials are drawn independently (separate seeds).

    .venv/bin/python benchmarks/backtest_impact.py                 # 200 trials per kind and case: ~4 min
    .venv/bin/python benchmarks/backtest_impact.py --trials 50     # quicker
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.okrs.forecast import ForecastOptions  # noqa: E402
from metrics.okrs.impact import Effect, effect_of  # noqa: E402

BEFORE = 120
ACTIVE_WEEKDAY = np.array([1.08, 1.10, 1.08, 1.04, 0.94, 0.42, 0.46])  # the demo's, Monday first
LOAD_WEEKDAY = np.array([1.03, 1.04, 1.03, 1.01, 0.99, 0.95, 0.95])
STEPS = {"dau": 0.08, "p90": -0.20, "model": 0.05}
DEFAULT_KINDS = ("dau", "p90")
OPTIONS = {
    "dau": ForecastOptions(lower=0.0, counts=True),
    "p90": ForecastOptions(lower=0.0),
    "model": ForecastOptions(),
}
MODEL_WEEKDAY = np.array([30.0, 35.0, 30.0, 20.0, 0.0, -60.0, -55.0])


@dataclass(frozen=True)
class Series:
    before: list[float | None]
    after: list[float]
    true_effect: float


def synthetic(kind: str, rng: np.random.Generator, *, step: float, days: int = 28) -> Series:
    """One series of `kind` with a step of `step` x the launch day's level from day BEFORE on."""
    total = BEFORE + days
    t = np.arange(total)
    weekday = (t + int(rng.integers(7))) % 7
    walk = np.cumsum(rng.normal(0.0, 0.004, total))
    if kind == "dau":
        base = rng.uniform(300, 3000)
        growth = rng.uniform(0.0, np.log(2.0) / 365)
        level = base * np.exp(growth * t + walk)
        expected = level * ACTIVE_WEEKDAY[weekday]
        size = step * float(level[BEFORE])
        expected = expected + np.where(t >= BEFORE, size, 0.0)
        values = rng.poisson(expected * rng.gamma(1 / 0.08**2, 0.08**2, total)).astype(float)
    elif kind == "p90":
        level = rng.uniform(1500, 2500) * np.exp(walk)
        expected = level * LOAD_WEEKDAY[weekday]
        size = step * float(level[BEFORE])
        expected = expected + np.where(t >= BEFORE, size, 0.0)
        noise = rng.lognormal(0.0, 0.06, total)
        values = expected * noise / np.exp(0.06**2 / 2)  # mean-one noise: the step is the effect on the mean
    elif kind == "model":
        level = 1000.0 + np.cumsum(rng.normal(0.0, 3.0, total))
        size = step * float(level[BEFORE])
        expected = level + MODEL_WEEKDAY[weekday] + np.where(t >= BEFORE, size, 0.0)
        values = expected + rng.normal(0.0, 25.0, total)
    else:
        raise ValueError(kind)
    return Series([float(v) for v in values[:BEFORE]], [float(v) for v in values[BEFORE:]], size)


@dataclass(frozen=True)
class Score:
    trials: int
    covered: int  # the 80% interval holds the true effect
    detected: int  # the interval excludes zero
    mean_width: float
    failed: int  # no estimate

    @property
    def coverage(self) -> float:
        return self.covered / max(self.trials - self.failed, 1)

    @property
    def power(self) -> float:
        return self.detected / max(self.trials - self.failed, 1)


def run(kind: str, trials: int, *, step: float, seed: int, days: int = 28, simulations: int = 1000) -> Score:
    """`trials` series of `kind` with a step of `step` (0: none), each estimated once."""
    rng = np.random.default_rng(seed)
    covered = detected = failed = 0
    widths = []
    for _ in range(trials):
        series = synthetic(kind, rng, step=step, days=days)
        found = effect_of(series.before, series.after, OPTIONS[kind], simulations=simulations)
        if not isinstance(found, Effect):
            failed += 1
            continue
        covered += found.low <= series.true_effect <= found.high
        detected += not (found.low <= 0.0 <= found.high)
        widths.append((found.high - found.low) / max(abs(found.expected), 1e-9))
    return Score(trials, covered, detected, float(np.mean(widths)) if widths else float("nan"), failed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), choices=list(STEPS))
    args = parser.parse_args()
    print(f"launch impact back-test: {args.trials} trials per row, {BEFORE} days before, {args.days} after")
    print(
        f"{'series':<8}{'step':>8}{'80% interval holds the true effect':>38}{'excludes 0':>12}{'width':>9}{'s':>7}"
    )
    for index, kind in enumerate(args.kinds):
        for case, step in (("none", 0.0), ("step", STEPS[kind])):
            began = time.perf_counter()
            score = run(kind, args.trials, step=step, seed=1000 * index + (1 if step else 2), days=args.days)
            seconds = time.perf_counter() - began
            label = "no step" if case == "none" else f"{step:+.0%}"
            held = f"{score.coverage:.1%} ({score.covered} of {score.trials - score.failed})"
            print(
                f"{kind:<8}{label:>8}{held:>38}{score.power:>12.1%}{score.mean_width:>9.1%}{seconds:>7.0f}"
                + (f"  ({score.failed} without an estimate)" if score.failed else "")
            )
    print("width: the interval's width as a share of the expected mean daily value")


if __name__ == "__main__":
    main()
