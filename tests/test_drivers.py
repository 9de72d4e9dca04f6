"""`northstar drivers` and `metrics.drivers`: what moved a metric, split by segment.

* The split adds up: for every metric type, each dimension's contributions equal the change (for
  distinct users and levels, once the dimension's overlap line is taken off), and for rates mix + rate
  equal the contribution (hypothesis, on the engine and on the split alone).
* The segments' values are the contract's values, checked against the plain-Python reference.
* A change injected into one segment of synthetic data ranks that segment first, for every type.
* The demo's AI launch and performance release are the top movers of the metrics they moved.
* The JSON has the contract's shape; bad input is one sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.cli import main
from metrics.drivers import Drivers, Reading, drivers, split
from metrics.engine import Engine
from tests.engine_fixtures import Reference, Row, memory_engine, reference_rows
from tests.sql_fixtures import DATABASES

pytestmark = pytest.mark.usefixtures(
    "made_today"
)  # make_demo's demo ends on a fixed day: today is pinned after it
D0 = dt.date(2026, 3, 30)  # the synthetic data's first day
PREVIOUS = (D0, D0 + dt.timedelta(days=13))
CURRENT = (D0 + dt.timedelta(days=14), D0 + dt.timedelta(days=27))
DIMS = ("platform", "plan")

METRICS: dict[str, Any] = {
    "rows": {"type": "count", "source": "events"},
    "buys": {"type": "count", "source": "events", "filter": {"event": "buy"}},
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "revenue": {"type": "sum", "source": "events", "column": "amount"},
    "users": {"type": "count_distinct", "source": "events"},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "writers": {"type": "active_users", "source": "events", "window": 14, "filter": {"event": "write"}},
    "mau": {"type": "active_users", "source": "events", "window": 28},
    "stickiness": {"type": "ratio", "numerator": "dau", "denominator": "mau"},
    "per_user": {"type": "ratio", "numerator": "revenue", "denominator": "users"},
    "buy_rate": {"type": "ratio", "numerator": "buys", "denominator": "signups"},
    "d1": {
        "type": "retention",
        "source": "events",
        "cohort_event": "signup",
        "return_event": "open",
        "offset": 1,
    },
    "funnel": {"type": "funnel", "source": "events", "steps": ["signup", "buy"], "within": 2},
    "avg_amount": {"type": "avg", "source": "events", "column": "amount", "filter": {"event": "view"}},
    "p90_amount": {
        "type": "percentile",
        "source": "events",
        "column": "amount",
        "percentile": 0.9,
        "filter": {"event": "view"},
    },
    "max_amount": {"type": "max", "source": "events", "column": "amount", "filter": {"event": "view"}},
}
ADDS_UP = {"rows", "buys", "signups", "revenue", "buy_rate", "d1", "funnel"}  # no overlap line needed


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale))


def check_adds_up(result: Drivers) -> None:
    """The contract's sums: per dimension, contributions (minus the overlap's change) == change, and
    mix + rate == contribution for rates."""
    change = result.change
    assert change is not None
    scale = max([abs(change)] + [abs(s.contribution or 0) for s in result.segments])
    for dim in result.dimensions:
        segments = [s for s in result.segments if s.dimension == dim]
        assert all(s.contribution is not None for s in segments)
        total = math.fsum(s.contribution or 0.0 for s in segments)
        overlap = result.overlap(dim)
        assert overlap is not None and overlap.change is not None
        assert close(total - overlap.change, change, scale), (result.metric, dim, total, overlap, change)
        if result.metric in ADDS_UP:
            assert close(total, change, scale), (result.metric, dim, total, change)
            assert close(overlap.change, 0.0, scale)
        for s in segments:
            if result.method in ("rate", "level"):
                assert s.mix is not None and s.rate is not None
                assert close(s.mix + s.rate, s.contribution or 0.0, scale)


# --- the split adds up, on the engine -------------------------------------------------------------

rows_strategy = st.lists(
    st.builds(
        Row,
        ts=st.integers(0, 30 * 86400 - 1).map(lambda s: dt.datetime(2026, 3, 30) + dt.timedelta(seconds=s)),
        user=st.one_of(st.none(), st.sampled_from([f"u{i}" for i in range(10)])),
        event=st.sampled_from(["signup", "open", "buy", "view", "write"]),
        platform=st.sampled_from(["web", "ios", None]),
        plan=st.sampled_from(["free", "pro"]),
        amount=st.one_of(st.none(), st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2))),
    ),
    min_size=0,
    max_size=80,
)
# every example holds data from the first to the last day, so spans and maturity are the same, and a
# row in each span (the reference finds a metric's groups on the rows inside the span)
FRAME = [
    Row(dt.datetime(2026, 3, 16, 12), "u0", "view", "web", "free", 1.0),
    Row(dt.datetime(2026, 4, 5, 12), "u0", "view", "web", "free", 1.0),
    Row(dt.datetime(2026, 4, 20, 12), "u0", "view", "web", "free", 1.0),
    Row(dt.datetime(2026, 4, 30, 12), "u0", "view", "web", "free", 1.0),
]
PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(rows=rows_strategy)
def test_contributions_add_up_to_the_change_for_every_type(rows: list[Row]) -> None:
    engine = memory_engine([*FRAME, *rows], METRICS)
    reference = Reference([*FRAME, *rows])
    for metric_id in METRICS:
        result = drivers(engine, metric_id, *CURRENT)
        assert (result.previous.start, result.previous.end) == PREVIOUS
        if result.change is None:  # a rate with no denominator in a span: nothing to split
            assert METRICS[metric_id]["type"] in ("ratio", "retention", "funnel", "avg", "percentile", "max")
            assert all(s.contribution is None for s in result.segments)
            continue
        check_adds_up(result)
        # every value is the contract's, computed row by row by the reference
        for span, side in ((result.current, "current"), (result.previous, "previous")):
            for by in (None, *DIMS):
                want = reference_rows(
                    reference, METRICS, [metric_id], span.start, span.observed_until, "day", by, span.end
                )
                for (_, _, group), value in want.items():
                    if by is None:
                        got = span.value
                    else:
                        found = [s for s in result.segments if s.dimension == by and s.value == group]
                        got = getattr(found[0], side).value if found else None
                        if not found or value is None:
                            continue
                    assert (got is None) == (value is None), (metric_id, side, by, group, got, value)
                    if got is not None and value is not None:
                        assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9), (metric_id, by, group)


readings = st.one_of(
    st.just(Reading(None, None, 0.0)),
    st.builds(
        lambda n, d: Reading(n / d, float(n), float(d)),
        st.integers(0, 50),
        st.integers(1, 50),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    now=st.dictionaries(st.sampled_from(["a", "b", "c", "d", None]), readings, min_size=1),
    before=st.dictionaries(st.sampled_from(["a", "b", "c", "d", None]), readings, min_size=1),
)
def test_mix_and_rate_add_up_exactly_on_any_segments(
    now: dict[Any, Reading], before: dict[Any, Reading]
) -> None:
    """The split alone: segments empty in a span (a null rate) included; the totals are the pooled
    rates, so no overlap."""

    def pooled(side: dict[Any, Reading]) -> Reading:
        n = sum(r.numerator or 0.0 for r in side.values() if r.value is not None)
        d = sum(r.denominator or 0.0 for r in side.values() if r.value is not None)
        return Reading(n / d if d else None, n, d)

    total_now, total_before = pooled(now), pooled(before)
    segments, overlap = split("rate", now, before, total_now, total_before, "dim")
    if total_now.value is None or total_before.value is None:
        assert all(s.contribution is None for s in segments)
        return
    change = total_now.value - total_before.value
    assert math.isclose(math.fsum(s.contribution or 0.0 for s in segments), change, abs_tol=1e-12)
    assert overlap.change is not None and abs(overlap.change) < 1e-12
    for s in segments:
        assert s.mix is not None and s.rate is not None and s.contribution is not None
        assert math.isclose(s.mix + s.rate, s.contribution, abs_tol=1e-15)
    assert math.isclose(math.fsum(s.excess or 0.0 for s in segments), 0.0, abs_tol=1e-12)


def test_a_segment_that_moved_like_the_whole_has_no_excess() -> None:
    """Every segment's rate up by the same 10 points: all rate effect, each its share of the change."""
    before = {"a": Reading(0.2, 20, 100), "b": Reading(0.4, 120, 300)}
    now = {"a": Reading(0.3, 30, 100), "b": Reading(0.5, 150, 300)}
    total_before, total_now = Reading(140 / 400, 140, 400), Reading(180 / 400, 180, 400)
    segments, overlap = split("rate", now, before, total_now, total_before, "dim")
    by_key = {s.value: s for s in segments}
    assert by_key["a"].rate == pytest.approx(0.025) and by_key["b"].rate == pytest.approx(0.075)
    assert by_key["a"].mix == pytest.approx(0.0) and by_key["b"].mix == pytest.approx(0.0)
    assert all(abs(s.excess or 0.0) < 1e-12 for s in segments)
    assert overlap.change == pytest.approx(0.0)


