"""The one small protocol every connector implements, and the registry that picks one by `type`.

A connector knows where rows come from and nothing about what the numbers mean. Two shapes exist:
frame connectors hand the engine a Polars LazyFrame (file sources); SQL connectors hand it a
SQLAlchemy selectable and run the statement the engine compiled (so the database does the work):
SQLAlchemy sources (`connectors.sql`) and Spark through Spark Connect (`connectors.spark`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import polars as pl

from connectors.errors import ConnectorError
from connectors.models import FileSource, SourceConfig, SparkSource, SqlSource

if TYPE_CHECKING:  # SQLAlchemy loads with the first SQL source, not with this protocol
    from sqlalchemy.engine import URL
    from sqlalchemy.sql.base import Executable
    from sqlalchemy.sql.selectable import FromClause

ColumnKind = Literal["string", "integer", "float", "boolean", "timestamp", "date", "other"]


@runtime_checkable
class Connector(Protocol):
    name: str
    config: SourceConfig

    def schema(self) -> dict[str, ColumnKind]:
        """Column name -> kind, read without reading the rows."""
        ...

    def fingerprint(self) -> str:
        """Changes whenever the data may have changed (cache key for results)."""
        ...


@runtime_checkable
class FrameConnector(Connector, Protocol):
    def scan(self) -> pl.LazyFrame:
        """All rows, lazily, with the source's own column names."""
        ...


@runtime_checkable
class SqlConnector(Connector, Protocol):
    url: URL  # resolved (`${VAR}` expanded); show it only through `connectors.sql.masked`

    @property
    def dialect_name(self) -> str: ...

    def selectable(self) -> FromClause:
        """The table or subquery holding the events."""
        ...

    def execute(self, statement: Executable) -> pl.DataFrame:
        """Run a compiled SELECT in a read-only session; return its (aggregated) rows."""
        ...

    def explain(self, statement: Executable) -> str:
        """The statement as SQL text for this dialect, values shown as bound parameters."""
        ...


Factory = Callable[[str, SourceConfig, Path], Connector]

# type -> "module:function"; imported on first use so a missing driver only matters when used.
REGISTRY: dict[str, str] = {
    "parquet": "connectors.files:FileConnector",
    "csv": "connectors.files:FileConnector",
    "ndjson": "connectors.files:FileConnector",
    "sql": "connectors.sql:SqlAlchemyConnector",
    "spark": "connectors.spark:SparkConnector",
}


def connect(name: str, config: SourceConfig, root: Path) -> Connector:
    """The connector for one source. `root` is the config folder that relative paths start from."""
    target = REGISTRY.get(config.type)
    if target is None:
        raise ConnectorError(f"source {name!r}: no connector for type {config.type!r}")
    module_name, attr = target.split(":")
    factory: Factory = getattr(importlib.import_module(module_name), attr)
    return factory(name, config, root)


__all__ = [
    "ColumnKind",
    "Connector",
    "ConnectorError",
    "FileSource",
    "FrameConnector",
    "SparkSource",
    "SqlConnector",
    "SqlSource",
    "connect",
]
