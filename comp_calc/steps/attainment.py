"""Step 2, attainment: running credit against the prorated quota, split into tier bands.

Per rep and period, credit lines count in order (sold_on, sale_id, role).
The quota is prorated: quota * active_days / days_in_period, and tier band
edges sit at up_to * prorated quota; a band is [lower, upper). To stay exact
without fractions every quantity here is multiplied by days_in_period (D):
the running credit becomes credited * D and an edge up_to * quota * active_days.
A line's piece in a band is its overlap with the band, also times D.

Plans have a handful of bands, so each band is a column (`params.wide_by_version`,
edges by `band_edges`) and a line's pieces are computed side by side on the line's own
row: no line is exploded into one row per band.

Example (worked in tests/test_engine_rules.py): quota 20000, a rep active 12
of 28 days, tiers up_to 0.5 / 1.0: prorated quota 20000*12/28 = 8571.43...,
edges at 4285.71... and 8571.43...; times D=28 those are 120000 and 240000.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, dec


def running_credit(lines: pl.LazyFrame, scales: Scales, rep_period: str) -> pl.LazyFrame:
    """Add `run_from`, `run_to`: the running credit before and after each line, times D.

    `lines` must be in line_no (attainment) order; a window over `rep_period` (one
    integer per rep and period) keeps that order within each rep and period.
    """
    s = scales.scaled_credit
    scaled = pl.col("credited").cast(dec(s)) * pl.col("p_days")
    return lines.with_columns(run_to=scaled.cum_sum().over(rep_period)).with_columns(
        run_from=pl.col("run_to") - scaled
    )


def band_edges(bands: int, scales: Scales) -> list[pl.Expr]:
    """On rep-period rows with `quota`, `active_days` and the band columns (`lower_b`,
    `upper_b`, `multiplier_b` of `params.wide_by_version`): each band's edges times D,
    `lo_b` and `hi_b` (null: open band). `lo_b` is null for a band the version lacks.

    Computed once per rep and period, not per line.
    """
    s = scales.scaled_credit
    quota_days = pl.col("quota").cast(dec(s)) * pl.col("active_days")
    edges = []
    for b in range(bands):
        lower = (pl.col(f"lower_{b}").cast(dec(s)) * quota_days).fill_null(pl.lit(0, dtype=dec(s)))
        edges.append(pl.when(pl.col(f"multiplier_{b}").is_not_null()).then(lower).alias(f"lo_{b}"))
        edges.append((pl.col(f"upper_{b}").cast(dec(s)) * quota_days).alias(f"hi_{b}"))
    return edges


def band_piece(b: int) -> pl.Expr:
    """The line's piece (times D) in band b, null when the line does not reach into it.

    Needs run_from, run_to and the band's edges `lo_b`, `hi_b` (see `band_edges`).
    """
    piece = pl.min_horizontal("run_to", f"hi_{b}") - pl.max_horizontal("run_from", f"lo_{b}")  # min ignores an open edge
    return pl.when(pl.col(f"lo_{b}").is_not_null() & (piece > 0)).then(piece)
