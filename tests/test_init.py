"""`northstar init`: a starter project from a file or a SQL table that validates, computes and serves.

The data is generated here with column names the demo does not use (`occurred_at`, `account_id`,
`action`, `device`); the expected DAU is counted with plain Python from the rows, never by the engine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML

from dashboard.cli import main

ACTIONS = ["open_app", "view_item", "add_to_cart", "purchase"]


def rows(seed: int = 3, users: int = 120, days: int = 20) -> list[dict[str, Any]]:
    """Users who mostly walk open_app -> view_item -> add_to_cart -> purchase, plus noise and
    rows without a user (which are never a user)."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 1)
    out: list[dict[str, Any]] = []
    for u in range(users):
        t = start + dt.timedelta(minutes=rng.randrange(days * 24 * 60 - 2000))
        for action in ACTIONS:
            if rng.random() < 0.85:
                out.append({"occurred_at": t, "account_id": f"acct_{u}", "action": action})
                t += dt.timedelta(minutes=rng.randrange(1, 300))
        for _ in range(rng.randrange(0, 12)):
            when = start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))
            out.append({"occurred_at": when, "account_id": f"acct_{u}", "action": rng.choice(ACTIONS[:2])})
    for _ in range(30):
        when = start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))
        out.append({"occurred_at": when, "account_id": None, "action": "open_app"})
    for row in out:
        row["device"] = rng.choice(["ios", "android", "web"])
    out.sort(key=lambda r: r["occurred_at"])
    return out


def expected_dau(data: list[dict[str, Any]]) -> dict[str, int]:
    users: dict[str, set[str]] = defaultdict(set)
    for row in data:
        if row["account_id"] is not None:
            users[row["occurred_at"].date().isoformat()].add(row["account_id"])
    return {day: len(found) for day, found in users.items()}


def users_on_last_day_window(data: list[dict[str, Any]], window: int) -> int:
    last = max(row["occurred_at"].date() for row in data)
    first = last - dt.timedelta(days=window - 1)
    return len(
        {r["account_id"] for r in data if r["account_id"] and first <= r["occurred_at"].date() <= last}
    )


def write_data(folder: Path, data: list[dict[str, Any]], fmt: str) -> Path:
    frame = pl.DataFrame(data)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        path = folder / "clicks.parquet"
        frame.write_parquet(path)
    elif fmt.startswith("csv"):
        path = folder / "clicks.csv"
        frame.write_csv(path)
    else:
        path = folder / "clicks.ndjson"
        with path.open("w") as out:
            for row in data:
                out.write(json.dumps({**row, "occurred_at": row["occurred_at"].isoformat()}) + "\n")
    if fmt.endswith(".gz"):
        packed = path.with_name(path.name + ".gz")
        packed.write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        path = packed
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def dau_rows(capsys: pytest.CaptureFixture[str], project: Path) -> dict[str, float]:
    code, out, err = cli(capsys, "compute", "dau", "--config", str(project), "--format", "json")
    assert code == 0, err
    return {row["period"]: row["value"] for row in json.loads(out)}


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.mark.parametrize("fmt", ["parquet", "csv", "csv.gz", "ndjson", "ndjson.gz"])
def test_init_then_validate_then_dau_is_distinct_users_per_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    data = rows()
    source = write_data(tmp_path / "data", data, fmt)
    project = tmp_path / "project"
    code, out, err = cli(capsys, "init", str(project), "--from", str(source))
    assert code == 0, err
    assert "timestamp: occurred_at" in out and "user: account_id" in out and "event: action" in out

    sources = load_yaml(project / "sources.yaml")["sources"]["events"]
    assert sources["columns"] == {"timestamp": "occurred_at", "user": "account_id", "event": "action"}
    assert sources["dimensions"] == ["device"]
    assert sources["type"] == fmt.split(".")[0]
    # the data lies outside the project folder, so project.yaml opens its folder
    assert load_yaml(project / "project.yaml")["data_roots"] == ["../data"]

    code, out, err = cli(capsys, "validate", "--config", str(project))
    assert code == 0, out + err

    metrics = load_yaml(project / "metrics.yaml")["metrics"]
    assert metrics["dau"] == {
        "label": "Daily active users",
        "description": "Users with any event that day.",
        "type": "active_users",
        "source": "events",
        "window": 1,
    }
    expected = expected_dau(data)
    got = dau_rows(capsys, project)
    assert {day: value for day, value in got.items() if value} == expected
    assert all(value == expected.get(day, 0) for day, value in got.items())


