"""What a run returns (`RunResult`) and how its lines are read: one period's lines in SPEC
order (`period_lines`), split into groups of reps (`rep_groups`), with their tiers text
(`tiers_for`). Reading a result, not computing one: `comp_calc.engine` composes the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from comp_calc.periods import Period
from comp_calc.steps import attainment, rate
from comp_calc.steps.params import PlanTables


@dataclass
class RunResult:
    period: Period
    periods: list[Period]
    grid: pl.DataFrame  # one row per run rep and computed period (see engine._finish)
    # the lines of every computed period: commission lines (millions, kept as computed,
    # never copied into one frame with the rest) and the clawback, cap and carry lines
    commission_lines: pl.DataFrame
    other_lines: pl.DataFrame
    tables: PlanTables
    ignored: dict[str, int]  # rows dated after the period, per input
    # False after a streaming run: of the periods before `period`, commission_lines then
    # holds only the lines that a later cancellation claws back (the grid is complete)
    complete: bool = True

    def scan_lines(self) -> pl.LazyFrame:
        """Every line with its `kind`, `order`, `period` and, on commission lines, `base`: the
        base commission before quality, rounded half-even to 6 decimals (computed only for the
        lines a query keeps); filter before collecting."""
        starts = [p.start for p in self.periods]
        days = pl.col("p_start").replace_strict(starts, [p.days for p in self.periods], return_dtype=pl.Int64)
        base = rate.base_commission(self.tables.scales, days)
        commission = self.commission_lines.lazy().with_columns(order=pl.lit(0), kind=pl.lit("commission"), base=base).drop("base_d")
        period = pl.col("p_start").replace_strict(starts, [p.label for p in self.periods], return_dtype=pl.String)
        return pl.concat([commission, self.other_lines.lazy()], how="diagonal_relaxed").with_columns(period=period)

    @property
    def lines(self) -> pl.DataFrame:
        """Every line of every computed period as one frame (costly on large runs: prefer scan_lines)."""
        return self.scan_lines().collect()


def period_lines(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """The lines of one period in SPEC order, with their `tiers` text; with `reps=(first, last)`,
    only those of the reps whose rep_no lies in that range.

    Order: by rep_id (rep_no); within a rep, commission lines in attainment order,
    the cap line, clawbacks by the original (sold_on, sale_id, role), which
    line_no encodes, then the carry line.
    """
    lines = result.scan_lines().filter(_in_period(result, period))
    if reps is not None:
        lines = lines.filter(pl.col("rep_no").is_between(*reps))
    lines = tiers_for(result, lines.collect())
    # the pricing columns have served the tier text; fewer columns make the sort cheaper
    return lines.drop("rep_no", "pv", "run_from", "run_to").sort(lines["rep_no"], "order", "line_no", nulls_last=True)


def _in_period(result: RunResult, period: str | None) -> pl.Expr:
    period = period or result.period.label
    starts = [p.start for p in result.periods if p.label == period]
    return (pl.col("p_start") == starts[0]) if starts else pl.lit(False)


def rep_groups(result: RunResult, size: int) -> list[tuple[int, int]]:
    """(first, last) rep_no ranges, in order, that split the requested period's lines into
    groups of about `size` lines (a rep's lines are never split); at least one range."""
    counts = (
        result.scan_lines()
        .filter(_in_period(result, None))
        .group_by("rep_no")
        .agg(n=pl.len())
        .sort("rep_no")
        .with_columns(group=(pl.col("n").cum_sum() - pl.col("n")) // size)
        .group_by("group")
        .agg(first=pl.col("rep_no").min(), last=pl.col("rep_no").max())
        .sort("group")
        .collect()
    )
    return list(zip(counts["first"], counts["last"], strict=True)) or [(0, -1)]


def tiers_for(result: RunResult, lines: pl.DataFrame) -> pl.DataFrame:
    """`lines` (a slice of result.lines) with a `tiers` column: "multiplier@piece|..." per band touched."""
    table, _, n_bands = attainment.rep_period_table(result.grid.lazy(), result.tables, result.tables.scales)
    table = table.with_columns(rate.multiplier_texts(n_bands, result.tables.scales))  # per rep-period, not per line
    return (
        lines.lazy()
        .join(table.drop("rep_id", "pv", "rounding"), on=["rep_no", "p_start"], how="left", maintain_order="left")
        .with_columns(tiers=pl.when(pl.col("kind") == "commission").then(rate.tiers_text(n_bands, result.tables.scales)))
        .select(*lines.columns, "tiers")
        .collect()
    )
