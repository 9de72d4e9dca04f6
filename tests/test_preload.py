"""What `serve` does before and right after it answers (`dashboard/preload.py`), and the figures the
OKR page shares between sessions (`dashboard.cache.shared_figure`).

The page a preloaded server draws is the page an unprepared one draws (the same charts, the same
numbers); the preloaded project and scorecard are taken, not computed again; a figure is shared only
while everything it is drawn from is the same.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache, figures, preload
from tests.app_support import APP, MADE_TODAY, chart_specs, make_demo

pytestmark = pytest.mark.usefixtures("made_today")  # the demo ends on a fixed day: today is pinned after it
TIMEOUT = 60


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo of its own per test: the app's caches are keyed by its folder, so nothing is shared
    with another test's runs."""
    config, _ = make_demo(tmp_path / "demo", events=20_000)
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(config))
    return config


def _page(config: Path, *, slides: bool = False) -> AppTest:
    """The OKR page in a new session; with `slides`, each objective's chart for slides opened too
    (placed only when open)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if slides:
        from metrics.load import load_project

        for objective in load_project(config).okrs:
            at.session_state[f"slides_{objective.id}"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    calls: list[object] = []
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _numbers(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def test_a_second_session_places_the_same_figures_without_building_them(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _counting(monkeypatch, figures, "kr_figure")
    first = _page(demo)
    assert len(built) >= 3  # the demo's key results
    count = len(built)
    second = _page(demo)
    assert len(built) == count  # none built again
    assert chart_specs(second) == chart_specs(first)
    assert _numbers(second) == _numbers(first)


def _placing(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[object]]:
    """(the figures the pages place, the figures Plotly copied into a dict) from now on."""
    from plotly.basedatatypes import BaseFigure

    from dashboard.views import common

    placed: list[Any] = []
    copied: list[object] = []
    real_plot, real_to_dict = common.plot, BaseFigure.to_dict

    def plot(fig: Any, *args: Any, **kwargs: Any) -> None:
        placed.append(fig)
        real_plot(fig, *args, **kwargs)

    def to_dict(self: Any) -> Any:
        copied.append(self)
        return real_to_dict(self)

    monkeypatch.setattr(common, "plot", plot)
    monkeypatch.setattr(BaseFigure, "to_dict", to_dict)
    return placed, copied


def test_sessions_place_one_plotly_dict_per_figure_and_new_inputs_make_new_ones(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed, copied = _placing(monkeypatch)
    first = _page(demo, slides=True)
    shared = list(placed)
    assert len(shared) >= 4 and all(isinstance(fig, figures.SharedFigure) for fig in shared)
    placed.clear(), copied.clear()
    second = _page(demo, slides=True)  # a new session on the same definitions and data
    assert [id(fig) for fig in placed] == [id(fig) for fig in shared]
    assert copied == []  # Streamlit encoded each figure from the dict made when it was shared
    assert chart_specs(second) == chart_specs(first)

    okrs_file = demo / "okrs.yaml"  # an edited target: new figures, drawn from the new definition
    text = okrs_file.read_text()
    assert "target: 2400\n" in text
    okrs_file.write_text(text.replace("target: 2400\n", "target: 2500\n"))
    placed.clear(), copied.clear()
    edited = _page(demo, slides=True)
    assert placed and not {id(fig) for fig in placed} & {id(fig) for fig in shared}
    assert copied  # made again, once
    assert json.dumps(chart_specs(edited)) != json.dumps(chart_specs(first))
    assert ("2,500" in json.dumps(chart_specs(edited))) and ("2,500" not in json.dumps(chart_specs(first)))

    before = list(placed)  # new data (the events file written again): new figures too
    events = next((demo.parent / "data").glob("*.parquet"))
    stat = events.stat()
    os.utime(events, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    placed.clear()
    _page(demo, slides=True)
    assert placed and not {id(fig) for fig in placed} & {id(fig) for fig in before}


def test_a_shared_figure_encodes_as_the_figure_it_was_made_from(demo: Path) -> None:
    import plotly.io as pio

    from metrics.load import load_project

    project = load_project(demo)
    kr = _score(demo)
    definition = next(k for o in project.okrs for k in o.key_results if k.id == kr.id)

    def plain() -> Any:
        return figures.kr_figure(project, kr, definition, compact=True)

    shared = figures.SharedFigure.of(plain())
    assert isinstance(shared, figures.SharedFigure)
    assert pio.to_json(shared, validate=False) == pio.to_json(plain(), validate=False)
    assert shared.to_dict() == plain().to_dict()
    assert shared.to_dict() is shared.to_dict()  # made once, when shared


def test_the_preloaded_server_draws_the_same_page_and_loads_and_scores_once(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _page(demo)  # an unprepared server's first page (fills the caches for this folder)
    specs, numbers = chart_specs(plain), _numbers(plain)
    cache._project.clear()  # a restarted server: nothing in memory
    cache.scorecard.clear()
    cache._figure.clear()
    loads = _counting(monkeypatch, cache, "load_project")
    from metrics.okrs import scoring

    scores = _counting(monkeypatch, scoring, "score")
    built = _counting(monkeypatch, figures, "kr_figure")
    preload.warm()
    preload.warm_scorecard()
    assert len(loads) == 1 and len(scores) == 1 and built
    count = len(built)
    at = _page(demo)
    assert len(loads) == 1 and len(scores) == 1  # taken from the preload, not done again
    assert len(built) == count  # the default view's figures were built by the preload
    assert chart_specs(at) == specs
    assert _numbers(at) == numbers


def test_an_edited_yaml_is_not_answered_by_the_preloaded_project(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache._project.clear()
    preload.warm()
    preload.warm_scorecard()  # loads the project of the files as they are now
    okrs_file = demo / "okrs.yaml"
    text = okrs_file.read_text()
    assert "description: 2,400 sign-ups this quarter\n" in text
    okrs_file.write_text(text.replace("2,400 sign-ups this quarter\n", "2,400 sign-ups, edited\n"))
    at = _page(demo)
    shown = json.dumps(chart_specs(at)) + " ".join(str(e.value) for e in at.markdown)
    assert "2,400 sign-ups, edited" in shown and "2,400 sign-ups this quarter" not in shown


def _score(project_dir: Path) -> Any:
    from metrics.engine import Engine
    from metrics.load import load_project
    from metrics.okrs.scoring import score

    project = load_project(project_dir)
    card = score(project, Engine(project))
    return card.objectives[0].key_results[0]


def test_content_key_follows_every_value_a_figure_is_drawn_from(demo: Path) -> None:
    kr = _score(demo)
    again = dataclasses.replace(kr)
    assert cache.content_key(kr) == cache.content_key(again)  # another object, the same content
    history = kr.history
    moved = history.with_columns(
        pl.when(pl.int_range(pl.len()) == history.height - 1)
        .then(pl.col("value") + 1e-9)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    assert cache.content_key(dataclasses.replace(kr, history=moved)) != cache.content_key(kr)
    assert cache.content_key(
        dataclasses.replace(kr, status="at_risk" if kr.status != "at_risk" else "on_track")
    ) != (cache.content_key(kr))
    assert cache.content_key(kr, (), None) != cache.content_key(kr, (), "2026-01-01")
    assert cache.content_key(1) != cache.content_key(1.0) != cache.content_key("1")


# --- the data-quality report between processes (dashboard.quality_store) --------------------------


def _runner(config: Path, as_of: Any, data: str) -> cache.QualityRunner:
    from metrics.engine import Engine
    from metrics.load import load_project

    project = load_project(config)
    runner = cache.QualityRunner(project, Engine(project), as_of=as_of, data=data)
    runner.wait(300)
    assert runner.error is None, runner.error
    return runner


def _everything(report: Any) -> list[Any]:
    return [(r.to_json(), r.sample, r.days, r.ran_at) for r in report.results] + [report.ran_at]


def test_a_past_days_report_is_read_back_whole_and_new_data_runs_the_checks(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import metrics.quality

    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    runs = _counting(monkeypatch, metrics.quality, "run_checks_as_of")
    day = MADE_TODAY - dt.timedelta(days=3)
    first = _runner(demo, day, "data-1")
    assert len(runs) == 1 and not first.stored and first.report is not None
    assert any(not r.success for r in first.report.results)  # the demo's planted problems
    assert any(r.sample for r in first.report.results) and any(r.days for r in first.report.results)
    again = _runner(demo, day, "data-1")  # a restarted server: the same definitions, data and day
    assert len(runs) == 1 and again.stored and again.report is not None
    assert _everything(again.report) == _everything(first.report)
    _runner(demo, day, "data-2")  # new data
    _runner(demo, day - dt.timedelta(days=1), "data-1")  # another day
    assert len(runs) == 3
    today = MADE_TODAY + dt.timedelta(days=1)  # not over yet: freshness ages with the clock
    _runner(demo, today, "data-1")
    _runner(demo, today, "data-1")
    assert len(runs) == 5


def test_a_stored_report_is_taken_on_the_pages_first_run(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import metrics.quality

    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    runs = _counting(monkeypatch, metrics.quality, "run_checks_as_of")
    day = MADE_TODAY - dt.timedelta(days=3)
    from metrics.engine import Engine
    from metrics.load import load_project

    project = load_project(demo)
    fresh = cache.QualityRunner(project, Engine(project), as_of=day, data="data-1")
    assert not fresh.read_stored() and not fresh.done  # nothing stored yet: the thread runs them
    first = _runner(demo, day, "data-1")
    assert len(runs) == 1
    taken = cache.QualityRunner(project, Engine(project), as_of=day, data="data-1")
    assert taken.read_stored() and taken.done and taken.stored and not taken.started
    assert taken.report is not None and first.report is not None
    assert _everything(taken.report) == _everything(first.report)
    taken.start()  # nothing to start: the report is there
    assert not taken.started and len(runs) == 1

    at = _page(demo)  # the checks of the default day through the app, then a restarted server
    ctx = at.session_state["_northstar_ctx"]
    assert ctx.quality_runner().wait(300) is not None
    cache.quality_runner.clear()
    again = _page(demo)
    runner = again.session_state["_northstar_ctx"].quality_runner()
    assert runner.stored and runner.done and not runner.started
    assert not any("Running the data checks" in str(c.value) for c in again.sidebar.caption)


def test_the_warm_thread_does_not_fill_the_log_with_streamlits_no_session_warning() -> None:
    import logging

    from dashboard.preload import WARM_THREAD, _NoContextWarning

    def record(thread: str) -> logging.LogRecord:
        made = logging.LogRecord("x", logging.WARNING, __file__, 1, "missing ScriptRunContext!", None, None)
        made.threadName = thread
        return made

    quiet = _NoContextWarning()
    assert not quiet.filter(record(WARM_THREAD))
    assert quiet.filter(record("ScriptRunner.scriptThread"))  # a real session's warning still shows


def _restarted() -> None:
    """A restarted server: nothing in the app's memory (the folder's caches are the test's own)."""
    for cached in (
        cache._project,
        cache.scorecard,
        cache._figure,
        cache.compute,
        cache.data_range,
        cache.funnel_order,
        cache.quality_runner,
    ):
        cached.clear()


