"""Properties that hold on any data (hypothesis): DAU <= WAU <= MAU, ratios, additive breakdowns, rates."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.engine.request import MetricRequest
from tests.engine_fixtures import Row, memory_engine

FIRST = dt.datetime(2026, 3, 20)
METRICS: dict[str, Any] = {
    "rows": {"type": "count", "source": "events"},
    "revenue": {"type": "sum", "source": "events", "column": "amount"},
    "users": {"type": "count_distinct", "source": "events"},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "wau": {"type": "active_users", "source": "events", "window": 7},
    "mau": {"type": "active_users", "source": "events", "window": 28},
    "per_user": {"type": "ratio", "numerator": "revenue", "denominator": "users"},
    "stickiness": {"type": "ratio", "numerator": "dau", "denominator": "mau"},
    "d1": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    "w1": {"type": "retention", "source": "events", "cohort_event": "signup", "period": "week", "offset": 1},
    "funnel": {"type": "funnel", "source": "events", "steps": ["signup", "open", "buy"], "within": 2},
    "funnel_any": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "open", "buy"],
        "within": 2,
        "order": "any",
    },
    "buy": {"type": "funnel", "source": "events", "steps": ["signup", "buy"], "within": 2},
    "buy_no_open": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "buy"],
        "within": 2,
        "exclude": ["open"],
    },
}

rows_strategy = st.lists(
    st.builds(
        Row,
        ts=st.integers(0, 40 * 86400 - 1).map(lambda s: FIRST + dt.timedelta(seconds=s)),
        user=st.one_of(st.none(), st.sampled_from([f"u{i}" for i in range(8)])),
        event=st.sampled_from(["signup", "open", "buy"]),
        platform=st.sampled_from(["web", "ios", None]),
        plan=st.just("free"),
        amount=st.one_of(st.none(), st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2))),
    ),
    min_size=0,
    max_size=60,
)
grains = st.sampled_from(["day", "week", "month"])
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"])
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START, END = dt.date(2026, 3, 25), dt.date(2026, 4, 24)


def table(rows: list[Row], grain: str, zone: str, by: str | None = None) -> dict[tuple[str, Any, Any], Any]:
    engine = memory_engine(rows, METRICS, {"timezone": zone})
    result = engine.compute(MetricRequest(tuple(METRICS), start=START, end=END, grain=grain, by=by))  # type: ignore[arg-type]
    return {
        (r["metric"], r["period"], r[by] if by else None): r["value"]
        for r in result.frame.iter_rows(named=True)
    }


@PROPERTY
@given(rows=rows_strategy, grain=grains, zone=zones)
def test_dau_wau_mau_are_ordered(rows: list[Row], grain: str, zone: str) -> None:
    values = table(rows, grain, zone)
    periods = {k[1] for k in values}
    for period in periods:
        dau, wau, mau = (values[(m, period, None)] for m in ("dau", "wau", "mau"))
        assert 0 <= dau <= wau <= mau


@PROPERTY
@given(rows=rows_strategy, grain=grains, zone=zones)
def test_ratio_equals_its_parts_divided(rows: list[Row], grain: str, zone: str) -> None:
    values = table(rows, grain, zone)
    for (metric, period, group), value in values.items():
        if metric not in ("per_user", "stickiness"):
            continue
        num, den = ("revenue", "users") if metric == "per_user" else ("dau", "mau")
        a, b = values[(num, period, group)], values[(den, period, group)]
        if b == 0:
            assert value is None
        else:
            assert value is not None and math.isclose(value, a / b, rel_tol=1e-12)


@PROPERTY
@given(rows=rows_strategy, grain=grains, zone=zones)
def test_breakdown_parts_of_count_and_sum_add_up(rows: list[Row], grain: str, zone: str) -> None:
    total = table(rows, grain, zone)
    split = table(rows, grain, zone, by="platform")
    for metric in ("rows", "revenue"):
        for (name, period, _), value in total.items():
            if name != metric:
                continue
            parts = sum(v for (m, p, _), v in split.items() if m == metric and p == period)
            assert math.isclose(parts, value, rel_tol=1e-9, abs_tol=1e-6)


@PROPERTY
@given(rows=rows_strategy, grain=grains, zone=zones, by=st.sampled_from([None, "platform"]))
def test_rates_stay_within_zero_and_one(rows: list[Row], grain: str, zone: str, by: str | None) -> None:
    values = table(rows, grain, zone, by)
    for (metric, _, _), value in values.items():
        if metric in ("d1", "w1", "funnel", "funnel_any", "buy", "buy_no_open") and value is not None:
            assert 0.0 <= value <= 1.0


@PROPERTY
@given(rows=rows_strategy, grain=grains, zone=zones, by=st.sampled_from([None, "platform"]))
def test_funnel_order_and_exclusions_only_widen_or_narrow(
    rows: list[Row], grain: str, zone: str, by: str | None
) -> None:
    """Same entrants; a conversion in order is one in any order; an exclusion only removes some."""
    values = table(rows, grain, zone, by)
    for (metric, period, group), value in values.items():
        for narrow, wide in (("funnel", "funnel_any"), ("buy_no_open", "buy")):
            if metric == narrow:
                other = values[(wide, period, group)]
                assert (value is None) == (other is None)
                assert value is None or other is None or value <= other


def test_the_property_data_is_not_trivial() -> None:
    rows = [
        Row(FIRST + dt.timedelta(days=6, hours=2), "u1", "signup", platform="web", amount=3.0),
        Row(FIRST + dt.timedelta(days=7, hours=2), "u1", "open", platform="ios", amount=None),
    ]
    values = table(rows, "day", "UTC")
    assert values[("d1", dt.date(2026, 3, 26), None)] == 1.0
    assert values[("wau", dt.date(2026, 3, 27), None)] == 1.0
    assert pl.Series([v for k, v in values.items() if k[0] == "rows"]).sum() == 2
