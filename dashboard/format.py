"""Numbers as a PM reads them: units, thousands, percentages and deltas, in one place.

Pure functions (no streamlit), shared by the app, the figures and the review pack. A metric's
`unit` (from metrics.yaml) picks the format; rates are stored as fractions and shown as percents.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics.definitions.models import KeyResult
    from metrics.definitions.project import Project

EMPTY = "–"

_CURRENCY_SYMBOLS = {"currency": "$", "usd": "$", "dollars": "$", "eur": "€", "euro": "€", "gbp": "£"}
_PERCENT_UNITS = {"percent", "percentage", "rate", "ratio", "share", "%"}
_MS_UNITS = {"ms", "milliseconds", "millisecond"}
_SECOND_UNITS = {"seconds", "second", "s", "sec"}
_COUNT_UNITS = {"count", "users", "events", "sessions", "accounts", "number", ""}


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


def unit_kind(unit: str | None) -> str:
    u = (unit or "").strip().lower()
    if u in _PERCENT_UNITS:
        return "percent"
    if u in _CURRENCY_SYMBOLS:
        return "currency"
    if u in _MS_UNITS:
        return "ms"
    if u in _SECOND_UNITS:
        return "seconds"
    if u in _COUNT_UNITS:
        return "count"
    return "other"


def axis_format(unit: str | None) -> UnitFormat:
    """Ticks a PM reads at a glance: '12%', '$1,500', '$25k', '1,500 ms', '2,400', '0.25', '15k';
    never d3's SI prefixes on small numbers ('500m', '$500m') nor '1.5k ms'."""
    kind = unit_kind(unit)
    if kind == "percent":
        return UnitFormat(kind, ".0%", ".1%", stops=(((None, 0.0005), ".2~%"), ((0.001, 0.005), ".1~%")))
    if kind == "currency":
        symbol = _CURRENCY_SYMBOLS[(unit or "").strip().lower()]
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


def _finite(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def compact(value: float, digits: int = 3) -> str:
    """12 -> '12', 12_345 -> '12.3k', 4_560_000 -> '4.56M' (significant digits, trailing zeros dropped)."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < 1000:
        if magnitude == int(magnitude):
            return f"{sign}{int(magnitude)}"
        return f"{sign}{_significant(magnitude, digits)}"
    suffixes = ((1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))
    for index, (limit, suffix) in enumerate(suffixes):
        text = _significant(magnitude / limit, digits)
        if float(text) < 1000 or index == len(suffixes) - 1:  # 999.96k rounds to 1M, not 1000k
            return f"{sign}{text}{suffix}"
    raise AssertionError("unreachable")


def _significant(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(value)))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: float | int | None, unit: str | None, *, short: bool = False) -> str:
    """One value in its unit: 0.452 percent -> '45.2%', 12345 users -> '12,345' ('12.3k' short)."""
    if not _finite(value):
        return EMPTY
    assert value is not None
    v = float(value)
    kind = unit_kind(unit)
    if kind == "percent":
        return f"{v * 100:.1f}%"
    if kind == "currency":
        symbol = _CURRENCY_SYMBOLS[(unit or "").strip().lower()]
        sign = "-" if v < 0 else ""
        if short or abs(v) >= 100_000:
            return f"{sign}{symbol}{compact(abs(v))}"
        return f"{sign}{symbol}{abs(v):,.2f}" if abs(v) < 100 else f"{sign}{symbol}{abs(v):,.0f}"
    if kind == "ms":
        return f"{v / 1000:,.2f} s" if abs(v) >= 10_000 else f"{v:,.0f} ms"
    if kind == "seconds":
        return f"{v:,.2f} s" if abs(v) < 100 else f"{v:,.0f} s"
    if kind == "count":
        if short and abs(v) >= 10_000:
            return compact(v)
        if v == round(v) or abs(v) >= 10:
            return f"{math.copysign(math.floor(abs(v) + 0.5), v):,.0f}"  # half up, as people round
        return f"{v:.2f}".rstrip("0").rstrip(".")
    text = compact(v) if short else (f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}")
    return f"{text} {unit}"


def format_delta(current: float | None, previous: float | None, unit: str | None) -> str | None:
    """Change from `previous` to `current`: percentage points for rates, relative % otherwise."""
    if not (_finite(current) and _finite(previous)):
        return None
    assert current is not None and previous is not None
    if unit_kind(unit) == "percent":
        change, suffix = (current - previous) * 100, " pp"
    elif previous == 0:
        return "new" if current != 0 else "±0.0%"
    else:
        change, suffix = (current - previous) / abs(previous) * 100, "%"
    if round(change, 1) == 0:  # no change, to the digit shown: neither up nor down
        return f"±0.0{suffix}"
    return f"{change:+.1f}{suffix}"


def format_progress(progress: float | None) -> str:
    return EMPTY if not _finite(progress) else f"{float(progress or 0) * 100:.0f}%"


def format_probability(probability: float | None) -> str:
    return EMPTY if not _finite(probability) else f"{float(probability or 0) * 100:.0f}%"


def format_date(day: dt.date | None) -> str:
    """'Nov 26, 2026': unambiguous for every reader of a review deck."""
    return EMPTY if day is None else f"{day:%b} {day.day}, {day.year}"


def format_range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None or end is None:
        return EMPTY
    if start.year == end.year:
        if start == end:
            return format_date(start)
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{format_date(start)} – {format_date(end)}"


def format_age(newest: dt.date | None, today: dt.date) -> str:
    """How old the newest data is, in days: 'today', 'yesterday', '5 days old'."""
    if newest is None:
        return "no data"
    days = (today - newest).days
    if days <= 0:
        return "through today"
    if days == 1:
        return "through yesterday"
    return f"{days} days old"


READ_WORDS = {"period_to_date": "so far this period", "latest": "on the day"}


def read_words(read: str) -> str:
    """How a key result is read, in words: 'trailing_28d' -> 'trailing 28 days'."""
    if read.startswith("trailing_"):
        return f"trailing {read.removeprefix('trailing_').removesuffix('d')} days"
    return READ_WORDS.get(read, read)


def kr_title(project: Project, kr: KeyResult) -> str:
    """A key result's name: its description, else its metric and how it is read."""
    return kr.description or f"{project.label(kr.metric)} ({read_words(kr.read)})"


def metric_unit(project: Project, metric_id: str) -> str:
    """The unit a metric's numbers are shown in: its `unit`, except that a ratio left at the
    default unit (count) reads as a ratio, shown as a percentage."""
    metric = project.metrics.get(metric_id)
    if metric is None:
        return "count"
    if metric.type == "ratio" and metric.unit == "count":
        return "ratio"
    return metric.unit


STATUS_WORDS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "achieved": "Achieved",
    "missed": "Missed",
}


