"""The event catalog (`northstar events`) and data-aware validation (warnings for names that never occur).

Counts are checked against plain Python over the same rows; warnings against their exact place in
the YAML the test writes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from connectors.base import connect
from metrics.engine import catalog as catalog_module
from metrics.engine.catalog import catalog, metrics_by_event
from metrics.load import load_project
from tests.conftest import ROOT
from tests.engine_fixtures import Row, frame_of
from tests.sql_fixtures import DATABASES, LoadedTable, sql_project

T0 = dt.datetime(2026, 3, 1, 9, 0)
ROWS = [
    Row(T0, "u1", "signup", "web"),
    Row(T0 + dt.timedelta(hours=1), "u1", "purchase", "ios", amount=5.0),
    Row(T0 + dt.timedelta(days=1), "u2", "purchase", "web", amount=7.0),
    Row(T0 + dt.timedelta(days=2), None, "purchase", "android", plan="pro"),
    Row(T0 + dt.timedelta(days=3), "u2", "session_start", None),
    Row(T0 + dt.timedelta(days=4, hours=3), "u3", "signup", "ios", plan="pro"),
]

SOURCES = """sources:
  events:
    type: parquet
    path: events.parquet
    columns: {timestamp: ts, user: user_id, event: event}
    dimensions: [platform, plan]
"""

METRICS = """metrics:
  buys:
    type: count
    source: events
    filter: {event: purchase, platform: [web, ios]}
  activation:
    type: funnel
    source: events
    steps: [signup, purchase]
    within: 7
  d1:
    type: retention
    source: events
    cohort_event: signup
    return_event: [purchase, session_start]
    offset: 1
  pro_web_buys:
    type: count
    source: events
    filter: {event: purchase, plan: pro}
