"""Step 7, balance: carry negative nets forward, or pay them.

net = earned + cap line + spifs + outcome_bonus + activity_bonus + overrides +
clawbacks + holdbacks + releases + carry_in (SPEC 6.3 step 7: the columns of
`kinds.BALANCE_KINDS`; a column a run does not have counts 0). Under carry_forward a negative
net pays 0 and becomes the next period's carry_in; under `pay` the net is paid
as is and nothing carries. carry_in of the first period is 0.

The recurrence carry_t = min(0, x_t + carry_{t-1}) is solved without a loop:
with S the running sum of x since the last `pay` period,
carry_t = S_t - max(0, max_{k<=t} S_k). A `pay` period closes the running sum.

Example: x = -100, +30, +200 under carry_forward:
S = -100, -70, 130; running max(0, S) = 0, 0, 130; carry = -100, -70, 0;
payouts 0, 0, 130.
"""

from __future__ import annotations

import polars as pl

from collections.abc import Collection

from comp_calc.steps.exact import MONEY
from comp_calc.steps.kinds import BALANCE_KINDS, COLUMN


def period_net(columns: Collection[str] = ("earned", "cap_adjustment", "clawbacks")) -> pl.Expr:
    """`x`, the period's own net before any carry: the sum of the balance columns (earned, cap
    line, spifs, outcome_bonus, ..., releases) among `columns`, a null (no cap line) as 0."""
    zero = pl.lit(0, dtype=MONEY)
    terms = [pl.col(COLUMN[k]).fill_null(zero) for k in BALANCE_KINDS if COLUMN[k] in columns]
    return pl.sum_horizontal(terms).cast(MONEY).alias("x")


def settle(grid: pl.LazyFrame) -> pl.LazyFrame:
    """On a rep x period grid with `x` (`period_net`, Decimal 2) and `negative_balance`,
    add carry_in, payout, carry_out."""
    zero = pl.lit(0, dtype=MONEY)
    pay = (pl.col("negative_balance") == "pay").fill_null(False)
    return (
        grid.sort("rep_id", "p_start")
        .with_columns(_segment=pay.cast(pl.Int32).cum_sum().shift(1, fill_value=0).over("rep_id"))
        .with_columns(_s=pl.col("x").cum_sum().over("rep_id", "_segment"))
        .with_columns(_w=pl.col("_s") - pl.max_horizontal(zero, pl.col("_s")).cum_max().over("rep_id", "_segment"))
        .with_columns(carry_in=pl.col("_w").shift(1).over("rep_id", "_segment").fill_null(zero))
        .with_columns(carry_out=pl.when(pay).then(zero).otherwise(pl.col("_w")))
        .with_columns(payout=pl.col("x") + pl.col("carry_in") - pl.col("carry_out"))
        .drop("_segment", "_s", "_w")
    )
