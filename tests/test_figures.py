"""The dashboard's pure parts: number formats, URL state, figure builders (no streamlit needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboard import escape, figures
from dashboard.format import (
    compact,
    format_age,
    format_delta,
    format_range,
    format_value,
    kr_title,
    metric_unit,
    read_words,
    slug,
    table_format,
)
from dashboard.state import Options, ViewState, parse, share_url
from metrics.quality.flags import Shading

D = dt.date

# --- format ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "short", "expected"),
    [
        (0.4523, "percent", False, "45.2%"),
        (1, "percent", False, "100.0%"),
        (27.6, "percent", False, "2,760.0%"),  # a ratio far above 1 groups its thousands like any number
        (12345, "users", False, "12,345"),
        (12345, "users", True, "12.3k"),
        (4_560_000, "count", True, "4.56M"),
        (999_960, "count", True, "1M"),
        (12.5, "count", False, "13"),  # >= 10: whole numbers, halves up
        (73.98, "count", False, "74"),
        (7.35, "count", False, "7.35"),
        (1234.5, "currency", False, "$1,234"),  # >= 100: whole units
        (12.5, "currency", False, "$12.50"),
        (2_500_000, "currency", False, "$2.5M"),
        (-40, "eur", False, "-€40.00"),
        (340.4, "ms", False, "340 ms"),
        (12_500, "ms", False, "12.50 s"),
        (3.25, "seconds", False, "3.25 s"),
        (None, "percent", False, "–"),
        (float("nan"), "count", False, "–"),
        (3.5, "sessions_per_user", False, "3.50 sessions_per_user"),
    ],
)
def test_format_value(value: float | None, unit: str, short: bool, expected: str) -> None:
    assert format_value(value, unit, short=short) == expected


def test_compact_and_deltas() -> None:
    assert compact(0) == "0"
    assert compact(999) == "999"
    assert compact(1000) == "1k"
    assert compact(-15_300) == "-15.3k"
    assert format_delta(0.45, 0.40, "percent") == "+5.0 pp"
    assert format_delta(110, 100, "count") == "+10.0%"
    assert format_delta(90, 100, "count") == "-10.0%"
    assert format_delta(138, 10, "count") == "+1,280.0%"  # thousands grouped, as in the values
    assert format_delta(5, 0, "count") == "new"
    assert format_delta(3, 3, "count") == format_delta(99.96, 100, "count") == "±0.0%"  # no arrow
    assert format_delta(0.45, 0.4502, "percent") == "±0.0 pp"
    assert format_delta(None, 1, "count") is None
    # where a percentage means nothing (format_percent_change), the tile shows the difference in the unit
    assert format_delta(16.62, 0.42, "minutes") == "+16.20 minutes"  # a mean delay: not "+3,890.2%"
    assert format_delta(20, -50, "currency") == "+$70.00"  # from below zero
    assert format_delta(-20, 50, "currency") == "-$70.00"  # to the other sign
    assert format_delta(-1.0, -2.0, "seconds") == "+1.00 s"  # a base below zero
    assert format_delta(1250, 1000, "ms") == "+25.0%"  # a duration on a ratio scale keeps its percentage
    assert format_range(D(2026, 10, 1), D(2026, 12, 31)) == "Oct 1 – Dec 31, 2026"
    assert format_range(D(2025, 12, 1), D(2026, 1, 31)) == "Dec 1, 2025 – Jan 31, 2026"
    assert format_age(D(2026, 11, 26), D(2026, 11, 26)) == "through today"
    assert format_age(D(2026, 11, 20), D(2026, 11, 26)) == "6 days old"
    assert slug("Daily Active Users", "day", D(2026, 7, 1), None) == "daily-active-users_day_2026-07-01"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert table_format("percent") == "percent"
    assert table_format("currency") == "dollar"


def test_key_result_words_and_units() -> None:
    assert read_words("trailing_28d") == "trailing 28 days"
    assert read_words("period_to_date") == "so far this period"
    assert read_words("latest") == "on the day"
    metrics = {
        "signups": SimpleNamespace(type="count", unit="count", label="Sign-ups"),
        "stickiness": SimpleNamespace(type="ratio", unit="ratio", label=None),  # RatioMetric's default
        "per_buyer": SimpleNamespace(type="ratio", unit="count", label=None),
        "arpu": SimpleNamespace(type="ratio", unit="currency", label=None),
    }
    project = SimpleNamespace(
        metrics=metrics, label=lambda m: metrics[m].label or m.replace("_", " ").capitalize()
    )
    kr = SimpleNamespace(metric="signups", read="trailing_7d", description="")
    assert kr_title(project, kr) == "Sign-ups (trailing 7 days)"  # type: ignore[arg-type]
    assert (
        kr_title(project, SimpleNamespace(**{**vars(kr), "description": "2,400 sign-ups"}))
        == "2,400 sign-ups"
    )  # type: ignore[arg-type]
    # a ratio left at the default unit is a rate: shown as a percentage, never rounded to a count
    assert metric_unit(project, "stickiness") == "ratio"  # type: ignore[arg-type]
    assert format_value(0.3125, metric_unit(project, "stickiness")) == "31.2%"  # type: ignore[arg-type]
    assert metric_unit(project, "arpu") == "currency"  # type: ignore[arg-type]
    assert format_value(1.19, metric_unit(project, "per_buyer")) == "1.19"  # type: ignore[arg-type]
    assert metric_unit(project, "signups") == "count"  # type: ignore[arg-type]


# --- URL state ------------------------------------------------------------------------------------

OPTIONS = Options(
    metrics=["dau", "signups", "activation"],
    dimensions=["platform", "country"],
    funnels=["activation"],
    retentions=[],
    default_start=D(2026, 9, 1),
    default_end=D(2026, 11, 26),
    today=D(2026, 11, 26),
    default_metric="dau",
)


def test_round_trip_restores_every_control() -> None:
    view = ViewState(
        page="explorer",
        metric="signups",
        start=D(2026, 10, 1),
        end=D(2026, 10, 31),
        grain="week",
        compare="previous_year",
        by="country",
        as_of=D(2026, 11, 1),
        funnel="activation",
        review=True,
    )
    parsed, warnings = parse(view.to_params(), OPTIONS)
    assert warnings == []
    assert parsed == view.replace(page="okrs")  # the page travels in the URL path, not the params
    assert parse({**view.to_params(), "page": "explorer"}, OPTIONS)[0] == view


def test_share_url_puts_the_page_in_the_path_and_every_control_in_the_query() -> None:
    view = ViewState(
        metric="signups",
        start=D(2026, 10, 1),
        end=D(2026, 10, 31),
        grain="week",
        by="country",
        funnel="activation",
    )
    url = share_url("https://ns.example.com/acme/", "explorer", view)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "ns.example.com", "/acme/explorer")
    assert dict(parse_qsl(parts.query)) == view.to_params()
    assert parse(dict(parse_qsl(parts.query)), OPTIONS)[0] == view.replace(as_of=OPTIONS.today)
    # the OKR overview is the app's root page; review mode is one more parameter
    root = share_url("http://localhost:8501", "okrs", ViewState(as_of=D(2026, 11, 20), review=True))
    assert root == "http://localhost:8501/?grain=day&as_of=2026-11-20&review=1"


@pytest.mark.parametrize(
    ("here", "page", "base_path", "root"),
    [
        ("http://localhost:8501/", "", "", "http://localhost:8501"),
        ("http://localhost:8501/explorer", "explorer", "", "http://localhost:8501"),
        ("http://localhost:8501/okrs", "", "", "http://localhost:8501"),  # typed: still the root's links
        ("https://ns.example.com/acme/okrs/", "", "", "https://ns.example.com/acme"),  # a proxy's prefix
        ("https://ns.example.com/acme/funnels?x=1", "funnels", "acme", "https://ns.example.com/acme"),
        ("https://ns.example.com/okrs", "", "okrs", "https://ns.example.com/okrs"),  # served under /okrs
        ("", "", "", "http://localhost:8501"),
    ],
)
def test_the_root_of_shared_links(here: str, page: str, base_path: str, root: str) -> None:
    from dashboard.state import root_url

    assert root_url(here, page, base_path) == root
    assert share_url(root_url(here, page, base_path), "explorer", ViewState()).startswith(root + "/explorer?")


def test_defaults_without_params() -> None:
    view, warnings = parse({}, OPTIONS)
    assert warnings == []
    assert (view.metric, view.start, view.end, view.grain, view.as_of) == (
        "dau",
        D(2026, 9, 1),
        D(2026, 11, 26),
        "day",
        D(2026, 11, 26),
    )
    assert view.compare is None and view.by is None and not view.review


@pytest.mark.parametrize(
    ("params", "field", "expected", "warning"),
    [
        ({"start": "2026-02-30"}, "start", D(2026, 9, 1), "not a real date"),
        ({"start": "yesterday"}, "start", D(2026, 9, 1), "not a date"),
        ({"end": "2026-13-01"}, "end", D(2026, 11, 26), "not a real date"),
        (
            {"as_of": "9999-01-01"},
            "as_of",
            D(2026, 11, 26),
            "outside the years this dashboard covers (1970-01-01 to 2100-12-31)",
        ),
        ({"start": "2026-11-20", "end": "2026-11-01"}, "start", D(2026, 9, 1), "before `start"),
        ({"metric": "dau'; DROP TABLE events; --"}, "metric", "dau", "not a metric id"),
        ({"metric": "revenue"}, "metric", "dau", "not a known metric"),
        ({"grain": "hour"}, "grain", "day", "not a known grain"),
        ({"compare": "1=1 OR"}, "compare", None, "not a known comparison"),
        ({"by": "platform) union select"}, "by", None, "not a dimension name"),
        ({"by": "user_id"}, "by", None, "not a known dimension"),
        ({"review": "<script>"}, "review", False, "should be 1 or 0"),
        ({"metric": "x" * 5000}, "metric", "dau", "too long"),
        ({"utm_source": "mail"}, "metric", "dau", "unknown link parameter"),
        ({"page": "admin"}, "page", "okrs", "not a known page"),
        ({"grain": ["week", "month"]}, "grain", "month", "given 2 times"),
    ],
)
def test_hostile_params_fall_back_with_a_warning(
    params: dict[str, object], field: str, expected: object, warning: str
) -> None:
    view, warnings = parse(params, OPTIONS)
    assert getattr(view, field) == expected
    assert any(warning in w for w in warnings), warnings


def test_warnings_never_echo_markup() -> None:
    _, warnings = parse({"metric": "<img src=x onerror=alert(1)>", "grain": "**bold**[x](y)"}, OPTIONS)
    text = " ".join(warnings)
    assert "`metric=<img src=x onerror=alert(1)>`" in text  # shown literally, inside a code span
    outside = re.sub(r"`[^`]*`", "", text)
    assert "<" not in outside and "**" not in outside and "](" not in outside
    _, warnings = parse({"metric": "a`<b>`c"}, OPTIONS)
    assert "<b>" not in re.sub(r"`[^`]*`", "", " ".join(warnings))


def test_one_sided_range_keeps_the_other_default() -> None:
    view, warnings = parse({"start": "2026-11-01"}, OPTIONS)
    assert (view.start, view.end, warnings) == (D(2026, 11, 1), D(2026, 11, 26), [])
    view, warnings = parse({"start": "2026-12-20"}, OPTIONS)  # after the default end
    assert (view.start, view.end) == (D(2026, 9, 1), D(2026, 11, 26))
    assert warnings


# --- figures --------------------------------------------------------------------------------------


def _series(values: list[float | None], start: dt.date = D(2026, 10, 1)) -> pl.DataFrame:
    days = [start + dt.timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame({"metric": ["m"] * len(values), "period": days, "value": values})


def _json(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def test_timeseries_axis_units_title_and_overlays() -> None:
    main = _series([0.30, 0.32, None, 0.35])
    past = main.with_columns(
        pl.col("period").dt.offset_by("-4d").alias("compared_period"), pl.col("value") * 0.9
    )
    fig = figures.metric_timeseries(
        main,
        label="Activation",
        unit="percent",
        start=D(2026, 10, 1),
        end=D(2026, 10, 4),
        grain="day",
        comparison=past,
        target=figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), 0.3, 0.45, {D(2026, 10, 31): 0.35}),
        forecast=figures.Band(D(2026, 12, 31), 0.41, 0.37, 0.46, origin=(D(2026, 10, 4), 0.35)),
        quality_marks=[Shading("error", (D(2026, 10, 2), D(2026, 10, 3), D(2026, 11, 15)), ("events: c",))],
    )
    data = _json(fig)
    layout = data["layout"]
    assert layout["yaxis"]["tickformat"] == ".0%"
    assert "Activation" in layout["title"]["text"] and "Oct 1 – Oct 4, 2026" in layout["title"]["text"]
    names = [t.get("name") for t in data["data"]]
    assert {
        "Activation",
        "Previous period",
        "Target path",
        "Milestone",
        "Data check failed: events: c",
    } <= set(names)
    main_trace = next(t for t in data["data"] if t.get("name") == "Activation")
    assert main_trace["y"] == [0.30, 0.32, None, 0.35]  # a gap stays a gap, never a zero
    target = next(t for t in data["data"] if t.get("name") == "Target path")
    # the pace line starts at the baseline the day before the period and ends on the target
    assert target["x"][0] == "2026-09-30" and target["y"] == [0.3, 0.35, 0.45]
    assert len(layout["shapes"]) == 1  # Oct 2-3 merged into one band; Nov 15 is outside the range
    assert layout["template"]["layout"]["font"]["family"] == figures.FONT


@pytest.mark.parametrize("grain", ["week", "month"])
def test_shading_covers_the_period_holding_a_failed_day_errors_red_warnings_amber(grain: str) -> None:
    from metrics.definitions.calendar import Calendar
    from metrics.definitions.models import ProjectConfig
    from metrics.quality.flags import shading
    from metrics.quality.report import CheckResult, QualityReport

    calendar = Calendar.of(ProjectConfig())  # Monday weeks
    start, end = D(2026, 9, 1), D(2026, 12, 31)
    periods = calendar.periods_holding(
        [start + dt.timedelta(days=i) for i in range((end - start).days + 1)], grain
    )
    frame = pl.DataFrame({"period": periods, "value": [1.0] * len(periods)})
    bad, odd = D(2026, 10, 15), D(2026, 12, 9)  # a Thursday; a Wednesday in another month
    report = QualityReport(
        (
            CheckResult("events", "user_not_null", "error", False, 3, "", days=(bad,)),
            CheckResult("events", "volume", "warn", False, 1, "", days=(odd,)),
            CheckResult("events", "duplicates", "warn", True, 0, "", days=(D(2026, 11, 3),)),  # passed
        ),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    marks = shading(report, ["events"], calendar, grain, start, end, user_sources=["events"])  # type: ignore[arg-type]
    fig = figures.metric_timeseries(
        frame, label="M", unit="count", start=start, end=end, grain=grain, quality_marks=marks
    )
    data = _json(fig)
    shapes = [s for s in data["layout"]["shapes"] if s["type"] == "rect"]
    assert [s["fillcolor"] for s in shapes] == [figures.QUALITY_FILL, figures.WARNING_FILL]

    def covered(day: dt.date) -> list[str]:
        moment = dt.datetime.combine(day, dt.time()).isoformat()
        return [s["fillcolor"] for s in shapes if s["x0"] <= moment <= s["x1"]]

    holding = {"week": (D(2026, 10, 12), D(2026, 12, 7)), "month": (D(2026, 10, 1), D(2026, 12, 1))}[grain]
    # the point of the period holding the bad day is shaded, its neighbours are not
    assert covered(holding[0]) == [figures.QUALITY_FILL]
    assert covered(holding[1]) == [figures.WARNING_FILL]
    for other in periods:
        if other not in holding:
            assert covered(other) == [], other
    names = [t.get("name") for t in data["data"]]
    assert "Data check failed: events: user_not_null" in names
    assert "Data warning: events: volume" in names
    assert not any("duplicates" in str(n) for n in names)  # only checks that failed


def test_breakdown_lines_are_ordered_by_size_and_capped() -> None:
    rows = []
    for i, group in enumerate("abcdefghij"):
        for d in range(3):
            rows.append({"period": D(2026, 10, 1 + d), "platform": group, "value": float(10 * (i + 1))})
    frame = pl.DataFrame(rows)
    fig = figures.metric_timeseries(
        frame, label="DAU", unit="users", start=D(2026, 10, 1), end=D(2026, 10, 3), grain="day", by="platform"
    )
    names = [t.name for t in fig.data]
    assert names[:3] == ["j", "i", "h"] and len(names) == 8
    assert "Top 8 of 10 platform values" in fig.layout.annotations[0].text


def test_chart_config_exports_png_at_2x_with_a_meaningful_name() -> None:
    config = figures.chart_config(figures.file_name("dau", "week", D(2026, 10, 1), D(2026, 12, 31)))
    options = config["toImageButtonOptions"]
    assert options["scale"] == 2 and options["format"] == "png"
    assert options["filename"] == "northstar_dau_week_2026-10-01_2026-12-31"


def test_kr_sparkline_is_compact_and_carries_target_band_and_status_colour() -> None:
    history = pl.DataFrame({"date": [D(2026, 10, 1), D(2026, 10, 2)], "value": [10.0, 12.0]})
    fig = figures.kr_chart(
        history,
        title="Sign-ups",
        unit="count",
        target=figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), 0, 100),
        status="at_risk",
        forecast=figures.Band(D(2026, 12, 31), 90, 70, 110, origin=(D(2026, 10, 2), 12.0)),
        compact=True,
    )
    assert fig.layout.height == 170 and fig.layout.showlegend is False
    assert fig.data[0].line.color == figures.STATUS_COLORS["at_risk"]
    band = next(t for t in fig.data if t.fill == "toself")
    assert list(band.y) == [12.0, 110, 70, 12.0]


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("values", [[], [None, float("nan")]])
def test_a_key_result_without_a_reading_says_so_instead_of_a_lone_target(
    compact: bool, values: list[float | None]
) -> None:
    """CDNOW tour: an unscored KR's sparkline drew its target alone, on an axis of 19,999-20,001.
    Both the OKR page's tile and the pack's image (kr_figure -> kr_chart) say there is no reading."""
    history = pl.DataFrame(
        {"date": [D(2026, 10, 1 + i) for i in range(len(values))], "value": values},
        schema={"date": pl.Date, "value": pl.Float64},
    )
    fig = figures.kr_chart(
        history,
        title="Buyers",
        unit="count",
        target=figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), None, 20_000),
        compact=compact,
    )
    assert not fig.data  # no target path, no star: nothing to set them against
    assert fig.layout.yaxis.visible is False
    words = " ".join(a.text for a in fig.layout.annotations)
    assert figures.NO_READING in words
    assert ("20k" in words) is not compact  # the full chart names the target it cannot be set against
    assert fig.layout.xaxis.type == "date"  # the period's days, not -1 to 6


def test_scorecard_bars_clip_progress_and_mark_the_pace() -> None:
    fig = figures.scorecard(
        "Objective",
        "Q4 2026",
        [
            figures.KrBar("KR a", 1.7, 0.5, "on_track", "170", "100", 0.9),
            figures.KrBar("KR b", 0.4, 0.5, "at_risk", "40", "100"),
        ],
    )
    bars = fig.data[1]
    assert list(bars.x) == [0.4, 1.2]  # reversed order: first KR on top
    assert "90% likely" in fig.layout.annotations[1].text and fig.layout.annotations[1].y == "KR a"
    assert list(fig.data[2].x) == [0.5, 0.5]
    assert fig.layout.xaxis.range[0] == 0  # nothing behind its baseline: the axis starts at 0


def test_negative_progress_is_a_bar_left_of_zero_not_an_empty_one() -> None:
    """Regression (issue 13): a KR behind its baseline was drawn as an empty bar."""
    fig = figures.scorecard(
        "Objective",
        "Q4 2026",
        [
            figures.KrBar("KR a", 0.6, 0.5, "on_track", "60", "100"),
            figures.KrBar("KR b", -0.2, 0.5, "off_track", "-20", "100"),
            figures.KrBar("KR c", -3.0, 0.5, "off_track", "0.0%", "10.0%"),
        ],
    )
    bars = fig.data[1]
    assert list(bars.x) == [-0.5, -0.2, 0.6]  # far behind: clipped, still drawn
    assert fig.layout.xaxis.range[0] < -0.5 <= min(fig.layout.xaxis.tickvals)
    assert fig.layout.xaxis.zeroline
    words = {a.y: a.text for a in fig.layout.annotations}
    assert words["KR c"].startswith("-300% · ") and words["KR b"].startswith("-20% · ")


def test_funnel_bars_label_conversion_and_drop_off() -> None:
    steps = pl.DataFrame(
        {"step": [1, 2, 3], "step_label": ["signup", "note", "invite"], "users": [200.0, 120.0, 30.0]}
    )
    fig = figures.funnel_bars(steps, title="Activation", start=D(2026, 10, 1), end=D(2026, 10, 31))
    assert "60.0% of step 1" in fig.data[0].text[1]
    notes = [a.text for a in fig.layout.annotations]
    assert any("60.0%" in n and "40.0% drop" in n for n in notes)
    assert any("25.0%" in n and "75.0% drop" in n for n in notes)


def test_a_funnel_step_that_loses_nobody_says_no_drop() -> None:
    """Was '−-0.0% drop' (a negative zero behind a minus sign) when every user went on."""
    steps = pl.DataFrame({"step": [1, 2], "step_label": ["signup", "view"], "users": [588.0, 588.0]})
    fig = figures.funnel_bars(steps, title="F", start=D(2026, 10, 1), end=D(2026, 10, 31))
    (note,) = [a.text for a in fig.layout.annotations]
    assert "100.0%" in note and "no drop" in note and "-0.0" not in note and "−" not in note


def test_retention_heatmap_leaves_immature_cells_empty() -> None:
    cells = pl.DataFrame(
        {
            "cohort": [D(2026, 10, 5)] * 2 + [D(2026, 10, 12)] * 2,
            "offset": [1, 7, 1, 7],
            "value": [0.4, 0.2, 0.5, None],
        }
    )
    fig = figures.retention_heatmap(
        cells, title="D7", start=D(2026, 10, 5), end=D(2026, 10, 18), period="day", cohort_grain="week"
    )
    heat = fig.data[0]
    assert [list(r) for r in heat.z] == [[0.4, 0.2], [0.5, None]]
    assert list(heat.y) == ["Week of Oct 5", "Week of Oct 12"]
    assert heat.text[1][1] == ""


# --- axis formats: what the ticks read ------------------------------------------------------------

SMALL = (None, 0.5)  # tick steps of fractions
LARGE = (10_000, None)  # tick steps on an axis that runs into the tens of thousands


def _yaxis(unit: str) -> dict:
    fig = figures.metric_timeseries(
        _series([0.2, 0.5, 0.9]), label="M", unit=unit, start=D(2026, 10, 1), end=D(2026, 10, 3), grain="day"
    )
    axis: dict = _json(fig)["layout"]["yaxis"]
    return axis


def _stops(axis: dict) -> dict[tuple[float | None, float | None], str]:
    return {tuple(s["dtickrange"]): s["value"] for s in axis.get("tickformatstops", [])}


@pytest.mark.parametrize(
    ("unit", "tickformat", "prefix", "suffix", "stops"),
    [
        # counts: '0.5' and '1,500', never '500m' or '1.5k'; 'k' and 'M' once the axis runs past 10,000
        ("count", ",.0f", "", "", {SMALL: ",.2~f", LARGE: "~s"}),
        ("users", ",.0f", "", "", {SMALL: ",.2~f", LARGE: "~s"}),
        ("currency", ",.0f", "$", "", {SMALL: ",.2~f", LARGE: "~s"}),  # '$0.5', '$1,500', '$25k'
        ("eur", ",.0f", "€", "", {SMALL: ",.2~f", LARGE: "~s"}),
        ("ms", ",.0f", "", " ms", {SMALL: ",.2~f"}),  # '1,500 ms' and '12,000 ms', never '1.5k ms'
        ("seconds", ",.0f", "", " s", {SMALL: ",.2~f"}),
        ("percent", ".0%", "", "", {(None, 0.0005): ".2~%", (0.001, 0.005): ".1~%"}),  # '12%', '0.5%'
        ("sessions", ",.0f", "", "", {SMALL: ",.2~f", LARGE: "~s"}),
        ("pages_per_user", ",.0f", "", " pages_per_user", {SMALL: ",.2~f", LARGE: "~s"}),
    ],
)
def test_axis_ticks_per_unit(
    unit: str, tickformat: str, prefix: str, suffix: str, stops: dict[tuple[float | None, float | None], str]
) -> None:
    axis = _yaxis(unit)
    assert axis["tickformat"] == tickformat
    assert axis.get("tickprefix", "") == prefix and axis.get("ticksuffix", "") == suffix
    assert _stops(axis) == stops
    # d3's SI prefixes ('m' for thousandths, 'k') never apply to steps below 10,000
    for (low, _high), value in _stops(axis).items():
        if "s" in value:
            assert low is not None and low >= 10_000


def test_every_chart_of_a_unit_shares_its_axis_format() -> None:
    history = pl.DataFrame({"date": [D(2026, 10, 1), D(2026, 10, 2)], "value": [1200.0, 1350.0]})
    kr = figures.kr_chart(
        history,
        title="Page load",
        unit="ms",
        target=figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), 2000, 1400),
    )
    axis = _json(kr)["layout"]["yaxis"]
    assert (axis["tickformat"], axis["ticksuffix"], _stops(axis)) == (",.0f", " ms", {SMALL: ",.2~f"})
    steps = pl.DataFrame({"step": [1, 2], "step_label": ["a", "b"], "users": [20_000.0, 9_000.0]})
    bars = _json(figures.funnel_bars(steps, title="F", start=D(2026, 10, 1), end=D(2026, 10, 31)))
    assert bars["layout"]["yaxis"]["tickformat"] == ",.0f" and _stops(bars["layout"]["yaxis"])[LARGE] == "~s"


# --- the target's label ---------------------------------------------------------------------------


def test_target_label_sits_above_the_plot_clear_of_the_forecast() -> None:
    history = pl.DataFrame({"date": [D(2026, 10, 1), D(2026, 11, 20)], "value": [2100.0, 1370.0]})
    target = figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), 2200, 1400)
    band = figures.Band(D(2026, 12, 31), 1310, 520, 2000, origin=(D(2026, 11, 20), 1370.0))
    with_target = _json(
        figures.kr_chart(history, title="Load", unit="ms", target=target, forecast=band, status="at_risk")
    )
    label = next(a for a in with_target["layout"]["annotations"] if "Target" in a["text"])
    assert "1,400 ms" in label["text"] and "Dec 31, 2026" in label["text"]
    # in paper coordinates at the plot's top edge, growing upwards: outside the plotting area,
    # where no line or band is drawn, over the target's day
    assert (label["yref"], label["y"], label["yanchor"]) == ("paper", 1, "bottom")
    assert (label["xref"], label["x"], label["xanchor"]) == ("x", "2026-12-31", "right")
    # the star marker itself carries no text that could cross the forecast line ending beside it
    star = next(t for t in with_target["data"] if t.get("name") == "Target")
    assert "text" not in star["mode"] and not star.get("text")
    # a strip is reserved for the label between the legend and the plot
    plain = _json(
        figures.kr_chart(history, title="Load", unit="ms", target=target, forecast=band, compact=True)
    )
    no_strip = figures.metric_timeseries(
        _series([1.0, 2.0]), label="Load", unit="ms", start=D(2026, 10, 1), end=D(2026, 10, 2), grain="day"
    )
    strip = figures.metric_timeseries(
        _series([1.0, 2.0]),
        label="Load",
        unit="ms",
        start=D(2026, 10, 1),
        end=D(2026, 10, 2),
        grain="day",
        target=target,
    )
    assert strip.layout.margin.t - no_strip.layout.margin.t >= figures.TARGET_STRIP
    assert not [a for a in plain["layout"].get("annotations", []) if "Target" in a["text"]]  # sparkline


def test_stamped_height_keeps_the_strip_above_the_plot() -> None:
    """The review pack makes a figure taller for its footer; the title and legend move with the top
    (they are placed in pixels from it) and the plot's top margin, with the target's strip, stays."""
    fig = figures.metric_timeseries(
        _series([1.0, 2.0]),
        label="Load",
        unit="ms",
        start=D(2026, 10, 1),
        end=D(2026, 10, 2),
        grain="day",
        target=figures.TargetPath(D(2026, 10, 1), D(2026, 12, 31), 2200, 1400),
    )
    top, height = fig.layout.margin.t, fig.layout.height
    taller = go.Figure(fig)
    taller.update_layout(height=height + 100)
    figures.finish(taller)
    assert taller.layout.margin.t == top
    for part in ("title", "legend"):
        before = (1 - getattr(fig.layout, part).y) * height
        after = (1 - getattr(taller.layout, part).y) * (height + 100)
        assert abs(before - after) < 1e-6, part


def test_few_periods_get_a_tick_each_named_like_the_period() -> None:
    weeks = [D(2026, 9, 7) + dt.timedelta(days=7 * i) for i in range(4)]
    frame = pl.DataFrame({"period": weeks, "value": [3.0, 5.0, 4.0, 6.0]})
    fig = figures.metric_timeseries(
        frame, label="Sign-ups", unit="count", start=weeks[0], end=D(2026, 10, 4), grain="week"
    )
    axis = _json(fig)["layout"]["xaxis"]
    assert axis["tickvals"] == [w.isoformat() for w in weeks]  # on the weeks' first days, no hours
    assert axis["tickformat"] == "%b %-d"
    many = _series([1.0] * 40)
    long = figures.metric_timeseries(
        many, label="DAU", unit="count", start=D(2026, 10, 1), end=D(2026, 11, 9), grain="day"
    )
    assert "tickvals" not in _json(long)["layout"].get("xaxis", {})  # Plotly spaces the ticks of long series


def test_a_kr_tile_draws_negative_progress_as_a_bar_below_the_baseline() -> None:
    """A KR that fell below its baseline (progress -300%) shows a red hatched bar, not an empty one;
    its width is the shortfall, capped at the bar's length."""
    import re

    from dashboard.views.okrs import progress_bar

    def width(html: str) -> float:
        found = re.search(r"width:([\d.]+)%", html)
        assert found is not None, html
        return float(found.group(1))

    below = progress_bar(-0.25, 0.5, "off_track")
    assert "ns-below" in below and "below the baseline" in below
    assert width(below) == 25.0
    assert width(progress_bar(-3.0, 0.5, "off_track")) == 100.0
    ahead = progress_bar(0.4, 0.5, "at_risk")
    assert "ns-below" not in ahead and width(ahead) == 40.0
    assert width(progress_bar(None, None, None)) == 0.0


