"""Compile the sourced metrics of one request into ONE SELECT that the database runs.

This module is one stage of the engine, the SQL backend: it compiles the statement and decodes its
rows into result frames, two halves of one job, since each metric's branch and its decoder are
written together. What differs between databases lives in `metrics.engine.sql_dialects`.

Only aggregated rows come back. The statement is a `UNION ALL` of branches that all return the same
columns, `metric, p, [g], n, v, w`:

- `p` is the period key: a day number (days since 1970-01-01 of the local date) at day and week
  grain, a month index (year * 12 + month - 1) at month and quarter grain. Week starts and fiscal
  quarters are integer arithmetic on those keys, the same on every database.
- `g` is the breakdown value as text.
- `n`, `v`, `w` depend on the metric type (see the `_*_decoder` methods): rows and value for a
  sum, cohort size and retained users for retention, entrants and converted users for a funnel,
  the count and the two closest ranks for a percentile without `percentile_cont`.

Plain aggregates (count, count_distinct, sum, avg, min, max and, where the database has
`percentile_cont`, percentile) share one scan: one `GROUP BY p, g` with a `CASE` per filter. Active
users and retention are computed from per-user-day rows with window functions and joins, funnels from
each user's events with window functions alone (no join: linear whatever plan the database picks),
inside the database. Values are bound parameters; identifiers come from the validated config and
the reflected table, and the dialect quotes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import weakref
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat, SupportsInt, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import Function
from sqlalchemy.sql.selectable import CTE, FromClause, Select

from connectors.base import Connector, SqlConnector
from connectors.models import QuerySource, SourceConfig
from connectors.sql import kind_of
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import (
    ANY_EVENT,
    ActiveUsersMetric,
    AggregateMetric,
    CountDistinctMetric,
    CountMetric,
    FilterValue,
    FunnelMetric,
    Grain,
    PercentileMetric,
    RetentionMetric,
    SourcedMetric,
)
from metrics.engine.filter_values import filter_test
from metrics.engine.local_days import (
    PLAUSIBLE_SECONDS,
    SECONDS_PER_DAY,
    date_of_day_number,
    date_window_runs,
    day_number,
    local_midnight,
)
from metrics.engine.request import MetricError, Window
from metrics.engine.sql_dialects import SqlDialect, TimeContext, WithSettings, dialect_for, is_date_type

Expr = ColumnElement[Any]
Row = tuple[Any, ...]
Decoder = Callable[[dict[str, list[Row]]], pl.DataFrame]

_TZ_CHECKED: weakref.WeakKeyDictionary[SqlConnector, set[str]] = weakref.WeakKeyDictionary()


def _from_month_index(index: int) -> dt.date:
    return dt.date(int(index) // 12, int(index) % 12 + 1, 1)


def period_of_key(key: int, grain: Grain) -> dt.date:
    """The first day of the bucket whose SQL key (day number or month index) is `key`."""
    return _from_month_index(key) if grain in ("month", "quarter") else date_of_day_number(key)


class _Compiler:
    """Builds the branches for one source and one window, and the decoders for their rows."""

    def __init__(
        self, source_name: str, source: QuerySource, connector: SqlConnector, window: Window, lookback: int
    ) -> None:
        self.source_name = source_name
        self.source = source
        self.window = window
        self.calendar = window.calendar
        self.dialect: SqlDialect = dialect_for(connector.dialect_name)
        self.src = connector.selectable()
        ts_type = self.column(source.columns.timestamp).type
        self.is_date = is_date_type(ts_type)
        aware = isinstance(ts_type, sa.DateTime) and bool(ts_type.timezone)
        span = (
            local_midnight(window.start - dt.timedelta(days=lookback + 2), self.calendar.timezone),
            local_midnight(window.end + dt.timedelta(days=3), self.calendar.timezone),
        )
        self.ctx = TimeContext(self.calendar.timezone, aware, span)
        self.start_day = day_number(window.start)
        self.end_day = day_number(window.end)
        self.by = window.by
        if self.by is not None and self.by not in source.dimensions:
            raise MetricError(
                f"{self.by!r} is not a dimension of source {source_name!r}; "
                f"break down by one of: {', '.join(source.dimensions) or '(none declared)'}"
            )
        self.branches: list[Select[Any]] = []
        self.decoders: dict[str, Decoder] = {}
        self._names: defaultdict[str, int] = defaultdict(int)
        self._day_needs: dict[str, dt.date] = {}
        self._day_ctes: dict[str, CTE] = {}
        self._lagged: dict[str, CTE] = {}
        self._cohorts: dict[str, CTE] = {}

    # -- columns and expressions over the source --

    def column(self, name: str) -> Expr:
        if name not in self.src.c:
            raise MetricError(
                f"column {name!r} is not in source {self.source_name!r}; run `northstar validate`"
            )
        return cast(Expr, self.src.c[name])

    def role(self, role: str) -> Expr:
        name = getattr(self.source.columns, role)
        if name is None:
            raise MetricError(
                f"source {self.source_name!r} maps no {role} column; add `{role}:` under `columns:`"
            )
        return self.column(name)

    def name(self, stem: str) -> str:
        self._names[stem] += 1
        return f"{stem}_{self._names[stem]}"

    @property
    def ts(self) -> Expr:
        return self.dialect.timestamp(self.role("timestamp"), self.is_date)

    def instant(self, day: dt.date) -> Expr:
        """The first moment of a local day, comparable with `self.ts`."""
        if self.is_date:
            return self.dialect.date_value(day)
        return self.dialect.instant(local_midnight(day, self.calendar.timezone), self.ctx)

    def local(self, ts: Expr) -> Expr:
        """Local wall-clock time (a DATE column already holds local days)."""
        return ts if self.is_date else self.dialect.local(ts, self.ctx)

    def funnel_deadline(self, t0: Expr, within: float) -> Expr:
        """t0 + `within` x 24 hours, comparable with `self.ts`. A DATE column's t0 is its local
        midnight: where the clocks change inside the window, it covers a date more or less than
        date arithmetic says (`date_window_runs`), and those start days get their own deadline."""
        deadline = self.dialect.plus_seconds(t0, within * SECONDS_PER_DAY)
        if not self.is_date:
            return deadline
        runs = date_window_runs(self.calendar.timezone, self.window.start, self.window.end, within)
        if not runs:
            return deadline
        one_day = dt.timedelta(days=1)
        return sa.case(
            *[
                (
                    sa.and_(t0 >= self.instant(a), t0 < self.instant(b + one_day)),
                    self.dialect.plus_seconds(t0, n * SECONDS_PER_DAY),
                )
                for a, b, n in runs
            ],
            else_=deadline,
        )

    def in_days(self, ts: Expr, first: dt.date | None, last: dt.date) -> list[Expr]:
        """`ts` falls on a local day in [first, last] (no lower bound when `first` is None)."""
        conditions = [ts < self.instant(last + dt.timedelta(days=1))]
        if first is not None:
            conditions.insert(0, ts >= self.instant(first))
        return conditions

    def day(self, ts: Expr) -> Expr:
        return self.dialect.day_number(self.local(ts))

    def period(self, ts: Expr) -> Expr:
        grain = self.window.grain
        if self.window.span_end is not None:  # one span (MetricRequest.span_end); NULL after it
            return sa.case(
                (self.day(ts) <= sa.literal(day_number(self.window.span_end)), sa.literal(self.start_day))
            )
        if grain == "day":
            return self.day(ts)
        if grain == "week":
            days = self.day(ts)
            # 1970-01-01 was a Thursday: (d + 3) % 7 is days since Monday, (d + 4) % 7 since Sunday.
            shift = (3 if self.calendar.week_start == "monday" else 4) + 7 * 100_000
            return days - (days + sa.literal(shift)) % 7
        months = self.dialect.month_index(self.local(ts))
        if grain == "month":
            return months
        shift = 12 * 100_000 - (self.calendar.fiscal_year_start - 1)
        return months - (months + sa.literal(shift)) % 3

    def group(self) -> Expr | None:
        if self.by is None:
            return None
        column = self.column(self.by)
        if isinstance(column.type, sa.Boolean):
            return sa.case((column, sa.literal("true")), (sa.not_(column), sa.literal("false")))
        if isinstance(column.type, sa.String):
            return column
        return sa.cast(column, sa.String())

    def condition(self, filters: Mapping[str, FilterValue]) -> Expr | None:
        parts: list[Expr] = []
        for key, value in sorted(filters.items()):
            column = self.role("event") if key == "event" else self.dimension(key)
            kind = kind_of(column.type)
            test = filter_test(value, kind)
            values = test.literals
            if test.negated:  # `not` keeps nulls: NOT IN alone would drop them
                unlike = column != values[0] if len(values) == 1 else column.not_in(values)
                parts.append(sa.or_(unlike, column.is_(None)))
            else:
                parts.append(column == values[0] if len(values) == 1 else column.in_(values))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def dimension(self, key: str) -> Expr:
        if key not in self.source.dimensions:
            raise MetricError(f"filter key {key!r} is not a dimension of source {self.source_name!r}")
        return self.column(key)

    def event_is(self, names: str | list[str]) -> Expr:
        event = self.role("event")
        return event.in_(names) if isinstance(names, list) else event == names

    def measure(self, name: str) -> Expr:
        column = self.column(name)
        if isinstance(column.type, sa.Boolean):
            return sa.cast(column, sa.Integer())
        return column

    # -- output rows --

    def emit(
        self,
        tag: str,
        period: Expr,
        group: Expr | None,
        n: Expr | None,
        v: Expr | None,
        w: Expr | None,
        source: FromClause,
    ) -> Select[Any]:
        columns: list[Any] = [sa.literal(tag, sa.String()).label("metric"), period.label("p")]
        if group is not None:  # given exactly when the request has a breakdown
            columns.append(group.label("g"))
        columns += [
            sa.cast(n if n is not None else sa.null(), sa.BigInteger()).label("n"),
            self.dialect.double(v if v is not None else sa.null()).label("v"),
            self.dialect.double(w if w is not None else sa.null()).label("w"),
        ]
        return sa.select(*columns).select_from(source)

    def statement(self) -> Select[Any] | sa.CompoundSelect[Any]:
        if len(self.branches) == 1:
            return self.branches[0]
        return sa.union_all(*self.branches)

    # -- plain aggregates: one scan --

    def aggregates(self, metrics: Mapping[str, SourcedMetric]) -> None:
        simple = {
            key: m
            for key, m in metrics.items()
            if isinstance(m, CountMetric | CountDistinctMetric | AggregateMetric | PercentileMetric)
        }
        if not simple:
            return
        flags: dict[str, tuple[str, Expr | None]] = {}  # filter key -> (label, condition)
        inner: list[Any] = [self.period(self.ts).label("p")]
        group = self.group()
        if group is not None:
            inner.append(group.label("g"))
        for metric in simple.values():
            key = repr(sorted(metric.filter.items()))
            if key not in flags:
                flags[key] = (f"f{len(flags)}", self.condition(metric.filter))
        for label, condition in flags.values():
            flag = sa.literal(1) if condition is None else sa.case((condition, sa.literal(1)))
            inner.append(flag.label(label))
        values: dict[str, str] = {}
        for index, (metric_id, metric) in enumerate(simple.items()):
            if isinstance(metric, CountMetric):
                continue
            if isinstance(metric, CountDistinctMetric):
                column = self.column(metric.column) if metric.column else self.role("user")
            else:
                column = self.measure(metric.column)
                if isinstance(metric, AggregateMetric) and metric.type == "avg":
                    column = self.dialect.double(column)
            condition = flags[repr(sorted(metric.filter.items()))][1]
            value = column if condition is None else sa.case((condition, column))
            values[metric_id] = f"x{index}"
            inner.append(value.label(f"x{index}"))
        where = self.in_days(self.ts, self.window.start, self.window.end)
        conditions = [c for _, c in flags.values()]
        if all(c is not None for c in conditions):
            where.append(sa.or_(*cast(list[Expr], conditions)))
        rows = sa.select(*inner).where(*where).subquery(self.name("rows"))
        keys = [rows.c.p] + ([rows.c.g] if group is not None else [])
        outer: list[Any] = list(keys)
        for label, _ in flags.values():
            outer.append(sa.func.count(rows.c[label]).label(f"n_{label}"))
        generic: list[str] = []
        for metric_id, metric in simple.items():
            if isinstance(metric, CountMetric):
                continue
            x = rows.c[values[metric_id]]
            label = f"a_{values[metric_id]}"
            if isinstance(metric, CountDistinctMetric):
                outer.append(sa.func.count(sa.distinct(x)).label(label))
            elif isinstance(metric, PercentileMetric):
                if self.dialect.native_percentile:
                    outer.append(sa.func.percentile_cont(metric.percentile).within_group(x).label(label))
                else:
                    generic.append(metric_id)
            else:
                outer.append(getattr(sa.func, metric.type)(x).label(label))
        agg = sa.select(*outer).group_by(*keys).cte(self.name("agg"))
        g = agg.c.g if group is not None else None
        for metric_id, metric in simple.items():
            n = agg.c[f"n_{flags[repr(sorted(metric.filter.items()))][0]}"]
            if isinstance(metric, CountMetric):
                v: Any = n
            elif metric_id in generic:
                v = None
            else:
                v = agg.c[f"a_{values[metric_id]}"]
            self.branches.append(self.emit(metric_id, agg.c.p, g, n, v, None, agg).where(n > 0))
            self.decoders[metric_id] = self._simple_decoder(metric_id, metric, metric_id in generic)
        for metric_id in generic:
            metric = simple[metric_id]
            assert isinstance(metric, PercentileMetric)
            self.percentile(metric_id, metric)

    def percentile(self, metric_id: str, metric: PercentileMetric) -> None:
        """Exact percentile without `percentile_cont`: the two closest ranks from window functions."""
        x = self.measure(metric.column)
        inner: list[Any] = [self.period(self.ts).label("p"), x.label("x")]
        group = self.group()
        if group is not None:
            inner.append(group.label("g"))
        where = [*self.in_days(self.ts, self.window.start, self.window.end), x.is_not(None)]
        condition = self.condition(metric.filter)
        if condition is not None:
            where.append(condition)
        rows = sa.select(*inner).where(*where).subquery(self.name("pct_rows"))
        keys = [rows.c.p] + ([rows.c.g] if group is not None else [])
        ranked = sa.select(
            *keys,
            rows.c.x,
            (sa.func.row_number().over(partition_by=keys, order_by=rows.c.x) - 1).label("rn"),
            sa.func.count().over(partition_by=keys).label("cnt"),
        ).subquery(self.name("pct_ranked"))
        rkeys = [ranked.c.p] + ([ranked.c.g] if group is not None else [])
        lower = self.dialect.floor((ranked.c.cnt - 1) * sa.literal(metric.percentile, sa.Double()))
        low = sa.func.min(sa.case((ranked.c.rn == lower, ranked.c.x)))
        high = sa.func.min(sa.case((ranked.c.rn == lower + 1, ranked.c.x)))
        select = self.emit(
            f"{metric_id}:pct",
            ranked.c.p,
            ranked.c.g if group is not None else None,
            sa.func.max(ranked.c.cnt),
            low,
            high,
            ranked,
        ).group_by(*rkeys)
        self.branches.append(select)

    def _simple_decoder(self, metric_id: str, metric: SourcedMetric, generic: bool) -> Decoder:
        def decode(rows: dict[str, list[Row]]) -> pl.DataFrame:
            out: list[tuple[dt.date, str | None, float | None]] = []
            ranks = {(p, g): (n, v, w) for _, p, g, n, v, w in rows.get(f"{metric_id}:pct", [])}
            for _, p, g, n, v, _w in rows.get(metric_id, []):
                value: float | None
                if isinstance(metric, CountMetric):
                    value = float(n)
                elif generic:
                    assert isinstance(metric, PercentileMetric)
                    value = _interpolate(metric.percentile, *ranks[(p, g)]) if (p, g) in ranks else None
                elif metric.type == "sum":
                    value = 0.0 if v is None else float(v)
                else:
                    value = None if v is None else float(v)
                out.append((period_of_key(p, self.window.grain), g, value))
            return self.frame(out)

        return decode

    # -- per-user-day rows, shared by active users and retention returns --

    def plan_user_days(self, metrics: Mapping[str, SourcedMetric]) -> None:
        """Register each distinct per-user-day condition with the earliest day any metric needs."""
        for metric in metrics.values():
            if isinstance(metric, ActiveUsersMetric):
                key = self._days_key(metric.filter, None)
                first = self.window.start - dt.timedelta(days=metric.window - 1)
            elif isinstance(metric, RetentionMetric):
                key = self._days_key(metric.filter, metric.return_event)
                first = self.window.start + dt.timedelta(days=metric.interval[0])
            else:
                continue
            known = self._day_needs.get(key)
            self._day_needs[key] = first if known is None else min(known, first)

    @staticmethod
    def _days_key(filters: Mapping[str, FilterValue], events: str | list[str] | None) -> str:
        merged: dict[str, Any] = dict(filters)
        extra = None if events == "any" else events
        if extra is not None and "event" not in merged:
            merged["event"], extra = extra, None
        return repr((sorted(merged.items()), extra))

    def user_days(self, filters: Mapping[str, FilterValue], events: str | list[str] | None) -> CTE:
        """Distinct (user, local day[, group]) with a passing event, from the earliest day needed."""
        key = self._days_key(filters, events)
        if key in self._day_ctes:
            return self._day_ctes[key]
        user = self.role("user")
        inner: list[Any] = [user.label("u"), self.day(self.ts).label("d")]
        group = self.group()
        if group is not None:
            inner.append(group.label("g"))
        where = [*self.in_days(self.ts, self._day_needs[key], self.window.end), user.is_not(None)]
        condition = self.condition(filters)
        if condition is not None:
            where.append(condition)
        if events is not None and events != "any":
            where.append(self.event_is(events))
        rows = sa.select(*inner).where(*where).subquery(self.name("active_rows"))
        days = sa.select(*rows.c).distinct().cte(self.name("user_days"))
        self._day_ctes[key] = days
        return days

    def lagged(self, days: CTE) -> CTE:
        """Each user's active days with the previous one (one sort, shared by every window)."""
        if days.name in self._lagged:
            return self._lagged[days.name]
        grouped = self.by is not None
        users = [days.c.u] + ([days.c.g] if grouped else [])
        lagged = sa.select(
            *([days.c.g] if grouped else []),
            days.c.d,
            # Function, not func.lag: the trino package registers a global, uncacheable `Lag`.
            Function("lag", days.c.d, type_=sa.Integer())
            .over(partition_by=users, order_by=days.c.d)
            .label("prev"),
        ).cte(self.name("lagged"))
        self._lagged[days.name] = lagged
        return lagged

    # -- active users: per-user-day intervals and a running sum --

    def active_users(self, metric_id: str, metric: ActiveUsersMetric) -> None:
        """Each active day a covers days a .. a+window-1; count the covered users with a running sum.

        A user's day a adds +1 from max(a, previous active day + window) and -1 from a + window, so
        overlapping windows never count a user twice. O(user-days), no self-join over days.
        """
        days = self.user_days(metric.filter, None)
        lagged = self.lagged(days)
        grouped = self.by is not None
        w = sa.literal(metric.window)
        starts = sa.select(
            *([lagged.c.g] if grouped else []),
            sa.case(
                (sa.or_(lagged.c.prev.is_(None), lagged.c.prev + w <= lagged.c.d), lagged.c.d),
                else_=lagged.c.prev + w,
            ).label("x"),
            sa.literal(1).label("delta"),
        )
        ends = sa.select(
            *([lagged.c.g] if grouped else []), (lagged.c.d + w).label("x"), sa.literal(-1).label("delta")
        )
        deltas = sa.union_all(starts, ends).subquery(self.name("deltas"))
        keys = ([deltas.c.g] if grouped else []) + [deltas.c.x]
        per_day = (
            sa.select(*keys, sa.func.sum(deltas.c.delta).label("s"))
            .where(deltas.c.x <= sa.literal(self.end_day))
            .group_by(*keys)
            .subquery(self.name("per_day"))
        )
        running = sa.func.sum(per_day.c.s).over(
            partition_by=[per_day.c.g] if grouped else None,
            order_by=per_day.c.x,
            rows=(None, 0),
        )
        self.branches.append(
            self.emit(metric_id, per_day.c.x, per_day.c.g if grouped else None, None, running, None, per_day)
        )
        if grouped:  # groups with a user active in some day's window get a row in every period
            found = self.emit(f"{metric_id}:groups", sa.literal(0), days.c.g, None, None, None, days)
            first = self.start_day - (metric.window - 1)
            last = day_number(self.window.last_counted_day)  # not past a single span's end
            inside = [days.c.d >= sa.literal(first)]
            if last < self.end_day:
                inside.append(days.c.d <= sa.literal(last))
            self.branches.append(found.where(*inside).group_by(days.c.g))
        self.decoders[metric_id] = self._active_decoder(metric_id)

    def _active_decoder(self, metric_id: str) -> Decoder:
        def decode(rows: dict[str, list[Row]]) -> pl.DataFrame:
            series: dict[Any, list[tuple[int, float]]] = defaultdict(list)
            for _, x, g, _n, v, _w in rows.get(metric_id, []):
                series[g].append((int(x), float(v)))
            groups = [row[2] for row in rows.get(f"{metric_id}:groups", [])] if self.by else [None]
            window = self.window
            out: list[tuple[dt.date, str | None, float | None]] = []
            periods = window.periods()
            for g in groups:
                points = sorted(series.get(g, []))
                position, value = 0, 0.0
                for period in periods:
                    day = day_number(window.last_day(period))
                    while position < len(points) and points[position][0] <= day:
                        value = points[position][1]
                        position += 1
                    out.append((period, g, value))
            return self.frame(out)

        return decode

    # -- retention --

    def cohort(self, metric: RetentionMetric) -> CTE:
        """Users whose first ever cohort event (up to --end) falls in [start, end]: u, c, p[, g]."""
        key = repr((metric.cohort_event, sorted(metric.filter.items())))
        if key in self._cohorts:
            return self._cohorts[key]
        user = self.role("user")
        group = self.group()
        events: list[Any] = [user.label("u"), self.ts.label("t")]
        if group is not None:
            events.append(group.label("g"))
        where = [*self.in_days(self.ts, None, self.window.end), user.is_not(None)]
        if metric.cohort_event != ANY_EVENT:  # `any`: the user's first row of any kind (first seen)
            where.append(self.event_is(metric.cohort_event))
        condition = self.condition(metric.filter)
        if condition is not None:
            where.append(condition)
        rows = sa.select(*events).where(*where).subquery(self.name("cohort_events"))
        if group is not None:
            ranked = sa.select(
                rows.c.u,
                rows.c.t,
                rows.c.g,
                sa.func.row_number()
                .over(partition_by=rows.c.u, order_by=_tie_order(rows.c.t, rows.c.g))
                .label("rn"),
            ).subquery(self.name("cohort_ranked"))
            firsts = sa.select(ranked.c.u, ranked.c.t, ranked.c.g).where(ranked.c.rn == 1)
        else:
            firsts = sa.select(rows.c.u, sa.func.min(rows.c.t).label("t")).group_by(rows.c.u)
        first = firsts.subquery(self.name("firsts"))
        days = sa.select(
            first.c.u,
            self.day(first.c.t).label("c"),
            self.period(first.c.t).label("p"),
            *([first.c.g] if group is not None else []),
        ).subquery(self.name("cohort_days"))
        cohort = sa.select(*days.c).where(days.c.c >= sa.literal(self.start_day)).cte(self.name("cohort"))
        self._cohorts[key] = cohort
        return cohort

    def retention(self, metric_id: str, metric: RetentionMetric) -> None:
        cohort = self.cohort(metric)
        low, high = metric.interval
        days = self.user_days(metric.filter, metric.return_event)
        returns = (
            sa.select(days.c.u, days.c.d)
            .where(days.c.d >= sa.literal(self.start_day + low))
            .distinct()
            .subquery(self.name("returns"))
        )
        kept = (
            sa.select(cohort.c.u)
            .distinct()
            .select_from(
                cohort.join(
                    returns,
                    sa.and_(
                        returns.c.u == cohort.c.u,
                        returns.c.d >= cohort.c.c + sa.literal(low),
                        returns.c.d <= cohort.c.c + sa.literal(high),
                    ),
                )
            )
            .subquery(self.name("kept"))
        )
        grouped = self.by is not None
        keys = [cohort.c.p] + ([cohort.c.g] if grouped else [])
        select = self.emit(
            metric_id,
            cohort.c.p,
            cohort.c.g if grouped else None,
            sa.func.count(),
            sa.func.count(kept.c.u),
            None,
            cohort.outerjoin(kept, kept.c.u == cohort.c.u),
        ).group_by(*keys)
        self.branches.append(select)
        self.decoders[metric_id] = self._rate_decoder(metric_id, maturity=metric.maturity_lag)

    # -- funnels: running MINs over each user's events in time order, no join --

    def funnel(self, metric_id: str, metric: FunnelMetric) -> None:
        """A funnel of the dialect's `funnel_forward_from_steps` steps or more: forward from the
        entrants, one step at a time; a shorter one: one sort of the funnel's rows and one pass per
        step back from the last (fewer scans and sorts). Both are linear in the rows and give the
        same numbers (tests/test_sql_funnel_repetition.py runs both forms on every database)."""
        if len(metric.steps) >= self.dialect.funnel_forward_from_steps:
            self._funnel_forward(metric_id, metric)
        else:
            self._funnel_backward(metric_id, metric)

    def _funnel_backward(self, metric_id: str, metric: FunnelMetric) -> None:
        """Entrants and their earliest completion, from window functions over each user's events.

        The rows are the funnel's events (its steps and exclusions, inside [start, end]), each with
        a code: its step name's position, or one past the last for an excluded event. Read from a
        user's latest event back, a running MIN gives at every event the earliest completion from
        there:

        - strict: at a last-step event, H = t. One step back, G_k(t) is the smallest H_k over the
          step-k events at or after t (strictly after when step k repeats step k-1), and
          H_{k-1} = G_k at a step-(k-1) event. G_k never decreases with t, so that minimum sits at
          the first step-k event at or after t: it is the greedy chain (each step's earliest event
          at or after the previous step's) and its completion is the earliest possible. G_2 at the
          entrant's t0 is its completion.
        - any: each other step's first event at or after t0; the funnel completes at the last.
        - exclude: the first excluded event strictly after t0; it must not come before completion.

        Each step is one window pass in the same order (user, instant descending), and each pass
        keeps only the rows that later passes read, so the work is one sort and a linear pass per
        step whatever plan the database picks: no join meets a user's repeated events with each
        other, with or without table statistics.
        """
        user = self.role("user")
        event = self.role("event")
        group = self.group()
        grouped = group is not None
        names, excluded, code_of, out_code = _step_codes(metric)
        where = [
            *self.in_days(self.ts, self.window.start, self.window.end),
            user.is_not(None),
            self.event_is([*names, *excluded]),
        ]
        condition = self.condition(metric.filter)
        if condition is not None:
            where.append(condition)
        code = sa.case(*[(event == name, sa.literal(i)) for name, i in code_of.items()], else_=out_code)
        columns: list[Any] = [
            self.dialect.partition_key(user).label("u"),
            self.ts.label("t"),
            code.label("k"),
        ]
        if grouped:
            columns.append(cast(Expr, group).label("g"))

        def stage(select: Select[Any], stem: str) -> FromClause:
            """A stage's rows: a CTE, so that the statement stays flat (SQLite's parser overflows on
            deeply nested subqueries); a subquery where WITH elements are few (MariaDB: 64)."""
            return select.cte(self.name(stem)) if self.dialect.many_ctes else select.subquery(self.name(stem))

        level: FromClause = stage(sa.select(*columns).where(*where), "funnel_rows")
        repeats = any(a == b for a, b in itertools.pairwise(metric.steps))
        if repeats:
            # a repeated step needs a later instant: one row per user, instant and code, so that
            # "the rows before this one" (ROWS ... 1 PRECEDING) holds no other event of its code
            # at its instant; the group of an instant's step-1 events: a null first, then the smallest
            values: list[Any] = []
            if grouped:
                null_first = sa.func.max(sa.case((level.c.g.is_(None), 1), else_=0))
                values.append(sa.case((null_first == 0, sa.func.min(level.c.g))).label("g"))
            level = stage(
                sa.select(level.c.u, level.c.t, level.c.k, *values).group_by(level.c.u, level.c.t, level.c.k),
                "funnel_instants",
            )
        kept = ["u", "t", "k", *(["g"] if grouped else [])]

        incremental = self.dialect.incremental_window_min

        def latest_first(row: FromClause, strictly_after: bool) -> list[Expr]:
            """Latest instant first; for the strict frames, at one instant the step events before
            the excluded ones (strict frames are read at step events only)."""
            order: list[Expr] = [row.c.t.desc()]
            if strictly_after and excluded:
                order.append(sa.case((row.c.k == out_code, 1), else_=0))
            return order

        def running(row: FromClause, items: list[tuple[str, Expr, bool]], carried: list[str]) -> FromClause:
            """Per item (label, value, strictly after): the smallest value over this user's rows at or
            after (strictly after) this row's instant, as column `label`.

            At or after: a RANGE frame, whose peers are every row at the same instant. Strictly
            after: the rows before this one in `latest_first` order; a repeated step's rows are
            one per instant (see above), so none of them shares the reading row's instant.
            Every value only ever grows with the instant, so the smallest is also the nearest
            later one: where MIN over a growing frame is not incremental (MariaDB recomputes
            it row by row), the nearest later value is found with a running COUNT of values and
            a MAX over each stretch of rows that share that count, both linear.
            """
            base = [row.c[c] for c in [*kept, *carried]]
            if incremental:
                windows = [
                    sa.func.min(value)
                    .over(
                        partition_by=row.c.u,
                        order_by=latest_first(row, strict),
                        **({"rows": (None, -1)} if strict else {"range_": (None, 0)}),  # type: ignore[arg-type]
                    )
                    .label(label)
                    for label, value, strict in items
                ]
                return sa.select(*base, *windows).subquery(self.name("funnel_pass"))
            shifted = sa.select(
                *base,
                *[
                    (
                        Function("lag", value, type_=value.type).over(
                            partition_by=row.c.u, order_by=latest_first(row, True)
                        )
                        if strict
                        else value
                    ).label(f"v_{label}")
                    for label, value, strict in items
                ],
            ).subquery(self.name("funnel_values"))
            counted = sa.select(
                *shifted.c,
                *[
                    sa.func.count(shifted.c[f"v_{label}"])
                    .over(
                        partition_by=shifted.c.u,
                        order_by=latest_first(shifted, strict),
                        **({"rows": (None, 0)} if strict else {"range_": (None, 0)}),  # type: ignore[arg-type]
                    )
                    .label(f"n_{label}")
                    for label, _, strict in items
                ],
            ).subquery(self.name("funnel_counts"))
            return sa.select(
                *[counted.c[c] for c in [*kept, *carried]],
                *[
                    sa.func.max(counted.c[f"v_{label}"])
                    .over(partition_by=[counted.c.u, counted.c[f"n_{label}"]])
                    .label(label)
                    for label, _, _ in items
                ],
            ).subquery(self.name("funnel_pass"))

        def when(row: FromClause, step: str, value: Expr) -> Expr:
            return sa.case((row.c.k == code_of[step], value))

        def keep_only(
            row: FromClause, derived: list[Any], carried: list[str], codes: list[str]
        ) -> FromClause:
            """The pass's results; then only the rows of the given steps go on (later passes read no other)."""
            keep = sorted({code_of[name] for name in codes})
            test = row.c.k.in_(keep) if len(keep) > 1 else row.c.k == keep[0]
            select = sa.select(*[row.c[c] for c in [*kept, *carried]], *derived).where(test)
            return stage(select, "funnel_kept")

        def first_excluded(row: FromClause) -> tuple[str, Expr, bool]:
            return ("x", sa.case((row.c.k == out_code, row.c.t)), True)

        steps = metric.steps
        ends: list[str]  # the columns, at the entrant's event, that must fall before the deadline
        if metric.order == "any":  # distinct steps: each other step's first event at or after t0
            ends = [f"s{i + 2}" for i in range(len(steps) - 1)]
            items = [
                (end, when(level, step, level.c.t), False) for end, step in zip(ends, steps[1:], strict=True)
            ]
            if excluded:
                items.append(first_excluded(level))
            done = running(level, items, [])
            level = keep_only(done, [done.c[label] for label, _, _ in items], [], steps[:1])
        else:
            # the pass of step k reads H_k at the step-k rows and writes H_{k-1} at the step-(k-1) rows
            for k in range(len(steps) - 1, 0, -1):
                value = level.c.t if k == len(steps) - 1 else level.c.h
                items = [("done", when(level, steps[k], value), steps[k] == steps[k - 1])]
                carried: list[str] = []
                if excluded:
                    if k == len(steps) - 1:
                        items.append(first_excluded(level))
                    else:
                        carried.append("x")
                done = running(level, items, carried)
                derived: list[Any] = [when(done, steps[k - 1], done.c.done).label("h")]
                if excluded and k == len(steps) - 1:
                    derived.append(done.c.x)
                level = keep_only(done, derived, carried, steps[:k])
            ends = ["h"]
        tail = [*ends, *(["x"] if excluded else [])]
        # entrants: each user's first step-1 event per period (ties: a null group first, then the smallest)
        entries = stage(
            sa.select(
                level.c.u,
                level.c.t,
                *([level.c.g] if grouped else []),
                *[level.c[c] for c in tail],
                self.period(level.c.t).label("p"),
            ),
            "funnel_entries",
        )
        tie = _tie_order(entries.c.t, entries.c.g) if grouped else [entries.c.t]
        ranked = sa.select(
            *entries.c,
            sa.func.row_number().over(partition_by=[entries.c.u, entries.c.p], order_by=tie).label("rn"),
        ).subquery(self.name("funnel_ranked"))
        deadline = self.funnel_deadline(ranked.c.t, metric.within)
        finished = [ranked.c[c] for c in ends]
        tests: list[Expr] = [t < deadline for t in finished]  # a NULL (never done) is not below it
        if excluded:
            x = ranked.c.x
            tests.append(sa.or_(x.is_(None), sa.and_(*[t <= x for t in finished])))
        converted = sa.func.sum(sa.case((sa.and_(*tests), 1), else_=0))
        keys = [ranked.c.p] + ([ranked.c.g] if grouped else [])
        select = (
            self.emit(
                metric_id,
                ranked.c.p,
                ranked.c.g if grouped else None,
                sa.func.count(),
                converted,
                None,
                ranked,
            )
            .where(ranked.c.rn == 1)
            .group_by(*keys)
        )
        self.branches.append(select)
        self.decoders[metric_id] = self._rate_decoder(metric_id, maturity=None)

    def _funnel_forward(self, metric_id: str, metric: FunnelMetric) -> None:
        """Entrants and their earliest completion, step by step from the entrants forward.

        The rows are the funnel's events (its steps and exclusions, inside [start, end]), each with
        a code: its step name's position, or one past the last for an excluded event.

        - entrants: each user's first step-1 event per period, at t0 (ties at one instant: a null
          group first, then the smallest).
        - strict: the chain starts at t0; step k's instant is the first step-k event at or after
          step k-1's (strictly after when step k repeats step k-1), which is the greedy chain of the
          contract and the earliest completion. Each step is one window pass over the chain's rows
          (at most one per entrant) and the step's own events: read latest first, a running MIN of
          the step events' instants gives at every chain row the first one at or after it. A chain
          row past the deadline or after an excluded event is dropped (later steps only come later).
        - any: one pass over the entrants and the other steps' events: each step's first event at or
          after t0; the funnel completes at the last.
        - exclude: in the first pass, the first excluded event strictly after t0; it must not come
          before completion.

        Each pass reads one step's events once, beside at most one row per entrant, so the work is
        linear in the rows (one sort per step) whatever plan the database picks: no join meets a
        user's repeated events with each other, with or without table statistics, and no pass carries
        the other steps' events along.
        """
        user = self.role("user")
        event = self.role("event")
        group = self.group()
        grouped = group is not None
        _, excluded, code_of, out_code = _step_codes(metric)
        chain_code = -1  # a row of the chain (an entrant at its current step), not an event
        where = [*self.in_days(self.ts, self.window.start, self.window.end), user.is_not(None)]
        condition = self.condition(metric.filter)
        if condition is not None:
            where.append(condition)
        code = sa.case(*[(event == name, sa.literal(i)) for name, i in code_of.items()], else_=out_code)

        def events_of(codes: list[int]) -> Select[Any]:
            """The events of the given codes (a step's position, `out_code` for every excluded event),
            read from the source for each pass: a scan each, cheaper than keeping every row of the
            funnel in a stage that each pass reads in full."""
            wanted = [name for name, i in code_of.items() if i in codes] + (
                excluded if out_code in codes else []
            )
            columns: list[Any] = [
                self.dialect.partition_key(user).label("u"),
                self.ts.label("t"),
                (code if len(codes) > 1 else sa.literal(codes[0], sa.Integer())).label("k"),
            ]
            if grouped:
                columns.append(cast(Expr, group).label("g"))
            return sa.select(*columns).where(*where, self.event_is(wanted))

        def stage(select: Select[Any], stem: str) -> FromClause:
            """A stage's rows: a CTE, so that the statement stays flat (SQLite's parser overflows on
            deeply nested subqueries); a subquery where WITH elements are few (MariaDB: 64)."""
            return select.cte(self.name(stem)) if self.dialect.many_ctes else select.subquery(self.name(stem))

        # entrants: each user's first step-1 event per period
        step_rows = events_of([code_of[metric.steps[0]]]).subquery(self.name("funnel_firsts"))
        step_one = sa.select(
            step_rows.c.u,
            step_rows.c.t,
            *([step_rows.c.g] if grouped else []),
            self.period(step_rows.c.t).label("p"),
        ).subquery(self.name("funnel_periods"))
        tie = _tie_order(step_one.c.t, step_one.c.g) if grouped else [step_one.c.t]
        ranked = sa.select(
            *step_one.c,
            sa.func.row_number().over(partition_by=[step_one.c.u, step_one.c.p], order_by=tie).label("rn"),
        ).subquery(self.name("funnel_ranked"))
        entrants = stage(
            sa.select(ranked.c.u, ranked.c.t, *([ranked.c.g] if grouped else []), ranked.c.p).where(
                ranked.c.rn == 1
            ),
            "funnel_entrants",
        )
        # a chain row: user, instant reached (t), code, t0, period, [group], [first excluded after t0]
        carried = ["t0", "p", *(["g"] if grouped else []), *(["x"] if excluded else [])]

        def chain_rows(row: FromClause, first: bool) -> list[Any]:
            """The columns of a chain row, from the entrants (`first`) or from the last pass's chain."""
            values: list[Any] = [row.c.u, row.c.t, sa.literal(chain_code, sa.Integer()).label("k")]
            values.append((row.c.t if first else row.c.t0).label("t0"))
            values.append(row.c.p)
            if grouped:
                values.append(row.c.g)
            if excluded and not first:
                values.append(row.c.x)
            elif excluded:
                values.append(row.c.t.label("x"))  # a placeholder: the first pass writes x
            return values

        def event_rows(codes: list[int]) -> Select[Any]:
            """Events of the given codes, in the chain's columns (those they do not have are fillers,
            never read: the windows read them at the chain rows only)."""
            rows = events_of(codes).subquery(self.name("funnel_events"))
            values: list[Any] = [rows.c.u, rows.c.t, rows.c.k, rows.c.t.label("t0")]
            values.append(sa.literal(0, sa.Integer()).label("p"))
            if grouped:
                values.append(rows.c.g)
            if excluded:
                values.append(rows.c.t.label("x"))
            return sa.select(*values)

        incremental = self.dialect.incremental_window_min

        def nearest_later(row: FromClause, items: list[tuple[str, int]], strict: set[int]) -> FromClause:
            """Per item (label, code): at every row, the instant of this user's first event of the
            code at or after the row's instant (strictly after for the codes in `strict`).

            Rows are read latest first; at one instant the at-or-after events come before the chain
            rows and the strictly-after ones after them, so a running frame up to the current row
            (ROWS) holds exactly the events a chain row may take. Instants only grow, so the smallest
            in the frame is the nearest one: where MIN over a growing frame is not incremental
            (MariaDB recomputes it row by row), a running COUNT of the code's events numbers the
            stretches of rows that share the nearest one, and a MAX over each stretch hands it to
            every row in it, both linear.
            """
            at_same = [
                sa.case((row.c.k == chain_code, 1), *[(row.c.k == c, 2) for c in sorted(strict)], else_=0)
            ]
            order: list[Any] = [row.c.t.desc(), *at_same]
            base = [row.c[c] for c in ["u", "t", "k", *carried]]
            values = [(label, sa.case((row.c.k == c, row.c.t))) for label, c in items]
            if incremental:
                windows = [
                    sa.func.min(value).over(partition_by=row.c.u, order_by=order, rows=(None, 0)).label(label)
                    for label, value in values
                ]
                return sa.select(*base, *windows).subquery(self.name("funnel_pass"))
            counted = sa.select(
                *base,
                *[value.label(f"v_{label}") for label, value in values],
                *[
                    sa.func.count(value)
                    .over(partition_by=row.c.u, order_by=order, rows=(None, 0))
                    .label(f"n_{label}")
                    for label, value in values
                ],
            ).subquery(self.name("funnel_counts"))
            return sa.select(
                *[counted.c[c] for c in ["u", "t", "k", *carried]],
                *[
                    sa.func.max(counted.c[f"v_{label}"])
                    .over(partition_by=[counted.c.u, counted.c[f"n_{label}"]])
                    .label(label)
                    for label, _ in items
                ],
            ).subquery(self.name("funnel_pass"))

        def deadline(row: FromClause) -> Expr:
            return self.funnel_deadline(row.c.t0, metric.within)

        steps = metric.steps
        x_item = [("x_next", out_code)] if excluded else []
        if metric.order == "any":  # distinct steps: each other step's first event at or after t0
            items = [(f"s{i + 2}", code_of[step]) for i, step in enumerate(steps[1:])]
            rows = sa.union_all(
                sa.select(*chain_rows(entrants, True)),
                event_rows([c for _, c in items] + ([out_code] if excluded else [])),
            ).subquery(self.name("funnel_steps"))
            done = nearest_later(rows, items + x_item, {out_code})
            finished = [done.c[label] for label, _ in items]
            tests: list[Expr] = [t < deadline(done) for t in finished]  # a NULL (never done) is not below it
            if excluded:
                x = done.c.x_next
                tests.append(sa.or_(x.is_(None), sa.and_(*[t <= x for t in finished])))
            converted = sa.select(done.c.p, *([done.c.g] if grouped else [])).where(
                done.c.k == chain_code, *tests
            )
        else:
            chain: FromClause = entrants
            for k in range(1, len(steps)):
                first = k == 1
                codes = [code_of[steps[k]]] + ([out_code] if excluded and first else [])
                rows = sa.union_all(sa.select(*chain_rows(chain, first)), event_rows(codes)).subquery(
                    self.name("funnel_step")
                )
                strict = {out_code} | ({code_of[steps[k]]} if steps[k] == steps[k - 1] else set())
                done = nearest_later(
                    rows, [("reached", code_of[steps[k]])] + (x_item if first else []), strict
                )
                # the first excluded event after t0: written by the first pass, then carried
                barrier: Expr | None = (done.c.x_next if first else done.c.x) if excluded else None
                reached = done.c.reached
                kept: list[Expr] = [done.c.k == chain_code, reached < deadline(done)]  # NULL: never reached
                if barrier is not None:
                    kept.append(sa.or_(barrier.is_(None), reached <= barrier))
                values: list[Any] = [done.c.u, reached.label("t"), done.c.t0, done.c.p]
                if grouped:
                    values.append(done.c.g)
                if barrier is not None:
                    values.append(barrier.label("x"))
                chain = stage(sa.select(*values).where(*kept), "funnel_chain")
            converted = sa.select(chain.c.p, *([chain.c.g] if grouped else []))
        # entrants count 1 in n, converted entrants 1 in v: one GROUP BY period[, group], no join
        keys = ["p", *(["g"] if grouped else [])]
        counted_rows = sa.union_all(
            sa.select(
                *[entrants.c[c] for c in keys],
                sa.literal(1, sa.Integer()).label("n"),
                sa.literal(0, sa.Integer()).label("v"),
            ),
            converted.add_columns(
                sa.literal(0, sa.Integer()).label("n"), sa.literal(1, sa.Integer()).label("v")
            ),
        ).subquery(self.name("funnel_counted"))
        select = self.emit(
            metric_id,
            counted_rows.c.p,
            counted_rows.c.g if grouped else None,
            sa.func.sum(counted_rows.c.n),
            sa.func.sum(counted_rows.c.v),
            None,
            counted_rows,
        ).group_by(*[counted_rows.c[c] for c in keys])
        self.branches.append(select)
        self.decoders[metric_id] = self._rate_decoder(metric_id, maturity=None)

    def _rate_decoder(self, metric_id: str, maturity: int | None) -> Decoder:
        """value = v / n; for retention, null until the last cohort member's interval has ended."""

        def decode(rows: dict[str, list[Row]]) -> pl.DataFrame:
            window = self.window
            out: list[tuple[dt.date, str | None, float | None]] = []
            counts: list[tuple[float, float]] = []
            for _, p, g, n, v, _w in rows.get(metric_id, []):
                period = period_of_key(p, window.grain)
                value: float | None = None if not n else float(v) / float(n)
                if maturity is not None:
                    last_member = window.last_day(period)
                    if last_member + dt.timedelta(days=maturity) > window.end:
                        value = None
                out.append((period, g, value))
                counts.append((float(v or 0), float(n or 0)))
            return self.frame(out, counts)

        return decode

    # -- frames --

    def frame(
        self,
        rows: Sequence[tuple[dt.date, str | None, float | None]],
        counts: Sequence[tuple[float, float]] | None = None,
    ) -> pl.DataFrame:
        """Result frame from (period, group, value) rows; a rate's (numerator, denominator) beside them."""
        order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1] is None, rows[i][1] or ""))
        ordered = [rows[i] for i in order]
        data: dict[str, Any] = {"period": pl.Series("period", [r[0] for r in ordered], dtype=pl.Date)}
        if self.by is not None:
            data[self.by] = pl.Series(self.by, [r[1] for r in ordered], dtype=pl.String)
        data["value"] = pl.Series("value", [r[2] for r in ordered], dtype=pl.Float64)
        if counts is not None:
            data["numerator"] = pl.Series("numerator", [counts[i][0] for i in order], dtype=pl.Float64)
            data["denominator"] = pl.Series("denominator", [counts[i][1] for i in order], dtype=pl.Float64)
        return pl.DataFrame(data)


