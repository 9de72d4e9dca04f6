"""Safety of SQL sources: read-only sessions, bound values, quoted identifiers, timeouts, masked
passwords, one clear error when a database is down, and recovery when it is back."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from connectors.base import ConnectorError, connect
from connectors.models import SqlSource
from connectors.sql import SqlAlchemyConnector, dispose_engines
from metrics.definitions.calendar import Calendar
from metrics.engine import Engine
from metrics.engine.request import MetricError, MetricRequest
from metrics.engine.sql_backend import SqlBackend
from metrics.load import load_project, project_from_dicts
from metrics.validation import check_data
from tests.conftest import ROOT
from tests.engine_fixtures import Row, compute_rows
from tests.sql_fixtures import (
    DATABASES,
    SOURCE_BASE,
    LoadedTable,
    drop_table,
    sql_project,
    table_rows,
    unique_table,
    write_parquet,
)

DAY = dt.datetime(2026, 3, 2, 12)
ROWS = [
    Row(
        DAY + dt.timedelta(hours=i),
        f"u{i % 5}",
        "signup" if i % 3 == 0 else "open",
        "web" if i % 2 else "ios",
    )
    for i in range(30)
]
EVIL = "x'; DROP TABLE events; --"
PASSWORD = "s3cret-pw"
METRICS: dict[str, Any] = {
    "rows": {"type": "count", "source": "events"},
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "evil": {"type": "count", "source": "events", "filter": {"platform": EVIL}},
    "evil_or_signup": {"type": "count", "source": "events", "filter": {"event": [EVIL, "signup"]}},
    "evil_users": {"type": "active_users", "source": "events", "window": 7, "filter": {"event": EVIL}},
}


def source(url: str, **fields: Any) -> SqlSource:
    return SqlSource.model_validate(
        {
            "type": "sql",
            "url": url,
            "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
            **fields,
        }
    )


@pytest.fixture(params=DATABASES)
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoadedTable]:
    loaded = LoadedTable(request.param, tmp_path, ROWS)
    yield loaded
    loaded.close()


def test_writes_through_the_session_are_refused(table: LoadedTable) -> None:
    connector = SqlAlchemyConnector("events", source(table.url, table=table.table), Path("."))
    for statement in (f"DELETE FROM {table.table}", f"UPDATE {table.table} SET event = 'x'"):
        with pytest.raises(ConnectorError, match="read-only"):
            connector.execute(sa.text(statement))
    assert table_rows(table.url, table.table) == len(ROWS)


# Each would change the table if it reached the database as written.
HOSTILE_QUERIES = {
    "break out of the subquery": "SELECT * FROM {t}) x; COMMIT; BEGIN READ WRITE; DROP TABLE {t}; COMMIT; "
    "SELECT * FROM (SELECT * FROM {t}",
    "two statements": "SELECT * FROM {t}; DROP TABLE {t}",
    "a DELETE": "DELETE FROM {t} RETURNING *",
    "a DELETE in a CTE": "WITH gone AS (DELETE FROM {t} RETURNING *) SELECT * FROM gone",
    "SELECT INTO": "SELECT * INTO copy_of_events FROM {t}",
}


def _query_project(folder: Path, url: str, query: str) -> Path:
    """A project folder whose one source is `query:` (JSON is YAML: one value per line here)."""
    folder.mkdir()
    source = {"type": "sql", "url": url, "query": query, **SOURCE_BASE}
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}, indent=1))
    (folder / "metrics.yaml").write_text(json.dumps({"metrics": {"rows": METRICS["rows"]}}))
    return folder


@pytest.mark.parametrize("hostile", list(HOSTILE_QUERIES))
def test_a_query_source_is_one_select_or_a_located_error(
    table: LoadedTable, hostile: str, tmp_path: Path
) -> None:
    query = HOSTILE_QUERIES[hostile].format(t=table.table)
    folder = _query_project(tmp_path / "project", table.url, query)
    lines = (folder / "sources.yaml").read_text().splitlines()
    query_line = next(n for n, line in enumerate(lines, 1) if '"query":' in line)
    project = load_project(folder)
    refused = [p for p in project.problems if "`query:`" in p.message]
    assert len(refused) == 1 and "SELECT" in refused[0].message, [str(p) for p in project.problems]
    assert refused[0].location is not None and refused[0].location.file.endswith("sources.yaml")
    assert refused[0].location.line == query_line
    assert "events" not in project.sources
    assert table_rows(table.url, table.table) == len(ROWS)


@pytest.mark.parametrize("hostile", ["break out of the subquery", "two statements", "a DELETE"])
def test_the_database_refuses_what_gets_past_the_check(
    table: LoadedTable, hostile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the SELECT check bypassed, one statement per request (PostgreSQL: every statement is
    prepared, so multiple commands are refused; SQLite and MariaDB's drivers run one) and the
    read-only session still keep the table."""
    import connectors.sql

    monkeypatch.setattr(connectors.sql, "single_select", lambda query, backend: query.strip())
    query = HOSTILE_QUERIES[hostile].format(t=table.table)
    config = SqlSource.model_construct(
        **{**source(table.url, table=table.table).__dict__, "table": None, "query": query}
    )
    with pytest.raises(ConnectorError):
        SqlAlchemyConnector("events", config, Path(".")).schema()
    assert table_rows(table.url, table.table) == len(ROWS)


