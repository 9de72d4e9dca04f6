"""What every page shares: the context the frame prepared, the header stamp, charts, quality badges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import cache, escape
from dashboard.debug import for_viewers, problem_line
from dashboard.figures import chart_config, file_name
from dashboard.format import (
    data_through_words,
    format_date,
    format_range,
    metric_unit,
    sample_noun,
    sample_words,
    stale_data_words,
)
from dashboard.state import Options, ViewState, share_url
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import ANY_EVENT, Grain
from metrics.definitions.project import Project
from metrics.engine.request import MetricRequest, MetricResult

if TYPE_CHECKING:
    from metrics.engine import Engine
    from metrics.okrs import Scorecard
    from metrics.quality.flags import Flag, Shading
    from metrics.quality.report import CheckResult, QualityReport

CTX_KEY = "_northstar_ctx"


@dataclass
class Ctx:
    """Everything a page needs, prepared once per rerun by the frame (`dashboard/app.py`)."""

    config_dir: Path
    project: Project
    engine: Engine
    data_fp: str
    view: ViewState
    options: Options
    today: dt.date
    data_first: dt.date | None
    data_last: dt.date | None
    calendar: Calendar
    base_url: str = "http://localhost:8501"  # the app's root URL, for links (see `app.base_url`)
    warnings: list[str] = field(default_factory=list)
    # this run's checks runner, by the as-of day it was asked for (a page asks once per key result)
    _runner: tuple[dt.date, cache.QualityRunner] | None = field(default=None, repr=False, compare=False)

    @property
    def review(self) -> bool:
        return self.view.review

    def compute(self, request: MetricRequest) -> MetricResult:
        return cache.cached_compute(self.engine, self.project, self.data_fp, request)

    def explain(self, request: MetricRequest) -> str:
        return cache.explain(self.project.fingerprint, self.data_fp, repr(request), self.engine, request)

    def scorecard(self) -> Scorecard:
        as_of = self.view.as_of or self.today
        return cache.scorecard(self.project.fingerprint, self.data_fp, as_of, self.project, self.engine)

    def quality_runner(self) -> cache.QualityRunner:
        """The checks as of the view's day (`cache.quality_runner`), looked up once per run and day:
        the cache's lookup hashes its key, and a page asks for every key result and chart."""
        as_of = self.view.as_of or self.today
        if self._runner is None or self._runner[0] != as_of:
            runner = cache.quality_runner(
                self.project.fingerprint, self.data_fp, as_of, self.project, self.engine
            )
            self._runner = (as_of, runner)
        return self._runner[1]

    def quality(self, wait: float | None = 0) -> QualityReport | None:
        """The quality report if the checks have finished (waiting up to `wait` seconds), else None."""
        runner = self.quality_runner()
        if wait:
            return runner.wait(wait)
        return runner.report if runner.done else None

    def unit(self, metric_id: str) -> str:
        return metric_unit(self.project, metric_id)

    def share_url(self, view: ViewState | None = None) -> str:
        """The link that reproduces `view` (default: what is on screen)."""
        view = view or self.view
        return share_url(self.base_url, view.page, view)

    def direction(self, metric_id: str) -> str:
        metric = self.project.metrics.get(metric_id)
        return metric.direction if metric is not None else "increase"

    def range_kind_leaf(self, metric_id: str) -> str:
        """`mean` when a metric's period value is its last day's (`Project.reads_last_day`), else `span`."""
        return "mean" if self.project.reads_last_day(metric_id) else "span"

    def dimensions_of(self, metric_id: str) -> list[str]:
        """The dimensions every source of the metric has (a ratio needs them on both parts)."""
        if metric_id not in self.project.metrics:
            return []
        sets = [set(self.project.sources[s].dimensions) for s in self.project.source_of(metric_id)]
        common = set.intersection(*sets) if sets else set()
        ordered = [
            d for s in sorted(self.project.source_of(metric_id)) for d in self.project.sources[s].dimensions
        ]
        return [d for d in dict.fromkeys(ordered) if d in common]

    def range(self) -> tuple[dt.date, dt.date]:
        start = self.view.start or self.data_first or self.today
        end = self.view.end or self.data_last or self.today
        return start, end


def context() -> Ctx:
    ctx = st.session_state.get(CTX_KEY)
    if ctx is None:  # a page opened without the frame (should not happen with st.navigation)
        st.error("Open the dashboard through its main page (northstar serve).")
        st.stop()
    return cast(Ctx, ctx)


