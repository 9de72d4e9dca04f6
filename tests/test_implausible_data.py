"""Rows no calendar can place (year 1, 9999-12-31) and a damaged Parquet file: `okrs`, `check`,
`compute` and the OKR page keep working or say in one sentence which source and what to do, and the
checks count such rows."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from metrics.engine import Engine
from metrics.engine.request import MetricRequest
from metrics.load import load_project
from metrics.quality import run_checks
from tests.app_support import APP
from tests.conftest import ROOT
from tests.sql_fixtures import LoadedTable, sql_project

GOOD = [dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i) for i in range(60)]
BAD = [dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59)]
AS_OF = "2026-03-03"


def _project(folder: Path, timezone: str, timestamps: list[dt.datetime]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(
        {"ts": timestamps, "user_id": [f"u{i % 5}" for i in range(len(timestamps))], "event": "open"},
        schema={"ts": pl.Datetime("us"), "user_id": pl.String, "event": pl.String},
    )
    frame.write_parquet(folder / "events.parquet")
    source = {
        "type": "parquet",
        "path": "events.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
    }
    metrics = {
        "opens": {"type": "count", "source": "events"},
        "dau": {"type": "active_users", "source": "events", "window": 1},
    }
    okrs = [
        {
            "id": "grow",
            "objective": "Grow",
            "period": {"start": "2026-03-01", "end": "2026-03-31"},
            "key_results": [{"id": "opens_100", "metric": "opens", "read": "period_to_date", "target": 100}],
        }
    ]
    (folder / "project.yaml").write_text(f"timezone: {timezone}\n")
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(json.dumps({"metrics": metrics}))
    (folder / "okrs.yaml").write_text(json.dumps({"okrs": okrs}))
    return folder


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=180
    )


# Tokyo puts 9999-12-31 23:59 UTC in the year 10000; Los Angeles puts year 1 before year 1.
@pytest.mark.parametrize("timezone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_out_of_range_timestamps_are_counted_not_crashed_on(timezone: str, tmp_path: Path) -> None:
    config = _project(tmp_path / "p", timezone, GOOD + BAD)
    okrs = _cli("okrs", "--config", str(config), "--as-of", AS_OF, "--format", "json")
    assert okrs.returncode == 0, okrs.stderr
    kr = json.loads(okrs.stdout)["objectives"][0]["key_results"][0]
    clean = _cli(
        "okrs",
        "--config",
        str(_project(tmp_path / "clean", timezone, GOOD)),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert kr["current"] == json.loads(clean.stdout)["objectives"][0]["key_results"][0]["current"]

    compute = _cli("compute", "opens", "--config", str(config), "--format", "json")
    assert compute.returncode == 0, compute.stderr
    days = {row["period"] for row in json.loads(compute.stdout)}
    assert min(days) >= "2026-02-28" and max(days) <= "2026-03-04"  # the range is the plausible data

    check = _cli("check", "--config", str(config), "--format", "json")
    assert "Traceback" not in check.stderr and check.returncode == 1, check.stderr
    by_name = {c["check"]: c for c in json.loads(check.stdout)["checks"]}
    assert by_name["timestamp_not_null"]["success"] is False
    # `check` reads the data up to the end of the as-of day: year 1 is in it, 9999-12-31 is not.
    assert by_name["timestamp_not_null"]["unexpected_count"] == 1
    assert "outside the years 1900 to 2199" in by_name["timestamp_not_null"]["details"]


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sql_sources_skip_implausible_rows_in_their_range_and_count_them(kind: str, tmp_path: Path) -> None:
    from tests.engine_fixtures import Row

    rows = [Row(t, f"u{i % 5}", "open", "web") for i, t in enumerate(GOOD + BAD)]
    table = LoadedTable(kind, tmp_path, rows)
    try:
        project = sql_project(
            table.url,
            {"opens": {"type": "count", "source": "events"}},
            {"timezone": "Asia/Tokyo"},
            table=table.table,
        )
        engine = Engine(project)
        assert engine.data_range(["opens"]) == (dt.date(2026, 3, 1), dt.date(2026, 3, 4))
        report = run_checks(project, engine)
        nulls = next(r for r in report.results if r.check == "timestamp_not_null")
        assert not nulls.success and nulls.unexpected_count == len(BAD)
    finally:
        table.close()


def test_the_okr_page_survives_out_of_range_timestamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(_project(tmp_path / "p", "Asia/Tokyo", GOOD + BAD)))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["as_of"] = AS_OF
    at.run()
    for page in ("views/okrs.py", "views/quality.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not [e.value for e in at.error if "page failed" in e.value or "could not run" in e.value]
    tiles = [m.value for m in at.switch_page("views/okrs.py").run().metric if m.label.startswith("Current")]
    assert tiles and all(str(v).replace(",", "").isdigit() for v in tiles), tiles  # read, not "–"


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[6:30] = b"\x7f" * 24  # the first page header: Parquet's thrift cannot read it
    path.write_bytes(bytes(data))


def test_a_damaged_parquet_file_is_one_sentence_with_what_to_do(tmp_path: Path) -> None:
    config = _project(tmp_path / "p", "UTC", GOOD)
    _damage(config / "events.parquet")
    for args in (["compute", "opens", "--start", "2026-03-01", "--end", "2026-03-03"], ["compute", "dau"]):
        run = _cli(*args, "--config", str(config))
        assert run.returncode == 1 and "Traceback" not in run.stderr
        message = run.stderr.strip()
        assert len(message.splitlines()) == 1 and "source 'events'" in message, message
        assert "write it again" in message, message
    okrs = _cli("okrs", "--config", str(config), "--as-of", AS_OF, "--format", "json")
    assert okrs.returncode == 0 and "Traceback" not in okrs.stderr
    check = _cli("check", "--config", str(config), "--format", "json")
    assert check.returncode == 1 and "Traceback" not in check.stderr
    checks = json.loads(check.stdout)["checks"]
    assert [c["check"] for c in checks] == ["readable"] and not checks[0]["success"]
    project = load_project(config)
    with pytest.raises(Exception, match="write it again"):
        Engine(project).compute(MetricRequest(("opens",), start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 2)))
