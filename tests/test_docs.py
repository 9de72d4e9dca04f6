"""The docs are tested: every YAML example validates, every field and command is documented."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from pydantic import BaseModel

from connectors import models as cm
from metrics.definitions import models as mm
from metrics.load import load_project
from tests.conftest import ROOT

DOCS = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
BLOCK = re.compile(r"```yaml\n# file: (\w+\.yaml)\n(.*?)```", re.S)

COMPANIONS = {
    "sources.yaml": """\
sources:
  events:
    type: parquet
    path: data/events.parquet
    columns: {timestamp: ts, user: user_id, event: event}
    dimensions: [platform, country, plan, channel]
""",
    "metrics.yaml": """\
metrics:
  signups: {type: count, source: events, filter: {event: signup}}
  dau: {type: active_users, source: events, window: 1}
  mau: {type: active_users, source: events, window: 28}
  revenue: {type: sum, source: events, column: amount, filter: {event: purchase}}
  p90_load: {type: percentile, source: events, column: load_ms, percentile: 0.9, direction: decrease}
  activation: {type: funnel, source: events, steps: [signup, create_project], within: 7}
  d7_retention: {type: retention, source: events, cohort_event: signup, offset: 7}
""",
}


def _examples() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for index, match in enumerate(BLOCK.finditer(doc.read_text())):
            found.append((f"{doc.name}#{index}:{match.group(1)}", match.group(1), match.group(2)))
    return found


def _write_data(folder: Path) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "ts": [dt.datetime(2026, 10, 1, 12)],
            "user_id": ["u1"],
            "event": ["signup"],
            "platform": ["web"],
            "country": ["DE"],
            "plan": ["free"],
            "channel": ["organic"],
            "amount": [None],
            "load_ms": [120.0],
        },
        schema_overrides={"amount": pl.Float64},
    ).write_parquet(folder / "data" / "events.parquet")


EXAMPLES = _examples()


def test_docs_hold_yaml_examples_of_every_file() -> None:
    assert {file for _, file, _ in EXAMPLES} >= {"project.yaml", "sources.yaml", "metrics.yaml", "okrs.yaml"}


@pytest.mark.parametrize(("name", "file", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_yaml_example_validates(name: str, file: str, text: str, tmp_path: Path) -> None:
    _write_data(tmp_path)
    for companion, body in COMPANIONS.items():
        (tmp_path / companion).write_text(body)
    (tmp_path / file).write_text(text)
    project = load_project(tmp_path)
    assert [str(p) for p in project.problems] == []


def _documented_fields(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name in model.model_fields:
        if name not in {"type"}:
            names.add(name)
    return names


MODELS = [
    mm.ProjectConfig,
    mm.StatusThresholds,
    mm.ReviewSettings,
    mm.AuthSettings,
    *mm.METRIC_MODELS,
    mm.Objective,
    mm.KeyResult,
    mm.Annotation,
    cm.FileSource,
    cm.SqlSource,
    cm.ColumnRoles,
]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [
        name for name in _documented_fields(model) if f"`{name}" not in text and f".{name}`" not in text
    ]
    assert missing == [], f"{model.__name__}: document {missing} in docs/configuration.md"


@pytest.mark.parametrize("metric_type", mm.METRIC_TYPES)
def test_every_metric_type_has_a_section(metric_type: str) -> None:
    text = (ROOT / "docs" / "metrics.md").read_text()
    assert re.search(rf"^##+ `?{metric_type}`?\s*$", text, re.M), (
        f"docs/metrics.md needs a '## {metric_type}' section"
    )


def test_every_command_is_documented() -> None:
    from dashboard.cli import app

    text = (ROOT / "docs" / "cli.md").read_text()
    names = [
        command.name or command.callback.__name__ for command in app.registered_commands if command.callback
    ]
    assert len(names) >= 8
    assert [n for n in names if f"northstar {n}" not in text] == []


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert block[0].startswith("bash .ci/setup && .venv/bin/northstar serve")
    assert block[1].startswith("bash .ci/test")
    assert (ROOT / ".ci" / "run").read_text().count("bash .ci/test") == 1


def test_published_json_schema_is_current() -> None:
    import json

    from metrics.definitions.schema import json_schemas

    for name, document in json_schemas().items():
        on_disk = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text())
        assert on_disk == document, f"run `northstar schema --out docs/schema` ({name} changed)"


def test_security_doc_names_tests_that_exist() -> None:
    """docs/security.md says which test holds each guarantee: every `file::name` it names exists."""
    text = (ROOT / "docs" / "security.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert len(named) >= 20
    for file, test in named:
        source = (ROOT / file).read_text()
        assert not test or re.search(rf"^(async )?def {test}\(", source, re.MULTILINE), f"{file}::{test}"