def test_retention_curves_show_n_and_ring_small_cohorts() -> None:
    curves = pl.DataFrame(
        {
            "series": ["All who joined", "All who joined", "Cohort of Oct 5", "Cohort of Oct 5"],
            "offset": [1, 7, 1, 7],
            "value": [0.5, 0.25, 0.375, 0.125],
            "numerator": [50.0, 25.0, 3.0, 1.0],
            "denominator": [100.0, 100.0, 8.0, 8.0],
        }
    )
    fig = figures.retention_curves(
        curves, title="D7", start=D(2026, 10, 1), end=D(2026, 10, 31), period="day"
    )
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [list(t.customdata) for t in lines] == [
        ["50 of 100 users", "25 of 100 users"],
        ["3 of 8 users", "1 of 8 users"],
    ]
    (rings,) = [t for t in fig.data if t.legendgroup == "uncertain"]
    assert list(rings.x) == [1, 7] and list(rings.y) == [0.375, 0.125]  # the cohort of 8 only


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"metric": "purchses"}, "`metric=purchses`"),
        ({"metric": "Bad-Id"}, "`metric=Bad-Id`"),
        ({"start": "2026-02-30"}, "`start=2026-02-30`"),
        ({"end": "tomorrow"}, "`end=tomorrow`"),
        ({"as_of": "9999-01-01"}, "`as_of=9999-01-01`"),
        ({"start": "2026-11-20", "end": "2026-11-01"}, "`end=2026-11-01` is before `start=2026-11-20`"),
        ({"start": "2020-01-01", "end": "2026-11-01"}, "`start=2020-01-01` to `end=2026-11-01`"),
        ({"start": "2026-12-20"}, "`start=2026-12-20` is after the default end, 2026-11-26"),
        ({"grain": "hour"}, "`grain=hour`"),
        ({"by": "user id"}, "`by=user id`"),
        ({"review": "maybe"}, "`review=maybe`"),
        ({"utm_source": "mail"}, "`utm_source`"),
        ({"grain": ["week", "month"]}, "`grain` was given 2 times"),
    ],
)
def test_link_warnings_name_a_parameter_as_the_address_bar_shows_it(
    params: dict[str, object], named: str
) -> None:
    """The tour found `metric` = `purchses` beside `end=2024-01-01` in one warnings box: every warning
    now names the parameter the one way (`dashboard.state.link_param`), as it stands in the link."""
    from dashboard.state import link_param

    _, warnings = parse(params, OPTIONS)
    assert len(warnings) == 1 and named in warnings[0], warnings
    assert " = " not in warnings[0] and " .. " not in warnings[0], warnings
    assert link_param("metric", "purchses") == "`metric=purchses`"
    assert link_param("x", "`<b>`\n") == escape.markdown_code("x=`<b>`?")