def test_a_segment_that_appears_is_all_mix() -> None:
    before = {"a": Reading(0.5, 50, 100)}
    now = {"a": Reading(0.5, 50, 100), "b": Reading(0.1, 10, 100)}
    segments, _ = split("rate", now, before, Reading(60 / 200, 60, 200), Reading(0.5, 50, 100), "dim")
    new = next(s for s in segments if s.value == "b")
    assert new.rate == 0.0 and new.mix == pytest.approx(new.contribution)
    # nobody in the segment before: 0 of 0 (its n reads 0, as a rate's empty row does), no value
    assert (new.previous.value, new.previous.denominator) == (None, 0.0)
    assert math.fsum(s.contribution or 0.0 for s in segments) == pytest.approx(0.3 - 0.5)


def test_the_headline_gives_a_percentage_only_where_one_means_something() -> None:
    """The nycflights13 tour: a mean arrival delay (unit minutes) from 0.42 to 16.62 read
    "+16.20 minutes (+3,890.2%)". A unit not known to be on a ratio scale, a base below zero or a
    current of the other sign gets its difference alone (`format_percent_change`); a count keeps its
    percentage, a rate its percentage points."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    result = drivers(engine, "rows", *CURRENT)

    def headline(unit: str, previous: float, current: float) -> str:
        spans = {
            "previous": dataclasses.replace(result.previous, reading=Reading(previous)),
            "current": dataclasses.replace(result.current, reading=Reading(current)),
        }
        return dataclasses.replace(result, unit=unit, **spans).headline()

    delay = headline("minutes", 0.42, 16.62)
    assert delay.endswith(": +16.20 minutes") and "%" not in delay, delay
    assert headline("count", 640, 812).endswith(": +172 (+26.9%)")
    assert headline("count", 0, 5).endswith(": +5 (new)")
    assert "%" not in headline("currency", -50, 20)  # a net amount from -$50 to $20: no "+140%"
    assert "%" not in headline("currency", 50, -20)
    assert "%" not in headline("seconds", -2.0, -1.0)  # a base below zero
    assert headline("percent", 0.40, 0.45).endswith(": +5.0 pp")


def test_a_counts_difference_against_its_share_is_a_whole_count() -> None:
    """The tour: "+16 (...; -9.98 against its share)": a count's share of the change is an expectation,
    its decimals no finer measurement; every surface (the CLI's table, the mover lines of What moved
    and the pack) rounds it to a whole count, half up, as the counts beside it. A level's (a mean)
    keeps its decimals, and the JSON keeps the raw number."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    counted, mean = drivers(engine, "rows", *CURRENT), drivers(engine, "avg_amount", *CURRENT)
    cases = [(-9.98, "-10"), (9.5, "+10"), (-2.4, "-2"), (0.4, "±0"), (-163.2, "-163")]
    for excess, shown in cases:
        seg = dataclasses.replace(counted.segments[0], contribution=16.0, excess=excess)
        result = dataclasses.replace(counted, segments=(seg, *counted.segments[1:]))
        assert result.mover_line(seg).endswith(f"; {shown} against its share)"), (
            excess,
            result.mover_line(seg),
        )
        row = result.to_table().splitlines()[3].split()
        assert row[5:7] == ["+16", shown], row
        assert result.to_json()["segments"][0]["excess"] == excess
    seg = dataclasses.replace(mean.segments[0], excess=-2.4)
    assert "; -2.4 against its share)" in dataclasses.replace(mean, segments=(seg,)).mover_line(seg)


