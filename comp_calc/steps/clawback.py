"""Step 6, clawback: recover commission of a sale cancelled in this period.

The line is clawed back in the period containing `cancelled_on`, whatever
period it was paid in. With days = cancelled_on - sold_on, the first rule
(list order) with days <= within_days applies: clawback = -round(recover *
the line's rounded commission), under the rounding and rules of the plan
version the line was earned under. No rule: nothing.

Example: commission 123.45, cancelled 30 days after the sale, rules 30 -> 1.0,
90 -> 0.5: the 30-day rule applies (edge included): -123.45. At 31 days:
-round(0.5 * 123.45) = -61.73 (half_up) or -61.72 (half_even).
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, dec, round_to


def clawbacks(commissions: pl.LazyFrame, rules: pl.DataFrame, scales: Scales) -> pl.LazyFrame:
    """Clawback lines for commission lines whose sale has `cancelled_on` set (already limited to the run).

    `commissions` needs line_no, pv, rounding, amount, sold_on, cancelled_on.
    Returns one row per clawed-back line: line_no, rule, within_days, recover, days, clawback.
    """
    w = scales.clawback
    days = (pl.col("cancelled_on") - pl.col("sold_on")).dt.total_days()
    return (
        commissions.filter(pl.col("cancelled_on").is_not_null())
        .select("line_no", "pv", "rounding", "amount", days.alias("days"))
        .join(rules.lazy().drop("plan", "version"), on="pv")
        .filter(pl.col("days") <= pl.col("within_days"))
        .group_by("line_no")
        .agg(pl.all().sort_by("rule").first())
        .with_columns(
            clawback=-round_to(pl.col("recover").cast(dec(w)) * pl.col("amount").cast(dec(w)), 2, pl.col("rounding"))
        )
        .select("line_no", "rule", "within_days", "recover", "days", "clawback")
    )