def test_starter_metrics_fit_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = rows()
    source = write_data(tmp_path, data, "parquet")
    project = tmp_path / "p"
    assert cli(capsys, "init", str(project), "--from", str(source))[0] == 0
    metrics = load_yaml(project / "metrics.yaml")["metrics"]
    counts: dict[str, int] = defaultdict(int)
    for row in data:
        counts[row["action"]] += 1
    for action in counts:  # the four events are the top events, each a count with its filter
        assert metrics[action] == {
            "label": f"{action} events",
            "type": "count",
            "source": "events",
            "filter": {"event": action},
        }
    assert metrics["events"]["type"] == "count" and "filter" not in metrics["events"]
    assert (metrics["wau"]["window"], metrics["mau"]["window"]) == (7, 28)
    funnels = [m for m in metrics.values() if m["type"] == "funnel"]
    assert [f["steps"] for f in funnels] == [["open_app", "view_item", "add_to_cart"]]
    # counts agree with the rows
    code, out, err = cli(
        capsys, "compute", "purchase", "--config", str(project), "--format", "json", "--grain", "month"
    )
    assert code == 0, err
    assert sum(row["value"] for row in json.loads(out)) == counts["purchase"]
    # editors find the schema beside the YAML, outside this repository
    for name in ("project", "sources", "metrics", "okrs"):
        first = (project / f"{name}.yaml").read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=./schema/{name}.schema.json"
        assert (
            json.loads((project / "schema" / f"{name}.schema.json").read_text())["title"]
            == f"Northstar {name}.yaml"
        )
    okrs = (project / "okrs.yaml").read_text()
    assert okrs.count("target:") == okrs.count("set me") - 1 == 2 and "current_quarter" in okrs
    users = len({row["account_id"] for row in data if row["account_id"] is not None})  # 120: twice is 240
    targets = [kr["target"] for kr in load_yaml(project / "okrs.yaml")["okrs"][0]["key_results"]]
    assert targets == [500, 0.5] and users == 120
    code, out, err = cli(capsys, "okrs", "--config", str(project), "--format", "json")
    assert code == 0, err
    scorecard = json.loads(out)["objectives"][0]
    assert scorecard["period"] == {"start": "2026-01-01", "end": "2026-03-31"}  # the data's quarter
    wau = scorecard["key_results"][0]
    assert (wau["metric"], wau["current"]) == ("wau", users_on_last_day_window(data, 7))
    readme = (project / "README.md").read_text()
    assert "set me" in readme and "northstar validate --config ." in readme
    monkeypatch.chdir(project)  # the README's command, run where it says: from the project's folder
    code, out, err = cli(capsys, "validate", "--config", ".")
    assert code == 0, err
    assert "timezone: UTC" in (project / "project.yaml").read_text()  # naive data says no zone


def test_refuses_a_non_empty_folder_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_data(tmp_path / "data", rows(), "parquet")
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    code, _out, err = cli(capsys, "init", str(project), "--from", str(source))
    assert code == 1
    assert err.count("\n") == 1 and "not empty" in err and "--force" in err and "Traceback" not in err
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]
    code, _out, err = cli(capsys, "init", str(project), "--from", str(source), "--force")
    assert code == 0, err
    assert (project / "notes.txt").read_text() == "mine"
    assert cli(capsys, "validate", "--config", str(project))[0] == 0


def test_the_event_column_is_the_most_event_like_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # device_type has fewer values than action, but "action" says event more strongly
    data = [{**row, "device_type": row["device"]} for row in rows()]
    source = write_data(tmp_path / "data", data, "parquet")
    code, _out, err = cli(capsys, "init", str(tmp_path / "p"), "--from", str(source))
    assert code == 0, err
    assert load_yaml(tmp_path / "p" / "sources.yaml")["sources"]["events"]["columns"]["event"] == "action"


