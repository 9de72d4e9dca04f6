"""Reading a key result's metric through the engine: its value as of any day, its history, and the
forecast job that projects it to the period's end (CONTRACT.md, Key results).

* `current`: the KR's metric read at as-of (clipped to the objective's period): `period_to_date`
  over period start .. as-of, `trailing_<N>d` over the N days ending on as-of, `latest` on as-of.
  Retention and funnel KRs read mature cohorts only: their span ends `Project.maturity_lag` days
  before as-of, while returns and later steps up to as-of count.
* `baseline`: as written, else 0 for period_to_date reads of count, count_distinct and sum, else
  the same reading as of the day before the period starts (period_to_date then spans the whole
  previous period of the same length).

Where a reading can be built exactly from daily values (count and sum add up; min and max; active
users are a day's value; ratios of those), one day-grain request gives the whole daily history.
Otherwise (distinct counts, averages, percentiles, retention, funnels) each reading is the metric
for a single period spanning the read's days (`MetricRequest.span_end`), and the history holds one
reading a week. Distinct users over such a span are read as active users over a window as long as
the span (`windowable`), all of a KR's spans in one request; the others take one request per
reading. A reading is the same whichever request gave it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from metrics.definitions.models import (
    ADDITIVE_TYPES,
    ANY_EVENT,
    COUNT_TYPES,
    RATE_TYPES,
    SUMMED_TYPES,
    ActiveUsersMetric,
    CountDistinctMetric,
    FunnelMetric,
    KeyResult,
    MetricDef,
    RatioMetric,
    RetentionMetric,
    parse_read,
)
from metrics.engine.request import MetricRequest, MetricResult
from metrics.format import format_range, plural
from metrics.okrs.forecast import ForecastOptions, Projection, Simulation

if TYPE_CHECKING:
    from metrics.definitions.problems import Problem
    from metrics.definitions.project import Project
    from metrics.engine.engine import Engine
    from metrics.okrs.forecast import Direction

ReadMode = Literal["period_to_date", "trailing", "latest"]
ReadingKey = tuple[dt.date, dt.date]  # (the day read, the period start a period_to_date read counts from)

DAILY_LOOKBACK_DAYS = 120  # daily history the forecast learns from (when the data reaches back so far)
WEEKLY_LOOKBACK_WEEKS = 8  # weekly readings the forecast learns from, for readings built one by one
MAX_WINDOW = 366  # the longest active-users window (metrics.definitions.models.ActiveUsersMetric)
_ONE = dt.timedelta(days=1)
COUNTS = ("numerator", "denominator")  # a rate's counts in an engine result
_DECOMPOSABLE = ("count", "sum", "min", "max", "active_users")
_WINDOWABLE = ("count", "min", "max", "active_users")


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


def read_spec(read: str, metric_id: str, project: Project) -> ReadSpec:
    mode, days = parse_read(read)
    return ReadSpec(mode, days, project.maturity_lag(metric_id))


def decomposable(metric_id: str, project: Project) -> bool:
    """True when any span's value follows exactly from the metric's daily values (a ratio's do when
    all its parts' do)."""
    return all(part.type in _DECOMPOSABLE for part in project.leaves(metric_id).values())


def windowable(metric_id: str, project: Project) -> bool:
    """True when any span's value follows exactly from daily values and distinct users over windows.

    The distinct users of a span first .. last are the active users on `last` with a window of the
    span's length (same filter; rows without a user count in neither), so one request with one
    active-users window per span length gives every span. The other parts must be exact from
    daily values with no rounding: counts, min and max (a sum of fractional amounts, added up day by
    day, could differ from the engine's one-span total in the last digit).
    """
    return all(
        part.column is None if isinstance(part, CountDistinctMetric) else part.type in _WINDOWABLE
        for part in project.leaves(metric_id).values()
    )


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
    if metric.type in SUMMED_TYPES:
        return float(sum(present))
    if not present:
        return None
    return float(min(present) if metric.type == "min" else max(present))


class Unreadable(Exception):
    """A KR cannot be scored; the message says why (shown as the KR's `problem`)."""


@dataclass
class Readings:
    """What the KR readers of one scorecard share: the project, the engine, the data range of each
    set of sources, and one reader per KR and period. No clock: the as-of day counts as complete."""

    project: Project
    engine: Engine
    ranges: dict[tuple[str, ...] | str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    readers: dict[tuple[int, dt.date, dt.date], KeyResultReader] = field(default_factory=dict)

    def data_range(self, metric_id: str) -> tuple[dt.date, dt.date]:
        # metrics of the same sources share one range
        key = tuple(sorted(self.project.source_of(metric_id))) or metric_id
        if key not in self.ranges:
            first, last = self.engine.data_range([metric_id])
            self.ranges[key] = (first, last)
        return self.ranges[key]

    def reader(self, kr: KeyResult, start: dt.date, end: dt.date) -> KeyResultReader:
        key = (id(kr), start, end)
        if key not in self.readers:
            self.readers[key] = KeyResultReader(self, kr, start, end)
        return self.readers[key]

    def load_daily(self, readers: Sequence[KeyResultReader], first: dt.date, last: dt.date) -> None:
        """The daily values of several readers' parts over the same days, from one engine request: a
        day's value depends neither on the other metrics asked for nor on the range around it."""
        parts = tuple(dict.fromkeys(part for reader in readers for part in reader.parts))
        result = self.engine.compute(MetricRequest(metrics=parts, start=first, end=last, grain="day"))
        for reader in readers:
            reader.take_daily(result, first, last)


def _warning_words(warning: Problem, root: Path) -> str:
    """A definition warning's message, its hint and its place (`metrics.yaml:14:5`, relative to the
    project folder: a review pack is shared, the server's folders are not)."""
    hint = f"; {warning.hint}" if warning.hint else ""
    place = f" ({warning.location.within(root)})" if warning.location else ""
    return f"{warning.message}{hint}{place}"


class KeyResultReader:
    """Reads one KR's metric for any day through the engine, and projects it to the period end."""

    def __init__(self, readings: Readings, kr: KeyResult, start: dt.date, end: dt.date) -> None:
        self.readings = readings
        self.engine = readings.engine
        self.kr = kr
        project = readings.project
        self.metrics = project.metrics
        self.metric = self.metrics[kr.metric]
        self.start = start
        self.end = end
        self.length = (end - start).days + 1
        self.spec = read_spec(kr.read, kr.metric, project)
        self.exact_daily = decomposable(kr.metric, project)
        self.windowed = not self.exact_daily and windowable(kr.metric, project)
        self.parts = list(project.leaves(kr.metric))
        self.daily: dict[str, dict[dt.date, float | None]] = {}
        self.loaded: tuple[dt.date, dt.date] | None = None
        self.cache: dict[ReadingKey, float | None] = {}
        # (span first, span last, observed until) -> the reading's (numerator, denominator), for rates
        self.samples: dict[tuple[dt.date, dt.date, dt.date], tuple[float | None, float | None]] = {}
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

    def days_read(self, day: dt.date) -> tuple[dt.date, dt.date] | None:
        """The days whose rows the reading as of `day` reads (`ReadSpec.span`, widened by
        `Project.days_read`: an active-users window, cohorts' returns and later steps up to `day`):
        what a failed data check must touch to flag it. None when the reading reads no day."""
        first, last = self.spec.span(day, self.start)
        if last < first:
            return None
        return self.readings.project.days_read(self.kr.metric, first, last)

    def _span_request(self, first: dt.date, last: dt.date, observe_until: dt.date) -> float | None:
        request = MetricRequest(
            metrics=(self.kr.metric,), start=first, end=observe_until, grain="day", span_end=last
        )
        frame = self.engine.compute(request).series(self.kr.metric)
        if frame.height == 0:
            self.samples[(first, last, observe_until)] = (None, None)
            return None
        self.samples[(first, last, observe_until)] = (
            _plain_value(frame["numerator"][0]),
            _plain_value(frame["denominator"][0]),
        )
        return _plain_value(frame["value"][0])

    def sample(self, day: dt.date) -> tuple[float | None, float | None]:
        """What the reading as of `day` is out of, for a rate: (numerator, denominator), the
        denominator being its n (CONTRACT.md, Sample sizes); (None, None) for other types. The
        one-span request gives them whichever request gave the reading (it is the same either way)."""
        if self.metric.type not in RATE_TYPES:
            return None, None
        first, last = self.spec.span(day, self.start)
        if last < first:
            return None, None
        if (
            (first, last, day) not in self.samples
            and self.exact_daily
            and isinstance(self.metric, RatioMetric)
        ):
            self.load_daily(first, day)  # a ratio of parts that add up: its parts' span values
            parts = (self.metric.numerator, self.metric.denominator)
            numerator, denominator = (span_value(p, first, last, self.metrics, self.daily) for p in parts)
            self.samples[(first, last, day)] = (numerator, denominator)
        if (first, last, day) not in self.samples:
            self._span_request(first, last, day)
        return self.samples[(first, last, day)]

    def load_daily(self, first: dt.date, last: dt.date) -> None:
        """Daily values of every sourced part over at least first .. last (one engine request)."""
        if self.loaded is not None:
            if self.loaded[0] <= first and last <= self.loaded[1]:
                return
            first, last = min(first, self.loaded[0]), max(last, self.loaded[1])
        result = self.engine.compute(
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
    ) -> list[Callable[[], object]]:
        """Engine requests that fill this reader's caches with what scoring it will read; each may
        run in its own thread. Reading ahead changes no number: a reading is the same whichever
        request gave it (`windowable`, `reading`)."""
        if self.exact_daily:  # one request for every such KR (Readings.load_daily)
            return [lambda: self.preload(day, origin)]
        keys: set[ReadingKey] = {(day, self.start)}
        baseline = self._baseline_key()
        if baseline is not None:
            keys.add(baseline)
        tasks: list[Callable[[], object]] = []
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
        result = self.engine.with_metrics(extra).compute(
            MetricRequest(metrics=(*counted, *extra), start=first, end=last, grain="day")
        )

        def by_day(metric_id: str) -> dict[dt.date, float | None]:
            series = result.series(metric_id)
            return dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))

        daily = {part: by_day(part) for part in counted}
        windows = {key: by_day(name) for key, name in names.items()}
        for key, (first, last) in spans.items():
            self.cache[key] = span_value(self.kr.metric, first, last, self.metrics, daily, windows)

    def no_reading(self, day: dt.date) -> str:
        """Why there is no reading as of `day` (`reading` gave None)."""
        first, last = self.spec.span(day, self.start)
        if last < first:
            return (
                f"no cohort of {self.kr.metric} is mature yet: its first reading needs {plural(self.spec.lag, 'day')} "
                f"after {first}; read it trailing_<N>d to include earlier cohorts"
            )
        cause = self.part_cause()
        if cause:
            return f"{self.kr.metric} has no value for {first} .. {last}: {cause}"
        empty = self.empty_cohort(first, last)
        if empty:
            return empty
        return f"{self.kr.metric} has no value for {first} .. {last} (no rows or cohort in those days)"

    def definition_warnings(self) -> tuple[str, ...]:
        """The validation warnings on the key result's metric or its parts (an event or a value that
        never occurs in the source: a typo, most likely), as notes every surface shows beside the
        reading: a count of a misspelt event reads 0, which is no measurement of anything."""
        project = self.readings.project
        out: list[str] = []
        for warning in project.warnings_for(self.kr.metric):
            name = warning.subject.name if warning.subject is not None else self.kr.metric
            out.append(f"{name} may not count what was meant: {_warning_words(warning, project.root)}")
        return tuple(dict.fromkeys(out))

    def empty_cohort(self, first: dt.date, last: dt.date) -> str | None:
        """Why a retention or funnel KR has no reading over first .. last: no user entered its cohort
        in those days (null by the contract: a rate of nobody), and, for a `latest` read, that it
        reads one day's cohort. None for other types."""
        metric = self.metric
        days = f"on {format_range(first, last)}" if first == last else f"in {format_range(first, last)}"
        if isinstance(metric, RetentionMetric):
            event = _event_words(metric.cohort_event)
            who = f"no user's first {event} was {days}, so {self.kr.metric} has no cohort to read"
        elif isinstance(metric, FunnelMetric):
            step = _event_words(metric.steps[0])
            who = f"no user did {step} (its first step) {days}, so {self.kr.metric} has no entrants to read"
        else:
            return None
        if self.spec.mode != "latest":
            return who
        lag = plural(self.spec.lag, "day")
        return (
            f"{who}; a latest read reads one day's cohort, the one {lag} before the as-of day: "
            "read it trailing_<N>d to pool N days of cohorts"
        )

    def part_cause(self) -> str | None:
        """Why a ratio has no reading when a part of it reads no rows by its definition (an event or
        value that never occurs, a filter no row passes: a typo, most likely): that part and its
        warning, the cause to fix rather than a missing baseline or empty days. None otherwise."""
        project = self.readings.project
        parts = [m for m in project.leaves(self.kr.metric) if m != self.kr.metric]
        for warning in project.warnings_for(self.kr.metric):
            if warning.subject is not None and warning.subject.name in parts:
                return (
                    f"its part {warning.subject.name!r} reads no rows: "
                    f"{_warning_words(warning, project.root)}; fix {warning.subject.name!r}"
                )
        return None

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
            cause = self.part_cause()
            raise Unreadable(
                f"there is no {self.kr.metric} reading before the period to use as the baseline: {cause}"
                if cause
                else f"there is no {self.kr.metric} reading before the period to use as the baseline; "
                "set `baseline:` on the key result"
            )
        return value, False

    # -- history and forecast --

    def origin(self, day: dt.date, data_last: dt.date) -> dt.date:
        """The day the forecast starts from: the as-of day (complete by the contract), or the data's
        last day when that is earlier. The wall clock plays no part."""
        return min(day, data_last)

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
            result = self.engine.compute(
                MetricRequest(metrics=(self.kr.metric,), start=first - lag, end=last, grain="day")
            )
            series = result.series(self.kr.metric)
            by_cohort = dict(zip(series["period"].to_list(), series["value"].to_list(), strict=True))
            self.series[last] = (first - lag, by_cohort)
            for period, numerator, denominator in series.select("period", *COUNTS).iter_rows():
                self.samples[(period, period, last)] = (_plain_value(numerator), _plain_value(denominator))
        by_cohort = self.series[last][1]
        return {
            first + dt.timedelta(days=i): by_cohort.get(first + dt.timedelta(days=i) - lag)
            for i in range((last - first).days + 1)
        }

    def _projection_plan(self, origin: dt.date, data_first: dt.date) -> tuple[str, dt.date] | Projection:
        """How the forecast reads its history: ("sum", -) or ("level", first day), or why there is none."""
        if origin < data_first or origin < self.start - dt.timedelta(days=DAILY_LOOKBACK_DAYS):
            return Projection(None, "there is no complete day of data to project from")
        if self.metric.type in SUMMED_TYPES and self.spec.mode != "latest":
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
        return job.run() if isinstance(job, Simulation) else job

    def projection_job(self, origin: dt.date, data_first: dt.date) -> Projection | Simulation:
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
        lower = 0.0 if self._never_negative() or (observed and min(observed) >= 0) else None
        counts = self.metric.type in COUNT_TYPES
        options = ForecastOptions(kind="level", step=step, lower=lower, upper=upper, counts=counts)
        return Simulation(series, horizon, options)

    def _projection_sum(self, origin: dt.date, data_first: dt.date, horizon: int) -> Simulation:
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
        lower = 0.0 if self._never_negative() or all((v or 0.0) >= 0 for v in values) else None
        counts = self.metric.type in COUNT_TYPES
        options = ForecastOptions(kind="sum", known=known, summed_days=summed, lower=lower, counts=counts)
        return Simulation(values, horizon, options)

    def _never_negative(self) -> bool:
        """True when the metric's type cannot go below zero: counts, rates, and ratios of counts."""
        leaves = self.readings.project.leaves(self.kr.metric).values()
        return all(leaf.type in COUNT_TYPES or leaf.type in ("retention", "funnel") for leaf in leaves)

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


def _plain_value(value: float | None) -> float | None:
    """An engine value as a reading: None for null and NaN."""
    return None if value is None or math.isnan(value) else float(value)


__all__ = [
    "DAILY_LOOKBACK_DAYS",
    "MAX_WINDOW",
    "WEEKLY_LOOKBACK_WEEKS",
    "KeyResultReader",
    "ReadSpec",
    "Readings",
    "Unreadable",
    "decomposable",
    "read_spec",
    "span_value",
    "windowable",
]


def _event_words(event: str) -> str:
    """'signup' quoted as other messages quote names, or "event" for `any` (the first of any kind)."""
    return "event" if event == ANY_EVENT else repr(event)
