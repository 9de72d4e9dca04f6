"""Layer (a) of validation: read a project's YAML files with positions, expand `${VAR}`, and turn
pydantic's schema errors into located problems a PM can act on."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from connectors.models import SOURCE_TYPES
from metrics.definitions.models import METRIC_TYPES, ProjectConfig
from metrics.definitions.positions import display_path, locate, value_location
from metrics.definitions.problems import Location, Problem, Subject, did_you_mean
from metrics.definitions.project import REQUIRED_FILES

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# A YAML file of definitions; larger ones are refused before parsing. ruamel reads round-trip YAML at
# roughly 30-100 KB/s, so this bounds a load to seconds (the demo's metrics.yaml is 6 KB).
MAX_FILE_BYTES = 512 * 1024
MAX_ALIAS_NODES = 10_000  # nodes that aliases (`*name`) may add to a file once expanded


class TooManyAliasNodes(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__("YAML aliases expand too far")
        self.mark = mark


class _DatesAsText(RoundTripConstructor):
    """Leave dates as text so pydantic parses them and reports an impossible date at its place.

    Before building anything it counts what aliases add (an "alias bomb" of a few KB expands to
    billions of nodes) and refuses a document beyond MAX_ALIAS_NODES.
    """

    duplicates: list[tuple[tuple[Any, ...], Any, Any, int | None]]  # (mapping's path, key, mark, first line)

    def get_single_data(self) -> Any:
        node = self.composer.get_single_node()
        if node is None:
            return None
        _check_alias_expansion(node)
        self.paths = _mapping_paths(node)
        self.duplicates = []
        return self.construct_document(node)

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        """Note a duplicate key (its definition is dropped by the reader) and keep the first value."""
        if key in mapping:
            try:
                first: int | None = mapping.lc.key(key)[0] + 1
            except (AttributeError, KeyError, TypeError):
                first = None
            self.duplicates.append((self.paths.get(id(node), ()), key, key_node.start_mark, first))
            return False
        return True


def _mapping_paths(root: Node) -> dict[int, tuple[Any, ...]]:
    """Where each mapping node of a composed document stands (keys and list indexes)."""
    paths: dict[int, tuple[Any, ...]] = {}
    pending: list[tuple[Node, tuple[Any, ...]]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if id(node) in paths:
            continue
        if isinstance(node, MappingNode):
            paths[id(node)] = path
            pending += [(value, (*path, key.value)) for key, value in node.value]
        elif isinstance(node, SequenceNode):
            paths[id(node)] = path
            pending += [(item, (*path, index)) for index, item in enumerate(node.value)]
    return paths


def _check_alias_expansion(root: Node) -> None:
    """Raise TooManyAliasNodes, marked at the collection holding the alias that passes the budget.

    The composed graph shares an anchored node among its aliases, so sizes are counted once per
    node (linear time) while the nodes that aliases add are summed as they would be built."""
    sizes: dict[int, int] = {}
    added = 0

    def size(node: Node, parent: Node) -> int:
        nonlocal added
        known = sizes.get(id(node))
        if known is not None:  # a second visit is an alias: it adds a copy of the whole subtree
            added += known
            if added > MAX_ALIAS_NODES:
                raise TooManyAliasNodes(parent.start_mark)
            return known
        sizes[id(node)] = 1  # while in progress (a recursive alias counts as one node)
        total = 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                total += size(key, node) + size(value, node)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item, node)
        sizes[id(node)] = total
        return total

    size(root, root)


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _item_of(file: str, path: tuple[Any, ...]) -> Subject:
    """The definition a node belongs to: a source, a metric, an objective (by index), or the file."""
    if len(path) >= 2:
        if file == "sources.yaml":
            return Subject.source(str(path[1]))
        if file == "metrics.yaml":
            return Subject.metric(str(path[1]))
        if file == "okrs.yaml":
            return Subject.okr(str(path[1]))
        if file == "alerts.yaml" and path[0] == "rules":
            return Subject.alert_rule(str(path[1]))
        if file == "alerts.yaml" and path[0] == "destinations":
            return Subject.alert_destination(str(path[1]))
        if file == "annotations.yaml":
            return Subject.annotation(str(path[1]))
    return Subject.file(file)


ALERT_CONNECTION_FIELDS = frozenset({"url", "password", "username", "host"})


def is_connection_field(file: str, path: tuple[Any, ...]) -> bool:
    """Where `${NAME}` is expanded: a source's `url`, the sign-in settings under project.yaml's
    `auth:`, and an alerts.yaml destination's `url`, `host`, `username` and `password`. Nowhere else,
    so no label, description or title can publish the server's environment."""
    if file == "sources.yaml":
        return len(path) == 3 and path[0] == "sources" and path[2] == "url"
    if file == "alerts.yaml":
        return len(path) == 3 and path[0] == "destinations" and path[2] in ALERT_CONNECTION_FIELDS
    return file == "project.yaml" and len(path) >= 2 and path[0] == "auth"


