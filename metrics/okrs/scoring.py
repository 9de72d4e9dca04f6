"""OKR scoring: each key result's reading, progress, pace, forecast and status (CONTRACT.md, Key results).

`score(project, engine, as_of)` returns a `Scorecard` (metrics.okrs.scorecard). The readings come
from `metrics.okrs.readings`, the arithmetic of pace, progress and status from `metrics.okrs.status`,
the forecasts from `metrics.okrs.forecast`; this module puts them together. It makes the engine
requests the KRs will read up front, a few at a time, and forecasts each KR as soon as its readings
are in (in another process when given an executor). None of this changes a number.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from connectors.errors import NorthstarError
from metrics.definitions.calendar import objective_period
from metrics.definitions.models import KeyResult, Objective, StatusThresholds
from metrics.engine.as_of import default_as_of
from metrics.format import format_value, metric_unit, sample_noun
from metrics.okrs.forecast import Direction, Outlook, Projection, Simulation, settled
from metrics.okrs.forecast import project as project_outlook
from metrics.okrs.readings import KeyResultReader, Readings, Unreadable
from metrics.okrs.scorecard import KeyResultScore, Milestone, ObjectiveScore, Scorecard
from metrics.okrs.status import (
    expected_progress,
    key_result_status,
    objective_progress,
    objective_status,
    progress_of,
)

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine.engine import Engine

FORECAST_WAIT_SECONDS = 60  # a forecast in another process that takes longer is dropped, not waited for
READ_THREADS = 3  # engine requests in flight at once while the scorecard reads (Polars releases the GIL)


@dataclass
class _Context:
    """One scorecard's readings, and how its KRs are scored and forecast."""

    readings: Readings
    thresholds: StatusThresholds
    forecast: bool
    executor: Executor | None = None  # where the forecasts' simulations run; None: here, at once

    @property
    def project(self) -> Project:
        return self.readings.project

    def outlook(self, job: Projection | Simulation, target: float, direction: Direction) -> Future[Outlook]:
        """The forecast and probability of landing: on the executor when there is one (only the
        outlook comes back, a few numbers), else here and now."""
        if isinstance(job, Simulation) and self.executor is not None:
            return self.executor.submit(
                project_outlook, job.history, job.horizon, job.options, target=target, direction=direction
            )
        done: Future[Outlook] = Future()
        done.set_result((job.run() if isinstance(job, Simulation) else job).outlook(target, direction))
        return done


def score(
    project: Project,
    engine: Engine,
    as_of: dt.date | None = None,
    *,
    forecast: bool = True,
    executor: Executor | None = None,
) -> Scorecard:
    """Score every objective of the project as of `as_of` (default: the last complete day,
    `metrics.engine.as_of.default_as_of`). Given an as-of, the engine's clock changes nothing.

    What the key results will read is requested up front, a few engine requests at a time (Polars
    works outside the GIL), and each KR is scored from those readings as soon as its own are in.
    Its forecast is submitted to `executor` when one is given (the dashboard keeps a process with
    statsmodels imported), so it runs while other KRs are still read, and is collected at the end;
    without an executor it runs here, KR by KR. None of this changes a number.
    """
    day = default_as_of(project, engine) if as_of is None else as_of
    ctx = _Context(Readings(project, engine), project.settings.thresholds, forecast, executor)
    periods = [(objective, *objective_period(objective, engine.calendar, day)) for objective in project.okrs]
    items = [(kr, start, end) for objective, start, end in periods for kr in objective.key_results]
    finishers = iter(_score_as_read(ctx, day, items, _read_ahead(ctx, day, items)))
    objectives = tuple(
        _objective_score(objective, day, start, end, tuple(next(finishers)() for _ in objective.key_results))
        for objective, start, end in periods
    )
    return Scorecard(as_of=day, objectives=objectives)


