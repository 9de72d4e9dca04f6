"""Three of Great Expectations' row-wise expectations judged in Polars, in the built-in checks' scan.

`expect_column_values_to_be_between`, `expect_column_values_to_be_in_set` and
`expect_column_values_to_not_be_null` on a file source are the expectations most projects write,
and importing GX to judge them costs seconds in every process (on 10M rows, more than the scan). Their pandas semantics are short and fixed, so where the
arguments and the column's type leave no doubt (`translate`) they are judged here, by the same rules:

- a row whose value is missing (null; NaN in a float column, as pandas reads it) is not judged,
  except by `not_null`, which judges every row and finds exactly those unexpected (GX's own rule);
- `between`: `min_value <= value <= max_value` (`<` with `strict_min` / `strict_max`), either bound
  may be left out; GX's model holds the bounds as floats, so every value is compared as a float64
  (an integer beyond 2**53 too); `in_set`: the value is one of `value_set`;
- the column is read in the type pandas gives it: an integer column that holds a null anywhere in
  the rows checked is float64 in pandas, so its values are matched against the set (and reported)
  as floats;
- the verdict, the share and the days come from `gx_days.combine`, GX's own arithmetic on the
  counts (`mostly` of the rows judged), the sample is the earliest unexpected values in time order,
  as the per-day path reports them.

Every other expectation, and these with any other argument (`row_condition`, a string or date
bound, bounds the wrong way round, a set of mixed types...), or on another column type, runs in GX as
before. `tests/test_quality_polars_expect.py` holds them against GX's own verdict on the same rows.
The per-row flags are computed in `builtin.frame_profile`'s built-ins' scan (`flags`), summed per raw bucket;
only the earliest unexpected rows are read again, when there are any.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from metrics.quality.builtin import BUCKET_SECONDS, epoch_expr, with_days
from metrics.quality.gx_days import NO_DAY, SAMPLE_SIZE, Batch, combine, mostly
from metrics.quality.report import plain

if TYPE_CHECKING:
    from metrics.quality.gx_runner import Outcome, Spec

# The expectations judged here (tests set it empty to run them in GX).
TRANSLATED = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
    }
)
_ARGS = {
    "expect_column_values_to_not_be_null": frozenset({"column", "mostly"}),
    "expect_column_values_to_be_between": frozenset(
        {"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"}
    ),
    "expect_column_values_to_be_in_set": frozenset({"column", "value_set", "mostly"}),
}
# Integer types pandas compares exactly as Python integers (UInt64 is left to GX), and float64.
_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)
_EXACT = 2**53  # integers up to this are the same as float64: a bound beyond it is left to GX
_BUCKET_US = BUCKET_SECONDS * 1_000_000


@dataclass(frozen=True)
class Native:
    """One expectation as Polars expressions over the source's rows."""

    column: str
    integer: bool  # an integer column: float64 in pandas when it holds a null
    mostly: float
    missing: pl.Expr
    unexpected: pl.Expr  # on the column as it is (and not missing)
    unexpected_float: pl.Expr | None  # in_set on an integer column held as float64 (it has a null)


def translate(spec: Spec, schema: Mapping[str, Any]) -> Native | None:
    """`spec` as Polars expressions, or None when it stays with GX."""
    if spec.name not in TRANSLATED or not set(spec.args) <= _ARGS.get(spec.name, frozenset()):
        return None
    share = mostly(spec)
    column = spec.args.get("column")
    if share is None or not isinstance(column, str) or column not in schema:
        return None
    dtype = schema[column]
    if spec.name == "expect_column_values_to_not_be_null":
        return _not_null(column, dtype, share)
    integer = any(dtype == t for t in _INTS)
    kind = "int" if integer else "float" if dtype == pl.Float64 else "str" if dtype == pl.String else None
    if kind is None:
        return None
    col = pl.col(column)
    missing = (col.is_null() | col.is_nan()) if kind == "float" else col.is_null()
    if spec.name == "expect_column_values_to_be_between":
        test = _between(spec.args, kind)
    else:
        test = _in_set(spec.args, kind)
    if test is None:
        return None
    unexpected = (~test(col, False)).fill_null(False) & ~missing
    as_float = None
    if integer and spec.name == "expect_column_values_to_be_in_set":
        as_float = (~test(col.cast(pl.Float64), True)).fill_null(False) & ~missing
    return Native(column, integer, share, missing, unexpected, as_float)


def _not_null(column: str, dtype: Any, share: float) -> Native | None:
    """GX's own rule: every row is judged (none is missing), a null (NaN in a float column) is
    unexpected, and its value shows as None (on a date or time column GX shows 'NaT': left to GX)."""
    if not any(dtype == t for t in (*_INTS, pl.Float64, pl.String)):
        return None
    col = pl.col(column)
    unexpected = (col.is_null() | col.is_nan()) if dtype == pl.Float64 else col.is_null()
    return Native(column, False, share, pl.lit(False), unexpected, None)


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= _EXACT if isinstance(value, int) else math.isfinite(value)


