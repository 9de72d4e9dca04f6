"""Reviewed SQL: the statement compiled for the shipped demo metrics, per dialect, kept as files.

`tests/snapshots/sql/<dialect>/*.sql` hold the SQL (values rendered inline for reading; at run time
they are bound parameters). A change in the compiler shows up as a diff to review; accept it with

    NORTHSTAR_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_sql_snapshots.py

Trino is compiled without a server (its SQLAlchemy dialect only). The other snapshots are also run
as plain text on their database (SQLite, DuckDB; PostgreSQL and MariaDB on a session-private
temporary `events` table), so a reviewed file is SQL that really runs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML
from sqlalchemy.engine import Dialect

from metrics.definitions.calendar import Calendar
from metrics.definitions.models import MetricsFile, ProjectConfig, RatioMetric, SourcedMetric
from metrics.engine.request import Window
from metrics.engine.sql_backend import SqlBackend
from tests.conftest import MARIADB_URL, POSTGRES_URL, ROOT, require_service

SNAPSHOTS = Path(__file__).parent / "snapshots" / "sql"
UPDATE = os.environ.get("NORTHSTAR_UPDATE_SNAPSHOTS", "") not in ("", "0")
COLUMNS: dict[str, Any] = {
    "ts": sa.DateTime(),
    "user_id": sa.String(),
    "event": sa.String(),
    "platform": sa.String(),
    "country": sa.String(),
    "plan": sa.String(),
    "channel": sa.String(),
    "amount": sa.Double(),
    "load_ms": sa.Double(),
}
SOURCE: dict[str, Any] = {
    "type": "sql",
    "url": "postgresql://warehouse/analytics",
    "table": "events",
    "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    "dimensions": ["platform", "country", "plan", "channel"],
}
REQUESTS = {
    "demo_week": ("week", None),
    "demo_month_by_platform": ("month", "platform"),
    "shapes_day_by_platform": ("day", "platform"),
    "funnel_shapes_week": ("week", None),
}
# Metric shapes the demo pack does not use: first-seen cohorts and negated filters.
SHAPES = {
    "first_seen_d1": {"type": "retention", "source": "events", "cohort_event": "any", "offset": 1},
    "not_signups": {
        "type": "count",
        "source": "events",
        "filter": {"event": {"not": ["signup", "session_start"]}},
    },
    "non_ios_users": {
        "type": "active_users",
        "source": "events",
        "window": 7,
        "filter": {"platform": {"not": "ios"}, "event": "create_note"},
    },
    "first_seen_purchase_w1": {
        "type": "retention",
        "source": "events",
        "cohort_event": "any",
        "return_event": "purchase",
        "period": "week",
        "offset": 1,
        "filter": {"country": {"not": ["FR", "IT"]}},
    },
}
# Funnel shapes the demo pack does not use: order any and exclusions (on both orders), by request
FUNNEL_SHAPES: dict[str, Any] = {
    "any_order": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create_note", "create_project"],
        "within": 7,
        "order": "any",
    },
    "strict_exclude": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create_note", "create_project"],
        "within": 7,
        "exclude": ["purchase"],
    },
    "any_exclude": {
        "type": "funnel",
        "source": "events",
        "steps": ["signup", "create_note", "create_project"],
        "within": 7,
        "order": "any",
        "exclude": ["purchase", "page_view"],
    },
}


def dialect(name: str) -> Dialect:
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import pysqlite

        return pysqlite.dialect()
    if name == "duckdb":
        import duckdb_engine

        return duckdb_engine.Dialect(paramstyle="named")
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import psycopg

        return psycopg.dialect(paramstyle="named")
    if name == "mysql":
        from sqlalchemy.dialects.mysql import pymysql

        return pymysql.dialect(paramstyle="named", is_mariadb=True)
    from trino.sqlalchemy.dialect import TrinoDialect

    return TrinoDialect()


class OfflineConnector:
    """A SQL connector with no server: a declared `events` table, compiled for one dialect."""

    name = "events"

    def __init__(self, dialect: Dialect) -> None:
        from connectors.models import SqlSource

        self.dialect = dialect
        self.config = SqlSource.model_validate(SOURCE)
        self.table = sa.table("events", *[sa.column(n, t) for n, t in COLUMNS.items()])
        self.url = sa.engine.make_url(f"{dialect.name}://offline/events")

    @property
    def dialect_name(self) -> str:
        return str(self.dialect.name)

    def schema(self) -> dict[str, str]:
        return {}

    def fingerprint(self) -> str:
        return ""

    def selectable(self) -> sa.TableClause:
        return self.table

    def execute(self, statement: object) -> Any:
        raise AssertionError("offline")

    def explain(self, statement: object) -> str:
        assert isinstance(statement, sa.sql.ClauseElement)
        return str(statement.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))


def demo_metrics() -> tuple[dict[str, SourcedMetric], ProjectConfig]:
    yaml = YAML(typ="safe")
    metrics = MetricsFile.model_validate(yaml.load((ROOT / "config" / "metrics.yaml").read_text()))
    settings = ProjectConfig.model_validate(yaml.load((ROOT / "config" / "project.yaml").read_text()))
    sourced = {k: m for k, m in metrics.metrics.items() if not isinstance(m, RatioMetric)}
    return sourced, settings


def compiled(dialect_name: str, request: str) -> str:
    from connectors.models import SqlSource

    metrics, settings = demo_metrics()
    pack = "the demo metric pack (config/metrics.yaml"
    if request.startswith("shapes"):
        metrics = dict(MetricsFile.model_validate({"metrics": SHAPES}).metrics)  # type: ignore[arg-type]
        pack = "(SHAPES"
    if request.startswith("funnel_shapes"):
        shapes = MetricsFile.model_validate({"metrics": FUNNEL_SHAPES}).metrics
        metrics = {k: m for k, m in shapes.items() if not isinstance(m, RatioMetric)}
        pack = "funnel shapes (tests/test_sql_snapshots.py FUNNEL_SHAPES"
    grain, by = REQUESTS[request]
    window = Window(dt.date(2026, 1, 1), dt.date(2026, 3, 31), grain, Calendar.of(settings), by)
    connector = OfflineConnector(dialect(dialect_name))
    source = SqlSource.model_validate(SOURCE)
    sql = SqlBackend().explain("events", source, connector, metrics, window)  # type: ignore[arg-type]
    header = (
        f"-- Northstar: {pack}, {len(metrics)} sourced metrics), "
        f"grain {grain}, by {by or '-'},\n-- 2026-01-01 .. 2026-03-31 in {settings.timezone}, "
        f"compiled for {dialect_name}. Values are shown inline; at run time they are bound parameters.\n"
    )
    return header + sql.strip() + ";\n"


DIALECTS = ["sqlite", "duckdb", "postgresql", "mysql", "trino"]


@pytest.mark.parametrize("request_name", list(REQUESTS))
@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_compiled_sql_matches_the_reviewed_snapshot(dialect_name: str, request_name: str) -> None:
    text = compiled(dialect_name, request_name)
    path = SNAPSHOTS / dialect_name / f"{request_name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if not path.exists():
        pytest.fail(f"{path} is missing; run with NORTHSTAR_UPDATE_SNAPSHOTS=1 to write it", pytrace=False)
    want = path.read_text()
    if text != want:
        diff = "".join(
            difflib.unified_diff(want.splitlines(True), text.splitlines(True), "reviewed", "now", n=1)
        )
        pytest.fail(
            f"the SQL for {dialect_name}/{request_name} changed; review the diff and accept it with "
            f"NORTHSTAR_UPDATE_SNAPSHOTS=1:\n{diff[:4000]}",
            pytrace=False,
        )


def test_snapshots_have_no_stale_files() -> None:
    expected = {SNAPSHOTS / d / f"{r}.sql" for d in DIALECTS for r in REQUESTS}
    found = set(SNAPSHOTS.glob("*/*.sql"))
    assert found <= expected, f"stale snapshot files: {sorted(found - expected)}"


CREATE = (
    "CREATE {temp} TABLE events (ts TIMESTAMP, user_id VARCHAR(20), event VARCHAR(20), platform VARCHAR(10), "
    "country VARCHAR(4), plan VARCHAR(8), channel VARCHAR(12), amount DOUBLE PRECISION, load_ms DOUBLE PRECISION)"
)
ROWS = [
    {
        "ts": dt.datetime(2026, 1, 5, 9) + dt.timedelta(hours=13 * i),
        "user_id": f"u{i % 7}",
        "event": ["signup", "session_start", "create_note", "page_view", "purchase", "create_project"][i % 6],
        "platform": ["web", "ios"][i % 2],
        "country": "DE",
        "plan": "pro",
        "channel": "organic",
        "amount": 12.0 if i % 6 == 4 else None,
        "load_ms": 100.0 + i if i % 6 == 3 else None,
    }
    for i in range(80)
]


def run_snapshot(connection: sa.Connection, dialect_name: str, request_name: str) -> set[str]:
    insert = sa.text(
        "INSERT INTO events VALUES (:ts, :user_id, :event, :platform, :country, :plan, :channel, :amount, :load_ms)"
    )
    connection.execute(insert, ROWS)
    sql = (SNAPSHOTS / dialect_name / f"{request_name}.sql").read_text()
    if connection.dialect.name in ("postgresql", "mysql", "mariadb"):
        sql = sql.replace("%", "%%")  # pyformat drivers: a literal % is written %%
    rows = connection.exec_driver_sql(sql.rstrip().rstrip(";")).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("request_name", list(REQUESTS))
@pytest.mark.parametrize(
    "dialect_name",
    [
        "sqlite",
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mariadb),
    ],
)
def test_the_reviewed_sql_runs(dialect_name: str, request_name: str, tmp_path: Path) -> None:
    if dialect_name == "sqlite":
        url, temp = f"sqlite:///{tmp_path / 'snap.db'}", ""
    elif dialect_name == "duckdb":
        url, temp = f"duckdb:///{tmp_path / 'snap.duckdb'}", ""
    elif dialect_name == "postgresql":
        require_service("postgres")
        url, temp = POSTGRES_URL, "TEMPORARY"
    else:
        require_service("mariadb")
        url, temp = MARIADB_URL, "TEMPORARY"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(CREATE.format(temp=temp))
            metrics = run_snapshot(connection, dialect_name, request_name)
            connection.rollback()
    finally:
        engine.dispose()
    # most demo metrics have rows on this data; every shape has rows, every funnel shape entrants
    if request_name.startswith("demo"):
        assert len(metrics) >= 10
    else:
        assert set(SHAPES if request_name.startswith("shapes") else FUNNEL_SHAPES) <= metrics
