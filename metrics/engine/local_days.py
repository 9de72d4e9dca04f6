"""Local calendar days as both backends count them: day numbers, and the instant a local day starts.

A *day number* is the number of days from 1970-01-01 to a local calendar date, so day, week and
period arithmetic is integer arithmetic in Polars and in every SQL dialect alike. A local day in
the project time zone starts at `local_midnight(day, zone)`, an instant in UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

EPOCH = dt.date(1970, 1, 1)
SECONDS_PER_DAY = 86_400
MICROS_PER_DAY = SECONDS_PER_DAY * 1_000_000
# Timestamps Northstar places in days: from 1900 up to (not including) 2200. Rows outside (year 1,
# 9999-12-31, a 0 or a 10^12 read as seconds) are clock or parsing bugs upstream: they do not set a
# source's data range, and the built-in check `timestamp_not_null` counts them as not a time.
PLAUSIBLE = (dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))  # naive UTC, [start, end)
PLAUSIBLE_WORDS = "the years 1900 to 2199"
PLAUSIBLE_SECONDS = tuple(int((t - dt.datetime(1970, 1, 1)).total_seconds()) for t in PLAUSIBLE)


def day_number(day: dt.date) -> int:
    """Days from 1970-01-01 to `day`."""
    return (day - EPOCH).days


def date_of_day_number(number: int) -> dt.date:
    """The date `number` days after 1970-01-01."""
    return EPOCH + dt.timedelta(days=int(number))


def local_midnight(day: dt.date, zone: str) -> dt.datetime:
    """The first instant of local day `day` in time zone `zone`, in UTC (time zone aware)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
