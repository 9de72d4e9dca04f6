"""Numbers and counted words as a PM reads them: the one home of formatting for every surface.

The CLI's tables, the dashboard and the review pack all call these pure functions (no streamlit, no
Plotly), so a number reads the same everywhere: a metric's `unit` (metrics.yaml) picks the format,
rates are stored as fractions and shown as percents. JSON and CSV carry `raw_number`s instead: the
value itself, a whole count as an integer.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics.definitions.calendar import Calendar
    from metrics.definitions.models import Grain
    from metrics.definitions.project import Project

EMPTY = "–"

_CURRENCY_SYMBOLS = {"currency": "$", "usd": "$", "dollars": "$", "eur": "€", "euro": "€", "gbp": "£"}
_PERCENT_UNITS = {"percent", "percentage", "rate", "ratio", "share", "%"}
_MS_UNITS = {"ms", "milliseconds", "millisecond"}
_SECOND_UNITS = {"seconds", "second", "s", "sec"}
_COUNT_UNITS = {"count", "users", "events", "sessions", "accounts", "number", ""}


def unit_kind(unit: str | None) -> str:
    """percent | currency | ms | seconds | count | other."""
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


def currency_symbol(unit: str | None) -> str:
    """'$' for currency/usd, '€' for eur...; '' for a unit that is no currency."""
    return _CURRENCY_SYMBOLS.get((unit or "").strip().lower(), "")


def metric_unit(project: Project, metric_id: str) -> str:
    """The unit a metric's numbers are shown in on every surface: its `unit` as written, or its
    type's default (a ratio's is `ratio`, shown as a percentage; an explicit `unit: count` on a
    ratio reads as a number, 1.19 purchases per buyer, never 119.0%)."""
    metric = project.metrics.get(metric_id)
    return "count" if metric is None else metric.unit


def format_target(value: float | int | None, unit: str | None, direction: str) -> str:
    """A key result's target as every surface shows it (the CLI's scorecard, the dashboard's tile, the
    review pack's table and images): '≤ 250 s' for a decrease key result, whose target is a ceiling
    ('313 s of 250 s' read as if 250 s were more to reach), the plain value otherwise."""
    text = format_value(value, unit)
    return f"≤ {text}" if direction == "decrease" and text != EMPTY else text


def finite(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


RAW_DIGITS = 15  # significant digits a double holds exactly through a decimal round trip


def raw_number(value: float | int | None, unit: str | None = None) -> float | int | None:
    """A number for JSON and CSV: None for a missing, NaN or infinite value; a whole value in a
    count unit as an integer (22, not 22.0); everything else (rates, progress: no unit) a float.

    The float is the shortest one that rounds to the same value at `RAW_DIGITS` significant digits,
    so the binary noise of a sum or a difference never reaches a file: a sum of prices that the
    engine holds as 7616.319999999999 is written 7616.32, a progress of -1.7499999999999993 as
    -1.75 (a double carries 15-17 significant digits; the 16th and 17th are that noise)."""
    if not finite(value):
        return None
    assert value is not None
    v = float(f"{float(value):.{RAW_DIGITS}g}")
    if unit is not None and unit_kind(unit) == "count" and v.is_integer():
        return int(v)
    return v


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


def unsigned_zero(text: str) -> str:
    """'-0%' -> '0%': a number that rounds to zero is shown without a sign."""
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_value(value: float | int | None, unit: str | None, *, short: bool = False) -> str:
    """One value in its unit: 0.452 percent -> '45.2%', 12345 users -> '12,345' ('12.3k' short),
    12345 currency -> '$12,345'; never '-0'."""
    return unsigned_zero(_format_value(value, unit, short=short))


def _format_value(value: float | int | None, unit: str | None, *, short: bool) -> str:
    if not finite(value):
        return EMPTY
    assert value is not None
    v = float(value)
    kind = unit_kind(unit)
    if kind == "percent":
        return f"{v * 100:,.1f}%"
    if kind == "currency":
        symbol = currency_symbol(unit)
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


def format_share(part: float, whole: float) -> str:
    """`part` as a share of `whole`, to a tenth of a percent, never rounded to a claim it does not make:
    1 of 2,136 is '<0.1%', not '0.0%'; 2,135 of 2,136 is '>99.9%', not '100.0%'. Empty without a whole."""
    if not whole:
        return ""
    share = part / whole
    if 0 < share < 0.0005:
        return "<0.1%"
    if 0.9995 <= share < 1:
        return ">99.9%"
    return format_value(share, "percent")


def maturing_label(project: Project, metric_id: str) -> str:
    """The legend of a chart's still-maturing periods (`Engine.maturing_periods`)."""
    types = {m.type for m in project.leaves(metric_id).values()}
    verb = "convert" if types == {"funnel"} else "return" if types == {"retention"} else "mature"
    return f"Still maturing: under {plural(project.maturity_lag(metric_id), 'day')} to {verb}"


