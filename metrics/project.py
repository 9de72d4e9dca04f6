"""Load a project folder: parse the YAML with positions, check it in three layers, keep what is valid.

Every problem is collected with its file, line and column and reported at once. The loaded
`Project` holds only the definitions that are valid, so the dashboard can show those while it
lists the problems; the CLI's `validate` fails when there is any problem.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError

from connectors.models import ID_PATTERN, SOURCE_TYPES, SourceConfig
from metrics.models import (
    METRIC_TYPES,
    MetricDef,
    Objective,
    ProjectConfig,
)

FILES = ("project.yaml", "sources.yaml", "metrics.yaml", "okrs.yaml")
REQUIRED_FILES = ("sources.yaml", "metrics.yaml")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    message: str
    location: Location | None = None
    hint: str | None = None
    subject: str | None = field(
        default=None, compare=False
    )  # "metric:x", "source:y", "okr:z": what it disables

    def __str__(self) -> str:
        place = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{place}{self.message}{hint}"

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "message": self.message,
            "hint": self.hint,
        }


class ConfigError(Exception):
    """The project has problems; `problems` lists every one with its place."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, options: Iterator[str] | list[str] | tuple[str, ...] | set[str]) -> str | None:
    matches = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None


@dataclass(frozen=True)
class Project:
    """A loaded project: its valid definitions, the problems found, and where each node was written."""

    root: Path
    settings: ProjectConfig
    sources: Mapping[str, SourceConfig]
    metrics: Mapping[str, MetricDef]
    okrs: tuple[Objective, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)  # metric id -> why it is left out
    # what failed to load: "file:metrics.yaml", "source:events", "metric:dau", ... (no follow-up errors on them)
    broken: frozenset[str] = frozenset()
    fingerprint: str = ""  # hash of the YAML text: changes whenever a definition changes
    trees: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def require_valid(self) -> Project:
        if self.problems:
            raise ConfigError(self.problems)
        return self

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

    def source_of(self, metric_id: str) -> set[str]:
        """The sources a metric reads (both parts of a ratio, recursively)."""
        metric = self.metrics[metric_id]
        if metric.type == "ratio":
            return self.source_of(metric.numerator) | self.source_of(metric.denominator)
        return {metric.source}

    @classmethod
    def from_dicts(
        cls,
        *,
        sources: Mapping[str, Any],
        metrics: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        okrs: list[Any] | None = None,
        root: Path | str = ".",
    ) -> Project:
        """Build a valid project in code (tests, notebooks). Raises ConfigError on any problem."""
        adapter_s: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)
        adapter_m: TypeAdapter[MetricDef] = TypeAdapter(MetricDef)
        try:
            project = cls(
                root=Path(root),
                settings=ProjectConfig.model_validate(settings or {}),
                sources={k: adapter_s.validate_python(v) for k, v in sources.items()},
                metrics={k: adapter_m.validate_python(v) for k, v in metrics.items()},
                okrs=tuple(Objective.model_validate(o) for o in okrs or []),
            )
        except ValidationError as exc:
            raise ConfigError([Problem(str(exc))]) from exc
        from metrics.validation import check_references

        problems = check_references(project)
        if problems:
            raise ConfigError(problems)
        return project


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
        subject: str | None = None,
        value: bool = True,
    ) -> None:
        """Record a problem at `path` in `file`: at the value (`value=True`) or at the key."""
        tree = self.project.trees.get(file)
        if tree is None:
            loc = None
        elif value:
            loc = value_location(self.project.root, file, tree, path)
        else:
            loc = locate(self.project.root, file, tree, path)
        self.problems.append(Problem(message, loc, hint, subject))


def locate(root: Path, file: str, tree: Any, path: tuple[Any, ...] | list[Any]) -> Location:
    """Line and column of the deepest node of `path` that exists; keys point at the key itself."""
    display = _display(root, file)
    line, col = 0, 0
    node = tree
    for part in path:
        if isinstance(node, CommentedMap):
            if part in node:
                line, col = node.lc.key(part)
                node = node[part]
                continue
            if node.get("type") == part:  # pydantic's discriminator tag in an error location
                continue
            break
        if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
            continue
        break
    return Location(display, line + 1, col + 1)


def value_location(root: Path, file: str, tree: Any, path: tuple[Any, ...]) -> Location:
    """Like `locate`, but for a mapping key return where its value starts (`type: cout` -> `cout`)."""
    *parent_path, last = path
    parent: Any = tree
    for part in parent_path:
        if isinstance(parent, CommentedMap | CommentedSeq):
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                return locate(root, file, tree, path)
    if isinstance(parent, CommentedMap) and last in parent:
        value = parent[last]
        if isinstance(value, CommentedMap | CommentedSeq):
            line, col = value.lc.line, value.lc.col
        else:
            line, col = parent.lc.value(last)
        return Location(_display(root, file), line + 1, col + 1)
    return locate(root, file, tree, path)


