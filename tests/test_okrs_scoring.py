"""Every number of the scorecard, pinned on small hand-made data with an injected clock.

The events (UTC, all at noon unless said otherwise):

    signups  Sep 21..30: p01..p10, one a day
             Oct 1: s1 s2 | Oct 2: s3 | Oct 3: s4 s5 s6 | Oct 4: - | Oct 5: s7 s8 s9 s10
             Oct 6: s11 s12 | Oct 7: s13 | Oct 8: s14 | Oct 9: s15 | Oct 10: s16
    sessions Sep 28: p07 | Sep 30: p09 | Oct 3: s3 | Oct 4: s4 | Oct 5: s6 s1 s2
    purchase Oct 3: s4 10.0 | Oct 5: s7 30.0 | Oct 8: s14 5.0
    page_view (load_ms) Sep 30: 1000 | Oct 3: 400, 600 | Oct 4: 800 | Oct 5: 200, 300

The period is Oct 1 .. Oct 10 (10 days, so day k is k/10 of it); as-of Oct 5 unless said otherwise.
Expected values are worked out by hand in the comments, from the list above.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML

from metrics.definitions.project import Project
from metrics.engine import Engine
from metrics.load import load_project
from metrics.okrs import Scorecard, score

D = dt.date
OCT5 = D(2026, 10, 5)
PERIOD = {"start": "2026-10-01", "end": "2026-10-10"}


def _events() -> pl.DataFrame:
    rows: list[tuple[dt.datetime, str, str, float | None, float | None]] = []

    def add(
        day: dt.date, user: str, event: str, amount: float | None = None, load: float | None = None
    ) -> None:
        rows.append((dt.datetime.combine(day, dt.time(12)), user, event, amount, load))

    for i in range(10):
        add(D(2026, 9, 21 + i), f"p{i + 1:02d}", "signup")
    signups = {
        1: ["s1", "s2"],
        2: ["s3"],
        3: ["s4", "s5", "s6"],
        5: ["s7", "s8", "s9", "s10"],
        6: ["s11", "s12"],
    }
    signups |= {7: ["s13"], 8: ["s14"], 9: ["s15"], 10: ["s16"]}
    for day, users in signups.items():
        for user in users:
            add(D(2026, 10, day), user, "signup")
    for day, user in [
        (D(2026, 9, 28), "p07"),
        (D(2026, 9, 30), "p09"),
        (D(2026, 10, 3), "s3"),
        (D(2026, 10, 4), "s4"),
    ]:
        add(day, user, "session_start")
    for user in ("s6", "s1", "s2"):
        add(OCT5, user, "session_start")
    for day, user, amount in [(3, "s4", 10.0), (5, "s7", 30.0), (8, "s14", 5.0)]:
        add(D(2026, 10, day), user, "purchase", amount=amount)
    for day, user, load in [(D(2026, 9, 30), "p09", 1000.0), (D(2026, 10, 3), "s4", 400.0)]:
        add(day, user, "page_view", load=load)
    for day, user, load in [(D(2026, 10, 3), "s5", 600.0), (D(2026, 10, 4), "s4", 800.0)]:
        add(day, user, "page_view", load=load)
    for user, load in [("s6", 200.0), ("s1", 300.0)]:
        add(OCT5, user, "page_view", load=load)
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


METRICS = {
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "purchases": {"type": "count", "source": "events", "filter": {"event": "purchase"}},
    "conversion": {"type": "ratio", "numerator": "purchases", "denominator": "signups", "unit": "percent"},
    "revenue": {"type": "sum", "source": "events", "column": "amount", "filter": {"event": "purchase"}},
    "dau": {"type": "active_users", "source": "events", "window": 1, "filter": {"event": "session_start"}},
    "p90_load": {
        "type": "percentile",
        "source": "events",
        "column": "load_ms",
        "percentile": 0.9,
        "filter": {"event": "page_view"},
        "direction": "decrease",
    },
    "d1_retention": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "session_start",
        "offset": 1,
    },
    "legacy_signups": {"type": "count", "source": "legacy", "filter": {"event": "signup"}},
}


def _write(folder: Path, name: str, data: Any) -> None:
    yaml = YAML()
    with (folder / name).open("w") as handle:
        yaml.dump(data, handle)


def make_project(tmp: Path, okrs: list[dict[str, Any]], settings: dict[str, Any] | None = None) -> Project:
    _events().write_parquet(tmp / "events.parquet")
    legacy = _events().filter(pl.col("ts") < dt.datetime(2026, 9, 25))
    legacy.write_parquet(tmp / "legacy.parquet")
    columns = {"timestamp": "ts", "user": "user_id", "event": "event"}
    _write(tmp, "project.yaml", {"name": "Test", "timezone": "UTC", **(settings or {})})
    _write(
        tmp,
        "sources.yaml",
        {
            "sources": {
                "events": {"type": "parquet", "path": "events.parquet", "columns": columns},
                "legacy": {"type": "parquet", "path": "legacy.parquet", "columns": columns},
            }
        },
    )
    _write(tmp, "metrics.yaml", {"metrics": METRICS})
    _write(tmp, "okrs.yaml", {"okrs": okrs})
    project = load_project(tmp)
    assert not project.problems, [str(p) for p in project.problems]
    return project


def objective(krs: list[dict[str, Any]], period: Any = None, oid: str = "obj") -> dict[str, Any]:
    return {
        "id": oid,
        "objective": "Test objective",
        "owner": "pm",
        "period": period or PERIOD,
        "key_results": krs,
    }


def run(
    tmp: Path,
    krs: list[dict[str, Any]],
    *,
    as_of: dt.date | None = OCT5,
    today: dt.date = D(2026, 10, 20),
    forecast: bool = False,
    settings: dict[str, Any] | None = None,
    period: Any = None,
) -> Scorecard:
    project = make_project(tmp, [objective(krs, period)], settings)
    return score(project, Engine(project, today=lambda: today), as_of, forecast=forecast)


def kr_json(card: Scorecard, index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = card.to_json()["objectives"][0]["key_results"][index]
    return result


def test_period_to_date_count(tmp_path: Path) -> None:
    card = run(tmp_path, [{"id": "signups_20", "metric": "signups", "target": 20}])
    assert kr_json(card) == {
        "id": "signups_20",
        "metric": "signups",
        "current": 10.0,  # 2 + 1 + 3 + 0 + 4
        "baseline": 0.0,  # period_to_date of a count starts from nothing
        "target": 20.0,
        "progress": 0.5,
        "expected_progress": 0.5,  # day 5 of 10
        "status": "on_track",  # no forecast: 0.5 >= 0.5 - 0.1
        "forecast": None,
        "probability": None,
        "n": None,  # not a rate
    }
    kr = card.objectives[0].key_results[0]
    # the reading on each day of the period so far: the running total
    assert kr.history["date"].to_list() == [D(2026, 10, d) for d in range(1, 6)]
    assert kr.history["value"].to_list() == [2.0, 3.0, 6.0, 6.0, 10.0]


def test_trailing_count_with_a_computed_baseline(tmp_path: Path) -> None:
    card = run(tmp_path, [{"id": "k", "metric": "signups", "read": "trailing_3d", "target": 6}])
    got = kr_json(card)
    assert got["current"] == 7.0  # Oct 3..5: 3 + 0 + 4
    assert got["baseline"] == 3.0  # Sep 28..30: one a day
    row = next(line for line in card.to_table().splitlines() if line.strip().startswith("k "))
    assert row.split()[3:6] == ["7", "3", "6"]  # current, the computed baseline, target
    assert got["progress"] == pytest.approx(4 / 3)  # (7 - 3) / (6 - 3), not clipped
    assert got["expected_progress"] == pytest.approx(0.5)
    assert got["status"] == "on_track"
    history = card.objectives[0].key_results[0].history["value"].to_list()
    # Oct 1: Sep 29..Oct 1 = 1+1+2; Oct 2: 1+2+1; Oct 3: 2+1+3; Oct 4: 1+3+0; Oct 5: 3+0+4
    assert history == [4.0, 4.0, 6.0, 4.0, 7.0]


def test_trailing_rate_of_a_ratio(tmp_path: Path) -> None:
    card = run(tmp_path, [{"id": "k", "metric": "conversion", "read": "trailing_3d", "target": 0.5}])
    got = kr_json(card)
    assert got["current"] == pytest.approx(2 / 7)  # purchases Oct 3..5 = 2, signups = 7
    assert got["n"] == 7  # out of the denominator's value (CONTRACT.md, Sample sizes)
    assert card.objectives[0].key_results[0].uncertain  # 7 < min_sample 30
    assert got["baseline"] == 0.0  # Sep 28..30: 0 purchases / 3 sign-ups
    assert got["progress"] == pytest.approx((2 / 7) / 0.5)
    assert got["status"] == "on_track"  # 0.571 >= 0.4


def test_period_to_date_sum(tmp_path: Path) -> None:
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "revenue", "target": 100}]))
    assert (got["current"], got["baseline"], got["progress"]) == (40.0, 0.0, pytest.approx(0.4))
    assert got["status"] == "on_track"  # 0.4 >= 0.5 - 0.1 (the bound counts)
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "revenue", "target": 110}]))
    assert got["progress"] == pytest.approx(40 / 110)
    assert got["status"] == "at_risk"  # 0.364 < 0.4, >= 0.5 - 0.25


def test_latest_active_users(tmp_path: Path) -> None:
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "dau", "read": "latest", "target": 5}]))
    assert got["current"] == 3.0  # s6, s1, s2 on Oct 5
    assert got["baseline"] == 1.0  # p09 on Sep 30
    assert got["progress"] == pytest.approx(0.5)  # (3 - 1) / (5 - 1)


def test_period_to_date_of_active_users_reads_the_last_day_and_the_previous_period(tmp_path: Path) -> None:
    # not additive: the baseline is the reading over the previous 10 days (Sep 21..30): dau on Sep 30
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "dau", "target": 4}]))
    assert (got["current"], got["baseline"]) == (3.0, 1.0)
    assert got["progress"] == pytest.approx(2 / 3)


def test_decrease_key_result_on_a_percentile(tmp_path: Path) -> None:
    card = run(
        tmp_path, [{"id": "k", "metric": "p90_load", "read": "trailing_3d", "baseline": 1000, "target": 500}]
    )
    got = kr_json(card)
    # Oct 3..5 loads: 200 300 400 600 800; p90 at rank 4 * 0.9 = 3.6: 600 + 0.6 * 200 = 720
    assert got["current"] == pytest.approx(720.0)
    assert got["progress"] == pytest.approx(0.56)  # (720 - 1000) / (500 - 1000)
    assert got["status"] == "on_track"
    kr = card.objectives[0].key_results[0]
    assert kr.direction == "decrease"
    # read one by one: weekly readings back from as-of, plus as-of (here just Oct 5)
    assert kr.history["date"].to_list() == [OCT5]
    assert kr.history["value"].to_list() == [pytest.approx(720.0)]


def test_decrease_key_result_with_a_computed_baseline(tmp_path: Path) -> None:
    # baseline: p90 of Sep 28..30 = the one load of 1000 ms
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "p90_load", "read": "trailing_3d", "target": 500}]))
    assert got["baseline"] == pytest.approx(1000.0)
    assert got["progress"] == pytest.approx(0.56)


def test_retention_reads_mature_cohorts_only(tmp_path: Path) -> None:
    card = run(tmp_path, [{"id": "k", "metric": "d1_retention", "read": "trailing_3d", "target": 0.8}])
    got = kr_json(card)
    # as of Oct 5 the span ends Oct 4: cohorts Oct 2..4 = s3, s4, s5, s6; back the next day: s3 (Oct 3),
    # s4 (Oct 4); s5 never; s6 on Oct 5, two days later -> 2 / 4
    assert got["current"] == pytest.approx(0.5)
    assert got["n"] == 4  # the cohort
    # as of Sep 30 the span is Sep 27..29 = p07, p08, p09; back the next day: p07 (Sep 28), p09 (Sep 30)
    assert got["baseline"] == pytest.approx(2 / 3)
    assert got["progress"] == pytest.approx(-1.25)  # (0.5 - 2/3) / (0.8 - 2/3): moving away from target
    assert got["status"] == "off_track"


def test_a_baseline_past_the_target_is_said_in_the_metric_s_unit(tmp_path: Path) -> None:
    """The note a PM reads when a computed baseline already passed the target names both numbers as
    the scorecard shows them ('66.7%' and '50.0%'), not as 0.666667 and 0.5."""
    card = run(tmp_path, [{"id": "k", "metric": "d1_retention", "read": "trailing_3d", "target": 0.5}])
    kr = card.objectives[0].key_results[0]
    assert kr.current is None and kr.problem is not None
    assert "the baseline (66.7%, read before the period) is already above the target (50.0%)" in kr.problem


def test_milestones_shape_the_pace(tmp_path: Path) -> None:
    card = run(
        tmp_path,
        [{"id": "k", "metric": "signups", "target": 20, "milestones": {"2026-10-03": 4, "2026-10-06": 14}}],
    )
    got = kr_json(card)
    # f(Oct 5) = 0.5 between (0.3, 4) and (0.6, 14): 4 + 10 * 0.2 / 0.3 = 10.667 -> / 20
    assert got["expected_progress"] == pytest.approx(32 / 60)
    assert got["status"] == "on_track"  # 0.5 >= 0.533 - 0.1
    milestones = card.objectives[0].key_results[0].milestones
    assert [(m.date, m.value, m.expected_progress) for m in milestones] == [
        (D(2026, 10, 3), 4.0, pytest.approx(0.2)),
        (D(2026, 10, 6), 14.0, pytest.approx(0.7)),
    ]


def test_achieved_early_stays_on_track_until_the_end(tmp_path: Path) -> None:
    got = kr_json(run(tmp_path, [{"id": "k", "metric": "signups", "target": 8}]))
    assert got["progress"] == pytest.approx(1.25)
    assert got["status"] == "on_track"


def test_after_the_period_ends(tmp_path: Path) -> None:
    card = run(
        tmp_path,
        [
            {"id": "made_it", "metric": "signups", "target": 15},
            {"id": "fell_short", "metric": "signups", "target": 20},
        ],
        as_of=D(2026, 10, 15),
        forecast=True,
    )
    body = card.to_json()
    assert body["as_of"] == "2026-10-15"
    made, short = body["objectives"][0]["key_results"]
    # read on the period's last day: 10 + 2 + 1 + 1 + 1 + 1 = 16
    assert (made["current"], made["progress"], made["status"]) == (16.0, pytest.approx(16 / 15), "achieved")
    assert (short["current"], short["progress"], short["status"]) == (16.0, pytest.approx(0.8), "missed")
    assert made["expected_progress"] == 1.0 and made["forecast"] is None and made["probability"] is None
    assert body["objectives"][0]["status"] == "missed"
    assert body["objectives"][0]["progress"] == pytest.approx((1.0 + 0.8) / 2)


def test_every_key_result_achieved_achieves_the_objective(tmp_path: Path) -> None:
    card = run(tmp_path, [{"id": "k", "metric": "signups", "target": 15}], as_of=D(2026, 11, 1))
    assert card.objectives[0].status == "achieved" and card.objectives[0].progress == 1.0


def test_a_key_result_whose_data_is_missing(tmp_path: Path) -> None:
    card = run(
        tmp_path,
        [
            {"id": "ok", "metric": "signups", "target": 20},
            {"id": "gone", "metric": "legacy_signups", "target": 20, "weight": 3},
        ],
    )
    ok, gone = card.objectives[0].key_results
    assert gone.problem is not None and "2026-09-21 .. 2026-09-24" in gone.problem
    assert (gone.current, gone.progress, gone.status) == (None, None, "off_track")
    assert ok.problem is None and ok.status == "on_track"
    # the unreadable KR counts as 0 with its weight: (0.5 * 1 + 0 * 3) / 4
    assert card.objectives[0].progress == pytest.approx(0.125)
    assert card.objectives[0].status == "off_track"
    assert "gone: the data of legacy_signups" in card.to_table()


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    project = make_project(tmp_path, [objective([{"id": "k", "metric": "legacy_signups", "target": 5}])])
    (tmp_path / "legacy.parquet").unlink()
    card = score(project, Engine(project, today=lambda: OCT5), OCT5, forecast=False)
    kr = card.objectives[0].key_results[0]
    assert kr.status == "off_track" and kr.problem is not None and "legacy" in kr.problem


def test_objective_status_is_the_worst_key_result(tmp_path: Path) -> None:
    card = run(
        tmp_path,
        [
            {"id": "on", "metric": "signups", "target": 20},  # 0.5 vs 0.5: on track
            {"id": "risk", "metric": "revenue", "target": 110},  # 40 / 110 = 0.364: at risk
        ],
    )
    assert [kr.status for kr in card.objectives[0].key_results] == ["on_track", "at_risk"]
    assert card.objectives[0].status == "at_risk"
    assert card.objectives[0].progress == pytest.approx((0.5 + 40 / 110) / 2)


def test_thresholds_come_from_project_yaml(tmp_path: Path) -> None:
    krs = [{"id": "k", "metric": "signups", "target": 20, "milestones": {"2026-10-03": 4, "2026-10-06": 14}}]
    # progress 0.5, expected 0.5333: on track by default, at risk with no slack
    strict = {"thresholds": {"on_track_pace_gap": 0.0, "at_risk_pace_gap": 0.05}}
    assert kr_json(run(tmp_path, krs, settings=strict))["status"] == "at_risk"


def test_current_quarter_and_as_of_from_the_clock(tmp_path: Path) -> None:
    """Without an as-of the scorecard reads the last complete day: the day before the clock's."""
    card = run(
        tmp_path,
        [{"id": "k", "metric": "signups", "target": 100}],
        as_of=None,
        period="current_quarter",
        today=OCT5 + dt.timedelta(days=1),
    )
    assert card.as_of == OCT5
    obj = card.objectives[0]
    assert (obj.start, obj.end) == (D(2026, 10, 1), D(2026, 12, 31))
    got = kr_json(card)
    assert got["current"] == 10.0 and got["expected_progress"] == pytest.approx(5 / 92)
    # in the morning of Oct 5 the day still running is not read: Oct 1..4 hold 2 + 1 + 3 + 0
    morning = run(tmp_path, [{"id": "k", "metric": "signups", "target": 100}], as_of=None, today=OCT5)
    assert morning.as_of == D(2026, 10, 4) and kr_json(morning)["current"] == 6.0


