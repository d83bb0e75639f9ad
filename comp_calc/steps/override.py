"""Step 4d, overrides (SPEC 6.3): a manager earns a share of the net credit of the reps below.

For a rep M active in the period whose plan version (in force at the period's start) has
`override`: every rep R within `levels` steps below M along reps.csv `manager_id` links
(1 = M's direct reports, 2 = and their reports, ...) has a net credit for M's period:
the sum over R's credit lines with `sold_on` in the period, minus the sum over R's credit
lines whose sale has `cancelled_on` in the period, of `amount * part * fx(sale currency ->
M's currency, month of sold_on)`, `part` being the line's share of the sale (`share`,
`1 - share` or 1). Each R with a nonzero net gives M one `override` line
`round(rate * net)` (M's version's rounding, each line rounded once), whatever R's plan or
period kind: a monthly R under a quarterly M counts its lines of M's quarter. Lines are
ordered by R's rep_id. Not capped; the balance (step 7) nets them.

Example: rate 0.005, levels 2; M manages A, A manages B. In 2026-03 A sells 10000.00 and
B has a relationship line of 3000.00 (share 0.30 of a 10000.00 sale) and a 2000.00 sale
of January cancelled on 03-20: A's net 10000.00 -> 50.00; B's net 3000.00 - 2000.00 =
1000.00 -> 5.00. With levels 1, only A's line.

The hierarchy is resolved with joins over the small reps table (`reporting_lines`); the
net credits are sums over the credit lines, taken turn by turn as the engine builds them
(`net_credit`, added up across turns by `add_up`), so a run that reads its sales period
by period gives the same sums as one that holds them all.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.steps.clawback import period_start
from comp_calc.steps.exact import MONEY, dec, round_to
from comp_calc.steps.params import OVERRIDE_RATE_SCALE

KIND = "override"


def wanted(grid: pl.LazyFrame) -> pl.LazyFrame:
    """The rep-periods that earn overrides: active, under a version with `override`."""
    return grid.filter(pl.col("active") & pl.col("ov_rate").is_not_null())


def reporting_lines(reps: pl.DataFrame, deepest: int) -> pl.DataFrame:
    """(manager_no, report_no, depth): every rep `depth` (1..`deepest`) manager_id links below
    a manager. `reps` has rep_id, rep_no and manager_id (null: none; a manager_id that is not
    a rep_id here, a rep rejected as bad input, links nowhere). Links never loop (reps.csv
    rules), so each (manager, report) pair has one depth. One join per level."""
    if "manager_id" not in reps.columns or deepest < 1:
        return pl.DataFrame(schema={"manager_no": pl.Int64, "report_no": pl.Int64, "depth": pl.Int64})
    ids = reps.select("rep_id", manager_no="rep_no")
    links = (
        reps.select(report_no="rep_no", rep_id="manager_id")
        .join(ids, on="rep_id")  # drops reps without a (known) manager
        .select("manager_no", "report_no")
    )
    level = links.with_columns(depth=pl.lit(1, dtype=pl.Int64))
    found = [level]
    for depth in range(2, deepest + 1):
        # the reports of the previous level's reports
        level = level.select("manager_no", middle="report_no").join(
            links.rename({"manager_no": "middle"}), on="middle"
        ).select("manager_no", "report_no", depth=pl.lit(depth, dtype=pl.Int64))
        if level.height == 0:
            break
        found.append(level)
    return pl.concat(found)


def report_currencies(grid: pl.LazyFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """(rep_no, currency): each report whose credit some manager overrides, with that manager's
    currency (one row per distinct currency): the lines `net_credit` adds up."""
    managers = wanted(grid).select(manager_no="rep_no", levels="ov_levels", currency="currency").unique()
    return (
        pairs.lazy()
        .join(managers, on="manager_no")
        .filter(pl.col("depth") <= pl.col("levels"))
        .select(rep_no="report_no", currency="currency")
        .unique()
        .sort("rep_no", "currency")
        .collect()
    )


def in_manager_currency() -> pl.Expr:
    """A credit line's `amount * part * fx(sale currency -> currency, month of sold_on)`, on a
    credit line joined with the overriding manager's `currency` (the one place currencies enter
    this step).

    One currency for now: a line's `credited` is exactly `amount * part` in the sale's
    currency, and fx is 1. With sales in other currencies, this becomes the line's
    `amount * part` (not its `credited`, which is in the report's own currency) times the
    rate of fx_rates.csv for (sale currency, `currency`, month of sold_on)."""
    return pl.col("credited")


def net_credit(credit_lines: pl.LazyFrame, reports: pl.DataFrame, kind: str, first: date) -> pl.LazyFrame:
    """Per (rep_no, currency, p_start) of the periods of `kind` from `first` on: what
    `credit_lines` add to the report's net credit, in the manager's currency: + each line in
    the period of its `sold_on`, - each line in the period of its `cancelled_on` (null: not
    cancelled, or after the run). `reports` is `report_currencies`. Sums of some of the credit
    lines: `add_up` adds those of every turn."""
    value = in_manager_currency()
    lines = credit_lines.drop("currency", strict=False).join(reports.lazy(), on="rep_no")  # the manager's currency
    sold = lines.select("rep_no", "currency", p_start=period_start(pl.col("sold_on"), kind), net=value)
    cancelled = lines.filter(pl.col("cancelled_on").is_not_null()).select(
        "rep_no", "currency", p_start=period_start(pl.col("cancelled_on"), kind), net=-value
    )
    return (
        pl.concat([sold, cancelled])
        .filter(pl.col("p_start") >= first)
        .group_by("rep_no", "currency", "p_start")
        .agg(pl.col("net").sum())
    )


def add_up(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The `net_credit` sums of every turn added up: one row per (rep_no, currency, p_start)."""
    return pl.concat(parts).group_by("rep_no", "currency", "p_start").agg(pl.col("net").sum())


def override_lines(grid: pl.LazyFrame, pairs: pl.DataFrame, net: pl.DataFrame, reps: pl.DataFrame) -> pl.LazyFrame:
    """One `override` line per (manager rep-period, report) with a nonzero net credit: rep_id,
    rep_no, p_start, kind, amount, `line_no` (the report's rep_no: lines sort by the report's
    rep_id), `reference` (the report's rep_id), and for the explanation `override_net` (the
    net credit), `override_rate` and `override_depth` (1: a direct report).

    `net` is `add_up`'s; `reps` has rep_id and rep_no."""
    net_scale = net.schema["net"].scale if isinstance(net.schema["net"], pl.Decimal) else 0
    w = dec(net_scale + OVERRIDE_RATE_SCALE)  # rate * net, exact
    managers = wanted(grid).select("rep_id", "rep_no", "p_start", "currency", "rounding", "ov_rate", "ov_levels")
    names = reps.lazy().select(report_no="rep_no", reference="rep_id")
    return (
        managers.join(pairs.lazy(), left_on="rep_no", right_on="manager_no")
        .filter(pl.col("depth") <= pl.col("ov_levels"))
        .join(net.lazy().rename({"rep_no": "report_no"}), on=["report_no", "p_start", "currency"])
        .filter(pl.col("net") != 0)
        .join(names, on="report_no")
        .select(
            "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"),
            round_to(pl.col("ov_rate").cast(w) * pl.col("net").cast(w), 2, pl.col("rounding")).cast(MONEY).alias("amount"),
            pl.col("report_no").alias("line_no"), "reference",
            pl.col("net").alias("override_net"), pl.col("ov_rate").alias("override_rate"), pl.col("depth").alias("override_depth"),
        )  # fmt: skip
    )
