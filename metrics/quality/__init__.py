"""Data quality: built-in checks from the column roles, freshness, volume, duplicates, and any Great
Expectations expectation by name. Great Expectations is imported only when an expectation runs or
is deep-validated (`northstar validate`), never when this package is imported or a project is loaded:
loading checks `expect:` against a checked-in catalog (the dashboard must start fast).
"""

from metrics.quality.checks import cache_size, clear_cache, run_checks, run_checks_as_of
from metrics.quality.clock import CheckClock, quality_clock
from metrics.quality.report import CheckResult, QualityReport
from metrics.quality.validate import check_columns, deep_validate_checks, validate_checks

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
