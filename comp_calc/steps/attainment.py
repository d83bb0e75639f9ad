"""Step 2, attainment: running credit against the prorated quota, split into tier bands.

Per rep and period, credit lines count in order (sold_on, sale_id, role).
The quota is prorated: quota * active_days / days_in_period, and tier band
edges sit at up_to * prorated quota; a band is [lower, upper). To stay exact
without fractions every quantity here is multiplied by days_in_period (D):
the running credit becomes credited * D and an edge up_to * quota * active_days.
A line's piece in a band is its overlap with the band, also times D.

Example (worked in tests/test_engine_rules.py): quota 20000, a rep active 12
of 28 days, tiers up_to 0.5 / 1.0: prorated quota 20000*12/28 = 8571.43...,
edges at 4285.71... and 8571.43...; times D=28 those are 120000 and 240000.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, dec



def running_credit(lines: pl.LazyFrame, scales: Scales) -> pl.LazyFrame:
    """Add `run_from`, `run_to`: the running credit before and after each line, times D."""
    s = scales.scaled_credit
    scaled = pl.col("credited").cast(dec(s)) * pl.col("p_days")
    return (
        lines.sort("line_no")  # attainment order (see credit.credit_lines)
        .with_columns(run_to=scaled.cum_sum().over("rep_id", "p_start"))
        .with_columns(run_from=pl.col("run_to") - scaled)
    )


def band_pieces(lines: pl.LazyFrame, tiers: pl.DataFrame, scales: Scales) -> pl.LazyFrame:
    """One row per (line, band) the line touches: `piece` (times D) and the band's `multiplier`."""
    s = scales.scaled_credit
    quota_days = pl.col("quota").cast(dec(s)) * pl.col("active_days")
    lower = (pl.col("lower").cast(dec(s)) * quota_days).fill_null(pl.lit(0, dtype=dec(s)))
    upper = pl.col("upper").cast(dec(s)) * quota_days  # null: open band
    piece = pl.min_horizontal("run_to", upper) - pl.max_horizontal("run_from", lower)
    return (
        lines.select("line_no", "pv", "quota", "active_days", "run_from", "run_to")
        .join(tiers.lazy().drop("plan", "version"), on="pv")
        .with_columns(piece=piece)
        .filter(pl.col("piece") > 0)
        .select("line_no", "band", "piece", "multiplier")
    )
