"""The engine's request handling: errors, default ranges, comparisons, explain, connectors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.base import connect
from metrics.engine import Engine, shift_months
from metrics.engine.request import MetricError, MetricRequest
from metrics.load import project_from_dicts
from tests.engine_fixtures import Row, make_project

D = dt.date
T = dt.datetime

ROWS = [
    Row(T(2025, 12, 20, 10), "u1", "signup", platform="web", amount=1.0),
    Row(T(2025, 12, 25, 10), "u1", "purchase", platform="web", amount=2.0),
    Row(T(2026, 1, 1, 10), "u2", "purchase", platform="ios", amount=3.0),
    Row(T(2026, 1, 2, 10), "u2", "purchase", platform="ios", amount=4.0),
    Row(T(2026, 1, 3, 10), "u1", "purchase", platform="web", amount=5.0),
    Row(T(2026, 1, 4, 10), "u3", "purchase", platform="android", amount=6.0),
]
METRICS: dict[str, Any] = {
    "purchases": {"type": "count", "source": "events", "filter": {"event": "purchase"}},
    "revenue": {"type": "sum", "source": "events", "column": "amount"},
    "avg_amount": {"type": "avg", "source": "events", "column": "amount"},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "per_user": {"type": "ratio", "numerator": "revenue", "denominator": "dau"},
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(make_project(tmp_path, ROWS, METRICS))


def values(frame: pl.DataFrame, metric: str) -> list[Any]:
    return frame.filter(pl.col("metric") == metric)["value"].to_list()


def test_default_range_is_the_data(engine: Engine) -> None:
    assert engine.data_range(["revenue"]) == (D(2025, 12, 20), D(2026, 1, 4))
    result = engine.compute(MetricRequest(("revenue",), grain="month"))
    assert (result.start, result.end) == (D(2025, 12, 20), D(2026, 1, 4))
    assert result.rows() == [
        {"metric": "revenue", "period": "2025-12-01", "value": 3.0},
        {"metric": "revenue", "period": "2026-01-01", "value": 18.0},
    ]
    only_start = engine.compute(MetricRequest(("revenue",), start=D(2026, 1, 3)))
    assert only_start.end == D(2026, 1, 4) and values(only_start.frame, "revenue") == [5.0, 6.0]


def test_frame_shape(engine: Engine) -> None:
    result = engine.compute(MetricRequest(("revenue", "per_user"), start=D(2026, 1, 1), end=D(2026, 1, 2)))
    counts = {"numerator": pl.Float64, "denominator": pl.Float64}  # what a rate is out of
    assert result.frame.schema == pl.Schema(
        {"metric": pl.String, "period": pl.Date, "value": pl.Float64, **counts}
    )
    assert result.frame["metric"].to_list() == ["revenue", "revenue", "per_user", "per_user"]
    assert result.rates == {"per_user"}
    rows = result.rows()
    assert "numerator" not in rows[0]  # not a rate
    for row in rows[2:]:  # a ratio's counts are its parts' values
        assert row["value"] == row["numerator"] / row["denominator"]
    by = engine.compute(MetricRequest(("revenue",), start=D(2026, 1, 1), end=D(2026, 1, 2), by="platform"))
    assert by.frame.columns == ["metric", "period", "platform", "value", *counts]
    assert by.rows()[0] == {"metric": "revenue", "period": "2026-01-01", "platform": "ios", "value": 3.0}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (MetricRequest(("revenu",)), "unknown metric 'revenu'; did you mean 'revenue'?"),
        (MetricRequest(()), "no metric requested"),
        (MetricRequest(("revenue",), start=D(2026, 1, 5), end=D(2026, 1, 1)), "starts on 2026-01-05 after"),
        (MetricRequest(("revenue",), by="platfrom"), "did you mean 'platform'?"),
        (MetricRequest(("revenue",), grain="yaer"), "unknown grain 'yaer'"),  # type: ignore[arg-type]
        (MetricRequest(("revenue",), compare="last_week"), "unknown comparison"),  # type: ignore[arg-type]
    ],
)
def test_bad_requests_raise_one_sentence(engine: Engine, request_: MetricRequest, message: str) -> None:
    with pytest.raises(MetricError) as caught:
        engine.compute(request_)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_breakdown_must_be_a_dimension_of_every_source_read(tmp_path: Path) -> None:
    project = make_project(tmp_path, ROWS, METRICS)
    (tmp_path / "data" / "other.parquet").write_bytes((tmp_path / "data" / "events.parquet").read_bytes())
    other = {
        "type": "parquet",
        "path": "data/other.parquet",
        "columns": {"timestamp": "ts", "user": "user_id"},
        "dimensions": ["plan"],
    }
    project = project_from_dicts(
        sources={**{k: v.model_dump() for k, v in project.sources.items()}, "other": other},
        metrics={
            **METRICS,
            "other_rows": {"type": "count", "source": "other"},
            "mixed": {"type": "ratio", "numerator": "revenue", "denominator": "other_rows"},
        },
        root=tmp_path,
    )
    engine = Engine(project)
    with pytest.raises(
        MetricError, match="'platform': metric 'mixed' reads source 'other', which has no such dimension"
    ):
        engine.compute(MetricRequest(("mixed",), by="platform"))
    got = engine.compute(MetricRequest(("mixed",), start=D(2026, 1, 1), end=D(2026, 1, 1)))
    assert values(got.frame, "mixed") == [3.0]  # revenue 3 over one row in the other source


def test_skipped_metrics_say_why(tmp_path: Path) -> None:
    project = make_project(tmp_path, ROWS, METRICS)
    project = dataclasses.replace(project, skipped={"churn": "its definition has errors"})
    with pytest.raises(MetricError, match="'churn' is not available because its definition has errors"):
        Engine(project).compute(MetricRequest(("churn",)))


def test_empty_data_needs_an_explicit_range(tmp_path: Path) -> None:
    project = make_project(tmp_path, [], METRICS)
    engine = Engine(project)
    with pytest.raises(MetricError, match="empty"):
        engine.compute(MetricRequest(("revenue",)))
    result = engine.compute(
        MetricRequest(("revenue", "avg_amount", "dau"), start=D(2026, 1, 1), end=D(2026, 1, 2))
    )
    assert values(result.frame, "revenue") == [0.0, 0.0]
    assert values(result.frame, "avg_amount") == [None, None]
    assert values(result.frame, "dau") == [0.0, 0.0]


def test_previous_period_comparison(engine: Engine) -> None:
    result = engine.compute(
        MetricRequest(
            ("purchases", "avg_amount"), start=D(2026, 1, 3), end=D(2026, 1, 4), compare="previous_period"
        )
    )
    assert result.comparison is not None
    rows = result.comparison.filter(pl.col("metric") == "purchases").to_dicts()
    assert rows == [
        {"metric": "purchases", "period": D(2026, 1, 3), "compared_period": D(2026, 1, 1), "value": 1.0},
        {"metric": "purchases", "period": D(2026, 1, 4), "compared_period": D(2026, 1, 2), "value": 1.0},
    ]
    month = engine.compute(
        MetricRequest(
            ("revenue",), start=D(2026, 1, 1), end=D(2026, 1, 31), grain="month", compare="previous_period"
        )
    )
    assert month.comparison is not None
    # December begins before the data (Dec 20): its 3.0 would read as a month's revenue, so it is blank
    assert month.comparison.to_dicts() == [
        {"metric": "revenue", "period": D(2026, 1, 1), "compared_period": D(2025, 12, 1), "value": None}
    ]


def test_previous_year_comparison_fills_by_type(engine: Engine) -> None:
    result = engine.compute(
        MetricRequest(
            ("revenue", "avg_amount"),
            start=D(2026, 1, 1),
            end=D(2026, 1, 14),
            grain="week",
            compare="previous_year",
        )
    )
    assert result.comparison is not None
    first = result.comparison.row(0, named=True)
    assert first["period"] == D(2025, 12, 29) and first["compared_period"] == D(2024, 12, 30)  # 52 weeks
    # a year before the data began: blank whatever the type, never a 0 that reads as "nothing happened"
    assert set(values(result.comparison, "revenue")) == {None}
    assert set(values(result.comparison, "avg_amount")) == {None}
    inside = engine.compute(
        MetricRequest(
            ("revenue", "avg_amount"), start=D(2025, 12, 27), end=D(2025, 12, 30), compare="previous_period"
        )
    )
    assert inside.comparison is not None  # Dec 23-26, after the data began: a sum fills 0, an average null
    assert values(inside.comparison, "revenue") == [0.0, 0.0, 2.0, 0.0]
    assert values(inside.comparison, "avg_amount") == [None, None, 2.0, None]


def test_comparison_with_breakdown_keeps_the_main_groups(engine: Engine) -> None:
    result = engine.compute(
        MetricRequest(
            ("purchases",), start=D(2026, 1, 3), end=D(2026, 1, 4), by="platform", compare="previous_period"
        )
    )
    assert result.comparison is not None
    got = {(r["period"], r["platform"]): r["value"] for r in result.comparison.to_dicts()}
    assert got == {
        (D(2026, 1, 3), "android"): 0.0,
        (D(2026, 1, 3), "web"): 0.0,
        (D(2026, 1, 4), "android"): 0.0,
        (D(2026, 1, 4), "web"): 0.0,
    }


@pytest.mark.parametrize(
    ("day", "months", "want"),
    [
        (D(2024, 3, 31), 1, D(2024, 2, 29)),
        (D(2024, 2, 29), 12, D(2023, 2, 28)),
        (D(2025, 3, 15), 1, D(2025, 2, 15)),
        (D(2025, 2, 28), 1, D(2025, 1, 31)),  # a month's last day maps to the last day
        (D(2026, 1, 10), 3, D(2025, 10, 10)),
    ],
)
def test_shift_months(day: dt.date, months: int, want: dt.date) -> None:
    assert shift_months(day, months) == want


def test_explain_shows_sources_metrics_window_and_plan(engine: Engine) -> None:
    text = engine.explain(MetricRequest(("per_user", "purchases"), start=D(2026, 1, 1), end=D(2026, 1, 4)))
    assert "range 2026-01-01 .. 2026-01-04, grain day" in text
    assert "per_user: revenue / dau" in text
    assert "source events (PolarsBackend): dau, purchases, revenue" in text
    assert "Parquet SCAN" in text and "active users" in text
    assert text.count("Parquet SCAN") == 1  # one scan feeds every output of the source


def test_injected_connectors_and_clock(tmp_path: Path) -> None:
    project = make_project(tmp_path, ROWS, METRICS)
    connector = connect("events", project.sources["events"], project.root)
    engine = Engine(project, connectors={"events": connector}, today=lambda: D(2030, 1, 1))
    assert engine.connector("events") is connector
    assert engine.today() == D(2030, 1, 1)
    with pytest.raises(MetricError, match="unknown source 'event'; did you mean 'events'"):
        engine.connector("event")


def test_large_sources_are_computed_per_set_of_users_with_the_same_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.engine import polars_backend

    metrics = {
        **METRICS,
        "p50": {"type": "percentile", "source": "events", "column": "amount", "percentile": 0.5},
        "users": {"type": "count_distinct", "source": "events"},
        "d1": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
        "buy": {"type": "funnel", "source": "events", "steps": ["signup", "purchase"], "within": 30},
    }
    engine = Engine(make_project(tmp_path, ROWS, metrics))
    request = MetricRequest(tuple(metrics), grain="week", by="platform")
    once = engine.compute(request).frame
    # a budget of 3 rows' working memory (below the fixed share, half of a budget is usable)
    per_row = polars_backend.USER_BYTES_PER_ROW + polars_backend.PERCENTILE_BYTES_PER_ROW
    monkeypatch.setenv("NORTHSTAR_MEMORY_BUDGET", str(2 * 3 * per_row))
    explained = engine.explain(request)
    assert f"each of {-(-len(ROWS) // 3)} sets of users" in explained
    assert engine.compute(request).frame.equals(once)
    assert values(once, "buy") != [None] * len(values(once, "buy"))


def test_previous_year_by_day_keeps_calendar_dates(tmp_path: Path) -> None:
    rows = [Row(T(2024, 2, 28, 12), "u1", "purchase"), Row(T(2024, 2, 29, 12), "u1", "purchase")]
    engine = Engine(make_project(tmp_path, rows, METRICS))
    result = engine.compute(
        MetricRequest(("purchases",), start=D(2025, 2, 27), end=D(2025, 3, 1), compare="previous_year")
    )
    assert result.comparison is not None
    got = [(r["period"], r["compared_period"], r["value"]) for r in result.comparison.to_dicts()]
    assert got == [
        (D(2025, 2, 27), D(2024, 2, 27), None),  # the day before the data began: blank, not 0
        (D(2025, 2, 28), D(2024, 2, 28), 1.0),
        (D(2025, 3, 1), D(2024, 3, 1), 0.0),
    ]
    leap = engine.compute(
        MetricRequest(("purchases",), start=D(2028, 2, 29), end=D(2028, 2, 29), compare="previous_year")
    )
    assert leap.comparison is not None
    assert leap.comparison.row(0, named=True)["compared_period"] == D(2027, 2, 28)


def test_a_metric_of_an_unreadable_metrics_yaml_says_the_file_could_not_be_read(tmp_path: Path) -> None:
    """Not "unknown metric": the metric may well be defined, in a file with a syntax error."""
    from metrics.load import load_project

    (tmp_path / "sources.yaml").write_text("sources: {}\n")
    (tmp_path / "metrics.yaml").write_text("metrics:\n  signups: {type: count, source: events\n  dau: [\n")
    engine = Engine(load_project(tmp_path, check_data=False))
    with pytest.raises(
        MetricError,
        match=r"'signups' is not available: metrics.yaml could not be read \(.*metrics.yaml:\d+:\d+: YAML syntax error",
    ):
        engine.compute(MetricRequest(("signups",), start=D(2026, 1, 1), end=D(2026, 1, 2)))


def test_a_range_outside_the_computed_years_is_one_sentence_not_an_overflow() -> None:
    """The engine's own bound (every surface's requests pass check_range), not only the CLI's flags."""
    from metrics.definitions.models import FIRST_DAY, LAST_DAY
    from metrics.engine.request import check_range

    check_range(FIRST_DAY, LAST_DAY.replace(year=FIRST_DAY.year + 40))  # inside: no error
    for start, end in [
        (dt.date(9999, 12, 30), dt.date(9999, 12, 31)),
        (dt.date(1, 1, 1), dt.date(1, 1, 5)),
        (LAST_DAY, LAST_DAY + dt.timedelta(days=1)),
    ]:
        with pytest.raises(MetricError, match="outside the years Northstar computes"):
            check_range(start, end)
