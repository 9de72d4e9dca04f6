"""Great Expectations Core, imported lazily: building expectations (deep argument checks) and running them.

Importing `great_expectations` costs seconds, so nothing here imports it at module level: the first
call that needs it does, and the list of expectation names is kept for the life of the process.
Loading a project never comes here: it checks `expect:` against the checked-in catalog
(`metrics.quality.catalog`). Every run uses an ephemeral data context (nothing is written to disk, no analytics,
no progress bars): file sources are validated on a pandas DataFrame of only the columns the
expectations name (and the timestamp); SQL sources through GX's SQL data source on the source's own
URL, so the expectations run inside the database. A failed row-level expectation gives back the keys
of its unexpected rows (`Outcome.unexpected_keys`), which `metrics.quality.checks` turns into days.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import numbers
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metrics.definitions.problems import did_you_mean
from metrics.quality import catalog
from metrics.quality.catalog import GX_FIELDS, RESERVED_ARGS, ArgProblem, quiet
from metrics.quality.report import Severity, plain

SAMPLE_SIZE = 5
# At most this many unexpected rows per expectation come back with their keys (GX's
# `partial_unexpected_count`); with more, the check names no days (it flags every number of its source).
DAY_ROWS = 2000
_COLUMN_ARGS = ("column", "column_A", "column_B")
_names: frozenset[str] | None = None
_threshold_lock = threading.Lock()


def expectation_names() -> frozenset[str]:
    """Names of every expectation GX registers (imports GX on the first call, then cached)."""
    global _names
    if _names is None:
        with quiet():
            import great_expectations  # noqa: F401  (registers the core expectations)
            from great_expectations.expectations.registry import list_registered_expectation_implementations

            _names = frozenset(list_registered_expectation_implementations())
    return _names


def expectation_class(name: str) -> Any | None:
    if name not in expectation_names():
        return None
    from great_expectations.expectations.registry import get_expectation_impl

    return get_expectation_impl(name)


def argument_names(name: str) -> list[str]:
    """The arguments a user may write for an expectation (GX's bookkeeping fields left out)."""
    cls = expectation_class(name)
    fields = getattr(cls, "__fields__", None) or getattr(cls, "model_fields", None) or {}
    return [f for f in fields if f not in GX_FIELDS]


def coerce(args: Mapping[str, Any]) -> dict[str, Any]:
    """YAML dates become datetimes (pandas and SQL compare those with timestamp columns)."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        out[key] = value
    return out


def argument_problems(name: str, args: Mapping[str, Any]) -> list[ArgProblem]:
    """What is wrong with `args` for expectation `name`, found by building the GX expectation."""

    cls = expectation_class(name)
    if cls is None:
        return [ArgProblem(None, f"unknown expectation {name!r}")]
    problems = [
        ArgProblem(key, f"argument {key!r} is set by Northstar, not in the YAML", at_value=False)
        for key in args
        if key in RESERVED_ARGS
    ]
    try:
        with quiet():
            cls(**coerce({k: v for k, v in args.items() if k not in RESERVED_ARGS}))
    except Exception as exc:
        problems.extend(_translate(name, exc, argument_names(name), did_you_mean))
    return problems


def _translate(name: str, exc: Exception, allowed: list[str], did_you_mean: Any) -> list[ArgProblem]:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [ArgProblem(None, f"invalid arguments for {name}: {exc}")]
    out: list[ArgProblem] = []
    seen: set[str] = set()
    listed = list(errors())
    if any((e.get("loc") or ("__root__",))[0] != "__root__" for e in listed):
        # Whole-expectation rules (e.g. "min_value and max_value cannot both be None") then only
        # repeat the consequence of a bad argument.
        listed = [e for e in listed if (e.get("loc") or ("__root__",))[0] != "__root__"]
    for error in listed:
        loc = error.get("loc") or ("__root__",)
        key = str(loc[0])
        kind = str(error.get("type", ""))
        message = str(error.get("msg", "invalid value"))
        if key in seen:  # a union field reports one error per alternative: the first says enough
            continue
        seen.add(key)
        if key == "__root__":
            out.append(ArgProblem(None, f"{name}: {message}"))
        elif kind.endswith("extra") or kind == "extra_forbidden":
            out.append(
                ArgProblem(
                    key,
                    f"unknown argument {key!r} for {name}",
                    did_you_mean(key, allowed) or f"it takes: {', '.join(allowed)}",
                    at_value=False,
                )
            )
        elif kind.endswith("missing") or kind == "missing":
            out.append(ArgProblem(None, f"{name} needs the argument {key!r}"))
        else:
            out.append(ArgProblem(key, message if message.startswith(key) else f"{key}: {message}"))
    return out or [ArgProblem(None, f"invalid arguments for {name}: {exc}")]


def invalid_reason(name: str, args: Mapping[str, Any], exc: Exception) -> str:
    """Why GX refused to build an expectation, in the words `load_project` uses for the same YAML."""
    problems = []
    if name in catalog.expectation_names():
        problems = catalog.argument_problems(name, args)
    if not problems:
        problems = _translate(name, exc, argument_names(name), did_you_mean)
    return "; ".join(p.message + (f" ({p.hint})" if p.hint else "") for p in problems)


def columns_of(name: str, args: Mapping[str, Any]) -> list[str] | None:
    """The data columns an expectation reads; None when it needs every column (table-level)."""
    if name.startswith(("expect_table_column", "expect_column_to_exist")) or args.get("row_condition"):
        return None
    found: list[str] = []
    for key in _COLUMN_ARGS:
        value = args.get(key)
        if isinstance(value, str):
            found.append(value)
    value = args.get("column_list")
    if isinstance(value, list):
        found.extend(str(v) for v in value)
    return found


def label(name: str, args: Mapping[str, Any]) -> str:
    """How a check is named in reports: the expectation, with its columns when it has any."""
    columns = [str(args[k]) for k in _COLUMN_ARGS if isinstance(args.get(k), str)]
    if isinstance(args.get("column_list"), list):
        columns.extend(str(v) for v in args["column_list"])
    return f"{name}({', '.join(columns)})" if columns else name


@dataclass(frozen=True)
class Spec:
    """One `expect:` entry, ready to run."""

    name: str
    args: Mapping[str, Any]
    severity: Severity
    check: str


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict. `unexpected_keys`: what GX gives back for *every* unexpected row of a
    row-level expectation (`partial_unexpected_index_list`): its timestamp on SQL (the
    `unexpected_index_column_names`), its position in the frame on pandas; None when GX gives none
    (table-level and aggregate expectations) or not all (more than `DAY_ROWS`). `days`: the local days
    of those rows, filled in by `metrics.quality.checks`."""

    success: bool
    unexpected_count: int | None
    details: str
    sample: list[Any] = field(default_factory=list)
    unexpected_keys: tuple[Any, ...] | None = None
    days: tuple[dt.date, ...] = ()
    # What a per-day verdict keeps (`metrics.quality.gx_days`): GX's element count, the rows it judged
    # (element count less missing rows, when GX counts those), and the keys it listed (up to DAY_ROWS).
    element_count: int | None = field(default=None, compare=False)
    considered: int | None = field(default=None, compare=False)
    listed_keys: tuple[Any, ...] | None = field(default=None, compare=False)
    listed_values: tuple[Any, ...] | None = field(default=None, compare=False)


def _result_format(index_column: str | None) -> dict[str, Any]:
    """SUMMARY, with the keys of up to `DAY_ROWS` unexpected rows: on SQL their `index_column` values
    (one bounded query per expectation), on pandas their index labels (the frame's positions)."""
    out: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": DAY_ROWS,
        "return_unexpected_index_query": False,  # on pandas a text listing every unexpected index
    }
    if index_column is not None:
        out["unexpected_index_column_names"] = [index_column]
    return out


