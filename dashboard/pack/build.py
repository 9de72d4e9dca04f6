"""The review pack, computed and written: the quarter's story as PNG images, one offline page and a
paste-ready summary.

`plan_pack` scores the OKRs, runs the data checks and builds every figure into a `Plan` (no
rendering); `write_pack` renders the plan's images (`images`) and pages (`html`) into a folder;
`build_pack(project, engine, out)` does both and writes into `out`:

* one PNG per objective (its scorecard), per key result (its chart over the period) and per metric
  the project pins for reviews (`review.pinned_metrics` in project.yaml), 2000 px wide;
* `index.html`: every chart, interactive, with Plotly's JavaScript embedded once (opens offline);
* `summary.md`: objectives and key results with current, target, progress, status and probability.

The figures are the dashboard's own (`dashboard.figures`), so a chart in a deck and on screen never
disagree; the numbers are the scorecard of `northstar okrs` for the same as-of date. Every item is
stamped with the as-of date, how fresh its data is, its data-quality status, the git commit of the
config, and the dashboard URL that reproduces it. `build_pack_zip` makes the same pack as a zip
(the dashboard's "Download review pack" button).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import polars as pl

from dashboard import figures
from dashboard.format import kr_title, maturing_label, metric_unit, sample_noun
from dashboard.pack.folder import check_out, staged
from dashboard.pack.html import render_html, render_summary
from dashboard.pack.images import Image, ImageRenderer, Renderer, RenderStats, render_pngs
from dashboard.pack.model import PINNED_DAYS, SCALE, PackError, PackItem, Plan, Quality, Stamp
from dashboard.pack.notes import key_result_movers, pack_events
from dashboard.state import ViewState, share_url
from metrics.definitions.models import RatioMetric
from metrics.definitions.project import Project
from metrics.engine.as_of import default_as_of
from metrics.engine.request import MetricRequest

if TYPE_CHECKING:
    from metrics.definitions.models import KeyResult
    from metrics.engine import Engine
    from metrics.okrs import KeyResultScore, ObjectiveScore, Scorecard
    from metrics.quality import CheckResult, QualityReport
    from metrics.quality.flags import Flag, Shading

__all__ = [
    "PackSummary",
    "build_pack",
    "build_pack_zip",
    "config_commit",
    "pack_file_name",
    "plan_pack",
    "write_pack",
    "zip_pack",
]

DEFAULT_BASE_URL = "http://localhost:8501"
WIDTH = figures.EXPORT_WIDTH
FOOTER = 46  # px added below every image for its stamp and link


# --- what the stamps say ---------------------------------------------------------------------------


def config_commit(folder: Path) -> str:
    """`git rev-parse --short HEAD` of the repository holding the config, plus `-dirty` when a file
    of the config folder has uncommitted changes (untracked files included); "not in git" otherwise."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    head = git("rev-parse", "--short", "HEAD")
    if not head or not head.strip():
        return "not in git"
    changes = git("status", "--porcelain", "--untracked-files=all", "--", ".")
    return head.strip() + ("-dirty" if changes is None or changes.strip() else "")