def test_a_comparison_before_the_data_is_blank_not_zero() -> None:
    """As the explorer blanks compared periods before the data starts: no change, nothing split."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    result = drivers(engine, "rows", dt.date(2026, 3, 20), dt.date(2026, 4, 5))  # previous from Mar 3
    assert result.previous.value is None and result.change is None
    assert result.segments and all(
        s.contribution is None and s.previous.value is None for s in result.segments
    )
    assert result.top(3) == ()
    assert any(n.startswith("no comparison: the previous span starts on Mar 3, 2026") for n in result.notes)
    assert result.to_json()["change"] is None


def test_no_comparison_is_said_as_a_fact_and_the_way_to_one_in_cli_flags() -> None:
    """The note is for any reader (a review pack's cannot choose a span): no advice in it. Whoever
    runs the split gets the flags of the first span of the same length that has a comparison."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    start, end = dt.date(2026, 3, 20), dt.date(2026, 4, 5)
    result = drivers(engine, "rows", start, end)
    assert not [n for n in result.notes if "choose" in n or "later" in n]
    first = result.comparable_from
    assert first is not None and result.comparison_hint is not None
    last = first + (end - start)
    assert (
        f"northstar drivers rows --start {first.isoformat()} --end {last.isoformat()}"
        in result.comparison_hint
    )
    assert f"note: {result.comparison_hint}" in result.to_table()
    assert drivers(engine, "rows", first, last).previous.value is not None  # that span has one
    before = drivers(engine, "rows", first - dt.timedelta(days=1), last - dt.timedelta(days=1))
    assert before.previous.value is None and before.comparable_from == first  # the day before has none
    assert drivers(engine, "rows", first, last).comparison_hint is None
    # a year back needs more than the data's six weeks: no span of the data has that comparison
    yearly = drivers(engine, "rows", start, end, compare="previous_year")
    assert yearly.comparable_from is None and yearly.comparison_hint is not None
    assert "holds no span of 17 days together with its comparison (previous_year)" in yearly.comparison_hint


def test_a_source_without_dimensions_says_so_instead_of_no_segment_moved() -> None:
    """A project made by `init` on data with no small text column (the CDNOW purchases) has no
    dimension: the split is empty, and every surface says why rather than "no segment moved"."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    project = dataclasses.replace(
        engine.project,
        sources={"events": engine.project.sources["events"].model_copy(update={"dimensions": []})},
    )
    engine = Engine(project, connectors={"events": engine.connector("events")})
    result = drivers(engine, "revenue", *CURRENT)
    assert result.segments == () and result.change is not None
    note = "not split by segment: source 'events' lists no dimensions; list columns under 'dimensions:'"
    assert any(n.startswith(note) for n in result.notes), result.notes
    # quoted as the source is, not a code span: summary.md (a Slack code block) shows it as it is
    from dashboard.escape import markdown_line

    assert all(markdown_line(n) == n for n in result.notes if n.startswith(note))
    table = result.to_table()
    assert note in table and "contribution" not in table  # no header over no rows


# --- an injected change ranks first ------------------------------------------------------------------

PLATFORMS = ("web", "ios", "android")
PLANS = ("free", "pro", "team")


def synthetic(dimension: str, value: str, seed: int = 3) -> list[Row]:
    """600 users over 30 days with steady behaviour, except that in the current span the users of
    `dimension == value` view twice as often, write more, buy more, come back more, and see higher
    amounts."""
    rng = random.Random(seed)
    rows: list[Row] = [*FRAME]
    start = dt.datetime(2026, 3, 30)
    for i in range(600):
        user, platform, plan = f"u{i}", rng.choice(PLATFORMS), rng.choice(PLANS)
        lifted = (platform if dimension == "platform" else plan) == value

        def add(day: float, event: str, amount: float | None = None) -> None:
            rows.append(Row(start + dt.timedelta(days=day), user, event, platform, plan, amount))  # noqa: B023

        for day in range(28):
            boost = lifted and day >= 14
            for _ in range(_poisson(rng, 2.0 if boost else 1.0)):
                add(day + rng.random(), "view", rng.gauss(150 if boost else 100, 10))
        for first in (0, 14):
            if rng.random() < (0.8 if lifted and first == 14 else 0.3):
                add(first + rng.random() * 14, "write")
        signup = rng.randrange(28) + 0.1 + 0.3 * rng.random()
        boost = lifted and signup >= 14
        add(signup, "signup")
        if rng.random() < (0.8 if boost else 0.3):
            add(signup + 0.5, "buy", 10.0)
        if rng.random() < (0.8 if boost else 0.3):
            add(math.floor(signup) + 1.5, "open")
    return rows


def _poisson(rng: random.Random, lam: float) -> int:
    count, threshold, product = 0, math.exp(-lam), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


INJECTED = ("rows", "revenue", "buys", "writers", "buy_rate", "d1", "funnel", "avg_amount", "p90_amount")


@pytest.mark.parametrize(("dimension", "value"), [("platform", "ios"), ("plan", "team"), ("platform", "web")])
def test_a_change_injected_into_one_segment_ranks_it_first(dimension: str, value: str) -> None:
    engine = memory_engine(synthetic(dimension, value), METRICS)
    for metric_id in INJECTED:
        result = drivers(engine, metric_id, *CURRENT)
        top = result.top(1)[0]
        assert (top.dimension, top.value) == (dimension, value), (metric_id, result.to_table(limit=4))
        assert (top.contribution or 0) > 0, metric_id
        check_adds_up(result)
        if metric_id == "avg_amount":  # every view has an amount: the weighted split is exact
            assert all(abs(o.change or 0.0) < 1e-9 for o in result.overlaps)


# --- the demo's launches ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def launch_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dt.date]]:
    """The shipped config/ on a 300k-event demo ending 2026-11-20, and its launch days."""
    from metrics.demo.generate import generate_demo

    root = tmp_path_factory.mktemp("drivers-demo")
    summary = generate_demo(root / "data" / "demo", events=300_000, seed=7, end=dt.date(2026, 11, 20))
    (root / "config").mkdir()
    for path in (Path(__file__).resolve().parent.parent / "config").glob("*.yaml"):
        (root / "config" / path.name).write_text(path.read_text())
    return root / "config", summary.launches


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    try:
        main(["drivers", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--format" in args else out), err


def test_the_ai_launch_is_the_top_mover_of_sign_ups(
    launch_demo: tuple[Path, dict[str, dt.date]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The launch brings a burst of social sign-ups (metrics/demo/generate.py): its week against the
    week before ranks channel = social first."""
    config, launches = launch_demo
    day = launches["ai_summary"]
    code, out, err = cli_json(
        capsys, "signups", "--config", str(config), "--start", str(day), "--end", str(day + dt.timedelta(days=6)),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert out["change"] > 0
    top = out["segments"][0]
    assert (top["dimension"], top["value"]) == ("channel", "social")
    assert top["contribution"] > 0.4 * out["change"]


def test_the_performance_release_is_the_top_mover_of_page_load(
    launch_demo: tuple[Path, dict[str, dt.date]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The release makes every page about 30% faster: the p90 drops by more than a quarter, every
    platform's p90 with it, and the top movers are rate effects (pages got faster), not mix."""
    config, launches = launch_demo
    day = launches["performance_release"]
    code, out, err = cli_json(
        capsys, "p90_page_load", "--config", str(config), "--start", str(day),
        "--end", str(day + dt.timedelta(days=13)), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert out["change"] < -0.25 * out["previous"]["value"]
    platforms = [s for s in out["segments"] if s["dimension"] == "platform"]
    assert {s["value"] for s in platforms} == {"web", "ios", "android"}
    assert all(s["current"] < 0.75 * s["previous"] for s in platforms)
    for top in out["segments"][:3]:
        assert top["contribution"] < 0 and abs(top["rate"]) > abs(top["mix"]), top
    assert out["segments"][0]["dimension"] == "platform"


# --- the contract's JSON and one-sentence errors ------------------------------------------------------


def test_json_has_the_contract_shape(small_demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(small_demo), "--start", "2026-10-01", "--end", "2026-10-28", "--format", "json"]
    code, out, err = cli_json(capsys, "signups", *base)
    assert code == 0, err
    assert {"metric", "current", "previous", "change", "segments"} <= set(out)
    assert out["metric"] == "signups"
    assert out["current"] == {"start": "2026-10-01", "end": "2026-10-28", "value": out["current"]["value"]}
    assert (out["previous"]["start"], out["previous"]["end"]) == ("2026-09-03", "2026-09-30")
    assert out["change"] == out["current"]["value"] - out["previous"]["value"]
    dims = {s["dimension"] for s in out["segments"]}
    assert dims == {"platform", "country", "plan", "channel"}  # default: every dimension
    for dim in dims:
        segments = [s for s in out["segments"] if s["dimension"] == dim]
        assert {"dimension", "value", "current", "previous", "contribution"} <= set(segments[0])
        assert sum(s["contribution"] for s in segments) == out["change"]
        assert all(s["contribution"] == s["current"] - s["previous"] for s in segments)

    code, out, err = cli_json(capsys, "activation", *base, "--by", "channel", "--by", "plan")
    assert code == 0, err
    assert {s["dimension"] for s in out["segments"]} == {"channel", "plan"}
    for s in out["segments"]:
        assert math.isclose(s["mix"] + s["rate"], s["contribution"], abs_tol=1e-12)
    for dim in ("channel", "plan"):
        total = math.fsum(s["contribution"] for s in out["segments"] if s["dimension"] == dim)
        assert math.isclose(total, out["change"], abs_tol=1e-12)
    assert out["current"]["denominator"] > 0

    code, out, err = cli_json(capsys, "signups", *base[:-2], "--compare", "previous_year")
    assert code == 0, err
    assert "signups" in out.splitlines()[0].lower() or "sign-ups" in out.splitlines()[0].lower()
    assert "Oct 1 – Oct 28, 2025" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["signupz"], "unknown metric 'signupz'"),
        (["signups", "--start", "2026-02-30"], "--start '2026-02-30' is not a date"),
        (["signups", "--by", "platfrom"], "cannot split 'signups' by 'platfrom'"),
        (["signups", "--compare", "last_week"], "unknown comparison 'last_week'"),
        (["signups", "--start", "2026-11-10", "--end", "2026-11-01"], "swap --start and --end"),
        (["d7_retention", "--end", "2026-11-19"], "end the span on 2026-11-13 or earlier"),
    ],
)
def test_bad_input_is_one_sentence(
    small_demo: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = cli_json(capsys, *args, "--config", str(small_demo))
    assert code in (1, 2)
    assert message in err, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


# --- the dashboard's "What moved" panel ---------------------------------------------------------------


@pytest.fixture(scope="module")
def app_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.app_support import make_demo

    return make_demo(tmp_path_factory.mktemp("drivers-app"), events=30_000)[0]


def _app(config: Path, monkeypatch: pytest.MonkeyPatch, view: str, **params: str) -> Any:
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP

    monkeypatch.setenv("NORTHSTAR_CONFIG", str(config))
    at = AppTest.from_file(str(APP), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{view}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_explorer_shows_the_top_movers_with_n(app_demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.escape import markdown as escaped
    from metrics.engine import Engine
    from metrics.load import load_project
    from tests.app_support import copy_box_texts

    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 28)
    at = _app(app_demo, monkeypatch, "explorer", metric="activation", start=str(start), end=str(end))
    assert "What moved" in [s.value for s in at.subheader]
    project = load_project(app_demo)
    # the range's cohorts that matured inside it, observed until its end: no day after the range is
    # read (the data runs on past Oct 28), as the tiles, so a shared link keeps its split
    last = end - dt.timedelta(days=project.maturity_lag("activation"))
    expected = drivers(Engine(project), "activation", start, last, observe_until=end)
    assert any(
        str(c.value).startswith(f"Cohorts through {last:%b} {last.day}, {last.year}") for c in at.caption
    )
    shown = "\n".join(str(m.value) for m in at.markdown)
    tops = expected.top(5)
    assert tops
    for segment in tops:  # each mover with its contribution, mix, rate and n, in rank order
        assert escaped(expected.mover_line(segment, "users")) in shown, segment.label
    positions = [shown.index(escaped(expected.mover_line(segment))) for segment in tops]
    assert positions == sorted(positions)
    assert f"n {tops[0].previous.denominator:,.0f} → {tops[0].current.denominator:,.0f} users" in shown
    assert any(escaped(expected.headline()) in str(c.value) for c in at.caption)
    # every segment, as the CLI's table, in a box to copy (no st.code: docs/performance.md)
    assert expected.to_table() in copy_box_texts(at) and not at.code


def test_the_explorer_says_which_range_has_a_comparison(
    app_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range at the data's start has no comparison; the explorer's viewer can choose another range,
    so the panel says the first start that has one (the drivers' `comparable_from`)."""
    from dashboard.escape import markdown as escaped
    from dashboard.format import format_date
    from metrics.engine import Engine
    from metrics.load import load_project

    project = load_project(app_demo)
    first, _ = Engine(project).data_range(["signups"])
    start, end = first + dt.timedelta(days=3), first + dt.timedelta(days=16)
    expected = drivers(Engine(project), "signups", start, end)
    assert expected.comparable_from is not None
    at = _app(app_demo, monkeypatch, "explorer", metric="signups", start=str(start), end=str(end))
    captions = [str(c.value) for c in at.caption]
    assert escaped(expected.notes[0]) in captions, captions  # "no comparison: ..."
    said = f"A range starting on {format_date(expected.comparable_from)} or later has a comparison."
    assert said in captions


def test_each_key_result_shows_its_top_three_movers_on_request(
    app_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(app_demo, monkeypatch, "okrs", as_of="2026-11-20")
    toggles = [t for t in at.toggle if t.label == "What moved"]
    assert toggles and all(not t.value for t in toggles)

    def listed(at: Any) -> list[str]:
        return [str(m.value) for m in at.markdown if str(m.value).startswith("- ") and "→" in str(m.value)]

    assert listed(at) == []
    toggles[0].set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    movers = listed(at)
    assert len(movers) == 1, [str(c.value) for c in at.caption]
    lines = movers[0].splitlines()
    assert 1 <= len(lines) <= 3
    assert all(" n " in line or "; n " in line for line in lines)  # activation is a rate: each with its n
    assert any("Activation rate" in str(c.value) for c in at.caption)


# --- the review pack's summary.md -------------------------------------------------------------------


def test_summary_md_lists_each_key_result_s_top_three_movers(small_demo: Path) -> None:
    from dashboard.escape import markdown_line
    from dashboard.format import kr_title
    from dashboard.pack.build import plan_pack
    from dashboard.pack.html import render_summary
    from metrics.drivers import key_result_drivers
    from metrics.engine import Engine
    from metrics.format import sample_noun
    from metrics.load import load_project

    project = load_project(small_demo)
    engine = Engine(project)
    plan = plan_pack(project, engine, as_of=dt.date(2026, 11, 20))
    summary = render_summary(project, plan.scorecard, plan.items, plan.stamp, movers=plan.movers)
    lines = summary.splitlines()
    assert any(line.startswith("What moved (") for line in lines)
    # pasted into a Slack code block, where an escape shows: a headline's `:` and `$` stay as they are
    assert "$" in summary and "\\$" not in summary and "\\:" not in summary
    definitions = {(o.id, kr.id): kr for o in project.okrs for kr in o.key_results}
    checked = 0
    for objective in plan.scorecard.objectives:
        for kr in objective.key_results:
            expected = key_result_drivers(Engine(project), kr)
            assert expected is not None
            # its current span is the key result's own reading, n included
            assert (expected.current.value is None) == (kr.current is None), kr.id
            if kr.current is not None:
                assert math.isclose(expected.current.value or 0.0, kr.current, rel_tol=1e-9, abs_tol=1e-12)
            if kr.n is not None:
                assert expected.current.reading.denominator == kr.n, kr.id
            title = markdown_line(kr_title(project, definitions[(objective.id, kr.id)]))
            at = lines.index(f"- {title}: {markdown_line(expected.headline())}")
            noun = sample_noun(project, kr.metric)[0]
            movers = [f"  - {markdown_line(expected.mover_line(s, noun))}" for s in expected.top(3)]
            if expected.change is None:  # no reading to compare: why, instead of movers
                assert movers == [] and lines[at + 1] == f"  - {markdown_line(expected.notes[0])}"
            else:
                assert lines[at + 1 : at + 1 + len(movers)] == movers
                assert len(movers) == 3  # every reading of the demo moved
            checked += 1
    assert checked == sum(len(o.key_results) for o in plan.scorecard.objectives) > 0


# --- the same split on a database -------------------------------------------------------------------

SQL_METRICS = ("rows", "revenue", "users", "writers", "buy_rate", "d1", "funnel", "avg_amount", "p90_amount")


@pytest.mark.parametrize("kind", DATABASES)
def test_the_split_is_the_same_on_a_database(kind: str, tmp_path: Path) -> None:
    """Everything comes from the engine, so a SQL source gives the same split as the file."""
    from metrics.engine import Engine
    from tests.sql_fixtures import loaded, sql_project

    rows = synthetic("plan", "team")
    files = memory_engine(rows, METRICS)
    for table in loaded(kind, tmp_path, rows):
        database = Engine(sql_project(table.url, METRICS, table=table.table))
        assert database.project.sources["events"].dimensions == list(DIMS)
        for metric_id in SQL_METRICS:
            want = drivers(files, metric_id, *CURRENT).to_json()
            got = drivers(database, metric_id, *CURRENT).to_json()
            assert [(s["dimension"], s["value"]) for s in got["segments"]] == [
                (s["dimension"], s["value"]) for s in want["segments"]
            ], metric_id
            for a, b in zip(got["segments"], want["segments"], strict=True):
                for field in ("current", "previous", "contribution", "mix", "rate"):
                    assert (a.get(field) is None) == (b.get(field) is None), (metric_id, field)
                    if a.get(field) is not None:
                        assert math.isclose(a[field], b[field], rel_tol=1e-9, abs_tol=1e-12), (
                            metric_id,
                            a,
                            b,
                        )


def test_the_table_shows_the_overlap_lines_the_panel_shows() -> None:
    """Retentioneering's ecom tour: `drivers payment_error_rate` ended on four lines of
    'platform: 0.0% -> 0.0% (±0.0 pp)' that the What moved panel leaves out. A rate's segments never
    overlap; the table shows what `Drivers.overlaps_shown` keeps, as the panel and the pack do."""
    engine = memory_engine(synthetic("platform", "ios"), METRICS)
    rate = drivers(engine, "buy_rate", *CURRENT)
    assert rate.overlaps and rate.overlaps_shown() == ()
    assert "overlap" not in rate.to_table() and "contributions minus this" not in rate.to_table()
    users = drivers(engine, "users", *CURRENT)
    table = users.to_table()
    for overlap in users.overlaps:
        assert (f"  {overlap.dimension}: " in table) is (overlap in users.overlaps_shown()), table
