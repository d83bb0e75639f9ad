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

A sale counts toward its customer's value from `sold_on + 1` to the day before it leaves the
window (`sold_on + 366`, or its `cancelled_on` when earlier). The values are found in one of
two ways that give the same frame, after keeping only the contacted customers' sales:
- pairs: each contact meets each sale of its customer, keeps those counting on its day and
  adds them up. Cheap while contacts and sales share customers sparsely (the usual case).
- events: without comparing every contact with every sale, each sale adds its value on its
  first day and takes it back on the day it leaves. These +/- events, summed per customer and
  day and accumulated in day order, give the value on any day; each contact takes the running
  value of the last event day on or before it (an as-of join by customer). Taken when the
  pairs would outnumber the contacts and sales by more than PAIR_BOUND to one (a customer with
  thousands of sales and contacts), so no customer blows up into a contact x sale product.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps import currency
from comp_calc.steps.exact import MONEY

KIND = "activity_bonus"
VALUE_DAYS = 365  # the value window: sales sold 1 to 365 days before the contact


# Pairs or events (module docstring). A customer with n contacts and m sales gives n * m pairs
# for n + m rows, so pairs cost what the data's shape makes them cost, the events what its size
# does (a sort of the rows). Past PAIR_BOUND pairs per row (contact or sale of a contacted
# customer) the events are taken: the pairs never exceed a few times the inputs' size, however
# many sales and contacts one customer has. Usual data stays well below (the benchmark's 1M
# contacts and the 2.5M sales of their customers make 2.8M pairs: 0.8 per row), where pairs
# are about 4 times cheaper.
PAIR_BOUND = 4
# the rates a customer value needs and fx_rates.csv lacks (`missing_value_rates`)
MISSING_SCHEMA = {"sale_id": pl.String, "sale_currency": pl.String, "rep_currency": pl.String, "month": pl.Date}
_START = pl.col("sold_on") + pl.duration(days=1)  # the first day a sale counts
_LEAVES = pl.col("sold_on") + pl.duration(days=VALUE_DAYS + 1)  # the first day it no longer counts
_STOP = pl.min_horizontal(_LEAVES, pl.col("cancelled_on").fill_null(_LEAVES))  # cancelled on or before: gone


def _with_value(lines: pl.LazyFrame, fx: pl.DataFrame | None) -> pl.LazyFrame:
    """`lines` (sales, or pairs of a sale and a contact, with currency, amount and sold_on; with
    `fx`, `to`: the contacting rep's currency) with `value`, what the sale adds to its customer's
    value. One currency (`fx` None): the amount. Else the amount times the rate of the sale's
    `sold_on` month from the sale's currency (resolved: see `steps.currency`) to `to` (1 when the
    same); null when fx_rates.csv lacks the rate. The order of the lines is not kept."""
    if fx is None:
        return lines.with_columns(value=pl.col("amount"))
    fx_scale = fx.schema["fx_rate"].scale
    scale = pl.Decimal(38, lines.collect_schema()["amount"].scale + fx_scale)
    # the values are added up, so their order does not matter: only the lines in another
    # currency than the value's meet the rates
    return (
        currency.join_rates_unordered(lines, fx, "currency", "to", fx_scale)
        .with_columns(
            value=pl.when(pl.col("currency") == pl.col("to"))
            .then(pl.col("amount").cast(scale))
            .otherwise(pl.col("amount").cast(scale) * pl.col("fx_rate").cast(scale))  # exact: see `exact`
        )
        .drop("_other", "fx_rate")
    )


def customer_values(contacts: pl.LazyFrame, sales: pl.LazyFrame, pricing: currency.Pricing | None = None) -> pl.LazyFrame:
    """`contacts` (with customer_id, contacted_on; with `pricing`, also `currency`, the contacting
    rep's) with `customer_value`: the customer's value on the contact day (see the module
    docstring), 0 when the customer has none; in `contacted_on` order (ties in their order).
    Exact decimals. `pricing` (None: one currency) converts each sale, its currency resolved
    (`currency.with_sale_currency`), into the contact's currency."""
    return _values(contacts, sales, pricing)[0]


