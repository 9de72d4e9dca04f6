"""Local calendar days as both backends count them: day numbers, and the instant a local day starts.

A *day number* is the number of days from 1970-01-01 to a local calendar date, so day, week and
period arithmetic is integer arithmetic in Polars and in every SQL dialect alike. A local day in
the project time zone starts at `local_midnight(day, zone)`, an instant in UTC.
"""

from __future__ import annotations

import datetime as dt
import math
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


def date_window_runs(
    zone: str, first: dt.date, last: dt.date, days: float
) -> list[tuple[dt.date, dt.date, int]]:
    """Where a window of `days` x 24 hours from a date's local midnight covers a different number
    of whole dates than date arithmetic says (a funnel's `within` over a DATE timestamp): the runs
    (a, b, n) of start days d0 in first .. last whose window holds exactly the dates before d0 + n,
    where d0 + `days` as dates would give n = ceil(days). The clocks going forward inside the
    window make it reach one date further (an event dated d0 + days falls inside it, as the Polars
    engine finds by reading each date as its local midnight's instant); going back, for a window
    that is not whole days, one date less. Empty for UTC and zones without summer time."""
    span = dt.timedelta(days=days)
    usual = math.ceil(days)
    runs: list[tuple[dt.date, dt.date, int]] = []
    day = first
    while day <= last:
        deadline = local_midnight(day, zone) + span
        n = usual + 1
        while n > 0 and local_midnight(day + dt.timedelta(days=n - 1), zone) >= deadline:
            n -= 1
        if n != usual:
            if runs and runs[-1][2] == n and runs[-1][1] == day - dt.timedelta(days=1):
                runs[-1] = (runs[-1][0], day, n)
            else:
                runs.append((day, day, n))
        day += dt.timedelta(days=1)
    return runs
