"""The explorer's "Event impact" panel: for each annotation of the metric whose date lies in the
range, the metric after it against the forecast from the days before (`metrics.okrs.impact`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import streamlit as st

from dashboard.cache import RESULT_TTL, forecasts
from dashboard.debug import error_text
from dashboard.format import format_date, format_probability, format_value
from dashboard.views.common import Ctx, md
from metrics.format import format_difference

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine
    from metrics.okrs.impact import Impact

MAX_EVENTS = 3  # the newest launches in the range; `northstar impact` answers for any other


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner="Estimating the event's impact…")
def _impact(
    defs: str, data: str, annotation: str, metric: str, as_of: dt.date, _project: Project, _engine: Engine
) -> Impact:
    from metrics.okrs.impact import estimate_impact

    # behind the stored outlooks: a restarted server reads an estimate made before (`cache.forecasts`)
    return estimate_impact(_project, _engine, annotation, metric, as_of=as_of, executor=forecasts(_engine))


def render(ctx: Ctx, metric_id: str, start: dt.date, end: dt.date) -> None:
    """The panel, when the range holds the date of an annotation that concerns the metric."""
    events = [
        key
        for key, event in ctx.project.annotations_between(start, end).items()
        if event.applies_to(metric_id) and start <= event.first <= end
    ][-MAX_EVENTS:]
    if not events:
        return
    as_of = ctx.view.as_of or ctx.today
    unit = ctx.unit(metric_id)
    st.subheader("Event impact")
    for key in events:
        try:
            found = _impact(
                ctx.project.fingerprint, ctx.data_fp, key, metric_id, as_of, ctx.project, ctx.engine
            )
        except Exception as exc:  # the explorer still shows the metric
            st.caption(f"The impact of {md(key)} could not be estimated: {md(error_text(exc))}")
            continue
        title = f"{md(found.label)} ({format_date(found.launch)})"
        effect = found.effect
        if effect is None:
            st.caption(f"**{title}**: no estimate: {md(found.reason or '')}.")
            continue
        assert found.after is not None
        st.metric(
            f"{title}: effect on the mean daily value",
            f"{format_difference(effect.effect, unit)}  ({effect.interval_words(unit)})",
            border=True,
            help="Observed mean daily value over the days compared minus the forecast's median, the "
            "forecast fitted on the days before the event only (docs/impact.md).",
        )
        st.caption(
            f"{format_value(effect.observed, unit)} a day observed over {found.days} days from "
            f"{format_date(found.after[0])} to {format_date(found.after[1])}, against "
            f"{format_value(effect.expected, unit)} expected · chance the effect is above zero: "
            f"{format_probability(effect.probability)}. {md(found.caveat)}"
        )
