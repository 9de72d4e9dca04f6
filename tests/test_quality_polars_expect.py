"""Differential tests: the expectations judged in Polars (`metrics.quality.polars_expect`) against
Great Expectations' own verdict on the same rows.

The reference is GX itself (`gx_runner.run_on_pandas`) on all the rows checked at once, given in time
order (then by value; rows without a timestamp last), so the unexpected values GX lists first are
the sample the report shows. Same success, unexpected count, details (count, total and share),
sample and days; and the whole report equals the one the GX path gives (`TRANSLATED` emptied).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.quality import builtin, clear_cache, gx_runner, polars_expect, run_checks
from metrics.quality.checks import _with_days
from tests.conftest import ROOT
from tests.test_quality_helpers import project

NOW = dt.datetime(2026, 3, 25, 6, 0, tzinfo=dt.UTC)
FIRST = dt.datetime(2026, 3, 1)
BIG = 2**53
SCHEMA = {
    "ts": pl.Datetime("us"),
    "user_id": pl.String,
    "event": pl.String,
    "platform": pl.String,
    "amount": pl.Float64,
    "clicks": pl.Int64,
    "big": pl.Int64,
    "small": pl.Int32,
    "count": pl.UInt32,
}
SPECS: list[tuple[str, dict[str, Any]]] = [
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0, "max_value": 100}),
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0.5, "strict_min": True}),
    ("expect_column_values_to_be_between", {"column": "amount", "max_value": 99.0, "strict_max": True}),
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 20, "max_value": 20}),
    (
        "expect_column_values_to_be_between",
        {
            "column": "amount",
            "min_value": -5,
            "max_value": 99,
            "strict_min": True,
            "strict_max": True,
            "mostly": 0.9,
        },
    ),
    ("expect_column_values_to_be_between", {"column": "clicks", "min_value": 0, "mostly": 0.95}),
    ("expect_column_values_to_be_between", {"column": "clicks", "min_value": 0.5, "max_value": 8.5}),
    ("expect_column_values_to_be_between", {"column": "big", "max_value": BIG}),
    ("expect_column_values_to_be_between", {"column": "big", "min_value": -BIG, "max_value": 2**40}),
    ("expect_column_values_to_be_between", {"column": "small", "min_value": -3, "max_value": 3}),
    (
        "expect_column_values_to_be_between",
        {"column": "count", "min_value": 1, "strict_max": True, "max_value": 7},
    ),
    ("expect_column_values_to_not_be_null", {"column": "amount"}),
    ("expect_column_values_to_not_be_null", {"column": "clicks", "mostly": 0.9}),
    ("expect_column_values_to_not_be_null", {"column": "platform", "mostly": 0.99}),
    ("expect_column_values_to_not_be_null", {"column": "count"}),
    ("expect_column_values_to_be_in_set", {"column": "platform", "value_set": ["web", "ios", "android"]}),
    ("expect_column_values_to_be_in_set", {"column": "platform", "value_set": ["web"], "mostly": 0.3}),
    ("expect_column_values_to_be_in_set", {"column": "clicks", "value_set": [0, 1, 2, 3, 4, 5]}),
    ("expect_column_values_to_be_in_set", {"column": "big", "value_set": [0, BIG, -7]}),
    ("expect_column_values_to_be_in_set", {"column": "amount", "value_set": [1.5, 20, 99.0]}),
    ("expect_column_values_to_be_in_set", {"column": "small", "value_set": [1, 2]}),
    (
        "expect_column_values_to_be_in_set",
        {"column": "count", "value_set": [3, 4, 5, 6, 7, 8, 9], "mostly": 0.5},
    ),
]


def _rows(seed: int, *, nulls: bool, stamps: bool, days: int = 8) -> pl.DataFrame:
    """Rows over `days` days with ties in time, defects of every kind, NaN and infinities, integers
    beyond 2**53, and (with `nulls`) a null in every column, which makes pandas hold the integer
    columns as float64."""
    rng = random.Random(seed)
    out: list[list[Any]] = []
    for _ in range(rng.randint(600, 900)):
        ts: Any = FIRST + dt.timedelta(days=rng.randrange(days), minutes=rng.randrange(0, 1440, 7))
        if stamps and rng.random() < 0.03:
            ts = None
        amount = rng.choice([1.5, 20.0, 99.0, 0.5, 0.0, -0.0, 100.0, -5.0, 250.0, float("inf")])
        if rng.random() < 0.05:
            amount = float("nan")
        if nulls and rng.random() < 0.05:
            amount = None
        clicks = rng.choice([0, 1, 2, 5, 8, 9, -1, 12])
        big = rng.choice([0, 7, -7, BIG, BIG + 1, -BIG - 1, 2**60, 2**40 + 1])
        small = rng.choice([-4, -3, 0, 1, 2, 3, 4])
        count = rng.choice([0, 1, 3, 6, 7, 9, 4_000_000_000])
        platform = rng.choice(["web", "ios", "android", "desktop", "Web", "", "wéb"])
        row = [ts, f"u{rng.randrange(20)}", "page_view", platform, amount, clicks, big, small, count]
        if nulls:
            for i in range(3, len(row)):
                if rng.random() < 0.04:
                    row[i] = None
        out.append(row)
    if nulls:  # at least one null in every column
        out.append([FIRST, "u1", "page_view", None, None, None, None, None, None])
    return pl.DataFrame(out, schema=SCHEMA, orient="row")


def _write(folder: Path, data: pl.DataFrame) -> None:
    path = folder / "data" / "events.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    data.write_parquet(path)


def _expect(specs: list[tuple[str, dict[str, Any]]]) -> str:
    return "expect:\n" + "".join(f"  - {name}: {json.dumps(args)}\n" for name, args in specs)


def _report(
    folder: Path, zone: str, specs: list[tuple[str, dict[str, Any]]], *, builtins: bool = False, **kwargs: Any
) -> list[Any]:
    clear_cache()
    proj = project(folder, "duplicates: {}\n" + _expect(specs), timezone=zone)
    assert proj.problems == ()
    report = run_checks(proj, now=NOW, **kwargs)
    return [
        (r.check, r.success, r.unexpected_count, r.details, r.sample, r.days)
        for r in report.results
        if builtins or r.check.startswith("expect_")
    ]


def _gx_reference(
    data: pl.DataFrame, name: str, args: dict[str, Any], zone: str, until: dt.datetime | None
) -> tuple[Any, ...]:
    """GX on every row checked, in time order (then by value, rows without a timestamp last)."""
    epoch = builtin.epoch_expr("ts", data.schema["ts"], zone)
    if until is not None:
        data = data.filter(epoch.is_null() | (epoch < round(until.timestamp() * 1_000_000)))
    column = args["column"]
    ordered = data.with_columns(epoch.alias("_e")).sort(["_e", "ts", column], nulls_last=True)
    spec = gx_runner.Spec(name, args, "error", gx_runner.label(name, args))
    outcome = gx_runner.run_on_pandas(ordered.select(column).to_pandas(), [spec])[0]
    assert outcome.unexpected_count is not None, outcome.details  # GX ran
    stamps = ordered["ts"]
    outcome = _with_days(outcome, lambda keys: stamps.gather(list(keys)), zone)
    return (
        spec.check,
        outcome.success,
        outcome.unexpected_count,
        outcome.details,
        outcome.sample,
        outcome.days,
    )


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path) -> Any:
    saved = os.environ.get("NORTHSTAR_CACHE_DIR")
    os.environ["NORTHSTAR_CACHE_DIR"] = str(tmp_path / "state")
    yield
    if saved is None:
        os.environ.pop("NORTHSTAR_CACHE_DIR", None)
    else:
        os.environ["NORTHSTAR_CACHE_DIR"] = saved


def test_every_spec_here_is_judged_in_polars() -> None:
    for name, args in SPECS:
        spec = gx_runner.Spec(name, args, "error", "x")
        assert polars_expect.translate(spec, SCHEMA) is not None, (name, args)


@pytest.mark.parametrize(
    ("seed", "nulls", "stamps", "zone", "cut"),
    [
        (1, False, False, "UTC", False),
        (2, True, True, "Europe/Berlin", False),
        (3, True, False, "Asia/Kolkata", True),
        (4, False, True, "America/New_York", True),
    ],
)
def test_polars_verdicts_are_gx_verdicts(
    tmp_path: Path, seed: int, nulls: bool, stamps: bool, zone: str, cut: bool
) -> None:
    data = _rows(seed, nulls=nulls, stamps=stamps)
    _write(tmp_path, data)
    until = dt.datetime(2026, 3, 6, 13, tzinfo=dt.UTC) if cut else None
    ours = _report(tmp_path, zone, SPECS, until=until)
    reference = [_gx_reference(data, name, args, zone, until) for name, args in SPECS]
    assert [r[0].split(" #")[0] for r in ours] == [r[0] for r in reference]
    for mine, theirs in zip(ours, reference, strict=True):
        assert mine[1:] == theirs[1:], mine[0]
    failing = [r for r in ours if not r[1]]
    assert len(failing) >= 10  # the data has defects for most of them
    assert any(r[5] for r in failing) == (not stamps)  # days are named unless a row has no timestamp
    assert any(r[1] and r[2] for r in ours)  # within `mostly` somewhere


def test_more_unexpected_rows_than_gx_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gx_runner, "DAY_ROWS", 6)  # at least the sample (5), as in use (2000)
    data = _rows(5, nulls=True, stamps=False)
    _write(tmp_path, data)
    ours = _report(tmp_path, "Europe/Berlin", SPECS)
    reference = [_gx_reference(data, name, args, "Europe/Berlin", None) for name, args in SPECS]
    assert [r[1:] for r in ours] == [r[1:] for r in reference]
    assert any(r[2] > 6 and r[5] == () and not r[1] for r in ours)


@pytest.mark.parametrize("nulls", [False, True])
def test_the_report_is_the_gx_paths_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nulls: bool
) -> None:
    """The whole report (built-in checks too) with and without the Polars judgements: identical.
    (At most 200 rows: with more unexpected rows in a run than GX lists values, 200, the GX path
    falls back to GX on all rows, whose sample follows the file's order rather than time.)"""
    data = _rows(9, nulls=nulls, stamps=True).head(200)
    _write(tmp_path, data)
    ours = _report(tmp_path, "Europe/Berlin", SPECS, builtins=True)
    assert len(ours) > len(SPECS)  # the built-in checks are in it
    monkeypatch.setattr(polars_expect, "TRANSLATED", frozenset())
    called: list[int] = []
    real = gx_runner.run_on_pandas
    monkeypatch.setattr(gx_runner, "run_on_pandas", lambda f, s: called.append(len(s)) or real(f, s))
    os.environ["NORTHSTAR_CACHE_DIR"] = str(tmp_path / "other")
    assert _report(tmp_path, "Europe/Berlin", SPECS, builtins=True) == ours
    assert called  # the reference did run in GX


def test_no_rows_left_to_gx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, _rows(1, nulls=False, stamps=False).head(0))
    ours = _report(tmp_path, "UTC", SPECS[:2])
    monkeypatch.setattr(polars_expect, "TRANSLATED", frozenset())
    assert _report(tmp_path, "UTC", SPECS[:2]) == ours
    assert all(r[1] for r in ours)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 5, "max_value": 1}),
        ("expect_column_values_to_be_between", {"column": "platform", "min_value": "a", "max_value": "x"}),
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": "1"}),
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": True}),
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 2**60}),
        (
            "expect_column_values_to_be_between",
            {
                "column": "amount",
                "min_value": 0,
                "row_condition": 'platform=="web"',
                "condition_parser": "pandas",
            },
        ),
        ("expect_column_values_to_be_between", {"column": "ts", "min_value": "2026-03-01"}),
        ("expect_column_values_to_be_in_set", {"column": "platform", "value_set": ["web", 1]}),
        ("expect_column_values_to_be_in_set", {"column": "clicks", "value_set": [1, 2.5]}),
        ("expect_column_values_to_be_in_set", {"column": "clicks", "value_set": []}),
        ("expect_column_values_to_be_in_set", {"column": "amount", "value_set": [True]}),
        ("expect_column_values_to_be_null", {"column": "amount"}),
        ("expect_column_values_to_not_be_null", {"column": "ts"}),
        ("expect_column_values_to_not_be_null", {"column": "amount", "row_condition": 'platform=="web"'}),
    ],
)
def test_other_arguments_stay_with_gx(tmp_path: Path, name: str, args: dict[str, Any]) -> None:
    spec = gx_runner.Spec(name, args, "error", "x")
    assert polars_expect.translate(spec, SCHEMA) is None