# The unit kinds whose values are amounts on a ratio scale, with a true zero (a count, money, a
# duration such as a load time): "+26.9%" of one says something. A unit of kind "other" is no known
# quantity (the minutes of a mean arrival delay, a score): a percentage of its base can mean nothing
# ("+16.20 minutes (+3,890.2%)" from a mean delay of 0.42 minutes), so its change is never one.
RATIO_SCALE_KINDS = frozenset({"count", "currency", "ms", "seconds"})


def format_percent_change(current: float | None, previous: float | None, unit: str | None) -> str | None:
    """The one home of a change as a percentage of its base: '+26.9%', '±0.0%' (no change to the digit
    shown), 'new' (from a base of 0 on a ratio scale). None when a percentage means nothing: a rate
    (its change is percentage points, `format_delta`), a unit not known to be on a ratio scale
    (`RATIO_SCALE_KINDS`), a base below zero or a current value of the other sign (a net amount going
    from -$50 to $20 is no '+140%')."""
    if not (finite(current) and finite(previous)):
        return None
    assert current is not None and previous is not None
    if unit_kind(unit) not in RATIO_SCALE_KINDS or previous < 0 or current < 0:
        return None
    if previous == 0:
        return "new" if current != 0 else "±0.0%"
    change = (current - previous) / previous * 100
    if round(change, 1) == 0:  # no change, to the digit shown: neither up nor down
        return "±0.0%"
    return f"{change:+,.1f}%"


def format_delta(current: float | None, previous: float | None, unit: str | None) -> str | None:
    """Change from `previous` to `current`, as a tile shows it: percentage points for rates, relative %
    where a percentage means something (`format_percent_change`), else the difference in the unit
    ('+16.20 minutes', `format_difference`)."""
    if not (finite(current) and finite(previous)):
        return None
    assert current is not None and previous is not None
    if unit_kind(unit) == "percent":
        change = (current - previous) * 100
        if round(change, 1) == 0:  # no change, to the digit shown: neither up nor down
            return "±0.0 pp"
        return f"{change:+,.1f} pp"
    return format_percent_change(current, previous, unit) or format_difference(current - previous, unit)


def format_difference(value: float | None, unit: str | None, *, whole: bool = False) -> str:
    """A signed difference of two values (a change, an effect, a contribution) in their unit: '+6.5',
    '-769 ms', '-$1,200', '+2.0 pp' for rates (percentage points); one that rounds to nothing is
    '±0', '±0.0 pp', as `format_delta` writes no change.

    `whole`: the difference is against an expectation of a quantity counted in whole units (a count's
    change against its share of the whole change, `metrics.drivers`): it is rounded to a whole count,
    half up, as the counts beside it are ('-10', never '-9.66' next to '+16' and '-163': the share's
    decimals are no finer measurement, and a count under 10 would otherwise show two of them)."""
    if not finite(value):
        return EMPTY
    assert value is not None
    if whole and unit_kind(unit) == "count":
        value = math.copysign(math.floor(abs(value) + 0.5), value)
    text = f"{abs(value) * 100:.1f} pp" if unit_kind(unit) == "percent" else format_value(abs(value), unit)
    if not any(c in "123456789" for c in text):
        return f"±{text}"
    return ("-" if value < 0 else "+") + text


def format_progress(progress: float | None) -> str:
    """A share of the way to a target, as a whole percent: 0.5 -> '50%'."""
    return EMPTY if not finite(progress) else unsigned_zero(f"{float(progress or 0) * 100:.0f}%")


