"""What moved a metric: its change between two spans, split by the segments of every dimension.

Every number comes from the engine (`Engine.compute` over one span as one period, as a key result's
single-span reading, once in total and once per dimension); this module only splits the change.
How the split works (docs/drivers.md):

* count, sum (additive): a segment's contribution is its own change; the contributions of one
  dimension add up to the change.
* count_distinct, active_users (distinct users): a user can be in two segments (web and ios), so the
  segments' values add up to more than the total. A segment's contribution is its own change, and
  each dimension gets an `Overlap` line, the segments' sum minus the total in each span, so that
  contributions minus the overlap's change equal the change. Where every user has one value (a
  user's country), the overlap is 0.
* ratio, retention, funnel (rates): the rate is a weighted mean of the segments' rates, weighted by
  their shares of the denominator, R = sum_i s_i r_i. Each segment's contribution is split
  symmetrically (the midpoint, or two-factor Shapley, split) into
  `mix  = (s1 - s0) * ((r1 + r0) / 2 - (P1 + P0) / 2)` (its share moved, measured against the
  average rate) and `rate = (s1 + s0) / 2 * (r1 - r0)` (its rate moved). Summed over segments,
  mix + rate == P1 - P0 exactly, where P is the segments' pooled rate (sum of numerators over the
  sum of denominators): P equals the total rate when every counted user or row is in one segment
  (retention cohorts and funnel entrants are, by their cohort or step-1 event); otherwise (a ratio
  of distinct users) the difference is the `Overlap` line. A segment empty in one span (no
  denominator) takes its rate from the other span: its whole contribution is mix.
* avg, min, max, percentile (levels): the same split with each segment weighted by the rows the
  metric reads (`count` with the metric's filter). For an average of a column with no nulls the
  weighted mean of the segments' averages is the total average, so the split is exact; for min,
  max and percentiles it is not, and the remainder is the `Overlap` line ("not explained by the
  segments").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from metrics.definitions.models import CountMetric, MetricDef, RatioMetric
from metrics.definitions.problems import did_you_mean
from metrics.engine.engine import begins_before_data
from metrics.engine.request import COMPARISONS, Comparison, MetricError, MetricRequest
from metrics.format import (
    format_date,
    format_difference,
    format_percent_change,
    format_range,
    format_value,
    metric_unit,
    raw_number,
    unit_kind,
)

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine.engine import Engine
    from metrics.okrs.scorecard import KeyResultScore

Method = Literal["additive", "distinct", "rate", "level"]
Key = str | None  # a dimension's value; None: rows without one
METHODS: dict[str, Method] = {
    "count": "additive",
    "sum": "additive",
    "count_distinct": "distinct",
    "active_users": "distinct",
    "ratio": "rate",
    "retention": "rate",
    "funnel": "rate",
    "avg": "level",
    "min": "level",
    "max": "level",
    "percentile": "level",
}
OVERLAP_WORDS: dict[Method, str] = {
    "additive": "overlap (should be 0)",
    "distinct": "overlap: users in more than one segment",
    "rate": "overlap: pooled segments minus the total",
    "level": "not explained by the segments",
}
_ROWS = "__drivers_rows"  # the derived count a level's segments are weighted by


@dataclass(frozen=True)
class Reading:
    """A metric's value over one span (or one segment's); for rates what it is out of
    (`numerator` / `denominator`); for levels `denominator` holds the rows read."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None


@dataclass(frozen=True)
class Span:
    start: dt.date
    end: dt.date
    reading: Reading
    observed_until: dt.date  # data up to this day counts (retention's returns, a funnel's later steps)

    @property
    def value(self) -> float | None:
        return self.reading.value


