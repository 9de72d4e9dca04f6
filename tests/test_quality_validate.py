"""Validation of `checks:`: every bad name, argument, severity and column is one located problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metrics.project import Project, load_project
from tests.conftest import ROOT
from tests.test_quality import DEFECTIVE
from tests.test_quality_helpers import frame, write

SOURCES = """\
sources:
  events:
    type: parquet
    path: data/events.parquet
    columns: {timestamp: ts, user: user_id}
    checks:
      duplicates: {columns: [user_id, sesion]}
      expect:
        - expect_column_values_to_be_betwen: {column: amount, min_value: 0}
        - expect_column_values_to_be_between: {column: amount, min_value: abc}
        - expect_column_values_to_be_between: {column: amount, min_value: 0, maxx_value: 3}
        - expect_column_values_to_not_be_null: {mostly: 0.5}
        - expect_column_values_to_be_in_set: {column: platform, value_set: [a], severity: fatal}
        - expect_column_values_to_not_be_null: {column: amout}
        - expect_column_values_to_be_between: {column: amount}
        - expect_column_values_to_be_null: {column: amount}
          expect_column_values_to_be_unique: {column: amount}
        - expect_column_values_to_be_in_set:
            column: platform
            value_set: 3
            batch_id: x
        - expect_column_pair_values_to_be_equal: {column_A: amount, column_B: user}
        - expect_compound_columns_to_be_unique: {column_list: [ts, evnt]}
        - expect_column_values_to_be_between: {column: amount, min_value: 0, max_value: 100, severity: warn}
"""

EXPECTED = [
    "sources.yaml:7:39: column 'sesion' is not in source 'events' "
    "(columns found: amount, event, platform, ts, user_id)",
    "sources.yaml:9:11: unknown expectation 'expect_column_values_to_be_betwen' "
    "(did you mean 'expect_column_values_to_be_between'?)",
    "sources.yaml:10:75: min_value: value is not a valid float",
    "sources.yaml:11:78: unknown argument 'maxx_value' for expect_column_values_to_be_between "
    "(did you mean 'max_value'?)",
    "sources.yaml:12:11: expect_column_values_to_not_be_null needs the argument 'column'",
    "sources.yaml:13:91: severity 'fatal' is not allowed; expected 'error' or 'warn'",
    "sources.yaml:14:57: column 'amout' is not in source 'events' (did you mean 'amount'?)",
    "sources.yaml:15:11: expect_column_values_to_be_between: min_value and max_value cannot both be None",
    "sources.yaml:16:11: each `expect:` item holds one expectation; this one holds 2 "
    "(start each expectation on its own `- ` line)",
    "sources.yaml:20:24: value_set: value is not a valid list",
    "sources.yaml:21:13: argument 'batch_id' is set by Northstar, not in the YAML",
    "sources.yaml:22:79: column 'user' is not in source 'events' (did you mean 'user_id'?)",
    "sources.yaml:23:68: column 'evnt' is not in source 'events' (did you mean 'event'?)",
]


def _load(folder: Path, sources: str, monkeypatch: pytest.MonkeyPatch, *, check_data: bool = True) -> Project:
    write(frame(DEFECTIVE), folder / "data" / "events.parquet")
    (folder / "sources.yaml").write_text(sources)
    (folder / "metrics.yaml").write_text("metrics:\n  events: {type: count, source: events}\n")
    monkeypatch.chdir(folder)
    return load_project(".", check_data=check_data)


def test_every_bad_check_is_a_located_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _load(tmp_path, SOURCES, monkeypatch)
    assert [str(p) for p in project.problems] == EXPECTED
    assert list(project.sources) == ["events"]  # a bad check disables no source and no metric
    assert list(project.metrics) == ["events"]


def test_without_data_the_column_checks_wait_for_layer_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _load(tmp_path, SOURCES, monkeypatch, check_data=False)
    assert [str(p) for p in project.problems] == [e for e in EXPECTED if "is not in source" not in e]


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (
            "builtin: {user_not_nul: warn}",
            "sources.yaml:7:17: unknown key 'user_not_nul' (did you mean 'user_not_null'?)",
        ),
        (
            "builtin: {user_not_null: eror}",
            "sources.yaml:7:17: 'eror' is not allowed here; expected 'error', 'warn' or 'off' "
            "(did you mean 'error'?)",
        ),
        (
            "duplicates: {columns: []}",
            "sources.yaml:7:29: `columns:` is empty (list the columns that identify an event, "
            "or leave `columns:` out to compare whole rows)",
        ),
        (
            "duplicates: {columns: [ts, ts]}",
            "sources.yaml:7:34: column 'ts' is listed twice",
        ),
        (
            "volume: {window_days: 3}",
            "sources.yaml:7:16: `window_days` should be greater than or equal to 7",
        ),
        (
            "freshness: {warn_after: 3d, error_after: 1d}",
            "sources.yaml:7:7: error_after must not be shorter than warn_after",
        ),
    ],
)
def test_other_check_settings_are_located(  # the schema layer (metrics.project) places these
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checks: str, expected: str
) -> None:
    sources = (
        "sources:\n  events:\n    type: parquet\n    path: data/events.parquet\n"
        f"    columns: {{timestamp: ts, user: user_id}}\n    checks:\n      {checks}\n"
    )
    project = _load(tmp_path, sources, monkeypatch)
    assert [str(p) for p in project.problems] == [expected]


def test_a_user_check_without_a_user_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = (
        "sources:\n  events:\n    type: parquet\n    path: data/events.parquet\n"
        "    columns: {timestamp: ts}\n    checks:\n      builtin: {user_not_null: warn}\n"
    )
    project = _load(tmp_path, sources, monkeypatch)
    assert [str(p) for p in project.problems] == [
        "sources.yaml:7:32: source 'events' maps no user column, so there is no user to check "
        "(add `user:` under the source's `columns:`, or remove this line)"
    ]


def test_validation_without_expectations_never_imports_great_expectations(tmp_path: Path) -> None:
    write(frame(DEFECTIVE), tmp_path / "data" / "events.parquet")
    (tmp_path / "metrics.yaml").write_text("metrics:\n  events: {type: count, source: events}\n")
    base = "sources:\n  events:\n    type: parquet\n    path: data/events.parquet\n    columns: {timestamp: ts}\n"
    code = (
        "import sys\nfrom metrics.project import load_project\n"
        f"p = load_project({str(tmp_path)!r})\n"
        "print(len(p.problems), 'great_expectations' in sys.modules)"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    (tmp_path / "sources.yaml").write_text(base + "    checks: {duplicates: {}, volume: {}}\n")
    assert run() == "0 False"
