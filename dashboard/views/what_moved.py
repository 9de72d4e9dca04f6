"""The "What moved" panel: a metric's change between two spans split by segment (`metrics.drivers`),
in the explorer (the range on screen against its comparison) and on each key result (its current
reading against the span of the same length just before it)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import streamlit as st

from dashboard.cache import RESULT_TTL
from dashboard.debug import error_text
from dashboard.format import format_date, format_value, sample_noun, uncertain_words
from dashboard.views.common import Ctx, copy_box, md
from metrics.drivers import OVERLAP_WORDS, Drivers, drivers, key_result_span, range_span
from metrics.format import format_difference

if TYPE_CHECKING:
    from metrics.engine import Engine
    from metrics.engine.request import Comparison
    from metrics.okrs import KeyResultScore

TOP = 5  # movers listed in the explorer; a key result lists 3


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner="Splitting the change by segment…")
def _drivers(
    defs: str,
    data: str,
    metric_id: str,
    start: dt.date,
    end: dt.date,
    compare: Comparison,
    observe: dt.date | None,
    _engine: Engine,
) -> Drivers:
    """`defs`, `data` and the request determine the answer."""
    return drivers(_engine, metric_id, start, end, compare=compare, observe_until=observe)


def read(
    ctx: Ctx,
    metric_id: str,
    start: dt.date,
    end: dt.date,
    compare: Comparison,
    observe: dt.date | None = None,
) -> Drivers | None:
    """The split, or None with a caption saying why there is none."""
    try:
        return _drivers(
            ctx.project.fingerprint, ctx.data_fp, metric_id, start, end, compare, observe, ctx.engine
        )
    except Exception as exc:  # the page still shows everything else
        st.caption(f"What moved: {md(error_text(exc))}")
        return None


def show(ctx: Ctx, result: Drivers, limit: int) -> None:
    """The headline, the top movers with their n, each dimension's overlap, and (outside review mode)
    every segment in a table."""
    unit = result.unit
    noun = sample_noun(ctx.project, result.metric)[0]
    st.caption(
        f"{md(result.headline())}. Segments are ranked by how far their part of the change departs from "
        "their share of it, across every dimension (docs/drivers.md)."
    )
    top = result.top(limit)
    if not top and result.change is not None and result.segments:  # no segment at all: a note says why
        st.caption("No segment moved.")
    lines = []
    for segment in top:
        line = md(result.mover_line(segment, noun))
        if result.method == "rate" and ctx.project.settings.uncertain(segment.current.denominator):
            line += f" · *{uncertain_words(ctx.project.settings.min_sample)}*"  # as every surface says it
        lines.append(f"- {line}")
    if lines:
        st.markdown("\n".join(lines))
    overlaps = result.overlaps_shown()
    if overlaps:
        parts = ", ".join(
            f"{o.dimension} {format_value(o.previous, unit)} → {format_value(o.current, unit)} "
            f"({format_difference(o.change, unit)})"
            for o in overlaps
        )
        st.caption(
            f"{md(OVERLAP_WORDS[result.method].capitalize())}: {md(parts)}; the contributions minus "
            "this change equal the change."
        )
    for note in result.notes:
        st.caption(md(note))
    if ctx.review:
        return
    with st.expander("Every segment"):
        copy_box(result.to_table())


def explorer_panel(ctx: Ctx, metric_id: str, start: dt.date, end: dt.date) -> None:
    """The range on screen against its comparison (the view's, else the previous period). A
    retention's or funnel's cohorts end where the data lets them mature."""
    st.subheader("What moved")
    lag = ctx.project.maturity_lag(metric_id)
    span = range_span(ctx.project, metric_id, start, end, ctx.data_last)
    if span is None:
        st.caption(f"What moved: no cohort of the range has had {lag} days to mature yet.")
        return
    last, observe = span
    if last < end:
        st.caption(
            f"Cohorts through {format_date(last)}: later ones have not had {lag} days to mature by "
            f"{format_date(observe)}."
        )
    result = read(ctx, metric_id, start, last, ctx.view.compare or "previous_period", observe)
    if result is not None:
        show(ctx, result, TOP)
        if result.comparable_from is not None and not ctx.review:  # the range is the viewer's to choose
            st.caption(
                f"A range starting on {format_date(result.comparable_from)} or later has a comparison."
            )


def kr_panel(ctx: Ctx, score: KeyResultScore, key: str) -> None:
    """A key result's top three movers, computed when the toggle is turned on (each split reads the
    data once per dimension and span)."""
    span = key_result_span(ctx.project, score)
    if span is None or ctx.review:  # review mode shows no control (docs/dashboard.md)
        return
    if not st.toggle(
        "What moved",
        key=f"moved_{key}",
        help="Its current reading against the span just before it, by segment",
    ):
        return
    first, last, observe = span
    result = read(ctx, score.metric, first, last, "previous_period", observe)
    if result is not None:
        show(ctx, result, 3)
