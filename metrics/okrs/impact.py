"""Event impact: what a metric did after a dated event (a launch, an incident, a campaign), against the forecast made from the days before.

For an annotation (annotations.yaml) and a metric:

* the days compared ("after"): the launch day (the annotation's `date`) and the N - 1 days after it,
  N from `--days` (default: the annotation's own days when it has an `end`, else 28), cut at the
  last day whose value can be read as of the as-of day (a retention or funnel cohort must be mature);
* the days learned from ("before"): up to `BEFORE_DAYS` (120) days of the metric's daily values
  ending on the day before the event, from the first day of its data;
* `observed`: the metric's mean daily value over the days compared (the plain mean of its day-grain
  values: for a rate, the mean of its daily rates);
* the forecast: the OKR forecasts' model (`metrics.okrs.forecast`: structural time series with a
  weekly pattern, both trend variants by tempered Akaike weights, counts as gamma-Poisson days),
  fitted on the days before only and simulated over the days compared; each simulated future gives
  a mean daily value over those days;
* `effect` = observed - the median simulated mean (`expected`); its 80% interval is observed minus
  the 90th and 10th percentiles of the simulated means; `probability` is the share of simulated
  means below the observed one: P(effect > 0).

The simulation holds the noise of the days compared as well as the uncertainty of the level, trend
and weekly pattern learned before, so the interval is a prediction interval for the counterfactual
mean, the one an observed mean is compared with. benchmarks/backtest_impact.py measures it: on
synthetic series with the demo's weekly pattern and noise, with and without a step of known size
at a known day (docs/impact.md has the figures).

It is an observational estimate, not an experiment: whatever else changed in those days (another
launch, a campaign, a holiday the history has not seen) is in the effect too. `Impact.caveat` says
so in words and lists the other annotations whose days meet the window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import textwrap
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.errors import NorthstarError
from metrics.definitions.models import COUNT_TYPES, Annotation, FunnelMetric, RatioMetric, RetentionMetric
from metrics.definitions.problems import did_you_mean
from metrics.engine.request import MetricRequest
from metrics.format import (
    format_difference,
    format_interval,
    format_probability,
    format_value,
    plural,
    raw_number,
)
from metrics.okrs.forecast import COVERAGE, SIMULATIONS, ForecastOptions, simulate_end

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine

DEFAULT_DAYS = 28  # days compared after a one-day event
BEFORE_DAYS = 120  # days of history the forecast learns from, at most (as the OKR forecasts)
MAX_DAYS = 366


class ImpactError(NorthstarError):
    """An impact cannot be asked for: an unknown annotation or metric, a bad number of days."""


@dataclass(frozen=True)
class Effect:
    """The observed mean daily value after the event against the forecast's simulated means."""

    observed: float
    expected: float  # the median simulated mean
    effect: float  # observed - expected
    low: float  # the effect's 80% interval
    high: float
    probability: float  # P(effect > 0): the share of simulated means below the observed one

    @property
    def relative(self) -> float | None:
        """The effect as a share of the expected value (None when that is 0)."""
        return self.effect / self.expected if self.expected else None

    def interval_words(self, unit: str | None) -> str:
        """The effect's interval, naming its coverage (`metrics.format.format_interval`), as the CLI
        and the dashboard write it: '80%: -927 ms to -614 ms'."""
        return format_interval(self.low, self.high, unit, coverage=COVERAGE, signed=True)


def effect_of(
    before: Sequence[float | None],
    after: Sequence[float],
    options: ForecastOptions,
    simulations: int = SIMULATIONS,
) -> Effect | str:
    """The effect of an event on a daily series: `before` holds the days up to the day before the
    launch (None: no value), `after` the days compared (every one with a value). The forecast is
    fitted on `before` alone. Returns why there is no estimate when the history is too short.
    Pure and picklable, so the dashboard runs it in its forecast worker."""
    import numpy as np

    days = len(after)
    if days == 0:
        return "there is no day after the event to compare yet"
    summed = dataclasses.replace(options, kind="sum", known=0.0, summed_days=days)
    projection = simulate_end(before, days, summed, simulations=simulations)
    if projection.ends is None:
        return projection.reason or "the forecast could not be made"
    means = projection.ends / days
    observed = float(np.mean(np.asarray(after, dtype=np.float64)))
    tail = (1.0 - COVERAGE) / 2.0
    low_mean, median, high_mean = (float(q) for q in np.quantile(means, [tail, 0.5, 1.0 - tail]))
    return Effect(
        observed=observed,
        expected=median,
        effect=observed - median,
        low=observed - high_mean,
        high=observed - low_mean,
        probability=float(np.mean(means < observed)),
    )


