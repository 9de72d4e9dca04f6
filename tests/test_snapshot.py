"""The review pack (`northstar snapshot`): stamps, links, the summary's numbers, PNGs and the offline page.

The pack is planned once (no browser) and built once per module (one Chromium for every image) on
the shipped config over the small demo. Numbers in summary.md are checked against the output of
`northstar okrs --format json` for the same as-of date, parsed back from their display text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import Image as PILImage

from dashboard import figures
from dashboard.format import STATUS_WORDS, metric_unit
from dashboard.pack.build import (
    FOOTER,
    PackSummary,
    build_pack,
    build_pack_zip,
    config_commit,
    footer_height,
    plan_pack,
    stamped,
    zip_pack,
)
from dashboard.pack.html import _cell
from dashboard.pack.images import RenderStats, find_browser, with_text
from dashboard.pack.model import SCALE, PackError, Plan
from dashboard.state import Options, ViewState, parse, share_url
from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.load import load_project
from tests.conftest import CHROMIUM_ARGS, DEMO_END, require_service

AS_OF = DEMO_END
BASE = "https://northstar.example.com/acme"


def _cli(*args: str) -> tuple[int, str, str]:
    """`northstar ARGS` in this process (project loading imports Great Expectations: slow to repeat
    in subprocesses): exit code, stdout, stderr."""
    from dashboard.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


# Objectives for the pack's tests (the shipped okrs.yaml may change with the demo): rates, a total,
# a level, a decreasing KR in milliseconds, currency, milestones, and a KR whose baseline already
# beats its target (not scored, so the pack must say why).
OKRS = """\
okrs:
  - id: first_week_success
    objective: New users succeed in their first week
    owner: growth-pm
    period: 2026-Q4
    key_results:
      - {id: activation_rate, metric: activation, read: trailing_28d, target: 0.30,
         milestones: {2026-10-31: 0.2, 2026-11-30: 0.25}}
      - {id: d7_retention, metric: d7_retention, read: trailing_28d, target: 0.35, weight: 2}
      - {id: signups_q4, metric: signups, read: period_to_date, target: 2500}
  - id: engaged_writers
    objective: Writers come back | every week
    owner: head-of-product
    period: {start: 2026-10-01, end: 2026-12-31}
    key_results:
      - {id: weekly_writers, metric: weekly_active_writers, read: latest, baseline: 20, target: 60}
      - {id: stickiness, metric: stickiness, read: trailing_28d, target: 0.3}
      - {id: page_load, metric: p90_page_load, read: trailing_28d, target: 900}
  - id: revenue_growth
    objective: Grow revenue from teams
    period: 2026-Q4
    key_results:
      - {id: revenue_q4, metric: revenue, read: period_to_date, target: 60000}
