"""Step 4c, activity bonus (SPEC 6.3): an outbound activity quota and its value-weighted fix.

For a rep active in the period whose plan version (in force at the period's start) has
`activity`: count the rep's contacts dated in the period on days the rep is active, in
`channels`, connected if `connected_only`. With `min_customer_value`, a contact counts only
when its customer's value on the contact day is at least that, where the value is the sum
of the full `amount`s of the customer's sales (by any seller) with
`contacted_on - 365 <= sold_on <= contacted_on - 1` and not cancelled on or before
`contacted_on`, each in the contacting rep's currency at its `sold_on` month's rate (see
`steps.currency`). With `distinct_customers`, each customer counts once per period. A count
>= `target` gives one `activity_bonus` line of `bonus` (even 0.00). Not prorated, not
capped; the balance (step 7) nets it.

Example: target 2, bonus 300.00, min_customer_value 1000. On 2026-03-10 the rep calls a
customer who bought 1000 on 2025-03-10 (365 days before: counts) and one who bought 5000 on
2025-03-09 (366 days before: value 0, left out); on 03-12 a customer who bought 2000 on
2026-01-05, cancelled 03-12 (cancelled on the contact day: value 0, left out). Count 1 < 2:
no line. One more call on 03-20 to the first customer: count 2 >= 2, a line of 300.00,
with 2 contacts left out for low value.

The customer value is found without comparing every contact with every sale: each sale adds
its amount to its customer's value from `sold_on + 1` to the day before it leaves the window
(`sold_on + 366`, or its `cancelled_on` when earlier). These +/- events, summed per customer
and day and accumulated in day order, give the value on any day; each contact takes the
running value of the last event day on or before it (an as-of join by customer).
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps import currency
from comp_calc.steps.exact import MONEY

KIND = "activity_bonus"
VALUE_DAYS = 365  # the value window: sales sold 1 to 365 days before the contact


def _sale_value(sales: pl.LazyFrame, targets: pl.LazyFrame | None, fx: pl.DataFrame | None) -> pl.LazyFrame:
    """What each sale adds to its customer's value, in the contacting rep's currency: rows of
    customer_id, `to` (the currency of the value; null with one currency), sale_id, currency,
    sold_on, cancelled_on and `value`.

    One currency (`fx` None): the amount. Else one row per sale and currency its customer's
    contacting reps are paid in (`targets`: customer_id, to): the amount times the rate of the
    sale's `sold_on` month from the sale's currency (resolved: see `steps.currency`) to that
    one (1 when the same); null when fx_rates.csv lacks the rate (`missing_value_rates`)."""
    if fx is None:
        written = {} if "currency" in sales.collect_schema().names() else {"currency": pl.lit(None, dtype=pl.String)}
        return sales.with_columns(to=pl.lit(None, dtype=pl.String), value=pl.col("amount"), **written)
    fx_scale = fx.schema["fx_rate"].scale
    scale = pl.Decimal(38, sales.collect_schema()["amount"].scale + fx_scale)
    # the order of the values does not matter (they are added up): only the sales in another
    # currency than the value's meet the rates
    return currency.join_rates_unordered(sales.join(targets, on="customer_id"), fx, "currency", "to", fx_scale).select(
        *sales.collect_schema().names(), "to",
        value=pl.when(pl.col("currency") == pl.col("to"))
        .then(pl.col("amount").cast(scale))
        .otherwise(pl.col("amount").cast(scale) * pl.col("fx_rate").cast(scale)),  # exact: see `exact`
    )  # fmt: skip


def _spans(contacts: pl.LazyFrame, sales: pl.LazyFrame, fx: pl.DataFrame | None) -> pl.LazyFrame:
    """Each sale's value span for the contacted customers: customer_id, to, sale_id, currency,
    sold_on, value, `start` (first day it counts) and `stop` (first day it no longer does)."""
    start = pl.col("sold_on") + pl.duration(days=1)  # first day the sale counts
    leaves = pl.col("sold_on") + pl.duration(days=VALUE_DAYS + 1)  # first day it no longer counts
    stop = pl.min_horizontal(leaves, pl.col("cancelled_on").fill_null(leaves))  # cancelled on or before: gone
    # only the customers contacted need a value (with `fx`, the join with their currencies keeps only them)
    targets = None if fx is None else contacts.select("customer_id", to="currency").unique()
    if fx is None:
        sales = sales.join(contacts.select("customer_id").unique(), on="customer_id", how="semi")
    return (
        _sale_value(sales, targets, fx)
        .select("customer_id", "to", "sale_id", "currency", "sold_on", "value", start.alias("start"), stop.alias("stop"))
        .filter(pl.col("stop") > pl.col("start"))  # a sale cancelled on its sale day or the next never counts
    )


def customer_values(contacts: pl.LazyFrame, sales: pl.LazyFrame, fx: pl.DataFrame | None = None) -> pl.LazyFrame:
    """`contacts` (with customer_id, contacted_on; with `fx`, also `currency`, the contacting rep's)
    with `customer_value`: the customer's value on the contact day (see the module docstring), 0
    when the customer has none. Exact decimals. With `fx` the sales carry their (resolved)
    `currency` and values are per (customer, contacting rep's currency)."""
    # each is read twice below: collected once (a lazy plan would compute it for each reading)
    contacts = contacts.collect().lazy()
    spans = _spans(contacts, sales, fx).collect().lazy()
    keys = ["customer_id"] if fx is None else ["customer_id", "to"]
    events = pl.concat(
        [
            spans.select(*keys, pl.col("start").alias("day"), "value"),
            spans.select(*keys, pl.col("stop").alias("day"), (-pl.col("value")).alias("value")),
        ]
    )
    # in day order, each customer's running sum of its events is its value from that day on
    # (a window over the customers: sorting by customer and day is slower)
    running = (
        events.group_by(*keys, "day")
        .agg(pl.col("value").sum())
        .sort("day")
        .select(*keys, "day", running=pl.col("value").cum_sum().over(keys))
    )
    if fx is not None:
        running = running.rename({"to": "currency"})
        keys = ["customer_id", "currency"]
    zero = pl.lit(0, dtype=MONEY)
    return (
        contacts.sort("contacted_on")
        .join_asof(running, left_on="contacted_on", right_on="day", by=keys, strategy="backward", check_sortedness=False)
        .with_columns(customer_value=pl.col("running").fill_null(zero))
        .drop("day", "running")
    )


def missing_value_rates(grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, fx: pl.DataFrame) -> pl.LazyFrame:
    """The rates a customer value needs and fx_rates.csv lacks: (sale_id, sale_currency,
    rep_currency, month) of each sale in the value window of a contact that a
    `min_customer_value` quota weighs, by a rep paid in another currency than the sale's."""
    placed = _placed(grid, contacts).filter(pl.col("act_min_value").is_not_null())
    spans = _spans(placed, sales, fx).filter(pl.col("value").is_null())
    days = placed.select("customer_id", to="currency", day="contacted_on").sort("day")
    # the first contact of the customer by a rep of that currency on or after the span's start
    first = spans.sort("start").join_asof(days, left_on="start", right_on="day", by=["customer_id", "to"], strategy="forward",
                                          check_sortedness=False)
    return first.filter(pl.col("day") < pl.col("stop")).select(
        "sale_id", sale_currency="currency", rep_currency="to", month=pl.col("sold_on").dt.truncate("1mo")
    )


def _placed(grid: pl.LazyFrame, contacts: pl.LazyFrame) -> pl.LazyFrame:
    """Each contact of a rep active under a version with `activity`, on a day the rep is active,
    in a listed channel, connected if required, with the rep-period's `act_*` columns and the
    rep's plan `currency`."""
    keyed = (
        grid.filter(pl.col("active") & pl.col("has_activity").fill_null(False))
        .select(
            "rep_id", "rep_no", "p_start", "p_end", "start_date", "end_date",
            "act_channels", "act_connected_only", "act_distinct", "act_min_value", "currency",
        )  # fmt: skip
        .sort("p_start")
    )
    # each contact meets its rep's period by an as-of join on the period start: one row per contact
    return (
        contacts.select("contact_id", "rep_id", "customer_id", "contacted_on", "channel", "connected")
        .sort("contacted_on")
        .join_asof(keyed, left_on="contacted_on", right_on="p_start", by="rep_id", strategy="backward", check_sortedness=False)
        .filter(
            (pl.col("contacted_on") <= pl.col("p_end"))
            & (pl.col("contacted_on") >= pl.col("start_date"))
            & (pl.col("end_date").is_null() | (pl.col("contacted_on") <= pl.col("end_date")))
            & pl.col("act_channels").str.split(",").list.contains(pl.col("channel"))
            & (pl.col("connected") | ~pl.col("act_connected_only"))
        )
    )


def counted_contacts(
    grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, *, values: bool, fx: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """The contacts that count toward the quota of their rep's period: rep_id, rep_no, p_start,
    contact_id, customer_id, contacted_on, `customer_value` (with `values`, else null) and
    `low_value` (left out because the customer is worth less than `act_min_value`). With
    `distinct_customers`, only the first counted contact of each customer in the period
    (by contacted_on, contact_id) is kept; contacts left out for low value are all kept.

    `grid` has rep_id, rep_no, p_start, p_end, start_date, end_date, active and the
    `act_*` version columns (see `params.ACTIVITY_SCHEMA`)."""
    placed = _placed(grid, contacts)
    if values:
        placed = customer_values(placed, sales, fx)
    else:
        placed = placed.with_columns(customer_value=pl.lit(None, dtype=MONEY))
    low = pl.col("act_min_value").is_not_null() & (pl.col("customer_value") < pl.col("act_min_value"))
    placed = placed.with_columns(low_value=low.fill_null(False))
    # distinct customers: of a customer's counted contacts in the period, the first stands for all
    repeat = (
        pl.col("act_distinct")
        & ~pl.col("low_value")
        & (pl.int_range(pl.len()).over("rep_no", "p_start", "customer_id", "low_value", order_by=["contacted_on", "contact_id"]) > 0)
    )
    return placed.filter(~repeat).select(
        "rep_id", "rep_no", "p_start", "contact_id", "customer_id", "contacted_on", "customer_value", "low_value"
    )


def activity_lines(
    grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, values: bool = True, fx: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """One `activity_bonus` line per rep-period whose count reaches the target: rep_id, rep_no,
    p_start, kind, amount, and for the explanation `activity_count`, `activity_target`,
    `activity_left_out` (contacts left out for low customer value; null without
    `min_customer_value`) and `activity_min_value`.

    `values` False skips the customer values (no plan version has `min_customer_value`). `fx`
    (the rates of `steps.currency.rate_table`; None: one currency) converts each sale into the
    contacting rep's currency; the sales then carry their resolved `currency`."""
    settings = grid.select("rep_no", "p_start", "act_target", "act_bonus", "act_min_value")
    counts = (
        counted_contacts(grid, contacts, sales, values=values, fx=fx)
        .group_by("rep_no", "p_start")
        .agg(
            pl.first("rep_id"),
            activity_count=(~pl.col("low_value")).sum().cast(pl.Int64),
            activity_left_out=pl.col("low_value").sum().cast(pl.Int64),
        )
    )
    return (
        counts.join(settings, on=["rep_no", "p_start"])
        .filter(pl.col("activity_count") >= pl.col("act_target"))
        .select(
            "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"), pl.col("act_bonus").cast(MONEY).alias("amount"),
            "activity_count", pl.col("act_target").alias("activity_target"),
            pl.when(pl.col("act_min_value").is_not_null()).then(pl.col("activity_left_out")).alias("activity_left_out"),
            pl.col("act_min_value").alias("activity_min_value"),
        )  # fmt: skip
    )
