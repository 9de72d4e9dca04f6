"""`northstar init`: a starter project guessed from a file or a SQL table (roles, dimensions, metrics).

It reads the schema and a bounded sample through the connectors, guesses the column roles (each
guess with its reason, each overridable), and renders commented YAML that `validate` accepts.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from connectors.base import ColumnKind
from connectors.errors import NorthstarError
from connectors.files import FileConnector
from connectors.models import ColumnRoles, FileSource, SqlSource
from connectors.secrets import mask_secrets
from metrics.definitions.schema import json_schemas
from metrics.validation import timestamp_kind_ok

SAMPLE_ROWS = 50_000
MAX_DIMENSION_VALUES = 50
MAX_EVENT_VALUES = 500
TOP_EVENTS = 5
SOURCE = "events"

_TIME_NAME = re.compile(r"(^|_)(ts|time|timestamp|datetime|date|occurred|created|happened)(_|$)|_at$")
_USER_NAME = re.compile(
    r"(^|_)(user|users|account|customer|member|visitor|client|person|uid|distinct|anonymous|device_id)(_|$)"
)
_EVENT_NAME = re.compile(r"(^|_)(event|events|action|activity|verb|name|type|kind)(_|$)")
_EVENT_WORDS = ("event", "action", "activity", "verb", "name", "type", "kind")  # strongest first
_ID_NAME = re.compile(r"(^|_)(id|uuid|key)$")


class InitError(NorthstarError):
    """`northstar init` cannot write a project: one sentence."""


@dataclass(frozen=True)
class Sample:
    """What init learns from the data: kinds of all columns and a bounded sample of rows."""

    kinds: dict[str, ColumnKind]
    rows: pl.DataFrame
    source_type: str  # parquet | csv | ndjson | sql


@dataclass
class Guess:
    timestamp: str
    user: str
    event: str | None
    dimensions: list[str]
    time_zone: str | None
    reasons: list[str] = field(default_factory=list)


def file_type(path: str) -> str:
    """parquet | csv | ndjson from the file name (a trailing .gz is read compressed)."""
    name = path.lower().removesuffix(".gz")
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    raise InitError(
        f"cannot tell the file type of {path!r}; name it .parquet, .csv or .ndjson (optionally .gz)"
    )


def is_url(value: str) -> bool:
    return "://" in value


def read_sample(source: str, table: str | None, limit: int = SAMPLE_ROWS) -> Sample:
    """The schema and the first `limit` rows of a file (or glob) or of a SQL table."""
    roles = ColumnRoles(timestamp="?")  # the schema and a sample need no roles
    if is_url(source):
        if not table:
            raise InitError("a SQL URL needs --table NAME (the table holding the events)")
        import sqlalchemy as sa

        from connectors.sql import SqlAlchemyConnector

        config = SqlSource(type="sql", url=source, table=table, columns=roles)
        connector = SqlAlchemyConnector(SOURCE, config, Path.cwd())
        kinds = connector.schema()
        rows = connector.execute(sa.select(connector.selectable()).limit(limit))
        return Sample(kinds=kinds, rows=rows, source_type="sql")
    kind = file_type(source)
    absolute = str(Path(source).expanduser().resolve()) if not Path(source).is_absolute() else source
    file_config = FileSource.model_validate({"type": kind, "path": absolute, "columns": roles})
    file_connector = FileConnector(SOURCE, file_config, Path.cwd())
    if not glob.glob(file_connector.pattern, recursive=True):
        raise InitError(f"no file matches {source}; check the path (a file or a glob such as data/*.parquet)")
    kinds = file_connector.schema()
    try:
        rows = file_connector.scan().head(limit).collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InitError(f"cannot read a sample of {source}: {' '.join(str(exc).split())}") from None
    return Sample(kinds=kinds, rows=rows, source_type=kind)


def _text_times(series: pl.Series) -> bool:
    """Most non-null values of a text column parse as ISO date-times."""
    values = series.drop_nulls()
    if values.len() == 0:
        return False
    try:
        parsed = values.str.to_datetime(strict=False, time_unit="us")
    except pl.exceptions.PolarsError:  # no date-time format fits the first values
        return False
    return parsed.null_count() <= 0.05 * values.len()


def _distinct(rows: pl.DataFrame, column: str) -> int:
    return int(rows.get_column(column).drop_nulls().n_unique())


def _event_rank(column: str) -> int:
    """How strongly a column's name says "event": `event_name` before `action` before `device_type`."""
    words = re.split(r"[^a-z0-9]+", column.lower())
    return min((_EVENT_WORDS.index(w) for w in words if w in _EVENT_WORDS), default=len(_EVENT_WORDS))


