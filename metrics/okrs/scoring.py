"""OKR scoring: each key result's reading, progress, pace, forecast and status (CONTRACT.md, Key results).

`score(project, engine, as_of)` returns a `Scorecard`. Every number follows the contract:

* `current`: the KR's metric read at as-of (clipped to the objective's period): `period_to_date`
  over period start .. as-of, `trailing_<N>d` over the N days ending on as-of, `latest` on as-of.
  Retention and funnel KRs read mature cohorts only: their span ends `offset` days (retention by
  day; 7*offset+6 by week) or `within` days (funnel) before as-of, while returns and later steps up
  to as-of count.
* `baseline`: as written, else 0 for period_to_date reads of count, count_distinct and sum, else
  the same reading as of the day before the period starts (period_to_date then spans the whole
  previous period of the same length).
* `progress` = (current - baseline) / (target - baseline), unclipped.
* `expected_progress`: the piecewise straight line through (0, baseline), (f(m), value) for each
  milestone m and (1, target), at f(as-of), as a fraction of (target - baseline); f(d) is the share
  of the period's days elapsed by day d, counting d.
* statuses: after the period `achieved` (progress >= 1) or `missed`; before, by the forecast's
  probability of landing when there is a forecast, else by pace (thresholds from project.yaml).

Readings come from the engine. Where a reading can be built exactly from daily values (count and
sum add up; min and max; active users are a day's value; ratios of those), one day-grain request
gives the whole daily history. Otherwise (distinct counts, averages, percentiles, retention,
funnels) each reading is the metric for a single period spanning the read's days
(`MetricRequest.span_end`), and the history holds one reading a week. Distinct users over such a
span are read as active users over a window as long as the span (`windowable`), all of a KR's
spans in one request; the others take one request per reading. `score` makes the requests up
front, a few at a time, and forecasts each KR as soon as its readings are in.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from connectors.errors import NorthstarError
from metrics.definitions.calendar import Calendar, last_complete_day
from metrics.definitions.models import (
    ADDITIVE_TYPES,
    ActiveUsersMetric,
    CountDistinctMetric,
    FunnelMetric,
    KeyResult,
    MetricDef,
    Objective,
    RatioMetric,
    RetentionMetric,
    StatusThresholds,
    parse_read,
)
from metrics.definitions.project import Project
from metrics.engine.request import MetricRequest, MetricResult
from metrics.okrs.forecast import Direction, Forecast, Outlook, Projection, simulate_end
from metrics.okrs.forecast import project as project_outlook

Status = Literal["on_track", "at_risk", "off_track", "achieved", "missed"]
ReadMode = Literal["period_to_date", "trailing", "latest"]
STATUSES: tuple[Status, ...] = ("on_track", "at_risk", "off_track", "achieved", "missed")
_WORST_FIRST: tuple[Status, ...] = ("off_track", "at_risk", "on_track")

DAILY_LOOKBACK_DAYS = 120  # daily history the forecast learns from (when the data reaches back so far)
WEEKLY_LOOKBACK_WEEKS = 8  # weekly readings the forecast learns from, for readings built one by one
FORECAST_WAIT_SECONDS = 60  # a forecast in another process that takes longer is dropped, not waited for
READ_THREADS = 3  # engine requests in flight at once while the scorecard reads (Polars releases the GIL)
MAX_WINDOW = 366  # the longest active-users window (metrics.models.ActiveUsersMetric)
_ONE = dt.timedelta(days=1)


# --- the scorecard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    date: dt.date
    value: float
    expected_progress: float | None  # (value - baseline) / (target - baseline); None without a baseline


@dataclass(frozen=True)
class KeyResultScore:
    id: str
    metric: str
    label: str
    unit: str
    direction: Direction
    read: str
    current: float | None
    baseline: float | None
    target: float
    progress: float | None
    expected_progress: float | None
    status: Status
    forecast: Forecast | None
    probability: float | None
    milestones: tuple[Milestone, ...]
    history: pl.DataFrame  # date (Date), value (Float64): the KR's reading on days of the period
    problem: str | None = None  # why the KR could not be scored (then progress is None)
    notes: tuple[str, ...] = ()  # e.g. why there is no forecast, or that the data ends early
    weight: float = 1.0
    baseline_given: bool = False
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    as_of: dt.date | None = None  # the day read (as-of clipped to the period)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "current": _number(self.current),
            "baseline": _number(self.baseline),
            "target": _number(self.target),
            "progress": _number(self.progress),
            "expected_progress": _number(self.expected_progress),
            "status": self.status,
            "forecast": None
            if self.forecast is None
            else {
                "value": _number(self.forecast.value),
                "low": _number(self.forecast.low),
                "high": _number(self.forecast.high),
            },
            "probability": _number(self.probability),
        }


@dataclass(frozen=True)
class ObjectiveScore:
    id: str
    objective: str
    owner: str | None
    start: dt.date
    end: dt.date
    progress: float
    status: Status
    key_results: tuple[KeyResultScore, ...]
    as_of: dt.date | None = None  # the day read (as-of clipped to the period)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "objective": self.objective,
            "owner": self.owner,
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "progress": _number(self.progress),
            "status": self.status,
            "key_results": [kr.to_json() for kr in self.key_results],
        }


@dataclass(frozen=True)
class Scorecard:
    as_of: dt.date
    objectives: tuple[ObjectiveScore, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The contract's `northstar okrs --format json` object."""
        return {"as_of": self.as_of.isoformat(), "objectives": [o.to_json() for o in self.objectives]}

    def to_table(self) -> str:
        """The scorecard for people: one block per objective, one row per key result."""
        if not self.objectives:
            return f"OKRs as of {self.as_of}: no objectives are defined (add them to okrs.yaml)."
        lines = [f"OKRs as of {self.as_of}"]
        for objective in self.objectives:
            lines.append("")
            owner = f" · {objective.owner}" if objective.owner else ""
            lines.append(
                f"{objective.objective} [{objective.id}]{owner} · {objective.start} .. {objective.end} · "
                f"progress {_percent(objective.progress)} · {_words(objective.status)}"
            )
            header = (
                "key result",
                "metric",
                "current",
                "target",
                "progress",
                "expected",
                "forecast (80%)",
                "chance",
                "status",
            )
            rows = [header]
            notes: list[str] = []
            for kr in objective.key_results:
                rows.append(
                    (
                        kr.id,
                        f"{kr.metric} ({kr.read})",
                        _value(kr.current, kr.unit),
                        ("<= " if kr.direction == "decrease" else "") + _value(kr.target, kr.unit),
                        _percent(kr.progress),
                        _percent(kr.expected_progress),
                        "-"
                        if kr.forecast is None
                        else f"{_value(kr.forecast.value, kr.unit)} ({_value(kr.forecast.low, kr.unit)}"
                        f" .. {_value(kr.forecast.high, kr.unit)})",
                        _percent(kr.probability),
                        _words(kr.status),
                    )
                )
                if kr.problem:
                    notes.append(f"{kr.id}: {kr.problem}")
                notes.extend(f"{kr.id}: {note}" for note in kr.notes)
            widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
            numeric = {2, 3, 4, 5, 7}
            for row in rows:
                cells = [
                    cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                    for i, cell in enumerate(row)
                ]
                lines.append("  " + "  ".join(cells).rstrip())
            lines.extend(f"  note: {note}" for note in notes)
        return "\n".join(lines)


