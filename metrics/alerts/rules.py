"""Evaluating alerts.yaml's rules as of a day: which subjects (a key result, a metric, a data check)
each rule finds firing, and which it finds quiet (docs/alerts.md).

Every rule is a condition that holds or not on the as-of day; "turns off track" is the state's
work (`metrics.alerts.state`): it announces a condition once when it starts to hold, and once when
it stops. Everything here is a function of the definitions, the data and the as-of day; the wall
clock plays no part (the as-of day counts as complete, as everywhere in Northstar).

- `kr_status`, `kr_probability`: the scorecard of `northstar okrs` (`metrics.okrs.scoring.score`).
- `forecast_interval`: the metric's day value against the prediction interval that the OKR
  forecaster (`metrics.okrs.forecast.simulate_end`) gives for that day from the days before it.
- `seasonal_deviation`: |x - median| / (1.4826 * MAD) over the same weekday of the weeks before
  (a robust z-score: the median and the median absolute deviation ignore one odd week).
- `data_check`: the checks of `northstar check --as-of` (`metrics.quality.run_checks_as_of`).

A rate (retention, funnel, or a ratio of them) is read on its last mature day, `as_of` minus its
maturity lag (`Project.maturity_lag`), as the OKR readings do.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.errors import NorthstarError
from metrics.definitions.alerts import (
    DataCheckRule,
    ForecastIntervalRule,
    KrProbabilityRule,
    KrStatusRule,
    Rule,
    SeasonalDeviationRule,
)
from metrics.definitions.models import COUNT_TYPES, RATE_TYPES, RatioMetric
from metrics.engine.request import MetricRequest
from metrics.format import (
    format_date,
    format_interval,
    format_probability,
    format_target,
    format_value,
    metric_unit,
    raw_number,
    status_words,
)

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine.engine import Engine
    from metrics.okrs.scorecard import KeyResultScore, Scorecard
    from metrics.quality.report import QualityReport

MAD_SCALE = 1.4826  # MAD x this estimates the standard deviation of normally distributed values


@dataclass(frozen=True)
class Finding:
    """One rule on one subject as of a day: firing or quiet, with what a person needs to read."""

    rule: str
    when: str
    subject: str  # "kr:<id>", "metric:<id>", "check:<source>/<check>"
    firing: bool
    title: str  # e.g. "Activation (activation_12) is off track"
    text: str  # the numbers behind it, one line
    facts: dict[str, Any] = field(default_factory=dict)  # JSON-ready (the webhook body): raw_numbers
    metric: str | None = None  # the metric to open in the dashboard, if any
    span: tuple[dt.date, dt.date] | None = None  # the days to show

    @property
    def key(self) -> str:
        """Where the state keeps this alert: rule and subject."""
        return f"{self.rule}|{self.subject}"


@dataclass(frozen=True)
class Evaluation:
    as_of: dt.date
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()  # what could not be evaluated, and why (such subjects stay as they were)

    @property
    def firing(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.firing)


def evaluate(
    project: Project,
    engine: Engine,
    as_of: dt.date,
    *,
    scorecard: Callable[[], Scorecard] | None = None,
    checks: Callable[[Sequence[str] | None], QualityReport] | None = None,
) -> Evaluation:
    """Every rule of the project's alerts.yaml as of `as_of` (the scorecard and the checks are run
    once, and only when a rule needs them; tests may pass their own)."""
    rules = project.alerts.rules if project.alerts is not None else {}
    findings: list[Finding] = []
    notes: list[str] = []
    card: Scorecard | None = None
    series = _Series(project, engine)
    for rule_id, rule in rules.items():
        try:
            if isinstance(rule, KrStatusRule | KrProbabilityRule):
                if card is None:
                    card = scorecard() if scorecard is not None else _score(project, engine, as_of)
                findings += _kr_rule(project, rule_id, rule, card, notes)
            elif isinstance(rule, ForecastIntervalRule | SeasonalDeviationRule):
                for metric_id in rule.metrics:
                    found = _metric_rule(project, series, rule_id, rule, metric_id, as_of, notes)
                    if found is not None:
                        findings.append(found)
            elif isinstance(rule, DataCheckRule):
                report = (checks or _checks(project, engine, as_of))(rule.sources)
                findings += _check_rule(rule_id, rule, report, as_of)
        except NorthstarError as exc:
            notes.append(f"rule {rule_id!r} could not be evaluated: {exc}")
    return Evaluation(as_of, tuple(findings), tuple(notes))


# --- key results -----------------------------------------------------------------------------


def _score(project: Project, engine: Engine, as_of: dt.date) -> Scorecard:
    from metrics.okrs.scoring import score

    return score(project, engine, as_of)


def _kr_rule(project: Project, rule_id: str, rule: Rule, card: Scorecard, notes: list[str]) -> list[Finding]:
    assert isinstance(rule, KrStatusRule | KrProbabilityRule)
    wanted = set(rule.key_results) if rule.key_results is not None else None
    out = []
    for objective in card.objectives:
        for kr in objective.key_results:
            if wanted is not None and kr.id not in wanted:
                continue
            if kr.problem is not None:
                notes.append(f"rule {rule_id!r}: key result {kr.id!r} could not be scored: {kr.problem}")
                continue
            if isinstance(rule, KrStatusRule):
                firing = kr.status in rule.status
                title = f"{_kr_name(project, kr)} is {status_words(kr.status).lower()}"
            else:
                if kr.probability is None:
                    notes.append(
                        f"rule {rule_id!r}: key result {kr.id!r} has no forecast (too little history)"
                    )
                    continue
                firing = kr.probability < rule.below
                title = f"{_kr_name(project, kr)}: chance of landing {format_probability(kr.probability)}" + (
                    f", below {format_probability(rule.below)}" if firing else ""
                )
            out.append(
                Finding(
                    rule=rule_id,
                    when=rule.when,
                    subject=f"kr:{kr.id}",
                    firing=firing,
                    title=title,
                    text=_kr_text(kr),
                    facts={
                        "key_result": kr.id,
                        "objective": objective.id,
                        "metric": kr.metric,
                        "status": kr.status,
                        "current": raw_number(kr.current, kr.unit),
                        "target": raw_number(kr.target, kr.unit),
                        "progress": raw_number(kr.progress),
                        "expected_progress": raw_number(kr.expected_progress),
                        "probability": raw_number(kr.probability),
                    },
                    metric=kr.metric,
                    span=(objective.start, kr.as_of or card.as_of),
                )
            )
    return out


def _kr_name(project: Project, kr: KeyResultScore) -> str:
    return f"{kr.label} ({kr.id})"


def _kr_text(kr: KeyResultScore) -> str:
    sample = kr.sample()
    parts = [
        f"current {format_value(kr.current, kr.unit)}" + (f" ({sample})" if sample else ""),
        f"target {format_target(kr.target, kr.unit, kr.direction)}",
        f"status {status_words(kr.status).lower()}",
    ]
    if kr.probability is not None:
        parts.append(f"chance of landing {format_probability(kr.probability)}")
    if kr.forecast is not None:
        parts.append(f"forecast {kr.forecast_words()}")
    return "; ".join(parts)


# --- metrics ---------------------------------------------------------------------------------


class _Series:
    """Day values of a metric, read once per metric over the longest span any rule asks for."""

    def __init__(self, project: Project, engine: Engine) -> None:
        self.project = project
        self.engine = engine
        self.cache: dict[tuple[str, dt.date, dt.date], dict[dt.date, float | None]] = {}

    def days(self, metric_id: str, start: dt.date, end: dt.date) -> dict[dt.date, float | None]:
        key = (metric_id, start, end)
        if key not in self.cache:
            result = self.engine.compute(
                MetricRequest(metrics=(metric_id,), start=start, end=end, grain="day")
            )
            self.cache[key] = {dt.date.fromisoformat(r["period"]): r["value"] for r in result.rows()}
        return self.cache[key]


def _metric_rule(
    project: Project,
    series: _Series,
    rule_id: str,
    rule: ForecastIntervalRule | SeasonalDeviationRule,
    metric_id: str,
    as_of: dt.date,
    notes: list[str],
) -> Finding | None:
    if metric_id not in project.metrics:
        why = project.skipped.get(metric_id, "it is not defined")
        notes.append(f"rule {rule_id!r}: metric {metric_id!r} is not available: {why}")
        return None
    day = as_of - dt.timedelta(days=project.maturity_lag(metric_id))  # its last mature day
    try:
        first, _last = series.engine.data_range([metric_id])
    except NorthstarError as exc:
        notes.append(f"rule {rule_id!r}: metric {metric_id!r} cannot be read: {exc}")
        return None
    back = rule.history_days if isinstance(rule, ForecastIntervalRule) else 7 * rule.weeks
    start = max(first, day - dt.timedelta(days=back))
    if day < first or day - start < dt.timedelta(days=14):
        notes.append(
            f"rule {rule_id!r}: metric {metric_id!r} has too little history before {day} "
            f"(its data starts {first})"
        )
        return None
    # read up to as-of: a cohort's returns and later steps after `day` count (as a KR's reading)
    values = series.days(metric_id, start, as_of)
    value = values.get(day)
    if value is None:
        notes.append(f"rule {rule_id!r}: metric {metric_id!r} has no value on {day}")
        return None
    unit = metric_unit(project, metric_id)
    label = project.label(metric_id)
    shown = format_value(value, unit)
    common = {"metric": metric_id, "day": day.isoformat(), "value": raw_number(value, unit)}
    if isinstance(rule, ForecastIntervalRule):
        history = [values.get(start + dt.timedelta(days=i)) for i in range((day - start).days)]
        interval = forecast_interval(
            history, rule.coverage, _counts(project, metric_id), _is_rate(project, metric_id)
        )
        if interval is None:
            notes.append(f"rule {rule_id!r}: metric {metric_id!r} could not be forecast for {day}")
            return None
        low, high = interval
        firing = value < low or value > high
        side = "above" if value > high else "below"
        band = format_interval(low, high, unit, coverage=rule.coverage)
        return Finding(
            rule=rule_id,
            when=rule.when,
            subject=f"metric:{metric_id}",
            firing=firing,
            title=f"{label} on {format_date(day)} is {side} its forecast ({shown})"
            if firing
            else f"{label} on {format_date(day)} is within its forecast ({shown})",
            text=f"{label} was {shown} on {format_date(day)}, against its forecast from the "
            f"{len(history)} days before ({band})",
            facts={
                **common,
                "low": raw_number(low, unit),
                "high": raw_number(high, unit),
                "coverage": rule.coverage,
            },
            metric=metric_id,
            span=(start, day),
        )
    norm_days = [day - dt.timedelta(days=7 * k) for k in range(1, rule.weeks + 1)]
    norm = [v for d in norm_days if d >= start and (v := values.get(d)) is not None]
    if len(norm) < max(3, (rule.weeks + 1) // 2):
        notes.append(
            f"rule {rule_id!r}: metric {metric_id!r} has {len(norm)} of the {rule.weeks} "
            f"{day:%A}s before {day} with a value; the norm needs at least half of them"
        )
        return None
    median, deviations = robust_deviation(value, norm)
    signed = deviations if value >= median else -deviations
    firing = (
        (rule.direction == "any" and deviations > rule.threshold)
        or (rule.direction == "up" and signed > rule.threshold)
        or (rule.direction == "down" and -signed > rule.threshold)
    )
    shown_dev = "∞" if math.isinf(deviations) else f"{deviations:.1f}"
    weekday = f"{day:%A}"
    return Finding(
        rule=rule_id,
        when=rule.when,
        subject=f"metric:{metric_id}",
        firing=firing,
        title=f"{label} on {format_date(day)} is {shown_dev} robust deviations "
        f"{'above' if value >= median else 'below'} its {weekday} norm ({shown})",
        text=f"{label} was {shown} on {weekday} {format_date(day)}; the median of the {len(norm)} "
        f"{weekday}s before is {format_value(median, unit)} (alert beyond {rule.threshold:g} robust deviations)",
        facts={
            **common,
            "median": raw_number(median, unit),
            "deviations": raw_number(deviations),  # None when infinite (a norm without spread)
            "threshold": rule.threshold,
            "norm_days": len(norm),
        },
        metric=metric_id,
        span=(start, day),
    )


def robust_deviation(value: float, norm: Sequence[float]) -> tuple[float, float]:
    """(median, |value - median| / (1.4826 * MAD)) of `value` against the `norm` values. With a MAD
    of 0 (most of the norm is one value) any other value is infinitely far, and that value 0."""
    median = statistics.median(norm)
    mad = statistics.median(abs(v - median) for v in norm)
    if mad == 0:
        return median, 0.0 if value == median else math.inf
    return median, abs(value - median) / (MAD_SCALE * mad)


def forecast_interval(
    history: Sequence[float | None], coverage: float, counts: bool, rate: bool
) -> tuple[float, float] | None:
    """The central `coverage` interval of the next day's value after `history` (one value a day,
    oldest first), from the OKR forecaster's simulations; None when it cannot forecast."""
    import numpy as np

    from metrics.okrs.forecast import ForecastOptions, simulate_end

    options = ForecastOptions(
        kind="level", counts=counts, lower=0.0 if counts or rate else None, upper=1.0 if rate else None
    )
    projection = simulate_end(list(history), 1, options)
    if projection.ends is None:
        return None
    tail = (1.0 - coverage) / 2.0
    low, high = np.quantile(projection.ends, [tail, 1.0 - tail])
    return float(low), float(high)


