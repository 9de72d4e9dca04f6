"""`northstar diff` as a pull-request comment (Markdown) and as JSON (CONTRACT.md, `northstar diff`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dashboard.escape import markdown_cell, markdown_code
from metrics.definitions.calendar import Calendar
from metrics.diff.changes import PRESENTATION
from metrics.diff.compare import (
    DiffReport,
    Gap,
    KeyResultDiff,
    KeyResultSide,
    MetricDiff,
    Span,
    Spans,
    Values,
)
from metrics.diff.revisions import Revision
from metrics.format import (
    format_delta,
    format_progress,
    format_range,
    format_value,
    plural,
    raw_number,
    status_words,
)

BARS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a week without a value
PHRASES = {"calendar settings"}  # reasons (`metric_changes`) that name no part or source
NO_DATA = "†"  # a number that reads days after its side's data ends (`compare.Gap`)


def sparklines(base: Sequence[float | None], head: Sequence[float | None]) -> tuple[str, str]:
    """Both weekly series as one-line sparklines on one shared scale, so the lines compare."""
    values = [v for v in (*base, *head) if v is not None and math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)

    def line(series: Sequence[float | None]) -> str:
        out = []
        for v in series:
            if v is None or not math.isfinite(v):
                out.append(GAP)
            elif high == low:
                out.append(BARS[len(BARS) // 2])
            else:
                out.append(BARS[min(len(BARS) - 1, int((v - low) / (high - low) * len(BARS)))])
        return "".join(out)

    return line(base), line(head)


# --- JSON -----------------------------------------------------------------------------------------


def _metric_json(item: MetricDiff) -> list[dict[str, Any]]:
    change = item.change

    def value(side: Values | None) -> float | int | None:
        return raw_number(side.window, item.unit) if side is not None else None

    def numbers(side: Values | None) -> dict[str, Any] | None:
        if side is None:
            return None
        return {
            "week": raw_number(side.week, item.unit),
            "quarter": raw_number(side.quarter, item.unit),
            "weekly": [raw_number(v, item.unit) for v in side.weekly],
        }

    common = {
        "label": item.label,
        "spans": _spans_json(item.spans),
        "base_spans": _spans_json(item.base_spans),
        "head_spans": _spans_json(item.head_spans),
        "outside_data": {"base": _gap_json(item.base_gap), "head": _gap_json(item.head_gap)},
        "problem": item.problem,
    }
    if change.change == "renamed":
        assert change.renamed_from is not None
        return [
            {"metric": change.renamed_from, "change": "removed", "renamed_to": change.metric,
             "base": value(item.base), "head": None, "base_numbers": numbers(item.base), **common},
            {"metric": change.metric, "change": "added", "renamed_from": change.renamed_from,
             "base": None, "head": value(item.head), "head_numbers": numbers(item.head), **common},
        ]  # fmt: skip
    kind = {"added": "added", "removed": "removed"}.get(change.change, "changed")
    return [
        {
            "metric": change.metric,
            "change": kind,
            "base": value(item.base),
            "head": value(item.head),
            "numbers_changed": change.change not in ("presentation",),
            "fields": list(change.fields),
            "reasons": list(change.reasons),
            "base_numbers": numbers(item.base),
            "head_numbers": numbers(item.head),
            **common,
        }
    ]


def _span_json(span: Span) -> dict[str, str]:
    return {"start": span.first.isoformat(), "end": span.last.isoformat()}


def _spans_json(spans: Spans | None) -> dict[str, dict[str, str]] | None:
    if spans is None:
        return None
    return {
        "window": _span_json(spans.window),
        "week": _span_json(spans.week),
        "quarter": _span_json(spans.quarter),
    }


def _gap_json(gap: Gap | None) -> dict[str, Any] | None:
    return None if gap is None else {"numbers": list(gap.picks), "sentence": gap.sentence}


def _calendar_json(calendar: Calendar | None) -> dict[str, Any] | None:
    if calendar is None:
        return None
    return {
        "timezone": calendar.timezone,
        "week_start": calendar.week_start,
        "fiscal_year_start": calendar.fiscal_year_start,
    }


def _kr_side_json(side: KeyResultSide | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "metric": side.metric,
        "current": raw_number(side.current),
        "progress": raw_number(side.progress),
        "status": side.status,
        "probability": raw_number(side.probability),
        "problem": side.problem,
        "outside_data": side.gap,
    }


def to_json(report: DiffReport) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(),
        "calendar": {
            "base": _calendar_json(report.base_calendar),
            "head": _calendar_json(report.head_calendar),
        },
        "base": {"rev": report.base.name, "commit": report.base.commit},
        "head": {"rev": report.head.name, "commit": report.head.commit},
        "metrics": [row for item in report.metrics for row in _metric_json(item)],
        "key_results": [
            {
                "id": kr.id,
                "objective": kr.objective,
                "base": _kr_side_json(kr.base),
                "head": _kr_side_json(kr.head),
                "status_changed": kr.status_changed,
            }
            for kr in report.key_results
        ],
        "checks_changed": list(report.checks),
        "pinned_changed": [{"metric": m, "change": what} for m, what in report.pinned],
        "problems": [str(p) for p in report.problems],
        "warnings": [str(w) for w in report.warnings],
        "status_changes": report.status_changes,
        "numbers_changed": report.numbers_changed,
    }


# --- Markdown -------------------------------------------------------------------------------------


def _pair(
    old: float | None,
    new: float | None,
    unit: str,
    *,
    base: bool = True,
    head: bool = True,
    base_gap: bool = False,
    head_gap: bool = False,
    spans: tuple[Span, Span] | None = None,
) -> str:
    """'132 → 134 (+1.5%)'; with the two sides' `spans` when they differ (two calendars), each number
    labelled by its own: '50 (Jun 24 – Jun 30) → 43 (Jun 23 – Jun 29) (−14.0%)'. A side whose
    number reads days after its data ends is marked (NO_DATA) and gets no change: its 0 is for lack
    of data, not a fall."""
    mark_old, mark_new = NO_DATA if base_gap else "", NO_DATA if head_gap else ""
    if spans is not None and spans[0] != spans[1]:
        mark_old += f" ({_short(spans[0])})"
        mark_new += f" ({_short(spans[1])})"
    if not base:
        return f"new: {format_value(new, unit)}{mark_new}"
    if not head:
        return f"was {format_value(old, unit)}{mark_old}"
    text = f"{format_value(old, unit)}{mark_old} → {format_value(new, unit)}{mark_new}"
    if base_gap or head_gap:
        return text
    delta = format_delta(new, old, unit)
    return f"{text} ({delta})" if delta and old != new else f"{text} (no change)" if old == new else text


def _what(item: MetricDiff) -> str:
    change = item.change
    if change.change == "renamed":
        return f"renamed from {markdown_code(change.renamed_from)}"
    if change.change in ("added", "removed"):
        return change.change
    if change.change == "invalid":
        return "**has errors** (see Problems)"
    if change.change == "presentation":
        return f"{_words(change.fields)} edited"
    return f"{_words(change.reasons) or 'definition'} changed"


def _words(items: Sequence[str]) -> str:
    """Field names as they are; a part or source named after its role ("numerator dau") in code."""
    return ", ".join(
        f"{head} {markdown_code(rest)}" if " " in item and item not in PHRASES else item
        for item in items
        for head, _, rest in [item.partition(" ")]
    )


def _metric_row(item: MetricDiff) -> str:
    old, new, unit = item.base, item.head, item.unit
    has_base = old is not None
    has_head = new is not None

    def cell(pick: str) -> str:
        if not has_base and not has_head:
            return markdown_cell(item.problem or "no value")
        a = getattr(old, pick) if old is not None else None
        b = getattr(new, pick) if new is not None else None
        both = item.base_spans is not None and item.head_spans is not None
        return _pair(
            a,
            b,
            unit,
            base=has_base,
            head=has_head,
            base_gap=item.base_gap is not None and pick in item.base_gap.picks,
            head_gap=item.head_gap is not None and pick in item.head_gap.picks,
            spans=(getattr(item.base_spans, pick), getattr(item.head_spans, pick)) if both else None,
        )

    lines = sparklines(old.weekly if old else (), new.weekly if new else ())
    spark = "<br>".join(
        f"{name} `{line}`"
        for name, line, present in (("base", lines[0], has_base), ("head", lines[1], has_head))
        if present
    )
    name = f"{markdown_cell(item.label)} {markdown_code(item.metric)}"
    return f"| {name} | {_what(item)} | {cell('window')} | {cell('week')} | {cell('quarter')} | {spark} |"


def _short(span: Span) -> str:
    """A span inside a cell: 'Jun 17 – Jun 23' (the heading or the as-of line names the year)."""
    return f"{span.first:%b} {span.first.day}" + (
        f" – {span.last:%b} {span.last.day}" if span.last != span.first else ""
    )


def _kr_cell(side: KeyResultSide | None, pick: str, unit: str) -> str:
    if side is None:
        return "—"
    if pick == "current":
        return format_value(side.current, unit) + (NO_DATA if side.gap else "")
    if pick == "progress":
        return format_progress(side.progress)
    return status_words(side.status)


def _kr_row(kr: KeyResultDiff) -> str:
    def cell(pick: str) -> str:
        old, new = _kr_cell(kr.base, pick, kr.unit), _kr_cell(kr.head, pick, kr.unit)
        text = old if old == new else f"{old} → {new}"
        return f"**{text}**" if pick == "status" and kr.status_changed else text

    metric = kr.head or kr.base
    name = f"{markdown_code(kr.objective)} / {markdown_code(kr.id)}"
    return f"| {name} | {markdown_code(metric.metric) if metric else ''} | {cell('current')} | {cell('progress')} | {cell('status')} |"


def _headline(report: DiffReport) -> str:
    counts: dict[str, int] = {}
    for item in report.metrics:
        counts[item.change.change] = counts.get(item.change.change, 0) + 1
    parts = []
    moved = sum(1 for m in report.metrics if m.change.change == "changed" and m.base != m.head)
    same = sum(1 for m in report.metrics if m.change.change == "changed" and m.base == m.head)
    if moved:
        parts.append(f"{plural(moved, 'metric')} change numbers")
    if same:
        parts.append(f"{plural(same, 'changed metric')} with the same numbers on this data")
    for kind, word in (
        ("added", "added"),
        ("removed", "removed"),
        ("renamed", "renamed"),
        ("invalid", "with errors"),
    ):
        if counts.get(kind):
            parts.append(f"{plural(counts[kind], 'metric')} {word}")
    if counts.get("presentation"):
        parts.append(f"{plural(counts['presentation'], 'metric')} edited with the same numbers")
    status = report.status_changes
    if report.key_results:
        parts.append(
            f"{plural(status, 'key result')} change status" if status else "no key result changes status"
        )
    if not parts:
        return "No metric, key result or check changes its definition."
    return "; ".join(parts) + "."


def _revision(revision: Revision) -> str:
    """A revision as named, with its short commit unless the name is that commit already."""
    if revision.commit is None:
        return "the working tree"
    name = markdown_code(revision.name)
    return name if revision.commit.startswith(revision.name) else f"{name} ({revision.commit[:7]})"


WEEKDAYS = {"monday": "Monday", "sunday": "Sunday"}


def _calendar_change(base: Calendar | None, head: Calendar | None) -> str:
    """What differs between the sides' calendar settings: 'time zone UTC → Asia/Tokyo, weeks from
    Monday → Sunday'; empty when they agree."""
    if base is None or head is None or base == head:
        return ""
    parts = []
    if base.timezone != head.timezone:
        parts.append(f"time zone {base.timezone} → {head.timezone}")
    if base.week_start != head.week_start:
        parts.append(
            f"weeks from {WEEKDAYS.get(base.week_start, base.week_start)} → {WEEKDAYS.get(head.week_start, head.week_start)}"
        )
    if base.fiscal_year_start != head.fiscal_year_start:
        parts.append(f"fiscal year from month {base.fiscal_year_start} → {head.fiscal_year_start}")
    return ", ".join(parts)