@dataclass(frozen=True)
class Segment:
    """One dimension value: its value over each span and its part of the change."""

    dimension: str
    value: Key
    current: Reading
    previous: Reading
    contribution: float | None
    mix: float | None = None  # rates and levels: its share of the denominator (or rows) moved
    rate: float | None = None  # ... and its rate (or level) moved
    # the contribution beyond the segment's share of its dimension's change: what ranks it (a segment
    # that moved just like the whole has 0, however big it is)
    excess: float | None = None

    @property
    def label(self) -> str:
        return f"{self.dimension} = {'(none)' if self.value is None else self.value}"


@dataclass(frozen=True)
class Overlap:
    """Per dimension: the segments' sum (or pooled rate) minus the total, in each span; its change is
    what the contributions hold beyond the change (0 for counts and sums)."""

    dimension: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


@dataclass(frozen=True)
class Drivers:
    """What moved `metric` from the `previous` span to the `current` one, segments ranked by the size
    of their contribution across all dimensions."""

    metric: str
    label: str
    unit: str
    method: Method
    compare: Comparison
    current: Span
    previous: Span
    dimensions: tuple[str, ...]
    segments: tuple[Segment, ...]
    overlaps: tuple[Overlap, ...]
    # for whoever reads the result: facts, never advice (a review pack's reader can act on none)
    notes: tuple[str, ...] = ()
    # With no comparison (the comparison span begins before the data): the first start of a span of
    # the same length whose comparison and own days lie in the data (None: none does), and what gives
    # one in `northstar drivers` flags, for whoever runs the split (the CLI's user, a pack's author).
    comparable_from: dt.date | None = None
    comparison_hint: str | None = None

    @property
    def change(self) -> float | None:
        if self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value

    @property
    def whole_counts(self) -> bool:
        """Its values are whole counts (a count, a sum in a count unit, distinct users): a segment's
        difference against its share, an expectation, is shown as a whole count (`format_difference`)."""
        return self.method in ("additive", "distinct") and unit_kind(self.unit) == "count"

    def top(self, count: int = 3) -> tuple[Segment, ...]:
        """The biggest movers: the first `count` segments with a contribution other than 0."""
        return tuple(s for s in self.segments if s.contribution)[:count]

    def overlaps_shown(self) -> tuple[Overlap, ...]:
        """The overlap lines that are not 0 in some span (beyond float rounding)."""
        values = [abs(v) for v in (self.current.value, self.previous.value) if v is not None]
        tolerance = 1e-9 * max([*values, 1e-300])
        return tuple(
            o
            for o in self.overlaps
            if any(v is not None and abs(v) > tolerance for v in (o.current, o.previous))
        )

    def overlap(self, dimension: str) -> Overlap | None:
        return next((o for o in self.overlaps if o.dimension == dimension), None)

    def to_json(self) -> dict[str, Any]:
        unit = self.unit
        rate = self.method == "rate"

        def span(item: Span) -> dict[str, Any]:
            out: dict[str, Any] = {
                "start": item.start.isoformat(),
                "end": item.end.isoformat(),
                "value": raw_number(item.value, unit),
            }
            if rate:
                out["numerator"] = raw_number(item.reading.numerator, "count")
                out["denominator"] = raw_number(item.reading.denominator, "count")
            return out

        def segment(item: Segment) -> dict[str, Any]:
            out: dict[str, Any] = {
                "dimension": item.dimension,
                "value": item.value,
                "current": raw_number(item.current.value, unit),
                "previous": raw_number(item.previous.value, unit),
                "contribution": raw_number(item.contribution, None if rate else unit),
                "excess": raw_number(item.excess),
            }
            if self.method in ("rate", "level"):
                out["mix"] = raw_number(item.mix)
                out["rate"] = raw_number(item.rate)
                out["n"] = {
                    "current": raw_number(item.current.denominator, "count"),
                    "previous": raw_number(item.previous.denominator, "count"),
                }
            return out

        return {
            "metric": self.metric,
            "method": self.method,
            "compare": self.compare,
            "current": span(self.current),
            "previous": span(self.previous),
            "change": raw_number(self.change, None if rate else unit),
            "segments": [segment(s) for s in self.segments],
            "overlap": [
                {
                    "dimension": o.dimension,
                    "current": raw_number(o.current),
                    "previous": raw_number(o.previous),
                    "change": raw_number(o.change),
                }
                for o in self.overlaps
            ],
            "notes": list(self.notes),
        }

    def headline(self) -> str:
        """'Sign-ups: 812 (Nov 1 – Nov 28, 2026) vs 640 (Oct 4 – Oct 31, 2026): +172 (+26.9%)'."""
        unit = self.unit
        # a percentage only where one means something (`format_percent_change`: not of a mean delay)
        delta = format_percent_change(self.current.value, self.previous.value, unit)
        return (
            f"{self.label}: {format_value(self.current.value, unit)} ({format_range(self.current.start, self.current.end)})"
            f" vs {format_value(self.previous.value, unit)} ({format_range(self.previous.start, self.previous.end)}): "
            f"{format_difference(self.change, unit)}" + (f" ({delta})" if delta else "")
        )

    def mover_line(self, segment: Segment, noun: str = "users") -> str:
        """One mover in words (plain text; each surface escapes it): 'channel = social: +55 (23 -> 78)';
        a rate adds its mix and rate effects and its n ('n 171 -> 160 users'), a level its rows."""
        unit = self.unit
        text = (
            f"{segment.label}: {format_difference(segment.contribution, unit)} "
            f"({format_value(segment.previous.value, unit)} → {format_value(segment.current.value, unit)}; "
            f"{format_difference(segment.excess, unit, whole=self.whole_counts)} against its share)"
        )
        if self.method in ("rate", "level"):
            words = noun if self.method == "rate" else "rows"
            text += (
                f"; mix {format_difference(segment.mix, unit)}, rate {format_difference(segment.rate, unit)}; "
                f"n {format_value(segment.previous.denominator, 'count')} → "
                f"{format_value(segment.current.denominator, 'count')} {words}"
            )
        return text

    def to_table(self, limit: int | None = None) -> str:
        """The headline, the ranked segments (all, or the first `limit`) and each dimension's overlap
        that is not 0 (`overlaps_shown`, as the What moved panel)."""
        unit = self.unit
        split = self.method in ("rate", "level")
        header = ["#", "dimension", "value", "previous", "current", "contribution", "against its share"]
        if split:
            header += ["mix", "rate", "n (previous -> current)"]
        rows = [header]
        shown = self.segments if limit is None else self.segments[:limit]
        for rank, item in enumerate(shown, start=1):
            row = [
                str(rank),
                item.dimension,
                "(none)" if item.value is None else str(item.value),
                format_value(item.previous.value, unit),
                format_value(item.current.value, unit),
                format_difference(item.contribution, unit),
                format_difference(item.excess, unit, whole=self.whole_counts),
            ]
            if split:
                row += [
                    format_difference(item.mix, unit),
                    format_difference(item.rate, unit),
                    f"{format_value(item.previous.denominator, 'count')} -> "
                    f"{format_value(item.current.denominator, 'count')}",
                ]
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [self.headline(), ""]
        if self.segments:  # a header over no row says nothing; the note says why there is none
            lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        if limit is not None and len(self.segments) > limit:
            lines.append(f"... {len(self.segments) - limit} more segments (--format json lists all)")
        if shown_overlaps := self.overlaps_shown():  # the lines the panel and the pack show, not 0s
            lines.append("")
            lines.append(
                f"{OVERLAP_WORDS[self.method]}, by dimension (contributions minus this = the change):"
            )
            for overlap in shown_overlaps:
                lines.append(
                    f"  {overlap.dimension}: {format_value(overlap.previous, unit)} -> "
                    f"{format_value(overlap.current, unit)} ({format_difference(overlap.change, unit)})"
                )
        lines += [f"note: {note}" for note in self.notes]
        if self.comparison_hint is not None:
            lines.append(f"note: {self.comparison_hint}")
        return "\n".join(lines)


