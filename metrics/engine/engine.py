"""The metric engine: one request in, one result out, with the same meaning on every backend.

`Engine.compute` resolves the range, splits ratios into their parts, asks one backend per source for
all of that source's metrics at once (Polars for frame connectors, SQL for databases), then does
what is the same everywhere: gap filling, ratios and comparisons.
"""

from __future__ import annotations

import calendar as pycalendar
import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from connectors.base import Connector, FrameConnector, SqlConnector, connect
from connectors.errors import NorthstarError
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import (
    GRAINS,
    RATE_TYPES,
    ZERO_FILLED_TYPES,
    FunnelMetric,
    Grain,
    MetricDef,
    RatioMetric,
    SourcedMetric,
)
from metrics.definitions.problems import did_you_mean
from metrics.definitions.project import Project
from metrics.engine import incremental
from metrics.engine.backend import Backend
from metrics.engine.request import (
    COMPARISONS,
    Comparison,
    MetricError,
    MetricRequest,
    MetricResult,
    Window,
    check_range,
)
from metrics.engine.result_store import SQL_MAX_AGE, ResultStore, key_of
from metrics.format import format_share, format_value

Values = dict[str, pl.DataFrame]  # metric id -> period, [by], value, numerator, denominator (filled)
COUNTS = ("numerator", "denominator")  # what a rate is out of (null for other types)


@dataclass(frozen=True)
class FunnelOrder:
    """A strict funnel's entrants over one span, those converted in order, and in any order; and per
    pair of consecutive steps (earlier, later), the users who did the later one first."""

    entrants: int
    in_order: int
    any_order: int
    reversed_pairs: tuple[tuple[str, str, int], ...] = ()

    @property
    def out_of_order(self) -> int:
        """Entrants who did every step within the window, but some later step before an earlier one."""
        return self.any_order - self.in_order

    def sentence(self) -> str:
        def n(count: int) -> str:
            return format_value(count, "count")

        share = f" ({format_share(self.out_of_order, self.entrants)} of them)" if self.entrants else ""
        text = (
            f"{n(self.out_of_order)} of {n(self.entrants)} entrants{share} did every step within the window "
            f"but a later step before an earlier one, so the strict order does not count them "
            f"(in order: {n(self.in_order)}; in any order: {n(self.any_order)})"
        )
        pairs = [
            f"{later} then {earlier} by {n(users)}" for earlier, later, users in self.reversed_pairs if users
        ]
        if pairs:
            text += f"; steps done the other way round within the window (or at the same instant): {', '.join(pairs)}"
        return text


@dataclass(frozen=True)
class _Resolved:
    metrics: tuple[str, ...]
    sourced: dict[str, dict[str, SourcedMetric]]  # source -> metric id -> definition
    start: dt.date
    end: dt.date
    grain: Grain
    by: str | None
    span_end: dt.date | None = None  # one period start .. span_end (MetricRequest.span_end)


