"""Reading ahead changes no number (metrics.okrs: `_read_ahead`, `windowable`, `_latest_series`).

The scorecard reads everything its KRs need before scoring them, with fewer engine requests:

* distinct users over any span as active users over a window as long as the span, every span of a
  KR from one request;
* a latest reading built one by one from the day-grain series its history already requests;
* the daily values of all KRs built from daily values over the same days from one request.

Each shortcut is compared here with the one-span engine request it replaces, on the small demo
(Polars) and on SQLite, and the whole scorecard with reading ahead turned off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from ruamel.yaml import YAML

import metrics.okrs.scoring as okrs
from connectors.sql import dispose_engines
from metrics.definitions.models import KeyResult, MetricDef, Objective
from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.engine.request import MetricRequest, MetricResult
from metrics.load import load_project, project_from_dicts
from metrics.okrs.readings import KeyResultReader, Readings, windowable
from metrics.okrs.scorecard import Scorecard
from tests.conftest import DEMO_END

D = dt.date
START, END = D(2026, 10, 1), D(2026, 12, 31)  # the quarter the small demo ends in (on DEMO_END)
EXTRA = {
    # a distinct count with a dimension in its filter, and ratios of distinct users
    "team_payers": {
        "type": "count_distinct",
        "source": "events",
        "filter": {"event": "purchase", "plan": ["team"]},
        "unit": "users",
    },
    "payers_per_signup": {"type": "ratio", "numerator": "paying_users", "denominator": "signups"},
    "team_share_of_payers": {"type": "ratio", "numerator": "team_payers", "denominator": "paying_users"},
}
WINDOWED = ["paying_users", "team_payers", "payers_per_signup", "team_share_of_payers"]
READS = ["period_to_date", "trailing_28d", "trailing_7d", "latest"]


def _with_extra(project: Project) -> Project:
    adapter: TypeAdapter[MetricDef] = TypeAdapter(MetricDef)
    extra = {k: adapter.validate_python(v) for k, v in EXTRA.items()}
    return dataclasses.replace(project, metrics={**project.metrics, **extra})


@pytest.fixture(scope="module")
def files_project(small_demo: Path) -> Project:
    return _with_extra(load_project(small_demo))


@pytest.fixture(scope="module")
def sqlite_project(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    from metrics.demo.sql import load_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'events.db'}"
    load_demo(small_demo.parent / "data" / "demo" / "events.parquet", url, "events")
    yaml = YAML(typ="safe")
    files = yaml.load((small_demo / "sources.yaml").read_text())["sources"]["events"]
    metrics = yaml.load((small_demo / "metrics.yaml").read_text())["metrics"]
    source = {"columns": files["columns"], "dimensions": files["dimensions"]}
    yield project_from_dicts(
        sources={"events": {"type": "sql", "url": url, "table": "events", **source}},
        metrics={**metrics, **EXTRA},
        settings=yaml.load((small_demo / "project.yaml").read_text()),
    )
    dispose_engines()


def _reader(project: Project, metric: str, read: str) -> KeyResultReader:
    engine = Engine(project, today=lambda: DEMO_END)
    kr = KeyResult(id="kr", metric=metric, read=read, target=1.0)
    return Readings(project, engine).reader(kr, START, END)


class _Counting:
    """Counts the engine requests made while it is active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests: list[MetricRequest] = []
        compute = Engine.compute

        def counted(engine: Engine, request: MetricRequest) -> MetricResult:
            self.requests.append(request)
            return compute(engine, request)

        monkeypatch.setattr(Engine, "compute", counted)


