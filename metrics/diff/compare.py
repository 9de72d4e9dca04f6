"""`northstar diff`: both versions of the changed definitions computed on the same data and as-of.

Per changed metric: its value over the 28 days ending on the as-of as one period (CONTRACT.md), over
the last complete week and the last complete quarter, and its last 12 weekly values, each read as a
key result reads it (`metrics.okrs.readings.read_spec`: retention and funnels read mature cohorts
only, so their spans end `maturity_lag` days before the as-of). Per affected key result: both
scorecards' current reading, progress and status. Both sides read the data as it is now, so every
difference comes from the definitions.

Each side reads its spans on its own calendar (project.yaml's time zone, week start and fiscal
year): after a calendar change "the last complete week" is a different week on each side, and each
number carries the spans it read (`MetricDiff.base_spans`, `head_spans`). Both sides share one
as-of day, which in the base's calendar can fall after its data's last day: then that side's
numbers say so (`metrics.engine.request.outside_data`, the rule of `northstar compute` and the
explorer) instead of reading as a silent 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.errors import NorthstarError
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import Grain
from metrics.definitions.problems import Problem
from metrics.definitions.project import Project
from metrics.diff.changes import (
    MetricChange,
    affected_key_results,
    changed_checks,
    metric_changes,
    pinned_changes,
)
from metrics.diff.revisions import Revision, at_revision
from metrics.engine.as_of import default_as_of
from metrics.engine.engine import Engine
from metrics.engine.request import MetricRequest, outside_data
from metrics.format import metric_unit
from metrics.load import load_project
from metrics.okrs.readings import read_spec
from metrics.okrs.scorecard import KeyResultScore
from metrics.okrs.scoring import score

WINDOW_DAYS = 28
SPARK_WEEKS = 12
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Span:
    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class Spans:
    """The spans one side's numbers of a metric read, on that side's calendar."""

    window: Span  # the 28 days ending on the as-of (less the maturity lag)
    week: Span  # the last complete (and mature) week
    quarter: Span  # the last complete (and mature) quarter


PICKS = ("window", "week", "quarter")


@dataclass(frozen=True)
class Gap:
    """A side's numbers that read days after its data's last day (in its own calendar): which of
    them (`PICKS`), and `outside_data`'s sentence for the widest of their spans."""

    picks: tuple[str, ...]
    sentence: str


@dataclass(frozen=True)
class Values:
    """One side's numbers for a metric (None: no value, e.g. an empty cohort)."""

    window: float | None  # the 28 days ending on the as-of (less the maturity lag), as one period
    week: float | None  # the last complete (and mature) week
    quarter: float | None  # the last complete (and mature) quarter
    weekly: tuple[float | None, ...]  # the SPARK_WEEKS weeks ending with `week`, oldest first


@dataclass(frozen=True)
class MetricDiff:
    change: MetricChange
    label: str
    unit: str
    spans: Spans  # the spans of the side shown (head, or base for a removed metric)
    base: Values | None
    head: Values | None
    problem: str | None = None  # why a side has no numbers
    base_spans: Spans | None = None  # the spans each side read, on its own calendar (None: no such side)
    head_spans: Spans | None = None
    base_gap: Gap | None = None  # numbers of a side that read days after its data's last day
    head_gap: Gap | None = None

    @property
    def metric(self) -> str:
        return self.change.metric

    @property
    def window(self) -> Span:
        return self.spans.window

    @property
    def week(self) -> Span:
        return self.spans.week

    @property
    def quarter(self) -> Span:
        return self.spans.quarter


@dataclass(frozen=True)
class KeyResultSide:
    metric: str
    current: float | None
    progress: float | None
    status: str
    probability: float | None
    problem: str | None
    gap: str | None = None  # its current reading reads days after its data's last day (`outside_data`)


@dataclass(frozen=True)
class KeyResultDiff:
    objective: str
    id: str
    label: str
    unit: str
    base: KeyResultSide | None  # None: the KR does not exist on that side
    head: KeyResultSide | None

    @property
    def status_changed(self) -> bool:
        return (self.base.status if self.base else None) != (self.head.status if self.head else None)

    @property
    def moved(self) -> bool:
        if self.base is None or self.head is None:
            return True
        return (self.base.current, self.base.progress, self.base.status) != (
            self.head.current,
            self.head.progress,
            self.head.status,
        )


@dataclass(frozen=True)
class DiffReport:
    base: Revision
    head: Revision
    as_of: dt.date
    metrics: tuple[MetricDiff, ...]
    key_results: tuple[KeyResultDiff, ...]
    checks: tuple[str, ...]  # sources whose data checks changed
    pinned: tuple[tuple[str, str], ...]  # review-pack pins that change: (metric, what; `pinned_changes`)
    problems: tuple[Problem, ...]  # head's errors
    warnings: tuple[Problem, ...]  # head's warnings
    base_calendar: Calendar | None = None  # each side's calendar settings (project.yaml)
    head_calendar: Calendar | None = None

    @property
    def calendars_differ(self) -> bool:
        return self.base_calendar != self.head_calendar

    @property
    def status_changes(self) -> int:
        return sum(kr.status_changed for kr in self.key_results)

    @property
    def numbers_changed(self) -> bool:
        """True when a number or status differs between the versions, a metric is added, removed or
        renamed, or head has errors."""
        metric_moved = any(
            m.change.change != "presentation" and (m.base != m.head or m.change.change != "changed")
            for m in self.metrics
        )
        return metric_moved or any(kr.moved for kr in self.key_results) or bool(self.problems)