def _check_column(kinds: dict[str, ColumnKind], column: str, flag: str) -> str:
    if column not in kinds:
        raise InitError(f"{flag} {column!r} is not a column of the data; columns: {', '.join(kinds)}")
    return column


def guess_roles(
    sample: Sample,
    *,
    timestamp: str | None = None,
    user: str | None = None,
    event: str | None = None,
    dimensions: Sequence[str] | None = None,
) -> Guess:
    """The role of each column, from names, kinds and the sample's cardinality; overrides win."""
    kinds, rows = sample.kinds, sample.rows
    reasons: list[str] = []
    n = max(rows.height, 1)

    if timestamp is not None:
        ts = _check_column(kinds, timestamp, "--timestamp")
        reasons.append(f"timestamp: {ts} (given with --timestamp)")
    else:
        temporal = [c for c, k in kinds.items() if k in ("timestamp", "date")]
        texts = [c for c, k in kinds.items() if k == "string" and c in rows.columns and _text_times(rows[c])]
        candidates = sorted(
            temporal, key=lambda c: (kinds[c] != "timestamp", not _TIME_NAME.search(c.lower()))
        ) or sorted(texts, key=lambda c: not _TIME_NAME.search(c.lower()))
        if not candidates:
            raise InitError("found no timestamp column (no date-time values); pass --timestamp COLUMN")
        ts = candidates[0]
        why = "date-time values" if ts in temporal else "text that parses as date-times"
        if ts in temporal and kinds[ts] == "date":
            why = "date values (no time of day)"
        reasons.append(
            f"timestamp: {ts} ({why}{', event-time name' if _TIME_NAME.search(ts.lower()) else ''})"
        )
    usable = timestamp_kind_ok(sample.source_type, kinds[ts]) and (
        kinds[ts] != "string" or _text_times(rows[ts])
    )
    if not usable:
        raise InitError(
            f"column {ts!r} holds {kinds[ts]} values, not date-times; pass --timestamp with a "
            "date-time column, or store the times as timestamps (e.g. write the data as Parquet)"
        )

    if user is not None:
        uid = _check_column(kinds, user, "--user")
        reasons.append(f"user: {uid} (given with --user)")
    else:
        options = [
            c for c, k in kinds.items() if k in ("string", "integer") and c != ts and c in rows.columns
        ]

        def user_score(column: str) -> tuple[bool, bool, int]:
            distinct = _distinct(rows, column)
            repeats = distinct < 0.9 * n  # one id per row is an event id, not a user
            return (bool(_USER_NAME.search(column.lower())) and repeats, repeats, distinct)

        ranked = sorted(options, key=user_score, reverse=True)
        if not ranked or not user_score(ranked[0])[1] or _distinct(rows, ranked[0]) < 2:
            raise InitError("found no user column (ids that repeat across rows); pass --user COLUMN")
        uid = ranked[0]
        distinct = _distinct(rows, uid)
        named = "a user-like name, " if _USER_NAME.search(uid.lower()) else ""
        reasons.append(f"user: {uid} ({named}{distinct:,} distinct ids in {rows.height:,} sampled rows)")

    ev: str | None
    if event == "":
        ev = None
        reasons.append("event: none (--event ''); no event metrics written")
    elif event is not None:
        ev = _check_column(kinds, event, "--event")
        reasons.append(f"event: {ev} (given with --event)")
    else:
        event_like = {  # text columns with an event-like name: their distinct values in the sample
            c: _distinct(rows, c)
            for c, k in kinds.items()
            if k == "string" and c not in (ts, uid) and c in rows.columns and _EVENT_NAME.search(c.lower())
        }
        options = sorted(
            (c for c, n in event_like.items() if 1 < n <= MAX_EVENT_VALUES),
            key=lambda c: (_event_rank(c), event_like[c]),
        )
        ev = options[0] if options else None
        single = [c for c, n in event_like.items() if n == 1]
        if ev is None and single:  # never "no such column" when there is one, with one name in it
            only = rows.get_column(single[0]).drop_nulls()[0]
            reasons.append(
                f"event: none ({single[0]!r} holds one value in the sample, {only!r}, so it tells no "
                f"events apart); no event metrics written, pass --event {single[0]} to use it anyway"
            )
        elif ev is None:
            reasons.append(
                "event: none (no text column with an event-like name and few values); "
                "no event metrics written, pass --event COLUMN to add them"
            )
        else:
            reasons.append(f"event: {ev} (event-like name, {_distinct(rows, ev)} distinct values)")

    taken = {ts, uid, ev}
    if dimensions is not None:
        dims = [_check_column(kinds, d, "--dimensions") for d in dimensions]
        bad = [d for d in dims if kinds[d] not in ("string", "integer", "boolean")]
        if bad:
            raise InitError(
                f"--dimensions {bad[0]!r} holds {kinds[bad[0]]} values; a dimension is text, integer or boolean"
            )
        reasons.append(f"dimensions: {', '.join(dims) or 'none'} (given with --dimensions)")
    else:
        dims = [
            c
            for c, k in kinds.items()
            if c not in taken
            and c in rows.columns
            and (k in ("string", "boolean") or (k == "integer" and not _ID_NAME.search(c.lower())))
            and 1 < _distinct(rows, c) <= MAX_DIMENSION_VALUES
            and not (k == "integer" and _distinct(rows, c) > 12)
        ]
        listed = ", ".join(f"{d} ({_distinct(rows, d)} values)" for d in dims)
        span = f"2 to {MAX_DIMENSION_VALUES} distinct values in the sample"
        reasons.append(
            f"dimensions: {listed}; taken: text, boolean and small integer columns with {span}"
            if dims
            else f"dimensions: none (no text, boolean or small integer column has {span}); "
            "pass --dimensions A,B to choose some"
        )

    zone = _zone_of(rows, ts)
    if zone and stored_in_utc(zone):
        reasons.append(
            "time zone: UTC (the timestamps are stored in UTC, which says nothing of where your day "
            "ends) - set `timezone:` in project.yaml"
        )
    elif zone:
        reasons.append(f"time zone: {zone} (the timestamps carry it)")
    else:
        reasons.append(
            "time zone: UTC (default; the timestamps carry none) - set `timezone:` in project.yaml"
        )
    return Guess(ts, uid, ev, dims, zone, reasons)


UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu", "+00:00"})


def stored_in_utc(zone: str) -> bool:
    """True when a timestamp column's zone is UTC: how the data is stored (Parquet writers and every
    SQL source give UTC), not where the product's day ends, so init takes it as UTC but asks for the
    zone instead of saying the data gave it (a New York flights log in UTC read as UTC puts every
    evening departure on the next day)."""
    return zone in UTC_NAMES


def _zone_of(rows: pl.DataFrame, column: str) -> str | None:
    """The time zone a tz-aware timestamp column carries (Parquet keeps it; SQL rows come as UTC)."""
    dtype = rows.schema.get(column)
    return dtype.time_zone if isinstance(dtype, pl.Datetime) else None


# --- the starter metrics -----------------------------------------------------------------------


def metric_id(value: str, taken: set[str]) -> str:
    """A lower snake_case metric id for an event name, unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "event"
    if not base[0].isalpha():
        base = f"e_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def top_events(rows: pl.DataFrame, event: str, limit: int = TOP_EVENTS) -> list[str]:
    counts = rows.get_column(event).drop_nulls().value_counts(sort=True)
    return [str(v) for v in counts.get_column(event).head(limit).to_list()]


_SIGNUP = re.compile(
    r"^(sign_?up|signed_?up|register|registered|registration|account_created|create_account)$"
)


def signup_event(rows: pl.DataFrame, event: str) -> str | None:
    """An event that names a sign-up, the natural cohort event of a retention metric."""
    for value in rows.get_column(event).drop_nulls().unique().sort().to_list():
        if _SIGNUP.match(re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")):
            return str(value)
    return None


def common_sequence(rows: pl.DataFrame, guess: Guess, events: list[str]) -> list[str] | None:
    """The most common order in which users first do the top events (2-3 steps), when it stands out:
    at least 20 users and a fifth of the users who did two of them follow it."""
    if guess.event is None or len(events) < 2:
        return None
    firsts = (
        rows.filter(pl.col(guess.event).is_in(events) & pl.col(guess.user).is_not_null())
        .group_by(guess.user, guess.event)
        .agg(pl.col(guess.timestamp).min().alias("first"))
        .sort(guess.user, "first")
        .group_by(guess.user, maintain_order=True)
        .agg(pl.col(guess.event))
    )
    sequences = Counter(tuple(seq[:3]) for seq in firsts.get_column(guess.event).to_list() if len(seq) >= 2)
    if not sequences:
        return None
    best, users = sequences.most_common(1)[0]
    if users >= 20 and users >= 0.2 * sum(sequences.values()):
        return [str(step) for step in best]
    return None


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value)


@dataclass(frozen=True)
class Starter:
    files: dict[str, str]  # file name -> text
    metrics: list[str]
    notes: list[str]


def build(
    target: Path,
    source: str,
    table: str | None,
    sample: Sample,
    guess: Guess,
) -> Starter:
    """The project's files as text."""
    notes: list[str] = []
    target = target.resolve()
    project_lines = [
        "# yaml-language-server: $schema=./schema/project.schema.json",
        "# Project settings (docs/configuration.md). Written by `northstar init`.",
        f"name: {_q(target.name)}",
    ]
    if guess.time_zone and stored_in_utc(guess.time_zone):
        project_lines.append(
            "timezone: UTC   # the data is stored in UTC; set your product's IANA zone, e.g. America/New_York"
        )
    elif guess.time_zone:
        project_lines.append(f"timezone: {_q(guess.time_zone)}   # from the data's timestamps")
    else:
        project_lines.append(
            "timezone: UTC   # the data carries no time zone; set your product's IANA zone, e.g. Europe/Berlin"
        )
    project_lines.append("week_start: monday   # monday | sunday")

    if is_url(source):
        url = source
        masked = mask_secrets(source)
        if masked != source:
            url = "${NORTHSTAR_SOURCE_URL}"
            notes.append(
                "the URL holds a password: sources.yaml reads it from ${NORTHSTAR_SOURCE_URL}; set it"
            )
        elif (local := _file_database(source)) is not None:
            url = local
        where = f"    type: sql\n    url: {_q(url)}\n    table: {_q(table or '')}"
    else:
        absolute = Path(os.path.realpath(Path(source).expanduser()))  # as the project check resolves it
        folder = _fixed_folder(absolute)
        relative = os.path.relpath(absolute, target)
        if not folder.resolve().is_relative_to(target):
            root = os.path.relpath(folder.resolve(), target)
            project_lines.append(
                f"data_roots: [{_q(root)}]   # sources may read files here (outside this folder)"
            )
        where = f"    type: {sample.source_type}\n    path: {_q(relative)}   # a file or a glob, relative to this folder"

    columns = [f"      timestamp: {_q(guess.timestamp)}", f"      user: {_q(guess.user)}"]
    if guess.event:
        columns.append(f"      event: {_q(guess.event)}")
    sources_text = "\n".join(
        [
            "# yaml-language-server: $schema=./schema/sources.schema.json",
            "# Where the events come from and which column plays which role (docs/configuration.md).",
            "sources:",
            f"  {SOURCE}:",
            where,
            "    columns:",
            *columns,
            f"    dimensions: [{', '.join(_q(d) for d in guess.dimensions)}]   # the columns you may break down and filter by",
            "    checks:   # docs/quality.md; a day far from its norm (a late load, a last day cut short, a double import) is flagged",
            "      volume: {max_deviation: 6, severity: warn}",
            "",
        ]
    )

    taken = {"dau", "wau", "mau", "stickiness", "events"}
    blocks = [
        "# yaml-language-server: $schema=./schema/metrics.schema.json",
        "# Starter metrics guessed from the data (docs/metrics.md). Rename, delete and add freely.",
        "metrics:",
        "  dau:",
        "    label: Daily active users",
        "    description: Users with any event that day.",
        "    type: active_users",
        f"    source: {SOURCE}",
        "    window: 1",
        "  wau:",
        "    label: Weekly active users",
        "    description: Users with any event in the 7 days ending that day.",
        "    type: active_users",
        f"    source: {SOURCE}",
        "    window: 7",
        "  mau:",
        "    label: Monthly active users",
        "    description: Users with any event in the 28 days ending that day.",
        "    type: active_users",
        f"    source: {SOURCE}",
        "    window: 28",
        "  stickiness:",
        "    label: Stickiness (DAU / MAU)",
        "    type: ratio",
        "    numerator: dau",
        "    denominator: mau",
        "    unit: percent",
        "  events:",
        "    label: Events",
        "    description: Every row of the source.",
        "    type: count",
        f"    source: {SOURCE}",
    ]
    names = ["dau", "wau", "mau", "stickiness", "events"]
    if guess.event:
        events = top_events(sample.rows, guess.event)
        blocks.append("  # The most frequent events in the sample, as counts:")
        for name in events:
            ident = metric_id(name, taken)
            names.append(ident)
            blocks += [
                f"  {ident}:",
                f"    label: {_q(name + ' events')}",
                "    type: count",
                f"    source: {SOURCE}",
                f"    filter: {{event: {_q(name)}}}",
            ]
        sequence = common_sequence(sample.rows, guess, events)
        if sequence:
            ident = metric_id("funnel_" + "_".join(sequence), taken)
            names.append(ident)
            blocks += [
                "  # The order in which most users first did these events in the sample:",
                f"  {ident}:",
                f"    label: {_q(' -> '.join(sequence))}",
                "    type: funnel",
                f"    source: {SOURCE}",
                f"    steps: [{', '.join(_q(s) for s in sequence)}]",
                "    within: 7   # days from the first step",
            ]
        else:
            notes.append("no funnel written: no order of the top events stands out in the sample")
        signup = signup_event(sample.rows, guess.event)
        if signup is not None:
            ident = metric_id("d7_retention", taken)
            names.append(ident)
            blocks += [
                f"  # Users whose first {_q(signup)} was on day c and who came back on day c+7:",
                f"  {ident}:",
                f"    label: {_q('Day-7 retention after ' + signup)}",
                "    type: retention",
                f"    source: {SOURCE}",
                f"    cohort_event: {_q(signup)}",
                "    return_event: any",
                "    period: day",
                "    offset: 7",
            ]
    ident = metric_id("d7_retention_first_seen", taken)
    names.append(ident)
    blocks += [
        "  # Users first seen on day c who came back on day c+7:",
        f"  {ident}:",
        "    label: Day-7 retention of new users",
        "    type: retention",
        f"    source: {SOURCE}",
        "    cohort_event: any",
        "    return_event: any",
        "    period: day",
        "    offset: 7",
    ]
    metrics_text = "\n".join(blocks) + "\n"

    okrs_text = "\n".join(
        [
            "# yaml-language-server: $schema=./schema/okrs.schema.json",
            "# An example objective (docs/okrs.md): set the targets before you share the scorecard.",
            "okrs:",
            "  - id: grow_engagement",
            "    objective: More people use the product every week",
            "    period: current_quarter   # the quarter of the as-of day; or a fixed one, e.g. 2027-Q1",
            "    key_results:",
            "      - id: weekly_active_users",
            "        metric: wau",
            "        read: latest",
            f"        target: {placeholder_users(sample.rows, guess.user)}   "
            "# set me: the weekly active users you aim for (a placeholder: twice the users in init's sample)",
            "      - id: stickier",
            "        metric: stickiness",
            "        read: trailing_28d",
            "        target: 0.5   # set me: the DAU/MAU share you aim for (0.5 = 50%; a placeholder)",
            "        # baseline: 0.1   # set me when the data starts in this quarter (no reading before it)",
            "",
        ]
    )
    readme = "\n".join(
        [
            f"# {target.name}",
            "",
            f"A Northstar project written by `northstar init` from `{mask_secrets(source)}`.",
            "",
            "Edit first: the targets marked `set me` in okrs.yaml, then `timezone:` in project.yaml, then "
            "check the column roles in sources.yaml and the starter metrics in metrics.yaml.",
            "",
            "From this folder:",
            "",
            "```bash",
            "northstar validate --config .",
            "northstar serve --config .",
            "```",
            "",
        ]
    )
    files = {
        "project.yaml": "\n".join(project_lines) + "\n",
        "sources.yaml": sources_text,
        "metrics.yaml": metrics_text,
        "okrs.yaml": okrs_text,
        "README.md": readme,
    }
    for name, document in json_schemas().items():
        files[f"schema/{name}.schema.json"] = json.dumps(document, indent=2) + "\n"
    return Starter(files=files, metrics=names, notes=notes)


