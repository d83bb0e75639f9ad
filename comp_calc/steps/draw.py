"""Step 8, draw (SPEC 6.3): a minimum payout per period, recovered from later pay above it.

After the balance (step 7). The rep's draw for the period is
round(amount * active_days / days_in_period) under a version with `draw` (0 when the rep
is not active or the version has no draw). With P the payout so far (after step 7):

- active under a version with a draw and P < draw: a `draw` line of draw - P tops the
  payout up (under carry_forward P is never negative and a carried balance stays carried;
  under `pay` a negative P is topped up too); with `recoverable` it adds to the rep's
  draw balance;
- otherwise, when the balance carried from the previous computed period is positive and
  P - draw > 0: a `draw` line of -min(balance, P - draw) recovers it, whatever the
  current version says (no draw, or not active: draw = 0).

payout = P + the draw line; `draw_balance` is the balance after the period. The draw never
feeds back into the carry of step 7.

The balance is the recurrence B_t = max(0, B_{t-1} + d_t), with d_t = +top-up
(recoverable), -(P - draw) when that is positive and no top-up, else 0. It is solved
without a loop, as the carry is in `balance`: with S the running sum of d,
B_t = S_t - min(0, min_{k<=t} S_k); the recovery line is B_t - B_{t-1}.

Example: draw 2,000.00, payouts so far 500, 1,200, 3,500, 2,600:
d = +1,500, +800, -1,500, -600; S = 1,500, 2,300, 800, 200; min(0, running min S) = 0;
B = 1,500, 2,300, 800, 200; draw lines +1,500, +800, -1,500, -600; payouts 2,000 each.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import MONEY, dec, div_round

KIND = "draw"


def settle(grid: pl.LazyFrame) -> pl.LazyFrame:
    """On the rep x period grid after `balance.settle` (rep_no, p_start, active, active_days,
    p_days, rounding, draw_amount (null: no draw), draw_recoverable, payout): add
    `draw_due` (the rep's draw for the period), `draw_payout_before` (the payout so far),
    `draw_balance_in`, `draw_balance`, `draw` (the draw line's amount, 0 without one), and
    raise `payout` by the draw line."""
    zero = pl.lit(0, dtype=MONEY)
    applies = pl.col("active") & pl.col("draw_amount").is_not_null()
    scaled = pl.col("draw_amount") * pl.col("active_days").cast(dec(0))  # exact, scale 2
    due = pl.when(applies).then(div_round(scaled, 2, pl.col("p_days"), 2, pl.col("rounding"))).otherwise(zero)
    before = pl.col("draw_payout_before")
    top_up = applies & (before < pl.col("draw_due"))
    excess = before - pl.col("draw_due")
    step = (
        pl.when(top_up)
        .then(pl.when(pl.col("draw_recoverable")).then(pl.col("draw_due") - before).otherwise(zero))
        .when(excess > 0)
        .then(-excess)
        .otherwise(zero)
        .cast(MONEY)
    )
    return (
        grid.sort("rep_no", "p_start")
        .with_columns(draw_due=due.cast(MONEY), draw_payout_before=pl.col("payout"))
        .with_columns(_s=step.cum_sum().over("rep_no"))
        .with_columns(draw_balance=(pl.col("_s") - pl.min_horizontal(zero, pl.col("_s").cum_min().over("rep_no"))).cast(MONEY))
        .with_columns(draw_balance_in=pl.col("draw_balance").shift(1).over("rep_no").fill_null(zero))
        .with_columns(
            draw=pl.when(top_up)
            .then(pl.col("draw_due") - before)
            .otherwise(pl.col("draw_balance") - pl.col("draw_balance_in"))
            .cast(MONEY)
        )
        .with_columns(payout=(before + pl.col("draw")).cast(MONEY))
        .drop("_s")
    )


def draw_lines(grid: pl.LazyFrame) -> pl.LazyFrame:
    """One `draw` line per rep-period with a nonzero draw: rep_id, rep_no, p_start, kind,
    amount, and for the explanation draw_due, draw_amount, draw_recoverable, active_days,
    p_days, draw_payout_before, draw_balance_in, draw_balance."""
    return grid.filter(pl.col("draw") != 0).select(
        "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"), pl.col("draw").alias("amount"),
        "draw_due", "draw_amount", "draw_recoverable", pl.col("active_days").alias("draw_active_days"),
        pl.col("p_days").alias("draw_period_days"), "draw_payout_before", "draw_balance_in", "draw_balance",
    )  # fmt: skip
