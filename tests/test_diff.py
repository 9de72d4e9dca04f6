"""`northstar diff` on real git history: a narrowed filter, a rename, a label edit, a broken head.

Each test commits the demo project to a temporary repository, edits it as a pull request would,
and reads the report. Numbers are checked against Polars directly on the parquet file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.diff_report import sparklines
from metrics.demo.generate import generate_demo

REPO = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 29)  # a Sunday: the week Nov 23-29 is the last complete week
END = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("diffdata") / "data" / "demo"
    generate_demo(folder, events=40_000, seed=11, end=END)
    return folder


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=pm@example.com", "-c", "user.name=PM", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, demo_data: Path) -> Path:
    """A repository whose first commit is the shipped demo project; its data beside it (untracked)."""
    root = tmp_path / "product"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(demo_data, root / "data" / "demo")
    (root / ".gitignore").write_text("data/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "config", ".gitignore")
    git(root, "commit", "-q", "-m", "metrics as they are")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))  # the first occurrence: the first metric written so


def run(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["diff", "--config", str(repo / "config"), "--as-of", AS_OF.isoformat(), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, repo, "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def by_metric(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["metric"]: m for m in report["metrics"]}


def berlin_users_on(data: Path, day: dt.date, event: str, platforms: list[str] | None) -> int:
    """Distinct users with `event` on one Berlin-local day: dau's value on that day (window 1)."""
    rows = pl.read_parquet(data / "events.parquet")
    local = pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin").dt.date()
    rows = rows.filter((local == day) & (pl.col("event") == event) & pl.col("user_id").is_not_null())
    if platforms is not None:
        rows = rows.filter(pl.col("platform").is_in(platforms))
    return rows["user_id"].n_unique()


def berlin_rows(data: Path, first: dt.date, last: dt.date, event: str) -> int:
    """Rows of `event` on Berlin-local days first .. last: a count metric over that span."""
    rows = pl.read_parquet(data / "events.parquet")
    local = pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin").dt.date()
    return rows.filter(local.is_between(first, last) & (pl.col("event") == event)).height


NARROW_DAU = ("filter: {event: session_start}", "filter: {event: session_start, platform: [ios, android]}")
NARROW_WRITERS = ("filter: {event: create_note}", "filter: {event: create_note, platform: ios}")


def test_narrowed_filter_moves_its_metric_the_ratio_over_it_and_the_key_result(
    capsys: pytest.CaptureFixture[str], repo: Path, demo_data: Path
) -> None:
    metrics_yaml = repo / "config" / "metrics.yaml"
    edit(metrics_yaml, *NARROW_DAU)
    edit(metrics_yaml, *NARROW_WRITERS)
    report = as_json(capsys, repo, "--base", "main")
    metrics = by_metric(report)
    assert {"dau", "stickiness", "weekly_active_writers"} <= set(metrics)
    dau = metrics["dau"]
    assert dau["change"] == "changed" and dau["numbers_changed"]
    assert dau["reasons"] == ["filter"]
    # the 28 days ending on the as-of, read as one period: active users read its last day
    assert dau["base"] == berlin_users_on(demo_data, AS_OF, "session_start", None)
    assert dau["head"] == berlin_users_on(demo_data, AS_OF, "session_start", ["ios", "android"])
    assert dau["head"] < dau["base"]
    # the last complete quarter (Q3) as one period: active users read its last day
    quarter_end = dt.date(2026, 9, 30)
    assert dau["spans"]["quarter"] == {"start": "2026-07-01", "end": quarter_end.isoformat()}
    assert dau["base_numbers"]["quarter"] == berlin_users_on(demo_data, quarter_end, "session_start", None)
    assert dau["head_numbers"]["quarter"] == berlin_users_on(
        demo_data, quarter_end, "session_start", ["ios", "android"]
    )
    assert metrics["stickiness"]["reasons"] == ["numerator dau"]
    assert metrics["stickiness"]["head"] < metrics["stickiness"]["base"]
    assert "signups" not in metrics  # untouched metrics are not in the report
    krs = {kr["id"]: kr for kr in report["key_results"]}
    assert set(krs) == {"writers_1300"}  # the only KR on a changed metric
    writers = krs["writers_1300"]
    assert writers["head"]["current"] < writers["base"]["current"]
    assert writers["status_changed"] == (writers["base"]["status"] != writers["head"]["status"])
    assert writers["head"]["status"] == "off_track"

    code, markdown, _ = run(capsys, repo, "--base", "main")
    assert code == 0
    assert "| Daily active users `dau` | filter changed |" in markdown
    assert f"{dau['base']} → {dau['head']}" in markdown
    if writers["status_changed"]:
        assert "**" in markdown.split("### Key results")[1].split("\n\n")[1]
    code, _, _ = run(capsys, repo, "--base", "main", "--fail-on", "any-change")
    assert code == 3
    code, _, _ = run(capsys, repo, "--base", "main", "--fail-on", "status-change")
    assert code == (3 if writers["status_changed"] else 0)


