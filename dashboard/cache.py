"""What the app keeps between reruns, keyed by what actually changes the answer.

* The project: `st.cache_resource`, keyed by the config folder and the YAML files' size and mtime,
  so an edited file is picked up on the next rerun without a restart.
* The engine (and through it the connections): `st.cache_resource`, keyed by the config folder and
  the definitions' fingerprint.
* Results, the scorecard and the data range: `st.cache_data(ttl=...)`, keyed by the definitions'
  fingerprint, the data's fingerprint (each connector's) and the request.
* Data-quality checks import Great Expectations, which is slow, so they run in a background thread
  started after the first page has rendered (`QualityRunner`); pages show the report once it is there.
  As of a day that is over, the report is kept between processes (`dashboard.quality_store`).
* The OKR forecasts run in a worker process that imports statsmodels while the app starts
  (`dashboard/worker.py`), one per server process; their outlooks are kept in the result store
  (`metrics.okrs.forecast_store`), so a restarted server or another replica reads them.
* Figures: `st.cache_resource` (`shared_figure`), one object for every session, keyed by the
  content of everything the figure is drawn from (`content_key`), so a new session places the same
  figure without building it again (Plotly validates every property it is given, which is most of a
  page's own time), nor copying it into a dict again (`figures.SharedFigure`). A placed figure is only
  read, never changed.
* Below all of these, the engine's result store (`metrics.engine.result_store`) keeps each computed
  answer on disk, so what these in-memory caches lose on a restart is read back, not recomputed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from dashboard import worker
from dashboard.debug import error_text
from metrics.definitions.models import MetricDef
from metrics.definitions.project import FILES, Project
from metrics.engine.request import MetricRequest, MetricResult
from metrics.load import load_project

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from metrics.engine import Engine
    from metrics.engine.engine import FunnelOrder
    from metrics.okrs import Scorecard
    from metrics.quality.report import QualityReport

RESULT_TTL = 30 * 60  # seconds; the data fingerprint already invalidates on new data
QUALITY_TTL = 15 * 60  # freshness checks age with the clock, so re-run them now and then


_FROZEN: set[str] = set()
_FROZEN_LOCK = threading.Lock()


def freeze_heap(stage: str) -> None:
    """Move what the server holds so far (modules, cached projects, engines and results) out of the
    garbage collector's sight, once per `stage` and process.

    Streamlit runs a full garbage collection after every script run (`runner.postScriptGC`), and a
    full collection walks every object the process holds: with Polars, Plotly, statsmodels and Great
    Expectations imported that is hundreds of thousands, a few hundred milliseconds on every run of
    every session. Frozen objects are still freed by reference counting when dropped; only cycles
    among them are never collected, so this is done twice: after the first run (the imports and the
    first project) and after the data checks have imported Great Expectations.
    """
    with _FROZEN_LOCK:
        if stage in _FROZEN:
            return
        _FROZEN.add(stage)
    import gc

    gc.collect()  # what is already garbage goes first, so it is not kept forever
    gc.freeze()


def yaml_stamp(config_dir: str) -> tuple[tuple[str, int, int], ...]:
    """(file, size, mtime) of every project file: changes whenever a definition may have changed."""
    out = []
    for name in FILES:
        try:
            stat = os.stat(os.path.join(config_dir, name))
        except OSError:
            out.append((name, -1, -1))
            continue
        out.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


@st.cache_resource(max_entries=8, ttl=120, show_spinner="Loading and checking the project's definitions…")
def _project(config_dir: str, stamp: tuple[tuple[str, int, int], ...]) -> Project:
    # ttl: a data file that appears or disappears changes what validates even when no YAML changed.
    return load_project(Path(config_dir))


def project(config_dir: str) -> Project:
    return _project(config_dir, yaml_stamp(config_dir))


def project_key(project_: Project) -> str:
    """The definitions' fingerprint plus what survived validation (a fixed data file revives metrics)."""
    return f"{project_.fingerprint}/{','.join(sorted(project_.sources))}/{','.join(sorted(project_.metrics))}"


@st.cache_resource(max_entries=8, show_spinner=False)
def _engine(config_dir: str, key: str, _project: Project) -> Engine:
    from metrics.engine import Engine

    # The engine's own clock, as `northstar okrs` and `snapshot` build theirs: scoring gets the same
    # inputs on every surface, so the same as-of gives the same forecast and status.
    return Engine(_project)


