"""The result store (metrics/engine/result_store.py): answers kept on disk between processes, keyed
by everything that changes them, so an edit of the YAML or new data is never answered from it.

Every value is checked against a count made here with Polars on the same rows, not only against the
engine's own earlier answer.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.engine.result_store import ENV_SWITCH, ResultStore
from metrics.load import load_project, project_from_dicts
from metrics.okrs.forecast_store import StoredOutlooks
from tests.engine_fixtures import MemoryConnector, Row, frame_of, write_rows

START = dt.date(2026, 3, 1)
DAYS = 10


def rows(days: int = DAYS, per_day: int = 5, seed: int = 0) -> list[Row]:
    out = []
    for d in range(days):
        for i in range((per_day + d + seed) % 7 + 1):
            event = "signup" if (i + d + seed) % 3 == 0 else "open"
            out.append(
                Row(
                    dt.datetime.combine(START + dt.timedelta(days=d), dt.time(1 + i, 7)),
                    f"u{(i * 3 + d + seed) % 11}",
                    event,
                    amount=float(i + d),
                )
            )
    return out


SOURCES = """sources:
  events:
    type: parquet
    path: data/events.parquet
    columns: {timestamp: ts, user: user_id, event: event}
    dimensions: [platform, plan]
"""
METRICS = """metrics:
  signups: {type: count, source: events, filter: {event: signup}}
  dau: {type: active_users, source: events, window: 1}
