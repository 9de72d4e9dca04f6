"""What `northstar serve` does once when it starts, so the first visitor after a (re)start waits for
the page, not for the process.

Without it the first session of a new server process imports Polars, Plotly, pydantic, the engine and
the OKR code, makes Plotly create each property's validator, reads and validates the YAML (with the
data's catalog), reads the scorecard and builds the OKR page's figures: seconds of CPU on a 2-core
machine, all inside that visitor's wait. Now:

* `warm()`, in the server's start-up (`dashboard/asgi_app.py`'s lifespan), before it listens, as a
  readiness check would have it: starts the forecast worker, imports what a page's first run needs,
  draws a throwaway figure and freezes the heap. Nothing here reads the project or the data, so a
  slow or unreachable database never holds the server's start.
* `warm_scorecard()`, in a thread once the server listens: loads the project, reads a data-check
  report kept by an earlier process (it shades the key results' figures, which are shared by their
  content), and fills the app's caches for the default view of the OKR page (engine, data range,
  default as-of, scorecard, figures) through the same cached functions with the same arguments as
  the app; then, one page after another, the default view of the explorer, funnels, retention,
  data-quality and definitions pages, by running each page's own `render` outside any session
  (`warm_page`: Streamlit draws nothing there). The default view has one home,
  `dashboard.defaults` (what `state.parse` makes of a URL without parameters), shared with the
  app's frame. A visitor who asks for a value meanwhile waits for it (Streamlit computes a cached
  value once), so nothing is done twice; with a warm result store it is all read, with a cold one it
  starts what the first visitor needs.
* The other pages' default views are computed first in a child process at the lowest CPU priority
  (`compute_aside`: `python -m dashboard.preload`, nice 19, its Polars threads too, in a session
  of its own whose scheduler group is niced as well, since Linux's autogroup ranks a nice value
  only within its session) into the result store, and only then filled into this process's caches
  by the pages' own `render`, which reads them back. On a cold store (a first start, new data)
  those views are minutes of CPU at 100M events: computed in the server's own thread they took both
  cores from the sessions being drawn (a new session of the OKR page then took 2-4x its time;
  docs/performance.md), while at the lowest priority they take what everything else leaves. The
  child ends when the server does. With the store off, or NORTHSTAR_WARM_ASIDE=0, they are
  computed in the thread as before.

Any failure here is passed over: the page computes (and reports) everything itself.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.views.common import Ctx
    from metrics.okrs import Scorecard

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent

MODULES = (
    "polars",
    "pandas",  # st.dataframe's frames (explorer, funnels, quality): here, not half-imported in a thread
    "pandas.io.formats.style",  # the data-quality page's table
    "plotly.graph_objects",
    "plotly.io",
    "connectors.files",
    "metrics.load",
    "metrics.validation",
    "metrics.engine",
    "metrics.engine.as_of",
    "metrics.okrs.scoring",
    "metrics.okrs.forecast_store",
    "metrics.quality.flags",
    "metrics.drivers",
    "dashboard.cache",
    "dashboard.figures",
    "dashboard.state",
    "dashboard.auth",
    "dashboard.views.common",
    "dashboard.views.what_moved",
    "dashboard.pack.build",
)


def warm() -> None:
    """Start the forecast worker, import `MODULES`, draw one throwaway figure in the shared template
    and freeze the heap. Never raises."""
    try:  # first: its process imports statsmodels on the other core meanwhile (`dashboard.worker`)
        from dashboard import worker

        worker.shared()
    except Exception:
        log.debug("preload: the forecast worker did not start", exc_info=True)
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the page reports a missing piece in its own words
            log.debug("preload: could not import %s", name, exc_info=True)
    try:
        _draw()
    except Exception:
        log.debug("preload: the warm-up figure failed", exc_info=True)
    # Streamlit's first element in a process asks whether it runs in a REPL (`inspect.stack()`), and
    # inspect maps every loaded module to its file on the first such call (a few hundred ms with
    # everything above imported); later calls only map modules imported since.
    inspect.stack()
    try:  # what is loaded so far is out of the collector's sight before the first run's collection
        from dashboard import cache

        cache.freeze_heap("preload")
    except Exception:
        log.debug("preload: the heap was not frozen", exc_info=True)


WARM_THREAD = "northstar-warm"


class _NoContextWarning(logging.Filter):
    """Streamlit warns "missing ScriptRunContext" each time a cached function runs outside a session,
    which the warm-up thread does on purpose: two lines of noise in every server's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_THREAD