def _heading(title: str, pick: str, reference: MetricDiff) -> str:
    """A column's heading, naming the span it reads; both sides' spans when their calendars make
    them differ ('Last complete week (base Jun 24 – Jun 30, 2024; head Jun 23 – Jun 29, 2024)')."""
    head = getattr(reference.spans, pick)
    base = getattr(reference.base_spans, pick) if reference.base_spans is not None else head
    if reference.head_spans is None or base == head:
        return f"{title} ({format_range(head.first, head.last)})"
    return f"{title} (base {format_range(base.first, base.last)}; head {format_range(head.first, head.last)})"


def _spans_words(spans: Spans) -> str:
    return (
        f"28 days {format_range(spans.window.first, spans.window.last)}, "
        f"week {format_range(spans.week.first, spans.week.last)}, "
        f"quarter {format_range(spans.quarter.first, spans.quarter.last)}"
    )


def _gap_notes(report: DiffReport) -> list[str]:
    """One line per side and sentence (`outside_data`): which numbers read days after that side's
    data ends, marked NO_DATA in the tables."""
    groups: dict[tuple[str, str], list[str]] = {}
    for m in report.metrics:
        for side, gap in (("base", m.base_gap), ("head", m.head_gap)):
            if gap is not None and (side == "head" or m.change.change != "presentation"):
                groups.setdefault((side, gap.sentence), []).append(markdown_code(m.metric))
    for kr in report.key_results:
        for side, found in (("base", kr.base), ("head", kr.head)):
            if found is not None and found.gap:
                groups.setdefault((side, found.gap), []).append(f"key result {markdown_code(kr.id)}")
    return [
        f"- {NO_DATA} {side} ({', '.join(names)}): {sentence}."  # our own words: dates and numbers
        for (side, sentence), names in groups.items()
    ]