def test_a_status_flip_is_bold_and_trips_the_status_gate(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    # a target the current numbers easily meet, then a filter that reads almost nothing
    okrs = repo / "config" / "okrs.yaml"
    text = okrs.read_text()
    start = text.index("- id: writers_1300")
    block = text[start : text.index("weight: 2", start)]
    okrs.write_text(
        text.replace(
            block, block.replace("baseline: 1000", "baseline: 0").replace("target: 1300", "target: 1")
        )
    )
    git(repo, "commit", "-qam", "an easy target")
    edit(
        repo / "config" / "metrics.yaml",
        "filter: {event: create_note}",
        "filter: {event: create_note, platform: [tv]}",
    )
    report = as_json(capsys, repo, "--base", "main")
    writers = next(kr for kr in report["key_results"] if kr["id"] == "writers_1300")
    assert writers["base"]["status"] in ("on_track", "achieved")
    assert writers["head"]["current"] == 0
    assert writers["head"]["status"] != writers["base"]["status"]
    assert writers["status_changed"] and report["status_changes"] == 1
    code, markdown, _ = run(capsys, repo, "--base", "main", "--fail-on", "status-change")
    assert code == 3
    row = next(line for line in markdown.splitlines() if "`writers_1300`" in line)
    assert row.rstrip(" |").endswith("**") and " → " in row


def test_a_rename_is_one_renamed_metric_with_the_same_numbers(
    capsys: pytest.CaptureFixture[str], repo: Path, demo_data: Path
) -> None:
    config = repo / "config"
    edit(config / "metrics.yaml", "\n  signups:\n", "\n  new_signups:\n")
    edit(config / "metrics.yaml", "denominator: signups\n", "denominator: new_signups\n")
    edit(config / "okrs.yaml", "metric: signups\n", "metric: new_signups\n")
    edit(
        config / "project.yaml",
        "pinned_metrics: [weekly_active_writers, signups,",
        "pinned_metrics: [weekly_active_writers, new_signups,",
    )
    git(repo, "commit", "-qam", "rename signups")
    report = as_json(capsys, repo, "--base", "HEAD~1", "--head", "HEAD")
    assert report["head"]["commit"] == git(repo, "rev-parse", "HEAD")
    rows = {(m["metric"], m["change"]): m for m in report["metrics"]}
    removed, added = rows[("signups", "removed")], rows[("new_signups", "added")]
    assert removed["renamed_to"] == "new_signups" and added["renamed_from"] == "signups"
    assert removed["base"] == added["head"] and added["head"] is not None
    # a count over the 28 days ending on the as-of, and over the last complete week, from the file
    first = AS_OF - dt.timedelta(days=27)
    assert added["head"] == berlin_rows(demo_data, first, AS_OF, "signup")
    week = added["head_numbers"]["week"]
    assert week == berlin_rows(demo_data, dt.date(2026, 11, 23), AS_OF, "signup")
    # the ratio over it is rewritten, not changed: same numbers
    conversion = rows[("conversion_to_paid", "changed")]
    assert conversion["numbers_changed"] is False and conversion["base"] == conversion["head"]
    assert all(not kr["status_changed"] for kr in report["key_results"])
    assert report["pinned_changed"] == [{"metric": "new_signups", "change": "renamed from signups"}]
    code, markdown, _ = run(capsys, repo, "--base", "HEAD~1", "--head", "HEAD")
    assert "renamed from `signups`" in markdown
    assert "1 metric renamed" in markdown
    code, _, _ = run(capsys, repo, "--base", "HEAD~1", "--head", "HEAD", "--fail-on", "status-change")
    assert code == 0


def test_a_ratio_reads_in_the_unit_every_surface_shows_it_in(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """A ratio left at its default unit is a percentage in `compute`, the dashboard and the pack,
    so in the PR comment too (it read `0.05 -> 0.04` here); `unit: count` reads as a number."""
    from metrics.format import format_value, metric_unit
    from metrics.load import load_project

    metrics_yaml = repo / "config" / "metrics.yaml"
    edit(metrics_yaml, "    denominator: mau\n    unit: percent\n", "    denominator: mau\n")
    git(repo, "commit", "-qam", "stickiness at the default unit")
    edit(metrics_yaml, *NARROW_DAU)
    report = as_json(capsys, repo, "--base", "main")
    stickiness = by_metric(report)["stickiness"]
    project = load_project(repo / "config")
    assert metric_unit(project, "stickiness") == "ratio"
    shown = [format_value(stickiness[side], "ratio") for side in ("base", "head")]
    assert all(text.endswith("%") for text in shown)
    code, markdown, _ = run(capsys, repo, "--base", "main")
    assert code == 0
    row = next(line for line in markdown.splitlines() if "`stickiness`" in line)
    assert f"{shown[0]} → {shown[1]}" in row and " pp)" in row


def test_a_label_edit_changes_no_number(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    edit(repo / "config" / "metrics.yaml", "label: Sign-ups", "label: New accounts")
    report = as_json(capsys, repo, "--base", "main")
    assert [(m["metric"], m["change"], m["numbers_changed"], m["fields"]) for m in report["metrics"]] == [
        ("signups", "changed", False, ["label"])
    ]
    assert report["key_results"] == [] and report["numbers_changed"] is False
    code, markdown, _ = run(capsys, repo, "--base", "main", "--fail-on", "any-change")
    assert code == 0
    assert "### Metrics" not in markdown and "### Key results" not in markdown
    assert "`signups`: label edited only — its numbers do not change." in markdown


def test_nothing_changed(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    code, markdown, _ = run(capsys, repo, "--base", "main", "--fail-on", "any-change")
    assert code == 0
    assert "No metric, key result or check changes its definition." in markdown


def test_a_broken_head_lists_its_problems_where_they_are(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    edit(
        repo / "config" / "metrics.yaml",
        "filter: {event: session_start}",
        "filter: {event: session_start, platfrom: ios}",
    )
    report = as_json(capsys, repo, "--base", "main")
    dau = by_metric(report)["dau"]
    assert dau["change"] == "changed" and dau["head"] is None and dau["base"] is not None
    assert any("metrics.yaml:" in p and "platfrom" in p for p in report["problems"])
    code, markdown, _ = run(capsys, repo, "--base", "main", "--fail-on", "any-change")
    assert code == 3
    assert "### Problems in the new version" in markdown


def test_a_changed_check_is_named(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    sources = repo / "config" / "sources.yaml"
    sources.write_text(sources.read_text() + "# a comment changes nothing\n")
    assert as_json(capsys, repo, "--base", "main")["checks_changed"] == []
    git(repo, "checkout", "--", "config/sources.yaml")
    edit(sources, "warn_after: 24h", "warn_after: 12h")
    report = as_json(capsys, repo, "--base", "main")
    assert report["checks_changed"] == ["events"] and report["metrics"] == []
    _, markdown, _ = run(capsys, repo, "--base", "main")
    assert "- The data checks on source `events` changed." in markdown


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--base", "no-such-branch"], "unknown git revision 'no-such-branch'"),
        (["--base", "--upload-pack=touch /tmp/x"], "unknown git revision"),
        (["--base", "main", "--as-of", "2026-13-01"], "--as-of '2026-13-01' is not a date"),
    ],
)
def test_bad_input_is_one_sentence(
    capsys: pytest.CaptureFixture[str], repo: Path, args: list[str], needle: str
) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", "--config", str(repo / "config"), *args])
    _, err = capsys.readouterr()
    assert exit_info.value.code in (1, 2)
    assert needle in err and "Traceback" not in err


def test_outside_a_repository(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", "--config", str(tmp_path / "config"), "--base", "main"])
    assert exit_info.value.code == 1
    assert "is not inside a git repository" in capsys.readouterr().err


def test_sparklines_share_one_scale() -> None:
    base, head = sparklines([0.0, 5.0, 10.0], [10.0, None, 0.0])
    assert base == "▁▅█" and head == "█·▁"
    assert sparklines([3.0, 3.0], [3.0]) == ("▅▅", "▅")  # a flat series sits mid-height


def rows_in(data: Path, zone: str, first: dt.date, last: dt.date, event: str) -> int:
    """Rows of `event` on days first .. last of a time zone: a count metric over that span."""
    rows = pl.read_parquet(data / "events.parquet")
    local = pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.date()
    return rows.filter(local.is_between(first, last) & (pl.col("event") == event)).height


def local_days(data: Path, zone: str) -> tuple[dt.date, dt.date]:
    """The data's first and last day in a time zone."""
    ts = pl.read_parquet(data / "events.parquet")["ts"].dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
    return ts.min().date(), ts.max().date()  # type: ignore[union-attr]


def test_a_calendar_change_labels_each_number_with_its_own_span_and_says_where_a_side_has_no_data(
    capsys: pytest.CaptureFixture[str], repo: Path, demo_data: Path
) -> None:
    """The tour (UTC -> Asia/Tokyo, week_start -> sunday) read both sides as of the head's default
    as-of, a day with no data in the base's calendar ("Daily active users 0 -> 10 (new)"), and put
    the base's Monday week and the head's Sunday week under one "Last complete week" heading."""
    from metrics.engine.request import outside_data
    from metrics.format import format_range

    base_zone, zone = "America/Los_Angeles", "Pacific/Kiritimati"  # UTC-8 and UTC+14
    edit(repo / "config" / "project.yaml", "timezone: Europe/Berlin", f"timezone: {base_zone}")
    git(repo, "commit", "-qam", "Los Angeles")
    edit(repo / "config" / "project.yaml", f"timezone: {base_zone}", f"timezone: {zone}")
    edit(repo / "config" / "project.yaml", "week_start: monday", "week_start: sunday")
    base_first, base_last = local_days(demo_data, base_zone)
    head_last = local_days(demo_data, zone)[1]
    assert head_last > base_last  # the premise: the head's default as-of has no data in Los Angeles
    capsys.readouterr()
    main(["diff", "--config", str(repo / "config"), "--base", "HEAD", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    as_of = dt.date.fromisoformat(report["as_of"])
    assert as_of == head_last  # the head's default, shared by both sides (CONTRACT.md: one as-of)
    assert report["calendar"]["base"]["timezone"] == base_zone
    assert report["calendar"]["head"] == {"timezone": zone, "week_start": "sunday", "fiscal_year_start": 1}
    metrics = by_metric(report)
    dau, signups = metrics["dau"], metrics["signups"]
    assert dau["reasons"] == ["calendar settings"]
    # (a) the base reads a day after its data ends: it says so, in `outside_data`'s words
    window = dt.date.fromisoformat(dau["base_spans"]["window"]["start"]), as_of
    gap = dau["outside_data"]["base"]
    assert gap["sentence"] == outside_data(*window, base_first, base_last) and "window" in gap["numbers"]
    assert dau["outside_data"]["head"] is None
    # (b) each side's last complete week on its own calendar, and each number read over its own
    base_week = {k: dt.date.fromisoformat(v) for k, v in signups["base_spans"]["week"].items()}
    head_week = {k: dt.date.fromisoformat(v) for k, v in signups["head_spans"]["week"].items()}
    assert base_week["start"].weekday() == 0 and head_week["start"].weekday() == 6  # Monday; Sunday
    assert base_week != head_week
    assert signups["base_numbers"]["week"] == rows_in(
        demo_data, base_zone, base_week["start"], base_week["end"], "signup"
    )
    assert signups["head_numbers"]["week"] == rows_in(
        demo_data, zone, head_week["start"], head_week["end"], "signup"
    )

    code, markdown, _ = run_without_as_of(capsys, repo)
    assert code == 0
    heading = (
        f"Last complete week (base {format_range(base_week['start'], base_week['end'])}; "
        f"head {format_range(head_week['start'], head_week['end'])})"
    )
    assert heading in markdown, markdown
    assert "time zone America/Los_Angeles → Pacific/Kiritimati, weeks from Monday → Sunday" in markdown
    row = next(line for line in markdown.splitlines() if "`dau`" in line and line.startswith("| "))
    assert "(new)" not in row and "†" in row, row  # no silent 0 read as a change
    spans = (
        f"({base_week['start']:%b} {base_week['start'].day} – {base_week['end']:%b} {base_week['end'].day})"
    )
    assert spans in next(
        line for line in markdown.splitlines() if "`signups`" in line and line.startswith("| ")
    )
    assert "- † base (" in markdown and outside_data(*window, base_first, base_last) in markdown


def run_without_as_of(capsys: pytest.CaptureFixture[str], repo: Path) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["diff", "--config", str(repo / "config"), "--base", "HEAD"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
