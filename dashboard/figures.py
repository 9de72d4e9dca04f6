"""Pure Plotly figure builders: results in, `go.Figure` out. No streamlit here.

One stage: every chart the product draws, from results and scores to figures, with the template
and layout helpers they share; nothing here reads data or places a figure.

The dashboard places these figures and the review pack (`dashboard/pack/`) exports the same
ones as PNG and HTML, so a chart on screen and a chart in a deck never disagree. Every figure uses
one template (`TEMPLATE`), formats its axis in the metric's unit, and carries a title that names
the period it shows. Render them with `theme=None` in `st.plotly_chart`, or Streamlit's theme
replaces the template.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import polars as pl

from dashboard import escape
from dashboard.format import (
    axis_format,
    format_date,
    format_probability,
    format_progress,
    format_range,
    format_sample,
    format_target,
    format_value,
    kr_title,
    metric_unit,
    raw_number,
    slug,
    status_words,
)
from metrics.definitions.models import ADDITIVE_TYPES, DEFAULT_MIN_SAMPLE, LAST_DAY_TYPES, is_uncertain

if TYPE_CHECKING:
    from metrics.definitions.models import Annotation, KeyResult
    from metrics.definitions.project import Project
    from metrics.okrs import KeyResultScore, ObjectiveScore, Scorecard
    from metrics.quality.flags import Shading

# Streamlit's own face first (loaded by the page), then faces kaleido finds on a Debian machine.
FONT = "'Source Sans', 'Source Sans Pro', 'Liberation Sans', Arial, 'DejaVu Sans', sans-serif"
INK = "#111827"
MUTED = "#6B7280"
GRID = "#E5E7EB"
PRIMARY = "#2563EB"
COMPARISON = "#9CA3AF"
TARGET = "#111827"
FORECAST_FILL = "rgba(37, 99, 235, 0.14)"
QUALITY_FILL = "rgba(220, 38, 38, 0.10)"
QUALITY_LINE = "#DC2626"
WARNING_FILL = "rgba(217, 119, 6, 0.16)"  # amber: a data warning, never drawn as a failure
MATURING_FILL = "rgba(107, 114, 128, 0.12)"  # grey: cohorts that can still convert or return
UNCERTAIN_FILL = "#D1D5DB"  # readings of fewer than min_sample (metrics.definitions.models.is_uncertain)
UNCERTAIN_LINE = "#6B7280"
EVENT_LINE = "#7C3AED"  # annotations (annotations.yaml): launches, releases, incidents, campaigns
EVENT_FILL = "rgba(124, 58, 237, 0.08)"
PALETTE = (
    "#2563EB",
    "#F97316",
    "#10B981",
    "#A855F7",
    "#EF4444",
    "#0EA5E9",
    "#EAB308",
    "#EC4899",
    "#14B8A6",
    "#64748B",
)
STATUS_COLORS = {
    "on_track": "#16A34A",
    "at_risk": "#D97706",
    "off_track": "#DC2626",
    "achieved": "#15803D",
    "missed": "#B91C1C",
}
NO_STATUS = "#6B7280"
GRAIN_WORDS = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly"}
# Standard export size: 16:9 at 1000 px wide, rendered at scale 2 (2000 x 1125 PNG).
EXPORT_WIDTH = 1000
EXPORT_HEIGHT = 520

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 13, "color": INK},
        title={
            "font": {"size": 18, "color": INK},
            "x": 0.0,
            "xanchor": "left",
            "xref": "paper",
            "yref": "container",
            "yanchor": "top",
        },
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(PALETTE),
        margin={"l": 64, "r": 24, "t": 72, "b": 48},
        hovermode="x unified",
        hoverlabel={"font": {"family": FONT, "size": 12}},
        legend={
            "orientation": "h",
            "yref": "container",
            "yanchor": "top",
            "xanchor": "left",
            "x": 0.0,
            "font": {"size": 12, "color": MUTED},
            "bgcolor": "rgba(0,0,0,0)",
            "itemwidth": 30,
        },
        xaxis={
            "showgrid": False,
            "linecolor": GRID,
            "ticks": "outside",
            "tickcolor": GRID,
            "tickfont": {"color": MUTED},
            "zeroline": False,
        },
        yaxis={
            "gridcolor": GRID,
            "zeroline": False,
            "tickfont": {"color": MUTED},
            "rangemode": "tozero",
        },
    )
)


# User text (labels, descriptions, data values) made literal inside a Plotly label, which reads a
# little HTML: `dashboard.escape.plotly`, applied where the text enters a figure.
plain = escape.plotly


def status_color(status: str | None) -> str:
    return STATUS_COLORS.get(status or "", NO_STATUS)


class SharedFigure(go.Figure):  # type: ignore[misc]  # Plotly is untyped
    """A figure that every session only places (`dashboard.cache.shared_figure`), with its Plotly
    dict made once. `st.plotly_chart` asks a figure for `to_dict()` on every placing, which deep-copies
    every property and encodes its arrays (about 0.5 ms a figure, a dozen on the OKR page); this one
    answers with the dict made when it was shared. The dict is only read: Streamlit encodes it to
    JSON, after dropping each trace's `uid`, which this one never holds."""

    _placed: dict[str, Any]

    @classmethod
    def of(cls, figure: go.Figure) -> SharedFigure:
        """`figure` itself, from now on answering `to_dict()` with the dict it gives now (no second
        validation of every property, as `SharedFigure(figure)` would do)."""
        placed = figure.to_dict()
        for trace in placed.get("data", []):
            trace.pop("uid", None)  # what `plotly.io.to_json` drops, so nothing ever changes the dict
        figure.__class__ = cls
        figure._placed = placed
        return figure  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        return self._placed


def chart_config(filename: str, *, review: bool = False) -> dict[str, Any]:
    """Plotly config for `st.plotly_chart`: PNG download at 2x with a meaningful file name."""
    return {
        "displaylogo": False,
        "displayModeBar": "hover" if not review else False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
        "toImageButtonOptions": {
            "format": "png",
            "filename": filename,
            "scale": 2,
            "width": EXPORT_WIDTH,
            "height": EXPORT_HEIGHT,
        },
    }


