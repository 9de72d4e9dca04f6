"""Incremental recompute: when a source's data only grew, reuse a stored answer's early periods.

A backend's answer for one source over a window (see `metrics.engine.result_store`) is stored under a
key that holds the data's fingerprint, so new data misses it. This module finds, for such a miss, an
earlier stored answer of the same request (same metrics, source, calendar, grain and breakdown; its
window starting on or before this one and ending on or before it) and proves which of its periods a
full recompute would give again:

* **What changed in the data** (`growth`). Beside every stored answer the engine records the data's
  state (`data_state`), and a later state is compared with it:
  - files: every file of the earlier state is still there with the same size and modification time
    (a file edited or grown in place, or removed, proves nothing: full recompute) and new files were
    added; the earliest local day of the new files' rows is read from those files alone, so nothing
    before that day changed. CSV and NDJSON files must sort after the earlier ones (the first file
    gives the whole set's inferred schema);
  - SQL and Spark (`type: sql`, `type: spark`: `QuerySource`, one path for both): the state holds
    `bound`, the newest row's local day minus the source's `late_arrival_days`, and the number of
    rows before `bound`, counted by the database (or Spark) itself with the backend's own compiled
    count, per local day (`_rows_by_day`: one statement, bound parameters). The same count now proves
    that no row before `bound` was added or removed; rows on or after it are recomputed. When the
    bound moved on with the new rows, the count before the earlier bound is the sum of the new
    count's days before it, so proving growth costs one count, not two. An update that keeps the count is as invisible as it
    is to the fingerprint, so a head read from SQL or Spark is used only while the answer it came from
    is younger than `result_store.SQL_MAX_AGE` (the spliced answer keeps its age).
* **Which periods stay** (`reusable_until`). A period's value reads the days `days_read` names for
  its type: its own days (count, sum, count_distinct, avg, min, max, percentile), the `window` days
  ending on its last day (active users: looking back is harmless, since new rows only come later),
  and for retention and funnels the days up to its last day plus `maturity_lag` (returns and later
  steps; a funnel one more day, because `within` days of 24 hours can end on the next local day across
  a DST change). A retention cohort is a user's first ever cohort event: a new row at day d only
  moves users into d's period or out of a later one. A period is reused when every day it reads is
  before the first day that may have changed and on or before the stored window's end (so the stored
  value was neither cut by that end nor immature). Reused periods are a prefix of the periods.
* **The splice.** The backend computes the rest, from the first period not reused to the new end,
  as its own window (starting on a period's first day, so every later period covers the same days
  as in the full window), and each metric's frame is the stored rows before that day plus the new
  ones. Backends return rows only where something was counted, so the groups a breakdown finds are
  those of the whole window. The answer is stored under its own key, and may be the head of the next.

A request for one span (`span_end`) is never spliced. Everything else falls back to a full recompute.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import polars as pl

from connectors.base import Connector
from connectors.files import FileConnector
from connectors.models import QuerySource, SourceConfig
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import (
    AggregateMetric,
    CountMetric,
    FunnelMetric,
    RetentionMetric,
    SourcedMetric,
)
from metrics.engine.backend import Backend
from metrics.engine.request import Window
from metrics.engine.result_store import ResultStore, key_of

KEEP = 6  # stored answers remembered per request lineage (newest first)
State = dict[str, Any]


@dataclass(frozen=True)
class Growth:
    """What may differ from a recorded state: rows on or after `first_day` (None: no row at all)."""

    first_day: dt.date | None
    why: str


@dataclass(frozen=True)
class Splice:
    """A stored answer whose periods before `tail_start` are reused; the rest is computed."""

    base_key: str
    created: float
    frames: dict[str, pl.DataFrame]
    tail_start: dt.date  # after `window.end` when every period is reused
    growth: Growth
    whole: frozenset[str] = frozenset()  # metrics computed over the whole window (`order_sensitive`)

    def words(self, window: Window) -> str:
        """What `explain` says of it."""
        if self.tail_start > window.end:
            return f"every period comes from an earlier stored answer ({self.growth.why})"
        return (
            f"periods before {self.tail_start} come from an earlier stored answer "
            f"(entry {self.base_key[:12]}), and only {self.tail_start} .. {window.end} is computed "
            f"({self.growth.why})"
        )

    def sentence(self, source_name: str, window: Window) -> str:
        if self.tail_start > window.end:
            return (
                f"source {source_name}: every period read from an earlier stored answer ({self.growth.why})"
            )
        return (
            f"source {source_name}: periods before {self.tail_start} read from an earlier stored answer, "
            f"{self.tail_start} .. {window.end} computed ({self.growth.why})"
        )


# --- the data's state ------------------------------------------------------------------------------


Days = dict[dt.date, int]  # rows per local day before a SQL or Spark source's bound (not stored)


def data_state(
    source_name: str, config: SourceConfig, connector: Connector, calendar: Calendar, backend: Backend
) -> State | None:
    """What growth is judged against later (None: this source is never spliced)."""
    found = _state_and_days(source_name, config, connector, calendar, backend)
    return None if found is None else found[0]


def _state_and_days(
    source_name: str, config: SourceConfig, connector: Connector, calendar: Calendar, backend: Backend
) -> tuple[State, Days] | None:
    """The state, and for a SQL or Spark source the rows per day its count was the sum of."""
    if isinstance(connector, FileConnector):
        files = []
        for path in connector.files():
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
        return {"files": files}, {}
    if isinstance(config, QuerySource):
        first, last = backend.data_range(source_name, config, connector, calendar)
        if first is None or last is None:
            return None
        bound = max(first, last - dt.timedelta(days=config.late_arrival_days))
        days = _rows_by_day(source_name, config, connector, calendar, backend, first, bound)
        state = {"first": first.isoformat(), "bound": bound.isoformat(), "rows_before": sum(days.values())}
        return state, days
    return None


def _rows_by_day(
    source_name: str,
    config: SourceConfig,
    connector: Connector,
    calendar: Calendar,
    backend: Backend,
    first: dt.date,
    bound: dt.date,
) -> Days:
    """Rows per local day in first .. bound - 1, days without rows left out (one count at day grain,
    by the backend itself: on SQL and Spark one compiled COUNT ... GROUP BY with bound parameters,
    run where the data is)."""
    last = bound - dt.timedelta(days=1)
    if last < first:
        return {}
    count = CountMetric(type="count", source=source_name)
    window = Window(first, last, "day", calendar, None)
    frame = backend.compute(source_name, config, connector, {"rows": count}, window)["rows"]
    return {day: int(n) for day, n in frame.select("period", "value").iter_rows() if n}


def growth(
    old: State,
    new: State,
    source_name: str,
    config: SourceConfig,
    connector: Connector,
    calendar: Calendar,
    backend: Backend,
    days: Days | None = None,
) -> Growth | None:
    """How the data may differ from the recorded `old` state (None: not provably grown). `days`:
    the rows per day that `new`'s count summed, if at hand."""
    if "files" in old and "files" in new and isinstance(connector, FileConnector):
        return _file_growth(old, new, source_name, config, connector, calendar, backend)
    if "bound" in old and "bound" in new and isinstance(config, QuerySource):
        bound = dt.date.fromisoformat(old["bound"])
        first = dt.date.fromisoformat(old["first"])
        if dt.date.fromisoformat(new["first"]) < first:
            return None  # rows before the old first day: they come before the bound too
        if new["first"] == old["first"] and new["bound"] == old["bound"]:
            rows = int(new["rows_before"])
        elif days is not None and dt.date.fromisoformat(new["bound"]) >= bound:
            rows = sum(n for day, n in days.items() if day < bound)  # new's days cover first .. bound
        else:
            rows = sum(_rows_by_day(source_name, config, connector, calendar, backend, first, bound).values())
        if rows != int(old["rows_before"]):
            return None
        return Growth(bound, f"rows before {bound} unchanged; late_arrival_days from the newest day")
    return None