class _Facts:
    """Per-source facts for the stamps (newest day, quality verdicts), each looked up once."""

    def __init__(
        self, project: Project, engine: Engine, report: QualityReport | None, report_error: str | None
    ) -> None:
        self.project = project
        self.engine = engine
        self.report = report
        self.report_error = report_error
        self._last: dict[str, dt.date | None] = {}

    def last_day(self, source: str) -> dt.date | None:
        if source not in self._last:
            metric = next(
                (
                    m
                    for m, d in self.project.metrics.items()
                    if not isinstance(d, RatioMetric) and d.source == source
                ),
                None,
            )
            day: dt.date | None = None
            if metric is not None:
                try:
                    day = self.engine.data_range([metric])[1]
                except Exception:  # an unreadable or empty source has no newest day; its checks say why
                    day = None
            self._last[source] = day
        return self._last[source]

    def data_through(self, sources: Iterable[str]) -> dt.date | None:
        days = [self.last_day(s) for s in sorted(set(sources))]
        known = [d for d in days if d is not None]
        return min(known) if known else None

    def quality(self, sources: Iterable[str] | None = None) -> Quality:
        """Every check on the sources, failed or not: the pack's own stamp (the data-quality page's view)."""
        if self.report is None:
            return Quality(error=self.report_error or "the data checks did not run")
        if left_out := self.project.left_out_sources():  # its checks never ran: as `northstar check` says
            return Quality(
                error=f"source {left_out[0]!r} has errors in its definition; its checks did not run"
            )
        wanted = None if sources is None else set(sources)
        results = [r for r in self.report.results if wanted is None or r.source in wanted]
        return _quality([r for r in results if not r.success], len(results))

    def flagged(self, sources: Iterable[str], flags: Iterable[Flag | None]) -> Quality:
        """The stamp of an item whose numbers carry these flags (`metrics.quality.flags`): only the
        checks behind them, a warning as a warning."""
        if self.report is None:
            return Quality(error=self.report_error or "the data checks did not run")
        wanted = set(sources)
        behind = {r: None for flag in flags if flag is not None for r in flag.checks}
        mine = [r for r in self.report.results if r.source in wanted]
        quality = _quality(list(behind), len(mine))
        elsewhere = sum(1 for r in mine if not r.success and r not in behind)
        return dataclasses.replace(quality, elsewhere=elsewhere)

    def flag(self, kr: KeyResultScore) -> Flag | None:
        """A key result's flag, by the one rule the OKR page calls (`number_flag`)."""
        from metrics.quality.flags import number_flag

        return number_flag(self.report, kr)

    def shading(self, metric_id: str, start: dt.date, end: dt.date) -> tuple[Shading, ...]:
        """What a day-grain chart of the metric over start .. end shades, as the app does
        (`flags.shading`)."""
        from metrics.quality.flags import shading

        return shading(
            self.report,
            self.project.source_of(metric_id),
            self.engine.calendar,
            "day",
            start,
            end,
            user_sources=self.project.user_sources(metric_id),
            user_metrics=self.project.user_metrics(metric_id),
        )


def _quality(failed: Iterable[CheckResult], checks: int) -> Quality:
    failed = list(failed)
    errors = [r for r in failed if r.severity == "error"]
    warned = [r for r in failed if r.severity != "error"]
    reasons = tuple(
        f"{r.source}: {r.check} ({'failed' if r.severity == 'error' else 'warning'}): {r.details}"
        for r in [*errors, *warned]
    )
    return Quality(failed=len(errors), warnings=len(warned), checks=checks, reasons=reasons)


# --- the items: one figure and stamp each ----------------------------------------------------------


def _footer_lines(stamp: Stamp, width: int = 110) -> list[str]:
    """The stamp's line, split at a ' · ' when too long for the footer, then the URL."""
    parts = stamp.line().split(" · ")
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) > width:
            lines.append(part)
        else:
            lines[-1] += " · " + part
    return [*lines, stamp.url]


def footer_height(stamp: Stamp) -> int:
    """Pixels added below a figure for its stamp: 14 a line plus a margin."""
    return FOOTER + 14 * (len(_footer_lines(stamp)) - 2)


def stamped(fig: go.Figure, stamp: Stamp) -> go.Figure:
    """A copy of the figure with a footer: the stamp's line and the URL that reproduces it."""
    out = go.Figure(fig)
    extra = footer_height(stamp)
    height = int(out.layout.height or 420)
    bottom = int(out.layout.margin.b if out.layout.margin.b is not None else 48)
    total = height + extra
    out.update_layout(height=total, width=WIDTH, margin={"b": bottom + extra})
    # The title and legend sit at pixel offsets from the top: place them again for the new height.
    figures.finish(out)
    plot = total - int(out.layout.margin.t) - (bottom + extra)
    *words, url = _footer_lines(stamp)
    out.add_annotation(
        text="<br>".join(
            [f"<span style='color:{figures.MUTED}'>{figures.plain(line)}</span>" for line in words]
            + [f"<span style='color:{figures.PRIMARY}'>{figures.plain(url)}</span>"]
        ),
        xref="paper",
        yref="paper",
        x=0,
        y=-(bottom + extra - 6) / plot,
        xanchor="left",
        yanchor="bottom",
        align="left",
        showarrow=False,
        font={"size": 10.5, "color": figures.MUTED},
    )
    return out


