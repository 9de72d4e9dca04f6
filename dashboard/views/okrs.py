"""OKR overview: each objective with its progress, each key result as a tile a PM can present."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from dashboard import cache, escape, figures
from dashboard.debug import for_viewers
from dashboard.format import (
    format_date,
    format_probability,
    format_progress,
    format_range,
    format_target,
    format_value,
    kr_title,
    read_words,
    status_words,
)
from dashboard.views import common, what_moved
from dashboard.views.common import Ctx, md, mdh

if TYPE_CHECKING:
    from metrics.definitions.models import KeyResult, Objective
    from metrics.okrs import KeyResultScore, ObjectiveScore, Scorecard
    from metrics.quality.flags import Flag
    from metrics.quality.report import QualityReport


def index_scores(card: Scorecard | None) -> dict[tuple[str, str], KeyResultScore]:
    """(objective id, key result id) -> its score; none without a scorecard."""
    if card is None:
        return {}
    return {(objective.id, kr.id): kr for objective in card.objectives for kr in objective.key_results}


def kr_figure(ctx: Ctx, score: KeyResultScore, kr: KeyResult, *, compact: bool = False) -> go.Figure:
    """The key result's chart, with the days of its period (to the day read) whose data failed a
    check shaded; built once for every session that shows the same (`cache.shared_figure`)."""
    from metrics.quality.flags import period_shading

    marks = period_shading(ctx.quality(), score, ctx.calendar)
    project, as_of = ctx.project, ctx.view.as_of
    key = cache.content_key(
        "kr", cache.project_key(project), ctx.data_fp, score, repr(kr), marks, as_of, compact
    )
    return cache.shared_figure(
        key,
        lambda: figures.kr_figure(project, score, kr, quality_marks=marks, as_of=as_of, compact=compact),
    )


def objective_figure(ctx: Ctx, objective: ObjectiveScore) -> go.Figure:
    """The objective as one chart (`figures.objective_figure`), built once for every session."""
    project, as_of = ctx.project, ctx.view.as_of
    key = cache.content_key("objective", cache.project_key(project), ctx.data_fp, objective, as_of)
    return cache.shared_figure(key, lambda: figures.objective_figure(project, objective, as_of=as_of))


def kr_flag(score: KeyResultScore, report: QualityReport | None) -> Flag | None:
    """The key result's data-quality flag: the one rule (`metrics.quality.flags.number_flag`) on the
    days its current reading reads, as the review pack and the CLI compute it."""
    from metrics.quality.flags import number_flag

    return number_flag(report, score)


def progress_bar(progress: float | None, expected: float | None, status: str | None) -> str:
    """HTML: a progress bar in the status colour with a black tick where the pace expects it. Progress
    below zero (worse than the baseline) is a red hatched bar of its size, never an empty one."""
    if progress is not None and progress < 0:
        below = min(-float(progress), 1.0)
        return (
            f'<div class="ns-bar" title="below the baseline"><div class="ns-fill ns-below" '
            f'style="width:{below * 100:.1f}%"></div></div>'
        )
    fill = 0.0 if progress is None else max(0.0, min(float(progress), 1.0))
    mark = ""
    if expected is not None:
        at = max(0.0, min(float(expected), 1.0))
        mark = f'<div class="ns-mark" style="left:calc({at * 100:.1f}% - 1px)" title="expected by now"></div>'
    color = figures.status_color(status)
    return (
        f'<div class="ns-bar"><div class="ns-fill" style="width:{fill * 100:.1f}%;background:{color}"></div>'
        f"{mark}</div>"
    )


def status_pill(status: str | None) -> str:
    return (
        f'<span class="ns-status" style="background:{figures.status_color(status)}">'
        f"{escape.html_text(status_words(status))}</span>"
    )


def kr_tile(
    ctx: Ctx, objective: Objective, kr_def: KeyResult, score: KeyResultScore, report: QualityReport | None
) -> None:
    unit = ctx.unit(kr_def.metric)
    with st.container(border=True):
        st.markdown(
            f"**{mdh(kr_title(ctx.project, kr_def))}** &nbsp;{status_pill(score.status)}",
            unsafe_allow_html=True,
        )
        st.metric(
            f"Current · {read_words(kr_def.read)}",
            format_value(score.current, unit),
            help=f"{md(ctx.project.label(kr_def.metric))} ({kr_def.metric}), read {kr_def.read} as of "
            f"{format_date(ctx.view.as_of)}",
        )
        # one Markdown element for the lines under the number (each element is work for the browser)
        lines = [] if score.n is None else [common.sample_html(ctx, kr_def.metric, score.numerator, score.n)]
        baseline = "" if score.baseline is None else f" · baseline {format_value(score.baseline, unit)}"
        lines.append(
            f'<div class="ns-small">Target <b>{escape.html_text(format_target(score.target, unit, score.direction))}</b>{baseline}</div>'
            + progress_bar(score.progress, score.expected_progress, score.status)
            + f'<div class="ns-small">Progress <b>{format_progress(score.progress)}</b> · expected '
            f"{format_progress(score.expected_progress)} by now</div>"
        )
        forecast = score.forecast
        if score.probability is not None and forecast is not None:
            lines.append(
                f'<div class="ns-small"><b>{format_probability(score.probability)}</b> likely to reach the target · '
                f"forecast {escape.html_text(score.forecast_words())}</div>"
            )
            if score.uncertain:  # the caveat scoring adds to the KR's notes, as the pack and CLI show it
                lines.append(
                    f'<div class="ns-uncertain">The forecast starts from a reading of only {score.n:,.0f}: '
                    "treat it and the status as uncertain.</div>"
                )
        elif score.period_end and ctx.view.as_of and ctx.view.as_of > score.period_end:
            lines.append('<div class="ns-small">The period has ended.</div>')
        elif not score.problem:  # an unscored key result: its warning below says why, not "by pace"
            reason = (
                "; ".join(_no_forecast(note) for note in score.notes) or "too little history for a forecast"
            )
            lines.append(
                f'<div class="ns-small">No forecast ({escape.html_text(reason)}); status by pace.</div>'
            )
        st.markdown("".join(lines), unsafe_allow_html=True)
        if score.problem:
            st.warning(md(for_viewers(score.problem)), icon=":material/warning:")
        for warning in score.warnings:  # a misspelt event reads as a low number, not a fact
            # the scorecard's words (`KeyResultReader.definition_warnings`), as the CLI and the pack say them
            st.warning(md(for_viewers(warning)), icon="⚠️")
        fig = kr_figure(ctx, score, kr_def, compact=True)
        common.plot(fig, ctx, "kr", kr_def.id, ctx.view.as_of, key=f"spark_{objective.id}_{kr_def.id}")
        common.show_flag(kr_flag(score, report), compact=True)
        what_moved.kr_panel(ctx, score, f"{objective.id}_{kr_def.id}")


def _no_forecast(note: str) -> str:
    """A scoring note inside "No forecast (...); status by pace.": its reason, without the words that
    line already says ('No forecast (no forecast: ...; the status follows the pace)')."""
    return note.removeprefix("no forecast: ").removesuffix("; the status follows the pace")


def review_pack_button(ctx: Ctx) -> None:
    """The review pack (dashboard/pack/, as `northstar snapshot` writes it) as a zip, for the
    as-of date on screen. It is built only when clicked (Streamlit runs the callable then)."""
    if ctx.review:
        return
    from dashboard.pack.build import build_pack_zip, pack_file_name
    from dashboard.pack.images import shared_renderer

    as_of = ctx.view.as_of or ctx.today
    project, engine, base = ctx.project, ctx.engine, ctx.base_url
    st.download_button(
        "Download review pack",
        # one shared browser for the server: packs asked for at once render one after another
        data=lambda: build_pack_zip(project, engine, as_of=as_of, base_url=base, renderer=shared_renderer()),
        file_name=pack_file_name(as_of),
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
        help="PNG images of every objective, key result and pinned metric, an offline page and a "
        "summary table, stamped with the as-of date (takes a few seconds)",
    )


def status_tiles(statuses: Sequence[str | None]) -> list[tuple[str, int]]:
    """The three count tiles over the key results' statuses, each named by the statuses it counts as
    the cards word them: after a period has ended they are "Achieved" and "Missed", and a tile saying
    "Off track" over cards saying "Missed" would read as two answers."""
    tiles = []
    for group in (("on_track", "achieved"), ("at_risk",), ("off_track", "missed")):
        names = [status_words(s) for s in group if s in statuses] or [status_words(group[0])]
        words = " or ".join([names[0], *(n.lower() for n in names[1:])])
        label = f"Key results {words.lower()}" if group[0] == "on_track" else words
        tiles.append((label, sum(s in group for s in statuses)))
    return tiles


def render(ctx: Ctx) -> None:
    common.header(ctx, "OKRs")
    if not ctx.project.okrs:
        if ctx.project.okr_errors:  # left out for their errors, listed at the top: not "none yet"
            st.info("No objective can be scored: okrs.yaml has errors (listed above; `northstar validate`).")
        else:
            st.info("No objectives yet. Add them to okrs.yaml (see docs/okrs.md).")
        return
    card = ctx.scorecard()
    report = ctx.quality()
    definitions = {o.id: o for o in ctx.project.okrs}
    scores = list(card.objectives)
    statuses = [kr.status for o in scores for kr in o.key_results]
    cols = st.columns(4)
    cols[0].metric("Objectives", f"{len(scores)}", border=True)
    for col, (label, count) in zip(cols[1:], status_tiles(statuses), strict=True):
        col.metric(label, f"{count}", border=True)
    review_pack_button(ctx)
    for objective in scores:
        definition = definitions.get(objective.id)
        if definition is None:
            continue
        st.divider()
        start, end = objective.start, objective.end
        owner = f"Owner <b>{escape.html_text(definition.owner)}</b> · " if definition.owner else ""
        st.markdown(  # the heading and the line under it as one element
            f"### {mdh(definition.objective)} &nbsp;{status_pill(objective.status)}\n\n"
            f'<div class="ns-small">{owner}{escape.html_text(format_range(start, end))} · '
            f"objective progress <b>{format_progress(objective.progress)}</b></div>"
            + progress_bar(objective.progress, None, objective.status),
            unsafe_allow_html=True,
        )
        kr_defs = {kr.id: kr for kr in definition.key_results}
        krs = [k for k in objective.key_results if k.id in kr_defs]
        for row in range(0, len(krs), 3):
            columns = st.columns(3)
            for column, score in zip(columns, krs[row : row + 3], strict=False):
                with column:
                    kr_tile(ctx, definition, kr_defs[score.id], score, report)
        if not ctx.review:
            # drawn once opened (opening reruns the page): a chart in a closed expander is still
            # drawn, and every chart is work for the browser of each new session
            slides = st.expander(
                "This objective as one chart (for slides)", key=f"slides_{objective.id}", on_change="rerun"
            )
            with slides:
                if slides.open:
                    fig = objective_figure(ctx, objective)
                    common.plot(fig, ctx, "objective", objective.id, ctx.view.as_of)


if __name__ == "__main__":
    render(common.context())