class Engine:
    """Computes metrics of one project. Keeps its connectors between calls, and its answers in the
    result store (`metrics.engine.result_store`), shared with other processes.

    `result_store`: True (default) uses the user's store unless `NORTHSTAR_RESULT_STORE=off`; False
    turns it off; a `ResultStore` uses that one. Only sources whose connector the engine opened
    itself are stored: a connector passed in `connectors` vouches for its own fingerprint, and the
    store does not rely on it.
    """

    def __init__(
        self,
        project: Project,
        *,
        connectors: Mapping[str, Connector] | None = None,
        today: Callable[[], dt.date] | None = None,
        result_store: ResultStore | bool = True,
    ) -> None:
        self.project = project
        self.calendar = Calendar.of(project.settings)
        self._connectors: dict[str, Connector] = dict(connectors or {})
        self._opened: set[str] = set()  # sources whose connector this engine opened (stored ones)
        self._today = today if today is not None else self.calendar.today
        if isinstance(result_store, ResultStore):
            self.result_store: ResultStore | None = result_store
        else:
            self.result_store = ResultStore.default() if result_store else None

    # --- plumbing -----------------------------------------------------------------------------

    def today(self) -> dt.date:
        """Today in the project time zone (or the injected clock's day)."""
        return self._today()

    def connector(self, source_name: str) -> Connector:
        if source_name not in self._connectors:
            config = self.project.sources.get(source_name)
            if config is None:
                hint = did_you_mean(source_name, list(self.project.sources))
                raise MetricError(f"unknown source {source_name!r}" + (f"; {hint}" if hint else ""))
            self._connectors[source_name] = connect(source_name, config, self.project.root)
            self._opened.add(source_name)
        return self._connectors[source_name]

    def with_metrics(self, extra: Mapping[str, MetricDef]) -> Engine:
        """An engine over this project plus `extra` metrics, sharing this engine's connectors and clock.

        The extra definitions are not validated again: they are meant to be derived from valid ones
        (an OKR reading's distinct users as active users over a window, in `metrics.okrs`; the
        dashboard's funnel steps and retention offsets, in `dashboard.derived`).
        """
        derived = Engine(
            dataclasses.replace(self.project, metrics={**self.project.metrics, **extra}),
            today=self._today,
            result_store=self.result_store or False,
        )
        derived._connectors = self._connectors  # one set of connections, opened by either engine
        derived._opened = self._opened
        return derived

    def backend(self, connector: Connector) -> Backend:
        if isinstance(connector, SqlConnector):
            from metrics.engine.sql_backend import SqlBackend

            backend: Backend = SqlBackend()
            return backend
        if isinstance(connector, FrameConnector):
            from metrics.engine.polars_backend import PolarsBackend

            return PolarsBackend()
        raise MetricError(f"source {connector.name!r}: its connector gives neither frames nor SQL")

    def metric(self, metric_id: str) -> MetricDef:
        metric = self.project.metrics.get(metric_id)
        if metric is not None:
            return metric
        if metric_id in self.project.skipped:
            raise MetricError(
                f"metric {metric_id!r} is not available because {self.project.skipped[metric_id]}; "
                "run `northstar validate` to see why"
            )
        unread = [p for p in self.project.problems if p.location and p.location.file.endswith("metrics.yaml")]
        if "metrics.yaml" not in self.project.trees and unread:  # no metric was read at all: say why
            raise MetricError(
                f"metric {metric_id!r} is not available: metrics.yaml could not be read ({unread[0]})"
            )
        hint = did_you_mean(metric_id, list(self.project.metrics))
        raise MetricError(
            f"unknown metric {metric_id!r}; " + (hint or "run `northstar validate` to list the metrics")
        )

    def _parts(self, metric_id: str) -> dict[str, SourcedMetric]:
        """The sourced metrics a metric needs (itself, or both parts of a ratio, recursively)."""
        self.metric(metric_id)  # an unknown or skipped metric is a MetricError that says why
        return self.project.leaves(metric_id)

    # --- ranges -------------------------------------------------------------------------------

    def data_range(self, metric_ids: Sequence[str]) -> tuple[dt.date, dt.date]:
        """First and last local day of the data of the sources these metrics read."""
        sources: set[str] = set()
        for metric_id in metric_ids:
            sources.update(m.source for m in self._parts(metric_id).values())
        firsts: list[dt.date] = []
        lasts: list[dt.date] = []
        for name in sorted(sources):
            first, last = self._source_range(name)
            if first is not None:
                firsts.append(first)
            if last is not None:
                lasts.append(last)
        if not firsts or not lasts:
            raise MetricError(
                f"the data of {', '.join(sorted(sources))} is empty, so there is no default range; "
                "pass --start and --end"
            )
        return min(firsts), max(lasts)

    def first_day(self, metric_id: str) -> dt.date | None:
        """The first local day of the data this metric reads; None when no source could say."""
        try:
            return self.data_range([metric_id])[0]
        except NorthstarError:  # an unreadable or empty source: its own error or check says why
            return None

    def _source_range(self, name: str) -> tuple[dt.date | None, dt.date | None]:
        """First and last local day of one source's data, from the result store when it holds them."""
        connector = self.connector(name)
        store, key = self.result_store, self._range_key(name, connector)
        if store is not None and key is not None:
            stored = store.get_json(key)
            if isinstance(stored, list) and len(stored) == 2:
                try:
                    return tuple(None if d is None else dt.date.fromisoformat(d) for d in stored)  # type: ignore[return-value]
                except (TypeError, ValueError):
                    pass
        backend = self.backend(connector)
        source = incremental.Source(name, self.project.sources[name], connector, self.calendar, backend)
        lineage = key_of({"data_range_lineage": name, **self._store_document(name, {})})
        on = store is not None and key is not None
        state, grown = incremental.grown_source_range(store, lineage, source) if on else (None, None)
        first, last = grown or backend.data_range(name, source.config, connector, self.calendar)
        if store is not None and key is not None:
            store.put_json(key, [None if d is None else d.isoformat() for d in (first, last)])
            if state is not None:
                incremental.remember_range(store, lineage, state, (first, last))
        return first, last

    def _range_key(self, name: str, connector: Connector) -> str | None:
        """Stored for file sources only: a SQL source's range is one cheap aggregate, and its
        fingerprint cannot see every change (see `result_store.SQL_MAX_AGE`)."""
        if self.result_store is None or name not in self._opened or isinstance(connector, SqlConnector):
            return None
        try:
            fingerprint = connector.fingerprint()
        except Exception:  # missing data: reading the range says so in its own words
            return None
        return key_of({"data_range": name, **self._store_document(name, {}), "data": fingerprint})

    def _resolve(self, request: MetricRequest) -> _Resolved:
        if not request.metrics:
            raise MetricError("no metric requested; name at least one metric id")
        if request.grain not in GRAINS:
            hint = did_you_mean(str(request.grain), GRAINS)
            raise MetricError(
                f"unknown grain {request.grain!r}; " + (hint or f"use one of: {', '.join(GRAINS)}")
            )
        if request.compare is not None and request.compare not in COMPARISONS:
            raise MetricError(f"unknown comparison {request.compare!r}; use one of: {', '.join(COMPARISONS)}")
        ids = tuple(dict.fromkeys(request.metrics))
        sourced: dict[str, dict[str, SourcedMetric]] = {}
        for metric_id in ids:
            for part_id, part in self._parts(metric_id).items():
                sourced.setdefault(part.source, {})[part_id] = part
        if request.by is not None:
            for metric_id in ids:
                for source_name in sorted({part.source for part in self._parts(metric_id).values()}):
                    dims = self.project.sources[source_name].dimensions
                    if request.by not in dims:
                        hint = did_you_mean(request.by, dims)
                        raise MetricError(
                            f"cannot break down by {request.by!r}: metric {metric_id!r} reads source "
                            f"{source_name!r}, which has no such dimension; "
                            + (hint or f"use one of: {', '.join(dims) or '(none listed)'}")
                        )
        start, end = request.start, request.end
        if start is None or end is None:
            first, last = self.data_range(ids)
            start = first if start is None else start
            end = last if end is None else end
        check_range(start, end, start_given=request.start is not None, end_given=request.end is not None)
        span_end = request.span_end
        if span_end is not None:
            if not start <= span_end <= end:
                raise MetricError(f"the span must end between {start} and {end}, not on {span_end}")
            if request.compare is not None:
                raise MetricError("a single-span request cannot be compared with another period")
            return _Resolved(ids, sourced, start, end, "day", request.by, span_end)
        return _Resolved(ids, sourced, start, end, request.grain, request.by)

    # --- computing ----------------------------------------------------------------------------

    def compute(self, request: MetricRequest) -> MetricResult:
        plan = self._resolve(request)
        notes: list[str] = []
        values = self._values(plan, plan.start, plan.end, notes)
        frame = self._stack(plan, values)
        comparison = compared = None
        if request.compare is not None:
            compared = self.compared_range(plan.start, plan.end, plan.grain, request.compare)
            comparison = self._comparison(plan, request.compare, compared, values, notes)
        return MetricResult(
            request=request,
            start=plan.start,
            end=plan.end,
            frame=frame,
            comparison=comparison,
            compared=compared,
            rates=frozenset(m for m in plan.metrics if self.metric(m).type in RATE_TYPES),
            notes=tuple(dict.fromkeys(notes)),
        )

    def funnel_order(self, metric_id: str, start: dt.date, end: dt.date) -> FunnelOrder | None:
        """Out-of-order data in a strict funnel, over one span start .. end (each entrant once).

        The same funnel with `order: any` over its distinct steps converts everyone the strict one
        does (a path in order is also a path in any order), plus those whose steps all fall in the
        window but not in order: the difference is how many entrants the order loses. None for a
        funnel that is not strict, or whose distinct steps are fewer than two (view, view).
        """
        metric = self.metric(metric_id)
        steps = list(dict.fromkeys(metric.steps)) if isinstance(metric, FunnelMetric) else []
        if not isinstance(metric, FunnelMetric) or metric.order != "strict" or len(steps) < 2:
            return None
        relaxed = f"{metric_id}__any_order"
        extra: dict[str, MetricDef] = {relaxed: metric.model_copy(update={"order": "any", "steps": steps})}
        # each consecutive pair the other way round: users whose later step is followed by the earlier
        pairs = [(a, b) for a, b in itertools.pairwise(metric.steps) if a != b]
        for k, (earlier, later) in enumerate(pairs):
            extra[f"{metric_id}__swap{k}"] = metric.model_copy(
                update={"steps": [later, earlier], "exclude": []}
            )
        engine = self.with_metrics(extra)
        frame = engine.compute(MetricRequest((metric_id, *extra), start, end, span_end=end)).frame
        totals = {
            row["metric"]: (int(row["numerator"] or 0), int(row["denominator"] or 0))
            for row in frame.iter_rows(named=True)
        }
        in_order, entrants = totals.get(metric_id, (0, 0))
        swapped = tuple(
            (earlier, later, totals.get(f"{metric_id}__swap{k}", (0, 0))[0])
            for k, (earlier, later) in enumerate(pairs)
        )
        return FunnelOrder(entrants, in_order, totals.get(relaxed, (0, 0))[0], swapped)

    def explain(self, request: MetricRequest) -> str:
        plan = self._resolve(request)
        lines = [
            f"range {plan.start} .. {plan.end}, grain {plan.grain}, "
            f"time zone {self.calendar.timezone}, by {plan.by or '-'}",
        ]
        for metric_id in plan.metrics:
            metric = self.metric(metric_id)
            if isinstance(metric, RatioMetric):
                lines.append(f"{metric_id}: {metric.numerator} / {metric.denominator} per period and group")
            order = self.funnel_order(metric_id, plan.start, plan.end)
            if order is not None:
                lines.append(f"{metric_id}: over {plan.start} .. {plan.end}, {order.sentence()}")
        window = Window(plan.start, plan.end, plan.grain, self.calendar, plan.by, plan.span_end)
        for source_name, metrics in sorted(plan.sourced.items()):
            connector = self.connector(source_name)
            backend = self.backend(connector)
            lines.append("")
            lines.append(f"source {source_name} ({type(backend).__name__}): {', '.join(sorted(metrics))}")
            lines.append(self._store_words(source_name, connector, metrics, window))
            lines.append(
                backend.explain(source_name, self.project.sources[source_name], connector, metrics, window)
            )
        return "\n".join(lines)

    # --- the result store ---------------------------------------------------------------------

    def store_key(
        self, source_name: str, connector: Connector, metrics: Mapping[str, SourcedMetric], window: Window
    ) -> str | None:
        """The result store's key of one backend answer, or None when it is not stored (store off, a
        connector passed in by the caller, or data whose fingerprint cannot be read)."""
        if self.result_store is None or source_name not in self._opened:
            return None
        try:
            fingerprint = connector.fingerprint()
        except Exception:  # missing data: computing says so in its own words
            return None
        return key_of(
            {
                "source": source_name,
                **self._store_document(source_name, metrics),
                "window": [window.start, window.end, window.grain, window.by, window.span_end],
                "data": fingerprint,
            }
        )

    def _store_document(self, source_name: str, metrics: Mapping[str, SourcedMetric]) -> dict[str, object]:
        """What a stored answer of one source depends on besides its window and data."""
        document: dict[str, object] = {
            "source_config": self.project.sources[source_name].model_dump_json(),
            "calendar": [self.calendar.timezone, self.calendar.week_start, self.calendar.fiscal_year_start],
        }
        if metrics:
            document["metrics"] = {m: d.model_dump_json() for m, d in sorted(metrics.items())}
        return document

    def _lineage(self, source_name: str, metrics: Mapping[str, SourcedMetric], window: Window) -> str:
        """The key of the earlier stored answers of this request, whatever their range and data."""
        return incremental.lineage_key(
            {
                "source": source_name,
                **self._store_document(source_name, metrics),
                "shape": [window.grain, window.by, window.span_end is not None],
            }
        )

    def _splice_plan(
        self, source_name: str, connector: Connector, metrics: Mapping[str, SourcedMetric], window: Window
    ) -> tuple[incremental.State | None, incremental.Splice | None]:
        """The data's state to record beside the answer, and an earlier answer to splice (`incremental.plan`)."""
        config, backend = self.project.sources[source_name], self.backend(connector)
        source = incremental.Source(source_name, config, connector, self.calendar, backend)
        lineage = self._lineage(source_name, metrics, window)
        max_age = SQL_MAX_AGE if isinstance(connector, SqlConnector) else None
        return incremental.plan(self.result_store, lineage, source, metrics, window, max_age)

    def _store_words(
        self, source_name: str, connector: Connector, metrics: Mapping[str, SourcedMetric], window: Window
    ) -> str:
        if self.result_store is None:
            return "result store: off"
        key = self.store_key(source_name, connector, metrics, window)
        if key is None:
            return "result store: not used for this source (its connector was passed in, or its data cannot be read)"
        if self.result_store.contains(key):
            return f"result store: stored (entry {key[:12]}); computing reads it instead of the data"
        words = f"result store: not stored yet (entry {key[:12]}); computing stores it"
        plan = self._splice_plan(source_name, connector, metrics, window)[1]
        return words if plan is None else f"{words}; incremental: {plan.words(window)}"

    def _source_values(
        self,
        source_name: str,
        connector: Connector,
        metrics: dict[str, SourcedMetric],
        window: Window,
        notes: list[str],
    ) -> Values:
        """The backend's answer for one source, from the result store when it holds it."""
        store = self.result_store
        key = self.store_key(source_name, connector, metrics, window)
        if store is not None and key is not None:
            max_age = SQL_MAX_AGE if isinstance(connector, SqlConnector) else None
            stored = store.get(key, max_age=max_age)
            if stored is not None and set(metrics) <= set(stored):
                notes.append(f"source {source_name}: read from the result store")
                return stored
        if store is None or key is None:
            return self.backend(connector).compute(
                source_name, self.project.sources[source_name], connector, metrics, window
            )
        return self._compute_stored(source_name, connector, metrics, window, notes, store, key)

    def _compute_stored(
        self,
        source_name: str,
        connector: Connector,
        metrics: dict[str, SourcedMetric],
        window: Window,
        notes: list[str],
        store: ResultStore,
        key: str,
    ) -> Values:
        """Compute an answer that is not stored, splicing an earlier one when the data only grew
        (`metrics.engine.incremental`), and store it with the data's state beside it."""
        backend, config = self.backend(connector), self.project.sources[source_name]
        created = time.time()  # before reading: a SQL answer's age covers every row it may hold
        state, plan = self._splice_plan(source_name, connector, metrics, window)
        if plan is None:
            computed = backend.compute(source_name, config, connector, metrics, window)
        else:
            source = incremental.Source(source_name, config, connector, self.calendar, backend)
            computed = incremental.compute_spliced(plan, source, metrics, window)
            if isinstance(connector, SqlConnector):
                created = min(created, plan.created)  # the head is as old as the answer it came from
            store.stats.spliced += 1
            notes.append(plan.sentence(source_name, window))
        store.put(key, {m: computed[m] for m in metrics if m in computed}, created=created)
        if state is not None:
            incremental.remember(
                store, self._lineage(source_name, metrics, window), key, window, state, created
            )
        return computed

    def _values(self, plan: _Resolved, start: dt.date, end: dt.date, notes: list[str]) -> Values:
        """Filled values of every requested metric (and every part a ratio needs) over [start, end]."""
        window = Window(start, end, plan.grain, self.calendar, plan.by, plan.span_end)
        periods = window.periods()
        raw: Values = {}
        for source_name, metrics in sorted(plan.sourced.items()):
            connector = self.connector(source_name)
            computed = self._source_values(source_name, connector, metrics, window, notes)
            for metric_id in metrics:
                if metric_id not in computed:
                    raise MetricError(f"source {source_name!r} returned no values for {metric_id!r}")
                raw[metric_id] = computed[metric_id]
        values: Values = {}
        for metric_id, frame in raw.items():
            metric = self.metric(metric_id)
            values[metric_id] = _fill(
                frame, periods, plan.by, metric.type in ZERO_FILLED_TYPES, rate=metric.type in RATE_TYPES
            )
        for metric_id in plan.metrics:
            self._ratio(metric_id, values, periods, plan.by)
        return values

    def _ratio(self, metric_id: str, values: Values, periods: list[dt.date], by: str | None) -> pl.DataFrame:
        if metric_id in values:
            return values[metric_id]
        metric = self.metric(metric_id)
        assert isinstance(metric, RatioMetric)
        numerator = self._ratio(metric.numerator, values, periods, by)
        denominator = self._ratio(metric.denominator, values, periods, by)
        keys = ["period"] if by is None else ["period", by]
        if by is not None:
            groups = pl.concat([numerator.select(by), denominator.select(by)]).unique()
            numerator = _fill(numerator, periods, by, self._zero(metric.numerator), groups)
            denominator = _fill(denominator, periods, by, self._zero(metric.denominator), groups)
        joined = numerator.select(*keys, "value").join(
            denominator.select(*keys, "value"), on=keys, how="left", nulls_equal=True, suffix="_den"
        )
        num, den = pl.col("value"), pl.col("value_den")
        ratio = pl.when(den.is_null() | (den == 0)).then(None).otherwise(num / den)
        out = joined.select(
            *keys, ratio.cast(pl.Float64).alias("value"), num.alias("numerator"), den.alias("denominator")
        )
        values[metric_id] = out
        return out

    def _zero(self, metric_id: str) -> bool:
        return self.metric(metric_id).type in ZERO_FILLED_TYPES

    def _stack(self, plan: _Resolved, values: Values) -> pl.DataFrame:
        keys = ["period"] if plan.by is None else ["period", plan.by]
        frames = [
            values[m]
            .sort(keys, nulls_last=True)
            .select(pl.lit(m, pl.String).alias("metric"), *keys, "value", *COUNTS)
            for m in plan.metrics
        ]
        return pl.concat(frames, how="vertical")

    # --- comparisons --------------------------------------------------------------------------

    def maturing_periods(
        self, metric_id: str, start: dt.date, end: dt.date, grain: Grain
    ) -> tuple[dt.date, ...]:
        """The periods of start .. end (their first days) holding a cohort that has not had the metric's
        maturity lag by `end`: a funnel's entrants of the last `within` days can still convert and a
        retention cohort can still return, so those values are not final. The one home of that rule
        for charts (explorer, funnel page, review pack); () for metrics without a lag."""
        lag = self.project.maturity_lag(metric_id)
        if lag <= 0:
            return ()
        last_mature = end - dt.timedelta(days=lag)
        return tuple(
            p
            for p in self.calendar.periods(start, end, grain)
            if min(self.calendar.bucket_end(p, grain), end) > last_mature
        )

    def compared_range(
        self, start: dt.date, end: dt.date, grain: Grain, compare: Comparison
    ) -> tuple[dt.date, dt.date]:
        """The days a comparison of [start, end] at `grain` covers: the one home of that shift."""
        shift = self._shifter(compare, grain, len(self.calendar.periods(start, end, grain)))
        return shift(start), shift(end)

    def _comparison(
        self,
        plan: _Resolved,
        compare: Comparison,
        compared: tuple[dt.date, dt.date],
        values: Values,
        notes: list[str],
    ) -> pl.DataFrame:
        periods = self.calendar.periods(plan.start, plan.end, plan.grain)
        shift = self._shifter(compare, plan.grain, len(periods))
        start, end = compared
        before = self._values(plan, start, end, notes)
        keys = ["period"] if plan.by is None else ["period", plan.by]
        mapping = pl.DataFrame(
            {"period": periods, "compared_period": [shift(p) for p in periods]},
            schema={"period": pl.Date, "compared_period": pl.Date},
        )
        frames = []
        for metric_id in plan.metrics:
            main = values[metric_id].select(keys).join(mapping, on="period", how="left")
            past = before[metric_id].rename({"period": "compared_period"})
            on = ["compared_period"] if plan.by is None else ["compared_period", plan.by]
            joined = main.join(past, on=on, how="left", nulls_equal=True)
            if self._zero(metric_id):
                joined = joined.with_columns(pl.col("value").fill_null(0.0))
            first = self.first_day(metric_id)
            blank = [p for p in mapping["compared_period"] if begins_before_data(p, first)]
            if blank:
                joined = joined.with_columns(
                    pl.when(pl.col("compared_period").is_in(pl.Series(blank, dtype=pl.Date)))
                    .then(None)
                    .otherwise(pl.col("value"))
                    .alias("value")
                )
            frames.append(
                joined.sort(keys, nulls_last=True).select(
                    pl.lit(metric_id, pl.String).alias("metric"), *keys, "compared_period", "value"
                )
            )
        return pl.concat(frames, how="vertical")

    def _shifter(self, compare: Comparison, grain: Grain, buckets: int) -> Callable[[dt.date], dt.date]:
        if compare == "previous_year":
            if grain == "week":
                return lambda day: day - dt.timedelta(days=364)
            if grain == "day":  # the same calendar date (February 29 -> 28)
                return lambda day: day.replace(
                    year=day.year - 1, day=min(day.day, 28 if day.month == 2 else 31)
                )
            return lambda day: shift_months(day, 12)
        if grain == "day":
            return lambda day: day - dt.timedelta(days=buckets)
        if grain == "week":
            return lambda day: day - dt.timedelta(days=7 * buckets)
        months = buckets * (1 if grain == "month" else 3)
        return lambda day: shift_months(day, months)


