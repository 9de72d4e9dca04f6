"""Validation of the `checks:` of every source, each problem with its file, line and column.

`validate_checks` is layer (b): definitions fit together. It runs on every project load, so it
needs no data and never imports Great Expectations: expectation names and arguments are checked
against the checked-in catalog (`metrics.quality.catalog`). `deep_validate_checks` adds what only
building each expectation in GX finds (GX's own validators); `northstar validate` runs it, and GX's
verdict on each entry is kept on disk (`metrics.quality.gx_cache`), so GX is imported only for
entries it has not judged before.
`check_columns` is layer (c): the columns that checks name exist in the source's schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from connectors.base import ColumnKind
from metrics.definitions.problems import Problem, Subject, did_you_mean
from metrics.definitions.project import Collector, Project

if TYPE_CHECKING:
    from metrics.quality.catalog import ArgProblem

SEVERITIES = ("error", "warn")
EXPECTATIONS_HELP = "see https://greatexpectations.io/expectations/ for the list"


class _Out(Collector):
    """Problems in sources.yaml's `checks:`; each disables only its own check."""

    def source_at(
        self, path: tuple[Any, ...], message: str, hint: str | None = None, *, value: bool = True
    ) -> None:
        source = path[1] if len(path) > 1 else "?"
        self.at("sources.yaml", path, message, hint, subject=Subject.checks(str(source)), value=value)


def validate_checks(project: Project) -> list[Problem]:
    """Problems in the `checks:` of every source: expectation names, their arguments, severities."""
    out = _Out(project)
    for name, source in project.sources.items():
        checks = source.checks
        base: tuple[Any, ...] = ("sources", name, "checks")
        dups = checks.duplicates
        if dups is not None and dups.columns is not None:
            if not dups.columns:
                out.source_at(
                    (*base, "duplicates", "columns"),
                    "`columns:` is empty",
                    "list the columns that identify an event, or leave `columns:` out to compare whole rows",
                )
            seen: set[str] = set()
            for index, column in enumerate(dups.columns):
                if column in seen:
                    out.source_at(
                        (*base, "duplicates", "columns", index), f"column {column!r} is listed twice"
                    )
                seen.add(column)
        explicit = "user_not_null" in checks.builtin.model_fields_set
        if source.columns.user is None and explicit and checks.builtin.user_not_null != "off":
            out.source_at(
                (*base, "builtin", "user_not_null"),
                f"source {name!r} maps no user column, so there is no user to check",
                "add `user:` under the source's `columns:`, or remove this line",
            )
        for index, entry in enumerate(checks.expect):
            _check_entry(out, (*base, "expect", index), entry, is_sql=source.type == "sql")
    return out.problems


def _check_entry(out: _Out, where: tuple[Any, ...], entry: Mapping[str, Any], *, is_sql: bool) -> None:
    if len(entry) != 1:
        out.source_at(
            where,
            f"each `expect:` item holds one expectation; this one holds {len(entry)}",
            "start each expectation on its own `- ` line",
            value=False,
        )
    from metrics.quality import catalog  # not at the top: `python -m metrics.quality.catalog` runs it

    names = catalog.expectation_names()
    for name, raw in entry.items():
        here = (*where, name)
        args = dict(raw or {})
        severity = args.pop("severity", "error")
        if severity not in SEVERITIES:
            out.source_at(
                (*here, "severity"),
                f"severity {severity!r} is not allowed; expected 'error' or 'warn'",
                did_you_mean(str(severity), SEVERITIES),
            )
        if name not in names:
            out.source_at(
                here,
                f"unknown expectation {name!r}",
                did_you_mean(name, sorted(names)) or EXPECTATIONS_HELP,
                value=False,
            )
            continue
        if name in catalog.SQL_ONLY and not is_sql:
            out.source_at(here, f"{name} runs SQL of its own, so it works on SQL sources only", value=False)
            continue
        _report(out, here, catalog.argument_problems(name, args))


def _report(out: _Out, here: tuple[Any, ...], problems: list[ArgProblem]) -> None:
    for problem in problems:
        if problem.key is None:
            out.source_at(here, problem.message, problem.hint, value=False)
        else:
            out.source_at((*here, problem.key), problem.message, problem.hint, value=problem.at_value)


def deep_validate_checks(project: Project) -> list[Problem]:
    """Problems only building each expectation in Great Expectations finds. GX's verdicts are cached
    on disk by the entry and GX's version, so GX (seconds to import) is imported only for an entry
    not judged before.

    Covers the `expect:` entries that `validate_checks` (run by `load_project`) found nothing wrong
    with, so the two lists never repeat each other: together they are every problem, each located.
    GX's own validators are what this adds, e.g. a `strftime_format` that is no format, a
    `value_pairs_set` whose items are not pairs, `min_value` above `max_value` for a row count.
    """
    from metrics.quality import catalog, gx_cache

    out = _Out(project)
    for source_name, index, name, args, is_sql in _entries(project):
        if name not in catalog.expectation_names() or (name in catalog.SQL_ONLY and not is_sql):
            continue
        if catalog.argument_problems(name, args):
            continue  # already reported on load
        here = ("sources", source_name, "checks", "expect", index, name)
        _report(out, here, gx_cache.argument_problems(name, args))
    return out.problems


def _entries(project: Project) -> Iterator[tuple[str, int, str, dict[str, Any], bool]]:
    """(source, index in `expect:`, expectation, its arguments without `severity`, is a SQL source)."""
    for source_name, source in project.sources.items():
        for index, entry in enumerate(source.checks.expect):
            for name, raw in entry.items():
                args = {k: v for k, v in (raw or {}).items() if k != "severity"}
                yield source_name, index, name, args, source.type == "sql"


def check_columns(project: Project, name: str, schema: Mapping[str, ColumnKind]) -> list[Problem]:
    """Layer (c): the columns named by a source's checks (duplicates, expectations) exist in it."""
    source = project.sources.get(name)
    if source is None:
        return []
    out = _Out(project)
    base: tuple[Any, ...] = ("sources", name, "checks")
    columns = list(schema)

    def unknown(path: tuple[Any, ...], column: str) -> None:
        out.source_at(
            path,
            f"column {column!r} is not in source {name!r}",
            did_you_mean(column, columns) or f"columns found: {', '.join(sorted(columns))}",
        )

    dups = source.checks.duplicates
    if dups is not None and dups.columns:
        for index, column in enumerate(dups.columns):
            if column not in schema:
                unknown((*base, "duplicates", "columns", index), column)
    for index, entry in enumerate(source.checks.expect):
        for expectation, raw in entry.items():
            args = raw or {}
            here = (*base, "expect", index, expectation)
            for key in ("column", "column_A", "column_B"):
                value = args.get(key)
                if isinstance(value, str) and value not in schema:
                    unknown((*here, key), value)
            listed = args.get("column_list")
            if isinstance(listed, list) and not expectation.startswith("expect_table_columns"):
                for position, value in enumerate(listed):
                    if isinstance(value, str) and value not in schema:
                        unknown((*here, "column_list", position), value)
    return out.problems
