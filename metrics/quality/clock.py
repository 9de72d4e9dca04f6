"""How data checks are judged as of a day: the one home of that rule (CONTRACT.md, `northstar check`).

Checks as of day D read the data up to the end of D in the project's time zone, and judge freshness
by the newest timestamp's age at the end of D, or now when that is earlier (D is today, or later);
"now" is the project's clock (`metrics.definitions.clock`, which `NORTHSTAR_TODAY` pins).
`northstar check`, the dashboard and the review pack all take their clock from `quality_clock`, so
given an as-of, a check's verdict does not depend on the day it runs. Rows with no timestamp belong
to no day and are always read (so `timestamp_not_null` still sees them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics.definitions import clock
from metrics.definitions.calendar import Calendar

if TYPE_CHECKING:
    from metrics.definitions.project import Project

# With the data cut at the end of a past as-of day no row read can be later than the clock: the
# rows after that day are later data, which plays no part in numbers as of that day.
CLOCK_CHECKS = frozenset({"timestamp_not_in_future"})


@dataclass(frozen=True)
class CheckClock:
    """The clock and the cut of one as-of's checks.

    `now`: the instant freshness ages and "future" timestamps are judged at; `until`: rows with a
    timestamp at or after this instant are not read (None: every row, the as-of day is not over).
    """

    as_of: dt.date | None
    now: dt.datetime
    until: dt.datetime | None

    @property
    def past(self) -> bool:
        """True when the as-of day is over: the data is cut at its end."""
        return self.until is not None


def quality_clock(project: Project, as_of: dt.date | None, now: dt.datetime | None = None) -> CheckClock:
    """The clock that checks as of `as_of` are judged by (None: the project's clock, no cut). `now`
    stands for the project's clock (in tests; default `metrics.definitions.clock.now`: the real
    time, or noon of the day `NORTHSTAR_TODAY` pins); naive values are UTC."""
    zone = Calendar.of(project.settings).zone
    real = clock.now(zone) if now is None else _utc(now)
    if as_of is None:
        return CheckClock(None, real, None)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    if end <= real:
        return CheckClock(as_of, end, end)
    return CheckClock(as_of, real, None)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


__all__ = ["CLOCK_CHECKS", "CheckClock", "quality_clock"]
