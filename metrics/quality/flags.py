"""Which numbers a failed data check flags, and which chart periods it shades (CONTRACT.md, "Data
checks on numbers"): the one home of the rule that the dashboard's badges and charts and the review
pack (its images, pages and pack.json) all call.

* A number reads some sources over some days (a KR: the days of its current reading, from
  `KeyResultReader.days_read`; a chart point or a range tile: its period). It is flagged when a
  failed check of its sources touches one of those days, or touches no particular day (freshness,
  an unreadable source, a table-level expectation): such a failure flags every number of its source.
* A failed check on rows without a user (`CheckResult.users_only`: `user_not_null`) flags only the
  numbers that count that source's users (`Project.user_sources`: active users, retention, funnels,
  distinct users): a count, a sum or an average reads those rows as usual, so a fleet of cancelled
  flights without a tail number does not stamp "Data check failed" on the miles flown. And of
  those, only the numbers whose metrics count some of those rows (`Project.user_metrics`, against
  the check's `CheckResult.reaches`: its filter, and for retention and funnels its events), on the
  days those rows fall on: buyers (users with a purchase) are not flagged by page views without a
  user. A number that does not say its metrics (`user_metrics=None`) is flagged as before.
* The flag's severity is "error" when an error-severity check is among them, else "warn": warnings
  are shown as warnings ("Data warning"), never as failures.
* A chart shades the periods (at its grain) that hold a day a failed check touches, errors and
  warnings apart, with one legend entry each naming the checks; a check that names no day shades
  nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from metrics.quality.report import CheckResult, QualityReport, Severity

if TYPE_CHECKING:
    from metrics.definitions.calendar import Calendar
    from metrics.definitions.models import Grain

Span = tuple[dt.date, dt.date]  # first and last day read, both included
WORDS: dict[Severity, str] = {"error": "Data check failed", "warn": "Data warning"}


@dataclass(frozen=True)
class Flag:
    """A number's data-quality flag: its severity and the failed checks behind it (errors first)."""

    severity: Severity
    checks: tuple[CheckResult, ...]

    @property
    def words(self) -> str:
        """The badge's words: "Data check failed" (an error-severity check) or "Data warning"."""
        return WORDS[self.severity]

    @property
    def names(self) -> tuple[str, ...]:
        """Each check behind the flag as "source: check"."""
        return tuple(f"{r.source}: {r.check}" for r in self.checks)

    def to_json(self) -> dict[str, Any]:
        """`{"severity", "checks": [{"source", "check", "severity", "days"}]}` (pack.json, per KR)."""
        return {
            "severity": self.severity,
            "checks": [
                {
                    "source": r.source,
                    "check": r.check,
                    "severity": r.severity,
                    "days": [d.isoformat() for d in r.days],
                }
                for r in self.checks
            ],
        }


class ReadsDays(Protocol):
    """A number that knows what it reads (a scored key result: `metrics.okrs.KeyResultScore`)."""

    @property
    def sources(self) -> tuple[str, ...]: ...

    @property
    def user_sources(self) -> tuple[str, ...]: ...

    @property
    def user_metrics(self) -> tuple[str, ...]: ...

    @property
    def days_read(self) -> Span | None: ...


class ReadsOverAPeriod(ReadsDays, Protocol):
    """A key result's score: also its period's first day and the day read (as-of clipped to it)."""

    @property
    def period_start(self) -> dt.date | None: ...

    @property
    def as_of(self) -> dt.date | None: ...


def days_of(result: CheckResult, user_metrics: Iterable[str] | None = None) -> tuple[dt.date, ...]:
    """The days of a failed check that a number counting the users of `user_metrics` reads rows of:
    for a users-only check that knows which metrics count its rows (`CheckResult.reaches`), the days
    of the rows those metrics count; otherwise all the check's days. Empty: no particular day."""
    if user_metrics is None or not result.users_only or result.reaches is None:
        return result.days
    wanted = set(user_metrics)
    return tuple(sorted({d for metric, days in result.reaches if metric in wanted for d in days}))