def mature_span(project: Project, engine: Engine, metric_id: str, as_of: dt.date, grain: Grain) -> Span:
    """The last complete `grain` bucket whose cohorts are mature as of `as_of`."""
    last = as_of - dt.timedelta(days=project.maturity_lag(metric_id))
    start = engine.calendar.bucket_start(last, grain)
    if engine.calendar.bucket_end(start, grain) != last:
        start = engine.calendar.bucket_start(start - _DAY, grain)
    return Span(start, engine.calendar.bucket_end(start, grain))


def _spans(project: Project, engine: Engine, metric_id: str, as_of: dt.date) -> Spans:
    first, last = read_spec(f"trailing_{WINDOW_DAYS}d", metric_id, project).span(as_of, as_of)
    return Spans(
        Span(first, last),
        mature_span(project, engine, metric_id, as_of, "week"),
        mature_span(project, engine, metric_id, as_of, "quarter"),
    )


def _data_last(engine: Engine, metric_ids: Sequence[str]) -> tuple[dt.date, dt.date] | None:
    """The first and last local day of the data these metrics read, on the engine's calendar."""
    try:
        return engine.data_range(metric_ids)
    except NorthstarError:  # an unreadable or empty source: its own error says why
        return None


def _gap(engine: Engine, metric_id: str, spans: Spans) -> Gap | None:
    """The numbers of one side whose spans reach past its data's last day, with `outside_data`'s
    sentence for the first of them (in `PICKS` order: the 28 days, the contract's number)."""
    found = _data_last(engine, [metric_id])
    if found is None:
        return None
    first, last = found
    picks = tuple(pick for pick in PICKS if getattr(spans, pick).last > last)
    if not picks:
        return None
    shown = getattr(spans, picks[0])
    sentence = outside_data(shown.first, shown.last, first, last)
    return Gap(picks, sentence) if sentence else None


def _span_values(engine: Engine, ids: Sequence[str], span: Span, as_of: dt.date) -> dict[str, float | None]:
    request = MetricRequest(metrics=tuple(ids), start=span.first, end=as_of, grain="day", span_end=span.last)
    frame = engine.compute(request).frame
    out: dict[str, float | None] = {m: None for m in ids}
    for row in frame.iter_rows(named=True):
        value = row["value"]
        out[row["metric"]] = None if value is None or value != value else float(value)
    return out


def _weekly(
    engine: Engine, ids: Sequence[str], week: Span, as_of: dt.date
) -> dict[str, tuple[float | None, ...]]:
    first = week.first - dt.timedelta(weeks=SPARK_WEEKS - 1)
    frame = engine.compute(MetricRequest(metrics=tuple(ids), start=first, end=as_of, grain="week")).frame
    weeks = [first + dt.timedelta(weeks=i) for i in range(SPARK_WEEKS)]
    by: dict[tuple[str, dt.date], float | None] = {}
    for row in frame.iter_rows(named=True):
        value = row["value"]
        by[(row["metric"], row["period"])] = None if value is None or value != value else float(value)
    return {m: tuple(by.get((m, w)) for w in weeks) for m in ids}


def _values(project: Project, engine: Engine, ids: Iterable[str], as_of: dt.date) -> dict[str, Values | str]:
    """Each metric's numbers, or the one sentence why it has none. Metrics with the same spans are
    computed in one request per span; a failing request is retried metric by metric."""
    groups: dict[Spans, list[str]] = {}
    for metric_id in ids:
        groups.setdefault(_spans(project, engine, metric_id, as_of), []).append(metric_id)
    out: dict[str, Values | str] = {}
    for spans, members in groups.items():
        window, week, quarter = spans.window, spans.week, spans.quarter
        batches = [members] if len(members) == 1 else [members, *([m] for m in members)]
        for batch in batches:
            if all(m in out for m in batch):
                continue
            try:
                w = _span_values(engine, batch, window, as_of)
                k = _span_values(engine, batch, week, as_of)
                q = _span_values(engine, batch, quarter, as_of)
                series = _weekly(engine, batch, week, as_of)
            except NorthstarError as exc:
                if len(batch) == 1:
                    out[batch[0]] = str(exc)
                continue
            for m in batch:
                out[m] = Values(w[m], k[m], q[m], series[m])
    return out


def _kr_sides(
    project: Project, engine: Engine, keys: set[tuple[str, str]], as_of: dt.date
) -> dict[tuple[str, str], KeyResultSide]:
    objectives = tuple(o for o in project.okrs if any((o.id, kr.id) in keys for kr in o.key_results))
    if not objectives:
        return {}
    card = score(dataclasses.replace(project, okrs=objectives), engine, as_of)
    out: dict[tuple[str, str], KeyResultSide] = {}
    for objective in card.objectives:
        for kr in objective.key_results:
            out[(objective.id, kr.id)] = _side(kr, engine)
    return out