def format_probability(probability: float | None) -> str:
    return EMPTY if not finite(probability) else unsigned_zero(f"{float(probability or 0) * 100:.0f}%")


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """'1 day', '2 days', '2.5 days', '1,200 users': a number and its word, agreeing."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    number = f"{count:,}" if isinstance(count, int) else f"{count:,g}"
    return f"{number} {word}"


def check_outcome_words(failed: int, warnings: int) -> str:
    """'1 failed, 2 warnings': the data checks that did not pass, a warning never called a failure
    (`northstar check`'s last line and the review pack's stamp)."""
    parts = [f"{failed} failed"] if failed else []
    if warnings:
        parts.append(plural(warnings, "warning"))
    return ", ".join(parts)


# --- sample sizes (docs/metrics.md, Sample sizes) ---------------------------------------------------


def user_noun(project: Project, metric_id: str) -> str:
    """What the users a metric counts are called: its source's `user_noun` ('aircraft', 'accounts'),
    'users' when it reads sources that name them differently or does not say."""
    nouns = {project.sources[s].user_noun for s in project.source_of(metric_id) if s in project.sources}
    return nouns.pop() if len(nouns) == 1 else "users"


def sample_noun(project: Project, metric_id: str) -> tuple[str, str | None]:
    """What a rate counts, in words, and the unit of its numerator when that is not a count:
    retention and funnels count users (`user_noun`); a ratio counts its denominator ('MAU',
    'sign-ups')."""
    metric = project.metrics.get(metric_id)
    if metric is None:
        return "users", None
    if metric.type != "ratio":
        return user_noun(project, metric_id), None
    denominator = project.label(metric.denominator)
    noun = denominator if denominator[:2].isupper() else denominator[:1].lower() + denominator[1:]
    numerator_unit = metric_unit(project, metric.numerator)
    return noun, None if unit_kind(numerator_unit) == "count" else numerator_unit


def sample_units(project: Project, metric_id: str) -> tuple[str, str]:
    """The units of a rate's numerator and denominator, for a table that prints them as columns
    (`northstar compute`): a ratio's are its parts' own units ('$1.07M' over '23,570' buyers),
    retention and funnels count users."""
    metric = project.metrics.get(metric_id)
    if metric is None or metric.type != "ratio":
        return "count", "count"
    return metric_unit(project, metric.numerator), metric_unit(project, metric.denominator)


def format_sample(
    numerator: float | None, denominator: float | None, noun: str = "users", numerator_unit: str | None = None
) -> str:
    """What a rate is out of: '3 of 8 users'; a numerator in another unit, or above the denominator (a
    ratio such as purchases per buyer): '$872 over 23 paying users', '378 over 276 buyers';
    an immature retention cohort (no numerator yet): '8 users'. Empty without a denominator."""
    if not finite(denominator):
        return ""
    assert denominator is not None
    count = format_value(denominator, "count")
    if not finite(numerator):
        return f"{count} {noun}"
    if numerator_unit is not None:
        return f"{format_value(numerator, numerator_unit)} over {count} {noun}"
    assert numerator is not None
    # "of" says the counted are among the denominator's: never true of more than all of them (a
    # ratio such as purchases per buyer read "378 of 276 buyers")
    word = "of" if numerator <= denominator else "over"
    return f"{format_value(numerator, 'count')} {word} {count} {noun}"


def format_with_sample(
    value: float | None,
    unit: str | None,
    numerator: float | None,
    denominator: float | None,
    noun: str = "users",
    numerator_unit: str | None = None,
    *,
    min_sample: int | None = None,
) -> str:
    """A rate with its n: '37.5% · 3 of 8 users', '5.9% · 1 of 17 users (uncertain: below min_sample
    30)' (`sample_words`); the value alone when there is no denominator."""
    sample = sample_words(numerator, denominator, noun, numerator_unit, min_sample=min_sample)
    return format_value(value, unit) + (f" · {sample}" if sample else "")


def sample_words(
    numerator: float | None,
    denominator: float | None,
    noun: str = "users",
    numerator_unit: str | None = None,
    *,
    min_sample: int | None = None,
) -> str:
    """What a reading is out of, as every surface writes it (the CLI's scorecard, the dashboard's
    tiles, the review pack, alert bodies): `format_sample`'s '10 of 455 monthly active users', and
    below `min_sample` (project.yaml) '3 of 8 users (uncertain: below min_sample 30)'. Empty
    without a denominator."""
    from metrics.definitions.models import is_uncertain  # the one home of the rule

    sample = format_sample(numerator, denominator, noun, numerator_unit)
    if sample and min_sample is not None and is_uncertain(denominator, min_sample):
        return f"{sample} ({uncertain_words(min_sample)})"
    return sample


def uncertain_words(min_sample: int) -> str:
    """Why a reading is marked uncertain: 'uncertain: below min_sample 30'."""
    return f"uncertain: below min_sample {min_sample:,}"


