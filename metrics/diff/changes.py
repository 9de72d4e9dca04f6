"""Which definitions changed between two loaded projects, and what depends on them.

A metric's numbers depend on its own definition without its presentation (label, description,
owner, unit), on its source's definition without its checks, on the parts of a ratio, and on the
project settings that place days in periods (time zone, week start, fiscal year start). Two
metrics with the same such *effective* definition give the same numbers on the same data, so a
metric whose effective definition is unchanged is left out of the numbers, whatever else moved in
its YAML; and a metric removed while another with the same effective definition is added is a
rename.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from metrics.definitions.models import KeyResult, MetricDef, RatioMetric
from metrics.definitions.project import Project

PRESENTATION = frozenset({"label", "description", "owner", "unit"})
CALENDAR = ("timezone", "week_start", "fiscal_year_start")

# changed: its numbers may differ; presentation: only label, description, owner or unit differ;
# invalid: head's definition has errors, so head cannot compute it (the problems say why)
Change = Literal["changed", "added", "removed", "renamed", "presentation", "invalid"]


def _dump(model: Any, drop: frozenset[str] = frozenset()) -> Any:
    return model.model_dump(mode="json", exclude=set(drop))


def effective(project: Project, metric_id: str, _seen: frozenset[str] = frozenset()) -> Any:
    """What a metric's numbers depend on, as plain data (ids of a ratio's parts replaced by theirs)."""
    metric = project.metrics[metric_id]
    if isinstance(metric, RatioMetric):
        parts = {}
        for role in ("numerator", "denominator"):
            part = getattr(metric, role)
            if part in project.metrics and part not in _seen:
                parts[role] = effective(project, part, _seen | {metric_id})
            else:
                parts[role] = {"missing": part}
        return {"type": "ratio", "direction": metric.direction, **parts}
    source = project.sources.get(metric.source)
    return {
        "metric": _dump(metric, PRESENTATION | {"source"}),
        "source": _dump(source, frozenset({"checks"})) if source is not None else None,
        "calendar": {key: getattr(project.settings, key) for key in CALENDAR},
    }


def fingerprint(project: Project, metric_id: str) -> str:
    text = json.dumps(effective(project, metric_id), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MetricChange:
    metric: str  # the id in head (in base for a removed metric)
    change: Change
    renamed_from: str | None = None
    fields: tuple[str, ...] = ()  # top-level fields of its own definition that differ
    reasons: tuple[str, ...] = ()  # what moved its numbers: "filter", "source events", "numerator dau"...


@dataclass(frozen=True)
class KeyResultRef:
    objective: str
    id: str
    metric: str

    @property
    def key(self) -> tuple[str, str]:
        return self.objective, self.id


def _fields(base: MetricDef, head: MetricDef) -> tuple[str, ...]:
    old, new = _dump(base), _dump(head)
    return tuple(sorted(k for k in {*old, *new} if old.get(k) != new.get(k)))


def reasons(base: Project, head: Project, metric_id: str) -> tuple[str, ...]:
    """Why a metric present on both sides has other numbers: its own fields, its source, the
    calendar settings, or a ratio's part (named by role and id)."""
    old, new = effective(base, metric_id), effective(head, metric_id)
    if old.get("type") == "ratio" or new.get("type") == "ratio":
        out = [f for f in _fields(base.metrics[metric_id], head.metrics[metric_id]) if f not in PRESENTATION]
        for role in ("numerator", "denominator"):
            if old.get(role) != new.get(role):
                out.append(f"{role} {getattr(head.metrics[metric_id], role, '')}")
        return tuple(out)
    own = [
        key
        for key in sorted({*old["metric"], *new["metric"]})
        if old["metric"].get(key) != new["metric"].get(key)
    ]
    if old["source"] != new["source"]:
        own.append(f"source {getattr(head.metrics[metric_id], 'source', '')}")
    if old["calendar"] != new["calendar"]:
        own.append("calendar settings")
    return tuple(own)


