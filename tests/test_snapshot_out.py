"""`snapshot --out`: never into a folder of other files, never through a link, never half a pack.

The project has nothing to draw (no OKRs, no pinned metrics), so no browser is needed: the rules
are about the folder, and every pack writes index.html, summary.md and pack.json.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.pack.build import plan_pack, write_pack
from dashboard.pack.model import PackError, Plan
from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.load import load_project
from tests.conftest import ROOT
from tests.engine_fixtures import Row
from tests.sql_fixtures import write_parquet

AS_OF = dt.date(2026, 3, 5)
BASE = "https://northstar.example.com"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("project")
    rows = [
        Row(dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i), f"u{i % 4}", "open", "web") for i in range(50)
    ]
    write_parquet(rows, folder / "events.parquet")
    source = {"type": "parquet", "path": "events.parquet", "columns": {"timestamp": "ts", "user": "user_id"}}
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(
        json.dumps({"metrics": {"dau": {"type": "active_users", "source": "events", "window": 1}}})
    )
    return folder


@pytest.fixture(scope="module")
def project(config: Path) -> Project:
    loaded = load_project(config)
    assert loaded.ok, loaded.problems
    return loaded


@pytest.fixture(scope="module")
def plan(project: Project) -> Plan:
    return plan_pack(project, Engine(project, today=lambda: AS_OF), as_of=AS_OF, base_url=BASE)


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_a_new_or_empty_folder_gets_the_pack(plan: Plan, project: Project, tmp_path: Path) -> None:
    for out in (tmp_path / "new" / "pack", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        summary = write_pack(plan, project, out)
        assert sorted(p.name for p in out.iterdir()) == ["index.html", "pack.json", "summary.md"]
        assert all(f.parent == out and f.exists() for f in summary.files)
        assert _siblings(out) == []  # the folder it was built in is gone


def test_a_folder_of_other_files_is_refused_and_left_alone(
    plan: Plan, project: Project, tmp_path: Path
) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "summary.md").write_text("my notes")
    with pytest.raises(PackError, match="not empty and is not an earlier review pack"):
        write_pack(plan, project, out)
    assert (out / "summary.md").read_text() == "my notes" and len(list(out.iterdir())) == 1
    assert _siblings(out) == []


def test_an_earlier_pack_is_replaced_whole(plan: Plan, project: Project, tmp_path: Path) -> None:
    out = tmp_path / "review"
    write_pack(plan, project, out)
    (out / "stale-chart.png").write_bytes(b"\x89PNG old")
    first = json.loads((out / "pack.json").read_text())
    write_pack(plan, project, out)
    assert not (out / "stale-chart.png").exists()  # the folder is the new pack, nothing of the old
    assert json.loads((out / "pack.json").read_text())["stamp"] == first["stamp"]
    assert _siblings(out) == []


def test_a_pack_json_we_did_not_write_is_not_a_marker(plan: Plan, project: Project, tmp_path: Path) -> None:
    out = tmp_path / "other"
    out.mkdir()
    (out / "pack.json").write_text('{"name": "some npm thing"}')
    with pytest.raises(PackError, match="not one Northstar wrote"):
        write_pack(plan, project, out)
    assert (out / "pack.json").read_text() == '{"name": "some npm thing"}'


def test_links_are_never_followed(plan: Plan, project: Project, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("unrelated")
    # An earlier pack whose summary.md is a link to an unrelated file (the probe's case).
    out = tmp_path / "review"
    write_pack(plan, project, out)
    (out / "summary.md").unlink()
    (out / "summary.md").symlink_to(victim)
    with pytest.raises(PackError, match=r"holds a link, summary\.md"):
        write_pack(plan, project, out)
    # --out itself a link to a folder.
    real = tmp_path / "real"
    real.mkdir()
    linked = tmp_path / "linked"
    linked.symlink_to(real, target_is_directory=True)
    with pytest.raises(PackError, match="symbolic link"):
        write_pack(plan, project, linked)
    assert victim.read_text() == "unrelated" and list(real.iterdir()) == []


def test_a_failure_halfway_leaves_the_earlier_pack(
    plan: Plan, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "review"
    write_pack(plan, project, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "summary.md").write_text("as of last week")  # so the new summary would differ
    before["summary.md"] = b"as of last week"
    write_text = Path.write_text

    def full_disk(self: Path, data: str, *args: object, **kwargs: object) -> int:
        if self.name == "pack.json":  # the last file: index.html and summary.md are written by now
            raise OSError(28, "No space left on device")
        return write_text(self, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(PackError, match="No space left"):
        write_pack(plan, project, out)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _siblings(out) == []


def test_cli_refuses_a_non_empty_folder_in_one_sentence(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / ".bashrc").write_text("export X=1")
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "snapshot", "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "not an earlier review pack" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert (out / ".bashrc").read_text() == "export X=1" and len(list(out.iterdir())) == 1
