"""A filter value from the YAML in a column's terms: the one rule both backends apply.

YAML `true` against a text column means the text "true", and "42" against an integer column means
42. The rule is written over the connectors' column kinds (`ColumnKind`): each backend maps its
own column type (a Polars dtype, a SQLAlchemy type) to a kind and asks `filter_literal`.
"""

from __future__ import annotations

from connectors.base import ColumnKind
from metrics.definitions.models import Scalar


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
