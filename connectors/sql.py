"""SQL sources through SQLAlchemy: read-only sessions, a statement timeout, schema by reflection.

The connector never reads the events into Python. It offers the source as a SQLAlchemy
selectable; `metrics.sql_backend` compiles every metric against it and hands the statement back
to `execute`, which runs it in a read-only session and returns the (aggregated) rows.

Safety, per database:

- SQLite: the file is opened with a `mode=ro` URI; a progress handler enforces the timeout.
- DuckDB: the file is opened with `read_only=True`; a timer interrupts a statement over time.
- PostgreSQL: `default_transaction_read_only`, `statement_timeout` and `TimeZone=UTC` are set on
  every new session, and each statement runs in a `READ ONLY` transaction.
- MariaDB / MySQL: `SET SESSION TRANSACTION READ ONLY`, `max_statement_time` (MariaDB) or
  `max_execution_time` (MySQL) and `time_zone='+00:00'` on every new session.
- Anything else (Trino, warehouses): the credentials must be read-only; a missing SQLAlchemy dialect
  names the package to install.

Engines live in a module-level cache keyed by URL and timeout, with `pool_pre_ping=True`, so a
database that was down is used again as soon as it is back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import FromClause

from connectors.base import ColumnKind, ConnectorError
from connectors.models import SourceConfig, SqlSource
from connectors.query_check import single_select
from connectors.secrets import mask_secrets

# Python module that failed to import -> the package that provides it.
DRIVER_PACKAGES: dict[str, str] = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "asyncpg": "asyncpg",
    "pg8000": "pg8000",
    "pymysql": "pymysql",
    "MySQLdb": "mysqlclient",
    "mariadb": "mariadb",
    "mysql": "mysql-connector-python",
    "duckdb": "duckdb",
    "duckdb_engine": "duckdb-engine",
    "trino": "trino",
    "snowflake": "snowflake-sqlalchemy",
    "sqlalchemy_bigquery": "sqlalchemy-bigquery",
    "google": "sqlalchemy-bigquery",
    "databricks": "databricks-sqlalchemy",
    "pyodbc": "pyodbc",
    "oracledb": "oracledb",
    "clickhouse_sqlalchemy": "clickhouse-sqlalchemy",
    "sqlalchemy_redshift": "sqlalchemy-redshift",
}
# URL backend name -> the package that registers the SQLAlchemy dialect.
DIALECT_PACKAGES: dict[str, str] = {
    "duckdb": "duckdb-engine",
    "trino": "trino",
    "snowflake": "snowflake-sqlalchemy",
    "bigquery": "sqlalchemy-bigquery",
    "databricks": "databricks-sqlalchemy",
    "clickhouse": "clickhouse-sqlalchemy",
    "redshift": "sqlalchemy-redshift",
}

CONNECT_TIMEOUT_SECONDS = 5
_CONNECT_TIMEOUT_DRIVERS = {
    ("postgresql", "psycopg"),
    ("postgresql", "psycopg2"),
    ("mysql", "pymysql"),
    ("mysql", "mysqldb"),
    ("mariadb", "pymysql"),
    ("mariadb", "mysqldb"),
}
FINGERPRINT_TTL_SECONDS = 60.0

_ENGINES: dict[tuple[str, float], Engine] = {}
_LOCK = threading.Lock()
_FINGERPRINTS: dict[tuple[str, str], tuple[float, str]] = {}


def masked(url: URL | str) -> str:
    """The URL as text with its password and secret parameters replaced by ***."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except exc.ArgumentError:
        return mask_secrets(str(url))
    return mask_secrets(parsed.render_as_string(hide_password=True))


