"""Step 9, restatement of closed periods (SPEC 6.3 step 9): pay in the open period what the
paid (closed) periods now come out differently.

A closed period Q was paid: its `payouts.csv` records each rep's `payout` (0 for a rep without
a row). A run of period P recomputes every closed Q < P from today's data and plans, without
restatement (every computed period's payout on the grid is that: restatement lines exist
only in P), and for each rep

    due = sum over the closed Q of (recomputed payout - recorded payout).

When due != 0 the rep gets a `restatement` line in P (and a payouts row): its amount is `due`,
except that under `carry_forward` (the version in force in P) it takes the payout so far
(after step 8, the draw) to 0 at most. `restatement_open = due - line` stays open: the next
run finds it again, because it compares with what was actually paid. The carried balance
(step 7) and the draw balance (step 8) are not touched: recomputing a closed period already
carries its balances into the periods after it.

Example (carry_forward): January recorded 300.00, recomputed 100.00 (a back-dated
cancellation); February recorded 0.00, recomputed 0.00; March payout so far 150.00:
due = (100 - 300) + (0 - 0) = -200.00; the line takes the payout to 0 at most: -150.00;
payout 0.00, restatement_open = -200 - (-150) = -50.00; reference `2026-01`.
April (March now closed, recorded 0.00, recomputed 150.00): due = -200 + 150 = -50.00.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.steps.exact import MONEY

KIND = "restatement"


def settle(grid: pl.LazyFrame, recorded: pl.DataFrame, closed: list[date], p_start: date) -> pl.LazyFrame:
    """On the rep x period grid after the draw (rep_no, p_start, period, payout,
    negative_balance), with `recorded` (rep_no, p_start, recorded: the paid payout of the rows
    of the closed periods `closed`) and the requested period's start `p_start`, add:

    - on rows of closed periods: `restatement_recorded` (0 for a rep without a row) and
      `restatement_difference` = payout - recorded (null on other rows);
    - on the `p_start` rows: `restatement_due`, `restatement_before` (the payout so far),
      `restatement` (the line's amount), `restatement_open`, `restatement_reference` (the
      closed periods whose difference is nonzero, `;`-separated), 0 / null elsewhere;

    and raise `payout` by the line."""
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    is_closed = pl.col("p_start").is_in(closed) if closed else pl.lit(False)
    rows = (
        grid.join(recorded.lazy().select(*keys, pl.col("recorded").cast(MONEY)), on=keys, how="left", maintain_order="left")
        .with_columns(restatement_recorded=pl.when(is_closed).then(pl.col("recorded").fill_null(zero)))
        .with_columns(restatement_difference=(pl.col("payout") - pl.col("restatement_recorded")).cast(MONEY))
        .drop("recorded")
    )
    differs = pl.col("restatement_difference") != 0
    per_rep = (
        rows.filter(is_closed)
        .group_by("rep_no")
        .agg(
            _due=pl.col("restatement_difference").sum().cast(MONEY),
            _reference=pl.col("period").filter(differs).sort().str.join(";"),
        )
        .with_columns(p_start=pl.lit(p_start, dtype=pl.Date))
    )
    at_p = pl.col("p_start") == p_start
    due = pl.when(at_p).then(pl.col("_due").fill_null(zero)).otherwise(zero)
    carry_forward = (pl.col("negative_balance") != "pay").fill_null(True)
    line = pl.when(carry_forward & (pl.col("restatement_due") < -pl.col("payout"))).then(-pl.col("payout")).otherwise(pl.col("restatement_due"))
    return (
        rows.join(per_rep, on=keys, how="left", maintain_order="left")
        .with_columns(restatement_due=due.cast(MONEY))
        .with_columns(
            restatement_before=pl.when(at_p).then(pl.col("payout")),
            restatement=line.cast(MONEY),
            restatement_reference=pl.when(at_p & (pl.col("restatement_due") != 0)).then(pl.col("_reference")),
        )
        .with_columns(restatement_open=(pl.col("restatement_due") - pl.col("restatement")).cast(MONEY))
        .with_columns(payout=(pl.col("payout") + pl.col("restatement")).cast(MONEY))
        .drop("_due", "_reference")
    )


def restatement_lines(grid: pl.LazyFrame) -> pl.LazyFrame:
    """One `restatement` line per rep-period with a nonzero due (its amount may be 0.00 when a
    recovery waits for pay): rep_id, rep_no, p_start, kind, amount, reference, and for the
    explanation restatement_due, restatement_before, restatement_open."""
    return grid.filter(pl.col("restatement_due") != 0).select(
        "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"), pl.col("restatement").alias("amount"),
        pl.col("restatement_reference").alias("reference"), "restatement_due", "restatement_before", "restatement_open",
    )  # fmt: skip