def read_key_result(
    project: Project, engine: Engine, kr: KeyResult, start: dt.date, end: dt.date, day: dt.date
) -> float | None:
    """The KR's reading as of `day` for a period start .. end (None where nothing can be read)."""
    return KeyResultReader(Readings(project, engine), kr, start, end).reading(day)


def project_key_result(
    project: Project, engine: Engine, kr: KeyResult, start: dt.date, end: dt.date, as_of: dt.date
) -> Projection:
    """Simulated readings of the KR at `end`, from the complete days up to as-of (see `score`)."""
    readings = Readings(project, engine)
    reader = KeyResultReader(readings, kr, start, end)
    data_first, data_last = readings.data_range(kr.metric)
    origin = reader.origin(as_of, data_last)
    reader.preload(as_of, origin)
    return reader.projection(origin, data_first)


Task = tuple[Callable[[], object], list[int]]  # an engine request to make, and the KRs that read it


def _read_ahead(
    ctx: _Context, as_of: dt.date, items: Sequence[tuple[KeyResult, dt.date, dt.date]]
) -> list[Task]:
    """The engine requests that fill the KR readers' caches with what scoring will read.

    A request that fails is simply left out: scoring asks for it again and reports the problem on
    its KR, as it would have without reading ahead.
    """
    tasks: list[Task] = []
    daily: dict[tuple[dt.date, dt.date], list[tuple[int, KeyResultReader]]] = {}
    for index, (kr, start, end) in enumerate(items):
        if kr.metric not in ctx.project.metrics:
            continue
        ended = as_of > end
        day = _day_read(as_of, start, end)
        try:
            data_first, data_last = ctx.readings.data_range(kr.metric)
            if data_last < start or data_first > day:
                continue
            reader = ctx.readings.reader(kr, start, end)
            origin = reader.origin(day, data_last)
            if reader.exact_daily:
                daily.setdefault(reader.preload_range(day, origin), []).append((index, reader))
            else:
                prefetch = reader.prefetch(day, origin, data_first, not ended and ctx.forecast)
                tasks.extend((task, [index]) for task in prefetch)
        except Exception:  # scoring meets it again and reports it
            continue
    # KRs built from daily values over the same days share one request (Readings.load_daily)
    shared: list[Task] = [
        (
            functools.partial(ctx.readings.load_daily, [reader for _, reader in group], first, last),
            [index for index, _ in group],
        )
        for (first, last), group in daily.items()
    ]
    return [*shared, *tasks]


def _score_as_read(
    ctx: _Context, as_of: dt.date, items: Sequence[tuple[KeyResult, dt.date, dt.date]], tasks: list[Task]
) -> list[Callable[[], KeyResultScore]]:
    """Make the requests READ_THREADS at a time and read each KR (`_score_key_result`) once the
    requests it reads are in: its forecast starts while the others are still being read."""
    waiting = [0] * len(items)
    for _, readers in tasks:
        for index in readers:
            waiting[index] += 1
    finishers: dict[int, Callable[[], KeyResultScore]] = {}

    def read(index: int) -> None:
        kr, start, end = items[index]
        finishers[index] = _score_key_result(ctx, kr, start, end, as_of)

    if len(tasks) < 2:
        for task, _ in tasks:
            _attempt(task)
    else:
        with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="northstar-read") as pool:
            running = {pool.submit(_attempt, task): readers for task, readers in tasks}
            for index, count in enumerate(waiting):
                if count == 0:
                    read(index)
            for done in as_completed(running):
                for index in running[done]:
                    waiting[index] -= 1
                    if waiting[index] == 0:
                        read(index)
    for index in range(len(items)):
        if index not in finishers:
            read(index)
    return [finishers[index] for index in range(len(items))]


def _attempt(task: Callable[[], object]) -> None:
    try:
        task()
    except Exception:  # scoring meets it again and reports it
        return


