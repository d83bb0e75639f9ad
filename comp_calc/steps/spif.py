"""Step 3b, SPIFs (SPEC 6.3): pay for sales inside marketing's campaigns.

A `seller` commission line whose sale's product is a campaign's product and whose
`sold_on` lies within [starts_on, ends_on] (both days included) earns, for each campaign
of the line's plan version (the seller's version in force for the sale's period) that
matches, in the plan's list order, one `spif` line: `per_sale`, or
round(rate * credited) under the plan's rounding, written even when it is 0.00. A
`relationship` line earns none. Not capped, not held back; the lines add to the payout
through the balance (step 7), and a cancelled sale's spif lines are clawed back by the
commission's rules with the spif line's amount as base (step 6, see `clawable`).

Example: spring-cards (credit_card, 2026-03-01 to 2026-03-31) per_sale 25.00, then
home-week (credit_card, 2026-03-10 to 2026-03-16) rate 0.01. A credit_card sale of
1234.50 sold 2026-03-12, all of it credited to its seller, earns 25.00 and then
round(0.01 * 1234.50) = round(12.345) = 12.35 (half_up) or 12.34 (half_even).
Sold 2026-03-17, it earns the 25.00 only.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from comp_calc.steps.exact import MONEY, Scales, dec, round_to
from comp_calc.steps.params import MAX_PLACES

KIND = "spif"

# what a spif line keeps of its commission line: the sale, its place in attainment order
# (`line_no`), its plan version (`pv`, `rounding`) and what the statement says of the sale
_FROM_COMMISSION = [
    "line_no", "rep_id", "rep_no", "p_start", "pv", "rounding", "sale_id", "role", "customer_id", "contact_id",
    "seller_id", "product", "sold_on", "cancelled_on", "credited",
]  # fmt: skip


def spif_lines(
    commissions: pl.LazyFrame,
    campaigns: pl.DataFrame,
    calendar: pl.LazyFrame,
    scales: Scales,
    text: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None,
) -> pl.LazyFrame:
    """One line per (seller commission line, matching campaign of its plan version): the
    `_FROM_COMMISSION` columns, `kind`, `campaign`, `campaign_no` (the entry's place in the
    plan's list), `per_sale` or `rate` (the other null) and `amount`. Unordered.

    `commissions` are commission lines (`_FROM_COMMISSION` columns); `campaigns` is
    `PlanTables.campaigns`; `calendar` the rows of campaigns.csv (campaign_id, product,
    starts_on, ends_on). Every campaign a plan names is in the calendar (checked where
    plans and data meet), so an entry without one matches nothing.

    `text`, when the commission lines carry their text as a lookup (the engine's `sale`; they
    must still have `role` and `product`), adds the rest of it to the lines that earn a spif.
    """
    entries = campaigns.lazy().join(
        calendar.select(pl.col("campaign_id").alias("campaign"), "product", "starts_on", "ends_on"), on="campaign", how="inner"
    ).collect()
    if not entries.height:  # no campaign a plan pays is in the calendar: no line to look at (the same columns, no rows)
        commissions = commissions.head(0)
    else:  # only lines of a version that pays a campaign, sold within the campaigns' span, can match: their
        # text (role, product) is looked up for those alone
        commissions = commissions.filter(
            pl.col("pv").is_in(entries["pv"].unique().implode())
            & pl.col("sold_on").is_between(entries["starts_on"].min(), entries["ends_on"].max(), closed="both")
        )
    w = scales.credited + MAX_PLACES  # rate * credited, exact
    earned = round_to(pl.col("rate").cast(dec(w)) * pl.col("credited").cast(dec(w)), 2, pl.col("rounding"))
    names = commissions.collect_schema().names()
    matched = (
        commissions.select([c for c in (*_FROM_COMMISSION, "sale") if c in names])
        .filter(pl.col("role") == "seller")
        .join(entries.lazy().select("pv", "product", "campaign_no", "campaign", "per_sale", "rate", "starts_on", "ends_on"), on=["pv", "product"])
        .filter(pl.col("sold_on").is_between(pl.col("starts_on"), pl.col("ends_on"), closed="both"))
    )
    if text is not None:
        matched = text(matched).select(*_FROM_COMMISSION, "campaign_no", "campaign", "per_sale", "rate", "starts_on", "ends_on")
    return (
        matched.with_columns(
            kind=pl.lit(KIND),
            amount=pl.when(pl.col("per_sale").is_not_null()).then(pl.col("per_sale").cast(MONEY)).otherwise(earned.cast(MONEY)),
        )
        .drop("starts_on", "ends_on")
    )


def per_rep_period(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Per (rep_no, p_start) with spif lines: `spifs`, their sum, and `component_lines`, their count."""
    return lines.group_by("rep_no", "p_start").agg(spifs=pl.col("amount").sum().cast(MONEY), component_lines=pl.len())


def clawable(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Spif lines as step 6 reads a line it may claw back (`clawback.clawback_lines`): its
    period `p_start`, plan version `pv` and `rounding`, `sold_on`, `cancelled_on`, and the
    base `amount`, here the spif line's own amount; the rest rides along for the clawback
    line (`campaign`, `campaign_no`, the sale)."""
    return lines.drop("kind", "per_sale", "rate")