def test_a_link_s_as_of_before_the_data_s_end_ends_the_default_range() -> None:
    """Tour 3 (CDNOW, data to Jun 30, 1998): a link with only `as_of=1997-08-15` opened the explorer
    on Apr 2 - Jun 30, 1998, under a header "As of Aug 15, 1997": "Latest · Jun 30, 1998", numbers
    from after the day the link was about. Without `start` and `end`, the default range is the 90
    days ending on the link's as-of when that is before the default end (clipped to the data's
    first day); otherwise, and whenever the link gives a date of the range, as before."""
    opts = dataclasses.replace(OPTIONS, data_first=D(2026, 6, 1))
    view, warnings = parse({"as_of": "2026-10-15"}, opts)
    assert warnings == [] and (view.start, view.end, view.as_of) == (
        D(2026, 7, 18),
        D(2026, 10, 15),
        D(2026, 10, 15),
    )
    view = parse({"as_of": "2026-07-01"}, opts)[0]
    assert (view.start, view.end) == (D(2026, 6, 1), D(2026, 7, 1))  # not before the data's first day
    assert parse({"as_of": "2026-05-01"}, opts)[0].end == opts.default_end  # before the data: no range there
    assert parse({"as_of": "2026-12-01"}, opts)[0].end == opts.default_end  # after the default end
    view = parse({"as_of": "2026-10-15", "start": "2026-10-01"}, opts)[0]
    assert (view.start, view.end) == (D(2026, 10, 1), opts.default_end)  # a link's own range wins


def test_a_link_s_misspelt_name_gets_a_did_you_mean() -> None:
    """Tour 3 (CDNOW): `metric=revenu` said "not a known metric (one of: orders, buyers, revenue,
    cds_sold, dau, wau, mau, aov ...)", a list to read through for a one-letter typo. A close name is
    offered, as `northstar compute` and `validate` do; otherwise the list as before."""
    _, warnings = parse({"metric": "signup", "grain": "weekly", "by": "zzz"}, OPTIONS)
    assert warnings == [
        "`metric=signup` is not a known metric (did you mean 'signups'?); using the default.",
        "`grain=weekly` is not a known grain (did you mean 'week'?); using the default.",
        "`by=zzz` is not a known dimension (one of: platform, country); using the default.",
    ]
