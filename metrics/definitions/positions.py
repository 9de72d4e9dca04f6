"""Where a node of a loaded YAML file was written: line and column for keys and values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from metrics.definitions.problems import Location


def locate(root: Path, file: str, tree: Any, path: tuple[Any, ...] | list[Any]) -> Location:
    """Line and column of the deepest node of `path` that exists; keys point at the key itself."""
    display = display_path(root, file)
    line, col = 0, 0
    node = tree
    for part in path:
        if isinstance(node, CommentedMap):
            if part in node:
                line, col = node.lc.key(part)
                node = node[part]
                continue
            if part in (node.get("type"), node.get("when")):  # pydantic's discriminator tag (alerts: `when`)
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
        if isinstance(parent, CommentedMap) and part not in parent and part == parent.get("when"):
            continue  # pydantic's discriminator tag of an alert rule
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
        return Location(display_path(root, file), line + 1, col + 1)
    return locate(root, file, tree, path)


def display_path(root: Path, file: str) -> str:
    """A file of the project as a person would type it: relative to the working folder when inside it."""
    path = root / file
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
