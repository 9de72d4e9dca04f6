"""The view's state and the URL: parse and validate query parameters, and write them back.

Everything that decides what a page shows (the page, metric, range, grain, breakdown, comparison,
as-of date, review mode) is a field of `ViewState`, and `ViewState.to_params()` writes all of it
into the URL, so a link opened in another browser shows the same view. `parse()` never raises:
an unknown, malformed or hostile value falls back to its default and adds a warning that says
which parameter was ignored. No streamlit here; the app moves values between this and widgets.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from dashboard import escape
from metrics.definitions import clock
from metrics.definitions.models import GRAINS, Grain
from metrics.definitions.problems import did_you_mean
from metrics.engine.request import COMPARISONS, Comparison

MAX_VALUE_LENGTH = 64
MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 90  # a view without `start` and `end`: the 90 days ending on the default end
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Parameters Streamlit itself reads from the URL; they are none of ours but not an error either.
_STREAMLIT_PARAMS = frozenset({"embed", "embed_options"})

PARAMS = (
    "page",
    "metric",
    "start",
    "end",
    "grain",
    "compare",
    "by",
    "as_of",
    "funnel",
    "retention",
    "review",
)
PAGES = ("okrs", "explorer", "funnels", "retention", "definitions", "quality")


@dataclass(frozen=True)
class Options:
    """What valid values are in this project, and the defaults to fall back to."""

    metrics: Sequence[str]
    dimensions: Sequence[str]
    funnels: Sequence[str] = ()
    retentions: Sequence[str] = ()
    default_start: dt.date | None = None
    default_end: dt.date | None = None
    data_first: dt.date | None = None  # the data's first day (a default range never starts before it)
    today: dt.date = field(default_factory=clock.today)  # the frame passes the project's today
    # The scorecard's default day: the last complete day of data (`calendar.last_complete_day`).
    default_as_of: dt.date | None = None
    default_metric: str | None = None
    default_grain: Grain = "day"
    min_date: dt.date = dt.date(1970, 1, 1)
    max_date: dt.date = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class ViewState:
    page: str = "okrs"
    metric: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    grain: Grain = "day"
    compare: Comparison | None = None
    by: str | None = None
    as_of: dt.date | None = None
    funnel: str | None = None
    retention: str | None = None
    review: bool = False

    def replace(self, **changes: object) -> ViewState:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_params(self) -> dict[str, str]:
        """Every control's value, explicit, so a link pins the view even after the data grows."""
        out: dict[str, str] = {}
        if self.metric:
            out["metric"] = self.metric
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        out["grain"] = self.grain
        if self.compare:
            out["compare"] = self.compare
        if self.by:
            out["by"] = self.by
        if self.as_of:
            out["as_of"] = self.as_of.isoformat()
        if self.funnel:
            out["funnel"] = self.funnel
        if self.retention:
            out["retention"] = self.retention
        if self.review:
            out["review"] = "1"
        return out


def page_path(page: str) -> str:
    """The URL path of a page below the app's root: the OKR overview is the root itself."""
    return "" if page == "okrs" else page


def root_url(here: str, url_path: str, base_path: str) -> str:
    """The app's root from the address the browser shows, less the current page's path. The OKR
    overview is the root itself, but a typed `/okrs` opens it too (after Streamlit's "Page not found"):
    that is not the root either, or every link shared from there would point below it."""
    parts = urlsplit(here)
    path, base = parts.path.strip("/"), base_path.strip("/")
    for name in (url_path, "okrs"):
        if name and (path == name or path.endswith("/" + name)) and path != base:
            path = path[: -len(name)].rstrip("/")
            break
    if not parts.scheme or not parts.netloc:
        return "http://localhost:8501"
    return urlunsplit((parts.scheme, parts.netloc, f"/{path}" if path else "", "", ""))


def share_url(base_url: str, page: str, state: ViewState) -> str:
    """The link that opens `page` showing `state`: the app's root URL, the page's path, then every
    control as a query parameter. The dashboard's "Share this view" box and every link of the
    review pack are built here, so both open the same view."""
    return f"{base_url.rstrip('/')}/{page_path(page)}?{urlencode(state.to_params())}"


def _printable(value: object) -> str:
    text = str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def link_param(name: str, value: object | None = None) -> str:
    """A link parameter as the address bar shows it, in every warning about the link (the one home
    of their style): `metric=purchses`, or the name alone (`grain`) where no value is meant. A
    user-supplied name or value is shortened and made safe to echo in markdown: one code span
    (markdown shows code spans literally, so neither HTML nor markdown in it can take effect)."""
    text = _printable(name) if value is None else f"{_printable(name)}={_printable(value)}"
    return escape.markdown_code(text)


def _single(name: str, raw: object, warnings: list[str]) -> str | None:
    if isinstance(raw, list | tuple):
        if not raw:
            return None
        warnings.append(f"{link_param(name)} was given {len(raw)} times in the link; using the last one.")
        raw = raw[-1]
    value = str(raw)
    if len(value) > MAX_VALUE_LENGTH:
        warnings.append(f"{link_param(name)} in the link is too long ({len(value)} characters); ignored it.")
        return None
    return value.strip()


