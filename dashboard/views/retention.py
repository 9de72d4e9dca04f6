"""Retention: the cohort heatmap (cohort x offset) and retention curves, by breakdown."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import streamlit as st

from dashboard import cache, derived, figures
from dashboard.format import format_range, user_noun
from dashboard.views import common
from dashboard.views.common import Ctx
from metrics.definitions.models import RetentionMetric
from metrics.engine.request import MetricRequest

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine


def render(ctx: Ctx) -> None:
    common.header(ctx, "Retention")
    ids = list(ctx.options.retentions)
    missing = "No retention metric is defined. Add one with `type: retention` in metrics.yaml."
    retention_id = common.pick(ctx, ids, "retention", "w_retention", "Retention metric", missing)
    if retention_id is None:
        return
    metric = ctx.project.metrics[retention_id]
    assert isinstance(metric, RetentionMetric)
    start, end = ctx.range()
    by = common.breakdown(ctx, retention_id, f"showing all {user_noun(ctx.project, retention_id)}")
    grain = derived.cohort_grain(ctx.view.grain)
    start = ctx.calendar.bucket_start(start, grain)  # whole cohorts only: a cut-off first week misleads
    st.markdown(caption(metric, grain, user_noun(ctx.project, retention_id)))
    common.quality_badge(ctx, retention_id)
    extra = derived.retention_metrics(retention_id, metric)
    project, engine = cache.derived_engine(str(ctx.config_dir), ctx.project, ctx.engine, extra)
    request = MetricRequest(tuple(extra), start, end, grain)
    result = cache.cached_compute(engine, project, ctx.data_fp, request)
    grid = derived.retention_grid(result, retention_id, metric)
    if not (grid["denominator"].fill_null(0) > 0).any():  # no cohort has a member: nothing to chart
        st.info(
            f"No user's {common.cohort_words(metric.cohort_event)} falls in {format_range(start, end)}, "
            "so no cohort starts in this range and there is nothing to chart; pick a range in which "
            "users joined."
        )
        return
    label = ctx.project.label(retention_id)
    heat = figures.retention_heatmap(
        grid,
        title=f"{label}: cohorts by {grain}",
        start=result.start,
        end=result.end,
        period=metric.period,
        cohort_grain=grain,
        min_sample=ctx.project.settings.min_sample,
    )
    common.plot(heat, ctx, retention_id, "cohorts", grain, result.start, result.end, key="retention_heatmap")
    curves, title = curve_data(ctx, engine, project, retention_id, metric, grid, start, end, by)
    fig = figures.retention_curves(
        curves,
        title=title,
        start=start,
        end=end,
        period=metric.period,
        min_sample=ctx.project.settings.min_sample,
    )
    common.plot(fig, ctx, retention_id, "curves", by, result.start, result.end, key="retention_curves")
    st.caption(
        "Curves: everyone who joined in the range early enough to have reached the last offset shown, "
        "as one cohort (so bigger cohorts weigh more); thin lines are the latest cohorts of the grid."
    )


def curve_data(
    ctx: Ctx,
    engine: Engine,
    project: Project,
    retention_id: str,
    metric: RetentionMetric,
    grid: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    by: str | None,
) -> tuple[pl.DataFrame, str]:
    """One cohort spanning the range (cut so every offset has matured), overall or per group,
    plus the latest cohorts of the grid when there is no breakdown."""
    extra = derived.retention_metrics(retention_id, metric)
    last = max(extra.values(), key=lambda m: m.offset)  # its cohorts mature last
    span_end = end - dt.timedelta(days=last.maturity_lag)
    label = ctx.project.label(retention_id)
    # Nobody joins before the data starts: a range's whole first week reaches back before it, and
    # the one cohort must not be that empty stretch ("everyone who joined Dec 30 - Dec 31").
    if ctx.data_first is not None and ctx.data_first > start:
        start = min(ctx.data_first, end)
    if span_end < start:
        st.info(f"The range is too short for a cohort to reach {metric.period} {last.offset}; widen it.")
        return derived.latest_cohorts(grid), f"{label}: latest cohorts"
    request = MetricRequest(tuple(extra), start, end, by=by, span_end=span_end)
    span = derived.retention_grid(
        cache.cached_compute(engine, project, ctx.data_fp, request), retention_id, metric, by
    )
    cohort = f"joined {format_range(start, span_end)}"
    if by is not None:
        curves = span.select(
            pl.col(by).cast(pl.String).fill_null("(none)").alias("series"), *derived.CURVE_COLUMNS[1:]
        ).sort("series", "offset")
        return curves, f"{label} by {by} ({user_noun(ctx.project, retention_id)} who {cohort})"
    overall = span.select(pl.lit(f"All who {cohort}").alias("series"), *derived.CURVE_COLUMNS[1:])
    latest = derived.latest_cohorts(grid)
    return pl.concat(
        [overall, latest], how="vertical_relaxed"
    ), f"{label}: everyone who {cohort}, and the latest cohorts"


def caption(metric: RetentionMetric, grain: str, users: str = "users") -> str:
    """The page's first line: who a cohort is (`common.cohort_words`, as the definitions page says
    it) and what retained on day or week k means."""
    unit = "day" if metric.period == "day" else "week"
    return (
        f"Cohort: {users} whose {common.cohort_words(metric.cohort_event)} falls in the {grain}; "
        f"retained on {unit} *k*: returned on that {unit} after joining. "
        "Empty cells are cohorts too young to have reached that offset."
    )


if __name__ == "__main__":
    render(common.context())