class _Builder:
    """The pack's items, in order, each with its figure, a file name of its own and its stamp."""

    def __init__(
        self,
        project: Project,
        engine: Engine,
        as_of: dt.date,
        base_url: str,
        facts: _Facts,
        commit: str,
    ) -> None:
        self.project = project
        self.engine = engine
        self.as_of = as_of
        self.base_url = base_url
        self.facts = facts
        self.commit = commit
        self.running = engine.today()  # the day still running, read once for every stamp
        self.files: set[str] = set()

    def stamp(self, sources: Iterable[str], view: ViewState, quality: Quality | None = None) -> Stamp:
        """The item's stamp; `quality`: its numbers' flags (default: every check on its sources)."""
        sources = set(sources)
        newest = self.facts.data_through(sources)
        return Stamp(
            project=self.project.settings.name,
            as_of=self.as_of,
            # The numbers are read as of the as-of date: data after it plays no part in them.
            data_through=min(newest, self.as_of) if newest else None,
            newest=newest,
            running=self.running,
            quality=self.facts.quality(sources) if quality is None else quality,
            commit=self.commit,
            url=share_url(self.base_url, view.page, view),
        )

    def file(self, *parts: object) -> str:
        name = figures.file_name(*parts, self.as_of)
        candidate, n = name, 2
        while candidate in self.files:
            candidate, n = f"{name}-{n}", n + 1
        self.files.add(candidate)
        return candidate + ".png"

    def view(self, **changes: object) -> ViewState:
        return ViewState(as_of=self.as_of).replace(**changes)

    # objectives and key results

    def okr_items(self, card: Scorecard) -> list[PackItem]:
        """Per objective: its scorecard image, then one image per key result."""
        definitions = {o.id: o for o in self.project.okrs}
        items: list[PackItem] = []
        for objective in card.objectives:
            definition = definitions.get(objective.id)
            if definition is None:
                continue
            kr_defs = {kr.id: kr for kr in definition.key_results}
            scored = [(kr, kr_defs[kr.id]) for kr in objective.key_results if kr.id in kr_defs]
            sources: set[str] = set()
            for _, kr_def in scored:
                sources |= self.project.source_of(kr_def.metric)
            fig = figures.objective_figure(self.project, objective, as_of=self.as_of)
            flags = [self.facts.flag(kr) for kr, _ in scored]
            stamp = self.stamp(sources, self.view(page="okrs"), self.facts.flagged(sources, flags))
            items.append(
                PackItem(
                    kind="objective",
                    id=objective.id,
                    title=definition.objective,
                    figure=fig,
                    file=self.file("objective", objective.id),
                    stamp=stamp,
                    width=WIDTH,
                    height=int(fig.layout.height or 420) + footer_height(stamp),
                    objective=objective.id,
                )
            )
            items += [self.kr_item(objective, kr, kr_def) for kr, kr_def in scored]
        return items

    def kr_item(self, objective: ObjectiveScore, kr: KeyResultScore, kr_def: KeyResult) -> PackItem:
        from metrics.quality.flags import period_shading

        sources = self.project.source_of(kr_def.metric)
        marks = period_shading(self.facts.report, kr, self.engine.calendar)
        fig = figures.kr_figure(self.project, kr, kr_def, quality_marks=marks, as_of=self.as_of)
        # The explorer on the KR's metric over the KR's period shows this chart under the metric's.
        start, end = objective.start, objective.end
        view = self.view(
            page="explorer", metric=kr_def.metric, start=start, end=max(start, min(end, self.as_of))
        )
        stamp = self.stamp(sources, view, self.facts.flagged(sources, [self.facts.flag(kr)]))
        return PackItem(
            kind="key_result",
            id=kr.id,
            title=kr_title(self.project, kr_def),
            figure=fig,
            file=self.file("kr", kr.id),
            stamp=stamp,
            width=WIDTH,
            height=int(fig.layout.height or 420) + footer_height(stamp),
            objective=objective.id,
            note=kr.problem,
            warnings=kr.warnings,
        )

    # pinned metrics

    def metric_item(self, metric_id: str, card: Scorecard) -> PackItem:
        from metrics.quality.flags import flag_for

        sources = self.project.source_of(metric_id)
        last = self.facts.data_through(sources)
        end = min(self.as_of, last) if last else self.as_of
        # At the grain pinned in project.yaml (default: week for rates, which zigzag day by day),
        # whole periods from the first one holding the 90th day before the end.
        grain = self.project.settings.review.grain_of(metric_id, self.project.metrics[metric_id].type)
        start = self.engine.calendar.bucket_start(end - dt.timedelta(days=PINNED_DAYS - 1), grain)
        request = MetricRequest((metric_id,), start, end, grain, None, "previous_period")
        result = self.engine.compute(request)
        main = result.series(metric_id)
        past = (
            result.comparison.filter(pl.col("metric") == metric_id) if result.comparison is not None else None
        )
        # As in the explorer: a key result reading what the chart plots shows its target and forecast.
        target, band = figures.kr_overlay(self.project, card, metric_id, grain)
        label = self.project.label(metric_id)
        fig = figures.metric_timeseries(
            main,
            label=label,
            unit=metric_unit(self.project, metric_id),
            start=result.start,
            end=result.end,
            grain=grain,
            comparison=past,
            comparison_label="Previous period",
            target=target,
            forecast=band,
            quality_marks=self.facts.shading(metric_id, result.start, result.end),
            min_sample=self.project.settings.min_sample,
            noun=sample_noun(self.project, metric_id),
            annotations=self.project.annotations_for(metric_id),
            maturing=self.engine.maturing_periods(metric_id, result.start, result.end, grain),
            maturing_label=maturing_label(self.project, metric_id),
        )
        view = self.view(
            page="explorer",
            metric=metric_id,
            start=result.start,
            end=result.end,
            grain=grain,
            compare="previous_period",
        )
        span_flag = flag_for(
            self.facts.report,
            sources,
            (result.start, result.end),
            user_sources=self.project.user_sources(metric_id),
            user_metrics=self.project.user_metrics(metric_id),
        )
        stamp = self.stamp(sources, view, self.facts.flagged(sources, [span_flag]))
        return PackItem(
            kind="metric",
            id=metric_id,
            title=label,
            figure=fig,
            file=self.file("metric", metric_id),
            stamp=stamp,
            width=WIDTH,
            height=int(fig.layout.height or 440) + footer_height(stamp),
        )


