"""The homes of rules that several places used to write: each answers as the contract says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.errors import ConnectorError, NorthstarError
from metrics.definitions.calendar import Calendar, last_complete_day
from metrics.definitions.models import ProjectConfig, retention_interval
from metrics.definitions.problems import ConfigError, Problem, Subject
from metrics.definitions.project import Project
from metrics.engine.request import MetricError
from metrics.format import sample_words
from metrics.load import load_project, project_from_dicts
from metrics.quality.flags import shading
from metrics.quality.report import CheckResult, QualityReport

SOURCE = {
    "type": "parquet",
    "path": "events.parquet",
    "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    "dimensions": ["platform"],
}
METRICS = {
    "signups": {"type": "count", "source": "events", "filter": {"event": "signup"}},
    "buyers": {"type": "count_distinct", "source": "events", "filter": {"event": "purchase"}},
    "dau": {"type": "active_users", "source": "events", "window": 1},
    "d7": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 7},
    "w2": {"type": "retention", "source": "events", "cohort_event": "signup", "offset": 2, "period": "week"},
    "activation": {"type": "funnel", "source": "events", "steps": ["signup", "create"], "within": 2.5},
    "buyers_per_signup": {"type": "ratio", "numerator": "buyers", "denominator": "signups"},
    "nested": {"type": "ratio", "numerator": "buyers_per_signup", "denominator": "d7"},
    "mixed": {"type": "ratio", "numerator": "activation", "denominator": "w2"},
}


@pytest.fixture(scope="module")
def project() -> Project:
    return project_from_dicts(sources={"events": SOURCE}, metrics=METRICS)


def test_leaves_walk_a_ratio_numerator_first_and_once(project: Project) -> None:
    assert list(project.leaves("nested")) == ["buyers", "signups", "d7"]
    assert list(project.leaves("dau")) == ["dau"]
    assert project.source_of("nested") == {"events"}


def test_leaves_of_an_unpruned_project_skip_missing_parts_and_cycles(project: Project) -> None:
    import dataclasses

    from metrics.definitions.models import RatioMetric

    broken = dataclasses.replace(
        project,
        metrics={
            **project.metrics,
            "a": RatioMetric(type="ratio", numerator="b", denominator="gone"),
            "b": RatioMetric(type="ratio", numerator="a", denominator="dau"),
        },
    )
    assert list(broken.leaves("a")) == ["dau"]
    assert broken.maturity_lag("a") == 0


def test_maturity_lag_by_type_and_through_ratios(project: Project) -> None:
    assert project.maturity_lag("d7") == 7
    assert project.maturity_lag("w2") == 7 * 2 + 6
    assert project.maturity_lag("activation") == 3  # whole days: a 2.5-day window closes on day 3
    assert project.maturity_lag("signups") == 0 and project.maturity_lag("dau") == 0
    assert project.maturity_lag("nested") == 7
    assert project.maturity_lag("mixed") == 20
    assert project.metrics["w2"].interval == (14, 20)
    assert retention_interval("day", 3) == (3, 3)


def test_user_based_metrics_need_the_user_column(project: Project) -> None:
    needs = {m: project.metrics[m].needs_user for m in ("signups", "buyers", "dau", "d7", "activation")}
    assert needs == {"signups": False, "buyers": True, "dau": True, "d7": True, "activation": True}
    keyed = project_from_dicts(
        sources={"events": SOURCE},
        metrics={"platforms": {"type": "count_distinct", "source": "events", "column": "platform"}},
    )
    assert keyed.metrics["platforms"].needs_user is False


def test_the_last_complete_day_never_reads_a_day_still_running() -> None:
    today = dt.date(2026, 12, 6)
    assert last_complete_day(today, dt.date(2026, 12, 6)) == dt.date(2026, 12, 5)
    assert last_complete_day(today, dt.date(2026, 12, 1)) == dt.date(2026, 12, 1)
    assert last_complete_day(today, None) == dt.date(2026, 12, 5)  # no data: the day before today


def test_shading_and_the_periods_holding_them() -> None:
    ran = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    day = dt.date

    def result(source: str, check: str, success: bool, severity: str, *days: dt.date) -> CheckResult:
        return CheckResult(source, check, severity, success, None, "", days=days)  # type: ignore[arg-type]

    report = QualityReport(
        (
            result("events", "e", False, "error", day(2026, 11, 30), day(2026, 12, 2)),
            result("events", "w", False, "warn", day(2026, 12, 2), day(2026, 12, 3), day(2026, 12, 9)),
            result("events", "ok", True, "error", day(2026, 12, 4)),
            result("other", "o", False, "error", day(2026, 12, 5)),
        ),
        ran,
    )
    daily = Calendar.of(ProjectConfig())
    error, warn = shading(report, ["events"], daily, "day", user_sources=["events"])
    assert (error.severity, error.periods, error.checks) == (
        "error",
        (day(2026, 11, 30), day(2026, 12, 2)),
        ("events: e",),
    )
    # a day an error already shades is not shaded twice; warnings keep their own days
    assert (warn.severity, warn.periods) == ("warn", (day(2026, 12, 3), day(2026, 12, 9)))
    assert warn.label == "Data warning: events: w"
    assert shading(report, ["events", "other"], daily, "day", user_sources=["events", "other"])[0].checks == (
        "events: e",
        "other: o",
    )
    sunday = Calendar.of(ProjectConfig(week_start="sunday"))
    weeks = shading(report, ["events"], sunday, "week", user_sources=["events"])
    # Sunday weeks: Nov 30 and Dec 2 are in the week of Nov 29, which the error shades; Dec 9's week warns
    assert [(s.severity, s.periods) for s in weeks] == [
        ("error", (day(2026, 11, 29),)),
        ("warn", (day(2026, 12, 6),)),
    ]
    months = shading(report, ["events"], daily, "month", user_sources=["events"])
    assert [(s.severity, s.periods) for s in months] == [("error", (day(2026, 11, 1), day(2026, 12, 1)))]
    # only what falls in the chart's range, and nothing for a source without failures
    assert [
        s.periods
        for s in shading(
            report, ["events"], daily, "day", day(2026, 12, 3), day(2026, 12, 31), user_sources=["events"]
        )
    ] == [(day(2026, 12, 3), day(2026, 12, 9))]
    assert shading(report, ["none"], daily, "day", user_sources=["none"]) == ()


def test_every_user_facing_error_has_one_root() -> None:
    for error in (ConnectorError("x"), MetricError("x"), ConfigError([Problem("x")])):
        assert isinstance(error, NorthstarError)
    from dashboard.cli import Fail
    from dashboard.pack.images import PackError

    assert issubclass(Fail, NorthstarError) and issubclass(PackError, NorthstarError)


def test_problems_name_what_they_disable_as_typed_subjects(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  events:\n    type: parquet\n    path: missing.parquet\n"
        "    columns: {timestamp: ts, user: user_id, event: event}\n"
    )
    (tmp_path / "metrics.yaml").write_text(
        "metrics:\n"
        "  signups: {type: cout, source: events}\n"
        "  dau: {type: active_users, source: events, window: 1}\n"
        "  per_user: {type: ratio, numerator: signups, denominator: dau}\n"
    )
    project = load_project(tmp_path, check_data=False)
    assert Subject.metric("signups") in project.broken
    assert "signups" in project.skipped and "per_user" in project.skipped  # the ratio goes with its part
    assert "dau" in project.metrics
    assert str(Subject.kr("growth", "activation_45")) == "kr:growth:activation_45"


def test_the_compared_range_is_the_engines_shift(project: Project) -> None:
    from metrics.engine import Engine

    engine = Engine(project)
    day = dt.date
    assert engine.compared_range(day(2026, 10, 1), day(2026, 11, 30), "month", "previous_period") == (
        day(2026, 8, 1),
        day(2026, 9, 30),
    )
    assert engine.compared_range(day(2028, 2, 29), day(2028, 3, 6), "day", "previous_year") == (
        day(2027, 2, 28),
        day(2027, 3, 6),
    )
    assert engine.compared_range(day(2026, 11, 2), day(2026, 11, 15), "week", "previous_year") == (
        day(2025, 11, 3),
        day(2025, 11, 16),
    )
    assert engine.compared_range(day(2026, 11, 1), day(2026, 11, 10), "day", "previous_period") == (
        day(2026, 10, 22),
        day(2026, 10, 31),
    )


def test_one_formatting_home_prints_every_surface(project: Project) -> None:
    from dashboard import format as dashboard_format
    from metrics import format as home
    from metrics.okrs import scorecard

    assert home.format_value(12_345, "currency") == "$12,345"
    assert home.format_value(0.0243902, "percent") == "2.4%"
    assert home.raw_number(22.0, "count") == 22 and isinstance(home.raw_number(22.0, "count"), int)
    assert home.plural(1, "day") == "1 day"
    assert home.format_share(1, 2136) == "<0.1%" and home.format_share(2135, 2136) == ">99.9%"
    assert (
        home.format_sample(3, 8) == "3 of 8 users"
        and home.format_sample(43, 43, "buyers") == "43 of 43 buyers"
    )
    assert home.format_sample(378, 276, "buyers") == "378 over 276 buyers"  # never "378 of 276"
    assert (
        home.format_share(0, 5) == "0.0%"
        and home.format_share(1, 8) == "12.5%"
        and home.format_share(1, 0) == ""
    )
    from metrics.engine.engine import FunnelOrder

    order = FunnelOrder(entrants=2136, in_order=1155, any_order=1156, reversed_pairs=(("a", "b", 1083),))
    assert order.sentence().startswith("1 of 2,136 entrants (<0.1% of them)")
    assert (
        "(in order: 1,155; in any order: 1,156)" in order.sentence()
        and "b then a by 1,083" in order.sentence()
    )
    assert home.metric_unit(project, "buyers_per_signup") == "ratio"  # a ratio left at its default reads as %
    # a ratio whose unit is written is shown in it: 1.19 purchases per buyer, never 119.0%
    per_buyer = project_from_dicts(
        sources={"events": SOURCE},
        metrics={
            **METRICS,
            "per_buyer": {"type": "ratio", "numerator": "signups", "denominator": "buyers", "unit": "count"},
        },
    )
    assert home.metric_unit(per_buyer, "per_buyer") == "count"
    assert home.format_value(1.1940, home.metric_unit(per_buyer, "per_buyer")) == "1.19"
    assert dashboard_format.format_value is home.format_value
    # a decrease key result's target is a ceiling, written so on every surface (the CLI wrote
    # '<= 250 s', the pack's table and the dashboard's tile '250 s', the objective image '313 s of 250 s')
    assert home.format_target(250, "seconds", "decrease") == "≤ 250 s"
    assert home.format_target(0.5, "percent", "increase") == "50.0%"
    assert home.format_target(None, "count", "decrease") == home.EMPTY
    from dashboard import figures
    from dashboard.pack import html as pack_html
    from dashboard.views import okrs as okr_page

    for surface in (scorecard, pack_html, figures, okr_page):
        assert surface.format_target is home.format_target, surface.__name__
    assert scorecard.format_value is home.format_value  # the CLI's scorecard table calls the same home


def test_pinned_grains_and_blank_comparisons_have_one_home() -> None:
    from metrics.definitions.models import ReviewSettings
    from metrics.engine.engine import begins_before_data

    review = ReviewSettings(pinned_metrics=["dau", "activation", "signups"], grains={"signups": "week"})
    assert (
        review.grain_of("activation", "funnel") == "week" and review.grain_of("dau", "active_users") == "day"
    )
    assert review.grain_of("signups", "count") == "week"
    day = dt.date
    assert begins_before_data(day(2026, 1, 1), day(2026, 1, 15))
    assert not begins_before_data(day(2026, 1, 15), day(2026, 1, 15))
    assert not begins_before_data(day(2026, 1, 1), None)


def test_compared_periods_before_the_data_are_blank_on_every_surface(tmp_path: Path) -> None:
    """The engine's comparison, which `compute --compare`, the explorer and the review pack all read: a
    compared period that begins before the data is blank, not the 0 a count fills elsewhere."""
    from metrics.engine import Engine
    from metrics.engine.request import MetricRequest

    events = tmp_path / "events.csv"  # one sign-up a day from Monday 2026-01-05 to 2026-01-28
    rows = [f"u{d},signup,2026-01-{d:02d}T10:00:00Z" for d in range(5, 29)]
    events.write_text("user_id,event,ts\n" + "\n".join(rows) + "\n")
    project = project_from_dicts(
        sources={"events": {"type": "csv", "path": str(events), "columns": SOURCE["columns"]}},
        metrics={"signups": METRICS["signups"]},
    )
    day = dt.date
    request = MetricRequest(("signups",), day(2026, 1, 12), day(2026, 1, 28), "week", None, "previous_period")
    result = Engine(project).compute(request)
    assert result.comparison is not None
    past = result.comparison.sort("period")
    assert past["compared_period"].to_list() == [day(2025, 12, 22), day(2025, 12, 29), day(2026, 1, 5)]
    assert past["value"].to_list() == [None, None, 3.0]  # Jan 5-7, like the partial week of Jan 26-28
    assert result.series("signups")["value"].to_list() == [7.0, 7.0, 3.0]


def test_which_metrics_read_a_period_on_its_last_day(project: Project) -> None:
    from metrics.format import period_value_words

    reads = {m: project.reads_last_day(m) for m in ("dau", "signups", "d7", "buyers_per_signup")}
    assert reads == {"dau": True, "signups": False, "d7": False, "buyers_per_signup": False}
    stickiness = project_from_dicts(
        sources={"events": SOURCE},
        metrics={**METRICS, "sticky": {"type": "ratio", "numerator": "dau", "denominator": "signups"}},
    )
    assert stickiness.reads_last_day("sticky")  # a ratio with an active-users part
    assert period_value_words("DAU", "week", True) == "DAU on the week's last day"
    assert period_value_words("DAU", "day", True) == "DAU"
    assert period_value_words("Sign-ups", "month", False) == "Sign-ups"


@pytest.mark.parametrize(
    ("denominator", "min_sample", "uncertain"),
    [
        (29, 30, True),
        (30, 30, False),
        (1, 30, True),
        (0, 30, False),  # out of 0 there is no reading to doubt: "– · 0 of 0 users", never hatched
        (None, 30, False),
        (float("nan"), 30, False),
        (4, 5, True),
    ],
)
def test_is_uncertain_is_a_denominator_below_min_sample(
    denominator: float | None, min_sample: int, uncertain: bool
) -> None:
    from metrics.definitions.models import is_uncertain

    assert is_uncertain(denominator, min_sample) is uncertain
    assert ProjectConfig(min_sample=min_sample).uncertain(denominator) is uncertain
    # the words every surface writes under a tile follow the same rule (the CDNOW tour: an empty
    # cohort's tile read "0 of 0 users (uncertain: below min_sample 30)")
    words = sample_words(0.0 if denominator is not None else None, denominator, min_sample=min_sample)
    assert ("uncertain" in words) is uncertain


def test_min_sample_defaults_to_30_and_is_at_least_1() -> None:
    from pydantic import ValidationError

    assert ProjectConfig().min_sample == 30
    assert ProjectConfig().uncertain(29) and not ProjectConfig().uncertain(30)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        ProjectConfig(min_sample=0)


def test_which_periods_are_still_maturing_has_one_home(project: Project) -> None:
    """`Engine.maturing_periods`, which the explorer, the funnel page and the review pack shade: a
    funnel within 2.5 days needs 3 whole days, so by Thursday 2026-01-15 the cohorts of Jan 13-15 are
    not final; at week grain that is the week of Monday Jan 12; a count never matures."""
    import polars as pl

    from dashboard.figures import MATURING_FILL, metric_timeseries
    from metrics.engine import Engine
    from metrics.format import maturing_label

    engine = Engine(project)
    day = dt.date
    start, end = day(2026, 1, 1), day(2026, 1, 15)
    assert engine.maturing_periods("activation", start, end, "day") == (
        day(2026, 1, 13),
        day(2026, 1, 14),
        end,
    )
    assert engine.maturing_periods("activation", start, end, "week") == (day(2026, 1, 12),)
    assert engine.maturing_periods("d7", start, end, "day")[0] == day(2026, 1, 9)  # returns on day 7
    assert engine.maturing_periods("mixed", start, end, "day")[0] == start  # w2 needs 7*2+6 days
    assert engine.maturing_periods("signups", start, end, "day") == ()
    assert maturing_label(project, "activation") == "Still maturing: under 3 days to convert"
    assert maturing_label(project, "d7") == "Still maturing: under 7 days to return"
    frame = pl.DataFrame(
        {"period": [start + dt.timedelta(days=i) for i in range(15)], "value": [0.5] * 15},
        schema={"period": pl.Date, "value": pl.Float64},
    )
    fig = metric_timeseries(
        frame,
        label="Activation",
        unit="percent",
        start=start,
        end=end,
        grain="day",
        maturing=engine.maturing_periods("activation", start, end, "day"),
        maturing_label=maturing_label(project, "activation"),
    )
    bands = [s for s in fig.layout.shapes if s.fillcolor == MATURING_FILL]
    assert len(bands) == 1 and bands[0].x0 == dt.datetime(2026, 1, 12, 12)  # half a day before Jan 13
    assert "Still maturing: under 3 days to convert" in [t.name for t in fig.data]


def test_a_range_past_the_data_has_one_sentence() -> None:
    """`northstar compute` and the explorer both say it through `outside_data`."""
    from dashboard.views import explorer
    from metrics.engine.request import outside_data

    first, last = dt.date(2024, 1, 4), dt.date(2024, 6, 30)
    assert outside_data(first, last, first, last) is None
    assert outside_data(dt.date(2024, 2, 1), dt.date(2024, 2, 29), first, last) is None
    before = outside_data(dt.date(2023, 1, 1), dt.date(2023, 1, 31), first, last)
    assert before is not None and before.startswith(
        "no data in Jan 1 – Jan 31, 2023: the data runs from Jan 4"
    )
    assert "after Jun 30, 2024" in (
        outside_data(dt.date(2024, 6, 1), dt.date(2024, 7, 31), first, last) or ""
    )
    both = outside_data(dt.date(2024, 1, 1), dt.date(2024, 7, 1), first, last) or ""
    assert "before Jan 4, 2024 and after Jun 30, 2024" in both
    assert explorer.engine_outside_data is outside_data


def test_ranges_samples_and_link_parameters_have_one_home() -> None:
    """The PM tour found two wordings of each: `174 (174 .. 174)` beside `174 (80%: 174–174)`,
    `out of n = 455` beside `10 of 455 monthly active users`, `metric` = `purchses` beside
    `end=2024-01-01`. Every surface now calls the one home (tests/test_formatting.py and
    tests/test_figures.py check the words); a range past the data is `outside_data`'s in `diff` too."""
    from dashboard import format as dashboard_format
    from dashboard.pack import html
    from dashboard.views import common
    from metrics import format as home
    from metrics.alerts import rules
    from metrics.diff import compare
    from metrics.engine.request import outside_data
    from metrics.okrs import impact, scorecard

    assert dashboard_format.format_forecast is home.format_forecast is scorecard.format_forecast
    assert dashboard_format.sample_words is home.sample_words is scorecard.sample_words is common.sample_words
    assert html.format_with_sample is home.format_with_sample
    assert rules.format_interval is home.format_interval is impact.format_interval
    assert compare.outside_data is outside_data


def test_the_days_a_chart_shows_after_the_checks_as_of() -> None:
    from metrics.quality.flags import unjudged

    day = dt.date
    assert unjudged(day(2013, 11, 15), day(2013, 10, 1), day(2013, 12, 31)) == (
        day(2013, 11, 16),
        day(2013, 12, 31),
    )
    assert unjudged(day(2013, 12, 31), day(2013, 10, 1), day(2013, 12, 31)) is None  # stops on the as-of
    assert unjudged(day(2013, 9, 1), day(2013, 10, 1), day(2013, 12, 31)) == (
        day(2013, 10, 1),
        day(2013, 12, 31),
    )
