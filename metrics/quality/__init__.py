"""Data quality: built-in checks from the column roles, freshness, volume, duplicates, and any Great
Expectations expectation by name. Great Expectations is imported only when an expectation runs or
is validated, never when this package is imported (the dashboard must start fast).
"""

from metrics.quality.checks import cache_size, clear_cache, run_checks
from metrics.quality.report import CheckResult, QualityReport
from metrics.quality.validate import check_columns, validate_checks

__all__ = [
    "CheckResult",
    "QualityReport",
    "cache_size",
    "check_columns",
    "clear_cache",
    "run_checks",
    "validate_checks",
]
