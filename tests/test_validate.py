"""`northstar validate`: every broken project gives its one exact, located message; no traceback ever."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.load import load_project
from tests.conftest import ROOT

BROKEN = ROOT / "tests" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("_"))


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES)
def test_broken_project_gives_its_located_message(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NORTHSTAR_TEST_UNSET_URL", raising=False)
    monkeypatch.chdir(BROKEN / case)
    expected = (BROKEN / case / "expected.txt").read_text().splitlines()
    project = load_project(".")
    assert [str(p) for p in project.problems] == expected


def test_each_corpus_project_differs_from_a_valid_one_by_one_defect(tmp_path: Path) -> None:
    """The corpus's base (the files every case edits) is itself valid, so each message has one cause."""
    base = tmp_path / "base"
    shutil.copytree(BROKEN / "key_typo", base)
    text = (base / "metrics.yaml").read_text().replace("windw:", "window:")
    (base / "metrics.yaml").write_text(text)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    project = load_project(base)
    assert project.problems == ()
    assert set(project.metrics) == {"signups", "dau", "revenue", "revenue_per_dau"}


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NORTHSTAR_TEST_UNSET_URL"}
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_validate_reports_every_problem_with_its_place() -> None:
    run = _cli("validate", "--config", "tests/broken/type_typo")
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "tests/broken/type_typo/metrics.yaml:4:11: unknown metric type 'cout' (did you mean 'count'?)"
    ]
    assert "Traceback" not in run.stderr


def test_cli_validate_counts_errors_and_warnings_as_it_lists_them(tmp_path: Path) -> None:
    """Tour 3 (CDNOW): four lines listed, one error and three warnings, then "1 problem(s) found.":
    the count named neither kind. It counts each, in words that agree with the number."""
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    text = (project_dir / "metrics.yaml").read_text()
    (project_dir / "metrics.yaml").write_text(
        text.replace("filter: {event: purchase}", "filter: {event: purchse}")
    )
    run = _cli("validate", "--config", str(project_dir))
    assert run.returncode == 1
    assert len(run.stdout.splitlines()) == 2
    assert run.stderr.splitlines()[-1] == "1 error and 1 warning found."
    fixed = text.replace("type: cout", "type: count").replace(
        "filter: {event: purchase}", "filter: {event: purchse}"
    )
    (project_dir / "metrics.yaml").write_text(fixed)
    run = _cli("validate", "--config", str(project_dir))
    assert run.returncode == 0
    assert run.stdout.rstrip().endswith(": valid (1 source, 4 metrics, 1 objective), 1 warning"), run.stdout


def test_cli_validate_json_for_ci_tools() -> None:
    run = _cli("validate", "--config", "tests/broken/okr_unknown_metric", "--format", "json")
    assert run.returncode == 1
    document = json.loads(run.stdout)
    assert document["valid"] is False
    assert document["problems"] == [
        {
            "file": "tests/broken/okr_unknown_metric/okrs.yaml",
            "line": 8,
            "column": 17,
            "severity": "error",
            "message": "unknown metric 'signup'",
            "hint": "did you mean 'signups'?",
        }
    ]


def test_cli_okrs_says_its_objectives_have_errors_not_that_there_are_none() -> None:
    """An objective left out for a bad date is not "no objectives are defined": that would send the
    PM to write okrs.yaml again instead of fixing the line `validate` names."""
    run = _cli("okrs", "--config", "tests/broken/okr_impossible_date")
    assert run.returncode == 0
    assert "no objectives are defined" not in run.stdout
    assert "no objective can be scored: okrs.yaml has 1 error" in run.stdout
    assert "northstar validate" in run.stdout
    assert "Traceback" not in run.stderr