def _file_growth(
    old: State,
    new: State,
    source_name: str,
    config: SourceConfig,
    connector: FileConnector,
    calendar: Calendar,
    backend: Backend,
) -> Growth | None:
    before = {str(path): (size, mtime) for path, size, mtime in old["files"]}
    now = {str(path): (size, mtime) for path, size, mtime in new["files"]}
    if any(now.get(path) != seen for path, seen in before.items()):
        return None  # a file removed, rewritten or grown in place: nothing is proven
    added = sorted(path for path in now if path not in before)
    if not added:
        return Growth(None, "no new rows")
    if config.type != "parquet" and before and min(map(Path, added)) < max(map(Path, before)):
        return None  # a CSV/NDJSON file sorted first would give the whole set another schema
    try:
        first, _ = backend.data_range(source_name, config, _only(connector, added), calendar)
    except Exception:  # unreadable new files: computing in full says so in its own words
        return None
    noun = "file" if len(added) == 1 else "files"
    if first is None:
        return Growth(None, f"{len(added)} new {noun} without dated rows")
    return Growth(first, f"{len(added)} new {noun} from {first}")


def _only(connector: FileConnector, files: list[str]) -> Connector:
    """The same source reading only these files."""
    subset = copy.copy(connector)
    paths = [Path(name) for name in files]
    subset.files = lambda: list(paths)  # type: ignore[method-assign]
    return cast(Connector, subset)