def run_on_pandas(frame: Any, specs: Sequence[Spec]) -> list[Outcome]:
    """Validate `specs` on a pandas DataFrame through an ephemeral context (its index: positions 0..n-1,
    which the row-level expectations' `unexpected_keys` are)."""
    if not specs:
        return []
    with quiet(), _no_frame_fingerprint():
        context = _context()
        asset = context.data_sources.add_pandas(_name("pandas")).add_dataframe_asset(_name("frame"))
        batch_definition = asset.add_batch_definition_whole_dataframe(_name("all"))
        try:
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        except Exception as exc:
            return [Outcome(False, None, f"could not run: {_one_line(exc)}") for _ in specs]
        return _validate(batch, specs, None)


@contextlib.contextmanager
def _no_frame_fingerprint() -> Iterator[None]:
    """GX fingerprints every pandas batch under 1 GB (an MD5 of pandas' hash of every row, twice per
    run) for a batch marker nothing reads; at 10M rows that was four fifths of GX's time. Its own
    threshold turns it off; put back afterwards. Without the setting (another GX) nothing changes."""
    try:
        from great_expectations.execution_engine import pandas_execution_engine as engine
    except ImportError:  # pragma: no cover - GX moved it: run as GX does
        yield
        return
    if not hasattr(engine, "HASH_THRESHOLD"):  # pragma: no cover
        yield
        return
    with _threshold_lock:
        saved = engine.HASH_THRESHOLD
        engine.HASH_THRESHOLD = 0
        try:
            yield
        finally:
            engine.HASH_THRESHOLD = saved


