"""A scorecard is a function of (definitions, data, as-of): the clock changes nothing once the as-of
is given, the default as-of is the last complete day, and the forecast of the period's last day is
the reading itself (CONTRACT.md, As-of and Key results).

Two shapes of project: the shipped demo (UTC, monday weeks, data through DEMO_END) and a hand-made
one whose data ended in the past, in Los Angeles time, with sunday weeks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from ruamel.yaml import YAML

from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.engine.as_of import default_as_of
from metrics.load import load_project
from metrics.okrs import Scorecard, score
from tests.conftest import DEMO_END

D = dt.date
LAST = D(2025, 6, 18)  # the second shape's last day of data (a Wednesday)
FIRST = LAST - dt.timedelta(days=139)
ZONE = "America/Los_Angeles"

METRICS: dict[str, Any] = {
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "purchases": {"type": "count", "source": "events", "filter": {"event": "purchase"}},
    "conversion": {"type": "ratio", "numerator": "purchases", "denominator": "signups", "unit": "percent"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "wau": {"type": "active_users", "source": "events", "window": 7},
    "buyers": {"type": "count_distinct", "source": "events", "filter": {"event": "purchase"}},
    "p90_load": {
        "type": "percentile",
        "source": "events",
        "column": "load_ms",
        "percentile": 0.9,
        "filter": {"event": "page_view"},
        "direction": "decrease",
    },
    "errors": {"type": "count", "source": "events", "filter": {"event": "error"}, "direction": "decrease"},
    "d1_retention": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "any",
        "offset": 1,
    },
}
KRS: list[dict[str, Any]] = [
    {"id": "signups", "metric": "signups", "target": 900},
    {"id": "conversion", "metric": "conversion", "read": "trailing_28d", "baseline": 0.1, "target": 0.3},
    {"id": "revenue", "metric": "revenue", "read": "trailing_28d", "baseline": 100, "target": 4000},
    {"id": "dau", "metric": "dau", "read": "latest", "baseline": 10, "target": 40},
    {"id": "wau", "metric": "wau", "read": "latest", "baseline": 30, "target": 120},
    {"id": "buyers", "metric": "buyers", "read": "trailing_28d", "baseline": 5, "target": 60},
    {"id": "p90", "metric": "p90_load", "read": "trailing_7d", "baseline": 900, "target": 500},
    {"id": "errors", "metric": "errors", "read": "latest", "baseline": 3, "target": 0},
    {"id": "d1", "metric": "d1_retention", "read": "trailing_28d", "baseline": 0.2, "target": 0.6},
]


def _events(seed: int = 3) -> pl.DataFrame:
    """140 days of a small product, at random local hours (naive timestamps are UTC)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[dt.datetime, str, str, float | None, float | None]] = []
    users = 0
    for i in range((LAST - FIRST).days + 1):
        day = FIRST + dt.timedelta(days=i)
        base = dt.datetime.combine(day, dt.time(8))  # 08:00 UTC is 00:00 or 01:00 in Los Angeles
        for _ in range(rng.poisson(6 + i / 20)):
            users += 1
            rows.append(
                (base + dt.timedelta(minutes=int(rng.integers(1380))), f"u{users}", "signup", None, None)
            )
        for _ in range(rng.poisson(25)):
            user = f"u{rng.integers(1, users + 1)}"
            when = base + dt.timedelta(minutes=int(rng.integers(1380)))
            kind = rng.choice(["page_view", "page_view", "purchase", "session_start"])
            amount = float(rng.integers(5, 80)) if kind == "purchase" else None
            load = float(rng.gamma(4, 120)) if kind == "page_view" else None
            rows.append((when, user, str(kind), amount, load))
        if i < 100 and rng.random() < 0.6:  # errors until a fix 40 days before the data ends
            rows.append((base + dt.timedelta(hours=3), "u1", "error", None, None))
    return pl.DataFrame(
        rows,
        schema={
            "ts": pl.Datetime("us"),
            "user_id": pl.String,
            "event": pl.String,
            "amount": pl.Float64,
            "load_ms": pl.Float64,
        },
        orient="row",
    )