@dataclass(frozen=True)
class Impact:
    """The impact of one annotation on one metric (see the module's docstring for each number)."""

    annotation: str
    label: str
    metric: str
    launch: dt.date
    before: tuple[dt.date, dt.date] | None  # the days the forecast learned from
    after: tuple[dt.date, dt.date] | None  # the days compared
    days_asked: int
    effect: Effect | None = None
    reason: str | None = None  # why there is no estimate
    others: tuple[tuple[str, Annotation], ...] = field(default_factory=tuple)  # events in the window

    @property
    def days(self) -> int:
        """The days compared (fewer than asked when the as-of comes first)."""
        return 0 if self.after is None else (self.after[1] - self.after[0]).days + 1

    @property
    def caveat(self) -> str:
        """In plain words: what this estimate is, and what else happened in its window."""
        text = (
            "An observational estimate, not an experiment: the effect is how far the metric's mean "
            f"daily value since {self.label} lies from what the forecast made from the days before "
            "expected. Anything else that changed in those days counts as effect too."
        )
        if self.others:
            listed = "; ".join(
                f"{a.label} ({_days(a)}{'' if a.applies_to(self.metric) else ', annotated on other metrics'})"
                for _, a in self.others
            )
            return f"{text} Other events in the window: {listed}."
        return f"{text} No other annotated event falls in the window."

    def to_table(self, metric_label: str, unit: str | None) -> str:
        """The estimate in words, as `northstar impact` prints it."""
        lines = [f"Impact of {self.label} ({self.launch.isoformat()}) on {metric_label}"]
        effect = self.effect
        if self.after is not None:
            short = f" (asked for {plural(self.days_asked, 'day')})" if self.days < self.days_asked else ""
            lines.append(
                f"  days compared  {self.after[0].isoformat()} .. {self.after[1].isoformat()}: "
                f"{plural(self.days, 'day')}{short}"
            )
        if self.before is not None:
            lines.append(
                f"  forecast from  {self.before[0].isoformat()} .. {self.before[1].isoformat()}: "
                f"{plural((self.before[1] - self.before[0]).days + 1, 'day')} before {self.label}"
            )
        if effect is None:
            lines.append(f"  no estimate: {self.reason}")
        else:
            relative = f", {effect.relative * 100:+.1f}% of expected" if effect.relative is not None else ""
            lines += [
                f"  observed       {format_value(effect.observed, unit)} (mean daily value)",
                f"  expected       {format_value(effect.expected, unit)} (the forecast's median)",
                f"  effect         {format_difference(effect.effect, unit)} "
                f"({effect.interval_words(unit)}){relative}",
                f"  P(effect > 0)  {format_probability(effect.probability)}",
            ]
        lines += ["", textwrap.fill(self.caveat, 100)]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        effect = self.effect

        number = raw_number  # no unit: a mean daily value stays a float, as the effect does

        return {
            "annotation": self.annotation,
            "label": self.label,
            "metric": self.metric,
            "date": self.launch.isoformat(),
            "before": _span(self.before),
            "after": {**(_span(self.after) or {"start": None, "end": None}), "days": self.days},
            "observed": number(effect.observed) if effect else None,
            "expected": number(effect.expected) if effect else None,
            "effect": number(effect.effect) if effect else None,
            "low": number(effect.low) if effect else None,
            "high": number(effect.high) if effect else None,
            "relative": number(effect.relative) if effect and effect.relative is not None else None,
            "probability": number(effect.probability) if effect else None,
            "reason": self.reason,
            "other_annotations": [
                {
                    "id": key,
                    "label": a.label,
                    "date": a.first.isoformat(),
                    "end": a.last.isoformat() if a.end is not None else None,
                }
                for key, a in self.others
            ],
            "caveat": self.caveat,
        }


def _span(span: tuple[dt.date, dt.date] | None) -> dict[str, str] | None:
    return None if span is None else {"start": span[0].isoformat(), "end": span[1].isoformat()}


def _days(annotation: Annotation) -> str:
    first = annotation.first.isoformat()
    return first if annotation.end is None else f"{first} to {annotation.last.isoformat()}"


def options_for(project: Project, metric_id: str, before: Sequence[float | None]) -> ForecastOptions:
    """How the forecast treats the metric's daily values, as the OKR forecasts do: counts as whole
    non-negative numbers, rates of cohorts within 0..1, and one point a week for a level that
    smooths over a week or more (weekly or monthly active users)."""
    metric = project.metrics[metric_id]
    leaves = project.leaves(metric_id).values()
    counts = not isinstance(metric, RatioMetric) and metric.type in COUNT_TYPES
    never_negative = all(leaf.type in COUNT_TYPES or leaf.type in ("retention", "funnel") for leaf in leaves)
    observed = [v for v in before if v is not None]
    lower = 0.0 if never_negative or (observed and min(observed) >= 0) else None
    upper = 1.0 if isinstance(metric, RetentionMetric | FunnelMetric) else None
    smoothing = (
        min(getattr(leaf, "window", 1) for leaf in leaves)
        if leaves and all(leaf.type == "active_users" for leaf in leaves)
        else 1
    )
    return ForecastOptions(step=7 if smoothing >= 7 else 1, lower=lower, upper=upper, counts=counts)