def file_name(*parts: object) -> str:
    """`northstar_<parts>`: what a downloaded PNG or CSV is called."""
    return slug("northstar", *parts)


def period_title(label: str, start: dt.date | None, end: dt.date | None, grain: str | None = None) -> str:
    """A chart's title: the (user's) label, escaped here, over the range in small grey type."""
    words = GRAIN_WORDS.get(grain or "", "")
    suffix = f" · {words}" if words else ""
    return f"{plain(label)}<br><sup style='color:{MUTED}'>{format_range(start, end)}{suffix}</sup>"


TITLE_TOP = 14  # px from the top of the figure to the title
TARGET_STRIP = 20  # px between the legend and the plot that hold a target's label
LEGEND_TOP = 62  # px from the top to the legend (below a two-line title)
LEGEND_ROW = 22  # px per legend row
PLOT_WIDTH = 900  # px the legend wraps in (an estimate; the layout only needs to be roughly right)
FEW_PERIODS = 16  # up to this many periods, a time axis has a tick on each
GRAIN_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4, "quarter": 91.3}


def _legend_rows(names: Iterable[str], show: bool = True) -> int:
    """How many rows the horizontal legend takes, estimated from its entries' text width."""
    widths = [60 + 7 * len(name) for name in names if name]
    if not widths or not show:
        return 0
    rows, used = 1, 0
    for width in widths:
        if used + width > PLOT_WIDTH and used:
            rows, used = rows + 1, 0
        used += width
    return rows


def _placement(title: str, height: int, rows: int, extra_top: int = 0) -> dict[str, float]:
    has_title = bool(title)
    top = (LEGEND_TOP if has_title else 8) + rows * LEGEND_ROW + (8 if rows else 0)
    top = max(top, 72 if has_title else 8)
    # plotly.js anchors a multi-line title's "top" at its first line: lift the anchor by the
    # second line's height or the title is cut off at the top of an exported image.
    lift = 13 if "<br>" in title else 0
    return {
        "title_y": 1 - (TITLE_TOP + lift) / height,
        "legend_y": 1 - (LEGEND_TOP if has_title else 4) / height,
        "top": top + extra_top,
    }


def finish(fig: go.Figure) -> go.Figure:
    """Place the title and legend again for the figure's current height (they sit at pixel offsets
    from the top, written as fractions of the height): for a figure made taller after it was built,
    as the review pack does to add its footer. The plot's top margin stays as built."""
    height = fig.layout.height or 420
    title = str(fig.layout.title.text or "")
    place = _placement(title, height, 0)
    fig.update_layout(title={"y": place["title_y"]}, legend={"y": place["legend_y"]})
    return fig


class _Figure:
    """A figure assembled as plain dicts and validated once at the end: several times faster than
    growing a `go.Figure` call by call, which matters on a page with a dozen sparklines."""

    def __init__(self, title: str, unit: str | None, *, height: int = 420) -> None:
        fmt = axis_format(unit)
        self.data: list[dict[str, Any]] = []
        self.shapes: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.extra_top = 0  # px reserved between the legend and the plot (for a target's label)
        self.layout: dict[str, Any] = {
            "template": TEMPLATE,
            "title": {"text": title},
            "height": height,
            "xaxis": {},
            "yaxis": {
                "tickformat": fmt.tickformat,
                "tickformatstops": fmt.tickformatstops(),
                "tickprefix": fmt.prefix,
                "ticksuffix": fmt.suffix,
                "hoverformat": fmt.hoverformat,
            },
        }

    def add(self, kind: str = "scatter", **trace: Any) -> None:
        self.data.append({"type": kind, **trace})

    def axis(self, name: str, **values: Any) -> None:
        self.layout[name].update(values)

    def build(self, *, extra_top: int = 0, margin: dict[str, int] | None = None) -> go.Figure:
        layout = dict(self.layout)
        height = int(layout["height"])
        title = str(layout["title"].get("text") or "")
        show = layout.get("showlegend", True) is not False
        names = [
            str(t.get("name") or "")
            for t in self.data
            if t.get("showlegend", True) is not False and t["type"] != "heatmap"
        ]
        place = _placement(title, height, _legend_rows(names, show), extra_top + self.extra_top)
        layout["title"] = {**layout["title"], "y": place["title_y"]}
        layout["legend"] = {**layout.get("legend", {}), "y": place["legend_y"]}
        layout["margin"] = {**layout.get("margin", {}), "t": place["top"], **(margin or {})}
        if self.shapes:
            layout["shapes"] = self.shapes
        if self.annotations:
            layout["annotations"] = self.annotations
        return go.Figure(data=_raw_numbers(self.data), layout=_raw_numbers(layout))


def _raw_numbers(value: Any) -> Any:
    """A copy of a figure's data or layout with every finite float written as exports write it
    (`raw_number`: 15 significant digits), so no chart, on screen or in the review pack's
    index.html, carries a double's binary noise (0.30000000000000004). Other values unchanged."""
    if isinstance(value, float):
        return raw_number(value) if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _raw_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_raw_numbers(v) for v in value]
    return value


def _values(series: pl.Series) -> list[float | None]:
    return [None if v is None or v != v else float(v) for v in series.to_list()]


def _quality_bands(
    periods: Iterable[dt.date], start: dt.date | None, end: dt.date | None, width_days: float, fill: str
) -> list[dict[str, Any]]:
    """Bands over the points of these periods (a point sits on its period's first day), one per
    run of neighbouring periods."""
    half = dt.timedelta(days=width_days / 2)
    step = max(1, round(width_days))
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(periods)):
        if (start is not None and day < start - dt.timedelta(days=step)) or (end is not None and day > end):
            continue
        if runs and (day - runs[-1][1]).days <= (1 if step == 1 else step + 2):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": dt.datetime.combine(first, dt.time()) - half,
            "x1": dt.datetime.combine(last, dt.time()) + half,
            "y0": 0,
            "y1": 1,
            "fillcolor": fill,
            "line": {"width": 0},
            "layer": "below",
        }
        for first, last in runs
    ]


