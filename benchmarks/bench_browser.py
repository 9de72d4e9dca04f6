"""What a PM waits for when opening a shared link: each page in Chromium, beside a one-line page.

    .venv/bin/python benchmarks/bench_browser.py [--events 1000000 10000000] [--sessions 3]
        [--pages okrs explorer funnels retention definitions quality] [--config DIR] [--peer DIR]

For each demo size (the shipped config/ over `northstar demo --events N`, generated into a temporary
folder) it serves the dashboard with `northstar serve --no-auth` (through `python -m dashboard.cli`,
with NORTHSTAR_CACHE_DIR set to a folder of its own, so the result store starts empty), and a one-line
Streamlit page (`st.title("Hello")`) served by the same Streamlit the same way (`streamlit run` of an
`st.App`, as `serve` runs the dashboard): Streamlit's own floor on this machine. Every visit opens the
page's URL in a new Chromium browser context (a new session: no cookies, no session state) and is
timed from the navigation until Streamlit says the script has stopped running (`stApp`'s
`data-test-script-state` is `notRunning`) with the page's heading drawn.

* `cold`: the first visit of each page on a server started with an empty result store (one server
  for all pages, in the order given: the first pays for the imports and the project too).
* `first`: the first visit after a restart, with the store warm (the server is restarted before
  each page: every page is the first one its process draws). Before the first restart, one session
  of the cold server stays open until the app's background data checks have finished, as on a
  server that has run for a while (a report as of a day that is over is stored too).
* `new`: the median of `--sessions` later visits to the same server, each a new session.

Visits are timed from the moment the server answers its health check; `serve` imports what the
pages need and loads the project before that (`dashboard/preload.py`), so the table also prints
each server's median time from launch to healthy.

The one-line page is measured the same way (its `first` after a restart, its `new` sessions). The
table prints each figure and its difference from the one-line page's. The data-quality checks run in
a background thread after a page has drawn; a visit does not wait for them (the badges appear
when they finish), so they are not in these figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {  # page -> URL path (the OKR page is the root)
    "okrs": "",
    "explorer": "explorer",
    "funnels": "funnels",
    "retention": "retention",
    "definitions": "definitions",
    "quality": "quality",
}
ONE_LINE_PAGE = 'import streamlit as st\n\nst.title("Hello")\n'
ONE_LINE_APP = "import streamlit as st\n\napp = st.App({page!r})\n"
DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !!document.querySelector('[data-testid="stMain"] h1');
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STARTS: dict[str, list[float]] = {}  # server -> seconds from launch until it answered its health check


@contextlib.contextmanager
def served(
    command: list[str], env: dict[str, str], port: int, log: Path, name: str = "", cwd: Path = ROOT
) -> Iterator[str]:
    """A server started in a session of its own; stopped with SIGTERM (then SIGKILL) at the end."""
    launched = time.perf_counter()
    with log.open("a") as out:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response,
            ):
                if response.status == 200:
                    STARTS.setdefault(name, []).append(time.perf_counter() - launched)
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log}")
            time.sleep(0.1)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def visit(browser: Any, url: str) -> float:
    """Seconds from navigation until the script stopped running, in a new browser context."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    try:
        page = context.new_page()
        began = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DONE, timeout=600_000, polling=20)
        return time.perf_counter() - began
    finally:
        context.close()


CHECKS_DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !(sidebar && sidebar.textContent.includes('Running the data checks'));
}"""


def settle(browser: Any, url: str) -> float:
    """Keep one session open until the app's background data checks have finished (their caption in
    the sidebar is gone): what a server that has run for a while has done, and stored."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    try:
        page = context.new_page()
        began = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DONE, timeout=600_000, polling=20)
        page.wait_for_timeout(3_000)  # the checks start on the session's second run, two seconds on
        page.wait_for_function(CHECKS_DONE, timeout=600_000, polling=200)
        return time.perf_counter() - began
    finally:
        context.close()


def northstar_command(config: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "dashboard.cli", "serve", "--no-auth", "--port", str(port), "--config", str(config),
    ]  # fmt: skip


