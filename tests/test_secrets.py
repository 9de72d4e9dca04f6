"""No password, token or secret from a source's URL reaches a person: every form of writing one, on
every surface (the CLI's standard error and output, `validate --format json`, the dashboard's red box).
All of them go through `connectors.secrets.mask_secrets`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from connectors.secrets import mask_secrets
from connectors.sql import masked
from tests.app_support import APP
from tests.conftest import ROOT
from tests.engine_fixtures import Row
from tests.sql_fixtures import write_parquet

SECRET = "Hunter2-pw"
CLOSED = "127.0.0.1:9"  # the discard port: nothing listens there
# The forms a URL can carry a secret in; each is a URL a PM might write (or mistype).
URL_FORMS = {
    "userinfo": f"postgresql+psycopg://analyst:{SECRET}@{CLOSED}/warehouse",
    "malformed, no colon": f"postgresql+psycopg//analyst:{SECRET}@{CLOSED}/warehouse",
    "malformed, no slashes": f"postgresql+psycopg:analyst:{SECRET}@{CLOSED}/warehouse",
    "password parameter": f"postgresql+psycopg://analyst@{CLOSED}/warehouse?password={SECRET}",
    "token parameter": f"trino://analyst@{CLOSED}/hive?access_token={SECRET}&catalog=x",
    "secret in a malformed query": f"mysql+pymysql//{CLOSED}/db?sslmode=x&client_secret={SECRET}",
    "unencoded @ in the password": f"postgresql+psycopg://analyst:{SECRET}@x@{CLOSED}/warehouse",
}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        *((url, None) for url in URL_FORMS.values()),
        (f"host=db user=analyst password={SECRET} dbname=w", "user=analyst password=***"),
        (f"cannot reach 'mysql://root:{SECRET}@db/x' (refused)", "'mysql://root:***@db/x'"),
        (f"api_key = '{SECRET}'", "api_key = ***"),
        (f"pwd={SECRET};server=x", "pwd=***;server=x"),
    ],
)
def test_mask_secrets_hides_every_form(text: str, shown: str | None) -> None:
    out = mask_secrets(text)
    assert SECRET not in out and "***" in out
    if shown is not None:
        assert shown in out


@pytest.mark.parametrize(
    "text",
    [
        "metrics.yaml:4:11: unknown metric type 'cout' (did you mean 'count'?)",
        "allow: pm@acme.example, @acme.example",
        "source 'events': column 'ts' holds string values, not timestamps",
        "the key result's target equals its baseline",
    ],
)
def test_mask_secrets_leaves_ordinary_sentences_alone(text: str) -> None:
    assert mask_secrets(text) == text


def test_masked_url_hides_password_and_secret_parameters() -> None:
    assert masked(URL_FORMS["password parameter"]).endswith("warehouse?password=***")
    assert masked(URL_FORMS["userinfo"]) == f"postgresql+psycopg://analyst:***@{CLOSED}/warehouse"
    assert SECRET not in masked(URL_FORMS["malformed, no colon"])


# --- the surfaces ---------------------------------------------------------------------------------


def _project(folder: Path, url: str) -> Path:
    """A parquet source that works and a SQL source whose URL carries the secret."""
    rows = [
        Row(dt.datetime(2026, 3, 1, 12) + dt.timedelta(hours=i), f"u{i % 3}", "open", "web")
        for i in range(20)
    ]
    write_parquet(rows, folder / "events.parquet")
    columns = {"timestamp": "ts", "user": "user_id", "event": "event"}
    sources = {
        "events": {"type": "parquet", "path": "events.parquet", "columns": columns},
        "warehouse": {"type": "sql", "url": url, "table": "events", "columns": columns, "timeout_seconds": 3},
    }
    metrics = {
        "dau": {"type": "active_users", "source": "events", "window": 1},
        "orders": {"type": "count", "source": "warehouse"},
    }
    (folder / "sources.yaml").write_text(json.dumps({"sources": sources}, indent=1))
    (folder / "metrics.yaml").write_text(json.dumps({"metrics": metrics}, indent=1))
    return folder


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize("form", list(URL_FORMS))
def test_the_cli_never_shows_a_secret(form: str, tmp_path: Path) -> None:
    config = str(_project(tmp_path, URL_FORMS[form]))
    text = _cli("validate", "--config", config)
    assert text.returncode == 1 and "warehouse" in text.stdout + text.stderr
    as_json = _cli("validate", "--config", config, "--format", "json")
    problems = json.loads(as_json.stdout)["problems"]
    assert any("warehouse" in p["message"] for p in problems)
    # The source is invalid, so `orders` is unknown: compute names it on standard error instead.
    computed = _cli("compute", "orders", "--config", config, "--start", "2026-03-01", "--end", "2026-03-02")
    assert computed.returncode != 0 and computed.stderr.strip()
    for run in (text, as_json, computed):
        assert SECRET not in run.stdout + run.stderr, (form, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize("form", ["malformed, no colon", "password parameter", "token parameter"])
def test_the_dashboards_red_box_never_shows_a_secret(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(_project(tmp_path, URL_FORMS[form])))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    for page in ("views/okrs.py", "views/definitions.py", "views/quality.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = [e.value for e in [*at.error, *at.code, *at.markdown, *at.caption, *at.warning]]
        assert any("warehouse" in str(v) for v in shown), shown  # the problem is listed...
        assert not any(SECRET in str(v) for v in shown), shown  # ...without the secret


def test_an_expanded_variable_is_masked_too(tmp_path: Path) -> None:
    _project(tmp_path, "${NS_TEST_WAREHOUSE}")
    env = {**os.environ, "NS_TEST_WAREHOUSE": URL_FORMS["malformed, no colon"]}
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "validate", "--config", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1 and "warehouse" in run.stdout
    assert SECRET not in run.stdout + run.stderr
