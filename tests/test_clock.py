"""`NORTHSTAR_TODAY` pins the project's clock (`metrics.definitions.clock`) on every surface: the CLI,
the dashboard, the review pack, the data checks and the demo generator behave as if the pinned day
were today in the project's time zone. A value that is not a day is one sentence that names the
variable, never a traceback.

The small demo's data runs through DEMO_END (2026-11-20); the pinned days lie inside it, so without
the pin every default below would follow the real clock instead (the data's last day, Q4 2026 or
later)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from metrics.definitions.calendar import Calendar
from metrics.definitions.clock import PINNED_TIME, TODAY_VARIABLE, ClockError, pinned_day
from metrics.engine import Engine
from metrics.load import load_project
from tests.app_support import APP, run_main

PINNED = dt.date(2026, 9, 15)  # in Q3 2026, two months before the small demo's last day
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
NOT_A_DAY = "is not a day; write it as YYYY-MM-DD (e.g. 2026-11-20), or unset it to use the real date"


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setenv(TODAY_VARIABLE, PINNED.isoformat())
    return PINNED


# --- the clock ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_the_pinned_day_is_today_in_any_project_time_zone(pinned: dt.date, zone: str) -> None:
    assert Calendar(timezone=zone).today() == pinned  # UTC+14 and UTC-7 alike: noon of that day there


def test_unset_or_empty_is_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TODAY_VARIABLE, raising=False)
    assert pinned_day() is None
    monkeypatch.setenv(TODAY_VARIABLE, "  ")
    assert pinned_day() is None
    monkeypatch.setenv(TODAY_VARIABLE, " 2026-09-15 ")
    assert pinned_day() == dt.date(2026, 9, 15)


@pytest.mark.parametrize("value", ["2026-02-30", "20260915", "2026-W38-2", "2026-9-15", "tomorrow"])
def test_a_value_that_is_not_a_day_names_the_variable_and_the_form(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, value)
    with pytest.raises(ClockError) as caught:
        Calendar().today()
    assert str(caught.value) == f"{TODAY_VARIABLE}={value!r} {NOT_A_DAY}"


# --- the surfaces ---------------------------------------------------------------------------------


def test_the_engine_and_the_checks_read_the_pinned_day(small_demo: Path, pinned: dt.date) -> None:
    from metrics.engine.as_of import default_as_of
    from metrics.quality.clock import quality_clock

    project = load_project(small_demo)
    engine = Engine(project)
    assert engine.today() == pinned
    assert default_as_of(project, engine) == pinned - dt.timedelta(days=1)
    # checks without an as-of age freshness at the pinned day's noon in the project's zone (Berlin)
    noon = dt.datetime.combine(pinned, PINNED_TIME, tzinfo=ZoneInfo(project.settings.timezone))
    assert quality_clock(project, None).now == noon.astimezone(dt.UTC)


def test_okrs_current_quarter_and_as_of_follow_the_pinned_day(
    small_demo: Path, pinned: dt.date, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    code, out, err = run_main(["okrs", "--config", str(small_demo), "--format", "json"], capsys)
    assert code == 0, err
    card = json.loads(out)
    assert card["as_of"] == (pinned - dt.timedelta(days=1)).isoformat()
    current = [o.id for o in load_project(small_demo).okrs if o.period == "current_quarter"]
    periods = {o["id"]: (o["period"]["start"], o["period"]["end"]) for o in card["objectives"]}
    assert current and {periods[i] for i in current} == {(Q3[0].isoformat(), Q3[1].isoformat())}


def test_the_review_pack_reads_the_pinned_day(small_demo: Path, pinned: dt.date) -> None:
    from dashboard.pack.build import plan_pack

    project = load_project(small_demo)
    plan = plan_pack(project, Engine(project), base_url="http://x")
    assert plan.scorecard.as_of == plan.stamp.as_of == pinned - dt.timedelta(days=1)
    current = {o.id for o in project.okrs if o.period == "current_quarter"}
    assert {(o.start, o.end) for o in plan.scorecard.objectives if o.id in current} == {Q3}


def test_the_app_s_default_range_and_as_of_end_on_the_pinned_day_s_last_complete_day(
    small_demo: Path, pinned: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NORTHSTAR_CONFIG", str(small_demo))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("views/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    yesterday = pinned - dt.timedelta(days=1)
    assert at.sidebar.date_input(key="w_end").value == yesterday
    assert at.sidebar.date_input(key="w_as_of").value == yesterday


def test_the_app_says_a_bad_value_in_one_sentence(small_demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NORTHSTAR_CONFIG", str(small_demo))
    monkeypatch.setenv(TODAY_VARIABLE, "2026-13-01")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [f"{TODAY_VARIABLE}='2026-13-01' {NOT_A_DAY}"]


@pytest.mark.parametrize("command", [["okrs"], ["check"], ["serve"]])
def test_the_cli_says_a_bad_value_in_one_line(
    small_demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, "20260915")
    code, out, err = run_main([*command, "--config", str(small_demo)], capsys)
    assert (code, out) == (1, "")
    assert err == f"error: {TODAY_VARIABLE}='20260915' {NOT_A_DAY}\n"


def test_a_demo_generated_on_a_pinned_day_ends_that_morning(tmp_path: Path, pinned: dt.date) -> None:
    from metrics.demo.generate import generate_demo

    summary = generate_demo(tmp_path, events=3_000, seed=7)
    assert summary.end == pinned
    newest = pl.scan_parquet(summary.path).select(pl.col("ts").max()).collect().item()
    # cut at the start of the hour before the clock's noon (UTC): the same rows on any real day
    assert dt.datetime.combine(pinned, dt.time()) <= newest < dt.datetime.combine(pinned, dt.time(11))
    with pytest.raises(ValueError, match=f"is in the future .*pinned by {TODAY_VARIABLE}"):
        generate_demo(tmp_path / "later", events=3_000, end=pinned + dt.timedelta(days=1))


# --- one home -------------------------------------------------------------------------------------

# Readings of the wall clock that measure the machine, not the project's day: when a check ran and
# how long the run took (a report's `ran_at`, `started`).
MACHINE_TIME = {"metrics/quality/checks.py": 4}


def test_only_the_clock_reads_the_wall_clock_s_date() -> None:
    """Every "today" and "now" in the project's sense comes from `metrics.definitions.clock`, so
    `NORTHSTAR_TODAY` reaches every surface; `time.time()` (ages of stored answers) is the machine's."""
    import re

    from tests.app_support import ROOT

    reads = re.compile(r"\bdate\.today\b|\bdatetime\.now\b|\butcnow\b")
    found: dict[str, int] = {}
    for package in ("connectors", "metrics", "dashboard"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name != "metrics/definitions/clock.py":
                count = len(reads.findall(path.read_text(encoding="utf-8")))
                if count:
                    found[name] = count
    assert found == MACHINE_TIME
