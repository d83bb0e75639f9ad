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

Currencies: the net is priced from each line's own part of the sale, in the sale's currency,
at the rate for M's currency; never from R's credit in R's currency. M on a GBP plan, R on
a EUR plan selling 1000.00 USD in 2026-03 (USD->GBP 0.79): R's net for M is
1000.00 * 0.79 = 790.0000, whatever the USD->EUR rate; a rate fx_rates.csv lacks is an
input error (`missing_rates`), also when only the override needs it.

The hierarchy is resolved with joins over the small reps table (`reporting_lines`); the
net credits are sums over the credit lines, taken turn by turn as the engine builds them
(`net_credit`, added up across turns by `add_up`), so a run that reads its sales period
by period gives the same sums as one that holds them all.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.periods import per_day
from comp_calc.steps import currency
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
    """(rep_no, currency, p_start): each report whose credit some manager overrides in the
    period starting `p_start`, with that manager's currency (one row per distinct currency):
    the net credits `net_credit` adds up, and the only ones whose rates are needed."""
    managers = wanted(grid).select(manager_no="rep_no", levels="ov_levels", currency="currency", p_start="p_start").unique()
    return (
        pairs.lazy()
        .join(managers, on="manager_no")
        .filter(pl.col("depth") <= pl.col("levels"))
        .select(rep_no="report_no", currency="currency", p_start="p_start")
        .unique()
        .sort("rep_no", "currency", "p_start")
        .collect()
    )


def _signed(lines: pl.LazyFrame, reports: pl.DataFrame, kind: str, first: date, pricing: currency.Pricing | None, *described) -> pl.LazyFrame:
    """The terms of the net credits, from `lines` (each with rep_no, `_from`, its sale's currency,
    sold_on, cancelled_on and credited, in the sale's currency): per line and manager currency, +
    the line in the period of its `sold_on`, - the line in the period of its `cancelled_on` (null:
    not cancelled, or after the run), each in the manager's currency (`in_manager_currency`), kept
    only for the (report, currency, period) of `reports`. Columns rep_no, currency, p_start, net,
    `priced` (false: fx_rates.csv lacks the rate, `net` is null) and the `described` columns (of a
    line joined with the manager's currency, `_to`)."""
    to = reports.select("rep_no", _to="currency").unique().lazy()
    lines = lines.join(to, on="rep_no")  # the manager's currency
    if pricing is not None:
        lines = currency.join_rates_unordered(lines, pricing.fx, "_from", "_to", pricing.scales.fx)
    lines = lines.collect().lazy()  # read twice below: computed once (a lazy plan would compute it for each)
    value = in_manager_currency(pricing)
    priced = (value.is_not_null()).alias("priced")
    sold = lines.select("rep_no", pl.col("_to").alias("currency"), period_start(pl.col("sold_on"), kind).alias("p_start"), value.alias("net"), *described, priced)
    cancelled = lines.filter(pl.col("cancelled_on").is_not_null()).select(
        "rep_no", pl.col("_to").alias("currency"), period_start(pl.col("cancelled_on"), kind).alias("p_start"), (-value).alias("net"), *described, priced
    )
    return pl.concat([sold, cancelled]).filter(pl.col("p_start") >= first).join(reports.lazy(), on=["rep_no", "currency", "p_start"])


def _report_lines(credit_lines: pl.LazyFrame, reports: pl.DataFrame, pricing: currency.Pricing | None) -> pl.LazyFrame:
    """The credit lines of the reports of `reports` (the others add to no net credit), with `_from`,
    their sale's currency (null: one currency)."""
    columns = credit_lines.collect_schema().names()
    frm = pl.lit(None, dtype=pl.String) if pricing is None else currency.sale_currency(columns, pricing.reps, pricing.currencies)
    return credit_lines.filter(pl.col("rep_no").is_in(reports["rep_no"].unique().implode())).with_columns(_from=frm)


