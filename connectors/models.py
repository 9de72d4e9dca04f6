"""Pydantic models for `sources.yaml`: what a source is and which checks sit on it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from connectors.query_check import backend_of, single_select

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Severity = Literal["error", "warn"]


class StrictModel(BaseModel):
    """Unknown keys are errors; models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


_USER_NOUN = re.compile(r"^[A-Za-z][A-Za-z0-9 '-]*$")


def parse_duration(value: object) -> timedelta:
    """`24h`, `90m`, `3d`, `1w` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 24h, 90m or 3d")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    raise ValueError(f"{value!r} is not a duration; write it like 24h, 90m, 3d or 1w")


def _duration_schema(schema: dict[str, Any]) -> None:
    schema.pop("format", None)
    schema.update({"type": ["string", "number"], "pattern": _DURATION.pattern, "examples": ["24h", "3d"]})


Duration = Annotated[timedelta, Field(json_schema_extra=_duration_schema)]


class ColumnRoles(StrictModel):
    timestamp: str = Field(description="Column holding the event time. Naive timestamps are UTC.")
    user: str | None = Field(default=None, description="Column holding the user id.")
    event: str | None = Field(default=None, description="Column holding the event name.")


class FreshnessCheck(StrictModel):
    warn_after: Duration = Field(description="Warn when the newest timestamp is older than this.")
    error_after: Duration = Field(description="Fail when the newest timestamp is older than this.")

    @field_validator("warn_after", "error_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessCheck:
        if self.error_after < self.warn_after:
            raise ValueError("error_after must not be shorter than warn_after")
        return self


class VolumeCheck(StrictModel):
    window_days: int = Field(default=28, ge=7, le=365, description="Trailing days that define the norm.")
    max_deviation: float = Field(
        default=4.0, gt=0, description="Robust z-score (median/MAD) beyond which a day is anomalous."
    )
    severity: Severity = "warn"


class DuplicatesCheck(StrictModel):
    columns: list[str] | None = Field(
        default=None, description="Columns that identify an event; default: every column."
    )
    severity: Severity = "warn"


BuiltinSeverity = Literal["error", "warn", "off"]


class BuiltinChecks(StrictModel):
    """Severity of the checks every source gets from its column roles (`off` disables one)."""

    timestamp_not_null: BuiltinSeverity = "error"
    user_not_null: BuiltinSeverity = "error"
    timestamp_not_in_future: BuiltinSeverity = "error"


class SourceChecks(StrictModel):
    builtin: BuiltinChecks = Field(default_factory=BuiltinChecks)
    freshness: FreshnessCheck | None = None
    volume: VolumeCheck | None = None
    duplicates: DuplicatesCheck | None = None
    expect: list[dict[str, dict[str, Any]]] = Field(
        default_factory=list,
        description="Great Expectations expectations by name, each with its arguments "
        "(plus optional severity: error | warn).",
    )


class _SourceBase(StrictModel):
    columns: ColumnRoles
    user_noun: str = Field(
        default="users",
        description="What the user column's ids are, as a plural noun read after a number: 'accounts', "
        "'aircraft', 'devices'. Rates, cohorts and funnels say '302 of 543 aircraft'.",
        json_schema_extra={"pattern": _USER_NOUN.pattern, "maxLength": 40},
    )
    dimensions: list[str] = Field(
        default_factory=list, description="The only columns allowed in breakdowns and filters."
    )
    checks: SourceChecks = Field(default_factory=SourceChecks)

    @field_validator("user_noun")
    @classmethod
    def _plain_noun(cls, value: str) -> str:
        # it is printed into Markdown and HTML as it is: plain words only
        if len(value) > 40 or not _USER_NOUN.match(value):
            raise ValueError(
                f"`user_noun` {value!r} should be a plain plural noun (letters, digits, spaces, "
                "hyphens or apostrophes; at most 40), such as accounts or aircraft"
            )
        return value


class FileSource(_SourceBase):
    type: Literal["parquet", "csv", "ndjson"]
    path: str = Field(description="A file or a glob, relative to the config folder.")


class _CountedSource(_SourceBase):
    """A source whose growth is proven by a count the database (or Spark) takes: `sql` and `spark`
    (`metrics.engine.incremental`)."""

    late_arrival_days: int = Field(
        default=3,
        ge=0,
        le=366,
        description="Days before the newest row's day where new rows may still arrive: after new rows, "
        "stored results are recomputed from that day on (earlier days are reused only when a count "
        "shows no row before it changed).",
    )


class SqlSource(_CountedSource):
    type: Literal["sql"]
    url: str = Field(description="SQLAlchemy URL; write credentials as ${VAR}.")
    table: str | None = Field(default=None, description="schema.name or name")
    query: str | None = Field(default=None, description="A SELECT whose rows are the events.")
    timeout_seconds: float = Field(default=60, gt=0, description="Statement timeout.")

    @field_validator("query")
    @classmethod
    def _one_select(cls, query: str | None, info: ValidationInfo) -> str | None:
        url = info.data.get("url")
        if query is None or not isinstance(url, str):
            return query
        single_select(query, backend_of(url))
        return query

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("a sql source needs exactly one of `table:` or `query:`")
        return self


SPARK_SCHEME = "sc://"


class SparkSource(_CountedSource):
    """Rows that a Spark cluster reads, through Spark Connect; the metrics run there as Spark SQL."""

    type: Literal["spark"]
    url: str = Field(
        description="Spark Connect URL: sc://host:port, with parameters after /; "
        "(sc://host:443/;token=${SPARK_TOKEN}); write credentials as ${VAR}."
    )
    table: str | None = Field(
        default=None, description="A catalog table: name, schema.name or catalog.schema.name."
    )
    path: str | None = Field(
        default=None,
        description="Files the Spark server reads: a folder, file or glob (s3a://..., abfss://..., dbfs:/...); "
        "a path without a scheme is a local path, relative to the config folder.",
    )
    format: Literal["parquet", "orc", "json", "csv", "delta"] | None = Field(
        default=None, description="The files' format (with `path:`); default parquet."
    )
    timeout_seconds: float = Field(
        default=300, gt=0, description="A statement running longer is interrupted."
    )

    @field_validator("url")
    @classmethod
    def _spark_connect_url(cls, url: str) -> str:
        if not url.strip().lower().startswith(SPARK_SCHEME):
            raise ValueError(
                "a spark source's url is a Spark Connect URL: sc://host:port (e.g. sc://localhost:15002)"
            )
        return url.strip()

    @model_validator(mode="after")
    def _table_or_path(self) -> SparkSource:
        if (self.table is None) == (self.path is None):
            raise ValueError("a spark source needs exactly one of `table:` or `path:`")
        if self.table is not None and self.format is not None:
            raise ValueError("`format:` goes with `path:`; a `table:` knows its own format")
        if self.table is not None and not self.table.strip():
            raise ValueError("`table:` is empty")
        return self

    @property
    def file_format(self) -> str:
        """The format Spark reads `path:` with (parquet unless `format:` says otherwise)."""
        return self.format or "parquet"


SourceConfig = Annotated[FileSource | SqlSource | SparkSource, Field(discriminator="type")]
# Sources whose metrics compile to SQL that the database (or Spark) runs: `isinstance(x, QuerySource)`.
QuerySource = SqlSource | SparkSource
SOURCE_TYPES = ("parquet", "csv", "ndjson", "sql", "spark")


class SourcesFile(StrictModel):
    sources: dict[Annotated[str, Field(pattern=ID_PATTERN)], SourceConfig]
