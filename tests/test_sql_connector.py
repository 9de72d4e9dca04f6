"""The SQL connector: schema by reflection (never rows), validation layer (c), fingerprints,
data ranges, URL handling, and SQLite's text timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

import connectors.sql as sql_module
from connectors.base import SqlConnector, connect
from connectors.models import FileSource, SqlSource
from connectors.sql import SqlAlchemyConnector, dispose_engines, masked
from metrics.definitions.calendar import Calendar
from metrics.engine import Engine
from metrics.engine.polars_backend import PolarsBackend
from metrics.engine.request import MetricRequest
from metrics.engine.sql_backend import SqlBackend
from metrics.validation import check_data
from tests.engine_fixtures import Row
from tests.sql_fixtures import DATABASES, LoadedTable, drop_table, sql_project, unique_table

ROWS = [
    Row(
        dt.datetime(2026, 3, 1, 23, 30) + dt.timedelta(hours=7 * i),
        f"u{i % 4}",
        "open",
        "web",
        "pro",
        i * 1.5,
    )
    for i in range(12)
]


@pytest.fixture(params=DATABASES)
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoadedTable]:
    loaded = LoadedTable(request.param, tmp_path, ROWS)
    yield loaded
    loaded.close()


def source(url: str, **fields: Any) -> SqlSource:
    return SqlSource.model_validate(
        {
            "type": "sql",
            "url": url,
            "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
            **fields,
        }
    )


WANT_KINDS = {
    "ts": "timestamp",
    "user_id": "string",
    "event": "string",
    "platform": "string",
    "plan": "string",
    "amount": "float",
}


def test_schema_of_a_table_and_of_a_query(table: LoadedTable) -> None:
    connector = connect("events", source(table.url, table=table.table), Path("."))
    assert isinstance(connector, SqlConnector)
    assert connector.schema() == WANT_KINDS
    query = f"SELECT ts, user_id, event, amount, amount * 2 AS doubled FROM {table.table}"
    by_query = connect("events", source(table.url, query=query), Path("."))
    kinds = by_query.schema()
    assert {k: kinds[k] for k in ("ts", "user_id", "event", "amount")} == {
        k: WANT_KINDS[k] for k in ("ts", "user_id", "event", "amount")
    }
    if table.kind != "sqlite":  # SQLite declares no type for computed columns
        assert kinds["doubled"] == "float"


def test_booleans_and_integers_are_recognised(table: LoadedTable, tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"ts": [dt.datetime(2026, 1, 1)], "flag": [True], "n": [3]},
        schema={"ts": pl.Datetime("us"), "flag": pl.Boolean, "n": pl.Int64},
    )
    frame.write_parquet(tmp_path / "typed.parquet")
    from metrics.demo.sql import load_demo

    name = unique_table()
    load_demo(tmp_path / "typed.parquet", table.url, name)
    try:
        kinds = SqlAlchemyConnector("typed", source(table.url, table=name), Path(".")).schema()
        assert kinds == {"ts": "timestamp", "flag": "boolean", "n": "integer"}
    finally:
        drop_table(table.url, name)


def test_validation_reads_the_schema_of_sql_sources(table: LoadedTable) -> None:
    metrics = {
        "revenue": {"type": "sum", "source": "events", "column": "amont"},
        "users": {"type": "count_distinct", "source": "events"},
    }
    project = sql_project(table.url, metrics, table=table.table, extra={"dimensions": ["platform", "planz"]})
    messages = sorted(p.message + " " + (p.hint or "") for p in check_data(project))
    assert len(messages) == 2
    assert "column 'amont' is not in source 'events'" in messages[0] and "'amount'" in messages[0]
    assert "dimension 'planz'" in messages[1] and "'plan'" in messages[1]


def test_data_range_matches_the_polars_backend(table: LoadedTable) -> None:
    calendar = Calendar("America/New_York")
    config = source(table.url, table=table.table)
    got = SqlBackend().data_range("events", config, connect("events", config, Path(".")), calendar)
    files = FileSource.model_validate(
        {"type": "parquet", "path": str(table.parquet), "columns": {"timestamp": "ts"}}
    )
    want = PolarsBackend().data_range("events", files, connect("events", files, Path(".")), calendar)
    assert got == want == (dt.date(2026, 3, 1), dt.date(2026, 3, 4))


@pytest.mark.parametrize("kind", [DATABASES[0], DATABASES[2]])
def test_fingerprint_changes_when_rows_arrive(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_module, "FINGERPRINT_TTL_SECONDS", 0.0)
    loaded = LoadedTable(kind, tmp_path, ROWS)
    try:
        connector = SqlAlchemyConnector("events", source(loaded.url, table=loaded.table), Path("."))
        before = connector.fingerprint()
        assert connector.fingerprint() == before
        writer = sa.create_engine(loaded.url)
        with writer.begin() as connection:
            connection.execute(
                sa.text(f"INSERT INTO {loaded.table} (ts, user_id, event) VALUES (:ts, 'u9', 'open')"),
                {"ts": dt.datetime(2026, 3, 9)},
            )
        writer.dispose()
        assert connector.fingerprint() != before
    finally:
        loaded.close()


def test_relative_sqlite_paths_start_at_the_config_folder(tmp_path: Path) -> None:
    loaded = LoadedTable("sqlite", tmp_path, ROWS)
    try:
        project = sql_project(
            "sqlite:///events.db",
            {"rows": {"type": "count", "source": "events"}},
            table=loaded.table,
            root=tmp_path,
        )
        result = Engine(project).compute(MetricRequest(("rows",), grain="month"))
        assert result.frame["value"].to_list() == [12.0]
    finally:
        loaded.close()


def test_sqlite_text_timestamps_in_any_iso_form(tmp_path: Path) -> None:
    """ISO text with 'T', 'Z' or an offset is read as the instant it names (SQLite has no zones)."""
    path = tmp_path / "iso.db"
    writer = sa.create_engine(f"sqlite:///{path}")
    with writer.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE ev (ts DATETIME, user_id TEXT, event TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO ev VALUES ('2026-03-01T23:30:00Z', 'a', 'open'), "
            "('2026-03-02 00:30:00+01:00', 'b', 'open'), ('2026-03-02 00:00:00', 'c', 'open'), "
            "('2026-03-02T22:59:59.999', 'd', 'open'), ('2026-03-02T23:00:00', 'e', 'open')"
        )
    writer.dispose()
    metrics = {"rows": {"type": "count", "source": "events"}}
    extra = {"dimensions": []}
    project = sql_project(
        f"sqlite:///{path}", metrics, {"timezone": "Europe/Berlin"}, table="ev", extra=extra
    )
    frame = Engine(project).compute(MetricRequest(("rows",))).frame
    # Berlin is UTC+1 in March: a, b and c fall on 2026-03-02 local, d on the 2nd, e on the 3rd.
    assert dict(zip(frame["period"].to_list(), frame["value"].to_list(), strict=True)) == {
        dt.date(2026, 3, 2): 4.0,
        dt.date(2026, 3, 3): 1.0,
    }
    dispose_engines()


def test_explain_shows_bound_parameters_and_no_password(tmp_path: Path) -> None:
    loaded = LoadedTable("sqlite", tmp_path, ROWS)
    try:
        metrics = {"opens": {"type": "count", "source": "events", "filter": {"event": "open"}}}
        project = sql_project(loaded.url, metrics, table=loaded.table)
        text = Engine(project).explain(
            MetricRequest(("opens",), start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 2))
        )
        assert "SELECT" in text and "?" in text and "'open'" not in text
    finally:
        loaded.close()


def test_masked_urls() -> None:
    assert masked("postgresql+psycopg://bob:hunter2@db:5432/x") == "postgresql+psycopg://bob:***@db:5432/x"
    # A URL SQLAlchemy cannot parse is still shown (the typo is the point), with its secrets masked.
    assert masked("postgresql+psycopg//bob:hunter2@db/x") == "postgresql+psycopg//bob:***@db/x"