def _step_codes(metric: FunnelMetric) -> tuple[list[str], list[str], dict[str, int], int]:
    """A funnel's distinct steps, its distinct excluded events, each step's code (its index) and
    the one code every excluded event shares (after the last step's), for both funnel forms."""
    names = list(dict.fromkeys(metric.steps))
    excluded = list(dict.fromkeys(metric.exclude))
    return names, excluded, {name: index for index, name in enumerate(names)}, len(names)


def _tie_order(ts: Expr, group: Expr) -> list[Expr]:
    """Earliest event first; among events at the same instant a null group, then the smallest value."""
    return [ts, sa.case((group.is_(None), 0), else_=1), group]


def _interpolate(
    q: float, count: SupportsInt, low: SupportsFloat | None, high: SupportsFloat | None
) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default, SQL percentile_cont)."""
    if low is None:
        return None
    position = (int(count) - 1) * q
    fraction = position - math.floor(position)
    if fraction == 0 or high is None:
        return float(low)
    return float(low) + fraction * (float(high) - float(low))


@dataclasses.dataclass(frozen=True)
class CompiledRequest:
    statement: Select[Any] | sa.CompoundSelect[Any] | WithSettings
    decoders: Mapping[str, Decoder]
    by: str | None

    def decode(self, frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
        rows: dict[str, list[Row]] = defaultdict(list)
        names = ["metric", "p", "g", "n", "v", "w"] if self.by is not None else ["metric", "p", "n", "v", "w"]
        for row in frame.select(names).iter_rows():
            if self.by is None:
                tag, p, n, v, w = row
                g = None
            else:
                tag, p, g, n, v, w = row
            if p is None:  # after a single span (MetricRequest.span_end): not part of the result
                continue
            rows[tag].append((tag, int(p), g, n, v, w))
        return {metric_id: decode(rows) for metric_id, decode in self.decoders.items()}


def _lookback(metrics: Mapping[str, SourcedMetric]) -> int:
    windows = [m.window - 1 for m in metrics.values() if isinstance(m, ActiveUsersMetric)]
    return max(windows, default=0)


class SqlBackend:
    """Computes sourced metrics inside a SQL database: one statement per source and request."""

    def compile(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        metrics: Mapping[str, SourcedMetric],
        window: Window,
    ) -> CompiledRequest:
        if not isinstance(source, QuerySource) or not isinstance(connector, SqlConnector):
            raise MetricError(f"source {source_name!r} is not a SQL source")
        if window.end < window.start:
            raise MetricError(f"the range ends ({window.end}) before it starts ({window.start})")
        compiler = _Compiler(source_name, source, connector, window, _lookback(metrics))
        compiler.plan_user_days(metrics)
        compiler.aggregates(metrics)
        for metric_id, metric in metrics.items():
            if isinstance(metric, ActiveUsersMetric):
                compiler.active_users(metric_id, metric)
        for metric_id, metric in metrics.items():
            if isinstance(metric, RetentionMetric):
                compiler.retention(metric_id, metric)
            elif isinstance(metric, FunnelMetric):
                compiler.funnel(metric_id, metric)
        if not compiler.branches:
            raise MetricError(f"no metrics to compute on source {source_name!r}")
        statement: Select[Any] | sa.CompoundSelect[Any] | WithSettings = compiler.statement()
        if any(isinstance(metric, FunnelMetric) for metric in metrics.values()):
            statement = compiler.dialect.for_window_passes(compiler.statement())
        return CompiledRequest(statement, compiler.decoders, window.by)

    def compute(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        metrics: Mapping[str, SourcedMetric],
        window: Window,
    ) -> dict[str, pl.DataFrame]:
        compiled = self.compile(source_name, source, connector, metrics, window)
        assert isinstance(connector, SqlConnector)
        self._check_time_zone(source_name, connector, window.calendar)
        return compiled.decode(connector.execute(compiled.statement))

    def explain(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        metrics: Mapping[str, SourcedMetric],
        window: Window,
    ) -> str:
        compiled = self.compile(source_name, source, connector, metrics, window)
        assert isinstance(connector, SqlConnector)
        return connector.explain(compiled.statement)

    def data_range(
        self, source_name: str, source: SourceConfig, connector: Connector, calendar: Calendar
    ) -> tuple[dt.date | None, dt.date | None]:
        if not isinstance(source, QuerySource) or not isinstance(connector, SqlConnector):
            raise MetricError(f"source {source_name!r} is not a SQL source")
        dialect = dialect_for(connector.dialect_name)
        src = connector.selectable()
        if source.columns.timestamp not in src.c:
            raise MetricError(
                f"column {source.columns.timestamp!r} is not in source {source_name!r}; run `northstar validate`"
            )
        column = src.c[source.columns.timestamp]
        is_date = is_date_type(column.type)
        ts = dialect.timestamp(column, is_date)
        seconds = dialect.epoch_seconds(column)
        plausible = sa.case((sa.and_(seconds >= PLAUSIBLE_SECONDS[0], seconds < PLAUSIBLE_SECONDS[1]), ts))
        frame = connector.execute(
            sa.select(sa.func.min(plausible).label("lo"), sa.func.max(plausible).label("hi"))
        )
        from connectors.sql import utc_datetime

        low, high = (utc_datetime(v) for v in frame.row(0)) if frame.height else (None, None)
        if low is None or high is None:
            return None, None
        if is_date:  # a DATE holds the local day itself, not an instant to place in the zone
            return low.date(), high.date()
        zone = calendar.zone
        try:
            return low.astimezone(zone).date(), high.astimezone(zone).date()
        except (OverflowError, ValueError):
            raise MetricError(
                f"source {source_name!r}: a timestamp ({low} .. {high}) cannot be placed in a day in "
                f"{calendar.timezone}; remove such rows upstream (`northstar check` counts them)"
            ) from None

    def reaches(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        calendar: Calendar,
        start: dt.date,
        end: dt.date,
    ) -> tuple[bool, bool] | None:
        """Not told apart: a SQL source's `data_range` is one aggregate the database answers itself."""
        return None

    def _check_time_zone(self, source_name: str, connector: SqlConnector, calendar: Calendar) -> None:
        """Refuse early when the server cannot convert times to the project's zone (once per
        connector and zone): a missing zone would give NULL local days, not an error."""
        dialect = dialect_for(connector.dialect_name)
        probe = dialect.time_zone_probe(calendar.timezone)
        if probe is None:
            return
        checked = _TZ_CHECKED.setdefault(connector, set())
        if calendar.timezone in checked:
            return
        frame = connector.execute(probe)
        if not frame.height or frame.row(0)[0] is None:
            raise MetricError(f"source {source_name!r}: {dialect.unknown_time_zone(calendar.timezone)}")
        checked.add(calendar.timezone)
