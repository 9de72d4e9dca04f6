"""The dashboard's data-quality report kept between server processes, beside the result store.

The app runs the checks as of the day on screen in a background thread (`dashboard.cache.QualityRunner`):
seconds of CPU at 10M events, on every restart, while the first visitors' pages compete with it for
the two cores. As of a day that is over, the report is a function of the definitions, the data and
that day alone (`metrics.quality.clock`: the data is cut at the day's end and freshness is aged
there, never at the real time), so it is stored under a key (`key_of`, as the engine's answers are)
of exactly those: the definitions' fingerprint, the data's fingerprint (every source's), the day,
the checks' code (`metrics/quality/`, the file connectors) and the versions of Polars, pandas and
Great Expectations. It is not stored as of today (freshness ages with the clock) nor for a SQL or
Spark source (their fingerprint, a row count and newest timestamp, cannot see every change: the
engine stores none of their data ranges either). A damaged entry is passed over and written again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import SqlConnector
from metrics.engine.result_store import key_of
from metrics.quality.clock import quality_clock
from metrics.quality.report import CheckResult, QualityReport

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1


@functools.cache
def _code() -> str:
    digest = hashlib.sha256()
    files = [
        *sorted((ROOT / "metrics" / "quality").glob("*.py")),
        ROOT / "connectors" / "base.py",
        ROOT / "connectors" / "files.py",
        Path(__file__),
    ]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in ("polars", "pandas", "great_expectations"):
        try:
            digest.update(f"{package}={metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=missing\n".encode())
    return digest.hexdigest()


def key(project: Project, engine: Engine, as_of: dt.date | None, data: str) -> str | None:
    """The report's key, or None when it is not stored (see the module's docstring)."""
    if as_of is None or engine.result_store is None or not project.sources:
        return None
    if not quality_clock(project, as_of).past:
        return None
    for name in project.sources:
        try:
            if isinstance(engine.connector(name), SqlConnector):
                return None
        except Exception:  # a source that cannot be opened: the checks report it, every time
            return None
    return key_of(
        {
            "quality_report": FORMAT,
            "quality_code": _code(),
            "definitions": project.fingerprint,
            "sources": sorted(project.sources),
            "data": data,
            "as_of": as_of.isoformat(),
        }
    )


def load(engine: Engine, store_key: str) -> QualityReport | None:
    store = engine.result_store
    document = store.get_json(store_key) if store is not None else None
    if document is None:
        return None
    try:
        return _from_json(document)
    except (KeyError, TypeError, ValueError):
        return None


def save(engine: Engine, store_key: str, report: QualityReport) -> None:
    if engine.result_store is not None:
        engine.result_store.put_json(store_key, _to_json(report))


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _to_json(report: QualityReport) -> dict[str, Any]:
    return {
        "ran_at": _time(report.ran_at),
        "results": [
            {
                "source": r.source,
                "check": r.check,
                "severity": r.severity,
                "success": r.success,
                "unexpected_count": r.unexpected_count,
                "details": r.details,
                "sample": r.sample,  # JSON-ready (`metrics.quality.report.plain`)
                "ran_at": _time(r.ran_at),
                "days": [d.isoformat() for d in r.days],
            }
            for r in report.results
        ],
    }


def _from_json(document: dict[str, Any]) -> QualityReport:
    results = []
    for r in document["results"]:
        if r["severity"] not in ("error", "warn") or not isinstance(r["success"], bool):
            raise ValueError("not a stored check result")
        count = r["unexpected_count"]
        results.append(
            CheckResult(
                source=str(r["source"]),
                check=str(r["check"]),
                severity=r["severity"],
                success=r["success"],
                unexpected_count=None if count is None else int(count),
                details=str(r["details"]),
                sample=list(r["sample"]),
                ran_at=None if r["ran_at"] is None else dt.datetime.fromisoformat(r["ran_at"]),
                days=tuple(dt.date.fromisoformat(d) for d in r["days"]),
            )
        )
    return QualityReport(results=tuple(results), ran_at=dt.datetime.fromisoformat(document["ran_at"]))