# --- ranges (docs/okrs.md, Forecasts; docs/impact.md) ----------------------------------------------


def format_interval(
    low: float | None,
    high: float | None,
    unit: str | None,
    *,
    coverage: float | None = None,
    signed: bool = False,
) -> str:
    """A range of two values in their unit, as every surface writes one: '160–190', '$1,000–$1,400';
    'to' between bounds that hold a space or a sign ('250 s to 300 s', '-927 ms to -614 ms'), where
    a dash would read as a minus. `signed`: the bounds are differences ('+2.0 pp', `format_difference`).
    With its `coverage` first: '80%: 160–190'."""
    if not (finite(low) and finite(high)):
        return EMPTY
    shown = format_difference if signed else format_value
    lo, hi = shown(low, unit), shown(high, unit)
    plain = not any(c in text for text in (lo, hi) for c in " -+±")
    text = f"{lo}–{hi}" if plain else f"{lo} to {hi}"
    return text if coverage is None else f"{format_coverage(coverage)}: {text}"


def format_coverage(coverage: float) -> str:
    """The share of cases an interval is meant to hold: 0.8 -> '80%', 0.95 -> '95%'."""
    return f"{coverage * 100:g}%"


def format_forecast(
    value: float | None, low: float | None, high: float | None, unit: str | None, *, coverage: float
) -> str:
    """A forecast with its interval, naming the coverage: '174 (80%: 160–190)', '45.2% (80%:
    40.1%–50.3%)' (the CLI's scorecard, the dashboard's tiles, alert bodies)."""
    if not finite(value):
        return EMPTY
    return f"{format_value(value, unit)} ({format_interval(low, high, unit, coverage=coverage)})"


def format_date(day: dt.date | None) -> str:
    """'Nov 26, 2026': unambiguous for every reader of a review deck."""
    return EMPTY if day is None else f"{day:%b} {day.day}, {day.year}"


def format_timestamp(value: dt.datetime | dt.date | None, zone: str) -> str:
    """A moment as the tables show it (`northstar events`, the definitions page's events): in the
    project's time zone, where its days are cut, so the last flight of Dec 31 in New York reads
    '2013-12-31 23:00:00', not '2014-01-01T04:00:00Z' beside 'data through Dec 31, 2013'. A naive
    timestamp is UTC (the contract); a date (a `date` timestamp column) is shown as it is. JSON keeps
    the UTC instant (`metrics.engine.catalog.iso`). The column says the zone (`timestamp_header`)."""
    if value is None:
        return EMPTY
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    from zoneinfo import ZoneInfo

    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return f"{aware.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}"


def timestamp_header(name: str, zone: str) -> str:
    """The header of a column of `format_timestamp`s: 'first seen (America/New_York)'."""
    return f"{name} ({zone})"


def format_range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None or end is None:
        return EMPTY
    if start.year == end.year:
        if start == end:
            return format_date(start)
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{format_date(start)} – {format_date(end)}"


def partial_period_words(
    calendar: Calendar, start: dt.date, end: dt.date, grain: Grain
) -> dict[dt.date, str]:
    """Each period that [start, end] holds only in part (`Calendar.partial_periods`), with the days
    it holds, short enough for a tile's label: {2024-01-01: 'from Jan 4', 2024-06-24: 'to Jun 29'}
    ('Jun 25 – Jun 26' when the range cuts both ends). `compute`'s note and the explorer's tiles
    say it in these words."""

    def day(value: dt.date) -> str:
        return f"{value:%b} {value.day}"

    out: dict[dt.date, str] = {}
    for period in calendar.partial_periods(start, end, grain):
        first, last = max(period, start), min(calendar.bucket_end(period, grain), end)
        cut_start, cut_end = first > period, last < calendar.bucket_end(period, grain)
        out[period] = (
            f"{day(first)} – {day(last)}"
            if cut_start and cut_end
            else f"from {day(first)}"
            if cut_start
            else f"to {day(last)}"
        )
    return out


def format_age(newest: dt.date | None, today: dt.date) -> str:
    """How old the newest data is, in days: 'through today', 'through yesterday', '5 days old'."""
    if newest is None:
        return "no data"
    days = (today - newest).days
    if days <= 0:
        return "through today"
    if days == 1:
        return "through yesterday"
    return f"{plural(days, 'day')} old"