def placeholder_users(rows: pl.DataFrame, user: str) -> int:
    """A round number above the sample's users: a target that reads as a placeholder, not a plan."""
    users = max(int(rows.get_column(user).drop_nulls().n_unique()) * 2, 100)
    scale = 10 ** (len(str(users)) - 1)
    return int(next(step * scale for step in (1, 2, 5, 10) if step * scale >= users))


def _fixed_folder(path: Path) -> Path:
    """The folder of a file, or the part of a glob before its first wildcard."""
    parts = path.parts
    fixed = next((i for i, part in enumerate(parts) if re.search(r"[*?[]", part)), len(parts))
    return Path(*parts[:fixed]) if fixed < len(parts) else path.parent


def _file_database(url: str) -> str | None:
    """A sqlite/duckdb URL with an absolute database path (the YAML's paths start at the project)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() not in ("sqlite", "duckdb") or not parsed.database:
        return None
    database = Path(parsed.database).expanduser()
    if database.is_absolute():
        return None
    return parsed.set(database=str(database.resolve())).render_as_string(hide_password=False)


def check_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} is a file; give a folder for the new project")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InitError(
            f"{target} is not empty; pick a new folder or pass --force to overwrite its project files"
        )


def write(target: Path, starter: Starter) -> None:
    try:
        for name, text in starter.files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InitError(f"cannot write the project into {target}: {exc.strerror or exc}") from None


__all__ = ["InitError", "build", "check_target", "guess_roles", "read_sample", "stored_in_utc", "write"]
