"""Data checks at scale: the built-in checks in one Polars scan (duplicates through row hashes) and
Great Expectations' row-wise expectations on the new days only, combined with stored verdicts into
exactly the report a full run gives."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.quality import builtin, clear_cache, gx_days, gx_runner, polars_expect, run_checks
from tests.conftest import ROOT
from tests.test_quality_helpers import by_check, project

NOW = dt.datetime(2026, 3, 25, 6, 0, tzinfo=dt.UTC)
FIRST = dt.date(2026, 3, 1)
EXPECT = """
duplicates: {}
expect:
  - expect_column_values_to_be_between: {column: amount, min_value: 0, max_value: 100}
  - expect_column_values_to_be_in_set: {column: platform, value_set: [web, ios, android], severity: warn}
  - expect_column_values_to_not_be_null: {column: user_id, mostly: 0.9}
  - expect_column_values_to_be_between: {column: clicks, min_value: 0}
  - expect_column_mean_to_be_between: {column: amount, min_value: 0, max_value: 1000}
"""
SCHEMA = {
    "ts": pl.Datetime("us"),
    "user_id": pl.String,
    "event": pl.String,
    "platform": pl.String,
    "amount": pl.Float64,
    "clicks": pl.Int64,
}


def _rows(
    days: range, seed: int, *, bad: float = 0.02, click_nulls_from: int = 10**6, stamps: bool = True
) -> list[tuple[Any, ...]]:
    """Rows on days FIRST+d for d in `days`, in random order, with defects: negative and huge
    amounts, unknown platforms, missing users and timestamps, negative clicks."""
    rng = random.Random(seed)
    rows: list[tuple[Any, ...]] = []
    for d in days:
        day = FIRST + dt.timedelta(days=d)
        for k in range(rng.randint(20, 40)):
            ts: dt.datetime | None = dt.datetime(day.year, day.month, day.day) + dt.timedelta(
                seconds=rng.randint(0, 86_399)
            )
            if rng.random() < bad / 2 and stamps:
                ts = None
            amount = rng.choice([None, 1.5, 20.0, 99.0]) if rng.random() > bad else rng.choice([-5.0, 250.0])
            platform = rng.choice(["web", "ios", "android"]) if rng.random() > bad else "desktop"
            user = f"u{rng.randint(1, 50)}" if rng.random() > bad else None
            clicks: int | None = rng.randint(0, 9) if rng.random() > bad else -1
            if d >= click_nulls_from and k == 0:
                clicks = None
            rows.append((ts, user, "page_view", platform, amount, clicks))
    rng.shuffle(rows)
    return rows


def _write(folder: Path, rows: list[tuple[Any, ...]]) -> None:
    path = folder / "data" / "events.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame([list(r) for r in rows], schema=SCHEMA, orient="row").write_parquet(path)


def _report(
    folder: Path, cache: Path, *, zone: str = "Europe/Berlin", checks: str = EXPECT
) -> list[tuple[Any, ...]]:
    os.environ["NORTHSTAR_CACHE_DIR"] = str(cache)
    clear_cache()
    proj = project(folder, checks, timezone=zone)
    assert proj.problems == ()
    report = run_checks(proj, now=NOW)
    return [
        (r.check, r.severity, r.success, r.unexpected_count, r.details, r.sample, r.days)
        for r in report.results
    ]


@pytest.fixture(autouse=True)
def _gx_judges_every_expectation(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about GX's per-day runs, which serve every row-wise expectation that is not
    judged in Polars; here GX judges all of them (tests/test_quality_polars_expect.py: the others)."""
    monkeypatch.setattr(polars_expect, "TRANSLATED", frozenset())


@pytest.fixture
def cache_dir(tmp_path: Path) -> Any:
    saved = os.environ.get("NORTHSTAR_CACHE_DIR")
    yield tmp_path / "state"
    if saved is not None:
        os.environ["NORTHSTAR_CACHE_DIR"] = saved