def _side(kr: KeyResultScore, engine: Engine) -> KeyResultSide:
    gap = None
    if kr.days_read is not None and kr.metric in engine.project.metrics:
        found = _data_last(engine, [kr.metric])
        if found is not None and kr.days_read[1] > found[1]:
            gap = outside_data(*kr.days_read, *found)
    return KeyResultSide(kr.metric, kr.current, kr.progress, kr.status, kr.probability, kr.problem, gap)


def compare(
    base: Project, head: Project, *, base_rev: Revision, head_rev: Revision, as_of: dt.date | None = None
) -> DiffReport:
    """Both versions' numbers for every definition that changed between `base` and `head`."""
    base_engine, head_engine = Engine(base), Engine(head)
    day = as_of if as_of is not None else default_as_of(head, head_engine)
    changes = metric_changes(base, head)
    numeric = [c for c in changes if c.change != "presentation"]
    # a presentation-only change has the same effective definition on the same data: one side is enough
    head_ids = [c.metric for c in changes if c.metric in head.metrics]
    base_ids = [(c.renamed_from or c.metric) for c in numeric if (c.renamed_from or c.metric) in base.metrics]
    head_values = _values(head, head_engine, head_ids, day)
    base_values = _values(base, base_engine, base_ids, day)
    diffs: list[MetricDiff] = []
    for change in changes:
        old_id = change.renamed_from or change.metric
        side_project = head if change.metric in head.metrics else base
        side_id = change.metric if side_project is head else old_id
        new = head_values.get(change.metric)
        old = new if change.change == "presentation" else base_values.get(old_id)
        problems = [v for v in (old, new) if isinstance(v, str)]
        if change.change == "invalid":
            problems.append(head.skipped.get(change.metric, "its definition has errors"))
        # each side's spans on its own calendar: the base's numbers were read on them (`_values`)
        head_spans = _spans(head, head_engine, change.metric, day) if isinstance(new, Values) else None
        if change.change == "presentation":
            base_spans = head_spans
        else:
            base_spans = _spans(base, base_engine, old_id, day) if isinstance(old, Values) else None
        head_gap = None if head_spans is None else _gap(head_engine, change.metric, head_spans)
        base_gap = None if base_spans is None else _gap(base_engine, old_id, base_spans)
        shown = head_spans or base_spans
        if shown is None:
            side_engine = head_engine if side_project is head else base_engine
            shown = _spans(side_project, side_engine, side_id, day)
        diffs.append(
            MetricDiff(
                change=change,
                label=side_project.label(side_id),
                unit=metric_unit(side_project, side_id),
                spans=shown,
                base=old if isinstance(old, Values) else None,
                head=new if isinstance(new, Values) else None,
                problem="; ".join(problems) or None,
                base_spans=base_spans,
                head_spans=head_spans,
                base_gap=head_gap if change.change == "presentation" else base_gap,
                head_gap=head_gap,
            )
        )
    keys = set(affected_key_results(base, head))
    base_krs = _kr_sides(base, base_engine, keys, day)
    head_krs = _kr_sides(head, head_engine, keys, day)
    kr_diffs = []
    for key in sorted(keys):
        side = head_krs.get(key) or base_krs.get(key)
        metric_id = side.metric if side else ""
        owner = head if key in head_krs else base
        kr_diffs.append(
            KeyResultDiff(
                objective=key[0],
                id=key[1],
                label=owner.label(metric_id) if metric_id in owner.metrics else metric_id,
                unit=metric_unit(owner, metric_id),
                base=base_krs.get(key),
                head=head_krs.get(key),
            )
        )
    by_id = {c.metric: c for c in changes}
    return DiffReport(
        base=base_rev,
        head=head_rev,
        as_of=day,
        metrics=tuple(diffs),
        key_results=tuple(kr_diffs),
        checks=tuple(changed_checks(base, head)),
        pinned=tuple(pinned_changes(base, head, by_id)),
        problems=head.problems,
        warnings=head.warnings,
        base_calendar=Calendar.of(base.settings),
        head_calendar=Calendar.of(head.settings),
    )


def diff(config: Path, base: str, head: str | None = None, *, as_of: dt.date | None = None) -> DiffReport:
    """Load the project at two revisions of its repository (head None: the working tree) and compare."""
    base_rev, head_rev = at_revision(config, base), at_revision(config, head)
    base_project = load_project(config, files=base_rev.files, check_values=False)
    head_project = load_project(config, files=head_rev.files)
    return compare(base_project, head_project, base_rev=base_rev, head_rev=head_rev, as_of=as_of)


__all__ = [
    "DiffReport",
    "Gap",
    "KeyResultDiff",
    "KeyResultSide",
    "MetricDiff",
    "Span",
    "Spans",
    "Values",
    "compare",
    "diff",
    "mature_span",
]
