"""What `northstar compute` pays before and besides its query: the past-the-data warning is told
from two small reads when the data covers the range (the whole range is read only to word the
warning), and the modules a successful compute does not need are never imported."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.engine import Engine
from metrics.engine.coverage import covers
from metrics.engine.local_days import local_midnight
from metrics.engine.request import outside_data
from metrics.load import project_from_dicts
from tests.app_support import run_main as _main
from tests.conftest import ROOT
from tests.engine_fixtures import MemoryConnector

D = dt.date
MICRO = dt.timedelta(microseconds=1)
ZONES = ["UTC", "Asia/Kolkata", "America/Sao_Paulo", "America/Santiago", "Pacific/Chatham", "Asia/Beirut"]
METRICS = {"n": {"type": "count", "source": "events"}}


def _engine(frame: pl.DataFrame, zone: str) -> Engine:
    source = {"type": "parquet", "path": "unused.parquet", "columns": {"timestamp": "ts", "event": "event"}}
    project = project_from_dicts(sources={"events": source}, metrics=METRICS, settings={"timezone": zone})
    connector = MemoryConnector("events", project.sources["events"], frame)
    return Engine(project, connectors={"events": connector}, result_store=False)


def _frame(instants: list[dt.datetime], dtype: pl.DataType) -> pl.DataFrame:
    """Naive-UTC instants as a `ts` column of `dtype` (a zoned dtype holds the same instants)."""
    ts = pl.Series("ts", instants, dtype=pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        ts = ts.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
    return pl.DataFrame({"ts": ts.cast(dtype), "event": ["e"] * len(instants)})


def _ranges(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    starts = [first + dt.timedelta(days=k) for k in (-40, -1, 0, 1)]
    ends = [last + dt.timedelta(days=k) for k in (-1, 0, 1, 40)]
    return [(s, e) for s, e in itertools.product(starts, ends) if s <= e]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    "dtype", [pl.Datetime("us"), pl.Datetime("ns"), pl.Datetime("ms", "America/New_York")], ids=str
)
def test_covers_says_exactly_what_the_data_range_says(zone: str, dtype: pl.DataType) -> None:
    """`covers` is true exactly when `outside_data` on `data_range` has nothing to say, for
    data that starts at a local midnight and ends a microsecond before one (DST days included:
    São Paulo and Santiago changed their clocks at midnight), with rows of implausible years
    (ignored by both) around it."""
    first, last = D(2018, 11, 4), D(2019, 4, 7)  # São Paulo's and Santiago's transition days
    instants = [
        local_midnight(first, zone).replace(tzinfo=None),
        local_midnight(first + dt.timedelta(days=10), zone).replace(tzinfo=None) - MICRO,
        local_midnight(last + dt.timedelta(days=1), zone).replace(tzinfo=None) - MICRO,
        dt.datetime(1850, 1, 1),
        dt.datetime(2250, 1, 1),
    ]
    engine = _engine(_frame(instants, dtype), zone)
    assert engine.data_range(["n"]) == (first, last)
    told = {(s, e): covers(engine, ["n"], s, e) for s, e in _ranges(first, last)}
    assert told == {(s, e): outside_data(s, e, first, last) is None for s, e in _ranges(first, last)}
    assert any(told.values()) and not all(told.values())


@pytest.mark.parametrize(
    "column",
    [
        pl.Series("ts", [D(2026, 3, 1), D(2026, 3, 5)], dtype=pl.Date),
        pl.Series("ts", ["2026-03-01T10:00:00", "2026-03-05T10:00:00"], dtype=pl.String),
    ],
    ids=["date", "string"],
)
def test_covers_leaves_other_timestamp_columns_to_the_data_range(column: pl.Series) -> None:
    """Only a datetime column has bounds the reader can use; for the others `covers` says it cannot
    tell (False), so `compute` reads the range as before."""
    engine = _engine(pl.DataFrame({"ts": column, "event": ["e", "e"]}), "UTC")
    assert engine.data_range(["n"]) == (D(2026, 3, 1), D(2026, 3, 5))
    assert covers(engine, ["n"], D(2026, 3, 2), D(2026, 3, 4)) is False


def test_covers_is_false_for_empty_or_unreadable_data(tmp_path: Path) -> None:
    empty = _engine(_frame([dt.datetime(1850, 1, 1)], pl.Datetime("us")), "UTC")
    assert covers(empty, ["n"], D(2026, 3, 1), D(2026, 3, 1)) is False
    source = {"type": "parquet", "path": "missing.parquet", "columns": {"timestamp": "ts"}}
    project = project_from_dicts(sources={"events": source}, metrics=METRICS, root=tmp_path)
    assert covers(Engine(project, result_store=False), ["n"], D(2026, 3, 1), D(2026, 3, 1)) is False


def _compute_modules(config: Path, metrics: list[str], probe: list[str], *extra: str) -> dict[str, Any]:
    """Run `compute` in a fresh interpreter; return its rows, stderr and which `probe` modules loaded."""
    code = (
        "import sys, json\n"
        "from dashboard.cli import main\n"
        "try:\n"
        f"    main(['compute', *{metrics!r}, '--config', {str(config)!r}, '--format', 'json', *{list(extra)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(json.dumps(sorted(m for m in {probe!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    env = {"NORTHSTAR_RESULT_STORE": "off", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env
    )
    assert run.returncode == 0, run.stderr
    *messages, loaded = run.stderr.strip().splitlines()
    return {"rows": json.loads(run.stdout), "stderr": messages, "loaded": json.loads(loaded)}


def _tiny_project(folder: Path) -> Path:
    folder.mkdir()
    events = pl.DataFrame(
        {"ts": [dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 3, 9)], "event": ["buy", "buy"]}
    )
    events.write_parquet(folder / "events.parquet")
    source = {"type": "parquet", "path": "events.parquet", "columns": {"timestamp": "ts", "event": "event"}}
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(json.dumps({"metrics": METRICS}))
    return folder


def test_a_command_line_gets_an_app_of_its_command_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer builds every command before it parses; `main` builds only the command named first, and
    every output, error and exit code is the whole app's (a lone command would run without its name:
    the one-command app stays a group)."""
    import typer.main

    from dashboard import cli
    from dashboard.cli_app import command_app

    assert list(typer.main.get_command(command_app(cli.app, ["compute", "n"])).commands) == ["compute"]
    assert len(typer.main.get_command(command_app(cli.app, ["--help"])).commands) > 10
    assert command_app(cli.app, ["computer"]) is cli.app and command_app(cli.app, []) is cli.app

    config = str(_tiny_project(tmp_path / "p"))
    lines = [
        [
            "compute",
            "n",
            "--config",
            config,
            "--start",
            "2026-03-01",
            "--end",
            "2026-03-04",
            "--format",
            "json",
        ],
        ["compute", "n", "--config", config, "--start=2026-02-28", "--format=csv"],
        ["compute", "--config", config, "--", "n"],
        ["compute", "--help"],
        ["compute"],
        ["compute", "n", "--bogus"],
        ["compute", "n", "--format", "xml"],
        ["compute", "n", "--grain"],
        ["compute", "n", "--config", config, "--grain", "year"],
        ["computer", "n"],
        ["validate", "--config", config, "--format", "yaml"],
        ["check", "extra"],
        ["demo", "--events", "5"],
        ["snapshot"],
        ["--help"],
        [],
    ]
    one = [_main(argv, capsys) for argv in lines]
    monkeypatch.setattr(cli, "command_app", lambda app, args: app)
    whole = [_main(argv, capsys) for argv in lines]
    assert one == whole
    assert one[0][0] == 0 and json.loads(one[0][1])[0]["value"] == 1
    assert "the range Feb 28 – Mar 3, 2026 has days before Mar 1, 2026" in one[1][2]
    assert {code for code, _, _ in one} == {0, 1, 2}


