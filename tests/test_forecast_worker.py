"""The dashboard's forecast worker process (dashboard/worker.py): same numbers, and never a lost task."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dashboard.worker import ForecastWorker
from metrics.engine import Engine
from metrics.load import load_project
from metrics.okrs.forecast import ForecastOptions, simulate_end
from metrics.okrs.scoring import score
from tests.conftest import DEMO_END, ROOT

HISTORY = [100.0 + 3.0 * day + (7.0 if day % 7 in (5, 6) else 0.0) + (day * 37 % 11) for day in range(60)]


@pytest.fixture
def worker() -> Iterator[ForecastWorker]:
    started = ForecastWorker(preload=())  # statsmodels loads when a forecast needs it
    yield started
    started.shutdown()


def test_tasks_run_in_the_worker_process(worker: ForecastWorker) -> None:
    assert not worker.broken
    assert worker.submit(os.getpid).result(timeout=120) == worker.pid != os.getpid()


def test_a_forecast_in_the_worker_is_the_same_as_here(worker: ForecastWorker) -> None:
    options = ForecastOptions(kind="sum", known=1200.0, summed_days=25, lower=0.0)
    there = worker.submit(simulate_end, HISTORY, 30, options).result(timeout=120)
    here = simulate_end(HISTORY, 30, options)
    assert there.ends is not None and here.ends is not None
    assert np.array_equal(there.ends, here.ends)
    assert there.ends.std() > 0


def test_an_error_in_a_task_reaches_the_caller(worker: ForecastWorker) -> None:
    with pytest.raises(ValueError, match="math domain error"):
        worker.submit(math.sqrt, -1.0).result(timeout=120)
    assert worker.submit(math.sqrt, 4.0).result(timeout=120) == 2.0  # and the worker carries on


def test_a_call_that_cannot_travel_runs_here(worker: ForecastWorker) -> None:
    assert worker.submit(lambda: os.getpid()).result(timeout=120) == os.getpid()
    assert not worker.broken


def test_when_the_worker_dies_its_tasks_run_here(worker: ForecastWorker) -> None:
    assert worker.submit(math.sqrt, 9.0).result(timeout=120) == 3.0
    assert worker.pid is not None
    os.kill(worker.pid, 9)
    assert worker._process is not None
    worker._process.wait(timeout=30)
    # whether the death is noticed before or after this submit, the task is done, here
    assert worker.submit(os.getpid).result(timeout=120) == os.getpid()
    assert worker.broken


def test_a_worker_that_cannot_start_runs_everything_here() -> None:
    broken = ForecastWorker(command=[str(ROOT / "no-such-python")])
    assert broken.broken and broken.pid is None
    assert broken.submit(os.getpid).result(timeout=10) == os.getpid()


def test_importing_the_worker_module_loads_nothing_heavy() -> None:
    code = (
        "import sys, json, dashboard.worker\n"
        "print(json.dumps([m for m in ('streamlit', 'statsmodels', 'polars') if m in sys.modules]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


@pytest.mark.slow
def test_the_scorecard_is_the_same_with_its_forecasts_in_the_worker(small_demo: Path) -> None:
    project = load_project(small_demo)
    code = (
        "import sys, json, datetime as dt\n"
        "from pathlib import Path\n"
        "from dashboard.worker import ForecastWorker\n"
        "from metrics.engine import Engine\n"
        "from metrics.okrs.scoring import score\n"
        "from metrics.load import load_project\n"
        f"project = load_project(Path({str(small_demo)!r}))\n"
        f"day = dt.date.fromisoformat({DEMO_END.isoformat()!r})\n"
        "card = score(project, Engine(project, today=lambda: day), day, executor=ForecastWorker())\n"
        "print(json.dumps({'card': card.to_json(), 'loaded': [m for m in ('numpy', 'statsmodels') if m in sys.modules]}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    there = json.loads(run.stdout)
    here = score(project, Engine(project, today=lambda: DEMO_END), DEMO_END)
    assert there["card"] == here.to_json()
    assert (
        sum(kr["forecast"] is not None for o in there["card"]["objectives"] for kr in o["key_results"]) >= 5
    )
    assert there["loaded"] == []  # the app's process never loads the statistics libraries


class _Stuck(Executor):
    """An executor whose tasks never finish (a worker process that hangs)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        return Future()


def test_a_forecast_that_never_comes_back_is_dropped_not_waited_for(
    small_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.okrs import scoring as okrs

    monkeypatch.setattr(okrs, "FORECAST_WAIT_SECONDS", 0.05)
    project = load_project(small_demo)
    card = score(project, Engine(project, today=lambda: DEMO_END), DEMO_END, executor=_Stuck())
    live = [kr for o in card.objectives for kr in o.key_results if kr.current is not None]
    assert live
    waited = [kr for kr in live if any("the forecast took more than 0.05 s" in n for n in kr.notes)]
    assert waited and all(kr.forecast is None and kr.probability is None for kr in waited)