def to_markdown(report: DiffReport) -> str:
    head, base = _revision(report.head), _revision(report.base)
    out = [
        "## Northstar: what this change does to the numbers",
        "",
        f"Base {base} → head {head}, both computed on the same data as of {report.as_of.isoformat()}.",
    ]
    calendar = _calendar_change(report.base_calendar, report.head_calendar)
    if calendar:
        out += [
            "",
            f"The calendar settings change ({calendar}): each side reads its numbers on its own calendar, "
            'so the same as-of day and "the last complete week" can be different stretches of time; '
            "where the two sides' spans differ, each number is labelled with its own.",
        ]
    out += ["", f"**{_headline(report)}**"]
    numeric = [m for m in report.metrics if m.change.change != "presentation"]
    if numeric:
        # the headings name the spans of a metric read up to the as-of (not one of mature cohorts only)
        both = [m for m in numeric if m.base_spans is not None and m.head_spans is not None] or numeric
        first = max(both, key=lambda m: m.spans.window.last)
        weeks = len(first.base.weekly) if first.base else len(first.head.weekly) if first.head else 12
        out += [
            "",
            "### Metrics",
            "",
            f"| Metric | Change | {_heading('28 days', 'window', first)} "
            f"| {_heading('Last complete week', 'week', first)} "
            f"| {_heading('Last complete quarter', 'quarter', first)} | Weekly, {weeks} weeks |",
            "|---|---|---|---|---|---|",
            *(_metric_row(m) for m in numeric),
        ]

        def differs(m: MetricDiff) -> bool:
            if m.spans != first.spans:
                return True
            return (
                m.base_spans is not None and first.base_spans is not None and m.base_spans != first.base_spans
            )

        lagged = [m for m in numeric if differs(m)]
        if lagged:
            out += [
                "",
                "Spans that differ from the headings (retention and funnels read mature cohorts only):",
            ]
            for m in lagged:
                if m.base_spans is None or m.head_spans is None or m.base_spans == m.head_spans:
                    out.append(f"- {markdown_code(m.metric)}: {_spans_words(m.spans)}")
                else:
                    out.append(
                        f"- {markdown_code(m.metric)}: base {_spans_words(m.base_spans)}; "
                        f"head {_spans_words(m.head_spans)}"
                    )
    gaps = _gap_notes(report)
    if gaps:
        out += [
            "",
            f"Numbers marked {NO_DATA} read days after their side's data ends, as of "
            f"{report.as_of.isoformat()} on that side's calendar: they are low for lack of data, so no "
            "change is given for them.",
            "",
            *gaps,
        ]
    if report.key_results:
        out += [
            "",
            "### Key results",
            "",
            "| Objective / key result | Metric | Current | Progress | Status |",
            "|---|---|---|---|---|",
            *(_kr_row(kr) for kr in report.key_results),
        ]
    extra: list[str] = []
    presentation = [m for m in report.metrics if m.change.change == "presentation"]
    for m in presentation:
        only = "only " if set(m.change.fields) <= PRESENTATION else ""
        extra.append(
            f"- {markdown_code(m.metric)}: {_words(m.change.fields)} edited {only}— its numbers do not change."
        )
    for source in report.checks:
        extra.append(f"- The data checks on source {markdown_code(source)} changed.")
    pins = {"numbers": "its numbers change", "pinned": "newly pinned", "unpinned": "no longer pinned"}
    for metric, what in report.pinned:
        said = pins.get(what) or f"renamed from {markdown_code(what.removeprefix('renamed from '))}"
        extra.append(f"- Review pack: pinned metric {markdown_code(metric)}: {said}.")
    if extra:
        out += ["", "### Also changed", "", *extra]
    if report.problems or report.warnings:
        out += ["", "### Problems in the new version", ""]
        out += [f"- {markdown_code(str(p))}" for p in report.problems]
        out += [f"- warning: {markdown_code(str(w))}" for w in report.warnings]
    return "\n".join(out) + "\n"


__all__ = ["sparklines", "to_json", "to_markdown"]
