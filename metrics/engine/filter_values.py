"""A filter value from the YAML in a column's terms: the one rule both backends apply.

YAML `true` against a text column means the text "true", and "42" against an integer column means
42. The rule is written over the connectors' column kinds (`ColumnKind`): each backend maps its
own column type (a Polars dtype, a SQLAlchemy type) to a kind and asks `filter_test`.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import ColumnKind
from metrics.definitions.models import FilterValue, Scalar, filter_values


def filter_literal(value: Scalar, kind: ColumnKind) -> Scalar:
    """`value` as the column compares it: text for a text column, a number for a numeric one when it
    reads as one; anything else unchanged."""
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind in ("integer", "float") and isinstance(value, str):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return value
    return value


@dataclass(frozen=True)
class FilterTest:
    """One filter key's test on a column: the value is one of `literals`, or with `negated` none of
    them, and then a null value passes too (CONTRACT.md: `not` keeps nulls; SQL's NOT IN would not)."""

    literals: list[Scalar]
    negated: bool


def filter_test(value: FilterValue, kind: ColumnKind) -> FilterTest:
    """`value` from the YAML (a value, a list, or `{not: ...}`) as a test on a column of `kind`."""
    named, negated = filter_values(value)
    return FilterTest([filter_literal(v, kind) for v in named], negated)
