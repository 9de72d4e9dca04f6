"""`northstar diff` as a pull-request comment (Markdown) and as JSON (CONTRACT.md, `northstar diff`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dashboard.escape import markdown_cell, markdown_code
from metrics.diff.changes import PRESENTATION
from metrics.diff.compare import DiffReport, KeyResultDiff, KeyResultSide, MetricDiff, Span, Values
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

    spans = {
        "window": _span_json(item.window),
        "week": _span_json(item.week),
        "quarter": _span_json(item.quarter),
    }
    common = {"label": item.label, "spans": spans, "problem": item.problem}
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
    }


def to_json(report: DiffReport) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(),
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


def _pair(old: float | None, new: float | None, unit: str, *, base: bool = True, head: bool = True) -> str:
    if not base:
        return f"new: {format_value(new, unit)}"
    if not head:
        return f"was {format_value(old, unit)}"
    text = f"{format_value(old, unit)} → {format_value(new, unit)}"
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
        f"{head} {markdown_code(rest)}" if " " in item else item
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
        return _pair(a, b, unit, base=has_base, head=has_head)

    lines = sparklines(old.weekly if old else (), new.weekly if new else ())
    spark = "<br>".join(
        f"{name} `{line}`"
        for name, line, present in (("base", lines[0], has_base), ("head", lines[1], has_head))
        if present
    )
    name = f"{markdown_cell(item.label)} {markdown_code(item.metric)}"
    return f"| {name} | {_what(item)} | {cell('window')} | {cell('week')} | {cell('quarter')} | {spark} |"


def _kr_cell(side: KeyResultSide | None, pick: str, unit: str) -> str:
    if side is None:
        return "—"
    if pick == "current":
        return format_value(side.current, unit)
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


def to_markdown(report: DiffReport) -> str:
    head, base = _revision(report.head), _revision(report.base)
    out = [
        "## Northstar: what this change does to the numbers",
        "",
        f"Base {base} → head {head}, both computed on the same data as of {report.as_of.isoformat()}.",
        "",
        f"**{_headline(report)}**",
    ]
    numeric = [m for m in report.metrics if m.change.change != "presentation"]
    if numeric:
        first = numeric[0]
        out += [
            "",
            "### Metrics",
            "",
            f"| Metric | Change | 28 days ({format_range(first.window.first, first.window.last)}) "
            f"| Last complete week ({format_range(first.week.first, first.week.last)}) "
            f"| Last complete quarter ({format_range(first.quarter.first, first.quarter.last)}) | Weekly, {len(first.base.weekly) if first.base else 12} weeks |",
            "|---|---|---|---|---|---|",
            *(_metric_row(m) for m in numeric),
        ]
        lagged = [m for m in numeric if m.window != first.window]
        if lagged:
            out += ["", "Spans of metrics read on mature cohorts only (retention, funnels):"]
            out += [
                f"- {markdown_code(m.metric)}: 28 days {format_range(m.window.first, m.window.last)}, "
                f"week {format_range(m.week.first, m.week.last)}, quarter {format_range(m.quarter.first, m.quarter.last)}"
                for m in lagged
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