def test_the_default_as_of_is_the_data_s_last_day_when_that_is_earlier(tmp_path: Path) -> None:
    """The data ends on Oct 10: scored a month later, the scorecard reads Oct 10, not an empty day."""
    card = run(tmp_path, [{"id": "k", "metric": "signups", "target": 100}], as_of=None, today=D(2026, 11, 9))
    assert card.as_of == D(2026, 10, 10)
    assert kr_json(card)["current"] == 16.0  # s1 .. s16, every sign-up of Oct 1..10


def test_a_forecast_on_a_steady_series(tmp_path: Path) -> None:
    """Two sign-ups every day from Sep 1: the projection is exact and so is the probability."""
    krs = [
        {"id": "reach", "metric": "signups", "target": 20},  # 10 by Oct 5 + 2 * 5 days = 20: lands
        {"id": "miss", "metric": "signups", "target": 21},
        {"id": "week", "metric": "signups", "read": "trailing_7d", "target": 14, "baseline": 0},
    ]
    project = make_project(tmp_path, [objective(krs)])
    steady = pl.DataFrame(
        {
            "ts": [dt.datetime(2026, 9, 1, 9 + h) + dt.timedelta(days=d) for d in range(40) for h in (0, 1)],
            "user_id": [f"u{i}" for i in range(80)],
            "event": ["signup"] * 80,
            "amount": [None] * 80,
            "load_ms": [None] * 80,
        },
        schema_overrides={"amount": pl.Float64, "load_ms": pl.Float64},
    )
    steady.write_parquet(tmp_path / "events.parquet")
    card = score(project, Engine(project, today=lambda: D(2026, 10, 6)), OCT5)
    reach, miss, week = card.to_json()["objectives"][0]["key_results"]
    assert reach["forecast"] == {"value": 20.0, "low": 20.0, "high": 20.0}
    assert (reach["probability"], reach["status"]) == (1.0, "on_track")
    assert (miss["probability"], miss["status"]) == (0.0, "off_track")
    # trailing 7 days at the end (Oct 4..10): 2 a day
    assert week["forecast"] == {"value": 14.0, "low": 14.0, "high": 14.0} and week["probability"] == 1.0
    # today (the clock) is incomplete: with the clock on Oct 5 the projection starts from Oct 4
    card = score(project, Engine(project, today=lambda: OCT5), OCT5)
    assert card.to_json()["objectives"][0]["key_results"][0]["forecast"]["value"] == 20.0


