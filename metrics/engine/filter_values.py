"""A filter value from the YAML in a column's terms: the one rule both backends apply.

YAML `true` against a text column means the text "true", and "42" against an integer column means
42. The rule is written over the connectors' column kinds (`ColumnKind`): each backend maps its
own column type (a Polars dtype, a SQLAlchemy type) to a kind and asks `filter_test`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

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


def frame_test(column: str, test: FilterTest) -> pl.Expr:
    """`test` on a Polars column (null where the column is null, unless negated: `not` keeps nulls)."""
    literals = test.literals
    match = pl.col(column) == literals[0] if len(literals) == 1 else pl.col(column).is_in(literals)
    return ~match | pl.col(column).is_null() if test.negated else match


# --- rows of a source as stored (its own column names), for the catalog and the data checks ---------


def source_column(key: str, event_column: str | None) -> str:
    """The source's column a filter key names: the event role's column for `event`, else the dimension."""
    return (event_column or key) if key == "event" else key


def frame_rows(
    filters: Mapping[str, FilterValue],
    events: Sequence[str] | None,
    event_column: str | None,
    kinds: Mapping[str, ColumnKind],
) -> pl.Expr | None:
    """A Polars test of the source's own rows: they pass `filters` (keys ANDed; `{not: [...]}` keeps
    nulls) and, unless `events` is None, their event is one of `events`. `kinds`: column -> kind.
    None when every row passes."""
    parts: list[pl.Expr] = []
    for key, value in sorted(filters.items()):
        name = source_column(key, event_column)
        parts.append(frame_test(name, filter_test(value, kinds[name])))
    if events is not None:
        parts.append(pl.col(source_column("event", event_column)).is_in(list(events)))
    return all_of(parts)


def all_of(parts: Sequence[pl.Expr]) -> pl.Expr | None:
    """Rows passing every test (a null is a fail); None for no test, so callers can skip the filter."""
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = out & part
    return out.fill_null(False)


def sql_rows(
    filters: Mapping[str, FilterValue],
    events: Sequence[str] | None,
    event_column: str | None,
    columns: Mapping[str, Any],
    kinds: Mapping[str, ColumnKind],
) -> Any:
    """`frame_rows` as a SQLAlchemy condition on `columns` (name -> column of the FROM clause); None
    when every row passes."""
    import sqlalchemy as sa

    parts: list[Any] = []
    for key, value in sorted(filters.items()):
        name = source_column(key, event_column)
        column = columns[name]
        test = filter_test(value, kinds[name])
        parts.append(
            sa.or_(column.is_(None), column.not_in(test.literals))
            if test.negated
            else column.in_(test.literals)
        )
    if events is not None:
        parts.append(columns[source_column("event", event_column)].in_(list(events)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else sa.and_(*parts)
