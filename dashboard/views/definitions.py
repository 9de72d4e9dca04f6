"""Definitions: the metric catalog as the YAML defines it, in words, with where and how it runs."""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

import polars as pl
import streamlit as st

from dashboard.debug import error_text, for_viewers
from dashboard.format import format_value, plural, user_noun
from dashboard.views import common
from dashboard.views.common import Ctx, md, mdc
from dashboard.views.explorer import pick_metric
from metrics.definitions.models import (
    ActiveUsersMetric,
    AggregateMetric,
    CountDistinctMetric,
    CountMetric,
    FilterValue,
    FunnelMetric,
    PercentileMetric,
    RatioMetric,
    RetentionMetric,
    filter_values,
)
from metrics.definitions.project import Project
from metrics.engine.request import MetricRequest


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def filter_words(filters: dict[str, FilterValue]) -> str:
    parts = []
    for key, value in filters.items():
        values, negated = filter_values(value)
        listed = ", ".join(mdc(v) for v in values)
        if negated:
            none = f"is none of {listed}" if len(values) > 1 else f"is not {listed}"
            parts.append(f"{mdc(key)} {none} (or is empty)")
        elif len(values) > 1 or isinstance(value, list):
            parts.append(f"{mdc(key)} is one of {listed}")
        else:
            parts.append(f"{mdc(key)} = {listed}")
    return " and ".join(parts)


def formula_words(project: Project, metric_id: str) -> str:
    """What the metric computes, in a sentence a PM can check against their intent."""
    m = project.metrics[metric_id]
    if isinstance(m, RatioMetric):
        return (
            f"{md(project.label(m.numerator))} ÷ {md(project.label(m.denominator))} for the same period and group "
            "(a ratio of the two totals, empty when the denominator is 0)."
        )
    rows = f"{mdc(m.source)} rows"
    users = md(user_noun(project, metric_id))
    where = f" where {filter_words(m.filter)}" if m.filter else ""
    match m:
        case CountMetric():
            return f"Number of {rows}{where}, per period."
        case CountDistinctMetric():
            what = mdc(m.column) if m.column else users
            return f"Number of distinct {what} among {rows}{where}, per period."
        case AggregateMetric():
            word = {"sum": "Sum", "avg": "Average", "min": "Smallest value", "max": "Largest value"}[m.type]
            return f"{word} of {mdc(m.column)} over {rows}{where}, per period (empty values ignored)."
        case PercentileMetric():
            pct = m.percentile * 100
            label = f"{_ordinal(int(pct))}" if pct == int(pct) else f"{pct:g}th"
            return f"{label} percentile of {mdc(m.column)} over {rows}{where}, per period."
        case ActiveUsersMetric():
            span = "on the day" if m.window == 1 else f"in the {m.window} days ending on the day"
            return (
                f"Distinct {users} with at least one event{where} {span}; "
                "above day grain, the period's last day."
            )
        case RetentionMetric():
            returning = (
                "any event"
                if m.return_event == "any"
                else ", ".join(
                    mdc(e) for e in (m.return_event if isinstance(m.return_event, list) else [m.return_event])
                )
            )
            first, last = m.interval
            when = (
                f"on day {m.offset} after it"
                if m.period == "day"
                else f"in week {m.offset} after it (days {first}–{last})"
            )
            return (
                f"Of the {users} whose {common.cohort_words(m.cohort_event)} falls in the period, the share with "
                f"{returning} {when}{where}."
            )
        case FunnelMetric():
            if m.order == "any":
                steps, how = ", ".join(mdc(step) for step in m.steps[1:]), "each at least once, in any order"
            else:  # a step that repeats the one before needs a second, later event: "again"
                later = [
                    f"{mdc(step)} again" if step == before else mdc(step)
                    for before, step in zip(m.steps, m.steps[1:], strict=False)
                ]
                steps, how = " → ".join(later), "in that order" if len(later) > 1 else ""
            unless = (
                f", without doing {' or '.join(mdc(e) for e in m.exclude)} before finishing"
                if m.exclude
                else ""
            )
            return (
                f"Of the {users} who do {mdc(m.steps[0])} in the period, the share who then do "
                f"{' '.join(filter(None, [steps, how]))} within {plural(m.within, 'day')}{unless}{where}."
            )
    assert_never(m)


def where(ctx: Ctx, metric_id: str) -> str:
    """`config/metrics.yaml:LINE:COL`: the file relative to the folder holding the project."""
    loc = ctx.project.metric_location(metric_id)
    if loc is None:
        return ""
    path = Path(loc.file)
    try:
        shown = path.resolve().relative_to(ctx.project.root.resolve().parent)
    except ValueError:
        shown = Path(path.name)
    return f"{shown.as_posix()}:{loc.line}:{loc.column}"