def _objective_score(
    objective: Objective, as_of: dt.date, start: dt.date, end: dt.date, scores: tuple[KeyResultScore, ...]
) -> ObjectiveScore:
    ended = as_of > end
    return ObjectiveScore(
        id=objective.id,
        objective=objective.objective,
        owner=objective.owner,
        start=start,
        end=end,
        progress=objective_progress((kr.progress, kr.weight) for kr in scores),
        status=objective_status(ended, [kr.status for kr in scores]),
        key_results=scores,
        as_of=_day_read(as_of, start, end),
    )


def _score_key_result(
    ctx: _Context, kr: KeyResult, start: dt.date, end: dt.date, as_of: dt.date
) -> Callable[[], KeyResultScore]:
    """Read the KR and submit its forecast; the returned function waits for the forecast and scores."""
    ended = as_of > end
    day = _day_read(as_of, start, end)
    metric = ctx.project.metrics.get(kr.metric)
    empty_history = pl.DataFrame(schema={"date": pl.Date, "value": pl.Float64})
    noun, numerator_unit = sample_noun(ctx.project, kr.metric)
    base: dict[str, Any] = {
        "id": kr.id,
        "metric": kr.metric,
        "label": ctx.project.label(kr.metric),
        "unit": metric_unit(ctx.project, kr.metric),
        "direction": kr.direction or (metric.direction if metric is not None else "increase"),
        "read": kr.read,
        "target": float(kr.target),
        "weight": float(kr.weight),
        "period_start": start,
        "period_end": end,
        "as_of": day,
        "sources": tuple(sorted(ctx.project.source_of(kr.metric))) if metric is not None else (),
        "user_sources": tuple(sorted(ctx.project.user_sources(kr.metric))) if metric is not None else (),
        "user_metrics": tuple(sorted(ctx.project.user_metrics(kr.metric))) if metric is not None else (),
        "noun": noun,
        "numerator_unit": numerator_unit,
        "min_sample": ctx.project.settings.min_sample,
    }

    warned: tuple[str, ...] = ()  # the metric's validation warnings, once it has a reader

    def unscored(
        problem: str,
        baseline: float | None = None,
        given: bool = False,
        history: pl.DataFrame = empty_history,
    ) -> Callable[[], KeyResultScore]:
        score = KeyResultScore(
            **base,
            current=None,
            baseline=baseline,
            progress=None,
            expected_progress=_expected(kr, day, start, end, baseline),
            status=key_result_status(
                ended=ended, progress=None, expected=None, probability=None, thresholds=ctx.thresholds
            ),
            forecast=None,
            probability=None,
            milestones=_milestones(kr, baseline),
            history=history,
            problem=problem,
            baseline_given=given,
            warnings=warned,
        )
        return lambda: score

    if metric is None:
        reason = ctx.project.skipped.get(kr.metric)
        return unscored(
            f"metric {kr.metric!r} is not available"
            + (f" because {reason}" if reason else "")
            + "; run `northstar validate`"
        )
    reader = ctx.readings.reader(kr, start, end)
    base["days_read"] = reader.days_read(day)
    warned = reader.definition_warnings()  # a misspelt event: its zero is no measurement
    baseline: float | None = float(kr.baseline) if kr.baseline is not None else None
    given = kr.baseline is not None
    try:
        data_first, data_last = ctx.readings.data_range(kr.metric)
        if data_last < start or data_first > day:
            return unscored(
                f"the data of {kr.metric} covers {data_first} .. {data_last}, none of this period up to {day}",
                baseline,
                given,
            )
        origin = reader.origin(day, data_last)
        reader.preload(day, origin)
        baseline, given = reader.baseline()
        if baseline == kr.target:
            return unscored(
                f"the baseline ({format_value(baseline, base['unit'])}, read before the period) equals "
                "the target; set `baseline:` or another target",
                baseline,
                given,
            )
        direction = reader.direction
        if (direction == "increase") != (kr.target > baseline):
            side = "above" if baseline > kr.target else "below"
            shown, target = _two_numbers(baseline, float(kr.target), base["unit"])
            return unscored(
                f"the baseline ({shown}, read before the period) is already {side} the target "
                f"({target}) of this {direction} key result; set `baseline:` or a more "
                "ambitious target",
                baseline,
                given,
            )
        current = reader.reading(day)
        if current is None:  # the days before may have readings: the chart shows them beside why
            return unscored(reader.no_reading(day), baseline, given, reader.history(day, origin))
        numerator, n = reader.sample(day)
        uncertain = ctx.project.settings.uncertain(n)
        history = reader.history(day, origin)
        notes: list[str] = []
        if data_last < day:  # after the period, the KR is read on its last day, not on the as-of day
            read_on = (
                f"{day}, the period's last day, which the key result is read on after the period"
                if ended
                else f"the as-of day {day}"
            )
            notes.append(f"the data ends on {data_last}, before {read_on}; later days count as empty")
        pending: Future[Outlook] | None = None
        if not ended and ctx.forecast and day == end:  # the last day: the reading is the end reading
            pending = Future()
            pending.set_result(settled(current, float(kr.target), direction))
        elif not ended and ctx.forecast:
            pending = ctx.outlook(reader.projection_job(origin, data_first), float(kr.target), direction)
    except NorthstarError as exc:
        return unscored(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, baseline, given)
    except Unreadable as exc:
        return unscored(str(exc), baseline, given)
    reading, start_value = current, baseline

    def finish() -> KeyResultScore:
        outlook = Outlook(None, None, None)
        if pending is not None:
            try:
                outlook = pending.result(timeout=FORECAST_WAIT_SECONDS)
            except TimeoutError:
                outlook = Outlook(None, None, f"the forecast took more than {FORECAST_WAIT_SECONDS} s")
            if outlook.reason:
                notes.append(f"no forecast: {outlook.reason}; the status follows the pace")
            elif uncertain and outlook.forecast is not None:
                notes.append(
                    f"the forecast starts from a reading of only {n:,.0f} (below min_sample "
                    f"{ctx.project.settings.min_sample}): treat it and the status as uncertain"
                )
        progress = progress_of(reading, start_value, kr.target)
        expected = _expected(kr, day, start, end, start_value)
        probability = None if ended else outlook.probability
        return KeyResultScore(
            **base,
            current=reading,
            baseline=start_value,
            progress=progress,
            expected_progress=expected,
            status=key_result_status(
                ended=ended,
                progress=progress,
                expected=expected,
                probability=probability,
                thresholds=ctx.thresholds,
            ),
            forecast=None if ended else outlook.forecast,
            probability=probability,
            milestones=_milestones(kr, start_value),
            history=history,
            problem=None,
            notes=tuple(notes),
            warnings=warned,
            baseline_given=given,
            n=n,
            numerator=numerator,
            uncertain=uncertain,
        )

    return finish