def dispose_engines() -> None:
    """Close every cached engine (tests, and before a command writes to a file database)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
        _FINGERPRINTS.clear()
    for engine in engines:
        engine.dispose()


# --- engines -----------------------------------------------------------------------------------


def _resolve_url(name: str, config: SqlSource, root: Path) -> URL:
    """Parse the URL; file databases become absolute paths (relative to the config folder)."""
    try:
        url = make_url(config.url)
    except exc.ArgumentError:
        raise ConnectorError(
            f"source {name!r}: {config.url!r} is not a SQLAlchemy URL; "
            "write it like postgresql+psycopg://user@host:5432/db"
        ) from None
    backend = url.get_backend_name()
    if backend in ("sqlite", "duckdb"):
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ConnectorError(
                f"source {name!r}: an in-memory {backend} database holds no events; point the URL at a file"
            )
        if database.startswith("file:"):  # already a SQLite URI: keep its path, force read-only below
            database = database[5:].split("?", 1)[0]
        path = Path(database).expanduser()
        if not path.is_absolute():
            path = (root / path).resolve()
        if backend == "sqlite":
            query = {k: v for k, v in url.query.items() if k not in ("mode", "uri")}
            return url.set(database=f"file:{path}", query={**query, "mode": "ro", "uri": "true"})
        return url.set(database=str(path))
    return url


def _file_path(url: URL) -> Path | None:
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database and url.database.startswith("file:"):
        return Path(url.database[5:])
    if backend == "duckdb" and url.database:
        return Path(url.database)
    return None


def _create_engine(url: URL, timeout: float) -> Engine:
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    connect_args: dict[str, Any] = {}
    if backend == "duckdb":
        connect_args["read_only"] = True
    elif (backend, url.get_driver_name()) in _CONNECT_TIMEOUT_DRIVERS:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if (backend, url.get_driver_name()) == ("postgresql", "psycopg"):
        # Every statement is prepared (the extended protocol), which runs exactly one statement:
        # "cannot insert multiple commands into a prepared statement", whatever text gets through.
        connect_args["prepare_threshold"] = 0
    if connect_args:
        kwargs["connect_args"] = connect_args
    engine = sa.create_engine(url, **kwargs)
    if backend == "postgresql":
        _on_connect(
            engine,
            [
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                f"SET statement_timeout = {int(timeout * 1000)}",
                "SET TIME ZONE 'UTC'",
                # One statement per request has many expressions: JIT with inlining and optimization
                # compiles for seconds (17 s for the demo pack); plain JIT takes under a second and
                # still speeds up large scans.
                "SET jit_inline_above_cost = -1",
                "SET jit_optimize_above_cost = -1",
            ],
        )
    elif backend in ("mysql", "mariadb"):
        _on_connect(engine, _mysql_session(timeout))
    return engine


def _mysql_session(timeout: float) -> Callable[[Any], list[str]]:
    def statements(cursor: Any) -> list[str]:
        cursor.execute("SELECT VERSION()")
        version = str(cursor.fetchone()[0])
        limit = (
            f"SET SESSION max_statement_time = {float(timeout)}"
            if "mariadb" in version.lower()
            else f"SET SESSION max_execution_time = {int(timeout * 1000)}"
        )
        return ["SET SESSION TRANSACTION READ ONLY", "SET time_zone = '+00:00'", limit]

    return statements


def _on_connect(engine: Engine, statements: list[str] | Callable[[Any], list[str]]) -> None:
    """Run session settings on every new DBAPI connection (fixed numbers only, never config text)."""

    @event.listens_for(engine, "connect")
    def _session(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            todo = statements(cursor) if callable(statements) else statements
            for statement in todo:
                cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()


def engine_for(name: str, config: SqlSource, root: Path) -> Engine:
    url = _resolve_url(name, config, root)
    key = (url.render_as_string(hide_password=False), float(config.timeout_seconds))
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            try:
                engine = _create_engine(url, config.timeout_seconds)
            except exc.NoSuchModuleError:
                backend = url.get_backend_name()
                package = DIALECT_PACKAGES.get(backend)
                hint = (
                    f"pip install {package}" if package else f"install the SQLAlchemy dialect for {backend!r}"
                )
                raise ConnectorError(
                    f"source {name!r}: SQLAlchemy has no dialect {url.drivername!r} ({hint})"
                ) from None
            except ModuleNotFoundError as error:
                module = (error.name or "").split(".")[0]
                package = DRIVER_PACKAGES.get(module, module)
                raise ConnectorError(
                    f"source {name!r}: the database driver {module!r} for {url.drivername} is not "
                    f"installed (pip install {package})"
                ) from None
            except (exc.ArgumentError, TypeError, ValueError) as error:
                raise ConnectorError(
                    f"source {name!r}: cannot use the URL {masked(url)}: {_first_line(error, url)}"
                ) from None
            _ENGINES[key] = engine
    return engine


# --- errors -----------------------------------------------------------------------------------


def _first_line(error: BaseException, url: URL | None) -> str:
    original = getattr(error, "orig", None) or error
    args: tuple[Any, ...] = tuple(getattr(original, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):  # pymysql: (code, text)
        original = args[1]
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return mask_secrets(text).rstrip(".")


_TIMEOUT_MARKERS = (
    "statement timeout",
    "canceling statement",
    "max_statement_time",
    "max_execution_time",
    "interrupted",
    "interrupt",
)
_READ_ONLY_MARKERS = ("read-only", "read only", "readonly")


def _is_connection_error(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    text = str(getattr(error, "orig", error)).lower()
    markers = (
        "connection refused",
        "could not connect",
        "can't connect",
        "connection to server",
        "unable to open database",
        "does not exist",
        "no such file",
        "lost connection",
        "server closed the connection",
        "name or service not known",
        "timeout expired",
        "cannot open file",
        "io error",
    )
    return isinstance(error, exc.OperationalError | exc.InterfaceError) and any(m in text for m in markers)


# --- reflection -------------------------------------------------------------------------------


def kind_of(type_: sa.types.TypeEngine[Any]) -> ColumnKind:
    if isinstance(type_, sa.Boolean):
        return "boolean"
    if isinstance(type_, sa.Integer):
        return "integer"
    if isinstance(type_, sa.Numeric | sa.Float):  # Float, Double and Decimal
        return "float"
    if isinstance(type_, sa.DateTime):
        return "timestamp"
    if isinstance(type_, sa.Date):
        return "date"
    if isinstance(type_, sa.String | sa.Enum):
        return "string"
    return "other"


def _type_from_name(name: str) -> sa.types.TypeEngine[Any]:
    """A SQL type name (DuckDB's descriptions, SQLite's declared types) -> a SQLAlchemy type."""
    upper = name.upper().strip()
    if not upper:
        return sa.types.NullType()
    if upper.startswith("BOOL"):
        return sa.Boolean()
    if upper in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return sa.DateTime(timezone=True)
    if upper.startswith(("TIMESTAMP", "DATETIME")):
        return sa.DateTime()
    if upper == "DATE":
        return sa.Date()
    if "INT" in upper:
        return sa.BigInteger()
    if upper.startswith(("DECIMAL", "NUMERIC")):
        return sa.Numeric()
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return sa.Double()
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT", "STRING")):
        return sa.String()
    return sa.types.NullType()


_PG_OIDS: dict[int, sa.types.TypeEngine[Any]] = {
    16: sa.Boolean(),
    20: sa.BigInteger(),
    21: sa.BigInteger(),
    23: sa.BigInteger(),
    700: sa.Double(),
    701: sa.Double(),
    1700: sa.Numeric(),
    18: sa.String(),
    19: sa.String(),
    25: sa.String(),
    1042: sa.String(),
    1043: sa.String(),
    1082: sa.Date(),
    1114: sa.DateTime(),
    1184: sa.DateTime(timezone=True),
}


def _mysql_type(code: int, size: int | None) -> sa.types.TypeEngine[Any]:
    if code == 1 and size == 1:
        return sa.Boolean()
    if code in (1, 2, 3, 8, 9, 13):
        return sa.BigInteger()
    if code in (4, 5):
        return sa.Double()
    if code in (0, 246):
        return sa.Numeric()
    if code in (7, 12):
        return sa.DateTime()
    if code in (10, 14):
        return sa.Date()
    if code in (15, 247, 252, 253, 254):
        return sa.String()
    return sa.types.NullType()


def _described(backend: str, description: Any) -> dict[str, sa.types.TypeEngine[Any]]:
    """Column types from a DBAPI cursor description (no rows read)."""
    out: dict[str, sa.types.TypeEngine[Any]] = {}
    for item in description or ():
        name, code = item[0], item[1]
        if backend == "postgresql" and isinstance(code, int):
            out[name] = _PG_OIDS.get(code, sa.types.NullType())
        elif backend in ("mysql", "mariadb") and isinstance(code, int):
            out[name] = _mysql_type(code, item[3] if len(item) > 3 else None)
        elif code is not None:
            out[name] = _type_from_name(str(code))
        else:
            out[name] = sa.types.NullType()
    return out


def _clean_query(query: str) -> str:
    return query.strip().rstrip(";").strip()


class SqlAlchemyConnector:
    """A `type: sql` source: a table or a query behind a SQLAlchemy URL, read-only."""

    def __init__(self, name: str, config: SourceConfig, root: Path) -> None:
        if not isinstance(config, SqlSource):
            raise TypeError("SqlAlchemyConnector takes a sql source")
        self.name = name
        self.config: SqlSource = config
        self.root = root
        self.url = _resolve_url(name, config, root)
        self._engine: Engine | None = None
        self._columns: dict[str, sa.types.TypeEngine[Any]] | None = None
        self._selectable: FromClause | None = None

    # -- the engine and its errors --

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine_for(self.name, self.config, self.root)
        return self._engine

    @property
    def dialect_name(self) -> str:
        return str(self.engine.dialect.name)

    @property
    def dialect(self) -> sa.engine.Dialect:
        return self.engine.dialect

    @property
    def where(self) -> str:
        """The source as a PM wrote it, for messages (password masked)."""
        return masked(self.config.url)

    def _error(self, error: BaseException) -> ConnectorError:
        reason = _first_line(error, self.url)
        lowered = reason.lower()
        if isinstance(error, exc.DBAPIError) and any(m in lowered for m in _READ_ONLY_MARKERS):
            return ConnectorError(
                f"source {self.name!r}: the database refused a write ({reason}); Northstar sessions "
                "are read-only, so a source query must only read"
            )
        if isinstance(error, exc.DBAPIError) and any(m in lowered for m in _TIMEOUT_MARKERS):
            return ConnectorError(
                f"source {self.name!r}: the query ran longer than the statement timeout "
                f"({self.config.timeout_seconds:g} s); raise `timeout_seconds:` or narrow the range"
            )
        if _is_connection_error(error):
            path = _file_path(self.url)
            if path is not None and not path.exists():
                return ConnectorError(
                    f"source {self.name!r}: there is no database file at {path}; create it or fix `url:`"
                )
            return ConnectorError(
                f"source {self.name!r}: cannot reach the database at {self.where} ({reason}); "
                "check that it is running and that the URL is right"
            )
        if isinstance(error, exc.DBAPIError):
            return ConnectorError(
                f"source {self.name!r}: the database at {self.where} rejected the query ({reason})"
            )
        return ConnectorError(f"source {self.name!r}: {type(error).__name__}: {reason}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        path = _file_path(self.url)
        if path is not None and not path.exists():
            raise ConnectorError(
                f"source {self.name!r}: there is no database file at {path}; create it or fix `url:`"
            )
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == "postgresql":
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield connection
        except ConnectorError:
            raise
        except exc.SQLAlchemyError as error:
            raise self._error(error) from None
        except Exception as error:  # a driver error SQLAlchemy did not wrap (e.g. DuckDB's IOException)
            module = type(error).__module__ or ""
            if module.split(".")[0].lstrip("_") in ("duckdb", "sqlite3", "psycopg", "pymysql", "trino"):
                raise self._error(error) from None
            raise

    # -- schema --

    def _table_parts(self) -> tuple[str | None, str]:
        assert self.config.table is not None
        if "." in self.config.table:
            schema, table = self.config.table.rsplit(".", 1)
            return schema, table
        return None, self.config.table

    def _query_text(self) -> str:
        """The `query:` as one SELECT (validation refuses others; this holds for code that skips it)."""
        assert self.config.query is not None
        try:
            return single_select(self.config.query, self.url.get_backend_name())
        except ValueError as error:
            raise ConnectorError(f"source {self.name!r}: {error}") from None

    def _query_clause(self) -> TextClause:
        return sa.text(self._query_text())

    def column_types(self) -> dict[str, sa.types.TypeEngine[Any]]:
        """Column name -> SQLAlchemy type, by reflection of the table or of the query's result."""
        if self._columns is None:
            with self._connection() as connection:
                if self.config.table is not None:
                    self._columns = self._reflect_table(connection)
                else:
                    self._columns = self._reflect_query(connection)
        return self._columns

    def _reflect_table(self, connection: Connection) -> dict[str, sa.types.TypeEngine[Any]]:
        schema, table = self._table_parts()
        backend = self.engine.dialect.name
        if backend == "duckdb":  # duckdb-engine's inspector does not work with SQLAlchemy 2.1
            probe: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(
                sa.table(table, schema=schema)
            )
            try:
                result = connection.execute(probe.where(sa.false()))
            except exc.DBAPIError as error:
                if "does not exist" in str(error.orig).lower():
                    connection.rollback()
                    raise self._missing_table(connection) from None
                raise
            return _described(backend, result.cursor.description)
        inspector = sa.inspect(connection)
        if not inspector.has_table(table, schema=schema):
            raise self._missing_table(connection)
        columns = {column["name"]: column["type"] for column in inspector.get_columns(table, schema=schema)}
        if backend in ("mysql", "mariadb"):  # BOOLEAN is TINYINT(1) there
            for name, type_ in columns.items():
                if (
                    isinstance(type_, sa.SmallInteger | sa.Integer)
                    and getattr(type_, "display_width", None) == 1
                ):
                    columns[name] = sa.Boolean()
        return columns

    def _missing_table(self, connection: Connection) -> ConnectorError:
        schema, _ = self._table_parts()
        try:
            if self.engine.dialect.name == "duckdb":
                names = [row[0] for row in connection.exec_driver_sql("SHOW TABLES").fetchall()]
            else:
                names = sa.inspect(connection).get_table_names(schema=schema)
        except exc.SQLAlchemyError:
            names = []
        found = f"tables found: {', '.join(sorted(names)[:20])}" if names else "the database has no tables"
        return ConnectorError(
            f"source {self.name!r}: table {self.config.table!r} does not exist at {self.where} ({found})"
        )

    def _reflect_query(self, connection: Connection) -> dict[str, sa.types.TypeEngine[Any]]:
        backend = self.engine.dialect.name
        if backend == "sqlite":  # sqlite3 describes no types: read the declared types of a temp view
            view = f"northstar_probe_{uuid.uuid4().hex[:12]}"
            quoted = self.engine.dialect.identifier_preparer.quote(view)
            connection.exec_driver_sql(f"CREATE TEMP VIEW {quoted} AS {self._query_text()}")
            try:
                rows = connection.exec_driver_sql(f"PRAGMA temp.table_info({quoted})").fetchall()
            finally:
                connection.exec_driver_sql(f"DROP VIEW temp.{quoted}")
            return {row[1]: _type_from_name(row[2] or "") for row in rows}
        probe: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(
            self._query_clause().columns().subquery("q")
        )
        result = connection.execute(probe.where(sa.false()))
        types = _described(backend, result.cursor.description)
        result.close()
        return types

    def schema(self) -> dict[str, ColumnKind]:
        return {name: kind_of(type_) for name, type_ in self.column_types().items()}

    def selectable(self) -> FromClause:
        if self._selectable is None:
            columns = [sa.column(name, type_) for name, type_ in self.column_types().items()]
            if self.config.table is not None:
                schema, table = self._table_parts()
                self._selectable = sa.table(table, *columns, schema=schema)
            else:
                self._selectable = self._query_clause().columns(*columns).subquery("src")
        return self._selectable

    # -- running statements --

    def fingerprint(self) -> str:
        """Row count and newest timestamp of the source (one aggregate query, memoized for a minute).

        It changes when rows are added or removed. An update that keeps both the same is only seen
        once the memo expires and the row count or newest timestamp moves.
        """
        source = self.config.table or _clean_query(self.config.query or "")
        key = (masked(self.url), source)
        now = time.monotonic()
        cached = _FINGERPRINTS.get(key)
        if cached is not None and now - cached[0] < FINGERPRINT_TTL_SECONDS:
            return cached[1]
        src = self.selectable()
        ts = src.c[self.config.columns.timestamp]
        with self._connection() as connection:
            count, newest = connection.execute(sa.select(sa.func.count(), sa.func.max(ts))).one()
        digest = hashlib.sha256(f"{key}\0{count}\0{newest}".encode()).hexdigest()[:16]
        _FINGERPRINTS[key] = (now, digest)
        return digest

    def execute(self, statement: object) -> pl.DataFrame:
        if not isinstance(statement, sa.sql.Executable):
            raise TypeError("execute takes a SQLAlchemy statement")
        with self._connection() as connection, self._deadline(connection):
            result = connection.execute(statement)
            keys = list(result.keys())
            rows = result.fetchall()
        return frame_of(keys, rows)

    @contextmanager
    def _deadline(self, connection: Connection) -> Iterator[None]:
        """The statement timeout where the database has no setting for it (SQLite, DuckDB)."""
        backend = self.engine.dialect.name
        raw: Any = connection.connection.dbapi_connection
        if backend == "sqlite":
            limit = time.monotonic() + self.config.timeout_seconds
            raw.set_progress_handler(lambda: int(time.monotonic() > limit), 10_000)
            try:
                yield
            finally:
                raw.set_progress_handler(None, 0)
        elif backend == "duckdb":
            timer = threading.Timer(self.config.timeout_seconds, _interrupt, (raw,))
            timer.start()
            try:
                yield
            finally:
                timer.cancel()
        else:
            yield

    def explain(self, statement: object) -> str:
        if not isinstance(statement, sa.sql.ClauseElement):
            raise TypeError("explain takes a SQLAlchemy statement")
        return str(statement.compile(dialect=self.engine.dialect))

    def probe(self, statement: object) -> Any:
        """The first value of a one-row statement (capability checks such as MariaDB time zones)."""
        frame = self.execute(statement)
        return frame.row(0)[0] if frame.height else None


def _interrupt(raw: Any) -> None:
    target = getattr(raw, "_ConnectionWrapper__c", None) or raw  # duckdb-engine wraps the connection
    interrupt = getattr(target, "interrupt", None)
    if callable(interrupt):
        interrupt()


def frame_of(keys: list[str], rows: list[Any] | Any) -> pl.DataFrame:
    """Rows as a Polars frame; Decimal values become floats."""
    columns: dict[str, list[Any]] = {key: [] for key in keys}
    for row in rows:
        for key, value in zip(keys, row, strict=True):
            columns[key].append(float(value) if isinstance(value, decimal.Decimal) else value)
    series = []
    for key, values in columns.items():
        if any(isinstance(v, float) for v in values):
            values = [
                float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values
            ]
        series.append(pl.Series(key, values, strict=False))
    return pl.DataFrame(series)


def utc_datetime(value: Any) -> dt.datetime | None:
    """A timestamp value read from a database as an aware UTC datetime (naive values are UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        value = dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ConnectorError(f"cannot read {value!r} as a timestamp")


__all__ = [
    "SqlAlchemyConnector",
    "dispose_engines",
    "engine_for",
    "frame_of",
    "kind_of",
    "masked",
    "utc_datetime",
]
