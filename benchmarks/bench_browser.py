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
* `while warming`: the median of `--sessions` new sessions of the first page on that cold server
  right after its cold visits, while its background work runs: the warm-up thread computing the
  other pages' default views (`dashboard/preload.py`) and, once a session has run twice, the data
  checks. What a visitor meets on a server that has just started on new data.
* `first`: the first visit after a restart, with the store warm (the server is restarted before
  each page: every page is the first one its process draws). Before the first restart, one session
  of the cold server stays open until the app's background data checks have finished, and then the
  benchmark waits until the server is idle (its processes use less than a tenth of a core for five
  seconds: the warm-up thread has filled every page's default view), as on a server that has run
  for a while: the store then holds what a restarted server's warm-up reads. Without that wait a
  large demo's restarted server computed, beside the visits measured, the pages its predecessor had
  not reached (at 100M events minutes of CPU on both cores: docs/performance.md).
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
PEAKS: dict[str, int] = {}  # server -> the largest peak resident set (bytes) of one of its processes


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (through /proc's children lists)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def peak_rss(pid: int) -> int:
    """The largest VmHWM (peak resident set) among `pid` and its descendants, in bytes: the
    dashboard's Streamlit process under `serve` (the forecast worker is a process of its own)."""
    best = 0
    for each in descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) * 1024)
    return best


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds used so far by `pid` and every process below it."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for each in descendants(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_idle(pid: int, limit: float = 600.0, window: float = 5.0, busy: float = 0.1) -> float | None:
    """Seconds until the server's processes used less than `busy` of a core over `window` seconds (its
    warm-up thread and data checks done); None when that did not happen within `limit` seconds."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy * window:
            return time.monotonic() - began
    return None


@contextlib.contextmanager
def served(
    command: list[str], env: dict[str, str], port: int, log: Path, name: str = "", cwd: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """A server started in a session of its own, as (its URL, its process id); stopped with SIGTERM
    (then SIGKILL) at the end."""
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
        yield base, process.pid
    finally:
        PEAKS[name] = max(PEAKS.get(name, 0), peak_rss(process.pid))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def visit(browser: Any, url: str, *, settle: bool = False) -> float:
    """Seconds from navigation until the script stopped running, in a new browser context; with
    `settle`, until the app's background data checks have finished too."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    try:
        page = context.new_page()
        began = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DONE, timeout=600_000, polling=20)
        if settle:
            page.wait_for_timeout(3_000)  # the checks start on the session's second run, two seconds on
            page.wait_for_function(CHECKS_DONE, timeout=600_000, polling=200)
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
    return visit(browser, url, settle=True)


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
) -> tuple[float, list[float]]:
    """(first visit after a start, `sessions` later visits, each a new session)."""
    with served(server.command, server.env, port, log, server.name, server.cwd) as (base, _):
        url = f"{base}/{path}"
        first = visit(browser, url)
        later = [visit(browser, url) for _ in range(sessions)]
    return first, later


@dataclass
class Row:
    """One page (or the one-line page) at one size."""

    page: str
    cold: float | None
    first: float
    new: list[float]
    warming: list[float] | None = None  # new sessions on the cold server while its background work ran


@dataclass
class Size:
    """What one size measured: its label, rows, the load around it and the servers' figures."""

    label: str
    rows: list[Row]
    load_before: str
    load_after: str
    stored_mb: float
    starts: dict[str, float]
    peaks: dict[str, int]
    engine: tuple[float, int] | None  # `okrs` with the store off: (seconds, peak resident bytes)
    checks: dict[str, float]
    idle: dict[str, float | None]  # server -> seconds from the checks' end until it was idle

    def hello(self) -> Row:
        return self.rows[0]