def test_too_little_history_falls_back_to_the_pace(tmp_path: Path) -> None:
    card = run(
        tmp_path, [{"id": "k", "metric": "signups", "target": 20}], forecast=True, today=D(2026, 10, 6)
    )
    kr = card.objectives[0].key_results[0]
    # data from Sep 21: 15 days before Oct 6, 14 complete ones up to Oct 5 -> enough; cut it shorter
    assert kr.forecast is not None
    card = run(
        tmp_path,
        [{"id": "k", "metric": "signups", "target": 20}],
        forecast=True,
        as_of=D(2026, 10, 3),
        today=D(2026, 10, 4),
    )
    kr = card.objectives[0].key_results[0]
    assert kr.forecast is None and kr.probability is None
    assert any("no forecast" in note and "13 days" in note for note in kr.notes)
    assert kr.status == "on_track"  # by pace: 6 / 20 = 0.3 >= 0.3 - 0.1


def test_json_is_exactly_the_contract_shape(tmp_path: Path) -> None:
    card = run(
        tmp_path, [{"id": "k", "metric": "signups", "target": 20}], forecast=True, today=D(2026, 10, 6)
    )
    body = json.loads(json.dumps(card.to_json()))
    assert set(body) == {"as_of", "objectives"}
    (obj,) = body["objectives"]
    assert set(obj) == {"id", "objective", "owner", "period", "progress", "status", "key_results"}
    assert obj["period"] == {"start": "2026-10-01", "end": "2026-10-10"}
    (kr,) = obj["key_results"]
    assert set(kr) == {
        "id",
        "metric",
        "current",
        "baseline",
        "target",
        "progress",
        "expected_progress",
        "status",
        "forecast",
        "probability",
        "n",
    }
    assert set(kr["forecast"]) == {"value", "low", "high"}
    assert kr["forecast"]["low"] <= kr["forecast"]["value"] <= kr["forecast"]["high"]
    assert 0.0 <= kr["probability"] <= 1.0