def _mark_quality(
    fig: _Figure, marks: Iterable[Shading], start: dt.date | None, end: dt.date | None, width_days: float
) -> None:
    """Shade the periods holding days that failed checks touch (`metrics.quality.flags.shading`):
    errors in red, warnings in amber, each with a legend entry that names the checks."""
    for mark in marks:
        fill = QUALITY_FILL if mark.severity == "error" else WARNING_FILL
        _shade_periods(fig, mark.periods, mark.label, fill, start, end, width_days)


def _mark_maturing(
    fig: _Figure,
    periods: Sequence[dt.date],
    label: str,
    start: dt.date | None,
    end: dt.date | None,
    width: float,
) -> None:
    """Shade the periods whose values can still rise (grey), with a legend entry that says why."""
    _shade_periods(fig, periods, label, MATURING_FILL, start, end, width)


def _shade_periods(
    fig: _Figure,
    periods: Iterable[dt.date],
    label: str,
    fill: str,
    start: dt.date | None,
    end: dt.date | None,
    width_days: float,
) -> None:
    """Bands over these periods' points and one legend entry (a square of the fill) naming them."""
    bands = _quality_bands(periods, start, end, width_days, fill)
    if not bands:
        return
    fig.shapes.extend(bands)
    fig.add(
        x=[None],
        y=[None],
        mode="markers",
        marker={"symbol": "square", "size": 12, "color": fill, "line": {"width": 0}},
        name=plain(label),
        hoverinfo="skip",
    )


def mark_annotations(
    fig: _Figure,
    annotations: Sequence[Annotation],
    start: dt.date | None,
    end: dt.date | None,
    *,
    labels: bool = True,
) -> list[Annotation]:
    """Draw the dated events of annotations.yaml on a time axis: a dashed vertical line on the day
    of a one-day event, a shaded band over the days of one with an `end`, each with its label at the
    top of the plot (`labels=False`: lines and bands only, for a sparkline) and its dates and
    description on hover. Only the events with a day in start .. end are drawn, clipped to it; the
    caller passes the ones that concern the chart's metric (`Project.annotations_for`). The one
    helper every time-series figure calls. Returns the events drawn."""
    drawn = [a for a in annotations if start is None or end is None or a.overlaps(start, end)]
    for index, event in enumerate(drawn):
        first = max(event.first, start) if start is not None else event.first
        last = min(event.last, end) if end is not None else event.last
        at = dt.datetime.combine(first, dt.time())
        if event.end is None:
            fig.shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": at,
                    "x1": at,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": EVENT_LINE, "width": 1.5, "dash": "dash"},
                    "layer": "below",
                }
            )
        else:
            half = dt.timedelta(hours=12)
            fig.shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": at - half,
                    "x1": dt.datetime.combine(last, dt.time()) + half,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": EVENT_FILL,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        if not labels:
            continue
        days = format_date(event.first) + (f" – {format_date(event.last)}" if event.end is not None else "")
        hover = f"<b>{plain(event.label)}</b><br>{days}"
        if event.description:
            hover += "<br>" + "<br>".join(plain(line) for line in textwrap.wrap(event.description, 60))
        fig.annotations.append(
            {
                "text": plain(event.label),
                "x": at,
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "top",
                "xshift": 3,
                "yshift": -2 - 16 * (index % 3),  # neighbouring events' labels on different rows
                "showarrow": False,
                "font": {"size": 11, "color": EVENT_LINE},
                "bgcolor": "rgba(255, 255, 255, 0.8)",
                "hovertext": hover,
                "name": "event",
            }
        )
    return drawn


@dataclass(frozen=True)
class TargetPath:
    """Where a KR should be over its period: baseline at the start, milestones, target at the end."""

    start: dt.date
    end: dt.date
    baseline: float | None
    target: float
    milestones: Mapping[dt.date, float] = field(default_factory=dict)

    def points(self) -> list[tuple[dt.date, float]]:
        # The contract's pace line passes through (0, baseline) at the end of the day before start.
        pts: list[tuple[dt.date, float]] = []
        if self.baseline is not None:
            pts.append((self.start - dt.timedelta(days=1), self.baseline))
        pts += sorted((d, v) for d, v in self.milestones.items() if self.start <= d <= self.end)
        pts.append((self.end, self.target))
        return pts


@dataclass(frozen=True)
class Band:
    """A forecast: value with an 80% interval, at `day` (the period end), starting from `origin`."""

    day: dt.date
    value: float
    low: float
    high: float
    origin: tuple[dt.date, float] | None = None


def _add_target(fig: _Figure, target: TargetPath, unit: str | None, *, show_legend: bool = True) -> None:
    pts = target.points()
    fig.add(
        x=[p[0] for p in pts],
        y=[p[1] for p in pts],
        mode="lines",
        line={"color": TARGET, "width": 1.5, "dash": "dot"},
        name="Target path",
        showlegend=show_legend,
        hovertemplate="%{y}<extra>target path</extra>",
    )
    days = sorted(d for d in target.milestones if target.start <= d <= target.end)
    if days:
        fig.add(
            x=days,
            y=[target.milestones[d] for d in days],
            mode="markers",
            marker={"symbol": "diamond", "size": 9, "color": TARGET, "line": {"color": "white", "width": 1}},
            name="Milestone",
            showlegend=show_legend,
            hovertemplate="%{y}<extra>milestone</extra>",
        )
    fig.add(
        x=[target.end],
        y=[target.target],
        mode="markers",
        marker={"symbol": "star", "size": 12, "color": TARGET},
        name="Target",
        showlegend=False,
        hovertemplate="%{y}<extra>target</extra>",
    )
    if show_legend:
        # The label sits in a strip of its own above the plot, its star over the target's day:
        # next to the marker it would cross the forecast, which ends on the same day.
        fig.extra_top = max(fig.extra_top, TARGET_STRIP)
        fig.annotations.append(
            {
                "text": f"Target <b>{format_value(target.target, unit, short=True)}</b> by "
                f"{format_date(target.end)} <span style='color:{TARGET}'>★</span>",
                "x": target.end.isoformat(),
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "xanchor": "right",
                "yanchor": "bottom",
                "yshift": 2,
                "xshift": 6,
                "showarrow": False,
                "font": {"size": 12, "color": INK},
            }
        )