class _DatesAsText(RoundTripConstructor):
    """Leave dates as text so pydantic parses them and reports an impossible date at its place."""


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _item_of(file: str, path: tuple[Any, ...]) -> str:
    """The definition a node belongs to: "source:events", "metric:dau", "okr:2", or the file."""
    kinds = {"sources.yaml": "source", "metrics.yaml": "metric", "okrs.yaml": "okr"}
    if file in kinds and len(path) >= 2:
        return f"{kinds[file]}:{path[1]}"
    return f"file:{file}"


def _display(root: Path, file: str) -> str:
    path = root / file
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- layer (a): syntax and schema -----------------------------------------------------------


class _Reader:
    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = env
        self.problems: list[Problem] = []
        self.trees: dict[str, Any] = {}
        self.text_hash = hashlib.sha256()
        self.broken: set[str] = set()

    def add(
        self,
        file: str,
        path: tuple[Any, ...],
        message: str,
        hint: str | None = None,
        *,
        at_value: bool = False,
    ) -> None:
        tree = self.trees.get(file)
        loc = value_location(self.root, file, tree, path) if at_value else locate(self.root, file, tree, path)
        self.problems.append(Problem(message, loc, hint))

    def read(self, file: str) -> Any:
        path = self.root / file
        if not path.exists():
            self.broken.add(f"file:{file}")
            if file in REQUIRED_FILES:
                self.problems.append(
                    Problem(
                        f"{file} is missing",
                        Location(_display(self.root, file), 1, 1),
                        f"every project folder needs {', '.join(REQUIRED_FILES)}",
                    )
                )
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(
                Problem(f"cannot read {file}: {exc}", Location(_display(self.root, file), 1, 1))
            )
            return None
        self.text_hash.update(file.encode() + b"\0" + text.encode() + b"\0")
        yaml = YAML(typ="rt")
        yaml.Constructor = _DatesAsText
        try:
            tree = yaml.load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = (exc.problem or exc.context or "invalid YAML").strip()
            hint = None
            if "\\t" in message or "'\\t'" in message or "\t" in message:
                message, hint = "a tab character is not allowed for indentation", "indent with spaces"
            elif "duplicate key" in message:
                key = re.search(r'duplicate key "([^"]*)"', message)
                first = exc.context_mark
                message = f"duplicate key {key.group(1)!r}" if key else message
                hint = f"first defined on line {first.line + 1}" if first else None
            else:
                message = f"YAML syntax error: {message}"
                hint = "check the indentation and the colons on this line and the line before"
            self.problems.append(Problem(message, Location(_display(self.root, file), line, col), hint))
            self.broken.add(f"file:{file}")
            return None
        except Exception as exc:  # ruamel raises a few non-marked errors for odd input
            self.problems.append(
                Problem(f"cannot parse {file}: {exc}", Location(_display(self.root, file), 1, 1))
            )
            return None
        self.trees[file] = tree
        if tree is None:
            tree = CommentedMap()
            self.trees[file] = tree
        self._expand_env(file, tree, ())
        return tree

    def _expand_env(self, file: str, node: Any, path: tuple[Any, ...]) -> None:
        items: list[tuple[str | int, Any]]
        if isinstance(node, CommentedMap):
            items = list(node.items())
        elif isinstance(node, CommentedSeq):
            items = list(enumerate(node))
        else:
            return
        for key, value in items:
            if isinstance(value, str) and "${" in value:
                missing = [name for name in _ENV.findall(value) if name not in self.env]
                for name in missing:
                    self.add(
                        file,
                        (*path, key),
                        f"environment variable {name} is not set",
                        f"export {name}=... before running northstar",
                        at_value=True,
                    )
                if missing:
                    self.broken.add(_item_of(file, (*path, key)))
                else:
                    node[key] = _ENV.sub(lambda m: self.env[m.group(1)], value)
            else:
                self._expand_env(file, value, (*path, key))

    def schema_errors(
        self, file: str, base: tuple[Any, ...], exc: ValidationError, allowed: set[str]
    ) -> None:
        errors = exc.errors()
        # A misspelt required key shows up twice (unknown key + missing field): report the typo only.
        suggested = {
            (e["loc"][:-1], m[0])
            for e in errors
            if e["type"] == "extra_forbidden"
            and (m := difflib.get_close_matches(str(e["loc"][-1]), sorted(allowed), n=1, cutoff=0.6))
        }
        errors = _merge_union_errors(errors)
        for error in errors:
            if error["type"] == "missing" and (error["loc"][:-1], str(error["loc"][-1])) in suggested:
                continue
            loc = (*base, *error["loc"])
            kind = error["type"]
            message = error["msg"]
            at_value = True
            hint: str | None = None
            field_name = str(error["loc"][-1]) if error["loc"] else ""
            if kind == "extra_forbidden":
                message, at_value = f"unknown key {field_name!r}", False
                hint = did_you_mean(field_name, allowed)
            elif kind == "missing":
                parent = loc[:-1]
                loc = parent
                at_value = False
                message = f"missing required field {field_name!r}"
            elif kind == "union_tag_invalid":
                tag = error.get("ctx", {}).get("tag", "")
                options = METRIC_TYPES if file == "metrics.yaml" else SOURCE_TYPES
                loc = (*loc, "type")
                message = f"unknown {'metric' if file == 'metrics.yaml' else 'source'} type {tag!r}"
                hint = did_you_mean(tag, options) or f"use one of: {', '.join(options)}"
            elif kind == "union_tag_not_found":
                message = "missing required field 'type'"
                at_value = False
                options = METRIC_TYPES if file == "metrics.yaml" else SOURCE_TYPES
                hint = f"use one of: {', '.join(options)}"
            elif kind == "string_pattern_mismatch":
                message = f"{error['input']!r} is not a valid id"
                hint = "ids are lower snake_case: start with a letter, then letters, digits or _"
                at_value = False
            elif kind.startswith("value_error"):
                message = message.removeprefix("Value error, ")
                message = message[:1].upper() + message[1:] if message.startswith("`") else message
            elif kind in {"date_from_datetime_parsing", "date_parsing", "date_type"}:
                message = f"{error['input']!r} is not a real date; write it as YYYY-MM-DD"
            elif kind in _TYPE_WORDS:
                message = f"`{field_name}` should be {_TYPE_WORDS[kind]}, not {_describe(error['input'])}"
            elif kind == "literal_error":
                expected = error.get("ctx", {}).get("expected", "")
                message = f"{error['input']!r} is not allowed here; expected {expected}"
                options_found = re.findall(r"'([^']+)'", str(expected))
                hint = did_you_mean(str(error["input"]), options_found) if options_found else None
            else:
                message = message[:1].lower() + message[1:]
                message = message.replace("input should be", "should be").replace(" after validation", "")
                message = f"`{field_name}` {message}" if field_name and not field_name.isdigit() else message
            self.add(file, loc, message, hint, at_value=at_value)


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def _merge_union_errors(errors: list[Any]) -> list[Any]:
    """Pydantic reports a bad union value once per member; say it once, at the value.

    Member tags (`str`, `list[...]`, `PeriodRange`) are not keys of the YAML, so errors that differ only
    in such a tag are one problem. A value error among them is the most specific message.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for error in errors:
        loc = tuple(part for part in error["loc"] if not _is_member_tag(part))
        groups.setdefault(loc, []).append(error)
    deeper = {loc[:i] for loc in groups for i in range(len(loc))}
    merged: list[Any] = []
    for loc, group in groups.items():
        if len(group) < len(errors) and loc in deeper and all(e["type"] in _TYPE_WORDS for e in group):
            continue  # a union member failed deeper down: that error says more
        if len(group) == 1:
            merged.append({**group[0], "loc": loc})
            continue
        specific = [e for e in group if e["type"].startswith("value_error") or e["type"] == "missing"]
        if specific:
            merged.extend({**e, "loc": loc} for e in specific)
            continue
        words = list(dict.fromkeys(_TYPE_WORDS.get(e["type"], e["type"]) for e in group))
        if "a number" in words and "a whole number" in words:
            words.remove("a whole number")
        expected = ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
        merged.append(
            {
                "type": "value_error",
                "loc": loc,
                "msg": f"`{name}` should be {expected}, not {_describe(group[0]['input'])}",
                "input": group[0]["input"],
            }
        )
    return merged


def _is_member_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "PeriodRange", "date"}
        or part.startswith(("list[", "dict[", "function-", "constrained-"))
    )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _fields(*models: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    stack = list(models)
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            out.add(name)
            for arg in _model_args(info.annotation):
                stack.append(arg)
    return out


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_args(arg))
    metadata = getattr(annotation, "__metadata__", None)
    if metadata is not None:
        found.extend(_model_args(getattr(annotation, "__origin__", None)))
    return found


def _section(reader: _Reader, file: str, tree: Any, key: str, kind: type) -> Any:
    if tree is None:
        return None
    if not isinstance(tree, CommentedMap):
        reader.add(file, (), f"{file} must be a mapping with a top-level `{key}:` key")
        reader.broken.add(f"file:{file}")
        return None
    for extra in tree:
        if extra != key:
            reader.add(
                file,
                (extra,),
                f"unknown top-level key {extra!r}",
                did_you_mean(str(extra), [key]) or f"{file} holds only `{key}:`",
            )
    if key not in tree:
        if not any(did_you_mean(str(extra), [key]) for extra in tree):
            reader.add(file, (), f"{file} has no `{key}:` key")
        reader.broken.add(f"file:{file}")
        return None
    section = tree[key]
    if section is None:
        return kind()
    if not isinstance(section, kind):
        reader.add(
            file, (key,), f"`{key}:` must be a {'mapping' if kind is CommentedMap else 'list'}", at_value=True
        )
        reader.broken.add(f"file:{file}")
        return None
    return section


def load_project(
    root: Path | str = "config", *, env: Mapping[str, str] | None = None, check_data: bool = True
) -> Project:
    """Read, check and keep every valid definition. Never raises for bad input."""
    root = Path(root)
    environ = os.environ if env is None else env
    reader = _Reader(root, environ)
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
                settings = ProjectConfig.model_validate(_plain(project_tree))
            except ValidationError as exc:
                reader.schema_errors("project.yaml", (), exc, _fields(ProjectConfig))
                settings = _salvage_settings(project_tree)
        else:
            reader.add("project.yaml", (), "project.yaml must be a mapping of settings")

    source_adapter: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)
    from connectors.models import FileSource, SqlSource

    sources: dict[str, SourceConfig] = {}
    section = _section(reader, "sources.yaml", reader.read("sources.yaml"), "sources", CommentedMap)
    for name, raw in (section or {}).items():
        if not isinstance(name, str) or not _ID.match(name):
            reader.add(
                "sources.yaml",
                ("sources", name),
                f"{name!r} is not a valid source id",
                "ids are lower snake_case: start with a letter, then letters, digits or _",
            )
            continue
        try:
            sources[name] = source_adapter.validate_python(_plain(raw))
        except ValidationError as exc:
            reader.schema_errors("sources.yaml", ("sources", name), exc, _fields(FileSource, SqlSource))
            reader.broken.add(f"source:{name}")

    metric_adapter: TypeAdapter[MetricDef] = TypeAdapter(MetricDef)
    from metrics.models import METRIC_MODELS

    metric_fields = _fields(*METRIC_MODELS)
    metrics: dict[str, MetricDef] = {}
    invalid: dict[str, str] = {}
    section = _section(reader, "metrics.yaml", reader.read("metrics.yaml"), "metrics", CommentedMap)
    for name, raw in (section or {}).items():
        if not isinstance(name, str) or not _ID.match(name):
            reader.add(
                "metrics.yaml",
                ("metrics", name),
                f"{name!r} is not a valid metric id",
                "ids are lower snake_case: start with a letter, then letters, digits or _",
            )
            continue
        if not isinstance(raw, CommentedMap):
            reader.add("metrics.yaml", ("metrics", name), f"metric {name!r} must be a mapping with a `type:`")
            invalid[name] = "its definition has errors"
            continue
        try:
            metrics[name] = metric_adapter.validate_python(_plain(raw))
        except ValidationError as exc:
            reader.schema_errors("metrics.yaml", ("metrics", name), exc, metric_fields)
            invalid[name] = "its definition has errors"

    okrs: list[Objective] = []
    section = _section(reader, "okrs.yaml", reader.read("okrs.yaml"), "okrs", CommentedSeq)
    for index, raw in enumerate(section or []):
        try:
            okrs.append(Objective.model_validate(_plain(raw)))
        except ValidationError as exc:
            reader.schema_errors("okrs.yaml", ("okrs", index), exc, _fields(Objective))
            reader.broken.add(f"okr:{index}")

    project = Project(
        root=root,
        settings=settings,
        sources=sources,
        metrics=metrics,
        okrs=tuple(okrs),
        problems=tuple(reader.problems),
        skipped=invalid,
        broken=frozenset({*reader.broken, *(f"metric:{m}" for m in invalid)}),
        fingerprint=reader.text_hash.hexdigest()[:16],
        trees=reader.trees,
    )
    from metrics.validation import check_data as data_layer
    from metrics.validation import prune

    problems = list(reader.problems)
    from metrics.validation import check_references

    problems += check_references(project)
    if check_data:
        problems += data_layer(project)
    return prune(project, problems)


def _salvage_settings(tree: CommentedMap) -> ProjectConfig:
    """Keep the valid project settings when some are not (so the rest of the project still loads)."""
    good: dict[str, Any] = {}
    for key, value in _plain(tree).items():
        try:
            ProjectConfig.model_validate({**good, key: value})
            good[key] = value
        except ValidationError:
            continue
    return ProjectConfig.model_validate(good)


def _plain(node: Any) -> Any:
    """CommentedMap/Seq -> dict/list; ruamel's timestamp -> date or datetime."""
    if isinstance(node, CommentedMap):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, dt.datetime):
        return dt.datetime(node.year, node.month, node.day, node.hour, node.minute, node.second)
    if isinstance(node, str):
        return str(node)
    return node
