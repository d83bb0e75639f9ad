"""A team rollup of a run's payouts (`run --by team|manager`): credited and payout summed per
group and currency, as data; `comp_calc.outputs.terminal` shows it.

- `team`: the reps of each reps.csv `team` (empty team: its own group `""`);
- `manager`: for each rep with someone below it in `manager_id` links, its subtree: the
  manager and everyone below, at any depth (a rep counts in the subtree of each manager above it,
  so the groups overlap and do not add up to the run's total; the team groups do).

Only the reps of the run (its payouts rows) count; a rep of the other period kind in a subtree
adds nothing. Amounts of two currencies are never added up: a group whose reps are paid in
several currencies has one row per currency. Sums are exact (`credited` as computed, money in
cents).
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import MONEY
from comp_calc.steps.override import reporting_lines

BY = ("team", "manager")
ROLLUP_MONEY = ["earned", "overrides", "payout"]


def rollup(payouts: pl.DataFrame, reps: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per group and currency, in group then currency order: `group`, `name` (the
    manager's name; empty for a team), `currency` (of the reps' plans), `reps` (payouts rows
    counted), `credited` (exact), and the ROLLUP_MONEY sums."""
    sums = [pl.len().cast(pl.Int64).alias("reps"), pl.col("credited").sum(), *[pl.col(c).sum().cast(MONEY) for c in ROLLUP_MONEY]]
    payouts = payouts.with_columns(pl.col("currency").fill_null(""))
    columns = ("group", "name", "currency", "reps", "credited", *ROLLUP_MONEY)
    if by == "team":
        return (
            payouts.group_by(pl.col("team").fill_null("").alias("group"), "currency")
            .agg(*sums)
            .with_columns(name=pl.lit(""))
            .sort("group", "currency")
            .select(columns)
        )
    numbered = reps.sort("rep_id").with_row_index("rep_no").with_columns(pl.col("rep_no").cast(pl.Int64))
    below = reporting_lines(numbered, numbered.height)  # every depth: the links never loop
    managers = below.select("manager_no").unique()
    members = pl.concat([below.select("manager_no", "report_no"), managers.select("manager_no", report_no="manager_no")])
    ids = numbered.select("rep_no", "rep_id", "name")
    return (
        members.join(ids.rename({"rep_no": "report_no", "name": "_n"}), on="report_no")
        .join(payouts, on="rep_id")  # only the run's reps
        .group_by("manager_no", "currency")
        .agg(*sums)
        .join(ids.rename({"rep_no": "manager_no", "rep_id": "group"}), on="manager_no")
        .with_columns(pl.col("name").fill_null(""))
        .sort("group", "currency")
        .select(columns)
    )