def run_on_sql(
    url: str,
    specs: Sequence[Spec],
    *,
    table: str | None,
    query: str | None,
    connect_args: Mapping[str, str | bool],
    timestamp: str | None = None,
) -> list[Outcome]:
    """Validate `specs` inside the database: GX's SQL data source on `url`, the table or the query.
    Row-level expectations give the `timestamp` column's values of their unexpected rows.

    `connect_args` open read-only sessions where the driver lets us say so at connect time (the
    source's `SqlDialect.read_only_connect_args`: PostgreSQL also gets the statement timeout).
    """
    if not specs:
        return []
    with quiet():
        context = _context()
        source: Any = None
        try:
            source = context.data_sources.add_sql(
                _name("sql"),
                connection_string=url,
                kwargs={"connect_args": dict(connect_args)} if connect_args else {},
            )
            if query is not None:
                asset = source.add_query_asset(_name("query"), query=query)
            else:
                assert table is not None
                schema, _, name = table.rpartition(".")
                asset = source.add_table_asset(_name("table"), table_name=name, schema_name=schema or None)
            batch = asset.add_batch_definition_whole_table(_name("all")).get_batch()
        except Exception as exc:
            if source is not None:
                _dispose(source)
            return [Outcome(False, None, f"could not run: {_one_line(_cause(exc))}") for _ in specs]
        try:
            return _validate(batch, specs, timestamp)
        finally:
            _dispose(source)


