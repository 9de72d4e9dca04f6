"""Which event names and dimension values occur in a source: one bounded distinct scan, cached.

The one home for "does this name occur in the data": `northstar events`, the definitions page and
data-aware validation all read `catalog()`. For SQL sources the database groups and counts (one
`GROUP BY` on the event column, one `SELECT DISTINCT ... LIMIT` per dimension); for files a lazy
Polars query does. Results are bounded (at most `cap` event names and `cap` values per dimension;
beyond that the set is marked incomplete and nothing is concluded from it) and cached by the
connector's data fingerprint, so a changed file or table is scanned again.

A file source's catalog is also kept in the result store (`metrics.engine.result_store`, as JSON),
keyed like a stored answer (`key_of`: the source's definition, the data fingerprint, the cap, and the
engine's and this module's code), so a restarted server or another process reads it instead of
scanning the files again, and new data (a new fingerprint) is scanned. A SQL source's catalog is one
query in the database and its fingerprint cannot see every change, so it is not stored, as the
engine stores no SQL data range.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from connectors.base import ColumnKind, Connector, FrameConnector, SqlConnector
from connectors.models import SourceConfig
from metrics.definitions.models import (
    FilterValue,
    FunnelMetric,
    MetricDef,
    Not,
    RatioMetric,
    RetentionMetric,
    Scalar,
)
from metrics.definitions.project import Project
from metrics.engine.filter_values import frame_rows, sql_rows

CAP = 1000  # event names, and values per dimension, read at most
_CACHE_SIZE = 64


@dataclass(frozen=True)
class EventStats:
    """One event name: its rows, distinct non-null users, first and last timestamp (UTC)."""

    source: str
    event: Scalar
    rows: int
    users: int | None  # None when the source maps no user column
    first_seen: dt.datetime | dt.date | None
    last_seen: dt.datetime | dt.date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "event": self.event,
            "rows": self.rows,
            "users": self.users,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
        }


@dataclass(frozen=True)
class SourceCatalog:
    """The events (most rows first) and the distinct values of each dimension of one source."""

    source: str
    events: tuple[EventStats, ...]
    events_complete: bool  # False when the source has more than `cap` event names
    values: Mapping[str, frozenset[Scalar]]  # dimension -> its distinct non-null values
    complete: frozenset[str]  # the dimensions whose every value is in `values`

    @property
    def event_names(self) -> frozenset[Scalar]:
        return frozenset(e.event for e in self.events)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """A timestamp as ISO 8601 in UTC with a `Z` (a date column's value as `YYYY-MM-DD`)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    return value.isoformat()


_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def _cached(key: tuple[Any, ...], compute: Any) -> Any:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _key(connector: Connector, *extra: Any) -> tuple[Any, ...]:
    config = connector.config
    return (connector.name, config.model_dump_json(), connector.fingerprint(), *extra)


def catalog(connector: Connector, cap: int = CAP) -> SourceCatalog:
    """The source's catalog, scanned once per data fingerprint (a file source's read back from the
    result store when another process scanned the same data)."""
    result: SourceCatalog = _cached(_key(connector, "catalog", cap), lambda: _stored_scan(connector, cap))
    return result


@functools.cache
def _code() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _store_key(connector: Connector, cap: int) -> str | None:
    """The catalog's key in the result store, or None when it is not stored (a SQL source, the store
    turned off, data that cannot be fingerprinted)."""
    from metrics.engine.result_store import enabled_by_env, key_of

    if isinstance(connector, SqlConnector) or not enabled_by_env():
        return None
    try:
        fingerprint = connector.fingerprint()
    except Exception:  # missing data: the scan says so in its own words
        return None
    return key_of(
        {
            "catalog": connector.name,
            "catalog_code": _code(),
            "source_config": connector.config.model_dump_json(),
            "fingerprint": fingerprint,
            "cap": cap,
        }
    )


def _stored_scan(connector: Connector, cap: int) -> SourceCatalog:
    key = _store_key(connector, cap)
    if key is None:
        return _scan(connector, cap)
    from metrics.engine.result_store import ResultStore

    store = ResultStore()
    document = store.get_json(key)
    if document is not None:
        try:
            return _from_json(document)
        except (KeyError, TypeError, ValueError):  # a damaged entry: scanned again and rewritten
            pass
    found = _scan(connector, cap)
    encoded = _to_json(found)
    if encoded is not None:
        store.put_json(key, encoded)
    return found


# Values as tagged JSON, so every one reads back as the same type (1 and "1" and True stay apart).
def _tag(value: Any) -> list[Any] | None:
    if value is None:
        return ["none"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, dt.datetime):  # naive only: a zone would read back as a bare offset
        return ["datetime", value.isoformat()] if value.tzinfo is None else None
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    return None  # another type (a decimal, a duration, ...): the catalog is not stored


def _untag(tagged: list[Any]) -> Any:
    kind = tagged[0]
    if kind == "none":
        return None
    value = tagged[1]
    readers: dict[str, Any] = {
        "bool": bool,
        "int": int,
        "float": float,
        "str": str,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
    }
    if kind not in readers or (kind == "bool" and not isinstance(value, bool)):
        raise ValueError(f"unknown stored value {tagged!r}")
    return readers[kind](value)


def _to_json(found: SourceCatalog) -> dict[str, Any] | None:
    events = []
    for e in found.events:
        fields = [_tag(e.event), _tag(e.first_seen), _tag(e.last_seen)]
        if any(f is None for f in fields):
            return None
        events.append([fields[0], e.rows, e.users, fields[1], fields[2]])
    values: dict[str, list[Any]] = {}
    for dim, members in found.values.items():
        tagged = [_tag(v) for v in members]
        if any(t is None for t in tagged):
            return None
        values[dim] = tagged
    return {
        "source": found.source,
        "events": events,
        "events_complete": found.events_complete,
        "values": values,
        "complete": sorted(found.complete),
    }


def _from_json(document: Mapping[str, Any]) -> SourceCatalog:
    events = tuple(
        EventStats(
            str(document["source"]),
            _untag(event),
            int(rows),
            None if users is None else int(users),
            _untag(first),
            _untag(last),
        )
        for event, rows, users, first, last in document["events"]
    )
    return SourceCatalog(
        source=str(document["source"]),
        events=events,
        events_complete=bool(document["events_complete"]),
        values={str(d): frozenset(_untag(v) for v in vs) for d, vs in document["values"].items()},
        complete=frozenset(str(d) for d in document["complete"]),
    )


def any_row(connector: Connector, filters: Mapping[str, Any]) -> bool:
    """Whether at least one row passes `filters` (keys ANDed; `{not: [...]}` keeps nulls). Reads at
    most one row; cached by the data fingerprint."""
    key = _key(connector, "any_row", repr(sorted((k, repr(v)) for k, v in filters.items())))
    found: bool = _cached(key, lambda: _any_row(connector, filters))
    return found


def _columns(config: SourceConfig, schema: Mapping[str, ColumnKind]) -> tuple[str | None, list[str]]:
    event = config.columns.event if config.columns.event in schema else None
    return event, [d for d in config.dimensions if d in schema]


def _scan(connector: Connector, cap: int) -> SourceCatalog:
    schema = connector.schema()
    event, dims = _columns(connector.config, schema)
    if isinstance(connector, SqlConnector):
        return _scan_sql(connector, schema, event, dims, cap)
    if isinstance(connector, FrameConnector):
        return _scan_frame(connector, schema, event, dims, cap)
    raise TypeError(f"source {connector.name!r}: no way to scan a {type(connector).__name__}")


def _timestamp(value: Any) -> dt.datetime | dt.date | None:
    """A naive UTC datetime (a date stays a date)."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):  # what Polars and most drivers give: no SQLAlchemy import
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    from connectors.sql import utc_datetime  # SQLite's text timestamps

    aware = utc_datetime(value)
    return aware.replace(tzinfo=None) if aware is not None else None


def _build(
    connector: Connector,
    rows: list[tuple[Any, ...]],
    has_user: bool,
    values: dict[str, list[Scalar]],
    cap: int,
) -> SourceCatalog:
    rows = sorted(rows, key=lambda r: (-int(r[1]), str(r[0])))
    events = tuple(
        EventStats(
            connector.name,
            name,
            int(count),
            int(users) if has_user and users is not None else None,
            _timestamp(first),
            _timestamp(last),
        )
        for name, count, users, first, last in rows[:cap]
    )
    return SourceCatalog(
        source=connector.name,
        events=events,
        events_complete=len(rows) <= cap,
        values={d: frozenset(v[:cap]) for d, v in values.items()},
        complete=frozenset(d for d, v in values.items() if len(v) <= cap),
    )


def _scan_frame(
    connector: FrameConnector, schema: Mapping[str, ColumnKind], event: str | None, dims: list[str], cap: int
) -> SourceCatalog:
    config = connector.config
    lf = connector.scan()
    user = config.columns.user if config.columns.user in schema else None
    ts = config.columns.timestamp
    queries: list[pl.LazyFrame] = []
    if event is not None:
        ts_expr = pl.col(ts)
        ts_type = lf.collect_schema()[ts]
        if isinstance(ts_type, pl.Datetime) and ts_type.time_zone:
            ts_expr = ts_expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        users = pl.col(user).drop_nulls().n_unique() if user else pl.lit(None)
        queries.append(
            lf.filter(pl.col(event).is_not_null())
            .group_by(pl.col(event).alias("event"))
            .agg(
                pl.len().alias("rows"),
                users.alias("users"),
                ts_expr.min().alias("first"),
                ts_expr.max().alias("last"),
            )
            .sort("rows", descending=True)
            .head(cap + 1)
        )
    for dim in dims:
        queries.append(lf.select(pl.col(dim).drop_nulls().unique().head(cap + 1)))
    frames = pl.collect_all(queries)
    rows = list(frames.pop(0).iter_rows()) if event is not None else []
    values = {dim: frame.to_series().to_list() for dim, frame in zip(dims, frames, strict=True)}
    return _build(connector, rows, user is not None, values, cap)


def _scan_sql(
    connector: SqlConnector, schema: Mapping[str, ColumnKind], event: str | None, dims: list[str], cap: int
) -> SourceCatalog:
    import sqlalchemy as sa

    config = connector.config
    src = connector.selectable()
    user = config.columns.user if config.columns.user in schema else None
    rows: list[tuple[Any, ...]] = []
    if event is not None:
        ev = src.c[event]
        ts = src.c[config.columns.timestamp]
        users = sa.func.count(sa.distinct(src.c[user])) if user else sa.null()
        statement = (
            sa.select(
                ev.label("event"),
                sa.func.count().label("n_rows"),
                users.label("users"),
                sa.func.min(ts).label("first_seen"),
                sa.func.max(ts).label("last_seen"),
            )
            .where(ev.is_not(None))
            .group_by(ev)
            .order_by(sa.func.count().desc())
            .limit(cap + 1)
        )
        rows = list(connector.execute(statement).iter_rows())
    values: dict[str, list[Scalar]] = {}
    for dim in dims:
        column = src.c[dim]
        statement = sa.select(column).where(column.is_not(None)).distinct().limit(cap + 1)
        values[dim] = connector.execute(statement).to_series().to_list()
    return _build(connector, rows, user is not None, values, cap)


def metrics_by_event(project: Project) -> dict[tuple[str, Scalar], list[str]]:
    """(source, event name) -> the metrics that name it, in definition order: the one map from
    definitions to the events they use (filter `event:`, steps, cohort_event, return_event)."""
    out: dict[tuple[str, Scalar], list[str]] = {}
    for metric_id, metric in project.metrics.items():
        for key, _, value in named_values(metric):
            if key == "event":
                users = out.setdefault((metric.source, value), [])  # type: ignore[union-attr]
                if metric_id not in users:
                    users.append(metric_id)
    return out


def named_values(metric: MetricDef) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(filter key or "event", path under the metric, value) for every value a metric compares:
    filter values (a value, a list, `{not: [...]}`), funnel `steps` (and `exclude`), retention
    `cohort_event` and `return_event` (`any` is no name)."""
    if isinstance(metric, RatioMetric):
        return []
    out: list[tuple[str, tuple[Any, ...], Any]] = []
    for key, value in metric.filter.items():
        path: tuple[Any, ...] = ("filter", key)
        if isinstance(value, Not):
            path, value = (*path, "not"), value.values
        if isinstance(value, list):
            out += [(key, (*path, i), v) for i, v in enumerate(value)]
        else:
            out.append((key, path, value))
    if isinstance(metric, FunnelMetric):
        out += [("event", ("steps", i), step) for i, step in enumerate(metric.steps)]
        out += [("event", ("exclude", i), e) for i, e in enumerate(getattr(metric, "exclude", None) or [])]
    if isinstance(metric, RetentionMetric):
        if metric.cohort_event != "any":
            out.append(("event", ("cohort_event",), metric.cohort_event))
        returns = metric.return_event
        if isinstance(returns, list):
            out += [("event", ("return_event", i), r) for i, r in enumerate(returns)]
        elif returns != "any":
            out.append(("event", ("return_event",), returns))
    return out


def _any_row(connector: Connector, filters: Mapping[str, FilterValue]) -> bool:
    schema = connector.schema()
    event = connector.config.columns.event
    if isinstance(connector, SqlConnector):
        import sqlalchemy as sa

        src = connector.selectable()
        condition = sql_rows(filters, None, event, {c.name: c for c in src.c}, schema)
        statement = sa.select(sa.literal(1).label("one")).select_from(src)
        if condition is not None:
            statement = statement.where(condition)
        return connector.execute(statement.limit(1)).height > 0
    assert isinstance(connector, FrameConnector)
    predicate = frame_rows(filters, None, event, schema)
    rows = connector.scan() if predicate is None else connector.scan().filter(predicate)
    return rows.head(1).collect().height > 0