"""


def copy_project(
    small_demo: Path, folder: Path, okrs: str | None = None, project_yaml: str | None = None
) -> Path:
    """The small demo's YAML in `folder`, reading the demo's data where it is; new okrs/project files."""
    folder.mkdir(parents=True)
    data = str(small_demo.parent / "data" / "demo")
    for path in small_demo.glob("*.yaml"):  # the source's path and project.yaml's data root
        (folder / path.name).write_text(path.read_text().replace("../data/demo", data))
    if okrs is not None:
        (folder / "okrs.yaml").write_text(okrs)
    if project_yaml is not None:
        (folder / "project.yaml").write_text(project_yaml + f"data_roots: ['{data}']\n")
    return folder


@pytest.fixture(scope="module")
def config(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(small_demo, tmp_path_factory.mktemp("project") / "config", okrs=OKRS)


@pytest.fixture(scope="module")
def project(config: Path) -> Project:
    loaded = load_project(config)
    assert loaded.ok, loaded.problems
    return loaded


@pytest.fixture(scope="module")
def engine(project: Project) -> Engine:
    # as `northstar okrs` and `snapshot` build it: the as-of is an argument to scoring, not the clock
    return Engine(project)


@pytest.fixture(scope="module")
def plan(project: Project, engine: Engine) -> Plan:
    return plan_pack(project, engine, as_of=AS_OF, base_url=BASE)


@pytest.fixture(scope="module")
def okrs_json(config: Path) -> dict[str, Any]:
    code, stdout, stderr = _cli(
        "okrs", "--config", str(config), "--as-of", AS_OF.isoformat(), "--format", "json"
    )
    assert code == 0, stderr
    document: dict[str, Any] = json.loads(stdout)
    return document


@pytest.fixture(scope="module")
def pack(project: Project, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> PackSummary:
    require_service("chromium")
    out = tmp_path_factory.mktemp("pack") / "review"
    return build_pack(project, engine, out, as_of=AS_OF, base_url=BASE, browser="/usr/bin/chromium")


# --- stamps and links ------------------------------------------------------------------------------


def test_config_commit_outside_git(tmp_path: Path) -> None:
    assert config_commit(tmp_path) == "not in git"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_config_commit_is_the_short_head_plus_dirty(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo, config = tmp_path / "repo", tmp_path / "repo" / "config"
    config.mkdir(parents=True)
    (config / "metrics.yaml").write_text("metrics: {}\n")
    (repo / "README").write_text("hello\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "--short", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{7,}", head)
    assert config_commit(config) == head
    (repo / "README").write_text("changed outside the config\n")
    assert config_commit(config) == head  # only the config folder counts
    (config / "metrics.yaml").write_text("metrics: {dau: {}}\n")
    assert config_commit(config) == f"{head}-dirty"
    (config / "metrics.yaml").write_text("metrics: {}\n")
    assert config_commit(config) == head
    (config / "okrs.yaml").write_text("okrs: []\n")  # a new, uncommitted file is a change too
    assert config_commit(config) == f"{head}-dirty"


def test_share_url_reproduces_the_view() -> None:
    view = ViewState(
        page="explorer",
        metric="dau",
        start=dt.date(2026, 8, 23),
        end=dt.date(2026, 11, 20),
        grain="week",
        compare="previous_period",
        as_of=dt.date(2026, 11, 20),
    )
    url = share_url(BASE + "/", view.page, view)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE + "/explorer"
    options = Options(metrics=["dau", "signups"], dimensions=["platform"], today=dt.date(2027, 1, 5))
    parsed, warnings = parse(dict(parse_qsl(parts.query)), options)
    assert warnings == []
    assert parsed.replace(page="explorer") == view
    okrs = share_url(BASE, "okrs", ViewState(as_of=dt.date(2026, 11, 20)))
    assert okrs == BASE + "/?grain=day&as_of=2026-11-20"  # the OKR overview is the app's root page


def test_png_text_chunks_are_readable() -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 3), "white").save(buffer, format="PNG")
    text = {"Source": "https://x.example/explorer?metric=dau&as_of=2026-11-20", "Title": "Activation · 45 %"}
    image = PILImage.open(io.BytesIO(with_text(buffer.getvalue(), text)))
    image.load()
    assert image.size == (4, 3)
    assert {k: image.info[k] for k in text} == text


def test_a_missing_browser_is_one_sentence_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_CHROMIUM", "/nowhere/chromium")
    with pytest.raises(PackError, match=r"no browser at /nowhere/chromium; point NORTHSTAR_CHROMIUM"):
        find_browser()


def test_a_bad_base_url_is_an_error(project: Project, engine: Engine) -> None:
    with pytest.raises(PackError, match="is not a web address"):
        plan_pack(project, engine, as_of=AS_OF, base_url="northstar.example.com")


# --- what the pack holds (no browser) --------------------------------------------------------------


def test_plan_has_an_item_per_objective_key_result_and_pinned_metric(project: Project, plan: Plan) -> None:
    kinds = [(i.kind, i.objective, i.id) for i in plan.items]
    expected: list[tuple[str, str | None, str]] = []
    for objective in project.okrs:
        expected.append(("objective", objective.id, objective.id))
        expected += [("key_result", objective.id, kr.id) for kr in objective.key_results]
    expected += [("metric", None, m) for m in project.settings.review.pinned_metrics]
    assert kinds == expected
    assert project.okrs and project.settings.review.pinned_metrics, "the demo should exercise both"
    assert len({i.file for i in plan.items}) == len(plan.items)
    assert all(i.file.endswith(f"_{AS_OF.isoformat()}.png") for i in plan.items)


def test_every_item_is_stamped(project: Project, plan: Plan) -> None:
    from metrics.quality import run_checks_as_of

    # The checks as they stood at the end of the as-of day (AS_OF is in the past), the same
    # judgement `northstar check --as-of` makes.
    report = run_checks_as_of(project, Engine(project), AS_OF)
    results = list(report.results)
    failed = sum(1 for r in results if not r.success and r.severity == "error")
    warned = sum(1 for r in results if not r.success and r.severity == "warn")
    # the pack's own stamp: every check of the one source (the data-quality page's view)
    assert (plan.stamp.quality.failed, plan.stamp.quality.warnings) == (failed, warned)
    for item in [*plan.items]:
        stamp = item.stamp
        assert stamp.as_of == AS_OF
        assert stamp.data_through == DEMO_END  # the demo's last event is on DEMO_END
        assert stamp.commit == "not in git"  # the small demo lives in a temporary folder
        # an item's verdict counts only the failed checks that touch its numbers (see below)
        assert stamp.quality.failed <= failed and stamp.quality.warnings <= warned
        line = stamp.line()
        assert line.startswith(f"{project.settings.name} · as of Nov 20, 2026 · data through Nov 20, 2026 · ")
        assert line.endswith("· config not in git")
        parts = urlsplit(stamp.url)
        query = dict(parse_qsl(parts.query))
        assert query["as_of"] == AS_OF.isoformat()
        assert stamp.url.startswith(BASE + "/")
        if item.kind == "objective":
            assert parts.path == "/acme/"
        else:
            assert parts.path == "/acme/explorer"
            metric = item.id if item.kind == "metric" else None
            if metric:
                assert query["metric"] == metric


# The small demo's defects (metrics/demo/generate.py), as of AS_OF = Nov 20, 2026: every user null on
# Oct 9 (UTC; it spills into Oct 10 in Europe/Berlin): error, but only for numbers that count users
# (the rows still count as rows); a duplicated hour on Oct 30 and a late day on Nov 10: warnings. Each
# KR's flag follows the days its current reading reads (CONTRACT.md):
EXPECTED_FLAGS: dict[str, str | None] = {
    "activation_rate": "warn",  # entrants Oct 17 .. Nov 13 (28 days, 7 to convert), steps to Nov 20
    "d7_retention": "warn",  # cohorts Oct 17 .. Nov 13, returns to Nov 20
    "signups_q4": "warn",  # Oct 1 .. Nov 20: a count, so the null users of Oct 9 do not flag it
    "weekly_writers": None,  # active in the 7 days Nov 14 .. 20: no defect
    "stickiness": "warn",  # DAU on Nov 20 over MAU: the 28 days Oct 24 .. Nov 20
    "page_load": "warn",  # Oct 24 .. Nov 20
    "revenue_q4": "warn",  # Oct 1 .. Nov 20: a sum, likewise
}


def test_key_result_flags_follow_the_days_their_reading_reads(project: Project, plan: Plan) -> None:
    from dashboard.pack.html import render_summary

    document = plan.scorecard.to_json(flag=plan.flag_json)  # what pack.json holds
    flags = {kr["id"]: kr["flag"] for o in document["objectives"] for kr in o["key_results"]}
    assert {k: None if f is None else f["severity"] for k, f in flags.items()} == EXPECTED_FLAGS
    for kr_id, flag in flags.items():
        if flag is None:
            continue
        checks = {c["check"]: c["severity"] for c in flag["checks"]}
        assert ("user_not_null" in checks) == (flag["severity"] == "error"), kr_id
        assert set(checks.values()) <= {"error", "warn"}
    # the KR items' stamps and the summary's marks say the same, a warning as a warning
    items = {i.id: i for i in plan.items if i.kind == "key_result"}
    levels = {"error": "fail", "warn": "warn", None: "pass"}
    assert {k: items[k].stamp.quality.level for k in EXPECTED_FLAGS} == {
        k: levels[v] for k, v in EXPECTED_FLAGS.items()
    }
    summary = render_summary(project, plan.scorecard, plan.items, plan.stamp)
    rows = {row[0] for row in _table(summary)}
    for kr_id, severity in EXPECTED_FLAGS.items():
        title = items[kr_id].title
        row = next(r for r in rows if r.startswith(f"↳ {title}"))
        mark = {"error": "⚠ data check failed", "warn": "⚠ data warning", None: None}[severity]
        assert (mark in row) if mark else ("⚠" not in row), row


def test_quality_clock_is_the_end_of_a_past_as_of_day_in_the_project_zone(project: Project) -> None:
    from metrics.quality import quality_clock

    zone = ZoneInfo(project.settings.timezone)
    today = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
    clock = quality_clock(project, dt.date(2026, 11, 20), now=today)
    end = dt.datetime.combine(dt.date(2026, 11, 21), dt.time(), tzinfo=zone)
    assert clock.past and clock.now == end and clock.until == end  # the data is cut at the day's end
    later = quality_clock(project, dt.date(2026, 11, 27), now=today)  # today: the real time, no cut
    assert (later.now, later.until, later.past) == (today, None, False)
    future = quality_clock(project, dt.date(2026, 12, 31), now=today)  # a future as-of date too
    assert (future.now, future.until) == (today, None)


def test_a_pack_made_in_the_morning_reads_the_last_complete_day(project: Project) -> None:
    """Without an as-of, a pack made on the data's last day (still running) is the pack of the day
    before: no partial day ("Day-1 retention 0.0%, progress -300%")."""
    from metrics.engine.as_of import default_as_of

    morning = Engine(project, today=lambda: AS_OF)
    plan = plan_pack(project, morning, base_url=BASE)
    yesterday = AS_OF - dt.timedelta(days=1)
    assert default_as_of(project, morning) == yesterday
    assert plan.scorecard.as_of == yesterday and plan.stamp.as_of == yesterday
    scored = [kr for o in plan.scorecard.objectives for kr in o.key_results if kr.current is not None]
    assert scored and all(kr.as_of <= yesterday for kr in scored)


def test_a_pack_for_a_past_day_judges_freshness_on_that_day(
    project: Project, engine: Engine, plan: Plan
) -> None:
    """The small demo ends on AS_OF, a week or more before the real today: checked now, its data is
    stale (freshness fails); as of AS_OF it was fresh, and later data is not "in the future"."""
    from metrics.quality import run_checks, run_checks_as_of

    if dt.date.today() <= AS_OF + dt.timedelta(days=3):
        pytest.skip("the machine's clock is too close to the demo's end for the data to be stale")
    today = {r.check: r for r in run_checks(project, engine).results}
    assert not today["freshness"].success and today["freshness"].severity == "error"
    reasons = " ".join(plan.stamp.quality.reasons)
    assert "freshness" not in reasons and "timestamp_not_in_future" not in reasons
    then = run_checks_as_of(project, engine, AS_OF)
    assert "timestamp_not_in_future" not in {r.check for r in then.results}
    assert plan.stamp.quality.checks == len(then.results)
    assert plan.stamp.quality.failed == sum(
        1 for r in then.results if not r.success and r.severity == "error"
    )


def test_key_result_links_open_the_explorer_on_the_period(project: Project, plan: Plan) -> None:
    definitions = {(o.id, kr.id): kr for o in project.okrs for kr in o.key_results}
    for item in plan.items:
        if item.kind != "key_result" or item.objective is None:
            continue
        query = dict(parse_qsl(urlsplit(item.stamp.url).query))
        objective = next(o for o in plan.scorecard.to_json()["objectives"] if o["id"] == item.objective)
        assert query["metric"] == definitions[(item.objective, item.id)].metric
        assert query["start"] == objective["period"]["start"]
        assert query["end"] == min(objective["period"]["end"], AS_OF.isoformat())


def test_stamped_figure_adds_a_footer_with_the_link(plan: Plan) -> None:
    item = plan.items[0]
    fig = stamped(item.figure, item.stamp)
    extra = footer_height(item.stamp)
    assert extra in (FOOTER, FOOTER + 14)  # two or three lines
    assert fig.layout.height == item.figure.layout.height + extra == item.height
    assert fig.layout.margin.b == (item.figure.layout.margin.b or 48) + extra
    notes = [a.text for a in fig.layout.annotations]
    assert any(item.stamp.url.replace("&", "&amp;") in n and "config not in git" in n for n in notes)
    assert item.figure.layout.height != fig.layout.height  # the original, shown in the HTML, is untouched


# --- summary.md equals `northstar okrs --format json` ----------------------------------------------

_NUMBER = re.compile(r"^(-?)([$€£]?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)([kMBT]?)(?:\s?(%|ms|s))?$")
_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_WORDS = {words: key for key, words in STATUS_WORDS.items()}


def _parse(text: str, unit: str = "count") -> tuple[float, float] | None:
    """Display text -> (value, half a unit of its last digit): '45.2%' -> (0.452, 0.0005)."""
    text = text.strip()
    if text in ("", "–"):
        return None
    match = _NUMBER.match(text)
    assert match, f"not a number as the summary writes one: {text!r}"
    sign, _symbol, digits, suffix, tail = match.groups()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    factor = _SCALE[suffix]
    if tail == "%":
        factor /= 100
    elif tail == "s" and unit == "ms":
        factor *= 1000  # 12.50 s of a milliseconds metric
    value = float(digits.replace(",", "")) * factor * (-1 if sign else 1)
    return value, 0.5 * 10**-decimals * factor


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _table(summary: str) -> list[list[str]]:
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Objective / key result"))
    assert re.fullmatch(r"\|(:?-+:?\|)+", lines[start + 1])
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def _close(text: str, expected: float | None, unit: str = "count") -> None:
    parsed = _parse(text, unit)
    if expected is None:
        assert parsed is None, f"{text!r} should be empty"
        return
    assert parsed is not None, f"{text!r} should show {expected}"
    value, tolerance = parsed
    assert abs(value - expected) <= tolerance * (1 + 1e-9) + 1e-12, f"{text!r} is not {expected}"


def test_summary_numbers_equal_northstar_okrs_json(
    project: Project, plan: Plan, okrs_json: Mapping[str, Any]
) -> None:
    from dashboard.pack.html import render_summary

    summary = render_summary(project, plan.scorecard, plan.items, plan.stamp)
    assert okrs_json["as_of"] == AS_OF.isoformat()
    assert f"As of {AS_OF.isoformat()} · " in summary
    rows = iter(_table(summary))
    kr_defs = {(o.id, kr.id): kr for o in project.okrs for kr in o.key_results}
    checked = samples = 0
    for objective in okrs_json["objectives"]:
        name, current, baseline, target, progress, status, probability, link = next(rows)
        assert name.startswith(f"**{objective['objective']}**")
        assert (current, baseline, target, probability) == ("", "", "", "")
        _close(progress, objective["progress"])
        assert _WORDS[status.removesuffix(" ⚠")] == objective["status"]
        assert "[dashboard](" in link
        for kr in objective["key_results"]:
            name, current, baseline, target, progress, status, probability, link = next(rows)
            unit = metric_unit(project, kr_defs[(objective["id"], kr["id"])].metric)
            assert name.startswith("↳ ")
            # a rate: '5.9% · 1 of 17 users (uncertain: below min_sample 30)'
            current, _, sample = current.partition(" · ")
            if kr["n"] is None:
                assert sample == ""
            else:
                assert re.search(rf"(of|over) {kr['n']:,.0f} ", sample), (current, sample)
                assert sample.endswith("(uncertain: below min_sample 30)") is (kr["n"] < 30), sample
                samples += 1
            _close(current, kr["current"], unit)
            kr_def = kr_defs[(objective["id"], kr["id"])]
            decrease = (kr_def.direction or project.metrics[kr_def.metric].direction) == "decrease"
            assert target.startswith("≤ ") is decrease, target  # a ceiling, as `northstar okrs` writes it
            _close(target.removeprefix("≤ "), kr["target"], unit)
            # progress runs from the baseline (the ecom tour: WAU 186 of 200 read 80% from an unseen 130)
            _close(baseline, kr["baseline"], unit)
            _close(progress, kr["progress"])
            _close(probability, kr["probability"])
            assert _WORDS[status] == kr["status"]
            checked += 1
    assert next(rows, None) is None
    assert checked == sum(len(o.key_results) for o in project.okrs) > 0
    assert samples > 0  # the demo's rates (activation, conversion...) show their n
    from dashboard.pack.html import render_html

    page = render_html(project, plan.scorecard, plan.items, plan.stamp)
    small = [
        kr for o in okrs_json["objectives"] for kr in o["key_results"] if kr["n"] is not None and kr["n"] < 30
    ]
    assert small and page.count('<td class="num uncertain">') == len(small)  # drawn hatched
    listed = summary.split("Uncertain (small samples):", 1)[1].split("\n\n")[1].splitlines()
    assert len(listed) == len(small)
    for kr in small:  # in the words of every surface (`metrics.format.sample_words`)
        assert re.search(rf"(of|over) {kr['n']:,.0f} .*\(uncertain: below min_sample 30\)", page), kr["id"]
    unscored = [i for i in plan.items if i.note]
    assert unscored, "OKRS holds a KR whose baseline beats its target: it must be explained"
    for item in unscored:
        assert f"- {_cell(item.title)}: {_cell(item.note)}" in summary


def test_summary_escapes_table_breaking_text() -> None:
    assert _cell("Revenue | per user\nnew") == "Revenue \\| per user new"


# --- the written pack (Chromium) ------------------------------------------------------------------


@pytest.mark.browser
def test_pngs_are_valid_sized_and_not_blank(pack: PackSummary) -> None:
    assert len(pack.images) == len(pack.items) >= 10
    for item in pack.items:
        path = pack.out / item.file
        with PILImage.open(path) as image:
            image.verify()
        with PILImage.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (item.width * SCALE, item.height * SCALE) == item.pixels
            assert image.size[0] == figures.EXPORT_WIDTH * SCALE
            assert image.info["Source"] == item.stamp.url
            pixels = np.asarray(image.convert("RGB"))
        packed = pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
        colours = len(np.unique(packed))
        assert colours > 50, f"{item.file} has only {colours} colours"
        assert pixels.std() > 10, f"{item.file} looks blank"
        # the footer (the last FOOTER px) holds the stamp: dark text on white
        footer = pixels[-FOOTER * SCALE :]
        assert (footer.min(axis=2) < 160).sum() > 500, f"{item.file} has no stamp in its footer"


@pytest.mark.browser
def test_html_holds_every_chart_and_embeds_plotly_once(pack: PackSummary) -> None:
    page = (pack.out / "index.html").read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == len(pack.items)
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # the library's banner: embedded exactly once
    assert not re.search(r"<script[^>]+src=", page), "the page must not load scripts"
    assert not re.search(r"<link[^>]+href=[\"']?https?:", page), "the page must not load styles or fonts"
    for item in pack.items:
        assert f'id="chart-{item.file.removesuffix(".png")}"' in page
        assert item.stamp.url.replace("&", "&amp;") in page


def _long_floats(text: str) -> list[str]:
    """Decimal numbers in `text` with more than 15 significant digits (binary noise such as
    0.30000000000000004: `metrics.format.raw_number` writes 15)."""
    out = []
    for number in re.findall(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?", text):
        mantissa = re.split(r"[eE]", number)[0].lstrip("-").replace(".", "").lstrip("0")
        if len(mantissa) > 15:
            out.append(number)
    return out


def test_long_floats_finds_binary_noise() -> None:
    assert _long_floats('{"y": [0.30000000000000004, 0.3, 12.5, 1e-05], "x": "2026-10-01"}') == [
        "0.30000000000000004"
    ]
    assert _long_floats(f"[{1 / 3}, {2 / 3:.15g}]") == [repr(1 / 3)]


def test_html_chart_data_holds_no_float_past_15_significant_digits(project: Project, plan: Plan) -> None:
    """The charts' data in index.html is written as exports write numbers (`raw_number`), not with
    the 16th and 17th digits of a double's binary noise."""
    from dashboard.pack.html import render_html

    page = render_html(project, plan.scorecard, plan.items, plan.stamp)
    calls = re.findall(r"Plotly\.newPlot\((.*?)\)\s*};?\s*</script>", page, flags=re.S)
    assert len(calls) == len(plan.items)
    assert not [(i.file, n) for i, c in zip(plan.items, calls, strict=True) for n in _long_floats(c)]