# --- the arithmetic of the contract ----------------------------------------------------------------


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


# --- reading a metric -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadSpec:
    """How a KR reads its metric: the mode, N for trailing reads, and the cohort maturity lag."""

    mode: ReadMode
    days: int
    lag: int

    def span(self, day: dt.date, period_start: dt.date) -> tuple[dt.date, dt.date]:
        """[first, last] day of the rows (or cohorts) read as of `day`; data up to `day` counts."""
        last = day - dt.timedelta(days=self.lag)
        if self.mode == "period_to_date":
            return period_start, last
        if self.mode == "trailing":
            return last - dt.timedelta(days=self.days - 1), last
        return last, last


def maturity_lag(metric_id: str, metrics: Mapping[str, MetricDef]) -> int:
    """Days a cohort needs before it can be read: retention's interval, a funnel's `within`."""
    metric = metrics[metric_id]
    if isinstance(metric, RetentionMetric):
        return metric.offset if metric.period == "day" else 7 * metric.offset + 6
    if isinstance(metric, FunnelMetric):
        return math.ceil(metric.within)
    if isinstance(metric, RatioMetric):
        return max(maturity_lag(metric.numerator, metrics), maturity_lag(metric.denominator, metrics))
    return 0


def read_spec(read: str, metric_id: str, metrics: Mapping[str, MetricDef]) -> ReadSpec:
    mode, days = parse_read(read)
    return ReadSpec(mode, days, maturity_lag(metric_id, metrics))


def decomposable(metric_id: str, metrics: Mapping[str, MetricDef]) -> bool:
    """True when any span's value follows exactly from the metric's daily values."""
    metric = metrics[metric_id]
    if isinstance(metric, RatioMetric):
        return decomposable(metric.numerator, metrics) and decomposable(metric.denominator, metrics)
    return metric.type in ("count", "sum", "min", "max", "active_users")


def windowable(metric_id: str, metrics: Mapping[str, MetricDef]) -> bool:
    """True when any span's value follows exactly from daily values and distinct users over windows.

    The distinct users of a span first .. last are the active users on `last` with a window of the
    span's length (same filter; rows without a user count in neither), so one request with one
    active-users window per span length gives every span. The other parts must be exact from
    daily values with no rounding: counts, min and max (a sum of fractional amounts, added up day by
    day, could differ from the engine's one-span total in the last digit).
    """
    metric = metrics[metric_id]
    if isinstance(metric, RatioMetric):
        return windowable(metric.numerator, metrics) and windowable(metric.denominator, metrics)
    if isinstance(metric, CountDistinctMetric):
        return metric.column is None
    return metric.type in ("count", "min", "max", "active_users")


def leaves(metric_id: str, metrics: Mapping[str, MetricDef]) -> list[str]:
    metric = metrics[metric_id]
    if isinstance(metric, RatioMetric):
        return list(dict.fromkeys([*leaves(metric.numerator, metrics), *leaves(metric.denominator, metrics)]))
    return [metric_id]