def test_table_for_people(tmp_path: Path) -> None:
    table = run(tmp_path, [{"id": "signups_20", "metric": "signups", "target": 20}]).to_table()
    assert "OKRs as of 2026-10-05" in table
    assert "Test objective [obj] · pm · 2026-10-01 .. 2026-10-10 · progress 50% · On track" in table
    row = next(line for line in table.splitlines() if "signups_20" in line)
    assert row.split() == [
        "signups_20",
        "signups",
        "(period_to_date)",
        "10",
        "0",  # the baseline progress runs from (a period_to_date count: 0), as the pack and the tile say
        "20",
        "50%",
        "50%",
        "–",  # no forecast, no chance: metrics.format.EMPTY, as on the dashboard
        "–",
        "On",
        "track",
    ]


SQL_KRS = [
    {"id": "signups_20", "metric": "signups", "target": 20},
    {"id": "week", "metric": "signups", "read": "trailing_3d", "target": 6},
    {"id": "conversion", "metric": "conversion", "read": "trailing_3d", "target": 0.5},
    {"id": "dau", "metric": "dau", "read": "latest", "target": 5},
    {"id": "load", "metric": "p90_load", "read": "trailing_3d", "target": 500},
    {"id": "d1", "metric": "d1_retention", "read": "trailing_3d", "target": 0.8},
]
# (current, baseline) worked out above for each of SQL_KRS
SQL_WANT = [(10.0, 0.0), (7.0, 3.0), (2 / 7, 0.0), (3.0, 1.0), (720.0, 1000.0), (0.5, 2 / 3)]


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_the_same_scorecard_from_a_sql_source(tmp_path: Path, kind: str) -> None:
    from connectors.sql import dispose_engines
    from metrics.demo.sql import load_demo

    make_project(tmp_path, [objective(SQL_KRS)])  # writes events.parquet and the YAML
    url = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if kind == "sqlite"
        else f"duckdb:///{tmp_path / 'events.duckdb'}"
    )
    load_demo(tmp_path / "events.parquet", url, "events")
    columns = {"timestamp": "ts", "user": "user_id", "event": "event"}
    _write(
        tmp_path,
        "sources.yaml",
        {
            "sources": {
                "events": {"type": "sql", "url": url, "table": "events", "columns": columns},
                "legacy": {"type": "parquet", "path": "legacy.parquet", "columns": columns},
            }
        },
    )
    project = load_project(tmp_path)
    assert not project.problems, [str(p) for p in project.problems]
    try:
        card = score(project, Engine(project, today=lambda: D(2026, 10, 20)), OCT5, forecast=False)
    finally:
        dispose_engines()
    got = [(kr["current"], kr["baseline"]) for kr in card.to_json()["objectives"][0]["key_results"]]
    assert got == [(pytest.approx(c), pytest.approx(b)) for c, b in SQL_WANT]