def test_what_moved_without_a_comparison_tells_the_reader_facts_and_the_author_the_flags(
    small_demo: Path, tmp_path: Path
) -> None:
    """A key result read near the data's first day has no span before it to compare: summary.md says
    so without advice its reader cannot follow, and `northstar snapshot` tells the author the
    `northstar drivers` flags of the first span that has one."""
    from dashboard.pack.html import render_summary

    loaded = load_project(copy_project(small_demo, tmp_path / "config"))
    first, _ = Engine(loaded).data_range(["signups"])
    as_of = first + dt.timedelta(days=13)
    okrs = f"""\
okrs:
  - id: early
    objective: An early start
    period: {{start: {first.isoformat()}, end: {(first + dt.timedelta(days=89)).isoformat()}}}
    key_results:
      - {{id: signups_early, metric: signups, read: period_to_date, target: 500}}
"""
    project = load_project(copy_project(small_demo, tmp_path / "early", okrs=okrs))
    assert project.ok, project.problems
    plan = plan_pack(project, Engine(project), as_of=as_of, base_url=BASE)
    said = plan.movers[("early", "signups_early")]
    assert any(line.startswith("no comparison:") for line in said), said
    summary = render_summary(project, plan.scorecard, plan.items, plan.stamp, movers=plan.movers)
    assert "no comparison:" in summary
    assert not re.search(r"choose|later span|--start", summary)
    (note,) = plan.author_notes
    days = (as_of - first).days + 1
    assert note.startswith("early/signups_early: What moved has no comparison; ")
    comparable = first + dt.timedelta(days=days)  # the same days just before start on the first day
    last = comparable + dt.timedelta(days=days - 1)
    assert f"northstar drivers signups --start {comparable.isoformat()} --end {last.isoformat()}" in note
    out = PackSummary(tmp_path, (), (), plan.stamp, 0.0, RenderStats(0, 0, 0.0, 0.0), notes=plan.author_notes)
    assert f"note: {note}" in str(out).splitlines()