def _add_band(fig: _Figure, band: Band, color: str, *, show_legend: bool = True) -> None:
    if band.origin is not None:
        x0, y0 = band.origin
        fig.add(
            x=[x0, band.day, band.day, x0],
            y=[y0, band.high, band.low, y0],
            fill="toself",
            fillcolor=FORECAST_FILL,
            line={"width": 0},
            mode="lines",
            name="Forecast (80% range)",
            showlegend=show_legend,
            hoverinfo="skip",
        )
        fig.add(
            x=[x0, band.day],
            y=[y0, band.value],
            mode="lines",
            line={"color": color, "width": 2, "dash": "dash"},
            name="Forecast",
            showlegend=False,
            hovertemplate="%{y}<extra>forecast</extra>",
        )
    fig.add(
        x=[band.day],
        y=[band.value],
        mode="markers",
        marker={"size": 8, "color": color, "symbol": "circle-open", "line": {"width": 2}},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [band.high - band.value],
            "arrayminus": [band.value - band.low],
            "color": color,
            "thickness": 1.5,
            "width": 6,
        },
        name="Forecast at period end",
        showlegend=False,
        hovertemplate="%{y}<extra>forecast at period end</extra>",
    )


def metric_timeseries(
    frame: pl.DataFrame,
    *,
    label: str,
    unit: str | None,
    start: dt.date,
    end: dt.date,
    grain: str,
    by: str | None = None,
    comparison: pl.DataFrame | None = None,
    comparison_label: str = "Previous period",
    target: TargetPath | None = None,
    forecast: Band | None = None,
    quality_marks: Sequence[Shading] = (),
    max_groups: int = 8,
    height: int = 440,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    noun: tuple[str, str | None] = ("users", None),
    annotations: Sequence[Annotation] = (),
    maturing: Sequence[dt.date] = (),
    maturing_label: str = "Still maturing",
) -> go.Figure:
    """One metric over time: the series (or one line per breakdown value), its comparison period
    (dashed grey, aligned on the main periods), the KR target path and milestones, a forecast band,
    the periods holding days whose data failed a check (`quality_marks`, at the chart's grain), the
    periods whose cohorts are still maturing (`maturing`: `Engine.maturing_periods`, grey) and
    the dated events that concern the metric (`annotations`, see `mark_annotations`).
    A rate's points (`frame` with numerator and denominator) hover with their n, and those out of
    fewer than `min_sample` are drawn as hollow grey markers (`is_uncertain`); `noun` is
    `format.sample_noun`'s answer for the metric."""
    fig = _Figure(period_title(label, start, end, grain), unit, height=height)
    periods = sorted({p for p in frame["period"].to_list() if p is not None}) if frame.height else []
    if target is None and forecast is None and 0 < len(periods) <= FEW_PERIODS:
        # A tick on each period, named as the period is (Plotly would put hours between few days,
        # and weekly ticks on days that are not the week's first).
        fig.axis("xaxis", tickvals=periods, tickformat="%b %-d" if grain in ("day", "week") else "%b %Y")
    if by is not None and by in frame.columns:
        totals = (
            frame.group_by(by)
            .agg(pl.col("value").fill_nan(None).abs().sum().alias("weight"))
            .sort(["weight", by], descending=[True, False], nulls_last=True)
        )
        groups = totals[by].to_list()
        for index, group in enumerate(groups[:max_groups]):
            part = frame.filter(pl.col(by).eq_missing(group)).sort("period")
            color = PALETTE[index % len(PALETTE)]
            name = "(none)" if group is None else plain(group)
            fig.add(
                x=part["period"].to_list(),
                y=_values(part["value"]),
                mode="lines",
                line={"color": color, "width": 2},
                name=name,
                **_sample_hover(part, noun, name),
            )
            _mark_uncertain(fig, part, min_sample, name)
            if comparison is not None and by in comparison.columns:
                past = comparison.filter(pl.col(by).eq_missing(group)).sort("period")
                fig.add(
                    x=past["period"].to_list(),
                    y=_values(past["value"]),
                    mode="lines",
                    line={"color": color, "width": 1.2, "dash": "dot"},
                    name=f"{name} ({comparison_label.lower()})",
                    opacity=0.7,
                    showlegend=False,
                )
        if comparison is not None and by in comparison.columns:
            fig.add(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": COMPARISON, "width": 1.2, "dash": "dot"},
                name=f"dotted: {comparison_label.lower()}",
                hoverinfo="skip",
            )
        if len(groups) > max_groups:
            fig.annotations.append(
                {
                    "text": f"Top {max_groups} of {len(groups)} {plain(by)} values",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 1,
                    "y": 1.0,
                    "yanchor": "bottom",
                    "xanchor": "right",
                    "showarrow": False,
                    "font": {"size": 11, "color": MUTED},
                }
            )
    else:
        main = frame.sort("period")
        if comparison is not None and comparison.height:
            past = comparison.sort("period")
            extra: dict[str, Any] = {}
            if "compared_period" in past.columns:
                extra = {
                    "customdata": [d.isoformat() if d is not None else "" for d in past["compared_period"]],
                    "hovertemplate": "%{y} (%{customdata})<extra>" + comparison_label.lower() + "</extra>",
                }
            fig.add(
                x=past["period"].to_list(),
                y=_values(past["value"]),
                mode="lines",
                line={"color": COMPARISON, "width": 1.8, "dash": "dash"},
                name=comparison_label,
                **extra,
            )
        fig.add(
            x=main["period"].to_list(),
            y=_values(main["value"]),
            mode="lines+markers" if main.height <= 40 else "lines",
            line={"color": PRIMARY, "width": 2.4},
            marker={"size": 5},
            name=plain(label),
            legendrank=1,  # first in the legend, though drawn over the comparison
            **_sample_hover(main, noun, label),
        )
        _mark_uncertain(fig, main, min_sample, label)
    if target is not None:
        _add_target(fig, target, unit)
    if forecast is not None:
        _add_band(fig, forecast, PRIMARY)
    _mark_quality(fig, quality_marks, start, end, GRAIN_DAYS.get(grain, 1.0))
    _mark_maturing(fig, maturing, maturing_label, start, end, GRAIN_DAYS.get(grain, 1.0))
    mark_annotations(fig, annotations, start, end)
    return fig.build()


