"""Step 5, cap: if a period's line commissions exceed `cap`, add a cap line of cap - earned.

Applies only when earned is strictly above the cap; the cap is not prorated.
Example: earned 20500.00, cap 20000 -> cap line -500.00; earned 20000.00 -> none.
"""

from __future__ import annotations

import polars as pl


def cap_adjustment() -> pl.Expr:
    """On a frame with `earned` and `cap` (null: no cap): the (negative) cap line amount, else null."""
    return pl.when(pl.col("cap").is_not_null() & (pl.col("earned") > pl.col("cap"))).then(pl.col("cap") - pl.col("earned"))
