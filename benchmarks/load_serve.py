"""Load on `northstar serve`: many sessions at once for minutes; memory and how long visits wait.

    .venv/bin/python benchmarks/load_serve.py [--sessions 20] [--minutes 5] [--events 200000] [--heavy N]

Generates the demo into a temporary folder, starts `northstar serve` on it (no sign-in, loopback),
and runs `--sessions` simulated visitors at once for `--minutes`. A visitor speaks Streamlit's own
WebSocket protocol (what the browser's JavaScript sends): it opens a session on the OKR page, asks
for a run, waits until the run has finished, closes, and comes back. Half the visitors ("heavy")
ask for an as-of day not read before, so the server scores the OKRs and runs their forecasts anew;
the others ("light"; `--heavy` sets how many are heavy) open the default view, whose scorecard is cached after the first visit.
A light visit that waits long is a visitor waiting behind someone else's forecasts.

Every 2 s it samples the resident memory (RSS) of the whole process tree under `serve` (streamlit,
the forecast worker, any browser). It prints the RSS over time and, per kind of visitor, how many
visits ran and their time to a finished page (median, 95th percentile, max). It is a measurement,
not a pass/fail test: the machine's other load shows in every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    from dashboard.server import descendants

    total = 0
    for p in {pid, *descendants(pid)}:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def visit(port: int, query: str, timeout: float) -> float:
    """One visit: a new session, one full run of the OKR page; seconds to its end."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    began = time.perf_counter()
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],  # type: ignore[list-item]
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        max_size=None,
        open_timeout=timeout,
        ping_interval=None,  # browsers send no pings; they answer the server's
    ) as socket_:
        message = BackMsg()
        message.rerun_script.query_string = query
        message.rerun_script.page_script_hash = ""
        await socket_.send(message.SerializeToString())
        deadline = began + timeout
        while True:
            raw = await asyncio.wait_for(socket_.recv(), timeout=max(0.1, deadline - time.perf_counter()))
            forward = ForwardMsg()
            forward.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
            if forward.WhichOneof("type") == "script_finished" and forward.script_finished in (
                ForwardMsg.FINISHED_SUCCESSFULLY,
                ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
            ):
                return time.perf_counter() - began


async def visitor(
    kind: str, index: int, port: int, end: float, days: list[dt.date], results: dict[str, list[float]]
) -> None:
    step = 0
    while time.monotonic() < end:
        if kind == "heavy":
            day = days[(index * 7 + step * 13) % len(days)]
            query = f"as_of={day.isoformat()}"
        else:
            query = ""
        step += 1
        try:
            results[kind].append(await visit(port, query, timeout=600))
        except Exception as exc:  # counted, and the visitor comes back
            results["errors"].append(0.0)
            print(f"  {kind} {index}: {type(exc).__name__}: {exc}", flush=True)
            await asyncio.sleep(1)


async def sample(pid: int, end: float, rss: list[tuple[float, float]], began: float) -> None:
    while time.monotonic() < end:
        rss.append((time.monotonic() - began, tree_rss_mb(pid)))
        await asyncio.sleep(2)


async def run_load(
    port: int, pid: int, sessions: int, heavy: int, seconds: float, days: list[dt.date]
) -> dict[str, object]:
    results: dict[str, list[float]] = {"heavy": [], "light": [], "errors": []}
    rss: list[tuple[float, float]] = []
    began = time.monotonic()
    end = began + seconds
    tasks = [visitor("heavy" if i < heavy else "light", i, port, end, days, results) for i in range(sessions)]
    await asyncio.gather(sample(pid, end, rss, began), *tasks)
    return {"results": results, "rss": rss}


def _stats(values: list[float]) -> str:
    if not values:
        return "no visits"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{len(values)} visits, median {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {max(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--heavy", type=int, default=None, help="how many of the sessions are heavy (default: half)"
    )
    args = parser.parse_args()

    from tests.app_support import make_demo

    with tempfile.TemporaryDirectory(prefix="northstar-load-") as tmp:
        config, summary = make_demo(Path(tmp), events=args.events)
        print(f"demo: {summary.rows:,} events, {summary.start} .. {summary.end}")
        days = [summary.end - dt.timedelta(days=i) for i in range(1, 91)]
        port = _free_port()
        log = Path(tmp) / "serve.log"
        env = {k: v for k, v in os.environ.items() if k != "NORTHSTAR_COOKIE_SECRET"}
        with log.open("w") as handle:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dashboard.cli",
                    "serve",
                    "--config",
                    str(config),
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"serve did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            print(f"serve up; RSS of its tree {tree_rss_mb(server.pid):.0f} MB")
            asyncio.run(visit(port, "", timeout=600))  # the first visit warms the caches
            print(f"after one visit: RSS {tree_rss_mb(server.pid):.0f} MB")
            print(f"{args.sessions} sessions for {args.minutes:g} min ...", flush=True)
            heavy = args.sessions // 2 if args.heavy is None else args.heavy
            print(f"{heavy} heavy, {args.sessions - heavy} light", flush=True)
            outcome = asyncio.run(run_load(port, server.pid, args.sessions, heavy, args.minutes * 60, days))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(20)
    rss = outcome["rss"]
    assert isinstance(rss, list)
    results = outcome["results"]
    assert isinstance(results, dict)
    print("RSS of serve's process tree (MB), per 30 s: max in the window")
    window: dict[int, float] = {}
    for t, mb in rss:
        window[int(t // 30)] = max(window.get(int(t // 30), 0.0), mb)
    print("  " + "  ".join(f"{k * 30:>4d}s {v:5.0f}" for k, v in sorted(window.items())))
    print(f"  min {min(mb for _, mb in rss):.0f}, max {max(mb for _, mb in rss):.0f}, last {rss[-1][1]:.0f}")
    print(f"heavy (a new as-of each visit): {_stats(results['heavy'])}")
    print(f"light (the cached default view): {_stats(results['light'])}")
    print(f"errors: {len(results['errors'])}")


if __name__ == "__main__":
    main()