def _write(path: Path, data: Any) -> None:
    with path.open("w") as handle:
        YAML().dump(data, handle)


def write_past(folder: Path, okrs: list[dict[str, Any]] | None = None) -> Project:
    """The second shape in `folder`: its data, and `okrs` (default: Q2 2025 with every KR)."""
    folder.mkdir(parents=True, exist_ok=True)
    _events().write_parquet(folder / "events.parquet")
    _write(folder / "project.yaml", {"name": "Past", "timezone": ZONE, "week_start": "sunday"})
    columns = {"timestamp": "ts", "user": "user_id", "event": "event"}
    _write(
        folder / "sources.yaml",
        {"sources": {"events": {"type": "parquet", "path": "events.parquet", "columns": columns}}},
    )
    _write(folder / "metrics.yaml", {"metrics": METRICS})
    period = {"start": "2025-04-01", "end": "2025-06-30"}
    default = [
        {"id": "q2", "objective": "A quarter that ended", "owner": "pm", "period": period, "key_results": KRS}
    ]
    _write(folder / "okrs.yaml", {"okrs": okrs or default})
    project = load_project(folder)
    assert not project.problems, [str(p) for p in project.problems]
    return project


@pytest.fixture(scope="module")
def past_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return write_past(tmp_path_factory.mktemp("past"))


@pytest.fixture(scope="module")
def demo_project(small_demo: Path) -> Project:
    return load_project(small_demo)


def card_at(project: Project, as_of: dt.date | None, today: dt.date) -> Scorecard:
    return score(project, Engine(project, today=lambda: today), as_of)


def numbers(card: Scorecard) -> list[Any]:
    """Every number of the scorecard a surface shows, with the notes that explain them."""
    out: list[Any] = [card.to_json()]
    for objective in card.objectives:
        for kr in objective.key_results:
            out.append((kr.id, kr.notes, kr.problem, kr.history.to_dicts()))
    return out


@pytest.mark.parametrize(
    ("shape", "as_of"),
    [("demo", DEMO_END - dt.timedelta(days=9)), ("past", D(2025, 5, 20)), ("past", LAST)],
)
def test_the_clock_changes_no_number_once_the_as_of_is_given(
    shape: str, as_of: dt.date, request: pytest.FixtureRequest
) -> None:
    """On the as-of day itself (once its forecast started from the day before), the day after, and
    long after: identical readings, progress, status, forecast and probability."""
    project: Project = request.getfixturevalue(f"{shape}_project")
    cards = [card_at(project, as_of, today) for today in (as_of, as_of + dt.timedelta(days=1), D(2030, 1, 1))]
    krs = [kr for objective in cards[0].objectives for kr in objective.key_results]
    assert sum(kr.forecast is not None for kr in krs) >= 3, "the comparison should include forecasts"
    assert numbers(cards[0]) == numbers(cards[1]) == numbers(cards[2])


def test_the_default_as_of_is_the_last_complete_day(past_project: Project, demo_project: Project) -> None:
    engine = Engine(past_project, today=lambda: D(2026, 1, 1))
    assert default_as_of(past_project, engine) == LAST  # the data ended long ago: its last day
    assert default_as_of(past_project, engine, LAST + dt.timedelta(days=1)) == LAST  # data through yesterday
    assert default_as_of(past_project, engine, LAST) == LAST - dt.timedelta(days=1)  # LAST is still running
    # the scorecard without an as-of is the scorecard as of that day, whatever the clock
    assert numbers(score(past_project, engine)) == numbers(card_at(past_project, LAST, D(2030, 1, 1)))
    demo_morning = Engine(demo_project, today=lambda: DEMO_END)
    assert score(demo_project, demo_morning, forecast=False).as_of == DEMO_END - dt.timedelta(days=1)


def _key_result(card: Scorecard, kr_id: str) -> Any:
    return next(kr for objective in card.objectives for kr in objective.key_results if kr.id == kr_id)