def _values(contacts: pl.LazyFrame, sales: pl.LazyFrame, pricing: currency.Pricing | None) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """`customer_values`, and the rates they need and fx_rates.csv lacks (MISSING_SCHEMA: each
    sale in the value window of one of `contacts` by a rep paid in another currency whose rate
    is missing; none without `pricing`), by pairs or by events (see the module docstring)."""
    ordered = contacts.with_row_index("_k").sort("contacted_on", maintain_order=True).collect()
    customers = ordered.group_by("customer_id").agg(_n=pl.len().cast(pl.Int64))  # (a UInt32 sum would wrap past 4e9 pairs)
    # only the contacted customers' sales (a filter: cheaper than a join over millions of sales),
    # their currencies resolved once they are few
    theirs = sales.filter(pl.col("customer_id").is_in(customers["customer_id"].implode()))
    fx = None
    if pricing is not None:
        fx = pricing.fx
        theirs = currency.with_sale_currency(theirs, pricing.reps, pricing.currencies)
    theirs = (
        theirs.select("customer_id", "sale_id", "amount", "sold_on", "cancelled_on", *(["currency"] if fx is not None else []))
        .join(customers.lazy(), on="customer_id")
        .collect()
    )
    pairs = theirs["_n"].sum()  # each sale meets each contact of its customer
    theirs = theirs.drop("_n")
    if pairs > PAIR_BOUND * (ordered.height + theirs.height):
        return _event_values(ordered, theirs.lazy(), fx)
    return _pair_values(ordered, theirs.lazy(), fx)


def _pair_values(ordered: pl.DataFrame, sales: pl.LazyFrame, fx: pl.DataFrame | None) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """`_values` by pairs: `ordered` are the contacts with their row number `_k` in their final
    order, `sales` those of their customers."""
    day = pl.col("contacted_on")
    pairs = _with_value(sales.join(_keyed(ordered, fx), on="customer_id").filter((_START <= day) & (day < _STOP)), fx).collect()
    running = pairs.lazy().group_by("_k").agg(running=pl.col("value").sum())
    if fx is None:
        return _valued(ordered, running), pl.DataFrame(schema=MISSING_SCHEMA)
    return _valued(ordered, running), currency.as_missing(pairs.filter(pl.col("value").is_null()), "currency", "to")


def _event_values(ordered: pl.DataFrame, sales: pl.LazyFrame, fx: pl.DataFrame | None) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """`_values` by events (arguments as `_pair_values`)."""
    if fx is None:
        values = _with_value(sales.with_columns(to=pl.lit(None, dtype=pl.String), currency=pl.lit(None, dtype=pl.String)), fx)
    else:  # a value per sale and currency its customer's contacting reps are paid in
        values = _with_value(sales.join(ordered.lazy().select("customer_id", to="currency").unique(), on="customer_id"), fx)
    # read twice below: collected once (a lazy plan would compute it for each reading)
    spans = (
        values.select("customer_id", "to", "sale_id", "currency", "sold_on", "value", start=_START, stop=_STOP)
        .filter(pl.col("stop") > pl.col("start"))  # a sale cancelled on its sale day or the next never counts
        .collect()
        .lazy()
    )
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
    contacts = _keyed(ordered, fx)
    found = contacts.join_asof(running, left_on="contacted_on", right_on="day", by=keys, strategy="backward",
                               check_sortedness=False)
    valued = _valued(ordered, found.select("_k", "running"))
    if fx is None:
        return valued, pl.DataFrame(schema=MISSING_SCHEMA)
    # a missing rate matters when a contact of the customer by a rep of that currency falls in the
    # span: the first on or after the span's start, if before its stop
    days = contacts.select("customer_id", "to", day="contacted_on")
    first = (
        spans.filter(pl.col("value").is_null())
        .sort("start")
        .join_asof(days, left_on="start", right_on="day", by=keys, strategy="forward", check_sortedness=False)
    )
    return valued, currency.as_missing(first.filter(pl.col("day") < pl.col("stop")), "currency", "to").collect()


def _keyed(ordered: pl.DataFrame, fx: pl.DataFrame | None) -> pl.LazyFrame:
    """What a contact's value depends on: `_k`, customer_id, contacted_on and with `fx` its currency as `to`."""
    return ordered.lazy().select("_k", "customer_id", "contacted_on", *([pl.col("currency").alias("to")] if fx is not None else []))