def touches(result: CheckResult, span: Span | None, user_metrics: Iterable[str] | None = None) -> bool:
    """True when a failed check touches a number reading `span` (None: no particular day) and
    counting the users of `user_metrics` (`days_of`)."""
    days = days_of(result, user_metrics)
    if not days:
        return True
    if span is None:
        return False
    first, last = span
    return any(first <= day <= last for day in days)


def concerns(
    result: CheckResult,
    sources: Iterable[str],
    user_sources: Iterable[str],
    user_metrics: Iterable[str] | None = None,
) -> bool:
    """True when a check's failure can change a number that reads `sources` and counts the users of
    `user_sources`: a check of one of its sources, and for a users-only check (rows without a user)
    one whose users the number counts, and (when the number says which metrics count them,
    `user_metrics`, and the check which metrics' rows failed, `CheckResult.reaches`) one of whose
    metrics counts some of those rows."""
    if result.source not in set(sources):
        return False
    if not result.users_only:
        return True
    if result.source not in set(user_sources):
        return False
    if user_metrics is None or result.reaches is None:
        return True
    wanted = set(user_metrics)
    return any(metric in wanted for metric, _ in result.reaches)


def reach_words(errors: Sequence[CheckResult], shown: int = 6) -> str:
    """What the data-quality page says of the numbers that failed error checks flag, by this module's
    rule: every number of a source for a check that names no day, else those reading an affected
    day (only numbers that count users for a users-only check), with the first `shown` days and how
    many more there are."""
    from metrics.format import format_date

    if not errors:
        return ""
    sources = ", ".join(sorted({r.source for r in errors}))
    if any(not r.days for r in errors):
        return f"Every number built on {sources} carries a red badge."
    users = all(r.users_only for r in errors)
    who = f"Numbers that count users of {sources}" if users else f"Numbers built on {sources}"
    if users and all(r.reaches is not None for r in errors):  # the metrics that count those rows
        counting = sorted({metric for r in errors for metric, _ in r.reaches or ()})
        if not counting:
            return (
                f"No number carries a red badge: no metric that counts users of {sources} counts the rows "
                "without a user."
            )
        who = f"Numbers of {', '.join(counting)} (the metrics that count those rows)"
        errors = [dataclasses.replace(r, days=days_of(r, counting)) for r in errors]
        if any(not r.days for r in errors):  # rows without a timestamp either: no particular day
            return f"Every number of {', '.join(counting)} carries a red badge."
    days = sorted({d for r in errors for d in r.days})
    listed = ", ".join(format_date(d) for d in days[:shown])
    more = len(days) - shown
    rest = f" and {more:,} more day{'s' if more > 1 else ''}" if more > 0 else ""
    note = (
        " (rows without a user flag only numbers that count users: active users, retention, funnels, "
        "distinct users)"
        if any(r.users_only for r in errors) and not users
        else ""
    )
    return f"{who} that read an affected day carry a red badge{note}; affected days: {listed}{rest}."


def flag_for(
    report: QualityReport | None,
    sources: Iterable[str],
    span: Span | None,
    *,
    user_sources: Iterable[str],
    user_metrics: Iterable[str] | None = None,
) -> Flag | None:
    """The flag of a number that reads `sources` (counting the users of `user_sources` through the
    metrics `user_metrics`, from `Project.user_sources` and `Project.user_metrics`) over the days of
    `span`; None when it has none (or before the checks have run)."""
    if report is None:
        return None
    wanted, users = set(sources), set(user_sources)
    metrics = None if user_metrics is None else set(user_metrics)
    hits = [  # a users-only check with the days of the rows this number's metrics count (pack.json)
        dataclasses.replace(r, days=days_of(r, metrics)) if r.users_only else r
        for r in report.results
        if not r.success and concerns(r, wanted, users, metrics) and touches(r, span, metrics)
    ]
    errors = tuple(r for r in hits if r.severity == "error")
    warnings = tuple(r for r in hits if r.severity != "error")
    if errors:
        return Flag("error", errors + warnings)
    if warnings:
        return Flag("warn", warnings)
    return None


