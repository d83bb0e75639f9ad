"""Currency (SPEC 6.3): a credit line is priced in the currency of the rep who receives it.

Every sale is in its `currency` (empty or absent: the currency of the seller's plan; every
version of a plan has the same one). A credit line's `credited` is
`amount * part * fx(sale currency -> receiving rep's plan currency, month of sold_on)`, exact,
where `part` is `share`, `1 - share` or 1 (step 1). The same currency: the factor is 1. A
rate comes only from fx_rates.csv as written (units of `to` for one unit of `currency`):
an inverse rate is never derived, and a rate that is needed but missing is an input error
(the engine reports it from `missing_rates`). Every later step then works in the receiving
rep's currency; nothing here is rounded.

Example: a 1000.00 USD sale sold 2026-03-10, share 0.30, seller on a EUR plan, relationship
rep on a GBP plan, rates USD->EUR 0.92 and USD->GBP 0.79 for 2026-03: the seller is credited
700.00 * 0.92 = 644.0000 EUR, the relationship rep 300.00 * 0.79 = 237.0000 GBP.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from comp_calc.steps.exact import Scales, dec


@dataclass(frozen=True)
class Pricing:
    """What converting a sale into another currency needs (a receiving rep's, a manager's): the rates of
    `steps.currency.rate_table`, the reps sorted by rep_id and their plan currencies
    (`steps.currency.plan_currency`), and the run's scales."""

    fx: pl.DataFrame
    reps: pl.DataFrame
    currencies: pl.Series
    scales: Scales


def plan_currency(reps: pl.DataFrame, versions: pl.DataFrame) -> pl.Series:
    """The plan currency of each rep of `reps` (in its row order; null when its plan is not in `versions`)."""
    by_plan = versions.select("plan", "currency").unique(subset="plan", keep="first")
    return reps.select(
        pl.col("plan").replace_strict(by_plan["plan"], by_plan["currency"], default=None, return_dtype=pl.String)
    ).to_series().alias("currency")


def with_sale_currency(sales: pl.LazyFrame, reps: pl.DataFrame, currencies: pl.Series) -> pl.LazyFrame:
    """`sales` with `currency` resolved: as written, else the currency of the seller's plan."""
    code = pl.col("rep_id").cast(pl.Enum(reps["rep_id"])).to_physical().cast(pl.Int64)
    written = pl.col("currency") if "currency" in sales.collect_schema().names() else pl.lit(None, dtype=pl.String)
    return sales.with_columns(currency=pl.coalesce(written, pl.lit(currencies).gather(code)))


def rate_table(fx_rates: pl.DataFrame) -> pl.DataFrame:
    """fx_rates.csv's valid rows as (currency, to, month, fx_rate): `month` the month's first day."""
    return fx_rates.select("currency", "to", "month", pl.col("rate").alias("fx_rate"))


def needs_conversion(currencies: pl.Series, sales: pl.LazyFrame) -> bool:
    """Whether some sale may be in another currency than the rep it credits: the reps' plans
    have two currencies or more, or a sale names a currency other than the one they share."""
    shared = currencies.drop_nulls().unique()
    if shared.len() > 1:
        return True
    if "currency" not in sales.collect_schema().names():
        return False
    named = sales.select(pl.col("currency").drop_nulls().unique()).collect().to_series()
    return bool(named.len()) and not (named.len() == 1 and shared.len() == 1 and named[0] == shared[0])


def sale_currency(columns: list[str], reps: pl.DataFrame, currencies: pl.Series) -> pl.Expr:
    """A credit line's sale currency: its `currency` as written, else the seller's plan currency.
    `columns` are the lines' columns (the seller as `seller_no`, its row of `reps`, or as
    `seller_id`); `reps` is sorted by rep_id, `currencies` its `plan_currency`."""
    seller = pl.col("seller_id").cast(pl.Enum(reps["rep_id"])).to_physical().cast(pl.Int64)
    code = pl.col("seller_no") if "seller_no" in columns else seller
    written = pl.col("currency") if "currency" in columns else pl.lit(None, dtype=pl.String)
    return pl.coalesce(written, pl.lit(currencies).gather(code))


def join_rates(lines: pl.LazyFrame, fx: pl.DataFrame, frm: str, to: str, fx_scale: int) -> pl.LazyFrame:
    """`lines` (with the sale's currency in column `frm`, the wanted one in `to`, and `sold_on`)
    with `fx_rate`, the rate of fx_rates.csv for (frm, to, month of sold_on) at `fx_scale` (the run's `scales.fx`)
    (null when the currencies are the same, or when fx_rates.csv lacks the rate) and `_other`
    (whether the currencies differ: a rate is needed). Row order is kept."""
    rates = fx.lazy().rename({"currency": frm, "to": to, "month": "_month"})
    return (
        lines.with_columns(_month=pl.col("sold_on").dt.truncate("1mo"), _other=pl.col(frm) != pl.col(to))
        .join(rates, on=[frm, to, "_month"], how="left", maintain_order="left")
        .with_columns(fx_rate=pl.when(pl.col("_other")).then(pl.col("fx_rate").cast(dec(fx_scale))))
        .drop("_month")
    )