def grown_range(
    old_range: tuple[dt.date | None, dt.date | None],
    old: State,
    new: State,
    source_name: str,
    config: SourceConfig,
    connector: Connector,
    calendar: Calendar,
    backend: Backend,
) -> tuple[dt.date | None, dt.date | None] | None:
    """A file source's first and last day after new files were added: the earlier range joined with
    the new files' own (exact, as the earlier files are unchanged); None when not provable."""
    if not isinstance(connector, FileConnector) or "files" not in old or "files" not in new:
        return None
    before = {str(path) for path, _, _ in old["files"]}
    found = _file_growth(old, new, source_name, config, connector, calendar, backend)
    if found is None:
        return None
    added = [str(path) for path, _, _ in new["files"] if str(path) not in before]
    if not added or found.first_day is None:
        return old_range
    try:
        first, last = backend.data_range(source_name, config, _only(connector, added), calendar)
    except Exception:
        return None
    firsts = [d for d in (old_range[0], first) if d is not None]
    lasts = [d for d in (old_range[1], last) if d is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


# --- which periods stay ----------------------------------------------------------------------------


def reaches(metric: SourcedMetric, first: dt.date, last: dt.date) -> dt.date:
    """The last local day whose rows a period first .. last of this metric reads."""
    reach = metric.days_read(first, last)[1]
    if isinstance(metric, FunnelMetric):
        reach += dt.timedelta(days=1)  # `within` x 24 h from late on `last` can end a day later (DST)
    return reach


def reusable_until(
    metrics: Mapping[str, SourcedMetric],
    stored: tuple[dt.date, dt.date],
    window: Window,
    changed_from: dt.date | None,
) -> dt.date | None:
    """The first day of the first period of `window` that must be computed (after `window.end`
    when none), given a stored answer over `stored` (start, end) and data that may differ from
    `changed_from` on (None: nowhere); None when no period can be reused."""
    old_start, old_end = stored
    if window.span_end is not None or old_start > window.start or old_end > window.end:
        return None
    if window.start != old_start and window.period_of(window.start) != window.start:
        return None  # the first period would cover other days than the stored one
    limit = old_end + dt.timedelta(days=1)
    if changed_from is not None:
        limit = min(limit, changed_from)
    periods = window.periods()
    for index, period in enumerate(periods):
        last = window.calendar.bucket_end(period, window.grain)
        first = max(period, window.start)
        if any(reaches(metric, first, last) >= limit for metric in metrics.values()):
            return None if index == 0 else period
    return window.end + dt.timedelta(days=1)


def splice(
    frames: Mapping[str, pl.DataFrame],
    tail: Mapping[str, pl.DataFrame],
    metrics: Mapping[str, SourcedMetric],
    window: Window,
    tail_start: dt.date,
) -> dict[str, pl.DataFrame]:
    """Each metric's stored rows of the reused periods, then the computed rows of the rest."""
    first = window.periods()[0]
    out: dict[str, pl.DataFrame] = {}
    for metric_id in metrics:
        head = frames[metric_id].filter(pl.col("period").is_between(first, tail_start, closed="left"))
        rest = tail.get(metric_id)
        out[metric_id] = head if rest is None else pl.concat([head, rest], how="vertical_relaxed")
    return out


@dataclass(frozen=True)
class Source:
    """One source as the engine reads it."""

    name: str
    config: SourceConfig
    connector: Connector
    calendar: Calendar
    backend: Backend


def plan(
    store: ResultStore | None,
    lineage: str,
    source: Source,
    metrics: Mapping[str, SourcedMetric],
    window: Window,
    max_age: float | None,
) -> tuple[State | None, Splice | None]:
    """The data's state to record beside the answer (None: not recorded) and an earlier stored
    answer whose first periods a full recompute would give again (None: compute in full). A source
    that cannot be read is left to computing, which says why."""
    if store is None or window.span_end is not None:
        return None, None
    try:
        found = _state_and_days(source.name, source.config, source.connector, source.calendar, source.backend)
    except Exception:
        return None, None
    if found is None:
        return None, None
    state, days = found
    try:
        return state, find_splice(store, lineage, state, metrics, window, source, max_age, days)
    except Exception:  # a check that fails proves nothing: compute in full
        return state, None


def compute_spliced(
    plan: Splice, source: Source, metrics: Mapping[str, SourcedMetric], window: Window
) -> dict[str, pl.DataFrame]:
    """The answer a splice gives: the reused head, the rest computed per `tail_groups`, and the
    `whole` metrics over the whole window."""
    part = {m: d for m, d in metrics.items() if m not in plan.whole}
    tail: dict[str, pl.DataFrame] = {}
    if plan.tail_start <= window.end:
        rest = Window(plan.tail_start, window.end, window.grain, window.calendar, window.by)
        for group in tail_groups(part):
            tail.update(source.backend.compute(source.name, source.config, source.connector, group, rest))
    out = splice(plan.frames, tail, part, window, plan.tail_start)
    if plan.whole:
        whole = {m: metrics[m] for m in plan.whole}
        out.update(source.backend.compute(source.name, source.config, source.connector, whole, window))
    return out


def grown_source_range(
    store: ResultStore | None, lineage: str, source: Source
) -> tuple[State | None, tuple[dt.date | None, dt.date | None] | None]:
    """(the data's state to record, a file source's grown range from the recorded one or None)."""
    if store is None:
        return None, None
    try:
        state = data_state(source.name, source.config, source.connector, source.calendar, source.backend)
        earlier = earlier_range(store, lineage)
        if state is None or earlier is None:
            return state, None
        found = grown_range(
            earlier[1],
            earlier[0],
            state,
            source.name,
            source.config,
            source.connector,
            source.calendar,
            source.backend,
        )
        return state, found
    except Exception:  # reading the range in full says what is wrong in its own words
        return None, None


def find_splice(
    store: ResultStore,
    lineage: str,
    state: State,
    metrics: Mapping[str, SourcedMetric],
    window: Window,
    source: Source,
    max_age: float | None,
    days: Days | None = None,
) -> Splice | None:
    """An earlier stored answer of this lineage whose first periods a full recompute would give
    again, with the day from which to compute; None when there is none (see the module's docstring).
    `days`: the rows per day that `state`'s count summed (SQL and Spark), if at hand."""
    if window.span_end is not None:
        return None
    whole = order_sensitive(metrics, source.connector)
    if whole >= set(metrics):
        return None
    for entry in candidates(store, lineage, window)[:2]:
        old = state_of(store, entry)
        if old is None:
            continue
        grown = growth(
            old, state, source.name, source.config, source.connector, source.calendar, source.backend, days
        )
        if grown is None:
            continue
        stored = (dt.date.fromisoformat(entry["start"]), dt.date.fromisoformat(entry["end"]))
        tail_start = reusable_until(metrics, stored, window, grown.first_day)
        if tail_start is None:
            continue
        dated = store.get_dated(str(entry["key"]), max_age=max_age, counted=False)
        if dated is None or not set(metrics) <= set(dated[1]):
            continue
        return Splice(str(entry["key"]), dated[0], dated[1], tail_start, grown, whole)
    return None


def tail_groups(metrics: Mapping[str, SourcedMetric]) -> list[dict[str, SourcedMetric]]:
    """The tail's metrics in the backend calls that read least: retention reads its cohort events
    over all history, so a scan shared with it cannot skip the rows before the tail; the other types
    read from the tail's first day (less their look-back) and get a scan of their own."""
    cohorts: dict[str, SourcedMetric] = {m: d for m, d in metrics.items() if isinstance(d, RetentionMetric)}
    rest = {m: d for m, d in metrics.items() if m not in cohorts}
    return [group for group in (rest, cohorts) if group]


def order_sensitive(metrics: Mapping[str, SourcedMetric], connector: Connector) -> frozenset[str]:
    """Sums and averages of a column that is not whole numbers: a sum of floats depends on the order
    the rows are added in (the last bits change with the files' layout and the threads), so a stored
    period could differ from a full recompute's in its last digit. They are computed over the whole
    window; sums of integers (exact in a double below 2**53) are spliced like the rest."""
    summed = {
        metric_id: metric.column
        for metric_id, metric in metrics.items()
        if isinstance(metric, AggregateMetric) and metric.type in ("sum", "avg")
    }
    if not summed:
        return frozenset()
    kinds = connector.schema()
    return frozenset(m for m, column in summed.items() if kinds.get(column) not in ("integer", "boolean"))


# --- the lineage: earlier stored answers of the same request ---------------------------------------


def lineage_key(document: Mapping[str, Any]) -> str:
    """The key of the list of stored answers of one request whatever its range and data (the store
    key's document without window range and data)."""
    return key_of({"lineage": True, **document})


def remember(
    store: ResultStore,
    lineage: str,
    key: str,
    window: Window,
    state: State,
    created: float,
) -> None:
    """Add a stored answer to its lineage (newest first, at most KEEP)."""
    state_key = key_of({"data_state": state})
    if store.read_note(state_key) is None:
        store.write_note(state_key, state)
    entry = {
        "key": key,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "state": state_key,
        "created": created,
    }
    known = store.read_note(lineage)
    entries = (
        [e for e in known if isinstance(e, dict) and e.get("key") != key] if isinstance(known, list) else []
    )
    store.write_note(lineage, [entry, *entries][:KEEP])


def candidates(store: ResultStore, lineage: str, window: Window) -> list[dict[str, Any]]:
    """Remembered answers that could give this window a head: starting on or before it and ending on
    or before its end; the same start first, then the latest end."""
    known = store.read_note(lineage)
    if not isinstance(known, list):
        return []
    out: list[tuple[bool, int, int, dict[str, Any]]] = []
    for entry in known:
        try:
            start = dt.date.fromisoformat(entry["start"])
            end = dt.date.fromisoformat(entry["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if start <= window.start and end <= window.end:
            out.append((start != window.start, -end.toordinal(), len(out), entry))
    return [entry for *_, entry in sorted(out, key=lambda item: item[:3])]


def state_of(store: ResultStore, entry: Mapping[str, Any]) -> State | None:
    """The recorded data state of a remembered answer."""
    state = store.read_note(str(entry.get("state", "")))
    return state if isinstance(state, dict) else None


def remember_range(
    store: ResultStore, lineage: str, state: State, found: tuple[dt.date | None, dt.date | None]
) -> None:
    """Record a file source's data range beside the state it was read from."""
    state_key = key_of({"data_state": state})
    if store.read_note(state_key) is None:
        store.write_note(state_key, state)
    store.write_note(
        lineage, {"state": state_key, "range": [None if d is None else d.isoformat() for d in found]}
    )


def earlier_range(
    store: ResultStore, lineage: str
) -> tuple[State, tuple[dt.date | None, dt.date | None]] | None:
    """The last recorded data range of a file source and its state."""
    note = store.read_note(lineage)
    if not isinstance(note, dict):
        return None
    state = state_of(store, note)
    try:
        first, last = (None if d is None else dt.date.fromisoformat(d) for d in note["range"])
    except (KeyError, TypeError, ValueError):
        return None
    return (state, (first, last)) if state is not None else None


__all__ = [
    "Growth",
    "Source",
    "Splice",
    "candidates",
    "compute_spliced",
    "data_state",
    "earlier_range",
    "find_splice",
    "grown_range",
    "grown_source_range",
    "growth",
    "lineage_key",
    "order_sensitive",
    "plan",
    "remember",
    "remember_range",
    "reusable_until",
    "splice",
    "state_of",
    "tail_groups",
]