@pytest.mark.parametrize(("min_sample", "uncertain"), [(None, True), (7, False), (8, True)])
def test_a_small_sample_is_uncertain_and_its_forecast_says_so(
    tmp_path: Path, min_sample: int | None, uncertain: bool
) -> None:
    """Conversion as of Oct 5, trailing 3 days: 2 purchases out of 7 sign-ups; min_sample defaults to 30."""
    settings = {} if min_sample is None else {"min_sample": min_sample}
    card = run(
        tmp_path,
        [{"id": "k", "metric": "conversion", "read": "trailing_3d", "baseline": 0.1, "target": 0.5}],
        forecast=True,
        today=D(2026, 10, 6),
        settings=settings,
    )
    kr = card.objectives[0].key_results[0]
    assert kr.n == 7 and kr.uncertain is uncertain
    shaky = f" (uncertain: below min_sample {min_sample or 30})" if uncertain else ""
    note = "k: current reading: 2 of 7 signups" + shaky
    assert f"note: {note}\n" in card.to_table() + "\n"
    assert kr.forecast is not None  # daily readings since Sep 21: enough history
    caveats = [note for note in kr.notes if "uncertain" in note]
    assert bool(caveats) is uncertain, kr.notes
    if uncertain:
        assert "only 7" in caveats[0]