def span_value(
    metric_id: str,
    first: dt.date,
    last: dt.date,
    metrics: Mapping[str, MetricDef],
    daily: Mapping[str, Mapping[dt.date, float | None]],
    windows: Mapping[tuple[str, int], Mapping[dt.date, float | None]] | None = None,
) -> float | None:
    """The metric's value for one period spanning first .. last, from its (or its parts') daily values.

    `windows[(part, n)]` holds, for a distinct-user count, the active users with an n-day window by
    day (see `windowable`).
    """
    metric = metrics[metric_id]
    if isinstance(metric, RatioMetric):
        numerator = span_value(metric.numerator, first, last, metrics, daily, windows)
        denominator = span_value(metric.denominator, first, last, metrics, daily, windows)
        if numerator is None or denominator is None or denominator == 0:
            return None
        return numerator / denominator
    if metric.type == "count_distinct" and windows is not None:
        return windows[(metric_id, (last - first).days + 1)].get(last, 0.0)
    values = daily[metric_id]
    if metric.type == "active_users":
        return values.get(last, 0.0)
    found = [values.get(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]
    present = [v for v in found if v is not None]
    if metric.type in ("count", "sum"):
        return float(sum(present))
    if not present:
        return None
    return float(min(present) if metric.type == "min" else max(present))


class _Unreadable(Exception):
    """A KR cannot be scored; the message says why (shown as the KR's `problem`)."""


ReadingKey = tuple[dt.date, dt.date]  # (the day read, the period start a period_to_date read counts from)


@dataclass(frozen=True)
class _Simulation:
    """A forecast to run: `simulate_end(history, horizon, **options)`."""

    history: list[float | None]
    horizon: int
    options: dict[str, Any]

    def run(self) -> Projection:
        return simulate_end(self.history, self.horizon, **self.options)


@dataclass
class _Context:
    project: Project
    engine: Any
    today: dt.date  # the engine's clock: today's data may be incomplete
    thresholds: StatusThresholds
    forecast: bool
    executor: Executor | None = None  # where the forecasts' simulations run; None: here, at once
    ranges: dict[Any, tuple[dt.date, dt.date]] = field(default_factory=dict)
    readers: dict[tuple[int, dt.date, dt.date], _KeyResultReader] = field(default_factory=dict)

    def data_range(self, metric_id: str) -> tuple[dt.date, dt.date]:
        key = self._sources(metric_id) or metric_id  # metrics of the same sources share one range
        if key not in self.ranges:
            first, last = self.engine.data_range([metric_id])
            self.ranges[key] = (first, last)
        return self.ranges[key]

    def _sources(self, metric_id: str) -> tuple[str, ...] | None:
        sources: set[str] = set()
        try:
            for part in leaves(metric_id, self.project.metrics):
                metric = self.project.metrics[part]
                if isinstance(metric, RatioMetric):
                    return None
                sources.add(metric.source)
        except KeyError:
            return None
        return tuple(sorted(sources))

    def reader(self, kr: KeyResult, start: dt.date, end: dt.date) -> _KeyResultReader:
        key = (id(kr), start, end)
        if key not in self.readers:
            self.readers[key] = _KeyResultReader(self, kr, start, end)
        return self.readers[key]

    def outlook(self, job: Projection | _Simulation, target: float, direction: Direction) -> Future[Outlook]:
        """The forecast and probability of landing: on the executor when there is one (only the
        outlook comes back, a few numbers), else here and now."""
        if isinstance(job, _Simulation) and self.executor is not None:
            return self.executor.submit(
                project_outlook, job.history, job.horizon, target=target, direction=direction, **job.options
            )
        done: Future[Outlook] = Future()
        done.set_result((job.run() if isinstance(job, _Simulation) else job).outlook(target, direction))
        return done


class _KeyResultReader:
    """Reads one KR's metric for any day through the engine, and projects it to the period end."""

    def __init__(self, ctx: _Context, kr: KeyResult, start: dt.date, end: dt.date) -> None:
        self.ctx = ctx
        self.kr = kr
        self.metrics = ctx.project.metrics
        self.metric = self.metrics[kr.metric]
        self.start = start
        self.end = end
        self.length = (end - start).days + 1
        self.spec = read_spec(kr.read, kr.metric, self.metrics)
        self.exact_daily = decomposable(kr.metric, self.metrics)
        self.windowed = not self.exact_daily and windowable(kr.metric, self.metrics)
        self.parts = leaves(kr.metric, self.metrics)
        self.daily: dict[str, dict[dt.date, float | None]] = {}
        self.loaded: tuple[dt.date, dt.date] | None = None
        self.cache: dict[ReadingKey, float | None] = {}
        # latest reads built one by one: the day-grain series by the day it is observed until
        # (the request's end), with the first cohort day it holds
        self.series: dict[dt.date, tuple[dt.date, dict[dt.date, float | None]]] = {}

    @property
    def direction(self) -> Direction:
        return self.kr.direction or self.metric.direction

    # -- single readings --

    def reading(self, day: dt.date, period_start: dt.date | None = None) -> float | None:
        """The KR's reading as of `day` (period_to_date from `period_start`, default the period's)."""
        key = (day, self.start if period_start is None else period_start)
        if key not in self.cache:
            first, last = self.spec.span(*key)
            if last < first:
                self.cache[key] = None
            elif self.exact_daily:
                self.load_daily(first, day)
                self.cache[key] = span_value(self.kr.metric, first, last, self.metrics, self.daily)
            elif self.spec.mode == "latest" and self._in_series(first, day):
                # a one-day span observed until `day` is that day's value in a day-grain request
                # ending on `day` (the same cohort, the same returns and steps counted)
                self.cache[key] = _plain_value(self.series[day][1].get(first))
            else:
                self.cache[key] = self._span_request(first, last, day)
        return self.cache[key]

    def _span_request(self, first: dt.date, last: dt.date, observe_until: dt.date) -> float | None:
        request = MetricRequest(
            metrics=(self.kr.metric,), start=first, end=observe_until, grain="day", span_end=last
        )
        frame = self.ctx.engine.compute(request).series(self.kr.metric)
        if frame.height == 0:
            return None
        return _plain_value(frame["value"][0])

    def load_daily(self, first: dt.date, last: dt.date) -> None:
        """Daily values of every sourced part over at least first .. last (one engine request)."""
        if self.loaded is not None:
            if self.loaded[0] <= first and last <= self.loaded[1]:
                return
            first, last = min(first, self.loaded[0]), max(last, self.loaded[1])
        result = self.ctx.engine.compute(
            MetricRequest(metrics=tuple(self.parts), start=first, end=last, grain="day")
        )
        self.take_daily(result, first, last)

    def preload(self, day: dt.date, origin: dt.date) -> None:
        """One day-grain request for everything this KR reads (baseline, current, history, forecast)."""
        if not self.exact_daily:
            return
        self.load_daily(*self.preload_range(day, origin))

    def preload_range(self, day: dt.date, origin: dt.date) -> tuple[dt.date, dt.date]:
        """The days `preload` asks for."""
        reach = dt.timedelta(days=max(self.length, self.spec.days) + self.spec.lag)
        return min(self.start, origin - dt.timedelta(days=DAILY_LOOKBACK_DAYS)) - reach, day

    def take_daily(self, result: MetricResult, first: dt.date, last: dt.date) -> None:
        """Daily values of this KR's parts from a day-grain request over first .. last (shared)."""
        for part in self.parts:
            series = result.series(part)
            self.daily[part] = dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))
        self.loaded = (first, last)

    # -- reading ahead --

    def prefetch(
        self, day: dt.date, origin: dt.date, data_first: dt.date, project: bool
    ) -> list[Callable[[], Any]]:
        """Engine requests that fill this reader's caches with what scoring it will read; each may
        run in its own thread. Reading ahead changes no number: a reading is the same whichever
        request gave it (`windowable`, `reading`)."""
        if self.exact_daily:  # see _read_ahead: one request for every such KR
            return [lambda: self.preload(day, origin)]
        keys: set[ReadingKey] = {(day, self.start)}
        baseline = self._baseline_key()
        if baseline is not None:
            keys.add(baseline)
        tasks: list[Callable[[], Any]] = []
        if self.spec.mode == "latest":
            first = self.start
            plan = self._projection_plan(origin, data_first) if project else None
            if isinstance(plan, tuple) and origin == day:
                first = min(first, plan[1])
            tasks.append(lambda: self._latest_series(first, day))
            keys.discard((day, self.start))  # read from that series
            if isinstance(plan, tuple) and origin != day:
                since = plan[1]
                tasks.append(lambda: self._latest_series(since, origin))
        else:
            keys.update((d, self.start) for d in self._history_days(day, origin))
            if project:
                plan = self._projection_plan(origin, data_first)
                if isinstance(plan, tuple) and plan[0] == "level":
                    keys.update((d, self.start) for d in self._weekly_days(origin, plan[1]))
        if self.windowed and self.spec.mode != "latest":
            tasks.append(lambda: self._read_windows(keys))
        else:
            tasks.extend(functools.partial(self.reading, *key) for key in sorted(keys))
        return tasks

    def _read_windows(self, keys: Iterable[ReadingKey]) -> None:
        """Every reading in `keys` from one engine request: daily values of the counted parts and
        the distinct users over a window of each span's length, as active users (`windowable`)."""
        spans = {key: self.spec.span(*key) for key in keys}
        spans = {key: (first, last) for key, (first, last) in spans.items() if first <= last}
        lengths = sorted({(last - first).days + 1 for first, last in spans.values()})
        if not spans or lengths[-1] > MAX_WINDOW:
            return
        distinct = [p for p in self.parts if isinstance(self.metrics[p], CountDistinctMetric)]
        counted = [p for p in self.parts if p not in distinct]
        extra: dict[str, MetricDef] = {}
        names: dict[tuple[str, int], str] = {}
        for part in distinct:
            metric = self.metrics[part]
            assert isinstance(metric, CountDistinctMetric)
            for n in lengths:
                name = f"{part}__okr_window_{n}d"
                if name in self.metrics:
                    return
                names[(part, n)] = name
                extra[name] = ActiveUsersMetric(
                    type="active_users", source=metric.source, filter=dict(metric.filter), window=n
                )
        first = min(first for first, _ in spans.values())
        last = max(last for _, last in spans.values())
        result = self.ctx.engine.with_metrics(extra).compute(
            MetricRequest(metrics=(*counted, *extra), start=first, end=last, grain="day")
        )

        def by_day(metric_id: str) -> dict[dt.date, float | None]:
            series = result.series(metric_id)
            return dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))

        daily = {part: by_day(part) for part in counted}
        windows = {key: by_day(name) for key, name in names.items()}
        for key, (first, last) in spans.items():
            self.cache[key] = span_value(self.kr.metric, first, last, self.metrics, daily, windows)

    # -- the baseline --

    def _baseline_key(self) -> ReadingKey | None:
        """The reading the baseline takes when none is written (None: given, or 0)."""
        if self.kr.baseline is not None:
            return None
        if self.spec.mode == "period_to_date" and self.metric.type in ADDITIVE_TYPES:
            return None
        return self.start - _ONE, self.start - dt.timedelta(days=self.length)

    def baseline(self) -> tuple[float, bool]:
        """(baseline, given): as written, else 0 or the reading as of the day before the period."""
        if self.kr.baseline is not None:
            return float(self.kr.baseline), True
        key = self._baseline_key()
        if key is None:
            return 0.0, False
        value = self.reading(*key)
        if value is None:
            raise _Unreadable(
                f"there is no {self.kr.metric} reading before the period to use as the baseline; "
                "set `baseline:` on the key result"
            )
        return value, False

    # -- history and forecast --

    def origin(self, day: dt.date, data_last: dt.date) -> dt.date:
        """The last complete day the forecast starts from: as-of, the data's last day, or yesterday."""
        return min(day, last_complete_day(self.ctx.today, data_last))

    def _history_days(self, day: dt.date, origin: dt.date) -> list[dt.date]:
        """The days the history holds a reading for: every day, or weekly when read one by one."""
        days = [self.start + dt.timedelta(days=i) for i in range((day - self.start).days + 1)]
        if self.exact_daily:
            return days
        weekly = {origin - dt.timedelta(days=7 * k) for k in range((origin - self.start).days // 7 + 1)}
        return [d for d in days if d in weekly or d == day]

    def history(self, day: dt.date, origin: dt.date) -> pl.DataFrame:
        """The KR's reading on the days of the period up to `day` (weekly when read one by one)."""
        days: list[dt.date]
        values: list[float | None]
        if self.spec.mode == "latest" and not self.exact_daily:
            days = [self.start + dt.timedelta(days=i) for i in range((day - self.start).days + 1)]
            lagged = self._latest_series(self.start, day)
            values = [lagged.get(d) for d in days]
        else:
            days = self._history_days(day, origin)
            values = [self.reading(d) for d in days]
        return pl.DataFrame({"date": days, "value": values}, schema={"date": pl.Date, "value": pl.Float64})

    def _in_series(self, cohort: dt.date, until: dt.date) -> bool:
        found = self.series.get(until)
        return found is not None and found[0] <= cohort

    def _latest_series(self, first: dt.date, last: dt.date) -> dict[dt.date, float | None]:
        """Day -> latest reading for days first .. last, from one day-grain request ending on `last`."""
        lag = dt.timedelta(days=self.spec.lag)
        if not self._in_series(first - lag, last):
            result = self.ctx.engine.compute(
                MetricRequest(metrics=(self.kr.metric,), start=first - lag, end=last, grain="day")
            )
            series = result.series(self.kr.metric)
            by_cohort = dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))
            self.series[last] = (first - lag, by_cohort)
        by_cohort = self.series[last][1]
        return {
            first + dt.timedelta(days=i): by_cohort.get(first + dt.timedelta(days=i) - lag)
            for i in range((last - first).days + 1)
        }

    def _projection_plan(self, origin: dt.date, data_first: dt.date) -> tuple[str, dt.date] | Projection:
        """How the forecast reads its history: ("sum", -) or ("level", first day), or why there is none."""
        if origin < data_first or origin < self.start - dt.timedelta(days=DAILY_LOOKBACK_DAYS):
            return Projection(None, "there is no complete day of data to project from")
        if self.metric.type in ("count", "sum") and self.spec.mode != "latest":
            return "sum", origin
        if self.spec.mode == "period_to_date" and not self._position_free():
            if not self.exact_daily:
                return Projection(
                    None,
                    f"a period_to_date reading of a {self.metric.type} metric is not projected (it cannot "
                    "be built from daily values)",
                )
            first = self.start
        else:
            first = max(
                data_first + dt.timedelta(days=self.spec.lag),
                origin - dt.timedelta(days=DAILY_LOOKBACK_DAYS - 1),
            )
        if first > origin:
            return Projection(None, "there is no reading yet to project from")
        return "level", first

    @staticmethod
    def _weekly_days(origin: dt.date, first: dt.date) -> list[dt.date]:
        """The days a forecast of readings built one by one learns from: one a week back from origin."""
        weeks = min(WEEKLY_LOOKBACK_WEEKS, (origin - first).days // 7)
        return [origin - dt.timedelta(days=7 * k) for k in range(weeks + 1)]

    def projection(self, origin: dt.date, data_first: dt.date) -> Projection:
        """Simulate the reading at the period's end from the complete days up to `origin`."""
        job = self.projection_job(origin, data_first)
        return job.run() if isinstance(job, _Simulation) else job

    def projection_job(self, origin: dt.date, data_first: dt.date) -> Projection | _Simulation:
        """The simulation `projection` runs (the history read here), or the Projection without one."""
        plan = self._projection_plan(origin, data_first)
        if isinstance(plan, Projection):
            return plan
        horizon = (self.end - origin).days
        kind, first = plan
        if kind == "sum":
            return self._projection_sum(origin, data_first, horizon)
        days = [first + dt.timedelta(days=i) for i in range((origin - first).days + 1)]
        step = self._step()
        series: list[float | None]
        if self.exact_daily:
            series = [self.reading(d) for d in days]
        elif self.spec.mode == "latest":
            lagged = self._latest_series(first, origin)
            series = [lagged.get(d) for d in days]
        else:  # read one by one: one reading a week
            wanted = set(self._weekly_days(origin, first))
            series = [self.reading(d) if d in wanted else None for d in days]
            step = 7
        observed = [v for v in series if v is not None]
        upper = 1.0 if isinstance(self.metric, RetentionMetric | FunnelMetric) else None
        lower = 0.0 if observed and min(observed) >= 0 else None
        return _Simulation(series, horizon, {"kind": "level", "step": step, "lower": lower, "upper": upper})

    def _projection_sum(self, origin: dt.date, data_first: dt.date, horizon: int) -> _Simulation:
        """Totals: what is counted of the end window so far plus simulated daily totals."""
        first = max(data_first, origin - dt.timedelta(days=DAILY_LOOKBACK_DAYS - 1))
        window_first, window_last = self.spec.span(self.end, self.start)
        self.load_daily(min(first, window_first), origin)
        daily = self.daily[self.kr.metric]
        values = [daily.get(first + dt.timedelta(days=i)) for i in range((origin - first).days + 1)]
        known = 0.0
        if window_first <= origin:
            known = span_value(self.kr.metric, window_first, origin, self.metrics, self.daily) or 0.0
        summed = (window_last - max(window_first, origin + _ONE)).days + 1
        return _Simulation(
            values,
            horizon,
            {
                "kind": "sum",
                "known": known,
                "summed_days": summed,
                "lower": 0.0 if all((v or 0.0) >= 0 for v in values) else None,
            },
        )

    def _position_free(self) -> bool:
        """True when a period_to_date reading does not depend on where the period starts."""
        return all(self.metrics[m].type == "active_users" for m in self.parts)

    def _step(self) -> int:
        """7 when the reading smooths over a week or more (model one point a week), else 1."""
        if self._position_free():
            smoothing = min(getattr(self.metrics[m], "window", 1) for m in self.parts)
        elif self.spec.mode == "latest":
            smoothing = 1
        elif self.spec.mode == "trailing":
            smoothing = self.spec.days
        else:
            smoothing = 7
        return 7 if smoothing >= 7 else 1


def _plain_value(value: Any) -> float | None:
    """An engine value as a reading: None for null and NaN."""
    return None if value is None or math.isnan(value) else float(value)


# --- scoring ------------------------------------------------------------------------------------


def score(
    project: Project,
    engine: Any,
    as_of: dt.date | None = None,
    *,
    forecast: bool = True,
    executor: Executor | None = None,
) -> Scorecard:
    """Score every objective of the project as of `as_of` (default: the engine's today).

    What the key results will read is requested up front, a few engine requests at a time (Polars
    works outside the GIL), and each KR is scored from those readings as soon as its own are in.
    Its forecast is submitted to `executor` when one is given (the dashboard keeps a process with
    statsmodels imported), so it runs while other KRs are still read, and is collected at the end;
    without an executor it runs here, KR by KR. None of this changes a number.
    """
    calendar: Calendar = engine.calendar
    today: dt.date = engine.today()
    day = today if as_of is None else as_of
    ctx = _Context(project, engine, today, project.settings.thresholds, forecast, executor)
    from metrics.definitions.calendar import objective_period

    periods = [(objective, *objective_period(objective, calendar, day)) for objective in project.okrs]
    items = [(kr, start, end) for objective, start, end in periods for kr in objective.key_results]
    finishers = iter(_score_as_read(ctx, day, items, _read_ahead(ctx, day, items)))
    objectives = tuple(
        _objective_score(objective, day, start, end, tuple(next(finishers)() for _ in objective.key_results))
        for objective, start, end in periods
    )
    return Scorecard(as_of=day, objectives=objectives)


def read_key_result(
    project: Project, engine: Any, kr: KeyResult, start: dt.date, end: dt.date, day: dt.date
) -> float | None:
    """The KR's reading as of `day` for a period start .. end (None where nothing can be read)."""
    ctx = _Context(project, engine, engine.today(), project.settings.thresholds, forecast=False)
    return _KeyResultReader(ctx, kr, start, end).reading(day)


def project_key_result(
    project: Project, engine: Any, kr: KeyResult, start: dt.date, end: dt.date, as_of: dt.date
) -> Projection:
    """Simulated readings of the KR at `end`, from the complete days up to as-of (see `score`)."""
    ctx = _Context(project, engine, engine.today(), project.settings.thresholds, forecast=True)
    reader = _KeyResultReader(ctx, kr, start, end)
    data_first, data_last = ctx.data_range(kr.metric)
    origin = reader.origin(as_of, data_last)
    reader.preload(as_of, origin)
    return reader.projection(origin, data_first)


Task = tuple[Callable[[], Any], list[int]]  # an engine request to make, and the KRs that read it


def _read_ahead(
    ctx: _Context, as_of: dt.date, items: Sequence[tuple[KeyResult, dt.date, dt.date]]
) -> list[Task]:
    """The engine requests that fill the KR readers' caches with what scoring will read.

    A request that fails is simply left out: scoring asks for it again and reports the problem on
    its KR, as it would have without reading ahead.
    """
    tasks: list[Task] = []
    daily: dict[tuple[dt.date, dt.date], list[tuple[int, _KeyResultReader]]] = {}
    for index, (kr, start, end) in enumerate(items):
        if kr.metric not in ctx.project.metrics:
            continue
        ended = as_of > end
        day = min(max(as_of, start), end)
        try:
            data_first, data_last = ctx.data_range(kr.metric)
            if data_last < start or data_first > day:
                continue
            reader = ctx.reader(kr, start, end)
            origin = reader.origin(day, data_last)
            if reader.exact_daily:
                daily.setdefault(reader.preload_range(day, origin), []).append((index, reader))
            else:
                prefetch = reader.prefetch(day, origin, data_first, not ended and ctx.forecast)
                tasks.extend((task, [index]) for task in prefetch)
        except Exception:  # scoring meets it again and reports it
            continue
    # KRs built from daily values over the same days share one request: a day's value does not
    # depend on the other metrics asked for, nor on the range around it
    shared = [
        (
            functools.partial(_load_daily_together, ctx, [reader for _, reader in group], first, last),
            [index for index, _ in group],
        )
        for (first, last), group in daily.items()
    ]
    return [*shared, *tasks]


def _score_as_read(
    ctx: _Context, as_of: dt.date, items: Sequence[tuple[KeyResult, dt.date, dt.date]], tasks: list[Task]
) -> list[Callable[[], KeyResultScore]]:
    """Make the requests READ_THREADS at a time and read each KR (`_score_key_result`) once the
    requests it reads are in: its forecast starts while the others are still being read."""
    waiting = [0] * len(items)
    for _, readers in tasks:
        for index in readers:
            waiting[index] += 1
    finishers: dict[int, Callable[[], KeyResultScore]] = {}

    def read(index: int) -> None:
        kr, start, end = items[index]
        finishers[index] = _score_key_result(ctx, kr, start, end, as_of)

    if len(tasks) < 2:
        for task, _ in tasks:
            _attempt(task)
    else:
        with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="northstar-read") as pool:
            running = {pool.submit(_attempt, task): readers for task, readers in tasks}
            for index, count in enumerate(waiting):
                if count == 0:
                    read(index)
            for done in as_completed(running):
                for index in running[done]:
                    waiting[index] -= 1
                    if waiting[index] == 0:
                        read(index)
    for index in range(len(items)):
        if index not in finishers:
            read(index)
    return [finishers[index] for index in range(len(items))]


