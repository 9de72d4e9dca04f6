"""Which numbers a failed data check flags, and which chart periods it shades (CONTRACT.md, "Data
checks on numbers"): the one home of the rule that the dashboard's badges and charts and the review
pack (its images, pages and pack.json) all call.

* A number reads some sources over some days (a KR: the days of its current reading, from
  `KeyResultReader.days_read`; a chart point or a range tile: its period). It is flagged when a
  failed check of its sources touches one of those days, or touches no particular day (freshness,
  an unreadable source, a table-level expectation): such a failure flags every number of its source.
* The flag's severity is "error" when an error-severity check is among them, else "warn": warnings
  are shown as warnings ("Data warning"), never as failures.
* A chart shades the periods (at its grain) that hold a day a failed check touches, errors and
  warnings apart, with one legend entry each naming the checks; a check that names no day shades
  nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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
    def days_read(self) -> Span | None: ...


class ReadsOverAPeriod(ReadsDays, Protocol):
    """A key result's score: also its period's first day and the day read (as-of clipped to it)."""

    @property
    def period_start(self) -> dt.date | None: ...

    @property
    def as_of(self) -> dt.date | None: ...


def touches(result: CheckResult, span: Span | None) -> bool:
    """True when a failed check touches a number reading `span` (None: no particular day)."""
    if not result.days:
        return True
    if span is None:
        return False
    first, last = span
    return any(first <= day <= last for day in result.days)


def flag_for(report: QualityReport | None, sources: Iterable[str], span: Span | None) -> Flag | None:
    """The flag of a number that reads `sources` over the days of `span`; None when it has none
    (or before the checks have run)."""
    if report is None:
        return None
    wanted = set(sources)
    hits = [r for r in report.results if r.source in wanted and not r.success and touches(r, span)]
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
    return flag_for(report, number.sources, number.days_read)


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
) -> tuple[Shading, ...]:
    """What a chart of a metric on `sources` shades at `grain` over start .. end: the periods holding
    a day a failed error check touches, then (in the other periods) those of failed warnings."""
    if report is None:
        return ()
    wanted = set(sources)
    out: list[Shading] = []
    taken: set[dt.date] = set()
    severities: tuple[Severity, ...] = ("error", "warn")
    for severity in severities:
        by_check: dict[str, set[dt.date]] = {}
        for result in report.results:
            if result.source not in wanted or result.success or result.severity != severity:
                continue
            seen = {d for d in result.days if (start is None or d >= start) and (end is None or d <= end)}
            periods = set(calendar.periods_holding(seen, grain)) - taken
            if periods:
                by_check.setdefault(f"{result.source}: {result.check}", set()).update(periods)
        if by_check:
            held = set().union(*by_check.values())
            taken |= held
            out.append(Shading(severity, tuple(sorted(held)), tuple(by_check)))
    return tuple(out)


def period_shading(
    report: QualityReport | None, number: ReadsOverAPeriod, calendar: Calendar
) -> tuple[Shading, ...]:
    """What a key result's chart shades (on the OKR page, in the explorer and in the review pack): the
    days of its period up to the day read."""
    if number.period_start is None or number.as_of is None:
        return ()
    return shading(report, number.sources, calendar, "day", number.period_start, number.as_of)


__all__ = [
    "WORDS",
    "Flag",
    "ReadsDays",
    "ReadsOverAPeriod",
    "Shading",
    "Span",
    "flag_for",
    "number_flag",
    "period_shading",
    "shading",
    "touches",
]
