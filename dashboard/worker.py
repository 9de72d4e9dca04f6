"""A helper process for the OKR forecasts, so the first render does not wait for statsmodels.

statsmodels (with the parts of scipy and pandas it pulls in) takes one to two seconds to import, and
an import holds the GIL, so importing it in a thread of the app only takes turns with the app's own
work. `ForecastWorker` starts `python -m dashboard.worker` instead: the process imports statsmodels
at once, on the other core, while the app loads the project and reads the data, and then runs the
simulations it is sent. It is a `concurrent.futures.Executor`, passed to `metrics.okrs.score` by
the dashboard's scorecard cache (`dashboard/cache.py`); `shared()` keeps one per server process.

The protocol is pickles over the child's stdin and stdout: (task id, function, args, kwargs) in,
(task id, ok, result or exception) out; functions travel by their importable name. The child runs
the same code on the same inputs as the app would, so the numbers are the same. When the process
cannot start, or dies, its tasks run in the app's process instead: a broken worker costs time,
never a number. The child exits when the app does (its stdin closes).

Nothing here imports streamlit, or anything heavy, at import time.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PRELOAD = ("statsmodels.tsa.statespace.structural",)  # what the OKR forecasts import on first use

Task = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class _State:
    """What the worker object and its reader thread share (the thread holds no reference to the
    worker, so dropping the worker closes the child's stdin and ends it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[int, Task] = {}
        self.broken = False


class ForecastWorker(Executor):
    """Runs submitted calls in a child Python process that imported `preload` when it started."""

    def __init__(self, preload: Sequence[str] = PRELOAD, *, command: Sequence[str] | None = None) -> None:
        self._state = _State()
        self._ids = itertools.count()
        self._write = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        try:
            self._process = subprocess.Popen(
                list(command) if command else [sys.executable, "-m", "dashboard.worker", *preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                cwd=ROOT,
            )
        except OSError:
            self._state.broken = True
            return
        assert self._process.stdin is not None and self._process.stdout is not None
        threading.Thread(
            target=_read_results,
            args=(self._process, self._state),
            name="northstar-forecast-results",
            daemon=True,
        ).start()
        weakref.finalize(self, _close, self._process.stdin)

    @property
    def broken(self) -> bool:
        """True once the child cannot take tasks (they run in this process instead)."""
        return self._state.broken

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        state = self._state
        task_id = next(self._ids)
        try:
            message = pickle.dumps((task_id, fn, args, kwargs))
        except (pickle.PicklingError, AttributeError, TypeError):  # cannot travel: run it here
            message = None
        with state.lock:
            sent = message is not None and not state.broken
            if sent:
                state.pending[task_id] = (future, fn, args, kwargs)
        if sent and message is not None and self._process is not None and self._process.stdin is not None:
            try:
                with self._write:
                    self._process.stdin.write(message)
                    self._process.stdin.flush()
                return future
            except (OSError, ValueError):  # the child is gone (ValueError: its pipe is closed)
                with state.lock:
                    state.broken = True
                    if state.pending.pop(task_id, None) is None:
                        return future  # the reader thread took it over and runs it
        _run_here(future, fn, args, kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False, timeout: float = 10) -> None:
        if self._process is not None and self._process.stdin is not None:
            _close(self._process.stdin)
            if wait:
                try:
                    self._process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()


def _close(stream: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        stream.close()


def _run_here(
    future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # handed to whoever waits on the future
        future.set_exception(exc)
    else:
        future.set_result(result)


def _read_results(process: subprocess.Popen[bytes], state: _State) -> None:
    """Hand each result to its future; when the child is gone, run what it left in this process."""
    stream = process.stdout
    assert stream is not None
    with contextlib.suppress(Exception):  # EOF or a broken pipe: the child has ended
        while True:
            task_id, ok, value = pickle.load(stream)
            with state.lock:
                task = state.pending.pop(task_id, None)
            if task is None:
                continue
            if ok:
                task[0].set_result(value)
            else:
                task[0].set_exception(value)
    with state.lock:
        state.broken = True
        left = list(state.pending.values())
        state.pending.clear()
    with contextlib.suppress(Exception):
        process.wait(timeout=10)  # reap it
    for future, fn, args, kwargs in left:
        _run_here(future, fn, args, kwargs)


_shared: ForecastWorker | None = None
_shared_lock = threading.Lock()


def shared() -> ForecastWorker:
    """The server process's worker, started on first use (again if the last one broke)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.broken:
            _shared = ForecastWorker()
        return _shared


def shutdown_shared() -> None:
    """Stop the server process's worker (when the server stops), killing it if it does not end."""
    global _shared
    with _shared_lock:
        current, _shared = _shared, None
    if current is not None:
        current.shutdown(wait=True, timeout=3)


def serve(preload: Sequence[str]) -> None:
    """The child's loop: import `preload`, then run tasks from stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the app; the closed stdin stops us
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not enter the protocol
    for name in preload:
        with contextlib.suppress(Exception):  # the task that needs it reports the error
            importlib.import_module(name)
    tasks = sys.stdin.buffer
    while True:
        try:
            task_id, fn, args, kwargs = pickle.load(tasks)
        except (EOFError, OSError):
            return
        try:
            message = pickle.dumps((task_id, True, fn(*args, **kwargs)))
        except BaseException as exc:
            try:
                message = pickle.dumps((task_id, False, exc))
            except Exception:
                message = pickle.dumps((task_id, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        results.write(message)
        results.flush()


if __name__ == "__main__":
    serve(sys.argv[1:])