def _counts(project: Project, metric_id: str) -> bool:
    metric = project.metrics[metric_id]
    return not isinstance(metric, RatioMetric) and metric.type in COUNT_TYPES


def _is_rate(project: Project, metric_id: str) -> bool:
    metric = project.metrics[metric_id]
    return metric.type in {"retention", "funnel"} or (metric.type in RATE_TYPES and metric.unit == "percent")


# --- data checks -----------------------------------------------------------------------------


def _checks(
    project: Project, engine: Engine, as_of: dt.date
) -> Callable[[Sequence[str] | None], QualityReport]:
    reports: dict[tuple[str, ...] | None, QualityReport] = {}

    def run(sources: Sequence[str] | None) -> QualityReport:
        key = tuple(sources) if sources is not None else None
        if key not in reports:
            from metrics.quality import run_checks_as_of

            reports[key] = run_checks_as_of(project, engine, as_of, sources=sources)
        return reports[key]

    return run


def _check_rule(rule_id: str, rule: DataCheckRule, report: QualityReport, as_of: dt.date) -> list[Finding]:
    out = []
    seen: dict[str, int] = {}
    for result in report.results:
        if rule.sources is not None and result.source not in rule.sources:
            continue
        if rule.severity == "error" and result.severity != "error":
            continue
        name = f"{result.source}/{result.check}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two checks of one name on a source (two expectations): keep both apart
            name = f"{name}#{seen[name]}"
        word = "failed" if result.severity == "error" else "warns"
        days = sorted(result.days)
        when = f" on {plural_days(days)}" if days else ""
        out.append(
            Finding(
                rule=rule_id,
                when=rule.when,
                subject=f"check:{name}",
                firing=not result.success,
                title=f"Data check {result.check} on {result.source} {word}{when}"
                if not result.success
                else f"Data check {result.check} on {result.source} passes",
                text=result.details,
                facts={
                    "source": result.source,
                    "check": result.check,
                    "severity": result.severity,
                    "unexpected_count": result.unexpected_count,
                    "days": [d.isoformat() for d in days],
                },
                span=(days[0], days[-1]) if days else None,
            )
        )
    return out


def plural_days(days: Sequence[dt.date]) -> str:
    if len(days) == 1:
        return format_date(days[0])
    return f"{len(days)} days ({format_date(days[0])} – {format_date(days[-1])})"


__all__ = ["MAD_SCALE", "Evaluation", "Finding", "evaluate", "forecast_interval", "robust_deviation"]
