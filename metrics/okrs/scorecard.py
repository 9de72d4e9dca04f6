"""The scorecard: what scoring returns, per objective and key result, as JSON and as a table.

A leaf type: it imports nothing that runs. `metrics.okrs.scoring` fills it; the contract's
`northstar okrs --format json` object is `Scorecard.to_json()`, the CLI's table `Scorecard.to_table()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from metrics.format import (
    EMPTY,
    format_forecast,
    format_progress,
    format_target,
    format_value,
    raw_number,
    sample_words,
    status_words,
)

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
    # The validation warnings on its metric or its parts (`KeyResultReader.definition_warnings`: an
    # event that never occurs, a typo most likely), shown beside the reading by the CLI and the pack.
    warnings: tuple[str, ...] = ()
    weight: float = 1.0
    baseline_given: bool = False
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    as_of: dt.date | None = None  # the day read (as-of clipped to the period)
    n: float | None = None  # a rate's current reading is out of n (its denominator); None otherwise
    numerator: float | None = None  # ... and its numerator: current = numerator / n
    uncertain: bool = False  # n is below the project's min_sample (`is_uncertain`)
    noun: str = "users"  # what n counts, in words (`metrics.format.sample_noun`)
    numerator_unit: str | None = None  # the numerator's unit when it is not a count (`sample_noun`)
    min_sample: int | None = None  # the project's min_sample, below which n is uncertain
    sources: tuple[str, ...] = ()  # the sources its metric reads
    user_sources: tuple[str, ...] = ()  # ... and those whose users it counts (`Project.user_sources`)
    user_metrics: tuple[str, ...] = ()  # ... through these metrics (`Project.user_metrics`)
    days_read: tuple[dt.date, dt.date] | None = None  # the days its current reading reads (its flag's span)

    def sample(self) -> str:
        """What the current reading is out of, as every surface writes it (`metrics.format.sample_words`):
        '10 of 455 monthly active users'; empty for a KR whose metric is no rate."""
        return sample_words(
            self.numerator, self.n, self.noun, self.numerator_unit, min_sample=self.min_sample
        )

    def forecast_words(self) -> str:
        """The forecast and its interval (`metrics.format.format_forecast`): '174 (80%: 160–190)'."""
        f = self.forecast
        return EMPTY if f is None else format_forecast(f.value, f.low, f.high, self.unit, coverage=f.coverage)

    def to_json(self, flag: FlagOf | None = None) -> dict[str, Any]:
        """The contract's KR object; with `flag` (the review pack's extended object) also `"flag"`:
        its data-quality flag (`metrics.quality.flags.number_flag`) as JSON, or null, and
        `"problem"`: why it has no reading or score (null when scored). `northstar okrs --format
        json` keeps the contract's shape exactly and says the problems on standard error."""
        out: dict[str, Any] = {
            "id": self.id,
            "metric": self.metric,
            "current": raw_number(self.current, self.unit),
            "baseline": raw_number(self.baseline, self.unit),
            "target": raw_number(self.target, self.unit),
            "progress": raw_number(self.progress),
            "expected_progress": raw_number(self.expected_progress),
            "status": self.status,
            "forecast": None
            if self.forecast is None
            else {
                "value": raw_number(self.forecast.value, self.unit),
                "low": raw_number(self.forecast.low, self.unit),
                "high": raw_number(self.forecast.high, self.unit),
            },
            "probability": raw_number(self.probability),
            "n": raw_number(self.n, "count"),
        }
        if flag is not None:
            out["flag"] = flag(self)
            out["problem"] = self.problem
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
            "progress": raw_number(self.progress),
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

    def to_table(self, okr_errors: int = 0) -> str:
        """The scorecard for people: one block per objective, one row per key result. `okr_errors`:
        the errors of okrs.yaml, which leave their objectives out (then none is not "none defined")."""
        if not self.objectives and okr_errors:
            return (
                f"OKRs as of {self.as_of}: no objective can be scored: okrs.yaml has {okr_errors} "
                f"error{'' if okr_errors == 1 else 's'} (`northstar validate` lists them)."
            )
        if not self.objectives:
            return f"OKRs as of {self.as_of}: no objectives are defined (add them to okrs.yaml)."
        lines = [f"OKRs as of {self.as_of}"]
        for objective in self.objectives:
            lines.append("")
            owner = f" · {objective.owner}" if objective.owner else ""
            lines.append(
                f"{objective.objective} [{objective.id}]{owner} · {objective.start} .. {objective.end} · "
                f"progress {format_progress(objective.progress)} · {status_words(objective.status)}"
            )
            header = (
                "key result",
                "metric",
                "current",
                "baseline",
                "target",
                "progress",
                "expected",
                "forecast",
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
                        format_value(kr.current, kr.unit),
                        format_value(kr.baseline, kr.unit),
                        format_target(kr.target, kr.unit, kr.direction),
                        format_progress(kr.progress),
                        format_progress(kr.expected_progress),
                        kr.forecast_words(),
                        format_progress(kr.probability),
                        status_words(kr.status),
                    )
                )
                if kr.problem:
                    notes.append(f"{kr.id}: {kr.problem}")
                notes.extend(f"{kr.id}: warning: {warning}" for warning in kr.warnings)
                if kr.sample():  # a rate: what its reading is out of (CONTRACT.md, Sample sizes)
                    notes.append(f"{kr.id}: current reading: {kr.sample()}")
                notes.extend(f"{kr.id}: {note}" for note in kr.notes)
            widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
            numeric = {2, 3, 4, 5, 6, 8}
            for row in rows:
                cells = [
                    cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                    for i, cell in enumerate(row)
                ]
                lines.append("  " + "  ".join(cells).rstrip())
            lines.extend(f"  note: {note}" for note in notes)
        return "\n".join(lines)


__all__ = ["STATUSES", "KeyResultScore", "Milestone", "ObjectiveScore", "Scorecard", "Status"]
