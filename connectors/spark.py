"""Spark sources through Spark Connect: the metrics run inside Spark, only result rows come back.

A `type: spark` source names a Spark Connect server (`url: sc://host:port`) and either a catalog
table (`table:`) or files that the Spark server reads (`path:` + `format:`). The connector is a
`SqlConnector`: it offers the source as a SQLAlchemy selectable, and `metrics.engine.sql_backend`
compiles every metric against it with the `spark` dialect, as for any SQL database. `execute`
renders the statement with `SparkSqlDialect` (a compile-only SQLAlchemy dialect for Spark SQL) and
runs it with `spark.sql(text, args=[...])`: every value travels as a bound parameter (Spark's `?`
markers), never pasted into the text. The rows come back as Arrow (`toArrow`) into Polars.

Sessions: one Spark Connect session per URL and process (`SparkSession.builder.remote(url).create()`),
with the session time zone set to UTC (naive timestamps are UTC, as everywhere in Northstar), a short
connection retry (an unreachable server is one clear error within seconds, not Spark's ten-minute
retry), and a statement timeout (`timeout_seconds:`) that interrupts the statement's operations. A
`path:` source is read with `spark.read.format(...).load(path)` into a temporary view of that session;
a session that the server has closed (idle timeout) is opened again once, views included.

New data: a Spark session keeps a table's (or a file view's) file listing for its life, so before a
statement the connector refreshes the source (`catalog.refreshTable`: drops the cached listing, reads
no rows) once FINGERPRINT_TTL_SECONDS have passed, and the fingerprint is always taken after the last
refresh (`_refresh`). The engine's incremental recompute treats a Spark source as a SQL one
(`metrics.engine.incremental`: the count of rows before the late-arrival bound runs in Spark).

Safety: Spark Connect has no read-only session. Northstar sends only the SELECTs it compiled (no
`query:` text exists for Spark sources, `execute` refuses anything but a SELECT) and the refresh of
the source's listing, and identifiers are quoted; the credentials in the URL should still be a
read-only principal (docs/sql.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, default, make_url
from sqlalchemy.sql import compiler, quoted_name
from sqlalchemy.sql.selectable import FromClause

from connectors.base import ColumnKind, ConnectorError
from connectors.files import outside_roots
from connectors.models import SourceConfig, SparkSource
from connectors.secrets import mask_secrets
from connectors.sql import kind_of

DEFAULT_PORT = 15002
CONNECT_TIMEOUT_SECONDS = 5
CONNECT_RETRIES = 3  # a few quick retries (about 3 s in all) before "cannot reach"
FINGERPRINT_TTL_SECONDS = 60.0
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # s3a:, abfss:, dbfs:, hdfs:, file: (not C:)


# --- the SQLAlchemy dialect: compile only ------------------------------------------------------


class SparkTypeCompiler(compiler.GenericTypeCompiler):
    """Spark SQL's type names: STRING for text, TIMESTAMP, DOUBLE for every float (FLOAT is 32-bit)."""

    def visit_VARCHAR(self, type_: Any, **kw: Any) -> str:
        return "STRING"

    visit_CHAR = visit_NVARCHAR = visit_NCHAR = visit_TEXT = visit_CLOB = visit_VARCHAR

    def visit_DATETIME(self, type_: Any, **kw: Any) -> str:
        return "TIMESTAMP"

    visit_TIMESTAMP = visit_DATETIME

    def visit_FLOAT(self, type_: Any, **kw: Any) -> str:
        return "DOUBLE"

    visit_REAL = visit_DOUBLE = visit_DOUBLE_PRECISION = visit_FLOAT

    def visit_INTEGER(self, type_: Any, **kw: Any) -> str:
        return "INT"


class SparkCompiler(compiler.SQLCompiler):
    def limit_clause(self, select: Any, **kw: Any) -> str:
        """LIMIT and OFFSET as integers in the text (Spark wants a constant there)."""
        text = ""
        if select._limit_clause is not None:
            text += f"\n LIMIT {int(select._limit)}"
        if select._offset_clause is not None:
            text += f" OFFSET {int(select._offset)}"
        return text


