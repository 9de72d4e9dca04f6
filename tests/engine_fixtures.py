"""Helpers for the engine tests: write small event files, build projects, and a plain-Python reference.

The reference implementation (`Reference`) is written straight from CONTRACT.md "What each number
means", row by row, with no Polars and no shared code with the engine (it even has its own calendar
arithmetic), so that the engine is checked against an independent computation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import project_from_dicts

UTC = dt.UTC
DIMENSIONS = ["platform", "plan"]


@dataclass(frozen=True)
class Row:
    ts: dt.datetime  # naive = UTC
    user: str | None
    event: str
    platform: str | None = "web"
    plan: str | None = "free"
    amount: float | None = None


def frame_of(rows: Sequence[Row]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [r.ts for r in rows],
            "user_id": [r.user for r in rows],
            "event": [r.event for r in rows],
            "platform": [r.platform for r in rows],
            "plan": [r.plan for r in rows],
            "amount": [r.amount for r in rows],
        },
        schema={
            "ts": pl.Datetime("us"),
            "user_id": pl.String,
            "event": pl.String,
            "platform": pl.String,
            "plan": pl.String,
            "amount": pl.Float64,
        },
    )


def write_rows(rows: Sequence[Row], folder: Path, fmt: str = "parquet", parts: int = 1) -> str:
    """Write the rows (in `parts` files when > 1) and return the source `path:` (a glob for parts)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame_of(rows)
    chunks = [frame] if parts == 1 else [frame[i::parts] for i in range(parts)]
    names = []
    for index, chunk in enumerate(chunks):
        name = f"events_{index}.{fmt}" if parts > 1 else f"events.{fmt}"
        path = folder / name
        if fmt == "parquet":
            chunk.write_parquet(path)
        elif fmt == "csv":
            chunk.write_csv(path)
        elif fmt == "ndjson":
            with path.open("w") as handle:
                for row in chunk.iter_rows(named=True):
                    row["ts"] = row["ts"].isoformat()
                    handle.write(json.dumps(row) + "\n")
        else:
            raise ValueError(fmt)
        names.append(name)
    return f"events_*.{fmt}" if parts > 1 else names[0]


def make_project(
    tmp_path: Path,
    rows: Sequence[Row],
    metrics: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    fmt: str = "parquet",
    parts: int = 1,
) -> Project:
    path = write_rows(rows, tmp_path / "data", fmt, parts)
    source = {
        "type": fmt,
        "path": f"data/{path}",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
        "dimensions": DIMENSIONS,
    }
    return project_from_dicts(
        sources={"events": source}, metrics=metrics, settings=settings or {}, root=tmp_path
    )


