"""Data quality: built-in checks from the column roles, freshness, volume, duplicates, and any Great
Expectations expectation by name. Great Expectations is imported only when an expectation runs or
is deep-validated (`northstar validate`), never when this package is imported or a project is loaded:
loading checks `expect:` against a checked-in catalog (the dashboard must start fast).

The names below load their module on first use (PEP 562): loading a project needs only
`validate_checks` and `check_columns`, so `northstar compute` never imports the checks' runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metrics.quality.checks import cache_size, clear_cache, run_checks, run_checks_as_of
    from metrics.quality.clock import CheckClock, quality_clock
    from metrics.quality.report import CheckResult, QualityReport
    from metrics.quality.validate import check_columns, deep_validate_checks, validate_checks

_MODULE_OF = {
    "cache_size": "checks",
    "clear_cache": "checks",
    "run_checks": "checks",
    "run_checks_as_of": "checks",
    "CheckClock": "clock",
    "quality_clock": "clock",
    "CheckResult": "report",
    "QualityReport": "report",
    "check_columns": "validate",
    "deep_validate_checks": "validate",
    "validate_checks": "validate",
}

__all__ = [
    "CheckClock",
    "CheckResult",
    "QualityReport",
    "cache_size",
    "check_columns",
    "clear_cache",
    "deep_validate_checks",
    "quality_clock",
    "run_checks",
    "run_checks_as_of",
    "validate_checks",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"metrics.quality.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
