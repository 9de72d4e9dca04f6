"""Pydantic models for `project.yaml`, `metrics.yaml` and `okrs.yaml`.

These models check the shape of one file. Whether definitions fit together (references, cycles)
and fit the data (columns exist) is checked in `metrics.validation`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from connectors.models import ID_PATTERN, StrictModel

MetricId = Annotated[str, Field(pattern=ID_PATTERN)]
Scalar = str | int | float | bool


class Not(StrictModel):
    """A negated filter value, `{not: [a, b]}`: rows whose value is none of these (null is kept)."""

    values: Scalar | list[Scalar] = Field(
        alias="not", description="A value or a list: keep rows whose value is none of them (null is kept)."
    )

    @model_validator(mode="before")
    @classmethod
    def _only_not(cls, data: object) -> object:
        if isinstance(data, dict) and set(data) != {"not"}:
            others = [str(k) for k in data if k != "not"]
            close = difflib.get_close_matches("not", others, n=1, cutoff=0.6)
            raise ValueError(
                "a filter value is a value, a list, or {not: value or list}; this mapping has "
                + (", ".join(map(repr, others)) or "nothing")
                + (f" (did you mean 'not' for {close[0]!r}?)" if close else "")
            )
        return data

    @field_validator("values")
    @classmethod
    def _some(cls, value: Scalar | list[Scalar]) -> Scalar | list[Scalar]:
        if value == []:
            raise ValueError("`not` needs at least one value, e.g. {not: [signup]}")
        return value

    @property
    def listed(self) -> list[Scalar]:
        return self.values if isinstance(self.values, list) else [self.values]


FilterValue = Scalar | list[Scalar] | Not


def filter_values(value: FilterValue) -> tuple[list[Scalar], bool]:
    """A filter value as (the values it names, negated): every reader of filters asks this."""
    if isinstance(value, Not):
        return value.listed, True
    return (value if isinstance(value, list) else [value]), False


ANY_EVENT = "any"  # `cohort_event` / `return_event`: an event of any kind
Grain = Literal["day", "week", "month", "quarter"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter")
METRIC_TYPES = (
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "percentile",
    "ratio",
    "active_users",
    "retention",
    "funnel",
)
# Types whose empty period is 0 rather than null, and whose period_to_date baseline defaults to 0.
ADDITIVE_TYPES = frozenset({"count", "count_distinct", "sum"})
ZERO_FILLED_TYPES = frozenset({"count", "count_distinct", "sum", "active_users"})
# Types whose value over a span is the sum of its days' values (a total, not a level or a rate).
SUMMED_TYPES = frozenset({"count", "sum"})
# Types whose value for a period above day grain is their value on the period's last day (a level
# read at a point in time, not a total or an average over the period's days).
LAST_DAY_TYPES = frozenset({"active_users"})
# Types whose value for a day is a count of rows, values or users: a whole number, never negative.
COUNT_TYPES = frozenset({"count", "count_distinct", "active_users"})
USER_TYPES = frozenset({"active_users", "retention", "funnel"})  # count users, so need the user column
# Rates: a value that is a numerator over a denominator, both carried with it (CONTRACT.md, Sample sizes).
RATE_TYPES = frozenset({"ratio", "retention", "funnel"})
DEFAULT_MIN_SAMPLE = 30


def is_uncertain(denominator: float | None, min_sample: int = DEFAULT_MIN_SAMPLE) -> bool:
    """True when a rate's reading rests on fewer than `min_sample` (its denominator): every surface
    marks it as uncertain. None or 0 (no rate, or no reading: a rate out of 0 is null, an empty cohort
    has no value to doubt) is never uncertain."""
    if denominator is None or denominator != denominator or denominator == 0:
        return False
    return denominator < min_sample


def retention_interval(period: Literal["day", "week"], offset: int) -> tuple[int, int]:
    """Days after the cohort day that count as retained for `offset` periods: (first, last)."""
    if period == "day":
        return offset, offset
    return 7 * offset, 7 * offset + 6


class StatusThresholds(StrictModel):
    on_track_probability: float = Field(default=0.7, ge=0, le=1)
    at_risk_probability: float = Field(default=0.3, ge=0, le=1)
    on_track_pace_gap: float = Field(
        default=0.1, ge=0, description="on_track when progress >= expected - this"
    )
    at_risk_pace_gap: float = Field(
        default=0.25, ge=0, description="at_risk when progress >= expected - this"
    )

    @model_validator(mode="after")
    def _ordered(self) -> StatusThresholds:
        if self.at_risk_probability > self.on_track_probability:
            raise ValueError("at_risk_probability must not exceed on_track_probability")
        if self.on_track_pace_gap > self.at_risk_pace_gap:
            raise ValueError("on_track_pace_gap must not exceed at_risk_pace_gap")
        return self


class ReviewSettings(StrictModel):
    pinned_metrics: list[MetricId] = Field(
        default_factory=list, description="Metrics charted in every review pack beside the KRs."
    )
    grains: dict[MetricId, Grain] = Field(
        default_factory=dict,
        description="The grain of a pinned metric's chart; default: week for rates (ratio, retention, "
        "funnel), day otherwise.",
    )
    base_url: str | None = Field(default=None, description="Where the dashboard is served, for shared links.")

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    def grain_of(self, metric_id: str, metric_type: str) -> Grain:
        """The grain a pinned metric is charted at: its `grains` entry, else week for a rate (day by
        day, a rate over a handful of users zigzags between 0 and 100%), else day."""
        return self.grains.get(metric_id) or ("week" if metric_type in RATE_TYPES else "day")


def http_url(value: str) -> str:
    """An absolute http(s) URL, or ValueError: links built on it must not run script (`javascript:`)."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL; write it like https://northstar.acme.example")
    return value.strip()