def _date(name: str, value: str, options: Options, warnings: list[str]) -> dt.date | None:
    if not _DATE.match(value):
        warnings.append(f"{link_param(name, value)} is not a date (use YYYY-MM-DD); using the default.")
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        warnings.append(f"{link_param(name, value)} is not a real date; using the default.")
        return None
    if not options.min_date <= day <= options.max_date:
        warnings.append(
            f"{link_param(name, value)} is outside the years this dashboard covers "
            f"({options.min_date.isoformat()} to {options.max_date.isoformat()}); using the default."
        )
        return None
    return day


def _choice(name: str, value: str, allowed: Sequence[str], what: str, warnings: list[str]) -> str | None:
    if value in allowed:
        return value
    listed = ", ".join(list(allowed)[:8]) + (" ..." if len(allowed) > 8 else "")
    close = did_you_mean(value, allowed)
    warnings.append(
        f"{link_param(name, value)} is not a known {what}"
        + (f" ({close})" if close else f" (one of: {listed})" if listed else "")
        + "; using the default."
    )
    return None


def _default_range(options: Options, as_of: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The range of a view whose link gives neither `start` nor `end`: the options' default, or the
    `DEFAULT_RANGE_DAYS` ending on the link's `as_of` when that is a day of data before the default
    end (a link about Aug 15 shows the days up to Aug 15, not the data's later days)."""
    end, first = options.default_end, options.data_first
    if as_of is None or end is None or as_of >= end or (first is not None and as_of < first):
        return options.default_start, end
    start = as_of - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    return (max(first, start) if first is not None else start), as_of


def parse(params: Mapping[str, object], options: Options) -> tuple[ViewState, list[str]]:
    """Query parameters -> a valid view state and the warnings for everything ignored."""
    warnings: list[str] = []
    raw: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in params.items():
        if key in _STREAMLIT_PARAMS:
            continue
        if key not in PARAMS:
            unknown.append(key)
            continue
        single = _single(key, value, warnings)
        if single is not None:
            raw[key] = single
    if unknown:
        names = ", ".join(link_param(k) for k in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        warnings.append(f"Ignored unknown link parameter{'s' if len(unknown) > 1 else ''} {names}.")

    state = ViewState(grain=options.default_grain)
    changes: dict[str, object] = {}

    if "page" in raw:
        page = _choice("page", raw["page"], PAGES, "page", warnings)
        if page:
            changes["page"] = page
    for key, allowed, what in (
        ("metric", options.metrics, "metric"),
        ("funnel", options.funnels, "funnel metric"),
        ("retention", options.retentions, "retention metric"),
    ):
        if key in raw and raw[key] != "":
            value = raw[key]
            if not _ID.match(value):
                warnings.append(f"{link_param(key, value)} is not a metric id; using the default.")
            else:
                chosen = _choice(key, value, allowed, what, warnings)
                if chosen:
                    changes[key] = chosen
    if "grain" in raw:
        grain = _choice("grain", raw["grain"], GRAINS, "grain", warnings)
        if grain:
            changes["grain"] = grain
    if "compare" in raw and raw["compare"] not in ("", "none"):
        compare = _choice("compare", raw["compare"], COMPARISONS, "comparison", warnings)
        if compare:
            changes["compare"] = compare
    if "by" in raw and raw["by"] not in ("", "none"):
        value = raw["by"]
        if not _DIMENSION.match(value):
            warnings.append(f"{link_param('by', value)} is not a dimension name; showing no breakdown.")
        else:
            by = _choice("by", value, options.dimensions, "dimension", warnings)
            if by:
                changes["by"] = by
    if "review" in raw:
        flag = raw["review"].lower()
        if flag in _TRUE:
            changes["review"] = True
        elif flag not in _FALSE:
            warnings.append(f"{link_param('review', raw['review'])} should be 1 or 0; review mode is off.")

    start = _date("start", raw["start"], options, warnings) if raw.get("start") else None
    end = _date("end", raw["end"], options, warnings) if raw.get("end") else None
    as_of = _date("as_of", raw["as_of"], options, warnings) if raw.get("as_of") else None
    if start and end and end < start:
        warnings.append(
            f"{link_param('end', end)} is before {link_param('start', start)}; using the default range."
        )
        start = end = None
    if start and end and (end - start).days > MAX_RANGE_DAYS:
        warnings.append(
            f"{link_param('start', start)} to {link_param('end', end)} is longer than {MAX_RANGE_DAYS:,} days; "
            "using the default range."
        )
        start = end = None
    default_start, default_end = _default_range(options, None if start or end else as_of)
    first = start or default_start
    last = end or default_end
    if first and last and last < first:
        if start:  # the link's start is after the default end
            warnings.append(
                f"{link_param('start', start)} is after the default end, {last}; using the default range."
            )
        elif end:  # the link's end is before the default start
            warnings.append(
                f"{link_param('end', end)} is before the default start, {first}; using the default range."
            )
        first, last = options.default_start, options.default_end
    changes["start"], changes["end"] = first, last
    changes["as_of"] = as_of or options.default_as_of or options.today
    if not changes.get("metric") and options.default_metric:
        changes["metric"] = options.default_metric
    if not changes.get("funnel") and options.funnels:
        changes["funnel"] = options.funnels[0]
    if not changes.get("retention") and options.retentions:
        changes["retention"] = options.retentions[0]
    return state.replace(**changes), warnings
