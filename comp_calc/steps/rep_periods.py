"""The rep x period grid that the steps fill: every run rep x every computed period.

A rep is active in a period if `start_date <= period end` and `end_date` is empty or
`>= period start` (SPEC section 3); `active_days` counts the period's days inside those
dates (the proration of step 2). Each row carries its plan version's settings (the
version in force at the period's start).

Example: a rep starting 2026-02-17 in February 2026 (28 days): active days
17..28 = 12, active.
"""

from __future__ import annotations

import polars as pl

from comp_calc.periods import Period
from comp_calc.steps.params import PlanTables, attach_version


def grid(reps: pl.LazyFrame, tables: PlanTables, periods: list[Period], kind: str) -> pl.LazyFrame:
    """Every rep on a plan of `kind` x every period of `periods`: `period`, `p_start`, `p_end`,
    `p_days`, `active_days`, `active` and the plan version's columns (null: no version in force).

    `reps` has `rep_id`, `rep_no`, `plan`, `quota`, `start_date`, `end_date` and `line`
    (renamed `rep_line`). Unordered: sort on (rep_no, p_start) before gathering by position.
    """
    period_frame = pl.DataFrame(
        {
            "period": [p.label for p in periods],
            "p_start": [p.start for p in periods],
            "p_end": [p.end for p in periods],
            "p_days": [p.days for p in periods],
        }
    ).lazy()
    run_plans = tables.versions.lazy().filter(pl.col("kind") == kind).select("plan").unique()
    from_day = pl.max_horizontal("start_date", "p_start")
    to_day = pl.min_horizontal(pl.col("end_date").fill_null(pl.col("p_end")), "p_end")
    active_days = pl.when(to_day >= from_day).then((to_day - from_day).dt.total_days() + 1).otherwise(0)
    grid = (
        reps.join(run_plans, on="plan", how="semi")
        .rename({"line": "rep_line"})
        .join(period_frame, how="cross")
        .with_columns(active_days=active_days.cast(pl.Int64))
        .with_columns(active=pl.col("active_days") > 0)
    )
    versions = tables.versions.drop("kind", "ob_channels", "ob_connected_only", "ob_window", "ob_share")
    return attach_version(grid, versions, on="p_start")