def project_over(folder: Path, data: Path) -> Path:
    """The shipped config/ over an events file of the demo's columns (e.g. bench_user_metrics'
    1e8-row file): a project folder of its own, the sources pointed at `data`."""
    from ruamel.yaml import YAML  # as tests.app_support.make_demo rewrites them

    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    for file in sorted((ROOT / "config").glob("*.yaml")):
        shutil.copy(file, config / file.name)
    yaml = YAML(typ="rt")
    sources_file = config / "sources.yaml"
    tree = yaml.load(sources_file.read_text(encoding="utf-8"))
    for source in tree["sources"].values():
        if source.get("type") in ("parquet", "csv", "ndjson"):
            source["path"] = str(data.resolve())
    with sources_file.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    project_file = config / "project.yaml"
    settings = yaml.load(project_file.read_text(encoding="utf-8"))
    settings["data_roots"] = [str(data.resolve().parent)]
    with project_file.open("w", encoding="utf-8") as out:
        yaml.dump(settings, out)
    return config


COPY_ABOVE, BASE_EVENTS = 20_000_000, 10_000_000


def demo(events: int, folder: Path, keep: Path | None) -> tuple[Path, str]:
    """(config dir, label) of a generated demo of `events` events; under `keep`/<events> when given
    (generated once, reused by later runs), else in `folder`. Above 2e7 events the data is copies of
    the 1e7 demo, each copy with its own users (as `bench_user_metrics` builds its 1e8 file; the
    generator would take many minutes): the same days, so the OKR page's quarter has data."""
    import polars as pl

    from tests.app_support import make_demo

    where = (keep / str(events)) if keep else folder / "demo"
    data = where / "data" / "events.parquet"
    if data.exists() and (where / "config").exists():
        rows = pl.scan_parquet(data).select(pl.len()).collect().item()
        return where / "config", f"{rows:,} events"
    began = time.perf_counter()
    if events > COPY_ABOVE:
        base_config, _ = demo(BASE_EVENTS, folder / "base", keep)
        base = base_config.parent / "data" / "events.parquet"
        data.parent.mkdir(parents=True, exist_ok=True)
        copies = [
            pl.scan_parquet(base).with_columns(pl.col("user_id") + f"-{copy}")
            for copy in range(round(events / BASE_EVENTS))
        ]
        tmp = data.with_suffix(".tmp")
        pl.concat(copies).sink_parquet(tmp)
        tmp.rename(data)
        shutil.copytree(base_config, where / "config", dirs_exist_ok=True)
        rows = pl.scan_parquet(data).select(pl.len()).collect().item()
        print(f"demo: {rows:,} events ({len(copies)} copies) in {time.perf_counter() - began:.1f} s")
        return where / "config", f"{rows:,} events"
    config, summary = make_demo(where, events=events)
    print(f"demo: {summary.rows:,} events in {time.perf_counter() - began:.1f} s", flush=True)
    return config, f"{summary.rows:,} events"


