"""Hand-worked fixtures: small tables whose every expected number was worked out on paper."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.definitions.problems import ConfigError
from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import project_from_dicts
from tests.engine_fixtures import Row, compute_rows, make_project

D = dt.date
T = dt.datetime
NaN = None


def series(
    tmp_path: Path,
    rows: list[Row],
    metrics: dict[str, Any],
    metric: str,
    start: dt.date,
    end: dt.date,
    grain: str = "day",
    settings: dict[str, Any] | None = None,
    by: str | None = None,
) -> dict[Any, float | None]:
    project = make_project(tmp_path, rows, metrics, settings)
    got = compute_rows(project, [metric], start, end, grain, by)
    return {(k[1] if by is None else (k[1], k[2])): v for k, v in got.items()}


# --- count, count_distinct, sum, avg, min, max, percentile ---------------------------------------

SIMPLE_ROWS = [
    Row(T(2025, 12, 31, 23, 59), "u1", "purchase", amount=100.0),  # before the range
    Row(T(2026, 1, 1, 0, 0), "u1", "purchase", amount=10.0),  # midnight: first instant of Jan 1
    Row(T(2026, 1, 1, 12, 0), "u2", "purchase", amount=None),
    Row(T(2026, 1, 1, 23, 59, 59), None, "purchase", amount=30.0),  # no user: still a row
    Row(T(2026, 1, 3, 8, 0), "u1", "open"),
    Row(T(2026, 1, 3, 9, 0), "u3", "purchase", amount=None),
    Row(T(2026, 1, 5, 0, 0), "u1", "purchase", amount=50.0),  # after the range
]
SIMPLE = {
    "rows": {"type": "count", "source": "events"},
    "purchases": {"type": "count", "source": "events", "filter": {"event": "purchase"}},
    "users": {"type": "count_distinct", "source": "events"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "avg_amount": {"type": "avg", "source": "events", "column": "amount"},
    "min_amount": {"type": "min", "source": "events", "column": "amount"},
    "max_amount": {"type": "max", "source": "events", "column": "amount"},
    "p50": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.5},
    "p90": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.9},
    "p25": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.25},
}
JAN = [D(2026, 1, d) for d in (1, 2, 3, 4)]


@pytest.mark.parametrize(
    ("metric", "values"),
    [
        ("rows", [3, 0, 2, 0]),
        ("purchases", [3, 0, 1, 0]),
        ("users", [2, 0, 2, 0]),  # the null user is never a user
        ("revenue", [40, 0, 0, 0]),  # Jan 3 has a purchase whose amount is null: 0, not null
        ("avg_amount", [20, NaN, NaN, NaN]),  # nulls ignored; nothing to average -> null
        ("min_amount", [10, NaN, NaN, NaN]),
        ("max_amount", [30, NaN, NaN, NaN]),
        ("p50", [20, NaN, NaN, NaN]),
        ("p90", [28, NaN, NaN, NaN]),  # 10 + 0.9 * (30 - 10), linear between closest ranks
        ("p25", [15, NaN, NaN, NaN]),
    ],
)
def test_simple_types_by_day(tmp_path: Path, metric: str, values: list[float | None]) -> None:
    got = series(tmp_path, SIMPLE_ROWS, SIMPLE, metric, JAN[0], JAN[-1])
    assert got == dict(zip(JAN, values, strict=True))


def test_weeks_are_named_by_their_first_day_even_before_start(tmp_path: Path) -> None:
    # 2026-01-01 is a Thursday: the Monday week starts 2025-12-29, before --start; Dec 31 is not counted
    assert series(tmp_path, SIMPLE_ROWS, SIMPLE, "rows", D(2026, 1, 1), D(2026, 1, 4), "week") == {
        D(2025, 12, 29): 5.0
    }
    assert series(tmp_path / "b", SIMPLE_ROWS, SIMPLE, "rows", D(2026, 1, 1), D(2026, 1, 5), "week") == {
        D(2025, 12, 29): 5.0,
        D(2026, 1, 5): 1.0,
    }


def test_week_start_sunday(tmp_path: Path) -> None:
    got = series(
        tmp_path, SIMPLE_ROWS, SIMPLE, "rows", D(2026, 1, 1), D(2026, 1, 4), "week", {"week_start": "sunday"}
    )
    assert got == {D(2025, 12, 28): 5.0, D(2026, 1, 4): 0.0}


def test_fiscal_quarters(tmp_path: Path) -> None:
    rows = [
        Row(T(2026, 1, 15), "u1", "open"),
        Row(T(2026, 1, 31, 23), "u1", "open"),
        Row(T(2026, 2, 1), "u1", "open"),
        Row(T(2026, 2, 11), "u1", "open"),  # after the range
    ]
    # fiscal year starting in February: quarters Nov-Jan and Feb-Apr
    got = series(
        tmp_path, rows, SIMPLE, "rows", D(2026, 1, 15), D(2026, 2, 10), "quarter", {"fiscal_year_start": 2}
    )
    assert got == {D(2025, 11, 1): 2.0, D(2026, 2, 1): 1.0}
    got = series(tmp_path / "b", rows, SIMPLE, "rows", D(2026, 1, 15), D(2026, 2, 10), "quarter")
    assert got == {D(2026, 1, 1): 3.0}


def test_breakdown_fills_every_group_in_every_period(tmp_path: Path) -> None:
    rows = [
        Row(T(2026, 1, 1), "u1", "purchase", platform="web", amount=5.0),
        Row(T(2026, 1, 2), "u1", "purchase", platform="ios", amount=7.0),
        Row(T(2026, 1, 2), "u2", "purchase", platform=None, amount=1.0),
        Row(T(2025, 12, 1), "u1", "purchase", platform="android", amount=7.0),  # outside: not a group
    ]
    got = series(tmp_path, rows, SIMPLE, "revenue", D(2026, 1, 1), D(2026, 1, 2), by="platform")
    assert got == {
        (D(2026, 1, 1), "web"): 5.0,
        (D(2026, 1, 1), "ios"): 0.0,
        (D(2026, 1, 1), None): 0.0,
        (D(2026, 1, 2), "web"): 0.0,
        (D(2026, 1, 2), "ios"): 7.0,
        (D(2026, 1, 2), None): 1.0,
    }
    got = series(tmp_path / "b", rows, SIMPLE, "avg_amount", D(2026, 1, 1), D(2026, 1, 2), by="platform")
    assert got[(D(2026, 1, 1), "ios")] is None and got[(D(2026, 1, 2), "ios")] == 7.0


# --- active users ----------------------------------------------------------------------------

ACTIVE_ROWS = [
    Row(T(2025, 12, 30, 12), "u2", "open"),  # before --start: inside Jan 1's 3-day window
    Row(T(2026, 1, 1, 9), "u1", "open"),
    Row(T(2026, 1, 1, 10), "u1", "open"),
    Row(T(2026, 1, 2, 9), "u2", "open"),
    Row(T(2026, 1, 3, 9), None, "open"),  # never a user
    Row(T(2026, 1, 5, 9), "u1", "create"),
    Row(T(2026, 1, 8, 9), "u3", "open"),  # after --end
]
ACTIVE = {
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "a3": {"type": "active_users", "source": "events", "window": 3},
    "creators": {"type": "active_users", "source": "events", "window": 3, "filter": {"event": "create"}},
}
WEEK1 = [D(2026, 1, d) for d in range(1, 8)]


@pytest.mark.parametrize(
    ("metric", "values"),
    [
        ("dau", [1, 1, 0, 0, 1, 0, 0]),
        ("a3", [2, 2, 2, 1, 1, 1, 1]),
        ("creators", [0, 0, 0, 0, 1, 1, 1]),
    ],
)
def test_active_users_by_day(tmp_path: Path, metric: str, values: list[float]) -> None:
    assert series(tmp_path, ACTIVE_ROWS, ACTIVE, metric, WEEK1[0], WEEK1[-1]) == dict(
        zip(WEEK1, values, strict=True)
    )


def test_active_users_above_day_read_the_last_day_clipped_to_end(tmp_path: Path) -> None:
    # weeks 2025-12-29..2026-01-04 (read on Jan 4) and 2026-01-05.. (read on Jan 7, the end)
    got = series(tmp_path, ACTIVE_ROWS, ACTIVE, "a3", WEEK1[0], WEEK1[-1], "week")
    assert got == {D(2025, 12, 29): 1.0, D(2026, 1, 5): 1.0}
    got = series(tmp_path / "b", ACTIVE_ROWS, ACTIVE, "dau", WEEK1[0], D(2026, 1, 5), "month")
    assert got == {D(2026, 1, 1): 1.0}


# --- retention -------------------------------------------------------------------------------

RETENTION_ROWS = [
    Row(T(2025, 12, 30, 8), "u1", "open"),  # before sign-up
    Row(T(2026, 1, 1, 10), "u1", "signup"),
    Row(T(2026, 1, 2, 10), "u1", "open"),  # day 1
    Row(T(2026, 1, 9, 10), "u1", "open"),  # in week 1 (days 7..13)
    Row(T(2025, 12, 31, 10), "u2", "signup"),  # first ever sign-up before --start: never in a cohort
    Row(T(2026, 1, 1, 11), "u2", "signup"),
    Row(T(2026, 1, 2, 11), "u2", "open"),
    Row(T(2026, 1, 1, 23), "u3", "signup"),
    Row(T(2026, 1, 2, 1), "u3", "signup"),  # a second sign-up: an event, but not an `open`
    Row(T(2026, 1, 2, 12), "u4", "signup"),
    Row(T(2026, 1, 4, 12), "u4", "open"),  # day 2, not day 1
    Row(T(2026, 1, 3, 12), "u5", "signup"),
    Row(T(2026, 1, 4, 12), "u5", "open"),
    Row(T(2026, 1, 4, 12), "u6", "signup"),
    Row(T(2026, 1, 5, 12), "u6", "open"),
    Row(T(2026, 1, 1, 12), None, "signup"),  # never a user
]
RETENTION = {
    "d1_open": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "open",
        "offset": 1,
    },
    "d1_any": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    "w1": {"type": "retention", "source": "events", "cohort_event": "signup", "period": "week", "offset": 1},
}


def test_retention_by_day(tmp_path: Path) -> None:
    days = JAN
    # Jan 1: u1 (back on Jan 2) and u3 (only a second sign-up on Jan 2); u2 signed up before the range
    # Jan 4: u6's day 1 is Jan 5, after --end: null until it has happened
    got = series(tmp_path, RETENTION_ROWS, RETENTION, "d1_open", days[0], days[-1])
    assert got == dict(zip(days, [0.5, 0.0, 1.0, None], strict=True))
    got = series(tmp_path / "b", RETENTION_ROWS, RETENTION, "d1_any", days[0], days[-1])
    assert got == dict(zip(days, [1.0, 0.0, 1.0, None], strict=True))


def test_retention_by_week_waits_for_the_last_possible_member(tmp_path: Path) -> None:
    # the week of Dec 29 holds cohorts Jan 1..Jan 4 (clipped to --start); the last member's day 1 is Jan 5
    got = series(tmp_path, RETENTION_ROWS, RETENTION, "d1_open", D(2026, 1, 1), D(2026, 1, 4), "week")
    assert got == {D(2025, 12, 29): None}
    got = series(tmp_path / "b", RETENTION_ROWS, RETENTION, "d1_open", D(2026, 1, 1), D(2026, 1, 5), "week")
    assert got == {D(2025, 12, 29): 3 / 5, D(2026, 1, 5): None}  # u1, u5, u6 of u1, u3, u4, u5, u6


def test_weekly_retention_interval(tmp_path: Path) -> None:
    days = [D(2026, 1, 1) + dt.timedelta(days=i) for i in range(20)]
    got = series(tmp_path, RETENTION_ROWS, RETENTION, "w1", days[0], days[-1])
    # u1 is back on Jan 9, inside Jan 8..Jan 14; cohorts after Jan 7 would mature after Jan 20
    assert got[D(2026, 1, 1)] == 0.5
    assert got[D(2026, 1, 2)] == 0.0 and got[D(2026, 1, 3)] == 0.0 and got[D(2026, 1, 4)] == 0.0
    assert all(got[d] is None for d in days[4:])


# --- negated filters and first-seen cohorts --------------------------------------------------

NOT_ROWS = [
    Row(T(2026, 1, 1, 9), "u1", "signup", platform="ios"),
    Row(T(2026, 1, 1, 10), "u1", "open", platform="ios"),
    Row(T(2026, 1, 1, 11), "u2", "session_start", platform="web"),
    Row(T(2026, 1, 1, 12), "u2", "purchase", platform=None),  # null platform: kept by `not`
    Row(T(2026, 1, 1, 13), None, "open", platform="android"),  # no user: still a row
    Row(T(2026, 1, 2, 9), "u3", None, platform="web"),  # type: ignore[arg-type]  # null event: kept by `not`
    Row(T(2026, 1, 2, 10), "u3", "signup", platform=None),
]
NOT_METRICS = {
    "not_signup_or_session": {
        "type": "count",
        "source": "events",
        "filter": {"event": {"not": ["signup", "session_start"]}},
    },
    "not_ios": {"type": "count", "source": "events", "filter": {"platform": {"not": "ios"}}},
    "not_mobile": {"type": "count", "source": "events", "filter": {"platform": {"not": ["ios", "android"]}}},
    "open_not_ios": {
        "type": "count",
        "source": "events",
        "filter": {"event": "open", "platform": {"not": "ios"}},
    },
    "users_not_ios": {
        "type": "active_users",
        "source": "events",
        "window": 1,
        "filter": {"platform": {"not": "ios"}},
    },
    "revenue_not_signup": {
        "type": "sum",
        "source": "events",
        "column": "amount",
        "filter": {"event": {"not": "signup"}},
    },
}
JAN2 = [D(2026, 1, 1), D(2026, 1, 2)]


@pytest.mark.parametrize(
    ("metric", "values"),
    [
        ("not_signup_or_session", [3, 1]),  # open, purchase, open | the null event
        ("not_ios", [3, 2]),  # web, null, android | web, null
        ("not_mobile", [2, 2]),  # web, null | web, null
        ("open_not_ios", [1, 0]),  # the android open (no user, still a row)
        ("users_not_ios", [1, 1]),  # u2 | u3 (the row without a user is never a user)
    ],
)
def test_negated_filters_keep_rows_with_none_of_the_values_and_nulls(
    tmp_path: Path, metric: str, values: list[float]
) -> None:
    got = series(tmp_path, NOT_ROWS, NOT_METRICS, metric, JAN2[0], JAN2[-1])
    assert got == dict(zip(JAN2, values, strict=True))


def test_negated_filter_breakdown_shows_the_kept_values_only(tmp_path: Path) -> None:
    got = series(tmp_path, NOT_ROWS, NOT_METRICS, "not_ios", JAN2[0], JAN2[-1], by="platform")
    assert got == {
        (JAN2[0], "web"): 1.0,
        (JAN2[0], "android"): 1.0,
        (JAN2[0], None): 1.0,
        (JAN2[1], "web"): 1.0,
        (JAN2[1], "android"): 0.0,
        (JAN2[1], None): 1.0,
    }


FIRST_SEEN = {
    "d1_first_seen": {"type": "retention", "source": "events", "cohort_event": "any", "offset": 1},
    "d1_first_seen_open": {
        "type": "retention",
        "source": "events",
        "cohort_event": "any",
        "return_event": "open",
        "offset": 1,
    },
}


def test_first_seen_cohort_is_the_first_event_of_any_kind(tmp_path: Path) -> None:
    # u1 was first seen on Dec 30 (an open before sign-up) and u2 on Dec 31: in no cohort of the range.
    # Jan 1: u3 (back on Jan 2 with a sign-up: any event counts); Jan 2: u4 (next seen Jan 4);
    # Jan 3: u5 (back on Jan 4); Jan 4: u6, whose day 1 is after --end
    got = series(tmp_path, RETENTION_ROWS, FIRST_SEEN, "d1_first_seen", JAN[0], JAN[-1])
    assert got == dict(zip(JAN, [1.0, 0.0, 1.0, None], strict=True))
    # returning means an `open`: u3's Jan 2 sign-up does not count
    got = series(tmp_path / "b", RETENTION_ROWS, FIRST_SEEN, "d1_first_seen_open", JAN[0], JAN[-1])
    assert got == dict(zip(JAN, [0.0, 0.0, 1.0, None], strict=True))


def test_first_seen_cohort_counts_cohort_sizes(tmp_path: Path) -> None:
    project = make_project(tmp_path, RETENTION_ROWS, FIRST_SEEN)
    got = compute_rows(project, ["d1_first_seen"], JAN[0], JAN[-1], counts=True)
    sizes = {k[1]: v for k, v in got.items() if k[0] == "d1_first_seen#denominator"}
    assert sizes == dict(zip(JAN, [1.0, 1.0, 1.0, 1.0], strict=True))


def test_first_seen_cohort_breaks_down_by_the_first_event(tmp_path: Path) -> None:
    rows = [
        Row(T(2026, 1, 1, 8), "u1", "open", platform="ios"),  # first seen on ios
        Row(T(2026, 1, 1, 9), "u1", "signup", platform="web"),
        Row(T(2026, 1, 2, 9), "u1", "open", platform="web"),
        Row(T(2026, 1, 1, 8), "u2", "signup", platform="web"),
        Row(T(2026, 1, 1, 9), "u2", "open", platform="ios"),
    ]
    got = series(tmp_path, rows, FIRST_SEEN, "d1_first_seen", JAN[0], JAN[1], by="platform")
    assert got == {
        (JAN[0], "ios"): 1.0,
        (JAN[0], "web"): 0.0,
        (JAN[1], "ios"): None,
        (JAN[1], "web"): None,
    }


def test_first_seen_cohort_across_a_time_zone_boundary(tmp_path: Path) -> None:
    rows = [
        Row(T(2025, 12, 31, 23, 30), "u8", "open"),  # Jan 1 00:30 in Berlin; Dec 31 in UTC
        Row(T(2026, 1, 2, 12), "u8", "open"),
        Row(T(2026, 1, 1, 23, 30), "u7", "open"),  # Jan 2 00:30 in Berlin; Jan 1 in UTC
        Row(T(2026, 1, 2, 22, 30), "u7", "open"),  # Jan 2 23:30 in Berlin: day 0 there, day 1 in UTC
    ]
    got = series(tmp_path, rows, FIRST_SEEN, "d1_first_seen", D(2026, 1, 1), D(2026, 1, 3), settings=BERLIN)
    assert got == {D(2026, 1, 1): 1.0, D(2026, 1, 2): 0.0, D(2026, 1, 3): None}
    got = series(tmp_path / "utc", rows, FIRST_SEEN, "d1_first_seen", D(2026, 1, 1), D(2026, 1, 3))
    assert got == {D(2026, 1, 1): 1.0, D(2026, 1, 2): None, D(2026, 1, 3): None}


# --- funnels ---------------------------------------------------------------------------------

FUNNEL_ROWS = [
    Row(T(2026, 1, 1, 10), "u1", "signup"),
    Row(T(2026, 1, 1, 11), "u1", "create"),
    Row(T(2026, 1, 1, 12), "u1", "invite"),  # converted
    Row(T(2026, 1, 1, 10), "u2", "signup"),
    Row(T(2026, 1, 1, 11), "u2", "invite"),
    Row(T(2026, 1, 1, 12), "u2", "create"),  # out of order: not converted
    Row(T(2026, 1, 1, 10), "u3", "signup"),
    Row(T(2026, 1, 1, 11), "u3", "create"),
    Row(T(2026, 1, 2, 10), "u3", "invite"),  # exactly 24 h later: too late
    Row(T(2026, 1, 1, 10), "u4", "signup"),
    Row(T(2026, 1, 1, 10), "u4", "create"),  # same instant counts
    Row(T(2026, 1, 2, 9, 59, 59), "u4", "invite"),  # converted
    Row(T(2026, 1, 3, 20), "u5", "signup"),
    Row(T(2026, 1, 3, 21), "u5", "create"),
    Row(T(2026, 1, 4, 1), "u5", "invite"),  # converted only when --end reaches Jan 4
    Row(T(2026, 1, 2, 8), "u6", "signup"),
    Row(T(2026, 1, 2, 8, 30), "u6", "create"),
    Row(T(2026, 1, 2, 9), "u6", "signup"),  # a later step-1 event does not restart the clock
    Row(T(2026, 1, 2, 10), "u6", "invite"),  # converted
    Row(T(2026, 1, 1, 10), None, "signup"),
    Row(T(2026, 1, 1, 11), None, "create"),
    Row(T(2026, 1, 1, 12), None, "invite"),  # never a user
]
FUNNEL = {
    "activation": {"type": "funnel", "source": "events", "steps": ["signup", "create", "invite"], "within": 1}
}


def test_funnel_by_day(tmp_path: Path) -> None:
    got = series(tmp_path, FUNNEL_ROWS, FUNNEL, "activation", D(2026, 1, 1), D(2026, 1, 3))
    assert got == {D(2026, 1, 1): 0.5, D(2026, 1, 2): 1.0, D(2026, 1, 3): 0.0}
    got = series(tmp_path / "b", FUNNEL_ROWS, FUNNEL, "activation", D(2026, 1, 1), D(2026, 1, 4))
    assert got == {D(2026, 1, 1): 0.5, D(2026, 1, 2): 1.0, D(2026, 1, 3): 1.0, D(2026, 1, 4): None}


def test_funnel_by_week(tmp_path: Path) -> None:
    got = series(tmp_path, FUNNEL_ROWS, FUNNEL, "activation", D(2026, 1, 1), D(2026, 1, 3), "week")
    assert got == {D(2025, 12, 29): 0.5}  # u1, u4, u6 of six entrants


def _funnel(**extra: Any) -> dict[str, Any]:
    return {
        "f": {
            "type": "funnel",
            "source": "events",
            "steps": ["signup", "create", "invite"],
            "within": 1,
            **extra,
        }
    }


def test_funnel_any_order_by_day(tmp_path: Path) -> None:
    # u2 (invite before create) converts in any order; u3 (24 h exactly), u5 (after --end) still do not
    got = series(tmp_path, FUNNEL_ROWS, _funnel(order="any"), "f", D(2026, 1, 1), D(2026, 1, 3))
    assert got == {D(2026, 1, 1): 0.75, D(2026, 1, 2): 1.0, D(2026, 1, 3): 0.0}


ANY_ROWS = [
    Row(T(2026, 1, 1, 9), "a1", "create"),  # before t0: does not count
    Row(T(2026, 1, 1, 10), "a1", "signup"),
    Row(T(2026, 1, 1, 11), "a1", "invite"),  # not converted
    Row(T(2026, 1, 1, 10), "a2", "signup"),
    Row(T(2026, 1, 1, 10), "a2", "invite"),  # at t0 itself counts
    Row(T(2026, 1, 1, 10, 30), "a2", "create"),  # converted (any), not strict
    Row(T(2026, 1, 1, 10), "a3", "signup"),
    Row(T(2026, 1, 1, 11), "a3", "create"),
    Row(T(2026, 1, 1, 12), "a3", "create"),  # a repeated step changes nothing
    Row(T(2026, 1, 2, 9, 59, 59), "a3", "invite"),  # converted, both orders
    Row(T(2026, 1, 1, 10), "a4", "signup"),
    Row(T(2026, 1, 1, 11), "a4", "create"),  # never invites
]


def test_funnel_any_order_window_edges(tmp_path: Path) -> None:
    got = series(tmp_path, ANY_ROWS, _funnel(order="any"), "f", D(2026, 1, 1), D(2026, 1, 2))
    assert got == {D(2026, 1, 1): 0.5, D(2026, 1, 2): None}  # a2, a3 of four
    got = series(tmp_path / "strict", ANY_ROWS, _funnel(), "f", D(2026, 1, 1), D(2026, 1, 2))
    assert got == {D(2026, 1, 1): 0.25, D(2026, 1, 2): None}  # a3 only


EXCLUDE_ROWS = [
    Row(T(2026, 1, 1, 10), "x1", "signup"),
    Row(T(2026, 1, 1, 10, 30), "x1", "refund"),  # between steps: drops out
    Row(T(2026, 1, 1, 11), "x1", "create"),
    Row(T(2026, 1, 1, 12), "x1", "invite"),
    Row(T(2026, 1, 1, 10), "x2", "signup"),
    Row(T(2026, 1, 1, 11), "x2", "create"),
    Row(T(2026, 1, 1, 12), "x2", "invite"),
    Row(T(2026, 1, 1, 13), "x2", "refund"),  # after completing: converted
    Row(T(2026, 1, 1, 10), "x3", "refund"),  # at t0 itself: not after it, converted
    Row(T(2026, 1, 1, 10), "x3", "signup"),
    Row(T(2026, 1, 1, 11), "x3", "create"),
    Row(T(2026, 1, 1, 12), "x3", "invite"),
    Row(T(2026, 1, 1, 10), "x4", "signup"),
    Row(T(2026, 1, 1, 11), "x4", "create"),
    Row(T(2026, 1, 1, 12), "x4", "refund"),  # at the completing event's instant: converted
    Row(T(2026, 1, 1, 12), "x4", "invite"),
    Row(T(2026, 1, 1, 10), "x5", "signup"),
    Row(T(2026, 1, 1, 11), "x5", "create"),
    Row(T(2026, 1, 1, 11, 30), "x5", "refund"),  # before the earliest completion (12:00)
    Row(T(2026, 1, 1, 12), "x5", "invite"),
    Row(T(2026, 1, 1, 13), "x5", "create"),
    Row(T(2026, 1, 1, 14), "x5", "invite"),  # a later completion does not help: not converted
    Row(T(2026, 1, 1, 9), "x6", "refund"),  # before t0: converted
    Row(T(2026, 1, 1, 10), "x6", "signup"),
    Row(T(2026, 1, 1, 11), "x6", "create"),
    Row(T(2026, 1, 1, 12), "x6", "invite"),
    Row(T(2026, 1, 1, 10), "y1", "signup"),
    Row(T(2026, 1, 1, 11), "y1", "invite"),
    Row(T(2026, 1, 1, 11, 30), "y1", "refund"),  # any order: before the last first occurrence (create 12:00)
    Row(T(2026, 1, 1, 12), "y1", "create"),
    Row(T(2026, 1, 1, 10), "y2", "signup"),
    Row(T(2026, 1, 1, 11), "y2", "invite"),
    Row(T(2026, 1, 1, 12), "y2", "create"),
    Row(T(2026, 1, 1, 12, 30), "y2", "refund"),  # after completing: converted in any order
]


def test_funnel_exclude_strict(tmp_path: Path) -> None:
    rows = [r for r in EXCLUDE_ROWS if r.user and r.user.startswith("x")]
    got = series(tmp_path, rows, _funnel(exclude=["refund"]), "f", D(2026, 1, 1), D(2026, 1, 2))
    assert got == {D(2026, 1, 1): 4 / 6, D(2026, 1, 2): None}  # x2, x3, x4, x6
    got = series(tmp_path / "plain", rows, _funnel(), "f", D(2026, 1, 1), D(2026, 1, 2))
    assert got == {D(2026, 1, 1): 1.0, D(2026, 1, 2): None}


def test_funnel_exclude_any_order(tmp_path: Path) -> None:
    rows = [r for r in EXCLUDE_ROWS if r.user and r.user.startswith("y")]
    got = series(tmp_path, rows, _funnel(order="any", exclude=["refund"]), "f", D(2026, 1, 1), D(2026, 1, 2))
    assert got == {D(2026, 1, 1): 0.5, D(2026, 1, 2): None}  # y2


# --- time zones ------------------------------------------------------------------------------

BERLIN = {"timezone": "Europe/Berlin"}


def test_local_days_across_the_october_dst_change(tmp_path: Path) -> None:
    rows = [
        Row(T(2025, 10, 25, 21, 59, 59), "u1", "open"),  # 23:59:59 CEST, Oct 25
        Row(T(2025, 10, 25, 22, 0), "u1", "open"),  # 00:00 CEST, Oct 26
        Row(T(2025, 10, 26, 22, 59, 59), "u2", "open"),  # 23:59:59 CET, Oct 26 (a 25-hour day)
        Row(T(2025, 10, 26, 23, 0), "u2", "open"),  # 00:00 CET, Oct 27
    ]
    got = series(tmp_path, rows, SIMPLE, "rows", D(2025, 10, 25), D(2025, 10, 27), settings=BERLIN)
    assert got == {D(2025, 10, 25): 1.0, D(2025, 10, 26): 2.0, D(2025, 10, 27): 1.0}
    got = series(tmp_path / "utc", rows, SIMPLE, "rows", D(2025, 10, 25), D(2025, 10, 27))
    assert got == {D(2025, 10, 25): 2.0, D(2025, 10, 26): 2.0, D(2025, 10, 27): 0.0}


def test_funnel_within_is_hours_not_local_days(tmp_path: Path) -> None:
    rows = [
        Row(T(2025, 10, 25, 10), "u1", "signup"),
        Row(T(2025, 10, 26, 10, 30), "u1", "create"),  # 24.5 hours later (11:30 local the next day)
        Row(T(2025, 10, 25, 10), "u2", "signup"),
        Row(T(2025, 10, 26, 9, 59), "u2", "create"),  # 23 h 59 min later
    ]
    funnel = {"f": {"type": "funnel", "source": "events", "steps": ["signup", "create"], "within": 1}}
    got = series(tmp_path, rows, funnel, "f", D(2025, 10, 25), D(2025, 10, 27), settings=BERLIN)
    assert got == {D(2025, 10, 25): 0.5, D(2025, 10, 26): None, D(2025, 10, 27): None}


def test_tz_aware_timestamps_are_converted(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "ts": [T(2026, 1, 1, 23, 30), T(2026, 1, 2, 0, 30)],
            "user_id": ["u1", "u2"],
            "event": ["open", "open"],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("America/New_York"))  # 04:30 and 05:30 UTC on Jan 2
    (tmp_path / "data").mkdir()
    frame.write_parquet(tmp_path / "data" / "ny.parquet")

    project = project_from_dicts(
        sources={
            "events": {
                "type": "parquet",
                "path": "data/ny.parquet",
                "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
            }
        },
        metrics={"rows": {"type": "count", "source": "events"}},
        root=tmp_path,
    )
    got = compute_rows(project, ["rows"], D(2026, 1, 1), D(2026, 1, 2))
    assert got == {("rows", D(2026, 1, 1), None): 0.0, ("rows", D(2026, 1, 2), None): 2.0}
    assert Engine(project).data_range(["rows"]) == (D(2026, 1, 2), D(2026, 1, 2))


# --- ratios ----------------------------------------------------------------------------------


def test_ratio_is_a_ratio_of_aggregates_and_null_on_zero(tmp_path: Path) -> None:
    metrics = {
        **SIMPLE,
        "per_purchase": {"type": "ratio", "numerator": "revenue", "denominator": "purchases"},
        "avg_share": {"type": "ratio", "numerator": "avg_amount", "denominator": "revenue"},
    }
    got = series(tmp_path, SIMPLE_ROWS, metrics, "per_purchase", JAN[0], JAN[-1])
    assert got == {JAN[0]: 40 / 3, JAN[1]: None, JAN[2]: 0.0, JAN[3]: None}
    got = series(tmp_path / "b", SIMPLE_ROWS, metrics, "avg_share", JAN[0], JAN[-1])
    assert got == {JAN[0]: 0.5, JAN[1]: None, JAN[2]: None, JAN[3]: None}


def test_ratio_groups_are_those_of_either_part(tmp_path: Path) -> None:
    rows = [
        Row(T(2026, 1, 1), "u1", "purchase", platform="web", amount=4.0),
        Row(T(2026, 1, 1), "u2", "open", platform="ios"),
    ]
    metrics = {**SIMPLE, "per_row": {"type": "ratio", "numerator": "revenue", "denominator": "rows"}}
    got = series(tmp_path, rows, metrics, "per_row", JAN[0], JAN[0], by="platform")
    assert got == {(JAN[0], "web"): 4.0, (JAN[0], "ios"): 0.0}


# --- column types --------------------------------------------------------------------------------


def _project_of(
    tmp_path: Path, frame: pl.DataFrame, fmt: str, metrics: dict[str, Any], **settings: Any
) -> Any:

    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "data" / f"events.{fmt}"
    if fmt == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return project_from_dicts(
        sources={
            "events": {
                "type": fmt,
                "path": f"data/events.{fmt}",
                "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
                "dimensions": ["tier", "paid"],
            }
        },
        metrics=metrics,
        settings=settings,
        root=tmp_path,
    )


def test_text_timestamps_with_offsets_are_converted(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "ts": ["2026-01-01T23:30:00-05:00", "2026-01-01T22:30:00+00:00", "2026-01-02T00:30:00+01:00"],
            "user_id": ["u1", "u2", "u3"],
            "event": ["open", "open", "open"],
            "tier": [1, 2, 1],
            "paid": [True, False, None],
        }
    )
    project = _project_of(tmp_path, frame, "csv", {"rows": {"type": "count", "source": "events"}})
    got = compute_rows(project, ["rows"], D(2026, 1, 1), D(2026, 1, 2))
    # 04:30 UTC Jan 2, 22:30 UTC Jan 1, 23:30 UTC Jan 1
    assert got == {("rows", D(2026, 1, 1), None): 2.0, ("rows", D(2026, 1, 2), None): 1.0}


def test_date_timestamps_integer_and_boolean_dimensions(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "ts": [D(2026, 1, 1), D(2026, 1, 1), D(2026, 1, 2)],
            "user_id": ["u1", "u2", "u1"],
            "event": ["open", "open", "open"],
            "tier": [1, 2, 1],
            "paid": [True, False, None],
        }
    )
    metrics = {
        "rows": {"type": "count", "source": "events"},
        "tier_one": {"type": "count", "source": "events", "filter": {"tier": 1}},
        "paying": {"type": "active_users", "source": "events", "window": 2, "filter": {"paid": True}},
    }
    project = _project_of(tmp_path, frame, "parquet", metrics, timezone="Asia/Tokyo")
    got = compute_rows(project, ["rows", "tier_one", "paying"], D(2026, 1, 1), D(2026, 1, 2))
    assert got == {
        ("rows", D(2026, 1, 1), None): 2.0,
        ("rows", D(2026, 1, 2), None): 1.0,
        ("tier_one", D(2026, 1, 1), None): 1.0,
        ("tier_one", D(2026, 1, 2), None): 1.0,
        ("paying", D(2026, 1, 1), None): 1.0,
        ("paying", D(2026, 1, 2), None): 1.0,
    }
    by_paid = compute_rows(project, ["rows"], D(2026, 1, 1), D(2026, 1, 2), by="paid")
    assert by_paid[("rows", D(2026, 1, 1), "true")] == 1.0
    assert by_paid[("rows", D(2026, 1, 2), None)] == 1.0
    by_tier = compute_rows(project, ["rows"], D(2026, 1, 1), D(2026, 1, 1), by="tier")
    assert by_tier == {("rows", D(2026, 1, 1), "1"): 1.0, ("rows", D(2026, 1, 1), "2"): 1.0}


def test_first_seen_retention_needs_no_event_column(tmp_path: Path) -> None:
    rows = [
        Row(T(2026, 1, 1, 9), "u1", "x"),
        Row(T(2026, 1, 2, 9), "u1", "y"),
        Row(T(2026, 1, 1, 9), "u2", "x"),
    ]
    make_project(tmp_path, rows, {})  # writes data/events.parquet
    source = {
        "type": "parquet",
        "path": "data/events.parquet",
        "columns": {"timestamp": "ts", "user": "user_id"},
    }
    first_seen = {"d1": FIRST_SEEN["d1_first_seen"]}
    project = project_from_dicts(sources={"events": source}, metrics=first_seen, root=tmp_path)
    got = compute_rows(project, ["d1"], D(2026, 1, 1), D(2026, 1, 2))
    assert got == {("d1", D(2026, 1, 1), None): 0.5, ("d1", D(2026, 1, 2), None): None}
    with pytest.raises(ConfigError, match="uses event names, and source 'events' maps no event column"):
        project_from_dicts(
            sources={"events": source}, metrics={"d1": FIRST_SEEN["d1_first_seen_open"]}, root=tmp_path
        )


def test_funnel_order_diagnostic_counts_out_of_order_entrants(tmp_path: Path) -> None:
    """Counted by hand: entrants u1-u6 and a1-a4; in order u1, u4, u6, a3 (u5's invite is after
    --end); every step in the window but out of order: u2 (invite, then create) and a2 (invite at t0).
    a1's create before its sign-up is outside the window: not an out-of-order entrant, but a reversed pair."""
    project = make_project(tmp_path, FUNNEL_ROWS + ANY_ROWS, FUNNEL, None)
    engine = Engine(project)
    order = engine.funnel_order("activation", D(2026, 1, 1), D(2026, 1, 3))
    assert order is not None
    assert (order.entrants, order.in_order, order.any_order, order.out_of_order) == (10, 4, 6, 2)
    # the pairs the other way round, by users whose first later step in the range is followed by the
    # earlier one within a day: create then signup: u4 (same instant), u6 (a second sign-up), a1;
    # invite then create: u2, a2
    assert order.reversed_pairs == (("signup", "create", 3), ("create", "invite", 2))
    assert order.sentence().endswith(
        "(or at the same instant): create then signup by 3, invite then create by 2"
    )
    plan = engine.explain(MetricRequest(("activation",), D(2026, 1, 1), D(2026, 1, 3)))
    assert "activation: over 2026-01-01 .. 2026-01-03, 2 of 10 entrants (20.0% of them)" in plan


def test_funnel_order_diagnostic_is_for_strict_funnels_only(tmp_path: Path) -> None:
    metrics = {**_funnel(order="any"), "twice": {**_funnel()["f"], "steps": ["signup", "signup"]}}
    engine = Engine(make_project(tmp_path, FUNNEL_ROWS, metrics, None))
    assert engine.funnel_order("f", D(2026, 1, 1), D(2026, 1, 3)) is None
    assert engine.funnel_order("twice", D(2026, 1, 1), D(2026, 1, 3)) is None
    plan = engine.explain(MetricRequest(("f", "twice"), D(2026, 1, 1), D(2026, 1, 3)))
    assert not re.search(r"\d+ of \d+ entrants \(", plan), plan  # no "2 of 10 entrants (20.0% ...)"
