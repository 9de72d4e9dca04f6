"""What differs between databases: every dialect difference Northstar knows, declared per dialect.

Callers ask a `SqlDialect` (from `dialect_for`, or `dialect_or_ansi` for data-quality checks on any
database) and never branch on a dialect's name: the `DIALECTS` registry is the one place names
appear. Every helper returns a SQLAlchemy Core expression; values are bound parameters. The
compiler in `metrics.engine.sql_backend` works on *day numbers* (days since 1970-01-01 of the local
calendar date) and *month indexes* (year * 12 + month - 1), so bucketing by week, month and fiscal
quarter is the same integer arithmetic on every database; only "which local day is this timestamp"
is dialect code:

| dialect | local time of a UTC timestamp |
|---|---|
| postgresql, duckdb | `timezone(zone, timezone('UTC', ts))` (`timezone(zone, ts)` for zoned columns) |
| mysql / mariadb | `CONVERT_TZ(ts, '+00:00', zone)`; needs the server's time zone tables |
| trino | `CAST(at_timezone(with_timezone(ts, 'UTC'), zone) AS TIMESTAMP)` |
| spark | `from_utc_timestamp(ts, zone)` in a session whose time zone is UTC |
| sqlite | no time zone support: the UTC offset is a `CASE` over the zone's transitions (from Python's zoneinfo) in the requested range, applied with `strftime(..., '+N seconds')` |

Besides the compiler's expressions, a dialect declares what the rest of Northstar asks of a database:
seconds since the epoch and whole buckets of them (the data-quality profile), a probe for time
zones the server cannot convert to (MariaDB/MySQL without time zone tables), whether Great
Expectations' SQL data source runs on it, and the connect arguments of a read-only session for an
engine Northstar does not set up itself (Great Expectations').
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect, Select
from sqlalchemy.types import TypeEngine

from metrics.engine.local_days import EPOCH
from metrics.engine.request import MetricError

# SQLite's normalized text timestamp is 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, microseconds): the whole
# seconds from strftime, the fraction carried over as text (SQLite's date functions keep milliseconds)
SQLITE_SECONDS = "%Y-%m-%d %H:%M:%S"
MICROS = 1_000_000

Expr = ColumnElement[Any]
ConnectArgs = dict[str, str | bool]  # DBAPI connect() keyword arguments
BulkLoad = Literal["copy_csv", "arrow", "insert"]
Statement = Select[Any] | CompoundSelect[Any]


class WithSettings(sa.sql.expression.Executable, ClauseElement):
    """A SELECT run with server settings that last for that statement only: MariaDB's
    `SET STATEMENT name=value, ... FOR SELECT ...` (one statement, allowed in a read-only session).
    Compiled for another server (MySQL has no SET STATEMENT), it is the SELECT alone."""

    inherit_cache = False

    def __init__(self, select: Statement, settings: Mapping[str, int]) -> None:
        self.select = select
        self.settings = dict(settings)


@compiles(WithSettings)
def _compile_with_settings(element: WithSettings, compiler: SQLCompiler, **kw: Any) -> str:
    body = str(compiler.process(element.select, **kw))
    if not getattr(compiler.dialect, "is_mariadb", False):
        return body
    settings = ", ".join(f"{name}={int(value)}" for name, value in element.settings.items())
    return f"SET STATEMENT {settings} FOR {body}"


@dataclass(frozen=True)
class TimeContext:
    """How the timestamp column is stored, and the zone and span its local days are needed in."""

    zone: str
    aware: bool = False  # the column carries a time zone (timestamptz)
    span: tuple[dt.datetime, dt.datetime] = field(
        default=(dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(1970, 1, 2, tzinfo=dt.UTC))
    )  # UTC instants between which local days must be exact (SQLite's offset table)

    @property
    def utc(self) -> bool:
        return self.zone == "UTC"


@functools.lru_cache(maxsize=64)
def utc_offsets(
    zone: str, lo: dt.datetime, hi: dt.datetime
) -> tuple[int, tuple[tuple[dt.datetime, int], ...]]:
    """The zone's UTC offset (seconds) at `lo`, and every change up to `hi` as (UTC instant, new offset)."""
    tz = ZoneInfo(zone)

    def offset(moment: dt.datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    first = offset(lo)
    changes: list[tuple[dt.datetime, int]] = []
    current, value = lo, first
    step = dt.timedelta(hours=12)
    while current < hi:
        following = min(current + step, hi)
        if offset(following) != value:
            low, high = current, following  # offset(low) == value != offset(high)
            while (high - low) > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if offset(middle) == value:
                    low = middle
                else:
                    high = middle
            value = offset(high)
            changes.append((high, value))
        current = following
    return first, tuple(changes)


class SqlDialect(abc.ABC):
    """ANSI-leaning defaults; subclasses override what their database spells differently."""

    native_percentile = False  # has percentile_cont(q) WITHIN GROUP (ORDER BY x)
    # MIN over a window frame that grows row by row (ROWS/RANGE BETWEEN UNBOUNDED PRECEDING AND ...)
    # is kept up to date row by row; funnels rely on it being linear in a user's events
    incremental_window_min = True
    many_ctes = True  # a statement may hold any number of WITH elements
    # a funnel of this many steps or more is compiled forward from its entrants (sql_backend
    # `_funnel_forward`), a shorter one back from its last step: on 1M user-heavy events, 6 steps
    # took half the time forward on MariaDB, but 2 steps twice as long (two scans and two sorts
    # instead of one); docs/sql.md, Funnels
    funnel_forward_from_steps = 4
    # Great Expectations' SQL data source runs on it; else expectations run on a pandas frame
    gx_sql_supported = True

    # -- loading a table (`northstar demo --load-into`, the one writer) --
    zoned_timestamps = False  # has a timestamp type that keeps the instant (timestamptz)
    text_needs_length = False  # text columns are VARCHAR(n), sized to the longest value
    bulk_load: BulkLoad = "insert"  # copy_csv: COPY FROM STDIN; arrow: from an Arrow table; batched INSERTs
    analyze_after_load = False  # gather the planner's statistics once the rows are in
    load_connect_args: ClassVar[Mapping[str, str | int]] = {}

    def timestamp_type(self, zoned: bool) -> TypeEngine[Any]:
        """The column type of a loaded timestamp column (`zoned`: the data carries a time zone)."""
        return sa.DateTime(timezone=zoned and self.zoned_timestamps)

    # -- timestamps as stored --

    def timestamp(self, column: Expr, is_date: bool) -> Expr:
        """The timestamp column in a form that compares with `instant()` (or `date_value()`) values."""
        return column

    def date_value(self, day: dt.date) -> Expr:
        """A bound date comparable with `timestamp()` of a DATE column."""
        return sa.literal(day, sa.Date())

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        """A bound UTC instant comparable with `timestamp()`."""
        value = moment.astimezone(dt.UTC)
        if not ctx.aware:
            value = value.replace(tzinfo=None)
        return sa.literal(value, sa.DateTime(timezone=ctx.aware))

    def partition_key(self, key: Expr) -> Expr:
        """A key that window functions partition (and sort) by: only its equality matters."""
        return key

    def for_window_passes(self, statement: Statement) -> Statement | WithSettings:
        """The statement as run when it holds window passes over many rows (funnels): with the
        settings such passes need on this server, if any."""
        return statement

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        return ts + sa.literal(dt.timedelta(seconds=seconds), sa.Interval())

    # -- local calendar --

    @abc.abstractmethod
    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        """The naive local timestamp of a UTC timestamp."""

    def day_number(self, local: Expr) -> Expr:
        epoch = sa.cast(sa.literal(EPOCH, sa.Date()), sa.Date())  # typed even when shown inline
        return sa.cast(sa.cast(local, sa.Date()) - epoch, sa.Integer())

    def month_index(self, local: Expr) -> Expr:
        return sa.cast(sa.extract("year", local) * 12 + sa.extract("month", local) - 1, sa.Integer())

    # -- numbers --

    def double(self, expr: Expr) -> Expr:
        return sa.cast(expr, sa.Double())

    def floor(self, expr: Expr) -> Expr:
        return sa.func.floor(expr)

    # -- the data-quality profile --

    def epoch_seconds(self, ts: Expr) -> Expr:
        """Seconds since 1970-01-01 of a timestamp column as stored (naive values are UTC)."""
        return sa.cast(sa.extract("epoch", ts), sa.Float)

    def whole_quotient(self, value: Expr, divisor: int) -> Expr:
        """floor(value / divisor) as an integer."""
        return sa.cast(sa.func.floor(value / sa.literal_column(str(divisor))), sa.BigInteger)

    # -- the server and its sessions --

    def time_zone_probe(self, zone: str) -> Select[Any] | None:
        """A SELECT of one value, NULL when the server cannot convert times to `zone`; None when
        `local()` needs nothing of the server for that zone."""
        return None

    def unknown_time_zone(self, zone: str) -> str:
        """What to do when `time_zone_probe(zone)` gave NULL."""
        return f"the database does not know the time zone {zone!r}; set `timezone: UTC`"

    def read_only_connect_args(self, timeout_seconds: float) -> ConnectArgs:
        """Connect arguments that make a session read-only (and time-limited where the driver lets
        us say so at connect time), for an engine Northstar does not set up itself."""
        return {}


class PostgresDialect(SqlDialect):
    native_percentile = True
    # forward from 3 steps: on 1M user-heavy events 3 steps took 13-20% less than back from the
    # last step, with and without table statistics; 2 steps came out even (the same statements run
    # alternately; docs/sql.md, Funnels)
    funnel_forward_from_steps = 3
    zoned_timestamps = True
    bulk_load: BulkLoad = "copy_csv"
    analyze_after_load = True
    load_connect_args: ClassVar[Mapping[str, str | int]] = {"connect_timeout": 5}

    def partition_key(self, key: Expr) -> Expr:
        # equality is byte equality in every deterministic collation; "C" compares bytes, where the
        # database's default (even C.UTF-8) goes through the locale: a third of a funnel's sort;
        # user ids are exact values (as in the Polars engine), so "C" is also the right equality
        if isinstance(key.type, sa.String) and not isinstance(key.type, sa.Enum):
            return key.collate("C")
        return key

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc and not ctx.aware:
            return ts
        zoned = ts if ctx.aware else sa.func.timezone(sa.literal("UTC"), ts)
        return sa.func.timezone(sa.literal(ctx.zone), zoned)

    def epoch_seconds(self, ts: Expr) -> Expr:
        return sa.func.date_part("epoch", ts)  # double precision; EXTRACT is numeric (slow) since 14

    def read_only_connect_args(self, timeout_seconds: float) -> ConnectArgs:
        timeout = int(timeout_seconds * 1000)
        return {"options": f"-c default_transaction_read_only=on -c statement_timeout={timeout}"}


class DuckDbDialect(PostgresDialect):
    # GX 1.x cannot run on duckdb-engine (great_expectations#11579)
    gx_sql_supported = False
    bulk_load: BulkLoad = "arrow"
    analyze_after_load = False
    load_connect_args: ClassVar[Mapping[str, str | int]] = {}
    funnel_forward_from_steps = SqlDialect.funnel_forward_from_steps  # not measured on DuckDB

    def partition_key(self, key: Expr) -> Expr:
        return key

    def epoch_seconds(self, ts: Expr) -> Expr:
        return sa.func.epoch(ts)

    def read_only_connect_args(self, timeout_seconds: float) -> ConnectArgs:
        return {"read_only": True}  # must be opened read-only, like the connector opens it

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        return ts + sa.func.to_microseconds(sa.literal(round(seconds * 1_000_000), sa.BigInteger()))


class MySqlDialect(SqlDialect):
    text_needs_length = True
    # MariaDB recomputes MIN/MAX over the whole frame at every row (quadratic in a partition: a
    # 2-step funnel on 1M user-heavy events ran past 60 s); funnels then use COUNT and MAX over
    # whole partitions instead (sql_backend `running`)
    incremental_window_min = False
    many_ctes = False  # MariaDB: "Too many WITH elements in WITH clause" past 64
    # MariaDB computes window functions over a temporary table of the derived rows, kept in memory
    # only up to tmp_table_size and max_heap_table_size (16 MB by default), else on disk (Aria),
    # where each window pass writes its results back row by row: funnels over 1M user-heavy
    # events took 30-47% less with 64 MB (6 steps: 5.1 s against 8.4 s; docs/sql.md, Funnels).
    # Per statement (SET STATEMENT), for funnels only; a limit per temporary table, allocated as
    # rows arrive
    window_heap_bytes: int | None = 64 * 1024 * 1024  # None: the server's own settings

    def for_window_passes(self, statement: Statement) -> Statement | WithSettings:
        size = self.window_heap_bytes
        if size is None:
            return statement
        return WithSettings(statement, {"max_heap_table_size": size, "tmp_table_size": size})

    def timestamp_type(self, zoned: bool) -> TypeEngine[Any]:
        return mysql.DATETIME(fsp=6)  # microseconds, as the other databases keep them

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc:
            return ts
        return sa.func.convert_tz(ts, sa.literal("+00:00"), sa.literal(ctx.zone))

    def day_number(self, local: Expr) -> Expr:
        return sa.func.datediff(local, sa.literal(EPOCH, sa.Date()))

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        micro = sa.literal(round(seconds * 1_000_000), sa.BigInteger())
        return sa.func.timestampadd(sa.literal_column("MICROSECOND"), micro, ts)

    def double(self, expr: Expr) -> Expr:
        # MySQL's CAST has no DOUBLE (SQLAlchemy skips it); multiplying by a DOUBLE literal converts.
        return expr * sa.literal_column("1e0")

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        return sa.literal(moment.astimezone(dt.UTC).replace(tzinfo=None), sa.DateTime())

    def epoch_seconds(self, ts: Expr) -> Expr:
        return sa.func.timestampdiff(sa.literal_column("SECOND"), sa.literal_column("'1970-01-01'"), ts)

    def time_zone_probe(self, zone: str) -> Select[Any] | None:
        """CONVERT_TZ, as `local()` uses it, gives NULL for a zone missing from the time zone tables."""
        if zone == "UTC":
            return None
        return sa.select(
            sa.func.convert_tz(
                sa.literal(dt.datetime(2000, 1, 1), sa.DateTime()), sa.literal("+00:00"), sa.literal(zone)
            )
        )

    def unknown_time_zone(self, zone: str) -> str:
        return (
            f"the MariaDB/MySQL server does not know the time zone {zone!r}; load its time zone tables "
            "(mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb -u root mysql) or set `timezone: UTC`"
        )

    def read_only_connect_args(self, timeout_seconds: float) -> ConnectArgs:
        return {"init_command": "SET SESSION TRANSACTION READ ONLY"}


class SqliteDialect(SqlDialect):
    def timestamp(self, column: Expr, is_date: bool) -> Expr:
        """ISO text in any of SQLite's accepted forms (with 'T', 'Z' or an offset, with up to any
        number of fraction digits) -> one sortable UTC form with microseconds.

        SQLite's date functions round to milliseconds, so normalizing with `strftime('%f')` tied
        events under a millisecond apart and moved some by one: a funnel's strict step order (a
        repeated step needs a later event) and its `within` deadline then lost users that Polars and
        PostgreSQL keep. Only the whole seconds (and the offset) go through strftime; the fraction
        digits are copied from the text, so no instant is rounded. Text already in that form (what
        SQLAlchemy and pandas write) is taken as it is, with no date function at all.
        """
        canonical = sa.and_(
            sa.func.length(column) == sa.literal(26),
            sa.func.substr(column, 11, 1) == sa.literal(" "),
            sa.func.substr(column, 20, 1) == sa.literal("."),
        )
        tail = sa.func.substr(column, 21)  # after 'YYYY-MM-DD HH:MM:SS.'
        suffix = sa.func.ltrim(tail, sa.literal("0123456789"))  # 'Z', '+02:00' or ''
        has_fraction = sa.func.substr(column, 20, 1) == sa.literal(".")
        whole = sa.case((has_fraction, sa.func.substr(column, 1, 19).op("||")(suffix)), else_=column)
        digits = sa.case(
            (has_fraction, sa.func.substr(tail, 1, sa.func.length(tail) - sa.func.length(suffix))),
            else_=sa.literal(""),
        )
        micros = sa.func.substr(digits.op("||")(sa.literal("000000")), 1, 6)
        normalized = (
            sa.func.strftime(sa.literal(SQLITE_SECONDS), whole).op("||")(sa.literal(".")).op("||")(micros)
        )
        return sa.case((canonical, sa.type_coerce(column, sa.String())), else_=normalized)

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        return sa.literal(moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), sa.String())

    def date_value(self, day: dt.date) -> Expr:
        return sa.literal(day.isoformat(), sa.String())

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        """A normalized timestamp plus `seconds`, to the microsecond: whole seconds by strftime,
        the fraction by integer arithmetic with its carry."""
        whole, extra = divmod(round(seconds * MICROS), MICROS)
        fraction = sa.cast(sa.func.substr(ts, 21, 6), sa.Integer()) + sa.literal(extra)
        carry = fraction / sa.literal(MICROS)  # integer division: 0 or 1
        shift = sa.literal("+").op("||")(carry + sa.literal(whole)).op("||")(sa.literal(" seconds"))
        seconds_text = sa.func.strftime(sa.literal(SQLITE_SECONDS), sa.func.substr(ts, 1, 19), shift)
        micros = sa.func.printf(sa.literal(".%06d"), fraction % sa.literal(MICROS))
        return seconds_text.op("||")(micros)

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        """Local wall-clock time to the second (its day and month are all that is read): the
        fraction is dropped before SQLite's functions could round 23:59:59.9996 into the next day."""
        seconds = sa.func.substr(ts, 1, 19)
        if ctx.utc:
            return seconds
        first, changes = utc_offsets(ctx.zone, *ctx.span)

        def modifier(offset: int) -> Expr:
            return sa.literal(f"{offset:+d} seconds")

        if not changes:
            shift: Expr = modifier(first)
        else:
            whens = []
            previous = first
            for moment, offset in changes:
                whens.append((ts < self.instant(moment, ctx), modifier(previous)))
                previous = offset
            shift = sa.case(*whens, else_=modifier(previous))
        return sa.func.strftime(sa.literal(SQLITE_SECONDS), seconds, shift)

    def day_number(self, local: Expr) -> Expr:
        return sa.cast(sa.func.julianday(sa.func.date(local)) - 2440587.5, sa.Integer())

    def floor(self, expr: Expr) -> Expr:
        return sa.cast(expr, sa.Integer())  # only used on non-negative numbers: truncation is floor

    def epoch_seconds(self, ts: Expr) -> Expr:
        if sqlite3.sqlite_version_info >= (3, 38):  # unixepoch() is about twice as fast as strftime
            return sa.func.unixepoch(ts)
        return sa.cast(sa.func.strftime("%s", ts), sa.BigInteger)

    def whole_quotient(self, value: Expr, divisor: int) -> Expr:
        # integer division (truncates): epochs before 1970 are not expected in event data
        return value.op("/")(sa.literal_column(str(divisor)))


