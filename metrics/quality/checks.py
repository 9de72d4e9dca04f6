"""Run every source's data-quality checks, and keep the results while the data stays the same.

`run_checks(project)` reads each source once for the built-in checks (Polars for files, aggregate
SQL in the database) and hands its `expect:` entries to Great Expectations (imported only when a
source has any that GX must judge: on files, `between` and `in_set` with plain arguments are judged
in the same Polars scan, by GX's rules, `metrics.quality.polars_expect`). A source that cannot be
read gives one failed check, `readable`, with the reason.

Results are cached per source in a small in-process LRU keyed by what changes the answer: the
source's definition and the project time zone, the connector's data fingerprint (file sizes and
modification times; for SQL whatever the connector reports), and the clock: an explicit `now`
exactly, or, without one, the current hour, and the cut (`until`). So a file that changes is
re-checked on the next call; without an explicit `now`, freshness and future-timestamp verdicts may
be up to an hour old. `clear_cache()` drops everything.

`run_checks_as_of(project, engine, as_of)` is what every surface runs: the checks as of a day, on
the data up to its end, by the clock of `metrics.quality.clock.quality_clock`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from connectors.base import Connector, ConnectorError, FrameConnector, SqlConnector, connect
from connectors.models import SourceConfig, SqlSource
from metrics.definitions import clock as project_clock
from metrics.definitions.calendar import Calendar
from metrics.definitions.problems import did_you_mean
from metrics.definitions.project import Project
from metrics.engine.request import MetricError
from metrics.quality import catalog, gx_days, polars_expect
from metrics.quality.builtin import (
    Profile,
    UserRows,
    builtin_results,
    cut_frame,
    cut_selectable,
    frame_profile,
    local_days,
    no_data_result,
    sql_profile,
)
from metrics.quality.clock import CLOCK_CHECKS, quality_clock
from metrics.quality.report import CheckResult, QualityReport, Severity

if TYPE_CHECKING:
    from metrics.engine import Engine
    from metrics.quality.gx_runner import Outcome, Spec

CACHE_SIZE = 64
_cache: OrderedDict[tuple[str, ...], tuple[CheckResult, ...]] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached result (the next `run_checks` reads the data again)."""
    with _lock:
        _cache.clear()


def cache_size() -> int:
    with _lock:
        return len(_cache)


def run_checks_as_of(
    project: Project,
    engine: Engine | None,
    as_of: dt.date,
    *,
    now: dt.datetime | None = None,
    sources: Sequence[str] | None = None,
) -> QualityReport:
    """The checks as of `as_of`: on the rows up to the end of that day (project time zone), with
    freshness aged at its end, or at `now` (default: the project's clock) when that is earlier. A check
    that can only pass on the cut data (`CLOCK_CHECKS`) is left out."""
    clock = quality_clock(project, as_of, now)
    report = run_checks(project, engine, now=clock.now, until=clock.until, sources=sources)
    if clock.past:
        report = dataclasses.replace(
            report, results=tuple(r for r in report.results if r.check not in CLOCK_CHECKS)
        )
    return report


def run_checks(
    project: Project,
    engine: Engine | None = None,
    *,
    now: dt.datetime | None = None,
    until: dt.datetime | None = None,
    sources: Sequence[str] | None = None,
    connectors: Mapping[str, Connector] | None = None,
) -> QualityReport:
    """Run the built-in and configured checks of every source (or of `sources`).

    `now` (naive: UTC) is the clock for freshness, future timestamps and the current day that the
    volume check leaves out; default: the project's clock (`metrics.definitions.clock.now`: the
    real time, or noon of the day `NORTHSTAR_TODAY` pins). `until`: rows with a timestamp at or after it
    are not read (rows without one are). Connectors come from `connectors`, else from the engine
    (`engine.connector(name)`, so its connectors are shared), else from the registry.
    """
    started = dt.datetime.now(dt.UTC)  # when the run started: the machine's time, not the project's
    moment = _utc(now) if now is not None else project_clock.now(Calendar.of(project.settings).zone)
    names = list(project.sources) if sources is None else list(dict.fromkeys(sources))
    for name in names:
        if name not in project.sources:
            hint = did_you_mean(name, list(project.sources))
            raise MetricError(
                f"unknown source {name!r}"
                + (f"; {hint}" if hint else f"; sources: {', '.join(project.sources)}")
            )
    cut = _utc(until) if until is not None else None
    clock_key = (
        moment.isoformat()
        if now is not None
        else moment.replace(minute=0, second=0, microsecond=0).isoformat()
    ) + f"/{cut.isoformat() if cut else '-'}"
    results: list[CheckResult] = []
    for name in names:
        results.extend(_checked(project, name, engine, connectors, moment, cut, clock_key))
    return QualityReport(tuple(results), started)