def test_overrides_win_over_the_guesses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = [{**row, "seen_at": row["occurred_at"] + dt.timedelta(hours=1)} for row in rows()]
    source = write_data(tmp_path / "data", data, "parquet")
    project = tmp_path / "p"
    code, out, err = cli(
        capsys,
        "init",
        str(project),
        "--from",
        str(source),
        "--timestamp",
        "seen_at",
        "--user",
        "device",
        "--event",
        "action",
        "--dimensions",
        "",
    )
    assert code == 0, err
    assert "timestamp: seen_at (given with --timestamp)" in out
    sources = load_yaml(project / "sources.yaml")["sources"]["events"]
    assert sources["columns"] == {"timestamp": "seen_at", "user": "device", "event": "action"}
    assert sources["dimensions"] == []
    assert cli(capsys, "validate", "--config", str(project))[0] == 0
    code, out, err = cli(capsys, "init", str(tmp_path / "q"), "--from", str(source), "--user", "acount_id")
    assert code == 1 and "--user 'acount_id' is not a column" in err
    code, _out, err = cli(capsys, "init", str(tmp_path / "q"), "--from", str(source), "--timestamp", "device")
    assert code == 1 and "'device' holds string values, not date-times" in err
    assert not (tmp_path / "q").exists()


def test_sql_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = rows()
    database = tmp_path / "warehouse.db"
    with sqlite3.connect(database) as con:
        con.execute("create table clicks (occurred_at timestamp, account_id text, action text, device text)")
        con.executemany(
            "insert into clicks values (?, ?, ?, ?)",
            [(r["occurred_at"].isoformat(sep=" "), r["account_id"], r["action"], r["device"]) for r in data],
        )
    con.close()
    project = tmp_path / "p"
    code, _out, err = cli(
        capsys, "init", str(project), "--from", f"sqlite:///{database}", "--table", "clicks"
    )
    assert code == 0, err
    source = load_yaml(project / "sources.yaml")["sources"]["events"]
    assert (source["type"], source["table"]) == ("sql", "clicks")
    assert source["columns"] == {"timestamp": "occurred_at", "user": "account_id", "event": "action"}
    assert cli(capsys, "validate", "--config", str(project))[0] == 0
    expected = expected_dau(data)
    assert {day: value for day, value in dau_rows(capsys, project).items() if value} == expected
    code, _out, err = cli(capsys, "init", str(tmp_path / "q"), "--from", f"sqlite:///{database}")
    assert code == 1 and "--table" in err


def test_no_event_column_writes_no_event_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = [{k: v for k, v in row.items() if k != "action"} for row in rows()]
    project = tmp_path / "p"
    source = write_data(project, data, "parquet")
    code, out, err = cli(capsys, "init", str(project), "--from", str(source), "--force")
    assert code == 0, err
    assert "event: none" in out
    sources = load_yaml(project / "sources.yaml")["sources"]["events"]
    assert "event" not in sources["columns"] and sources["dimensions"] == ["device"]
    metrics = load_yaml(project / "metrics.yaml")["metrics"]
    # no event column: no event counts or funnels, but first-seen retention needs none
    assert sorted(metrics) == ["d7_retention_first_seen", "dau", "events", "mau", "stickiness", "wau"]
    assert all("filter" not in m and m["type"] != "funnel" for m in metrics.values())
    assert cli(capsys, "validate", "--config", str(project))[0] == 0
    # the data sits in the project folder: no data root is needed
    assert "data_roots" not in load_yaml(project / "project.yaml")
    assert sources["path"] == "clicks.parquet"


def test_an_event_column_with_one_value_is_named_not_denied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A purchases export (the CDNOW tour) has a column `event` that is 'purchase' on every row: init
    leaves it out (it tells no events apart) but names it and the flag that takes it, instead of
    saying there is no event-like column."""
    data = [{**row, "action": "purchase"} for row in rows()]
    project = tmp_path / "p"
    source = write_data(project, data, "parquet")
    code, out, err = cli(capsys, "init", str(project), "--from", str(source), "--force")
    assert code == 0, err
    assert "event: none ('action' holds one value in the sample, 'purchase'" in out
    assert "pass --event action to use it anyway" in out and "no text column" not in out
    assert "event" not in load_yaml(project / "sources.yaml")["sources"]["events"]["columns"]


def test_timestamps_stored_in_utc_are_not_taken_for_the_product_s_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tz-aware UTC column (how the nycflights13 tour's Parquet and every SQL source store time)
    tells how the data was written, not where the product's day ends: init writes UTC but asks for
    the zone, instead of saying the timestamps carry it."""
    frame = pl.DataFrame(rows()).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
    path = tmp_path / "data" / "clicks.parquet"
    path.parent.mkdir()
    frame.write_parquet(path)
    project = tmp_path / "p"
    code, out, err = cli(capsys, "init", str(project), "--from", str(path))
    assert code == 0, err
    assert "time zone: UTC (the timestamps are stored in UTC" in out and "set `timezone:`" in out
    assert "carry it" not in out
    text = (project / "project.yaml").read_text()
    assert "from the data's timestamps" not in text and "set your product's IANA zone" in text
    assert load_yaml(project / "project.yaml")["timezone"] == "UTC"