def join_rates_unordered(lines: pl.LazyFrame, fx: pl.DataFrame, frm: str, to: str, fx_scale: int) -> pl.LazyFrame:
    """`join_rates` for lines whose order does not matter (they are added up): only the lines whose
    currencies differ meet the rates (a few percent, usually: a join of every line on currency
    text is far slower); the others get what `join_rates` gives them, no rate."""
    other = pl.col(frm) != pl.col(to)
    same = lines.filter(other.not_().fill_null(True)).with_columns(_other=other, fx_rate=pl.lit(None, dtype=dec(fx_scale)))
    return pl.concat([join_rates(lines.filter(other), fx, frm, to, fx_scale), same])


def converted(value: pl.Expr, scales: Scales) -> pl.Expr:
    """`value` (a line's credit in the sale's currency, scale at most `scales.credited - scales.fx`)
    times `fx_rate` when `_other` (null when the rate is missing), else `value`: exact, at
    `scales.credited`. Both operands at scale c >= (amount + share) + fx: the product is exact
    (see `exact`)."""
    c = dec(scales.credited)
    return pl.when(pl.col("_other")).then(value.cast(c) * pl.col("fx_rate").cast(c)).otherwise(value.cast(c))


def in_rep_currency(
    lines: pl.DataFrame, reps: pl.DataFrame, currencies: pl.Series, fx: pl.DataFrame, scales: Scales
) -> pl.DataFrame:
    """Credit lines (step 1, with the sale's `currency`, null when not written) priced in the
    currency of the rep who receives each: `credited` times the rate, exact, at `scales.credited`.

    Adds `sale_currency`, `fx_rate` and `sale_credited` (the credit in the sale's currency; all
    three null when the sale is in the rep's currency) and
    `rep_currency`; drops `currency`. A needed rate fx_rates.csv lacks leaves `fx_rate` null
    and `credited` null: `missing_rates` finds those lines.

    `reps` is sorted by rep_id (row number = rep_no); `currencies` is `plan_currency(reps, ...)`.
    """
    c = dec(scales.credited)
    keyed = lines.with_columns(
        _from=sale_currency(lines.columns, reps, currencies), rep_currency=pl.lit(currencies).gather(pl.col("rep_no"))
    )
    # only the lines of a sale in another currency meet the rates (a few percent of them: a join of
    # every line on currency text is far slower), and their credits go back to their rows
    other = keyed.select(pl.col("_from") != pl.col("rep_currency")).to_series().fill_null(False)
    at = other.arg_true()
    priced = (
        join_rates(keyed[at].lazy().select("_from", "rep_currency", "sold_on", "credited"), fx, "_from", "rep_currency", scales.fx)
        .select("fx_rate", credited=converted(pl.col("credited"), scales))
        .collect()
    )
    fx_rate = pl.repeat(None, keyed.height, dtype=dec(scales.fx), eager=True).scatter(at, priced["fx_rate"])
    credited = keyed["credited"].cast(c).scatter(at, priced["credited"])
    return (
        keyed.with_columns(_other=other, fx_rate=fx_rate)
        .with_columns(
            sale_currency=pl.when(pl.col("_other")).then(pl.col("_from")),
            sale_credited=pl.when(pl.col("_other")).then(pl.col("credited").cast(c)),
            credited=credited,
        )
        .drop("currency", "_from", "_other", strict=False)
    )


def as_is(lines: pl.DataFrame) -> pl.DataFrame:
    """Credit lines all in their rep's currency (no sale needs converting): as they are, without
    the sale's `currency` (no column is added: a run in one currency carries nothing more)."""
    return lines.drop("currency", strict=False)


def missing_rates(lines: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """The (sale_id, sale_currency, rep_currency, month) a line needs and fx_rates.csv lacks."""
    return as_missing(lines.filter(pl.col("sale_currency").is_not_null() & pl.col("fx_rate").is_null()))


def as_missing(lines: pl.DataFrame | pl.LazyFrame, sale: str = "sale_currency", rep: str = "rep_currency") -> pl.DataFrame | pl.LazyFrame:
    """Rows with sale_id, sold_on and the sale's and the rep's currencies (in columns `sale` and
    `rep`) as the missing rates are reported: (sale_id, sale_currency, rep_currency, month)."""
    return lines.select("sale_id", sale_currency=pl.col(sale), rep_currency=pl.col(rep), month=pl.col("sold_on").dt.truncate("1mo"))