"""


def _project(folder: Path, metrics: str = METRICS, rows: Sequence[Row] = ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame_of(rows).write_parquet(folder / "events.parquet")
    (folder / "sources.yaml").write_text(SOURCES)
    (folder / "metrics.yaml").write_text(metrics)
    return folder


def _expected(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Plain Python: per event, rows, distinct non-null users, first and last timestamp."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row.event].append(row)
    return sorted(
        (
            {
                "source": "events",
                "event": event,
                "rows": len(members),
                "users": len({r.user for r in members if r.user is not None}),
                "first_seen": min(r.ts for r in members).isoformat() + "Z",
                "last_seen": max(r.ts for r in members).isoformat() + "Z",
            }
            for event, members in groups.items()
        ),
        key=lambda e: e["event"],
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=180,
    )


# --- the catalog ------------------------------------------------------------------------------


def test_events_json_counts_equal_plain_python(tmp_path: Path) -> None:
    config = _project(tmp_path / "p")
    result = _cli("events", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    got = sorted(json.loads(result.stdout)["events"], key=lambda e: e["event"])
    assert got == _expected(ROWS)


def test_events_table_shows_first_and_last_seen_in_the_projects_zone(tmp_path: Path) -> None:
    """The tour: `events` printed the last departure of Dec 31 in New York as 2014-01-01T04:00:00Z
    beside "data through Dec 31, 2013". The table shows each moment in the project's time zone, named
    in the header (`metrics.format.format_timestamp`); the JSON keeps the UTC instant."""
    config = _project(tmp_path / "p")
    (config / "project.yaml").write_text("timezone: America/New_York\n")
    zone = ZoneInfo("America/New_York")
    table = _cli("events", "--config", str(config)).stdout
    assert "first seen (America/New_York)" in table and "last seen (America/New_York)" in table, table
    assert "Z " not in table and not table.rstrip().endswith("Z"), table
    for want in _expected(ROWS):
        moments = [r.ts for r in ROWS if r.event == want["event"]]
        first, last = (m.replace(tzinfo=dt.UTC).astimezone(zone) for m in (min(moments), max(moments)))
        line = next(x for x in table.splitlines() if re.match(rf"events\s+{want['event']}\s", x))
        assert f"{first:%Y-%m-%d %H:%M:%S}" in line and f"{last:%Y-%m-%d %H:%M:%S}" in line, line
    got = json.loads(_cli("events", "--config", str(config), "--format", "json").stdout)["events"]
    assert sorted(got, key=lambda e: e["event"]) == _expected(ROWS)  # UTC, with a Z


def test_events_on_the_demo_equal_an_independent_polars_count(small_demo: Path) -> None:
    result = _cli("events", "--config", str(small_demo), "--source", "events", "--format", "json")
    assert result.returncode == 0, result.stderr
    got = {e["event"]: (e["rows"], e["users"]) for e in json.loads(result.stdout)["events"]}
    frame = pl.read_parquet(small_demo.parent / "data" / "demo" / "events.parquet")
    want: dict[str, tuple[int, int]] = {}
    for (event,), part in frame.group_by(["event"]):
        users = {u for u in part["user_id"].to_list() if u is not None}
        want[str(event)] = (part.height, len(users))
    assert got == want
    # the table writes the same counts as every table writes numbers: 12,345, not 12345
    table = _cli("events", "--config", str(small_demo), "--source", "events").stdout
    for event, (rows, users) in want.items():
        assert re.search(rf"events\s+{re.escape(event)}\s+{rows:,}\s+{users:,}\s", table), (event, table)


@pytest.mark.parametrize("kind", [p for p in DATABASES if p.id in ("sqlite", "duckdb", "postgres")])
def test_sql_catalog_is_pushed_down_and_equals_plain_python(kind: str, tmp_path: Path) -> None:
    table = LoadedTable(kind, tmp_path, ROWS)
    try:
        project = sql_project(table.url, {}, table=table.table)
        found = catalog(connect("events", project.sources["events"], project.root))
        got = sorted((e.to_json() for e in found.events), key=lambda e: e["event"])
        assert [(e["event"], e["rows"], e["users"]) for e in got] == [
            (e["event"], e["rows"], e["users"]) for e in _expected(ROWS)
        ]
        assert [(e["first_seen"][:19], e["last_seen"][:19]) for e in got] == [
            (e["first_seen"][:19], e["last_seen"][:19]) for e in _expected(ROWS)
        ]
        assert found.values["platform"] == {"web", "ios", "android"}
        assert found.values["plan"] == {"free", "pro"}
    finally:
        table.close()


def test_the_cache_is_keyed_by_the_data_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _project(tmp_path / "p")
    project = load_project(config, check_data=False)
    scans: list[str] = []
    real = catalog_module._scan

    def counting(connector: Any, cap: int) -> Any:
        scans.append(connector.name)
        return real(connector, cap)

    monkeypatch.setattr(catalog_module, "_scan", counting)
    first = catalog(connect("events", project.sources["events"], project.root))
    again = catalog(connect("events", project.sources["events"], project.root))
    assert again is first and len(scans) == 1  # unchanged data: no second scan
    rows = [*ROWS, Row(T0 + dt.timedelta(days=9), "u9", "upgrade", "web")]
    frame_of(rows).write_parquet(config / "events.parquet")
    os.utime(config / "events.parquet", ns=(10**18, 10**18))  # a new mtime whatever the clock's grain
    changed = catalog(connect("events", project.sources["events"], project.root))
    assert len(scans) == 2
    assert "upgrade" in changed.event_names and "upgrade" not in first.event_names


def test_the_scan_is_bounded(tmp_path: Path) -> None:
    rows = [Row(T0 + dt.timedelta(minutes=i), f"u{i}", f"e{i}", f"p{i}") for i in range(12)]
    config = _project(tmp_path / "p", rows=rows)
    project = load_project(config, check_data=False)
    found = catalog(connect("events", project.sources["events"], project.root), cap=10)
    assert len(found.events) == 10 and not found.events_complete
    assert len(found.values["platform"]) == 10 and "platform" not in found.complete
    assert "plan" in found.complete


def test_metrics_by_event_follows_every_position(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path / "p"), check_data=False)
    assert metrics_by_event(project) == {
        ("events", "purchase"): ["buys", "activation", "d1", "pro_web_buys"],
        ("events", "signup"): ["activation", "d1"],
        ("events", "session_start"): ["d1"],
    }


# --- data-aware validation ----------------------------------------------------------------------


def _shown(project: Any) -> list[str]:
    """The warnings as printed, their paths relative to the project folder."""
    return [str(w).removeprefix(f"{project.root}/") for w in project.warnings]


def _line_col(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


MISSPELT = [  # (original, misspelt, occurrence of the misspelt text, message, hint)
    ("filter: {event: purchase, platform", "filter: {event: purchse, platform", "purchse", "event 'purchse'"),
    ("platform: [web, ios]", "platform: [web, iso]", "iso", "value 'iso' of 'platform'"),
    ("steps: [signup, purchase]", "steps: [signup, purchsae]", "purchsae", "event 'purchsae'"),
    ("cohort_event: signup", "cohort_event: sigup", "sigup", "event 'sigup'"),
    (
        "return_event: [purchase, session_start]",
        "return_event: [purchase, sesion_start]",
        "sesion_start",
        "event 'sesion_start'",
    ),
]
WANTED = {
    "purchse": "purchase",
    "iso": "ios",
    "purchsae": "purchase",
    "sigup": "signup",
    "sesion_start": "session_start",
}


@pytest.mark.parametrize("original,misspelt,word,what", MISSPELT, ids=[m[2] for m in MISSPELT])
def test_a_misspelt_name_is_a_located_warning_with_did_you_mean(
    tmp_path: Path, original: str, misspelt: str, word: str, what: str
) -> None:
    assert original in METRICS
    text = METRICS.replace(original, misspelt)
    config = _project(tmp_path / "p", text)
    project = load_project(config)
    line, col = _line_col(text, word)
    assert project.problems == ()  # a warning leaves the project valid
    assert _shown(project) == [
        f"metrics.yaml:{line}:{col}: warning: {what} never occurs in source 'events' "
        f"(did you mean {WANTED[word]!r}?)"
    ]
    assert set(project.metrics) == {"buys", "activation", "d1", "pro_web_buys"}  # nothing left out


def test_a_wrong_column_in_one_metric_does_not_hide_a_misspelt_event_in_another(tmp_path: Path) -> None:
    """A PM's two typos at once: `column: amont` on one metric (an error, that metric is left out) and
    `purchse` on another. The misspelt event must still be a located warning: its metric stays in and
    reads 0, which would otherwise be silent on every surface."""
    text = METRICS.replace("filter: {event: purchase, platform", "filter: {event: purchse, platform")
    text += "  revenue:\n    type: sum\n    source: events\n    column: amont\n"
    config = _project(tmp_path / "p", text)
    project = load_project(config)
    assert [p.message for p in project.problems] == ["column 'amont' is not in source 'events'"]
    assert "revenue" not in project.metrics and "buys" in project.metrics
    line, col = _line_col(text, "purchse")
    assert _shown(project) == [
        f"metrics.yaml:{line}:{col}: warning: event 'purchse' never occurs in source 'events' "
        "(did you mean 'purchase'?)"
    ]


def test_okrs_prints_the_warning_beside_a_score_it_makes_zero(tmp_path: Path) -> None:
    """`northstar okrs` (like the review pack) shows a misspelt event's warning on stderr: a key result
    that reads 0 because of a typo must not look like a real zero."""
    text = METRICS.replace("filter: {event: purchase, platform", "filter: {event: purchse, platform")
    config = _project(tmp_path / "p", text)
    (config / "okrs.yaml").write_text(
        "okrs:\n  - id: sell\n    objective: Sell more\n    period: {start: 2026-03-01, end: 2026-03-31}\n"
        "    key_results:\n      - {id: buys_up, metric: buys, read: period_to_date, target: 10}\n"
    )
    line, col = _line_col(text, "purchse")
    run = _cli("okrs", "--config", str(config), "--as-of", "2026-03-05")
    assert run.returncode == 0, run.stderr
    assert (
        f"metrics.yaml:{line}:{col}: warning: event 'purchse' never occurs in source 'events'" in run.stderr
    )
    assert "did you mean 'purchase'?" in run.stderr
    assert "Traceback" not in run.stderr


def test_compute_warns_when_a_typo_makes_its_numbers_zero(tmp_path: Path) -> None:
    """`northstar compute` skips the scan for names that never occur (it costs a read of the source)
    unless a metric comes out all zero: then the typo behind the zeros is named on stderr."""
    text = METRICS.replace("filter: {event: purchase, platform", "filter: {event: purchse, platform")
    config = _project(tmp_path / "p", text)
    line, col = _line_col(text, "purchse")
    args = ("--config", str(config), "--start", "2026-03-01", "--end", "2026-03-05")
    run = _cli("compute", "buys", *args)
    assert run.returncode == 0, run.stderr
    assert all(
        row["value"] == 0 for row in json.loads(_cli("compute", "buys", *args, "--format", "json").stdout)
    )
    assert (
        f"metrics.yaml:{line}:{col}: warning: event 'purchse' never occurs in source 'events'" in run.stderr
    )
    assert "did you mean 'purchase'?" in run.stderr and "Traceback" not in run.stderr
    fine = _cli("compute", "pro_web_buys", *args)  # real numbers: no scan, no warning
    assert fine.returncode == 0 and "warning" not in fine.stderr


def test_compute_says_when_its_range_reaches_past_the_data(tmp_path: Path) -> None:
    """A range typed a year off reads 0 everywhere for lack of data: it is never silent, and a range
    inside the data (March 1-5, 2026) costs no warning."""
    config = _project(tmp_path / "p")
    off = _cli(
        "compute", "pro_web_buys", "--config", str(config), "--start", "2025-03-01", "--end", "2025-03-05"
    )
    assert off.returncode == 0, off.stderr
    assert (
        "warning: no data in Mar 1 – Mar 5, 2025: the data runs from Mar 1, 2026 to Mar 5, 2026" in off.stderr
    )
    late = _cli(
        "compute", "pro_web_buys", "--config", str(config), "--start", "2026-03-01", "--end", "2026-03-31"
    )
    assert "has days after Mar 5, 2026, where there is no data" in late.stderr
    inside = _cli(
        "compute", "pro_web_buys", "--config", str(config), "--start", "2026-03-01", "--end", "2026-03-05"
    )
    assert inside.returncode == 0 and "warning" not in inside.stderr


def test_a_start_after_the_data_is_not_told_to_swap(tmp_path: Path) -> None:
    """Without --end, the range ends on the data's last day: "swap --start and --end" named a flag
    never given."""
    config = str(_project(tmp_path / "p"))
    late = _cli("compute", "buys", "--config", config, "--start", "2026-04-01")
    assert late.returncode == 1
    assert "after the data's last day 2026-03-05 (the default end); give an earlier --start" in late.stderr
    early = _cli("compute", "buys", "--config", config, "--end", "2026-02-01")
    assert (
        early.returncode == 1 and "before the data's first day 2026-03-01 (the default start)" in early.stderr
    )
    both = _cli("compute", "buys", "--config", config, "--start", "2026-03-04", "--end", "2026-03-02")
    assert both.returncode == 1 and "swap --start and --end" in both.stderr


def test_each_name_in_a_list_filter_is_checked(tmp_path: Path) -> None:
    text = METRICS.replace("filter: {event: purchase, plan: pro}", "filter: {event: [purchase, upgrde]}")
    config = _project(tmp_path / "p", text)
    project = load_project(config)
    line, col = _line_col(text, "upgrde")
    assert _shown(project) == [
        f"metrics.yaml:{line}:{col}: warning: event 'upgrde' never occurs in source 'events'"
    ]


def test_each_name_in_a_negated_filter_is_checked(tmp_path: Path) -> None:
    """`{not: [...]}` names events too: a misspelt one is located at the value inside `not`."""
    text = METRICS.replace("filter: {event: purchase, plan: pro}", "filter: {event: {not: [signup, upgrde]}}")
    config = _project(tmp_path / "p", text)
    project = load_project(config)
    line, col = _line_col(text, "upgrde")
    assert project.problems == ()
    assert _shown(project) == [
        f"metrics.yaml:{line}:{col}: warning: event 'upgrde' never occurs in source 'events'"
    ]


def test_a_negated_filter_that_keeps_rows_is_no_warning(tmp_path: Path) -> None:
    """`not` keeps the rows whose value is none of those (nulls too): with other events left, some
    row passes, so there is nothing to warn about."""
    text = METRICS.replace(
        "filter: {event: purchase, plan: pro}", "filter: {event: {not: signup}, plan: pro}"
    )
    project = load_project(_project(tmp_path / "p", text))
    assert project.problems == () and _shown(project) == []


def test_a_filter_that_no_row_passes_is_a_warning(tmp_path: Path) -> None:
    text = METRICS.replace(
        "filter: {event: purchase, plan: pro}", "filter: {event: signup, plan: free, platform: android}"
    )
    config = _project(tmp_path / "p", text)
    project = load_project(config)
    line, col = _line_col(text, "filter", 2)
    assert _shown(project) == [
        f"metrics.yaml:{line}:{col}: warning: no row of source 'events' passes the filter of metric "
        "'pro_web_buys' (its keys are ANDed) (check that these values occur together, e.g. with `northstar events`)"
    ]
    assert [w.subject.name for w in project.warnings if w.subject] == ["pro_web_buys"]
    assert project.warnings_for("pro_web_buys") == list(project.warnings)
    assert project.warnings_for("buys") == []


@pytest.fixture
def misspelt(tmp_path: Path) -> Iterator[Path]:
    yield _project(tmp_path / "p", METRICS.replace("steps: [signup, purchase]", "steps: [signup, purchse]"))


def test_strict_exits_1_on_warnings_and_plain_validate_exits_0(misspelt: Path) -> None:
    plain = _cli("validate", "--config", str(misspelt))
    assert plain.returncode == 0, plain.stderr
    assert (
        "warning: event 'purchse' never occurs in source 'events' (did you mean 'purchase'?)" in plain.stdout
    )
    strict = _cli("validate", "--strict", "--config", str(misspelt))
    assert strict.returncode == 1
    assert "warning: event 'purchse'" in strict.stdout
    as_json = _cli("validate", "--strict", "--config", str(misspelt), "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["valid"] is True
    assert [(p["severity"], p["message"]) for p in report["problems"]] == [
        ("warning", "event 'purchse' never occurs in source 'events'")
    ]


@pytest.mark.parametrize("folder", ["config", "tests/projects/shop"])
def test_no_warnings_on_the_shipped_projects(folder: str, small_demo: Path) -> None:
    config = small_demo if folder == "config" else ROOT / folder
    if folder != "config" and not (config / "data" / "events.parquet").exists():
        subprocess.run([sys.executable, str(config / "make_data.py")], check=True, cwd=config)
    project = load_project(config)
    assert project.warnings == ()
    assert project.problems == ()


def test_a_metric_left_out_for_an_error_carries_no_warning(tmp_path: Path) -> None:
    text = METRICS.replace("filter: {event: purchase, plan: pro}", "filter: {event: purchse, plann: pro}")
    project = load_project(_project(tmp_path / "p", text))
    assert [p.message for p in project.problems] == [
        "filter key 'plann' is not a dimension of source 'events'"
    ]
    assert "pro_web_buys" not in project.metrics
    assert project.warnings == ()


# --- the catalog across processes (the result store) ------------------------------------------


def _fresh_catalog(config: Path) -> Any:
    """The catalog as a new process sees it: nothing in this process's memory."""
    catalog_module._cache.clear()
    project = load_project(config, check_data=False)
    return catalog(connect("events", project.sources["events"], project.root))


