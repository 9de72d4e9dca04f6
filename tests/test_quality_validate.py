"""Validation of `checks:`: every bad name, argument, severity and column is one located problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metrics.definitions.project import Project
from metrics.load import load_project
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
    "sources.yaml:10:75: min_value: expected a number, a date (YYYY-MM-DD) or a date and time, not 'abc'",
    "sources.yaml:11:78: unknown argument 'maxx_value' for expect_column_values_to_be_between "
    "(did you mean 'max_value'?)",
    "sources.yaml:12:11: expect_column_values_to_not_be_null needs the argument 'column'",
    "sources.yaml:13:91: severity 'fatal' is not allowed; expected 'error' or 'warn'",
    "sources.yaml:14:57: column 'amout' is not in source 'events' (did you mean 'amount'?)",
    "sources.yaml:15:11: expect_column_values_to_be_between needs 'min_value' or 'max_value' (or both)",
    "sources.yaml:16:11: each `expect:` item holds one expectation; this one holds 2 "
    "(start each expectation on its own `- ` line)",
    "sources.yaml:20:24: value_set: expected a non-empty list, not 3",
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
def test_other_check_settings_are_located(  # the schema layer (metrics.definitions.yaml_files) places these
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
        "import sys\nfrom metrics.load import load_project\n"
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


DEEP = """\
sources:
  events:
    type: parquet
    path: data/events.parquet
    columns: {timestamp: ts, user: user_id}
    checks:
      expect:
        - expect_compound_columns_to_be_unique: {column_list: [ts]}
        - expect_column_values_to_match_like_pattern: {column: event, like_pattern: "a%", escape: ""}
        - expect_table_row_count_to_be_between: {min_value: 10, max_value: 2}
        - expect_column_values_to_be_between: {column: amount, min_value: abc}
        - expect_column_values_to_be_in_set: {column: platform, value_set: [web], severity: fatal}
        - expect_column_pair_values_to_be_in_set: {column_A: platform, column_B: event, value_pairs_set: [[web, a], [b]]}
"""


def test_deep_validation_adds_what_only_building_the_expectation_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.quality import deep_validate_checks

    project = _load(tmp_path, DEEP, monkeypatch)
    on_load = [
        "sources.yaml:11:75: min_value: expected a number, a date (YYYY-MM-DD) or a date and time, not 'abc'",
        "sources.yaml:12:93: severity 'fatal' is not allowed; expected 'error' or 'warn'",
    ]
    assert [str(p) for p in project.problems] == on_load
    # GX's own validators; the entries already reported on load are not repeated (line 12's
    # arguments are fine, so it is built, and passes).
    assert [str(p) for p in deep_validate_checks(project)] == [
        "sources.yaml:8:63: column_list must contain at least two columns.",
        "sources.yaml:9:99: escape must be a single character.",
        "sources.yaml:10:11: expect_table_row_count_to_be_between: min_value (10) must be less than or "
        "equal to max_value (2)",
        "sources.yaml:13:106: value_pairs_set: wrong tuple length 1, expected 2",
    ]


def test_deep_validation_of_the_every_bad_check_project_repeats_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.quality import deep_validate_checks

    project = _load(tmp_path, SOURCES, monkeypatch)
    assert deep_validate_checks(project) == []  # every problem there is found on load, without GX


def test_loading_the_shipped_config_never_imports_great_expectations(small_demo: Path) -> None:
    # config/sources.yaml has `expect:` entries: they are checked against the catalog, not GX.
    assert "expect:" in (small_demo / "sources.yaml").read_text()
    code = (
        "import sys\nfrom metrics.load import load_project\n"
        f"p = load_project({str(small_demo)!r})\n"
        "print(len(p.problems), len(p.sources), 'great_expectations' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    problems, sources, imported = done.stdout.split()
    assert (problems, imported) == ("0", "False")
    assert int(sources) >= 1


def test_a_bad_expectation_fails_its_own_check_at_run_time(tmp_path: Path) -> None:
    import datetime as dt

    from metrics.quality import run_checks
    from tests.test_quality import CLEAN, NOW
    from tests.test_quality_helpers import by_check, project

    write(frame(CLEAN), tmp_path / "data" / "events.parquet")
    proj = project(
        tmp_path,
        "expect:\n"
        "  - expect_column_values_to_be_between: {column: amount, min_value: abc}\n"
        "  - expect_compound_columns_to_be_unique: {column_list: [ts]}\n"
        "  - expect_column_values_to_be_betwen: {column: amount, min_value: 0}\n"
        "  - expect_column_values_to_be_in_set: {column: platform, value_set: [web, ios, android]}\n",
    )
    assert len(proj.problems) == 2  # the catalog's two; the column_list rule is GX's own
    got = by_check(run_checks(proj, now=NOW))
    assert {k: (r.success, r.details) for k, r in got.items() if k.startswith("expect")} == {
        "expect_column_values_to_be_between(amount)": (
            False,
            "invalid arguments: min_value: expected a number, a date (YYYY-MM-DD) or a date and time, not 'abc'",
        ),
        "expect_compound_columns_to_be_unique(ts)": (
            False,
            "invalid arguments: column_list must contain at least two columns.",
        ),
        "expect_column_values_to_be_betwen(amount)": (
            False,
            "unknown expectation 'expect_column_values_to_be_betwen'",
        ),
        "expect_column_values_to_be_in_set(platform)": (True, "no unexpected values of 4"),
    }
    assert got["timestamp_not_null"].success  # the other checks ran as usual
    assert NOW.tzinfo is dt.UTC