class TrinoDialect(SqlDialect):
    def timestamp(self, column: Expr, is_date: bool) -> Expr:
        return sa.cast(column, sa.DateTime()) if is_date else column

    def date_value(self, day: dt.date) -> Expr:
        return sa.cast(sa.literal(day.isoformat()), sa.Date())

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        value = moment.astimezone(dt.UTC)
        if ctx.aware:
            return sa.cast(sa.literal(value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")), sa.DateTime(timezone=True))
        return sa.cast(sa.literal(value.strftime("%Y-%m-%d %H:%M:%S.%f")), sa.DateTime())

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc and not ctx.aware:
            return ts
        zoned = ts if ctx.aware else sa.func.with_timezone(ts, sa.literal("UTC"))
        return sa.cast(sa.func.at_timezone(zoned, sa.literal(ctx.zone)), sa.DateTime())

    def day_number(self, local: Expr) -> Expr:
        epoch = sa.cast(sa.literal(EPOCH.isoformat()), sa.Date())
        return sa.func.date_diff(sa.literal("day"), epoch, sa.cast(local, sa.Date()))

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        return sa.func.date_add(
            sa.literal("millisecond"), sa.literal(round(seconds * 1000), sa.BigInteger()), ts
        )


class SparkDialect(SqlDialect):
    """Spark SQL through Spark Connect (`connectors.spark`, whose session runs in UTC).

    Local time is `from_utc_timestamp(ts, zone)`, whose value read in the UTC session is the local
    wall-clock time; a TIMESTAMP_NTZ column is cast to an instant in that UTC session, so naive
    timestamps are UTC as everywhere. Instants are `timestamp_micros(n)` (no client time zone can
    touch them), day numbers `unix_date(date)`, and `percentile_cont` is native.
    """

    native_percentile = True
    # GX's Spark data source needs a classic SparkSession; expectations run on a pandas frame of
    # the columns they name, read through the connector
    gx_sql_supported = False

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        delta = moment.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        micros = (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds
        return sa.func.timestamp_micros(sa.literal(micros, sa.BigInteger()), type_=sa.DateTime(timezone=True))

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc:
            return ts
        return sa.func.from_utc_timestamp(ts, sa.literal(ctx.zone), type_=sa.DateTime())

    def day_number(self, local: Expr) -> Expr:
        return sa.func.unix_date(sa.cast(local, sa.Date()), type_=sa.Integer())

    def month_index(self, local: Expr) -> Expr:
        return sa.func.year(local) * 12 + sa.func.month(local) - 1

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        micro = sa.literal(round(seconds * MICROS), sa.BigInteger())
        return sa.func.timestampadd(sa.literal_column("MICROSECOND"), micro, ts, type_=ts.type)

    def epoch_seconds(self, ts: Expr) -> Expr:
        micros = sa.func.unix_micros(sa.cast(ts, sa.DateTime(timezone=True)))
        return sa.cast(micros, sa.Double()) / sa.literal_column("1e6")


DIALECTS: dict[str, type[SqlDialect]] = {
    "postgresql": PostgresDialect,
    "duckdb": DuckDbDialect,
    "mysql": MySqlDialect,
    "mariadb": MySqlDialect,
    "sqlite": SqliteDialect,
    "trino": TrinoDialect,
    "spark": SparkDialect,
}


class AnsiDialect(SqlDialect):
    """A database Northstar does not compile metrics for: ANSI defaults, enough for its data-quality checks."""

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        raise MetricError(
            f"Northstar compiles metrics only for these SQL dialects: {', '.join(sorted(DIALECTS))}"
        )


def is_date_type(column_type: TypeEngine[Any]) -> bool:
    """A DATE column (not a date-time): it holds the project's local days themselves, never instants
    to place in the time zone (docs/configuration.md, `columns.timestamp`)."""
    return isinstance(column_type, sa.Date) and not isinstance(column_type, sa.DateTime)


def dialect_for(name: str) -> SqlDialect:
    """The dialect that metrics are compiled for on the database `name` (SQLAlchemy's dialect name)."""
    cls = DIALECTS.get(name)
    if cls is None:
        supported = ", ".join(sorted(DIALECTS))
        raise MetricError(
            f"Northstar cannot compile metrics for the {name!r} SQL dialect yet (supported: {supported})"
        )
    return cls()


def dialect_or_ansi(name: str) -> SqlDialect:
    """The dialect of the database `name`, or ANSI defaults for one that metrics are not compiled for."""
    return DIALECTS.get(name, AnsiDialect)()