# --- layer (a): syntax and schema -----------------------------------------------------------


class Reader:
    """Reads the project's files from `root`, or from `files` (a file name -> its bytes, e.g. the
    files at a git revision) while paths inside them still resolve against `root`."""

    def __init__(self, root: Path, env: Mapping[str, str], files: Mapping[str, bytes] | None = None) -> None:
        self.root = root
        self.env = env
        self.files = files
        self.problems: list[Problem] = []
        self.trees: dict[str, Any] = {}
        self.text_hash = hashlib.sha256()
        self.broken: set[Subject] = set()
        self.expanded: set[tuple[str, tuple[Any, ...]]] = set()  # (file, path) written as ${VAR}

    def add(
        self,
        file: str,
        path: tuple[Any, ...],
        message: str,
        hint: str | None = None,
        *,
        at_value: bool = False,
        subject: Subject | None = None,
    ) -> None:
        tree = self.trees.get(file)
        loc = value_location(self.root, file, tree, path) if at_value else locate(self.root, file, tree, path)
        self.problems.append(Problem(message, loc, hint, subject))
        if subject is not None:
            self.broken.add(subject)

    def exists(self, file: str) -> bool:
        return file in self.files if self.files is not None else (self.root / file).exists()

    def _bytes(self, file: str) -> bytes:
        """At most one byte past the limit, whatever the file is."""
        if self.files is not None:
            return self.files[file][: MAX_FILE_BYTES + 1]
        with (self.root / file).open("rb") as stream:
            return stream.read(MAX_FILE_BYTES + 1)

    def read(self, file: str) -> Any:
        if not self.exists(file):
            self.broken.add(Subject.file(file))
            if file in REQUIRED_FILES:
                self.problems.append(
                    Problem(
                        f"{file} is missing",
                        Location(display_path(self.root, file), 1, 1),
                        f"every project folder needs {', '.join(REQUIRED_FILES)}",
                    )
                )
            return None
        try:
            data = self._bytes(file)
            if len(data) > MAX_FILE_BYTES:
                self.problems.append(
                    Problem(
                        f"{file} is larger than {MAX_FILE_BYTES // 1024} KB",
                        Location(display_path(self.root, file), 1, 1),
                        f"Northstar reads definition files of up to {MAX_FILE_BYTES // 1024} KB; remove what is unused",
                    )
                )
                self.broken.add(Subject.file(file))
                return None
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(
                Problem(f"cannot read {file}: {exc}", Location(display_path(self.root, file), 1, 1))
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
            self.problems.append(Problem(message, Location(display_path(self.root, file), line, col), hint))
            self.broken.add(Subject.file(file))
            return None
        except TooManyAliasNodes as exc:
            where = Location(display_path(self.root, file), exc.mark.line + 1, exc.mark.column + 1)
            self.problems.append(
                Problem(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                    where,
                    "write the definitions out, or use fewer `*alias` references",
                )
            )
            self.broken.add(Subject.file(file))
            return None
        except Exception as exc:  # ruamel raises a few non-marked errors for odd input
            self.problems.append(
                Problem(f"cannot parse {file}: {exc}", Location(display_path(self.root, file), 1, 1))
            )
            return None
        self.trees[file] = tree
        if tree is None:
            tree = CommentedMap()
            self.trees[file] = tree
        for parent, key, mark, first in getattr(yaml.constructor, "duplicates", []):
            subject = self._item_of(file, (*parent, key))
            where = Location(display_path(self.root, file), mark.line + 1, mark.column + 1)
            hint = f"first defined on line {first}" if first else None
            self.problems.append(Problem(f"duplicate key {str(key)!r}", where, hint, subject))
            self.broken.add(subject)  # only the definition holding it; the whole file for a top-level key
            if subject.kind == "file":
                return None
        self._expand_env(file, tree, ())
        return tree

    def _expand_env(self, file: str, node: Any, path: tuple[Any, ...]) -> None:
        """Replace `${NAME}` in connection fields; anywhere else it is an error (never expanded)."""
        items: list[tuple[str | int, Any]]
        if isinstance(node, CommentedMap):
            items = list(node.items())
        elif isinstance(node, CommentedSeq):
            items = list(enumerate(node))
        else:
            return
        for key, value in items:
            if not (isinstance(value, str) and "${" in value):
                self._expand_env(file, value, (*path, key))
                continue
            where = (*path, key)
            subject = self._item_of(file, where)
            if not is_connection_field(file, where):
                shown = next(iter(_ENV.findall(value)), None)
                written = f"${{{shown}}}" if shown else "${...}"
                self.add(
                    file,
                    where,
                    f"`{key}` may not use {written}: environment variables are expanded only in "
                    + (
                        "an alert destination's `url`, `host`, `username` and `password`"
                        if file == "alerts.yaml"
                        else "connection fields (a source's `url`, the `auth:` settings)"
                    ),
                    at_value=True,
                    subject=None if subject.kind == "file" else subject,  # leave the literal text
                )
                continue
            missing = [name for name in _ENV.findall(value) if name not in self.env]
            for name in missing:
                self.add(
                    file,
                    where,
                    f"environment variable {name} is not set",
                    f"export {name}=... before running northstar",
                    at_value=True,
                    subject=None if subject.kind == "file" else subject,  # what it leaves out says why
                )
            if missing:
                self.broken.add(subject)
            else:
                node[key] = _ENV.sub(lambda m: self.env[m.group(1)], value)
                self.expanded.add((file, where))

    def _item_of(self, file: str, path: tuple[Any, ...]) -> Subject:
        """The definition a node belongs to (an objective by its id when it has one)."""
        if file == "okrs.yaml" and len(path) >= 2:
            okrs = (self.trees.get(file) or {}).get("okrs")
            objective = okrs[path[1]] if isinstance(okrs, CommentedSeq) else None
            if isinstance(objective, CommentedMap) and isinstance(objective.get("id"), str):
                return Subject.okr(objective["id"])
        return _item_of(file, path)

    def schema_errors(
        self, file: str, base: tuple[Any, ...], exc: ValidationError, allowed: set[str]
    ) -> None:
        errors = exc.errors()
        # A misspelt required key shows up twice (unknown key + missing field): report the typo only.
        suggested = {
            (_without_member_tags(e["loc"][:-1]), m[0])
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
                word, key, options = _tagged_union(file, base)
                loc = (*loc, key)
                message = f"unknown {word} {tag!r}"
                hint = did_you_mean(tag, options) or f"use one of: {', '.join(options)}"
            elif kind == "union_tag_not_found":
                word, key, options = _tagged_union(file, base)
                message = f"missing required field {key!r}"
                at_value = False
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


def _tagged_union(file: str, base: tuple[Any, ...]) -> tuple[str, str, tuple[str, ...]]:
    """What a tagged union's tag is called in `file` (at `base`): its name, its key, its values."""
    if file == "alerts.yaml":  # alerts.yaml's models load with the file (most projects have none)
        from metrics.definitions.alerts import DESTINATION_TYPES, RULE_TYPES

        if base[:1] == ("rules",):
            return "rule type", "when", RULE_TYPES
        return "destination type", "type", DESTINATION_TYPES
    if file == "metrics.yaml":
        return "metric type", "type", METRIC_TYPES
    return "source type", "type", SOURCE_TYPES


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
        loc = _without_member_tags(error["loc"])
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


def _without_member_tags(loc: Any) -> tuple[Any, ...]:
    """An error's place without union member tags; the first part is always a field (a field may be
    called `date`, as an annotation's is)."""
    return tuple(part for index, part in enumerate(loc) if index == 0 or not _is_member_tag(part))


def _is_member_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "PeriodRange", "Not", "date"}
        or part.startswith(("list[", "dict[", "function-", "constrained-"))
    )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def fields(*models: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    stack = list(models)
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            out.add(info.alias or name)
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


def top_section(reader: Reader, file: str, tree: Any, key: str, kind: type) -> Any:
    if tree is None:
        return None
    if not isinstance(tree, CommentedMap):
        reader.add(file, (), f"{file} must be a mapping with a top-level `{key}:` key")
        reader.broken.add(Subject.file(file))
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
        reader.broken.add(Subject.file(file))
        return None
    section = tree[key]
    if section is None:
        return kind()
    if not isinstance(section, kind):
        reader.add(
            file, (key,), f"`{key}:` must be a {'mapping' if kind is CommentedMap else 'list'}", at_value=True
        )
        reader.broken.add(Subject.file(file))
        return None
    return section


def salvage_settings(tree: CommentedMap) -> ProjectConfig:
    """Keep the valid project settings when some are not (so the rest of the project still loads)."""
    good: dict[str, Any] = {}
    for key, value in plain(tree).items():
        try:
            ProjectConfig.model_validate({**good, key: value})
            good[key] = value
        except ValidationError:
            continue
    return ProjectConfig.model_validate(good)


def plain(node: Any) -> Any:
    """CommentedMap/Seq -> dict/list; ruamel's timestamp -> date or datetime."""
    if isinstance(node, CommentedMap):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [plain(v) for v in node]
    if isinstance(node, dt.datetime):
        return dt.datetime(node.year, node.month, node.day, node.hour, node.minute, node.second)
    if isinstance(node, str):
        return str(node)
    return node