def _checked(
    project: Project,
    name: str,
    engine: Engine | None,
    connectors: Mapping[str, Connector] | None,
    now: dt.datetime,
    until: dt.datetime | None,
    clock_key: str,
) -> tuple[CheckResult, ...]:
    source = project.sources[name]
    try:
        connector = _connector(project, name, source, engine, connectors)
        fingerprint = connector.fingerprint()
    except Exception as exc:
        return (_unreadable(name, exc),)
    zone = project.settings.timezone
    user_rows = project.user_rows(name)  # which metrics count the rows user_not_null finds
    key = (
        name,
        source.model_dump_json(),
        zone,
        str(project.root.resolve()),
        fingerprint,
        clock_key,
        repr(sorted(user_rows.items())),
    )
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    results = _run_source(
        name,
        source,
        connector,
        zone,
        now,
        until,
        identity=(str(project.root.resolve()), name),
        user_rows=user_rows,
    )
    if not (len(results) == 1 and results[0].check == "readable"):
        with _lock:
            _cache[key] = results
            _cache.move_to_end(key)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return results


def _connector(
    project: Project,
    name: str,
    source: SourceConfig,
    engine: Engine | None,
    connectors: Mapping[str, Connector] | None,
) -> Connector:
    if connectors is not None and name in connectors:
        return connectors[name]
    if engine is not None:
        return engine.connector(name)
    return connect(name, source, project.root)


def _unreadable(name: str, exc: BaseException) -> CheckResult:
    reason = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    return CheckResult(
        name,
        "readable",
        "error",
        False,
        None,
        f"the source cannot be read, so no other check ran: {reason}",
        [],
        dt.datetime.now(dt.UTC),
    )


def _run_source(
    name: str,
    source: SourceConfig,
    connector: Connector,
    zone: str,
    now: dt.datetime,
    until: dt.datetime | None,
    *,
    identity: tuple[str, ...] = (),
    user_rows: UserRows | None = None,
) -> tuple[CheckResult, ...]:
    ran_at = dt.datetime.now(dt.UTC)
    wants_duplicates = source.checks.duplicates is not None
    specs = _specs(source)
    days: gx_days.DayPlan | None = None
    natives: dict[int, polars_expect.Native] = {}
    try:
        if isinstance(connector, SqlConnector):
            profile = sql_profile(
                connector, source, now, zone, duplicates=wants_duplicates, until=until, user_rows=user_rows
            )
        elif isinstance(connector, FrameConnector):
            frame = connector.scan()
            schema = frame.collect_schema()
            natives = polars_expect.plan(specs, schema) if source.columns.timestamp in schema else {}
            days = gx_days.plan(source, specs, schema, zone, identity, skip=natives)
            profile = frame_profile(
                frame,
                source,
                zone,
                now,
                duplicates=wants_duplicates,
                until=until,
                prints=days.prints,
                flags=polars_expect.flags(natives),
                user_rows=user_rows,
            )
        else:
            raise ConnectorError(f"source {name!r}: its connector offers neither rows nor SQL")
    except Exception as exc:
        if days is not None:
            days.join()
        return (_unreadable(name, exc),)
    if profile.rows == 0:  # every check would pass on zero rows: say that nothing was checked
        if days is not None:
            days.join()
        return (no_data_result(name, zone, until, ran_at),)
    results = builtin_results(name, source, profile, zone=zone, now=now, ran_at=ran_at)
    if specs:
        outcomes = _expectations(
            connector, source, specs, zone, until, days=days, profile=profile, natives=natives
        )
        ran_at = dt.datetime.now(dt.UTC)
        results.extend(
            CheckResult(
                name,
                spec.check,
                spec.severity,
                o.success,
                o.unexpected_count,
                o.details,
                o.sample,
                ran_at,
                o.days,
            )
            for spec, o in zip(specs, outcomes, strict=True)
        )
    return tuple(results)


def _specs(source: SourceConfig) -> list[Spec]:
    from metrics.quality.gx_runner import Spec, label

    specs: list[Spec] = []
    seen: dict[str, int] = {}
    for entry in source.checks.expect:
        for name, raw in entry.items():
            args = {k: v for k, v in (raw or {}).items() if k != "severity"}
            severity: Severity = "warn" if (raw or {}).get("severity") == "warn" else "error"
            check = label(name, args)
            seen[check] = seen.get(check, 0) + 1
            if seen[check] > 1:
                check = f"{check} #{seen[check]}"
            specs.append(Spec(name, args, severity, check))
    return specs


