"""The review pack's two documents: `summary.md` (a table to paste) and `index.html` (every chart,
interactive, offline: Plotly's JavaScript is embedded once, nothing is fetched from the network).

Both are rendered from the pack's values (`model`) and the typed scorecard (`metrics.okrs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import plotly.io as pio

from dashboard import escape, figures
from dashboard.format import (
    format_date,
    format_probability,
    format_progress,
    format_range,
    format_target,
    format_value,
    format_with_sample,
    kr_title,
    metric_unit,
    sample_noun,
    status_words,
)
from dashboard.pack.model import Kind, PackItem, Stamp
from metrics.definitions.project import Project

if TYPE_CHECKING:
    from metrics.definitions.models import Annotation, KeyResult, Objective
    from metrics.okrs import KeyResultScore, ObjectiveScore, Scorecard

WARN = "⚠"


_cell = escape.markdown_cell  # user text in summary.md's table: on one line, no link, image, HTML or `|`
_line = escape.markdown_line  # user text on summary.md's other lines (`|` is markup only in a table)


@dataclass(frozen=True)
class _Row:
    """One objective or key result of the table: display texts plus the item that charts it."""

    kind: Kind
    title: str
    detail: str
    current: str
    baseline: str  # where progress starts (okrs.md: as written, or the reading before the period)
    target: str
    progress: str
    status: str
    status_key: str | None
    probability: str
    item: PackItem | None
    uncertain: bool = False  # a rate read out of fewer than min_sample (KeyResultScore.uncertain)


def _objective_row(objective: ObjectiveScore, definition: Objective, item: PackItem | None) -> _Row:
    period = format_range(objective.start, objective.end)
    return _Row(
        kind="objective",
        title=definition.objective,
        detail=", ".join(x for x in (definition.owner or "", period) if x),
        current="",
        baseline="",
        target="",
        progress=format_progress(objective.progress),
        status=status_words(objective.status),
        status_key=objective.status,
        probability="",
        item=item,
    )


def _kr_row(project: Project, kr: KeyResultScore, kr_def: KeyResult, item: PackItem | None) -> _Row:
    unit = metric_unit(project, kr_def.metric)
    return _Row(
        kind="key_result",
        title=kr_title(project, kr_def),
        detail="",
        current=format_with_sample(
            kr.current,
            unit,
            kr.numerator,
            kr.n,
            *sample_noun(project, kr_def.metric),
            min_sample=project.settings.min_sample,
        ),
        baseline=format_value(kr.baseline, unit),
        target=format_target(kr.target, unit, kr.direction),
        progress=format_progress(kr.progress),
        status=status_words(kr.status),
        status_key=kr.status,
        probability=format_probability(kr.probability),
        item=item,
        uncertain=kr.uncertain,
    )


def _rows(project: Project, card: Scorecard, items: Sequence[PackItem]) -> list[_Row]:
    """One row per objective and key result (those still defined), each objective before its KRs."""
    by_key = {(i.kind, i.objective, i.id): i for i in items}
    definitions = {o.id: o for o in project.okrs}
    rows: list[_Row] = []
    for objective in card.objectives:
        definition = definitions.get(objective.id)
        if definition is None:
            continue
        rows.append(
            _objective_row(objective, definition, by_key.get(("objective", objective.id, objective.id)))
        )
        kr_defs = {kr.id: kr for kr in definition.key_results}
        rows += [
            _kr_row(project, kr, kr_defs[kr.id], by_key.get(("key_result", objective.id, kr.id)))
            for kr in objective.key_results
            if kr.id in kr_defs
        ]
    return rows


@dataclass(frozen=True)
class Events:
    """The annotations (annotations.yaml) with a day in the pack's period, by id."""

    start: dt.date
    end: dt.date
    annotations: Mapping[str, Annotation] = field(default_factory=dict)


