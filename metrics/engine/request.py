"""The engine's frozen request and result types: what a caller asks for and what it gets back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from connectors.errors import NorthstarError
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import FIRST_DAY, LAST_DAY, Grain, outside_years
from metrics.format import format_date, format_range, raw_number

Comparison = Literal["previous_period", "previous_year"]
COMPARISONS: tuple[Comparison, ...] = ("previous_period", "previous_year")


class MetricError(NorthstarError):
    """A request cannot be answered (unknown metric, bad range, unknown dimension...).

    The message is one sentence that says what is wrong and what to do.
    """


MAX_RANGE_DAYS = 18_262  # 50 years: far beyond any product's history, small enough to compute


class RangeTooLong(MetricError):
    """A request or period longer than MAX_RANGE_DAYS; the command line exits with code 2."""

    exit_code = 2


def too_long(start: dt.date, end: dt.date) -> str | None:
    """The one bound on the days a request, an objective's period or a trailing read covers (every
    surface: the command line, the dashboard's link, the review pack, okrs.yaml): what is wrong, or None."""
    days = (end - start).days + 1
    if days <= MAX_RANGE_DAYS:
        return None
    return f"{start} .. {end} covers {days:,} days; Northstar computes at most {MAX_RANGE_DAYS:,} days (50 years)"


def outside_data(start: dt.date, end: dt.date, first: dt.date, last: dt.date) -> str | None:
    """The one home of the rule that a range reaching past the data [first, last] says so, in
    `northstar compute` and the explorer alike: its 0s there mean "no data", not "nothing happened"
    (the range rule of docs/metrics.md counts them as 0). None when [start, end] lies inside."""
    data = f"the data runs from {format_date(first)} to {format_date(last)}"
    if end < first or start > last:
        return (
            f"no data in {format_range(start, end)}: {data}, so every value here is 0 or empty for lack "
            "of data, not because nothing happened"
        )
    outside = [f"before {format_date(first)}"] if start < first else []
    outside += [f"after {format_date(last)}"] if end > last else []
    if not outside:
        return None
    return (
        f"the range {format_range(start, end)} has days {' and '.join(outside)}, where there is no data "
        f"({data}): the values of those days are 0 or empty for lack of data"
    )


def check_range(start: dt.date, end: dt.date, *, start_given: bool = True, end_given: bool = True) -> None:
    """A range in order and not too long; a bound not given is the data's first or last day, and
    the message says so (swapping --start and --end would not mend a --start after the data)."""
    if start > end and not end_given:
        raise MetricError(
            f"the range starts on {start}, after the data's last day {end} (the default end); "
            "give an earlier --start"
        )
    if start > end and not start_given:
        raise MetricError(
            f"the range ends on {end}, before the data's first day {start} (the default start); "
            "give a later --end, or a --start too"
        )
    if start > end:
        raise MetricError(f"the range starts on {start} after it ends on {end}; swap --start and --end")
    if start < FIRST_DAY or end > LAST_DAY:
        raise MetricError(f"the range {start} .. {end} {outside_years()}")
    problem = too_long(start, end)
    if problem:
        raise RangeTooLong(f"the range {problem} at once; choose a shorter range")


@dataclass(frozen=True)
class MetricRequest:
    metrics: tuple[str, ...]
    start: dt.date | None = None  # inclusive; None: first day of the metrics' data
    end: dt.date | None = None  # inclusive; None: last day of the metrics' data
    grain: Grain = "day"
    by: str | None = None
    compare: Comparison | None = None
    # One period spanning start .. span_end (named by start) instead of calendar buckets; `grain` is
    # ignored. Data up to `end` still counts where a type looks past its period: retention's returns
    # and a funnel's later steps (a cohort span ending `offset` days before `end` is mature).
    # Active users read the value on span_end. OKR readings use it (metrics.okrs).
    span_end: dt.date | None = None


