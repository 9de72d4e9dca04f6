"""How the command line prints rows of `compute` and `events`: aligned text columns, or CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Raw numbers, a whole count as an integer (a frame would widen a column of counts and rates to floats)."""
    import csv
    import io

    out = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(key for row in rows for key in row))  # a rate adds its counts
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def rows_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of formatted cells as aligned columns, the last one (the value) right-aligned."""
    if not rows:
        return "(no rows)"
    headers = list(dict.fromkeys(key for row in rows for key in row))  # a rate adds its counts
    from metrics.format import EMPTY

    body = [[EMPTY if row.get(h) is None else str(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append(
            "  ".join(
                c.rjust(w)
                if headers[i] in {"value", "compared_value", "numerator", "denominator"}
                else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)