def _expectations(
    connector: Connector,
    source: SourceConfig,
    specs: list[Spec],
    zone: str,
    until: dt.datetime | None,
    *,
    days: gx_days.DayPlan | None = None,
    profile: Profile | None = None,
    natives: Mapping[int, polars_expect.Native] | None = None,
) -> list[Outcome]:
    """Inside the database through GX's SQL data source where its dialect says GX runs there; else on
    a pandas frame of the needed columns, fetched through the connector. Either way on the rows
    before `until` (and those without a timestamp), as the built-in checks. A row-level expectation
    that failed names the local days of its unexpected rows (`Outcome.days`) when GX gave them all.
    On files, `natives` (by index) are judged from the profile's flags, without GX."""
    from metrics.quality import gx_runner

    if isinstance(connector, SqlConnector):
        from metrics.engine.sql_dialects import dialect_or_ansi  # SQLAlchemy: not for files

        dialect = dialect_or_ansi(connector.dialect_name)
        if dialect.gx_sql_supported and isinstance(source, SqlSource):  # Spark: the pandas frame below
            query = source.query.strip().rstrip(";").strip() if source.query else None
            table = source.table
            if until is not None:
                table, query = None, _sql_text(connector, cut_selectable(connector, source, until, zone))
            outcomes = gx_runner.run_on_sql(
                _url(connector),
                specs,
                table=table,
                query=query,
                connect_args=dialect.read_only_connect_args(source.timeout_seconds),
                timestamp=source.columns.timestamp,
            )
            return [_with_days(o, lambda keys: pl.Series("ts", keys, strict=False), zone) for o in outcomes]
        return _on_pandas(
            specs,
            source,
            zone,
            list(connector.schema()),
            lambda cols: _sql_columns(connector, source, cols, until, zone),
        )
    assert isinstance(connector, FrameConnector)
    frame = cut_frame(connector.scan(), source, zone, until)
    available = list(frame.collect_schema())
    found: dict[int, Outcome] = {}
    counted = profile.flags if profile is not None else None
    if natives and counted is not None and counted.height:  # no rows: GX's own verdict
        timestamp = source.columns.timestamp
        found.update(polars_expect.outcomes(natives, counted, frame, timestamp, zone, gx_runner.DAY_ROWS))
    prints = profile.prints if profile is not None else None
    if (
        days is not None and days.columns and prints is not None and prints.height
    ):  # no rows: GX's own verdict
        found.update(gx_days.run_by_day(frame, source, specs, zone, days, prints))
    if days is not None:
        days.join()
    rest = [i for i in range(len(specs)) if i not in found]
    if rest:
        ran = _on_pandas(
            [specs[i] for i in rest], source, zone, available, lambda cols: frame.select(cols).collect()
        )
        found.update(zip(rest, ran, strict=True))
    return [found[i] for i in range(len(specs))]


def _with_days(outcome: Outcome, stamps: Callable[[tuple[Any, ...]], pl.Series], zone: str) -> Outcome:
    """The outcome with the local days of its unexpected rows, when it failed and GX gave every row's
    key (`stamps` turns the keys into the rows' timestamps); else as it is (no days: flags everything)."""
    if outcome.success or not outcome.unexpected_keys:
        return outcome
    days = local_days(stamps(outcome.unexpected_keys), zone)
    return outcome if days is None else dataclasses.replace(outcome, days=days)


def _sql_text(connector: SqlConnector, rows: Any) -> str:
    """SELECT * over `rows` as SQL text in the source's dialect, its values written in (GX's query asset)."""
    import sqlalchemy as sa

    statement = sa.select(rows)
    dialect = connector.url.get_dialect()()
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _sql_columns(
    connector: SqlConnector, source: SourceConfig, columns: list[str], until: dt.datetime | None, zone: str
) -> pl.DataFrame:
    import sqlalchemy as sa

    table = cut_selectable(connector, source, until, zone)
    return connector.execute(sa.select(*[table.c[c] for c in columns]))


def _on_pandas(
    specs: list[Spec],
    source: SourceConfig,
    zone: str,
    available: list[str],
    read: Callable[[list[str]], pl.DataFrame],
) -> list[Outcome]:
    """Run the expectations on a pandas frame of only the columns they name (all for table-level ones)
    and the timestamp, which places their unexpected rows (GX gives their positions) on local days."""
    from metrics.quality import gx_runner

    outcomes: dict[int, Outcome] = {
        i: gx_runner.Outcome(False, None, f"{s.name} runs SQL of its own, so it works on SQL sources only")
        for i, s in enumerate(specs)
        if s.name in catalog.SQL_ONLY
    }
    runnable = [s for s in specs if s.name not in catalog.SQL_ONLY]
    if runnable:
        wanted: list[str] = []
        for spec in runnable:
            columns = gx_runner.columns_of(spec.name, spec.args)
            if columns is None:
                wanted = available
                break
            wanted.extend(c for c in columns if c in available and c not in wanted)
        timestamp = source.columns.timestamp
        if timestamp in available and timestamp not in wanted:
            wanted.append(timestamp)
        if not wanted:  # table-level expectations on no column: the rows still matter
            wanted = available[:1]
        try:
            data = read(wanted)
            pandas = data.to_pandas()
        except Exception as exc:
            ran = [gx_runner.Outcome(False, None, f"could not read the columns: {exc}")] * len(runnable)
        else:
            ran = gx_runner.run_on_pandas(pandas, runnable)
            if timestamp in data.columns:
                stamps = data[timestamp]
                ran = [_with_days(o, lambda keys: stamps.gather(list(keys)), zone) for o in ran]
        it = iter(ran)
        for i, spec in enumerate(specs):
            if spec.name not in catalog.SQL_ONLY:
                outcomes[i] = next(it)
    return [outcomes[i] for i in range(len(specs))]


def _url(connector: SqlConnector) -> str:
    """The connection URL as a string GX can open: the connector's resolved one."""
    return connector.url.render_as_string(hide_password=False)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