@pytest.mark.parametrize("read", ["trailing_3d", "latest", "period_to_date"])
@pytest.mark.parametrize("metric", ["conversion", "d1_retention"])
def test_n_is_the_denominator_of_the_reading_whichever_request_gave_it(
    tmp_path: Path, metric: str, read: str
) -> None:
    """n comes from daily values (ratios of counts), a day-grain series (latest) or a one-span
    request: always the denominator of one period spanning the reading's days (CONTRACT.md)."""
    from metrics.engine.request import MetricRequest
    from metrics.okrs.readings import read_spec

    kr = {"id": "k", "metric": metric, "read": read, "baseline": 0.1, "target": 0.9}
    oct6 = D(2026, 10, 6)  # the d1 cohort of Oct 5 has four members
    card = run(tmp_path, [kr], as_of=oct6, forecast=True, today=D(2026, 10, 7))
    project = make_project(tmp_path, [objective([kr])])
    first, last = read_spec(read, metric, project).span(oct6, D(2026, 10, 1))
    request = MetricRequest((metric,), start=first, end=oct6, span_end=last)
    frame = Engine(project).compute(request).frame
    (got,) = card.objectives[0].key_results
    assert got.n == frame["denominator"][0] and got.numerator == frame["numerator"][0]
    assert got.current == pytest.approx(frame["value"][0])
    assert got.n is not None and got.n > 0