def test_untranslated_entries_still_run_in_gx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside Polars-judged entries, the others run in GX, as before (a bound the wrong way round
    gives GX's own error; a mixed set is GX's verdict)."""
    data = _rows(4, nulls=True, stamps=True)
    _write(tmp_path, data)
    specs = [
        SPECS[0],
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 5, "max_value": 1}),
        ("expect_column_values_to_be_in_set", {"column": "clicks", "value_set": [1, 2.5]}),
        ("expect_column_values_to_match_regex", {"column": "platform", "regex": "^w", "mostly": 0.5}),
        ("expect_column_mean_to_be_between", {"column": "small", "min_value": -1, "max_value": 1}),
    ]
    seen: set[str] = set()
    real = gx_runner.run_on_pandas

    def spying(frame: Any, ran: Any) -> Any:
        seen.update(s.check for s in ran)
        return real(frame, ran)

    monkeypatch.setattr(gx_runner, "run_on_pandas", spying)
    ours = _report(tmp_path, "UTC", specs)
    assert "could not run" in ours[1][3] and "min_value cannot be greater" in ours[1][3]
    assert seen == {r[0] for r in ours[1:]}  # all but the first ran in GX
    monkeypatch.setattr(polars_expect, "TRANSLATED", frozenset())
    os.environ["NORTHSTAR_CACHE_DIR"] = str(tmp_path / "other")
    assert _report(tmp_path, "UTC", specs) == ours


def test_translated_entries_alone_never_import_gx(tmp_path: Path) -> None:
    _write(tmp_path, _rows(2, nulls=True, stamps=True))
    project(tmp_path, _expect(SPECS))
    code = (
        "import sys, datetime as dt; from metrics.load import load_project; from metrics.quality import run_checks\n"
        f"r = run_checks(load_project({str(tmp_path)!r}), now=dt.datetime(2026, 3, 25, 6))\n"
        f"assert sum(x.check.startswith('expect_') for x in r.results) == {len(SPECS)}\n"
        "assert not all(x.success for x in r.results)\n"
        "print('great_expectations' in sys.modules)"
    )
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(tmp_path / "fresh")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"