def _attempt(task: Callable[[], Any]) -> None:
    try:
        task()
    except Exception:  # scoring meets it again and reports it
        return


def _load_daily_together(
    ctx: _Context, readers: list[_KeyResultReader], first: dt.date, last: dt.date
) -> None:
    parts = tuple(dict.fromkeys(part for reader in readers for part in reader.parts))
    result = ctx.engine.compute(MetricRequest(metrics=parts, start=first, end=last, grain="day"))
    for reader in readers:
        reader.take_daily(result, first, last)


def _objective_score(
    objective: Objective, as_of: dt.date, start: dt.date, end: dt.date, scores: tuple[KeyResultScore, ...]
) -> ObjectiveScore:
    ended = as_of > end
    return ObjectiveScore(
        id=objective.id,
        objective=objective.objective,
        owner=objective.owner,
        start=start,
        end=end,
        progress=objective_progress((kr.progress, kr.weight) for kr in scores),
        status=objective_status(ended, [kr.status for kr in scores]),
        key_results=scores,
        as_of=min(max(as_of, start), end),
    )


def _score_key_result(
    ctx: _Context, kr: KeyResult, start: dt.date, end: dt.date, as_of: dt.date
) -> Callable[[], KeyResultScore]:
    """Read the KR and submit its forecast; the returned function waits for the forecast and scores."""
    ended = as_of > end
    day = min(max(as_of, start), end)
    metric = ctx.project.metrics.get(kr.metric)
    empty_history = pl.DataFrame(schema={"date": pl.Date, "value": pl.Float64})
    base: dict[str, Any] = {
        "id": kr.id,
        "metric": kr.metric,
        "label": ctx.project.label(kr.metric),
        "unit": metric.unit if metric is not None else "",
        "direction": kr.direction or (metric.direction if metric is not None else "increase"),
        "read": kr.read,
        "target": float(kr.target),
        "weight": float(kr.weight),
        "period_start": start,
        "period_end": end,
        "as_of": day,
    }

    def unscored(
        problem: str, baseline: float | None = None, given: bool = False
    ) -> Callable[[], KeyResultScore]:
        score = KeyResultScore(
            **base,
            current=None,
            baseline=baseline,
            progress=None,
            expected_progress=_expected(kr, day, start, end, baseline),
            status=key_result_status(
                ended=ended, progress=None, expected=None, probability=None, thresholds=ctx.thresholds
            ),
            forecast=None,
            probability=None,
            milestones=_milestones(kr, baseline),
            history=empty_history,
            problem=problem,
            baseline_given=given,
        )
        return lambda: score

    if metric is None:
        reason = ctx.project.skipped.get(kr.metric)
        return unscored(
            f"metric {kr.metric!r} is not available"
            + (f" because {reason}" if reason else "")
            + "; run `northstar validate`"
        )
    reader = ctx.reader(kr, start, end)
    baseline: float | None = float(kr.baseline) if kr.baseline is not None else None
    given = kr.baseline is not None
    try:
        data_first, data_last = ctx.data_range(kr.metric)
        if data_last < start or data_first > day:
            return unscored(
                f"the data of {kr.metric} covers {data_first} .. {data_last}, none of this period up to {day}",
                baseline,
                given,
            )
        origin = reader.origin(day, data_last)
        reader.preload(day, origin)
        baseline, given = reader.baseline()
        if baseline == kr.target:
            return unscored(
                f"the baseline ({_plain(baseline)}, read before the period) equals the target; "
                "set `baseline:` or another target",
                baseline,
                given,
            )
        direction = reader.direction
        if (direction == "increase") != (kr.target > baseline):
            side = "above" if baseline > kr.target else "below"
            return unscored(
                f"the baseline ({_plain(baseline)}, read before the period) is already {side} the target "
                f"({_plain(kr.target)}) of this {direction} key result; set `baseline:` or a more "
                "ambitious target",
                baseline,
                given,
            )
        current = reader.reading(day)
        if current is None:
            return unscored(_no_reading(kr, reader.spec, day, start), baseline, given)
        history = reader.history(day, origin)
        notes: list[str] = []
        if data_last < day:
            notes.append(
                f"the data ends on {data_last}, before the as-of day {day}; later days count as empty"
            )
        pending = None
        if not ended and ctx.forecast:
            pending = ctx.outlook(reader.projection_job(origin, data_first), float(kr.target), direction)
    except NorthstarError as exc:
        return unscored(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, baseline, given)
    except _Unreadable as exc:
        return unscored(str(exc), baseline, given)
    reading, start_value = current, baseline

    def finish() -> KeyResultScore:
        outlook = Outlook(None, None, None)
        if pending is not None:
            try:
                outlook = pending.result(timeout=FORECAST_WAIT_SECONDS)
            except TimeoutError:
                outlook = Outlook(None, None, f"the forecast took more than {FORECAST_WAIT_SECONDS} s")
            if outlook.reason:
                notes.append(f"no forecast: {outlook.reason}; the status follows the pace")
        progress = progress_of(reading, start_value, kr.target)
        expected = _expected(kr, day, start, end, start_value)
        probability = None if ended else outlook.probability
        return KeyResultScore(
            **base,
            current=reading,
            baseline=start_value,
            progress=progress,
            expected_progress=expected,
            status=key_result_status(
                ended=ended,
                progress=progress,
                expected=expected,
                probability=probability,
                thresholds=ctx.thresholds,
            ),
            forecast=None if ended else outlook.forecast,
            probability=probability,
            milestones=_milestones(kr, start_value),
            history=history,
            problem=None,
            notes=tuple(notes),
            baseline_given=given,
        )

    return finish