@dataclass(frozen=True)
class MetricResult:
    """Values for every requested metric and every period (and group) meeting [start, end].

    `frame` columns: metric (str), period (Date: first day of the bucket), [by] (str, when
    requested), value (Float64, null where no value exists), numerator and denominator (Float64:
    what a rate's value is out of; null for other types). `comparison` has the columns metric,
    period, [by], `compared_period` (the shifted period whose value it holds), value, aligned on
    the main `period`. `rates` names the requested metrics that are rates (`RATE_TYPES`).
    """

    request: MetricRequest
    start: dt.date
    end: dt.date
    frame: pl.DataFrame
    comparison: pl.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    compared: tuple[dt.date, dt.date] | None = None  # the days the comparison covers, when one was asked
    rates: frozenset[str] = frozenset()

    def rows(self) -> list[dict[str, Any]]:
        """Contract rows: {"metric", "period": "YYYY-MM-DD", "value", [by]}, and for a rate
        "numerator" and "denominator" (counts as integers where they are whole)."""
        out: list[dict[str, Any]] = []
        for row in self.frame.iter_rows(named=True):
            item: dict[str, Any] = {"metric": row["metric"], "period": row["period"].isoformat()}
            if self.request.by is not None:
                item[self.request.by] = row[self.request.by]
            value = row["value"]
            item["value"] = None if value is None or value != value else float(value)
            if row["metric"] in self.rates:
                item["numerator"] = raw_number(row["numerator"], "count")
                item["denominator"] = raw_number(row["denominator"], "count")
            out.append(item)
        return out

    def rows_compared(self) -> list[dict[str, Any]]:
        """`rows()` with the comparison beside each row, when one was asked: "compared_period"
        (YYYY-MM-DD) and "compared_value" (null where the compared period has no row)."""
        rows = self.rows()
        if self.comparison is None:
            return rows
        by = self.request.by
        compared = {
            (r["metric"], r["period"], r.get(by) if by else None): r
            for r in self.comparison.iter_rows(named=True)
        }
        for row in rows:
            match = compared.get(
                (row["metric"], dt.date.fromisoformat(row["period"]), row.get(by) if by else None)
            )
            row["compared_period"] = match["compared_period"].isoformat() if match else None
            row["compared_value"] = match["value"] if match else None
        return rows

    def export_rows(self, units: Mapping[str, str]) -> list[dict[str, Any]]:
        """The rows `northstar compute --format json|csv` and the explorer's "Download CSV" carry, one
        home for both: `rows_compared()` with value and compared_value as `raw_number`s in each
        metric's unit (`units`: metric id -> `metrics.format.metric_unit`), so a whole count is 22,
        never 22.0, in either file."""
        numbers = ("value", "compared_value")
        return [
            {
                k: raw_number(v, units.get(row["metric"], "count")) if k in numbers else v
                for k, v in row.items()
            }
            for row in self.rows_compared()
        ]

    def series(self, metric: str) -> pl.DataFrame:
        return self.frame.filter(pl.col("metric") == metric)


@dataclass(frozen=True)
class Window:
    """What a backend computes for one source: the inclusive day range, bucketing and breakdown.

    `start`/`end` are dates in the project time zone (`calendar.timezone`); an event belongs to the
    local calendar day of its timestamp (naive timestamps are UTC). Backends may look before `start`
    where a metric type says so (active_users' window, retention's "first ever" cohort event);
    nothing after `end` ever counts.
    """

    start: dt.date
    end: dt.date
    grain: Grain
    calendar: Calendar
    by: str | None = None
    span_end: dt.date | None = None  # one period start .. span_end instead of calendar buckets

    def periods(self) -> list[dt.date]:
        """The first day of every period: calendar buckets meeting [start, end], or the one span."""
        if self.span_end is not None:
            return [self.start]
        return self.calendar.periods(self.start, self.end, self.grain)

    def period_of(self, day: dt.date) -> dt.date | None:
        """The period a day inside [start, end] belongs to (None: after the span)."""
        if self.span_end is not None:
            return self.start if day <= self.span_end else None
        return self.calendar.bucket_start(day, self.grain)

    @property
    def last_counted_day(self) -> dt.date:
        """The last day whose rows a period counts as its own: span_end for one span, else end. Only
        types that look past their period read later days (retention's returns, a funnel's later
        steps, up to end); active users' groups, like every other type's, come from rows up to here."""
        return self.end if self.span_end is None else self.span_end

    def last_day(self, period: dt.date) -> dt.date:
        """The day a period's point-in-time value is read on: its last day, clipped to end."""
        if self.span_end is not None:
            return self.span_end
        return min(self.calendar.bucket_end(period, self.grain), self.end)
