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
    """An exact Decimal of `scale` as text: trailing zeros dropped, at least `min_decimals` decimals.

    `trim_zeros` of the text, done with integers: polars writes a Decimal of scale s with
    exactly s decimals, and the k trailing zeros that go (at most s - min_decimals) are those
    of its integer units (value * 10^s), counted by divisibility: one cut of the text instead
    of several string passes."""
    scale = max(scale, min_decimals)
    number = expr.cast(dec(scale))
    if scale == 0:
        return trim_zeros(number.cast(pl.String), min_decimals)
    text = number.cast(pl.String)
    if scale == min_decimals:
        return text
    units = number.to_physical()
    zeros = pl.sum_horizontal((units % pl.lit(10**j, dtype=pl.Int128) == 0).cast(pl.Int64) for j in range(1, scale - min_decimals + 1))
    return text.str.head(text.str.len_bytes().cast(pl.Int64) - zeros)


def column_exact_text(column: str, frame: pl.DataFrame | pl.Schema) -> pl.Expr:
    """`exact_text` of a column of `frame` (or of a frame of that schema), at the column's own scale."""
    dtype = (frame if isinstance(frame, pl.Schema) else frame.schema)[column]
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


def restatement_text() -> pl.Expr:
    """The explanation of a `restatement` line (see `steps.restatement.restatement_lines`):
    `closed periods 2026-01: recomputed minus paid = due 50.00, restated in full`, or when a
    recovery waits for pay `closed periods 2026-01;2026-02: recomputed minus paid = due -200.00;
    payout so far 150.00 taken to 0 at most: -150.00 now, -50.00 left open for the next run`."""
    money = lambda c: money_text(pl.col(c))  # noqa: E731 - the restatement columns are at scale 2
    head = pl.format("closed periods {}: recomputed minus paid = due {}", pl.col("reference"), money("restatement_due"))
    return (
        pl.when(pl.col("restatement_open") == 0)
        .then(pl.format("{}, restated in full", head))
        .otherwise(
            pl.format(
                "{}; payout so far {} taken to 0 at most: {} now, {} left open for the next run",
                head, money("restatement_before"), money("amount"), money("restatement_open"),
            )  # fmt: skip
        )
    )


def holdback_text() -> pl.Expr:
    """The explanation of a `holdback` line: `sale S1 sold 2026-03-31: 25% of 400.00 held until 2026-09-27`,
    with `; forfeited: cancelled 2026-05-02` when the sale was cancelled on or before that day."""
    held = pl.format(
        "sale {} sold {}: {} of {} held until {}",
        "sale_id", "sold_on", percent_exact_text(pl.col("held_share"), 6), money_text(pl.col("original_amount")), "release_on",
    )  # fmt: skip
    forfeited = pl.format("; forfeited: cancelled {}", "cancelled_on")
    return pl.concat_str(held, pl.when(pl.col("forfeited")).then(forfeited).otherwise(pl.lit("")))


def release_text() -> pl.Expr:
    """The explanation of a `release` line: `released: held from the sale of 2026-03-31 (sale S1, 25% of 400.00
    earned in 2026-03), release day 2026-09-27`."""
    return pl.format(
        "released: held from the sale of {} (sale {}, {} of {} earned in {}), release day {}",
        "sold_on", "sale_id", percent_exact_text(pl.col("held_share"), 6), money_text(pl.col("original_amount")),
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


def percent_exact_text(ratio: pl.Expr, scale: int) -> pl.Expr:
    """A plan ratio of `scale` decimals as an exact percentage, as written: 0.01 -> `1%`,
    0.015 -> `1.5%`, 1 -> `100%` (the column form of `percent`)."""
    hundred = ratio.cast(dec(scale)) * pl.lit(100, dtype=dec(scale))  # exact: 100 is whole
    return trim_zeros(hundred.cast(pl.String), 0).str.strip_chars_end(".") + pl.lit("%")


def spif_terms_text(rate_scale: int) -> pl.Expr:
    """What a `spif` line pays, in words: `25.00 per sale`, or `1% of 1234.50 credited`
    (needs per_sale, rate and credited; the credited amount exact, as on the commission line)."""
    credited = exact_text(pl.col("credited"), 12)
    return (
        pl.when(pl.col("per_sale").is_not_null())
        .then(pl.format("{} per sale", money_text(pl.col("per_sale"))))
        .otherwise(pl.format("{} of {} credited", percent_exact_text(pl.col("rate"), rate_scale), credited))
    )


def spif_campaign_text(rate_scale: int) -> pl.Expr:
    """A `spif` line in words: `spring-cards campaign: 25.00 per sale`, or `home-week campaign:
    1% of 1234.50 credited = 12.35` (the campaign is the line's `reference`)."""
    rated = pl.when(pl.col("per_sale").is_null()).then(pl.format(" = {}", money_text(pl.col("amount")))).otherwise(pl.lit(""))
    return pl.format("{} campaign: {}{}", "reference", spif_terms_text(rate_scale), rated)


def spif_text(rate_scale: int) -> pl.Expr:
    """The explanation of a `spif` line in lines.csv: the sale, then `spif_campaign_text`:
    `sale s1 (credit_card) sold 2026-03-12, spring-cards campaign: 25.00 per sale`."""
    return pl.format("sale {} ({}) sold {}, {}", "sale_id", "product", "sold_on", spif_campaign_text(rate_scale))


def spif_clawback_text() -> pl.Expr:
    """The explanation of a spif line's clawback: `sale s2 sold 2026-03-20 cancelled 2026-04-05
    (16 days, 30-day rule): recover 1.0 of the spring-cards campaign's 25.00 paid in 2026-03 = -25.00`."""
    return pl.format(
        "sale {} sold {} cancelled {} ({} days, {}-day rule): recover {} of the {} campaign's {} paid in {} = {}",
        "sale_id", "sold_on", "cancelled_on", "days", "within_days", "recover", "reference",
        money_text(pl.col("original_amount")), "original_period", money_text(pl.col("amount")),
    )  # fmt: skip


def override_text(net_scale: int, converted: bool = False) -> pl.Expr:
    """The explanation of an `override` line: the report, how far below, its net credit of the period
    (exact, `net_scale` decimals), the rate and the amount.
    `S2, 2 levels down: net credit 2500.00 (sold less cancelled in the period) x 1% = 25.00`.
    `converted` (a run with sales in other currencies, lines with `override_currency`): the net
    credit names the manager's currency it is in, `net credit 790.00 GBP (sold less cancelled in
    the period, each sale at the rate of its month of sale)`."""
    depth = pl.col("override_depth")
    where = pl.when(depth == 1).then(pl.lit("direct report")).otherwise(pl.format("{} levels down", depth))
    net = exact_text(pl.col("override_net"), net_scale)
    how = "sold less cancelled in the period"
    if converted:
        net = pl.format("{} {}", net, "override_currency")
        how += ", each sale at the rate of its month of sale"
    return pl.format(
        "{}, {}: net credit {} (" + how + ") x {} = {}",
        "reference", where, net, percent_exact_text(pl.col("override_rate"), 6), money_text(pl.col("amount")),
    )  # fmt: skip