def _expected(
    kr: KeyResult, day: dt.date, start: dt.date, end: dt.date, baseline: float | None
) -> float | None:
    if baseline is None or baseline == kr.target:
        return None
    return expected_progress(day, start, end, baseline, kr.target, kr.milestones)


def _milestones(kr: KeyResult, baseline: float | None) -> tuple[Milestone, ...]:
    return tuple(
        Milestone(
            when,
            float(value),
            None if baseline is None or baseline == kr.target else progress_of(value, baseline, kr.target),
        )
        for when, value in sorted(kr.milestones.items())
    )


def _day_read(as_of: dt.date, start: dt.date, end: dt.date) -> dt.date:
    """The day a period is read on: as-of, clipped to the period."""
    return min(max(as_of, start), end)


def _two_numbers(first: float, second: float, unit: str) -> tuple[str, str]:
    """Two numbers in their metric's unit, as the scorecard shows them ('34.7%' and '30.0%', not
    0.346522 and 0.3); plain digits when the unit would round them to the same text."""
    one, two = format_value(first, unit), format_value(second, unit)
    return (one, two) if one != two else (f"{first:g}", f"{second:g}")


__all__ = ["FORECAST_WAIT_SECONDS", "READ_THREADS", "project_key_result", "read_key_result", "score"]
