"""Load the demo events (or any parquet file of events) into a database table.

This is the one place in Northstar that writes to a database, and only as an explicit command
(`northstar demo --load-into URL`). It replaces the table, loads the rows in chunks and indexes the
timestamp column. PostgreSQL is loaded with COPY, DuckDB from Arrow, everything else with batched
INSERTs through SQLAlchemy.

Column types: timestamps stay timestamps (zoned columns become `timestamptz` where the database has
one, otherwise naive UTC), integers BIGINT, floats DOUBLE, booleans BOOLEAN, text TEXT (VARCHAR(n)
on MySQL/MariaDB, sized to the longest value).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from connectors.base import ConnectorError
from connectors.sql import dispose_engines, masked
from metrics.engine.sql_dialects import SqlDialect, dialect_or_ansi

__all__ = ["load_demo"]


def _column_type(
    name: str, dtype: pl.DataType, frame: pl.LazyFrame, dialect: SqlDialect
) -> sa.types.TypeEngine[Any]:
    if isinstance(dtype, pl.Datetime):
        return dialect.timestamp_type(zoned=dtype.time_zone is not None)
    if dtype == pl.Date:
        return sa.Date()
    if dtype == pl.Boolean:
        return sa.Boolean()
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float() or dtype.is_decimal():
        return sa.Double()
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        if dialect.text_needs_length:
            longest = frame.select(pl.col(name).cast(pl.String).str.len_chars().max()).collect().item()
            return sa.String(max(1, int(longest or 1)))
        return sa.Text()
    raise ValueError(f"column {name!r} has type {dtype}, which the loader does not handle")


def _chunks(frame: pl.LazyFrame, total: int, size: int) -> Iterator[pl.DataFrame]:
    for offset in range(0, total, size):
        yield frame.slice(offset, size).collect()


def _naive_utc(chunk: pl.DataFrame) -> pl.DataFrame:
    """Zoned timestamps as naive UTC (for databases without a zoned type)."""
    fixes = [
        pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for name, dtype in chunk.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    ]
    return chunk.with_columns(fixes) if fixes else chunk


def _copy_postgres(connection: Connection, table: sa.Table, chunk: pl.DataFrame) -> None:
    raw: Any = connection.connection.dbapi_connection
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(c.name) for c in table.columns)
    target = preparer.format_table(table)
    buffer = io.BytesIO()
    chunk.write_csv(buffer, include_header=False)
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def _insert_duckdb(connection: Connection, table: sa.Table, chunk: pl.DataFrame) -> None:
    raw: Any = connection.connection.dbapi_connection
    preparer = connection.dialect.identifier_preparer
    view = "northstar_load_chunk"
    raw.register(view, chunk.to_arrow())
    try:
        columns = ", ".join(preparer.quote(c.name) for c in table.columns)
        raw.execute(f"INSERT INTO {preparer.format_table(table)} ({columns}) SELECT {columns} FROM {view}")
    finally:
        raw.unregister(view)


def _insert_rows(connection: Connection, table: sa.Table, chunk: pl.DataFrame) -> None:
    connection.execute(table.insert(), _naive_utc(chunk).to_dicts())


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConnectorError(f"{url!r} is not a SQLAlchemy URL") from None
    connect_args = dialect_or_ansi(parsed.get_backend_name()).load_connect_args
    try:
        return sa.create_engine(parsed, connect_args=dict(connect_args))
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as error:
        raise ConnectorError(f"cannot load into {masked(parsed)}: {error}") from None


def load_demo(
    parquet_path: Path,
    url: str,
    table: str = "events",
    *,
    chunk_rows: int = 200_000,
    timestamp: str | None = None,
) -> int:
    """Replace `table` at `url` with the rows of `parquet_path`; return the number of rows loaded.

    `table` may be `schema.name`. `timestamp` names the column to index (default: the first
    datetime column).
    """
    if not Path(parquet_path).exists():
        raise ConnectorError(f"no events file at {parquet_path}; run `northstar demo` first")
    frame = pl.scan_parquet(parquet_path)
    schema = frame.collect_schema()
    total = int(frame.select(pl.len()).collect().item())
    dispose_engines()  # a cached read-only engine would hold a DuckDB file open
    engine = _engine(url)
    dialect = dialect_or_ansi(engine.dialect.name)
    schema_name, _, name = table.rpartition(".")
    metadata = sa.MetaData()
    target = sa.Table(
        name,
        metadata,
        *[sa.Column(col, _column_type(col, dtype, frame, dialect)) for col, dtype in schema.items()],
        schema=schema_name or None,
    )
    ts_column = timestamp or next((c for c, d in schema.items() if isinstance(d, pl.Datetime)), None)
    loader = {"copy_csv": _copy_postgres, "arrow": _insert_duckdb, "insert": _insert_rows}[dialect.bulk_load]
    try:
        with engine.begin() as connection:
            target.drop(connection, checkfirst=True)
            target.create(connection)
            for chunk in _chunks(frame, total, chunk_rows):
                loader(connection, target, chunk)
            if ts_column is not None:  # built after the load: faster than maintaining it row by row
                sa.Index(f"ix_{name}_{ts_column}", target.c[ts_column]).create(connection)
        if dialect.analyze_after_load:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(
                    f"ANALYZE {engine.dialect.identifier_preparer.format_table(target)}"
                )
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ConnectorError(f"cannot load into {masked(engine.url)}: {reason}") from None
    finally:
        engine.dispose()
    return total