def test_cli_validate_missing_folder_is_one_sentence() -> None:
    run = _cli("validate", "--config", "no/such/folder")
    assert run.returncode == 1
    assert "does not exist" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_several_problems_are_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    text = (project_dir / "metrics.yaml").read_text().replace("window: 1", "windw: 1")
    (project_dir / "metrics.yaml").write_text(text)
    monkeypatch.chdir(project_dir)
    messages = [str(p) for p in load_project(".").problems]
    assert messages == [
        "metrics.yaml:4:11: unknown metric type 'cout' (did you mean 'count'?)",
        "metrics.yaml:10:5: unknown key 'windw' (did you mean 'window'?)",
    ]


def test_valid_definitions_survive_next_to_broken_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN / "type_typo")
    project = load_project(".")
    assert "signups" not in project.metrics
    assert {"dau", "revenue", "revenue_per_dau"} <= set(project.metrics)
    assert project.skipped["signups"] == (
        "its definition has errors (metrics.yaml:4:11: unknown metric type 'cout')"
    )


def test_a_left_out_metric_names_its_first_error(tmp_path: Path) -> None:
    """Tour 3 (CDNOW): `compute revenue` with a typo in its column said only "metric 'revenue' is
    not available: its definition has errors (run northstar validate)"; the error itself, with its
    place, is one step shorter than a second command."""
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    text = (project_dir / "metrics.yaml").read_text().replace("window: 1", "windw: 1\n    labl: x")
    (project_dir / "metrics.yaml").write_text(text.replace("column: amount", "column: amont"))
    project = load_project(project_dir)
    assert project.skipped["signups"] == (
        "its definition has errors (metrics.yaml:4:11: unknown metric type 'cout')"
    )
    assert project.skipped["dau"] == (
        "its definition has errors (metrics.yaml:10:5: unknown key 'windw'; and 1 more)"
    )
    assert project.skipped["revenue"].startswith(  # the reference layer's errors too
        "its definition has errors (metrics.yaml:15:13: column 'amont' is not in source 'events'"
    )


def test_a_metric_left_out_with_its_source_names_the_source_s_first_error(tmp_path: Path) -> None:
    """Tour 3 (CDNOW): with a typo in the source's user column, `compute orders` said only "its
    source 'events' has errors"; it names the error and its place, as for a metric's own errors."""
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    sources = (project_dir / "sources.yaml").read_text()
    assert "user: user_id" in sources
    (project_dir / "sources.yaml").write_text(sources.replace("user: user_id", "user: userid"))
    project = load_project(project_dir)
    assert project.skipped["dau"].startswith(
        "its source 'events' has errors (sources.yaml:7:13: column 'userid' (the user column) is not in"
    )


TWO_OBJECTIVES = """okrs:
  - id: first
    objective: A first objective with a bad period
    period: 2026-Q5
    key_results:
      - id: kr_a
        metric: revenue
        read: period_to_date
        target: 500
  - id: second
    objective: A second objective
    period: 2026-Q4
    key_results:
      - id: kr_b
        metric: revenue
        read: period_to_date
        target: 400
      - id: kr_c
        metric: daus
        read: latest
        target: 30
"""


def test_a_key_result_s_problem_is_placed_in_its_own_objective(tmp_path: Path) -> None:
    """Tour 3 (CDNOW): with the first objective left out for its period, the second's unknown metric
    was reported at okrs.yaml:5:5, the first objective's `key_results:` line: the checks counted
    the objectives that loaded, not their places in the file."""
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    (project_dir / "okrs.yaml").write_text(TWO_OBJECTIVES)
    problems = [
        str(p) for p in load_project(project_dir).problems if Path(p.location.file).name == "okrs.yaml"
    ]
    assert [p.split(": ", 1)[0].rsplit("/", 1)[-1] for p in problems] == ["okrs.yaml:4:13", "okrs.yaml:19:17"]
    assert problems[1].endswith("unknown metric 'daus' (did you mean 'dau'?)")


