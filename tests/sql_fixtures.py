"""Helpers for the SQL tests: real databases, unique tables that are dropped after, and projects.

The tests write their fixtures through `metrics.demo_sql.load_demo` (the loader is under test too);
Northstar's own sessions stay read-only. Every table name is unique per run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from connectors.sql import dispose_engines
from metrics.definitions.project import Project
from metrics.demo.sql import load_demo
from metrics.load import project_from_dicts
from tests.conftest import MARIADB_URL, POSTGRES_URL, require_service
from tests.engine_fixtures import Row, frame_of

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]
SOURCE_BASE: dict[str, Any] = {
    "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    "dimensions": ["platform", "plan"],
}


def unique_table(stem: str = "ns") -> str:
    return f"{stem}_{uuid.uuid4().hex[:10]}"


def database_url(kind: str, folder: Path) -> str:
    """A URL for `kind`; skips (or fails in CI) when a service is down."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'events.db'}"
    if kind == "duckdb":
        return f"duckdb:///{folder / 'events.duckdb'}"
    if kind == "postgres":
        require_service("postgres")
        return POSTGRES_URL
    require_service("mariadb")
    return MARIADB_URL


def drop_table(url: str, table: str) -> None:
    dispose_engines()  # release read-only handles (DuckDB files) before writing
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()


def table_rows(url: str, table: str) -> int:
    dispose_engines()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def write_parquet(rows: Sequence[Row], path: Path, *, aware: bool = False) -> Path:
    frame = frame_of(rows)
    if aware:
        frame = frame.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    return path


def load_rows(rows: Sequence[Row], url: str, table: str, folder: Path, *, aware: bool = False) -> Path:
    """Write the rows to parquet (the Polars engine's copy) and load the same rows into the table."""
    parquet = write_parquet(rows, folder / f"{table}.parquet", aware=aware)
    load_demo(parquet, url, table, chunk_rows=500)
    return parquet


def sql_project(
    url: str,
    metrics: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    root: Path | str = ".",
    extra: Mapping[str, Any] | None = None,
) -> Project:
    source: dict[str, Any] = {"type": "sql", "url": url, **SOURCE_BASE, **(extra or {})}
    if table is not None:
        source["table"] = table
    if query is not None:
        source["query"] = query
    return project_from_dicts(sources={"events": source}, metrics=metrics, settings=settings or {}, root=root)


def parquet_project(
    parquet: Path, metrics: Mapping[str, Any], settings: Mapping[str, Any] | None = None
) -> Project:
    source = {"type": "parquet", "path": parquet.name, **SOURCE_BASE}
    return project_from_dicts(
        sources={"events": source}, metrics=metrics, settings=settings or {}, root=parquet.parent
    )


class LoadedTable:
    """A table of rows in one database, with its parquet twin; dropped when the test module ends."""

    def __init__(self, kind: str, folder: Path, rows: Sequence[Row], *, aware: bool = False) -> None:
        self.kind = kind
        self.url = database_url(kind, folder)
        self.table = unique_table()
        self.parquet = load_rows(rows, self.url, self.table, folder, aware=aware)

    def close(self) -> None:
        drop_table(self.url, self.table)
        dispose_engines()


def loaded(kind: str, folder: Path, rows: Sequence[Row], *, aware: bool = False) -> Iterator[LoadedTable]:
    table = LoadedTable(kind, folder, rows, aware=aware)
    try:
        yield table
    finally:
        table.close()