# --- the pack ---------------------------------------------------------------------------------------


def _quality_report(
    project: Project, engine: Engine, as_of: dt.date
) -> tuple[QualityReport | None, str | None]:
    """The data checks as of the as-of day (`metrics.quality.clock`), or None and why they could not run."""
    from metrics.quality import run_checks_as_of  # the checks' modules load only when a pack is made

    try:
        return run_checks_as_of(project, engine, as_of), None
    except Exception as exc:  # the pack still gets written; its stamps say the checks did not run
        return None, " ".join(str(exc).split()) or type(exc).__name__


def _scorecard(project: Project, engine: Engine, as_of: dt.date) -> Scorecard:
    # Scoring's modules (forecasts among them) take half a second to import: only when a pack is made.
    from metrics.okrs import Scorecard, score
    from metrics.okrs.forecast_store import StoredOutlooks

    # forecasts fitted before (by the dashboard or an earlier pack) are read from the result store
    stored = None if engine.result_store is None else StoredOutlooks(engine.result_store)
    return score(project, engine, as_of, executor=stored) if project.okrs else Scorecard(as_of=as_of)


def plan_pack(
    project: Project,
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    base_url: str | None = None,
) -> Plan:
    """Score the OKRs, run the data checks, and build every figure of the pack (no rendering)."""
    timings: dict[str, float] = {}
    base = (base_url or project.settings.review.base_url or DEFAULT_BASE_URL).strip()
    if not base.startswith(("http://", "https://")):
        raise PackError(f"the base URL {base!r} is not a web address; write it as https://host[:port][/path]")
    day = as_of if as_of is not None else default_as_of(project, engine)

    def checks(day: dt.date = day) -> tuple[QualityReport | None, str | None, float]:
        began = time.perf_counter()
        report, error = _quality_report(project, engine, day)
        return report, error, time.perf_counter() - began

    # The data checks run beside the scoring (both spend their time in Polars and I/O, which
    # release the GIL); the dashboard runs them on a thread of their own the same way.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="northstar-pack-checks") as pool:
        pending = pool.submit(checks)
        tick = time.perf_counter()
        card = _scorecard(project, engine, day)
        day = card.as_of
        timings["scorecard"] = time.perf_counter() - tick
        report, report_error, timings["quality"] = pending.result()

    tick = time.perf_counter()
    builder = _Builder(
        project, engine, day, base, _Facts(project, engine, report, report_error), config_commit(project.root)
    )
    items = builder.okr_items(card)
    # a pinned metric that is not valid is left out and listed with its located problem (`html.left_out`)
    items += [
        builder.metric_item(m, card) for m in project.settings.review.pinned_metrics if m in project.metrics
    ]
    stamp = builder.stamp(set(project.sources), builder.view(page="okrs"))
    timings["figures"] = time.perf_counter() - tick
    tick = time.perf_counter()
    movers, author_notes = key_result_movers(project, engine, card)
    timings["movers"] = time.perf_counter() - tick
    return Plan(
        stamp=stamp,
        scorecard=card,
        items=tuple(items),
        timings=timings,
        report=report,
        movers=movers,
        author_notes=author_notes,
    )