def _events(project: Project, events: Events | None) -> list[str]:
    """summary.md's list of the annotations in the pack's period (none: nothing)."""
    if events is None or not events.annotations:
        return []
    lines = ["", f"Annotations ({format_range(events.start, events.end)}):", ""]
    for annotation in events.annotations.values():
        days = format_date(annotation.first)
        if annotation.end is not None:
            days += f" – {format_date(annotation.last)}"
        names = (
            ", ".join(project.label(m) for m in annotation.metrics) if annotation.metrics else "all metrics"
        )
        lines.append(f"- {days}: {_line(annotation.label)} ({_line(names)})")
    return lines


def render_summary(
    project: Project,
    card: Scorecard,
    items: Sequence[PackItem],
    stamp: Stamp,
    *,
    events: Events | None = None,
    movers: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
) -> str:
    """summary.md: a heading, the stamp, one table of objectives and key results, what moved each key
    result (`movers`: `Plan.movers`) and the annotations of the pack's period (`events`)."""
    lines = [
        f"# {_line(project.settings.name)}: OKR review as of {format_date(stamp.as_of)}",
        "",
        f"As of {stamp.as_of.isoformat()} · {stamp.freshness()} · {stamp.quality.words()} · "
        f"config `{stamp.commit}` · [open the dashboard]({stamp.url})",
        "",
    ]
    heading, located = definition_errors(project)
    if located:
        lines += [f"{WARN} {heading}", ""] + [f"- {_line(e)}" for e in located] + [""]
    rows = _rows(project, card, items)
    if rows:
        lines += [
            "| Objective / key result | Current | Baseline | Target | Progress | Status | Probability | Chart |",
            "|:--|--:|--:|--:|--:|:--|--:|:--|",
        ]
        for row in rows:
            item = row.item
            flag = f" {_mark(item)}" if item is not None and _flagged(item) else ""
            name = (
                f"**{_cell(row.title)}**" + (f" ({_cell(row.detail)})" if row.detail else "")
                if row.kind == "objective"
                else f"↳ {_cell(row.title)}"
            )
            link = f"[dashboard]({item.stamp.url}) · [image]({item.file})" if item is not None else ""
            lines.append(
                f"| {name}{flag} | {row.current} | {row.baseline} | {row.target} | {row.progress} | {row.status} | "
                f"{row.probability} | {link} |"
            )
        lines += ["", LEGEND]
    else:
        errors = project.okr_errors  # objectives left out for their errors are not "none defined"
        lines.append(
            f"No objective can be scored: okrs.yaml has {errors} error{'' if errors == 1 else 's'} "
            "(`northstar validate` lists them)."
            if errors
            else "No objectives are defined (okrs.yaml)."
        )
    lines += _what_moved(project, card, movers or {})
    pinned = [i for i in items if i.kind == "metric"]
    if pinned:
        lines += ["", "Pinned metrics:", ""]
        for item in pinned:
            flag = f" {_mark(item)}" if _flagged(item) else ""
            lines.append(f"- {_line(item.title)}{flag}: [dashboard]({item.stamp.url}) · [image]({item.file})")
    shaky = _uncertain(project, card)
    if shaky:
        lines += ["", "Uncertain (small samples):", ""] + [f"- {_line(t)}: {_line(n)}" for t, n in shaky]
    problems = _problems(items)
    if problems:
        lines += ["", "Not scored:", ""] + [f"- {_line(title)}: {_line(note)}" for title, note in problems]
    warned = _warned(items)
    if warned:
        lines += ["", DEFINITION_WARNINGS, ""] + [f"- {_line(title)}: {_line(w)}" for title, w in warned]
    missing = left_out(project)
    if missing:
        lines += ["", "Pinned metrics left out:", ""] + [
            f"- {escape.markdown_code(m)}: {_line(why)}" for m, why in missing
        ]
    checks = _checks(items)
    if checks:
        lines += ["", f"{WARN} Data checks that did not pass, on the data behind the marked rows:", ""]
        lines += [f"- {_line(reason)}" for reason in checks]
    lines += _events(project, events)
    return "\n".join(lines) + "\n"