# --- spans --------------------------------------------------------------------------------------


def compared_span(
    engine: Engine, start: dt.date, end: dt.date, compare: Comparison
) -> tuple[dt.date, dt.date]:
    """The comparison span of [start, end]: the same number of days just before (previous_period), or
    the same dates a year earlier (previous_year); the engine's one home of that shift."""
    if compare not in COMPARISONS:
        raise MetricError(f"unknown comparison {compare!r}; use one of: {', '.join(COMPARISONS)}")
    return engine.compared_range(start, end, "day", compare)


def first_comparable_start(
    engine: Engine, start: dt.date, end: dt.date, compare: Comparison, first_day: dt.date
) -> dt.date:
    """The first start of a span as long as [start, end] whose comparison span (`compared_span`)
    begins on or after the data's first day: shifted by as many days as the comparison now begins
    before it, then a day at a time (a year back is 365 or 366 days)."""
    prev_start, _ = compared_span(engine, start, end, compare)
    length = end - start
    day = start + (first_day - prev_start)
    for _ in range(7):  # a month or a year back lands within a few days of the shift
        if not begins_before_data(compared_span(engine, day, day + length, compare)[0], first_day):
            break
        day += dt.timedelta(days=1)
    return day


def dimensions_of(project: Project, metric_id: str) -> tuple[str, ...]:
    """The dimensions every source of the metric has (a ratio's parts may read two sources)."""
    sources = [project.sources[name] for name in sorted(project.source_of(metric_id))]
    if not sources:
        return ()
    return tuple(d for d in sources[0].dimensions if all(d in s.dimensions for s in sources[1:]))


