"""The demo product's data: deterministic, the agreed schema, realistic, and with its documented defects."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib

import polars as pl
import pytest

import metrics.demo.generate as demo
from metrics.demo.generate import DUPLICATED_HOUR_UTC, EVENTS, DemoSummary, ensure_demo, generate_demo

END = dt.date(2026, 6, 30)
SMALL = 30_000
REALISM = 200_000
Frame = tuple[DemoSummary, pl.DataFrame]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Frame:
    summary = generate_demo(tmp_path_factory.mktemp("small"), events=SMALL, seed=7, end=END)
    return summary, pl.read_parquet(summary.path)


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Frame:
    summary = generate_demo(tmp_path_factory.mktemp("realistic"), events=REALISM, seed=11, end=END)
    frame = pl.read_parquet(summary.path).with_columns(pl.col("ts").dt.date().alias("day"))
    return summary, frame


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- determinism, size, schema, range ------------------------------------------------------------


def test_same_seed_and_end_give_identical_data(tmp_path: pathlib.Path, small: Frame) -> None:
    first, frame = small
    again = generate_demo(tmp_path / "again", events=SMALL, seed=7, end=END)
    assert again.rows == first.rows
    assert pl.read_parquet(again.path).equals(frame)
    assert _digest(again.path) == _digest(first.path)


def test_another_seed_gives_other_data(tmp_path: pathlib.Path, small: Frame) -> None:
    other = generate_demo(tmp_path, events=SMALL, seed=8, end=END)
    assert not pl.read_parquet(other.path).equals(small[1])


@pytest.mark.parametrize("events", [5_000, SMALL])
def test_row_count_is_near_the_target(tmp_path: pathlib.Path, events: int) -> None:
    summary = generate_demo(tmp_path, events=events, seed=3, end=END)
    assert abs(summary.rows - events) <= 0.1 * events
    assert pl.scan_parquet(summary.path).select(pl.len()).collect().item() == summary.rows


def test_schema(small: Frame) -> None:
    _, frame = small
    expected: dict[str, pl.DataType] = {
        "ts": pl.Datetime("us"),
        "user_id": pl.String(),
        "event": pl.String(),
        "platform": pl.String(),
        "country": pl.String(),
        "plan": pl.String(),
        "channel": pl.String(),
        "amount": pl.Float64(),
        "load_ms": pl.Float64(),
    }
    assert frame.schema == pl.Schema(expected)
    assert frame["ts"].dtype.time_zone is None  # type: ignore[attr-defined]
    assert set(frame["event"].unique()) == set(EVENTS)
    assert set(frame["platform"].unique()) == {"web", "ios", "android"}
    assert set(frame["plan"].unique()) == {"free", "pro", "team"}
    assert set(frame["channel"].unique()) == {"organic", "paid_search", "social", "referral", "partner"}
    assert set(frame["country"].unique()) == {"US", "GB", "DE", "FR", "IN", "BR", "CA", "JP"}
    assert frame["country"].value_counts(sort=True)["country"][0] == "US"
    for column in ("event", "platform", "country", "plan", "channel", "ts"):
        assert frame[column].null_count() == 0
    assert frame["user_id"].drop_nulls().str.contains(r"^u\d{6,}$").all()


def test_covers_365_days_ending_on_end(small: Frame) -> None:
    summary, frame = small
    assert summary.end == END
    assert summary.start == END - dt.timedelta(days=364)
    days = frame["ts"].dt.date()
    assert days.min() == summary.start
    assert days.max() == END
    assert summary.path.name == "events.parquet"
    assert summary.seconds > 0


def test_default_end_is_today_and_nothing_is_in_the_future(tmp_path: pathlib.Path) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    summary = generate_demo(tmp_path, events=SMALL)
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert summary.end in {before.date(), after.date()}
    newest = pl.read_parquet(summary.path)["ts"].max()
    assert isinstance(newest, dt.datetime)
    assert newest <= before
    assert newest >= before - dt.timedelta(hours=12)  # fresh: the freshness check passes


def test_end_in_the_future_or_no_events_is_refused(tmp_path: pathlib.Path) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    with pytest.raises(ValueError, match="future"):
        generate_demo(tmp_path, events=SMALL, end=tomorrow)
    with pytest.raises(ValueError, match="positive"):
        generate_demo(tmp_path, events=0, end=END)


def test_write_is_atomic_and_replaces(tmp_path: pathlib.Path) -> None:
    generate_demo(tmp_path, events=2_000, seed=1, end=END)
    summary = generate_demo(tmp_path, events=3_000, seed=1, end=END)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.parquet"]
    assert pl.read_parquet(summary.path).height == summary.rows


def test_ensure_demo_generates_only_when_missing(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[pathlib.Path] = []

    def small_demo(out_dir: pathlib.Path) -> DemoSummary:
        calls.append(out_dir)
        return generate_demo(out_dir, events=2_000, end=END)

    monkeypatch.setattr(demo, "generate_demo", small_demo)
    path = ensure_demo(tmp_path)
    assert path == tmp_path / "data" / "demo" / "events.parquet"
    assert path.is_file()
    assert ensure_demo(tmp_path) == path
    assert len(calls) == 1


# --- the documented defects ----------------------------------------------------------------------


def test_defect_dates(small: Frame) -> None:
    summary, _ = small
    assert set(summary.defects) == {"null_user_day", "duplicated_hour", "late_day"}
    for name, days_before in (("null_user_day", 40), ("duplicated_hour", 20), ("late_day", 10)):
        day = summary.defects[name]
        assert END - dt.timedelta(days=days_before + 2) <= day <= END - dt.timedelta(days=days_before)
        assert day.weekday() < 5  # moved back to a Friday when it falls on a weekend
    assert summary.defects["late_day"] == dt.date(2026, 6, 19)  # June 20, 2026 is a Saturday
    assert summary.launches == {
        "ai_summary": END - dt.timedelta(days=45),
        "performance_release": END - dt.timedelta(days=28),
    }


def test_null_user_day(small: Frame) -> None:
    summary, frame = small
    day = summary.defects["null_user_day"]
    nulls = frame.filter(pl.col("user_id").is_null())
    assert nulls.height > 0
    assert set(nulls["ts"].dt.date().unique()) == {day}
    assert nulls.height == frame.filter(pl.col("ts").dt.date() == day).height


def test_duplicated_hour(small: Frame) -> None:
    summary, frame = small
    hour = dt.datetime.combine(summary.defects["duplicated_hour"], dt.time(DUPLICATED_HOUR_UTC))
    copies = frame.group_by(frame.columns).len()
    in_hour = pl.col("ts").is_between(hour, hour + dt.timedelta(hours=1), closed="left")
    assert copies.filter(in_hour).height > 0
    assert (copies.filter(in_hour)["len"] == 2).all()  # every row of that hour exactly twice
    assert (copies.filter(~in_hour)["len"] == 1).all()  # and no other duplicates


def test_late_day_has_a_small_share_of_its_volume(realistic: Frame) -> None:
    summary, frame = realistic
    late = summary.defects["late_day"]
    per_day = frame.group_by("day").len()
    same_weekday = per_day.filter(
        (pl.col("day").dt.weekday() == late.isoweekday())
        & (pl.col("day") != late)
        & (pl.col("day") >= late - dt.timedelta(days=35))
    )
    normal = float(same_weekday["len"].median())  # type: ignore[arg-type]
    arrived = per_day.filter(pl.col("day") == late)["len"].sum()
    assert 0 < arrived < 0.15 * normal


# --- realism that the charts rely on -------------------------------------------------------------


def test_weekday_signups_exceed_weekend(realistic: Frame) -> None:
    _, frame = realistic
    daily = frame.filter(pl.col("event") == "signup").group_by("day").len()
    weekend = pl.col("day").dt.weekday() >= 6
    assert daily.filter(~weekend)["len"].mean() > 1.5 * daily.filter(weekend)["len"].mean()  # type: ignore[operator]


def test_signups_grow_over_the_year(realistic: Frame) -> None:
    summary, frame = realistic
    signups = frame.filter(pl.col("event") == "signup")
    first = signups.filter(pl.col("day") < summary.start + dt.timedelta(days=90)).height
    last = signups.filter(pl.col("day") > summary.end - dt.timedelta(days=90)).height
    assert last > 1.3 * first
    by_channel = signups.group_by("channel").len()
    assert by_channel.height == 5


def test_activation_funnel_drops_at_every_step(realistic: Frame) -> None:
    _, frame = realistic
    reached = (
        frame.filter(pl.col("event") == "signup", pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(pl.col("ts").min().alias("t0"))
        .with_columns(pl.col("t0").alias("t"))
    )
    counts = [reached.height]
    for step in ("create_note", "create_project", "invite_teammate"):
        events = frame.filter(pl.col("event") == step).select("user_id", pl.col("ts").alias("t_next"))
        reached = (
            reached.join(events, on="user_id")
            .filter(pl.col("t_next") >= pl.col("t"), pl.col("t_next") < pl.col("t0") + pl.duration(days=7))
            .group_by("user_id", "t0")
            .agg(pl.col("t_next").min().alias("t"))
        )
        counts.append(reached.height)
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0
    assert 0.03 < counts[3] / counts[0] < 0.3


def test_retention_decays_and_is_better_on_web_and_team(realistic: Frame) -> None:
    summary, frame = realistic
    cohort = (
        frame.filter(pl.col("event") == "signup", pl.col("user_id").is_not_null())
        .sort("ts")
        .group_by("user_id")
        .agg(pl.col("day").first().alias("c"), pl.col("platform").first(), pl.col("plan").first())
        .filter(pl.col("c") <= summary.end - dt.timedelta(days=31))
    )
    active = frame.filter(pl.col("event") == "session_start").select("user_id", "day").unique()

    def retained(offset: int, by: str | None = None) -> dict[str, float]:
        back = active.filter(pl.col("day") >= summary.start).with_columns(
            (pl.col("day") - pl.duration(days=offset)).alias("c"), pl.lit(True).alias("back")
        )
        joined = cohort.join(back.select("user_id", "c", "back"), on=["user_id", "c"], how="left")
        joined = joined.with_columns(pl.col("back").fill_null(False), pl.lit("all").alias("all"))
        rates = joined.group_by(by or "all").agg(pl.col("back").mean())
        return dict(zip(rates[by or "all"].to_list(), rates["back"].to_list(), strict=True))

    d1, d7, d30 = (retained(n)["all"] for n in (1, 7, 30))
    assert d1 > d7 > d30 > 0
    by_platform = retained(7, "platform")
    assert by_platform["web"] > by_platform["android"]
    by_plan = retained(7, "plan")
    assert by_plan["team"] > by_plan["free"]


def test_ai_summary_exists_only_after_launch_and_grows(realistic: Frame) -> None:
    summary, frame = realistic
    launch = summary.launches["ai_summary"]
    ai = frame.filter(pl.col("event") == "use_ai_summary")
    assert ai["ts"].min() >= dt.datetime.combine(launch, dt.time())  # type: ignore[operator]
    first_week = ai.filter(pl.col("day") < launch + dt.timedelta(days=7))["user_id"].n_unique()
    later_week = ai.filter(
        pl.col("day").is_between(launch + dt.timedelta(days=21), launch + dt.timedelta(days=27))
    )["user_id"].n_unique()
    assert later_week > 1.3 * first_week > 0


def test_launch_lifts_daily_active_users(realistic: Frame) -> None:
    summary, frame = realistic
    launch = summary.launches["ai_summary"]
    broken = set(summary.defects.values())
    holidays = (pl.col("day").dt.month() == 12) & (pl.col("day").dt.day() >= 22) | (
        (pl.col("day").dt.month() == 1) & (pl.col("day").dt.day() <= 2)
    )
    dau = (
        frame.filter(pl.col("event") == "session_start", pl.col("day").dt.weekday() <= 5)
        .filter(~pl.col("day").is_in(list(broken)), ~holidays)
        .group_by("day")
        .agg(pl.col("user_id").n_unique().alias("dau"))
    )
    days = dt.timedelta(days=1)
    before = dau.filter(pl.col("day").is_between(launch - 28 * days, launch - days))
    after = dau.filter(pl.col("day").is_between(launch + 14 * days, launch + 35 * days))
    assert after["dau"].mean() > 1.1 * before["dau"].mean()  # type: ignore[operator]


def test_amounts_only_on_purchases_and_positive(small: Frame) -> None:
    _, frame = small
    purchases = frame.filter(pl.col("event") == "purchase")
    assert purchases.height > 0
    assert purchases["amount"].null_count() == 0
    assert (purchases["amount"] > 0).all()
    assert (purchases["amount"] <= 10_000).all()
    assert set(purchases["plan"].unique()) <= {"pro", "team"}
    others = frame.filter(pl.col("event") != "purchase")
    assert others["amount"].null_count() == others.height


def test_load_times_only_on_page_views_and_faster_after_release(realistic: Frame) -> None:
    summary, frame = realistic
    views = frame.filter(pl.col("event") == "page_view")
    assert views["load_ms"].null_count() == 0
    assert (views["load_ms"] > 0).all()
    others = frame.filter(pl.col("event") != "page_view")
    assert others["load_ms"].null_count() == others.height
    release = summary.launches["performance_release"]
    p90 = views.group_by(pl.col("day") >= release).agg(pl.col("load_ms").quantile(0.9))
    before, after = (p90.filter(pl.col("day") == flag)["load_ms"].item() for flag in (False, True))
    assert after < 0.85 * before
    by_platform = views.group_by("platform").agg(pl.col("load_ms").median())
    slow = dict(zip(by_platform["platform"].to_list(), by_platform["load_ms"].to_list(), strict=True))
    assert slow["android"] > slow["web"]


def test_some_users_have_events_before_signup_and_some_sign_up_twice(
    realistic: Frame,
) -> None:
    _, frame = realistic
    signups = frame.filter(pl.col("event") == "signup", pl.col("user_id").is_not_null())
    first = signups.group_by("user_id").agg(pl.col("ts").min().alias("t0"), pl.len().alias("signups"))
    early = frame.join(first, on="user_id").filter(pl.col("ts") < pl.col("t0"))
    # Anonymous browsing that was identified at sign-up: page views in the hours before it.
    browsing = early.filter(
        pl.col("event") == "page_view", pl.col("ts") > pl.col("t0") - pl.duration(hours=3)
    )
    assert browsing["user_id"].n_unique() > 0.05 * first.height
    assert browsing.height > 0.9 * early.height
    twice = first.filter(pl.col("signups") == 2).height
    assert 0 < twice < 0.05 * first.height


def test_upgrade_once_per_user_and_changes_the_plan(realistic: Frame) -> None:
    _, frame = realistic
    frame = frame.unique()  # the duplicated hour may hold an upgrade
    upgrades = frame.filter(pl.col("event") == "upgrade", pl.col("user_id").is_not_null())
    assert upgrades.height > 0
    assert upgrades["user_id"].n_unique() == upgrades.height
    assert set(upgrades["plan"].unique()) <= {"pro", "team"}
    after = frame.join(upgrades.select("user_id", pl.col("ts").alias("t_up")), on="user_id").filter(
        pl.col("ts") >= pl.col("t_up")
    )
    assert (after["plan"] != "free").all()
