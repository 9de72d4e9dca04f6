"""The demo on a database: `load_demo` copies the demo events into a table, and the shipped metrics
computed on that table give the same numbers as on the parquet file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML

from connectors.base import ConnectorError
from connectors.sql import dispose_engines
from metrics.demo.generate import generate_demo
from metrics.demo.sql import load_demo
from metrics.load import project_from_dicts
from tests.conftest import ROOT
from tests.engine_fixtures import assert_same, compute_rows
from tests.sql_fixtures import DATABASES, database_url, drop_table, table_rows, unique_table

END = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    return generate_demo(folder, events=15_000, seed=3, end=END).path


def shipped() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    yaml = YAML(typ="safe")
    metrics = yaml.load((ROOT / "config" / "metrics.yaml").read_text())["metrics"]
    settings = yaml.load((ROOT / "config" / "project.yaml").read_text())
    files = yaml.load((ROOT / "config" / "sources.yaml").read_text())["sources"]["events"]
    source = {"columns": files["columns"], "dimensions": files["dimensions"]}
    return metrics, settings, source


@pytest.fixture(scope="module", params=DATABASES)
def loaded(
    request: pytest.FixtureRequest, demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    url = database_url(request.param, tmp_path_factory.mktemp(request.param))
    table = unique_table("demo")
    rows = load_demo(demo, url, table, chunk_rows=4_000)
    assert rows == pl.scan_parquet(demo).select(pl.len()).collect().item()
    assert table_rows(url, table) == rows
    yield url, table
    drop_table(url, table)
    dispose_engines()


@pytest.mark.parametrize(("grain", "by"), [("day", None), ("month", "platform")])
def test_the_shipped_metrics_give_the_same_numbers_on_a_database(
    loaded: tuple[str, str], demo: Path, grain: str, by: str | None
) -> None:
    url, table = loaded
    metrics, settings, source = shipped()
    on_files = project_from_dicts(
        sources={"events": {"type": "parquet", "path": demo.name, **source}},
        metrics=metrics,
        settings=settings,
        root=demo.parent,
    )
    on_database = project_from_dicts(
        sources={"events": {"type": "sql", "url": url, "table": table, **source}},
        metrics=metrics,
        settings=settings,
    )
    ids = list(metrics)
    start = END - dt.timedelta(days=120)
    want = compute_rows(on_files, ids, start, END, grain, by, counts=True)
    got = compute_rows(on_database, ids, start, END, grain, by, counts=True)
    assert sum(1 for v in want.values() if v) > 100
    assert_same(got, want)


def test_the_loader_replaces_the_table(demo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    assert load_demo(demo, url, "events") == load_demo(demo, url, "events") == table_rows(url, "events")


def test_the_loader_needs_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="northstar demo"):
        load_demo(tmp_path / "missing.parquet", f"sqlite:///{tmp_path / 'x.db'}")
