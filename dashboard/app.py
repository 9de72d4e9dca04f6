"""Northstar's Streamlit app: the frame around every page.

The frame loads and validates the project (cached, reloaded when a YAML file changes), builds the
engine, turns the URL's query parameters into the view state (warning about anything it had to
ignore), draws the shared controls in the sidebar, lists YAML problems, runs the chosen page, and
writes the view back into the URL so the address bar always reproduces what is on screen.

Run it with `northstar serve` (or `streamlit run dashboard/app.py`); the project folder comes from
the NORTHSTAR_CONFIG environment variable, default `config/` next to this repository's root.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard import worker  # noqa: E402

# First of all, once per server process: the forecasts' worker process starts importing statsmodels
# on the other core while this one imports the rest, loads the project and reads the data.
worker.shared()

import streamlit as st  # noqa: E402

from connectors.errors import NorthstarError  # noqa: E402
from dashboard import auth, cache, defaults, state  # noqa: E402
from dashboard.debug import debug, failure, for_viewers, problem_line  # noqa: E402
from dashboard.views.common import CTX_KEY, Ctx, copy_box, md, mdc  # noqa: E402
from metrics.definitions import clock  # noqa: E402
from metrics.definitions.calendar import Calendar  # noqa: E402
from metrics.definitions.models import GRAINS  # noqa: E402
from metrics.definitions.project import Project  # noqa: E402

if TYPE_CHECKING:
    pass

VIEWS = Path(__file__).resolve().parent / "views"
PAGE_SPECS = (
    # name, file, title, icon
    ("okrs", "okrs.py", "OKRs", ":material/flag:"),
    ("explorer", "explorer.py", "Metric explorer", ":material/show_chart:"),
    ("funnels", "funnels.py", "Funnels", ":material/filter_alt:"),
    ("retention", "retention.py", "Retention", ":material/grid_on:"),
    ("definitions", "definitions.py", "Definitions", ":material/menu_book:"),
    ("quality", "quality.py", "Data quality", ":material/fact_check:"),
)
COMPARE_WORDS = {
    "none": "No comparison",
    "previous_period": "Previous period",
    "previous_year": "Same period last year",
}
NONE = "none"  # a selectbox shows None as "Choose an option", so "no choice" is a real option
WIDGETS = {
    "as_of": "w_as_of",
    "start": "w_start",
    "end": "w_end",
    "grain": "w_grain",
    "compare": "w_compare",
    "by": "w_by",
}
REVIEW_CSS = """
<style>
  header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stSidebar"],
  [data-testid="stSidebarCollapsedControl"], [data-testid="collapsedControl"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"], footer { display: none !important; }
  .block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.5rem !important; }
