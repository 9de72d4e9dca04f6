"""Where a key result's reading will be at the end of its period, and how likely it is to land.

The models are structural time series (statsmodels `UnobservedComponents`): a local level that
wanders, with or without a fixed slope, and, on daily series, a fixed weekly pattern. Both variants
are fitted and share the simulated futures by tempered Akaike weights (`_shares`). A quarter's
history is rarely long enough to tell a real slope from a wandering level: betting on the variant
with the better AIC, or plain Akaike weights, gave 80% intervals that held the end value only
72-75% of the time in the backtest (benchmarks/backtest_forecast.py); tempered weights 77-79%. The
Kalman filter carries the uncertainty of the level and slope estimated from a short history into
the simulations, which keeps a quarter-long interval honest when only a few weeks exist.

From the fitted model we simulate many futures, turn each into the KR's reading at the period's
end, and read everything off the same simulations:

* `Forecast.value`: the median end reading; `low`/`high`: its 10th and 90th percentiles (an 80%
  prediction interval);
* the probability of landing: the share of simulated end readings at or past the target (at or
  above it for `increase`, at or below for `decrease`).

Two shapes of reading are projected (`ForecastOptions.kind`):

* `kind="level"`: the series *is* the reading (a latest value, active users, a trailing rate); the
  end reading is the simulated value on the period's last day. A reading that smooths over a week
  or more (a trailing 28-day rate, monthly active users) is modelled on one point a week
  (`step=7`): overlapping windows would otherwise pose as independent evidence.
* `kind="sum"`: the series holds daily totals and the reading adds them up (period_to_date and
  trailing reads of count and sum metrics); the end reading is what is already counted plus the
  simulated days that fall in the end window.

Counts (`ForecastOptions.counts`: daily events or users, whole and never negative) are not given
Gaussian noise around the level: a level near zero with symmetric noise clipped at zero invents
events half of the time (a KR at 0 errors after weeks of zeros came out "at risk"). Their simulated
days are drawn as gamma-Poisson (negative binomial) counts whose mean is the model's simulated level
(clipped at 0) and whose variance at the history's mean matches the fitted observation variance;
so a level at zero gives zero, and large counts keep the spread the Gaussian model found.

statsmodels, and numpy too, are imported inside the functions, so importing `metrics` stays fast
(and the dashboard, whose forecasts run in a worker process, never loads them).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

Direction = Literal["increase", "decrease"]
Kind = Literal["level", "sum"]

MIN_HISTORY_DAYS = 14  # fewer days of history than this: no forecast, the pace decides the status
COVERAGE = 0.8  # the prediction interval holds the end value with this probability
SIMULATIONS = 2000
SEED = 20_261_001  # fixed, so the same data always give the same forecast
AIC_TEMPERATURE = 8.0  # how far the weights of the two models are tempered (see `_shares`)


@dataclass(frozen=True)
class Forecast:
    """The KR's reading projected to the period's end: median and an 80% prediction interval."""

    value: float
    low: float
    high: float
    coverage: float = COVERAGE  # the share of end values the interval low .. high is meant to hold


@dataclass(frozen=True)
class Outlook:
    """A forecast and the probability of landing, or the reason there is none."""

    forecast: Forecast | None
    probability: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Projection:
    """Simulated end readings (or why there are none), to be scored against any target."""

    ends: FloatArray | None
    reason: str | None = None

    def outlook(self, target: float, direction: Direction) -> Outlook:
        if self.ends is None:
            return Outlook(None, None, self.reason)
        import numpy as np

        tail = (1.0 - COVERAGE) / 2.0
        low, median, high = np.quantile(self.ends, [tail, 0.5, 1.0 - tail])
        probability = float(lands(self.ends, target, direction).mean())
        return Outlook(Forecast(float(median), float(low), float(high)), probability)


def settled(value: float, target: float, direction: Direction) -> Outlook:
    """The outlook on the period's last day: the current reading is the end reading, with no spread
    (nothing is left to simulate), and it has landed or not."""
    reached = value <= target if direction == "decrease" else value >= target
    return Outlook(Forecast(value, value, value), 1.0 if reached else 0.0)


def lands(values: FloatArray, target: float, direction: Direction) -> npt.NDArray[np.bool_]:
    """Which end values reach the target: >= for increase KRs, <= for decrease KRs."""
    return values <= target if direction == "decrease" else values >= target


@dataclass(frozen=True)
class ForecastOptions:
    """How a KR's history turns into its reading at the period's end (see `simulate_end`).

    A plain value, so a forecast can travel to another process by pickle (dashboard/worker.py).
    """

    kind: Kind = "level"
    step: int = 1  # 1: every day of the history; 7: one point a week
    known: float = 0.0  # kind "sum": what the end window has counted already
    summed_days: int | None = None  # kind "sum": the horizon's days in the end window (None: all)
    lower: float | None = None  # simulated values are clipped to [lower, upper]
    upper: float | None = None
    counts: bool = False  # daily values are counts: simulated as whole, non-negative numbers

    def __post_init__(self) -> None:
        if self.step not in (1, 7):
            raise ValueError("step must be 1 (daily) or 7 (weekly)")


@dataclass(frozen=True)
class Simulation:
    """A forecast to run, its history already read: `simulate_end(history, horizon, options)`."""

    history: list[float | None]
    horizon: int
    options: ForecastOptions

    def run(self) -> Projection:
        return simulate_end(self.history, self.horizon, self.options)


def project(
    history: Sequence[float | None],
    horizon: int,
    options: ForecastOptions = ForecastOptions(),
    *,
    target: float,
    direction: Direction,
    simulations: int = SIMULATIONS,
) -> Outlook:
    """Forecast and probability of landing for a KR; see `simulate_end` for the arguments."""
    return simulate_end(history, horizon, options, simulations=simulations).outlook(target, direction)


def simulate_end(
    history: Sequence[float | None],
    horizon: int,
    options: ForecastOptions = ForecastOptions(),
    *,
    simulations: int = SIMULATIONS,
) -> Projection:
    """Simulate the KR's reading `horizon` days past the last day of `history`.

    `history` holds one value per day, ending on the day the forecast starts from; None (or NaN)
    marks a day without a value. With `options.step=7` only every 7th day counting back from the
    last day is used. For `kind="sum"` the end reading is `known` plus the simulated values of the
    last `summed_days` days of the horizon (default: all of them). Simulated values are clipped to
    [`lower`, `upper`] (counts are never negative, rates stay within 0..1).
    """
    import numpy as np

    if horizon < 0:
        raise ValueError("horizon must not be negative")
    step = options.step
    values = np.array([math.nan if v is None else float(v) for v in history], dtype=np.float64)
    if step == 7:
        values = values[::-7][::-1]  # the last day and every 7th day before it, oldest first
    reason = _too_short(values, step)
    if reason is not None:
        return Projection(None, reason)
    if options.kind == "sum":
        summed = options.summed_days
        days = horizon if summed is None else min(max(summed, 0), horizon)
        if days == 0:
            return Projection(np.full(simulations, float(options.known)))
        paths = _simulate(values, horizon, step, simulations, options.lower, options.upper, options.counts)
        if paths is None:
            return Projection(None, "the statistical model could not be fitted to this history")
        return Projection(options.known + paths[:, horizon - days :].sum(axis=1))
    if horizon == 0:
        last = values[-1]
        if math.isnan(last):
            return Projection(None, "there is no reading on the last day to project from")
        return Projection(np.full(simulations, float(last)))
    paths = _simulate(values, horizon, step, simulations, options.lower, options.upper, options.counts)
    if paths is None:
        return Projection(None, "the statistical model could not be fitted to this history")
    return Projection(paths[:, -1])


def _too_short(values: FloatArray, step: int) -> str | None:
    import numpy as np

    observed = np.flatnonzero(~np.isnan(values))
    if observed.size == 0:
        return "there is no history to project from"
    span = int(observed[-1] - observed[0]) * step + 1
    needed = MIN_HISTORY_DAYS if step == 1 else math.ceil(MIN_HISTORY_DAYS / step) + 1
    if span < MIN_HISTORY_DAYS or observed.size < needed:
        days = f"{span} day{'s' if span != 1 else ''}" if step == 1 else f"{observed.size} weekly readings"
        return f"only {days} of history; a forecast needs at least {MIN_HISTORY_DAYS} days"
    return None


def _simulate(
    values: FloatArray,
    horizon: int,
    step: int,
    simulations: int,
    lower: float | None,
    upper: float | None,
    counts: bool = False,
) -> FloatArray | None:
    """`simulations` x `horizon` simulated future days, or None when no model can be fitted."""
    import numpy as np

    observed = np.flatnonzero(~np.isnan(values))
    series = values[observed[0] :]
    finite = series[~np.isnan(series)]
    spread = float(finite.std())
    if spread == 0.0:  # a constant history: nothing to learn but the constant
        return np.full((simulations, horizon), float(finite[0]))
    center = float(finite.mean())
    steps = horizon if step == 1 else math.ceil(horizon / step)
    counts = counts and step == 1  # weekly points of a smoothed reading are not one day's count
    drawn = _simulate_scaled((series - center) / spread, steps, step, simulations, noise=not counts)
    if drawn is None:
        return None
    paths = drawn[0] * spread + center
    if counts:
        paths = _counts(paths, drawn[1] * spread, center)
    if step > 1:  # back to days: straight lines between the weekly points, from the last reading
        last = float(series[-1]) if not math.isnan(series[-1]) else center
        weekly = np.hstack([np.full((simulations, 1), last), paths])
        days = np.arange(1, horizon + 1) / step
        below = np.floor(days).astype(int)
        above = np.minimum(below + 1, steps)
        share = days - below
        paths = weekly[:, below] * (1.0 - share) + weekly[:, above] * share
    if lower is not None or upper is not None:
        paths = np.clip(paths, lower, upper)
    return paths


def _counts(means: FloatArray, obs_sd: FloatArray, center: float) -> FloatArray:
    """Whole counts around simulated means: gamma-Poisson draws with mean max(mean, 0) each, whose
    variance at the history's mean `center` is the fitted observation variance (`obs_sd`, per path)
    where that exceeds Poisson's, else Poisson draws. A mean of zero gives zero."""
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    rate = np.clip(means, 0.0, None)
    excess = obs_sd**2 - center  # the variance beyond Poisson's at the history's mean
    # gamma mixing with mean 1 and variance excess / center^2 (a huge shape: next to none)
    shape = np.where(excess > 0, center**2 / np.maximum(excess, 1e-12), 1e12)[:, None]
    mixing = rng.gamma(shape, 1.0 / shape, rate.shape)
    return rng.poisson(rate * mixing).astype(np.float64)


