"""`northstar serve` as a process: SIGTERM or SIGINT stops everything it started (streamlit, the
forecast worker, the review pack's Chromium) and frees the port within 10 s; its secrets folder is
gone; requests under a Host name it does not answer to are refused (DNS rebinding). And the review
pack renders on one shared browser however many downloads are asked for at once."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from dashboard.server import descendants
from tests.app_support import ROOT, make_demo, pinned_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("made_today")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    """A new server could listen on the port (as servers do, SO_REUSEADDR: TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _command(line: int) -> str:
    try:
        return Path(f"/proc/{line}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:  # /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces and brackets
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _start(config: Path, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "dashboard.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        *extra,
    ]
    with log.open("w") as handle:
        process = subprocess.Popen(  # the demo ends on a fixed day: today is pinned after it
            command,
            cwd=ROOT,
            env=pinned_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return process
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _ = make_demo(tmp_path_factory.mktemp("served"), events=20_000)
    return config


def _open_page(port: int) -> None:
    """A browser session runs the app once, so streamlit starts the forecast worker."""
    from tests.conftest import CHROMIUM_ARGS, require_service

    require_service("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = chromium.new_page()
        page.goto(f"http://localhost:{port}/")
        page.get_by_role("heading", name="OKRs", level=1).wait_for(timeout=120_000)
        chromium.close()


@pytest.mark.browser
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_every_process_and_frees_the_port(
    demo_config: Path, tmp_path: Path, signum: int
) -> None:
    port = _free_port()
    process = _start(demo_config, port, tmp_path / "serve.log")
    try:
        _open_page(port)
        deadline = time.monotonic() + 30
        started = descendants(process.pid)
        while not any("dashboard.worker" in _command(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.2)
            started = descendants(process.pid)
        commands = [_command(p) for p in started]
        assert any("streamlit" in c for c in commands), commands
        assert any("dashboard.worker" in c for c in commands), commands  # the forecast worker
        secrets = next(
            (Path(part).parent for c in commands for part in c.split() if part.endswith("secrets.toml")),
            None,
        )

        began = time.monotonic()
        process.send_signal(signum)
        process.wait(timeout=10)
        left = [p for p in started if Path(f"/proc/{p}").exists() and "(Z)" not in _stat(p)]
        while (left or not _port_free(port)) and time.monotonic() - began < 10:
            time.sleep(0.1)
            left = [p for p in started if Path(f"/proc/{p}").exists() and "(Z)" not in _stat(p)]
        assert not left, [(p, _command(p)) for p in left]
        assert _port_free(port), "the port is still held"
        assert time.monotonic() - began < 10
        assert secrets is not None, "streamlit was not given its secrets file"
        assert not secrets.exists(), "the secrets folder outlived the server"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.browser
def test_sigterm_stops_the_review_pack_browser_too(demo_config: Path, tmp_path: Path) -> None:
    """A review-pack download leaves the shared Chromium running (in sessions of its own); SIGTERM
    to serve stops it with the rest."""
    from tests.conftest import CHROMIUM_ARGS, require_service

    require_service("chromium")
    from playwright.sync_api import sync_playwright

    port = _free_port()
    process = _start(demo_config, port, tmp_path / "serve.log")
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = chromium.new_page(accept_downloads=True)
            page.goto(f"http://localhost:{port}/")
            button = page.get_by_role("button", name="Download review pack")
            button.wait_for(timeout=120_000)
            with page.expect_download(timeout=240_000) as download:
                button.click()
            assert download.value.suggested_filename.endswith(".zip")
            chromium.close()
        started = descendants(process.pid)
        browsers = [p for p in started if "chromium" in _command(p)]
        assert browsers, "the review pack's browser is not running under serve"

        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        left = [p for p in started if Path(f"/proc/{p}").exists() and "(Z)" not in _stat(p)]
        while (left or not _port_free(port)) and time.monotonic() - began < 10:
            time.sleep(0.1)
            left = [p for p in started if Path(f"/proc/{p}").exists() and "(Z)" not in _stat(p)]
        assert not left, [(p, _command(p)) for p in left]
        assert _port_free(port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _stat(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return "(Z)" if text[text.rfind(")") + 2 :].startswith("Z") else text


@pytest.fixture(scope="module")
def served(demo_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    port = _free_port()
    log = tmp_path_factory.mktemp("log") / "serve.log"
    process = _start(demo_config, port, log, "--public-url", "https://northstar.acme.example")
    try:
        yield {"port": port}
    finally:
        process.terminate()
        process.wait(15)


def _get(port: int, host: str, path: str = "/", headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/okrs", "/static/nothing.js"])
def test_unknown_host_names_are_refused(served: dict[str, Any], path: str) -> None:
    port = served["port"]
    assert _get(port, "evil.example", path) == 421
    assert _get(port, f"evil.example:{port}", path) == 421
    assert _get(port, "127.0.0.1.nip.io", path) == 421


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "northstar.acme.example"])
def test_known_host_names_are_served(served: dict[str, Any], host: str) -> None:
    port = served["port"]
    assert _get(port, f"{host}:{port}", "/_stcore/health") == 200
    assert _get(port, host, "/") == 200


def test_websocket_under_an_unknown_host_is_refused(served: dict[str, Any]) -> None:
    port = served["port"]
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    assert _get(port, "evil.example", "/_stcore/stream", upgrade) != 101
    assert (
        _get(port, f"localhost:{port}", "/_stcore/stream", {**upgrade, "Origin": f"http://localhost:{port}"})
        == 101
    )


@pytest.mark.browser
def test_packs_asked_for_at_once_share_one_browser(tmp_path: Path) -> None:
    from dashboard.pack import images

    figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]))
    me = os.getpid()
    peak = [0]
    done = threading.Event()

    def browsers() -> int:
        # kaleido starts each Chromium through one wrapper process; the wrapper's own child, between
        # its fork and its exec of Chromium, briefly carries the wrapper's command line too (seen
        # under load as "2 browsers"), so a wrapper below a wrapper is not another browser
        wrappers = {p for p in descendants(me) if "chromium_wrapper" in _command(p)}
        return sum(1 for p in wrappers if _parent(p) not in wrappers)

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], browsers())
            time.sleep(0.05)

    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            batch = [images.Image(figure, tmp_path / f"{i}-{k}.png", 300, 200, scale=1) for k in range(2)]
            images.shared_renderer().render(batch)
        except BaseException as exc:
            errors.append(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        clicks = [threading.Thread(target=one, args=(i,)) for i in range(5)]
        for click in clicks:
            click.start()
        for click in clicks:
            click.join(timeout=300)
        assert not errors, errors
        assert len(list(tmp_path.glob("*.png"))) == 10
        assert images.shared_browser_running()
        assert peak[0] == 1, f"{peak[0]} browsers ran at once"
    finally:
        done.set()
        images.close_shared_renderer()
    deadline = time.monotonic() + 10
    while browsers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert browsers() == 0 and not images.shared_browser_running()