def engine_time(config: Path, env: dict[str, str]) -> tuple[float, int]:
    """`python -m dashboard.cli okrs` with the result store off: the engine's own time for the OKR
    page's metrics (the scorecard: every key result's history, pace and forecast), whole process,
    and its peak resident set."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "okrs", "--config", str(config)],
        env={**env, "NORTHSTAR_RESULT_STORE": "off"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"okrs failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    return seconds, usage.ru_maxrss * 1024


def run_size(browser: Any, config: Path, label: str, folder: Path, args: argparse.Namespace) -> Size:
    load_before = load()
    print(f"{label}: load average before {load_before}", flush=True)
    cache = folder / "cache"
    env = {**os.environ, "NORTHSTAR_CACHE_DIR": str(cache), "NORTHSTAR_NO_DEMO": "1"}
    env.pop("NORTHSTAR_RESULT_STORE", None)
    if args.store_off:
        env["NORTHSTAR_RESULT_STORE"] = "off"
    if args.watcher_off:  # Streamlit's per-session walk over every imported module (docs/performance.md)
        env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"
    engine = None
    if not args.no_engine:
        engine = engine_time(config, env)
        print(f"{label}: okrs, store off: {engine[0]:.2f} s, peak {engine[1] / 1e6:.0f} MB", flush=True)
    log = folder / "server.log"
    port = free_port()
    servers = [Server("", northstar_command(config, port), env)]
    if args.peer:  # the same measurement of another checkout, with a result store of its own
        peer = Path(args.peer).resolve()
        peer_env = {**env, "NORTHSTAR_CACHE_DIR": str(folder / "peer-cache"), "PYTHONPATH": str(peer)}
        peer_env.update(item.split("=", 1) for item in args.peer_env)  # type: ignore[arg-type]
        servers.append(Server(" (peer)", northstar_command(config, port), peer_env, peer))

    cold: dict[tuple[str, str], float] = {}
    warming: dict[str, list[float]] = {}
    checks: dict[str, float] = {}
    idle: dict[str, float | None] = {}
    for server in servers:  # an empty store: what the first visitor waits for
        with served(server.command, server.env, port, log, server.name, server.cwd) as (base, pid):
            for name in args.pages:
                cold[(server.name, name)] = visit(browser, f"{base}/{PAGES[name]}")
                print(f"  cold {name}{server.name}: {cold[(server.name, name)]:.2f} s", flush=True)
            first_url = f"{base}/{PAGES[args.pages[0]]}"
            warming[server.name] = [visit(browser, first_url) for _ in range(args.sessions)]
            print(
                f"  new sessions of {args.pages[0]}{server.name} while warming: "
                + ", ".join(f"{n:.2f}" for n in warming[server.name])
                + f" (load average {load()})",
                flush=True,
            )
            if not args.no_settle:
                checks[server.name] = settle(browser, first_url)
                print(
                    f"  data checks{server.name} done {checks[server.name]:.1f} s after a visit", flush=True
                )
                idle[server.name] = wait_idle(pid, limit=args.idle_limit)
                print(f"  server{server.name} idle {idle[server.name]} s after the checks", flush=True)
    rows: list[Row] = []
    hello = Server("one-line page", one_line_command(folder, port), env)
    rows.append(Row("one-line page", None, *measure(browser, hello, port, "", args.sessions, log)))
    for name in args.pages:
        for server in servers:
            first, new = measure(browser, server, port, PAGES[name], args.sessions, log)
            rows.append(
                Row(
                    name + server.name,
                    cold[(server.name, name)],
                    first,
                    new,
                    warming[server.name] if name == args.pages[0] else None,
                )
            )
            print(
                f"  {rows[-1].page}: first {first:.2f} s, new {', '.join(f'{n:.2f}' for n in new)}",
                flush=True,
            )
    stored = (
        sum(f.stat().st_size for f in (cache / "results").glob("*.arrows"))
        if (cache / "results").exists()
        else 0
    )
    starts = {name or "northstar": statistics.median(times) for name, times in STARTS.items()}
    peaks = {name or "northstar": peak for name, peak in PEAKS.items()}
    STARTS.clear()
    PEAKS.clear()
    if args.keep_log:
        shutil.copy(log, args.keep_log)
    return Size(label, rows, load_before, load(), stored / 1e6, starts, peaks, engine, checks, idle)


def table(sizes: list[Size]) -> str:
    """Every page's figures at every size in one table: seconds, and in brackets the difference from
    the one-line page of the same size; `new` is the median of the new sessions."""
    head = ["page"]
    for size in sizes:
        head += [
            f"{size.label}: cold",
            "new session while warming (median)",
            "first after restart",
            "new session (median)",
        ]
    lines = [" | ".join(head), " | ".join(["---"] + ["---:"] * (len(head) - 1))]
    for i, row in enumerate(sizes[0].rows):
        cells = [row.page]
        for size in sizes:
            mine, hello = size.rows[i], size.hello()
            new, hello_new = statistics.median(mine.new), statistics.median(hello.new)
            warming = "-"
            if mine.warming:
                median = statistics.median(mine.warming)
                warming = f"{median:.2f} ({median - hello_new:+.2f})"
            cells += [
                "-" if mine.cold is None else f"{mine.cold:.2f}",
                warming,
                f"{mine.first:.2f} ({mine.first - hello.first:+.2f})",
                f"{new:.2f} ({new - hello_new:+.2f})",
            ]
        lines.append(" | ".join(cells))
    return "\n".join(f"| {line} |" for line in lines)


def report(sizes: list[Size]) -> None:
    print("\nSeconds; in brackets the difference from the one-line page of the same size and run.")
    print(
        "cold: empty result store; while warming: new sessions on that server while its warm-up and\n"
        "checks run (beside the one-line page's new sessions); first after restart and new session:\n"
        "the store warm, filled by a server that had gone idle.\n"
    )
    print(table(sizes))
    for size in sizes:
        print(f"\n{size.label}: load average {size.load_before} before, {size.load_after} after")
        done = (
            ", ".join(f"{name or 'northstar'} {s:.1f} s" for name, s in size.checks.items())
            or "not waited for"
        )
        print(f"  result store {size.stored_mb:.1f} MB; data checks done after a visit: {done}")
        if size.idle:
            print(
                "  server idle after the checks (s; None: not within --idle-limit): "
                + ", ".join(f"{name or 'northstar'} {s}" for name, s in size.idle.items())
            )
        if size.engine:
            print(
                f"  okrs with the store off (the engine's own time): {size.engine[0]:.2f} s, "
                f"peak {size.engine[1] / 1e6:.0f} MB"
            )
        print(
            "  server start to healthy (median s): "
            + ", ".join(f"{name} {s:.2f}" for name, s in size.starts.items())
        )
        print(
            "  peak resident set of a server process: "
            + ", ".join(f"{name} {b / 1e6:.0f} MB" for name, b in size.peaks.items())
        )
        for row in size.rows:
            if row.warming:
                print(
                    f"  new sessions while warming, {row.page}: " + ", ".join(f"{n:.2f}" for n in row.warming)
                )
            print(
                f"  new sessions, {row.page}: "
                + ", ".join(f"{n:.2f}" for n in row.new)
                + f" (min {min(row.new):.2f}, max {max(row.new):.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--demo-dir", type=Path, help="keep the generated demos here (DIR/<events>) and reuse them"
    )
    parser.add_argument("--config", help="measure this project instead of generated demos")
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        help="measure the shipped config/ over these events files (the demo's columns), e.g. "
        "bench_user_metrics' /tmp/northstar-bench-users/100000000/project/events.parquet",
    )
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
    parser.add_argument(
        "--no-engine", action="store_true", help="skip timing `okrs` with the store off before the servers"
    )
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="do not wait for the cold server's data checks nor for it to go idle (no stored report, "
        "and the store may lack what its warm-up had not reached: the restarted servers compute them "
        "while they draw)",
    )
    parser.add_argument(
        "--idle-limit",
        type=float,
        default=600.0,
        help="wait at most this many seconds after the checks for the cold server to go idle",
    )
    parser.add_argument("--keep-log", help="copy the servers' log here")
    parser.add_argument(
        "--peer",
        help="another checkout of Northstar (e.g. /work/main) measured the same way in the same run, "
        "page by page after this one, with a result store of its own; its rows say (peer)",
    )
    parser.add_argument(
        "--peer-env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="environment of the peer's servers only, e.g. --peer . --peer-env NORTHSTAR_WARM_PAGES=",
    )
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    sizes: list[Size] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if args.config:
                targets = [(None, Path(args.config).resolve())]
            elif args.data:
                targets = [(None, path) for path in args.data]
            else:
                targets = [(events, None) for events in args.events]
            for events, path in targets:
                with tempfile.TemporaryDirectory(prefix="northstar-browser-") as tmp:
                    folder = Path(tmp)
                    if args.config:
                        config, label = Path(args.config).resolve(), str(Path(args.config).resolve())
                    elif path is not None:
                        import polars as pl

                        config = project_over(folder, path)
                        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
                        label = f"{rows:,} events"
                    else:
                        config, label = demo(events or 1_000_000, folder, args.demo_dir)
                    sizes.append(run_size(browser, config, label, folder, args))
                    report(sizes)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