def _cause(exc: BaseException) -> BaseException:
    """GX wraps driver errors (TestConnectionError(cause=...)): the innermost says what happened."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _dispose(source: Any) -> None:
    with contextlib.suppress(Exception):  # nothing to release
        source.get_engine().dispose()


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _name(kind: str) -> str:
    return f"northstar_{kind}_{uuid.uuid4().hex[:8]}"


def _validate(batch: Any, specs: Sequence[Spec], index_column: str | None) -> list[Outcome]:
    import great_expectations as gx

    outcomes: dict[int, Outcome] = {}
    expectations = []
    for index, spec in enumerate(specs):
        cls = expectation_class(spec.name)
        if cls is None:
            outcomes[index] = Outcome(False, None, f"unknown expectation {spec.name!r}")
            continue
        try:
            expectations.append(cls(**coerce(spec.args), meta={"northstar_index": index}))
        except Exception as exc:
            outcomes[index] = Outcome(
                False, None, f"invalid arguments: {invalid_reason(spec.name, spec.args, exc)}"
            )
    if expectations:
        try:
            suite = gx.ExpectationSuite(name=_name("suite"), expectations=expectations)
            validation = batch.validate(suite, result_format=_result_format(index_column))
        except Exception as exc:
            message = f"could not run: {_one_line(exc)}"
            for expectation in expectations:
                outcomes[int(expectation.meta["northstar_index"])] = Outcome(False, None, message)
        else:
            for result in validation.results:
                index = int((result.expectation_config.meta or {}).get("northstar_index", -1))
                if index >= 0:
                    outcomes[index] = _outcome(result, index_column)
    return [outcomes.get(i, Outcome(False, None, "GX returned no result")) for i in range(len(specs))]


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "an exception")
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message") or "an exception")
    return None


def _keys(res: Mapping[str, Any], count: int | None, index_column: str | None) -> tuple[Any, ...] | None:
    """The keys of every unexpected row, or None when GX did not give them all."""
    listed = res.get("partial_unexpected_index_list")
    if not count or not isinstance(listed, list) or len(listed) != count:
        return None
    if index_column is None:
        return tuple(listed)
    if not all(isinstance(item, Mapping) and index_column in item for item in listed):
        return None
    return tuple(item[index_column] for item in listed)


def _outcome(result: Any, index_column: str | None = None) -> Outcome:
    name = str(result.expectation_config.type)
    error = _exception_message(getattr(result, "exception_info", None))
    if error is not None:
        return Outcome(False, None, f"could not run: {_one_line(error)}")
    res: Mapping[str, Any] = result.result or {}
    unexpected = res.get("unexpected_count")
    count = int(unexpected) if unexpected is not None else None
    partial = res.get("partial_unexpected_list")
    sample = [plain(v) for v in partial[:SAMPLE_SIZE]] if isinstance(partial, list) else []
    observed = res.get("observed_value")
    if count is not None:
        total = res.get("element_count")
        details = describe(
            bool(result.success),
            count,
            int(total) if isinstance(total, int | float) else None,
            res.get("unexpected_percent"),
            sample,
        )
    elif name == "unexpected_rows_expectation" and isinstance(observed, int):  # observed = rows found
        count = observed
        details = "no row matches the query" if count == 0 else f"{count:,} rows match the query"
        sample = []
    elif "observed_value" in res:
        details = f"observed {plain(observed)!r}"
        sample = [plain(observed)]
    else:
        details = "passed" if result.success else "failed"
    keys = _keys(res, count, index_column) if "unexpected_count" in res else None
    element_count = _whole(res.get("element_count"))
    missing = _whole(res.get("missing_count"))
    considered = None if element_count is None else element_count - (missing or 0)
    listed = res.get("partial_unexpected_index_list")
    return Outcome(
        bool(result.success),
        count,
        details,
        sample,
        keys,
        element_count=element_count,
        considered=considered,
        listed_keys=tuple(listed) if isinstance(listed, list) else None,
        listed_values=tuple(plain(v) for v in partial) if isinstance(partial, list) else None,
    )


def _whole(value: Any) -> int | None:
    """A count GX gave (a Python or NumPy integer), else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return None


def describe(success: bool, count: int, total: int | None, percent: Any, sample: Sequence[Any]) -> str:
    """The details of an expectation that counts unexpected values (GX's result, or the same combined
    from per-day verdicts by `metrics.quality.gx_days`)."""
    of = f" of {total:,}" if total is not None else ""
    if count == 0:
        return f"no unexpected values{of}"
    share = f" ({percent:.2g}% of non-null)" if percent else ""
    shown = ", ".join(repr(v) for v in sample[:3])
    details = f"{count:,}{of} values are unexpected{share}" + (f", e.g. {shown}" if shown else "")
    return details + (" (within `mostly`)" if success else "")


def _one_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