def number_flag(report: QualityReport | None, number: ReadsDays) -> Flag | None:
    """The flag of a number that carries its sources and days (a key result's score): every
    surface calls this, so the OKR page, the review pack and the CLI agree."""
    return flag_for(
        report,
        number.sources,
        number.days_read,
        user_sources=number.user_sources,
        user_metrics=number.user_metrics,
    )


@dataclass(frozen=True)
class Shading:
    """The periods a chart shades for failed checks of one severity, and which checks they are."""

    severity: Severity
    periods: tuple[dt.date, ...]  # first days of the periods (at the chart's grain) holding the days
    checks: tuple[str, ...]  # "source: check", each once

    @property
    def label(self) -> str:
        """The legend entry: what failed, e.g. "Data check failed: events: user_not_null"."""
        return f"{WORDS[self.severity]}: {', '.join(self.checks)}"


def shading(
    report: QualityReport | None,
    sources: Iterable[str],
    calendar: Calendar,
    grain: Grain,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    user_sources: Iterable[str],
    user_metrics: Iterable[str] | None = None,
) -> tuple[Shading, ...]:
    """What a chart of a metric on `sources` (counting the users of `user_sources` through the
    metrics `user_metrics`) shades at `grain` over start .. end: the periods holding a day a failed
    error check touches, then (in the other periods) those of failed warnings."""
    if report is None:
        return ()
    wanted, users = set(sources), set(user_sources)
    metrics = None if user_metrics is None else set(user_metrics)
    out: list[Shading] = []
    taken: set[dt.date] = set()
    severities: tuple[Severity, ...] = ("error", "warn")
    for severity in severities:
        by_check: dict[str, set[dt.date]] = {}
        for result in report.results:
            if result.success or result.severity != severity or not concerns(result, wanted, users, metrics):
                continue
            days = days_of(result, metrics)
            seen = {d for d in days if (start is None or d >= start) and (end is None or d <= end)}
            periods = set(calendar.periods_holding(seen, grain)) - taken
            if periods:
                by_check.setdefault(f"{result.source}: {result.check}", set()).update(periods)
        if by_check:
            held = set().union(*by_check.values())
            taken |= held
            out.append(Shading(severity, tuple(sorted(held)), tuple(by_check)))
    return tuple(out)


def unjudged(as_of: dt.date, start: dt.date, end: dt.date) -> Span | None:
    """The days of a chart over start .. end after the day the data checks are judged as of: the
    checks read no row of them (`quality_clock`), so nothing there is shaded or flagged, whatever
    those days hold. None when the chart stops by the as-of day."""
    if end <= as_of:
        return None
    return max(start, as_of + dt.timedelta(days=1)), end


def period_shading(
    report: QualityReport | None, number: ReadsOverAPeriod, calendar: Calendar
) -> tuple[Shading, ...]:
    """What a key result's chart shades (on the OKR page, in the explorer and in the review pack): the
    days of its period up to the day read."""
    if number.period_start is None or number.as_of is None:
        return ()
    return shading(
        report,
        number.sources,
        calendar,
        "day",
        number.period_start,
        number.as_of,
        user_sources=number.user_sources,
        user_metrics=number.user_metrics,
    )


__all__ = [
    "WORDS",
    "Flag",
    "ReadsDays",
    "ReadsOverAPeriod",
    "Shading",
    "Span",
    "concerns",
    "days_of",
    "flag_for",
    "number_flag",
    "period_shading",
    "reach_words",
    "shading",
    "touches",
    "unjudged",
]