def _counted(frame: pl.DataFrame) -> bool:
    """True when the frame carries a rate's counts (numerator and denominator) with any value."""
    return "denominator" in frame.columns and frame["denominator"].null_count() < frame.height


def _sample_hover(frame: pl.DataFrame, noun: tuple[str, str | None], name: str) -> dict[str, Any]:
    """A rate's hover: the value and what it is out of ('37.5% · 3 of 8 users')."""
    if not _counted(frame):
        return {}
    samples = [
        format_sample(n, d, *noun)
        for n, d in zip(_values(frame["numerator"]), _values(frame["denominator"]), strict=True)
    ]
    return {"customdata": samples, "hovertemplate": "%{y} · %{customdata}<extra>" + name + "</extra>"}


def _mark_uncertain(fig: _Figure, frame: pl.DataFrame, min_sample: int, name: str, x: str = "period") -> None:
    """Hollow grey rings on the points whose rate is out of fewer than `min_sample` (one grey for
    every series: the ring means the same on any line); `x` names the frame's x column."""
    if not _counted(frame):
        return
    rows = [
        (p, v, d)
        for p, v, d in zip(frame[x], _values(frame["value"]), _values(frame["denominator"]), strict=True)
        if v is not None and is_uncertain(d, min_sample)
    ]
    if not rows:
        return
    fig.add(
        x=[p for p, _, _ in rows],
        y=[v for _, v, _ in rows],
        mode="markers",
        marker={"symbol": "circle-open", "size": 11, "color": UNCERTAIN_LINE, "line": {"width": 2}},
        name=f"uncertain: n < {min_sample}",
        legendgroup="uncertain",
        showlegend=not any(t.get("legendgroup") == "uncertain" for t in fig.data),
        customdata=[f"n={d:,.0f}" if d is not None else "" for _, _, d in rows],
        hovertemplate=f"%{{y}} · uncertain (%{{customdata}})<extra>{name}</extra>",
    )


def kr_chart(
    history: pl.DataFrame | None,
    *,
    title: str,
    unit: str | None,
    target: TargetPath,
    status: str | None = None,
    forecast: Band | None = None,
    quality_marks: Sequence[Shading] = (),
    as_of: dt.date | None = None,
    compact: bool = False,
    annotations: Sequence[Annotation] = (),
) -> go.Figure:
    """A key result over its period: its reading so far, the target path through the milestones,
    the forecast band to the period's end, and the dated events of its metric (`annotations`;
    unlabelled on the sparkline). `compact` is the sparkline of a KR tile. With no reading on any
    day (`history` all empty), there is nothing to set the target against: the chart says so on an
    empty axis, instead of a target alone on an axis of the target ± a hair."""
    color = status_color(status)
    fig = _Figure("" if compact else title, unit, height=170 if compact else 420)
    if history is None or history["value"].fill_nan(None).drop_nulls().is_empty():
        return _no_reading(fig, target, unit, compact=compact)
    if history.height:
        hist = history.sort("date")
        fig.add(
            x=hist["date"].to_list(),
            y=_values(hist["value"]),
            mode="lines",
            line={"color": color, "width": 2.2},
            name="Actual",
            hovertemplate="%{y}<extra></extra>",
        )
    _add_target(fig, target, unit, show_legend=not compact)
    if forecast is not None:
        _add_band(fig, forecast, color, show_legend=not compact)
    _mark_quality(fig, quality_marks, target.start, target.end, 1.0)
    mark_annotations(fig, annotations, target.start, target.end, labels=not compact)
    if as_of is not None and target.start <= as_of <= target.end and not compact:
        moment = dt.datetime.combine(as_of, dt.time())
        fig.shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": moment,
                "x1": moment,
                "y0": 0,
                "y1": 1,
                "line": {"color": GRID, "width": 1},
            }
        )
    fig.axis("xaxis", range=[target.start - dt.timedelta(days=1), target.end + dt.timedelta(days=2)])
    if not compact:
        return fig.build()
    # Sparkline: no title, no legend, light axes; the tile around it carries the words.
    fig.layout.update(showlegend=False, hovermode="x", font={"size": 10})
    fig.axis("xaxis", tickformat="%b %-d", nticks=4, ticks="", tickfont={"size": 10})
    fig.axis("yaxis", nticks=4, tickfont={"size": 10}, rangemode="normal", automargin=True)
    return fig.build(margin={"l": 52, "r": 10, "t": 10, "b": 28})


NO_READING = "No reading"


def _no_reading(fig: _Figure, target: TargetPath, unit: str | None, *, compact: bool) -> go.Figure:
    """A key result's chart without a reading: its period on a date axis, no y-axis, and the words
    (why it has none is said beside it: `say_not_scored`, or the tile's warning on the OKR page)."""
    words = f"{NO_READING} to chart"
    if not compact:
        goal = f"target {format_value(target.target, unit, short=True)} by {format_date(target.end)}"
        words = f"<b>{words}</b> ({plain(goal)})"
    fig.annotations.append(
        {
            "text": words,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5 if compact else 0.75,
            "showarrow": False,
            "font": {"size": 11 if compact else 14, "color": MUTED},
        }
    )
    span = [target.start - dt.timedelta(days=1), target.end + dt.timedelta(days=2)]
    fig.axis("xaxis", type="date", range=span)
    fig.axis("yaxis", visible=False)
    if not compact:
        return fig.build()
    fig.layout.update(showlegend=False, font={"size": 10})
    fig.axis("xaxis", tickformat="%b %-d", nticks=4, ticks="", tickfont={"size": 10})
    return fig.build(margin={"l": 52, "r": 10, "t": 10, "b": 28})


def say_not_scored(fig: go.Figure, problem: str) -> None:
    """A key result that could not be scored: why, boxed in the plot's middle, on its full chart
    (the review pack's image, the explorer); the OKR page's tile says it as a warning."""
    wrapped = "<br>".join(textwrap.wrap(plain(f"Not scored: {problem}"), 90))
    fig.add_annotation(
        text=wrapped,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        align="center",
        font={"size": 13, "color": INK},
        bgcolor="rgba(255, 251, 235, 0.95)",
        bordercolor="#D97706",
        borderwidth=1,
        borderpad=8,
    )


