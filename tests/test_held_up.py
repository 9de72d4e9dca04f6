"""What the security probe found holding (issue 15, "What held up"), kept tested. Each property names
where it is tested when another file already does (docs/security.md lists them all):

- filter values are bound: tests/test_sql_safety.py::test_sql_in_filter_values_is_only_ever_a_value
- MariaDB (and every driver) runs one statement per request:
  tests/test_sql_safety.py::test_the_database_refuses_what_gets_past_the_check
- statement timeouts: tests/test_sql_safety.py::test_the_statement_timeout
- unreachable databases, masked and recovering: tests/test_sql_safety.py::
  test_a_database_that_is_down_is_one_clear_sentence, test_postgres_down_then_back

Here: `!!python` tags, hostile table names, 22 hostile dashboard URLs, no script in the app or the
pack (Chromium), cross-origin websockets. The last property, 10 sessions for 60 s with flat memory,
is a load test, not a unit test (the sign-in work's load test measures it).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.state import Options, parse
from metrics.load import load_project
from metrics.validation import check_data
from tests.conftest import CHROMIUM_ARGS, ROOT
from tests.engine_fixtures import Row
from tests.sql_fixtures import DATABASES, LoadedTable, sql_project, table_rows, write_parquet

D = dt.date
APP = ROOT / "dashboard" / "app.py"


# --- YAML tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/name:os.system",
        '!!python/object/new:subprocess.check_output [["touch", "{marker}"]]',
        '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch {marker}"]',
    ],
)
def test_python_tags_never_execute(tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  events:\n    type: parquet\n    path: e.parquet\n    columns: {timestamp: ts}\n"
    )
    (tmp_path / "metrics.yaml").write_text(
        f"metrics:\n  dau:\n    type: count\n    source: events\n    label: {tag.format(marker=marker)}\n"
    )
    project = load_project(tmp_path)
    assert not marker.exists()
    assert project.problems and all(p.location is not None for p in project.problems)
    assert "dau" not in project.metrics


# --- hostile table names --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DATABASES)
def test_hostile_table_names_are_quoted_or_refused(kind: str, tmp_path: Path) -> None:
    rows = [Row(dt.datetime(2026, 3, 1, 9), "u1", "open", "web")] * 3
    table = LoadedTable(kind, tmp_path, rows)
    try:
        for name in (f"{table.table}; DROP TABLE {table.table}", f'{table.table}" OR 1=1 --', "x.y.z'; --"):
            project = sql_project(table.url, {"rows": {"type": "count", "source": "events"}}, table=name)
            problems = check_data(project)
            assert len(problems) == 1 and "does not exist" in problems[0].message, [str(p) for p in problems]
        assert table_rows(table.url, table.table) == len(rows)
    finally:
        table.close()


# --- hostile dashboard URLs -----------------------------------------------------------------------

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
HOSTILE_URLS: list[dict[str, object]] = [
    {"metric": "dau'; DROP TABLE events; --"},
    {"metric": "<script>alert(1)</script>"},
    {"metric": "javascript:alert(1)"},
    {"metric": "../../etc/passwd"},
    {"metric": "dau\x00"},
    {"metric": "dau\r\nSet-Cookie: x=1"},
    {"metric": "x" * 100_000},
    {"metric": "ｄａｕ"},  # full-width letters
    {"page": "../../admin"},
    {"page": "https://evil.example"},
    {"grain": "day; DROP TABLE events"},
    {"grain": ["day", "week", "month"]},
    {"by": "platform) UNION SELECT password FROM users --"},
    {"by": "user_id"},
    {"compare": "{{7*7}}"},
    {"start": "0000-01-01"},
    {"start": "2026-02-30"},
    {"end": "9" * 400},
    {"as_of": "99999-01-01"},
    {"as_of": "2026-11-26T00:00:00Z<img src=x>"},
    {"review": "<svg onload=alert(1)>"},
    {"__proto__": "x", "constructor": "y"},
]


def test_there_are_22_hostile_urls() -> None:
    assert len(HOSTILE_URLS) == 22


@pytest.mark.parametrize("params", HOSTILE_URLS, ids=range(len(HOSTILE_URLS)))
def test_hostile_urls_are_ignored_with_a_warning(params: dict[str, object]) -> None:
    default, _ = parse({}, OPTIONS)
    view, warnings = parse(params, OPTIONS)
    assert warnings, params
    assert len(" ".join(warnings)) < 2_000  # a warning never echoes a huge value
    # Every field keeps a valid value: the default, or (for a repeated key) one of the valid ones.
    assert view.metric in OPTIONS.metrics and view.page in {
        "okrs",
        "explorer",
        "funnels",
        "retention",
        "definitions",
        "quality",
    }
    assert view.by in (None, *OPTIONS.dimensions) and view.grain in ("day", "week", "month", "quarter")
    if "metric" in params:
        assert view.metric == default.metric
    for day in (view.start, view.end, view.as_of):
        assert day is None or D(1900, 1, 1) <= day <= D(2200, 1, 1)


# --- no script runs in the pack -------------------------------------------------------------------

PWN = "<img src=x onerror=\"document.body.setAttribute('data-pwned','yes')\">"


IMAGE = "![pixel](https://tracker.example/p.png)"
LINK = "[docs](javascript:document.body.setAttribute('data-pwned','yes'))"


def _hostile_project(folder: Path) -> Path:
    """Hostile text in every field a YAML author (or the data) fills: name, label, description,
    owner, objective, event names, breakdown values."""
    hostile = f"{PWN} {IMAGE} {LINK}"
    rows = [
        Row(dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i), f"u{i % 5}", PWN, hostile) for i in range(40)
    ]
    write_parquet(rows, folder / "events.parquet")
    source = {
        "type": "parquet",
        "path": "events.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
        "dimensions": ["platform"],
    }
    metrics = {
        "opens": {
            "type": "count",
            "source": "events",
            "label": hostile,
            "description": hostile,
            "owner": hostile,
        },
        "hostile_filter": {"type": "count", "source": "events", "filter": {"event": [PWN, IMAGE]}},
    }
    okrs = [
        {
            "id": "o",
            "objective": hostile,
            "owner": PWN,
            "period": {"start": "2026-03-01", "end": "2026-03-31"},
            "key_results": [{"id": "k", "metric": "opens", "read": "period_to_date", "target": 100}],
        }
    ]
    (folder / "project.yaml").write_text(json.dumps({"name": PWN, "review": {"pinned_metrics": ["opens"]}}))
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(json.dumps({"metrics": metrics}))
    (folder / "okrs.yaml").write_text(json.dumps({"okrs": okrs}))
    return folder


@pytest.mark.browser
def test_no_script_runs_in_the_pack(tmp_path: Path, chromium_path: str) -> None:
    """The pack's index.html, with hostile text in every place user text reaches, loaded in Chromium."""
    from dashboard.pack.build import plan_pack, write_pack
    from metrics.engine import Engine

    _hostile_project(tmp_path)
    project = load_project(tmp_path)
    assert project.ok, project.problems
    as_of = D(2026, 3, 2)
    plan = plan_pack(project, Engine(project, today=lambda: as_of), as_of=as_of, base_url="https://n.example")
    out = tmp_path / "pack"
    write_pack(plan, project, out, browser=chromium_path)
    dom = subprocess.run(
        [
            chromium_path,
            *CHROMIUM_ARGS,
            "--virtual-time-budget=5000",
            "--dump-dom",
            (out / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "main-svg" in dom  # Plotly drew the charts...
    assert "data-pwned" in dom  # ...the hostile text is there, as text...
    assert 'data-pwned="yes"' not in dom  # ...and its handler never ran


# --- cross-origin websockets ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = _hostile_project(tmp_path_factory.mktemp("ws"))
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**os.environ, "NORTHSTAR_CONFIG": str(folder)}
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("streamlit did not start")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _handshake(port: int, origin: str) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null"])
def test_cross_origin_websockets_are_refused(server: int, origin: str) -> None:
    assert " 403 " in _handshake(server, origin) + " "
    assert " 101 " in _handshake(server, f"http://127.0.0.1:{server}") + " "  # same origin: accepted


@pytest.mark.browser
def test_no_script_runs_in_the_app(server: int, chromium_path: str) -> None:
    """The dashboard on the hostile project, in Chromium: the text shows, no handler or link runs,
    no outside image loads."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.on("request", lambda request: requested.append(request.url))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            base = f"http://127.0.0.1:{server}"
            for path in (
                "okrs",
                "definitions?metric=opens",
                "definitions?metric=hostile_filter",
                "explorer?metric=opens&by=platform",
            ):
                page.goto(f"{base}/{path}{'&' if '?' in path else '?'}as_of=2026-03-02")
                page.get_by_role("heading", level=1).first.wait_for(timeout=90_000)
                page.wait_for_function(  # the hostile text has arrived (as text)
                    """() => (document.querySelector('[data-testid="stMain"]') || {}).innerText
                               ?.includes('tracker.example')""",
                    timeout=30_000,
                )
                page.wait_for_function(
                    """() => { const s = document.querySelector('[data-testid="stStatusWidget"]');
                               return !s || !/Running/i.test(s.innerText); }""",
                    timeout=60_000,
                )
                time.sleep(1.5)
                for link in page.locator("a").all():  # a javascript: link would run when clicked
                    assert not (link.get_attribute("href") or "").lower().startswith("javascript"), path
                assert page.evaluate("document.body.getAttribute('data-pwned')") is None, path
                assert page.locator('img[src*="tracker.example"], img[src="x"]').count() == 0, path
                assert "tracker.example" in page.locator('[data-testid="stMain"]').inner_text(), (
                    path
                )  # as text
        finally:
            browser.close()
    assert not dialogs
    assert not [u for u in requested if "tracker.example" in u]
