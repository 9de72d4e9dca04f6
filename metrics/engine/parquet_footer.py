"""A timestamp column's smallest and largest value from parquet footers, without reading the data.

Every parquet writer in use (Polars, pyarrow, DuckDB, Spark) stores per row group the minimum and
maximum of each column in the file's footer (Thrift, compact protocol). The data's range of a
parquet source is the smallest minimum and largest maximum of its timestamp column over every row
group of every file: at 10M events that is a few milliseconds of footer against about 0.15 s of
CPU decoding the column. Only what is certain is used: a top-level INT64 column with a timestamp
type in the unit Polars reads it in, exact `min_value`/`max_value` statistics in every row group
that holds a value. Anything else (no statistics, INT96 stamps, an encrypted footer, a file that
cannot be read) raises NoFooterBounds, and the caller reads the column instead.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

_MAGIC = b"PAR1"
_INT64 = 2
_UNITS = {1: "ms", 2: "us", 3: "ns"}  # the TimeUnit union's fields
_CONVERTED_UNITS = {9: "ms", 10: "us"}  # TIMESTAMP_MILLIS, TIMESTAMP_MICROS

# compact protocol types
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)


class NoFooterBounds(Exception):
    """The footers cannot say the column's bounds for certain: read the column instead."""


class _Reader:
    """Just enough of Thrift's compact protocol to walk a parquet footer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise NoFooterBounds("footer ends early")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = value = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 70:
                raise NoFooterBounds("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def binary(self) -> bytes:
        size = self.varint()
        end = self.at + size
        if end > len(self.data):
            raise NoFooterBounds("footer ends early")
        value = self.data[self.at : end]
        self.at = end
        return value

    def value(self, kind: int) -> object:
        """One value of a type: ints, bytes, bools, lists, and structs as {field id: value}."""
        if kind in (_TRUE, _FALSE):  # inside a list a bool is a byte of its own
            return self.byte() == 1
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.at += 8
            return None
        if kind == _BINARY:
            return self.binary()
        if kind in (_LIST, _SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return [self.value(element) for _ in range(size)]
        if kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.value(types >> 4)
                    self.value(types & 0x0F)
            return None
        if kind == _STRUCT:
            return self.struct()
        raise NoFooterBounds(f"unknown compact type {kind}")

    def struct(self) -> dict[int, object]:
        fields: dict[int, object] = {}
        last = 0
        while True:
            header = self.byte()
            kind = header & 0x0F
            if kind == _STOP:
                return fields
            delta = header >> 4
            last = last + delta if delta else self.zigzag()
            if kind in (_TRUE, _FALSE):  # a bool field carries its value in its type
                fields[last] = kind == _TRUE
            else:
                fields[last] = self.value(kind)


def _footer(path: Path) -> dict[int, object]:
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        if size < 12:
            raise NoFooterBounds("not a parquet file")
        f.seek(size - 8)
        tail = f.read(8)
        if tail[4:] != _MAGIC:  # "PARE": an encrypted footer
            raise NoFooterBounds("no plain parquet footer")
        (length,) = struct.unpack("<i", tail[:4])
        if not 0 < length <= size - 12:
            raise NoFooterBounds("footer length out of range")
        f.seek(size - 8 - length)
        return _Reader(f.read(length)).struct()


def _unit(schema: object, column: str) -> str | None:
    """The time unit of top-level column `column`, from its logical (or converted) type."""
    if not isinstance(schema, list) or not schema or not isinstance(schema[0], dict):
        return None
    i, children = 1, schema[0].get(5, 0)
    for _ in range(children if isinstance(children, int) else 0):
        if i >= len(schema) or not isinstance(schema[i], dict):
            return None
        element = schema[i]
        if element.get(4) == column.encode():
            logical = element.get(10)
            if isinstance(logical, dict) and isinstance(logical.get(8), dict):
                unit = logical[8].get(2)
                return _UNITS.get(next(iter(unit))) if isinstance(unit, dict) and unit else None
            converted = element.get(6)
            return _CONVERTED_UNITS.get(converted) if isinstance(converted, int) else None
        i += _subtree(schema, i)
    return None


def _subtree(schema: list[object], i: int) -> int:
    """How many schema elements the element at `i` and its descendants take."""
    element = schema[i]
    children = element.get(5, 0) if isinstance(element, dict) else 0
    size = 1
    for _ in range(children if isinstance(children, int) else 0):
        if i + size >= len(schema):
            raise NoFooterBounds("schema ends early")
        size += _subtree(schema, i + size)
    return size


def _file_bounds(path: Path, column: str, unit: str) -> tuple[int, int] | None:
    """(min, max) of one file's column; None when the file holds no value of it."""
    meta = _footer(path)
    if _unit(meta.get(2), column) != unit:
        raise NoFooterBounds(f"{column} is not a timestamp in {unit} in {path.name}")
    lo: int | None = None
    hi: int | None = None
    groups = meta.get(4)
    for group in groups if isinstance(groups, list) else []:
        chunks = group.get(1) if isinstance(group, dict) else None
        found = None
        for chunk in chunks if isinstance(chunks, list) else []:
            data = chunk.get(3) if isinstance(chunk, dict) else None
            if isinstance(data, dict) and data.get(3) == [column.encode()]:
                found = data
                break
        if found is None or found.get(1) != _INT64:
            raise NoFooterBounds(f"{column} is not stored as INT64 in {path.name}")
        stats = found.get(12)
        if not isinstance(stats, dict):
            raise NoFooterBounds(f"no statistics for {column} in {path.name}")
        if stats.get(3) is not None and stats.get(3) == found.get(5):  # every value null
            continue
        low, high = stats.get(6), stats.get(5)
        if not (isinstance(low, bytes) and isinstance(high, bytes) and len(low) == len(high) == 8):
            raise NoFooterBounds(f"no min_value/max_value for {column} in {path.name}")
        if stats.get(7) is False or stats.get(8) is False:
            raise NoFooterBounds(f"inexact statistics for {column} in {path.name}")
        (a,) = struct.unpack("<q", low)
        (b,) = struct.unpack("<q", high)
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    if lo is None or hi is None:
        return None
    return lo, hi


def timestamp_bounds(files: Sequence[Path], column: str, unit: str) -> tuple[int, int] | None:
    """The smallest and largest stored value (in `unit` since the epoch, as Polars reads the column)
    of top-level timestamp column `column` over `files`; None when they hold no value of it.

    Raises NoFooterBounds when a footer cannot say for certain (then read the column)."""
    lo: int | None = None
    hi: int | None = None
    for path in files:
        try:
            bounds = _file_bounds(path, column, unit)
        except (OSError, struct.error, RecursionError) as exc:
            raise NoFooterBounds(f"cannot read the footer of {path.name}: {exc}") from exc
        if bounds is None:
            continue
        lo = bounds[0] if lo is None else min(lo, bounds[0])
        hi = bounds[1] if hi is None else max(hi, bounds[1])
    if lo is None or hi is None:
        return None
    return lo, hi


__all__: Sequence[str] = ["NoFooterBounds", "timestamp_bounds"]