def start_warm_thread() -> None:
    """`warm_scorecard` in a daemon thread of its own, without Streamlit's no-session warnings."""
    import threading

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NoContextWarning()
    )
    threading.Thread(target=warm_scorecard, name=WARM_THREAD, daemon=True).start()


PAGES_WARMED = ("explorer", "funnels", "retention", "quality", "definitions")  # after the OKR page
WARM_PAGES_ENV = "NORTHSTAR_WARM_PAGES"  # which of them, comma-separated ("" none); default all


def pages_to_warm() -> tuple[str, ...]:
    """`PAGES_WARMED`, or those NORTHSTAR_WARM_PAGES names (in its order; unknown names ignored)."""
    listed = os.environ.get(WARM_PAGES_ENV)
    if listed is None:
        return PAGES_WARMED
    return tuple(n for n in (part.strip() for part in listed.split(",")) if n in PAGES_WARMED)


ASIDE_ENV = "NORTHSTAR_WARM_ASIDE"  # "0": compute the other pages' views in the warm-up thread
ASIDE_NICE = 19  # the lowest CPU priority: the child takes what the server's sessions leave


def aside_enabled() -> bool:
    return os.environ.get(ASIDE_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def _default_context(folder: Path) -> Ctx | None:
    """The OKR page's default context for the project in `folder` (project, engine, data range,
    default as-of), with a data-check report kept by an earlier process taken; None without metrics."""
    from dashboard import cache, defaults

    project = cache.project(str(folder))
    if not project.metrics:
        return None
    engine = cache.engine(str(folder), project)
    ctx = defaults.context(folder, project, engine, cache.data_fingerprint(engine, project))
    # As a page's first run does: a report kept by an earlier process shades the figures, and a
    # figure is shared by the content it is drawn from, shading included.
    ctx.quality_runner().read_stored()
    return ctx


def warm_scorecard(config_dir: str | None = None, pages: tuple[str, ...] | None = None) -> None:
    """Fill the app's caches for the default view of the OKR page, then of `pages` in turn: the
    project in `config_dir` (default: NORTHSTAR_CONFIG, resolved as `dashboard.app.config_dir`
    resolves it), the engine, the data range, the default as-of day, a stored data-check report, the
    scorecard and its figures, then what each page reads (`pages`, default `pages_to_warm()`), after
    a child process at the lowest priority has computed those into the result store
    (`compute_aside`). Never raises."""
    folder = config_dir or os.environ.get("NORTHSTAR_CONFIG", "").strip()
    if not folder:
        return
    try:
        resolved = Path(folder).expanduser().resolve()
        ctx = _default_context(resolved)
        if ctx is None:
            return
        if ctx.project.okrs:
            _figures(ctx, ctx.scorecard())
    except Exception:  # the page computes (and reports) it itself
        log.debug("preload: the scorecard was not warmed", exc_info=True)
        return
    names = pages_to_warm() if pages is None else pages
    if names and ctx.engine.result_store is not None and aside_enabled():
        compute_aside(resolved, names)
    for name in names:
        try:
            warm_page(ctx, name)
        except Exception:
            log.debug("preload: the %s page was not warmed", name, exc_info=True)


def compute_aside(folder: Path, pages: tuple[str, ...]) -> bool:
    """Compute `pages`' default views into the result store in a child process at the lowest CPU
    priority (`python -m dashboard.preload`, which lowers its own priority before it imports Polars,
    so the threads Polars starts inherit it), and wait for it; the caller's `warm_page` then reads
    them back. The child runs in a session of its own (its own scheduler group, niced too) and ends
    when its parent does. Whether it ended well; never raises."""
    import subprocess
    import sys

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dashboard.preload", str(folder), *pages],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            start_new_session=True,  # a scheduler group of its own (see lower_priority)
        )
    except OSError:
        log.debug("preload: the pages' warm-up process did not start", exc_info=True)
        return False
    return done.returncode == 0


