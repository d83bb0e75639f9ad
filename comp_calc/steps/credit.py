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
    """Credit lines of `sales`, in attainment order.

    `reps` has an integer `rep_no` (rep_id order). Columns: line_no, rep_id, rep_no, role,
    sale_id, customer_id, product, amount, sold_on, cancelled_on, seller_id,
    contact_id, contacted_on, credited.

    line_no is the attainment order (sold_on, sale_id, role) as one integer: sales are
    numbered in (sold_on, sale_id) order, and a sale's lines get 2n (relationship, which
    sorts first) and 2n + 1 (seller), so no later step sorts or joins on strings.
    """
    seller_plans = reps.select(pl.col("rep_id").alias("seller_id"), pl.col("rep_no").alias("seller_no"), pl.col("plan"))
    kinds = versions.lazy().select("plan", "kind").unique()
    sales = (
        sales.sort("sold_on", "sale_id")
        .with_columns(sale_order=pl.int_range(pl.len(), dtype=pl.Int64))
        .rename({"rep_id": "seller_id"})
        .join(seller_plans, on="seller_id", how="left", maintain_order="left")
        .join(kinds, on="plan", how="left", maintain_order="left")
        .with_columns(seller_period_start=period_start_expr(pl.col("sold_on"), pl.col("kind")))
    )
    outbound = versions.select("plan", "effective_from", "ob_channels", "ob_connected_only", "ob_window", "ob_share")
    # collected once: the contact match and both kinds of line read it
    sales = attach_version(sales, outbound, on="seller_period_start").collect().lazy()

    contact_reps = reps.select(pl.col("rep_id").alias("contact_rep"), pl.col("rep_no").alias("contact_no"), "start_date", "end_date")
    candidates = (
        sales.filter(pl.col("ob_share").is_not_null())
        .select("sale_order", "customer_id", "sold_on", "ob_channels", "ob_connected_only", "ob_window")
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
        .sort("sale_order", "contacted_on", "contact_id")
        .unique(subset="sale_order", keep="last")
        .select("sale_order", "contact_rep", "contact_no", "contact_id", "contacted_on")
    )

    c = scales.credited
    sales = sales.join(candidates, on="sale_order", how="left", maintain_order="left").with_columns(
        split=pl.col("contact_rep").is_not_null() & (pl.col("contact_rep") != pl.col("seller_id")),
    )
    relationship_part = pl.col("amount").cast(dec(c)) * pl.col("ob_share").cast(dec(c))
    common = ["sale_id", "customer_id", "product", "amount", "sold_on", "cancelled_on", "seller_id", "contact_id", "contacted_on"]
    seller_lines = sales.select(
        (2 * pl.col("sale_order") + 1).alias("line_no"),
        pl.col("seller_id").alias("rep_id"),
        pl.col("seller_no").alias("rep_no"),
        pl.lit("seller").alias("role"),
        *common,
        pl.when(pl.col("split"))
        .then(pl.col("amount").cast(dec(c)) - relationship_part)
        .otherwise(pl.col("amount").cast(dec(c)))
        .alias("credited"),
    )
    relationship_lines = sales.filter(pl.col("split")).select(
        (2 * pl.col("sale_order")).alias("line_no"),
        pl.col("contact_rep").alias("rep_id"),
        pl.col("contact_no").alias("rep_no"),
        pl.lit("relationship").alias("role"),
        *common,
        relationship_part.alias("credited"),
    )
    return pl.concat([seller_lines, relationship_lines]).sort("line_no")


def unbalanced_sales(credit_lines: pl.DataFrame, sales: int) -> int:
    """How many of the `sales` sales are not exactly covered by their credit lines (0 when all add up).

    Lines are in line_no order, so a sale's one or two lines are adjacent (line_no // 2
    is the sale's number); each sale's first line plus a second one of the same sale
    must equal the amount, and every sale must have a line. No hashing, no group_by.
    """
    order = pl.col("line_no") // 2
    zero = pl.lit(0, dtype=credit_lines.schema["credited"])
    pair = pl.col("credited") + pl.when(order.shift(-1) == order).then(pl.col("credited").shift(-1)).otherwise(zero)
    first = order.shift(1).is_null() | (order.shift(1) != order)
    checked = (
        credit_lines.lazy()
        .select(ok=pair == pl.col("amount"), first=first)
        .filter(pl.col("first"))
        .select(n=pl.len().cast(pl.Int64), bad=(~pl.col("ok")).sum().cast(pl.Int64))
        .collect()
    )
    n, bad = checked.row(0)
    return bad + abs(sales - n)