@pytest.mark.browser
def test_html_renders_offline_in_chromium(pack: PackSummary, chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            context.set_offline(True)

            def route(r: Any) -> None:
                requested.append(r.request.url)
                r.continue_() if r.request.url.startswith("file:") else r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((pack.out / "index.html").as_uri())
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')]"
                ".every(d => d.querySelector('.main-svg') && (d.querySelector('.trace')"
                " || d.querySelector('.annotation')))",  # a key result with no reading: words only
                timeout=60_000,
            )
            counts = page.evaluate(
                "() => ({divs: document.querySelectorAll('.plotly-graph-div').length,"
                " drawn: document.querySelectorAll('.js-plotly-plot').length,"
                " lines: document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length,"
                " bars: document.querySelectorAll('.js-plotly-plot .barlayer .trace').length})"
            )
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requested if not u.startswith("file:")] == []
    assert counts["divs"] == counts["drawn"] == len(pack.items)
    objectives = sum(1 for i in pack.items if i.kind == "objective")
    assert counts["bars"] >= 2 * objectives  # track and progress bars of each scorecard
    empty = sum(1 for i in pack.items if not i.figure.data)  # "No reading to chart" (figures.kr_chart)
    assert counts["lines"] >= len(pack.items) - objectives - empty  # every time series drew its traces