def test_incremental_runs_give_the_full_runs_report_on_growing_data(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    seen: list[int] = []
    real = gx_runner.run_on_pandas

    def counting(frame: Any, specs: Any) -> Any:
        if all(s.name in gx_days.ROW_WISE for s in specs):
            seen.append(len(frame))
        return real(frame, specs)

    monkeypatch.setattr(gx_runner, "run_on_pandas", counting)
    steps = [
        _rows(range(0, 10), 1),
        _rows(range(0, 10), 1) + _rows(range(10, 14), 2),  # four new days
        _rows(range(0, 10), 1) + _rows(range(10, 14), 2) + _rows(range(13, 14), 3),  # the last day grows
        _rows(range(0, 10), 1) + _rows(range(10, 14), 2) + _rows(range(13, 14), 3) + _rows(range(3, 4), 4),
        _rows(range(0, 10), 1) + _rows(range(10, 14), 2) + _rows(range(13, 14), 3) + _rows(range(3, 4), 4)
        + _rows(range(14, 20), 5, click_nulls_from=16),  # late rows for day 3; clicks gain nulls
    ]  # fmt: skip
    for number, rows in enumerate(steps):
        random.Random(number).shuffle(rows)  # the file's order changes each time
        _write(folder, rows)
        seen.clear()
        incremental = _report(folder, cache_dir)
        gx_rows_incremental = sum(seen)
        full = _report(folder, tmp_path / f"empty{number}")
        assert incremental == full, f"step {number}"
        got = {c[0]: c for c in full}
        assert not got["expect_column_values_to_be_between(amount)"][2]
        if number == 2:  # only the newest day was given to GX again (three row-wise column sets, one run)
            newest = sum(1 for r in rows if r[0] is not None and r[0].date() == FIRST + dt.timedelta(days=13))
            assert gx_rows_incremental < len(rows) // 3
            assert newest <= gx_rows_incremental


@pytest.mark.parametrize("stamps", [True, False])
def test_per_day_verdicts_match_gx_on_all_rows(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, stamps: bool
) -> None:
    """Independent reference: GX itself on every row at once (the path without per-day verdicts)."""
    folder = tmp_path / "p"
    _write(folder, _rows(range(0, 20), 7, bad=0.05, stamps=stamps))
    ours = _report(folder, cache_dir)
    monkeypatch.setattr(gx_days, "ROW_WISE", frozenset())
    reference = _report(folder, tmp_path / "other")
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference, strict=True):
        check, severity, success, count, details, sample, days = mine
        assert (check, severity, success, count, days) == (
            theirs[0],
            theirs[1],
            theirs[2],
            theirs[3],
            theirs[6],
        )
        assert details.split(", e.g.")[0] == theirs[4].split(", e.g.")[0]
        if check.startswith("expect_column_values"):
            assert len(sample) == len(theirs[5])
    by_name = {c[0]: c for c in ours}
    amount = by_name["expect_column_values_to_be_between(amount)"]
    # the days of its unexpected rows, unless one of them has no timestamp
    assert bool(amount[6]) == (not stamps)


def test_more_unexpected_rows_than_gx_lists_name_no_days(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gx_runner, "DAY_ROWS", 4)
    folder = tmp_path / "p"
    for number, days in enumerate([range(0, 6), range(0, 9)]):
        _write(folder, _rows(days, 11, bad=0.1))
        incremental = _report(folder, cache_dir)
        full = _report(folder, tmp_path / f"empty{number}")
        assert incremental == full
        amount = {c[0]: c for c in full}["expect_column_values_to_be_between(amount)"]
        assert amount[3] > 4 and amount[6] == ()


