"""Load a project folder: read the YAML with positions, check it in three layers, keep what is valid.

Every problem is collected with its file, line and column and reported at once. The loaded
`Project` holds only the definitions that are valid, so the dashboard can show those while it
lists the problems; the CLI's `validate` fails when there is any problem. This is the only module
that runs the validation layers and the pruning.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from connectors.files import outside_roots, unsafe_root
from connectors.models import ID_PATTERN, FileSource, SourceConfig, SparkSource, SqlSource
from metrics.definitions.models import METRIC_MODELS, Annotation, MetricDef, Objective, ProjectConfig
from metrics.definitions.problems import ConfigError, Problem, Subject, did_you_mean, left_out_words
from metrics.definitions.project import Collector, Project
from metrics.definitions.yaml_files import Reader, fields, plain, salvage_settings, top_section
from metrics.validation import check_data as data_layer
from metrics.validation import check_references, prune

if TYPE_CHECKING:  # alerts.yaml's models load with the file (`_load_alerts`): most projects have none
    from metrics.definitions.alerts import AlertsConfig, Destination, Rule

_ID = re.compile(ID_PATTERN)


# One validator per union, built on first use and kept (a TypeAdapter builds its schema when made).
@functools.cache
def _source_adapter() -> TypeAdapter[SourceConfig]:
    return TypeAdapter(SourceConfig)


@functools.cache
def _metric_adapter() -> TypeAdapter[MetricDef]:
    return TypeAdapter(MetricDef)


@functools.cache
def _destination_adapter() -> TypeAdapter[Destination]:
    from metrics.definitions.alerts import Destination

    return TypeAdapter(Destination)


@functools.cache
def _rule_adapter() -> TypeAdapter[Rule]:
    from metrics.definitions.alerts import Rule

    return TypeAdapter(Rule)


def load_project(
    root: Path | str = "config",
    *,
    env: Mapping[str, str] | None = None,
    check_data: bool = True,
    check_values: bool = True,
    files: Mapping[str, bytes] | None = None,
) -> Project:
    """Read, check and keep every valid definition. Never raises for bad input. `check_values=False`
    skips the warnings that need the data's values (one scan per source; commands that only compute).
    `files` (file name -> bytes) replaces the folder's YAML files, e.g. with those of a git revision
    (`metrics.diff.revisions`); paths in them still resolve against `root`."""
    root = Path(root)
    environ = os.environ if env is None else env
    reader = Reader(root, environ, files)
    if not root.is_dir():
        problem = Problem(
            f"config folder {root} does not exist",
            None,
            "pass --config DIR pointing at the folder with sources.yaml and metrics.yaml",
        )
        return Project(root, ProjectConfig(), {}, {}, problems=(problem,))

    project_tree = reader.read("project.yaml")
    settings = ProjectConfig()
    if project_tree is not None:
        if isinstance(project_tree, CommentedMap):
            try:
                settings = ProjectConfig.model_validate(plain(project_tree))
            except ValidationError as exc:
                reader.schema_errors("project.yaml", (), exc, fields(ProjectConfig))
                settings = salvage_settings(project_tree)
        else:
            reader.add("project.yaml", (), "project.yaml must be a mapping of settings")

    source_adapter = _source_adapter()

    sources: dict[str, SourceConfig] = {}
    section = top_section(reader, "sources.yaml", reader.read("sources.yaml"), "sources", CommentedMap)
    for name, raw in (section or {}).items():
        if not isinstance(name, str) or not _ID.match(name):
            reader.add(
                "sources.yaml",
                ("sources", name),
                f"{name!r} is not a valid source id",
                "ids are lower snake_case: start with a letter, then letters, digits or _",
            )
            continue
        if Subject.source(name) in reader.broken:
            continue  # its problem is reported (a duplicate key, an unset variable...)
        try:
            sources[name] = source_adapter.validate_python(plain(raw))
        except ValidationError as exc:
            found = len(reader.problems)
            reader.schema_errors(
                "sources.yaml", ("sources", name), exc, fields(FileSource, SqlSource, SparkSource)
            )
            reader.broken.add(Subject.source(name))
            if (rest := _without_checks(source_adapter, raw, exc)) is not None:
                # Only `checks:` is wrong: the rest is checked against the data too, so every problem
                # of the source is reported at once; its errors, which name it, still leave it out
                # (`prune`), so none of its checks runs with defaults in place of the broken ones.
                sources[name] = rest
                reader.broken.discard(Subject.source(name))
                reader.problems[found:] = [
                    dataclasses.replace(p, subject=Subject.source(name)) for p in reader.problems[found:]
                ]

    data_roots = []
    for index, folder in enumerate(settings.data_roots):
        if why := unsafe_root(folder, root):
            reader.add(
                "project.yaml",
                ("data_roots", index),
                why,
                "list only the folders that hold data",
                at_value=True,
            )
        else:
            data_roots.append(folder)
    for name, source in list(sources.items()):
        if isinstance(source, FileSource) and (why := outside_roots(source.path, root, data_roots)):
            if project_tree is None and (root / "project.yaml").exists():  # unreadable: roots unknown
                del sources[name]
                reader.broken.add(Subject.source(name))
                continue
            reader.add(
                "sources.yaml",
                ("sources", name, "path"),
                f"source {name!r}: {why}",
                "move the data into the project folder, or list its folder under `data_roots:` in project.yaml",
                at_value=True,
                subject=Subject.source(name),
            )

    metric_adapter = _metric_adapter()

    metric_fields = fields(*METRIC_MODELS)
    metrics: dict[str, MetricDef] = {}
    invalid: dict[str, str] = {}
    section = top_section(reader, "metrics.yaml", reader.read("metrics.yaml"), "metrics", CommentedMap)
    for name, raw in (section or {}).items():
        if not isinstance(name, str) or not _ID.match(name):
            reader.add(
                "metrics.yaml",
                ("metrics", name),
                f"{name!r} is not a valid metric id",
                "ids are lower snake_case: start with a letter, then letters, digits or _",
            )
            continue
        before = len(reader.problems)
        if not isinstance(raw, CommentedMap):
            reader.add("metrics.yaml", ("metrics", name), f"metric {name!r} must be a mapping with a `type:`")
            invalid[name] = left_out_words(reader.problems[before:], root)
            continue
        if Subject.metric(name) in reader.broken:
            mine = [p for p in reader.problems if p.subject == Subject.metric(name)]
            invalid[name] = left_out_words(mine, root)
            continue
        try:
            metrics[name] = metric_adapter.validate_python(plain(raw))
        except ValidationError as exc:
            reader.schema_errors("metrics.yaml", ("metrics", name), exc, metric_fields)
            invalid[name] = left_out_words(reader.problems[before:], root)

    okrs: list[Objective] = []
    section = top_section(reader, "okrs.yaml", reader.read("okrs.yaml"), "okrs", CommentedSeq)
    for index, raw in enumerate(section or []):
        if isinstance(raw, CommentedMap) and Subject.okr(str(raw.get("id"))) in reader.broken:
            continue
        try:
            okrs.append(Objective.model_validate(plain(raw)))
        except ValidationError as exc:
            reader.schema_errors("okrs.yaml", ("okrs", index), exc, fields(Objective))
            reader.broken.add(Subject.okr(str(index)))

    # alerts.yaml is read apart, so editing an alert leaves the definitions' fingerprint alone
    alerts_reader = Reader(root, environ, files)
    alerts = _load_alerts(alerts_reader)
    reader.problems += alerts_reader.problems
    reader.broken |= {s for s in alerts_reader.broken if s != Subject.file("alerts.yaml")}
    annotations = _read_annotations(reader)

    project = Project(
        root=root,
        settings=settings,
        sources=sources,
        metrics=metrics,
        okrs=tuple(okrs),
        annotations=annotations,
        problems=tuple(reader.problems),
        skipped=invalid,
        broken=frozenset({*reader.broken, *(Subject.metric(m) for m in invalid)}),
        fingerprint=reader.text_hash.hexdigest()[:16],
        trees={**reader.trees, **alerts_reader.trees},
        alerts=alerts,
    )
    problems = list(reader.problems)
    project, problems_of_days = resolve_annotation_days(project)
    problems += problems_of_days
    problems += check_references(project)
    if check_data:
        problems += data_layer(project, check_values=check_values)
    return prune(project, problems)


def _without_checks(
    adapter: TypeAdapter[SourceConfig], raw: Any, exc: ValidationError
) -> SourceConfig | None:
    """The source without its `checks:` block when every error is inside that block and the rest
    is valid (None otherwise): what the later layers check, so a wrong column is not hidden behind a
    typo in `checks:`."""
    if not isinstance(raw, CommentedMap) or not all("checks" in e["loc"][:2] for e in exc.errors()):
        return None
    try:
        return adapter.validate_python({k: v for k, v in plain(raw).items() if k != "checks"})
    except ValidationError:
        return None


ALERTS_FILE = "alerts.yaml"
_ALERT_SECTIONS = ("rules", "destinations", "delivery")


def _load_alerts(reader: Reader) -> AlertsConfig | None:
    """alerts.yaml's valid rules and destinations (None without the file). Each rule and destination
    is checked apart, so one mistake leaves out only its own definition; a `url` or `password`
    written in the file itself (not as `${VAR}`) is an error: they are credentials."""
    file = ALERTS_FILE
    if not reader.exists(file):
        return None
    from metrics.definitions.alerts import (
        DESTINATION_MODELS,
        RULE_MODELS,
        SECRET_FIELDS,
        AlertsConfig,
        DeliverySettings,
    )

    tree = reader.read(file)
    if tree is None:
        return AlertsConfig()
    if not isinstance(tree, CommentedMap):
        reader.add(file, (), f"{file} must be a mapping with `rules:` and `destinations:`")
        return AlertsConfig()
    for key in tree:
        if key not in _ALERT_SECTIONS:
            reader.add(
                file,
                (key,),
                f"unknown top-level key {key!r}",
                did_you_mean(str(key), _ALERT_SECTIONS) or f"{file} holds {', '.join(_ALERT_SECTIONS)}",
            )
    delivery = DeliverySettings()
    if tree.get("delivery") is not None:
        try:
            delivery = DeliverySettings.model_validate(plain(tree["delivery"]))
        except ValidationError as exc:
            reader.schema_errors(file, ("delivery",), exc, fields(DeliverySettings))

    destinations: dict[str, Destination] = {}
    adapter_d = _destination_adapter()
    for name, raw in _alert_section(reader, tree, "destinations").items():
        subject = Subject.alert_destination(str(name))
        if not _alert_id(reader, "destinations", name) or subject in reader.broken:
            continue
        written = [
            key
            for key in SECRET_FIELDS
            if isinstance(raw, CommentedMap)
            and key in raw
            and (file, ("destinations", name, key)) not in reader.expanded
        ]
        for key in sorted(written):
            reader.add(
                file,
                ("destinations", name, key),
                f"destination {name!r}: `{key}` is a credential and may not be written in the file",
                f"write `{key}: ${{{name.upper()}_{key.upper()}}}` and set that variable where northstar runs",
                at_value=True,
                subject=subject,
            )
        if written:
            continue
        try:
            destinations[name] = adapter_d.validate_python(plain(raw))
        except ValidationError as exc:
            reader.schema_errors(file, ("destinations", name), exc, fields(*DESTINATION_MODELS))
            reader.broken.add(subject)

    rules: dict[str, Rule] = {}
    adapter_r = _rule_adapter()
    for name, raw in _alert_section(reader, tree, "rules").items():
        if not _alert_id(reader, "rules", name) or Subject.alert_rule(str(name)) in reader.broken:
            continue
        try:
            rules[name] = adapter_r.validate_python(plain(raw))
        except ValidationError as exc:
            reader.schema_errors(file, ("rules", name), exc, fields(*RULE_MODELS))
            reader.broken.add(Subject.alert_rule(name))
    return AlertsConfig(rules=rules, destinations=destinations, delivery=delivery)


def _alert_section(reader: Reader, tree: CommentedMap, key: str) -> CommentedMap:
    section = tree.get(key)
    if section is None:
        return CommentedMap()
    if not isinstance(section, CommentedMap):
        reader.add(ALERTS_FILE, (key,), f"`{key}:` must be a mapping of ids to definitions", at_value=True)
        return CommentedMap()
    return section


def _alert_id(reader: Reader, section: str, name: Any) -> bool:
    if isinstance(name, str) and _ID.match(name):
        return True
    reader.add(
        ALERTS_FILE,
        (section, name),
        f"{name!r} is not a valid id",
        "ids are lower snake_case: start with a letter, then letters, digits or _",
    )
    return False


# --- annotations.yaml (optional) ------------------------------------------------------------------


def _read_annotations(reader: Reader) -> dict[str, Annotation]:
    """Each valid annotation of annotations.yaml by id; the file is optional."""
    out: dict[str, Annotation] = {}
    file = "annotations.yaml"
    section = top_section(reader, file, reader.read(file), "annotations", CommentedMap)
    for name, raw in (section or {}).items():
        if not isinstance(name, str) or not _ID.match(name):
            reader.add(
                file,
                ("annotations", name),
                f"{name!r} is not a valid annotation id",
                "ids are lower snake_case: start with a letter, then letters, digits or _",
            )
            continue
        if not isinstance(raw, CommentedMap):
            reader.add(
                file,
                ("annotations", name),
                f"annotation {name!r} must be a mapping with `label:` and `date:`",
            )
            continue
        if Subject.annotation(name) in reader.broken:
            continue  # its problem is reported (a duplicate key...)
        try:
            out[name] = Annotation.model_validate(plain(raw))
        except ValidationError as exc:
            reader.schema_errors(file, ("annotations", name), exc, fields(Annotation))
    return out


def resolve_annotation_days(project: Project) -> tuple[Project, list[Problem]]:
    """Turn `data_start+Nd` into dates (the first day of the data of every source, in the project's
    time zone, read once and only when an annotation needs it), and leave out the annotations whose
    end is before their date or whose day cannot be resolved, each with a located problem."""
    out = Collector(project)
    data_start: dt.date | None = None
    why: str | None = None
    if any(a.relative for a in project.annotations.values()):
        data_start, why = _data_start(project)
    kept: dict[str, Annotation] = {}
    for name, annotation in project.annotations.items():
        where = ("annotations", name)
        if annotation.relative:
            if data_start is None:
                if why is None:  # no source could be read: their own problems say why
                    continue
                field = "date" if isinstance(annotation.date, str) else "end"
                out.at(
                    "annotations.yaml",
                    (*where, field),
                    f"annotation {name!r} counts its days from data_start, which is unknown: {why}",
                    "write the date as YYYY-MM-DD",
                )
                continue
            annotation = annotation.resolved(data_start)
        if annotation.last < annotation.first:
            out.at(
                "annotations.yaml",
                (*where, "end"),
                f"annotation {name!r} ends ({annotation.last}) before its date ({annotation.first})",
                "`end:` is the last day of the event, on or after `date:`",
            )
            continue
        kept[name] = annotation
    return dataclasses.replace(project, annotations=kept), out.problems


def _data_start(project: Project) -> tuple[dt.date | None, str | None]:
    """The first local day of the data of all the project's metrics, or why it cannot be read."""
    from metrics.engine import Engine

    readable = [m for m in project.metrics if project.source_of(m) <= set(project.sources)]
    if not readable:
        # a follow-up of the problems that left out the sources or metrics, unless there are none
        return None, None if project.broken else "the project has no valid metric whose data could be read"
    try:
        return Engine(project).data_range(readable)[0], None
    except Exception as exc:  # an unreadable source: its own problem is reported
        return None, str(exc) or type(exc).__name__


def project_from_dicts(
    *,
    sources: Mapping[str, Any],
    metrics: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    okrs: list[Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    root: Path | str = ".",
) -> Project:
    """Build a valid project in code (tests, notebooks). Raises ConfigError on any problem."""
    adapter_s, adapter_m = _source_adapter(), _metric_adapter()
    try:
        project = Project(
            root=Path(root),
            settings=ProjectConfig.model_validate(settings or {}),
            sources={k: adapter_s.validate_python(v) for k, v in sources.items()},
            metrics={k: adapter_m.validate_python(v) for k, v in metrics.items()},
            okrs=tuple(Objective.model_validate(o) for o in okrs or []),
            annotations={k: Annotation.model_validate(v) for k, v in (annotations or {}).items()},
        )
    except ValidationError as exc:
        raise ConfigError([Problem(str(exc))]) from exc
    project, problems = resolve_annotation_days(project)
    problems += check_references(project)
    if problems:
        raise ConfigError(problems)
    return project
