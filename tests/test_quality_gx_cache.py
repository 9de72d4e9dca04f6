"""`northstar validate` keeps Great Expectations' verdicts on `expect:` arguments in the user's cache
folder: a second run of unchanged entries reads them and never imports GX, and finds the same
located problems; editing an entry, or another GX, asks GX again. No timing here (benchmarks/)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from metrics.quality import gx_cache
from metrics.quality.catalog import ArgProblem
from tests.conftest import ROOT
from tests.test_quality import CLEAN, DEFECTIVE
from tests.test_quality_helpers import frame, write
from tests.test_quality_validate import DEEP

# What `validate` says about DEEP: two problems the catalog finds on load, then four only GX finds.
DEEP_PROBLEMS = [
    "sources.yaml:11:75: min_value: expected a number, a date (YYYY-MM-DD) or a date and time, not 'abc'",
    "sources.yaml:12:93: severity 'fatal' is not allowed; expected 'error' or 'warn'",
    "sources.yaml:8:63: column_list must contain at least two columns.",
    "sources.yaml:9:99: escape must be a single character.",
    "sources.yaml:10:11: expect_table_row_count_to_be_between: min_value (10) must be less than or "
    "equal to max_value (2)",
    "sources.yaml:13:106: value_pairs_set: wrong tuple length 1, expected 2",
]
# `validate` in a fresh interpreter, telling afterwards which heavy libraries it imported.
VALIDATE = """\
import sys
from dashboard.cli import main
from tests.test_layers import HEAVY
try:
    main(["validate", "--config", sys.argv[1]])
    code = 0
except SystemExit as exit:
    code = exit.code
print("exit", code, ",".join(h for h in HEAVY if h in sys.modules) or "none")
"""


@dataclass(frozen=True)
class Run:
    problems: list[str]
    code: int
    imported_gx: bool


def validate(project: Path, env: dict[str, str]) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE, str(project)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    *lines, last = done.stdout.strip().splitlines()
    word, code, heavy = last.split()
    assert word == "exit", done.stdout + done.stderr
    assert heavy in {"none", "great_expectations"}  # never statsmodels, kaleido or streamlit
    return Run([line.removeprefix(f"{project}/") for line in lines], int(code), heavy == "great_expectations")


def project(folder: Path, sources: str = DEEP) -> Path:
    write(frame(DEFECTIVE), folder / "data" / "events.parquet")
    (folder / "sources.yaml").write_text(sources)
    (folder / "metrics.yaml").write_text("metrics:\n  events: {type: count, source: events}\n")
    return folder


def files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, gx_cache.ENV_VAR: str(tmp_path / "cache")}


def test_a_second_validate_finds_the_same_problems_without_importing_gx(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = project(tmp_path / "project")
    first = validate(folder, env)
    assert first == Run(DEEP_PROBLEMS, 1, imported_gx=True)
    second = validate(folder, env)
    assert second == Run(DEEP_PROBLEMS, 1, imported_gx=False)


def test_an_edited_entry_is_judged_again_and_nothing_else_asks_gx(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = project(tmp_path / "project")
    validate(folder, env)
    # Another upper bound: a new entry for GX, still wrong.
    (folder / "sources.yaml").write_text(DEEP.replace("max_value: 2}", "max_value: 3}"))
    bound = [p.replace("max_value (2)", "max_value (3)") for p in DEEP_PROBLEMS]
    assert bound != DEEP_PROBLEMS
    assert validate(folder, env) == Run(bound, 1, imported_gx=True)
    # Bounds in order: GX judges the entry, and the problem is gone.
    (folder / "sources.yaml").write_text(
        DEEP.replace("{min_value: 10, max_value: 2}", "{min_value: 1, max_value: 3}")
    )
    fixed = [p for p in DEEP_PROBLEMS if "row_count" not in p]
    assert validate(folder, env) == Run(fixed, 1, imported_gx=True)
    assert validate(folder, env) == Run(fixed, 1, imported_gx=False)
    # A new metric, or other data: the entries are unchanged, and their verdict does not read the data.
    (folder / "metrics.yaml").write_text(
        "metrics:\n  events: {type: count, source: events}\n  again: {type: count, source: events}\n"
    )
    write(frame(CLEAN), folder / "data" / "events.parquet")
    assert validate(folder, env) == Run(fixed, 1, imported_gx=False)


def test_the_verdicts_go_to_the_user_cache_folder_never_into_the_project(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    before = files(folder)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != gx_cache.ENV_VAR}
    env |= {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    assert validate(folder, env).imported_gx
    assert files(folder) == before
    stored = list((home / ".cache" / "northstar" / "gx-arguments").glob("*.json"))
    assert len(stored) == 5  # DEEP's entries that pass the catalog
    assert not validate(folder, env).imported_gx


def test_a_cache_that_cannot_be_used_changes_no_verdict(tmp_path: Path, env: dict[str, str]) -> None:
    folder = project(tmp_path / "project")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert validate(folder, {**env, gx_cache.ENV_VAR: str(blocked)}) == Run(
        DEEP_PROBLEMS, 1, imported_gx=True
    )
    validate(folder, env)
    stored = list((Path(env[gx_cache.ENV_VAR]) / gx_cache.FOLDER).glob("*.json"))
    for path in stored:
        path.write_text('{"problems": [{"message": 3}]')  # damaged
    assert validate(folder, env) == Run(DEEP_PROBLEMS, 1, imported_gx=True)
    assert validate(folder, env) == Run(DEEP_PROBLEMS, 1, imported_gx=False)  # written again


def test_the_key_tells_apart_what_gx_tells_apart() -> None:
    name = "expect_column_values_to_be_between"
    values = [1, 1.0, True, "1", None, [1], {"a": 1}, dt.date(2026, 1, 1), "2026-01-01"]
    keys = {gx_cache.entry_key(name, {"column": "a", "min_value": v}) for v in values}
    assert len(keys) == len(values)
    assert gx_cache.entry_key(name, {"column": "a", "min_value": 1}) != gx_cache.entry_key(
        "expect_column_values_to_be_in_set", {"column": "a", "min_value": 1}
    )
    # The order in which arguments are written is no difference.
    assert gx_cache.entry_key(name, {"column": "a", "min_value": 1}) == gx_cache.entry_key(
        name, {"min_value": 1, "column": "a"}
    )


def test_another_gx_or_pydantic_gives_new_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"column": "a", "min_value": 1}
    installed = gx_cache.entry_key("expect_column_values_to_be_between", args)
    real = gx_cache.metadata.version
    for package in ("great_expectations", "pydantic"):
        gx_cache._judge.cache_clear()
        monkeypatch.setattr(
            gx_cache.metadata, "version", lambda p, package=package: "0.0.1" if p == package else real(p)
        )
        assert gx_cache.entry_key("expect_column_values_to_be_between", args) != installed
    monkeypatch.undo()
    gx_cache._judge.cache_clear()
    assert gx_cache.entry_key("expect_column_values_to_be_between", args) == installed


def test_the_folder_keeps_the_most_recently_used_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gx_cache, "MAX_ENTRIES", 3)
    folder = tmp_path / gx_cache.FOLDER
    for n in range(5):
        gx_cache._write(folder, f"k{n}", "e", [ArgProblem(None, f"problem {n}")])
        path = folder / f"k{n}.json"
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    assert sorted(p.name for p in folder.glob("*.json")) == ["k2.json", "k3.json", "k4.json"]
    assert gx_cache._read(folder / "k4.json") == [ArgProblem(None, "problem 4")]
    assert not list(folder.glob(".*.tmp"))