def test_an_objective_left_out_still_has_its_key_results_metrics_checked(tmp_path: Path) -> None:
    """Tour 3 (CDNOW): an objective with a bad period hid its key result's unknown metric `maus`,
    which `validate` named only once the period was fixed. Every problem at once: the metrics its
    key results name are checked too."""
    project_dir = tmp_path / "p"
    shutil.copytree(BROKEN / "type_typo", project_dir)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    (project_dir / "okrs.yaml").write_text(
        TWO_OBJECTIVES.replace(
            "metric: revenue\n        read: period_to_date\n        target: 500",
            "metric: revenu\n        read: period_to_date\n        target: 500",
        )
    )
    problems = [
        str(p) for p in load_project(project_dir).problems if Path(p.location.file).name == "okrs.yaml"
    ]
    assert [p.split(": ", 1)[0].rsplit("/", 1)[-1] for p in problems] == [
        "okrs.yaml:4:13",
        "okrs.yaml:7:17",
        "okrs.yaml:19:17",
    ]
    assert problems[1].endswith("unknown metric 'revenu' (did you mean 'revenue'?)")


def test_env_vars_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(BROKEN / "unset_env_var", tmp_path / "p")
    url = f"sqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("NORTHSTAR_TEST_UNSET_URL", url)
    project = load_project(tmp_path / "p", check_data=False)
    assert project.problems == ()
    assert project.sources["events"].url == url  # type: ignore[union-attr]


def test_a_metric_left_out_for_an_unset_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`compute` on a metric of a source whose `url: ${VAR}` is unset said only "its source 'events'
    has errors (run northstar validate)": the problem now belongs to the source, so what it leaves
    out says which variable to export (`problems.left_out_words`)."""
    monkeypatch.delenv("NORTHSTAR_TEST_UNSET_URL", raising=False)
    project = load_project(BROKEN / "unset_env_var")
    direct = {m: why for m, why in project.skipped.items() if why.startswith("its source")}
    assert set(direct) == {"signups", "dau", "revenue"}
    for why in direct.values():
        assert "environment variable NORTHSTAR_TEST_UNSET_URL is not set" in why, why
        assert "sources.yaml:4:10" in why, why


_TOKENS = [
    *"ab:-[]{},'\"\t #\n&*!|>%@`19.",
    "type: ",
    "count",
    "metrics:",
    "sources:",
    "\n  ",
    "${X}",
    "2026-02-30",
]
yaml_text = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(metrics=yaml_text, sources=yaml_text)
def test_validate_never_raises_whatever_the_input(metrics: str, sources: str, tmp_path: Path) -> None:
    (tmp_path / "metrics.yaml").write_text(metrics)
    (tmp_path / "sources.yaml").write_text(sources)
    project = load_project(tmp_path)
    for problem in project.problems:
        assert problem.message
        assert problem.location is None or problem.location.line >= 1


def test_a_broken_checks_block_hides_no_other_problem_of_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in `checks:` is reported beside the source's wrong timestamp column (the corpus case
    checks_typo_beside_wrong_column), and the source is still left out: none of its checks run."""
    monkeypatch.chdir(BROKEN / "checks_typo_beside_wrong_column")
    project = load_project(".")
    assert len(project.problems) == 3 and "column 'time'" in str(project.problems[0])
    assert project.left_out_sources() == ("events",) and not project.sources and not project.metrics


def test_a_source_whose_only_error_is_in_checks_is_still_left_out(tmp_path: Path) -> None:
    """Its other fields are checked against the data, but it is not kept with default checks in
    place of the broken ones: `check` and the pack's stamp say its checks did not run."""
    case = tmp_path / "case"
    shutil.copytree(BROKEN / "checks_typo_beside_wrong_column", case)
    (tmp_path / "_data").symlink_to(BROKEN / "_data")
    text = (case / "sources.yaml").read_text().replace("timestamp: time", "timestamp: ts")
    (case / "sources.yaml").write_text(text)
    project = load_project(case)
    assert [p.location.line for p in project.problems if p.location] == [11, 11]
    assert project.left_out_sources() == ("events",) and not project.sources and not project.metrics