def pick(ctx: Ctx, ids: list[str], field: str, key: str, label: str, missing: str) -> str | None:
    """A metric selector (hidden in review mode) for the view's `field` (metric, funnel, retention),
    keeping ctx.view in step with it; without any metric to pick, the `missing` note and None."""
    if not ids:
        st.info(missing)
        return None
    current: str = getattr(ctx.view, field)
    current = current if current in ids else ids[0]
    # Outside a session (the warm-up thread, `dashboard/preload.py`) a widget draws nothing and would
    # answer its first option: the view's choice stands.
    if not ctx.review and get_script_run_ctx() is not None:
        if st.session_state.get(key) not in ids:
            st.session_state[key] = current
        current = str(
            st.selectbox(label, ids, key=key, format_func=lambda m: f"{ctx.project.label(m)}  ({m})")
        )
    ctx.view = ctx.view.replace(**{field: current})
    return current


def breakdown(ctx: Ctx, metric_id: str, fallback: str) -> str | None:
    """The view's breakdown when the metric's sources have that dimension, else None with a note
    (`fallback` says what shows instead)."""
    by = ctx.view.by
    if by is None or by in ctx.dimensions_of(metric_id):
        return by
    listed = ", ".join(ctx.dimensions_of(metric_id)) or "no dimensions"
    st.info(
        f"{md(ctx.project.label(metric_id))} cannot be broken down by **{md(by)}** "
        f"(its source lists: {md(listed)}); {fallback}."
    )
    return None


def header(ctx: Ctx, title: str, subtitle: str | None = None) -> None:
    """Page title plus the stamp every screenshot needs: as-of date and data freshness."""
    st.title(title)
    as_of = ctx.view.as_of or ctx.today
    freshness = data_through_words(ctx.data_last, as_of, today=ctx.today, strong=True, running=ctx.today)
    parts = [f"As of **{format_date(as_of)}**", freshness, md(ctx.project.settings.name)]
    if subtitle:
        parts.append(subtitle)
    st.caption(" · ".join(parts))
    stale = stale_data_words(ctx.data_last, ctx.today, as_of, oldest=ctx.data_first)
    if stale is not None:
        words, incomplete = stale
        (st.warning if incomplete else st.info)(words)


def plot(fig: go.Figure, ctx: Ctx, *parts: object, key: str | None = None) -> None:
    """Place a figure with our template (not Streamlit's theme) and a 2x PNG download named for it."""
    st.plotly_chart(
        fig,
        theme=None,
        config=chart_config(file_name(*parts), review=ctx.review),
        key=key,
        width="stretch",
    )


# The copy box's button: the browser's clipboard (secure pages: https, localhost), else the text
# selected and copied the older way, so a server reached over plain http copies too. It reads the text
# from the box, so nothing of the text is ever written into the script.
_COPY_SCRIPT = """<script>
(() => {
  const box = document.currentScript.parentElement.querySelector(".ns-copybox");
  const button = box.querySelector("button");
  const text = box.querySelector("code");
  const done = () => {
    button.textContent = "check";
    button.title = "Copied";
    setTimeout(() => { button.textContent = "content_copy"; button.title = "Copy to clipboard"; }, 2000);
  };
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(text);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand("copy")) { selection.removeAllRanges(); done(); }
  };
  button.addEventListener("click", () => {
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text.textContent).then(done, select);
    else select();
  });
})();
</script>"""


def copy_box_html(text: str) -> str:
    """The HTML of `copy_box`: the text (HTML-escaped, shown as it is) and the copy button."""
    return (
        f'<div class="ns-copybox"><pre><code>{escape.html_text(text, quote=False)}</code></pre>'
        '<button type="button" title="Copy to clipboard" aria-label="Copy to clipboard">content_copy</button>'
        f"</div>{_COPY_SCRIPT}"
    )


def copy_box(text: str) -> None:
    """Text to copy (the link to share, a table), shown as it is in a grey monospace box that scrolls
    sideways, with a copy button at its top right, as st.code shows it. Not st.code: that loads a
    1.5 MB syntax highlighter into the browser for any language, plain text included (every new
    session of the dashboard paid for it in the share link's box; docs/performance.md)."""
    st.html(copy_box_html(text), unsafe_allow_javascript=True)


def sample_html(ctx: Ctx, metric_id: str, numerator: float | None, denominator: float | None) -> str:
    """What a rate's reading is out of ('3 of 8 users'), as HTML for st.markdown(...,
    unsafe_allow_html=True): hatched grey and worded as uncertain when that is below the project's
    min_sample (`ProjectConfig.uncertain`), in the words of `metrics.format.sample_words` (as the CLI
    and the pack write it); "" without a denominator."""
    minimum = ctx.project.settings.min_sample
    noun, numerator_unit = sample_noun(ctx.project, metric_id)
    sample = escape.html_text(sample_words(numerator, denominator, noun, numerator_unit, min_sample=minimum))
    if not sample:
        return ""
    if ctx.project.settings.uncertain(denominator):
        return (
            f'<div class="ns-uncertain" title="fewer than min_sample ({minimum}): the reading may move a lot">'
            f"{sample}</div>"
        )
    return f'<div class="ns-small">{sample}</div>'


