"""Layers (b) and (c) of validation: definitions fit together, and definitions fit the data.

Layer (a), syntax and schema, happens while loading (`metrics.definitions.yaml_files`, run by
`metrics.load`). Each function returns problems; `prune` drops every definition a problem disables
(and the ratios and key results that depend on them) so the rest of the project keeps working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from connectors.base import ColumnKind, Connector, ConnectorError, connect
from connectors.models import SourceConfig
from metrics.definitions.calendar import Calendar, objective_period
from metrics.definitions.models import (
    FIRST_DAY,
    LAST_DAY,
    AggregateMetric,
    KeyResult,
    MetricDef,
    PercentileMetric,
    RatioMetric,
    RetentionMetric,
    outside_years,
)
from metrics.definitions.problems import Problem, Subject, did_you_mean, left_out_words
from metrics.definitions.project import Collector, Project
from metrics.engine.catalog import SourceCatalog, any_row, catalog, named_values
from metrics.engine.filter_values import filter_literal
from metrics.engine.request import too_long
from metrics.quality import check_columns, validate_checks

NUMERIC: frozenset[ColumnKind] = frozenset({"integer", "float", "boolean"})
TEMPORAL: frozenset[ColumnKind] = frozenset({"timestamp", "date"})
DIMENSION_KINDS: frozenset[ColumnKind] = frozenset({"string", "integer", "boolean"})


def check_references(project: Project) -> list[Problem]:
    out = Collector(project)
    for metric_id, metric in project.metrics.items():
        _check_metric(out, metric_id, metric)
    _check_cycles(out)
    _check_okrs(out)
    for index, pinned in enumerate(project.settings.review.pinned_metrics):
        if pinned not in project.metrics:
            out.at(
                "project.yaml",
                ("review", "pinned_metrics", index),
                f"unknown metric {pinned!r}",
                did_you_mean(pinned, list(project.metrics)),
            )
    for metric_id in project.settings.review.grains:
        if metric_id not in project.settings.review.pinned_metrics:
            out.at(
                "project.yaml",
                ("review", "grains", metric_id),
                f"{metric_id!r} has a grain but is not in review.pinned_metrics; pin it or remove its grain",
                did_you_mean(metric_id, project.settings.review.pinned_metrics),
                value=False,
            )
    _check_annotations(out)
    out.problems.extend(validate_checks(project))
    _check_alerts(out)
    return out.problems


def _check_alerts(out: Collector) -> None:
    """alerts.yaml's references: key results, metrics, sources and destinations exist. A rule with a
    wrong reference is left out whole (an alert that watches less than it says is worse than none)."""
    project = out.project
    alerts = project.alerts
    if alerts is None:
        return
    from metrics.definitions.alerts import (  # with alerts.yaml only (most projects have none)
        DataCheckRule,
        ForecastIntervalRule,
        KrProbabilityRule,
        KrStatusRule,
        SeasonalDeviationRule,
    )

    file = "alerts.yaml"
    krs = [kr.id for objective in project.okrs for kr in objective.key_results]
    okrs_broken = Subject.file("okrs.yaml") in project.broken or any(
        s.kind in {"okr", "kr"} for s in project.broken
    )
    known_destinations = {
        *alerts.destinations,
        *(s.name for s in project.broken if s.kind == "alert_destination"),
    }
    for rule_id, rule in alerts.rules.items():
        subject = Subject.alert_rule(rule_id)
        refs: list[tuple[str, list[str] | None, list[str], str]] = [
            ("notify", rule.notify, sorted(known_destinations), "destination"),
        ]
        if isinstance(rule, KrStatusRule | KrProbabilityRule) and not okrs_broken:
            refs.append(("key_results", rule.key_results, krs, "key result"))
        if isinstance(rule, ForecastIntervalRule | SeasonalDeviationRule):
            refs.append(("metrics", rule.metrics, [*project.metrics, *project.skipped], "metric"))
        if isinstance(rule, DataCheckRule) and Subject.file("sources.yaml") not in project.broken:
            broken_sources = [s.name for s in project.broken if s.kind == "source"]
            refs.append(("sources", rule.sources, [*project.sources, *broken_sources], "source"))
        for key, given, known, word in refs:
            for index, ref in enumerate(given or []):
                if ref not in known:
                    out.at(
                        file,
                        ("rules", rule_id, key, index),
                        f"rule {rule_id!r}: unknown {word} {ref!r}",
                        did_you_mean(ref, known)
                        or ("define it under `destinations:`" if word == "destination" else None),
                        subject=subject,
                    )


def _check_annotations(out: Collector) -> None:
    """An annotation may name only metrics the project defines."""
    project = out.project
    if Subject.file("metrics.yaml") in project.broken:
        return
    for name, annotation in project.annotations.items():
        for index, metric_id in enumerate(annotation.metrics or []):
            if metric_id not in project.metrics and metric_id not in project.skipped:
                out.at(
                    "annotations.yaml",
                    ("annotations", name, "metrics", index),
                    f"annotation {name!r} names unknown metric {metric_id!r}",
                    did_you_mean(metric_id, list(project.metrics)) or "name a metric of metrics.yaml",
                )


def _check_metric(out: Collector, metric_id: str, metric: MetricDef) -> None:
    project = out.project
    where = ("metrics", metric_id)
    subject = Subject.metric(metric_id)
    if isinstance(metric, RatioMetric):
        for part in ("numerator", "denominator"):
            ref = getattr(metric, part)
            if ref not in project.metrics and ref not in project.skipped:
                out.at(
                    "metrics.yaml",
                    (*where, part),
                    f"{part} {ref!r} is not a metric",
                    did_you_mean(ref, list(project.metrics)),
                    subject=subject,
                )
        return
    source = project.sources.get(metric.source)
    if source is None and (
        Subject.source(metric.source) in project.broken or Subject.file("sources.yaml") in project.broken
    ):
        return  # the source's own problem is reported; prune leaves this metric out
    if source is None:
        out.at(
            "metrics.yaml",
            (*where, "source"),
            f"unknown source {metric.source!r}",
            did_you_mean(metric.source, list(project.sources)) or "define it in sources.yaml",
            subject=subject,
        )
        return
    roles = source.columns
    if metric.needs_user and roles.user is None:
        out.at(
            "metrics.yaml",
            (*where, "type"),
            f"a {metric.type} metric needs the user column, and source {metric.source!r} maps none",
            "add `user:` under the source's `columns:`",
            subject=subject,
        )
    if metric.needs_event and roles.event is None:
        out.at(
            "metrics.yaml",
            (*where, "type"),
            f"metric {metric_id!r} uses event names, and source {metric.source!r} maps no event column",
            "add `event:` under the source's `columns:`",
            subject=subject,
        )
    for key in metric.filter:
        if key != "event" and key not in source.dimensions:
            out.at(
                "metrics.yaml",
                (*where, "filter", key),
                f"filter key {key!r} is not a dimension of source {metric.source!r}",
                did_you_mean(key, [*source.dimensions, "event"])
                or "filter on `event` or on a column listed under the source's `dimensions:`",
                subject=subject,
                value=False,
            )
    if isinstance(metric, RetentionMetric):
        returns = metric.return_event
        if isinstance(returns, list) and not returns:
            out.at(
                "metrics.yaml",
                (*where, "return_event"),
                "return_event is an empty list",
                "name an event, a list of events, or `any`",
                subject=subject,
            )


def _check_cycles(out: Collector) -> None:
    metrics = out.project.metrics
    reported: set[str] = set()

    def walk(metric_id: str, trail: list[str]) -> None:
        metric = metrics.get(metric_id)
        if not isinstance(metric, RatioMetric):
            return
        for part in ("numerator", "denominator"):
            ref = getattr(metric, part)
            if ref in trail:
                cycle = [*trail[trail.index(ref) :], ref]
                if ref not in reported:
                    reported.update(cycle)
                    out.at(
                        "metrics.yaml",
                        ("metrics", metric_id, part),
                        "ratio cycle: " + " -> ".join(cycle),
                        "a ratio may not depend on itself",
                        subject=Subject.metric(ref),
                    )
                continue
            walk(ref, [*trail, ref])

    for metric_id in metrics:
        if metric_id not in reported:
            walk(metric_id, [metric_id])


def _check_okrs(out: Collector) -> None:
    project = out.project
    calendar = Calendar.of(project.settings)
    today = calendar.today()
    seen_objectives: set[str] = set()
    seen_krs: set[str] = set()
    _check_left_out_objectives(out)
    for index, objective in zip(_okr_indexes(project), project.okrs, strict=True):
        where: tuple[Any, ...] = ("okrs", index)
        subject = Subject.okr(objective.id)
        if objective.id in seen_objectives:
            out.at(
                "okrs.yaml",
                (*where, "id"),
                f"duplicate objective id {objective.id!r}",
                "objective ids are unique in a project",
                subject=Subject.okr(f"{objective.id}#{index}"),
            )
            continue
        seen_objectives.add(objective.id)
        start, end = objective_period(objective, calendar, today)
        if start < FIRST_DAY or end > LAST_DAY:
            out.at(
                "okrs.yaml",
                (*where, "period"),
                f"the period {start} .. {end} {outside_years()}",
                subject=subject,
            )
            continue
        if problem := too_long(start, end):
            out.at("okrs.yaml", (*where, "period"), f"the period {problem}", subject=subject)
            continue
        if sum(kr.weight for kr in objective.key_results) <= 0:
            out.at(
                "okrs.yaml",
                (*where, "key_results"),
                f"the key results of {objective.id!r} all weigh 0",
                "give at least one key result a positive weight",
                subject=subject,
                value=False,
            )
        for kr_index, kr in enumerate(objective.key_results):
            kr_where = (*where, "key_results", kr_index)
            kr_subject = Subject.kr(objective.id, kr.id)
            if kr.id in seen_krs:
                out.at(
                    "okrs.yaml",
                    (*kr_where, "id"),
                    f"duplicate key result id {kr.id!r}",
                    "key result ids are unique in a project",
                    subject=kr_subject,
                )
            seen_krs.add(kr.id)
            _check_kr_metric(out, kr.metric, kr_where, kr_subject)
            if kr.baseline is not None and kr.baseline == kr.target:
                out.at(
                    "okrs.yaml",
                    (*kr_where, "target"),
                    f"target equals the baseline ({kr.target:g})",
                    "progress is measured from baseline to target, so they must differ",
                    subject=kr_subject,
                )
            metric = project.metrics.get(kr.metric)
            if metric is not None:
                _check_kr_fits_metric(out, kr, metric, kr_where, kr_subject, (end - start).days + 1)
            for day in kr.milestones:
                if not start <= day <= end:
                    out.at(
                        "okrs.yaml",
                        (*kr_where, "milestones", day.isoformat()),
                        f"milestone {day} is outside the period {start} .. {end}",
                        subject=kr_subject,
                        value=False,
                    )


def _check_kr_metric(out: Collector, metric_id: str, kr_where: tuple[Any, ...], subject: Subject) -> None:
    """A key result names a metric that the project defines (or left out for its own errors)."""
    project = out.project
    if (
        metric_id not in project.metrics
        and metric_id not in project.skipped
        and Subject.file("metrics.yaml") not in project.broken
    ):
        out.at(
            "okrs.yaml",
            (*kr_where, "metric"),
            f"unknown metric {metric_id!r}",
            did_you_mean(metric_id, list(project.metrics)),
            subject=subject,
        )


def _check_left_out_objectives(out: Collector) -> None:
    """The metrics named by the key results of an objective left out for a schema error (a bad
    period, say), so that `validate` lists those problems at once rather than after the fix."""
    project = out.project
    tree = project.trees.get("okrs.yaml")
    section = tree.get("okrs") if isinstance(tree, Mapping) else None
    for index, raw in enumerate(section if isinstance(section, list) else []):
        if Subject.okr(str(index)) not in project.broken or not isinstance(raw, Mapping):
            continue
        krs = raw.get("key_results")
        for kr_index, kr in enumerate(krs if isinstance(krs, list) else []):
            metric_id = kr.get("metric") if isinstance(kr, Mapping) else None
            if isinstance(metric_id, str):
                where = ("okrs", index, "key_results", kr_index)
                _check_kr_metric(out, metric_id, where, Subject.okr(str(index)))


def _okr_indexes(project: Project) -> list[int]:
    """Each loaded objective's index in okrs.yaml's list: the objectives left out for their errors
    are not in `project.okrs`, so its positions are not the file's (a key result's problem of the
    second objective was placed under the first when the first was left out)."""
    tree = project.trees.get("okrs.yaml")
    section = tree.get("okrs") if isinstance(tree, Mapping) else None
    raws = list(section) if isinstance(section, list) else []
    indexes: list[int] = []
    for objective in project.okrs:
        start = indexes[-1] + 1 if indexes else 0
        found = next(
            (
                i
                for i in range(start, len(raws))
                if isinstance(raws[i], Mapping)
                and str(raws[i].get("id")) == objective.id
                and Subject.okr(str(i)) not in project.broken
            ),
            None,
        )
        indexes.append(found if found is not None else start)
    return indexes


def _check_kr_fits_metric(
    out: Collector, kr: KeyResult, metric: MetricDef, where: tuple[Any, ...], subject: Subject, days: int
) -> None:
    """A KR whose target lies behind its baseline, or whose cohorts never mature in the period."""
    direction = kr.direction or metric.direction
    if (
        kr.baseline is not None
        and kr.baseline != kr.target
        and (kr.target > kr.baseline) != (direction == "increase")
    ):
        side = "below" if kr.target < kr.baseline else "above"
        origin = "the key result's" if kr.direction else f"metric {kr.metric!r}'s"
        out.at(
            "okrs.yaml",
            (*where, "target"),
            f"target {kr.target:g} is {side} the baseline {kr.baseline:g}, but {origin} direction is {direction}",
            f"set `direction: {'decrease' if direction == 'increase' else 'increase'}` on the key result, "
            "or fix the target",
            subject=subject,
        )
    lag = out.project.maturity_lag(kr.metric)
    if lag and kr.read == "period_to_date" and lag >= days:
        out.at(
            "okrs.yaml",
            (*where, "read" if "read" in kr.model_fields_set else "metric"),
            f"{kr.metric} reads cohorts {lag} days after they start, so a period_to_date read of this "
            f"{days}-day period never has a mature cohort",
            "read it trailing_<N>d (or latest), which counts cohorts from before the period",
            subject=subject,
        )


# --- layer (c): the definitions fit the data -------------------------------------------------


def check_data(project: Project, *, check_values: bool = True) -> list[Problem]:
    """Read each source's schema and check every column a definition names; then (`check_values`)
    warn about names and filter values that never occur in the data (one bounded scan per source)."""
    out = Collector(project)
    for name, source in project.sources.items():
        if Subject.source(name) in project.broken:
            continue
        found = _schema(out, name, source)
        if found is None:
            continue
        connector, schema = found
        errors = len(out.problems)
        _check_source_columns(out, name, source, schema)
        # The values that occur depend only on the source's own columns: one metric's wrong `column:`
        # must not hide another metric's misspelt event, whose 0 would then be silent.
        columns_ok = len(out.problems) == errors
        for metric_id, metric in project.metrics.items():
            if getattr(metric, "source", None) == name:
                _check_metric_columns(out, metric_id, metric, schema)
        out.problems.extend(check_columns(project, name, schema))  # columns named by the source's `checks:`
        if check_values and columns_ok:
            _check_values(out, connector, schema)
    return out.problems


def _schema(
    out: Collector, name: str, source: SourceConfig
) -> tuple[Connector, Mapping[str, ColumnKind]] | None:
    where = ("sources", name, "path" if source.type != "sql" else "url")
    try:
        connector = connect(name, source, out.project.root)
        return connector, connector.schema()
    except ConnectorError as exc:
        out.at("sources.yaml", where, str(exc), subject=Subject.source(name))
    except Exception as exc:  # a driver or file format we did not foresee: still one located line
        out.at(
            "sources.yaml",
            where,
            f"source {name!r} cannot be read: {type(exc).__name__}: {exc}",
            subject=Subject.source(name),
        )
    return None


def timestamp_kind_ok(source_type: str, kind: ColumnKind) -> bool:
    """Whether a timestamp column of this kind can be read: a date-time or a date; in an ndjson
    source also text (JSON has no date-time type; the engine parses ISO 8601)."""
    return kind in TEMPORAL or (source_type == "ndjson" and kind == "string")


def _check_source_columns(
    out: Collector, name: str, source: SourceConfig, schema: Mapping[str, ColumnKind]
) -> None:
    subject = Subject.source(name)
    for role in ("timestamp", "user", "event"):
        column = getattr(source.columns, role)
        if column is None:
            continue
        if column not in schema:
            out.at(
                "sources.yaml",
                ("sources", name, "columns", role),
                f"column {column!r} (the {role} column) is not in source {name!r}",
                did_you_mean(column, list(schema)) or f"columns found: {', '.join(sorted(schema))}",
                subject=subject,
            )
        elif role == "timestamp" and not timestamp_kind_ok(source.type, schema[column]):
            out.at(
                "sources.yaml",
                ("sources", name, "columns", role),
                f"column {column!r} holds {schema[column]} values, not timestamps",
                "point `timestamp:` at a datetime column",
                subject=subject,
            )
    for index, dim in enumerate(source.dimensions):
        if dim not in schema:
            out.at(
                "sources.yaml",
                ("sources", name, "dimensions", index),
                f"dimension {dim!r} is not a column of source {name!r}",
                did_you_mean(dim, list(schema)) or f"columns found: {', '.join(sorted(schema))}",
                subject=Subject.dimension(name, dim),
            )
        elif schema[dim] not in DIMENSION_KINDS:
            out.at(
                "sources.yaml",
                ("sources", name, "dimensions", index),
                f"dimension {dim!r} holds {schema[dim]} values; breakdowns need text, integers or booleans",
                subject=Subject.dimension(name, dim),
            )


def _check_metric_columns(
    out: Collector, metric_id: str, metric: MetricDef, schema: Mapping[str, ColumnKind]
) -> None:
    column = getattr(metric, "column", None)
    if column is None:
        return
    subject = Subject.metric(metric_id)
    where = ("metrics", metric_id, "column")
    if column not in schema:
        out.at(
            "metrics.yaml",
            where,
            f"column {column!r} is not in source {metric.source!r}",  # type: ignore[union-attr]
            did_you_mean(column, list(schema)),
            subject=subject,
        )
    elif isinstance(metric, AggregateMetric | PercentileMetric) and schema[column] not in NUMERIC:
        out.at(
            "metrics.yaml",
            where,
            f"column {column!r} holds {schema[column]} values; {metric.type} needs numbers",
            subject=subject,
        )


def _check_values(out: Collector, connector: Connector, schema: Mapping[str, ColumnKind]) -> None:
    """Warn where a definition names an event or a dimension value that never occurs in the source,
    or a filter that no row passes. Bounded: one cached distinct scan, and one row at most per filter."""
    name, source = connector.name, connector.config
    metrics = {
        m: metric
        for m, metric in out.project.metrics.items()
        if getattr(metric, "source", None) == name and Subject.metric(m) not in out.project.broken
    }
    if not any(named_values(metric) for metric in metrics.values()):
        return
    try:
        found = catalog(connector)
    except Exception as exc:  # the schema was readable; a failing scan must not stop validation
        out.at(
            "sources.yaml",
            ("sources", name),
            f"cannot list the values that occur in source {name!r}: {type(exc).__name__}: {exc}",
            value=False,
            severity="warning",
        )
        return
    for metric_id, metric in metrics.items():
        missing = False
        for key, path, value in named_values(metric):
            known = _known(found, key, source, schema)
            if known is None:
                continue
            kind = schema[source.columns.event if key == "event" else key]  # type: ignore[index]
            if filter_literal(value, kind) in known:
                continue
            missing = True
            what = f"event {value!r}" if key == "event" else f"value {value!r} of {key!r}"
            out.at(
                "metrics.yaml",
                ("metrics", metric_id, *path),
                f"{what} never occurs in source {name!r}",
                did_you_mean(str(value), [str(v) for v in known]),
                subject=Subject.metric(metric_id),
                severity="warning",
            )
        filters = metric.filter  # type: ignore[union-attr]
        plain_one = len(filters) == 1 and not any(isinstance(v, dict) for v in filters.values())
        if (
            missing
            or not filters
            or plain_one
            or any(_known(found, k, source, schema) is None for k in filters)
        ):
            continue  # a single plain key that occurs always matches a row
        try:
            matched = any_row(connector, filters)
        except Exception:
            continue
        if not matched:
            out.at(
                "metrics.yaml",
                ("metrics", metric_id, "filter"),
                f"no row of source {name!r} passes the filter of metric {metric_id!r} (its keys are ANDed)",
                "check that these values occur together, e.g. with `northstar events`",
                subject=Subject.metric(metric_id),
                value=False,
                severity="warning",
            )


def _known(
    found: SourceCatalog, key: str, source: SourceConfig, schema: Mapping[str, ColumnKind]
) -> frozenset[Any] | None:
    """The values that occur for a filter key, or None when they are not all known."""
    if key == "event":
        if source.columns.event not in schema or not found.events_complete:
            return None
        return found.event_names
    return found.values.get(key) if key in found.complete else None


# --- keep what is valid -----------------------------------------------------------------------


def prune(project: Project, problems: list[Problem]) -> Project:
    """The project without the definitions that problems disable, and without what depends on them."""
    warnings = [p for p in problems if p.severity == "warning"]
    problems = [p for p in problems if p.severity != "warning"]
    subjects = [p.subject for p in problems if p.subject is not None]
    bad_sources = {s.name for s in subjects if s.kind == "source"}
    bad_metrics = {s.name for s in subjects if s.kind == "metric"}
    bad_okrs = {s.name for s in subjects if s.kind == "okr"}
    bad_krs = {(s.name, s.part) for s in subjects if s.kind == "kr"}
    bad_dims = {(s.name, s.part) for s in subjects if s.kind == "dimension"}
    skipped: dict[str, str] = dict(project.skipped)
    for metric_id in bad_metrics:
        mine = [p for p in problems if p.subject == Subject.metric(metric_id)]
        skipped[metric_id] = left_out_words(mine, project.root)
    metrics = dict(project.metrics)
    changed = True
    while changed:
        changed = False
        for metric_id, metric in list(metrics.items()):
            reason = None
            if metric_id in bad_metrics:
                reason = skipped[metric_id]
            elif isinstance(metric, RatioMetric):
                for ref in (metric.numerator, metric.denominator):
                    if ref not in metrics:
                        reason = f"it uses {ref!r}, which is not available"
            elif metric.source in bad_sources or metric.source not in project.sources:
                mine = [p for p in problems if p.subject == Subject.source(metric.source)]
                reason = left_out_words(mine, project.root, f"its source {metric.source!r}")
            elif broken_dims := [key for key in metric.filter if (metric.source, key) in bad_dims]:
                reason = f"it filters on {broken_dims[0]!r}, a dimension of {metric.source!r} that has errors"
            if reason:
                del metrics[metric_id]
                skipped[metric_id] = reason
                changed = True
    okrs = []
    for objective in project.okrs:
        if objective.id in bad_okrs:
            continue
        krs = [kr for kr in objective.key_results if (objective.id, kr.id) not in bad_krs]
        if not krs:
            continue
        okrs.append(
            objective.model_copy(update={"key_results": krs})
            if len(krs) != len(objective.key_results)
            else objective
        )
    alerts = project.alerts
    bad_rules = {s.name for s in subjects if s.kind == "alert_rule"}
    if alerts is not None and bad_rules:
        alerts = dataclasses.replace(
            alerts, rules={k: v for k, v in alerts.rules.items() if k not in bad_rules}
        )
    return dataclasses.replace(
        project,
        alerts=alerts,
        sources={
            k: v.model_copy(update={"dimensions": [d for d in v.dimensions if (k, d) not in bad_dims]})
            for k, v in project.sources.items()
            if k not in bad_sources
        },
        metrics=metrics,
        okrs=tuple(okrs),
        problems=tuple(_unique(_ordered(problems))),
        warnings=tuple(_unique(_ordered([w for w in [*project.warnings, *warnings] if _kept(w, metrics)]))),
        skipped=skipped,
    )


def _kept(warning: Problem, metrics: Mapping[str, MetricDef]) -> bool:
    """A warning on a metric that is left out anyway is not shown (its errors say enough)."""
    subject = warning.subject
    return subject is None or subject.kind != "metric" or subject.name in metrics


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(
        problems,
        key=lambda p: (p.location.file, p.location.line, p.location.column) if p.location else ("", 0, 0),
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for problem in problems:
        key = (problem.message, problem.location)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