def begins_before_data(period_start: dt.date, first: dt.date | None) -> bool:
    """Whether a compared period (or span) begins before the metric's data does: the one home of the rule
    that such a comparison is blank, not 0 (a 0 there means "no data", not "nothing happened"). Used by
    every comparison the engine returns (CLI, explorer, review pack) and by `metrics.drivers`."""
    return first is not None and period_start < first


def shift_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` months earlier; a month's last day maps to the target month's last day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    length = pycalendar.monthrange(year, month)[1]
    if day.day == pycalendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, month, length)
    return dt.date(year, month, min(day.day, length))


def _fill(
    frame: pl.DataFrame,
    periods: list[dt.date],
    by: str | None,
    zero: bool,
    groups: pl.DataFrame | None = None,
    rate: bool = False,
) -> pl.DataFrame:
    """Every period (and every group found) gets a row; missing values are 0 or null by type.

    A rate's counts (retention, funnel) are 0 where nothing was counted; the numerator is null
    while its value is (a retention cohort not mature yet: its returns are not all in). Other
    types carry null counts.
    """
    grid = pl.DataFrame({"period": periods}, schema={"period": pl.Date})
    keys = ["period"]
    if by is not None:
        found = frame.select(pl.col(by).cast(pl.String)).unique() if groups is None else groups
        grid = grid.join(found, how="cross")
        keys.append(by)
    data = frame.select(
        pl.col("period").cast(pl.Date),
        *([pl.col(by).cast(pl.String)] if by is not None else []),
        pl.col("value").cast(pl.Float64),
        *(
            pl.col(c).cast(pl.Float64) if c in frame.columns else pl.lit(None, pl.Float64).alias(c)
            for c in COUNTS
        ),
    )
    out = grid.join(data, on=keys, how="left", nulls_equal=True)
    if zero:
        out = out.with_columns(pl.col("value").fill_null(0.0))
    if rate:
        out = out.with_columns(pl.col(COUNTS).fill_null(0.0)).with_columns(
            pl.when(pl.col("value").is_null() & (pl.col("denominator") > 0))
            .then(None)
            .otherwise(pl.col("numerator"))
            .alias("numerator")
        )
    return out.sort(keys, nulls_last=True)


__all__ = ["Engine", "shift_months"]