def wrap_label(label: str, width: int = 30, lines: int = 3) -> str:
    """A key result's name as a scorecard row label: at most `lines` lines of `width` characters,
    so a long description does not squeeze the bars (Plotly sizes the label column to the text)."""
    wrapped = textwrap.wrap(label, width, break_on_hyphens=False) or [label]
    if len(wrapped) > lines:
        wrapped = [
            *wrapped[: lines - 1],
            textwrap.shorten(" ".join(wrapped[lines - 1 :]), width, placeholder=" …"),
        ]
    return "<br>".join(plain(line) for line in wrapped)


# --- key results: from a scored key result (`metrics.okrs.KeyResultScore`) to its chart ------------


def target_path(score: KeyResultScore) -> TargetPath | None:
    """A scored key result's target path over its period: baseline, milestones, target."""
    if score.period_start is None or score.period_end is None:
        return None
    return TargetPath(
        start=score.period_start,
        end=score.period_end,
        baseline=score.baseline,
        target=score.target,
        milestones={m.date: m.value for m in score.milestones},
    )


def forecast_band(score: KeyResultScore, end: dt.date | None = None) -> Band | None:
    """A scored key result's forecast as a band from its last reading to the period's end."""
    forecast = score.forecast
    day = end or score.period_end
    if forecast is None or day is None:
        return None
    origin = None
    if score.history.height:
        last = score.history.drop_nulls("value").sort("date").tail(1)
        if last.height:
            origin = (last["date"][0], float(last["value"][0]))
    return Band(day=day, value=forecast.value, low=forecast.low, high=forecast.high, origin=origin)


def kr_figure(
    project: Project,
    score: KeyResultScore,
    kr: KeyResult,
    *,
    quality_marks: Sequence[Shading] = (),
    as_of: dt.date | None = None,
    compact: bool = False,
) -> go.Figure:
    """A key result's chart (`kr_chart`) from its score and definition: the OKR page's tiles, the
    explorer, and the review pack's key-result images."""
    target = target_path(score)
    if target is None:
        return go.Figure()
    fig = kr_chart(
        score.history,
        title=period_title(kr_title(project, kr), target.start, target.end),
        unit=metric_unit(project, kr.metric),
        target=target,
        status=score.status,
        forecast=forecast_band(score, target.end),
        quality_marks=quality_marks,
        as_of=as_of,
        compact=compact,
        annotations=project.annotations_for(kr.metric),
    )
    if score.problem and not compact:
        say_not_scored(fig, score.problem)
    return fig


def kr_overlay(
    project: Project, card: Scorecard | None, metric_id: str, grain: str
) -> tuple[TargetPath | None, Band | None]:
    """The target path and forecast of the first key result that reads `metric_id`, to draw on the
    metric's own chart at `grain`, when the KR's reading is the quantity the chart plots
    (`reads_as_chart`). A total's target (say, sign-ups this quarter) is on another scale than its
    values per day or week, and a rate read over trailing 28 days is another number than the same
    rate per week: drawn on one axis, a PM would read one against the other."""
    metric = project.metrics.get(metric_id)
    if metric is None or metric.type in ADDITIVE_TYPES or card is None:
        return None, None
    for objective in card.objectives:
        for kr in objective.key_results:
            if kr.metric == metric_id:
                if not reads_as_chart(project, metric_id, kr.read, grain):
                    return None, None
                return target_path(kr), forecast_band(kr)
    return None, None


# The KR reads (models.parse_read) whose value is one period's value at each grain.
_READ_AT_GRAIN = {"day": frozenset({"latest", "trailing_1d"}), "week": frozenset({"trailing_7d"})}


def reads_as_chart(project: Project, metric_id: str, read: str, grain: str) -> bool:
    """Whether a key result reading `metric_id` as `read` (period_to_date, latest, trailing_<N>d)
    reads the quantity a chart of the metric at `grain` plots: a level (active users) is its value on
    a day, whatever the window; a rate or an average is one over its window, so only a window of one
    period of the chart's grain (`latest` or `trailing_1d` by day, `trailing_7d` by week) is."""
    leaves = project.leaves(metric_id).values()
    if leaves and all(m.type in LAST_DAY_TYPES for m in leaves):
        return True
    return read in _READ_AT_GRAIN.get(grain, frozenset())


def objective_figure(
    project: Project, objective: ObjectiveScore, *, as_of: dt.date | None = None
) -> go.Figure:
    """A scored objective (`metrics.okrs.ObjectiveScore`) as its scorecard figure: the OKR page's
    "as one chart" and the review pack's objective image."""
    definition = next((o for o in project.okrs if o.id == objective.id), None)
    kr_defs = {kr.id: kr for kr in definition.key_results} if definition is not None else {}
    rows = []
    for kr in objective.key_results:
        if kr.id not in kr_defs:
            continue
        unit = metric_unit(project, kr.metric)
        rows.append(
            KrBar(
                label=wrap_label(kr_title(project, kr_defs[kr.id])),
                progress=kr.progress,
                expected=kr.expected_progress,
                status=kr.status,
                current=format_value(kr.current, unit),
                target=format_target(kr.target, unit, kr.direction),
                probability=kr.probability,
            )
        )
    facts = [
        f"Owner {objective.owner}" if objective.owner else "",
        format_range(objective.start, objective.end),
        f"as of {format_date(as_of)}" if as_of else "",
        f"progress {format_progress(objective.progress)}",
        status_words(objective.status),
    ]
    return scorecard(plain(objective.objective), plain(" · ".join(f for f in facts if f)), rows)


@dataclass(frozen=True)
class KrBar:
    """One row of an objective's scorecard figure."""

    label: str
    progress: float | None
    expected: float | None
    status: str | None
    current: str
    target: str
    probability: float | None = None


PROGRESS_DRAWN = (-0.5, 1.2)  # bars are drawn within these; the words beside them carry the number


def progress_shown(progress: float | None) -> float:
    """How far a progress bar is drawn: the progress, clipped to `PROGRESS_DRAWN`; a KR behind its
    baseline (negative progress) is a bar left of zero, never an empty one."""
    if progress is None or not math.isfinite(progress):
        return 0.0
    return max(PROGRESS_DRAWN[0], min(float(progress), PROGRESS_DRAWN[1]))


