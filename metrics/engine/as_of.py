"""The default as-of day, the one home of the rule every entry point follows (CONTRACT.md, As-of).

Without `--as-of` (or `as_of=` in the dashboard's URL) the commands, the dashboard and the review
pack read the project as of the last complete day: the day before today in the project's time
zone, or the last day with data when that is earlier (`calendar.last_complete_day`). So a scorecard
made in the morning never reads the day still running, and a project whose data ended in the past
is read on its last day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from metrics.definitions.calendar import last_complete_day

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine.engine import Engine


def default_as_of(project: Project, engine: Engine, today: dt.date | None = None) -> dt.date:
    """The last complete day of the data every metric of the project reads, by `today` (default:
    the engine's clock, which tests inject)."""
    day = engine.today() if today is None else today
    return last_complete_day(day, newest_day(project, engine))


def complete_end(engine: Engine, metric_ids: Sequence[str], start: dt.date | None = None) -> dt.date | None:
    """The end of a range left to its default (`northstar compute` and `explain` without `--end`):
    the last complete day of these metrics' data (`calendar.last_complete_day`), so a default range
    never shows the day still running as a complete day (a dip). None when the data's last day is
    complete already, or the range would then end before its start (or before the data's first day):
    the engine's own default (the data's last day) and its errors stand."""
    try:
        first, last = engine.data_range(metric_ids)
    except Exception:  # no readable data: the engine's read says why
        return None
    end = last_complete_day(engine.today(), last)
    if end == last or end < max(first, start or first):
        return None
    return end


def newest_day(project: Project, engine: Engine) -> dt.date | None:
    """The newest local day with data over the sources the project's metrics read (None: no data).

    A source that cannot be read is left out here; the numbers that read it say why.
    """
    ids = sorted(project.metrics)
    if not ids:
        return None
    try:
        return engine.data_range(ids)[1]
    except Exception:  # one unreadable or empty source: the newest day of the others
        lasts: list[dt.date] = []
        for metric_id in ids:
            try:
                lasts.append(engine.data_range([metric_id])[1])
            except Exception:  # its pages and KRs report it
                continue
        return max(lasts) if lasts else None


__all__ = ["complete_end", "default_as_of", "newest_day"]
