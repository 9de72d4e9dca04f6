"""Helpers shared by the data-quality tests (no tests here): small projects and event files."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from metrics.definitions.project import Project
from metrics.load import load_project

UTC = dt.UTC
SCHEMA = {
    "ts": pl.Datetime("us"),
    "user_id": pl.String,
    "event": pl.String,
    "platform": pl.String,
    "amount": pl.Float64,
}


def frame(rows: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows of (ts, user_id, event, platform, amount)."""
    return pl.DataFrame([list(r) for r in rows], schema=SCHEMA, orient="row")


def write(data: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        data.write_parquet(path)
    elif path.suffix == ".csv":
        data.write_csv(path)
    else:
        raise ValueError(path)
    return path


def project(
    folder: Path,
    checks: str = "",
    *,
    source: str = "type: parquet\n    path: data/events.parquet",
    columns: str = "{timestamp: ts, user: user_id, event: event}",
    timezone: str = "UTC",
    check_data: bool = True,
) -> Project:
    """A one-source project in `folder` (YAML written to disk so problems carry their places)."""
    folder.mkdir(parents=True, exist_ok=True)
    checks_block = ""
    if checks:
        checks_block = "    checks:\n" + textwrap.indent(textwrap.dedent(checks).strip("\n"), "      ") + "\n"
    (folder / "sources.yaml").write_text(
        "sources:\n"
        "  events:\n"
        f"    {source}\n"
        f"    columns: {columns}\n"
        "    dimensions: [platform]\n" + checks_block
    )
    (folder / "metrics.yaml").write_text("metrics:\n  events: {type: count, source: events}\n")
    (folder / "project.yaml").write_text(f"timezone: {timezone}\n")
    return load_project(folder, check_data=check_data)


def by_check(report: Any) -> dict[str, Any]:
    return {r.check: r for r in report.results}


def daily_rows(
    counts: Sequence[int], first: dt.date, *, hour: int = 12, user: str | None = "u1"
) -> list[tuple[Any, ...]]:
    """`counts[i]` events on day first+i, spread over the minutes after `hour`:00 UTC, each unique."""
    rows: list[tuple[Any, ...]] = []
    for i, count in enumerate(counts):
        day = first + dt.timedelta(days=i)
        for k in range(count):
            ts = dt.datetime(day.year, day.month, day.day, hour) + dt.timedelta(seconds=k)
            rows.append((ts, user, "page_view", "web", float(k)))
    return rows