def data_through_words(
    newest: dt.date | None,
    as_of: dt.date,
    today: dt.date | None = None,
    strong: bool = False,
    *,
    running: dt.date | None = None,
) -> str:
    """The one wording of how far the data goes, for the dashboard's header and the review pack's
    stamp alike: 'data through Jun 30, 1998', always the data's newest day (both surfaces once
    named different days with these words: the pack the as-of day when the data went on past it).
    Then how that day stands to the as-of day: after it ('12 days after the as-of date': those days
    are not in a number read as of it), before it (the dashboard: the data's age from `today`; the
    pack: '3 days before the as-of date'), or nothing. `strong`: the date in Markdown bold.

    `running` is the day still running (the clock's today in the project's time zone; both surfaces
    pass it). Data that goes past the as-of only into that day, read as of the day before it (the
    default as-of every morning: the last complete day), is data through the as-of day: the running
    day is not a day of data yet (`last_complete_day`), no number read as of the day before it reads
    it, and a stamp that said '1 day after the as-of date' on every default pack would be a note that
    means nothing. Data that runs past the as-of into complete days (a link as of an older day) keeps
    the note."""
    if newest is None:
        return "**no data found**" if strong else "no data found"
    if running is not None and newest == running and as_of == running - dt.timedelta(days=1):
        newest = as_of  # the running day's partial data: not read, not a day after the as-of to note
        return f"data through **{format_date(newest)}**" if strong else f"data through {format_date(newest)}"
    text = f"data through **{format_date(newest)}**" if strong else f"data through {format_date(newest)}"
    if newest > as_of:
        return f"{text} ({plural((newest - as_of).days, 'day')} after the as-of date)"
    if today is not None:
        return f"{text} ({format_age(newest, today)})"
    lag = (as_of - newest).days
    return text + (f" ({plural(lag, 'day')} before the as-of date)" if lag > 0 else "")


def stale_data_words(
    newest: dt.date | None, today: dt.date, as_of: dt.date, *, oldest: dt.date | None = None
) -> tuple[str, bool] | None:
    """What a page says under its stamp when the newest data is two or more days old, and whether the
    numbers on it are incomplete: only when they are read as of a day after the data's last (as the
    review pack's stamp says, 'N days before the as-of date'). Read as of a day the data covers (the
    default as-of of data that ended in the past is its last day) they are complete, and the page
    says where they stop rather than calling them incomplete. None when the data is recent.

    An as-of before the data's first day (`oldest`), whatever the data's age, is said as such: the
    data covers no day up to it, so the checks find no data, while a key result reads its period's
    first day at the earliest (a shared link `as_of=2012-06-01` on 2013 data once read 'the numbers
    are read as of Jun 1, 2012, which the data covers' above readings of Oct 1, 2013)."""
    if newest is not None and oldest is not None and as_of < oldest:
        return (
            f"The as-of date {format_date(as_of)} is before the data's first day, {format_date(oldest)}: "
            "no data is read as of it (the data checks find none), and key results are read as of "
            "their period's first day at the earliest.",
            True,
        )
    if newest is None or (today - newest).days < 2:
        return None
    age = plural((today - newest).days, "day")
    if as_of > newest:
        gap = plural((as_of - newest).days, "day")
        return (
            f"The newest data is from {format_date(newest)}, {age} ago and {gap} before the as-of date "
            f"{format_date(as_of)}; numbers that read the days after it are incomplete.",
            True,
        )
    return (
        f"The newest data is from {format_date(newest)}, {age} ago; the numbers are read as of "
        f"{format_date(as_of)}, which the data covers.",
        False,
    )


def period_value_words(label: str, grain: str, reads_last_day: bool) -> str:
    """What a metric's value for one period is, in words: 'Daily active users on the week's last
    day' at week grain for a metric read on the period's last day (`Project.reads_last_day`); the
    label alone at day grain or for a metric whose period value covers every day of it."""
    if not reads_last_day or grain == "day":
        return label
    return f"{label} on the {grain}'s last day"


READ_WORDS = {"period_to_date": "so far this period", "latest": "on the day"}


def read_words(read: str) -> str:
    """How a key result is read, in words: 'trailing_28d' -> 'trailing 28 days'."""
    if read.startswith("trailing_"):
        days = read.removeprefix("trailing_").removesuffix("d")
        return f"trailing {plural(int(days), 'day')}" if days.isdigit() else f"trailing {days} days"
    return READ_WORDS.get(read, read)


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