def test_a_repeat_run_does_not_run_gx(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    _write(folder, _rows(range(0, 8), 3))
    first = _report(folder, cache_dir, checks=EXPECT.split("  - expect_column_mean")[0])

    def refuse(frame: Any, specs: Any) -> Any:
        raise AssertionError("GX ran on days it had judged")

    monkeypatch.setattr(gx_runner, "run_on_pandas", refuse)
    assert _report(folder, cache_dir, checks=EXPECT.split("  - expect_column_mean")[0]) == first


def test_a_repeat_process_does_not_import_gx(tmp_path: Path, cache_dir: Path) -> None:
    folder = tmp_path / "p"
    _write(folder, _rows(range(0, 8), 3))
    # a regex is judged by GX (per day) in the new process too: its stored verdicts are what is reused
    checks = (
        EXPECT.split("  - expect_column_mean")[0]
        + "  - expect_column_values_to_match_regex: {column: platform, regex: '^[a-z]+$'}\n"
    )
    _report(folder, cache_dir, checks=checks)
    code = (
        "import sys, datetime as dt; from metrics.load import load_project; from metrics.quality import run_checks\n"
        f"r = run_checks(load_project({str(folder)!r}), now=dt.datetime(2026, 3, 25, 6))\n"
        "assert any(x.check.startswith('expect_') for x in r.results)\n"
        "print('great_expectations' in sys.modules)"
    )
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_combine_follows_gx_arithmetic() -> None:
    """`mostly` of the rows judged, vacuous success with none, the share of the rows judged."""
    one = gx_days.Batch({"2026-03-01": "1:1"}, 10, 8, 1, {"2026-03-01": 1}, [["2026-03-01", -1.0]])
    two = gx_days.Batch({"2026-03-02": "1:2"}, 10, 10, 1, {"2026-03-02": 1}, [["2026-03-02", -2.0]])
    got = gx_days.combine([two, one], 0.85, 2000)
    assert (got.success, got.unexpected_count) == (True, 2)  # (18 - 2) / 18 of the rows judged >= 0.85
    assert not gx_days.combine([two, one], 0.9, 2000).success
    assert got.sample == [-1.0, -2.0]  # time order, whatever the batches' order
    assert got.days == ()  # a success names no days
    failed = gx_days.combine([two, one], 1.0, 2000)
    assert failed.days == (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert "2 of 20 values are unexpected (11% of non-null)" in failed.details
    assert gx_days.combine([two, one], 1.0, 1).days == ()  # more rows than GX lists: no days
    empty = gx_days.combine([gx_days.Batch({"-": "1:0"}, 3, 0, 0, {}, [])], 1.0, 2000)
    assert empty.success and "no unexpected values of 3" in empty.details


def test_row_wise_expectations_are_gx_map_expectations_with_the_generic_arithmetic() -> None:
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    own_rules = {"expect_column_values_to_be_null", "expect_column_values_to_not_be_null"}
    for name in gx_days.ROW_WISE:
        cls = gx_runner.expectation_class(name)
        assert cls is not None, name
        base = next(
            b
            for b in (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
            if issubclass(cls, b)
        )
        assert cls._validate is base._validate or name in own_rules, name
    for name in ("expect_column_values_to_be_unique", "expect_column_values_to_be_increasing"):
        assert name not in gx_days.ROW_WISE  # they compare rows with each other


# --- built-in checks ----------------------------------------------------------------------------


def _dup_rows() -> pl.DataFrame:
    base = dt.datetime(2026, 3, 2, 10)
    rows = [
        (base, "u1", "a", "web", None, 1),
        (base, "u1", "a", "web", None, 1),  # copy
        (base, "u1", "a", "web", None, 1),  # copy
        (base, "u1", "a", "ios", None, 1),  # differs in platform
        (None, "u2", "b", "web", 1.0, None),
        (None, "u2", "b", "web", 1.0, None),  # copy without a timestamp
        (base + dt.timedelta(days=1), "u3", "c", "web", float("nan"), 2),
        (base + dt.timedelta(days=1), "u3", "c", "web", float("nan"), 2),  # NaN equals NaN, as before
        (base + dt.timedelta(days=2), "u1", "a", "web", None, 1),  # same user and event, other day
    ]
    return pl.DataFrame([list(r) for r in rows], schema=SCHEMA, orient="row")


def _independent_duplicates(data: pl.DataFrame, columns: list[str]) -> tuple[int, int]:
    counted = Counter(
        tuple("nan" if isinstance(v, float) and v != v else v for v in row)
        for row in data.select(columns).iter_rows()
    )
    return sum(n - 1 for n in counted.values() if n > 1), sum(1 for n in counted.values() if n > 1)


@pytest.mark.parametrize("collide", [False, True])
@pytest.mark.parametrize("columns", [None, ["user_id", "event"]])
def test_duplicates_are_exact_even_when_hashes_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collide: bool, columns: list[str] | None
) -> None:
    if collide:  # every row gets the same hashes: each is a candidate, and the exact grouping decides
        zero = pl.lit(0, dtype=pl.UInt64)
        monkeypatch.setattr(builtin, "_row_hash", lambda cols: (pl.struct(cols).hash() & zero).alias("h"))
        monkeypatch.setattr(builtin, "_stamp_hash", lambda stamp: stamp.hash() & zero)
    data = _dup_rows()
    path = tmp_path / "data" / "events.parquet"
    path.parent.mkdir(parents=True)
    data.write_parquet(path)
    config = "duplicates: {}" if columns is None else f"duplicates: {{columns: [{', '.join(columns)}]}}"
    clear_cache()
    result = by_check(run_checks(project(tmp_path, config), now=NOW))["duplicates"]
    extra, groups = _independent_duplicates(data, columns or list(SCHEMA))
    assert result.unexpected_count == extra
    assert f"{groups:,} " in result.details
    if columns is None:
        assert result.days == (dt.date(2026, 3, 2), dt.date(2026, 3, 3))
        assert result.sample[0]["copies"] == 3


def test_implausible_timestamps_are_no_time(tmp_path: Path) -> None:
    rows = [
        (dt.datetime(1, 1, 1), "u1", "a", "web", 1.0, 1),
        (dt.datetime(9999, 12, 31), "u1", "a", "web", 1.0, 1),
        (dt.datetime(2026, 3, 2, 10), None, "a", "web", 1.0, 1),
    ]
    path = tmp_path / "data" / "events.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame([list(r) for r in rows], schema=SCHEMA, orient="row").write_parquet(path)
    clear_cache()
    got = by_check(run_checks(project(tmp_path), now=NOW))
    assert got["timestamp_not_null"].unexpected_count == 2
    assert got["timestamp_not_in_future"].unexpected_count == 0  # year 9999 is not a time, so not future
    assert got["user_not_null"].days == (dt.date(2026, 3, 2),)


_TRANSLATED = polars_expect.TRANSLATED  # before the fixture above empties it


def test_the_file_scans_keep_no_row_and_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in checks of a file keep no row in memory: every frame collected is a summary (one
    row per bucket, or the duplicates' rows), the scans run in the streaming engine, the duplicate
    keys take 8 bytes a row, and the duplicates' second read hashes only the rows whose timestamp
    hashes like a candidate's (the row hash is not in the scan's predicate)."""
    monkeypatch.setattr(polars_expect, "TRANSLATED", _TRANSLATED)  # `between` judged in the scan
    monkeypatch.setattr(builtin, "BATCH_ROWS", 500)
    rows = _rows(range(2), seed=3) * 100  # every row 100 times, over two days
    path = tmp_path / "data" / "events.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame([list(r) for r in rows], schema=SCHEMA, orient="row").write_parquet(path)
    collected: list[tuple[int, dict[str, Any], str]] = []
    streamed: list[dict[str, Any]] = []
    stores: list[builtin.KeyStore] = []
    collect, sink, store_init = pl.LazyFrame.collect, pl.LazyFrame.sink_batches, builtin.KeyStore.__init__

    def recording_collect(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        out = collect(self, *args, **kwargs)
        collected.append((out.height, kwargs, self.explain()))
        return out

    def recording_sink(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        streamed.append(kwargs)
        return sink(self, *args, **kwargs)

    def recording_init(self: builtin.KeyStore) -> None:
        store_init(self)
        stores.append(self)

    monkeypatch.setattr(pl.LazyFrame, "collect", recording_collect)
    monkeypatch.setattr(pl.LazyFrame, "sink_batches", recording_sink)
    monkeypatch.setattr(builtin.KeyStore, "__init__", recording_init)
    checks = "duplicates: {}\nexpect:\n  - expect_column_values_to_be_between: {column: amount, min_value: 0}"
    clear_cache()
    got = by_check(run_checks(project(tmp_path, checks), now=NOW))
    assert got["duplicates"].unexpected_count == len(rows) - len(set(rows))  # NaN-free: equal tuples
    assert max(height for height, _, _ in collected) < len(rows) // 20
    assert any(kwargs.get("engine") == "streaming" for _, kwargs, _ in collected)  # the built-ins' scan
    assert streamed and all(kwargs.get("engine") == "streaming" for kwargs in streamed)
    assert len(stores) == 1 and stores[0].rows == len(rows)
    second = [plan for _, _, plan in collected if "_northstar_key" in plan]
    assert len(second) == 1
    scan_predicate = [line for line in second[0].splitlines() if "SELECTION" in line]
    assert scan_predicate and "as_struct" not in scan_predicate[0]


def test_the_key_store_finds_exactly_the_repeated_keys() -> None:
    store = builtin.KeyStore()
    store.add(pl.Series([5, 21, 5, 7, 2**64 - 1], dtype=pl.UInt64))
    store.add(pl.Series([7, 8, 2**64 - 1, 2**64 - 1], dtype=pl.UInt64))
    assert store.rows == 9 and store.nbytes == 8 * 9
    assert store.repeated().to_list() == [5, 7, 2**64 - 1]
    assert store.nbytes == 0  # emptied as it went


@pytest.mark.parametrize("kind", ["date", "text", "ms"])
@pytest.mark.parametrize("columns", [None, ["user_id", "event"], ["ts", "user_id"]])
def test_duplicate_keys_are_exact_on_every_timestamp_type(
    tmp_path: Path, kind: str, columns: list[str] | None
) -> None:
    """The duplicate key hashes the timestamp as every check reads it: a date (many rows share it),
    text (unreadable too) and milliseconds find exactly the copies a count of equal rows finds."""
    rng = random.Random(7)
    dtype = {"date": pl.Date, "text": pl.String, "ms": pl.Datetime("ms")}[kind]
    rows: list[tuple[Any, ...]] = []
    for _ in range(600):
        t = dt.datetime(2026, 3, 1) + dt.timedelta(
            seconds=rng.randint(0, 4 * 86_400), milliseconds=rng.randint(0, 999)
        )
        stamp: Any = {"date": t.date(), "text": t.isoformat(), "ms": t}[kind]
        if rng.random() < 0.03:
            stamp = "not a time" if kind == "text" else None
        row = (stamp, rng.choice(["u1", "u2", None]), rng.choice(["a", "b"]))
        rows.extend([row] * rng.choice([1, 1, 1, 2, 3]))
    data = pl.DataFrame(
        [list(r) for r in rows], schema={"ts": dtype, "user_id": pl.String, "event": pl.String}, orient="row"
    )
    path = tmp_path / "data" / "events.parquet"
    path.parent.mkdir(parents=True)
    data.write_parquet(path)
    config = "duplicates: {}" if columns is None else f"duplicates: {{columns: [{', '.join(columns)}]}}"
    clear_cache()
    result = by_check(run_checks(project(tmp_path, config, check_data=False), now=NOW))["duplicates"]
    extra, groups = _independent_duplicates(data, columns or list(data.columns))
    assert extra > 0
    assert result.unexpected_count == extra
    assert f"{groups:,} " in result.details
