"""The demo metric pack on demo data: Northstar against hand-written DuckDB SQL and pandas.

The benchmark's peers (benchmarks/bench_engine.py) are a second and third implementation of the
pack; here they run on a small demo data set and must give the same numbers as the engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from benchmarks.bench_engine import (
    PACK,
    duckdb_pack,
    duckdb_sql,
    largest_difference,
    northstar_pack,
    pandas_pack,
)
from metrics.demo.generate import generate_demo
from metrics.load import load_project
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    return generate_demo(folder, events=40_000, seed=11, end=dt.date(2026, 3, 31)).path


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_pack_agrees_with_duckdb(demo: Path, zone: str) -> None:
    start, end = dt.date(2025, 6, 1), dt.date(2026, 3, 31)
    ours = northstar_pack(demo, zone, start, end)
    theirs = duckdb_pack(demo, zone, start, end)
    assert ours.height == theirs.height == len(PACK) * ((end - start).days + 1)
    assert largest_difference(ours, theirs) < 1e-12
    # the comparison is not vacuous: every metric has values, and the rates are not all 0 or 1
    for metric in ("d1_retention", "d7_retention", "activation", "p90_page_load", "mau", "arppu"):
        values = ours.filter((pl.col("metric") == metric) & pl.col("value").is_not_null())["value"]
        assert values.n_unique() > 2, metric


def test_pack_in_sets_of_users_agrees_with_duckdb(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large sources are computed per set of users (about 3 here) and added up: same numbers."""
    from metrics.engine import polars_backend

    per_row = polars_backend.USER_BYTES_PER_ROW + polars_backend.PERCENTILE_BYTES_PER_ROW
    monkeypatch.setenv("NORTHSTAR_MEMORY_BUDGET", str(2 * 15_000 * per_row))  # 15,000 rows a pass
    start, end = dt.date(2025, 9, 1), dt.date(2026, 3, 31)
    ours = northstar_pack(demo, "Europe/Berlin", start, end)
    assert largest_difference(ours, duckdb_pack(demo, "Europe/Berlin", start, end)) < 1e-12


def test_pack_agrees_with_pandas(demo: Path) -> None:
    start, end = dt.date(2025, 10, 1), dt.date(2026, 3, 31)
    ours = northstar_pack(demo, "Europe/Berlin", start, end)
    assert largest_difference(ours, pandas_pack(demo, "Europe/Berlin", start, end)) < 1e-12


def test_the_benchmark_pack_is_the_shipped_pack() -> None:
    from pydantic import TypeAdapter

    from metrics.definitions.models import MetricDef

    meta = {"label", "description", "owner", "unit", "direction"}
    adapter: TypeAdapter[MetricDef] = TypeAdapter(MetricDef)
    shipped = load_project(ROOT / "config", check_data=False).metrics
    assert set(shipped) == set(PACK)
    for metric_id, definition in PACK.items():
        ours = adapter.validate_python(definition).model_dump(exclude=meta)
        assert shipped[metric_id].model_dump(exclude=meta) == ours, metric_id


def test_rate_counts_agree_with_duckdb(demo: Path) -> None:
    """A rate's numerator and denominator (CONTRACT.md, Sample sizes) are the hand-written query's
    counts: retained users and cohort, converted users and entrants, and a ratio's parts."""
    import duckdb

    zone, start, end = "Europe/Berlin", dt.date(2025, 10, 1), dt.date(2026, 3, 31)
    # the benchmark's query up to its last step, then its counts instead of its values
    ctes = duckdb_sql(demo, zone, start, end).rsplit("SELECT * FROM typed", 1)[0]
    counts = f"""{ctes}
SELECT days.day AS period,
       CASE WHEN days.day + 7 <= DATE '{end}' OR retention.size IS NULL THEN coalesce(retention.r7, 0)
       END AS d7_num,
       coalesce(retention.size, 0) AS d7_den,
       coalesce(funnel.converted, 0) AS act_num, coalesce(funnel.entrants, 0) AS act_den,
       coalesce(sessions.dau, 0) AS st_num, coalesce(sessions.mau, 0) AS st_den
FROM days LEFT JOIN retention USING (day) LEFT JOIN funnel USING (day) LEFT JOIN sessions USING (day)
"""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.sql(counts).fetchall()
    theirs = {}
    for period, *values in rows:
        for (metric, part), value in zip(
            [
                (m, p)
                for m in ("d7_retention", "activation", "stickiness")
                for p in ("numerator", "denominator")
            ],
            values,
            strict=True,
        ):
            theirs[(metric, part, period)] = None if value is None else float(value)
    frame = northstar_pack(demo, zone, start, end)
    ours = {
        (row["metric"], part, row["period"]): row[part]
        for row in frame.filter(
            pl.col("metric").is_in(["d7_retention", "activation", "stickiness"])
        ).iter_rows(named=True)
        for part in ("numerator", "denominator")
    }
    assert ours == theirs
    assert sum(v or 0 for (m, p, _), v in ours.items() if m == "activation" and p == "denominator") > 100