def engine(config_dir: str, project_: Project) -> Engine:
    return _engine(config_dir, project_key(project_), project_)


@st.cache_resource(max_entries=16, show_spinner=False)
def _derived_engine(
    config_dir: str, key: str, extra_ids: tuple[str, ...], _base: Engine, _extra: Mapping[str, MetricDef]
) -> Engine:
    return _base.with_metrics(_extra)


def derived_engine(
    config_dir: str, project_: Project, base: Engine, extra: Mapping[str, MetricDef]
) -> tuple[Project, Engine]:
    """An engine over the project plus derived metrics (funnel steps, retention offsets), sharing
    the base engine's connectors (`Engine.with_metrics`); cached like the base engine."""
    engine_ = _derived_engine(config_dir, project_key(project_), tuple(sorted(extra)), base, extra)
    return engine_.project, engine_


def data_fingerprint(engine_: Engine, project_: Project) -> str:
    """One string that changes when any source's data may have changed (stat calls only)."""
    parts = []
    for name in sorted(project_.sources):
        try:
            parts.append(f"{name}={engine_.connector(name).fingerprint()}")
        except Exception as exc:  # a missing file is a state of the data, not a crash
            parts.append(f"{name}!{type(exc).__name__}")
    return "|".join(parts)


@st.cache_data(ttl=RESULT_TTL, max_entries=512, show_spinner=False)
def compute(defs: str, data: str, request_key: str, _engine: Engine, _request: MetricRequest) -> MetricResult:
    """`request_key` is repr(request): with `defs` and `data` it determines the answer."""
    return _engine.compute(_request)


def cached_compute(engine_: Engine, project_: Project, data: str, request: MetricRequest) -> MetricResult:
    return compute(project_.fingerprint, data, repr(request), engine_, request)


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner=False)
def data_range(
    defs: str, data: str, ids: tuple[str, ...], _engine: Engine
) -> tuple[dt.date | None, dt.date | None]:
    return _engine.data_range(ids)


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner="Scoring the key results and their forecasts…")
def scorecard(defs: str, data: str, as_of: dt.date, _project: Project, _engine: Engine) -> Scorecard:
    """The scorecard; its forecasts run in the worker process (`dashboard/worker.py`), which the app
    started, with statsmodels, before it loaded the project."""
    from metrics.okrs.scoring import score

    return score(_project, _engine, as_of=as_of, executor=forecasts(_engine))


def forecasts(engine_: Engine) -> Executor:
    """The forecast worker, behind the stored outlooks when the engine keeps a result store (a
    forecast fitted before, by this or another process, is read instead of fitted again)."""
    shared = worker.shared()
    if engine_.result_store is None:
        return shared
    from metrics.okrs.forecast_store import StoredOutlooks

    return StoredOutlooks(engine_.result_store, shared)


def _canonical(value: object, out: list[str]) -> None:
    """Append a text that differs whenever `value`'s content differs (dataclasses field by field,
    frames by their schema and every row: the small frames a figure is drawn from)."""
    import polars as pl

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.append(f"<{type(value).__qualname__}")
        for item in dataclasses.fields(value):
            out.append(f"{item.name}=")
            _canonical(getattr(value, item.name), out)
        out.append(">")
    elif isinstance(value, pl.DataFrame):
        out.append(f"<frame {value.schema!r} {value.rows()!r}>")
    elif isinstance(value, list | tuple):
        out.append(f"<{type(value).__name__}")
        for item in value:
            _canonical(item, out)
        out.append(">")
    else:
        out.append(f"{type(value).__qualname__}:{value!r};")


def content_key(*values: object) -> str:
    """A hash of the values' content: what `shared_figure` keys a figure by."""
    out: list[str] = []
    for value in values:
        _canonical(value, out)
    return hashlib.sha256("".join(out).encode()).hexdigest()


@st.cache_resource(max_entries=256, ttl=RESULT_TTL, show_spinner=False)
def _figure(key: str, _build: Callable[[], go.Figure]) -> go.Figure:
    from dashboard.figures import SharedFigure

    return SharedFigure.of(_build())


