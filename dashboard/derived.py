"""Step counts for funnels and offset grids for retention, computed by the engine itself.

The engine answers one number per metric and period: a funnel's conversion, a retention metric's
share retained at its one offset. The pages need more (users reaching every step, retention at
many offsets), so this module derives extra metrics from the PM's definition and lets the same
engine compute them in one pass over the source:

* funnel step k: the same funnel cut to its first k steps (a user who completes k steps in order
  also completes the first k-1, so the counts only fall); users entering: distinct users with a
  step-1 event in the period, which is exactly the funnel's entrants (one per user and period).
  Users reaching step k in a period = entrants x conversion of the k-step funnel.
* retention at offset k: the same retention metric with `offset: k`.

No streamlit here: the review pack can call it too.
"""

from __future__ import annotations

import polars as pl

from metrics.definitions.models import CountDistinctMetric, FunnelMetric, Grain, RetentionMetric
from metrics.engine.request import MetricResult

DAY_OFFSETS = (1, 3, 7, 14, 21, 28)
WEEK_OFFSETS = (1, 2, 3, 4, 5, 6, 8, 12)


def funnel_metrics(funnel_id: str, metric: FunnelMetric) -> dict[str, CountDistinctMetric | FunnelMetric]:
    """Derived metric id -> definition: the entrants count and one prefix funnel per step."""
    out: dict[str, CountDistinctMetric | FunnelMetric] = {
        f"{funnel_id}__entrants": CountDistinctMetric(
            type="count_distinct",
            source=metric.source,
            filter={**metric.filter, "event": metric.steps[0]},
        )
    }
    for k in range(2, len(metric.steps) + 1):
        out[f"{funnel_id}__step{k}"] = metric.model_copy(update={"steps": metric.steps[:k]})
    return out


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
    """Users at each step over the whole range: columns step, step_label, users, [by].

    Per period, users reaching step k = entrants x conversion of the k-step funnel (rounded: the
    product is a whole number up to float error); periods are then added up.
    """
    keys = ["period"] if by is None else ["period", by]
    frame = result.frame
    entrants = frame.filter(pl.col("metric") == f"{funnel_id}__entrants").select(
        *keys, pl.col("value").alias("entrants")
    )
    parts = [entrants.with_columns(pl.lit(1).alias("step"), pl.col("entrants").alias("users"))]
    for k in range(2, len(metric.steps) + 1):
        rate = frame.filter(pl.col("metric") == f"{funnel_id}__step{k}").select(
            *keys, pl.col("value").alias("rate")
        )
        joined = entrants.join(rate, on=keys, how="left", nulls_equal=True)
        parts.append(
            joined.with_columns(
                pl.lit(k).alias("step"),
                (pl.col("entrants") * pl.col("rate").fill_null(0.0)).round(0).alias("users"),
            ).drop("rate")
        )
    stacked = pl.concat([p.select(*keys, "step", "users") for p in parts], how="vertical")
    group = ["step"] if by is None else ["step", by]
    out = stacked.group_by(group).agg(pl.col("users").sum()).sort(group, nulls_last=True)
    labels = pl.DataFrame(
        {"step": list(range(1, len(metric.steps) + 1)), "step_label": list(metric.steps)},
        schema={"step": pl.Int32, "step_label": pl.String},
    )
    return (
        out.with_columns(pl.col("step").cast(pl.Int32))
        .join(labels, on="step", how="left")
        .select("step", "step_label", *([by] if by else []), "users")
    )


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


def latest_cohorts(grid: pl.DataFrame, latest: int = 5) -> pl.DataFrame:
    """The `latest` cohorts of a grid with any mature value, one curve each: series, offset, value."""
    mature = grid.filter(pl.col("value").is_not_null())
    cohorts = sorted(set(mature["cohort"].to_list()))[-latest:]
    lines = [
        mature.filter(pl.col("cohort") == c).select(
            pl.lit(f"Cohort of {c:%b} {c.day}").alias("series"), "offset", "value"
        )
        for c in cohorts
    ]
    if not lines:
        return pl.DataFrame(schema={"series": pl.String, "offset": pl.Int32, "value": pl.Float64})
    return pl.concat(lines, how="vertical")