@pytest.mark.browser
def test_zip_holds_the_same_pack(pack: PackSummary) -> None:
    archive = zipfile.ZipFile(io.BytesIO(zip_pack(pack)))
    folder = f"northstar-review-{AS_OF.isoformat()}"
    assert sorted(archive.namelist()) == sorted(f"{folder}/{p.name}" for p in pack.files)
    for path in pack.files:
        assert archive.read(f"{folder}/{path.name}") == path.read_bytes()
    manifest = json.loads(archive.read(f"{folder}/pack.json"))
    assert [i["file"] for i in manifest["items"]] == [i.file for i in pack.items]
    flags = {kr["id"]: kr["flag"] for o in manifest["scorecard"]["objectives"] for kr in o["key_results"]}
    assert {k: None if f is None else f["severity"] for k, f in flags.items()} == EXPECTED_FLAGS


@pytest.mark.browser
def test_zip_builds_on_a_worker_thread(project: Project, engine: Engine, chromium_path: str) -> None:
    """The dashboard's button: Streamlit runs the download's callable on a thread of its own."""
    review = project.settings.review.model_copy(update={"pinned_metrics": ["signups"]})
    small = dataclasses.replace(
        project, okrs=(), settings=project.settings.model_copy(update={"review": review})
    )
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["zip"] = build_pack_zip(small, engine, as_of=AS_OF, base_url=BASE, browser=chromium_path)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(180)
    assert "error" not in box, box.get("error")
    archive = zipfile.ZipFile(io.BytesIO(box["zip"]))
    folder = f"northstar-review-{AS_OF.isoformat()}"
    image = f"{folder}/northstar_metric_signups_{AS_OF.isoformat()}.png"
    assert sorted(archive.namelist()) == sorted(
        [image, f"{folder}/index.html", f"{folder}/summary.md", f"{folder}/pack.json"]
    )
    with PILImage.open(io.BytesIO(archive.read(image))) as png:
        assert png.size == (figures.EXPORT_WIDTH * SCALE, png.size[1]) and png.size[1] > 800