def _expected(
    kr: KeyResult, day: dt.date, start: dt.date, end: dt.date, baseline: float | None
) -> float | None:
    if baseline is None or baseline == kr.target:
        return None
    return expected_progress(day, start, end, baseline, kr.target, kr.milestones)


def _milestones(kr: KeyResult, baseline: float | None) -> tuple[Milestone, ...]:
    return tuple(
        Milestone(
            when,
            float(value),
            None if baseline is None or baseline == kr.target else progress_of(value, baseline, kr.target),
        )
        for when, value in sorted(kr.milestones.items())
    )


def _no_reading(kr: KeyResult, spec: ReadSpec, day: dt.date, start: dt.date) -> str:
    first, last = spec.span(day, start)
    if last < first:
        return (
            f"no cohort of {kr.metric} is mature yet: its first reading needs {spec.lag} days after "
            f"{first}; read it trailing_<N>d to include earlier cohorts"
        )
    return f"{kr.metric} has no value for {first} .. {last} (no rows or cohort in those days)"


# --- formatting ----------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _plain(value: float) -> str:
    return f"{value:g}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return f"{value:,.0f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def _words(status: str) -> str:
    return status.replace("_", " ")


__all__ = [
    "STATUSES",
    "KeyResultScore",
    "Milestone",
    "ObjectiveScore",
    "ReadSpec",
    "Scorecard",
    "Status",
    "expected_progress",
    "key_result_status",
    "objective_progress",
    "objective_status",
    "planned_value",
    "progress_of",
    "score",
    "share_elapsed",
]
