"""Step 1, credit: each sale becomes one or two credit lines.

If the seller's plan version (in force for the sale's period) has
`outbound_credit`, the most recent qualifying contact with the sale's
customer decides the split: channel listed, connected if `connected_only`,
`0 <= sold_on - contacted_on <= window_days`, by a rep active on `sold_on`;
latest date wins, same day the greatest contact_id. If that contact is by
another rep, the contact's rep gets `amount * share` (role `relationship`)
and the seller `amount - amount * share` (role `seller`), exactly, so the two
lines always add up to the sale.

Example: a 1000.00 sale, share 0.30, latest qualifying contact by R2 ->
R2 relationship 300.0000, seller 700.0000.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, dec
from comp_calc.steps.params import attach_version, period_start_expr

def _active_on(day: pl.Expr, start: str = "start_date", end: str = "end_date") -> pl.Expr:
    return (pl.col(start) <= day) & (pl.col(end).is_null() | (pl.col(end) >= day))


def credit_lines(
    sales: pl.LazyFrame, contacts: pl.LazyFrame, reps: pl.LazyFrame, versions: pl.DataFrame, scales: Scales
) -> pl.LazyFrame:
    """Credit lines of `sales` (which carry an integer `sale_no`): line_no (attainment order), rep_id, role,
    sale_no, sale_id, customer_id, product, sold_on, cancelled_on, seller_id, contact_id, contacted_on, credited."""
    seller_plans = reps.select(pl.col("rep_id").alias("seller_id"), pl.col("plan"))
    kinds = versions.lazy().select("plan", "kind").unique()
    sales = (
        sales.rename({"rep_id": "seller_id"})
        .join(seller_plans, on="seller_id", how="left")
        .join(kinds, on="plan", how="left")
        .with_columns(seller_period_start=period_start_expr(pl.col("sold_on"), pl.col("kind")))
    )
    sales = attach_version(sales, versions.select("plan", "effective_from", "ob_channels", "ob_connected_only", "ob_window", "ob_share"), on="seller_period_start")

    contact_reps = reps.select(pl.col("rep_id").alias("contact_rep"), "start_date", "end_date")
    candidates = (
        sales.filter(pl.col("ob_share").is_not_null())
        .select("sale_id", "seller_id", "customer_id", "sold_on", "ob_channels", "ob_connected_only", "ob_window")
        .join(
            contacts.select(
                "contact_id", pl.col("rep_id").alias("contact_rep"), "customer_id", "contacted_on", "channel", "connected"
            ),
            on="customer_id",
        )
        .filter(
            pl.col("ob_channels").list.contains(pl.col("channel"))
            & (pl.col("connected") | ~pl.col("ob_connected_only"))
            & (pl.col("contacted_on") <= pl.col("sold_on"))
            & ((pl.col("sold_on") - pl.col("contacted_on")).dt.total_days() <= pl.col("ob_window"))
        )
        .join(contact_reps, on="contact_rep")
        .filter(_active_on(pl.col("sold_on")))
        .sort("sale_id", "contacted_on", "contact_id")
        .unique(subset="sale_id", keep="last")
        .select("sale_id", "contact_rep", "contact_id", "contacted_on")
    )

    c = scales.credited
    sales = sales.join(candidates, on="sale_id", how="left").with_columns(
        split=pl.col("contact_rep").is_not_null() & (pl.col("contact_rep") != pl.col("seller_id")),
    )
    relationship_part = pl.col("amount").cast(dec(c)) * pl.col("ob_share").cast(dec(c))
    common = ["sale_no", "sale_id", "customer_id", "product", "sold_on", "cancelled_on", "seller_id", "contact_id", "contacted_on"]
    seller_lines = sales.select(
        pl.col("seller_id").alias("rep_id"),
        pl.lit("seller").alias("role"),
        *common,
        pl.when(pl.col("split"))
        .then(pl.col("amount").cast(dec(c)) - relationship_part)
        .otherwise(pl.col("amount").cast(dec(c)))
        .alias("credited"),
    )
    relationship_lines = sales.filter(pl.col("split")).select(
        pl.col("contact_rep").alias("rep_id"),
        pl.lit("relationship").alias("role"),
        *common,
        relationship_part.alias("credited"),
    )
    # line_no: the attainment order (sold_on, sale_id, role) as one integer, so later
    # steps sort and join on it instead of on strings
    return (
        pl.concat([seller_lines, relationship_lines])
        .sort("sold_on", "sale_id", "role")
        .with_row_index("line_no")
        .with_columns(pl.col("line_no").cast(pl.Int64))
    )