def test_time_zone_only_when_the_data_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = rows()
    frame = pl.DataFrame(data).with_columns(
        pl.col("occurred_at").dt.replace_time_zone("UTC").dt.convert_time_zone("America/Los_Angeles")
    )
    path = tmp_path / "data" / "clicks.parquet"
    path.parent.mkdir()
    frame.write_parquet(path)
    project = tmp_path / "p"
    assert cli(capsys, "init", str(project), "--from", str(path))[0] == 0
    assert load_yaml(project / "project.yaml")["timezone"] == "America/Los_Angeles"
    assert cli(capsys, "validate", "--config", str(project))[0] == 0
    users: dict[str, set[str]] = defaultdict(set)
    for row in data:
        if row["account_id"] is not None:
            local = row["occurred_at"].replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=-8)))
            users[local.date().isoformat()].add(row["account_id"])  # PST: March 1-7, before DST
    got = dau_rows(capsys, project)
    for day in [d for d in users if d < "2026-03-08"]:
        assert got[day] == len(users[day]), day


def test_missing_data_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(capsys, "init", str(tmp_path / "p"), "--from", str(tmp_path / "nothing.parquet"))
    assert code == 1 and err.count("\n") == 1 and "nothing.parquet" in err
    assert not (tmp_path / "p").exists()


