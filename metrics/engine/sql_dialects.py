"""What differs between databases when a metric is compiled: time zones, day numbers, intervals.

Every helper returns a SQLAlchemy Core expression; values are bound parameters. The compiler in
`metrics.sql_backend` works on *day numbers* (days since 1970-01-01 of the local calendar date) and
*month indexes* (year * 12 + month - 1), so bucketing by week, month and fiscal quarter is the
same integer arithmetic on every database; only "which local day is this timestamp" is dialect code:

| dialect | local time of a UTC timestamp |
|---|---|
| postgresql, duckdb | `timezone(zone, timezone('UTC', ts))` (`timezone(zone, ts)` for zoned columns) |
| mysql / mariadb | `CONVERT_TZ(ts, '+00:00', zone)`; needs the server's time zone tables |
| trino | `CAST(at_timezone(with_timezone(ts, 'UTC'), zone) AS TIMESTAMP)` |
| sqlite | no time zone support: the UTC offset is a `CASE` over the zone's transitions (from Python's zoneinfo) in the requested range, applied with `strftime(..., '+N seconds')` |
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from metrics.engine.request import MetricError

EPOCH = dt.date(1970, 1, 1)
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%f"  # SQLite's normalized text timestamp (UTC, milliseconds)

Expr = ColumnElement[Any]


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

    name = "generic"
    native_percentile = False

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


class PostgresDialect(SqlDialect):
    name = "postgresql"
    native_percentile = True

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc and not ctx.aware:
            return ts
        zoned = ts if ctx.aware else sa.func.timezone(sa.literal("UTC"), ts)
        return sa.func.timezone(sa.literal(ctx.zone), zoned)


class DuckDbDialect(PostgresDialect):
    name = "duckdb"

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        return ts + sa.func.to_microseconds(sa.literal(round(seconds * 1_000_000), sa.BigInteger()))


class MySqlDialect(SqlDialect):
    name = "mysql"

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


class SqliteDialect(SqlDialect):
    name = "sqlite"

    def timestamp(self, column: Expr, is_date: bool) -> Expr:
        # ISO text in any of SQLite's accepted forms (with 'T', 'Z' or an offset) -> one sortable form.
        return sa.func.strftime(sa.literal(SQLITE_FORMAT), column)

    def instant(self, moment: dt.datetime, ctx: TimeContext) -> Expr:
        text = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return sa.literal(text, sa.String())

    def date_value(self, day: dt.date) -> Expr:
        return sa.literal(day.isoformat(), sa.String())

    def plus_seconds(self, ts: Expr, seconds: float) -> Expr:
        return sa.func.strftime(sa.literal(SQLITE_FORMAT), ts, sa.literal(f"{seconds:+.3f} seconds"))

    def local(self, ts: Expr, ctx: TimeContext) -> Expr:
        if ctx.utc:
            return ts
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
        return sa.func.strftime(sa.literal(SQLITE_FORMAT), ts, shift)

    def day_number(self, local: Expr) -> Expr:
        return sa.cast(sa.func.julianday(sa.func.date(local)) - 2440587.5, sa.Integer())

    def floor(self, expr: Expr) -> Expr:
        return sa.cast(expr, sa.Integer())  # only used on non-negative numbers: truncation is floor


class TrinoDialect(SqlDialect):
    name = "trino"

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


DIALECTS: dict[str, type[SqlDialect]] = {
    "postgresql": PostgresDialect,
    "duckdb": DuckDbDialect,
    "mysql": MySqlDialect,
    "mariadb": MySqlDialect,
    "sqlite": SqliteDialect,
    "trino": TrinoDialect,
}


def dialect_for(name: str) -> SqlDialect:
    cls = DIALECTS.get(name)
    if cls is None:
        supported = ", ".join(sorted(DIALECTS))
        raise MetricError(
            f"Northstar cannot compile metrics for the {name!r} SQL dialect yet (supported: {supported})"
        )
    return cls()