def _what_moved(
    project: Project, card: Scorecard, movers: Mapping[tuple[str, str], tuple[str, ...]]
) -> list[str]:
    """Each key result's top three movers (its reading against the span of the same length just
    before it), under its title."""
    definitions = {(o.id, kr.id): kr for o in project.okrs for kr in o.key_results}
    lines: list[str] = []
    for objective in card.objectives:
        for kr in objective.key_results:
            said = movers.get((objective.id, kr.id))
            kr_def = definitions.get((objective.id, kr.id))
            if not said or kr_def is None:
                continue
            lines.append(f"- {_line(kr_title(project, kr_def))}: {_line(said[0])}")
            lines += [f"  - {_line(line)}" for line in said[1:]]
    if not lines:
        return []
    intro = (
        "What moved (each key result's current reading against the span of the same length just before "
        "it; its top three segments by how far their part departs from their share; mix: the segment's "
        "share moved, rate: its rate moved; n: what the rate is out of):"
    )
    return ["", intro, "", *lines]


LEGEND = (
    "Progress is (current − baseline) / (target − baseline); probability is the forecast's chance of "
    "reaching the target by the end of the period (empty: too little history, status by pace). "
    'A rate\'s current value shows what it is out of; "uncertain" marks one out of fewer than '
    "min_sample (project.yaml)."
)


def _uncertain(project: Project, card: Scorecard) -> list[tuple[str, str]]:
    """(key result, why) for each KR whose rate is read out of fewer than min_sample."""
    definitions = {(o.id, kr.id): kr for o in project.okrs for kr in o.key_results}
    out: list[tuple[str, str]] = []
    for objective in card.objectives:
        for kr in objective.key_results:
            kr_def = definitions.get((objective.id, kr.id))
            if kr_def is None or not kr.uncertain or kr.n is None:
                continue
            forecast = "; its forecast and status are uncertain" if kr.forecast is not None else ""
            out.append(
                (
                    kr_title(project, kr_def),
                    f"{kr.sample()}{forecast}",
                )
            )
    return out


def _flagged(item: PackItem) -> bool:
    return item.stamp.quality.level in ("fail", "warn", "unknown")


MARKS = {"fail": "data check failed", "warn": "data warning", "unknown": "data checks not run"}


def _mark(item: PackItem) -> str:
    """An item's flag in words: a failure, a warning (never called a failure), or checks not run."""
    level = item.stamp.quality.level
    return f"{WARN} {MARKS[level]}" if level in MARKS else ""


def _problems(items: Sequence[PackItem]) -> list[tuple[str, str]]:
    return [(i.title, i.note) for i in items if i.note]


def _warned(items: Sequence[PackItem]) -> list[tuple[str, str]]:
    """Each key result's definition warnings (a misspelt event reads 0): its title and the warning."""
    return [(i.title, w) for i in items for w in i.warnings]


DEFINITION_ERRORS = (
    "The definitions have {n}; what they affect is not in this pack (`northstar validate` lists them):"
)
DEFINITION_WARNINGS = "May not count what was meant (a warning on the definition):"


def definition_errors(project: Project) -> tuple[str, list[str]]:
    """The heading and lines of the errors in the project's YAML, as the dashboard's red box lists
    them (`FILE:LINE:COL: message`, the file relative to the project): an objective, a key result or
    a metric with an error is left out of the pack, so the pack says so instead of dropping it
    silently (a key result on a misspelt metric id once vanished from its objective). Empty when
    there is none."""
    from dashboard.debug import problem_line

    errors = [p for p in project.problems if p.severity == "error"]
    if not errors:
        return "", []
    noun = f"{len(errors)} error{'' if len(errors) == 1 else 's'}"
    return DEFINITION_ERRORS.format(n=noun), [problem_line(p, project.root) for p in errors]