def metric_changes(base: Project, head: Project) -> list[MetricChange]:
    """Every metric whose numbers or presentation differ, with renames recognised."""
    out: list[MetricChange] = []
    removed = sorted(set(base.metrics) - set(head.metrics))
    added = sorted(set(head.metrics) - set(base.metrics))
    removed_by_print: dict[str, list[str]] = {}
    for metric_id in removed:
        removed_by_print.setdefault(fingerprint(base, metric_id), []).append(metric_id)
    renamed: set[str] = set()
    for metric_id in added:
        matches = removed_by_print.get(fingerprint(head, metric_id), [])
        old = next((m for m in matches if m not in renamed), None)
        if old is not None:
            renamed.add(old)
            out.append(MetricChange(metric_id, "renamed", renamed_from=old))
        else:
            out.append(MetricChange(metric_id, "added"))
    out += [
        MetricChange(m, "invalid" if m in head.skipped else "removed") for m in removed if m not in renamed
    ]
    for metric_id in sorted(set(base.metrics) & set(head.metrics)):
        old_def, new_def = base.metrics[metric_id], head.metrics[metric_id]
        fields = _fields(old_def, new_def)
        if fingerprint(base, metric_id) != fingerprint(head, metric_id):
            out.append(
                MetricChange(metric_id, "changed", fields=fields, reasons=reasons(base, head, metric_id))
            )
        elif fields:
            out.append(MetricChange(metric_id, "presentation", fields=fields))
    return sorted(out, key=lambda c: c.metric)


def key_results(project: Project) -> dict[tuple[str, str], tuple[KeyResultRef, KeyResult]]:
    return {
        (objective.id, kr.id): (KeyResultRef(objective.id, kr.id, kr.metric), kr)
        for objective in project.okrs
        for kr in objective.key_results
    }


def _objective_settings(project: Project, objective_id: str) -> Any:
    objective = next(o for o in project.okrs if o.id == objective_id)
    return _dump(objective.model_copy(update={"key_results": []}), frozenset({"objective", "owner"}))


def affected_key_results(base: Project, head: Project) -> list[tuple[str, str]]:
    """KRs (objective id, KR id) whose reading, progress or status may differ: their metric's numbers
    changed, their own definition changed (not only a description), their objective's period
    changed, the status thresholds changed, or they exist on one side only."""
    old, new = key_results(base), key_results(head)
    thresholds = base.settings.thresholds != head.settings.thresholds
    out: list[tuple[str, str]] = []
    for key in sorted({*old, *new}):
        if key not in old or key not in new:
            out.append(key)
            continue
        (_, kr_old), (_, kr_new) = old[key], new[key]
        same_def = _dump(kr_old, frozenset({"description"})) == _dump(kr_new, frozenset({"description"}))
        metric_moved = (
            kr_old.metric not in base.metrics
            or kr_new.metric not in head.metrics
            or fingerprint(base, kr_old.metric) != fingerprint(head, kr_new.metric)
        )
        period_moved = _objective_settings(base, key[0]) != _objective_settings(head, key[0])
        if metric_moved or not same_def or period_moved or thresholds:
            out.append(key)
    return out


def changed_checks(base: Project, head: Project) -> list[str]:
    """Sources whose data checks differ (added, removed or edited `checks:`)."""
    names = sorted({*base.sources, *head.sources})

    def checks(project: Project, name: str) -> Any:
        source = project.sources.get(name)
        return None if source is None else _dump(source.checks)

    return [name for name in names if checks(base, name) != checks(head, name)]


def pinned_changes(
    base: Project, head: Project, changes: Mapping[str, MetricChange]
) -> list[tuple[str, str]]:
    """Review-pack pins (`review.pinned_metrics`) that change: (metric id, what) with what one of
    "numbers" (a pinned metric's numbers change), "pinned", "unpinned", or "renamed from OLD"."""
    old, new = base.settings.review.pinned_metrics, head.settings.review.pinned_metrics
    out: list[tuple[str, str]] = []
    renamed_from = {c.renamed_from: c.metric for c in changes.values() if c.change == "renamed"}
    for metric_id in new:
        change = changes.get(metric_id)
        if change is not None and change.change == "renamed" and change.renamed_from in old:
            out.append((metric_id, f"renamed from {change.renamed_from}"))
        elif metric_id not in old:
            out.append((metric_id, "pinned"))
        elif change is not None and change.change in ("changed", "invalid"):
            out.append((metric_id, "numbers"))
    out += [(m, "unpinned") for m in old if m not in new and renamed_from.get(m) not in new]
    return out


__all__ = [
    "CALENDAR",
    "PRESENTATION",
    "Change",
    "KeyResultRef",
    "MetricChange",
    "affected_key_results",
    "changed_checks",
    "effective",
    "fingerprint",
    "key_results",
    "metric_changes",
    "pinned_changes",
    "reasons",
]
