"""Which numbers a failed data check flags (CONTRACT.md, "Data checks on numbers"): a key result only
when a failed check touches a day its current reading reads, a check without days or a failing
freshness flags every number of its source, warnings are warnings, and rows without a user flag only
numbers that count users.

The data: at 10:00 UTC each day, Sep 1 .. Oct 31 2026, an event of every third user of u1..u20
(sign-ups on Sep 1..3, sessions after), with every row of Oct 3 missing its user (a broken identity join): the built-in `user_not_null`
check (severity error) fails on Oct 3 and on no other day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.definitions.calendar import Calendar
from metrics.engine import Engine
from metrics.load import project_from_dicts
from metrics.okrs import KeyResultScore, score
from metrics.quality import run_checks
from metrics.quality.flags import flag_for, number_flag, period_shading, reach_words, shading
from metrics.quality.report import CheckResult, QualityReport
from tests.sql_fixtures import DATABASES, LoadedTable, parquet_project, sql_project, write_parquet

D = dt.date
BAD_DAY = D(2026, 10, 3)
NOW = dt.datetime(2026, 11, 1, 1, 0)  # the checks' clock: the night after the data's last day
PERIOD = {"start": "2026-10-01", "end": "2026-12-31"}
METRICS = {
    "events": {"type": "count_distinct", "source": "events"},  # distinct users: it counts users
    "rows": {"type": "count", "source": "events"},  # reads the rows without a user as usual
    "rows_per_user": {"type": "ratio", "numerator": "rows", "denominator": "events"},
    "wau": {"type": "active_users", "source": "events", "window": 7},
    "d7": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 7},
}


def _events(path: Path) -> None:
    rows: list[dict[str, Any]] = []
    for n in range(61):
        day = D(2026, 9, 1) + dt.timedelta(days=n)
        for u in range(1, 21):
            if (n + u) % 3:  # not everyone every day
                continue
            user = None if day == BAD_DAY else f"u{u}"
            event = "signup" if n < 3 else "session_start"
            rows.append({"ts": dt.datetime.combine(day, dt.time(10)), "user_id": user, "event": event})
    pl.DataFrame(rows).write_parquet(path)


KEY_RESULTS = [
    {"id": "week_after", "metric": "events", "read": "trailing_7d", "target": 1000},  # Oct 5-11 as of Oct 11
    {"id": "week_of", "metric": "events", "read": "trailing_7d", "target": 1000},  # read as of Oct 8
    {"id": "quarter", "metric": "events", "read": "period_to_date", "target": 10000},
    {"id": "wau_now", "metric": "wau", "read": "latest", "target": 100},
    {"id": "d7_now", "metric": "d7", "read": "latest", "target": 0.9, "baseline": 0.1},
    {"id": "rows_quarter", "metric": "rows", "read": "period_to_date", "target": 10000},
    {"id": "per_user_quarter", "metric": "rows_per_user", "read": "period_to_date", "target": 1000},
]


def _engine(root: Path, checks: dict[str, Any] | None = None) -> Engine:
    source: dict[str, Any] = {
        "type": "parquet",
        "path": "events.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    }
    if checks:
        source["checks"] = checks
    project = project_from_dicts(
        sources={"events": source},
        metrics=METRICS,
        okrs=[{"id": "o", "objective": "O", "period": PERIOD, "key_results": KEY_RESULTS}],
        root=root,
    )
    return Engine(project, today=lambda: D(2026, 11, 1))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flags")
    _events(folder / "events.parquet")
    return folder


@pytest.fixture(scope="module")
def setup(root: Path) -> tuple[Engine, QualityReport]:
    engine = _engine(root)
    return engine, run_checks(engine.project, engine, now=NOW)


def _scores(engine: Engine, as_of: dt.date) -> dict[str, KeyResultScore]:
    card = score(engine.project, engine, as_of, forecast=False)
    return {kr.id: kr for objective in card.objectives for kr in objective.key_results}


def test_the_fixture_fails_one_error_check_on_one_day(setup: tuple[Engine, QualityReport]) -> None:
    _, report = setup
    failed = report.failures
    assert [(r.check, r.severity, r.days) for r in failed] == [("user_not_null", "error", (BAD_DAY,))]


def test_a_key_result_is_flagged_only_when_its_reading_reads_the_bad_day(
    setup: tuple[Engine, QualityReport],
) -> None:
    engine, report = setup
    late = _scores(engine, D(2026, 10, 11))
    # trailing 7 days as of Oct 11 read Oct 5..11: the bad day is not among them
    assert late["week_after"].days_read == (D(2026, 10, 5), D(2026, 10, 11))
    assert number_flag(report, late["week_after"]) is None
    # a latest read of a 7-day active-users metric reads the window's 7 days: Oct 5..11
    assert late["wau_now"].days_read == (D(2026, 10, 5), D(2026, 10, 11))
    assert number_flag(report, late["wau_now"]) is None
    # the quarter so far reads Oct 1..11
    flag = number_flag(report, late["quarter"])
    assert flag is not None and flag.severity == "error" and flag.words == "Data check failed"
    assert flag.names == ("events: user_not_null",)
    assert flag.to_json() == {
        "severity": "error",
        "checks": [
            {"source": "events", "check": "user_not_null", "severity": "error", "days": ["2026-10-03"]}
        ],
    }
    early = _scores(engine, D(2026, 10, 8))
    assert early["week_of"].days_read == (D(2026, 10, 2), D(2026, 10, 8))
    assert number_flag(report, early["week_of"]) is not None
    assert number_flag(report, early["wau_now"]) is not None  # Oct 2..8 holds the bad day


def test_a_cohort_reading_reads_its_cohorts_and_their_returns(setup: tuple[Engine, QualityReport]) -> None:
    engine, report = setup
    # d7 latest as of Oct 10: the cohort of Oct 3, returns on Oct 10 -> it reads the bad day
    on = _scores(engine, D(2026, 10, 10))["d7_now"]
    assert on.days_read == (BAD_DAY, D(2026, 10, 10))
    assert number_flag(report, on) is not None
    # as of Oct 11 the cohort is Oct 4: nothing of Oct 3 is read
    after = _scores(engine, D(2026, 10, 11))["d7_now"]
    assert after.days_read == (D(2026, 10, 4), D(2026, 10, 11))
    assert number_flag(report, after) is None


def _result(check: str, severity: str, success: bool, *days: dt.date, source: str = "events") -> CheckResult:
    return CheckResult(source, check, severity, success, None, "", days=days)  # type: ignore[arg-type]


def _report(*results: CheckResult) -> QualityReport:
    return QualityReport(results, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


OCT = (D(2026, 10, 5), D(2026, 10, 11))


def test_warnings_are_warnings_and_errors_win() -> None:
    warn = _result("volume", "warn", False, D(2026, 10, 7))
    flag = flag_for(_report(warn), ["events"], OCT, user_sources=["events"])
    assert flag is not None and flag.severity == "warn" and flag.words == "Data warning"
    error = _result("user_not_null", "error", False, D(2026, 10, 6))
    both = flag_for(_report(warn, error), ["events"], OCT, user_sources=["events"])
    assert both is not None and both.severity == "error"
    assert [r.check for r in both.checks] == ["user_not_null", "volume"]  # errors first
    # a warning outside the days read flags nothing; a passed check never flags
    assert (
        flag_for(
            _report(_result("volume", "warn", False, D(2026, 9, 1))), ["events"], OCT, user_sources=["events"]
        )
        is None
    )
    assert (
        flag_for(
            _report(_result("x", "error", True, D(2026, 10, 6))), ["events"], OCT, user_sources=["events"]
        )
        is None
    )
    # another source's failure does not flag this number
    assert (
        flag_for(
            _report(_result("x", "error", False, D(2026, 10, 6), source="other")),
            ["events"],
            OCT,
            user_sources=["events"],
        )
        is None
    )


def test_a_check_without_days_flags_every_number_of_its_source() -> None:
    table_level = _result("expect_table_row_count_to_be_between", "error", False)
    report = _report(table_level)
    for span in (OCT, (D(2020, 1, 1), D(2020, 1, 1)), None):
        flag = flag_for(report, ["events"], span, user_sources=["events"])
        assert flag is not None and flag.severity == "error"
    assert flag_for(report, ["other"], OCT, user_sources=["other"]) is None


def test_failing_freshness_at_the_as_of_flags_every_number_of_its_source() -> None:
    stale = CheckResult("events", "freshness", "error", False, None, "the newest row is 5d old")
    flag = flag_for(_report(stale), ["events"], OCT, user_sources=["events"])
    assert flag is not None and flag.severity == "error" and flag.names == ("events: freshness",)
    late = CheckResult("events", "freshness", "warn", False, None, "the newest row is 30h old")
    warned = flag_for(_report(late), ["events"], OCT, user_sources=["events"])
    assert warned is not None and warned.severity == "warn"
    fresh = CheckResult("events", "freshness", "error", True, None, "the newest row is 2h old")
    assert flag_for(_report(fresh), ["events"], OCT, user_sources=["events"]) is None


def test_no_report_no_flag() -> None:
    assert flag_for(None, ["events"], OCT, user_sources=["events"]) is None


def test_a_key_result_chart_shades_its_period_up_to_the_day_read(setup: tuple[Engine, QualityReport]) -> None:
    engine, report = setup
    later = _scores(engine, D(2026, 10, 11))["week_after"]
    (mark,) = period_shading(report, later, engine.calendar)
    assert (mark.severity, mark.periods, mark.checks) == ("error", (BAD_DAY,), ("events: user_not_null",))
    # read as of Oct 2, the chart ends before the bad day: nothing to shade
    assert period_shading(report, _scores(engine, D(2026, 10, 2))["week_after"], engine.calendar) == ()


def test_a_stale_source_at_the_as_of_flags_every_key_result(root: Path) -> None:
    engine = _engine(root, {"freshness": {"warn_after": "1h", "error_after": "2d"}})
    stale = run_checks(engine.project, engine, now=NOW + dt.timedelta(days=5))
    assert [r.check for r in stale.failures if r.severity == "error"] == ["user_not_null", "freshness"]
    for kr in _scores(engine, D(2026, 10, 11)).values():
        flag = number_flag(stale, kr)
        assert flag is not None and flag.severity == "error" and "events: freshness" in flag.names, kr.id


def test_rows_without_a_user_flag_only_numbers_that_count_users(setup: tuple[Engine, QualityReport]) -> None:
    """The quarter so far as of Oct 11 reads the bad day. Its distinct users leave the rows without a
    user out, so user_not_null flags them; its row count and a ratio of two counts read those rows as
    usual and are not flagged, nor is their chart shaded. A ratio with a part that counts users is."""
    engine, report = setup
    assert engine.project.user_sources("rows") == set()
    assert engine.project.user_sources("rows_per_user") == {"events"}
    scores = _scores(engine, D(2026, 10, 11))
    assert (
        scores["rows_quarter"].days_read == scores["quarter"].days_read == (D(2026, 10, 1), D(2026, 10, 11))
    )
    assert scores["rows_quarter"].user_sources == ()
    assert number_flag(report, scores["rows_quarter"]) is None
    assert period_shading(report, scores["rows_quarter"], engine.calendar) == ()
    assert number_flag(report, scores["quarter"]) is not None
    per_user = number_flag(report, scores["per_user_quarter"])
    assert per_user is not None and per_user.names == ("events: user_not_null",)
    # other failures on the same day flag the row count as before; the page says which numbers
    both = _report(
        _result("user_not_null", "error", False, BAD_DAY), _result("volume", "warn", False, BAD_DAY)
    )
    only_rows = flag_for(both, ["events"], OCT_3, user_sources=[])
    assert only_rows is not None and only_rows.severity == "warn" and only_rows.names == ("events: volume",)
    assert [s.checks for s in shading(both, ["events"], engine.calendar, "day", user_sources=[])] == [
        ("events: volume",)
    ]


OCT_3 = (BAD_DAY, BAD_DAY)


def test_the_quality_page_says_which_numbers_and_every_affected_day() -> None:
    days = [D(2026, 10, 1) + dt.timedelta(days=i) for i in range(9)]
    users = reach_words([_result("user_not_null", "error", False, *days)])
    assert users.startswith("Numbers that count users of events that read an affected day carry a red badge")
    assert users.endswith(
        "affected days: Oct 1, 2026, Oct 2, 2026, Oct 3, 2026, Oct 4, 2026, Oct 5, 2026, "
        "Oct 6, 2026 and 3 more days."
    )
    rows = reach_words([_result("duplicates", "error", False, days[0])])
    assert (
        rows
        == "Numbers built on events that read an affected day carry a red badge; affected days: Oct 1, 2026."
    )
    assert (
        reach_words([_result("freshness", "error", False)])
        == "Every number built on events carries a red badge."
    )


# --- rows without a user flag only the metrics that count them ------------------------------------

# Oct 1 .. 5, 2026: six users sign up on Oct 1 (u1-u3 on web, u4-u6 on ios), view pages every day and
# u1, u4 buy on Oct 2. On Oct 3 a tracking bug sends three web page views without a user.
FILTER_DAY = D(2026, 10, 3)


def _filter_rows() -> list[Any]:
    from tests.engine_fixtures import Row

    rows: list[Any] = []
    for u in range(1, 7):
        platform = "web" if u <= 3 else "ios"
        rows.append(Row(dt.datetime(2026, 10, 1, 9), f"u{u}", "signup", platform=platform))
        for n in range(5):
            rows.append(Row(dt.datetime(2026, 10, 1 + n, 10), f"u{u}", "page_view", platform=platform))
    rows += [Row(dt.datetime(2026, 10, 2, 11), u, "purchase", platform="web") for u in ("u1", "u4")]
    rows += [Row(dt.datetime(2026, 10, 3, 12, m), None, "page_view", platform="web") for m in range(3)]
    return rows


FILTER_METRICS: dict[str, dict[str, Any]] = {
    # count the rows without a user (page views, or any event): flagged
    "viewers": {"type": "count_distinct", "source": "events", "filter": {"event": "page_view"}},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "not_buying": {
        "type": "active_users",
        "source": "events",
        "window": 7,
        "filter": {"event": {"not": "purchase"}},
    },
    "d1_any": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    "view_to_buy": {"type": "funnel", "source": "events", "steps": ["page_view", "purchase"], "within": 3},
    "buy_share": {"type": "ratio", "numerator": "buyers", "denominator": "viewers"},
    # count none of them (another event, another platform, a `not`, other steps): not flagged
    "buyers": {"type": "count_distinct", "source": "events", "filter": {"event": "purchase"}},
    "ios_viewers": {
        "type": "count_distinct",
        "source": "events",
        "filter": {"event": "page_view", "platform": "ios"},
    },
    "not_viewing": {
        "type": "active_users",
        "source": "events",
        "window": 1,
        "filter": {"event": {"not": ["page_view"]}},
    },
    "d1_buy": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "purchase",
        "offset": 1,
    },
    "checkout": {"type": "funnel", "source": "events", "steps": ["signup", "purchase"], "within": 3},
}
FLAGGED = {"viewers", "dau", "not_buying", "d1_any", "view_to_buy", "buy_share"}


@pytest.mark.parametrize("kind", ["parquet", *DATABASES])
def test_rows_without_a_user_flag_only_metrics_that_count_them(kind: str, tmp_path: Path) -> None:
    """A filtered user metric is flagged by rows without a user only when its filter (and, for
    retention and funnels, its events) keeps some of them, on files and in every database alike:
    the badge (`flag_for`) and the chart's shading (`shading`) as the surfaces call them."""
    rows = _filter_rows()
    table: LoadedTable | None = None
    if kind == "parquet":
        project = parquet_project(write_parquet(rows, tmp_path / "events.parquet"), FILTER_METRICS)
    else:
        table = LoadedTable(kind, tmp_path, rows)
        project = sql_project(table.url, FILTER_METRICS, table=table.table)
    try:
        assert project.ok, project.problems
        report = run_checks(project, now=dt.datetime(2026, 10, 6, 1))
    finally:
        if table is not None:
            table.close()
    (failed,) = [r for r in report.failures if r.check == "user_not_null"]
    assert failed.unexpected_count == 3 and failed.days == (FILTER_DAY,)
    assert f"; {', '.join(sorted(FLAGGED - {'buy_share'}))} count some of them;" in failed.details
    users_only = QualityReport((failed,), report.ran_at)
    span = (D(2026, 10, 1), D(2026, 10, 5))
    flagged = set()
    for metric_id in FILTER_METRICS:
        flag = flag_for(
            users_only,
            project.source_of(metric_id),
            span,
            user_sources=project.user_sources(metric_id),
            user_metrics=project.user_metrics(metric_id),
        )
        marks = shading(
            users_only,
            project.source_of(metric_id),
            Calendar.of(project.settings),
            "day",
            *span,
            user_sources=project.user_sources(metric_id),
            user_metrics=project.user_metrics(metric_id),
        )
        assert (flag is not None) == bool(marks), metric_id
        if flag is not None:
            flagged.add(metric_id)
            assert [m.periods for m in marks] == [(FILTER_DAY,)], metric_id
            assert flag.to_json()["checks"][0]["days"] == [FILTER_DAY.isoformat()]  # pack.json
    assert flagged == FLAGGED
    # a number that does not say which metrics it counts users through is flagged as before
    assert flag_for(users_only, ["events"], span, user_sources=["events"]) is not None
    # outside the failing day, not even the metrics that count those rows are flagged
    assert (
        flag_for(
            users_only,
            ["events"],
            (D(2026, 10, 4), D(2026, 10, 5)),
            user_sources=["events"],
            user_metrics=["viewers"],
        )
        is None
    )
    assert reach_words([failed]).startswith(
        f"Numbers of {', '.join(sorted(FLAGGED - {'buy_share'}))} (the metrics that count those rows)"
    )