def test_compute_reads_the_data_range_only_to_word_its_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range the data covers costs no read of the whole range (a min and max of every timestamp);
    a range past the data reads it once, for the warning's words."""
    config = str(_tiny_project(tmp_path / "p"))
    calls: list[tuple[str, ...]] = []
    data_range = Engine.data_range
    monkeypatch.setattr(
        Engine, "data_range", lambda self, ids: calls.append(tuple(ids)) or data_range(self, ids)
    )
    inside = _main(
        ["compute", "n", "--config", config, "--start", "2026-03-01", "--end", "2026-03-03"], capsys
    )
    assert inside[0] == 0 and "warning" not in inside[2] and calls == []
    past = _main(["compute", "n", "--config", config, "--start", "2026-03-02", "--end", "2026-03-09"], capsys)
    assert "has days after Mar 3, 2026, where there is no data" in past[2] and calls == [("n",)]


def test_compute_by_default_ends_on_the_last_complete_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the morning the data already holds today's first events: `compute` without `--end` ends on
    yesterday (the as-of's rule, `calendar.last_complete_day`), not on the running day's partial count
    printed as a complete day; once that day is over, it is read. `--end` as given is kept."""
    from metrics.definitions.calendar import Calendar

    config = str(_tiny_project(tmp_path / "p"))  # events on Mar 1 and Mar 3, 2026 (UTC)

    def days(argv: list[str]) -> list[str]:
        code, out, err = _main(argv, capsys)
        assert code == 0 and "warning" not in err, err
        return [row["period"] for row in json.loads(out)]

    plain = ["compute", "n", "--config", config, "--format", "json"]
    monkeypatch.setattr(Calendar, "today", lambda self, now=None: dt.date(2026, 3, 3))  # Mar 3 is running
    assert days(plain) == ["2026-03-01", "2026-03-02"]
    assert days([*plain, "--end", "2026-03-03"])[-1] == "2026-03-03"
    code, out, _ = _main(["explain", "n", "--config", config], capsys)
    assert code == 0 and out.startswith("range 2026-03-01 .. 2026-03-02,"), out
    monkeypatch.setattr(Calendar, "today", lambda self, now=None: dt.date(2026, 3, 4))  # Mar 3 is over
    assert days(plain) == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_compute_loads_no_alerts_models_without_alerts_yaml(tmp_path: Path) -> None:
    """alerts.yaml's models (rules, destinations, their validators) load with the file; a project
    without one never imports them. Nor does `compute` import rich (typer's pretty help and errors)."""
    config = _tiny_project(tmp_path / "p")
    probe = ["metrics.definitions.alerts", "rich"]
    plain = _compute_modules(config, ["n"], probe)
    assert plain["rows"] and plain["loaded"] == []
    (config / "alerts.yaml").write_text("rules: {}\ndestinations: {}\n")
    with_alerts = _compute_modules(config, ["n"], probe)
    assert with_alerts["rows"] == plain["rows"] and with_alerts["loaded"] == ["metrics.definitions.alerts"]


def test_the_program_freezes_its_objects_before_it_exits(tmp_path: Path) -> None:
    """Run as the process's own command line (no argv), `main` freezes every object before Python's
    collections at exit go over them; called with its arguments (a test, a script) it does not."""
    config = str(_tiny_project(tmp_path / "p"))
    code = (
        "import gc, sys\n"
        "from dashboard.cli import main\n"
        "how = sys.argv[1]\n"
        f"sys.argv = ['northstar', 'compute', 'n', '--config', {config!r}, '--format', 'json']\n"
        "main(None if how == 'program' else sys.argv[1:])\n"
        "print(gc.get_freeze_count() > 0, gc.get_threshold(), file=sys.stderr)\n"
    )
    for how, frozen in (("program", "True"), ("call", "False")):
        run = subprocess.run(
            [sys.executable, "-c", code, how],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={"NORTHSTAR_RESULT_STORE": "off", "PATH": "/usr/bin:/bin"},
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)[0]["value"] == 1
        assert run.stderr.strip().splitlines()[-1] == f"{frozen} (700, 10, 10)"


def test_with_a_result_store_the_stored_range_answers(tmp_path: Path) -> None:
    """The result store keeps the data's range (one read for every later process): with it on,
    `covers` leaves the question to `data_range`, which asks the store first."""
    from metrics.engine.result_store import ResultStore

    frame = _frame([dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 5, 9)], pl.Datetime("us"))
    source = {"type": "parquet", "path": "unused.parquet", "columns": {"timestamp": "ts", "event": "event"}}
    project = project_from_dicts(sources={"events": source}, metrics=METRICS)
    kept = Engine(
        project,
        connectors={"events": MemoryConnector("events", project.sources["events"], frame)},
        result_store=ResultStore(tmp_path / "store"),
    )
    assert covers(kept, ["n"], D(2026, 3, 2), D(2026, 3, 4)) is False
    assert covers(_engine(frame, "UTC"), ["n"], D(2026, 3, 2), D(2026, 3, 4)) is True
