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


def day_number(day: dt.date) -> int:
    """Days from 1970-01-01 to `day`."""
    return (day - EPOCH).days


def date_of_day_number(number: int) -> dt.date:
    """The date `number` days after 1970-01-01."""
    return EPOCH + dt.timedelta(days=int(number))


def local_midnight(day: dt.date, zone: str) -> dt.datetime:
    """The first instant of local day `day` in time zone `zone`, in UTC (time zone aware)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