def status_words(status: str | None) -> str:
    if not status:
        return "No status"
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())


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
        symbol = _CURRENCY_SYMBOLS[(unit or "").strip().lower()]
        return {"$": "dollar", "€": "euro"}.get(symbol, f"{symbol}%,.2f")
    if kind == "ms":
        return "%,.0f ms"
    if kind == "seconds":
        return "%,.2f s"
    if kind == "count":
        return "localized"
    return f"%,.2f {unit}"


# --- sample sizes (docs/metrics.md, Sample sizes) ---------------------------------------------------


def sample_noun(project: Project, metric_id: str) -> tuple[str, str | None]:
    """What a rate counts, in words, and the unit of its numerator when that is not a count:
    retention and funnels count users; a ratio counts its denominator ('MAU', 'sign-ups')."""
    metric = project.metrics.get(metric_id)
    if metric is None or metric.type != "ratio":
        return "users", None
    denominator = project.label(metric.denominator)
    noun = denominator if denominator[:2].isupper() else denominator[:1].lower() + denominator[1:]
    numerator_unit = metric_unit(project, metric.numerator)
    return noun, None if unit_kind(numerator_unit) == "count" else numerator_unit


def format_sample(
    numerator: float | None, denominator: float | None, noun: str = "users", numerator_unit: str | None = None
) -> str:
    """What a rate is out of: '3 of 8 users'; a numerator in another unit: '$872 over 23 paying users';
    an immature retention cohort (no numerator yet): '8 users'. Empty without a denominator."""
    if not _finite(denominator):
        return ""
    assert denominator is not None
    count = format_value(denominator, "count")
    if not _finite(numerator):
        return f"{count} {noun}"
    if numerator_unit is not None:
        return f"{format_value(numerator, numerator_unit)} over {count} {noun}"
    return f"{format_value(numerator, 'count')} of {count} {noun}"


def format_with_sample(
    value: float | None,
    unit: str | None,
    numerator: float | None,
    denominator: float | None,
    noun: str = "users",
    numerator_unit: str | None = None,
) -> str:
    """A rate with its n: '37.5% · 3 of 8 users' (the value alone when there is no denominator)."""
    sample = format_sample(numerator, denominator, noun, numerator_unit)
    return format_value(value, unit) + (f" · {sample}" if sample else "")
