"""Exact comparisons and ratios the alignment metrics and flags share.

Rule comparisons on counts and amounts are cross-multiplied in Decimal, never
divided; ratios are kept with 4 decimals for display.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from comp_calc.steps.exact import dec, lit, scale_of

RATIO = dec(4)
INT = pl.Int64


def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den with 4 decimals (display); null when den is 0."""
    return pl.when(den != 0).then(num.cast(dec(8)) / den.cast(dec(8))).cast(RATIO)


def ge(left: pl.Expr, right: pl.Expr, factor: Decimal, scale: int) -> pl.Expr:
    """left >= factor * right, exactly (`scale` at least the scale of both sides)."""
    s = scale + scale_of(factor)
    return left.cast(dec(s)) >= right.cast(dec(s)) * lit(factor, s)


def lt(left: pl.Expr, right: pl.Expr, factor: Decimal, scale: int) -> pl.Expr:
    """left < factor * right, exactly."""
    return ~ge(left, right, factor, scale)


def median(column: str, scale: int) -> pl.Expr:
    """Exact median of a non-null Decimal column (mean of the two middle values at scale + 1)."""
    v = pl.col(column).drop_nulls().sort()
    n = v.len()
    lo, hi = v.get((n - 1) // 2), v.get(n // 2)
    s = scale + 1
    return (lo.cast(dec(s)) + hi.cast(dec(s))) / pl.lit(2, dtype=dec(s))

