"""What is wrong with a definition and where: `Location`, `Subject`, `Problem`, `ConfigError`.

A problem names its place (file, line, column) and, as a typed `Subject`, the definition it disables,
so that loading can leave that definition out (and what depends on it) and keep the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from connectors.errors import NorthstarError
from connectors.secrets import mask_secrets

Severity = Literal["error", "warning"]
SubjectKind = Literal[
    "file",
    "source",
    "metric",
    "okr",
    "kr",
    "dimension",
    "check",
    "alert_rule",
    "alert_destination",
    "annotation",
]


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def within(self, root: Path) -> str:
        """`metrics.yaml:14:5`: the place with its file relative to the project folder `root` (what a
        viewer or a shared review pack is shown: the server's folders are not theirs), or its bare
        name when it lies outside."""
        file = Path(self.file)
        try:
            name = file.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            name = file.name
        return f"{name}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Subject:
    """The definition a problem disables: a file, a source, a metric, an objective, a key result
    (`name` the objective, `part` the key result), a source's dimension (`part` the dimension), a
    source's checks, or an alerts.yaml rule or destination."""

    kind: SubjectKind
    name: str
    part: str | None = None

    @classmethod
    def file(cls, name: str) -> Subject:
        return cls("file", name)

    @classmethod
    def source(cls, name: str) -> Subject:
        return cls("source", name)

    @classmethod
    def metric(cls, name: str) -> Subject:
        return cls("metric", name)

    @classmethod
    def okr(cls, objective: str) -> Subject:
        return cls("okr", objective)

    @classmethod
    def kr(cls, objective: str, key_result: str) -> Subject:
        return cls("kr", objective, key_result)

    @classmethod
    def dimension(cls, source: str, dimension: str) -> Subject:
        return cls("dimension", source, dimension)

    @classmethod
    def checks(cls, source: str) -> Subject:
        return cls("check", source)

    @classmethod
    def alert_rule(cls, rule: str) -> Subject:
        return cls("alert_rule", rule)

    @classmethod
    def alert_destination(cls, destination: str) -> Subject:
        return cls("alert_destination", destination)

    @classmethod
    def annotation(cls, name: str) -> Subject:
        return cls("annotation", name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f":{self.part}" if self.part is not None else "")


@dataclass(frozen=True)
class Problem:
    message: str
    location: Location | None = None
    hint: str | None = None
    subject: Subject | None = field(default=None, compare=False)  # what it disables (errors only)
    # a warning (e.g. an event name that never occurs) disables nothing and leaves the project valid
    severity: Severity = field(default="error", compare=False)

    def __post_init__(self) -> None:  # a message may quote a URL or a driver's words: no secret shows
        object.__setattr__(self, "message", mask_secrets(self.message))
        if self.hint is not None:
            object.__setattr__(self, "hint", mask_secrets(self.hint))

    def __str__(self) -> str:
        place = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        label = "warning: " if self.severity == "warning" else ""
        return f"{place}{label}{self.message}{hint}"

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class ConfigError(NorthstarError):
    """The project has problems; `problems` lists every one with its place."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def left_out_words(problems: Sequence[Problem], root: Path, what: str = "its definition") -> str:
    """Why a definition is left out (`what` has errors: its own definition, or its source's): the
    first error, placed relative to the project folder `root`, so a command that meets it says what
    to fix (`compute`, a key result's note, the app)."""
    if not problems:
        return f"{what} has errors"
    first = problems[0]
    place = f"{first.location.within(root)}: " if first.location is not None else ""
    more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{what} has errors ({place}{first.message}{more})"


def did_you_mean(word: str, options: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None