def _between(args: Mapping[str, Any], kind: str) -> Any:
    low, high = args.get("min_value"), args.get("max_value")
    strict_low, strict_high = args.get("strict_min", False), args.get("strict_max", False)
    if kind == "str" or (low is None and high is None):
        return None
    if any(v is not None and not _number(v) for v in (low, high)):
        return None
    if any(s is not None and not isinstance(s, bool) for s in (strict_low, strict_high)):
        return None
    if low is not None and high is not None and low > high:
        return None  # GX refuses to run it: its message is GX's

    def test(value: pl.Expr, as_float: bool) -> pl.Expr:
        # GX's model holds the bounds as floats, so pandas compares every value as a float64.
        value = value.cast(pl.Float64)
        ok = pl.lit(True)
        if low is not None:
            ok = ok & (value > float(low) if strict_low else value >= float(low))
        if high is not None:
            ok = ok & (value < float(high) if strict_high else value <= float(high))
        return ok

    return test


def _in_set(args: Mapping[str, Any], kind: str) -> Any:
    values = args.get("value_set")
    if not isinstance(values, list) or not values:
        return None
    if kind == "str":
        if not all(isinstance(v, str) for v in values):
            return None
        wanted = pl.Series(values, dtype=pl.String)
    elif kind == "int":
        if not all(_number(v) and isinstance(v, int) for v in values):
            return None
        wanted = pl.Series(values, dtype=pl.Int64)
    else:
        if not all(_number(v) for v in values):
            return None
        wanted = pl.Series([float(v) for v in values], dtype=pl.Float64)

    def test(value: pl.Expr, as_float: bool) -> pl.Expr:
        if as_float:  # an integer column with a null: pandas compares float64 values
            return value.is_in(wanted.cast(pl.Float64).implode())
        if kind == "int":
            return value.cast(pl.Int64).is_in(wanted.implode())
        return value.is_in(wanted.implode())

    return test


def plan(specs: Sequence[Spec], schema: Mapping[str, Any]) -> dict[int, Native]:
    """The specs (by index) judged in Polars."""
    found: dict[int, Native] = {}
    for index, spec in enumerate(specs):
        native = translate(spec, schema)
        if native is not None:
            found[index] = native
    return found


def flags(natives: Mapping[int, Native]) -> dict[str, pl.Expr]:
    """The per-row flags `builtin.frame_profile` sums per raw bucket for `natives`."""
    out: dict[str, pl.Expr] = {}
    for index, native in natives.items():
        out[f"m:{index}"] = native.missing
        out[f"x:{index}"] = native.unexpected
        if native.unexpected_float is not None:
            out[f"f:{index}"] = native.unexpected_float
    return out


def outcomes(
    natives: Mapping[int, Native],
    counted: pl.DataFrame,
    frame: pl.LazyFrame,
    timestamp: str,
    zone: str,
    day_rows: int,
) -> dict[int, Outcome]:
    """The verdicts of `natives` from the flags summed per raw bucket (`counted`: bucket, rows and the
    `flags` columns) on the rows of `frame` (the cut rows, the same the scan read)."""
    schema = frame.collect_schema()
    epoch = epoch_expr(timestamp, schema[timestamp], zone)
    element = int(counted["rows"].sum())
    days = _bucket_days(counted, zone)
    out: dict[int, Outcome] = {}
    for index, native in natives.items():
        missing = int(counted[f"m:{index}"].sum())
        as_float = native.integer and missing > 0  # pandas holds the column as float64
        name = f"f:{index}" if as_float and native.unexpected_float is not None else f"x:{index}"
        count = int(counted[name].sum())
        per_day: dict[str, int] = {}
        for bucket, n in counted.filter(pl.col(name) > 0).select("bucket", name).iter_rows():
            day = NO_DAY if bucket is None else days[int(bucket)]
            per_day[day] = per_day.get(day, 0) + int(n)
        head: list[list[Any]] = []
        if count:
            unexpected = native.unexpected if name.startswith("x") else native.unexpected_float
            assert unexpected is not None
            value = pl.col(native.column).cast(pl.Float64) if as_float else pl.col(native.column)
            keys = list(dict.fromkeys(["_northstar_epoch", timestamp, native.column]))
            first = (
                frame.filter(unexpected)
                .select(epoch.alias("_northstar_epoch"), *dict.fromkeys([timestamp, native.column]))
                .sort(keys, nulls_last=True, maintain_order=True)
                .head(SAMPLE_SIZE)
                .with_columns(value.alias("_northstar_value"))
                .collect()
            )
            for stamp, shown in first.select("_northstar_epoch", "_northstar_value").iter_rows():
                day = NO_DAY if stamp is None else _day(int(stamp), days, zone)
                head.append([day, plain(shown)])
        batch = Batch({}, element, element - missing, count, per_day, head)
        out[index] = combine([batch], native.mostly, day_rows)
    return out


def _bucket_days(counted: pl.DataFrame, zone: str) -> dict[int, str]:
    timed = with_days(counted.select("bucket").filter(pl.col("bucket").is_not_null()), zone)
    return {int(b): d.isoformat() for b, d in timed.iter_rows()}


def _day(stamp: int, days: Mapping[int, str], zone: str) -> str:
    bucket = stamp // _BUCKET_US
    if bucket in days:
        return days[bucket]
    found = with_days(pl.DataFrame({"bucket": [bucket]}, schema={"bucket": pl.Int64}), zone)
    return str(found["day"][0].isoformat())