@dataclass(frozen=True)
class PackSummary:
    """What `build_pack` wrote and how long it took; `str()` is what `northstar snapshot` prints."""

    out: Path
    files: tuple[Path, ...]
    items: tuple[PackItem, ...]
    stamp: Stamp
    seconds: float
    render: RenderStats
    timings: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # for the author (`Plan.author_notes`)

    @property
    def images(self) -> tuple[Path, ...]:
        return tuple(f for f in self.files if f.suffix == ".png")

    def __str__(self) -> str:
        kinds = {k: sum(1 for i in self.items if i.kind == k) for k in ("objective", "key_result", "metric")}
        lines = [
            f"Wrote the review pack to {self.out} in {self.seconds:.1f} s:",
            f"  {len(self.images)} PNG images ({kinds['objective']} objectives, {kinds['key_result']} key results, "
            f"{kinds['metric']} pinned metrics), rendered in {self.render.seconds:.1f} s by one browser",
        ]
        for path in self.files:
            if path.suffix != ".png":
                lines.append(f"  {path.name} ({_size(path.stat().st_size)})")
        lines.append(f"  {self.stamp.line()}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} B"


def write_pack(
    plan: Plan,
    project: Project,
    out: Path,
    *,
    browser: str | None = None,
    renderer: ImageRenderer | None = None,
) -> PackSummary:
    """Render the plan's images (one browser: `renderer`, else one started here) and write them,
    index.html, summary.md and pack.json: into a folder beside `out` that then replaces it
    (`dashboard.pack.folder` says which `out` is refused)."""
    began = time.perf_counter()
    out = Path(out)
    with staged(out) as stage:
        render, timings, pages = _write_into(stage, plan, project, browser=browser, renderer=renderer)
    files = tuple([out / i.file for i in plan.items] + [out / name for name in pages])
    return PackSummary(
        out=out,
        files=files,
        items=plan.items,
        stamp=plan.stamp,
        seconds=sum(plan.timings.values()) + time.perf_counter() - began,
        render=render,
        timings=timings,
        notes=plan.author_notes,
    )


def _write_into(
    stage: Path, plan: Plan, project: Project, *, browser: str | None, renderer: ImageRenderer | None
) -> tuple[RenderStats, dict[str, float], dict[str, str]]:
    """Render the images and write every file of the pack into `stage`."""
    images = [
        Image(
            figure=stamped(item.figure, item.stamp),
            path=stage / item.file,
            width=item.width,
            height=item.height,
            scale=SCALE,
            text={
                "Title": item.title,
                "Source": item.stamp.url,
                "Comment": item.stamp.line(),
                "Software": "Northstar review pack",
            },
        )
        for item in plan.items
    ]
    if renderer is not None and images:
        render = renderer.render(images)
    else:
        render = render_pngs(images, browser=browser)
    timings = {**plan.timings, "images": render.seconds}

    tick = time.perf_counter()
    summary_md = render_summary(
        project,
        plan.scorecard,
        plan.items,
        plan.stamp,
        events=pack_events(project, plan),
        movers=plan.movers,
    )
    pages = {
        "index.html": render_html(project, plan.scorecard, plan.items, plan.stamp),
        "summary.md": summary_md,
        "pack.json": json.dumps(
            {
                "stamp": plan.stamp.to_json(),
                "scorecard": plan.scorecard.to_json(flag=plan.flag_json),
                "items": [i.to_json() for i in plan.items],
            },
            indent=2,
        )
        + "\n",
    }
    try:
        for name, text in pages.items():
            (stage / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PackError(f"cannot write the pack into {stage.parent}: {exc.strerror or exc}") from None
    timings["pages"] = time.perf_counter() - tick
    return render, timings, pages


def build_pack(
    project: Project,
    engine: Engine,
    out: Path,
    *,
    as_of: dt.date | None = None,
    base_url: str | None = None,
    browser: str | None = None,
    renderer: ImageRenderer | None = None,
) -> PackSummary:
    """Write the review pack into `out` (created if missing) and say what was written and how long it took.

    `as_of` defaults to the engine's today; `base_url` (for the links) to `review.base_url` in
    project.yaml, else http://localhost:8501; `browser` to the Chromium that `find_browser` picks.
    `renderer` renders the images (the dashboard passes its shared browser); else a browser is
    started for this pack."""
    began = time.perf_counter()
    check_out(Path(out).absolute())  # refuse before the work, not after it
    if renderer is not None:
        plan = plan_pack(project, engine, as_of=as_of, base_url=base_url)
        summary = write_pack(plan, project, out, renderer=renderer)
    elif not (project.okrs or project.settings.review.pinned_metrics):
        summary = write_pack(plan_pack(project, engine, as_of=as_of, base_url=base_url), project, out)
    else:
        # The browser starts up (a few seconds) while the OKRs are scored and the checks run.
        with Renderer(browser) as renderer:
            plan = plan_pack(project, engine, as_of=as_of, base_url=base_url)
            summary = write_pack(plan, project, out, renderer=renderer)
    return dataclasses.replace(summary, seconds=time.perf_counter() - began)


def zip_pack(summary: PackSummary) -> bytes:
    """The written pack as a zip holding one folder, `northstar-review-<as-of>/`."""
    folder = f"northstar-review-{summary.stamp.as_of.isoformat()}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in summary.files:
            # PNGs are compressed already: store them; the page and the text deflate well.
            kind = zipfile.ZIP_STORED if path.suffix == ".png" else zipfile.ZIP_DEFLATED
            archive.write(path, f"{folder}/{path.name}", compress_type=kind)
    return buffer.getvalue()


def build_pack_zip(
    project: Project,
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    base_url: str | None = None,
    browser: str | None = None,
    renderer: ImageRenderer | None = None,
) -> bytes:
    """The same pack as `build_pack`, as the bytes of a zip (the dashboard's download button)."""
    with tempfile.TemporaryDirectory(prefix="northstar-pack-") as tmp:
        summary = build_pack(
            project, engine, Path(tmp), as_of=as_of, base_url=base_url, browser=browser, renderer=renderer
        )
        return zip_pack(summary)


def pack_file_name(as_of: dt.date) -> str:
    """What the downloaded zip is called: `northstar-review-<as-of>.zip`."""
    return f"northstar-review-{as_of.isoformat()}.zip"
