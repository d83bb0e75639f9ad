"""Numbers as text: the one place where an amount or an exact value becomes characters.

The steps compute and never format; every writer (CSV files, statements, the
terminal, JSON, diff sentences, the alignment report) formats through here, so
a number reads the same wherever it is shown. The rules (SPEC section 4):

- money: exactly two decimals (`1234.56`, `-750.00`), never `-0.00`;
- exact values (credited amounts, rates, multipliers): plain decimal notation,
  trailing zeros dropped but at least two decimals (`0.004`, `1.10`, `1.00`);
- a Decimal shown at its own scale (attainment with its 6 decimals).

A polars Decimal is a scaled integer and holds no negative zero, so column text
never reads `-0.00`; single Python Decimals can, and `money` guards them.

Polars expressions work on whole columns (no cell is touched from Python);
the Python functions format single values for headers and sentences.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl

from comp_calc.steps.exact import dec, round_to

CENT = Decimal("0.01")

# --------------------------------------------------------------------------
# columns (polars expressions)


def trim_zeros(text: pl.Expr, min_decimals: int = 2) -> pl.Expr:
    """Plain decimal text with a point and at least `min_decimals` decimals, trailing zeros
    dropped down to `min_decimals` (`1.5000` -> `1.50`, `0.0040` -> `0.004`). String functions,
    no regular expression: this runs on every written line."""
    stripped = text.str.strip_chars_end("0")  # stops at the point: "10.000" -> "10."
    decimals = stripped.str.len_bytes().cast(pl.Int64) - stripped.str.find(".", literal=True).cast(pl.Int64) - 1
    missing = (min_decimals - decimals).clip(lower_bound=0)
    return pl.concat_str(stripped, pl.lit("0" * min_decimals).str.slice(0, missing))


def exact_text(expr: pl.Expr, scale: int, min_decimals: int = 2) -> pl.Expr:
    """An exact Decimal of `scale` as text: trailing zeros dropped, at least `min_decimals` decimals."""
    return trim_zeros(expr.cast(dec(max(scale, min_decimals))).cast(pl.String), min_decimals)


def column_exact_text(column: str, frame: pl.DataFrame) -> pl.Expr:
    """`exact_text` of a column of `frame`, at the column's own scale."""
    dtype = frame.schema[column]
    return exact_text(pl.col(column), getattr(dtype, "scale", 0) or 0)


def fixed_text(expr: pl.Expr, scale: int, min_decimals: int) -> pl.Expr:
    """A Decimal of `scale` (or an integer, scale 0) as plain text with all its decimals, padded
    with zeros to at least `min_decimals` decimals.

    polars renders a Decimal(p, s) in plain notation with exactly `s` decimals
    (`Decimal(38, 4)` 1.5 -> `1.5000`) and an integer without a point.
    """
    text = expr.cast(pl.String)
    if scale < min_decimals:
        pad = ("." if scale == 0 else "") + "0" * (min_decimals - scale)
        text = text + pl.lit(pad)
    return text


def money_text(expr: pl.Expr) -> pl.Expr:
    """An amount already in cents (Decimal scale 2) as text."""
    return expr.cast(pl.String)


def rounded_money_text(expr: pl.Expr) -> pl.Expr:
    """An amount rounded half-even to cents, as `money_text` (display of computed sums)."""
    return money_text(round_to(expr, 2, "half_even"))


def percent_text(ratio: pl.Expr, decimals: int, work: pl.DataType | None = None) -> pl.Expr:
    """A ratio times 100 with `decimals` decimals and `%` (`0.3985` -> `39.85%`). With `work`
    the ratio is multiplied at that Decimal type first (exact), else as it is."""
    hundred = pl.lit(100, dtype=work) if work is not None else pl.lit(100)
    return (ratio * hundred).cast(dec(decimals)).cast(pl.String) + pl.lit("%")


def tier_pieces_text(frame: pl.DataFrame, for_statement: bool = False) -> pl.Expr:
    """A line's tier pieces (`tier_multiplier_b`, `tier_piece_b` per band, see
    `outputs.lines.tier_pieces`) as text: `0.5@2500.00|1.00@300.00` in lines.csv,
    `2500.00 x0.5 + 300.00 x1.00` on statements (the multiplier as exact text, the piece in cents);
    null on lines without pieces."""
    bands = sorted(int(c.rsplit("_", 1)[1]) for c in frame.columns if c.startswith("tier_piece_"))
    labels = []
    for b in bands:
        m = column_exact_text(f"tier_multiplier_{b}", frame)
        p = pl.col(f"tier_piece_{b}").cast(pl.String)
        labels.append(pl.format("{} x{}", p, m) if for_statement else pl.format("{}@{}", m, p))
    text = pl.concat_str(labels, separator=" + " if for_statement else "|", ignore_nulls=True)
    return pl.when(pl.col("kind") == "commission").then(text)