@pytest.mark.postgres
def test_validate_never_runs_a_second_statement_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    """The probe's reproducer: `northstar validate` on a `query:` that commits, opens a read-write
    transaction and drops the table."""
    table = LoadedTable("postgres", tmp_path, ROWS)
    try:
        query = HOSTILE_QUERIES["break out of the subquery"].format(t=table.table)
        config = _query_project(tmp_path / "project", postgres_url, query)
        run = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "validate", "--config", str(config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert run.returncode == 1 and "Traceback" not in run.stderr
        assert "sources.yaml:6:" in run.stdout and "`query:`" in run.stdout, run.stdout + run.stderr
        assert table_rows(table.url, table.table) == len(ROWS)
    finally:
        table.close()


def test_sql_in_filter_values_is_only_ever_a_value(table: LoadedTable) -> None:
    project = sql_project(table.url, METRICS, table=table.table)
    start, end = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    got = compute_rows(project, list(METRICS), start, end)
    by_metric: dict[str, float] = {}
    for (metric, _period, _group), value in got.items():
        by_metric[metric] = by_metric.get(metric, 0.0) + (value or 0.0)
    assert by_metric["evil"] == 0 and by_metric["evil_users"] == 0
    assert by_metric["evil_or_signup"] == by_metric["signups"] == 10
    assert by_metric["rows"] == len(ROWS)
    assert table_rows(table.url, table.table) == len(ROWS)
    explained = Engine(project).explain(MetricRequest(("evil",), start=start, end=end))
    assert "DROP TABLE" not in explained  # the value travels as a bound parameter


@pytest.mark.parametrize("kind", [DATABASES[0], DATABASES[2]])
def test_identifiers_are_quoted_by_the_dialect(kind: str, tmp_path: Path) -> None:
    """Odd column names (spaces, quotes, capitals) work: identifiers are quoted, never pasted."""
    names = {"ts": 'when "it" happened', "user_id": "User Id", "event": "event", "platform": "Plat-form"}
    frame = pl.read_parquet(write_parquet(ROWS, tmp_path / "plain.parquet")).rename(names)
    parquet = tmp_path / "odd.parquet"
    frame.write_parquet(parquet)
    table = LoadedTable(kind, tmp_path, [])
    try:
        from metrics.demo.sql import load_demo

        load_demo(parquet, table.url, table.table)
        columns = {"timestamp": names["ts"], "user": names["user_id"], "event": "event"}
        metrics = {
            "users": {"type": "count_distinct", "source": "events"},
            "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
            "wau": {"type": "active_users", "source": "events", "window": 7},
        }
        extra = {"columns": columns, "dimensions": ["Plat-form"]}
        sql = sql_project(table.url, metrics, table=table.table, extra=extra)

        files = project_from_dicts(
            sources={"events": {"type": "parquet", "path": "odd.parquet", **extra}},
            metrics=metrics,
            root=tmp_path,
        )
        ids = list(metrics)
        start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 4)
        want = compute_rows(files, ids, start, end, "day", "Plat-form")
        assert compute_rows(sql, ids, start, end, "day", "Plat-form") == want
        assert any(v for v in want.values())
    finally:
        table.close()