@pytest.mark.parametrize("page", ["explorer", "funnels", "retention"])
def test_the_warm_thread_fills_each_pages_caches_for_its_default_view(
    demo: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    from metrics.engine import Engine

    _restarted()
    computed = _counting(monkeypatch, Engine, "compute")
    preload.warm()
    preload.warm_scorecard()
    assert computed  # the warm-up computed what the pages show
    count = len(computed)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value != "" and at.get("plotly_chart")  # the page drew its charts
    assert len(computed) == count  # every number of the page's default view came from the cache


def test_without_the_page_warm_up_the_pages_compute_on_their_first_visit(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above: the OKR page's warm-up alone leaves the explorer's numbers
    to its first visitor (so the test above could fail)."""
    from metrics.engine import Engine

    _restarted()
    computed = _counting(monkeypatch, Engine, "compute")
    preload.warm_scorecard(pages=())
    count = len(computed)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(computed) > count


def test_the_page_warm_up_takes_the_views_choices_not_a_widgets_first_option(demo: Path) -> None:
    """Outside a session a selectbox answers its first option; the warm-up must compute the view's
    metric (a project's default metric is a pinned or key result's one, not always the first)."""
    from dashboard import defaults
    from dashboard.views import common

    _restarted()
    project = cache.project(str(demo))
    engine = cache.engine(str(demo), project)
    ctx = defaults.context(demo, project, engine, cache.data_fingerprint(engine, project), "explorer")
    assert ctx.view.metric in project.metrics  # the default view names its metric
    wanted = list(project.metrics)[1]
    ctx.view = ctx.view.replace(metric=wanted)
    chosen = common.pick(ctx, list(project.metrics), "metric", "w_metric", "Metric", "none")
    assert chosen == wanted and ctx.view.metric == wanted


def test_the_warm_figures_are_the_ones_a_page_with_a_stored_report_asks_for(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report kept by an earlier process shades the key results' figures on a page's first run;
    the warm-up reads it too, so the figures it builds are the ones the page places."""
    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    at = _page(demo)  # the checks of the default day, stored (the demo's last day is over)
    assert at.session_state["_northstar_ctx"].quality_runner().wait(300) is not None
    _restarted()
    preload.warm_scorecard(pages=())
    built = _counting(monkeypatch, figures, "kr_figure")
    again = _page(demo)
    assert again.session_state["_northstar_ctx"].quality_runner().stored
    assert built == []  # every key result's figure was the warm-up's


def test_which_pages_the_warm_thread_fills_after_the_okr_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(preload.WARM_PAGES_ENV, raising=False)
    assert preload.pages_to_warm() == preload.PAGES_WARMED
    monkeypatch.setenv(preload.WARM_PAGES_ENV, "")
    assert preload.pages_to_warm() == ()
    monkeypatch.setenv(preload.WARM_PAGES_ENV, " funnels, nope ,explorer")
    assert preload.pages_to_warm() == ("funnels", "explorer")


def test_the_other_pages_are_computed_aside_and_read_back_by_the_warm_thread(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the result store on, the explorer's default view is computed by the low-priority child
    process (`compute_aside`) into the store; the server's own thread only reads it back, so a
    cold store's minutes of page warm-up do not run in the server's process beside its sessions."""
    from metrics.engine import Engine

    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    _restarted()
    preload.warm_scorecard(pages=())  # the OKR page, computed here and stored
    stored = set((tmp_path / "cache" / "results").glob("*.arrows"))
    computed_here = _counting(monkeypatch, Engine, "_compute_stored")
    preload.warm_scorecard(pages=("explorer",))
    assert set((tmp_path / "cache" / "results").glob("*.arrows")) > stored  # the child stored them
    assert computed_here == []  # this process read every answer of the explorer's view
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert computed_here == []  # and its first visit found them in the app's caches


def test_without_the_aside_process_the_warm_thread_computes_the_pages_itself(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart (so the test above could fail): NORTHSTAR_WARM_ASIDE=0 computes in-process."""
    from metrics.engine import Engine

    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")
    monkeypatch.setenv(preload.ASIDE_ENV, "0")
    _restarted()
    preload.warm_scorecard(pages=())
    computed_here = _counting(monkeypatch, Engine, "_compute_stored")
    preload.warm_scorecard(pages=("explorer",))
    assert computed_here


def test_the_aside_process_runs_at_the_lowest_priority() -> None:
    """Its nice value, and (where Linux has autogroups) its session's scheduler group's: a nice value
    alone ranks it only against the threads of its own session."""
    import subprocess
    import sys

    code = (
        "from dashboard import preload; import os; from pathlib import Path; preload.lower_priority(); "
        "group = Path('/proc/self/autogroup'); "
        "print(os.nice(0), group.read_text().split()[-1] if group.exists() else 'none')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=preload.ROOT,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,  # as compute_aside starts it
    )
    nice, group = out.stdout.split()
    assert int(nice) == preload.ASIDE_NICE
    assert group in ("none", str(preload.ASIDE_NICE))
