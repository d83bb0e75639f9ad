"""Step 6, clawback: recover commission of a sale cancelled in this period.

The line is clawed back in the period containing `cancelled_on`, whatever
period it was paid in (`clawback_lines`). With days = cancelled_on - sold_on, the first rule
(list order) with days <= within_days applies: clawback = -round(recover *
the line's rounded commission), under the rounding and rules of the plan
version the line was earned under. No rule: nothing. With a holdback (step 6b), the
base leaves out the part of the commission still held on `cancelled_on`.

Example: commission 123.45, cancelled 30 days after the sale, rules 30 -> 1.0,
90 -> 0.5: the 30-day rule applies (edge included): -123.45. At 31 days:
-round(0.5 * 123.45) = -61.73 (half_up) or -61.72 (half_even).
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import MONEY, Scales, dec, round_to
from comp_calc.steps.params import wide_by_version


def clawbacks(commissions: pl.LazyFrame, rules: pl.DataFrame, scales: Scales) -> pl.LazyFrame:
    """The commission lines whose sale has `cancelled_on` set (already limited to the run) and
    a rule that matches, with `rule`, `within_days`, `recover`, `days` and `clawback` added.

    `commissions` needs pv, rounding, amount, sold_on, cancelled_on (and may carry `held`,
    which the base leaves out). The rules of each plan
    version are columns (`within_days_i`, `recover_i`); the first i with days <= within_days_i
    is taken, in list order.
    """
    w = scales.clawback
    wide, n = wide_by_version(rules, "rule", ["within_days", "recover"])
    days = pl.col("days")

    def first(values: list[pl.Expr], dtype: pl.DataType) -> pl.Expr:  # the value of the first matching rule
        if not values:
            return pl.lit(None, dtype=dtype)
        return pl.coalesce([pl.when(days <= pl.col(f"within_days_{i}")).then(v) for i, v in enumerate(values)]).cast(dtype)

    rule_columns = [f"{c}_{i}" for i in range(n) for c in ("within_days", "recover")]
    return (
        commissions.filter(pl.col("cancelled_on").is_not_null())
        .with_columns(days=(pl.col("cancelled_on") - pl.col("sold_on")).dt.total_days())
        .join(wide.lazy(), on="pv", how="inner", maintain_order="left")
        .with_columns(
            rule=first([pl.lit(i) for i in range(n)], pl.Int64),
            within_days=first([pl.col(f"within_days_{i}") for i in range(n)], pl.Int64),
            recover=first([pl.col(f"recover_{i}") for i in range(n)], dec(scales.recover)),
        )
        .filter(pl.col("rule").is_not_null())
        .with_columns(
            clawback=-round_to(pl.col("recover").cast(dec(w)) * _base(commissions).cast(dec(w)), 2, pl.col("rounding"))
        )
        .drop(rule_columns)
    )


def _base(commissions: pl.LazyFrame) -> pl.Expr:
    """A line's clawback base: its amount, less `held` where the lines carry it (SPEC 6.3
    step 6: the part of a holdback not yet released on `cancelled_on`, see `holdback.with_held`)."""
    if "held" in commissions.collect_schema().names():
        return pl.col("amount") - pl.col("held").fill_null(pl.lit(0, dtype=MONEY))
    return pl.col("amount")


def period_start(day: pl.Expr, kind: str) -> pl.Expr:
    """The first day of the period of `kind` ("month" or "quarter") that holds `day`."""
    return day.dt.truncate("1q" if kind == "quarter" else "1mo")


def clawback_lines(commissions: pl.LazyFrame, rules: pl.DataFrame, scales: Scales, kind: str) -> pl.LazyFrame:
    """The clawback lines (see `clawbacks`), placed in the period of cancellation: `p_start`
    is the start of the period holding `cancelled_on`; the line's own period and amount
    become `original_start` and `original_amount`."""
    return (
        clawbacks(commissions, rules, scales)
        .rename({"p_start": "original_start", "amount": "original_amount"})
        .with_columns(p_start=period_start(pl.col("cancelled_on"), kind))
    )


def per_rep_period(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Per (rep_no, p_start): `clawbacks`, the sum of the clawback lines, and `clawback_lines`, their count."""
    return lines.group_by("rep_no", "p_start").agg(clawbacks=pl.col("clawback").sum().cast(MONEY), clawback_lines=pl.len())
