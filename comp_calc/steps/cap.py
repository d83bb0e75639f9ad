"""Step 5, cap: if a period's line commissions exceed `cap`, add a cap line of cap - earned.

earned is the sum of the period's rounded line commissions (`earned`). Applies only
when earned is strictly above the cap; the cap is not prorated.
Example: earned 20500.00, cap 20000 -> cap line -500.00; earned 20000.00 -> none.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import MONEY, exact_sum


def cap_adjustment() -> pl.Expr:
    """On a frame with `earned` and `cap` (null: no cap): the (negative) cap line amount, else null."""
    return pl.when(pl.col("cap").is_not_null() & (pl.col("earned") > pl.col("cap"))).then(pl.col("cap") - pl.col("earned"))


def earned(commissions: pl.LazyFrame, credited_scale: int = 0) -> pl.LazyFrame:
    """Per (rep_no, p_start) of the commission lines: `earned`, the sum of the rounded line
    commissions the cap compares against; `credited`, the sum of the credited amounts (what
    attainment shows); `commission_lines`, their count. `amount` and `credited` are Decimals,
    or integer units (of cents, of 10^-credited_scale), summed exactly either way (`exact_sum`).

    Example: lines of 10.50 and 2.50 (or 1050 and 250 cents): earned 13.00."""
    schema = commissions.collect_schema()
    return commissions.group_by("rep_no", "p_start").agg(
        earned=exact_sum("amount", schema["amount"], 2).cast(MONEY),
        credited=exact_sum("credited", schema["credited"], credited_scale),
        commission_lines=pl.len(),
    )
