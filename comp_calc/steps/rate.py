"""Step 3, rate: base commission = sum over band pieces of piece * rate(product) * tier multiplier.

The first rate rule naming the line's product applies, else the catch-all.
Pieces come from `attainment.band_piece` and are times D (days in period),
so the sum here is `base * D`; the division happens once, at rounding.

Example: pieces 120000 (x0.5) and 20000 (x1.0) of a D=28 line at rate 0.02:
(120000*0.5 + 20000*1.0) * 0.02 = 1600 -> base 1600/28 = 57.142857...
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.attainment import band_piece
from comp_calc.steps.exact import Scales, UnitTypes, dec, div_round


def rate_table(rates: pl.DataFrame, bands: pl.DataFrame, n_bands: int, products: pl.Series, scales: Scales) -> pl.DataFrame:
    """Per plan version and product: `rate` (the product's rule, else the version's catch-all)
    and `rate_x_multiplier_b` = rate * band b's tier multiplier, exact.

    `products` are the distinct products that occur, sorted. The table has one row per
    (pv, product) in that order, so a line's row is `rate_rows`. Eager: a few rows
    per plan version, gathered by position onto the lines (`rate_rows`).
    """
    m = scales.rate + scales.tier_multiplier
    specific = rates.filter(pl.col("product").is_not_null()).select("pv", "product", "rate")
    fallback = rates.filter(pl.col("product").is_null()).select("pv", pl.col("rate").alias("_fallback"))
    return (
        rates.select("pv").unique()
        .join(pl.DataFrame({"product": products}, schema={"product": pl.String}), how="cross")
        .join(specific, on=["pv", "product"], how="left")
        .join(fallback, on="pv", how="left")
        .with_columns(rate=pl.coalesce("rate", "_fallback"))
        .join(bands, on="pv", how="left")
        .select(
            "pv", "product", "rate",
            *[(pl.col("rate").cast(dec(m)) * pl.col(f"multiplier_{b}").cast(dec(m))).alias(f"rate_x_multiplier_{b}") for b in range(n_bands)],
        )  # fmt: skip
        .sort("pv", "product")
    )


def product_code(products: pl.Series) -> pl.Expr:
    """On rows with `product`: its position in `products` (the sorted products of a `rate_table`)."""
    return pl.col("product").cast(pl.Enum(products)).to_physical().cast(pl.Int64)


def rate_rows(pv: pl.Series, code: pl.Series, products: int) -> pl.Series:
    """Row for row with lines whose plan version is `pv` and product `code` (its `product_code`
    among `products` products): their row of the `rate_table` (plan versions are numbered 0, 1,
    ... and every version has a row per product), to gather by position. Eager."""
    return pv * products + code


def base_times_days(bands: int, scales: Scales, types: UnitTypes | None = None) -> pl.Expr:
    """`base_d` = base commission * D, exact: sum over the bands of piece * rate * multiplier.

    Needs the `rate_table` columns and what `attainment.band_piece` needs. `types` (the integer
    path, see `exact.pricing_units`): pieces and `rate_x_multiplier_b` are integer units (of
    `scales.scaled_credit` and `scales.rate + scales.tier_multiplier`); their products, and so
    `base_d`, count units of `scales.base`, the sum of those scales, as `types.products`.
    """
    if types:
        p = types.products
        return pl.sum_horizontal([band_piece(b).cast(p) * pl.col(f"rate_x_multiplier_{b}").cast(p) for b in range(bands)]).cast(p)
    w = scales.base
    terms = [band_piece(b).cast(dec(w)) * pl.col(f"rate_x_multiplier_{b}").cast(dec(w)) for b in range(bands)]
    return pl.sum_horizontal(terms).cast(dec(w))


def base_commission(scales: Scales, days: pl.Expr) -> pl.Expr:
    """The base commission (before quality) from `base_d`, rounded half-even to 6 decimals,
    as statements show it: base_d / D, with `days` the line's D."""
    return div_round(pl.col("base_d"), scales.base, days, 6, "half_even")
