"""Calendar buckets in the project's terms: week start, fiscal quarters, named by their first day.

Fiscal years are named by the calendar year they start in: with `fiscal_year_start: 2`,
"2026-Q1" is 2026-02-01 .. 2026-04-30 and "2026-Q4" is 2026-11-01 .. 2027-01-31.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from metrics.definitions import clock
from metrics.definitions.models import Grain, Objective, ProjectConfig, quarter_of


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    week_start: str = "monday"
    fiscal_year_start: int = 1

    @classmethod
    def of(cls, settings: ProjectConfig) -> Calendar:
        return cls(settings.timezone, settings.week_start, settings.fiscal_year_start)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first_weekday(self) -> int:
        """Python weekday() of the first day of a week (Monday 0 .. Sunday 6)."""
        return 0 if self.week_start == "monday" else 6

    def bucket_start(self, day: dt.date, grain: Grain) -> dt.date:
        if grain == "day":
            return day
        if grain == "week":
            return day - dt.timedelta(days=(day.weekday() - self.first_weekday) % 7)
        if grain == "month":
            return day.replace(day=1)
        offset = (day.month - self.fiscal_year_start) % 3
        return _add_months(day.replace(day=1), -offset)

    def bucket_end(self, start: dt.date, grain: Grain) -> dt.date:
        """Last day of the bucket that starts on `start`."""
        if grain == "day":
            return start
        if grain == "week":
            return start + dt.timedelta(days=6)
        months = 1 if grain == "month" else 3
        return _add_months(start, months) - dt.timedelta(days=1)

    def next_bucket(self, start: dt.date, grain: Grain) -> dt.date:
        return self.bucket_end(start, grain) + dt.timedelta(days=1)

    def periods(self, start: dt.date, end: dt.date, grain: Grain) -> list[dt.date]:
        """The first day of every bucket that meets [start, end]."""
        out: list[dt.date] = []
        current = self.bucket_start(start, grain)
        while current <= end:
            out.append(current)
            current = self.next_bucket(current, grain)
        return out

    def partial_periods(self, start: dt.date, end: dt.date, grain: Grain) -> tuple[dt.date, ...]:
        """The periods of [start, end] (their first days) that the range holds only in part: the first
        when it begins before `start`, the last when it ends after `end`. The one home of that fact:
        a count over a week of six days is no fall, so `compute` notes these periods and the
        explorer's tiles name them (`metrics.format.partial_period_words`)."""
        periods = self.periods(start, end, grain)
        partial = [p for p in periods[:1] if p < start]
        partial += [p for p in periods[-1:] if self.bucket_end(p, grain) > end and p not in partial]
        return tuple(partial)

    def periods_holding(self, days: Iterable[dt.date], grain: Grain) -> list[dt.date]:
        """The first day of each period (at `grain`) that holds one of `days`, in order."""
        return sorted({self.bucket_start(day, grain) for day in days})

    def quarter(self, fiscal_year: int, number: int) -> tuple[dt.date, dt.date]:
        start = _add_months(dt.date(fiscal_year, self.fiscal_year_start, 1), 3 * (number - 1))
        return start, self.bucket_end(start, "quarter")

    def quarter_containing(self, day: dt.date) -> tuple[dt.date, dt.date]:
        start = self.bucket_start(day, "quarter")
        return start, self.bucket_end(start, "quarter")

    def quarter_name(self, day: dt.date) -> str:
        start = self.bucket_start(day, "quarter")
        months_in = (start.month - self.fiscal_year_start) % 12
        fiscal_year = start.year if start.month >= self.fiscal_year_start else start.year - 1
        return f"{fiscal_year}-Q{months_in // 3 + 1}"

    def bucket_expr(self, day: pl.Expr, grain: Grain) -> pl.Expr:
        """Polars expression: the bucket start of a Date expression."""
        if grain == "day":
            return day
        if grain == "week":
            shift = (day.dt.weekday() - 1 - self.first_weekday) % 7  # polars weekday: Monday=1
            return day - pl.duration(days=shift)
        if grain == "month":
            return day.dt.truncate("1mo")
        months_back = (day.dt.month().cast(pl.Int32) - self.fiscal_year_start) % 3
        return day.dt.truncate("1mo").dt.offset_by(pl.format("-{}mo", months_back))

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """Today's date in the project time zone: at `now` (naive: UTC), else by the project's clock
        (`metrics.definitions.clock`: the real date, or the day `NORTHSTAR_TODAY` pins)."""
        moment = now if now is not None else clock.now(self.zone)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.zone).date()


def objective_period(objective: Objective, calendar: Calendar, today: dt.date) -> tuple[dt.date, dt.date]:
    """(start, end) of an objective's period; `today` resolves current_quarter."""
    period = objective.period
    if isinstance(period, str):
        if period == "current_quarter":
            return calendar.quarter_containing(today)
        year_q = quarter_of(period)
        assert year_q is not None
        return calendar.quarter(*year_q)
    return period.start, period.end


def last_complete_day(today: dt.date, data_last: dt.date | None) -> dt.date:
    """The last complete day of data: yesterday, or the newest day with data when that is earlier
    (yesterday when there is none). The one home of the rule that a day still running is not read;
    `metrics.engine.as_of.default_as_of` applies it to a project's data.

    Reading a key result on a day that has not finished (or has no data yet) shows a partial day as a
    drop: a day-1 retention of 0% at 9 am. `today` is the caller's clock (injected in tests).
    """
    yesterday = today - dt.timedelta(days=1)
    return yesterday if data_last is None else min(data_last, yesterday)
