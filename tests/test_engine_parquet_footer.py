"""The data's range of a parquet source from its footers (`metrics.engine.parquet_footer`) is the
range read from the column, for every shape of file the footers can answer, and the column is read
whenever they cannot say for certain."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.base import FrameConnector
from metrics.engine import Engine, polars_backend
from metrics.engine.parquet_footer import NoFooterBounds, timestamp_bounds
from metrics.load import load_project

START = dt.datetime(2026, 3, 1, 22, 30)


def _stamps(n: int, step_minutes: int = 37, offset: int = 0) -> list[dt.datetime | None]:
    out: list[dt.datetime | None] = [
        START + dt.timedelta(minutes=step_minutes * ((i * 7919 + offset) % n)) for i in range(n)
    ]
    for i in range(0, n, 11):
        out[i] = None
    return out


def _project(folder: Path, path: str, timezone: str = "UTC") -> Path:
    (folder / "project.yaml").write_text(f"timezone: {timezone}\n")
    source = {
        "type": "parquet",
        "path": path,
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    }
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(
        json.dumps({"metrics": {"rows": {"type": "count", "source": "events"}}})
    )
    return folder


def _frame(stamps: list[dt.datetime | None], dtype: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        {"ts": stamps, "user_id": [f"u{i % 13}" for i in range(len(stamps))], "event": "open"},
        schema={"ts": pl.Datetime("us"), "user_id": pl.String, "event": pl.String},
    ).with_columns(pl.col("ts").cast(dtype) if dtype != pl.Datetime("us") else pl.col("ts"))


def _both_ways(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """The data range with the footers, and with the column read (the footers switched off)."""
    project = load_project(
        _project(folder, "*.parquet") if not (folder / "project.yaml").exists() else folder
    )
    with_footers = Engine(project, result_store=False).data_range(["rows"])
    monkeypatch.setattr(polars_backend, "_footer_range", lambda *args: None)
    read = Engine(project, result_store=False).data_range(["rows"])
    monkeypatch.undo()
    return with_footers, read


def _column_bounds(files: list[Path]) -> tuple[int, int]:
    physical = pl.scan_parquet(files).select(pl.col("ts").to_physical())
    lo, hi = physical.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).collect().row(0)
    return lo, hi


@pytest.mark.parametrize(
    ("dtype", "timezone"),
    [
        (pl.Datetime("us"), "UTC"),
        (pl.Datetime("ns", "UTC"), "Asia/Kolkata"),
        (pl.Datetime("ms", "America/New_York"), "America/Los_Angeles"),
        (pl.Datetime("us"), "Pacific/Kiritimati"),
    ],
)
def test_footers_give_the_range_read_from_the_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: pl.DataType, timezone: str
) -> None:
    # several row groups per file, nulls, two files, one of them only nulls in the column
    _frame(_stamps(5000), dtype).write_parquet(tmp_path / "a.parquet", row_group_size=700)
    _frame(_stamps(3000, 53, 5), dtype).write_parquet(tmp_path / "b.parquet", row_group_size=1000)
    _frame([None] * 50, dtype).write_parquet(tmp_path / "c.parquet")
    _project(tmp_path, "*.parquet", timezone)
    files = sorted(tmp_path.glob("*.parquet"))
    unit = str(dtype.time_unit)  # type: ignore[attr-defined]
    assert timestamp_bounds(files, "ts", unit) == _column_bounds(files)
    with_footers, read = _both_ways(tmp_path, monkeypatch)
    assert with_footers == read
    assert with_footers[0] != with_footers[1]


def test_a_file_without_statistics_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _frame(_stamps(2000), pl.Datetime("us")).to_arrow()
    pq.write_table(table, tmp_path / "a.parquet", write_statistics=False, row_group_size=500)
    _frame(_stamps(100, 11), pl.Datetime("us")).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(NoFooterBounds):
        timestamp_bounds(sorted(tmp_path.glob("*.parquet")), "ts", "us")
    with_footers, read = _both_ways(tmp_path, monkeypatch)
    assert with_footers == read


def test_int96_stamps_and_another_unit_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _frame(_stamps(1000), pl.Datetime("ns")).to_arrow()
    pq.write_table(table, tmp_path / "a.parquet", use_deprecated_int96_timestamps=True)
    with pytest.raises(NoFooterBounds):
        timestamp_bounds([tmp_path / "a.parquet"], "ts", "ns")
    with pytest.raises(NoFooterBounds):  # the footer says microseconds; never reinterpreted
        timestamp_bounds([tmp_path / "a.parquet"], "ts", "ms")
    with_footers, read = _both_ways(tmp_path, monkeypatch)
    assert with_footers == read


def test_implausible_stamps_are_left_out_by_reading_the_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = [*_stamps(500), dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59)]
    _frame(stamps, pl.Datetime("us")).write_parquet(tmp_path / "a.parquet", row_group_size=100)
    with_footers, read = _both_ways(tmp_path, monkeypatch)
    assert with_footers == read
    assert with_footers[0] is not None and with_footers[0].year == 2026  # type: ignore[attr-defined]


def test_nested_columns_before_the_stamp_and_a_plain_column_named_alike(tmp_path: Path) -> None:
    n = 300
    stamps = _stamps(n)
    table = pa.table(
        {
            "meta": pa.array([{"ts": i, "inner": {"ts": -i}} for i in range(n)]),
            "tags": pa.array([[f"t{i}", "x"] for i in range(n)]),
            "ts": pa.array(stamps, pa.timestamp("us")),
            "user_id": pa.array([f"u{i % 7}" for i in range(n)]),
            "event": pa.array(["open"] * n),
        }
    )
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=64)
    files = [tmp_path / "a.parquet"]
    assert timestamp_bounds(files, "ts", "us") == _column_bounds(files)
    with pytest.raises(NoFooterBounds):  # meta.ts is no top-level column
        timestamp_bounds(files, "meta", "us")


def test_damaged_or_empty_files(tmp_path: Path) -> None:
    (tmp_path / "a.parquet").write_bytes(b"PAR1" + b"\x00" * 40 + b"\x10\x00\x00\x00PAR1")
    with pytest.raises(NoFooterBounds):
        timestamp_bounds([tmp_path / "a.parquet"], "ts", "us")
    _frame([], pl.Datetime("us")).write_parquet(tmp_path / "b.parquet")
    assert timestamp_bounds([tmp_path / "b.parquet"], "ts", "us") is None


def test_the_connector_reads_the_footers_of_its_own_files(tmp_path: Path) -> None:
    _frame(_stamps(400), pl.Datetime("us")).write_parquet(tmp_path / "a.parquet", row_group_size=50)
    project = load_project(_project(tmp_path, "a.parquet"))
    engine = Engine(project, result_store=False)
    connector = engine.connector("events")
    assert isinstance(connector, FrameConnector)
    ts = polars_backend._Timestamp("ts", pl.Datetime("us"), "UTC")
    got = polars_backend._footer_range(project.sources["events"], connector, ts)
    column = pl.read_parquet(tmp_path / "a.parquet")["ts"]
    assert got == (column.min(), column.max())