def test_on_the_period_s_last_day_the_forecast_is_the_reading(past_project: Project, tmp_path: Path) -> None:
    """A p90 load-time KR that meets its target on the period's last day is on track, its forecast
    the reading with no spread (it was "off track", projected from the day before, with the clock on
    that day); so is every KR, and a KR that misses has no chance left."""
    end = LAST
    reading = _key_result(card_at(past_project, end, end + dt.timedelta(days=1)), "p90").current
    assert reading is not None
    p90 = {"metric": "p90_load", "read": "trailing_7d", "baseline": 900}
    krs = [
        {"id": "p90_met", **p90, "target": reading + 0.2},
        {"id": "p90_missed", **p90, "target": reading - 0.2},
        *[kr for kr in KRS if kr["id"] != "p90"],
    ]
    period = {"start": (end - dt.timedelta(days=60)).isoformat(), "end": end.isoformat()}
    project = write_past(
        tmp_path, [{"id": "o", "objective": "Ends", "owner": "pm", "period": period, "key_results": krs}]
    )
    card = card_at(project, end, end)  # the CLI used to set the clock to the as-of day
    met, missed = _key_result(card, "p90_met"), _key_result(card, "p90_missed")
    assert met.current == pytest.approx(reading) and met.forecast is not None
    assert (met.forecast.value, met.forecast.low, met.forecast.high) == (met.current,) * 3
    assert (met.probability, met.status) == (1.0, "on_track")
    assert (missed.probability, missed.status) == (0.0, "off_track")
    for kr in (kr for objective in card.objectives for kr in objective.key_results):
        if kr.current is not None and kr.forecast is not None:
            assert (kr.forecast.value, kr.forecast.low, kr.forecast.high) == (kr.current,) * 3, kr.id


def test_the_last_day_s_forecast_is_the_reading_when_the_data_ended_earlier(past_project: Project) -> None:
    """The period ends June 30, the data on June 18: as of June 30 the reading counts the empty days,
    and the forecast is that reading, not a projection from June 18."""
    card = card_at(past_project, D(2025, 6, 30), D(2030, 1, 1))
    for kr in (kr for objective in card.objectives for kr in objective.key_results):
        if kr.current is not None:
            assert kr.forecast is not None, kr.id
            assert (kr.forecast.value, kr.forecast.low, kr.forecast.high) == (kr.current,) * 3, kr.id


def test_a_count_at_zero_after_weeks_of_zeros_is_on_track(past_project: Project) -> None:
    """Errors stopped 40 days before the data ends: a decrease KR at 0 errors (target 0) is on track,
    its forecast 0 with nothing below zero (a Gaussian level gave it about even odds of an error)."""
    card = card_at(past_project, LAST, D(2030, 1, 1))
    errors = _key_result(card, "errors")
    assert errors.current == 0.0 and errors.forecast is not None
    assert errors.forecast.low >= 0.0 and errors.forecast.value == 0.0
    assert errors.probability is not None and errors.probability >= 0.7
    assert errors.status == "on_track"


def test_the_empty_days_note_names_the_day_read_not_a_wrong_as_of(past_project: Project) -> None:
    """Retentioneering's ecom tour: `okrs --as-of 2024-07-10` on a quarter that ended June 30 said
    'the data ends on 2024-06-29, before the as-of day 2024-06-30', under 'OKRs as of 2024-07-10'.
    After the period a key result is read on its last day; the note says so, and the as-of it names
    is the scorecard's."""
    after = card_at(past_project, D(2025, 7, 10), D(2030, 1, 1))
    wau = _key_result(after, "wau")
    assert wau.current is not None
    assert (
        "the data ends on 2025-06-18, before 2025-06-30, the period's last day, which the key result "
        "is read on after the period; later days count as empty"
    ) in wau.notes, wau.notes
    assert not any("as-of day" in note for note in wau.notes), wau.notes
    on_the_day = _key_result(card_at(past_project, D(2025, 6, 25), D(2030, 1, 1)), "wau")
    assert "the data ends on 2025-06-18, before the as-of day 2025-06-25; later days count as empty" in (
        on_the_day.notes
    ), on_the_day.notes
