"""What alerts have been announced: a small JSON file per project, so that an alert is sent once when
its condition starts to hold, its resolution once when it stops, and a delivery that failed is
tried again on the next run (docs/alerts.md, "State").

The file lives in the user's state folder (platformdirs: `~/.local/state/northstar/alerts/` on
Linux), or under `$NORTHSTAR_STATE_DIR`, or the folder `northstar alerts --state-dir` names; never
in the project or its data. It is keyed by rule and subject (`Finding.key`) and holds, per alert,
its status (firing or resolved), the last message, and the destinations that have not yet been
told of that status (`pending`). A resolved alert that every destination has heard of is dropped,
so the file holds only what is firing or still owed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from connectors.errors import NorthstarError
from metrics.alerts.rules import Evaluation, Finding
from metrics.definitions.alerts import Rule

STATE_VERSION = 1
STATE_ENV = "NORTHSTAR_STATE_DIR"
Status = Literal["firing", "resolved"]


class StateError(NorthstarError):
    """The state file cannot be read or written."""


@dataclass
class Entry:
    """One alert (a rule on a subject) as last announced."""

    rule: str
    subject: str
    status: Status
    since: str  # the as-of day it took this status
    message: dict[str, Any]  # the finding's title, text, facts, metric, span, when
    pending: list[str] = field(default_factory=list)  # destinations not yet told of `status`

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "status": self.status,
            "since": self.since,
            "message": self.message,
            "pending": sorted(self.pending),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        status = data["status"]
        if status not in ("firing", "resolved"):
            raise ValueError(f"unknown status {status!r}")
        return cls(
            rule=str(data["rule"]),
            subject=str(data["subject"]),
            status=status,
            since=str(data["since"]),
            message=dict(data["message"]),
            pending=[str(d) for d in data.get("pending", [])],
        )


@dataclass(frozen=True)
class Outgoing:
    """One alert to announce: its status now and the message."""

    key: str
    rule: str
    subject: str
    status: Status
    since: str
    message: Mapping[str, Any]


@dataclass
class AlertState:
    entries: dict[str, Entry] = field(default_factory=dict)
    as_of: str | None = None  # the as-of day of the last run that wrote the file

    def outbox(self) -> dict[str, list[Outgoing]]:
        """Destination -> what it is owed, oldest first."""
        out: dict[str, list[Outgoing]] = {}
        for key, entry in sorted(self.entries.items(), key=lambda kv: (kv[1].since, kv[0])):
            for destination in sorted(entry.pending):
                out.setdefault(destination, []).append(
                    Outgoing(key, entry.rule, entry.subject, entry.status, entry.since, entry.message)
                )
        return out

    def delivered(self, destination: str, keys: Iterable[str]) -> None:
        """`destination` has been told of these alerts' status; resolved alerts nobody is owed go."""
        for key in keys:
            entry = self.entries.get(key)
            if entry is None:
                continue
            entry.pending = [d for d in entry.pending if d != destination]
            if entry.status == "resolved" and not entry.pending:
                del self.entries[key]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "as_of": self.as_of,
            "alerts": {key: entry.to_json() for key, entry in sorted(self.entries.items())},
        }


def advance(state: AlertState, evaluation: Evaluation, rules: Mapping[str, Rule]) -> AlertState:
    """The state after `evaluation`: a condition that starts to hold is owed to the rule's
    destinations as firing, one that stops as resolved. A destination that was never told an alert
    fired is not told it resolved (and the other way round: an alert that fires again before its
    resolution went out is simply still firing there). Subjects not evaluated keep their state;
    alerts of rules that are gone are dropped, and so are destinations a rule no longer names."""
    entries: dict[str, Entry] = {}
    for key, old in state.entries.items():
        rule = rules.get(old.rule)
        if rule is None:
            continue
        entries[key] = Entry(
            old.rule,
            old.subject,
            old.status,
            old.since,
            dict(old.message),
            [d for d in old.pending if d in rule.notify],
        )
    day = evaluation.as_of.isoformat()
    for finding in evaluation.findings:
        rule = rules.get(finding.rule)
        if rule is None:
            continue
        entry = entries.get(finding.key)
        notify = list(dict.fromkeys(rule.notify))
        if finding.firing:
            if entry is None:
                entries[finding.key] = Entry(
                    finding.rule, finding.subject, "firing", day, _message(finding), notify
                )
            elif entry.status == "resolved":
                told = [d for d in notify if d not in entry.pending]  # heard it resolved
                entries[finding.key] = Entry(
                    finding.rule, finding.subject, "firing", day, _message(finding), told
                )
            else:
                entry.message = _message(finding)  # still firing: the latest numbers for a retry
        elif entry is not None and entry.status == "firing":
            told = [d for d in notify if d not in entry.pending]  # heard it fire
            if told:
                entries[finding.key] = Entry(
                    finding.rule, finding.subject, "resolved", day, _message(finding), told
                )
            else:
                del entries[finding.key]
    return AlertState({k: v for k, v in entries.items() if v.status == "firing" or v.pending}, day)


def _message(finding: Finding) -> dict[str, Any]:
    return {
        "when": finding.when,
        "title": finding.title,
        "text": finding.text,
        "facts": finding.facts,
        "metric": finding.metric,
        "span": [d.isoformat() for d in finding.span] if finding.span else None,
    }


# --- the file --------------------------------------------------------------------------------


def state_root(override: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The folder of the state files: `override`, else $NORTHSTAR_STATE_DIR, else the user's state
    folder (platformdirs)."""
    if override is not None:
        return override
    environ = os.environ if env is None else env
    if environ.get(STATE_ENV):
        return Path(environ[STATE_ENV])
    import platformdirs

    return Path(platformdirs.user_state_dir("northstar", appauthor=False))


def state_file(root: Path, project_root: Path) -> Path:
    """One file per project folder (by its resolved path), under `root`/alerts."""
    resolved = project_root.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() else "-" for c in resolved.name).strip("-") or "project"
    return root / "alerts" / f"{slug}-{digest}.json"


def load_state(path: Path) -> AlertState:
    """The state in `path`; an empty state when there is no file yet. A damaged file is an error
    (starting afresh would announce every firing alert again, or lose what is owed)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return AlertState()
    except OSError as exc:
        raise StateError(f"cannot read the alert state {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        entries = {str(k): Entry.from_json(v) for k, v in data["alerts"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StateError(
            f"the alert state {path} is damaged ({exc}); move it away to start afresh "
            "(every alert that still holds is then announced again)"
        ) from None
    return AlertState(entries, data.get("as_of"))


def save_state(path: Path, state: AlertState) -> None:
    """Write the state atomically (a new file renamed into place), readable by its owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".alerts-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w") as stream:
            json.dump(state.to_json(), stream, indent=2)
            stream.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise StateError(f"cannot write the alert state {path}: {exc.strerror or exc}") from None


__all__ = [
    "STATE_ENV",
    "AlertState",
    "Entry",
    "Outgoing",
    "StateError",
    "advance",
    "load_state",
    "save_state",
    "state_file",
    "state_root",
]
