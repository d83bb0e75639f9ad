"""Step 5, cap: if a period's line commissions exceed `cap`, add a cap line of cap - earned.

earned is the sum of the period's rounded line commissions (`earned`). Applies only
when earned is strictly above the cap; the cap is not prorated.
Example: earned 20500.00, cap 20000 -> cap line -500.00; earned 20000.00 -> none.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import MONEY


def cap_adjustment() -> pl.Expr:
    """On a frame with `earned` and `cap` (null: no cap): the (negative) cap line amount, else null."""
    return pl.when(pl.col("cap").is_not_null() & (pl.col("earned") > pl.col("cap"))).then(pl.col("cap") - pl.col("earned"))


def earned(commissions: pl.LazyFrame) -> pl.LazyFrame:
    """Per (rep_no, p_start) of the commission lines: `earned`, the sum of the rounded line
    commissions the cap compares against; `credited`, the sum of the credited amounts (what
    attainment shows); `commission_lines`, their count."""
    return commissions.group_by("rep_no", "p_start").agg(
        earned=pl.col("amount").sum().cast(MONEY), credited=pl.col("credited").sum(), commission_lines=pl.len()
    )