def scorecard(title: str, subtitle: str, rows: Sequence[KrBar]) -> go.Figure:
    """An objective's key results as progress bars with the expected-pace marker (the review pack's
    objective image; the app draws the same bars as HTML in the tiles)."""
    labels = [r.label for r in rows][::-1]
    shown = [progress_shown(r.progress) for r in rows][::-1]
    low = min([0.0, *shown])  # a KR behind its baseline draws its bar left of zero
    colors = [status_color(r.status) for r in rows][::-1]
    texts = [
        f"{format_progress(r.progress)} · {r.current} · target {r.target} · {status_words(r.status)}"
        + (f" · {format_probability(r.probability)} likely" if r.probability is not None else "")
        for r in rows
    ][::-1]
    fig = _Figure(
        f"{title}<br><sup style='color:{MUTED}'>{subtitle}</sup>", None, height=140 + 64 * len(rows)
    )
    fig.layout.update(hovermode="closest", showlegend=False, bargap=0.45, barmode="overlay")
    fig.add(
        "bar", y=labels, x=[1.0] * len(rows), orientation="h", marker={"color": "#F3F4F6"}, hoverinfo="skip"
    )
    fig.add(
        "bar",
        y=labels,
        x=shown,
        orientation="h",
        marker={"color": colors},
        hovertemplate="%{y}: %{x:.0%}<extra></extra>",
    )
    for label, text in zip(labels, texts, strict=True):  # one aligned column of words after the bars
        fig.annotations.append(
            {
                "x": 1.24,
                "y": label,
                "xref": "x",
                "yref": "y",
                "text": text,
                "showarrow": False,
                "xanchor": "left",
                "font": {"size": 12, "color": INK},
            }
        )
    expected = [(r.label, r.expected) for r in rows if r.expected is not None]
    if expected:
        fig.add(
            y=[e[0] for e in expected],
            x=[progress_shown(e[1]) for e in expected],
            mode="markers",
            marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": INK}},
            name="Expected by now",
            hovertemplate="expected by now: %{x:.0%}<extra></extra>",
        )
    fig.layout["xaxis"] = {
        "range": [low - (0.05 if low < 0 else 0), 2.35],
        "tickformat": ".0%",
        "tickvals": [t for t in (-0.5, -0.25) if t >= low] + [0, 0.25, 0.5, 0.75, 1.0],
        "showgrid": True,
        "gridcolor": GRID,
        "zeroline": low < 0,
        "zerolinecolor": INK,
    }
    fig.layout["yaxis"] = {"rangemode": "normal", "showgrid": False, "automargin": True}
    return fig.build(margin={"l": 24, "r": 24, "b": 40})


def funnel_bars(
    steps: pl.DataFrame,
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    by: str | None = None,
    max_groups: int = 6,
) -> go.Figure:
    """Step bars. `steps` columns: step (1-based), step_label, users, [by]. Each bar is labelled
    with its users and the share of step 1; the drop-off between steps is written between them."""
    fig = _Figure(period_title(title, start, end), "users", height=440)
    fig.layout.update(hovermode="closest", bargap=0.25)
    fig.axis("yaxis", title={"text": "Users", "font": {"color": MUTED, "size": 12}})
    order = steps.select("step", "step_label").unique().sort("step")
    labels = [f"{s}. {plain(lbl)}" for s, lbl in zip(order["step"], order["step_label"], strict=True)]
    if by is not None and by in steps.columns:
        groups = steps.filter(pl.col("step") == 1).sort("users", descending=True)[by].to_list()[:max_groups]
        for index, group in enumerate(groups):
            part = steps.filter(pl.col(by).eq_missing(group)).sort("step")
            first = part["users"][0] if part.height else 0
            fig.add(
                "bar",
                x=labels[: part.height],
                y=part["users"].to_list(),
                name="(none)" if group is None else plain(group),
                marker={"color": PALETTE[index % len(PALETTE)]},
                text=[
                    f"{format_value(u, 'users', short=True)}<br>{(u / first if first else 0):.0%}"
                    for u in part["users"].to_list()
                ],
                textposition="outside",
                cliponaxis=False,
                textfont={"size": 11},
            )
        fig.layout["barmode"] = "group"
        return fig.build()
    users = [float(u) for u in steps.sort("step")["users"].to_list()]
    first = users[0] if users else 0
    fig.add(
        "bar",
        x=labels,
        y=users,
        marker={"color": [PRIMARY] + ["#60A5FA"] * (len(users) - 1)},
        text=[
            f"<b>{format_value(u, 'users')}</b><br>{(u / first if first else 0):.1%} of step 1" for u in users
        ],
        textposition="outside",
        cliponaxis=False,
        textfont={"size": 12, "color": INK},
        hovertemplate="%{x}: %{y:,.0f} users<extra></extra>",
        showlegend=False,
    )
    top = max(users) if users and max(users) > 0 else 1
    for index in range(1, len(users)):
        before, after = users[index - 1], users[index]
        if before <= 0:
            continue
        convert, drop = format_value(after / before, "percent"), format_value(1 - after / before, "percent")
        lost = "no drop" if drop == format_value(0, "percent") else f"−{drop} drop"
        fig.annotations.append(
            {
                "x": index - 0.5,
                "y": top * 1.22,
                "text": f"<b>{convert}</b> convert<br><span style='color:{QUALITY_LINE}'>{lost}</span>",
                "showarrow": False,
                "font": {"size": 11, "color": INK},
                "xref": "x",
                "yref": "y",
            }
        )
    fig.axis("yaxis", range=[0, top * 1.35])
    return fig.build()