class SparkIdentifierPreparer(compiler.IdentifierPreparer):
    """Back-quoted identifiers (a back-quote inside a name is doubled)."""

    reserved_words = compiler.RESERVED_WORDS | {
        "anti",
        "date",
        "interval",
        "lateral",
        "limit",
        "minus",
        "qualify",
        "semi",
        "timestamp",
        "window",
    }

    def __init__(
        self,
        dialect: Any,
        initial_quote: str = "`",
        final_quote: str | None = None,
        escape_quote: str = "`",
        quote_case_sensitive_collations: bool = True,
        omit_schema: bool = False,
    ) -> None:
        super().__init__(
            dialect, initial_quote, final_quote, escape_quote, quote_case_sensitive_collations, omit_schema
        )


class SparkSqlDialect(default.DefaultDialect):
    """Compiles SQLAlchemy Core for Spark SQL with `?` markers; Northstar never connects through it."""

    name = "spark"
    default_paramstyle = "qmark"
    supports_native_boolean = True
    supports_statement_cache = True
    statement_compiler = SparkCompiler
    type_compiler_cls = SparkTypeCompiler
    preparer = SparkIdentifierPreparer


SPARK_SQL = SparkSqlDialect()


def compile_spark(statement: Any) -> tuple[str, list[Any]]:
    """Spark SQL text with `?` markers, and the values of the markers in order."""
    compiled = statement.compile(dialect=SPARK_SQL, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    values = [_value(params[name]) for name in compiled.positiontup or ()]
    return str(compiled), values


def _value(value: Any) -> Any:
    """A bound value as Spark Connect must see it: a naive datetime is a UTC instant (Spark Connect
    would read it in the client's local time)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


# --- names and URLs ----------------------------------------------------------------------------


def masked(url: str) -> str:
    """The URL with its token and other secrets replaced by ***."""
    return mask_secrets(url)


def table_parts(name: str) -> list[str]:
    """`catalog.schema.table` -> its parts; back-quoted parts may hold dots (`my.db`.`t`)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    index = 0
    text = name.strip()
    while index < len(text):
        char = text[index]
        if char == "`":
            if quoted and index + 1 < len(text) and text[index + 1] == "`":
                current.append("`")
                index += 2
                continue
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    if quoted or any(not p.strip() for p in parts) or len(parts) > 3:
        raise ValueError(
            f"{name!r} is not a table name; write it as name, schema.name or catalog.schema.name"
        )
    return [p.strip() for p in parts]


def _quoted(parts: list[str]) -> str:
    return ".".join("`" + part.replace("`", "``") + "`" for part in parts)


def _host_port(url: str) -> tuple[str, int]:
    rest = url[len("sc://") :]
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):  # [ipv6]:port
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    return host, int(port) if port.isdigit() else DEFAULT_PORT


# --- Spark's types -----------------------------------------------------------------------------


def sa_type(spark_type: Any) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type the compiler reads for a Spark column type."""
    name = type(spark_type).__name__
    if name == "BooleanType":
        return sa.Boolean()
    if name in ("ByteType", "ShortType", "IntegerType", "LongType"):
        return sa.BigInteger()
    if name in ("FloatType", "DoubleType"):
        return sa.Double()
    if name == "DecimalType":
        return sa.Numeric()
    if name in ("StringType", "CharType", "VarcharType"):
        return sa.String()
    if name == "TimestampType":  # an instant (shown in the session zone, UTC here)
        return sa.DateTime(timezone=True)
    if name == "TimestampNTZType":
        return sa.DateTime()
    if name == "DateType":
        return sa.Date()
    return sa.types.NullType()


def frame_of_arrow(table: pa.Table) -> pl.DataFrame:
    """Arrow rows as a Polars frame; decimals become floats, as for the other SQL sources."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)) if decimals else frame


# --- sessions ----------------------------------------------------------------------------------

_LOCK = threading.RLock()
_SESSIONS: dict[str, Any] = {}  # URL -> SparkSession
_VIEWS: dict[tuple[str, str, str], str] = {}  # (URL, path, format) -> temporary view name
_FINGERPRINTS: dict[tuple[str, str], tuple[float, str]] = {}
_REFRESHED: dict[tuple[str, str], float] = {}  # source -> when its session last re-listed it


