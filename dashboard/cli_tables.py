"""How the command line prints rows of `compute` and `events`: aligned text columns, or CSV."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metrics.definitions.models import Grain
    from metrics.definitions.project import Project
    from metrics.engine import Engine
    from metrics.engine.request import MetricResult


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Raw numbers, a whole count as an integer (a frame would widen a column of counts and rates to floats)."""
    import csv
    import io

    out = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(key for row in rows for key in row))  # a rate adds its counts
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def rows_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of formatted cells as aligned columns, the last one (the value) right-aligned."""
    if not rows:
        return "(no rows)"
    headers = list(dict.fromkeys(key for row in rows for key in row))  # a rate adds its counts
    from metrics.format import EMPTY

    body = [[EMPTY if row.get(h) is None else str(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append(
            "  ".join(
                c.rjust(w)
                if headers[i] in {"value", "compared_value", "numerator", "denominator"}
                else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def formatted_rows(
    project: Project, rows: Sequence[dict[str, Any]], units: Mapping[str, str]
) -> list[dict[str, Any]]:
    """`compute`'s rows as the table prints them: values in their metric's unit, a rate's numerator and
    denominator in theirs (`metrics.format.sample_units`: '$1.07M' over '23,570' buyers)."""
    from metrics.format import format_value, sample_units

    shown = []
    for row in rows:
        unit = units[row["metric"]]
        numerator_unit, denominator_unit = sample_units(project, row["metric"])
        cells = {"value": unit, "compared_value": unit, "numerator": numerator_unit}
        cells["denominator"] = denominator_unit
        shown.append({k: format_value(v, cells[k]) if k in cells else v for k, v in row.items()})
    return shown


def compute_notes(
    project: Project,
    engine: Engine,
    result: MetricResult,
    metrics: Sequence[str],
    grain: Grain,
    *,
    table: bool,
) -> list[str]:
    """What `compute` says on stderr beside its numbers, as the explorer says it on the chart: the
    periods still maturing (`Engine.maturing_periods`, in every format), the periods the range holds
    only in part (`Calendar.partial_periods`, in every format) and, in the table, the metrics
    whose value for a week, month or quarter is its last day's (`format.period_value_words`)."""
    from metrics.format import maturing_label, partial_period_words, period_value_words

    notes = []
    for metric_id in metrics:  # a low last value is not a fall
        if maturing := engine.maturing_periods(metric_id, result.start, result.end, grain):
            which = (
                f"{maturing[0]} is"
                if len(maturing) == 1
                else f"the {len(maturing)} {grain}s from {maturing[0]} on are"
            )
            under = maturing_label(project, metric_id).removeprefix("Still maturing: ")
            notes.append(f"note: {metric_id}: {which} still maturing ({under}): not final yet")
    if grain != "day" and (partial := partial_period_words(engine.calendar, result.start, result.end, grain)):
        # a count over a week of six days is no fall
        held = " and ".join(f"the {grain} of {period} ({words})" for period, words in partial.items())
        notes.append(f"note: the range holds only part of {held}: fewer days than a whole {grain}")
    for metric_id in metrics if table and grain != "day" else ():
        if project.reads_last_day(metric_id):
            words = period_value_words(project.label(metric_id), grain, True)
            notes.append(f"note: {metric_id}: each {grain}'s value is {words}, not a total")
    return notes


def counted(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events`' rows with their counts as every table writes them (69,659); JSON keeps raw integers."""
    from metrics.format import format_value

    return [
        {k: format_value(v, "count") if k in ("rows", "users") else v for k, v in r.items()} for r in rows
    ]
