"""Today in the project: the one clock that every surface reads (engine, CLI, dashboard, review pack,
alerts, data checks, the demo generator).

`NORTHSTAR_TODAY=YYYY-MM-DD` pins it, for reproducible demos, screenshots and tests: every surface then
behaves as if that day were today in the project's time zone, and the clock stands still at noon of
that day (`PINNED_TIME`): the default as-of is the day before, "current_quarter" is that day's quarter,
freshness is aged at that noon and a demo generated then ends that morning. Unset (or empty), it is the
real clock. A value that is not a day raises `ClockError`, one sentence that names the variable.

`Calendar.today` reads the day from here (and `Engine.today` from it); the checks' `quality_clock` and
the demo generator read the instant. Times that measure the machine rather than the project (how long
a run took, when a check ran, the age of a stored answer) stay on the real clock.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import NoReturn

from connectors.errors import NorthstarError

TODAY_VARIABLE = "NORTHSTAR_TODAY"
PINNED_TIME = dt.time(12)  # the instant a pinned day stands still at, in the project's time zone
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ClockError(NorthstarError):
    """`NORTHSTAR_TODAY` is set to something that is not a day."""


def pinned_day() -> dt.date | None:
    """The day `NORTHSTAR_TODAY` pins (None: unset or empty, the real clock); `ClockError` when it is
    not a day written YYYY-MM-DD."""
    text = os.environ.get(TODAY_VARIABLE, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text) if _DAY.fullmatch(text) else _not_a_day(text)
    except ValueError:
        return _not_a_day(text)


def _not_a_day(text: str) -> NoReturn:
    raise ClockError(
        f"{TODAY_VARIABLE}={text!r} is not a day; write it as YYYY-MM-DD (e.g. 2026-11-20), "
        "or unset it to use the real date"
    )


def now(zone: dt.tzinfo = dt.UTC) -> dt.datetime:
    """The current instant in UTC: the real time, or noon (`PINNED_TIME`) in `zone` of the pinned day."""
    day = pinned_day()
    if day is None:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.combine(day, PINNED_TIME, tzinfo=zone).astimezone(dt.UTC)


def today(zone: dt.tzinfo = dt.UTC) -> dt.date:
    """Today's date in `zone`: the pinned day, or the real one."""
    return now(zone).astimezone(zone).date()


__all__ = ["PINNED_TIME", "TODAY_VARIABLE", "ClockError", "now", "pinned_day", "today"]