def compute_rows(
    project: Project,
    metrics: Sequence[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    grain: str = "day",
    by: str | None = None,
    span_end: dt.date | None = None,
    counts: bool = False,
) -> dict[tuple[str, dt.date, str | None], float | None]:
    """Values by (metric, period, group); with `counts`, a rate's numerator and denominator too, as
    the pseudo-metrics "<id>#numerator" and "<id>#denominator"."""
    result = Engine(project).compute(
        MetricRequest(tuple(metrics), start=start, end=end, grain=grain, by=by, span_end=span_end)  # type: ignore[arg-type]
    )
    out: dict[tuple[str, dt.date, str | None], float | None] = {}
    for row in result.frame.iter_rows(named=True):
        key = (row["metric"], row["period"], row[by] if by else None)
        assert key not in out, f"duplicate row {key}"
        out[key] = row["value"]
        if counts and row["metric"] in result.rates:
            for part in ("numerator", "denominator"):
                out[(f"{row['metric']}#{part}", *key[1:])] = row[part]
        elif counts:
            assert row["numerator"] is None and row["denominator"] is None, key
    return out


def assert_same(
    got: Mapping[tuple[Any, ...], float | None], want: Mapping[tuple[Any, ...], float | None]
) -> None:
    missing = sorted(set(want) - set(got), key=str)
    extra = sorted(set(got) - set(want), key=str)
    assert not missing and not extra, f"missing rows {missing[:5]}, extra rows {extra[:5]}"
    wrong = []
    for key, value in want.items():
        other = got[key]
        if value is None or other is None:
            if value is not other:
                wrong.append((key, other, value))
        elif not math.isclose(other, value, rel_tol=1e-9, abs_tol=1e-9):
            wrong.append((key, other, value))
    assert not wrong, f"{len(wrong)} wrong values (key, got, want): {sorted(wrong, key=str)[:8]}"


# --- the independent reference ------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Reference:
    """The contract's meaning of every metric type, computed row by row in plain Python."""

    def __init__(self, rows: Iterable[Row], settings: Mapping[str, Any] | None = None) -> None:
        settings = settings or {}
        self.zone = ZoneInfo(settings.get("timezone", "UTC"))
        self.week_first = 6 if settings.get("week_start") == "sunday" else 0
        self.fiscal = int(settings.get("fiscal_year_start", 1))
        self.rows = list(rows)
        self.metrics: dict[str, Mapping[str, Any]] = {}
        self.span: tuple[dt.date, dt.date] | None = None  # (start, span_end): one period
        # a rate's (numerator, denominator) by (metric, period, group), filled by `compute`
        self.counts: dict[tuple[str, dt.date, str | None], tuple[float | None, float | None]] = {}
        self._counted: dict[tuple[dt.date, str | None], tuple[float | None, float]] = {}

    def period(self, day: dt.date, grain: str) -> dt.date | None:
        """The period a day in the range belongs to (None: after a single span)."""
        if self.span is not None:
            return self.span[0] if day <= self.span[1] else None
        return self.bucket(day, grain)

    def period_last(self, first: dt.date, grain: str) -> dt.date:
        return self.span[1] if self.span is not None else self.bucket_last(first, grain)

    # calendar, written independently of metrics.calendar
    def day(self, ts: dt.datetime) -> dt.date:
        aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        return aware.astimezone(self.zone).date()

    def bucket(self, day: dt.date, grain: str) -> dt.date:
        if grain == "day":
            return day
        if grain == "week":
            while day.weekday() != self.week_first:
                day -= dt.timedelta(days=1)
            return day
        if grain == "month":
            return day.replace(day=1)
        month = day.month
        while (month - self.fiscal) % 3 != 0:
            month -= 1
        year = day.year
        if month < 1:
            month += 12
            year -= 1
        return dt.date(year, month, 1)

    def bucket_last(self, first: dt.date, grain: str) -> dt.date:
        day = first
        while self.bucket(day + dt.timedelta(days=1), grain) == first:
            day += dt.timedelta(days=1)
        return day

    def periods(self, start: dt.date, end: dt.date, grain: str) -> list[dt.date]:
        if self.span is not None:
            return [self.span[0]]
        out: list[dt.date] = []
        day = start
        while day <= end:
            first = self.bucket(day, grain)
            if first not in out:
                out.append(first)
            day += dt.timedelta(days=1)
        return out

    @staticmethod
    def passes(row: Row, metric: Mapping[str, Any]) -> bool:
        for key, want in metric.get("filter", {}).items():
            have = getattr(row, key)
            if isinstance(want, dict):  # {not: ...}: none of these; a null value passes
                options = want["not"] if isinstance(want["not"], list) else [want["not"]]
                if have is not None and have in options:
                    return False
                continue
            options = want if isinstance(want, list) else [want]
            if have not in options:
                return False
        return True

    def compute(
        self,
        metric_id: str,
        metrics: Mapping[str, Mapping[str, Any]],
        start: dt.date,
        end: dt.date,
        grain: str,
        by: str | None = None,
    ) -> dict[tuple[str, dt.date, str | None], float | None]:
        metric = metrics[metric_id]
        kind = metric["type"]
        periods = self.periods(start, end, grain)
        if kind == "ratio":
            num = self.compute(metric["numerator"], metrics, start, end, grain, by)
            den = self.compute(metric["denominator"], metrics, start, end, grain, by)
            num_zero = metrics[metric["numerator"]]["type"] in ZERO
            den_zero = metrics[metric["denominator"]]["type"] in ZERO
            groups = {k[2] for k in num} | {k[2] for k in den}
            out: dict[tuple[str, dt.date, str | None], float | None] = {}
            for period in periods:
                for group in groups:
                    a = num.get((metric["numerator"], period, group), 0.0 if num_zero else None)
                    b = den.get((metric["denominator"], period, group), 0.0 if den_zero else None)
                    out[(metric_id, period, group)] = None if a is None or not b else a / b
                    self.counts[(metric_id, period, group)] = (a, b)
            return out
        if kind == "active_users":
            values, groups = self._active(metric, periods, start, end, grain, by)
        elif kind == "retention":
            values, groups = self._retention(metric, periods, start, end, grain, by)
        elif kind == "funnel":
            values, groups = self._funnel(metric, start, end, grain, by)
        else:
            values, groups = self._simple(metric, start, end, grain, by)
        default = 0.0 if kind in ZERO else None
        out = {}
        for period in periods:
            for group in groups if by else [None]:
                out[(metric_id, period, group)] = values.get((period, group), default)
                if kind in ("retention", "funnel"):  # nothing counted: 0 of 0
                    self.counts[(metric_id, period, group)] = self._counted.get((period, group), (0.0, 0.0))
        return out

    def _group(self, row: Row, by: str | None) -> str | None:
        return getattr(row, by) if by else None

    def _simple(
        self, metric: Mapping[str, Any], start: dt.date, end: dt.date, grain: str, by: str | None
    ) -> tuple[dict[tuple[dt.date, str | None], float | None], set[str | None]]:
        cells: dict[tuple[dt.date, str | None], list[Row]] = defaultdict(list)
        for row in self.rows:
            day = self.day(row.ts)
            if start <= day <= end and self.passes(row, metric) and self.period(day, grain) is not None:
                cells[(self.period(day, grain), self._group(row, by))].append(row)  # type: ignore[index]
        kind = metric["type"]
        values: dict[tuple[dt.date, str | None], float | None] = {}
        for key, rows in cells.items():
            if kind == "count":
                values[key] = float(len(rows))
                continue
            column = metric.get("column") or "user"
            seen = [getattr(r, column) for r in rows if getattr(r, column) is not None]
            if kind == "count_distinct":
                values[key] = float(len(set(seen)))
            elif kind == "sum":
                values[key] = float(sum(seen))
            elif not seen:
                values[key] = None
            elif kind == "avg":
                values[key] = sum(seen) / len(seen)
            elif kind == "min":
                values[key] = min(seen)
            elif kind == "max":
                values[key] = max(seen)
            else:
                values[key] = _percentile(seen, metric["percentile"])
        return values, {k[1] for k in cells}

    def _active(
        self,
        metric: Mapping[str, Any],
        periods: list[dt.date],
        start: dt.date,
        end: dt.date,
        grain: str,
        by: str | None,
    ) -> tuple[dict[tuple[dt.date, str | None], float | None], set[str | None]]:
        window = metric["window"]
        days_of: dict[tuple[str | None, str], set[dt.date]] = defaultdict(set)
        groups: set[str | None] = set()
        for row in self.rows:
            if row.user is None or not self.passes(row, metric):
                continue
            day = self.day(row.ts)
            if day > end:
                continue
            days_of[(self._group(row, by), row.user)].add(day)
            # a group is found on a row in some day's window: from start - (window - 1) on
            if day >= start - dt.timedelta(days=window - 1) and (
                day < start or self.period(day, grain) is not None
            ):
                groups.add(self._group(row, by))
        values: dict[tuple[dt.date, str | None], float | None] = {}
        for period in periods:
            on = min(self.period_last(period, grain), end)
            first = on - dt.timedelta(days=window - 1)
            for group in groups:
                users = {
                    u
                    for (g, u), days in days_of.items()
                    if g == group and any(first <= d <= on for d in days)
                }
                values[(period, group)] = float(len(users))
        return values, groups

    def _retention(
        self,
        metric: Mapping[str, Any],
        periods: list[dt.date],
        start: dt.date,
        end: dt.date,
        grain: str,
        by: str | None,
    ) -> tuple[dict[tuple[dt.date, str | None], float | None], set[str | None]]:
        first_cohort: dict[str, Row] = {}
        for row in self.rows:
            cohort = metric["cohort_event"]
            if row.user is None or cohort not in ("any", row.event) or not self.passes(row, metric):
                continue
            if row.user not in first_cohort or self._earlier(row, first_cohort[row.user], by):
                first_cohort[row.user] = row
        returns = metric.get("return_event", "any")
        names = None if returns == "any" else (returns if isinstance(returns, list) else [returns])
        weekly = metric.get("period", "day") == "week"
        offset = metric["offset"]
        lo_shift, span = (7 * offset, 6) if weekly else (offset, 0)
        sizes: dict[tuple[dt.date, str | None], int] = defaultdict(int)
        kept: dict[tuple[dt.date, str | None], int] = defaultdict(int)
        self._counted = {}
        for user, row in first_cohort.items():
            c = self.day(row.ts)
            if not start <= c <= end or self.period(c, grain) is None:
                continue
            key = (self.period(c, grain), self._group(row, by))
            sizes[key] += 1
            lo = c + dt.timedelta(days=lo_shift)
            hi = lo + dt.timedelta(days=span)
            for other in self.rows:
                if other.user != user or not self.passes(other, metric):
                    continue
                if names is not None and other.event not in names:
                    continue
                if lo <= self.day(other.ts) <= min(hi, end):
                    kept[key] += 1
                    break
        values: dict[tuple[dt.date, str | None], float | None] = {}
        for key, size in sizes.items():
            last_member = min(self.period_last(key[0], grain), end)
            mature = last_member + dt.timedelta(days=lo_shift + span) <= end
            values[key] = kept[key] / size if mature else None
            # retained users and the cohort; the retained are not known until the cohort is mature
            self._counted[key] = (float(kept[key]) if mature else None, float(size))
        return values, {k[1] for k in sizes}

    def _earlier(self, row: Row, than: Row, by: str | None) -> bool:
        """Earliest first; at the same instant a null group, then the smallest (the contract's
        breakdown takes the cohort event's value, and ties must pick one)."""
        if row.ts != than.ts or by is None:
            return row.ts < than.ts
        a, b = self._group(row, by), self._group(than, by)
        return (a is not None, a or "") < (b is not None, b or "")

    def _funnel(
        self, metric: Mapping[str, Any], start: dt.date, end: dt.date, grain: str, by: str | None
    ) -> tuple[dict[tuple[dt.date, str | None], float | None], set[str | None]]:
        steps = metric["steps"]
        within = dt.timedelta(days=metric["within"])

        def instant(row: Row) -> dt.datetime:
            return row.ts if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)

        usable = [
            r
            for r in self.rows
            if r.user is not None and self.passes(r, metric) and start <= self.day(r.ts) <= end
        ]
        firsts: dict[tuple[str, dt.date], Row] = {}
        for row in usable:
            if row.event != steps[0] or self.period(self.day(row.ts), grain) is None:
                continue
            key = (row.user, self.period(self.day(row.ts), grain))
            best = firsts.get(key)
            if (
                best is None
                or instant(row) < instant(best)
                or (instant(row) == instant(best) and str(self._group(row, by)) < str(self._group(best, by)))
            ):
                firsts[key] = row
        by_user: dict[str, list[Row]] = defaultdict(list)
        for row in usable:
            by_user[row.user].append(row)  # type: ignore[index]

        def reach(user: str, step: int, after: dt.datetime, deadline: dt.datetime) -> bool:
            if step == len(steps):
                return True
            repeated = steps[step] == steps[step - 1]  # view, view: a second, later event
            return any(
                r.event == steps[step]
                and (after < instant(r) if repeated else after <= instant(r))
                and instant(r) < deadline
                and reach(user, step + 1, instant(r), deadline)
                for r in by_user[user]
            )

        def completions(user: str, step: int, after: dt.datetime, deadline: dt.datetime) -> list[dt.datetime]:
            """Every time at which some in-order path from `after` through the remaining steps ends."""
            if step == len(steps):
                return [after]
            repeated = steps[step] == steps[step - 1]
            return [
                end
                for r in by_user[user]
                if r.event == steps[step]
                and (after < instant(r) if repeated else after <= instant(r))
                and instant(r) < deadline
                for end in completions(user, step + 1, instant(r), deadline)
            ]

        def converts(user: str, t0: dt.datetime) -> bool:
            deadline = t0 + within
            if metric.get("order", "strict") == "any":
                times = [
                    [instant(r) for r in by_user[user] if r.event == s and t0 <= instant(r) < deadline]
                    for s in steps[1:]
                ]
                # every way of picking one event per step: the path's completion is its latest pick
                ends = [max(pick) for pick in itertools.product(*times)] if all(times) else []
            else:
                ends = completions(user, 1, t0, deadline)
            excluded = [instant(r) for r in by_user[user] if r.event in metric.get("exclude", [])]
            # converted: some completion with no excluded event strictly between t0 and it
            return any(not any(t0 < x < end for x in excluded) for end in ends)

        entrants: dict[tuple[dt.date, str | None], int] = defaultdict(int)
        converted: dict[tuple[dt.date, str | None], int] = defaultdict(int)
        for (user, period), row in firsts.items():
            key = (period, self._group(row, by))
            entrants[key] += 1
            t0 = instant(row)
            if metric.get("order", "strict") == "strict" and not metric.get("exclude"):
                assert reach(user, 1, t0, t0 + within) == converts(user, t0)
            if converts(user, t0):
                converted[key] += 1
        values: dict[tuple[dt.date, str | None], float | None] = {
            key: converted[key] / n for key, n in entrants.items()
        }
        self._counted = {key: (float(converted[key]), float(n)) for key, n in entrants.items()}
        return values, {k[1] for k in entrants}


