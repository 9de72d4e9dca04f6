"""What a data-quality run returns: one frozen result per check, and the report that holds them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from metrics.format import check_outcome_words

Severity = Literal["error", "warn"]

# Checks whose failure changes only numbers that count users: a row without a user is still a row
# (counts, sums and averages read it as usual), it is just no one's (active users, retention, funnels
# and distinct users leave it out). Which numbers such a failure flags: `metrics.quality.flags`.
USERS_ONLY_CHECKS = frozenset({"user_not_null"})


@dataclass(frozen=True)
class CheckResult:
    """One check on one source.

    `unexpected_count` counts what failed (rows, duplicate copies, anomalous days); None where a
    check has no such count (freshness, a source that cannot be read, table-level expectations).
    `sample` holds a few offending values or rows (JSON-ready); `days` the local calendar days the
    failure touches, for marking time-series charts (empty when it touches no particular day).
    """

    source: str
    check: str
    severity: Severity
    success: bool
    unexpected_count: int | None
    details: str
    sample: list[Any] = field(default_factory=list, compare=False)
    ran_at: dt.datetime | None = field(default=None, compare=False)
    days: tuple[dt.date, ...] = ()
    # A users-only failure (user_not_null): each metric whose counted rows (its filter, and for
    # retention and funnels its events) hold some of the failing rows, with the days of those rows.
    # A metric not listed counts none of them. None: not known (every metric counting the source's
    # users is concerned). Which numbers it flags: `metrics.quality.flags`.
    reaches: tuple[tuple[str, tuple[dt.date, ...]], ...] | None = field(default=None, compare=False)

    @property
    def users_only(self) -> bool:
        """True when its failure can change only numbers that count users (`USERS_ONLY_CHECKS`)."""
        return self.check in USERS_ONLY_CHECKS

    @property
    def status(self) -> Literal["pass", "warn", "fail"]:
        if self.success:
            return "pass"
        return "fail" if self.severity == "error" else "warn"

    def to_json(self) -> dict[str, Any]:
        """The contract's shape: source, check, severity, success, unexpected_count, details."""
        return {
            "source": self.source,
            "check": self.check,
            "severity": self.severity,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "details": self.details,
        }


@dataclass(frozen=True)
class QualityReport:
    results: tuple[CheckResult, ...]
    ran_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """`{"checks": [{"source", "check", "severity", "success", "unexpected_count", "details"}]}`."""
        return {"checks": [r.to_json() for r in self.results]}

    @property
    def failed_errors(self) -> bool:
        """True when a check of severity error failed (`northstar check` exits 1)."""
        return any(not r.success and r.severity == "error" for r in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.success)

    def for_source(self, name: str) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.source == name)

    def failed_error_checks(self, source: str) -> tuple[CheckResult, ...]:
        """The error-severity failures of one source (which numbers they flag: `metrics.quality.flags`)."""
        return tuple(r for r in self.for_source(source) if not r.success and r.severity == "error")

    def marked_days(self, source: str, *, severity: Severity | None = None) -> dict[dt.date, list[str]]:
        """Day -> names of the failed checks that touch it (optionally of one severity). Which numbers
        and chart periods they flag: `metrics.quality.flags`."""
        out: dict[dt.date, list[str]] = {}
        for result in self.for_source(source):
            if result.success or (severity is not None and result.severity != severity):
                continue
            for day in result.days:
                out.setdefault(day, []).append(result.check)
        return dict(sorted(out.items()))

    def to_table(self) -> str:
        """A plain-text table, one line per check, failures first within each source."""
        header = ("source", "check", "severity", "status", "unexpected", "details")
        rows = [
            (
                r.source,
                r.check,
                r.severity,
                r.status.upper() if not r.success else r.status,
                "" if r.unexpected_count is None else f"{r.unexpected_count:,}",
                r.details,
            )
            for r in self.results
        ]
        if not rows:
            return "no checks to run"
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
        lines = []
        for row in [header, *rows]:
            cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            lines.append("  ".join([*cells, str(row[-1])]).rstrip())
        errors = sum(1 for r in self.results if r.status == "fail")
        warnings = sum(1 for r in self.results if r.status == "warn")
        lines.append("")
        lines.append(
            f"{len(self.results)} checks: {check_outcome_words(errors, warnings)}"
            if errors or warnings
            else f"{len(self.results)} checks, all passed"
        )
        return "\n".join(lines)


def plain(value: Any) -> Any:
    """A JSON-ready copy of a sample value (NaN -> None, dates and timestamps -> ISO text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        try:
            if value != value:  # NaT
                return None
        except (TypeError, ValueError):
            pass
        return str(isoformat())
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return plain(item())
    try:
        if value != value:  # NaN-like values that are not floats
            return None
    except (TypeError, ValueError):  # pandas NA has no truth value
        return None
    return str(value)