def test_a_number_reads_the_days_of_the_rows_its_metrics_count() -> None:
    """Rows without a user on Oct 3 (page views) and Oct 4 (purchases): a number counting page-view
    users reads Oct 3 alone, in its badge, its pack.json days, its shading and the page's words."""
    oct4 = D(2026, 10, 4)
    result = CheckResult(
        "events",
        "user_not_null",
        "error",
        False,
        5,
        "",
        days=(FILTER_DAY, oct4),
        reaches=(("buyers", (oct4,)), ("viewers", (FILTER_DAY,))),
    )
    report = _report(result)
    week = (D(2026, 10, 1), D(2026, 10, 7))
    flag = flag_for(report, ["events"], week, user_sources=["events"], user_metrics=["viewers"])
    assert flag is not None and flag.to_json()["checks"][0]["days"] == ["2026-10-03"]
    assert (
        flag_for(report, ["events"], (oct4, oct4), user_sources=["events"], user_metrics=["viewers"]) is None
    )
    assert (
        flag_for(report, ["events"], (oct4, oct4), user_sources=["events"], user_metrics=["buyers"])
        is not None
    )
    calendar = Calendar.of(project_from_dicts(sources={}, metrics={}).settings)
    (mark,) = shading(
        report, ["events"], calendar, "day", *week, user_sources=["events"], user_metrics=["viewers"]
    )
    assert mark.periods == (FILTER_DAY,)
    assert reach_words([dataclasses.replace(result, reaches=(("viewers", (FILTER_DAY,)),))]).endswith(
        "affected days: Oct 3, 2026."
    )
    nobody = reach_words([dataclasses.replace(result, reaches=())])
    assert nobody.startswith("No number carries a red badge")
