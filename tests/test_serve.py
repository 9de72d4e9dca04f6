"""`northstar serve` before anything starts: the allow rule, the Host names, the `auth:` block, who
may serve where, and the secrets it hands Streamlit. Fast: no server runs here (see
tests/test_serve_process.py and tests/test_sign_in_browser.py for those)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dashboard.access import allowed_hosts, host_allowed, host_name, is_allowed
from dashboard.server import ServeError, child_environment, plan_serve, secrets_toml, write_secrets
from metrics.load import load_project
from tests.app_support import ROOT

ALLOW = ["pm@acme.example", "@friends.example", "Boss@Corp.Example"]
SECRET = "s" * 40
AUTH_BLOCK = """auth:
  provider: ${OIDC_URL}
  client_id: ${OIDC_ID}
  client_secret: ${OIDC_SECRET}
  allow: [pm@acme.example, "@friends.example"]
"""
ENV = {
    "OIDC_URL": "https://login.acme.example/.well-known/openid-configuration",
    "OIDC_ID": "northstar",
    "OIDC_SECRET": 'se"cret\\with\nodd chars',
}


@pytest.mark.parametrize(
    ("email", "verified", "allowed"),
    [
        ("pm@acme.example", True, True),
        ("PM@ACME.example", None, True),  # case-insensitive; no claim: the provider is trusted
        ("  pm@acme.example ", True, True),
        ("boss@corp.example", True, True),  # the list's own case does not matter either
        ("anyone@friends.example", True, True),
        ("anyone@FRIENDS.EXAMPLE", "true", True),
        ("pm@acme.example", False, False),  # the provider says unverified: refused
        ("anyone@friends.example", "false", False),
        ("other@acme.example", True, False),  # the acme entry is one address, not the domain
        ("x@sub.friends.example", True, False),  # a domain entry is that domain only
        ("x@friends.example.evil", True, False),
        ("friends.example", True, False),
        ("@friends.example", True, False),  # no local part
        ("", True, False),
        (None, True, False),
        (42, True, False),
        ("pm@acme.example\n@friends.example", True, False),
    ],
)
def test_allow_rule(email: object, verified: object, allowed: bool) -> None:
    assert is_allowed(email, verified, ALLOW) is allowed


def test_allow_rule_with_an_empty_list_refuses_everyone() -> None:
    assert not is_allowed("pm@acme.example", True, [])


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8501", "localhost"),
        ("LOCALHOST", "localhost"),
        ("[::1]:8501", "::1"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("evil.example", "evil.example"),
        ("", None),
        (None, None),
        ("[::1", None),
    ],
)
def test_host_name(header: str | None, name: str | None) -> None:
    assert host_name(header) == name


def test_allowed_hosts() -> None:
    local = allowed_hosts("127.0.0.1", "http://localhost:8501")
    assert local == {"localhost", "127.0.0.1", "::1"}
    shared = allowed_hosts("0.0.0.0", "https://Northstar.Acme.example")
    assert shared == {"localhost", "127.0.0.1", "::1", "northstar.acme.example"}
    assert allowed_hosts("10.0.0.5", None) == {"localhost", "127.0.0.1", "::1", "10.0.0.5"}
    assert host_allowed("northstar.acme.example:443", shared)
    assert not host_allowed("evil.example", shared)
    assert not host_allowed("127.0.0.1.evil.example", shared)
    assert not host_allowed(None, shared)


def _project(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "project.yaml").write_text("name: Secretive Co\n" + extra)
    (config / "sources.yaml").write_text("sources: {}\n")
    (config / "metrics.yaml").write_text("metrics: {}\n")
    return config


def test_auth_block_loads_from_environment_variables(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, AUTH_BLOCK), env=ENV, check_data=False)
    assert not project.problems, project.problems
    auth = project.settings.auth
    assert auth is not None
    assert auth.provider == ENV["OIDC_URL"] and auth.client_id == "northstar"
    assert auth.client_secret.get_secret_value() == ENV["OIDC_SECRET"]
    assert ENV["OIDC_SECRET"] not in repr(project.settings)  # a secret never shows in a repr
    assert auth.allow == ["pm@acme.example", "@friends.example"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (AUTH_BLOCK.replace('[pm@acme.example, "@friends.example"]', "[]"), "allow"),
        (AUTH_BLOCK.replace('"@friends.example"', "friends.example"), "neither an email"),
        (AUTH_BLOCK.replace("${OIDC_URL}", "http://login.acme.example/x"), "https"),
        (AUTH_BLOCK.replace("${OIDC_URL}", "login.acme.example"), "not a URL"),
        (AUTH_BLOCK.replace("  allow:", "  alow:"), "alow"),
    ],
)
def test_bad_auth_block_is_a_located_problem(tmp_path: Path, block: str, message: str) -> None:
    project = load_project(_project(tmp_path, block), env=ENV, check_data=False)
    assert project.problems
    text = "\n".join(str(p) for p in project.problems)
    assert "project.yaml:" in text and message in text


def test_non_loopback_without_sign_in_refuses(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path), env={}, check_data=False)
    for host in ("0.0.0.0", "10.1.2.3", "::"):
        with pytest.raises(ServeError, match=r"refusing to serve on .* without sign-in.*--no-auth"):
            plan_serve(project, host=host, port=8501, environ={})
    public = "http://dash.acme.example:8501"
    assert (
        plan_serve(project, host="0.0.0.0", port=8501, no_auth=True, public_url=public, environ={}).auth
        is None
    )
    assert plan_serve(project, host="127.0.0.1", port=8501, environ={}).auth is None
    # on all addresses the server must know its public name (it answers to no other)
    with pytest.raises(ServeError, match="needs --public-url"):
        plan_serve(project, host="0.0.0.0", port=8501, no_auth=True, environ={})


def test_sign_in_on_a_shared_address_needs_the_public_url(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, AUTH_BLOCK), env=ENV, check_data=False)
    env = {"NORTHSTAR_COOKIE_SECRET": SECRET}
    with pytest.raises(ServeError, match="needs --public-url"):
        plan_serve(project, host="10.0.0.5", port=8501, environ=env)
    plan = plan_serve(
        project, host="10.0.0.5", port=8501, public_url="https://dash.acme.example", environ=env
    )
    assert plan.redirect_uri == "https://dash.acme.example/oauth2callback"
    assert plan.allowed == {"localhost", "127.0.0.1", "::1", "10.0.0.5", "dash.acme.example"}


def test_sign_in_needs_a_long_cookie_secret_from_outside_the_project(tmp_path: Path) -> None:
    config = _project(tmp_path, AUTH_BLOCK)
    project = load_project(config, env=ENV, check_data=False)
    with pytest.raises(ServeError, match="NORTHSTAR_COOKIE_SECRET"):
        plan_serve(project, host="127.0.0.1", port=8501, environ={})
    with pytest.raises(ServeError, match="shorter than 32"):
        plan_serve(project, host="127.0.0.1", port=8501, environ={"NORTHSTAR_COOKIE_SECRET": "short"})
    inside = config / "cookie-secret"
    inside.write_text(SECRET)
    with pytest.raises(ServeError, match="inside the project folder"):
        plan_serve(project, host="127.0.0.1", port=8501, cookie_secret_file=inside, environ={})
    outside = tmp_path / "cookie-secret"
    outside.write_text(SECRET + "\n")
    plan = plan_serve(project, host="127.0.0.1", port=8501, cookie_secret_file=outside, environ={})
    assert plan.cookie_secret == SECRET and plan.auth is not None


def test_invalid_auth_block_never_falls_back_to_no_sign_in(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, AUTH_BLOCK), env={}, check_data=False)  # variables unset
    assert project.problems
    with pytest.raises(ServeError, match=r"sign-in settings in project\.yaml are not valid"):
        plan_serve(project, host="127.0.0.1", port=8501, environ={"NORTHSTAR_COOKIE_SECRET": SECRET})


def test_secrets_file_is_private_outside_the_project_and_carries_the_settings(tmp_path: Path) -> None:
    config = _project(tmp_path, AUTH_BLOCK)
    project = load_project(config, env=ENV, check_data=False)
    plan = plan_serve(
        project,
        host="0.0.0.0",
        port=9000,
        public_url="https://northstar.acme.example/",
        environ={"NORTHSTAR_COOKIE_SECRET": SECRET},
    )
    path = write_secrets(plan)
    try:
        assert config.resolve() not in path.resolve().parents
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        secrets = tomllib.loads(path.read_text())
    finally:
        path.unlink()
        path.parent.rmdir()
    assert secrets["auth"] == {
        "redirect_uri": "https://northstar.acme.example/oauth2callback",
        "cookie_secret": SECRET,
        "client_id": "northstar",
        "client_secret": ENV["OIDC_SECRET"],
        "server_metadata_url": ENV["OIDC_URL"],
    }
    assert secrets["northstar"] == {"sign_in": "oidc", "allow": ["pm@acme.example", "@friends.example"]}
    off = plan_serve(project, host="127.0.0.1", port=9000, no_auth=True, environ={})
    assert tomllib.loads(secrets_toml(off)) == {"northstar": {"sign_in": "off"}}
    # what streamlit runs with: Secure cookies behind the https URL only, and never the cookie secret
    child = child_environment(plan, {"NORTHSTAR_COOKIE_SECRET": SECRET, "PATH": "/usr/bin"})
    assert child["NORTHSTAR_SECURE_COOKIES"] == "1" and child["NORTHSTAR_SIGN_IN"] == "oidc"
    assert "NORTHSTAR_COOKIE_SECRET" not in child and child["PATH"] == "/usr/bin"
    assert child_environment(off, {})["NORTHSTAR_SECURE_COOKIES"] == "0"  # http://localhost:9000


def test_default_public_url_and_callback(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, AUTH_BLOCK), env=ENV, check_data=False)
    plan = plan_serve(project, host="127.0.0.1", port=8765, environ={"NORTHSTAR_COOKIE_SECRET": SECRET})
    assert plan.public_url == "http://localhost:8765"
    assert plan.redirect_uri == "http://localhost:8765/oauth2callback"
    with pytest.raises(ServeError, match="--public-url"):
        plan_serve(project, host="127.0.0.1", port=1, public_url="ftp://x", environ={})


def test_cli_serve_on_all_addresses_without_sign_in_exits_1(tmp_path: Path) -> None:
    config = _project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NORTHSTAR_COOKIE_SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "serve", "--config", str(config), "--host", "0.0.0.0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0 without sign-in")
    assert "Traceback" not in result.stderr


def test_the_allow_list_is_read_as_project_yaml_says_it_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing someone from `auth.allow` takes effect on their next click; an edit that breaks the
    block falls back to the list the server started with, never to "everyone"."""
    import os

    from dashboard import auth

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    started = ["pm@acme.example", "@friends.example"]
    monkeypatch.setattr(auth, "_started_allow", lambda: list(started))
    config = _project(tmp_path, AUTH_BLOCK)
    assert auth.allow_list(config) == started
    assert auth.allow_list(None) == started  # no folder known: the started list

    def edit(text: str, tick: int) -> None:
        (config / "project.yaml").write_text(text)
        stamp = (config / "project.yaml").stat().st_mtime_ns + tick * 1_000_000_000
        os.utime(config / "project.yaml", ns=(stamp, stamp))  # a new mtime even within one clock tick

    edit("name: Secretive Co\n" + AUTH_BLOCK.replace('"@friends.example"', "pm2@acme.example"), 1)
    assert auth.allow_list(config) == ["pm@acme.example", "pm2@acme.example"]  # @friends.example revoked
    edit("name: Secretive Co\n" + AUTH_BLOCK.replace("allow: [", "allow: [not an entry, "), 2)
    assert auth.allow_list(config) == started  # a broken block: the list the server started with
    edit("name: Secretive Co\n", 3)
    assert auth.allow_list(config) == started  # the block deleted: still the started list, not "everyone"