def test_the_dashboard_shows_the_starter_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP

    source = write_data(tmp_path / "data", rows(), "csv")
    project = tmp_path / "p"
    assert cli(capsys, "init", str(project), "--from", str(source))[0] == 0
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(project))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    at.switch_page("views/explorer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Daily active users  (dau)" in at.selectbox(key="w_metric").options
    assert "Device" in at.selectbox(key="w_by").options
    assert at.get("plotly_chart")


@pytest.mark.postgres
def test_a_url_with_a_password_is_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.demo.sql import load_demo
    from tests.conftest import POSTGRES_URL, require_service
    from tests.sql_fixtures import drop_table, unique_table

    require_service("postgres")
    data = rows()
    source = write_data(tmp_path / "data", data, "parquet")
    table = unique_table("init")
    load_demo(source, POSTGRES_URL, table)
    try:
        secret_url = POSTGRES_URL.replace("postgres@", "postgres:hunter2secret@")  # trust: any password
        project = tmp_path / "p"
        code, out, err = cli(capsys, "init", str(project), "--from", secret_url, "--table", table)
        assert code == 0, err
        written = "".join(p.read_text() for p in project.rglob("*") if p.is_file())
        assert "hunter2secret" not in written + out + err
        assert load_yaml(project / "sources.yaml")["sources"]["events"]["url"] == "${NORTHSTAR_SOURCE_URL}"
        assert "NORTHSTAR_SOURCE_URL" in out
        monkeypatch.setenv("NORTHSTAR_SOURCE_URL", secret_url)
        assert cli(capsys, "validate", "--config", str(project))[0] == 0
        got = dau_rows(capsys, project)
        assert {day: value for day, value in got.items() if value} == expected_dau(data)
    finally:
        drop_table(POSTGRES_URL, table)


def test_a_glob_of_files_and_no_event_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = rows()
    half = len(data) // 2
    first = write_data(tmp_path / "data" / "a", data[:half], "parquet")
    second = write_data(tmp_path / "data" / "b", data[half:], "parquet")
    (tmp_path / "data" / "part-1.parquet").write_bytes(first.read_bytes())
    (tmp_path / "data" / "part-2.parquet").write_bytes(second.read_bytes())
    project = tmp_path / "p"
    code, out, err = cli(
        capsys, "init", str(project), "--from", str(tmp_path / "data" / "part-*.parquet"), "--event", ""
    )
    assert code == 0, err
    assert "event: none (--event '')" in out
    source = load_yaml(project / "sources.yaml")["sources"]["events"]
    assert source["path"] == "../data/part-*.parquet" and "event" not in source["columns"]
    assert load_yaml(project / "project.yaml")["data_roots"] == ["../data"]
    assert sorted(load_yaml(project / "metrics.yaml")["metrics"]) == [
        "d7_retention_first_seen",
        "dau",
        "events",
        "mau",
        "stickiness",
        "wau",
    ]
    assert cli(capsys, "validate", "--config", str(project))[0] == 0
    got = dau_rows(capsys, project)
    assert {day: value for day, value in got.items() if value} == expected_dau(data)


def test_retention_on_a_sign_up_event_and_first_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rows()
    firsts: dict[str, dt.datetime] = {}
    for row in data:
        if row["account_id"] is not None:
            firsts.setdefault(row["account_id"], row["occurred_at"])
    data += [
        {"occurred_at": when, "account_id": user, "action": "Sign Up", "device": "web"}
        for user, when in firsts.items()
    ]
    source = write_data(tmp_path, data, "parquet")
    assert cli(capsys, "init", str(tmp_path / "p"), "--from", str(source))[0] == 0
    metrics = load_yaml(tmp_path / "p" / "metrics.yaml")["metrics"]
    assert metrics["d7_retention"]["cohort_event"] == "Sign Up"
    assert (metrics["d7_retention"]["return_event"], metrics["d7_retention"]["offset"]) == ("any", 7)
    assert metrics["d7_retention_first_seen"]["cohort_event"] == "any"  # new users: first seen
    assert cli(capsys, "validate", "--config", str(tmp_path / "p"))[0] == 0


def test_a_folder_that_cannot_be_made_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_data(tmp_path / "data", rows(), "parquet")
    code, _out, err = cli(capsys, "init", str(source / "inside-a-file"), "--from", str(source))
    assert code == 1 and err.startswith("error: cannot write the project into") and err.count("\n") == 1


@pytest.mark.parametrize("cut_short", [False, True])
def test_a_last_day_cut_short_is_flagged_by_the_starter_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut_short: bool
) -> None:
    """The default as-of is the data's last day when the data ended in the past (CONTRACT.md), so an
    export cut off early that day would read as a collapse; the starter's volume check says so."""
    rng = random.Random(11)
    start = dt.datetime(2026, 3, 1)
    data = []
    for day in range(30):
        hours = 3 if cut_short and day == 29 else 24
        for _ in range(200 * hours // 24):
            when = start + dt.timedelta(days=day, minutes=rng.randrange(hours * 60))
            data.append(
                {"occurred_at": when, "account_id": f"acct_{rng.randrange(150)}", "action": "open_app"}
            )
    source = write_data(tmp_path / "data", sorted(data, key=lambda r: r["occurred_at"]), "parquet")
    project = tmp_path / "project"
    code, _, err = cli(capsys, "init", str(project), "--from", str(source))
    assert code == 0, err
    code, out, err = cli(capsys, "check", "--config", str(project), "--format", "json")
    assert code == 0, err
    volume = next(c for c in json.loads(out)["checks"] if c["check"] == "volume")
    assert volume["severity"] == "warn"
    assert volume["success"] is not cut_short
    if cut_short:
        assert "2026-03-30" in json.dumps(volume)


def test_the_dimensions_guess_says_what_it_looked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tour 3 (CDNOW): 'dimensions: basket (3 values) (at most 50 distinct values in the sample)',
    and with no such column 'dimensions: none (at most 50 distinct values in the sample)', which
    reads as if the limit were why there are none. The line says which columns qualify, once."""
    project = tmp_path / "p"
    source = write_data(project, rows(), "parquet")
    code, out, err = cli(capsys, "init", str(project), "--from", str(source), "--force")
    assert code == 0, err
    assert (
        "  dimensions: device (3 values); taken: text, boolean and small integer columns with 2 to 50 " in out
    )
    data = [{k: v for k, v in row.items() if k != "device"} for row in rows()]
    source = write_data(project, data, "parquet")
    code, out, err = cli(capsys, "init", str(project), "--from", str(source), "--force")
    assert code == 0, err
    assert (
        "  dimensions: none (no text, boolean or small integer column has 2 to 50 distinct values in the "
        "sample); pass --dimensions A,B to choose some" in out
    )