def test_a_restart_reads_the_stored_catalog_and_new_data_is_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    rows = [*ROWS, Row(T0 + dt.timedelta(days=5), "u4", "purchase", "web", amount=2.5, plan="42")]
    config = _project(tmp_path / "p", rows=rows)
    scans: list[str] = []
    real = catalog_module._scan

    def counting(connector: Any, cap: int) -> Any:
        scans.append(connector.name)
        return real(connector, cap)

    monkeypatch.setattr(catalog_module, "_scan", counting)
    scanned = _fresh_catalog(config)
    stored = _fresh_catalog(config)
    assert len(scans) == 1  # the second "process" read the store
    assert stored == scanned and stored is not scanned
    assert [type(e.first_seen) for e in stored.events] == [dt.datetime] * len(stored.events)
    assert "42" in stored.values["plan"] and 42 not in stored.values["plan"]  # a text value stays text
    got = sorted((e.to_json() for e in stored.events), key=lambda e: e["event"])
    assert got == _expected(rows)

    grown = [*rows, Row(T0 + dt.timedelta(days=9), "u9", "upgrade", "web")]
    frame_of(grown).write_parquet(config / "events.parquet")
    os.utime(config / "events.parquet", ns=(10**18, 10**18))
    changed = _fresh_catalog(config)
    assert len(scans) == 2 and "upgrade" in changed.event_names

    (config / "sources.yaml").write_text(SOURCES.replace("[platform, plan]", "[platform]"))
    narrowed = _fresh_catalog(config)  # an edited source is a new key
    assert len(scans) == 3 and set(narrowed.values) == {"platform"}


def test_the_catalog_is_not_stored_with_the_store_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "off")
    config = _project(tmp_path / "p")
    _fresh_catalog(config)
    assert not (tmp_path / "cache").exists()


def test_a_damaged_stored_catalog_is_scanned_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NORTHSTAR_RESULT_STORE", "on")  # tests/conftest.py turns it off
    config = _project(tmp_path / "p")
    scanned = _fresh_catalog(config)
    (entry,) = (tmp_path / "cache" / "results").glob("*.json")
    entry.write_text('{"source": "events", "events": [[["weird", 1], 1, 1, ["none"], ["none"]]]}')
    assert _fresh_catalog(config) == scanned
