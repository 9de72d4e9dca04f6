"""The scorecard: what scoring returns, per objective and key result, as JSON and as a table.

A leaf type: it imports nothing that runs. `metrics.okrs.scoring` fills it; the contract's
`northstar okrs --format json` object is `Scorecard.to_json()`, the CLI's table `Scorecard.to_table()`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import polars as pl

    from metrics.okrs.forecast import Direction, Forecast

FlagOf = Callable[["KeyResultScore"], "dict[str, Any] | None"]  # a KR's data-quality flag as JSON
Status = Literal["on_track", "at_risk", "off_track", "achieved", "missed"]
STATUSES: tuple[Status, ...] = ("on_track", "at_risk", "off_track", "achieved", "missed")


@dataclass(frozen=True)
class Milestone:
    date: dt.date
    value: float
    expected_progress: float | None  # (value - baseline) / (target - baseline); None without a baseline


@dataclass(frozen=True)
class KeyResultScore:
    id: str
    metric: str
    label: str
    unit: str
    direction: Direction
    read: str
    current: float | None
    baseline: float | None
    target: float
    progress: float | None
    expected_progress: float | None
    status: Status
    forecast: Forecast | None
    probability: float | None
    milestones: tuple[Milestone, ...]
    history: pl.DataFrame  # date (Date), value (Float64): the KR's reading on days of the period
    problem: str | None = None  # why the KR could not be scored (then progress is None)
    notes: tuple[str, ...] = ()  # e.g. why there is no forecast, or that the data ends early
    weight: float = 1.0
    baseline_given: bool = False
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    as_of: dt.date | None = None  # the day read (as-of clipped to the period)
    n: float | None = None  # a rate's current reading is out of n (its denominator); None otherwise
    numerator: float | None = None  # ... and its numerator: current = numerator / n
    uncertain: bool = False  # n is below the project's min_sample (`is_uncertain`)
    sources: tuple[str, ...] = ()  # the sources its metric reads
    days_read: tuple[dt.date, dt.date] | None = None  # the days its current reading reads (its flag's span)

    def to_json(self, flag: FlagOf | None = None) -> dict[str, Any]:
        """The contract's KR object; with `flag` (e.g. the review pack's) also `"flag"`: its
        data-quality flag (`metrics.quality.flags.number_flag`) as JSON, or null."""
        out: dict[str, Any] = {
            "id": self.id,
            "metric": self.metric,
            "current": _number(self.current),
            "baseline": _number(self.baseline),
            "target": _number(self.target),
            "progress": _number(self.progress),
            "expected_progress": _number(self.expected_progress),
            "status": self.status,
            "forecast": None
            if self.forecast is None
            else {
                "value": _number(self.forecast.value),
                "low": _number(self.forecast.low),
                "high": _number(self.forecast.high),
            },
            "probability": _number(self.probability),
            "n": None if self.n is None else _count(self.n),
        }
        if flag is not None:
            out["flag"] = flag(self)
        return out


@dataclass(frozen=True)
class ObjectiveScore:
    id: str
    objective: str
    owner: str | None
    start: dt.date
    end: dt.date
    progress: float
    status: Status
    key_results: tuple[KeyResultScore, ...]
    as_of: dt.date | None = None  # the day read (as-of clipped to the period)

    def to_json(self, flag: FlagOf | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "objective": self.objective,
            "owner": self.owner,
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "progress": _number(self.progress),
            "status": self.status,
            "key_results": [kr.to_json(flag) for kr in self.key_results],
        }


@dataclass(frozen=True)
class Scorecard:
    as_of: dt.date
    objectives: tuple[ObjectiveScore, ...] = field(default_factory=tuple)

    def to_json(self, flag: FlagOf | None = None) -> dict[str, Any]:
        """The contract's `northstar okrs --format json` object (with `flag`: each KR's flag too)."""
        return {"as_of": self.as_of.isoformat(), "objectives": [o.to_json(flag) for o in self.objectives]}

    def to_table(self) -> str:
        """The scorecard for people: one block per objective, one row per key result."""
        if not self.objectives:
            return f"OKRs as of {self.as_of}: no objectives are defined (add them to okrs.yaml)."
        lines = [f"OKRs as of {self.as_of}"]
        for objective in self.objectives:
            lines.append("")
            owner = f" · {objective.owner}" if objective.owner else ""
            lines.append(
                f"{objective.objective} [{objective.id}]{owner} · {objective.start} .. {objective.end} · "
                f"progress {_percent(objective.progress)} · {_words(objective.status)}"
            )
            header = (
                "key result",
                "metric",
                "current",
                "target",
                "progress",
                "expected",
                "forecast (80%)",
                "chance",
                "status",
            )
            rows = [header]
            notes: list[str] = []
            for kr in objective.key_results:
                rows.append(
                    (
                        kr.id,
                        f"{kr.metric} ({kr.read})",
                        _value(kr.current, kr.unit),
                        ("<= " if kr.direction == "decrease" else "") + _value(kr.target, kr.unit),
                        _percent(kr.progress),
                        _percent(kr.expected_progress),
                        "-"
                        if kr.forecast is None
                        else f"{_value(kr.forecast.value, kr.unit)} ({_value(kr.forecast.low, kr.unit)}"
                        f" .. {_value(kr.forecast.high, kr.unit)})",
                        _percent(kr.probability),
                        _words(kr.status),
                    )
                )
                if kr.problem:
                    notes.append(f"{kr.id}: {kr.problem}")
                if kr.n is not None:  # a rate: what its reading is out of (CONTRACT.md, Sample sizes)
                    shaky = " (uncertain: below min_sample)" if kr.uncertain else ""
                    notes.append(f"{kr.id}: current reading out of n = {kr.n:,.0f}{shaky}")
                notes.extend(f"{kr.id}: {note}" for note in kr.notes)
            widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
            numeric = {2, 3, 4, 5, 7}
            for row in rows:
                cells = [
                    cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                    for i, cell in enumerate(row)
                ]
                lines.append("  " + "  ".join(cells).rstrip())
            lines.extend(f"  note: {note}" for note in notes)
        return "\n".join(lines)


# --- formatting ----------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    """A number for JSON: None for NaN and infinities."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _count(value: float) -> float | int | None:
    """n for JSON: a whole count as an int (a ratio's denominator may be any number)."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else number


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return f"{value:,.0f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def _words(status: str) -> str:
    return status.replace("_", " ")


__all__ = ["STATUSES", "KeyResultScore", "Milestone", "ObjectiveScore", "Scorecard", "Status"]
