"""Per rep and period, the lines against the payouts row (SPEC section 3: every total is
the sum of rounded lines, so statements always add up)."""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.errors import ReconciliationError
from comp_calc.steps.exact import MONEY
from comp_calc.steps.kinds import COLUMN, LINE_KINDS


def reconcile(bad_sales: int, grid: pl.DataFrame, lines: pl.LazyFrame, lines_from: date | None = None) -> None:
    """The run's own invariants; a failure is a bug in this tool, never a user mistake.

    - no sale's credit lines fail to add up to its amount (`bad_sales`, from
      `credit.unbalanced_sales`);
    - per rep and period, the lines of each kind add up to its payouts column
      (`kinds.COLUMN`; with `lines_from`, only in the periods from that day on: before
      it, a streaming run keeps only the commission lines of later-cancelled sales), and
      payout = the sum of those columns (earned, spifs, outcome_bonus, ..., cap,
      clawbacks, ..., carry_in, draw, restatement) - carry_out;
    - under carry_forward no payout is negative;
    - the cap holds: above it, earned + cap line = cap; at or below it, no cap line;
    - balances carry over: each period's carry_in is the previous computed period's
      carry_out (0 in the first), a carry_out is never positive, and under `pay` it is 0,
      so no carried balance vanishes when a plan version switches between the two;
    - draw balances carry over the same way (`_draw_balances`).

    `grid` is the payouts grid (rep_no, p_start, present, cap, the columns of `kinds.COLUMN`
    (a section 6 column it lacks counts 0), carry_out, payout, negative_balance); `lines` has rep_no,
    p_start, kind and amount.
    """
    failures = []
    if bad_sales:
        failures.append(f"{bad_sales} sales whose credit lines do not add up to the amount")
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    kinds = LINE_KINDS
    # kind as a group key, then a column per kind on the small result (a filter inside
    # the aggregation is many times slower over millions of lines); lazy, so that only
    # the columns it reads are touched
    sums = lines.group_by(*keys, "kind").agg(pl.col("amount").sum().cast(MONEY)).collect()
    by_kind = sums.pivot(on="kind", index=keys, values="amount")
    by_kind = by_kind.with_columns(pl.lit(None, dtype=MONEY).alias(k) for k in kinds if k not in by_kind.columns).rename(
        {k: f"_{k}" for k in kinds}
    )
    present = grid.filter(pl.col("present"))
    present = present.with_columns(pl.lit(0, dtype=MONEY).alias(c) for c in COLUMN.values() if c not in present.columns)
    column = {k: pl.col(COLUMN[k]).fill_null(zero) for k in kinds}  # the cap column is null without a cap line
    any_kind_off = pl.any_horizontal(pl.col(f"_{k}") != column[k] for k in kinds)
    payout = pl.sum_horizontal(column.values()) - pl.col("carry_out")
    rows = present.join(by_kind, on=keys, how="left").with_columns(pl.col("^_.*$").fill_null(zero))
    lines_kept = pl.lit(True) if lines_from is None else pl.col("p_start") >= lines_from
    mismatched = rows.filter(
        lines_kept & any_kind_off
        | (pl.col("payout") != payout)
        | ((pl.col("negative_balance") == "carry_forward") & (pl.col("payout") < 0))
        # the cap rule itself: above the cap, earned plus the cap line is exactly the cap; no cap line otherwise
        | ((pl.col("earned") > pl.col("cap")).fill_null(False) & (pl.col("earned") + pl.col("cap_adjustment").fill_null(zero) != pl.col("cap")))
        | (pl.col("cap_adjustment").is_not_null() & ~(pl.col("earned") > pl.col("cap")).fill_null(False))
    )
    if mismatched.height:
        failures.append(f"{mismatched.height} rep-periods whose lines do not add up to their payouts row")
    outside = by_kind.join(present, on=keys, how="anti")
    if outside.height:
        failures.append(f"lines of {outside.height} rep-periods missing from the payouts")
    carried = grid.sort("rep_no", "p_start").with_columns(before=pl.col("carry_out").shift(1, fill_value=zero).over("rep_no"))
    broken = carried.filter(
        (pl.col("carry_in") != pl.col("before"))
        | (pl.col("carry_out") > 0)
        | ((pl.col("negative_balance") == "pay") & (pl.col("carry_out") != 0))
    )
    if broken.height:
        failures.append(f"{broken.height} rep-periods whose carried balance does not follow from the period before")
    failures.extend(_draw_balances(grid))
    if failures:
        raise ReconciliationError("; ".join(failures))


def _draw_balances(grid: pl.DataFrame) -> list[str]:
    """Each period's draw balance is the previous computed period's (0 in the first) plus its
    draw line when that line is a recovery (negative) or a recoverable top-up, else unchanged;
    it is never negative, a recovery never exceeds what was owed, and a top-up goes only to an
    active rep. A grid without draw columns (no draw step) passes."""
    if "draw_balance" not in grid.columns:
        return []
    zero = pl.lit(0, dtype=MONEY)
    drawn = grid.sort("rep_no", "p_start").with_columns(before=pl.col("draw_balance").shift(1, fill_value=zero).over("rep_no"))
    counts = (pl.col("draw") < 0) | ((pl.col("draw") > 0) & pl.col("draw_recoverable").fill_null(False))
    moved = pl.when(counts).then(pl.col("draw")).otherwise(zero)
    broken = drawn.filter(
        (pl.col("draw_balance") != pl.col("before") + moved)
        | (pl.col("draw_balance") < 0)
        | ((pl.col("draw") > 0) & ~pl.col("active"))
    )
    if broken.height:
        return [f"{broken.height} rep-periods whose draw balance does not follow from the period before"]
    return []