def _valued(ordered: pl.DataFrame, running: pl.LazyFrame) -> pl.LazyFrame:
    """`ordered` (contacts with their row number `_k`) in their order with `customer_value`: the
    `running` of their `_k` (the value found), 0 when none."""
    zero = pl.lit(0, dtype=MONEY)
    return (
        ordered.lazy()
        .join(running, on="_k", how="left", maintain_order="left")
        .with_columns(customer_value=pl.col("running").fill_null(zero))
        .drop("_k", "running")
    )


def missing_value_rates(
    grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, pricing: currency.Pricing
) -> pl.LazyFrame:
    """The rates a customer value needs and fx_rates.csv lacks (MISSING_SCHEMA: sale_id,
    sale_currency, rep_currency, month) of each sale in the value window of a contact that a
    `min_customer_value` quota weighs, by a rep paid in another currency than the sale's."""
    return _weighed(_placed(grid, contacts), sales, pricing)[1].lazy()


def _weighed(placed: pl.LazyFrame, sales: pl.LazyFrame, pricing: currency.Pricing | None) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """`placed` (`_placed`) with `customer_value` for the contacts a `min_customer_value` quota
    weighs (null for the others: nothing reads it), and the rates those values need and
    fx_rates.csv lacks (see `_values`)."""
    weighs = pl.col("act_min_value").is_not_null()
    placed = placed.collect().lazy()  # read twice
    valued, missing = _values(placed.filter(weighs), sales, pricing)
    others = placed.filter(~weighs).with_columns(customer_value=pl.lit(None, dtype=valued.collect_schema()["customer_value"]))
    return pl.concat([valued, others]), missing


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
    grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, *, values: bool, pricing: currency.Pricing | None = None
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
        placed = customer_values(placed, sales, pricing)
    else:
        placed = placed.with_columns(customer_value=pl.lit(None, dtype=MONEY))
    return _counted(placed)


def _counted(placed: pl.LazyFrame) -> pl.LazyFrame:
    """`counted_contacts` of the placed contacts (`_placed`) with their `customer_value`."""
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
    grid: pl.LazyFrame, contacts: pl.LazyFrame, sales: pl.LazyFrame, values: bool = True, pricing: currency.Pricing | None = None
) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """One `activity_bonus` line per rep-period whose count reaches the target: rep_id, rep_no,
    p_start, kind, amount, and for the explanation `activity_count`, `activity_target`,
    `activity_left_out` (contacts left out for low customer value; null without
    `min_customer_value`) and `activity_min_value`; and the rates the customer values need and
    fx_rates.csv lacks (as `missing_value_rates`: found with the values, not again).

    `values` False skips the customer values (no plan version has `min_customer_value`).
    `pricing` (None: one currency) converts each sale into the contacting rep's currency at its
    `sold_on` month's rate, the sale's currency resolved (`currency.with_sale_currency`)."""
    placed = _placed(grid, contacts)
    if values:  # only the contacts a quota weighs by value need theirs
        placed, missing = _weighed(placed, sales, pricing)
    else:
        placed, missing = placed.with_columns(customer_value=pl.lit(None, dtype=MONEY)), pl.DataFrame(schema=MISSING_SCHEMA)
    settings = grid.select("rep_no", "p_start", "act_target", "act_bonus", "act_min_value")
    counts = (
        _counted(placed)
        .group_by("rep_no", "p_start")
        .agg(
            pl.first("rep_id"),
            activity_count=(~pl.col("low_value")).sum().cast(pl.Int64),
            activity_left_out=pl.col("low_value").sum().cast(pl.Int64),
        )
    )
    lines = (
        counts.join(settings, on=["rep_no", "p_start"])
        .filter(pl.col("activity_count") >= pl.col("act_target"))
        .select(
            "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"), pl.col("act_bonus").cast(MONEY).alias("amount"),
            "activity_count", pl.col("act_target").alias("activity_target"),
            pl.when(pl.col("act_min_value").is_not_null()).then(pl.col("activity_left_out")).alias("activity_left_out"),
            pl.col("act_min_value").alias("activity_min_value"),
        )  # fmt: skip
    )
    return lines, missing
