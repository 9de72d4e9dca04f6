"""Viewers see one sentence, no traceback and no server path; `serve --debug` shows the details."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cli
from dashboard.debug import without_paths
from tests.app_support import APP, copy_box_texts
from tests.engine_fixtures import Row
from tests.sql_fixtures import write_parquet


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project deep in the server's folders, with one broken definition and one missing file."""
    config = tmp_path / "srv" / "acme-internal" / "config"
    config.mkdir(parents=True)
    rows = [
        Row(dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i), f"u{i % 4}", "open", "web") for i in range(40)
    ]
    write_parquet(rows, config / "events.parquet")
    columns = {"timestamp": "ts", "user": "user_id", "event": "event"}
    sources = {
        "events": {"type": "parquet", "path": str(config / "events.parquet"), "columns": columns},
        "archive": {"type": "parquet", "path": str(config / "old" / "archive.parquet"), "columns": columns},
    }
    metrics = {
        "dau": {"type": "active_users", "source": "events", "window": 1},
        "old": {"type": "count", "source": "archive"},
        "broken": {"type": "cout", "source": "events"},
    }
    (config / "sources.yaml").write_text(json.dumps({"sources": sources}, indent=1))
    (config / "metrics.yaml").write_text(json.dumps({"metrics": metrics}, indent=1))
    return config


def _shown(at: AppTest) -> str:
    elements = [*at.error, *at.warning, *at.code, *at.markdown, *at.caption, *at.exception]
    elements += [*at.sidebar.caption, *at.sidebar.code]
    text = "\n".join([*(str(getattr(e, "value", e)) for e in elements), *copy_box_texts(at)])
    return re.sub(r"\\(.)", r"\1", text)  # as the page shows it: Markdown's escapes undone


def _run(project: Path, monkeypatch: pytest.MonkeyPatch, *, debug: bool) -> AppTest:
    from dashboard.views import common

    monkeypatch.setenv("NORTHSTAR_CONFIG", str(project))
    monkeypatch.setenv("NORTHSTAR_DEBUG", "1" if debug else "0")

    def broken_context() -> Any:  # a bug of ours on the page, with a server path in its words
        raise RuntimeError(f"cannot open {project / 'cache' / 'state.bin'}")

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    monkeypatch.setattr(common, "context", broken_context)
    at.switch_page("views/explorer.py").run()
    return at


def test_viewers_see_one_sentence_and_no_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(project, monkeypatch, debug=False)
    shown = _shown(at)
    assert "failed: an unexpected error (the server's log has the details)" in shown
    assert "metrics.yaml:" in shown and "unknown metric type 'cout'" in shown  # problems still listed
    assert "archive.parquet" in shown  # ...naming the file, not where it lives
    assert "Traceback" not in shown and not at.exception
    assert "acme-internal" not in shown and str(project.parent) not in shown, shown


def test_debug_shows_the_traceback_and_paths(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(project, monkeypatch, debug=True)
    shown = _shown(at)
    assert "RuntimeError" in shown and "Traceback" in shown
    assert str(project) in shown  # the config folder in the sidebar, the paths in the messages


def test_serve_debug_reaches_the_app_and_streamlit(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dashboard.server

    calls: list[tuple[dict[str, str], list[str]]] = []

    def fake_serve(plan: Any, env: dict[str, str], extra_args: Any = ()) -> int:
        calls.append((dict(env), list(extra_args)))
        return 0

    monkeypatch.setattr(dashboard.server, "serve", fake_serve)
    for args in (["serve", "--config", str(project)], ["serve", "--config", str(project), "--debug"]):
        with contextlib.suppress(SystemExit):
            cli.main(args)
    (plain_env, plain), (debug_env, debug) = calls
    assert plain_env["NORTHSTAR_DEBUG"] == "0" and debug_env["NORTHSTAR_DEBUG"] == "1"
    detail = "--client.showErrorDetails"
    assert plain[plain.index(detail) + 1] == "none" and debug[debug.index(detail) + 1] == "full"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/srv/acme/config/sources.yaml:4:10: bad", "…/sources.yaml:4:10: bad"),
        ("no database file at /var/lib/x.db; create it", "no database file at …/x.db; create it"),
        ("cannot reach sqlite:///srv/a/events.db (down)", "cannot reach sqlite:///…/events.db (down)"),
        ("no file matches ../data/demo/*.parquet", "no file matches …/*.parquet"),
        ("open https://acme.example/okrs?as_of=1 to see", "open https://acme.example/okrs?as_of=1 to see"),
    ],
)
def test_without_paths(text: str, shown: str) -> None:
    assert without_paths(text) == shown


@pytest.mark.parametrize("debug", [False, True])
def test_the_engine_plan_on_definitions_names_the_file_not_its_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    """The definitions page shows the plan the engine runs (a Polars plan names the files it scans):
    a viewer sees the file's name, never where the server keeps it; `--debug` shows the full path."""
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(project))
    monkeypatch.setenv("NORTHSTAR_DEBUG", "1" if debug else "0")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["metric"] = "dau"
    at.run()
    at.switch_page("views/definitions.py").run()
    plan = "\n".join(str(c.value) for c in at.code)
    assert "events.parquet" in plan, plan  # the plan is shown, naming its file
    assert ("acme-internal" in plan) is debug, plan