ZERO = {"count", "count_distinct", "sum", "active_users"}


def reference_rows(
    reference: Reference,
    metrics: Mapping[str, Mapping[str, Any]],
    ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    grain: str,
    by: str | None = None,
    span_end: dt.date | None = None,
    counts: bool = False,
) -> dict[tuple[str, dt.date, str | None], float | None]:
    """The reference's rows, keyed as `compute_rows` keys them (`counts` likewise)."""
    out: dict[tuple[str, dt.date, str | None], float | None] = {}
    reference.span = None if span_end is None else (start, span_end)
    for metric_id in ids:
        reference.counts.clear()
        out.update(reference.compute(metric_id, metrics, start, end, grain, by))
        if counts:
            for (rate, period, group), (numerator, denominator) in reference.counts.items():
                if rate == metric_id:
                    out[(f"{rate}#numerator", period, group)] = numerator
                    out[(f"{rate}#denominator", period, group)] = denominator
    return out


__all__ = [
    "DIMENSIONS",
    "Engine",
    "Reference",
    "Row",
    "assert_same",
    "compute_rows",
    "frame_of",
    "make_project",
    "reference_rows",
    "write_rows",
]


class MemoryConnector:
    """A frame connector over an in-memory DataFrame (fast property tests, no files)."""

    def __init__(self, name: str, config: Any, frame: pl.DataFrame) -> None:
        self.name = name
        self.config = config
        self.frame = frame

    def scan(self) -> pl.LazyFrame:
        return self.frame.lazy()

    def schema(self) -> dict[str, Any]:
        return {name: "other" for name in self.frame.columns}

    def fingerprint(self) -> str:
        return str(self.frame.height)


def memory_engine(
    rows: Sequence[Row], metrics: Mapping[str, Any], settings: Mapping[str, Any] | None = None
) -> Engine:
    source = {
        "type": "parquet",
        "path": "unused.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
        "dimensions": DIMENSIONS,
    }
    project = project_from_dicts(
        sources={"events": source}, metrics=metrics, settings=settings or {}, root="."
    )
    connector = MemoryConnector("events", project.sources["events"], frame_of(rows))
    return Engine(project, connectors={"events": connector})