def estimate_impact(
    project: Project,
    engine: Engine,
    annotation_id: str,
    metric_id: str,
    *,
    days: int | None = None,
    as_of: dt.date,
    executor: Executor | None = None,
    simulations: int = SIMULATIONS,
) -> Impact:
    """The impact of the annotation on the metric as of `as_of` (see the module's docstring).
    Raises ImpactError for an unknown annotation or metric or a bad `days`; an estimate that cannot
    be made (too little history, no day after the event yet) is an Impact with a `reason`. The
    forecast runs on `executor` when one is given."""
    annotation = project.annotations.get(annotation_id)
    if annotation is None:
        known = list(project.annotations)
        hint = did_you_mean(annotation_id, known) or (
            f"annotations: {', '.join(known)}" if known else "define it in annotations.yaml"
        )
        raise ImpactError(f"unknown annotation {annotation_id!r} ({hint})")
    if metric_id not in project.metrics:
        hint = did_you_mean(metric_id, list(project.metrics)) or "name a metric of metrics.yaml"
        raise ImpactError(f"unknown metric {metric_id!r} ({hint})")
    if days is None:
        days = (annotation.last - annotation.first).days + 1 if annotation.end is not None else DEFAULT_DAYS
    if not 1 <= days <= MAX_DAYS:
        raise ImpactError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    launch = annotation.first
    readable = as_of - dt.timedelta(days=project.maturity_lag(metric_id))
    after_end = min(launch + dt.timedelta(days=days - 1), readable)
    first_day, _ = engine.data_range([metric_id])
    before_start = max(first_day, launch - dt.timedelta(days=BEFORE_DAYS))
    window = (before_start, max(after_end, launch))
    # every other event in the window, also those annotated on other metrics: a release aimed at
    # page load may move active users too
    others = tuple(
        (key, other) for key, other in project.annotations_between(*window).items() if key != annotation_id
    )
    base = Impact(annotation_id, annotation.label, metric_id, launch, None, None, days, others=others)
    if after_end < launch:
        lag = project.maturity_lag(metric_id)
        why = f" (its cohorts take {lag} days to mature)" if lag else ""
        return _without(
            base,
            f"there is no day of or after {annotation.label} to compare yet as of {as_of.isoformat()}{why}",
        )
    if before_start >= launch:
        return _without(
            base, f"the data starts on {first_day.isoformat()}, with no day before {annotation.label}"
        )
    series = engine.compute(MetricRequest((metric_id,), before_start, after_end, "day")).series(metric_id)
    values = dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))

    def value(day: dt.date) -> float | None:
        found = values.get(day)
        return None if found is None or (isinstance(found, float) and math.isnan(found)) else float(found)

    before_days = [before_start + dt.timedelta(days=i) for i in range((launch - before_start).days)]
    after_days = [launch + dt.timedelta(days=i) for i in range((after_end - launch).days + 1)]
    before = [value(d) for d in before_days]
    after = [value(d) for d in after_days]
    spans = {"before": (before_start, launch - dt.timedelta(days=1)), "after": (launch, after_end)}
    missing = [d for d, v in zip(after_days, after, strict=True) if v is None]
    if missing:
        return _without(
            base,
            f"{len(missing)} of the days compared have no value (first {missing[0].isoformat()})",
            **spans,
        )
    options = options_for(project, metric_id, before)
    args = (before, [float(v) for v in after if v is not None], options, simulations)
    found = executor.submit(effect_of, *args).result() if executor is not None else effect_of(*args)
    if isinstance(found, str):
        return _without(base, found, **spans)
    return Impact(
        annotation_id,
        annotation.label,
        metric_id,
        launch,
        spans["before"],
        spans["after"],
        days,
        effect=found,
        others=others,
    )


def _without(base: Impact, reason: str, **spans: tuple[dt.date, dt.date]) -> Impact:
    return Impact(
        base.annotation,
        base.label,
        base.metric,
        base.launch,
        spans.get("before"),
        spans.get("after"),
        base.days_asked,
        reason=reason,
        others=base.others,
    )


__all__ = ["DEFAULT_DAYS", "Effect", "Impact", "ImpactError", "effect_of", "estimate_impact", "options_for"]