def left_out(project: Project) -> list[tuple[str, str]]:
    """Pinned metrics the pack cannot chart (an unknown id, or a definition with an error): the id and
    the located problem that says why (its file relative to the project: a pack is shared, the
    server's folders are not), so the rest of the pack is still written."""
    from dashboard.debug import problem_line
    from metrics.definitions.problems import Subject

    missing = [m for m in project.settings.review.pinned_metrics if m not in project.metrics]
    out = []
    for metric_id in missing:
        errors = [p for p in project.problems if p.severity == "error"]
        why = next((p for p in errors if p.subject == Subject.metric(metric_id)), None) or next(
            (p for p in errors if repr(metric_id) in p.message), None
        )
        out.append(
            (
                metric_id,
                problem_line(why, project.root) if why else "not a valid metric; run `northstar validate`",
            )
        )
    return out


def _checks(items: Sequence[PackItem]) -> list[str]:
    """Every failed check behind a flagged item, once; or why the checks did not run."""
    reasons: dict[str, None] = {}
    for item in items:
        quality = item.stamp.quality
        if quality.error is not None:
            reasons[f"the data checks did not run: {quality.error}"] = None
        for reason in quality.reasons:
            reasons[reason] = None
    return list(reasons)


CSS = """
  :root { --ink: %(ink)s; --muted: %(muted)s; --grid: %(grid)s; --primary: %(primary)s; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: %(font)s; color: var(--ink); background: #F9FAFB; }
  main { max-width: 1080px; margin: 0 auto; padding: 32px 24px 64px; }
  h1 { font-size: 28px; margin: 0 0 4px; }
  h2 { font-size: 21px; margin: 40px 0 4px; }
  .stamp, figcaption { color: var(--muted); font-size: 13px; line-height: 1.5; }
  a { color: var(--primary); }
  figure { margin: 16px 0 0; padding: 12px 16px; background: white; border: 1px solid var(--grid);
           border-radius: 8px; }
  figcaption { margin-top: 4px; word-break: break-all; }
  table { border-collapse: collapse; width: 100%%; margin-top: 16px; background: white; font-size: 14px; }
  th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--grid); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  td.uncertain { color: #4B5563;
                 background: repeating-linear-gradient(45deg, #F3F4F6 0 6px, #E5E7EB 6px 12px); }
  tr.objective td { font-weight: 600; background: #F3F4F6; }
  td.kr { padding-left: 26px; }
  .pill { display: inline-block; padding: 1px 8px; border-radius: 10px; color: white; font-size: 12px;
          font-weight: 600; white-space: nowrap; }
  .warn { color: #B45309; }
  .fail { color: #B91C1C; }
"""


def _pill(status_key: str | None, words: str) -> str:
    return f'<span class="pill" style="background:{figures.status_color(status_key)}">{escape.html_text(words)}</span>'


def _mark_html(item: PackItem) -> str:
    level = item.stamp.quality.level
    return f' <span class="{"fail" if level == "fail" else "warn"}">{escape.html_text(_mark(item))}</span>'


def _chart(item: PackItem, first: bool) -> str:
    div = pio.to_html(
        item.figure,
        full_html=False,
        include_plotlyjs=first,  # Plotly's JavaScript, embedded once, before the first chart
        include_mathjax=False,
        div_id=f"chart-{item.file.removesuffix('.png')}",
        config=figures.chart_config(item.file.removesuffix(".png")),
        default_width="100%",
        default_height=f"{int(item.figure.layout.height or 420)}px",
    )
    warn = _mark_html(item) if item.stamp.quality.level in ("fail", "warn") else ""
    url = escape.html_text(item.stamp.url, quote=True)
    return (
        f'<figure class="chart" data-kind="{item.kind}" data-id="{escape.html_text(item.id, quote=True)}">{div}'
        f"<figcaption>{escape.html_text(item.stamp.line())}{warn}<br>"
        f'<a href="{url}">{url}</a></figcaption></figure>'
    )


