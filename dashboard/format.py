"""Numbers as a PM reads them: units, thousands, percentages and deltas, in one place.

Pure functions (no streamlit), shared by the app, the figures and the review pack. A metric's
`unit` (from metrics.yaml) picks the format; rates are stored as fractions and shown as percents.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

EMPTY = "–"

_CURRENCY_SYMBOLS = {"currency": "$", "usd": "$", "dollars": "$", "eur": "€", "euro": "€", "gbp": "£"}
_PERCENT_UNITS = {"percent", "percentage", "rate", "ratio", "share", "%"}
_MS_UNITS = {"ms", "milliseconds", "millisecond"}
_SECOND_UNITS = {"seconds", "second", "s", "sec"}
_COUNT_UNITS = {"count", "users", "events", "sessions", "accounts", "number", ""}


@dataclass(frozen=True)
class UnitFormat:
    """How a unit shows on a Plotly axis and hover (d3-format strings), and in words."""

    kind: str  # percent | currency | ms | seconds | count | other
    tickformat: str
    hoverformat: str
    prefix: str = ""
    suffix: str = ""
    word: str = ""


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
    kind = unit_kind(unit)
    if kind == "percent":
        return UnitFormat(kind, ".0%", ".1%")
    if kind == "currency":
        symbol = _CURRENCY_SYMBOLS[(unit or "").strip().lower()]
        return UnitFormat(kind, "~s", ",.2f", prefix=symbol)
    if kind == "ms":
        return UnitFormat(kind, "~s", ",.0f", suffix=" ms")
    if kind == "seconds":
        return UnitFormat(kind, "~s", ",.2f", suffix=" s")
    if kind == "count":
        word = (unit or "").strip().lower()
        return UnitFormat(kind, "~s", ",.0f", word="" if word in {"count", "number", ""} else word)
    return UnitFormat(kind, "~s", ",.2f", suffix=f" {unit}")


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
        return f"{(current - previous) * 100:+.1f} pp"
    if previous == 0:
        return "new" if current != 0 else "±0%"
    change = (current - previous) / abs(previous) * 100
    return f"{change:+.1f}%"


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
