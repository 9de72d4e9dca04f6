"""Funnels: users at each step with conversion and drop-off, by breakdown, and conversion over time."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import cache, derived, figures
from dashboard.format import format_date, format_value, maturing_label, plural, user_noun
from dashboard.views import common
from dashboard.views.common import Ctx, md, mdc
from metrics.definitions.models import FunnelMetric
from metrics.engine.request import MetricRequest


def render(ctx: Ctx) -> None:
    common.header(ctx, "Funnels")
    funnels = list(ctx.options.funnels)
    missing = "No funnel metric is defined. Add one with `type: funnel` and `steps:` in metrics.yaml."
    funnel_id = common.pick(ctx, funnels, "funnel", "w_funnel", "Funnel", missing)
    if funnel_id is None:
        return
    metric = ctx.project.metrics[funnel_id]
    assert isinstance(metric, FunnelMetric)
    start, end = ctx.range()
    noun = user_noun(ctx.project, funnel_id)
    by = common.breakdown(ctx, funnel_id, f"showing all {noun}")
    st.markdown(md(metric.description or f"Steps within {plural(metric.within, 'day')} of the first step"))
    common.quality_badge(ctx, funnel_id)

    extra = derived.funnel_metrics(funnel_id, metric)
    project, engine = cache.derived_engine(str(ctx.config_dir), ctx.project, ctx.engine, extra)
    # One period spanning the whole range: each user enters at most once, at their first step 1.
    span = MetricRequest((*extra, funnel_id), start, end, by=by, span_end=end)
    steps = derived.funnel_steps(
        cache.cached_compute(engine, project, ctx.data_fp, span), funnel_id, metric, by
    )
    if by is None and steps.height:
        users = steps["users"].to_list()
        first, last = users[0], users[-1]
        cols = st.columns(3)
        cols[0].metric(f"Started ({md(metric.steps[0])})", format_value(first, "users"), border=True)
        cols[1].metric(f"Completed ({md(metric.steps[-1])})", format_value(last, "users"), border=True)
        cols[2].metric(
            "Conversion over the range",
            format_value(last / first if first else None, "percent"),
            help=f"{noun[:1].upper()}{noun[1:]} who did every step "
            f"{'in order' if metric.order == 'strict' else 'in any order'} "
            f"within the window ÷ {noun} whose first step 1 is in the range.",
            border=True,
        )
        with cols[2]:
            common.sample_line(ctx, funnel_id, last, first)
    if metric.order == "strict":
        order_check(ctx, funnel_id, start, end)
    fig = figures.funnel_bars(steps, title=ctx.project.label(funnel_id), start=start, end=end, by=by)
    common.plot(fig, ctx, funnel_id, "steps", by, start, end, key="funnel_steps")
    how = "in order" if metric.order == "strict" else "in any order (each at least once)"
    dropped = (
        f" without doing {', '.join(mdc(e) for e in metric.exclude)} before finishing"
        if metric.exclude
        else ""
    )
    st.caption(
        f"Each user counts once, from their first {mdc(metric.steps[0])} in the range; step k counts those "
        f"who then did steps 2..k {how}{dropped} within {plural(metric.within, 'day')} (and by "
        f"{format_date(end)}). Users who started near the end of the range have had less time to finish."
    )
    request = MetricRequest((funnel_id,), start, end, ctx.view.grain, by)
    result = cache.cached_compute(ctx.engine, ctx.project, ctx.data_fp, request)
    series = result.series(funnel_id)
    trend = figures.metric_timeseries(
        series,
        label=f"{ctx.project.label(funnel_id)}: conversion",
        unit="percent",
        start=result.start,
        end=result.end,
        grain=ctx.view.grain,
        by=by,
        quality_marks=common.quality_shading(ctx, funnel_id, ctx.view.grain, result.start, result.end),
        height=360,
        min_sample=ctx.project.settings.min_sample,
        annotations=ctx.project.annotations_for(funnel_id),
        maturing=ctx.engine.maturing_periods(funnel_id, result.start, result.end, ctx.view.grain),
        maturing_label=maturing_label(ctx.project, funnel_id),
    )
    common.plot(
        trend, ctx, funnel_id, "conversion", ctx.view.grain, by, result.start, result.end, key="funnel_trend"
    )
    common.unjudged_note(ctx, result.start, result.end)
    with st.expander("Step counts"):
        first_step = pl.col("users").first() if by is None else pl.col("users").first().over(by)
        table = steps.with_columns((pl.col("users") / first_step).alias("share_of_step_1"))
        st.dataframe(
            table.to_pandas(),
            hide_index=True,
            column_config={
                "share_of_step_1": st.column_config.NumberColumn("Share of step 1", format="percent")
            },
        )


def order_check(ctx: Ctx, funnel_id: str, start: dt.date, end: dt.date) -> None:
    """How many entrants did every step in the window but a later one first (`Engine.funnel_order`)."""
    order = cache.funnel_order(ctx.project.fingerprint, ctx.data_fp, funnel_id, start, end, ctx.engine)
    if order is None or not order.entrants:
        return
    text = f"Order check: {order.sentence()}."  # numbers and fixed words only
    if order.out_of_order:
        st.warning(
            text + " If the data's timestamps within a session are not reliable, or the order does not "
            "matter, consider `order: any` in metrics.yaml."
        )
    else:
        st.caption(text)


if __name__ == "__main__":
    render(common.context())