def default_span(engine: Engine, metric_id: str, as_of: dt.date, days: int = 28) -> tuple[dt.date, dt.date]:
    """The `days` days ending on `as_of`, moved back by the metric's maturity lag (mature cohorts)."""
    end = as_of - dt.timedelta(days=engine.project.maturity_lag(metric_id))
    return end - dt.timedelta(days=days - 1), end


def range_span(
    project: Project, metric_id: str, start: dt.date, end: dt.date, data_last: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """The part of a range on screen that the split reads, as (last cohort day, observed until). A
    retention's or funnel's cohorts are those that matured inside the range: observed until its end
    (or the data's last day, when earlier), they end `maturity_lag` days before that. So the split
    reads no day after the range, as its tiles and chart, and a shared link shows the same split
    after more data arrives. Other types read the range as it is. None when no cohort has matured."""
    lag = project.maturity_lag(metric_id)
    if not lag:
        return end, end
    observe = min(end, data_last) if data_last is not None else end
    last = min(end, observe - dt.timedelta(days=lag))
    return (last, observe) if last >= start else None


def key_result_span(project: Project, kr: KeyResultScore) -> tuple[dt.date, dt.date, dt.date] | None:
    """A scored key result's current reading as (first, last, observed until): the days its reading
    reads as of its as-of (`ReadSpec.span`, the one home of that rule); None when it reads none."""
    from metrics.okrs.readings import read_spec

    if kr.as_of is None or kr.period_start is None or kr.metric not in project.metrics:
        return None
    first, last = read_spec(kr.read, kr.metric, project).span(kr.as_of, kr.period_start)
    if last < first:
        return None
    return first, last, kr.as_of


# --- reading ------------------------------------------------------------------------------------


def _engine_for(engine: Engine, metric: MetricDef) -> tuple[Engine, tuple[str, ...]]:
    """The engine to read with, and the extra metrics to ask for: a level's rows (its weights)."""
    if METHODS[metric.type] != "level":
        return engine, ()
    assert not isinstance(metric, RatioMetric)
    rows = CountMetric(type="count", source=metric.source, filter=dict(metric.filter))
    return engine.with_metrics({_ROWS: rows}), (_ROWS,)


def _read(
    engine: Engine,
    metric_id: str,
    extra: tuple[str, ...],
    first: dt.date,
    last: dt.date,
    observe: dt.date,
    by: str | None,
) -> dict[Key, Reading]:
    """The metric over first .. last as one period (data up to `observe` counts), per value of `by`."""
    request = MetricRequest((metric_id, *extra), start=first, end=observe, by=by, span_end=last)
    frame = engine.compute(request).frame
    out: dict[Key, Reading] = {}
    rows: dict[Key, float | None] = {}
    for row in frame.iter_rows(named=True):
        key: Key = row[by] if by is not None else None
        if row["metric"] == _ROWS:
            rows[key] = row["value"]
        else:
            out[key] = Reading(row["value"], row["numerator"], row["denominator"])
    if extra:
        out = {k: dataclasses.replace(r, denominator=rows.get(k, 0.0)) for k, r in out.items()}
        for key, count in rows.items():  # a group with rows but no value of its own
            out.setdefault(key, Reading(None, None, count))
    return out


def drivers(
    engine: Engine,
    metric_id: str,
    start: dt.date,
    end: dt.date,
    *,
    compare: Comparison = "previous_period",
    by: Sequence[str] | None = None,
    observe_until: dt.date | None = None,
) -> Drivers:
    """What moved `metric_id` between [start, end] and its comparison span, by every dimension in
    `by` (default: every dimension of its source).

    Retention and funnel cohorts in a span are read with returns and later steps up to
    `observe_until` (default: the span's end plus the metric's maturity lag), and the comparison span
    likewise: every cohort gets the same time to mature. A span whose cohorts cannot have matured in
    the data is an error that says the last day that can be read.
    """
    project = engine.project
    metric = engine.metric(metric_id)  # an unknown metric: one sentence with a did-you-mean
    if start > end:
        raise MetricError(f"the span starts on {start} after it ends on {end}; swap --start and --end")
    method = METHODS[metric.type]
    unit = metric_unit(project, metric_id)
    known = dimensions_of(project, metric_id)
    if by:
        for dim in by:
            if dim not in known:
                hint = did_you_mean(dim, known)
                raise MetricError(
                    f"cannot split {metric_id!r} by {dim!r}: it is not a dimension of its source; "
                    + (hint or f"use one of: {', '.join(known) or '(none listed)'}")
                )
    dims = tuple(dict.fromkeys(by)) if by else known
    lag = project.maturity_lag(metric_id)
    observe = observe_until if observe_until is not None else end + dt.timedelta(days=lag)
    if observe < end:
        raise MetricError(f"the data must be observed until the span's end {end} at least, not {observe}")
    prev_start, prev_end = compared_span(engine, start, end, compare)
    prev_observe = prev_end + (observe - end)
    notes: list[str] = []
    first_day, last_day = engine.data_range([metric_id])
    if lag and observe > last_day:
        raise MetricError(
            f"{metric_id!r} needs {lag} days after a cohort to read it, and the data ends on {last_day}: "
            f"end the span on {last_day - dt.timedelta(days=lag)} or earlier"
        )
    # A comparison that begins before the metric's data is blank, not 0: nothing is split.
    comparable = not begins_before_data(prev_start, first_day)
    comparable_from, hint = None, None
    if not comparable:  # words for any reader (a pack's cannot choose a span); the way out: `hint`
        notes.append(
            f"no comparison: the previous span starts on {format_date(prev_start)}, before the data's first "
            f"day {format_date(first_day)}, so nothing is compared"
        )
        later = first_comparable_start(engine, start, end, compare, first_day)
        later_end = later + (end - start)
        days = (end - start).days + 1
        span_words = f"{days} day{'s' if days > 1 else ''}"
        if later_end + dt.timedelta(days=lag) <= last_day:  # that span and its cohorts' days are in the data
            comparable_from = later
            hint = (
                f"for a comparison, split the same {span_words} from {later.isoformat()} on: northstar "
                f"drivers {metric_id} --start {later.isoformat()} --end {later_end.isoformat()}"
                + ("" if compare == "previous_period" else f" --compare {compare}")
            )
        else:
            hint = (
                f"the data ({format_date(first_day)} to {format_date(last_day)}) holds no span of {span_words} "
                f"together with its comparison ({compare}): a shorter span, or more data, gives one"
            )
    if end > last_day:
        notes.append(f"the data ends on {format_date(last_day)}, before the span's end {format_date(end)}")
    if not dims:  # no segment at all: never read as "no segment moved"
        names = sorted(project.source_of(metric_id))
        which = (
            f"source {names[0]!r} lists no dimensions"
            if len(names) == 1
            else (f"sources {' and '.join(repr(n) for n in names)} share no dimension")
        )
        notes.append(f"not split by segment: {which}; list columns under 'dimensions:' in sources.yaml")

    reader, extra = _engine_for(engine, metric)
    current_total = _read(reader, metric_id, extra, start, end, observe, None).get(None, Reading(None))
    previous_total = Reading(None)
    if comparable:
        previous_total = _read(reader, metric_id, extra, prev_start, prev_end, prev_observe, None).get(
            None, Reading(None)
        )
    segments: list[Segment] = []
    overlaps: list[Overlap] = []
    for dim in dims:
        now = _read(reader, metric_id, extra, start, end, observe, dim)
        if not comparable:
            segments += [Segment(dim, k, r, Reading(None), None) for k, r in now.items()]
            overlaps.append(Overlap(dim, None, None))
            continue
        before = _read(reader, metric_id, extra, prev_start, prev_end, prev_observe, dim)
        found, overlap = split(method, now, before, current_total, previous_total, dim)
        segments += found
        overlaps.append(overlap)
    if comparable and (current_total.value is None or previous_total.value is None):
        which = "current" if current_total.value is None else "previous"
        notes.append(f"{metric_id!r} has no value over the {which} span, so there is no change to split")
    if method == "distinct" and any(o.current or o.previous for o in overlaps):
        notes.append(
            "a user in more than one segment of a dimension counts in each, so the segments add up to "
            "more than the total; the overlap lines show by how much"
        )
    order = {dim: index for index, dim in enumerate(dims)}
    scale = max((abs(s.contribution) for s in segments if s.contribution), default=1.0)
    ranked = sorted(
        segments,
        key=lambda s: (
            s.contribution is None,
            -round(abs(s.excess or 0.0) / scale, 9),  # float noise must not reorder ties
            -round(abs(s.contribution or 0.0) / scale, 9),
            order[s.dimension],
            s.value is None,
            s.value or "",
        ),
    )
    return Drivers(
        metric=metric_id,
        label=project.label(metric_id),
        unit=unit,
        method=method,
        compare=compare,
        current=Span(start, end, current_total, observe),
        previous=Span(prev_start, prev_end, previous_total, prev_observe),
        dimensions=dims,
        segments=tuple(ranked),
        overlaps=tuple(overlaps),
        notes=tuple(notes),
        comparable_from=comparable_from,
        comparison_hint=hint,
    )


def key_result_drivers(
    engine: Engine, kr: KeyResultScore, *, by: Sequence[str] | None = None
) -> Drivers | None:
    """What moved a key result's current reading since the span of the same length just before it."""
    span = key_result_span(engine.project, kr)
    if span is None:
        return None
    first, last, observe = span
    return drivers(engine, kr.metric, first, last, by=by, observe_until=observe)


# --- the split ----------------------------------------------------------------------------------


def split(
    method: Method,
    now: Mapping[Key, Reading],
    before: Mapping[Key, Reading],
    total_now: Reading,
    total_before: Reading,
    dimension: str,
) -> tuple[list[Segment], Overlap]:
    """One dimension's segments with their contributions, and its overlap line (module docstring)."""
    keys = sorted(set(now) | set(before), key=lambda k: (k is None, k or ""))
    # a segment with no row in a span: a rate of nobody is 0 of 0 (docs/metrics.md, Sample sizes),
    # so its n reads 0, not blank; its value stays blank
    empty = Reading(None, 0.0, 0.0) if method in ("rate", "level") else Reading(None)
    if total_now.value is None or total_before.value is None:  # no change to split
        segments = [Segment(dimension, k, now.get(k, empty), before.get(k, empty), None) for k in keys]
        return segments, Overlap(dimension, None, None)
    if method in ("additive", "distinct"):
        sums = (
            sum((now.get(k, empty).value or 0.0) for k in keys),
            sum((before.get(k, empty).value or 0.0) for k in keys),
        )
        moved = sums[0] - sums[1]
        segments = []
        for key in keys:
            cur, prev = now.get(key, Reading(0.0)), before.get(key, Reading(0.0))
            contribution = (cur.value or 0.0) - (prev.value or 0.0)
            # its share of the previous span (of the current one when the previous had nothing)
            share = (
                (prev.value or 0.0) / sums[1]
                if sums[1]
                else ((cur.value or 0.0) / sums[0] if sums[0] else 0.0)
            )
            segments.append(
                Segment(dimension, key, cur, prev, contribution, excess=contribution - share * moved)
            )
        return segments, Overlap(
            dimension,
            None if total_now.value is None else sums[0] - total_now.value,
            None if total_before.value is None else sums[1] - total_before.value,
        )
    weights = {key: (_weight(now.get(key)), _weight(before.get(key))) for key in keys}
    total_w = (sum(w[0] for w in weights.values()), sum(w[1] for w in weights.values()))
    if total_w[0] == 0 or total_w[1] == 0:  # nothing to share out in a span: no split
        segments = [Segment(dimension, k, now.get(k, empty), before.get(k, empty), None) for k in keys]
        return segments, Overlap(dimension, None, None)
    shares: dict[Key, tuple[float, float]] = {
        k: (w[0] / total_w[0], w[1] / total_w[1]) for k, w in weights.items()
    }
    rates: dict[Key, tuple[float, float]] = {}
    for key in keys:
        r1 = now.get(key, empty).value if shares[key][0] else None
        r0 = before.get(key, empty).value if shares[key][1] else None
        # a segment empty in one span takes its rate from the other: its share alone moved
        rates[key] = (r1 if r1 is not None else (r0 or 0.0), r0 if r0 is not None else (r1 or 0.0))
    pooled = (
        sum(shares[k][0] * rates[k][0] for k in keys),
        sum(shares[k][1] * rates[k][1] for k in keys),
    )
    middle = (pooled[0] + pooled[1]) / 2
    moved = pooled[0] - pooled[1]
    segments = []
    for key in keys:
        (s1, s0), (r1, r0) = shares[key], rates[key]
        mix = (s1 - s0) * ((r1 + r0) / 2 - middle)
        rate = (s1 + s0) / 2 * (r1 - r0)
        excess = mix + rate - (s1 + s0) / 2 * moved
        segments.append(
            Segment(
                dimension, key, now.get(key, empty), before.get(key, empty), mix + rate, mix, rate, excess
            )
        )
    return segments, Overlap(
        dimension,
        None if total_now.value is None else pooled[0] - total_now.value,
        None if total_before.value is None else pooled[1] - total_before.value,
    )


def _weight(reading: Reading | None) -> float:
    """A segment's weight in a span: its denominator (rows, for a level), 0 without a value."""
    if reading is None or reading.value is None or reading.denominator is None:
        return 0.0
    return float(reading.denominator)


__all__ = [
    "METHODS",
    "Drivers",
    "Overlap",
    "Reading",
    "Segment",
    "Span",
    "compared_span",
    "default_span",
    "dimensions_of",
    "drivers",
    "key_result_drivers",
    "key_result_span",
    "range_span",
    "split",
]