def sample_line(ctx: Ctx, metric_id: str, numerator: float | None, denominator: float | None) -> None:
    """`sample_html` as an element of its own; nothing without a denominator."""
    sample = sample_html(ctx, metric_id, numerator, denominator)
    if sample:
        st.markdown(sample, unsafe_allow_html=True)


# The pages' short names for the escapes of `dashboard.escape` (the one home of escaping).
md = escape.markdown  # st.markdown and every element that reads Markdown
mdc = escape.markdown_code  # inside an inline code span


def cohort_words(cohort_event: str) -> str:
    """What a retention cohort's members did first, as the retention and definitions pages say it:
    'first ever `signup`', or 'first ever event (first seen)' for `cohort_event: any` (the retention
    page once said 'users whose first `any` falls in the week')."""
    return "first ever event (first seen)" if cohort_event == ANY_EVENT else f"first ever {mdc(cohort_event)}"


mdh = escape.markdown_html  # st.markdown(..., unsafe_allow_html=True)


# --- data quality -------------------------------------------------------------------------------


def quality_shading(
    ctx: Ctx, metric_id: str, grain: Grain, start: dt.date | None = None, end: dt.date | None = None
) -> tuple[Shading, ...]:
    """What a chart of the metric shades at `grain` over start .. end (`metrics.quality.flags.shading`);
    nothing before the checks have finished."""
    from metrics.quality.flags import shading

    project = ctx.project
    return shading(
        ctx.quality(),
        project.source_of(metric_id),
        ctx.calendar,
        grain,
        start,
        end,
        user_sources=project.user_sources(metric_id),
        user_metrics=project.user_metrics(metric_id),
    )


def unjudged_note(ctx: Ctx, start: dt.date, end: dt.date) -> None:
    """Under a chart that runs past the as-of day (a shared link with an earlier as-of): the data
    checks are judged as of that day, so the later days are not checked and carry no shading
    (`metrics.quality.flags.unjudged`); said only once the checks have run."""
    from metrics.quality.flags import unjudged

    as_of = ctx.view.as_of or ctx.today
    span = unjudged(as_of, start, end)
    if span is None or ctx.quality() is None:
        return
    st.caption(
        f"The data checks are judged as of {format_date(as_of)}: {format_range(*span)} "
        "is not checked, so nothing there is shaded."
    )


def _reason(result: CheckResult) -> str:
    reason = result.check.replace("_", " ")
    if result.details:
        return f"{reason}: {for_viewers(result.details)}"
    if result.unexpected_count:
        return f"{reason} ({result.unexpected_count:,} rows)"
    return reason


def _short(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def show_flag(flag: Flag | None, *, compact: bool = False) -> None:
    """A number's data-quality flag as a badge: red "Data check failed" for an error-severity check,
    amber "Data warning" for warnings only, with the checks behind it (`compact`: their names, for a
    KR tile; the details are in the tooltip)."""
    if flag is None:
        return
    failed = flag.checks
    color = "red" if flag.severity == "error" else "orange"
    icon = ":material/error:" if flag.severity == "error" else ":material/warning:"
    more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
    badge = f":{color}-badge[{icon} {flag.words}]"
    if compact:
        # names only: a count may be rows, copies or days (the tooltip's details say which)
        names = "; ".join(f"{r.source}: {r.check.replace('_', ' ')}" for r in failed[:3])
        st.markdown(f"{badge} {md(names)}{more}", help="; ".join(f"{r.source}: {_reason(r)}" for r in failed))
        return
    reasons = "; ".join(f"{r.source}: {_short(_reason(r))}" for r in failed[:3])
    st.markdown(f"{badge} {md(reasons)}{more}")


def quality_badge(
    ctx: Ctx, metric_id: str, span: tuple[dt.date, dt.date] | None = None, *, compact: bool = False
) -> Flag | None:
    """The badge of a number of the metric that reads the days of `span` (default: the view's range),
    by the one rule (`metrics.quality.flags.flag_for`); returns the flag."""
    from metrics.quality.flags import flag_for

    project = ctx.project
    flag = flag_for(
        ctx.quality(),
        project.source_of(metric_id),
        span or ctx.range(),
        user_sources=project.user_sources(metric_id),
        user_metrics=project.user_metrics(metric_id),
    )
    show_flag(flag, compact=compact)
    return flag


def definition_warnings(ctx: Ctx, metric_id: str) -> None:
    """The validation warnings on a metric (e.g. an event that never occurs in its source), each
    where it was written: the metric still shows, but may not count what was meant."""
    for warning in ctx.project.warnings_for(metric_id):
        st.warning(md(problem_line(warning, ctx.project.root)), icon="⚠️")