def one_line_command(folder: Path, port: int) -> list[str]:
    page = folder / "hello.py"
    page.write_text(ONE_LINE_PAGE)
    launcher = folder / "hello_app.py"
    launcher.write_text(ONE_LINE_APP.format(page=str(page)))
    return [
        sys.executable, "-m", "streamlit", "run", str(launcher),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--client.toolbarMode", "minimal", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


@dataclass(frozen=True)
class Server:
    """One app under measurement: its name in the table, command, environment and folder."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path = ROOT


def measure(
    browser: Any, server: Server, port: int, path: str, sessions: int, log: Path
) -> tuple[float, float]:
    """(first visit after a start, median of `sessions` later new sessions)."""
    with served(server.command, server.env, port, log, server.name, server.cwd) as base:
        url = f"{base}/{path}"
        first = visit(browser, url)
        later = [visit(browser, url) for _ in range(sessions)]
    return first, statistics.median(later)


def run_size(browser: Any, events: int | None, config_arg: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="northstar-browser-") as tmp:
        folder = Path(tmp)
        if config_arg:
            config = Path(config_arg).resolve()
            label = str(config)
        else:
            from tests.app_support import make_demo

            began = time.perf_counter()
            config, summary = make_demo(folder / "demo", events=events or 1_000_000)
            label = f"{summary.rows:,} events"
            print(f"demo: {label} in {time.perf_counter() - began:.1f} s", flush=True)
        cache = folder / "cache"
        env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache), "NORTHSTAR_NO_DEMO": "1"}
        env.pop("NORTHSTAR_RESULT_STORE", None)
        if args.store_off:
            env["NORTHSTAR_RESULT_STORE"] = "off"
        if (
            args.watcher_off
        ):  # Streamlit's per-session walk over every imported module (see docs/performance.md)
            env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"
        log = folder / "server.log"
        port = free_port()
        servers = [Server("", northstar_command(config, port), env)]
        if args.peer:  # the same measurement of another checkout, with a result store of its own
            peer = Path(args.peer).resolve()
            peer_env = {**env, "NORTHSTAR_CACHE_DIR": str(folder / "peer-cache"), "PYTHONPATH": str(peer)}
            servers.append(Server(" (peer)", northstar_command(config, port), peer_env, peer))

        cold: dict[tuple[str, str], float] = {}
        for server in servers:  # an empty store: what the first visitor waits for
            with served(server.command, server.env, port, log, server.name, server.cwd) as base:
                for name in args.pages:
                    cold[(server.name, name)] = visit(browser, f"{base}/{PAGES[name]}")
                waited = settle(browser, f"{base}/{PAGES[args.pages[0]]}")
                print(f"northstar{server.name}: data checks done {waited:.1f} s after a visit", flush=True)
        rows: list[tuple[str, float | None, float, float]] = []
        hello = Server("one-line page", one_line_command(folder, port), env)
        hello_first, hello_new = measure(browser, hello, port, "", args.sessions, log)
        rows.append(("one-line page", None, hello_first, hello_new))
        for name in args.pages:
            for server in servers:
                first, new = measure(browser, server, port, PAGES[name], args.sessions, log)
                rows.append((name + server.name, cold[(server.name, name)], first, new))
        stored = (
            sum(f.stat().st_size for f in (cache / "results").glob("*.arrows"))
            if (cache / "results").exists()
            else 0
        )
        print(f"\n{label}: result store {stored / 1e6:.1f} MB; seconds (difference from the one-line page)")
        print(f"{'page':<21} {'cold':>8} {'first after restart':>24} {'new session':>20}")
        for name, cold_s, first, new in rows:
            cold_text = "-" if cold_s is None else f"{cold_s:.2f}"
            print(
                f"{name:<21} {cold_text:>8} {first:>12.2f} ({first - hello_first:+.2f}) "
                f"{new:>12.2f} ({new - hello_new:+.2f})",
                flush=True,
            )
        print(
            "server start to healthy (median s): "
            + ", ".join(
                f"{name or 'northstar'} {statistics.median(times):.2f}" for name, times in STARTS.items()
            ),
            flush=True,
        )
        STARTS.clear()
        if args.keep_log:
            shutil.copy(log, args.keep_log)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--config", help="measure this project instead of generated demos")
    parser.add_argument("--sessions", type=int, default=3, help="new sessions per page after its first visit")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    parser.add_argument(
        "--store-off", action="store_true", help="NORTHSTAR_RESULT_STORE=off (for comparison)"
    )
    parser.add_argument(
        "--watcher-off",
        action="store_true",
        help="serve with Streamlit's file watcher off (STREAMLIT_SERVER_FILE_WATCHER_TYPE=none), both servers",
    )
    parser.add_argument("--keep-log", help="copy the servers' log here")
    parser.add_argument(
        "--peer",
        help="another checkout of Northstar (e.g. /work/main) measured the same way in the same run, "
        "page by page after this one, with a result store of its own; its rows say (peer)",
    )
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if args.config:
                run_size(browser, None, args.config, args)
            else:
                for events in args.events:
                    run_size(browser, events, None, args)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