"""


def project_folder(tmp_path: Path, data: list[Row], metrics: str = METRICS, settings: str = "") -> Path:
    write_rows(data, tmp_path / "data")
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "metrics.yaml").write_text(metrics)
    (tmp_path / "project.yaml").write_text(settings or "name: Store test\n")
    return tmp_path


def expected_counts(data: list[Row], event: str | None, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    """Per day: rows with that event (all rows with None), counted here, independent of the engine."""
    frame = frame_of(data).with_columns(pl.col("ts").dt.date().alias("day"))
    if event is not None:
        frame = frame.filter(pl.col("event") == event)
    counted = dict(frame.group_by("day").len().iter_rows())
    return {
        start + dt.timedelta(days=d): float(counted.get(start + dt.timedelta(days=d), 0))
        for d in range((end - start).days + 1)
    }


def expected_dau(data: list[Row], start: dt.date, end: dt.date) -> dict[dt.date, float]:
    frame = frame_of(data).with_columns(pl.col("ts").dt.date().alias("day"))
    counted = dict(frame.group_by("day").agg(pl.col("user_id").n_unique()).iter_rows())
    return {
        start + dt.timedelta(days=d): float(counted.get(start + dt.timedelta(days=d), 0))
        for d in range((end - start).days + 1)
    }


def values(engine: Engine, metric: str, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    frame = engine.compute(MetricRequest((metric,), start, end)).frame
    return {row["period"]: row["value"] for row in frame.iter_rows(named=True)}


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "store")


def test_a_second_engine_reads_what_the_first_computed(tmp_path: Path, store: ResultStore) -> None:
    data = rows()
    project = load_project(project_folder(tmp_path / "p", data))
    end = START + dt.timedelta(days=DAYS - 1)
    first = Engine(project, result_store=store)
    request = MetricRequest(("signups", "dau"), START, end)
    assert "result store: not stored yet" in first.explain(request)
    computed = first.compute(request)
    assert store.stats.writes == 1 and store.stats.hits == 0
    assert not any("result store" in n for n in computed.notes)

    # a new engine over a freshly loaded project: a restart, another replica, the review pack
    again = Engine(load_project(tmp_path / "p"), result_store=store)
    assert "result store: stored" in again.explain(request)
    stored = again.compute(request)
    assert store.stats.hits == 1
    assert "source events: read from the result store" in stored.notes
    assert stored.frame.equals(computed.frame)  # bit for bit, dtypes included
    assert stored.frame.schema == computed.frame.schema
    assert values(again, "signups", START, end) == expected_counts(data, "signup", START, end)
    assert values(again, "dau", START, end) == expected_dau(data, START, end)


def test_comparisons_are_stored_too(tmp_path: Path, store: ResultStore) -> None:
    project = load_project(project_folder(tmp_path / "p", rows()))
    request = MetricRequest(
        ("signups",), START + dt.timedelta(days=5), START + dt.timedelta(days=9), compare="previous_period"
    )
    computed = Engine(project, result_store=store).compute(request)
    stored = Engine(project, result_store=store).compute(request)
    # the span, the compared span and the source's first day (where a comparison before the data is blank)
    assert store.stats.writes == 3 and store.stats.hits == 3
    assert computed.comparison is not None and stored.comparison is not None
    assert stored.comparison.equals(computed.comparison)
    want = expected_counts(rows(), "signup", START, START + dt.timedelta(days=4))
    assert [r["value"] for r in stored.comparison.iter_rows(named=True)] == list(want.values())


def test_a_yaml_edit_is_not_answered_from_the_store(tmp_path: Path, store: ResultStore) -> None:
    data = rows()
    folder = project_folder(tmp_path / "p", data)
    end = START + dt.timedelta(days=DAYS - 1)
    assert values(Engine(load_project(folder), result_store=store), "signups", START, end) == expected_counts(
        data, "signup", START, end
    )
    (folder / "metrics.yaml").write_text(METRICS.replace("event: signup", "event: open"))
    edited = Engine(load_project(folder), result_store=store)
    assert values(edited, "signups", START, end) == expected_counts(data, "open", START, end)
    assert store.stats.hits == 0 and store.stats.writes == 2


def test_a_setting_that_changes_numbers_is_part_of_the_key(tmp_path: Path, store: ResultStore) -> None:
    data = rows()
    folder = project_folder(tmp_path / "p", data)
    end = START + dt.timedelta(days=DAYS - 1)
    utc = values(Engine(load_project(folder), result_store=store), "signups", START, end)
    (folder / "project.yaml").write_text("name: Store test\ntimezone: Pacific/Honolulu\n")  # UTC-10, no DST
    shifted = values(Engine(load_project(folder), result_store=store), "signups", START, end)
    assert store.stats.hits == 0
    local = [Row(r.ts - dt.timedelta(hours=10), r.user, r.event) for r in data]
    assert shifted == expected_counts(local, "signup", START, end) != utc
    # a label is not part of the key: same numbers, read from the store
    (folder / "project.yaml").write_text("name: Renamed\ntimezone: Pacific/Honolulu\n")
    assert values(Engine(load_project(folder), result_store=store), "signups", START, end) == shifted
    assert store.stats.hits == 1


def test_new_data_is_not_answered_from_the_store(tmp_path: Path, store: ResultStore) -> None:
    data = rows()
    folder = project_folder(tmp_path / "p", data)
    end = START + dt.timedelta(days=DAYS + 2)
    before = values(Engine(load_project(folder), result_store=store), "signups", START, end)
    assert before == expected_counts(data, "signup", START, end)
    grown = rows(DAYS + 3)
    time.sleep(0.01)  # a later modification time even on a coarse clock
    write_rows(grown, folder / "data")
    after = values(Engine(load_project(folder), result_store=store), "signups", START, end)
    assert after == expected_counts(grown, "signup", START, end) != before
    assert store.stats.hits == 0


def test_a_rewritten_file_is_new_data(tmp_path: Path, store: ResultStore) -> None:
    """The same rows with other events: the same number of rows, a file of about the same size."""
    data = rows()
    folder = project_folder(tmp_path / "p", data)
    end = START + dt.timedelta(days=DAYS - 1)
    values(Engine(load_project(folder), result_store=store), "signups", START, end)
    changed = [Row(r.ts, r.user, "open" if r.event == "signup" else "signup") for r in data]
    time.sleep(0.01)
    write_rows(changed, folder / "data")
    got = values(Engine(load_project(folder), result_store=store), "signups", START, end)
    assert got == expected_counts(changed, "signup", START, end)
    assert store.stats.hits == 0


def test_turned_off_by_argument_and_by_environment(
    tmp_path: Path, store: ResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(project_folder(tmp_path / "p", rows()))
    request = MetricRequest(("signups",), START, START + dt.timedelta(days=3))
    off = Engine(project, result_store=False)
    assert off.result_store is None
    off.compute(request)
    assert "result store: off" in off.explain(request)
    monkeypatch.setenv(ENV_SWITCH, "off")
    assert Engine(project).result_store is None
    monkeypatch.setenv(ENV_SWITCH, "on")
    monkeypatch.setenv("NORTHSTAR_CACHE_DIR", str(tmp_path / "cache"))
    engine = Engine(project)
    assert engine.result_store is not None
    assert engine.result_store.folder == tmp_path / "cache" / "results"
    engine.compute(request)
    assert list((tmp_path / "cache" / "results").glob("*.arrows"))
    assert not list((tmp_path / "p").rglob("*.arrows"))  # never inside the project or its data


def test_connectors_passed_in_are_not_stored(store: ResultStore) -> None:
    """A caller's connector vouches for its own fingerprint (the in-memory one of the test fixtures
    is only a row count), so the store does not rely on it."""
    source = {
        "type": "parquet",
        "path": "unused.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    }
    metrics = {"opens": {"type": "count", "source": "events", "filter": {"event": "open"}}}
    project = project_from_dicts(sources={"events": source}, metrics=metrics)
    for event, want in (("open", 1.0), ("signup", 0.0)):  # one row each: the same fingerprint
        frame = frame_of([Row(dt.datetime(2026, 3, 1, 5), "a", event)])
        connector = MemoryConnector("events", project.sources["events"], frame)
        engine = Engine(project, connectors={"events": connector}, result_store=store)
        assert values(engine, "opens", START, START) == {START: want}
    assert store.stats.writes == 0 and store.stats.hits == 0


def test_a_damaged_entry_is_computed_again(tmp_path: Path, store: ResultStore) -> None:
    data = rows()
    project = load_project(project_folder(tmp_path / "p", data))
    end = START + dt.timedelta(days=DAYS - 1)
    values(Engine(project, result_store=store), "signups", START, end)
    (entry,) = store.folder.glob("*.arrows")
    entry.write_bytes(entry.read_bytes()[:-40])
    assert values(Engine(project, result_store=store), "signups", START, end) == expected_counts(
        data, "signup", START, end
    )
    assert store.stats.hits == 0


def test_sql_answers_are_read_for_a_limited_time(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    frame = pl.DataFrame({"period": [START], "value": [1.0]})
    store.put("k", {"m": frame})
    assert store.get("k", max_age=60) is not None
    later = time.time() + 120
    original = time.time
    try:
        time.time = lambda: later  # type: ignore[assignment]
        assert store.get("k", max_age=60) is None
        assert store.get("k") is not None  # no limit (file sources)
    finally:
        time.time = original  # type: ignore[assignment]


def test_the_folder_is_kept_under_its_size(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store", max_bytes=20_000)
    frame = pl.DataFrame({"period": [START] * 200, "value": [float(i) for i in range(200)]})
    for i in range(20):
        store.put(f"k{i:02d}", {"m": frame})
        time.sleep(0.002)
        store.get("k00")  # recently used: kept
    files = list(store.folder.glob("*.arrows"))
    assert sum(f.stat().st_size for f in files) <= 20_000
    assert 1 < len(files) < 20
    assert store.get("k00") is not None and store.get("k19") is not None
    assert store.get("k01") is None


def _writer(folder: str, project_dir: str, worker: int, out: str) -> None:
    os.environ.pop(ENV_SWITCH, None)
    store = ResultStore(Path(folder))
    project = load_project(Path(project_dir))
    results = []
    for k in range(8):
        end = START + dt.timedelta(days=2 + (k + worker) % 4)
        frame = (
            Engine(project, result_store=store).compute(MetricRequest(("signups", "dau"), START, end)).frame
        )
        results.append(frame.select(pl.col("value").sum()).item())
    Path(out).write_text(",".join(f"{v:.1f}" for v in results))


def test_concurrent_writers_leave_whole_entries(tmp_path: Path) -> None:
    data = rows()
    folder = project_folder(tmp_path / "p", data)
    store_dir = tmp_path / "store"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_writer, args=(str(store_dir), str(folder), w, str(tmp_path / f"out{w}")))
        for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert not list(store_dir.glob(".*.tmp"))  # no temporary file left behind
    entries = list(store_dir.glob("*.arrows"))
    assert len(entries) == 4  # four distinct requests, each written whole (maybe more than once)
    store = ResultStore(store_dir)
    for entry in entries:
        assert store.get(entry.stem) is not None
    for w in range(4):
        got = [float(v) for v in (tmp_path / f"out{w}").read_text().split(",")]
        for k, value in enumerate(got):
            end = START + dt.timedelta(days=2 + (k + w) % 4)
            want = sum(expected_counts(data, "signup", START, end).values()) + sum(
                expected_dau(data, START, end).values()
            )
            assert value == want


def test_the_data_range_is_stored_and_follows_new_data(tmp_path: Path, store: ResultStore) -> None:
    folder = project_folder(tmp_path / "p", rows())
    assert Engine(load_project(folder), result_store=store).data_range(("signups",)) == (
        START,
        START + dt.timedelta(days=DAYS - 1),
    )
    hits = store.stats.hits
    assert Engine(load_project(folder), result_store=store).data_range(("signups",))[
        1
    ] == START + dt.timedelta(days=DAYS - 1)
    assert store.stats.hits == hits + 1
    time.sleep(0.01)
    write_rows(rows(DAYS + 4), folder / "data")
    assert Engine(load_project(folder), result_store=store).data_range(("signups",)) == (
        START,
        START + dt.timedelta(days=DAYS + 3),
    )


class Counting(Executor):
    """Runs calls here and counts them."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_forecast_outlooks_are_stored_exactly(store: ResultStore) -> None:
    from metrics.okrs.forecast import ForecastOptions, project

    history: list[float | None] = [float(10 + (d % 7) + d // 5) for d in range(60)]
    history[17] = None
    options = ForecastOptions(kind="level", counts=True)
    inner = Counting()
    first = StoredOutlooks(store, inner).submit(
        project, history, 20, options, target=30.0, direction="increase"
    )
    again = StoredOutlooks(store, inner).submit(
        project, history, 20, options, target=30.0, direction="increase"
    )
    assert inner.calls == 1
    assert (
        again.result() == first.result() == project(history, 20, options, target=30.0, direction="increase")
    )
    assert first.result().forecast is not None
    # any argument changed is another forecast
    StoredOutlooks(store, inner).submit(project, history, 20, options, target=31.0, direction="increase")
    StoredOutlooks(store, inner).submit(
        project, [*history, 12.0], 20, options, target=30.0, direction="increase"
    )
    assert inner.calls == 3


def test_a_launchs_effect_is_stored_exactly_and_so_is_why_there_is_none(store: ResultStore) -> None:
    from metrics.okrs.forecast import ForecastOptions
    from metrics.okrs.impact import Effect, effect_of

    before: list[float | None] = [float(100 + (d % 7) * 3 + d // 4) for d in range(90)]
    after = [float(140 + (d % 7) * 3) for d in range(14)]
    options = ForecastOptions(kind="level", counts=True)
    inner = Counting()
    first = StoredOutlooks(store, inner).submit(effect_of, before, after, options, 400)
    again = StoredOutlooks(store, inner).submit(effect_of, before, after, options, 400)
    assert inner.calls == 1
    assert isinstance(first.result(), Effect)
    assert again.result() == first.result() == effect_of(before, after, options, 400)
    StoredOutlooks(store, inner).submit(effect_of, before, [*after, 150.0], options, 400)
    assert inner.calls == 2  # other days after: another estimate
    none = StoredOutlooks(store, inner).submit(effect_of, before, [], options, 400)
    kept = StoredOutlooks(store, inner).submit(effect_of, before, [], options, 400)
    assert inner.calls == 3 and isinstance(none.result(), str) and kept.result() == none.result()


def test_a_scorecard_read_from_the_store_equals_one_computed(small_demo: Path, tmp_path: Path) -> None:
    """The demo's scorecard three ways: no store; computing into an empty store; all from the store."""
    from metrics.okrs import score

    store = ResultStore(tmp_path / "store")
    project = load_project(small_demo)
    as_of = dt.date(2026, 11, 15)
    plain = score(project, Engine(project, result_store=False), as_of).to_json()
    filling = score(
        project, Engine(project, result_store=store), as_of, executor=StoredOutlooks(store)
    ).to_json()
    writes, hits = store.stats.writes, store.stats.hits
    assert writes > 0
    stored = StoredOutlooks(store, Counting())
    reading = score(
        load_project(small_demo), Engine(project, result_store=store), as_of, executor=stored
    ).to_json()
    assert store.stats.writes == writes and store.stats.hits > hits
    assert stored.hits > 0 and isinstance(stored.inner, Counting) and stored.inner.calls == 0
    assert plain == filling == reading
