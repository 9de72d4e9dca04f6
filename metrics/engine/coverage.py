"""Whether the data covers a range, told without reading the whole range: `northstar compute`'s
past-the-data warning (`request.outside_data`, the rule's home) needs the data's first and last day
only when the range reaches past them, and reading them costs a scan of every timestamp."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from connectors.errors import NorthstarError

if TYPE_CHECKING:
    from metrics.engine.engine import Engine


def covers(engine: Engine, metric_ids: Sequence[str], start: dt.date, end: dt.date) -> bool:
    """True when the data of these metrics' sources is known to run from `start` or earlier to
    `end` or later, so that `engine.data_range` would give first <= start and last >= end (and
    `outside_data` nothing to say): a row on or before `start` in any source and one on or after
    `end` (`Backend.reaches`). False when it does not, or when that cannot be told cheaply (a SQL
    source, an unreadable one), or when the engine keeps results (`result_store`: it keeps the data's
    range too, read once for every later process, and only the days added since then after that):
    ask `data_range` then."""
    if engine.result_store is not None:
        return False
    early = late = False
    try:
        for metric_id in metric_ids:
            engine.metric(metric_id)  # an unknown or skipped metric: data_range says so
        sources = sorted(
            {m.source for metric_id in metric_ids for m in engine.project.leaves(metric_id).values()}
        )
        for name in sources:
            connector = engine.connector(name)
            found = engine.backend(connector).reaches(
                name, engine.project.sources[name], connector, engine.calendar, start, end
            )
            if found is None:
                return False
            early, late = early or found[0], late or found[1]
    except NorthstarError:
        return False
    return early and late