def retention_heatmap(
    cells: pl.DataFrame,
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    period: str,
    cohort_grain: str,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> go.Figure:
    """Cohorts (rows, oldest first) by offset (columns); `cells` columns: cohort (Date), offset
    (int), value (fraction, null when not mature yet), and optionally numerator and denominator
    (retained users and cohort size). Cohorts with no value at all are left out. A cell whose cohort
    is smaller than `min_sample` is uncertain (`is_uncertain`): drawn grey with its n."""
    cohorts = sorted(set(cells.drop_nulls("value")["cohort"].to_list()))
    offsets = sorted(set(cells["offset"].to_list()))
    counted = "denominator" in cells.columns
    counts = cells if counted else cells.with_columns(numerator=None, denominator=None)
    lookup = {
        (c, o): (v, num, den)
        for c, o, v, num, den in zip(
            counts["cohort"],
            counts["offset"],
            _values(counts["value"]),
            _values(counts["numerator"]),
            _values(counts["denominator"]),
            strict=True,
        )
    }
    empty: tuple[float | None, float | None, float | None] = (None, None, None)
    grid = [[lookup.get((c, o), empty) for o in offsets] for c in cohorts]
    z = [[cell[0] for cell in row] for row in grid]
    shaky = [[cell[0] is not None and is_uncertain(cell[2], min_sample) for cell in row] for row in grid]
    samples = [
        [format_sample(cell[1], cell[2]) if cell[0] is not None else "" for cell in row] for row in grid
    ]
    unit = "Day" if period == "day" else "Week"
    noun = {"day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter"}.get(cohort_grain, "")
    rows = [f"{noun} of {c:%b} {c.day}" if cohort_grain != "month" else f"{c:%b %Y}" for c in cohorts]
    columns = [f"{unit} {o}" for o in offsets]
    fig = _Figure(period_title(title, start, end), "percent", height=max(320, 120 + 26 * len(cohorts)))
    fig.add(
        "heatmap",
        z=z,
        x=columns,
        y=rows,
        text=[
            ["" if v is None or grey else f"{v:.0%}" for v, grey in zip(row, flags, strict=True)]
            for row, flags in zip(z, shaky, strict=True)
        ],
        customdata=samples,
        texttemplate="%{text}",
        textfont={"size": 11},
        colorscale=[[0, "#EFF6FF"], [0.5, "#60A5FA"], [1, "#1E3A8A"]],
        zmin=0,
        zmax=max([v for row in z for v in row if v is not None] or [1]),
        colorbar={"tickformat": ".0%", "thickness": 12, "outlinewidth": 0},
        hovertemplate="%{y}, %{x}: %{z:.1%}" + (" · %{customdata}" if counted else "") + "<extra></extra>",
        xgap=2,
        ygap=2,
    )
    if any(flag for row in shaky for flag in row):
        # uncertain cells: greyed over, with the value and its n written in
        fig.add(
            "heatmap",
            z=[[1.0 if grey else None for grey in flags] for flags in shaky],
            x=columns,
            y=rows,
            text=[
                [
                    f"{v:.0%}<br>n={cell[2]:,.0f}" if grey and v is not None and cell[2] is not None else ""
                    for v, grey, cell in zip(zrow, flags, row, strict=True)
                ]
                for zrow, flags, row in zip(z, shaky, grid, strict=True)
            ],
            customdata=samples,
            texttemplate="%{text}",
            textfont={"size": 10, "color": INK},
            colorscale=[[0, UNCERTAIN_FILL], [1, UNCERTAIN_FILL]],
            opacity=0.7,  # greyed, the colour still showing through
            showscale=False,
            hovertemplate=f"%{{y}}, %{{x}}: uncertain, %{{customdata}} (fewer than {min_sample})<extra></extra>",
            xgap=2,
            ygap=2,
            name="uncertain",
        )
        fig.add(  # the legend's key to the grey cells
            x=[None],
            y=[None],
            mode="markers",
            marker={"symbol": "square", "size": 12, "color": UNCERTAIN_FILL},
            name=f"Grey: cohort of fewer than {min_sample} users (uncertain)",
            hoverinfo="skip",
        )
        fig.layout["showlegend"] = True
    fig.layout["hovermode"] = "closest"
    fig.layout["yaxis"] = {
        "autorange": "reversed",
        "showgrid": False,
        "rangemode": "normal",
        "tickfont": {"size": 11},
        "automargin": True,
    }
    fig.axis("xaxis", side="top", tickfont={"size": 11}, showline=False, ticks="")
    return fig.build(extra_top=26)


def retention_curves(
    curves: pl.DataFrame,
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    period: str,
    max_series: int = 8,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> go.Figure:
    """Share of a cohort retained at each offset; `curves` columns: series (str), offset, value, and
    optionally numerator and denominator (retained users and the cohort: the hover says "3 of 8
    users", and points out of fewer than `min_sample` are ringed grey as uncertain).
    A series named "All ..." is drawn bold in ink (the whole range as one cohort)."""
    fig = _Figure(period_title(title, start, end), "percent", height=420)
    unit = "day" if period == "day" else "week"
    offsets = sorted(set(curves["offset"].to_list()))
    fig.axis(
        "xaxis",
        title={"text": f"{unit.capitalize()}s since joining", "font": {"color": MUTED, "size": 12}},
        tickvals=offsets,
        range=[0, max(offsets or [1]) * 1.03],
    )
    fig.layout["hovermode"] = "closest"
    names = list(dict.fromkeys(curves["series"].to_list()))[:max_series]
    for index, name in enumerate(names):
        part = curves.filter(pl.col("series") == name).sort("offset")
        emphasis = name.startswith("All ")
        fig.add(
            x=part["offset"].to_list(),
            y=_values(part["value"]),
            mode="lines+markers",
            name=plain(name),
            line={
                "color": INK if emphasis else PALETTE[index % len(PALETTE)],
                "width": 3.2 if emphasis else 1.6,
            },
            marker={"size": 7 if emphasis else 5},
            opacity=1.0 if emphasis else 0.85,
            **_curve_hover(part, unit, escape.plotly_template(name)),
        )
        _mark_uncertain(fig, part, min_sample, escape.plotly_template(name), x="offset")
    return fig.build()


def _curve_hover(part: pl.DataFrame, unit: str, name: str) -> dict[str, Any]:
    """A retention curve's hover: the offset, the share retained and, with counts, what it is out of."""
    if not _counted(part):
        return {"hovertemplate": f"{unit} %{{x}}: %{{y:.1%}}<extra>{name}</extra>"}
    samples = [
        format_sample(n, d)
        for n, d in zip(_values(part["numerator"]), _values(part["denominator"]), strict=True)
    ]
    return {
        "customdata": samples,
        "hovertemplate": f"{unit} %{{x}}: %{{y:.1%}} · %{{customdata}}<extra>{name}</extra>",
    }
