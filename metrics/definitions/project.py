"""The loaded project: its valid definitions, the problems found, and where each node was written.

A leaf type: it imports nothing that runs. `metrics.load` builds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.models import SourceConfig
from metrics.definitions.models import (
    LAST_DAY_TYPES,
    Annotation,
    MetricDef,
    Objective,
    ProjectConfig,
    RatioMetric,
    SourcedMetric,
)
from metrics.definitions.positions import locate, value_location
from metrics.definitions.problems import ConfigError, Location, Problem, Severity, Subject

if TYPE_CHECKING:
    from metrics.definitions.alerts import AlertsConfig  # loaded with alerts.yaml (metrics.load)

FILES = ("project.yaml", "sources.yaml", "metrics.yaml", "okrs.yaml", "alerts.yaml", "annotations.yaml")
REQUIRED_FILES = ("sources.yaml", "metrics.yaml")


@dataclass(frozen=True)
class Project:
    """A loaded project: its valid definitions, the problems found, and where each node was written."""

    root: Path
    settings: ProjectConfig
    sources: Mapping[str, SourceConfig]
    metrics: Mapping[str, MetricDef]
    okrs: tuple[Objective, ...] = ()
    problems: tuple[Problem, ...] = ()  # errors: each leaves out what it disables
    warnings: tuple[Problem, ...] = ()  # the definitions may not mean what was meant; nothing left out
    skipped: Mapping[str, str] = field(default_factory=dict)  # metric id -> why it is left out
    # what failed to load (a file, a source, a metric...): no follow-up errors are reported on them
    broken: frozenset[Subject] = frozenset()
    fingerprint: str = ""  # hash of the YAML text: changes whenever a definition changes
    trees: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # alerts.yaml (docs/alerts.md): its valid rules and destinations; None when there is no such file
    alerts: AlertsConfig | None = None
    # annotations.yaml: dated events by id, their days resolved (`Annotation.first` / `last`)
    annotations: Mapping[str, Annotation] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def require_valid(self) -> Project:
        if self.problems:
            raise ConfigError(self.problems)
        return self

    @property
    def okr_errors(self) -> int:
        """How many errors okrs.yaml holds (each leaves out its objective or key result): with none
        left to score, "no objectives" would be the wrong thing to say."""
        return sum(
            1 for p in self.problems if p.location is not None and Path(p.location.file).name == "okrs.yaml"
        )

    def warnings_for(self, metric_id: str) -> list[Problem]:
        """The warnings on a metric, or on the parts of a ratio."""
        parts = {Subject.metric(m) for m in (metric_id, *self.leaves(metric_id))}
        return [w for w in self.warnings if w.subject in parts]

    def label(self, metric_id: str) -> str:
        metric = self.metrics.get(metric_id)
        if metric is not None and metric.label:
            return metric.label
        return metric_id.replace("_", " ").capitalize()

    def location(self, file: str, *path: Any) -> Location | None:
        """Where `path` (keys and list indexes) stands in `file`, or its nearest written parent."""
        tree = self.trees.get(file)
        return locate(self.root, file, tree, path) if tree is not None else None

    def metric_location(self, metric_id: str) -> Location | None:
        return self.location("metrics.yaml", "metrics", metric_id)

    def leaves(self, metric_id: str) -> dict[str, SourcedMetric]:
        """The sourced metrics a metric is made of: itself, or both parts of a ratio, recursively,
        numerator first. The one walk over a ratio's parts. Before pruning a project may hold a ratio
        whose part is undefined, or a cycle: such parts are left out, and each metric is seen once."""
        out: dict[str, SourcedMetric] = {}
        seen: set[str] = set()
        pending = [metric_id]
        while pending:
            current = pending.pop()
            metric = self.metrics.get(current)
            if current in seen or metric is None:
                continue
            seen.add(current)
            if isinstance(metric, RatioMetric):
                pending += [metric.denominator, metric.numerator]  # the numerator is taken first
            else:
                out[current] = metric
        return out

    def left_out_sources(self) -> tuple[str, ...]:
        """The sources sources.yaml defines that are left out for errors in their definition (a typo
        in `checks:`, a missing column): none of their data checks run, which `northstar check` and
        the review pack's stamp say rather than passing."""
        named = [*self.broken, *(p.subject for p in self.problems if p.subject is not None)]
        return tuple(sorted({s.name for s in named if s.kind == "source" and s.name not in self.sources}))

    def source_of(self, metric_id: str) -> set[str]:
        """The sources a metric reads (both parts of a ratio, recursively)."""
        return {metric.source for metric in self.leaves(metric_id).values()}

    def user_sources(self, metric_id: str) -> set[str]:
        """The sources whose users the metric counts (the parts that `needs_user`): a failed check on
        rows without a user flags its numbers only for these (`metrics.quality.flags`)."""
        return {metric.source for metric in self.leaves(metric_id).values() if metric.needs_user}

    def user_metrics(self, metric_id: str) -> set[str]:
        """The sourced metrics (itself, or a ratio's parts) that count users: a failed check on rows
        without a user flags its numbers only when such rows are among those these count
        (`CheckResult.reaches`, `metrics.quality.flags`)."""
        return {key for key, metric in self.leaves(metric_id).items() if metric.needs_user}

    def user_rows(self, source: str) -> dict[str, tuple[dict[str, Any], tuple[str, ...] | None]]:
        """Metric id -> the rows whose users it counts (its filter, and `events_read`), for every
        metric of `source` that counts users: what the user_not_null check looks for its rows in."""
        return {
            key: (dict(metric.filter), metric.events_read)
            for key, metric in sorted(self.metrics.items())
            if not isinstance(metric, RatioMetric) and metric.source == source and metric.needs_user
        }

    def reads_last_day(self, metric_id: str) -> bool:
        """Whether the metric's value for a week, month or quarter is its value on the period's last
        day (active users, or a ratio with an active-users part), not a total over its days."""
        return any(metric.type in LAST_DAY_TYPES for metric in self.leaves(metric_id).values())

    def maturity_lag(self, metric_id: str) -> int:
        """Days a cohort of this metric needs before it can be read (the longest of a ratio's parts)."""
        return max((metric.maturity_lag for metric in self.leaves(metric_id).values()), default=0)

    def days_read(self, metric_id: str, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
        """The days whose rows the metric's value for one period first .. last reads (all of a
        ratio's parts'; see `days_read` on the sourced metrics); None for an unknown metric."""
        spans = [metric.days_read(first, last) for metric in self.leaves(metric_id).values()]
        if not spans:
            return None
        return min(s[0] for s in spans), max(s[1] for s in spans)

    # --- annotations ---------------------------------------------------------------------------

    def annotations_for(self, metric_id: str) -> tuple[Annotation, ...]:
        """The annotations a chart of this metric draws (those naming it or naming no metric),
        oldest first: the one rule on which events concern a metric."""
        return tuple(
            sorted(
                (a for a in self.annotations.values() if a.applies_to(metric_id)),
                key=lambda a: (a.first, a.label),
            )
        )

    def annotations_between(self, start: dt.date, end: dt.date) -> dict[str, Annotation]:
        """Annotation id -> annotation, for those with a day in start .. end, oldest first."""
        found = [(k, a) for k, a in self.annotations.items() if a.overlaps(start, end)]
        return dict(sorted(found, key=lambda item: (item[1].first, item[1].label)))


class Collector:
    """Gathers problems, each placed at a node of one of the project's loaded files."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []

    def at(
        self,
        file: str,
        path: tuple[Any, ...],
        message: str,
        hint: str | None = None,
        *,
        subject: Subject | None = None,
        value: bool = True,
        severity: Severity = "error",
    ) -> None:
        """Record a problem at `path` in `file`: at the value (`value=True`) or at the key."""
        tree = self.project.trees.get(file)
        if tree is None:
            loc = None
        elif value:
            loc = value_location(self.project.root, file, tree, path)
        else:
            loc = locate(self.project.root, file, tree, path)
        self.problems.append(Problem(message, loc, hint, subject, severity))