def _days() -> list[dt.date]:
    """Weekly days of the quarter up to the demo's end, plus the last day and the day after it."""
    days = [START + dt.timedelta(days=7 * k) for k in range((DEMO_END - START).days // 7 + 1)]
    return [*days, DEMO_END - dt.timedelta(days=1), DEMO_END]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("metric", WINDOWED)
@pytest.mark.parametrize("where", ["files", "sqlite"])
def test_distinct_users_over_windows_equal_one_span_requests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, where: str, metric: str, read: str
) -> None:
    project = request.getfixturevalue(f"{where}_project")
    reader = _reader(project, metric, read)
    assert reader.windowed and not reader.exact_daily
    keys = [(day, START) for day in _days()]
    keys.append((START - dt.timedelta(days=1), START - dt.timedelta(days=92)))  # a baseline reading
    counting = _Counting(monkeypatch)
    reader._read_windows(keys)
    assert len(counting.requests) == 1  # every span from one request
    assert set(reader.cache) == set(keys)
    for key in keys:
        first, last = reader.spec.span(*key)
        assert reader.cache[key] == reader._span_request(first, last, key[0]), (key, first, last)
    values = [reader.cache[key] for key in keys]
    assert any(values) and len({v for v in values if v is not None}) >= 2, values  # real, varied numbers


def test_only_exact_parts_are_read_through_windows(files_project: Project) -> None:
    assert windowable("paying_users", files_project)
    assert windowable("payers_per_signup", files_project)
    assert not windowable("arppu", files_project)  # a sum over a span adds up in another order
    assert not windowable("activation", files_project)
    assert not windowable("p90_page_load", files_project)


@pytest.mark.parametrize(
    "metric", ["d1_retention", "d7_retention", "activation", "p90_page_load", "paying_users"]
)
def test_latest_readings_from_the_day_series_equal_one_span_requests(
    files_project: Project, metric: str
) -> None:
    for day in _days():
        reader = _reader(files_project, metric, "latest")
        reader._latest_series(START, day)
        first, last = reader.spec.span(day, START)
        assert reader._in_series(first, day)
        assert reader.reading(day) == reader._span_request(first, last, day), (metric, day)


BUILT_ONE_BY_ONE = [
    ("paying_users", 900),
    ("payers_per_signup", 0.9),
    ("activation", 0.9),
    ("d1_retention", 0.9),
    ("p90_page_load", 100),
]
FROM_DAILY_VALUES = [
    ("signups", "period_to_date", 5000),
    ("revenue", "trailing_28d", 90000),
    ("arppu", "trailing_28d", 900),
    ("weekly_active_writers", "latest", 5000),
    ("stickiness", "trailing_7d", 0.9),
]
OKRS: list[dict[str, Any]] = [
    {
        "id": "this_quarter",
        "objective": "Every way of reading a KR",
        "period": {"start": str(START), "end": str(END)},
        "key_results": [
            *(
                {"id": f"{metric}_{read}", "metric": metric, "read": read, "target": target}
                for metric, target in BUILT_ONE_BY_ONE
                for read in READS
            ),
            *(
                {"id": f"{metric}_{read}", "metric": metric, "read": read, "target": target}
                for metric, read, target in FROM_DAILY_VALUES
            ),
        ],
    },
    {
        "id": "last_quarter",
        "objective": "A period that has ended",
        "period": {"start": "2026-07-01", "end": "2026-09-30"},
        "key_results": [
            {
                "id": "payers",
                "metric": "paying_users",
                "read": "period_to_date",
                "target": 900,
                "baseline": 1,
            },
            {"id": "retention", "metric": "d7_retention", "read": "trailing_28d", "target": 0.9},
        ],
    },
]


def _numbers(card: Scorecard) -> list[Any]:
    return [
        (objective.to_json(), [(kr.problem, kr.notes, kr.history.rows()) for kr in objective.key_results])
        for objective in card.objectives
    ]


@pytest.mark.slow
@pytest.mark.parametrize("as_of", [D(2026, 10, 3), DEMO_END])
def test_the_scorecard_is_the_same_with_and_without_reading_ahead(
    files_project: Project, monkeypatch: pytest.MonkeyPatch, as_of: dt.date
) -> None:
    project = dataclasses.replace(files_project, okrs=tuple(Objective.model_validate(o) for o in OKRS))
    counting = _Counting(monkeypatch)
    ahead = okrs.score(project, Engine(project, today=lambda: DEMO_END), as_of)
    read_ahead = len(counting.requests)
    monkeypatch.setattr(okrs, "_read_ahead", lambda *args: [])
    one_by_one = okrs.score(project, Engine(project, today=lambda: DEMO_END), as_of)
    assert _numbers(ahead) == _numbers(one_by_one)
    assert read_ahead < len(counting.requests) - read_ahead  # and it asked the engine less
    scored = [kr for objective in ahead.objectives for kr in objective.key_results]
    assert sum(kr.progress is not None for kr in scored) >= 20
    assert sum(kr.forecast is not None for kr in scored) >= 10