@pytest.mark.browser
def test_summary_str_says_what_was_written(pack: PackSummary) -> None:
    text = str(pack)
    assert text.startswith(f"Wrote the review pack to {pack.out} in ")
    assert f"{len(pack.items)} PNG images" in text
    for name in ("index.html", "summary.md", "pack.json"):
        assert name in text
    assert "as of Nov 20, 2026" in text


def test_a_pack_whose_objectives_all_have_errors_says_so(small_demo: Path, tmp_path: Path) -> None:
    """A bad date in okrs.yaml leaves every objective out: the pack must not tell the review there
    are none defined (the PM would send it); it names okrs.yaml's errors."""
    config = copy_project(small_demo, tmp_path / "config")
    (config / "okrs.yaml").write_text(
        "okrs:\n  - id: grow\n    objective: Grow\n    period: {start: 2026-02-30, end: 2026-03-31}\n"
        "    key_results:\n      - {id: more, metric: signups, read: period_to_date, target: 100}\n"
    )
    out = tmp_path / "pack"
    code, _, stderr = _cli(
        "snapshot", "--config", str(config), "--out", str(out), "--as-of", AS_OF.isoformat()
    )
    assert code == 0, stderr
    summary = (out / "summary.md").read_text()
    assert "No objectives are defined" not in summary
    assert "No objective can be scored: okrs.yaml has 1 error" in summary


def test_cli_snapshot_writes_a_pack_and_reports_errors_in_one_line(small_demo: Path, tmp_path: Path) -> None:
    """The CLI path, on a copy of the project with nothing to draw (so no browser is needed)."""
    config = copy_project(
        small_demo, tmp_path / "config", project_yaml="name: Empty review\ntimezone: Europe/Berlin\n"
    )
    (config / "okrs.yaml").unlink(missing_ok=True)
    out = tmp_path / "pack"
    code, stdout, stderr = _cli(
        "snapshot", "--config", str(config), "--out", str(out), "--as-of", AS_OF.isoformat()
    )
    assert code == 0, stderr
    assert "0 PNG images" in stdout and "summary.md" in stdout
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Empty review: OKR review as of Nov 20, 2026")
    assert "No objectives are defined" in summary
    code, _, stderr = _cli(
        "snapshot", "--config", str(config), "--out", str(out), "--base-url", "example.com"
    )
    assert code == 1
    assert stderr.strip().startswith("error: the base URL 'example.com' is not a web address")
    assert len(stderr.strip().splitlines()) == 1