@contextmanager
def _quiet() -> Iterator[None]:
    """pyspark warns about pandas versions on import; Northstar hands it no pandas frames."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def close_sessions() -> None:
    """Forget every Spark Connect session (tests; a server that restarted)."""
    with _LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
        _VIEWS.clear()
        _FINGERPRINTS.clear()
        _REFRESHED.clear()
    for session in sessions:
        with contextlib.suppress(Exception):  # a server that is gone has nothing to release
            session.stop()


def forget_listings() -> None:
    """Make each source's next statement refresh its listing and fingerprint, as when
    FINGERPRINT_TTL_SECONDS has passed (benchmarks and tests, right after they add data)."""
    with _LOCK:
        _REFRESHED.clear()
        _FINGERPRINTS.clear()


def _first_line(error: BaseException) -> str:
    text = str(error)
    found = re.search(r'details = "([^"]*)"', text)  # a gRPC error: its details say why
    if found:
        text = found.group(1)
    line = next((part.strip() for part in text.splitlines() if part.strip()), type(error).__name__)
    return mask_secrets(line).rstrip(".")


def _condition(error: BaseException) -> str:
    for getter in ("getCondition", "getErrorClass"):
        method = getattr(error, getter, None)
        if callable(method):
            try:
                value = method()
            except Exception:  # an error without a condition
                value = None
            if value:
                return str(value)
    found = re.match(r"\s*\[([A-Z0-9_.]+)\]", str(error))
    return found.group(1) if found else ""


def _is_unreachable(error: BaseException) -> bool:
    text = str(error)
    return "StatusCode.UNAVAILABLE" in text or "failed to connect to all addresses" in text.lower()


def _is_session_lost(error: BaseException) -> bool:
    condition = _condition(error)
    return condition.startswith("INVALID_HANDLE") or "SESSION_CLOSED" in str(error)


class SparkConnector:
    """A `type: spark` source: a catalog table or files, read by Spark through Spark Connect."""

    dialect_name = "spark"

    def __init__(self, name: str, config: SourceConfig, root: Path) -> None:
        if not isinstance(config, SparkSource):
            raise TypeError("SparkConnector takes a spark source")
        self.name = name
        self.config: SparkSource = config
        self.root = root
        self.address = config.url
        try:
            self.url: URL = make_url(config.url)
        except sa.exc.ArgumentError:
            raise ConnectorError(
                f"source {name!r}: {masked(config.url)!r} is not a Spark Connect URL; "
                "write it like sc://localhost:15002"
            ) from None
        self.files = self._files() if config.path is not None else None
        self._columns: dict[str, sa.types.TypeEngine[Any]] | None = None
        self._selectable: FromClause | None = None

    @property
    def where(self) -> str:
        """The server as the YAML names it (token masked), for messages."""
        return masked(self.address)

    def _files(self) -> str:
        """`path:` as Spark reads it: a URI as written; a local path absolute, inside the project."""
        path = self.config.path
        assert path is not None
        if _SCHEME.match(path) and not path.lower().startswith("file:"):
            return path
        local = path[5:] if path.lower().startswith("file:") else path
        local = re.sub(r"^//(?=/)", "", local)  # file:///x -> /x
        why = outside_roots(local, self.root, [])
        if why:
            raise ConnectorError(
                f"source {self.name!r}: {why}; a local `path:` of a spark source must lie in the "
                "project folder (or give the cluster's URI: s3a://..., abfss://..., dbfs:/...)"
            )
        return str((self.root / local).resolve())

    # -- the session and its errors --

    def _error(self, error: BaseException) -> ConnectorError:
        reason = _first_line(error)
        condition = _condition(error)
        if isinstance(error, ConnectorError):
            return error
        if _is_unreachable(error):
            return ConnectorError(
                f"source {self.name!r}: cannot reach the Spark Connect server at {self.where} ({reason}); "
                "check that it is running and that the URL is right"
            )
        if condition.startswith(("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND")) and self.config.table:
            return ConnectorError(
                f"source {self.name!r}: table {self.config.table!r} does not exist at {self.where} "
                f"({self._tables_found()})"
            )
        if condition.startswith("PATH_NOT_FOUND") or "Path does not exist" in reason:
            return ConnectorError(
                f"source {self.name!r}: Spark finds no files at {self.config.path!r} ({reason}); "
                "fix `path:` (the Spark server reads it, not this machine)"
            )
        if condition.startswith("OPERATION_CANCELED") or "cancel" in reason.lower():
            return ConnectorError(
                f"source {self.name!r}: the query ran longer than the statement timeout "
                f"({self.config.timeout_seconds:g} s); raise `timeout_seconds:` or narrow the range"
            )
        if type(error).__name__ == "ModuleNotFoundError":
            return ConnectorError(
                f"source {self.name!r}: Spark sources need the pyspark package with Spark Connect "
                "(pip install 'pyspark[connect]')"
            )
        return ConnectorError(f"source {self.name!r}: Spark at {self.where} rejected the query ({reason})")

    def _tables_found(self) -> str:
        assert self.config.table is not None
        parts = table_parts(self.config.table)
        try:
            session = self._session()
            schema = _quoted(parts[:-1]) if len(parts) > 1 else None
            shown = session.sql(f"SHOW TABLES IN {schema}" if schema else "SHOW TABLES").toArrow()
            names = sorted(str(n) for n in shown.column("tableName").to_pylist())
        except Exception:  # the list is a hint; the error is the missing table
            return "the tables could not be listed"
        if not names:
            return "no tables there"
        return f"tables found: {', '.join(names[:20])}"

    def _session(self) -> Any:
        key = self.address
        with _LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                session = self._open()
                _SESSIONS[key] = session
            return session

    def _open(self) -> Any:
        host, port = _host_port(self.address)
        import socket

        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS).close()
        except OSError as error:
            raise ConnectorError(
                f"source {self.name!r}: cannot reach the Spark Connect server at {self.where} "
                f"({error.strerror or error}); check that it is running and that the URL is right"
            ) from None
        try:
            with _quiet():
                from pyspark.logger import PySparkLogger
                from pyspark.sql import SparkSession
                from pyspark.sql.connect.client.retries import DefaultPolicy

                # pyspark logs every failed query to stderr with the JVM's stack trace; the error
                # reaches the user as one sentence instead (`_error`)
                for logger_name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
                    PySparkLogger.getLogger(logger_name).disabled = True

                session = SparkSession.builder.remote(self.address).create()
                session.client.set_retry_policies(
                    [DefaultPolicy(max_retries=CONNECT_RETRIES, initial_backoff=200, max_backoff=2000)]
                )
                session.conf.set("spark.sql.session.timeZone", "UTC")
        except ConnectorError:
            raise
        except Exception as error:
            raise self._error(error) from None
        return session

    def _forget_session(self) -> None:
        with _LOCK:
            session = _SESSIONS.pop(self.address, None)
            for key in [k for k in _VIEWS if k[0] == self.address]:
                del _VIEWS[key]
        if session is not None:
            with contextlib.suppress(Exception):  # it is closed already
                session.stop()

    def _run(self, work: Any) -> Any:
        """`work(session)`, with Spark's errors as one sentence; a session the server closed is opened
        again once."""
        for attempt in (1, 2):
            try:
                return work(self._session())
            except ConnectorError:
                raise
            except Exception as error:
                if attempt == 1 and _is_session_lost(error):
                    self._forget_session()
                    continue
                raise self._error(error) from None
        raise AssertionError("unreachable")

    # -- the source --

    def _source_name(self, session: Any) -> str:
        """The quoted name the compiled SQL reads: the table, or the temporary view over the files."""
        if self.config.table is not None:
            try:
                return _quoted(table_parts(self.config.table))
            except ValueError as error:
                raise ConnectorError(f"source {self.name!r}: {error}") from None
        assert self.files is not None
        key = (self.address, self.files, self.config.file_format)
        with _LOCK:
            view = _VIEWS.get(key)
            if view is None:
                reader = session.read.format(self.config.file_format)
                if self.config.file_format == "csv":
                    reader = reader.option("header", "true").option("inferSchema", "true")
                view = _view_name(key)
                reader.load(self.files).createOrReplaceTempView(view)
                _VIEWS[key] = view
        return _quoted([view])

    def column_types(self) -> dict[str, sa.types.TypeEngine[Any]]:
        """Column name -> SQLAlchemy type, from Spark's analysis of the source (no rows read)."""
        if self._columns is None:

            def read(session: Any) -> dict[str, sa.types.TypeEngine[Any]]:
                schema = session.sql(f"SELECT * FROM {self._source_name(session)}").schema
                return {field.name: sa_type(field.dataType) for field in schema.fields}

            self._columns = self._run(read)
        return self._columns

    def schema(self) -> dict[str, ColumnKind]:
        return {name: kind_of(type_) for name, type_ in self.column_types().items()}

    def selectable(self) -> FromClause:
        if self._selectable is None:
            columns = [sa.column(name, type_) for name, type_ in self.column_types().items()]
            name = self._run(self._source_name)
            self._selectable = sa.table(quoted_name(name, quote=False), *columns)
        return self._selectable

    # -- running statements --

    def _key(self) -> tuple[str, str]:
        return (masked(self.address), self.config.table or f"{self.config.file_format}:{self.files}")

    def _refresh(self, session: Any) -> None:
        """Let the session see rows added since it last looked, at most once per
        FINGERPRINT_TTL_SECONDS: Spark keeps a table's (or a file view's) file listing and metadata
        for the session's life, so a new file, or rows another session inserted, stay invisible to
        every later query until `catalog.refreshTable` (which only drops that cached listing: it reads
        and writes no rows). A refresh forgets the memoized fingerprint, so the fingerprint always
        describes what the statements read."""
        key = self._key()
        now = time.monotonic()
        seen = _REFRESHED.get(key)
        if seen is not None and now - seen < FINGERPRINT_TTL_SECONDS:
            return
        name = self._source_name(session)
        _REFRESHED[key] = now
        _FINGERPRINTS.pop(key, None)
        try:
            session.catalog.refreshTable(name)
        except Exception as error:
            if _is_session_lost(error) or _is_unreachable(error):
                raise  # the statement's own retry or message
            # a catalog that refuses it (a principal without the right): the rows read are those the
            # session listed, as before

    def fingerprint(self) -> str:
        """Row count and newest timestamp (one aggregate in Spark, memoized for a minute, taken after
        a refresh of the source's listing when one is due: `_refresh`); for files, their listing's
        size and times are not visible here, so the same aggregate stands for them."""
        key = self._key()
        now = time.monotonic()
        cached = _FINGERPRINTS.get(key)
        if cached is not None and now - cached[0] < FINGERPRINT_TTL_SECONDS:
            return cached[1]
        src = self.selectable()
        ts = src.c[self.config.columns.timestamp]
        frame = self.execute(sa.select(sa.func.count().label("n"), sa.func.max(ts).label("newest")))
        count, newest = frame.row(0) if frame.height else (0, None)
        digest = hashlib.sha256(f"{key}\0{count}\0{newest}".encode()).hexdigest()[:16]
        _FINGERPRINTS[key] = (now, digest)
        return digest

    def execute(self, statement: object) -> pl.DataFrame:
        """Run one compiled SELECT in Spark; its rows come back as Arrow."""
        if not isinstance(statement, sa.Select | sa.CompoundSelect):
            raise TypeError("a Spark source runs only the SELECTs Northstar compiles")
        text, values = compile_spark(statement)

        def run(session: Any) -> pl.DataFrame:
            self._source_name(session)  # a new session (the old one closed) gets the view again
            self._refresh(session)
            tag = f"northstar-{uuid.uuid4().hex[:12]}"
            session.addTag(tag)
            timer = threading.Timer(self.config.timeout_seconds, _interrupt, (session, tag))
            timer.daemon = True
            timer.start()
            try:
                table = session.sql(text, args=values or None).toArrow()
            finally:
                timer.cancel()
                session.removeTag(tag)
            return frame_of_arrow(table)

        return self._run(run)  # type: ignore[no-any-return]

    def explain(self, statement: object) -> str:
        """The Spark SQL text, values shown as `?` markers."""
        return compile_spark(statement)[0]

    def probe(self, statement: object) -> Any:
        frame = self.execute(statement)
        return frame.row(0)[0] if frame.height else None


def _view_name(key: tuple[str, str, str]) -> str:
    """The same files get the same view name in every session (a reopened one included)."""
    return "northstar_files_" + hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]


def _interrupt(session: Any, tag: str) -> None:
    with contextlib.suppress(Exception):  # the statement may have finished meanwhile
        session.interruptTag(tag)


__all__ = [
    "SPARK_SQL",
    "SparkConnector",
    "SparkSqlDialect",
    "close_sessions",
    "compile_spark",
    "forget_listings",
    "masked",
    "table_parts",
]
