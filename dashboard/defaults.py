"""What a page shows when its URL says nothing: the project's options (valid values and defaults)
and the default view, in one home for the app's frame (`dashboard/app.py`) and the warm-up thread
(`dashboard/preload.py`), so the caches warmed are the ones a page's first visitor reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard import cache, state
from metrics.definitions.calendar import Calendar, last_complete_day
from metrics.definitions.models import FunnelMetric, RetentionMetric

if TYPE_CHECKING:
    from dashboard.views.common import Ctx
    from metrics.definitions.project import Project
    from metrics.engine import Engine


def options(
    project: Project, engine: Engine, today: dt.date, data_fp: str
) -> tuple[state.Options, dt.date | None, dt.date | None]:
    """(the project's options: valid values and defaults, the data's first day, its last day);
    `state.parse` of a URL without parameters gives the default view from them."""
    metrics = project.metrics
    first = last = None
    if metrics:
        try:
            first, last = cache.data_range(project.fingerprint, data_fp, tuple(sorted(metrics)), engine)
        except Exception:  # no readable data: pages say so; the frame still draws
            first = last = None
    # the last complete day: the day still running is no day of data yet (the as-of's one rule), and
    # a default range ending on it would chart its partial count as a dip
    end = last_complete_day(today, last)
    if first is not None and last is not None and end < first:  # data of the running day only: show it
        end = min(last, today)
    days = dt.timedelta(days=state.DEFAULT_RANGE_DAYS - 1)
    start = max(first, end - days) if first else end - days
    dims: list[str] = []
    for source in project.sources.values():
        dims += [d for d in source.dimensions if d not in dims]
    pinned = list(project.settings.review.pinned_metrics)
    kr_metrics = [kr.metric for o in project.okrs for kr in o.key_results]
    default_metric = next((m for m in [*pinned, *kr_metrics, *metrics] if m in metrics), None)
    low = min(first or today, today) - dt.timedelta(days=5 * 366)
    high = max(last or today, today) + dt.timedelta(days=2 * 366)
    options = state.Options(
        metrics=list(metrics),
        dimensions=dims,
        funnels=[m for m, d in metrics.items() if isinstance(d, FunnelMetric)],
        retentions=[m for m, d in metrics.items() if isinstance(d, RetentionMetric)],
        default_start=start,
        default_end=end,
        data_first=first,
        today=today,
        default_as_of=cache.default_as_of(project.fingerprint, data_fp, today, project, engine),
        default_metric=default_metric,
        min_date=low,
        max_date=high,
    )
    return options, first, last


def context(folder: Path, project: Project, engine: Engine, data_fp: str, page: str = "okrs") -> Ctx:
    """The context the frame prepares for `page` opened without query parameters (a shared root
    URL, a bookmark of the page): the view `state.parse` makes of no parameters."""
    from dashboard.views.common import Ctx

    calendar = Calendar.of(project.settings)
    today = calendar.today()
    found, first, last = options(project, engine, today, data_fp)
    view, _ = state.parse({}, found)
    return Ctx(
        config_dir=folder,
        project=project,
        engine=engine,
        data_fp=data_fp,
        view=view.replace(page=page),
        options=found,
        today=today,
        data_first=first,
        data_last=last,
        calendar=calendar,
    )
