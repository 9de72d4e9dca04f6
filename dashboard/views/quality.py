"""Data quality: every check on every source, its status, what failed, and when it ran."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st

from dashboard.debug import for_viewers
from dashboard.views import common
from dashboard.views.common import Ctx, md

STATUS = {"pass": "Passed", "warn": "Warning", "fail": "Failed"}
STATUS_STYLE = {
    "Passed": "color: #15803D; font-weight: 600",
    "Warning": "color: #B45309; font-weight: 600",
    "Failed": "color: #B91C1C; font-weight: 600",
}
WAIT_SECONDS = 300


def _sample(values: list[Any]) -> str:
    if not values:
        return ""
    text = json.dumps(values[:5], default=str)
    return text if len(text) <= 160 else text[:157] + "…"


def render(ctx: Ctx) -> None:
    common.header(ctx, "Data quality")
    runner = ctx.quality_runner()
    with st.spinner("Running the data checks (Great Expectations)…"):
        report = runner.wait(WAIT_SECONDS)
    if runner.error:
        st.error(f"The data checks could not run: {md(runner.error)}")
        return
    if report is None:
        st.info("The data checks are still running; this page refreshes when they finish.")
        return
    results = report.results
    failed = report.failures
    errors = [r for r in failed if r.severity == "error"]
    cols = st.columns(4)
    cols[0].metric("Checks", f"{len(results)}", border=True)
    cols[1].metric("Passed", f"{len(results) - len(failed)}", border=True)
    cols[2].metric("Failed (error)", f"{len(errors)}", border=True)
    cols[3].metric("Warnings", f"{len(failed) - len(errors)}", border=True)
    took = f" in {runner.seconds:.1f} s" if runner.seconds else ""
    st.caption(f"Checks ran at {report.ran_at:%Y-%m-%d %H:%M} UTC{took}; they re-run when the data changes.")
    if errors:
        from metrics.quality.flags import reach_words

        st.error(
            f"**{len(errors)} error check(s) failed.** {md(reach_words(errors))}",
            icon=":material/report:",
        )
    elif not failed:
        st.success("Every check passed.", icon=":material/check_circle:")
    for source in sorted({r.source for r in results}):
        st.subheader(f"Source `{source}`")
        rows = [
            {
                "Status": STATUS[r.status],
                "Check": r.check,
                "Severity": r.severity,
                "Unexpected": r.unexpected_count,
                "Details": for_viewers(r.details),
                "Days": ", ".join(f"{d:%b} {d.day}" for d in r.days[:5]) + (" …" if len(r.days) > 5 else ""),
                "Sample": _sample(r.sample),
            }
            for r in sorted(
                report.for_source(source),
                key=lambda r: {"fail": 0, "warn": 1, "pass": 2}[r.status],
            )
        ]
        table = pl.DataFrame(rows, infer_schema_length=None).to_pandas()
        # A plain table: every word of the details shows (and prints in a screenshot), nothing scrolls.
        st.table(
            table.style.map(lambda v: STATUS_STYLE.get(v, ""), subset=["Status"])
            .format({"Unexpected": lambda v: "" if v != v or v is None else f"{int(v):,}"})
            .hide(axis="index")
        )


if __name__ == "__main__":
    render(common.context())
