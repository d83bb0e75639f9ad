"""How a run's lines are read for writing: one period's lines in SPEC order
(`period_lines`, every column; `commission_part` and `other_part`, the two kinds of line
apart, with what lines.csv shows), split into groups of whole reps (`rep_groups`), each
commission line with its tier pieces as data (`tier_pieces`: a multiplier and a piece,
shown to cents, per band the line reaches into); `comp_calc.outputs.numbers` turns them
into text.

What a line takes from its rep-period (the rep's currency, the band edges of its tier pieces)
is joined on the few key columns alone and set beside the lines, so that no wide frame of
lines is copied by a join.
"""

from __future__ import annotations

import polars as pl

from comp_calc.engine import RunResult, in_decimal
from comp_calc.outputs.csvfmt import cell, neutralised
from comp_calc.outputs.numbers import exact_text
from comp_calc.steps import attainment
from comp_calc.steps.exact import Scales, dec
from comp_calc.steps.kinds import ORDER

KEYS = ["rep_no", "p_start"]


def period_lines(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """The lines of one period in SPEC order, with their `tier_pieces`; with `reps=(first, last)`,
    only those of the reps whose rep_no lies in that range.

    Order: by rep_id (rep_no); within a rep, by kind in `steps.kinds.LINE_KINDS` order
    (commission lines in attainment order, spif lines in attainment order then the plan's
    campaign order, the outcome_bonus line, the cap line, clawbacks by the original (sold_on,
    sale_id, role), which line_no encodes, a commission's before its spifs', the carry line, ...).
    Each line carries its rep's plan `currency`. The sort keys are unique per line, so the
    order is fully determined (`commission_part` and `other_part` rely on it).
    """
    lines = result.scan_lines().filter(_in_period(result, period))
    if reps is not None:
        lines = lines.filter(pl.col("rep_no").is_between(*reps))
    lines = _with_currency(result, lines.collect())
    lines = tier_pieces(result, lines)
    # the pricing columns have served the tier pieces; fewer columns make the sort cheaper
    return lines.drop("rep_no", "pv", "run_from", "run_to").sort(_order_keys(lines), nulls_last=True)


def commission_part(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """The commission lines of `period_lines`, in the same order (rep_no, then line_no), with
    `rep_no` kept and only the columns lines.csv shows of a commission line (and its tier pieces)."""
    commissions = result.commission_lines
    keep = _in_period(result, period)
    if reps is not None:
        keep = keep & pl.col("rep_no").is_between(*reps)
    # the order on the two key columns alone, then one gather of the columns shown
    rows = commissions.lazy().select("rep_no", "line_no", "p_start").with_row_index("_i").filter(keep).sort("rep_no", "line_no")
    rows = rows.select("_i").collect().to_series()
    shown = [
        "rep_no", "line_no", "sale", "p_start", "credited", "rate", "amount", "sold_on", "run_to",
        *[c for c in ("sale_currency", "fx_rate", "sale_credited") if c in commissions.columns],
    ]  # fmt: skip
    lines = commissions.select(pl.col(shown).gather(rows)).lazy()
    lines = in_decimal(lines, result.tables.scales).with_columns(attainment.run_from(result.tables.scales, result.days()), result.quality_multiplier())
    text = ["rep_id", "sale_id", "role", "product", "contact_id", "seller_id"]
    lines = result.text.of(lines, text).with_columns(
        order=pl.lit(ORDER["commission"]), kind=pl.lit("commission"), period=pl.lit(_label(result, period))
    ).collect()
    return tier_pieces(result, _with_currency(result, lines)).drop("run_from", "run_to")


def commission_rows(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.LazyFrame:
    """The commission lines of `period_lines` as `commission_part` has them, as a query for
    lines.csv: `rep_no`, the shown values (credited, rate, quality_multiplier, amount, sold_on and
    the converted sale's columns), their text (sale_id, role, product; contact_id and seller_id
    on relationship lines, the only ones that show them), and what `_period_table` has of their
    rep-period as text (`currency_cell`, `tier_multiplier_text_b`; `currency` too in a run that
    converts), with per band b
    `tier_piece_b`, null where the line does not reach into band b.
    The rep's rep_id is left to the writer (`result.text.rep_ids`, row = rep_no): a few thousand
    values are formatted once, not per line.

    What a line takes from its rep-period is gathered by the line's rep_no from the period's rows
    of the rep-period table (one per rep), not joined."""
    commissions = result.commission_lines
    keep = _in_period(result, period)
    if reps is not None:
        keep = keep & pl.col("rep_no").is_between(*reps)
    shown = [
        "rep_no", "line_no", "sale", "p_start", "credited", "rate", "amount", "sold_on", "run_to",
        *[c for c in ("sale_currency", "fx_rate", "sale_credited") if c in commissions.columns],
    ]  # fmt: skip
    lines = commissions.select(pl.col(shown).gather(_in_order(commissions, keep))).lazy()
    lines = in_decimal(lines, result.tables.scales).with_columns(result.quality_multiplier())
    lines = result.text.of(lines, ["sale_id", "role", "product"])
    relationship = pl.when(pl.col("role") == "relationship").then(pl.col("sale"))  # the others look up nothing (a null row)
    lines = result.text.of(lines.with_columns(sale=relationship), ["contact_id", "seller_id"])
    table, n_bands = _period_table(result, period)
    row = pl.lit(_rep_rows(result, table)).gather(pl.col("rep_no"))
    # the currency's own text only where the explanation names it: a converted credit's
    looked_up = [c for c in table.columns if c != "rep_no" and (c != "currency" or "fx_rate" in commissions.columns)]
    multipliers = [c for c in looked_up if c.startswith("tier_multiplier_text_")]
    lines = lines.with_columns(row.alias("_row")).with_columns(pl.lit(table[c]).gather(pl.col("_row")) for c in looked_up if c not in multipliers)
    scales = result.tables.scales
    lines = lines.with_columns(attainment.run_from(scales, pl.col("p_days")))
    pieces = []
    for b in range(n_bands):
        pieces.append(pl.when(attainment.band_piece(b).is_not_null()).then(_shown_piece(b, scales)).alias(f"tier_piece_{b}"))
    # a band's multiplier only on the lines that reach into it (most lines reach into one band)
    reached = [pl.lit(table[f"tier_multiplier_text_{b}"]).gather(pl.when(pl.col(f"tier_piece_{b}").is_not_null()).then(pl.col("_row"))) for b in range(n_bands)]
    dropped = ["_row", "line_no", "p_start", "run_from", "run_to", "p_days", *[c for c in looked_up if c.startswith(("lo_", "hi_"))]]
    return lines.with_columns(pieces).with_columns(reached).drop(dropped)


def _in_order(commissions: pl.DataFrame, keep: pl.Expr) -> pl.Series:
    """The rows of `commissions` that `keep` keeps, in (rep_no, line_no) order: sorted on one
    integer key when both fit in one (they do: a few thousand reps, two lines per sale)."""
    rows = commissions.lazy().select("rep_no", "line_no", "p_start").with_row_index("_i").filter(keep).drop("p_start").collect()
    if not rows.height:
        return rows["_i"]
    lowest, highest = rows.select(lo=pl.min_horizontal("rep_no", "line_no").min(), hi=pl.max_horizontal("rep_no", "line_no").max()).row(0)
    if lowest >= 0 and (highest + 1) ** 2 < 2**63:
        return rows["_i"].gather((rows["rep_no"] * (highest + 1) + rows["line_no"]).arg_sort())
    return rows.sort("rep_no", "line_no")["_i"]


def _period_table(result: RunResult, period: str | None) -> tuple[pl.DataFrame, int]:
    """The period's rows of the rep-period table (`attainment.rep_period_table`, at most one per
    rep): `rep_no`, `currency` (the plan's), `currency_cell` (as a cell of lines.csv), `p_days`, the band edges (`lo_b`, `hi_b`, collapsed as
    `attainment.retroactive_bands` does on a retroactive rep-period) and `tier_multiplier_text_b`;
    and the number of bands."""
    scales = result.tables.scales
    label = _label(result, period)
    starts = [p.start for p in result.periods if p.label == label]
    grid = result.grid.lazy().filter((pl.col("p_start") == starts[0]) if starts else pl.lit(False))
    table, n_bands = _band_table(result, grid)
    multiplier = max(scales.tier_multiplier, 2)
    texts = [exact_text(pl.col(f"multiplier_{b}").cast(dec(multiplier)), multiplier).alias(f"tier_multiplier_text_{b}") for b in range(n_bands)]
    edges = [c for b in range(n_bands) for c in (f"lo_{b}", f"hi_{b}")]
    table = table.join(grid.select(*KEYS, "currency"), on=KEYS, how="left", maintain_order="left")
    currency = cell(neutralised(pl.col("currency"))).alias("currency_cell")
    return table.select("rep_no", "currency", currency, "p_days", *edges, *texts).collect(), n_bands


def _rep_rows(result: RunResult, table: pl.DataFrame) -> pl.Series:
    """Per rep_no (every rep of the run's data), its row in `table`, or null."""
    size = max(len(result.text.rep_ids), (table["rep_no"].max() or 0) + 1)
    rows = table.select("rep_no", _row=pl.int_range(pl.len(), dtype=pl.Int64))
    return pl.DataFrame({"rep_no": pl.int_range(size, dtype=pl.Int64, eager=True)}).join(rows, on="rep_no", how="left", maintain_order="left")["_row"]


def other_part(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """The lines of `period_lines` of every kind but commission, in the same order, with `rep_no`
    kept and the columns of the kinds that have lines (no tier pieces: they are a commission's)."""
    lines = result.scan_other_lines().filter(_in_period(result, period))
    if reps is not None:
        lines = lines.filter(pl.col("rep_no").is_between(*reps))
    lines = _with_currency(result, lines.with_columns(period=pl.lit(_label(result, period))).collect())
    return lines.sort(_order_keys(lines), nulls_last=True)


def _order_keys(lines: pl.DataFrame) -> list:
    keys = [lines["rep_no"], "order", "line_no"]
    if "campaign_no" in lines.columns:  # one sale's spif lines in the plan's list order, its commission's clawback first
        keys.append(pl.col("campaign_no").fill_null(-1))
    return keys


def _with_currency(result: RunResult, lines: pl.DataFrame) -> pl.DataFrame:
    """`lines` with their rep's plan `currency`, found on the key columns alone."""
    currency = result.grid.lazy().select(*KEYS, "currency")
    found = lines.lazy().select(KEYS).join(currency, on=KEYS, how="left", maintain_order="left").select("currency").collect()
    return pl.concat([lines, found], how="horizontal")


def _label(result: RunResult, period: str | None) -> str:
    return period or result.period.label


def _in_period(result: RunResult, period: str | None) -> pl.Expr:
    period = _label(result, period)
    starts = [p.start for p in result.periods if p.label == period]
    return (pl.col("p_start") == starts[0]) if starts else pl.lit(False)


def rep_groups(result: RunResult, size: int) -> list[tuple[int, int]]:
    """(first, last) rep_no ranges, in order, that split the requested period's lines into
    groups of about `size` lines (a rep's lines are never split); at least one range."""
    counts = (
        result.scan_lines()
        .filter(_in_period(result, None))
        .group_by("rep_no")
        .agg(n=pl.len())
        .sort("rep_no")
        .with_columns(group=(pl.col("n").cum_sum() - pl.col("n")) // size)
        .group_by("group")
        .agg(first=pl.col("rep_no").min(), last=pl.col("rep_no").max())
        .sort("group")
        .collect()
    )
    return list(zip(counts["first"], counts["last"], strict=True)) or [(0, -1)]


def _band_table(result: RunResult, grid: pl.LazyFrame) -> tuple[pl.LazyFrame, int]:
    """The rep-period table (`attainment.rep_period_table`) of `grid`'s rep-periods, with the band
    edges of a retroactive rep-period collapsed onto the band of its final credit as pricing
    collapsed them (`attainment.retroactive_bands`), and the number of bands."""
    scales = result.tables.scales
    table, _, n_bands = attainment.rep_period_table(grid, result.tables, scales)
    if attainment.RETRO in table.collect_schema().names():
        # the rep-period's final credit times D: the grid's credited (every line, even after a streaming run)
        totals = grid.select(*KEYS, pl.col("credited").alias("_period_credited"))
        table = table.join(totals, on=KEYS, how="left", maintain_order="left")
        total = pl.col("_period_credited").cast(dec(scales.scaled_credit)) * pl.col("p_days")
        table = table.with_columns(attainment.retroactive_bands(n_bands, total, scales))
    return table, n_bands


def _shown_piece(b: int, scales: Scales) -> pl.Expr:
    """A commission line's piece in band b as lines.csv shows it: the exact piece (times D, see
    `attainment.band_piece`) divided by D, rounded to cents; null where the line does not reach
    into the band."""
    return (attainment.band_piece(b).cast(dec(scales.scaled_credit + 6)) / pl.col("p_days")).round(2).cast(dec(2))


def tier_pieces(result: RunResult, lines: pl.DataFrame) -> pl.DataFrame:
    """`lines` (a slice of result.lines) with the tier pieces of commission lines as data: for
    each band b of the run's widest tier table, `tier_multiplier_b` and `tier_piece_b` (the
    line's exact piece in that band, shown rounded to cents), both null when the line does not
    reach into the band (and on other kinds of line). A line of a retroactive rep-period has
    one piece: the final band's multiplier and its whole credit.

    The rep-period's edges are joined to the lines' key and pricing columns alone; the pieces
    are set beside `lines`, row for row."""
    scales = result.tables.scales
    table, n_bands = _band_table(result, result.grid.lazy())
    multiplier = dec(max(scales.tier_multiplier, 2))
    commission = pl.col("kind") == "commission"
    pieces = []
    for b in range(n_bands):
        touched = commission & attainment.band_piece(b).is_not_null()
        pieces += [
            pl.when(touched).then(pl.col(f"multiplier_{b}").cast(multiplier)).alias(f"tier_multiplier_{b}"),
            pl.when(touched).then(_shown_piece(b, scales)).alias(f"tier_piece_{b}"),
        ]
    found = (
        lines.lazy()
        .select(*KEYS, "kind", "run_from", "run_to")
        .join(table.drop("rep_id", "pv", "rounding"), on=KEYS, how="left", maintain_order="left")
        .select(pieces)
        .collect()
    )
    return pl.concat([lines, found], how="horizontal")
