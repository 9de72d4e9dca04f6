"""A key result with no reading on its as-of day: why, on every surface, and the days before it.

The shipped demo's day-1 retention KR reads `latest`: the one cohort that matured on the as-of day,
the sign-ups of the day before. On the small demo (37 sign-ups in Q4's 51 days up to Nov 20) nobody
signed up on Nov 19, so as of Nov 20 that cohort is empty and the KR has no reading: correct by the
contract (a retention of nobody is null). It once also lost the quarter's history (the chart and the
tile said "No reading to chart" over Q4, though 25 earlier days had a reading), and the reason read
"no rows or cohort in those days", with nothing in the JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from dashboard.cli import main
from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.load import load_project
from metrics.okrs import KeyResultScore, Scorecard, score
from tests.conftest import DEMO_END

KR = "day1_retention_40"
EMPTY_DAY = dt.date(2026, 11, 19)  # no sign-up on this day in the small demo (checked below)
Q4 = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def project(small_demo: Path) -> Project:
    return load_project(small_demo)


@pytest.fixture(scope="module")
def card(project: Project) -> Scorecard:
    return score(
        project, Engine(project, today=lambda: DEMO_END + dt.timedelta(days=1)), DEMO_END, forecast=False
    )


def _kr(card: Scorecard, kr_id: str = KR) -> KeyResultScore:
    return next(kr for o in card.objectives for kr in o.key_results if kr.id == kr_id)


def _day1_retention(small_demo: Path) -> dict[dt.date, float]:
    """Cohort day -> day-1 retention, counted here from the events: a user's cohort is the Berlin day of
    their first ever sign-up; retained with a session start on the next Berlin day."""
    events = pl.read_parquet(small_demo.parent / "data" / "demo" / "events.parquet").filter(
        pl.col("user_id").is_not_null()
    )
    local = pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin").dt.date()
    events = events.with_columns(day=local)
    cohorts = events.filter(pl.col("event") == "signup").group_by("user_id").agg(pl.col("day").min())
    sessions = set(events.filter(pl.col("event") == "session_start").select("user_id", "day").iter_rows())
    out: dict[dt.date, list[int]] = {}
    for user, day in cohorts.iter_rows():
        counts = out.setdefault(day, [0, 0])
        counts[0] += (user, day + dt.timedelta(days=1)) in sessions
        counts[1] += 1
    return {day: kept / size for day, (kept, size) in out.items()}


def test_an_empty_cohort_is_no_reading_and_says_why(small_demo: Path, card: Scorecard) -> None:
    retention = _day1_retention(small_demo)
    assert EMPTY_DAY not in retention  # nobody's first sign-up was on Nov 19
    assert EMPTY_DAY - dt.timedelta(days=1) in retention or EMPTY_DAY + dt.timedelta(days=1) in retention
    kr = _kr(card)
    assert kr.current is None and kr.progress is None and kr.problem is not None
    assert kr.problem.startswith(
        "no user's first 'signup' was on Nov 19, 2026, so d1_retention has no cohort"
    )
    assert "a latest read reads one day's cohort, the one 1 day before the as-of day" in kr.problem
    assert "trailing_<N>d" in kr.problem  # the way out


def test_the_days_before_keep_their_readings(small_demo: Path, card: Scorecard) -> None:
    """The KR's history over Q4 is each day's latest reading (the cohort of the day before), as
    counted here from the events: the empty as-of day does not blank the quarter."""
    retention = _day1_retention(small_demo)
    history = dict(_kr(card).history.iter_rows())
    days = [Q4 + dt.timedelta(days=i) for i in range((DEMO_END - Q4).days + 1)]
    assert sorted(history) == days
    expected = {day: retention.get(day - dt.timedelta(days=1)) for day in days}
    assert sum(v is not None for v in expected.values()) >= 20  # most days of Q4 have a reading
    for day in days:
        assert (
            history[day] == pytest.approx(expected[day])
            if expected[day] is not None
            else history[day] is None
        ), day


def test_every_surface_says_why(
    project: Project, card: Scorecard, small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dashboard.figures import kr_figure
    from dashboard.pack.build import plan_pack
    from dashboard.pack.html import render_summary

    why = _kr(card).problem
    assert why
    # okrs --format json: the contract's object (a null reading) on stdout, the reason on stderr
    as_of = ("--config", str(small_demo), "--as-of", DEMO_END.isoformat())
    main(["okrs", *as_of, "--format", "json"])
    out, err = capsys.readouterr()
    krs = {kr["id"]: kr for o in json.loads(out)["objectives"] for kr in o["key_results"]}
    assert krs[KR]["current"] is None and "problem" not in krs[KR]
    assert f"note: {KR}: {why}\n" in err and "signups_2400" not in err  # scored KRs have none
    # okrs (table): a note under its objective
    main(["okrs", *as_of])
    assert f"note: {KR}: {why}" in capsys.readouterr().out
    # the chart (dashboard and pack image): the quarter's readings, and the reason in a box
    kr_def = next(kr for o in project.okrs for kr in o.key_results if kr.id == KR)
    fig = kr_figure(project, _kr(card), kr_def).to_dict()
    assert any(trace.get("name") == "Actual" for trace in fig["data"])
    boxed = " ".join(a.get("text", "") for a in fig["layout"].get("annotations", []))
    assert "Not scored: no user" in boxed.replace("<br>", " ") and "No reading" not in boxed
    # the review pack: its image's note, pack.json and summary.md
    plan = plan_pack(project, Engine(project, today=lambda: DEMO_END), as_of=DEMO_END, base_url="http://x")
    (item,) = [i for i in plan.items if i.id == KR]
    assert item.note == why
    pack_json = plan.scorecard.to_json(flag=plan.flag_json)  # as write_pack writes pack.json
    pack_krs = {kr["id"]: kr for o in pack_json["objectives"] for kr in o["key_results"]}
    assert pack_krs[KR]["problem"] == why and pack_krs["signups_2400"]["problem"] is None
    summary = " ".join(render_summary(project, plan.scorecard, plan.items, plan.stamp).split())
    assert "Not scored:" in summary and "no cohort to read" in summary
