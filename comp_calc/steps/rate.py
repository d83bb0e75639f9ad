"""Step 3, rate: base commission = sum over band pieces of piece * rate(product) * tier multiplier.

The first rate rule naming the line's product applies, else the catch-all.
Pieces come from `attainment.band_pieces` and are times D (days in period),
so the sum here is `base * D`; the division happens once, at rounding.

Example: pieces 120000 (x0.5) and 20000 (x1.0) of a D=28 line at rate 0.02:
(120000*0.5 + 20000*1.0) * 0.02 = 1600 -> base 1600/28 = 57.142857...
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, dec, plain_text


def line_rates(lines: pl.LazyFrame, rates: pl.DataFrame) -> pl.LazyFrame:
    """Add `rate`: the product's rule, else the plan version's catch-all."""
    specific = rates.lazy().filter(pl.col("product").is_not_null()).select("pv", "product", "rate")
    fallback = rates.lazy().filter(pl.col("product").is_null()).select("pv", pl.col("rate").alias("_fallback"))
    return (
        lines.join(specific, on=["pv", "product"], how="left")
        .join(fallback, on="pv", how="left")
        .with_columns(rate=pl.coalesce("rate", "_fallback"))
        .drop("_fallback")
    )


def base_times_days(pieces: pl.LazyFrame, lines: pl.LazyFrame, scales: Scales) -> pl.LazyFrame:
    """Per line (line_no): `base_d` = base commission * D, exact."""
    w = scales.base
    value = pl.col("piece").cast(dec(w)) * pl.col("rate").cast(dec(w)) * pl.col("multiplier").cast(dec(w))
    return (
        pieces.join(lines.select("line_no", "rate"), on="line_no")
        .group_by("line_no")
        .agg(base_d=value.sum())
    )


def tiers_text(pieces: pl.LazyFrame, lines: pl.LazyFrame, scales: Scales) -> pl.LazyFrame:
    """Per line_no of `lines` (which has p_days): "multiplier@piece|..." by band, pieces shown to cents.

    Display only, so it is built for the lines that are written, not for every computed period.
    """
    shown_piece = (pl.col("piece").cast(dec(scales.scaled_credit + 6)) / pl.col("p_days")).round(2).cast(dec(2))
    label = pl.format("{}@{}", plain_text(pl.col("multiplier"), scales.tier_multiplier), shown_piece)
    return (
        pieces.join(lines.select("line_no", "p_days"), on="line_no")
        .group_by("line_no")
        .agg(tiers=label.sort_by("band").str.join("|"))
    )