# --------------------------------------------------------------------------
# single values (Python Decimal)


def money(value: Decimal | None) -> str:
    """Cents with exactly two decimals, never `-0.00`; empty for None."""
    if value is None:
        return ""
    text = format(Decimal(value).quantize(CENT), "f")
    return "0.00" if text == "-0.00" else text


def exact(value: Decimal | None) -> str:
    """Plain decimal, trailing zeros dropped but at least two decimals (`0.004`, `1.10`)."""
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def two_decimals(value: Decimal) -> str:
    """A display value (a percentage, an NPS) to two decimals, half to even."""
    return money(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


def plain(value: Decimal | int | None, none: str = "") -> str:
    """A number as written, in plain notation (`0.004`, `20000`), zero without a sign; `none` for None."""
    if value is None:
        return none
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write non-finite number {value}")
        return format(abs(value) if value == 0 else value, "f")
    return str(value)


def as_written(value: Decimal | int | None) -> str:
    """A plan number in a sentence, as a person would write it (`0.004`, `20000`, `0`); `none` for None."""
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return "0" if text.lstrip("-").strip("0.") == "" else text
    return str(value)


def percent(ratio: Decimal) -> str:
    """A plan ratio as a percentage, as written: `0.5` -> `50%`, `1.1` -> `110%`, `0.125` -> `12.5%`."""
    text = format((Decimal(ratio) * 100).normalize(), "f")
    return f"{text}%"


def coordinate(value: float) -> str:
    """A chart coordinate (SVG geometry, never an amount) with one decimal: `123.4`."""
    return f"{value:.1f}"


def outcome_bonus_text() -> pl.Expr:
    """The explanation of an `outcome_bonus` line: the metric's value (its exact fraction shown
    rounded half-even to 2 decimals), the responses and the band that holds it, and the amount.
    `nps 45.00 from 12 responses, band 30 to below 60: 250.00`."""
    value = round_to(pl.col("value_num").cast(dec(20)) / pl.col("responses").cast(dec(20)), 2, "half_even")
    lower, below = exact_text(pl.col("band_lower"), 6), exact_text(pl.col("band_below"), 6)
    band = (
        pl.when(pl.col("band_lower").is_null() & pl.col("band_below").is_null())
        .then(pl.lit("any value"))
        .when(pl.col("band_lower").is_null())
        .then(pl.format("below {}", below))
        .when(pl.col("band_below").is_null())
        .then(pl.format("{} and above", lower))
        .otherwise(pl.format("{} to below {}", lower, below))
    )
    return pl.format("{} {} from {} responses, band {}: {}", "metric", value.cast(pl.String), "responses", band, money_text(pl.col("amount")))


def draw_text() -> pl.Expr:
    """The explanation of a `draw` line (see `steps.draw.draw_lines` for its columns): a top-up
    `minimum pay 1500.00 (prorated 15/30 days: 750.00); payout before the draw 400.00; draw tops
    up 350.00, owed back from later pay: 350.00` (a guarantee: `..., not owed back`), or a recovery
    `payout before the draw 1700.00, 200.00 above the minimum pay 1500.00: recovered 200.00 of
    the draw balance 350.00; 150.00 still owed`."""
    zero = pl.lit(0, dtype=dec(2))
    money = lambda c: money_text(pl.col(c))  # noqa: E731 - the draw columns are at scale 2
    full = pl.col("draw_active_days") == pl.col("draw_period_days")
    minimum = pl.when(pl.col("draw_amount").is_null()).then(pl.lit("no minimum pay in this plan version")).when(full).then(
        pl.format("minimum pay {}", money("draw_amount"))
    ).otherwise(
        pl.format("minimum pay {} (prorated {}/{} days: {})", money("draw_amount"), "draw_active_days", "draw_period_days", money("draw_due"))
    )  # fmt: skip
    before = pl.format("payout before the draw {}", money("draw_payout_before"))
    still = pl.when(pl.col("draw_balance") > 0).then(pl.format("; draw balance still owed: {}", money("draw_balance"))).otherwise(pl.lit(""))
    top_up = (
        pl.when(pl.col("draw_recoverable"))
        .then(pl.format("{}; {}; draw tops up {}, owed back from later pay: {}", minimum, before, money("amount"), money("draw_balance")))
        .otherwise(pl.format("{}; {}; guarantee tops up {}, not owed back{}", minimum, before, money("amount"), still))
    )
    above = pl.when(pl.col("draw_due") > 0).then(
        pl.format(", {} above the minimum pay {}", money_text((pl.col("draw_payout_before") - pl.col("draw_due")).cast(dec(2))), money("draw_due"))
    ).otherwise(pl.lit(""))  # fmt: skip
    owed = pl.when(pl.col("draw_balance") > 0).then(pl.format("{} still owed", money("draw_balance"))).otherwise(pl.lit("nothing more owed"))
    recovery = pl.format(
        "{}{}: recovered {} of the draw balance {}; {}",
        before, above, money_text((zero - pl.col("amount")).cast(dec(2))), money("draw_balance_in"), owed,
    )  # fmt: skip
    return pl.when(pl.col("amount") > 0).then(top_up).otherwise(recovery)


def share_percent_text(share: pl.Expr, scale: int) -> pl.Expr:
    """A share column as a percentage, as written (the column form of `percent`): 0.25 -> `25%`, 0.333 -> `33.3%`."""
    text = (share.cast(dec(scale)) * pl.lit(100, dtype=dec(0))).cast(dec(scale)).cast(pl.String)
    return text.str.strip_chars_end("0").str.strip_chars_end(".") + pl.lit("%")


def holdback_text() -> pl.Expr:
    """The explanation of a `holdback` line: `sale S1 sold 2026-03-31: 25% of 400.00 held until 2026-09-27`,
    with `; forfeited: cancelled 2026-05-02` when the sale was cancelled on or before that day."""
    held = pl.format(
        "sale {} sold {}: {} of {} held until {}",
        "sale_id", "sold_on", share_percent_text(pl.col("held_share"), 6), money_text(pl.col("original_amount")), "release_on",
    )  # fmt: skip
    forfeited = pl.format("; forfeited: cancelled {}", "cancelled_on")
    return pl.concat_str(held, pl.when(pl.col("forfeited")).then(forfeited).otherwise(pl.lit("")))


def release_text() -> pl.Expr:
    """The explanation of a `release` line: `released: held from the sale of 2026-03-31 (sale S1, 25% of 400.00
    earned in 2026-03), release day 2026-09-27`."""
    return pl.format(
        "released: held from the sale of {} (sale {}, {} of {} earned in {}), release day {}",
        "sold_on", "sale_id", share_percent_text(pl.col("held_share"), 6), money_text(pl.col("original_amount")),
        "original_period", "release_on",
    )  # fmt: skip


def clawback_base_text() -> pl.Expr:
    """What a clawback recovers a share of: the commission (`400.00`), or with a part of it still held back
    when the sale was cancelled, `300.00 (400.00 less 100.00 held back, never released)`."""
    amount = money_text(pl.col("original_amount"))
    held = pl.col("held").fill_null(pl.lit(0, dtype=dec(2)))
    less = pl.format("{} ({} less {} held back, never released)", money_text(pl.col("original_amount") - held), amount, money_text(held))
    return pl.when(held != 0).then(less).otherwise(amount)


def activity_bonus_text() -> pl.Expr:
    """The explanation of an `activity_bonus` line: the count, the target and the amount, and with
    `min_customer_value` the contacts left out for low customer value (when there are any).
    `14 qualifying contacts, target 12: bonus 300.00; 3 contacts with customers worth less than 1000.00 not counted`."""
    count = pl.col("activity_count")
    contacts = pl.when(count == 1).then(pl.lit("contact")).otherwise(pl.lit("contacts"))
    text = pl.format("{} qualifying {}, target {}: bonus {}", count, contacts, "activity_target", money_text(pl.col("amount")))
    left_out = pl.col("activity_left_out")
    were = pl.when(left_out == 1).then(pl.lit("contact with a customer")).otherwise(pl.lit("contacts with customers"))
    low = pl.format("; {} {} worth less than {} not counted", left_out, were, money_text(pl.col("activity_min_value")))
    return pl.when(left_out > 0).then(text + low).otherwise(text)