# --- a database that is down -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{{port}}/test",
        f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:{{port}}/test",
    ],
    ids=["postgres", "mariadb"],
)
def test_a_database_that_is_down_is_one_clear_sentence(url: str) -> None:
    url = url.format(port=_closed_port())
    project = sql_project(url, {"rows": METRICS["rows"]}, table="events")
    problems = check_data(project)
    assert len(problems) == 1
    message = problems[0].message
    assert "cannot reach the database" in message and "***" in message
    assert PASSWORD not in str(problems[0]) and "\n" not in message and "Traceback" not in message
    with pytest.raises(ConnectorError) as raised:
        Engine(project).compute(MetricRequest(("rows",), start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 2)))
    assert PASSWORD not in str(raised.value) and "***" in str(raised.value)


class Forwarder:
    """A TCP forwarder to PostgreSQL that can be taken down and brought back on the same port."""

    def __init__(self, port: int, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets.clear()


@pytest.mark.postgres
def test_postgres_down_then_back(postgres_url: str, tmp_path: Path) -> None:
    table = LoadedTable("postgres", tmp_path, ROWS)
    forwarder = Forwarder(_closed_port())
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{forwarder.port}/test"
    project = sql_project(url, {"rows": METRICS["rows"]}, table=table.table)
    engine = Engine(project, result_store=False)  # the connection itself: no stored answer stands in
    request = MetricRequest(("rows",), start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 3))
    try:
        with pytest.raises(ConnectorError, match="cannot reach the database") as raised:
            engine.compute(request)
        assert PASSWORD not in str(raised.value)
        forwarder.start()
        assert engine.compute(request).frame["value"].sum() == len(ROWS)
        forwarder.stop()  # the pooled connection dies with the server
        with pytest.raises(ConnectorError, match="cannot reach the database"):
            engine.compute(request)
        forwarder.start()  # back: pre-ping replaces the dead connection
        assert engine.compute(request).frame["value"].sum() == len(ROWS)
    finally:
        forwarder.stop()
        table.close()


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_file_database_that_appears_later(kind: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}" if kind == "sqlite" else f"duckdb:///{tmp_path / 'late.duckdb'}"
    name = unique_table()
    connector = connect("events", source(url, table=name), tmp_path)
    with pytest.raises(ConnectorError, match="no database file"):
        connector.schema()
    from metrics.demo.sql import load_demo

    load_demo(write_parquet(ROWS, tmp_path / "rows.parquet"), url, name)
    try:
        assert connector.schema()["ts"] == "timestamp"
    finally:
        drop_table(url, name)


def test_a_missing_driver_names_the_package() -> None:
    for url, package in (
        ("postgresql+psycopg2://u@localhost/db", "psycopg2-binary"),
        ("bigquery://project/dataset", "sqlalchemy-bigquery"),
    ):
        with pytest.raises(ConnectorError, match=package):
            SqlAlchemyConnector("events", source(url, table="events"), Path(".")).schema()


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(ConnectorError, match="in-memory"):
        SqlAlchemyConnector("events", source("sqlite://", table="events"), Path("."))


SLOW_QUERIES = {
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) "
    "SELECT e.* FROM {t} e, (SELECT MAX(i) AS m FROM r) AS slow",
    "duckdb": "SELECT e.* FROM {t} e, (SELECT COUNT(*) AS m FROM range(100000000000)) AS slow",
    "postgres": "SELECT e.* FROM {t} e, pg_sleep(3)",
    "mariadb": "SELECT e.* FROM {t} e WHERE SLEEP(1) = 0",
}


def test_the_statement_timeout(table: LoadedTable) -> None:
    query = SLOW_QUERIES[table.kind].format(t=table.table)
    project = sql_project(table.url, {"rows": METRICS["rows"]}, query=query, extra={"timeout_seconds": 0.3})
    with pytest.raises(ConnectorError, match="statement timeout"):
        compute_rows(project, ["rows"], dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    dispose_engines()


class _NoZones:
    """A MariaDB connector whose server lacks time zone tables (CONVERT_TZ gives NULL)."""

    name = "events"
    dialect_name = "mysql"

    def execute(self, statement: object) -> pl.DataFrame:
        return pl.DataFrame({"x": [None]})


def test_mariadb_without_time_zone_tables_is_a_clear_error() -> None:
    with pytest.raises(MetricError, match="mariadb-tzinfo-to-sql"):
        SqlBackend()._check_time_zone("events", _NoZones(), Calendar("Europe/Berlin"))  # type: ignore[arg-type]
