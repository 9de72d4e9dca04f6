"""The engine's frozen request and result types: what a caller asks for and what it gets back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from metrics.calendar import Calendar
from metrics.models import Grain

Comparison = Literal["previous_period", "previous_year"]
COMPARISONS: tuple[Comparison, ...] = ("previous_period", "previous_year")


class MetricError(Exception):
    """A request cannot be answered (unknown metric, bad range, unknown dimension...).

    The message is one sentence that says what is wrong and what to do.
    """


@dataclass(frozen=True)
class MetricRequest:
    metrics: tuple[str, ...]
    start: dt.date | None = None  # inclusive; None: first day of the metrics' data
    end: dt.date | None = None  # inclusive; None: last day of the metrics' data
    grain: Grain = "day"
    by: str | None = None
    compare: Comparison | None = None


@dataclass(frozen=True)
class MetricResult:
    """Values for every requested metric and every period (and group) meeting [start, end].

    `frame` columns: metric (str), period (Date: first day of the bucket), [by] (str, when
    requested), value (Float64, null where no value exists). `comparison` has the same columns plus
    `compared_period` (the shifted period whose value it holds), aligned on the main `period`.
    """

    request: MetricRequest
    start: dt.date
    end: dt.date
    frame: pl.DataFrame
    comparison: pl.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def rows(self) -> list[dict[str, Any]]:
        """Contract rows: {"metric", "period": "YYYY-MM-DD", "value", [by]}."""
        out: list[dict[str, Any]] = []
        for row in self.frame.iter_rows(named=True):
            item: dict[str, Any] = {"metric": row["metric"], "period": row["period"].isoformat()}
            if self.request.by is not None:
                item[self.request.by] = row[self.request.by]
            value = row["value"]
            item["value"] = None if value is None or value != value else float(value)
            out.append(item)
        return out

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