def catalog(ctx: Ctx) -> pl.DataFrame:
    rows = []
    for metric_id, metric in ctx.project.metrics.items():
        sources = ", ".join(sorted(ctx.project.source_of(metric_id)))
        rows.append(
            {
                "Metric": ctx.project.label(metric_id),
                "Id": metric_id,
                "Type": metric.type.replace("_", " "),
                "Unit": ctx.unit(metric_id),
                "Good when": "higher" if metric.direction == "increase" else "lower",
                "Owner": metric.owner or "",
                "Source": sources,
                "Defined at": where(ctx, metric_id),
                "Description": metric.description,
            }
        )
    for metric_id, why in ctx.project.skipped.items():
        rows.append(
            {
                "Metric": metric_id,
                "Id": metric_id,
                "Type": "not available",
                "Unit": "",
                "Good when": "",
                "Owner": "",
                "Source": "",
                "Defined at": where(ctx, metric_id),
                "Description": f"Not available: {why}",
            }
        )
    return pl.DataFrame(rows)


def events_frame(project: Project) -> tuple[pl.DataFrame, list[str]]:
    """The events that occur in each source (as `northstar events` lists them) and the metrics that
    name each one; and a sentence per source that could not be read."""
    from connectors.base import connect
    from metrics.engine.catalog import catalog as event_catalog
    from metrics.engine.catalog import metrics_by_event
    from metrics.format import format_timestamp, timestamp_header

    uses = metrics_by_event(project)
    zone = project.settings.timezone  # the zone the project's days are cut in, as `northstar events`
    rows, failures = [], []
    for name, source in project.sources.items():
        if source.columns.event is None:
            continue
        try:
            found = event_catalog(connect(name, source, project.root))
        except Exception as exc:
            failures.append(f"The events of {name!r} cannot be listed: {error_text(exc)}")
            continue
        for event in found.events:
            rows.append(
                {
                    "Source": name,
                    "Event": str(event.event),
                    "Rows": event.rows,
                    "Users": event.users,
                    timestamp_header("First seen", zone): format_timestamp(event.first_seen, zone),
                    timestamp_header("Last seen", zone): format_timestamp(event.last_seen, zone),
                    "Used by": ", ".join(uses.get((name, event.event), [])),
                }
            )
    return pl.DataFrame(rows), failures


def render(ctx: Ctx) -> None:
    common.header(ctx, "Definitions", f"{len(ctx.project.metrics)} metrics")
    frame = catalog(ctx)
    if frame.height:
        st.dataframe(frame.to_pandas(), hide_index=True, width="stretch")
    with st.expander("Events in the data, and the metrics that use them"):
        events, failures = events_frame(ctx.project)
        for failure in failures:
            st.warning(md(failure))
        if events.height:
            st.dataframe(events.to_pandas(), hide_index=True, width="stretch")
    metric_id = pick_metric(ctx, key="w_metric_def")
    if metric_id is None:
        return
    metric = ctx.project.metrics[metric_id]
    loc = where(ctx, metric_id)
    st.subheader(md(ctx.project.label(metric_id)))
    if metric.description:
        st.markdown(md(metric.description))
    st.markdown(f"**Formula:** {formula_words(ctx.project, metric_id)}")
    facts = [
        f"**Id** {mdc(metric_id)}",
        f"**Type** {metric.type.replace('_', ' ')}",
        f"**Unit** {md(ctx.unit(metric_id))}",
        f"**Good when** {'higher' if metric.direction == 'increase' else 'lower'}",
        f"**Owner** {md(metric.owner or '—')}",
        f"**Source** {', '.join(sorted(ctx.project.source_of(metric_id)))}",
        f"**Defined at** {mdc(loc)}" if loc else "",
    ]
    st.markdown(" · ".join(f for f in facts if f))
    common.definition_warnings(ctx, metric_id)
    used = [
        f"{md(o.objective)} → {mdc(kr.id)} (target {md(format_value(kr.target, ctx.unit(metric_id)))})"
        for o in ctx.project.okrs
        for kr in o.key_results
        if kr.metric == metric_id
    ]
    if used:
        st.markdown("**Used by key results:** " + "; ".join(used))
    start, end = ctx.range()
    request = MetricRequest((metric_id,), start, end, ctx.view.grain)
    with st.expander(f"How the engine computes it ({start} .. {end}, {ctx.view.grain})", expanded=True):
        try:
            st.code(for_viewers(ctx.explain(request)), language=None)  # a plan names its files: no folders
        except Exception as exc:
            st.error(f"The engine cannot plan this metric: {md(error_text(exc))}")


if __name__ == "__main__":
    render(common.context())