def shared_figure(key: str, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure `build()` draws, built once for every session while `key` (a `content_key` of all
    its inputs) stays the same, with its Plotly dict made once too (`figures.SharedFigure`): a new
    session's `st.plotly_chart` encodes it without copying it again. Callers only place it; nothing
    may change it."""
    return _figure(key, build)


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner=False)
def explain(defs: str, data: str, request_key: str, _engine: Engine, _request: MetricRequest) -> str:
    return _engine.explain(_request)


@st.cache_data(ttl=RESULT_TTL, max_entries=64, show_spinner=False)
def funnel_order(
    defs: str, data: str, metric_id: str, start: dt.date, end: dt.date, _engine: Engine
) -> FunnelOrder | None:
    return _engine.funnel_order(metric_id, start, end)


class QualityRunner:
    """Runs the data-quality checks as of a day once, in a background thread, and holds the report
    (`metrics.quality.run_checks_as_of`: the same judgement as `northstar check` and the pack)."""

    def __init__(
        self,
        project_: Project,
        engine_: Engine,
        run: Callable[[Project, Engine], QualityReport] | None = None,
        as_of: dt.date | None = None,
        data: str | None = None,
    ) -> None:
        self._project = project_
        self._engine = engine_
        self._run_checks = run
        self.as_of = as_of
        self._data = data  # the data's fingerprint: with it, a past day's report is kept (quality_store)
        self.stored = False  # True when the report was read from the store
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.report: QualityReport | None = None
        self.error: str | None = None
        self.seconds: float | None = None

    def read_stored(self) -> bool:
        """Take the report an earlier process kept (`dashboard.quality_store`: as of a day that is
        over, for these definitions and data), now, in the caller's thread: a JSON read, so a page can
        draw its badges on its first run instead of rerunning when a background run ends. True when
        the report is there (read now or before)."""
        from dashboard import quality_store

        with self._lock:
            if self.done or self._thread is not None:
                return self.done
            if self._run_checks is not None or self.as_of is None or self._data is None:
                return False
            key = quality_store.key(self._project, self._engine, self.as_of, self._data)
            stored = None if key is None else quality_store.load(self._engine, key)
            if stored is None:
                return False
            self.report, self.stored, self.seconds = stored, True, 0.0
            self._done.set()
            return True

    def start(self) -> QualityRunner:
        with self._lock:
            if self._thread is None and not self.done:
                # pandas whole before the checks' thread imports it (through Great Expectations):
                # Plotly reads sys.modules["pandas"] without the import lock, so a figure built while
                # that thread is halfway through `import pandas` fails on a half-made module.
                import pandas  # noqa: F401

                self._thread = threading.Thread(target=self._work, name="northstar-quality", daemon=True)
                self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _work(self) -> None:
        began = time.perf_counter()
        try:
            run = self._run_checks
            if run is not None:
                self.report = run(self._project, self._engine)
            else:
                from metrics.quality import run_checks, run_checks_as_of

                if self.as_of is None:
                    self.report = run_checks(self._project, self._engine)
                else:
                    self.report = self._stored_or_run(run_checks_as_of)
        except Exception as exc:  # shown on the quality page; never takes the app down
            self.error = error_text(exc)
        finally:
            self.seconds = time.perf_counter() - began
            self._done.set()

    def _stored_or_run(self, run: Callable[[Project, Engine, dt.date], QualityReport]) -> QualityReport:
        """The checks as of a past day from the store (`dashboard.quality_store`), else run and stored."""
        from dashboard import quality_store

        assert self.as_of is not None
        key = (
            None
            if self._data is None
            else quality_store.key(self._project, self._engine, self.as_of, self._data)
        )
        if key is not None:
            stored = quality_store.load(self._engine, key)
            if stored is not None:
                self.stored = True
                return stored
        report = run(self._project, self._engine, self.as_of)
        if key is not None:
            quality_store.save(self._engine, key, report)
        return report

    def wait(self, timeout: float | None = None) -> QualityReport | None:
        self.start()
        self._done.wait(timeout)
        return self.report


@st.cache_resource(max_entries=8, ttl=QUALITY_TTL, show_spinner=False)
def quality_runner(
    defs: str, data: str, as_of: dt.date | None, _project: Project, _engine: Engine
) -> QualityRunner:
    """The checks as of `as_of`: their verdicts depend on it, so it keys the cache."""
    return QualityRunner(_project, _engine, as_of=as_of, data=data)


@st.cache_data(ttl=QUALITY_TTL, max_entries=16, show_spinner=False)
def default_as_of(defs: str, data: str, today: dt.date, _project: Project, _engine: Engine) -> dt.date:
    """`metrics.engine.as_of.default_as_of`, kept while the definitions, the data and the day stay."""
    from metrics.engine.as_of import default_as_of as rule

    return rule(_project, _engine, today)