</style>
"""
APP_CSS = """
<style>
  [data-testid="stMainBlockContainer"] { max-width: 1320px; }
  [data-testid="stAppDeployButton"] { display: none; }
  .ns-bar { position: relative; height: 10px; border-radius: 5px; background: #F3F4F6; margin: 6px 0 4px; }
  .ns-bar > .ns-fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 5px; }
  .ns-bar > .ns-below { background: repeating-linear-gradient(45deg, #DC2626 0 4px, #FCA5A5 4px 8px); }
  .ns-bar > .ns-mark { position: absolute; top: -4px; bottom: -4px; width: 2px; background: #111827; }
  .ns-small { color: #6B7280; font-size: 0.82rem; }
  .ns-status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: white;
               font-size: 0.78rem; font-weight: 600; }
  .ns-uncertain { color: #4B5563; font-size: 0.82rem; padding: 2px 6px; border-radius: 4px;
                  background: repeating-linear-gradient(45deg, #F3F4F6 0 6px, #E5E7EB 6px 12px); }
  .ns-copybox { position: relative; --ns-code-bg: #F1F1F0; }
  @media (prefers-color-scheme: dark) { .ns-copybox { --ns-code-bg: #262730; } }
  .ns-copybox > pre { margin: 0; padding: 16px 0 16px 16px; border-radius: 8px; overflow-x: auto;
                      background: var(--ns-code-bg); white-space: pre; font: 14px/1.6 "Source Code Pro", monospace; }
  .ns-copybox code { font: inherit; padding: 0 16px 0 0; background: none; color: inherit; }
  .ns-copybox > button { position: absolute; top: 12px; right: 12px; width: 24px; height: 24px; padding: 0;
                         border: none; border-radius: 8px; background: var(--ns-code-bg); cursor: pointer;
                         color: rgba(128, 128, 128, 0.9); font: 14.4px/24px "Material Symbols Rounded";
                         opacity: 0; transition: opacity 0.15s; }
  .ns-copybox:hover > button, .ns-copybox > button:focus-visible { opacity: 1; }
  .ns-copybox > button:hover { color: inherit; }
</style>
"""


def config_dir() -> Path:
    configured = os.environ.get("NORTHSTAR_CONFIG", "").strip()
    return Path(configured).expanduser().resolve() if configured else ROOT / "config"


@st.cache_resource(show_spinner="Generating the demo data (first run only)…")
def _ensure_demo(root: str) -> str:
    from metrics.demo.generate import ensure_demo

    return str(ensure_demo(Path(root)))


def _query_params() -> dict[str, object]:
    out: dict[str, object] = {}
    for key in st.query_params:
        values = st.query_params.get_all(key)
        out[key] = values if len(values) > 1 else (values[0] if values else "")
    return out


def _init_widgets(view: state.ViewState) -> None:
    st.session_state[WIDGETS["as_of"]] = view.as_of
    st.session_state[WIDGETS["start"]] = view.start
    st.session_state[WIDGETS["end"]] = view.end
    st.session_state[WIDGETS["grain"]] = view.grain
    st.session_state[WIDGETS["compare"]] = view.compare or NONE
    st.session_state[WIDGETS["by"]] = view.by or NONE


def _sidebar(view: state.ViewState, options: state.Options) -> state.ViewState:
    for name, key in WIDGETS.items():  # widgets not drawn last run (review mode) lose their state
        if key not in st.session_state:
            st.session_state[key] = getattr(view, name) or (NONE if name in ("compare", "by") else None)
    with st.sidebar:
        st.date_input(
            "As of",
            key=WIDGETS["as_of"],
            min_value=options.min_date,
            max_value=options.max_date,
            help="The day the OKR scorecard is read on (default: the last complete day of data).",
            format="YYYY-MM-DD",
        )
        left, right = st.columns(2)
        left.date_input(
            "From",
            key=WIDGETS["start"],
            min_value=options.min_date,
            max_value=options.max_date,
            format="YYYY-MM-DD",
        )
        right.date_input(
            "To",
            key=WIDGETS["end"],
            min_value=options.min_date,
            max_value=options.max_date,
            format="YYYY-MM-DD",
        )
        st.selectbox("Grain", GRAINS, key=WIDGETS["grain"], format_func=lambda g: g.capitalize())
        st.selectbox(
            "Compare with",
            list(COMPARE_WORDS),
            key=WIDGETS["compare"],
            format_func=lambda c: COMPARE_WORDS[c],
        )
        st.selectbox(
            "Breakdown",
            [NONE, *options.dimensions],
            key=WIDGETS["by"],
            format_func=lambda d: "No breakdown" if d == NONE else d.replace("_", " ").capitalize(),
        )
    ss = st.session_state
    start, end = ss[WIDGETS["start"]], ss[WIDGETS["end"]]
    if start and end and end < start:
        st.sidebar.warning("“To” is before “From”; showing the range the other way round.")
        start, end = end, start
    return view.replace(
        as_of=ss[WIDGETS["as_of"]] or options.default_as_of or options.today,
        start=start or options.default_start,
        end=end or options.default_end,
        grain=ss[WIDGETS["grain"]] or "day",
        compare=None if ss[WIDGETS["compare"]] == NONE else ss[WIDGETS["compare"]],
        by=None if ss[WIDGETS["by"]] == NONE else ss[WIDGETS["by"]],
    )


def _problems(project: Project) -> None:
    problems = list(project.problems)
    if not problems:
        return
    shown = len(project.metrics)
    noun = "problem" if len(problems) == 1 else "problems"
    st.error(
        f"**{len(problems)} {noun} in the project's YAML.** The {shown} valid metrics still show; "
        "fix these (or run `northstar validate`) to see the rest.",
        icon=":material/error:",
    )
    with st.expander("Problems, by file and line", expanded=len(problems) <= 5):
        st.code("\n".join(problem_line(p, project.root) for p in problems), language=None, wrap_lines=True)


def base_url(project: Project, url_path: str) -> str:
    """The app's root URL, where links start: `review.base_url` from project.yaml, else the address
    the browser uses (less the current page's path), else http://localhost:8501."""
    if project.settings.review.base_url:
        return project.settings.review.base_url
    return state.root_url(st.context.url or "", url_path, str(st.get_option("server.baseUrlPath") or ""))


def main() -> None:
    began = time.perf_counter()
    marks: dict[str, float] = {}  # where this run's time went; read by benchmarks/bench_dashboard.py
    st.session_state.setdefault("_timings_all", []).append(marks)
    st.session_state["_timings"] = marks

    def mark(name: str) -> None:
        marks[name] = round(time.perf_counter() - began, 4)

    review_hint = str(st.query_params.get("review", "")).lower() in {"1", "true", "yes", "on"}
    st.set_page_config(
        page_title="Northstar",
        page_icon=":material/flag:",
        layout="wide",
        initial_sidebar_state="collapsed" if review_hint else "expanded",
    )
    st.markdown(APP_CSS, unsafe_allow_html=True)
    folder = config_dir()
    signed_in = auth.gate(folder)  # before anything of the project is shown: stops the run when refused
    try:
        clock.pinned_day()  # a NORTHSTAR_TODAY that is not a day: one sentence, before the clock is read
    except clock.ClockError as exc:
        st.error(str(exc))
        st.stop()
    if folder == ROOT / "config" and not os.environ.get("NORTHSTAR_NO_DEMO"):
        try:
            _ensure_demo(str(ROOT))
        except Exception as exc:
            st.error(
                f"Could not generate the demo data: {for_viewers(exc)}. Run `northstar demo` in a terminal."
            )
    project = cache.project(str(folder))
    mark("project")
    calendar = Calendar.of(project.settings)
    today = calendar.today()
    try:
        engine = cache.engine(str(folder), project)
    except Exception as exc:
        _problems(project)
        st.error(f"The metric engine could not start: {for_viewers(exc)}")
        st.stop()
    mark("engine")
    data_fp = cache.data_fingerprint(engine, project)
    options, first, last = defaults.options(project, engine, today, data_fp)
    mark("data_range")

    ss = st.session_state
    if "_view" not in ss:
        view, warnings = state.parse(_query_params(), options)
        ss["_view"], ss["_parsed_view"], ss["_warnings"] = view, view, warnings
        _init_widgets(view)
    view = ss["_view"]
    if view.review:
        st.markdown(REVIEW_CSS, unsafe_allow_html=True)
    else:
        view = _sidebar(view, options)

    pages = {
        name: st.Page(str(VIEWS / file), title=title, icon=icon, url_path=name, default=name == "okrs")
        for name, file, title, icon in PAGE_SPECS
    }
    current = st.navigation(list(pages.values()), position="hidden" if view.review else "sidebar")
    if "_redirected" not in ss:  # `?page=explorer` on the root URL opens that page
        ss["_redirected"] = True
        if "page" in st.query_params and view.page != "okrs" and current.url_path != view.page:
            st.switch_page(pages[view.page], query_params=view.to_params())
    page_name = next((n for n, p in pages.items() if p.url_path == current.url_path), "okrs")
    view = view.replace(page=page_name)

    ctx = Ctx(
        config_dir=folder,
        project=project,
        engine=engine,
        data_fp=data_fp,
        view=view,
        options=options,
        today=today,
        data_first=first,
        data_last=last,
        calendar=calendar,
        base_url=base_url(project, current.url_path),
        warnings=list(ss.get("_warnings", [])),
    )
    ss[CTX_KEY] = ctx
    ctx.quality_runner().read_stored()  # a report kept by an earlier process: badges on this run
    if ctx.warnings and view == ss.get("_parsed_view", view).replace(page=page_name):
        st.warning(
            "**Parts of this link were ignored:**\n\n" + "\n".join(f"- {w}" for w in ctx.warnings),
            icon=":material/link_off:",
        )
    _problems(project)

    try:
        current.run()
    except Exception as exc:
        if isinstance(exc, NorthstarError):
            st.error(md(for_viewers(exc)), icon=":material/error:")
        else:
            st.error(md(failure(exc)), icon=":material/bug_report:")
            if debug():  # `serve --debug` only: tracebacks hold server paths
                with st.expander("Details for the developers"):
                    st.code(traceback.format_exc(), language=None)

    mark("page")
    view = ctx.view  # pages may change it (the metric picked on the page)
    ss["_view"] = view
    params = view.to_params()
    if dict(st.query_params.to_dict()) != params:
        st.query_params.from_dict(params)

    if not view.review:
        with st.sidebar:
            st.divider()
            st.caption("Share this view")
            copy_box(ctx.share_url(view))
            st.link_button(
                "Open review mode", ctx.share_url(view.replace(review=True)), icon=":material/slideshow:"
            )
            where = f"Config: {mdc(folder)} · " if debug() else ""  # a server path: --debug only
            st.caption(f"{where}Definitions `{project.fingerprint[:8]}`")
    if signed_in is not None:
        auth.signed_in_box(signed_in)

    mark("total")
    runner = ctx.quality_runner()
    # The checks import pandas here and Great Expectations in their thread (seconds of CPU): a
    # session's first run only draws its page and ends; they start on the next run, the first tick
    # of `_await_quality` two seconds later (or any rerun), unless a page started them already.
    if not runner.started and ss.get("_ran_before"):
        runner.start()
    cache.freeze_heap("checks" if runner.done else "first run")
    if not runner.done:
        if view.review:
            _await_quality(runner, quiet=True)
        else:
            with st.sidebar:
                _await_quality(runner, quiet=False)
    ss["_ran_before"] = True


@st.fragment(run_every=2)
def _await_quality(runner: cache.QualityRunner, quiet: bool) -> None:
    """Start the background data checks on this fragment's own first run (not the page's first run,
    which it is part of), and rerun the page once they finish, so badges and marks appear."""
    if not runner.started and st.session_state.get("_ran_before"):
        runner.start()
    if runner.done:
        st.rerun(scope="app")
    if not quiet:
        st.caption(":material/hourglass_top: Running the data checks…")


main()
