"""End to end in headless Chromium: `streamlit run` on a small demo, opened through shared URLs.

What a person sees is checked on every page, and each page is saved as a screenshot under
artifacts/screenshots/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.format import format_value
from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import load_project
from tests.app_support import APP, ROOT, make_demo, pinned_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("made_today")]

SHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1440, "height": 1500}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    config, summary = make_demo(tmp_path_factory.mktemp("e2e"), events=30_000)
    port = _free_port()
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    env = pinned_env(NORTHSTAR_CONFIG=str(config))  # the demo ends on a fixed day: today is pinned after it
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"streamlit did not start; see {log.name}")
            time.sleep(0.2)
        yield {"base": base, "config": config, "summary": summary}
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    from tests.conftest import CHROMIUM_ARGS, require_service

    require_service("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _settle(page: Any, heading: str, charts: int = 0, marker: str | None = None) -> None:
    """Wait until the page shows its heading, its charts (and `marker` text), and Streamlit has
    stopped running."""
    page.get_by_role("heading", name=heading, level=1).wait_for(timeout=90_000)
    if marker:  # text in a markdown, caption, metric or alert (not a hidden grid header)
        page.locator(
            '[data-testid="stMarkdown"], [data-testid="stCaptionContainer"], [data-testid="stMetric"], '
            '[data-testid="stAlert"], [data-testid="stTable"]',
            has_text=marker,
        ).first.wait_for(timeout=60_000)
    if charts:
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length >= {charts}", timeout=60_000
        )
    page.wait_for_function(
        """() => { const s = document.querySelector('[data-testid="stStatusWidget"]');
                   return !s || !/Running/i.test(s.innerText); }""",
        timeout=60_000,
    )
    time.sleep(1.0)  # plotly's transitions


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000, f"{path} looks blank"
    return path


def _main_text(page: Any) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())


def test_shared_url_reproduces_the_view_on_every_page(
    server: dict[str, Any], browser: Any, chromium_path: str
) -> None:
    base = server["base"]
    project = load_project(server["config"])
    engine = Engine(project)
    start, end = dt.date(2026, 9, 7), dt.date(2026, 11, 22)
    result = engine.compute(MetricRequest(("signups",), start, end, "week", compare="previous_period"))
    latest = format_value(result.frame["value"].to_list()[-1], "count")
    total = format_value(sum(result.frame["value"].to_list()), "count")

    shared = f"{base}/explorer?metric=signups&start={start}&end={end}&grain=week&compare=previous_period&as_of=2026-11-20"
    context = browser.new_context(viewport=VIEWPORT)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    fetched: list[str] = []  # every file the pages below ask for, up to the definitions page
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(shared)
    _settle(page, "Metric explorer", charts=1, marker="Total over the range")
    text = _main_text(page)
    assert "As of Nov 20, 2026" in text and "data through" in text
    assert latest in text and total in text
    assert "Sign-ups" in page.locator(".js-plotly-plot .gtitle").first.text_content()
    # the URL keeps (and completes) the view, and the copy-link box holds the same link
    for part in ("metric=signups", f"start={start}", f"end={end}", "grain=week", "compare=previous_period"):
        assert part in page.url, page.url
    box = page.locator('[data-testid="stSidebar"] .ns-copybox')
    link = box.locator("code").inner_text().strip()
    assert link.startswith(base + "/explorer?") and "metric=signups" in link
    box.hover()
    box.locator("button").click()  # its copy button puts the link on the clipboard
    page.wait_for_function("document.querySelector('.ns-copybox button').title === 'Copied'", timeout=10_000)
    assert page.evaluate("navigator.clipboard.readText()") == link
    # the data-quality checks finish in the background and the page marks the failing data: sign-ups
    # are a count, so the day without users (an error for numbers that count users) does not flag
    # them, and the duplicated hour and the late day (warnings) do
    page.get_by_text("Data warning").first.wait_for(timeout=90_000)
    assert "Data check failed" not in _main_text(page)
    _settle(page, "Metric explorer", charts=1)
    _shot(page, "01_explorer_signups_weekly")

    # the copied link, opened in a fresh browser context, shows the same numbers
    fresh = browser.new_context(viewport=VIEWPORT).new_page()
    fresh.goto(link)
    _settle(fresh, "Metric explorer", charts=1, marker="Total over the range")
    again = _main_text(fresh)
    assert latest in again and total in again and "As of Nov 20, 2026" in again
    fresh.context.close()

    page.goto(f"{base}/?as_of=2026-11-20")
    _settle(page, "OKRs")
    text = _main_text(page)
    okrs = project.okrs
    if okrs:
        assert okrs[0].objective in text
        assert re.search(r"On track|At risk|Off track|Achieved|Missed", text)
        sparks = sum(len(o.key_results) for o in okrs)
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length >= {sparks}", timeout=60_000
        )
    _shot(page, "00_okrs_overview")
    # no page so far placed a code block: Streamlit's 1.5 MB syntax highlighter was never fetched
    assert not [url for url in fetched if "SyntaxHighlighter" in url], fetched
    if okrs:  # an objective's chart for slides is drawn once its expander opens
        assert page.locator(".js-plotly-plot").count() == sparks
        page.get_by_text("This objective as one chart (for slides)").first.click()
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length > {sparks}", timeout=60_000
        )
        assert okrs[0].objective in (
            page.locator("[data-testid='stExpander'] .js-plotly-plot").first.text_content() or ""
        )

    page.goto(f"{base}/funnels?funnel=activation&start=2026-10-05&end=2026-11-15&grain=week")
    _settle(page, "Funnels", charts=2, marker="Conversion over the range")
    text = _main_text(page)
    assert "Started (signup)" in text and "Conversion over the range" in text
    bar_labels = page.locator(".js-plotly-plot").first.text_content() or ""
    assert "of step 1" in bar_labels and "drop" in bar_labels
    _shot(page, "02_funnel_activation")

    page.goto(f"{base}/retention?retention=d7_retention&start=2026-09-07&end=2026-11-22&grain=week&by=plan")
    _settle(page, "Retention", charts=2)
    assert "Week of" in (page.locator(".js-plotly-plot").first.text_content() or "")
    assert "free" in (page.locator(".js-plotly-plot").nth(1).text_content() or "")
    _shot(page, "03_retention_cohorts")

    page.goto(f"{base}/definitions?metric=activation")
    _settle(page, "Definitions", marker="Defined at")
    text = _main_text(page)
    assert "Activation rate" in text and "metrics.yaml:" in text and "Formula:" in text
    _shot(page, "04_definitions")

    page.goto(f"{base}/quality")
    _settle(page, "Data quality", marker="user_not_null")
    text = _main_text(page)
    assert "user_not_null" in text and "Failed" in text
    _shot(page, "05_quality")

    # review mode: no sidebar, no toolbar, no controls; the chart and the stamp stay
    page.goto(
        f"{base}/explorer?metric=dau&start=2026-09-01&end=2026-11-22&grain=week&as_of=2026-11-20&review=1"
    )
    _settle(page, "Metric explorer", charts=1)
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert page.locator('[data-testid="stSelectbox"]').count() == 0
    assert "As of Nov 20, 2026" in _main_text(page)
    _shot(page, "06_review_mode")

    # a hostile link falls back to defaults with a visible warning
    page.goto(f"{base}/explorer?metric=dau%27%3B%20DROP%20TABLE%20events&start=2026-02-31&grain=%3Cscript%3E")
    _settle(page, "Metric explorer", charts=1, marker="Parts of this link were ignored")
    warning = page.locator('[data-testid="stAlert"]').first.inner_text()
    assert "Parts of this link were ignored" in warning and "not a real date" in warning
    _shot(page, "07_hostile_link")
    context.close()


def test_a_chart_shows_the_launch_annotated_in_its_range(server: dict[str, Any], browser: Any) -> None:
    """The demo's performance release (annotations.yaml) on the p90 page-load chart: its dashed line
    and its label drawn in the plot, and the explorer's launch-impact panel under it."""
    release = server["summary"].launches["performance_release"]
    start, end = release - dt.timedelta(days=60), release + dt.timedelta(days=20)
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(f"{server['base']}/explorer?metric=p90_page_load&start={start}&end={end}&grain=day")
    _settle(page, "Metric explorer", charts=1, marker="effect on the mean daily value")
    chart = page.locator(".js-plotly-plot").first
    labels = chart.locator(".annotation-text").all_text_contents()
    assert "Performance release" in labels and "AI summary launch" in labels, labels
    assert chart.locator(".shapelayer path").count() >= 2  # the two events' lines
    text = _main_text(page)
    assert "Event impact" in text and "observational estimate, not an experiment" in text
    _shot(page, "08_annotation_and_impact")
    page.context.close()