def lower_priority() -> None:
    """This process (and every thread it starts from now on) at `ASIDE_NICE`, and, where Linux
    groups each session's processes for the scheduler (autogroup, where a nice value only ranks
    threads within their group), its session's group too."""
    try:
        os.nice(ASIDE_NICE - os.nice(0))
    except (OSError, AttributeError):  # a platform without nice: the work still gets done
        log.debug("preload: the priority was not lowered", exc_info=True)
    # No autogroup (or not Linux): the nice value above is the whole story.
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(ASIDE_NICE))


def _end_with_parent() -> None:
    """Exit when the process that started this one has ended (a stopped server): the child is in a
    session of its own, so a signal to the server's process group does not reach it."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="northstar-aside-watch", daemon=True).start()


def _aside_main(argv: list[str]) -> int:
    """The child of `compute_aside`: `python -m dashboard.preload CONFIG_DIR PAGE...`."""
    lower_priority()  # first, before Polars starts its threads
    _end_with_parent()
    folder, pages = Path(argv[0]), argv[1:]
    ctx = _default_context(folder)
    failed = ctx is None
    try:
        for name in pages:
            if ctx is None:
                break
            try:
                warm_page(ctx, name)
            except Exception:
                failed = True
    finally:
        from dashboard import worker

        worker.shutdown_shared()  # the launch impact's forecasts started one
    return 1 if failed else 0


def warm_page(ctx: Ctx, name: str) -> bool:
    """Run page `name`'s own `render` on `ctx` with the page's name in its view, outside any session:
    Streamlit draws nothing there and widgets keep the view's choices (`common.pick`), so every
    cached value the page reads for that view is filled by the page's own code and arguments. The
    data-quality page only with a report at hand (it would wait for the checks). Whether it ran."""
    import dataclasses
    import importlib

    page = dataclasses.replace(ctx, view=ctx.view.replace(page=name))
    if name == "quality" and not page.quality_runner().done:
        return False
    importlib.import_module(f"dashboard.views.{name}").render(page)
    return True


def _figures(ctx: Ctx, card: Scorecard) -> None:
    """The OKR page's figures for the default view, through the page's own functions: they are
    cached by their content (`dashboard.cache.shared_figure`), so the page finds them built."""
    from dashboard.views import okrs

    definitions = {o.id: o for o in ctx.project.okrs}
    for objective in card.objectives:
        definition = definitions.get(objective.id)
        if definition is None:
            continue
        kr_defs = {kr.id: kr for kr in definition.key_results}
        for score in objective.key_results:
            if score.id in kr_defs:
                okrs.kr_figure(ctx, score, kr_defs[score.id], compact=True)
        okrs.objective_figure(ctx, objective)


def _draw() -> None:
    """Plotly creates a property's validator the first time a figure sets it: set the ones every
    chart of the dashboard sets (lines, bands, bars, shapes, annotations, the template's layout)."""
    import datetime as dt

    import plotly.graph_objects as go
    import plotly.io as pio

    from dashboard.figures import TEMPLATE

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    fig = go.Figure(
        data=[
            go.Scatter(x=days, y=[1.0, 2.0, 3.0], mode="lines+markers", name="a", line={"width": 2}),
            go.Scatter(
                x=days, y=[0.5, 1.0, 1.5], fill="tonexty", fillcolor="rgba(0,0,0,0.1)", hoverinfo="skip"
            ),
            go.Bar(x=["a", "b"], y=[1, 2], marker={"color": ["#000", "#111"]}, text=["1", "2"]),
            go.Heatmap(z=[[1, 2], [3, 4]], colorscale="Blues"),
        ],
        layout=go.Layout(
            template=TEMPLATE,
            title={"text": "warm-up"},
            height=300,
            xaxis={"tickformat": "%b %d"},
            yaxis={"tickformat": ",.0f", "rangemode": "tozero"},
            shapes=[{"type": "rect", "x0": days[0], "x1": days[1], "y0": 0, "y1": 1, "yref": "paper"}],
            annotations=[{"text": "a", "x": days[0], "y": 1, "yref": "paper", "showarrow": False}],
        ),
    )
    fig.add_hline(y=1.5, line_dash="dot")
    fig.add_vline(x=days[1], line_dash="dash")
    pio.to_json(fig, validate=False)


if __name__ == "__main__":
    import sys

    logging.disable(logging.WARNING)  # Streamlit's no-runtime warnings; the exit code says enough
    raise SystemExit(_aside_main(sys.argv[1:]))