def in_manager_currency(pricing: currency.Pricing | None) -> pl.Expr:
    """A credit line's `amount * part * fx(sale currency -> manager's currency, month of sold_on)`,
    on a credit line of step 1 (whose `credited` is `amount * part` in the sale's currency) joined
    with the manager's currency and, when converting, its rate (`steps.currency.join_rates`): the
    line's credit times the rate of fx_rates.csv, exact at `scales.credited` (null when the rate
    is missing), never the report's converted credit times another rate. `pricing` None: one
    currency, the line's credit as it is."""
    if pricing is None:
        return pl.col("credited")
    return currency.converted(pl.col("credited"), pricing.scales)


def net_credit(
    credit_lines: pl.LazyFrame, reports: pl.DataFrame, kind: str, first: date, pricing: currency.Pricing | None = None
) -> pl.LazyFrame:
    """Per (rep_no, currency, p_start) of `reports` (`report_currencies`), in periods of `kind`
    from `first` on: what `credit_lines` add to the report's net credit, in the manager's
    currency: + each line in the period of its `sold_on`, - each line in the period of its
    `cancelled_on`; and `unpriced`, how many of its lines lack a rate (`missing_rates` names
    them). Sums of some of the credit lines: `add_up` adds those of every turn.

    A rate depends only on the sale's currency, the manager's and the month of `sold_on`, so the
    lines' credits are first added up per (report, sale currency, month sold, month cancelled):
    a few sums per report instead of millions of lines meet the managers' currencies and the
    rates, each sum priced once. Exact: sum * rate = the sum of each credit * rate (`in_manager_currency`
    multiplies exactly).

    Example: a report's lines of 100.00 and 50.00 USD sold in 2026-03, USD->EUR 0.9: one sum
    150.00 * 0.9 = 135.000 EUR, as 90.000 + 45.000."""
    sums = (
        _report_lines(credit_lines, reports, pricing)
        .group_by("rep_no", "_from", *(per_day(pl.col(c), lambda day: day.dt.month_start()).alias(c) for c in ("sold_on", "cancelled_on")))  # `_signed` takes the periods
        .agg(pl.col("credited").sum(), lines=pl.len())
    )
    return (
        _signed(sums, reports, kind, first, pricing, "lines")
        .group_by("rep_no", "currency", "p_start")
        .agg(pl.col("net").sum(), unpriced=pl.col("lines").filter(~pl.col("priced")).sum())
    )


def missing_rates(credit_lines: pl.LazyFrame, reports: pl.DataFrame, kind: str, first: date, pricing: currency.Pricing) -> pl.LazyFrame:
    """The (sale_id, sale_currency, rep_currency, month) a net credit of `reports` needs and
    fx_rates.csv lacks (`rep_currency`: the manager's), as `steps.currency.missing_rates` gives
    them: `net_credit`'s terms line by line (only when some lack a rate)."""
    lines = _report_lines(credit_lines, reports, pricing).select("rep_no", "_from", "sold_on", "cancelled_on", "credited", "sale_id")
    described = ("sale_id", pl.col("_from").alias("sale_currency"), pl.col("sold_on").dt.truncate("1mo").alias("month"))
    return (
        _signed(lines, reports, kind, first, pricing, *described)
        .filter(~pl.col("priced"))
        .select("sale_id", "sale_currency", pl.col("currency").alias("rep_currency"), "month")
    )


def add_up(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The `net_credit` sums of every turn added up: one row per (rep_no, currency, p_start)."""
    return pl.concat(parts).group_by("rep_no", "currency", "p_start").agg(pl.col("net").sum())


def override_lines(
    grid: pl.LazyFrame, pairs: pl.DataFrame, net: pl.DataFrame, reps: pl.DataFrame, converted: bool = False
) -> pl.LazyFrame:
    """One `override` line per (manager rep-period, report) with a nonzero net credit: rep_id,
    rep_no, p_start, kind, amount, `line_no` (the report's rep_no: lines sort by the report's
    rep_id), `reference` (the report's rep_id), and for the explanation `override_net` (the
    net credit), `override_rate` and `override_depth` (1: a direct report); `converted` (the net
    credits were priced in the managers' currencies) adds `override_currency`, the manager's.

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
            *([pl.col("currency").alias("override_currency")] if converted else []),
        )  # fmt: skip
    )