_ALLOW_ENTRY = re.compile(r"^([^@\s]+)?@[a-z0-9-]+(\.[a-z0-9-]+)*$")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class AuthSettings(StrictModel):
    """`auth:` in project.yaml: sign-in to the dashboard through an OpenID Connect provider.

    `provider`, `client_id` and `client_secret` are connection fields (they may be `${VAR}`); the
    cookie secret is never here (NORTHSTAR_COOKIE_SECRET or `serve --cookie-secret-file`)."""

    provider: str = Field(description="The provider's .well-known/openid-configuration URL.")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(description="Write it as ${VAR}; never in the YAML itself.")
    allow: list[str] = Field(
        min_length=1, description="Who may sign in: emails, or @domain for everyone there."
    )

    @field_validator("provider")
    @classmethod
    def _metadata_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"auth.provider {value!r} is not a URL; give the provider's "
                "https://.../.well-known/openid-configuration address"
            )
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_NAMES:
            raise ValueError("auth.provider must use https (plain http only for a provider on this machine)")
        return value

    @field_validator("allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        out = []
        for entry in value:
            entry = entry.strip().lower()
            if not _ALLOW_ENTRY.match(entry):
                raise ValueError(
                    f"auth.allow entry {entry!r} is neither an email (pm@acme.example) "
                    "nor a domain (@acme.example)"
                )
            out.append(entry)
        return out


class ProjectConfig(StrictModel):
    name: str = "Northstar project"
    timezone: str = Field(default="UTC", description="IANA zone; all calendar bucketing happens in it.")
    week_start: Literal["monday", "sunday"] = "monday"
    fiscal_year_start: int = Field(
        default=1, ge=1, le=12, description="Month number that starts the fiscal year."
    )
    data_roots: list[str] = Field(
        default_factory=list,
        description="Folders outside the project folder that file sources may read (relative to the "
        "project folder, or absolute).",
    )
    thresholds: StatusThresholds = Field(default_factory=StatusThresholds)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    min_sample: int = Field(
        default=DEFAULT_MIN_SAMPLE,
        ge=1,
        description="Rates (ratio, retention, funnel) whose denominator is below this are shown as uncertain.",
    )
    auth: AuthSettings | None = Field(default=None, description="Sign-in to the dashboard (docs/deploy.md).")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def uncertain(self, denominator: float | None) -> bool:
        """`is_uncertain` with this project's `min_sample`."""
        return is_uncertain(denominator, self.min_sample)


class _MetricBase(StrictModel):
    label: str | None = None
    description: str = ""
    owner: str | None = None
    unit: str = "count"
    direction: Literal["increase", "decrease"] = "increase"


class _SourcedMetric(_MetricBase):
    source: str
    filter: dict[str, FilterValue] = Field(
        default_factory=dict,
        description="Equality; a list means one of; {not: value or list} means none of (null kept); "
        "keys are ANDed.",
    )

    @property
    def needs_user(self) -> bool:
        """Counts users, so its source must map the user column."""
        return self.type in USER_TYPES  # type: ignore[attr-defined]

    @property
    def needs_event(self) -> bool:
        """Reads event names, so its source must map the event column."""
        return self.type == "funnel" or "event" in self.filter  # type: ignore[attr-defined]

    @property
    def events_read(self) -> tuple[str, ...] | None:
        """The event names whose rows it reads besides its filter (retention: the cohort and return
        events; funnels: the steps and excluded events); None: every event the filter keeps. With the
        filter, the rows it counts: the Polars backend reads only those, and a failed check on rows
        without a user concerns it only when such rows are among them (`metrics.quality.flags`)."""
        return None

    @property
    def maturity_lag(self) -> int:
        """Days after a cohort's day before its value can be read; 0 for types without cohorts."""
        return 0

    def days_read(self, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
        """The days whose rows its value for one period first .. last reads: those days, and for
        cohorts (retention, funnels) the `maturity_lag` days after them where returns and later
        steps count."""
        return first, last + dt.timedelta(days=self.maturity_lag)


class CountMetric(_SourcedMetric):
    type: Literal["count"]


class CountDistinctMetric(_SourcedMetric):
    type: Literal["count_distinct"]
    column: str | None = Field(default=None, description="Default: the source's user column.")

    @property
    def needs_user(self) -> bool:
        return self.column is None


class AggregateMetric(_SourcedMetric):
    type: Literal["sum", "avg", "min", "max"]
    column: str


class PercentileMetric(_SourcedMetric):
    type: Literal["percentile"]
    column: str
    percentile: float = Field(ge=0, le=1)


class RatioMetric(_MetricBase):
    type: Literal["ratio"]
    numerator: str
    denominator: str
    unit: str = Field(
        default="ratio",
        description="Default `ratio`: shown as a percentage. Any other unit is shown as written "
        "(`unit: count` reads 1.19, `unit: currency` $12.50).",
    )


class ActiveUsersMetric(_SourcedMetric):
    type: Literal["active_users"]
    window: int = Field(ge=1, le=366)
    unit: str = "users"

    def days_read(self, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
        """The value of a period is that of its last day: the `window` days ending on it."""
        return last - dt.timedelta(days=self.window - 1), last


class RetentionMetric(_SourcedMetric):
    type: Literal["retention"]
    cohort_event: str = Field(
        description="The cohort is the user's first ever cohort_event; `any`: their first event (first seen)."
    )
    return_event: str | list[str] = ANY_EVENT

    @property
    def needs_event(self) -> bool:
        return super().needs_event or self.cohort_event != ANY_EVENT or self.return_event != ANY_EVENT

    period: Literal["day", "week"] = "day"
    offset: int = Field(ge=0, le=3660)
    unit: str = "percent"

    @property
    def events_read(self) -> tuple[str, ...] | None:
        returns = self.return_event if isinstance(self.return_event, list) else [self.return_event]
        events = (self.cohort_event, *returns)
        return None if ANY_EVENT in events else events

    @property
    def interval(self) -> tuple[int, int]:
        """Days after the cohort day that count as retained: (first, last), both included."""
        return retention_interval(self.period, self.offset)

    @property
    def maturity_lag(self) -> int:
        """A cohort day's interval ends this many days after it: offset (day), 7*offset+6 (week)."""
        return self.interval[1]


class FunnelMetric(_SourcedMetric):
    type: Literal["funnel"]
    steps: list[str] = Field(min_length=2)
    within: float = Field(gt=0, le=366, description="Days from the first step.")
    order: Literal["strict", "any"] = Field(
        default="strict",
        description="strict: each step at or after the previous one; any: after step 1, the other steps "
        "each at least once, in any order.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Events that stop a conversion when done after the first step and before completing.",
    )
    unit: str = "percent"

    @property
    def events_read(self) -> tuple[str, ...] | None:
        return (*self.steps, *self.exclude)

    @field_validator("order")
    @classmethod
    def _distinct_for_any(cls, value: str, info: ValidationInfo) -> str:
        steps = info.data.get("steps") or []
        if value == "any" and len(set(steps)) != len(steps):
            raise ValueError(
                "order: any needs distinct steps (each is done at least once); remove the repeated step "
                "or use order: strict"
            )
        return value

    @field_validator("exclude")
    @classmethod
    def _exclude_not_a_step(cls, value: list[str], info: ValidationInfo) -> list[str]:
        steps = set(info.data.get("steps") or [])
        both = [event for event in dict.fromkeys(value) if event in steps]
        if both:
            raise ValueError(
                f"{', '.join(repr(e) for e in both)} is both a step and excluded; an excluded event must "
                "not be a step: remove it from `exclude:` or from `steps:`"
            )
        return value

    @property
    def maturity_lag(self) -> int:
        """Whole days an entrant needs before the window to convert has closed."""
        return math.ceil(self.within)


MetricDef = Annotated[
    CountMetric
    | CountDistinctMetric
    | AggregateMetric
    | PercentileMetric
    | RatioMetric
    | ActiveUsersMetric
    | RetentionMetric
    | FunnelMetric,
    Field(discriminator="type"),
]
METRIC_MODELS = (
    CountMetric,
    CountDistinctMetric,
    AggregateMetric,
    PercentileMetric,
    RatioMetric,
    ActiveUsersMetric,
    RetentionMetric,
    FunnelMetric,
)
SourcedMetric = (
    CountMetric
    | CountDistinctMetric
    | AggregateMetric
    | PercentileMetric
    | ActiveUsersMetric
    | RetentionMetric
    | FunnelMetric
)


class MetricsFile(StrictModel):
    metrics: dict[MetricId, MetricDef]


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_TRAILING = re.compile(r"^trailing_(\d+)d$")


class PeriodRange(StrictModel):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRange:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        return self


def parse_read(value: str) -> tuple[Literal["period_to_date", "trailing", "latest"], int]:
    if value == "period_to_date":
        return "period_to_date", 0
    if value == "latest":
        return "latest", 1
    match = _TRAILING.match(value)
    if match and 1 <= int(match.group(1)) <= 366:
        return "trailing", int(match.group(1))
    raise ValueError(f"unknown read {value!r}; use period_to_date, latest or trailing_<N>d (N from 1 to 366)")


class KeyResult(StrictModel):
    id: MetricId
    metric: str
    read: str = "period_to_date"
    baseline: float | None = None
    target: float
    direction: Literal["increase", "decrease"] | None = Field(
        default=None, description="Default: the metric's direction."
    )
    milestones: dict[dt.date, float] = Field(default_factory=dict)
    weight: float = Field(default=1, ge=0)
    description: str = ""

    @field_validator("read")
    @classmethod
    def _read(cls, value: str) -> str:
        parse_read(value)
        return value


class Objective(StrictModel):
    id: MetricId
    objective: str
    owner: str | None = None
    period: str | PeriodRange
    key_results: list[KeyResult] = Field(min_length=1)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | PeriodRange) -> str | PeriodRange:
        if isinstance(value, str) and value != "current_quarter" and not _QUARTER.match(value):
            raise ValueError(
                f"unknown period {value!r}; use a fiscal quarter like 2026-Q4, current_quarter, "
                "or {start: YYYY-MM-DD, end: YYYY-MM-DD}"
            )
        year_q = quarter_of(value) if isinstance(value, str) else None
        if year_q is not None and not FIRST_DAY.year <= year_q[0] <= LAST_DAY.year:
            raise ValueError(f"period {value} {outside_years()}")
        return value


class OkrsFile(StrictModel):
    okrs: list[Objective]


# The days any surface computes: far outside any product's history, and far enough inside Python's
# dates (years 1 to 9999) that the windows, comparisons and week starts around a range never step
# out of them (a day in year 9999 was an OverflowError).
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def outside_years() -> str:
    """The one wording of the bound on the days Northstar computes (FIRST_DAY .. LAST_DAY)."""
    return f"lies outside the years Northstar computes ({FIRST_DAY.year} to {LAST_DAY.year}); give a day in those years"


def quarter_of(value: str) -> tuple[int, int] | None:
    match = _QUARTER.match(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


# --- annotations.yaml: dated events drawn on the charts ------------------------------------------

# A day written relative to the first day of the project's data: `data_start+319d`. For a project
# whose data rolls forward (the bundled demo's year ends today); a real project writes the date.
_RELATIVE_DAY = re.compile(r"^data_start\+(\d{1,5})d$")


def relative_day(value: str) -> int | None:
    """The N of `data_start+Nd`, or None for any other text."""
    match = _RELATIVE_DAY.match(value)
    return int(match.group(1)) if match else None


AnnotationDay = Annotated[
    dt.date | str,
    Field(
        description="YYYY-MM-DD (a day in the project's time zone), or data_start+Nd: N days after the "
        "first day of the project's data (for data that rolls forward, like the demo's)."
    ),
]


class Annotation(StrictModel):
    """One dated event (a launch, a release, an incident, a campaign): drawn on the charts of the
    metrics it names (default: every metric) and listed in review packs."""

    label: str = Field(min_length=1, description="What happened, as the charts show it.")
    date: AnnotationDay
    end: AnnotationDay | None = Field(
        default=None, description="The last day of an event that lasts (a campaign, an incident); inclusive."
    )
    metrics: list[MetricId] | None = Field(
        default=None, min_length=1, description="The metrics it concerns; default: every metric."
    )
    description: str = ""

    @field_validator("date", "end")
    @classmethod
    def _day(cls, value: dt.date | str | None) -> dt.date | str | None:
        if value is None or isinstance(value, dt.date):
            return value
        if relative_day(value) is not None:
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a real date; write it as YYYY-MM-DD (or data_start+Nd)"
            ) from None

    @property
    def first(self) -> dt.date:
        """Its first day (a loaded project's annotations have their days resolved)."""
        assert isinstance(self.date, dt.date), "resolve data_start+Nd before reading the day"
        return self.date

    @property
    def last(self) -> dt.date:
        """Its last day: `end`, or its only day."""
        if self.end is None:
            return self.first
        assert isinstance(self.end, dt.date), "resolve data_start+Nd before reading the day"
        return self.end

    def applies_to(self, metric_id: str) -> bool:
        """Whether it concerns this metric: it names it, or names no metric (then every one)."""
        return self.metrics is None or metric_id in self.metrics

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        """Whether any of its days lies in start .. end (both included)."""
        return self.first <= end and self.last >= start

    def resolved(self, data_start: dt.date) -> Annotation:
        """The same annotation with `data_start+Nd` days turned into dates."""

        def day(value: dt.date | str | None) -> dt.date | str | None:
            if isinstance(value, str) and (offset := relative_day(value)) is not None:
                return data_start + dt.timedelta(days=offset)
            return value

        return self.model_copy(update={"date": day(self.date), "end": day(self.end)})

    @property
    def relative(self) -> bool:
        return isinstance(self.date, str) or isinstance(self.end, str)


class AnnotationsFile(StrictModel):
    annotations: dict[MetricId, Annotation]
