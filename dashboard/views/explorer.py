"""Metric explorer: any metric over time, its comparison, breakdown, KR target, and the numbers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal, TypedDict

import polars as pl
import streamlit as st

from dashboard import cache, figures
from dashboard.cli_tables import rows_csv
from dashboard.debug import error_text
from dashboard.format import (
    format_date,
    format_delta,
    format_progress,
    format_value,
    kr_title,
    maturing_label,
    partial_period_words,
    period_value_words,
    sample_noun,
    status_words,
    table_format,
)
from dashboard.views import common, impact_panel, what_moved
from dashboard.views.common import Ctx, md
from dashboard.views.okrs import index_scores, kr_figure, kr_flag
from metrics.definitions.models import RATE_TYPES, SUMMED_TYPES
from metrics.engine.engine import begins_before_data
from metrics.engine.request import MetricRequest, MetricResult
from metrics.engine.request import outside_data as engine_outside_data

if TYPE_CHECKING:
    from metrics.definitions.models import KeyResult, Objective
    from metrics.okrs import Scorecard

DeltaColor = Literal["normal", "inverse"]
GRAIN_NOUN = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}


def pick_metric(ctx: Ctx, key: str = "w_metric") -> str | None:
    """The metric selector (hidden in review mode); keeps ctx.view.metric in step with it."""
    missing = "No valid metric to show yet: fix the problems listed above."
    return common.pick(ctx, list(ctx.project.metrics), "metric", key, "Metric", missing)


def _period_label(ctx: Ctx, period: dt.date, start: dt.date, end: dt.date) -> str:
    grain = ctx.view.grain
    if grain == "day":
        return format_date(period)
    partial = partial_period_words(ctx.calendar, start, end, grain).get(period)  # a short week: no fall
    return f"{grain.capitalize()} of {format_date(period)}{f' ({partial})' if partial else ''}"


def tiles(
    ctx: Ctx,
    metric_id: str,
    main: pl.DataFrame,
    past: pl.DataFrame | None,
    start: dt.date,
    end: dt.date,
    compared_days: tuple[dt.date, dt.date] | None,
) -> None:
    """Latest period, the one before, and the whole range, each with its change when comparing
    (`compared_days`: the days the engine compared the range with)."""
    unit = ctx.unit(metric_id)
    delta_color: DeltaColor = "inverse" if ctx.direction(metric_id) == "decrease" else "normal"
    values = main.sort("period")
    if not values.height:
        return
    periods = values["period"].to_list()
    vals = [None if v is None or v != v else float(v) for v in values["value"].to_list()]
    rate = ctx.project.metrics[metric_id].type in RATE_TYPES
    numerators, denominators = values["numerator"].to_list(), values["denominator"].to_list()
    past_vals: list[float | None] = [None] * len(vals)
    compared: tuple[dt.date, dt.date] | None = None
    if past is not None and past.height and ctx.view.compare:
        lookup = dict(zip(past["period"].to_list(), past["value"].to_list(), strict=True))
        past_vals = [lookup.get(p) for p in periods]
        compared = compared_days
    compare_word = "vs previous period" if ctx.view.compare == "previous_period" else "vs last year"
    columns = st.columns(3)
    for column, word, index in ((columns[0], "Latest", -1), (columns[1], "Before", -2)):
        if len(vals) < -index:
            continue
        with column:
            change = format_delta(vals[index], past_vals[index], unit) if past is not None else None
            st.metric(
                f"{word} · {_period_label(ctx, periods[index], start, end)}",
                format_value(vals[index], unit),
                border=True,
                **delta(change, delta_color, compare_word),
            )
            if rate:
                common.sample_line(ctx, metric_id, numerators[index], denominators[index])
            if ctx.project.reads_last_day(metric_id) and ctx.view.grain != "day":
                day = min(ctx.calendar.bucket_end(periods[index], ctx.view.grain), end)
                words = period_value_words(ctx.project.label(metric_id), ctx.view.grain, True)
                st.caption(f"{md(words)}: {format_date(day)}, not an average over the {ctx.view.grain}")
    with columns[2]:
        range_tile(ctx, metric_id, start, end, vals, past_vals, compared, delta_color)


def range_kind(ctx: Ctx, metric_id: str) -> str:
    """How the whole range is summed up: `total` (counts and sums add up), `mean` (active users are
    a value per day, so the range has no value of its own), or `span` (the metric over one period
    spanning the range: distinct counts, percentiles, rates...)."""
    if ctx.project.metrics[metric_id].type in SUMMED_TYPES:
        return "total"
    return ctx.range_kind_leaf(metric_id)


def range_tile(
    ctx: Ctx,
    metric_id: str,
    start: dt.date,
    end: dt.date,
    vals: list[float | None],
    past_vals: list[float | None],
    compared: tuple[dt.date, dt.date] | None,
    delta_color: DeltaColor,
) -> None:
    unit = ctx.unit(metric_id)
    kind = range_kind(ctx, metric_id)
    compare_word = "vs previous period" if ctx.view.compare == "previous_period" else "vs last year"
    present = [v for v in vals if v is not None]
    complete_past = compared is not None and all(v is not None for v in past_vals)
    helptext = None
    value: float | None
    before: float | None
    if kind == "total":
        label, value = "Total over the range", float(sum(present))
        before = sum(v or 0.0 for v in past_vals) if complete_past else None
    elif kind == "mean":
        if not present:
            return
        grain = ctx.view.grain
        label = "Average per day" if grain == "day" else f"Average of the {GRAIN_NOUN[grain]}s' last days"
        value = sum(present) / len(present)
        past_present = [v for v in past_vals if v is not None]
        before = sum(past_present) / len(past_present) if complete_past and past_present else None
        helptext = "The plain mean of the period values shown (active users have no value for a whole range)."
    else:
        label, value = "Over the whole range", span_value(ctx, metric_id, start, end)
        before = span_value(ctx, metric_id, *compared) if compared is not None and complete_past else None
        helptext = f"{md(ctx.project.label(metric_id))} computed over {format_date(start)} – {format_date(end)} as one period."
    change = format_delta(value, before, unit) if compared is not None else None
    st.metric(
        label,
        format_value(value, unit),
        help=helptext,
        border=True,
        **delta(change, delta_color, compare_word),
    )
    if kind == "span" and ctx.project.metrics[metric_id].type in RATE_TYPES:  # what the range is out of
        whole = ctx.compute(MetricRequest((metric_id,), start, end, span_end=end)).series(metric_id)
        if whole.height:
            common.sample_line(ctx, metric_id, whole["numerator"][0], whole["denominator"][0])


class MetricDelta(TypedDict, total=False):
    """The delta arguments of `st.metric`."""

    delta: str
    delta_color: Literal["normal", "inverse", "off"]
    delta_arrow: Literal["auto", "off"]
    delta_description: str


def delta(change: str | None, color: DeltaColor, description: str) -> MetricDelta:
    """st.metric's delta arguments for a change in words: none without a change; grey and without
    an arrow when it is nil ("±0.0%")."""
    if change is None:
        return {}
    flat = change.startswith("±")
    return {
        "delta": change,
        "delta_color": "off" if flat else color,
        "delta_arrow": "off" if flat else "auto",
        "delta_description": description,
    }


def span_value(ctx: Ctx, metric_id: str, start: dt.date, end: dt.date) -> float | None:
    result = ctx.compute(MetricRequest((metric_id,), start, end, span_end=end))
    values = result.series(metric_id)["value"].to_list()
    return None if not values or values[0] is None else float(values[0])


def mask_before_data(ctx: Ctx, metric_id: str, past: pl.DataFrame) -> pl.DataFrame | None:
    """Say which compared periods the engine left blank because they begin before the metric's data
    (`metrics.engine.engine.begins_before_data`). None when nothing comparable is left (with a note)."""
    try:
        first, _ = cache.data_range(ctx.project.fingerprint, ctx.data_fp, (metric_id,), ctx.engine)
    except Exception:
        return past
    if first is None:
        return past
    if not any(begins_before_data(p, first) for p in past["compared_period"]):
        return past
    if past["value"].null_count() == past.height:
        st.caption(f"No comparison: the data starts on {format_date(first)}, after the compared period.")
        return None
    st.caption(f"Compared periods before {format_date(first)} (where the data starts) are left blank.")
    return past


def outside_data(ctx: Ctx, metric_id: str, start: dt.date, end: dt.date) -> str | None:
    """The engine's sentence when the range reaches past the metric's data
    (`metrics.engine.request.outside_data`), from the cached data range."""
    try:
        first, last = cache.data_range(ctx.project.fingerprint, ctx.data_fp, (metric_id,), ctx.engine)
    except Exception:
        return None
    if first is None or last is None:
        return None
    return engine_outside_data(start, end, first, last)


def key_results_of(ctx: Ctx, metric_id: str) -> list[tuple[Objective, KeyResult]]:
    """(objective, key result) definitions that read this metric."""
    return [(o, kr) for o in ctx.project.okrs for kr in o.key_results if kr.metric == metric_id]


def render(ctx: Ctx) -> None:
    common.header(ctx, "Metric explorer")
    metric_id = pick_metric(ctx)
    if metric_id is None:
        return
    metric = ctx.project.metrics[metric_id]
    unit = ctx.unit(metric_id)
    start, end = ctx.range()
    view = ctx.view
    by = common.breakdown(ctx, metric_id, "showing the total")
    facts = [md(metric.description)] if metric.description else []
    if metric.owner:
        facts.append(f"owner **{md(metric.owner)}**")
    if facts:
        st.markdown(" · ".join(facts))
    common.quality_badge(ctx, metric_id, (start, end))
    common.definition_warnings(ctx, metric_id)

    request = MetricRequest((metric_id,), start, end, view.grain, by, view.compare)
    result = ctx.compute(request)
    if gap := outside_data(ctx, metric_id, result.start, result.end):
        st.warning(f"{gap[:1].upper()}{gap[1:]}.")
    main = result.series(metric_id)
    past = result.comparison.filter(pl.col("metric") == metric_id) if result.comparison is not None else None
    if past is not None:
        past = mask_before_data(ctx, metric_id, past)

    if by is None:
        tiles(ctx, metric_id, main, past, result.start, result.end, result.compared)

    marks = common.quality_shading(ctx, metric_id, view.grain, result.start, result.end)
    links = key_results_of(ctx, metric_id)
    card = scorecard(ctx) if links else None
    scored = index_scores(card)
    # A KR target drawn only where the KR reads what the chart plots (figures.reads_as_chart).
    target, band = (
        figures.kr_overlay(ctx.project, card, metric_id, view.grain) if by is None else (None, None)
    )
    comparison_label = "Previous period" if view.compare == "previous_period" else "Same period last year"
    fig = figures.metric_timeseries(
        main,
        label=period_value_words(
            ctx.project.label(metric_id), view.grain, ctx.project.reads_last_day(metric_id)
        ),
        unit=unit,
        start=result.start,
        end=result.end,
        grain=view.grain,
        by=by,
        comparison=past,
        comparison_label=comparison_label,
        target=target,
        forecast=band,
        quality_marks=marks,
        min_sample=ctx.project.settings.min_sample,
        noun=sample_noun(ctx.project, metric_id),
        annotations=ctx.project.annotations_for(metric_id),
        maturing=ctx.engine.maturing_periods(metric_id, result.start, result.end, view.grain),
        maturing_label=maturing_label(ctx.project, metric_id),
    )
    common.plot(fig, ctx, metric_id, view.grain, by, result.start, result.end, key="explorer_chart")
    for mark in marks:
        what = "days" if view.grain == "day" else f"{view.grain}s holding days"
        st.caption(
            f":{'red' if mark.severity == 'error' else 'orange'}[■] Shaded: {what} where "
            f"{'a check failed' if mark.severity == 'error' else 'a check warned'} "
            f"({', '.join(format_date(d) for d in mark.periods[:4])}{' …' if len(mark.periods) > 4 else ''}): "
            f"{md(', '.join(mark.checks))}."
        )
    common.unjudged_note(ctx, result.start, result.end)

    what_moved.explorer_panel(ctx, metric_id, result.start, result.end)
    if by is None:
        impact_panel.render(ctx, metric_id, result.start, result.end)

    for objective, kr in links:
        score = scored.get((objective.id, kr.id))
        if score is None:
            continue
        st.subheader(f"Key result: {md(kr_title(ctx.project, kr))}")
        st.caption(
            f"Objective: {md(objective.objective)} · {status_words(score.status)} · progress "
            f"{format_progress(score.progress)} (expected {format_progress(score.expected_progress)} by now)"
        )
        common.show_flag(kr_flag(score, ctx.quality()))
        common.plot(kr_figure(ctx, score, kr), ctx, "kr", kr.id, ctx.view.as_of, key=f"kr_{kr.id}")

    table(ctx, metric_id, main, past, by, result.start, result.end, result)


def scorecard(ctx: Ctx) -> Scorecard | None:
    try:
        return ctx.scorecard()
    except Exception as exc:  # the explorer still shows the metric
        st.caption(f"The OKR scorecard could not be computed: {md(error_text(exc))}")
        return None


def table(
    ctx: Ctx,
    metric_id: str,
    main: pl.DataFrame,
    past: pl.DataFrame | None,
    by: str | None,
    start: dt.date,
    end: dt.date,
    result: MetricResult,
) -> None:
    keys = ["period"] if by is None else ["period", by]
    rate = ctx.project.metrics[metric_id].type in RATE_TYPES
    counts = ["numerator", "denominator"] if rate else []  # what a rate is out of
    frame = main.select(*keys, "value", *counts)
    if past is not None:
        frame = frame.join(
            past.select(*keys, "compared_period", pl.col("value").alias("compared_value")),
            on=keys,
            how="left",
            nulls_equal=True,
        )
    unit = ctx.unit(metric_id)
    if ctx.review:
        return
    with st.expander("The numbers", expanded=False):
        fmt = table_format(unit)
        st.dataframe(
            frame.to_pandas(),
            hide_index=True,
            width="stretch",
            column_config={
                "period": st.column_config.DateColumn("Period", format="YYYY-MM-DD"),
                "value": st.column_config.NumberColumn(ctx.project.label(metric_id), format=fmt),
                "compared_period": st.column_config.DateColumn("Compared period", format="YYYY-MM-DD"),
                "compared_value": st.column_config.NumberColumn("Compared value", format=fmt),
                "numerator": st.column_config.NumberColumn("Numerator", format="localized"),
                "denominator": st.column_config.NumberColumn(
                    "Out of (n)",
                    format="localized",
                    help=f"below {ctx.project.settings.min_sample}: uncertain",
                ),
            },
        )
    name = figures.file_name(metric_id, ctx.view.grain, by, start, end)
    st.download_button(
        "Download CSV",
        # the very file `northstar compute --format csv` writes for this request (one home: export_rows)
        rows_csv(result.export_rows({metric_id: unit})),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


if __name__ == "__main__":
    render(common.context())