def test_a_ratio_whose_part_has_a_typo_blames_that_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`per_signup = purchases / signups_typo`, whose event filter is misspelt: the part reads no
    rows, so the ratio has no reading. The note names the part and its warning (the cause), not a
    missing baseline or empty days."""
    monkeypatch.setitem(
        METRICS, "signups_typo", {"type": "count", "source": "events", "filter": {"event": "sigunp"}}
    )
    monkeypatch.setitem(
        METRICS, "per_signup", {"type": "ratio", "numerator": "purchases", "denominator": "signups_typo"}
    )
    card = run(
        tmp_path,
        [
            {"id": "computed", "metric": "per_signup", "read": "trailing_3d", "target": 0.5},
            {"id": "given", "metric": "per_signup", "read": "trailing_3d", "baseline": 0.1, "target": 0.5},
            {"id": "fine", "metric": "conversion", "read": "trailing_3d", "target": 0.5},
        ],
    )
    computed, given, fine = card.objectives[0].key_results
    for kr in (computed, given):
        assert kr.problem is not None and kr.current is None
        assert "its part 'signups_typo' reads no rows: event 'sigunp' never occurs" in kr.problem, kr.problem
        assert "did you mean 'signup'?" in kr.problem and "metrics.yaml:" in kr.problem
    assert "set `baseline:`" not in (computed.problem or "")
    assert fine.problem is None  # a ratio whose parts read rows is not blamed


def test_a_key_result_on_a_misspelt_event_carries_the_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nycflights13 tour: a count of `canceled` flights (the data says `cancelled`) reads 0 on
    every day, which scores as a plain zero. The key result carries the definition's warning (the
    event, the did-you-mean, the place in metrics.yaml relative to the project, as a shared review
    pack may show it), and the scorecard table prints it; a key result on a sound metric has none."""
    monkeypatch.setitem(
        METRICS, "signups_typo", {"type": "count", "source": "events", "filter": {"event": "sigunp"}}
    )
    card = run(
        tmp_path,
        [
            {"id": "typo", "metric": "signups_typo", "target": 20},
            {"id": "sound", "metric": "signups", "target": 20},
        ],
    )
    typo, sound = card.objectives[0].key_results
    assert typo.problem is None and typo.current == 0.0  # scored: the zero is what the rows say
    (warning,) = typo.warnings
    assert warning.startswith("signups_typo may not count what was meant: event 'sigunp' never occurs")
    assert "did you mean 'signup'?" in warning and "(metrics.yaml:" in warning
    assert str(tmp_path) not in warning  # no server folder in a shared pack
    assert sound.warnings == ()
    assert f"note: typo: warning: {warning}" in card.to_table()
