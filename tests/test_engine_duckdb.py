"""The demo metric pack on demo data: Northstar against hand-written DuckDB SQL and pandas.

The benchmark's peers (benchmarks/bench_engine.py) are a second and third implementation of the
pack; here they run on a small demo data set and must give the same numbers as the engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from benchmarks.bench_engine import PACK, duckdb_pack, largest_difference, northstar_pack, pandas_pack
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

    monkeypatch.setattr(polars_backend, "ROWS_PER_PASS", 15_000)
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