def render_html(project: Project, card: Scorecard, items: Sequence[PackItem], stamp: Stamp) -> str:
    """index.html: the stamp, the summary table, then every chart (objective, its key results, the
    pinned metrics), each with its own stamp and link."""
    name = escape.html_text(project.settings.name)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{name}: OKR review as of {escape.html_text(format_date(stamp.as_of))}</title>",
        "<style>"
        + CSS
        % {
            "ink": figures.INK,
            "muted": figures.MUTED,
            "grid": figures.GRID,
            "primary": figures.PRIMARY,
            "font": figures.FONT,
        }
        + "</style>",
        "</head><body><main>",
        f"<h1>{name}: OKR review</h1>",
        f'<div class="stamp">{escape.html_text(stamp.line())}<br>'
        f'<a href="{escape.html_text(stamp.url, quote=True)}">{escape.html_text(stamp.url)}</a></div>',
    ]
    heading, located = definition_errors(project)
    if located:
        parts.append(
            f'<p class="stamp"><span class="warn">{WARN}</span> <b>{escape.html_text(heading)}</b></p>'
            '<ul class="stamp">' + "".join(f"<li>{escape.html_text(e)}</li>" for e in located) + "</ul>"
        )
    rows = _rows(project, card, items)
    if rows:
        parts.append(
            "<table><thead><tr><th>Objective / key result</th><th>Current</th><th>Baseline</th><th>Target</th>"
            "<th>Progress</th><th>Status</th><th>Probability</th></tr></thead><tbody>"
        )
        for row in rows:
            objective = row.kind == "objective"
            title = escape.html_text(row.title) + (
                f' <span class="stamp">{escape.html_text(row.detail)}</span>' if row.detail else ""
            )
            if row.item is not None and _flagged(row.item):
                title += _mark_html(row.item)
            parts.append(
                f'<tr class="{row.kind}"><td class="{"" if objective else "kr"}">{title}</td>'
                f'<td class="num{" uncertain" if row.uncertain else ""}">{escape.html_text(row.current)}</td>'
                f'<td class="num">{escape.html_text(row.baseline)}</td>'
                f'<td class="num">{escape.html_text(row.target)}</td>'
                f'<td class="num">{escape.html_text(row.progress)}</td><td>{_pill(row.status_key, row.status)}</td>'
                f'<td class="num">{escape.html_text(row.probability)}</td></tr>'
            )
        parts.append("</tbody></table>")
    shaky = _uncertain(project, card)
    if shaky:
        parts.append('<p class="stamp"><b>Uncertain (small samples):</b></p><ul class="stamp">')
        parts += [f"<li>{escape.html_text(t)}: {escape.html_text(n)}</li>" for t, n in shaky]
        parts.append("</ul>")
    problems = _problems(items)
    if problems:
        parts.append('<p class="stamp"><b>Not scored:</b></p><ul class="stamp">')
        parts += [f"<li>{escape.html_text(t)}: {escape.html_text(n)}</li>" for t, n in problems]
        parts.append("</ul>")
    warned = _warned(items)
    if warned:
        parts.append(f'<p class="stamp"><b>{escape.html_text(DEFINITION_WARNINGS)}</b></p><ul class="stamp">')
        parts += [f"<li>{escape.html_text(t)}: {escape.html_text(w)}</li>" for t, w in warned]
        parts.append("</ul>")
    missing = left_out(project)
    if missing:
        parts.append('<p class="stamp"><b>Pinned metrics left out:</b></p><ul class="stamp">')
        parts += [f"<li><code>{escape.html_text(m)}</code>: {escape.html_text(w)}</li>" for m, w in missing]
        parts.append("</ul>")
    checks = _checks(items)
    if checks:
        parts.append(
            f'<p class="stamp"><span class="warn">{WARN}</span> <b>Data checks that did not pass:</b></p>'
        )
        parts.append(
            '<ul class="stamp">' + "".join(f"<li>{escape.html_text(c)}</li>" for c in checks) + "</ul>"
        )
    first = True
    current: str | None = None
    for item in items:
        if item.kind == "objective":
            parts.append(f"<h2>{escape.html_text(item.title)}</h2>")
            current = item.objective
        elif item.kind == "metric" and current != "__metrics__":
            parts.append("<h2>Pinned metrics</h2>")
            current = "__metrics__"
        parts.append(_chart(item, first))
        first = False
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
