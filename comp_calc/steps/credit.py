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

Millions of sales meet a few thousand reps and a handful of plan versions, so
what a sale needs from those small tables is looked up by position (an integer
code per rep, per plan and month) rather than by joining on text.
"""

from __future__ import annotations

import polars as pl

from comp_calc.data.contract import CHANNELS
from comp_calc.periods import per_day
from comp_calc.steps.exact import Scales, dec
from comp_calc.steps.params import month_number

_OUTBOUND = ["ob_mask", "ob_connected_only", "ob_window", "ob_share"]


def _channel_bit(channel: pl.Expr) -> pl.Expr:
    """1, 2, 4, 8 for the channels of CHANNELS, so a plan's channels are one integer mask."""
    return channel.replace_strict({name: 1 << i for i, name in enumerate(CHANNELS)}, return_dtype=pl.Int64)


def outbound_by_month(versions: pl.DataFrame, plans: list[str], first_month: int, months: int) -> pl.DataFrame:
    """Row `plan code * months + (month - first_month)`: the outbound settings of the plan's
    version in force at the start of the period (of the plan's kind) holding that month.

    `ob_mask` has bit i set for each channel CHANNELS[i] the plan lists.
    """
    kinds = versions.select("plan", "kind").unique()
    grid = (
        pl.DataFrame({"plan": plans}, schema={"plan": pl.String})
        .with_row_index("plan_code")
        .join(pl.DataFrame({"m": pl.int_range(first_month, first_month + months, eager=True)}), how="cross")
        .join(kinds, on="plan", how="left")
        .with_columns(
            start_m=pl.when(pl.col("kind") == "quarter").then(pl.col("m") - pl.col("m") % 3).otherwise(pl.col("m"))
        )
        .with_columns(p_start=pl.date(pl.col("start_m") // 12, pl.col("start_m") % 12 + 1, 1))
        .sort("p_start")
    )
    settings = versions.select(
        "plan", "effective_from", "ob_connected_only", "ob_window", "ob_share",
        ob_mask=pl.col("ob_channels").list.eval(_channel_bit(pl.element())).list.sum().cast(pl.Int64),
    ).sort("effective_from")  # fmt: skip
    return (
        grid.join_asof(settings, left_on="p_start", right_on="effective_from", by="plan", strategy="backward", check_sortedness=False)
        .sort("plan_code", "m")
        .select(_OUTBOUND)
    )


def _in_sale_order(sales: pl.DataFrame) -> bool:
    """Whether the rows are already in (sold_on, sale_id) order (sale ids are unique)."""
    day, sale = pl.col("sold_on"), pl.col("sale_id")
    after = (day > day.shift(1)) | ((day == day.shift(1)) & (sale > sale.shift(1)))
    return bool(sales.lazy().select(after.fill_null(True).all()).collect().item())


# what a line says of its sale, as text: looked up by the line's `sale` (see `describe`)
DESCRIPTION = ["sale_id", "customer_id", "product"]
# the qualifying contacts of the sales that have one (see `coded_lines`): none
NO_MATCHES = pl.DataFrame(schema={"contact_id": pl.String, "seller_no": pl.Int64})


def describe(
    lines: pl.LazyFrame, sales: pl.DataFrame, matches: pl.DataFrame, rep_ids: pl.Series, columns: list[str] | None = None
) -> pl.LazyFrame:
    """`lines` (with rep_no, line_no and `sale`, a row of `sales`, see `coded_lines`) with their
    text: `rep_id` (of rep_no, a row of `rep_ids`), `role` (relationship for an even line_no,
    seller for an odd one), the sale's `DESCRIPTION` columns, `contact_id` (the sale's qualifying
    contact, null: none), `seller_no` and `seller_id`; or only `columns`.

    Lazy lookups: a query computes only the columns it reads, on the rows it keeps (a filter on
    other columns is applied first), so millions of lines need not carry their text. A line's
    seller is its own rep, but on a relationship line: that one is found in `matches`, a row per
    sale with a qualifying contact (the sale's `match`), as is the contact, so that no text
    column of every sale holds them.
    """
    match = pl.lit(sales["match"]).gather(pl.col("sale"))
    seller_no = pl.when(pl.col("line_no") % 2 == 1).then(pl.col("rep_no")).otherwise(pl.lit(matches["seller_no"]).gather(match))
    looked_up = {
        "rep_id": pl.lit(rep_ids).gather(pl.col("rep_no")),
        "role": pl.when(pl.col("line_no") % 2 == 0).then(pl.lit("relationship")).otherwise(pl.lit("seller")),
        **{c: pl.lit(sales[c]).gather(pl.col("sale")) for c in DESCRIPTION},
        "contact_id": pl.lit(matches["contact_id"]).gather(match),
        "seller_no": seller_no,
        "seller_id": pl.lit(rep_ids).gather(seller_no),
    }
    return lines.with_columns(v.alias(c) for c, v in looked_up.items() if columns is None or c in columns)


def coded_lines(
    sales: pl.LazyFrame,
    contacts: pl.LazyFrame,
    reps: pl.DataFrame,
    versions: pl.DataFrame,
    scales: Scales,
    first_sale: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(credit lines of `sales` in attainment order, the sales they come from, the matches).

    `reps` is sorted by rep_id and has `rep_no` = its row number. The lines' columns: line_no,
    rep_no, `sale` (the sale's row in the sales returned), amount, sold_on, cancelled_on,
    currency (when the sales have it), credited, in the sale's currency
    (`steps.currency` prices it in the receiving rep's). No text: the sales returned (in sale
    order, with `DESCRIPTION` and `match`, the sale's row of the matches or null) and the matches
    (contact_id and seller_no of each sale with a qualifying contact) give it, `describe` looks it up.

    line_no is the attainment order (sold_on, sale_id, role) as one integer: sales are
    numbered in (sold_on, sale_id) order, and a sale's lines get 2n (relationship, which
    sorts first) and 2n + 1 (seller), so no later step sorts or joins on strings. The
    first sale is number `first_sale`: sales credited in turn, period by period, keep
    one numbering (every sale of an earlier turn sorts before this turn's).

    Not lazy inside: it collects the sales and the contacts (to check the order and to
    look reps and settings up by position) and builds the lines in one pass (`_lines`).
    """
    rep_ids = reps["rep_id"]
    code = lambda col: pl.col(col).cast(pl.Enum(rep_ids)).to_physical().cast(pl.Int64)  # noqa: E731 - rep_no of a rep_id
    plans = reps["plan"].unique().sort()
    rep_plan = reps.select(pl.col("plan").cast(pl.Enum(plans)).to_physical().cast(pl.Int64))["plan"]

    # one chunk per column (the in-memory engine does not split frames into morsels): the sales
    # are gathered into lines below, and eager steps follow
    sales = sales.collect(engine="in-memory")
    if not _in_sale_order(sales):  # exports are often in date and id order already: no copy then
        sales = sales.sort("sold_on", "sale_id")
    sales = sales.with_columns(seller_no=code("rep_id")).rename({"rep_id": "seller_id"})
    days = sales["sold_on"]
    first_month = days.min().year * 12 + days.min().month - 1 if sales.height else 0
    months = days.max().year * 12 + days.max().month - first_month if sales.height else 1
    outbound = outbound_by_month(versions, plans.to_list(), first_month, months)
    version_row = rep_plan.gather(sales["seller_no"]) * months + _month_index(days, first_month)
    sales = pl.concat([sales, outbound.select(pl.all().gather(version_row))], how="horizontal")

    contact_reps = reps.select("start_date", "end_date")
    contacts = contacts.select(
        "contact_id", "customer_id", "contacted_on", "connected",
        contact_no=code("rep_id"), channel_bit=_channel_bit(pl.col("channel")),
    ).collect()  # fmt: skip
    contacts = pl.concat([contacts, contact_reps.select(pl.all().gather(contacts["contact_no"]))], how="horizontal")
    sold = pl.col("sold_on")
    matches = (  # the latest qualifying contact of each sale that has one
        sales.lazy()
        .with_row_index("sale_order")
        .filter(pl.col("ob_share").is_not_null())
        .select("sale_order", "customer_id", "sold_on", *_OUTBOUND)
        .join(contacts.lazy(), on="customer_id")
        .filter(
            ((pl.col("ob_mask") & pl.col("channel_bit")) != 0)
            & (pl.col("connected") | ~pl.col("ob_connected_only"))
            & (pl.col("contacted_on") <= sold)
            & ((sold - pl.col("contacted_on")).dt.total_days() <= pl.col("ob_window"))
            # the contact's rep is active on the sale day
            & (pl.col("start_date") <= sold)
            & (pl.col("end_date").is_null() | (pl.col("end_date") >= sold))
        )
        .sort("sale_order", "contacted_on", "contact_id")
        .unique(subset="sale_order", keep="last")
        .select(sale=pl.col("sale_order").cast(pl.Int64), contact_no="contact_no", contact_id="contact_id")
        .sort("sale")
        .collect()
    )
    matches = matches.with_columns(seller_no=sales["seller_no"].gather(matches["sale"]))
    # split: a contact by another rep than the seller; marked on the sales by position
    relationship = matches.filter(pl.col("contact_no") != pl.col("seller_no"))
    split = pl.repeat(False, sales.height, eager=True).scatter(relationship["sale"], True)
    lines = _lines(sales, split, relationship["contact_no"], scales, first_sale)
    match = pl.repeat(None, sales.height, dtype=pl.UInt32, eager=True).scatter(matches["sale"], pl.int_range(matches.height, dtype=pl.UInt32, eager=True))
    return lines, sales.select(*DESCRIPTION, match=match), matches.select("contact_id", "seller_no")


def _month_index(days: pl.Series, first_month: int) -> pl.Series:
    """`month_number` of each day minus `first_month`."""
    return days.to_frame("day").select(per_day(pl.col("day"), month_number) - first_month).to_series()


def _lines(sales: pl.DataFrame, split: pl.Series, contact_reps: pl.Series, scales: Scales, first_sale: int) -> pl.DataFrame:
    """The credit lines of `sales` (in sale order, with `seller_no` and the outbound settings) in
    line order, `split` marking the sales split with a relationship line, whose reps are
    `contact_reps` (the contacts' rep_no, in sale order), built in one pass: each column
    a line takes from its sale is gathered once into line order (a split sale's relationship
    line first, then its seller line), or taken as it is when no sale is split."""
    n = sales.height
    c = scales.credited
    common = ["amount", "sold_on", "cancelled_on"]
    common += ["currency"] if "currency" in sales.columns else []  # the sale's, as written (null: the seller's plan's)
    sale_no = pl.int_range(n, dtype=pl.Int64, eager=True)
    whole = sales.select(pl.col("amount").cast(dec(c))).to_series()  # credited: the whole amount, unless split
    if not split.any():
        of_sale, frame, rep_no, line_no, credited = sale_no, sales.select(common), sales["seller_no"], 2 * (sale_no + first_sale) + 1, whole
    else:
        # a sale's seller line sits after every line of the sales before it and its own relationship line
        seller_at = sale_no + split.cast(pl.Int64).cum_sum()
        relationship_at = seller_at.filter(split) - 1
        split_sales = sale_no.filter(split)
        of_sale = pl.zeros(n + split_sales.len(), pl.Int64, eager=True).scatter(seller_at, sale_no).scatter(relationship_at, split_sales)
        frame = sales.select(pl.col(common).gather(of_sale))
        # every line the seller's, but the relationship lines the contact's
        rep_no = sales["seller_no"].gather(of_sale).scatter(relationship_at, contact_reps)
        line_no = (2 * (of_sale + first_sale) + 1).scatter(relationship_at, 2 * (split_sales + first_sale))
        # a split sale: amount * share to the relationship line, amount - amount * share to the seller line
        part = sales.filter(split).select(pl.col("amount").cast(dec(c)) * pl.col("ob_share").cast(dec(c))).to_series()
        credited = whole.gather(of_sale).scatter(relationship_at, part).scatter(seller_at.filter(split), whole.filter(split) - part)
    columns = [line_no.alias("line_no"), rep_no.alias("rep_no"), of_sale.alias("sale"), *frame.get_columns(), credited.alias("credited")]
    return pl.DataFrame(columns)


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
