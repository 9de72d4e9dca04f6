"""How the dashboard shows numbers: Plotly axis formats, table column formats, titles and slugs.

The numbers themselves (units, percentages, deltas, dates, counted words) have one home,
`metrics.format`, which the CLI's tables call too; this module re-exports it for the dashboard's
pages, figures and review pack, and adds only what is Plotly's or Streamlit's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics.format import (
    EMPTY,
    READ_WORDS,
    STATUS_WORDS,
    compact,
    currency_symbol,
    data_through_words,
    format_age,
    format_date,
    format_delta,
    format_forecast,
    format_interval,
    format_probability,
    format_progress,
    format_range,
    format_sample,
    format_target,
    format_value,
    format_with_sample,
    maturing_label,
    metric_unit,
    partial_period_words,
    period_value_words,
    plural,
    raw_number,
    read_words,
    sample_noun,
    sample_words,
    stale_data_words,
    status_words,
    uncertain_words,
    unit_kind,
    user_noun,
)

if TYPE_CHECKING:
    from metrics.definitions.models import KeyResult
    from metrics.definitions.project import Project

__all__ = [
    "EMPTY",
    "READ_WORDS",
    "STATUS_WORDS",
    "UnitFormat",
    "axis_format",
    "compact",
    "data_through_words",
    "format_age",
    "format_date",
    "format_delta",
    "format_forecast",
    "format_interval",
    "format_probability",
    "format_progress",
    "format_range",
    "format_sample",
    "format_target",
    "format_value",
    "format_with_sample",
    "kr_title",
    "maturing_label",
    "metric_unit",
    "partial_period_words",
    "period_value_words",
    "plural",
    "raw_number",
    "read_words",
    "sample_noun",
    "sample_words",
    "slug",
    "stale_data_words",
    "status_words",
    "table_format",
    "uncertain_words",
    "unit_kind",
    "user_noun",
]

# Axis ticks switch format with the tick step (`dtick`): Plotly picks steps of 1, 2 or 5 x 10^n, so
# a step of at most 0.5 means fractional ticks, and a step of 10,000 or more means an axis whose
# numbers run into the tens of thousands (the only place "k" and "M" read better than digits).
FRACTION_STEPS = (None, 0.5)
LARGE_STEPS = (10_000, None)


@dataclass(frozen=True)
class UnitFormat:
    """How a unit shows on a Plotly axis and hover (d3-format strings), and in words.

    `tickformat` is the axis's format for whole-number steps; `stops` are Plotly
    `tickformatstops` (a d3 format per range of tick steps) for fractional and large steps."""

    kind: str  # percent | currency | ms | seconds | count | other
    tickformat: str
    hoverformat: str
    prefix: str = ""
    suffix: str = ""
    word: str = ""
    stops: tuple[tuple[tuple[float | None, float | None], str], ...] = ()

    def tickformatstops(self) -> list[dict[str, object]]:
        return [{"dtickrange": list(steps), "value": value} for steps, value in self.stops]


_FRACTION = (FRACTION_STEPS, ",.2~f")
_LARGE = (LARGE_STEPS, "~s")


def axis_format(unit: str | None) -> UnitFormat:
    """Ticks a PM reads at a glance: '12%', '$1,500', '$25k', '1,500 ms', '2,400', '0.25', '15k';
    never d3's SI prefixes on small numbers ('500m', '$500m') nor '1.5k ms'."""
    kind = unit_kind(unit)
    if kind == "percent":
        return UnitFormat(kind, ".0%", ".1%", stops=(((None, 0.0005), ".2~%"), ((0.001, 0.005), ".1~%")))
    if kind == "currency":
        symbol = currency_symbol(unit)
        return UnitFormat(kind, ",.0f", ",.2f", prefix=symbol, stops=(_FRACTION, _LARGE))
    if kind == "ms":
        return UnitFormat(kind, ",.0f", ",.0f", suffix=" ms", stops=(_FRACTION,))
    if kind == "seconds":
        return UnitFormat(kind, ",.0f", ",.2f", suffix=" s", stops=(_FRACTION,))
    if kind == "count":
        word = (unit or "").strip().lower()
        return UnitFormat(
            kind,
            ",.0f",
            ",.2~f",
            word="" if word in {"count", "number", ""} else word,
            stops=(_FRACTION, _LARGE),
        )
    return UnitFormat(kind, ",.0f", ",.2~f", suffix=f" {unit}", stops=(_FRACTION, _LARGE))


def kr_title(project: Project, kr: KeyResult) -> str:
    """A key result's name: its description, else its metric and how it is read."""
    return kr.description or f"{project.label(kr.metric)} ({read_words(kr.read)})"


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(*parts: object) -> str:
    """A file-name-safe slug: slug('DAU', 'day', date(2026,7,1)) -> 'dau_day_2026-07-01'."""
    pieces = []
    for part in parts:
        if part is None or part == "":
            continue
        text = part.isoformat() if isinstance(part, dt.date) else str(part)
        cleaned = _SLUG.sub("-", text.lower()).strip("-")
        if cleaned:
            pieces.append(cleaned)
    return "_".join(pieces)[:120] or "chart"


def table_format(unit: str | None) -> str:
    """A `st.column_config.NumberColumn` format for the unit (the table keeps raw numbers)."""
    kind = unit_kind(unit)
    if kind == "percent":
        return "percent"
    if kind == "currency":
        symbol = currency_symbol(unit)
        return {"$": "dollar", "€": "euro"}.get(symbol, f"{symbol}%,.2f")
    if kind == "ms":
        return "%,.0f ms"
    if kind == "seconds":
        return "%,.2f s"
    if kind == "count":
        return "localized"
    return f"%,.2f {unit}"