def _simulate_scaled(
    series: FloatArray, steps: int, step: int, simulations: int, *, noise: bool = True
) -> tuple[FloatArray, FloatArray] | None:
    """Fit both candidate models and simulate `steps` steps ahead, their shares of the paths each
    (`_shares`): the paths, and each path's observation standard deviation. With `noise=False`
    the paths are the model's signal alone, without the observation noise."""
    import numpy as np
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    points = int((~np.isnan(series)).sum())
    weekly: dict[str, Any] = {}
    if step == 1 and points >= 21:
        weekly = {"freq_seasonal": [{"period": 7, "harmonics": 3}], "stochastic_freq_seasonal": [False]}
    candidates = [{"level": "local level", **weekly}, {"level": "local linear deterministic trend", **weekly}]
    fits = []
    for spec in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # Nelder-Mead: two or three variances to estimate; it reaches the same likelihood
                # as L-BFGS on these models in a third of the time.
                fitted = UnobservedComponents(series, **spec).fit(disp=False, method="nm", maxiter=400)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if math.isfinite(float(fitted.llf)):
            fits.append(fitted)
    if not fits:
        return None
    shares = _shares(fits, simulations)
    rng = np.random.default_rng(SEED)
    try:
        paths = np.vstack(
            [
                _draw(fitted, steps, share, rng, noise=noise)
                for fitted, share in zip(fits, shares, strict=True)
            ]
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    obs_sd = np.concatenate(
        [np.full(share, _obs_sd(fitted)) for fitted, share in zip(fits, shares, strict=True)]
    )
    return (paths, obs_sd) if np.isfinite(paths).all() else None


def _obs_sd(fitted: Any) -> float:
    """The fitted model's observation noise, as a standard deviation."""
    return math.sqrt(max(float(_fixed(fitted.model.ssm, "obs_cov").reshape(-1)[0]), 0.0))


def _shares(fits: list[Any], simulations: int) -> list[int]:
    """How many of the simulated futures each model draws: tempered Akaike weights.

    exp(-dAIC / (2 * T)) with T = AIC_TEMPERATURE: a slope the history shows clearly (a dAIC of 60)
    takes 98% of the paths, while one it hardly supports (a dAIC of 2 to 6) still gets 40-47% of
    them. Plain Akaike weights (T = 1) bet too much on one model (see the module docstring). The
    likelihoods are compared on the same days: the first days, which only initialise a model's
    diffuse states, are left out of both.
    """
    import numpy as np

    burn = max(int(f.loglikelihood_burn) for f in fits)
    aics = []
    for fitted in fits:
        loglike = float(np.nansum(np.asarray(fitted.llf_obs)[burn:]))
        aics.append(-2.0 * loglike + 2.0 * (len(fitted.params) + int(fitted.loglikelihood_burn)))
    lowest = min(aics)
    weights = np.array([math.exp(-(aic - lowest) / (2.0 * AIC_TEMPERATURE)) for aic in aics])
    shares = np.floor(weights / weights.sum() * simulations).astype(int)
    shares[int(np.argmax(weights))] += simulations - int(shares.sum())
    return [int(x) for x in shares]


def _fixed(ssm: Any, name: str) -> FloatArray:
    """A system matrix of a time-invariant model, without the trailing time axis."""
    import numpy as np

    matrix = np.asarray(getattr(ssm, name), dtype=np.float64)
    return matrix[..., 0] if matrix.ndim == 3 else matrix


def _draw(
    fitted: Any, steps: int, simulations: int, rng: np.random.Generator, *, noise: bool = True
) -> FloatArray:
    """Simulate the fitted state space model forward from the end of the sample.

    The first state is drawn from the filter's predicted distribution after the last observation
    (so the uncertainty about today's level and slope is in every path); each step then adds the
    model's state and observation noise. The same as `MLEResults.simulate(anchor="end")`, vectorised.
    """
    import numpy as np

    ssm = fitted.model.ssm
    design = _fixed(ssm, "design").reshape(-1)
    obs_sd = _obs_sd(fitted) if noise else 0.0
    transition = _fixed(ssm, "transition")
    selection = _fixed(ssm, "selection")
    state_cov = _fixed(ssm, "state_cov")
    mean = np.asarray(fitted.predicted_state)[:, -1]
    cov = np.asarray(fitted.predicted_state_cov)[:, :, -1]
    state = rng.multivariate_normal(mean, (cov + cov.T) / 2.0, size=simulations, method="eigh")
    shocks = selection.shape[1] if selection.ndim == 2 else 0
    out = np.empty((simulations, steps))
    for day in range(steps):
        out[:, day] = state @ design + rng.normal(0.0, obs_sd, simulations)
        state = state @ transition.T
        if shocks:
            shock = rng.multivariate_normal(np.zeros(shocks), state_cov, size=simulations, method="eigh")
            state += shock @ selection.T
    return out


__all__ = [
    "COVERAGE",
    "MIN_HISTORY_DAYS",
    "Forecast",
    "ForecastOptions",
    "Outlook",
    "Projection",
    "Simulation",
    "lands",
    "project",
    "settled",
    "simulate_end",
]
