"""Built-in checks: timestamp and user not null, no timestamps in the future, freshness, volume, duplicates.

Both kinds of source reduce to one small *profile* before any check is judged: per 15-minute bucket
of UTC time (epoch seconds // 900), the number of rows, of rows without a user, of rows later than
`now`, and the newest timestamp at or before `now`; plus the groups of duplicate rows. File sources
build it with Polars in streaming scans that keep no row (`frame_profile`: sums per bucket, and an
8-byte duplicate key per row, never pandas; only the rows of duplicate candidates are read again);
SQL sources with two or three aggregate queries that run in the database. The checks are then
judged in plain Python on the profile, so files and databases give the same verdicts by construction.

The module is one stage, and long: the profile of both kinds of source and the verdicts judged on
it are one contract (files and databases must agree), so they stay together.

Buckets of 15 minutes map to local days exactly in every time zone in use (all UTC offsets are
multiples of 15 minutes), so days are local calendar days in the project time zone, as everywhere
else in Northstar.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from connectors.base import ConnectorError, SqlConnector
from connectors.files import kind_of
from connectors.models import SourceConfig
from metrics.definitions.models import FilterValue
from metrics.engine.filter_values import frame_rows, source_column, sql_rows
from metrics.engine.local_days import PLAUSIBLE_SECONDS, PLAUSIBLE_WORDS, local_midnight
from metrics.quality.report import CheckResult, Severity, plain

BUCKET_SECONDS = 900
_BUCKET_US = BUCKET_SECONDS * 1_000_000
SAMPLE_SIZE = 5
BATCH_ROWS = 1_000_000  # rows per batch the duplicates' scan hands over (their keys kept, the rest dropped)
KEY_PARTS = 16  # the duplicate keys are sorted a sixteenth at a time
_STAMP_BITS = 0xFFFF_FFFF_0000_0000  # the duplicate key's bits from the timestamp's hash
WEEKDAY_HISTORY_DAYS = 14  # two of each weekday: enough to take the weekly pattern out
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
_COPIES = "_northstar_copies"
_BUCKET = "_northstar_bucket"
_KEY = "_northstar_key"


@dataclass(frozen=True)
class Duplicates:
    columns: tuple[str, ...]
    extra_rows: int  # rows beyond the first of each group of identical rows
    groups: int
    by_bucket: pl.DataFrame  # bucket (Int64, null when the timestamp is), extra (Int64)
    sample: list[dict[str, Any]]


# Metric id -> the rows whose users it counts: its filter, and the events it reads besides (None: any;
# `SourcedMetric.events_read`). `user_not_null` says which of them hold rows without a user.
UserRows = Mapping[str, tuple[Mapping[str, FilterValue], tuple[str, ...] | None]]


@dataclass(frozen=True)
class Profile:
    """What the built-in checks need to know about a source, gathered in one or two passes.

    `buckets`: bucket (Int64, epoch seconds // 900; null for rows without a timestamp), rows,
    null_users, future (Int64), newest (Float64 epoch seconds of the newest row at or before now).
    """

    buckets: pl.DataFrame
    future_sample: list[Any]
    duplicates: Duplicates | None = None
    duplicates_error: str | None = None
    # Per raw bucket (null: no timestamp): rows, and one UInt64 column per fingerprinted column set.
    prints: pl.DataFrame | None = None
    # Per raw bucket (null: no timestamp): rows, and the count of each of `frame_profile`'s `flags`.
    flags: pl.DataFrame | None = None
    # Per bucket (null: no timestamp, as in `buckets`): per metric id of the profile's `user_rows`, the
    # rows without a user among those it counts. None: not asked.
    user_rows: pl.DataFrame | None = None

    @property
    def rows(self) -> int:
        return int(self.buckets["rows"].sum()) if self.buckets.height else 0

    @property
    def null_timestamps(self) -> int:
        nulls = self.buckets.filter(pl.col("bucket").is_null())
        return int(nulls["rows"].sum()) if nulls.height else 0


def _empty_buckets() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "bucket": pl.Int64,
            "rows": pl.Int64,
            "null_users": pl.Int64,
            "future": pl.Int64,
            "newest": pl.Float64,
        }
    )


def _normalise(buckets: pl.DataFrame) -> pl.DataFrame:
    if buckets.height == 0:
        return _empty_buckets()
    return buckets.select(
        pl.col("bucket").cast(pl.Int64),
        pl.col("rows").cast(pl.Int64),
        pl.col("null_users").cast(pl.Int64).fill_null(0),
        pl.col("future").cast(pl.Int64).fill_null(0),
        pl.col("newest").cast(pl.Float64),
    )


def epoch_seconds(moment: dt.datetime) -> float:
    """Seconds since the epoch; a naive datetime is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


# --- file sources: Polars ----------------------------------------------------------------------


def _epoch_us(column: str, dtype: pl.DataType, zone: str) -> pl.Expr:
    """Microseconds since the epoch of each row's timestamp (naive: UTC; a date: local midnight)."""
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return col.dt.epoch("us")
    if dtype == pl.Date:
        local = col.cast(pl.Datetime("us")).dt.replace_time_zone(
            zone, ambiguous="earliest", non_existent="null"
        )
        return local.dt.epoch("us")
    if dtype == pl.String:
        return col.str.to_datetime(time_zone="UTC", strict=False).dt.epoch("us")
    raise ConnectorError(
        f"timestamp column {column!r} holds {dtype} values; point `timestamp:` at a datetime column"
    )


def epoch_expr(column: str, dtype: pl.DataType, zone: str) -> pl.Expr:
    """Microseconds since the epoch of each row's timestamp, as every data check reads it (naive: UTC;
    a date: local midnight; text: parsed as UTC, null when unreadable)."""
    return _epoch_us(column, dtype, zone)


def cut_frame(
    frame: pl.LazyFrame, source: SourceConfig, zone: str, until: dt.datetime | None
) -> pl.LazyFrame:
    """The rows with a timestamp before `until`, and those without one (None: every row)."""
    schema = frame.collect_schema()
    column = source.columns.timestamp
    if until is None or column not in schema:
        return frame
    epoch = _epoch_us(column, schema[column], zone)
    return frame.filter(epoch.is_null() | (epoch < round(epoch_seconds(until) * 1_000_000)))


def cut_selectable(
    connector: SqlConnector, source: SourceConfig, until: dt.datetime | None, zone: str
) -> Any:
    """The source's rows with a timestamp before `until`, and those without one, as a FROM clause
    (None: the source itself); the dialect spells the epoch, as in the profile. A DATE column's day
    starts at its local midnight in `zone`, as a file's Date does."""
    import sqlalchemy as sa

    from metrics.engine.sql_dialects import dialect_or_ansi, is_date_type

    table = connector.selectable()
    column = source.columns.timestamp
    if until is None or column not in table.c:
        return table
    dialect = dialect_or_ansi(connector.dialect_name)
    if is_date_type(table.c[column].type):
        kept = _first_day_from(until, zone)  # the days that start before `until`
        before = table.c[column] < dialect.date_value(kept)
    else:
        before = dialect.epoch_seconds(table.c[column]) < sa.literal(epoch_seconds(until), sa.Float)
    return sa.select(table).where(sa.or_(table.c[column].is_(None), before)).subquery("as_of")


def _first_day_from(moment: dt.datetime, zone: str) -> dt.date:
    """The first local day in `zone` whose midnight is at or after `moment`."""
    day = moment.astimezone(ZoneInfo(zone)).date()
    return day if local_midnight(day, zone) >= moment else day + dt.timedelta(days=1)


def _dates_at_local_midnight(buckets: pl.DataFrame, zone: str, now: dt.datetime | None) -> pl.DataFrame:
    """Buckets of a DATE column, which the database's epoch puts at each day's UTC midnight, moved
    to the day's local midnight in `zone` (as a file's Date; null where that midnight does not
    exist). With `now`, also `future` (the rows of a day starting after it) and `newest` (the latest
    day start at or before it), judged at the local midnight."""
    if buckets.height == 0:
        return buckets
    day = pl.from_epoch(pl.col("bucket") * BUCKET_SECONDS, time_unit="s").dt.date().alias("_day")
    local = (_epoch_us("_day", pl.Date(), zone) // 1_000_000).alias("_e")
    moved = buckets.with_columns(day).with_columns(local)
    bucket = (pl.col("_e") // BUCKET_SECONDS).cast(pl.Int64).alias("bucket")
    if now is None:
        return moved.with_columns(bucket).drop("_day", "_e")
    now_s = epoch_seconds(now)
    return (
        moved.with_columns(
            bucket,
            pl.when(pl.col("_e") > now_s).then(pl.col("rows")).otherwise(0).cast(pl.Int64).alias("future"),
            pl.when(pl.col("_e") <= now_s).then(pl.col("_e")).cast(pl.Float64).alias("newest"),
        )
        .group_by("bucket")
        .agg(
            pl.col("rows").sum(),
            pl.col("null_users").sum(),
            pl.col("future").sum(),
            pl.col("newest").max(),
        )
        .pipe(_normalise)
    )


def frame_profile(
    frame: pl.LazyFrame,
    source: SourceConfig,
    zone: str,
    now: dt.datetime,
    *,
    duplicates: bool,
    until: dt.datetime | None = None,
    prints: Mapping[str, Sequence[str]] | None = None,
    flags: Mapping[str, pl.Expr] | None = None,
    user_rows: UserRows | None = None,
) -> Profile:
    """The profile of a file source from streaming scans of the (cut) rows that keep no row.

    The built-ins' scan sums, per raw 15-minute bucket, the rows, those without a user, those later
    than `now`, the newest timestamp at or before it, and the `prints` and `flags` columns: only one
    row per bucket comes out. The duplicate check's scan (`scan_keys`) reads a 64-bit key per row:
    32 bits of a hash of its timestamp and 32 bits of a hash of the check's columns
    (`duplicate_key`; the latter's 64 when the timestamp is not one of them). Keys seen twice or
    more are the candidates; only their rows are read again (first those whose timestamp hashes
    like a candidate's, then those whose key is one), to group them by their real values, so a hash
    collision can add a candidate but never a duplicate: the copies are exact.
    `prints` (name -> columns): per raw bucket, the wrapping sum of a hash of those columns (with the
    timestamp) and the nulls of each of those columns (`Profile.prints`: `name` and `nulls:COLUMN`),
    for the day fingerprints of the expectations that run per day (`metrics.quality.gx_days`).
    `flags` (name -> a boolean expression per row): per raw bucket, how many rows it holds for
    (`Profile.flags`: `name`), for the expectations judged in Polars (`metrics.quality.polars_expect`).
    `user_rows`: per bucket, the rows without a user among those each metric counts (`Profile.user_rows`),
    from one more scan of the rows without a user alone, only when there are any (a test of each
    metric's filter on every row would cost the built-ins' scan twice its time).
    """
    frame = cut_frame(frame, source, zone, until)
    schema = frame.collect_schema()
    roles = source.columns
    if roles.timestamp not in schema:
        raise ConnectorError(f"the timestamp column {roles.timestamp!r} is not in the data")
    if roles.user is not None and roles.user not in schema:
        raise ConnectorError(f"the user column {roles.user!r} is not in the data")
    raw_epoch = _epoch_us(roles.timestamp, schema[roles.timestamp], zone)
    now_us = round(epoch_seconds(now) * 1_000_000)
    user_null = pl.col(roles.user).is_null() if roles.user is not None else pl.lit(False)
    dup_columns: list[str] | None = None
    dups_error: str | None = None
    if duplicates and source.checks.duplicates is not None:
        dup_columns = list(source.checks.duplicates.columns or schema)
        missing = [c for c in dup_columns if c not in schema]
        if missing:
            dups_error = f"column {missing[0]!r} is not in the data"
            dup_columns = None
    prints = dict(prints or {})
    counted = list(dict.fromkeys(c for columns in prints.values() for c in columns))
    flags = dict(flags or {})
    asked = dict(user_rows) if user_rows is not None else {}
    kinds = {name: kind_of(dtype) for name, dtype in schema.items()}
    selections, which = _distinct_rows(asked)  # metrics counting the same rows share one sum
    counted_rows = [_frame_user_rows(rows, roles.event, kinds) for rows in selections]
    narrow = [
        (raw_epoch // _BUCKET_US).alias("raw"),
        user_null.alias("_u"),
        (raw_epoch > now_us).alias("_future"),
        pl.when(raw_epoch <= now_us).then(raw_epoch).alias("_newest"),
        *(
            _row_hash([roles.timestamp, *(c for c in columns if c != roles.timestamp)]).alias(f"_p{i}")
            for i, columns in enumerate(prints.values())
        ),
        *(pl.col(c).is_null().alias(f"_n{j}") for j, c in enumerate(counted)),
        *(expr.alias(f"_f{k}") for k, expr in enumerate(flags.values())),
    ]
    raw = (
        frame.select(narrow)
        .group_by("raw")
        .agg(
            pl.len().alias("rows"),
            pl.col("_u").sum().alias("null_users"),
            pl.col("_future").sum().alias("future"),
            (pl.col("_newest").max() / 1_000_000).alias("newest"),
            *(pl.col(f"_p{i}").sum() for i in range(len(prints))),
            *(pl.col(f"_n{j}").sum() for j in range(len(counted))),
            *(pl.col(f"_f{k}").sum() for k in range(len(flags))),
        )
        .collect(engine="streaming")  # the built-ins' scan: one row per bucket comes out
    )
    key: pl.Expr | None = None
    keys: KeyStore | None = None
    if dup_columns is not None:  # the duplicates' scan: 8 bytes a row are kept
        key = duplicate_key(dup_columns, raw_epoch if roles.timestamp in dup_columns else None)
        keys = scan_keys(frame, key)
    # A bucket is plausible or not as a whole (the bounds are UTC midnights); an implausible one is
    # no time at all: its rows join the rows without a timestamp, and nothing in it is future or newest.
    low, high = (s // BUCKET_SECONDS for s in PLAUSIBLE_SECONDS)
    plausible = pl.col("raw").is_between(low, high, closed="left")
    buckets = (
        raw.select(
            pl.when(plausible).then(pl.col("raw")).alias("bucket"),
            "rows",
            "null_users",
            pl.when(plausible).then(pl.col("future")).otherwise(0).alias("future"),
            pl.when(plausible).then(pl.col("newest")).alias("newest"),
        )
        .group_by("bucket")
        .agg(pl.col("rows").sum(), pl.col("null_users").sum(), pl.col("future").sum(), pl.col("newest").max())
    )
    future_sample: list[Any] = []
    low_us, high_us = (s * 1_000_000 for s in PLAUSIBLE_SECONDS)
    epoch = pl.when(raw_epoch.is_between(low_us, high_us, closed="left")).then(raw_epoch)  # else: not a time
    if buckets.height and int(buckets["future"].sum()) > 0:
        found = frame.filter(epoch > now_us).select(roles.timestamp).head(SAMPLE_SIZE).collect()
        future_sample = [plain(v) for v in found.to_series()]
    dups: Duplicates | None = None
    if dup_columns is not None:
        assert keys is not None and key is not None
        candidates = keys.repeated()
        if candidates.len() == 0:
            groups = pl.DataFrame(
                schema={**{c: schema[c] for c in dup_columns}, _COPIES: pl.UInt32, _BUCKET: pl.Int64}
            )
        else:
            rows = frame
            if roles.timestamp in dup_columns:  # copies share their timestamp: hash only those times' rows
                bits = pl.lit(_STAMP_BITS, dtype=pl.UInt64)
                stamps = candidates.to_frame("k").select(pl.col("k") & bits).to_series().unique()
                rows = rows.filter((_stamp_hash(raw_epoch) & bits).is_in(stamps.implode()))
            groups = (  # the key on those rows only: a column, so the filter stays above the scan's
                rows.with_columns(key.alias(_KEY))
                .filter(pl.col(_KEY).is_in(candidates.implode()))
                .drop(_KEY)
                .with_columns((epoch // _BUCKET_US).alias(_BUCKET))
                .group_by(dup_columns)
                .agg(pl.len().alias(_COPIES), pl.col(_BUCKET).min())
                .filter(pl.col(_COPIES) > 1)
                .collect()
            )
        dups = _duplicates(tuple(dup_columns), groups)
    printed = (
        raw.select(
            pl.col("raw").alias("bucket"),
            "rows",
            *(pl.col(f"_p{i}").alias(name) for i, name in enumerate(prints)),
            *(pl.col(f"_n{j}").alias(f"nulls:{c}") for j, c in enumerate(counted)),
        )
        if prints
        else None
    )
    flagged = (
        raw.select(
            pl.col("raw").alias("bucket"),
            "rows",
            *(pl.col(f"_f{k}").alias(name) for k, name in enumerate(flags)),
        )
        if flags
        else None
    )
    users: pl.DataFrame | None = None
    if user_rows is not None:  # a scan of the rows without a user alone, when there are any
        found = (
            frame.filter(user_null)
            .select(
                (raw_epoch // _BUCKET_US).alias("raw"),
                *(
                    (pl.lit(True) if rows is None else rows).alias(f"_r{i}")
                    for i, rows in enumerate(counted_rows)
                ),
            )
            .group_by("raw")
            .agg(pl.col(f"_r{i}").sum() for i in range(len(counted_rows)))
            .collect(engine="streaming")
            if int(raw["null_users"].sum() or 0) > 0
            else pl.DataFrame(
                schema={"raw": pl.Int64, **{f"_r{i}": pl.Int64 for i in range(len(counted_rows))}}
            )
        )
        users = (
            found.select(
                pl.when(plausible).then(pl.col("raw")).alias("bucket"),
                *(pl.col(f"_r{which[m]}").cast(pl.Int64).alias(m) for m in asked),
            )
            .group_by("bucket")
            .agg(pl.col(m).sum() for m in asked)
        )
    return Profile(_normalise(buckets), future_sample, dups, dups_error, printed, flagged, users)


def _frame_user_rows(
    rows: tuple[Mapping[str, FilterValue], tuple[str, ...] | None],
    event: str | None,
    kinds: Mapping[str, Any],
) -> pl.Expr | None:
    """The rows a metric counts (`UserRows`), on the file's columns; None (every row: so every row
    without a user counts against it) when they name a column the data lacks (validation says so)."""
    filters, events = rows
    if any(c not in kinds for c in _columns_named(rows, event)):
        return None
    return frame_rows(filters, events, event, kinds)


def _columns_named(
    rows: tuple[Mapping[str, FilterValue], tuple[str, ...] | None], event: str | None
) -> list[str]:
    """The source's columns a metric's counted rows (`UserRows`) are told by."""
    filters, events = rows
    return [source_column(k, event) for k in filters] + ([source_column("event", event)] if events else [])


def duplicate_key(columns: Sequence[str], stamp: pl.Expr | None) -> pl.Expr:
    """Each row's 64-bit duplicate key: the high 32 bits of `_stamp_hash(stamp)` (the timestamp as
    epoch microseconds, when it is one of `columns`) over the high 32 bits of `_row_hash(columns)`;
    without `stamp`, `_row_hash(columns)`. Copies have equal keys; so the copies of a row with a
    given timestamp are found among the rows whose timestamp hashes alike."""
    row = _row_hash(columns)
    if stamp is None:
        return row
    high = pl.lit(_STAMP_BITS, dtype=pl.UInt64)
    return (_stamp_hash(stamp) & high) | (row // pl.lit(1 << 32, dtype=pl.UInt64))


def _stamp_hash(stamp: pl.Expr) -> pl.Expr:
    return stamp.hash()


def scan_keys(frame: pl.LazyFrame, key: pl.Expr) -> KeyStore:
    """The duplicate keys of `frame`'s rows, from one streaming scan, `BATCH_ROWS` at a time."""
    store = KeyStore()
    frame.select(key.alias("_k")).sink_batches(
        lambda batch: store.add(batch.to_series()),
        chunk_size=BATCH_ROWS,
        maintain_order=False,
        engine="streaming",
    )
    return store


class KeyStore:
    """The duplicate keys read, 8 bytes a row, in `KEY_PARTS` lists by their low bits, so that
    `repeated` sorts one part at a time (one part's copy beside them all)."""

    def __init__(self) -> None:
        self.rows = 0
        self._parts: list[list[pl.Series]] = [[] for _ in range(KEY_PARTS)]

    def add(self, keys: pl.Series) -> None:
        split = keys.cast(pl.UInt64).alias("_k").to_frame()
        split = split.with_columns((pl.col("_k") & pl.lit(KEY_PARTS - 1, dtype=pl.UInt64)).alias("p"))
        for (index,), part in split.partition_by("p", as_dict=True, include_key=False).items():
            self._parts[int(index)].append(part.to_series())
        self.rows += keys.len()

    @property
    def nbytes(self) -> int:
        return sum(int(s.estimated_size()) for part in self._parts for s in part)

    def repeated(self) -> pl.Series:
        """The keys seen twice or more, sorted; the store is emptied part by part as it goes."""
        found: list[pl.Series] = []
        for index, held in enumerate(self._parts):
            if held:
                self._parts[index] = []
                ordered = pl.concat(held, rechunk=True).sort()
                del held
                found.append(ordered.filter(ordered == ordered.shift(1)).unique())
                del ordered
        return pl.concat(found).sort() if found else pl.Series("_k", [], dtype=pl.UInt64)


def _row_hash(columns: Sequence[str]) -> pl.Expr:
    """A 64-bit hash of each row's values in `columns` (equal rows, equal hashes; stable within one
    Polars version, which is part of every key that stores it)."""
    return pl.struct([pl.col(c) for c in columns]).hash()


def _duplicates(columns: tuple[str, ...], groups: pl.DataFrame) -> Duplicates:
    """From one row per group of identical rows (+ copies, + bucket of its first timestamp)."""
    by_bucket = (
        groups.group_by(pl.col(_BUCKET).cast(pl.Int64).alias("bucket"))
        .agg((pl.col(_COPIES).cast(pl.Int64) - 1).sum().alias("extra"))
        .sort("bucket")
    )
    try:  # the most copies first, then the earliest, then by value: the same sample every run
        ordered = groups.sort(
            [_COPIES, _BUCKET, *columns], descending=[True, *[False] * (len(columns) + 1)], nulls_last=True
        )
    except pl.exceptions.PolarsError:  # a column Polars cannot sort by
        ordered = groups.sort(_COPIES, descending=True, maintain_order=True)
    sample = [
        {**{c: plain(row[c]) for c in columns}, "copies": int(row[_COPIES])}
        for row in ordered.head(SAMPLE_SIZE).iter_rows(named=True)
    ]
    extra = int((groups[_COPIES].cast(pl.Int64) - 1).sum()) if groups.height else 0
    return Duplicates(columns, extra, groups.height, by_bucket, sample)


# --- SQL sources: aggregate queries in the database --------------------------------------------


def sql_profile(
    connector: SqlConnector,
    source: SourceConfig,
    now: dt.datetime,
    zone: str,
    *,
    duplicates: bool,
    until: dt.datetime | None = None,
    user_rows: UserRows | None = None,
) -> Profile:
    """The profile from aggregate queries in the database; its dialect spells epochs and buckets.
    A DATE column's rows are placed at their day's local midnight in `zone`, as on files.
    `user_rows` as in `frame_profile`, in the same query."""
    import sqlalchemy as sa

    from connectors.sql import kind_of as sql_kind
    from metrics.engine.sql_dialects import dialect_or_ansi, is_date_type

    table = cut_selectable(connector, source, until, zone)
    dialect = dialect_or_ansi(connector.dialect_name)
    roles = source.columns
    columns = {c.name: c for c in table.c}
    if roles.timestamp not in columns:
        raise ConnectorError(f"the timestamp column {roles.timestamp!r} is not in the data")
    if roles.user is not None and roles.user not in columns:
        raise ConnectorError(f"the user column {roles.user!r} is not in the data")
    raw_epoch = dialect.epoch_seconds(columns[roles.timestamp])
    epoch = sa.case(  # outside the plausible years: not a time
        (sa.and_(raw_epoch >= PLAUSIBLE_SECONDS[0], raw_epoch < PLAUSIBLE_SECONDS[1]), raw_epoch)
    )
    now_s = sa.literal(epoch_seconds(now), sa.Float)
    user_null: Any = (
        sa.case((columns[roles.user].is_(None), 1), else_=0) if roles.user is not None else sa.literal(0)
    )
    asked = dict(user_rows) if user_rows is not None else {}
    kinds = {name: sql_kind(column.type) for name, column in columns.items()}
    counted: list[Any] = []
    selections, which = _distinct_rows(asked)  # metrics counting the same rows share one sum
    missing = columns[roles.user].is_(None) if roles.user is not None else sa.false()
    for metric_rows in selections:  # rows without a user among those each metric counts (as on files)
        filters, events = metric_rows
        known = all(c in kinds for c in _columns_named(metric_rows, roles.event))
        rows = sql_rows(filters, events, roles.event, columns, kinds) if known else None
        counted.append(sa.case((missing if rows is None else sa.and_(missing, rows), 1), else_=0))
    inner = sa.select(
        dialect.whole_quotient(epoch, BUCKET_SECONDS).label("bucket"),
        epoch.label("e"),
        user_null.label("u"),
        *(c.label(f"r{i}") for i, c in enumerate(counted)),
    ).subquery("profile")
    query = sa.select(
        inner.c.bucket,
        sa.func.count().label("rows"),
        sa.func.sum(inner.c.u).label("null_users"),
        sa.func.sum(sa.case((inner.c.e > now_s, 1), else_=0)).label("future"),
        sa.func.max(sa.case((inner.c.e <= now_s, inner.c.e), else_=None)).label("newest"),
        *(sa.func.sum(inner.c[f"r{i}"]).label(f"r{i}") for i in range(len(counted))),
    ).group_by(inner.c.bucket)
    answer = connector.execute(query)
    buckets = _normalise(answer)
    users = _normalise_users(answer, which) if user_rows is not None else None
    dated = is_date_type(columns[roles.timestamp].type)
    if dated:
        buckets = _dates_at_local_midnight(buckets, zone, now)
        if users is not None:  # the same days, without the `now` judgement
            users = _dates_at_local_midnight(users, zone, None)
    future_sample: list[Any] = []
    if buckets.height and int(buckets["future"].sum()) > 0:
        later = (
            columns[roles.timestamp] >= dialect.date_value(_first_day_from(now, zone))
            if dated
            else epoch > now_s
        )
        found = connector.execute(sa.select(columns[roles.timestamp]).where(later).limit(SAMPLE_SIZE))
        future_sample = [plain(v) for v in found.to_series()]
    dups: Duplicates | None = None
    dups_error: str | None = None
    if duplicates and source.checks.duplicates is not None:
        names = source.checks.duplicates.columns or list(columns)
        missing = [c for c in names if c not in columns]
        if missing:
            dups_error = f"column {missing[0]!r} is not in the data"
        else:
            keys = [columns[c] for c in names]
            groups_q = (
                sa.select(
                    *keys,
                    sa.func.count().label(_COPIES),
                    sa.func.min(dialect.whole_quotient(epoch, BUCKET_SECONDS)).label(_BUCKET),
                )
                .group_by(*keys)
                .having(sa.func.count() > 1)
                .subquery("dups")
            )
            copies, bucket = groups_q.c[_COPIES], groups_q.c[_BUCKET]
            summary = connector.execute(
                sa.select(
                    bucket.label("bucket"),
                    sa.func.sum(copies - 1).label("extra"),
                    sa.func.count().label("groups"),
                ).group_by(bucket)
            )
            top = connector.execute(
                sa.select(*[groups_q.c[c] for c in names], copies).order_by(copies.desc()).limit(SAMPLE_SIZE)
            )
            by_bucket = summary.select(pl.col("bucket").cast(pl.Int64), pl.col("extra").cast(pl.Int64))
            if dated:
                by_bucket = _dates_at_local_midnight(by_bucket, zone, None)
            by_bucket = by_bucket.sort("bucket")
            dups = Duplicates(
                tuple(names),
                int(summary["extra"].cast(pl.Int64).sum()) if summary.height else 0,
                int(summary["groups"].cast(pl.Int64).sum()) if summary.height else 0,
                by_bucket,
                [
                    {**{c: plain(row[c]) for c in names}, "copies": int(row[_COPIES])}
                    for row in top.iter_rows(named=True)
                ],
            )
    return Profile(buckets, future_sample, dups, dups_error, user_rows=users)


def _normalise_users(answer: pl.DataFrame, which: Mapping[str, int]) -> pl.DataFrame:
    """`Profile.user_rows` from the profile query's `r{i}` columns (metric id -> its i: `which`)."""
    if answer.height == 0:
        return pl.DataFrame(schema={"bucket": pl.Int64, **dict.fromkeys(which, pl.Int64)})
    return answer.select(
        pl.col("bucket").cast(pl.Int64),
        *(pl.col(f"r{i}").cast(pl.Int64).fill_null(0).alias(m) for m, i in which.items()),
    )


def _distinct_rows(
    asked: UserRows,
) -> tuple[list[tuple[Mapping[str, FilterValue], tuple[str, ...] | None]], dict[str, int]]:
    """The distinct row selections of `user_rows`, and each metric's index among them."""
    selections: list[tuple[Mapping[str, FilterValue], tuple[str, ...] | None]] = []
    seen: dict[str, int] = {}
    which: dict[str, int] = {}
    for metric, (filters, events) in asked.items():
        key = repr((sorted((k, repr(v)) for k, v in filters.items()), events))
        if key not in seen:
            seen[key] = len(selections)
            selections.append((filters, events))
        which[metric] = seen[key]
    return selections, which


# --- judging the profile ------------------------------------------------------------------------


def with_days(frame: pl.DataFrame, zone: str) -> pl.DataFrame:
    """Add `day`: the local calendar date of each bucket (null for rows without a timestamp)."""
    instant = pl.from_epoch(pl.col("bucket") * BUCKET_SECONDS, time_unit="s")
    return frame.with_columns(
        instant.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.date().alias("day")
    )


def local_days(stamps: pl.Series, zone: str) -> tuple[dt.date, ...] | None:
    """The local calendar days (project time zone) of timestamps as a source holds them (read as the
    profile reads them: naive is UTC, a date is that local day, text is parsed as UTC), sorted and
    distinct; None when one is missing or unreadable, as such a row cannot be placed on a day."""
    if stamps.dtype == pl.Null or stamps.null_count():
        return None
    try:
        epoch = stamps.to_frame("t").select(_epoch_us("t", stamps.dtype, zone))
    except (ConnectorError, pl.exceptions.PolarsError):
        return None
    if epoch.to_series().null_count():
        return None
    buckets = epoch.select((pl.first() // (BUCKET_SECONDS * 1_000_000)).alias("bucket"))
    return tuple(sorted(with_days(buckets, zone)["day"].unique().to_list()))


def daily(profile: Profile, zone: str) -> pl.DataFrame:
    """day, rows, null_users, future: per local day that has rows with a timestamp."""
    return (
        with_days(profile.buckets.filter(pl.col("bucket").is_not_null()), zone)
        .group_by("day")
        .agg(pl.col("rows").sum(), pl.col("null_users").sum(), pl.col("future").sum())
        .sort("day")
    )


def _reaches(profile: Profile, zone: str) -> tuple[tuple[str, tuple[dt.date, ...]], ...] | None:
    """`CheckResult.reaches` of user_not_null: each metric of the profile's `user_rows` that counts
    some of the rows without a user, with the local days of those rows (none: only rows without a
    timestamp). None when the profile was not asked."""
    users = profile.user_rows
    if users is None:
        return None
    dated = with_days(users.filter(pl.col("bucket").is_not_null()), zone)
    out: list[tuple[str, tuple[dt.date, ...]]] = []
    for metric in sorted(c for c in users.columns if c != "bucket"):
        if int(users[metric].sum() or 0) > 0:
            days = dated.filter(pl.col(metric) > 0)["day"].unique().sort().to_list()
            out.append((metric, tuple(days)))
    return tuple(out)


@dataclass(frozen=True)
class DayVolume:
    day: dt.date
    rows: int
    expected: float
    z: float


def history_needed(window_days: int) -> int:
    """Earlier days a day needs before the volume check judges it."""
    return min(window_days, WEEKDAY_HISTORY_DAYS)


def volume_verdicts(counts: Mapping[dt.date, int], last_day: dt.date, window_days: int) -> list[DayVolume]:
    """Judge each of the last `window_days` days up to `last_day` against its own trailing norm.

    Days without rows between the first day with data and `last_day` count as 0. Counts are
    compared on a log scale, g = log(1 + count), because day-to-day noise in product data is
    proportional to its size. For a day d, the history H is the `window_days` days before it, none
    before the first day with data; d is judged only when H holds min(window_days, 14) days, so a
    new source's first two weeks are not judged. With 14 or more days in H the weekly pattern is
    taken out first: weekday w's offset o(w) is the
    median g of H's days on that weekday minus the median g of H. The norm is the median L of
    g - o(weekday) over H, so d is expected at L + o(weekday of d). The spread S is 1.4826 x the
    median absolute residual, where each history day's residual uses weekday offsets computed
    without that day (so the fitted offsets do not shrink the spread). The robust z is
    (g(d) - L - o) / max(S, 1 / sqrt(expected count)); the floor is the Poisson noise of a count
    of that size, so a perfectly regular history does not turn small wobbles into anomalies.
    """
    if not counts:
        return []
    first = min(counts)
    if last_day < first:
        return []
    span = (last_day - first).days + 1
    series = [counts.get(first + dt.timedelta(days=i), 0) for i in range(span)]
    logs = [math.log1p(c) for c in series]
    weekday = [(first + dt.timedelta(days=i)).weekday() for i in range(span)]
    needed = history_needed(window_days)
    out: list[DayVolume] = []
    for index in range(max(0, span - window_days), span):
        history = list(range(max(0, index - window_days), index))
        if len(history) < needed:
            continue
        center = statistics.median(logs[i] for i in history)
        by_weekday: dict[int, list[int]] = {}
        if len(history) >= WEEKDAY_HISTORY_DAYS:
            for i in history:
                by_weekday.setdefault(weekday[i], []).append(i)
        offsets = [_offset(logs, by_weekday.get(w, []), center) for w in range(7)]
        level = statistics.median(logs[i] - offsets[weekday[i]] for i in history)
        residuals = [
            logs[i] - _offset(logs, by_weekday.get(weekday[i], []), center, without=i) - level
            for i in history
        ]
        middle = statistics.median(residuals)
        spread = MAD_TO_SIGMA * statistics.median(abs(r - middle) for r in residuals)
        expected_log = level + offsets[weekday[index]]
        expected = math.expm1(expected_log)
        scale = max(spread, 1.0 / math.sqrt(max(expected, 1.0)))
        day = first + dt.timedelta(days=index)
        out.append(DayVolume(day, series[index], expected, (logs[index] - expected_log) / scale))
    return out


def _offset(logs: Sequence[float], days: Sequence[int], center: float, without: int | None = None) -> float:
    """A weekday's offset: the median log count of its days (less `without`) minus the overall median."""
    values = [logs[i] for i in days if i != without]
    return statistics.median(values) - center if values else 0.0


def _days_text(days: Sequence[tuple[dt.date, str]], limit: int = 3) -> str:
    shown = ", ".join(
        f"{day.isoformat()} ({note})" if note else day.isoformat() for day, note in days[:limit]
    )
    more = len(days) - limit
    return shown + (f" and {more} more day{'s' if more > 1 else ''}" if more > 0 else "")


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def builtin_results(
    name: str,
    source: SourceConfig,
    profile: Profile,
    *,
    zone: str,
    now: dt.datetime,
    ran_at: dt.datetime,
) -> list[CheckResult]:
    """The verdict of every built-in check configured on the source, in a fixed order."""
    out: list[CheckResult] = []
    roles, checks = source.columns, source.checks
    total = profile.rows
    days = daily(profile, zone)
    today = now.astimezone(dt.UTC).astimezone(_zone(zone)).date()

    def result(
        check: str,
        severity: Severity,
        success: bool,
        unexpected: int | None,
        details: str,
        sample: list[Any] | None = None,
        affected: Sequence[dt.date] = (),
    ) -> CheckResult:
        return CheckResult(
            name, check, severity, success, unexpected, details, sample or [], ran_at, tuple(sorted(affected))
        )

    level = checks.builtin.timestamp_not_null
    if level != "off":
        nulls = profile.null_timestamps
        out.append(
            result(
                "timestamp_not_null",
                level,
                nulls == 0,
                nulls,
                f"every row has a {roles.timestamp!r}"
                if nulls == 0
                else f"{nulls:,} of {total:,} rows have no {roles.timestamp!r} (null, not a time, or outside "
                f"{PLAUSIBLE_WORDS}); they fall in no period",
            )
        )
    level = checks.builtin.user_not_null
    if roles.user is not None and level != "off":
        hit = days.filter(pl.col("null_users") > 0)
        nulls = int(profile.buckets["null_users"].sum()) if profile.buckets.height else 0
        worst = hit.sort(["null_users", "day"], descending=[True, False])
        notes = [
            (row["day"], f"{row['null_users']:,} of {row['rows']:,} rows")
            for row in worst.iter_rows(named=True)
        ]
        reaches = _reaches(profile, zone) if nulls else None
        inside = ""
        if reaches is not None:  # which metrics count some of them (`CheckResult.reaches`)
            names = [m for m, _ in reaches]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
            inside = (
                f"; {shown} count{'s' if len(names) == 1 else ''} some of them"
                if names
                else "; no metric that counts users counts them"
            )
        unchecked = result(
            "user_not_null",
            level,
            nulls == 0,
            nulls,
            f"every row has a {roles.user!r}"
            if nulls == 0
            else f"{nulls:,} of {total:,} rows have no {roles.user!r}, so they are not users in active "
            f"users, retention and funnels{inside}; worst: {_days_text(notes)}",
            [
                {"day": d.isoformat(), "null_rows": row["null_users"], "rows": row["rows"]}
                for d, row in ((r["day"], r) for r in worst.head(SAMPLE_SIZE).iter_rows(named=True))
            ],
            hit["day"].to_list(),
        )
        out.append(dataclasses.replace(unchecked, reaches=reaches))
    level = checks.builtin.timestamp_not_in_future
    if level != "off":
        future = int(profile.buckets["future"].sum()) if profile.buckets.height else 0
        out.append(
            result(
                "timestamp_not_in_future",
                level,
                future == 0,
                future,
                f"no {roles.timestamp!r} is later than {_stamp(now)}"
                if future == 0
                else f"{_rows(future)} {'has' if future == 1 else 'have'} a {roles.timestamp!r} later than now "
                f"({_stamp(now)}); "
                "a clock or time-zone bug upstream?",
                list(profile.future_sample),
                days.filter(pl.col("future") > 0)["day"].to_list(),
            )
        )
    if checks.freshness is not None:
        out.append(_freshness(name, source, profile, now, ran_at))
    if checks.volume is not None:
        volume = checks.volume
        counts = {
            row["day"]: int(row["rows"]) for row in days.iter_rows(named=True) if row["day"] is not None
        }
        last_day = min(max(counts), today - dt.timedelta(days=1)) if counts else today
        verdicts = volume_verdicts(counts, last_day, volume.window_days)
        flagged = [v for v in verdicts if abs(v.z) > volume.max_deviation]
        if not verdicts:
            details = (
                f"not enough history to judge: a day needs {history_needed(volume.window_days)} earlier "
                "days with data (the current day is never judged)"
            )
        elif not flagged:
            details = (
                f"each of the last {len(verdicts)} complete days is within {volume.max_deviation:g} robust z "
                f"of its trailing {volume.window_days}-day norm"
            )
        else:
            notes = [
                (v.day, f"{v.rows:,} rows, expected about {v.expected:,.0f}, z {v.z:+.1f}") for v in flagged
            ]
            details = (
                f"{len(flagged)} of the last {len(verdicts)} complete days {'is' if len(flagged) == 1 else 'are'} "
                f"far from their trailing "
                f"{volume.window_days}-day norm (|z| > {volume.max_deviation:g}): {_days_text(notes)}"
            )
        out.append(
            result(
                "volume",
                volume.severity,
                not flagged,
                len(flagged),
                details,
                [
                    {
                        "day": v.day.isoformat(),
                        "rows": v.rows,
                        "expected": round(v.expected, 1),
                        "z": round(v.z, 2),
                    }
                    for v in flagged[:SAMPLE_SIZE]
                ],
                [v.day for v in flagged],
            )
        )
    if checks.duplicates is not None:
        out.append(_duplicates_result(name, source, profile, zone, ran_at))
    return out


def no_data_result(name: str, zone: str, until: dt.datetime | None, ran_at: dt.datetime) -> CheckResult:
    """The one verdict of a source with no rows to check (up to `until`, the cut of a past as-of):
    `has_data`, a failed error. Every other check would pass vacuously on zero rows ("every row has
    a timestamp"), which is no news about the data."""
    if until is None:
        details = "the source has no rows, so there is no data to check; its checks ran on nothing"
    else:
        day = (until.astimezone(_zone(zone)) - dt.timedelta(microseconds=1)).date()
        details = (
            f"no data to check up to {day.isoformat()}: the source has no rows up to the end of that day "
            f"({zone}); check as of a day on or after its first day"
        )
    return CheckResult(name, "has_data", "error", False, None, details, [], ran_at)


def _duplicates_result(
    name: str, source: SourceConfig, profile: Profile, zone: str, ran_at: dt.datetime
) -> CheckResult:
    config = source.checks.duplicates
    assert config is not None
    what = "rows" if config.columns is None else f"rows with the same ({', '.join(config.columns)})"
    dups = profile.duplicates
    if dups is None:
        reason = profile.duplicates_error or "duplicates were not computed"
        return CheckResult(
            name, "duplicates", config.severity, False, None, f"cannot check duplicates: {reason}", [], ran_at
        )
    if dups.extra_rows == 0:
        return CheckResult(name, "duplicates", config.severity, True, 0, f"no duplicate {what}", [], ran_at)
    per_day = (
        with_days(dups.by_bucket.filter(pl.col("bucket").is_not_null()), zone)
        .group_by("day")
        .agg(pl.col("extra").sum())
        .sort(["extra", "day"], descending=[True, False])
    )
    notes = [(row["day"], f"{row['extra']:,} extra") for row in per_day.iter_rows(named=True)]
    extra, groups = dups.extra_rows, dups.groups
    if config.columns is None:
        text = (
            f"{extra:,} extra {'copy' if extra == 1 else 'copies'} of {groups:,} "
            f"{'row that appears' if groups == 1 else 'rows that appear'} more than once"
        )
    else:
        text = (
            f"{_rows(extra)} {'repeats' if extra == 1 else 'repeat'} the ({', '.join(config.columns)}) of an "
            f"earlier row ({groups:,} {'value appears' if groups == 1 else 'values appear'} more than once)"
        )
    details = text + (f"; on {_days_text(notes)}" if notes else "")
    return CheckResult(
        name,
        "duplicates",
        config.severity,
        False,
        dups.extra_rows,
        details,
        list(dups.sample),
        ran_at,
        tuple(sorted(per_day["day"].to_list())),
    )


def _freshness(
    name: str, source: SourceConfig, profile: Profile, now: dt.datetime, ran_at: dt.datetime
) -> CheckResult:
    config = source.checks.freshness
    assert config is not None
    limits = f"warn after {_duration(config.warn_after)}, error after {_duration(config.error_after)}"
    newest_values = profile.buckets["newest"].drop_nulls() if profile.buckets.height else pl.Series([])
    if newest_values.len() == 0:
        return CheckResult(
            name,
            "freshness",
            "error",
            False,
            None,
            f"no row has a timestamp at or before now ({limits})",
            [],
            ran_at,
        )
    newest = dt.datetime.fromtimestamp(float(newest_values.max()), dt.UTC)  # type: ignore[arg-type]
    age = now.astimezone(dt.UTC) - newest
    text = f"the newest row is from {_stamp(newest)}, {_age(age)} old ({limits})"
    if age > config.error_after:
        return CheckResult(name, "freshness", "error", False, None, text, [newest.isoformat()], ran_at)
    if age > config.warn_after:
        return CheckResult(name, "freshness", "warn", False, None, text, [newest.isoformat()], ran_at)
    return CheckResult(name, "freshness", "error", True, None, text, [newest.isoformat()], ran_at)


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
