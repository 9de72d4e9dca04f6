"""Step counts for funnels and offset grids for retention, computed by the engine itself.

The engine answers one number per metric and period: a funnel's conversion, a retention metric's
share retained at its one offset. The pages need more (users reaching every step, retention at
many offsets), so this module derives extra metrics from the PM's definition and lets the same
engine compute them in one pass over the source:

* funnel step k: the same funnel cut to its first k steps (a user who completes k steps in order
  also completes the first k-1, so the counts only fall). The engine gives every funnel's entrants
  (its denominator) and converted users (its numerator) by its own rule, the group of a user being
  the value on their first step-1 event: users at step 1 are the funnel's entrants, users at step k
  the k-step funnel's converted users. No count is made here, so a user who entered on two
  platforms is in one group, as in the funnel metric.
* retention at offset k: the same retention metric with `offset: k`.

No streamlit here: the review pack can call it too.
"""

from __future__ import annotations

import polars as pl

from metrics.definitions.models import FunnelMetric, Grain, RetentionMetric
from metrics.engine.request import MetricResult

DAY_OFFSETS = (1, 3, 7, 14, 21, 28)
WEEK_OFFSETS = (1, 2, 3, 4, 5, 6, 8, 12)


def funnel_metrics(funnel_id: str, metric: FunnelMetric) -> dict[str, FunnelMetric]:
    """Derived metric id -> definition: the funnel cut to its first k steps, for 1 < k < all steps
    (the funnel itself gives the entrants and the last step)."""
    return {
        f"{funnel_id}__step{k}": metric.model_copy(update={"steps": metric.steps[:k]})
        for k in range(2, len(metric.steps))
    }


def retention_offsets(metric: RetentionMetric) -> list[int]:
    base = DAY_OFFSETS if metric.period == "day" else WEEK_OFFSETS
    return sorted({*base, metric.offset} - {0} or {metric.offset})


def retention_metrics(retention_id: str, metric: RetentionMetric) -> dict[str, RetentionMetric]:
    return {
        f"{retention_id}__offset{k}": metric.model_copy(update={"offset": k})
        for k in retention_offsets(metric)
    }


def funnel_steps(
    result: MetricResult, funnel_id: str, metric: FunnelMetric, by: str | None = None
) -> pl.DataFrame:
    """Users at each step, periods added up: columns step, step_label, [by], users.

    Step 1: the funnel's entrants (its denominator); step k: the converted users of the funnel cut
    to k steps (its numerator), both as the engine counts them.
    """
    keys = [by] if by else []
    frame = result.frame

    def counts(metric_id: str, column: str, step: int) -> pl.DataFrame:
        rows = frame.filter(pl.col("metric") == metric_id)
        users = pl.col(column).fill_null(0.0).sum().alias("users")
        summed = rows.group_by(keys).agg(users) if keys else rows.select(users)
        return summed.select(pl.lit(step, pl.Int32).alias("step"), *keys, "users")

    last = len(metric.steps)
    parts = [counts(funnel_id, "denominator", 1)]
    parts += [counts(f"{funnel_id}__step{k}", "numerator", k) for k in range(2, last)]
    parts.append(counts(funnel_id, "numerator", last))
    group = ["step", *keys]
    out = pl.concat(parts, how="vertical").sort(group, nulls_last=True)
    labels = pl.DataFrame(
        {"step": list(range(1, last + 1)), "step_label": list(metric.steps)},
        schema={"step": pl.Int32, "step_label": pl.String},
    )
    return out.join(labels, on="step", how="left").select("step", "step_label", *keys, "users")


def retention_grid(
    result: MetricResult, retention_id: str, metric: RetentionMetric, by: str | None = None
) -> pl.DataFrame:
    """Columns cohort (period start), [by], offset, value, numerator, denominator (retained users and
    the cohort): one row per cohort and offset."""
    prefix = f"{retention_id}__offset"
    frame = result.frame.filter(pl.col("metric").str.starts_with(prefix))
    return frame.select(
        pl.col("period").alias("cohort"),
        *([pl.col(by)] if by else []),
        pl.col("metric").str.strip_prefix(prefix).cast(pl.Int32).alias("offset"),
        "value",
        "numerator",
        "denominator",
    ).sort(["cohort", "offset"])


def cohort_grain(grain: Grain) -> Grain:
    """Cohorts by week at day or week grain (daily cohorts make a grid too tall to read)."""
    return "week" if grain in ("day", "week") else grain


CURVE_SCHEMA = {
    "series": pl.String,
    "offset": pl.Int32,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}
CURVE_COLUMNS = tuple(CURVE_SCHEMA)  # a retention curve: its series, and each offset's value with its counts


def latest_cohorts(grid: pl.DataFrame, latest: int = 5) -> pl.DataFrame:
    """The `latest` cohorts of a grid with any mature value, one curve each: series, offset, value,
    numerator, denominator."""
    mature = grid.filter(pl.col("value").is_not_null())
    cohorts = sorted(set(mature["cohort"].to_list()))[-latest:]
    lines = [
        mature.filter(pl.col("cohort") == c).select(
            pl.lit(f"Cohort of {c:%b} {c.day}").alias("series"), *CURVE_COLUMNS[1:]
        )
        for c in cohorts
    ]
    if not lines:
        return pl.DataFrame(schema=CURVE_SCHEMA)
    return pl.concat(lines, how="vertical")
