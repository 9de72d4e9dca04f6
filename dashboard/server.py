"""`northstar serve` behind the command: who may start a server where, Streamlit's secrets, and the
process that stops everything it started.

* `plan_serve` decides, before anything starts: a non-loopback address needs sign-in (the `auth:`
  block of project.yaml) or an explicit `--no-auth`; sign-in needs a cookie secret
  (NORTHSTAR_COOKIE_SECRET or `--cookie-secret-file`, outside the project); the host names the
  server answers to (`dashboard.access.allowed_hosts`).
* `serve` writes Streamlit's secrets (the `[auth]` section and the allow list) into a private
  temporary folder (0700, file 0600), never into the project, runs `streamlit run
  dashboard/asgi_app.py` in a session of its own, and removes the folder when it ends.
* SIGTERM, SIGINT or SIGHUP to `northstar serve` stops streamlit, the forecast worker and any
  Chromium the review pack started (those run in sessions of their own, so they are found by
  ancestry, and this process makes itself their reaper), killing what is left after a grace
  period, so the port is free within 10 s.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from connectors.errors import NorthstarError
from dashboard.access import LOOPBACK_HOSTS, allowed_hosts
from metrics.definitions.models import AuthSettings
from metrics.definitions.project import Project

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "dashboard" / "asgi_app.py"
COOKIE_SECRET_ENV = "NORTHSTAR_COOKIE_SECRET"
MIN_COOKIE_SECRET = 32  # characters
GRACE_SECONDS = 5.0  # after SIGTERM, before SIGKILL: well inside the promised 10 s
SECRET_HINT = 'make one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'


class ServeError(NorthstarError):
    """`northstar serve` cannot start as asked: one sentence, exit code 1."""


@dataclass(frozen=True)
class ServePlan:
    host: str
    port: int
    public_url: str
    allowed: frozenset[str]
    auth: AuthSettings | None
    cookie_secret: str | None = field(default=None, repr=False)

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/oauth2callback"


def is_loopback(host: str) -> bool:
    return host.strip().strip("[]").lower() in LOOPBACK_HOSTS or host.startswith("127.")


def _public_url(public_url: str | None, port: int) -> str:
    if public_url is None:
        return f"http://localhost:{port}"
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ServeError(
            f"--public-url {public_url!r} is not an http(s) address; give the URL people open, "
            "e.g. https://northstar.acme.example"
        )
    return public_url.rstrip("/")


def _auth_settings(project: Project) -> AuthSettings | None:
    """The sign-in settings, or None when project.yaml has no `auth:`; a ServeError when it has one
    that did not load cleanly (a server must never fall back to no sign-in)."""
    tree = project.trees.get("project.yaml")
    written = isinstance(tree, Mapping) and "auth" in tree
    if not written:
        return None
    problems = [
        str(p)
        for p in project.problems
        if p.location is not None and p.location.file.endswith("project.yaml")
    ]
    if problems or project.settings.auth is None:
        first = problems[0] if problems else "project.yaml: auth: is not valid"
        raise ServeError(
            f"the sign-in settings in project.yaml are not valid ({first}); "
            "fix them (see `northstar validate`) before serving"
        )
    return project.settings.auth


def _cookie_secret(config_dir: Path, secret_file: Path | None, environ: Mapping[str, str]) -> str:
    if secret_file is not None:
        path = secret_file.expanduser().resolve()
        root = config_dir.resolve()
        if path == root or root in path.parents:
            raise ServeError(
                f"--cookie-secret-file {secret_file} is inside the project folder; keep secrets out of it "
                "(e.g. /etc/northstar/cookie-secret, readable by the server's user only)"
            )
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ServeError(f"cannot read --cookie-secret-file {secret_file}: {exc}") from None
        where = f"--cookie-secret-file {secret_file}"
    else:
        secret = environ.get(COOKIE_SECRET_ENV, "").strip()
        if not secret:
            raise ServeError(
                f"sign-in needs a cookie secret: set {COOKIE_SECRET_ENV} or pass --cookie-secret-file FILE "
                f"({SECRET_HINT})"
            )
        where = COOKIE_SECRET_ENV
    if len(secret) < MIN_COOKIE_SECRET:
        raise ServeError(
            f"the cookie secret in {where} is shorter than {MIN_COOKIE_SECRET} characters; {SECRET_HINT}"
        )
    return secret


def plan_serve(
    project: Project,
    *,
    host: str,
    port: int,
    public_url: str | None = None,
    no_auth: bool = False,
    cookie_secret_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServePlan:
    """Check that this server may start as asked; a ServeError (one sentence) when not."""
    environ = os.environ if environ is None else environ
    url = _public_url(public_url, port)
    auth = None if no_auth else _auth_settings(project)
    if auth is None and not no_auth and not is_loopback(host):
        raise ServeError(
            f"refusing to serve on {host} without sign-in: configure `auth:` in project.yaml "
            "(docs/deploy.md) or pass --no-auth to share the dashboard with everyone who can reach it"
        )
    wildcard = host.strip().strip("[]") in ("0.0.0.0", "::", "")
    if public_url is None and not is_loopback(host) and (auth is not None or wildcard):
        raise ServeError(
            f"serving on {host} needs --public-url, the address people open (e.g. "
            "https://northstar.acme.example): sign-in returns there, and the server answers only to that name"
        )
    secret = _cookie_secret(project.root, cookie_secret_file, environ) if auth is not None else None
    return ServePlan(host, port, url, allowed_hosts(host, url), auth, secret)


def secrets_toml(plan: ServePlan) -> str:
    """Streamlit's secrets for this server: `[auth]` (st.login's provider) and `[northstar]`
    (whether sign-in is on, and who is allowed). TOML basic strings escape as JSON strings do."""
    lines = ["[northstar]", f"sign_in = {json.dumps('oidc' if plan.auth else 'off')}"]
    if plan.auth is not None:
        assert plan.cookie_secret is not None
        auth = plan.auth
        lines.append(f"allow = [{', '.join(json.dumps(a) for a in auth.allow)}]")
        lines += [
            "",
            "[auth]",
            f"redirect_uri = {json.dumps(plan.redirect_uri)}",
            f"cookie_secret = {json.dumps(plan.cookie_secret)}",
            f"client_id = {json.dumps(auth.client_id)}",
            f"client_secret = {json.dumps(auth.client_secret.get_secret_value())}",
            f"server_metadata_url = {json.dumps(auth.provider)}",
        ]
    return "\n".join(lines) + "\n"


def write_secrets(plan: ServePlan) -> Path:
    """A new private folder (0700) holding secrets.toml (0600); the caller removes the folder."""
    folder = Path(tempfile.mkdtemp(prefix="northstar-serve-"))
    path = folder / "secrets.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets_toml(plan))
    return path


def streamlit_command(plan: ServePlan, secrets: Path, extra: Sequence[str] = ()) -> list[str]:
    command = [
        sys.executable, "-m", "streamlit", "run", str(LAUNCHER),
        "--server.address", plan.host,
        "--server.port", str(plan.port),
        "--server.headless", "true",
        # no source watcher: every new session would walk sys.modules on the event loop (about 2 s
        # under load); the app reads edited YAML on its next run by the files' size and mtime
        "--server.fileWatcherType", "none",
        # no magic: Streamlit drops its compiled scripts whenever the last session closes, so a new
        # session after a quiet spell compiles app.py and its page again, and magic's AST rewrite is
        # most of that (about 25 ms a session); the scripts show nothing by magic
        "--runner.magicEnabled", "false",
        "--client.toolbarMode", "minimal",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets),
    ]  # fmt: skip
    for name in sorted(plan.allowed):  # Streamlit's own WebSocket check, beside HostCheck
        command += ["--server.allowedHosts", name]
    return [*command, *extra]


# --- the process tree ---------------------------------------------------------------------------


def _become_subreaper() -> None:
    """Orphans of our descendants (a Chromium whose parent died) become our children, not init's,
    so they can still be found and stopped. Linux only; elsewhere the process group must do."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _processes() -> Iterator[tuple[int, bytes, int]]:
    """(pid, state, parent pid) of every process, read from /proc (psutil would do this, but is not
    a dependency; these two fields are all `serve` needs)."""
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            yield int(entry), fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, whatever its session or group."""
    children: dict[int, list[int]] = {}
    for child, _state, parent in _processes():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal_all(pids: set[int], group: int | None, signum: int) -> None:
    if group is not None:
        with contextlib.suppress(OSError):
            os.killpg(group, signum)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _reap(keep: int | None = None) -> None:
    """Collect our children that have ended (orphans we adopted as their reaper), except `keep`,
    whose exit code Popen reads itself."""
    me = os.getpid()
    for pid, state, parent in _processes():
        if pid != keep and state == b"Z" and parent == me:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def stop_tree(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to the child's group and to every descendant, then SIGKILL to whatever is left."""
    me = os.getpid()
    group = process.pid
    _signal_all(descendants(me), group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(keep=group)
        if process.poll() is not None and not descendants(me):
            return
        time.sleep(0.1)
    _signal_all(descendants(me), group, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=2)
    end = time.monotonic() + 2
    while descendants(me) and time.monotonic() < end:
        _reap(keep=group)
        time.sleep(0.05)
    _reap()


def child_environment(plan: ServePlan, env: Mapping[str, str]) -> dict[str, str]:
    """The environment streamlit runs in: sign-in on or off, the allowed Host names, Secure cookies
    behind an https public URL, and never the cookie secret (it goes through the secrets file only)."""
    child = {
        **env,
        "NORTHSTAR_SIGN_IN": "oidc" if plan.auth else "off",
        "NORTHSTAR_ALLOWED_HOSTS": ",".join(sorted(plan.allowed)),
        "NORTHSTAR_SECURE_COOKIES": "1" if plan.public_url.lower().startswith("https://") else "0",
    }
    child.pop(COOKIE_SECRET_ENV, None)
    return child


def serve(plan: ServePlan, env: Mapping[str, str], extra_args: Sequence[str] = ()) -> int:
    """Run the dashboard until it ends or a signal asks us to stop; the exit code."""
    secrets = write_secrets(plan)
    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    process: subprocess.Popen[bytes] | None = None
    try:
        _become_subreaper()
        process = subprocess.Popen(
            streamlit_command(plan, secrets, extra_args),
            env=child_environment(plan, env),
            start_new_session=True,
        )
        ticks = 0
        while not stop:
            try:
                code = process.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                ticks += 1
                if ticks % 40 == 0:  # every 10 s: no zombie piles up under a long-running server
                    _reap(keep=process.pid)
                continue
            return code
        return 0
    finally:
        if process is not None:
            stop_tree(process)
        shutil.rmtree(secrets.parent, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
