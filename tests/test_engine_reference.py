"""Every metric type against the plain-Python reference, on generated data full of edges.

The data spans a quarter boundary, the Berlin and New York DST changes at the end of October and
early November, has null users, null dimension values, null measured values, users with events
before their sign-up and with two sign-ups, funnel steps out of order and late, and unsorted rows.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest

from tests.engine_fixtures import Reference, Row, assert_same, compute_rows, make_project, reference_rows

FIRST = dt.datetime(2025, 9, 20)
DAYS = 50
EVENTS = ["signup", "open", "create", "invite", "purchase"]

METRICS: dict[str, dict[str, Any]] = {
    "rows": {"type": "count", "source": "events"},
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "mobile_opens": {"type": "count", "source": "events", "filter": {"event": "open", "platform": ["ios"]}},
    "users": {"type": "count_distinct", "source": "events"},
    "plans": {"type": "count_distinct", "source": "events", "column": "plan"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "amount_all": {"type": "sum", "source": "events", "column": "amount"},
    "avg_amount": {"type": "avg", "source": "events", "column": "amount"},
    "min_amount": {"type": "min", "source": "events", "column": "amount"},
    "max_amount": {"type": "max", "source": "events", "column": "amount", "filter": {"plan": "pro"}},
    "p90": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.9},
    "median": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.5},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "wau": {"type": "active_users", "source": "events", "window": 7},
    "mau": {"type": "active_users", "source": "events", "window": 28},
    "creators": {"type": "active_users", "source": "events", "window": 3, "filter": {"event": "create"}},
    "stickiness": {"type": "ratio", "numerator": "dau", "denominator": "mau"},
    "arpu": {"type": "ratio", "numerator": "revenue", "denominator": "users"},
    "d1": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    "d7_create": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": ["create", "invite"],
        "offset": 7,
    },
    "w1": {"type": "retention", "source": "events", "cohort_event": "signup", "period": "week", "offset": 1},
    "d0_ios": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "offset": 0,
        "return_event": "open",
        "filter": {"platform": "ios"},
    },
    "d1_first_seen": {"type": "retention", "source": "events", "cohort_event": "any", "offset": 1},
    "w1_first_seen_open": {
        "type": "retention",
        "source": "events",
        "cohort_event": "any",
        "return_event": "open",
        "period": "week",
        "offset": 1,
        "filter": {"platform": {"not": "ios"}},
    },
    "not_signups": {"type": "count", "source": "events", "filter": {"event": {"not": ["signup", "open"]}}},
    "non_ios_users": {
        "type": "active_users",
        "source": "events",
        "window": 7,
        "filter": {"platform": {"not": "ios"}},
    },
    "not_pro_amount": {
        "type": "sum",
        "source": "events",
        "column": "amount",
        "filter": {"plan": {"not": ["pro"]}},
    },
    "activation_off_web": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create"],
        "within": 2,
        "filter": {"platform": {"not": ["web"]}, "plan": {"not": "team"}},
    },
    "activation": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create", "invite"],
        "within": 2,
    },
    "quick": {"type": "funnel", "source": "events", "steps": ["open", "create"], "within": 0.5},
    "twice": {"type": "funnel", "source": "events", "steps": ["open", "open", "create"], "within": 3},
    "activation_any": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create", "invite"],
        "within": 2,
        "order": "any",
    },
    "activation_no_open": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create", "invite"],
        "within": 2,
        "exclude": ["open", "purchase"],
    },
    "any_no_purchase": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "invite", "create"],
        "within": 2,
        "order": "any",
        "exclude": ["purchase"],
        "filter": {"platform": ["ios", "web"]},
    },
}


def generate(seed: int, n: int = 1400) -> list[Row]:
    """About `n` rows: users who sign up (some twice), act before and after, and walk the funnel."""
    rng = random.Random(seed)
    rows: list[Row] = []

    def instant(base: dt.datetime, seconds: float) -> dt.datetime:
        # microsecond noise: no two rows share an instant, so tie-breaks never decide a value
        return base + dt.timedelta(seconds=seconds, microseconds=rng.randrange(1_000_000))

    def add(ts: dt.datetime, user: str | None, event: str) -> None:
        amount = round(rng.uniform(1, 100), 2) if rng.random() < 0.6 else None
        platform = rng.choice(["web", "ios", "android", None])
        plan = rng.choice(["free", "pro", None]) if rng.random() < 0.9 else "team"
        rows.append(Row(ts=ts, user=user, event=event, platform=platform, plan=plan, amount=amount))

    user_index = 0
    while len(rows) < n:
        user = f"u{user_index:03d}"
        user_index += 1
        signup = instant(FIRST, rng.randrange(DAYS * 86400))
        add(signup, user, "signup")
        if rng.random() < 0.1:  # a second sign-up later
            add(instant(signup, rng.randrange(1, 20 * 86400)), user, "signup")
        if rng.random() < 0.3:  # browsing before sign-up
            add(instant(signup, -rng.randrange(1, 3 * 86400)), user, "open")
        if rng.random() < 0.6:  # the funnel, in order, sometimes too slow
            created = instant(signup, rng.expovariate(1 / 20000))
            add(created, user, "create")
            if rng.random() < 0.6:
                add(instant(created, rng.expovariate(1 / 80000)), user, "invite")
        elif rng.random() < 0.3:  # out of order: invite before create
            add(instant(signup, 3600), user, "invite")
            add(instant(signup, 7200), user, "create")
        for _ in range(rng.randrange(0, 14)):  # later activity, decaying
            event = rng.choices(EVENTS[1:], weights=[6, 3, 1, 2])[0]
            add(instant(signup, rng.expovariate(1 / (6 * 86400))), user, event)
    for _ in range(n // 20):  # rows without a user
        add(instant(FIRST, rng.randrange(DAYS * 86400)), None, rng.choice(EVENTS))
    # rows right at midnights and DST edges (UTC instants near local midnights)
    for hour in (21, 22, 23, 0, 1, 2):
        for day in (dt.date(2025, 9, 30), dt.date(2025, 10, 25), dt.date(2025, 10, 26), dt.date(2025, 11, 2)):
            add(
                dt.datetime.combine(day, dt.time(hour, rng.randrange(60))),
                f"u{rng.randrange(user_index):03d}",
                "open",
            )
    rng.shuffle(rows)  # unsorted files
    return rows


CASES = [
    ({}, "day", None, None, None),
    ({"timezone": "Europe/Berlin"}, "day", "platform", dt.date(2025, 10, 20), dt.date(2025, 11, 2)),
    (
        {"timezone": "Europe/Berlin", "week_start": "sunday"},
        "week",
        "plan",
        dt.date(2025, 10, 1),
        dt.date(2025, 11, 5),
    ),
    ({"timezone": "America/New_York"}, "month", None, dt.date(2025, 9, 25), dt.date(2025, 11, 3)),
    ({"fiscal_year_start": 11}, "quarter", "platform", dt.date(2025, 10, 10), dt.date(2025, 11, 8)),
    ({"timezone": "Asia/Kolkata"}, "week", None, dt.date(2025, 10, 8), dt.date(2025, 10, 30)),
    ({"timezone": "Pacific/Auckland", "fiscal_year_start": 7}, "quarter", None, None, dt.date(2025, 10, 15)),
]


@pytest.mark.parametrize(("settings", "grain", "by", "start", "end"), CASES)
def test_every_type_matches_the_reference(
    tmp_path: Any,
    settings: dict[str, Any],
    grain: str,
    by: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> None:
    rows = generate(seed=len(str(settings)) + len(grain))
    project = make_project(tmp_path, rows, METRICS, settings)
    reference = Reference(rows, settings)
    first = min(reference.day(r.ts) for r in rows)
    last = max(reference.day(r.ts) for r in rows)
    ids = list(METRICS)
    got = compute_rows(project, ids, start, end, grain, by, counts=True)
    want = reference_rows(reference, METRICS, ids, start or first, end or last, grain, by, counts=True)
    assert any(k[0].endswith("#denominator") and v for k, v in want.items()), "no rate counted anything"
    assert_same(got, want)


@pytest.mark.parametrize(("fmt", "parts"), [("csv", 1), ("ndjson", 1), ("parquet", 3), ("csv", 2)])
def test_file_formats_and_globs_agree(tmp_path: Any, fmt: str, parts: int) -> None:
    rows = generate(seed=3, n=600)
    settings = {"timezone": "Europe/Berlin"}
    project = make_project(tmp_path, rows, METRICS, settings, fmt=fmt, parts=parts)
    reference = Reference(rows, settings)
    start, end = dt.date(2025, 10, 1), dt.date(2025, 10, 31)
    ids = list(METRICS)
    got = compute_rows(project, ids, start, end, "week", "platform")
    assert_same(got, reference_rows(reference, METRICS, ids, start, end, "week", "platform"))


SPANS = [
    ({}, None, dt.date(2025, 10, 1), dt.date(2025, 10, 20), dt.date(2025, 10, 31)),
    (
        {"timezone": "Europe/Berlin"},
        "platform",
        dt.date(2025, 10, 5),
        dt.date(2025, 10, 26),
        dt.date(2025, 11, 4),
    ),
    (
        {"timezone": "America/New_York"},
        "plan",
        dt.date(2025, 9, 22),
        dt.date(2025, 11, 2),
        dt.date(2025, 11, 2),
    ),
]


@pytest.mark.parametrize(("settings", "by", "start", "span_end", "end"), SPANS)
def test_single_span_requests_match_the_reference(
    tmp_path: Any, settings: dict[str, Any], by: str | None, start: dt.date, span_end: dt.date, end: dt.date
) -> None:
    """One period start .. span_end; returns and later funnel steps count up to end (OKR readings)."""
    rows = generate(seed=17 + len(settings))
    project = make_project(tmp_path, rows, METRICS, settings)
    reference = Reference(rows, settings)
    ids = list(METRICS)
    got = compute_rows(project, ids, start, end, "day", by, span_end=span_end, counts=True)
    want = reference_rows(reference, METRICS, ids, start, end, "day", by, span_end=span_end, counts=True)
    assert_same(got, want)


@pytest.mark.parametrize(("fmt", "case"), [("parquet", 1), ("parquet", 4), ("csv", 2), ("parquet", 6)])
def test_sets_of_users_match_the_reference(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, fmt: str, case: int
) -> None:
    """Beyond the memory budget, user-based outputs are computed per set of users and added up."""
    from metrics.engine import Engine, polars_backend
    from metrics.engine.request import MetricRequest

    settings, grain, by, start, end = CASES[case]
    rows = generate(seed=23 + case)
    project = make_project(tmp_path, rows, METRICS, settings, fmt=fmt)
    # a budget of a quarter of the rows' working memory (below the fixed share, half is usable)
    monkeypatch.setenv(
        "NORTHSTAR_MEMORY_BUDGET", str(2 * (len(rows) // 4) * polars_backend.USER_BYTES_PER_ROW)
    )
    plan = Engine(project).explain(MetricRequest(tuple(METRICS), start=start, end=end, grain=grain, by=by))
    sets = re.search(r"each of (\d+) sets of users", plan)
    assert sets is not None and int(sets.group(1)) >= 2, plan
    reference = Reference(rows, settings)
    first = min(reference.day(r.ts) for r in rows)
    last = max(reference.day(r.ts) for r in rows)
    ids = list(METRICS)
    got = compute_rows(project, ids, start, end, grain, by, counts=True)
    want = reference_rows(reference, METRICS, ids, start or first, end or last, grain, by, counts=True)
    assert_same(got, want)
