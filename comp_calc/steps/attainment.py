"""Step 2, attainment: running credit against the prorated quota, split into tier bands.

Per rep and period, credit lines count in order (sold_on, sale_id, role).
The quota is prorated: quota * active_days / days_in_period, and tier band
edges sit at up_to * prorated quota; a band is [lower, upper). To stay exact
without fractions every quantity here is multiplied by days_in_period (D):
the running credit becomes credited * D and an edge up_to * quota * active_days.
A line's piece in a band is its overlap with the band, also times D.

Plans have a handful of bands, so each band is a column (`params.wide_by_version`,
edges by `band_edges`) and a line's pieces are computed side by side on the line's own
row: no line is exploded into one row per band.

With `tier_mode: retroactive` a line is not split: every line of the rep-period goes
whole into the band that holds the period's *final* credit (its total, times D,
against the same edges). `collapse_retroactive` does this by collapsing the edges of a
retroactive rep-period (`retroactive_bands`), once per rep-period: the band holding the total
becomes [0, open), the others absent, so `band_piece` and the rate step price both
modes alike. Example: quota 1000, tiers up_to 1.0 x1 / open x1.5, lines 600 and 400:
total 1000 sits on the 1.0 edge, so both lines are priced at x1.5.

A line finds its rep and period's row (plan version, edges, days) by position in the
rep x period grid (`gather_rep_periods`), not by a join. For the payouts, the prorated
quota and the attainment reached are shown rounded (`prorated_quota`).

Example (worked in tests/test_engine_rules.py): quota 20000, a rep active 12
of 28 days, tiers up_to 0.5 / 1.0: prorated quota 20000*12/28 = 8571.43...,
edges at 4285.71... and 8571.43...; times D=28 those are 120000 and 240000.
"""

from __future__ import annotations

import polars as pl

from comp_calc.errors import ReconciliationError
from comp_calc.periods import MONTH, Period, per_day
from comp_calc.steps.exact import Scales, UnitTypes, dec, div_round, round_to, units
from comp_calc.steps.params import PlanTables, month_number, wide_by_version


RETRO = "retro"  # a rep-period table column, present only when some plan version is retroactive


def running_credit(lines: pl.LazyFrame, scales: Scales, rep_period: str, types: UnitTypes | None = None) -> pl.LazyFrame:
    """Add `run_from`, `run_to`: the running credit before and after each line, times D.

    `lines` must be in line_no (attainment) order; a window over `rep_period` (one
    integer per rep and period) keeps that order within each rep and period.

    `types` (the integer path, see `exact.pricing_units`): the running credit as integers of type
    `types.running` counting units of `scales.scaled_credit` (`exact.units`; the edges must then
    be such units too); None: Decimal.
    """
    scaled = _scaled_credit(scales, types)
    return lines.with_columns(run_to=scaled.cum_sum().over(rep_period)).with_columns(run_from=pl.col("run_to") - scaled)


def run_from(scales: Scales, days: pl.Expr) -> pl.Expr:
    """`run_from` of a priced line whose `run_to` is a Decimal (the integer path's turned back, see
    `exact.from_units`), from `run_to`, `credited` and `days`, its period's D: run_to - credited * D,
    exact, as `running_credit` computes it. Lines store only `run_to`; this is computed where the
    tier pieces are shown."""
    return (pl.col("run_to") - pl.col("credited").cast(dec(scales.scaled_credit)) * days).alias("run_from")


def _scaled_credit(scales: Scales, types: UnitTypes | None) -> pl.Expr:
    """A line's credit times D, as `running_credit` counts it."""
    s = scales.scaled_credit
    credit = units(pl.col("credited"), s, types.running) if types else pl.col("credited").cast(dec(s))
    return credit * pl.col("p_days")


def collapse_retroactive(
    table: pl.DataFrame, lines: pl.LazyFrame, bands: int, scales: Scales, types: UnitTypes | None = None
) -> pl.DataFrame:
    """`table` (rep-period rows with `lo_b`, `hi_b` and `retro`; a line finds its row by `row`,
    the row's position) with the edges of each retroactive row collapsed onto the band of the
    row's final credit (`retroactive_bands`): the sum of its `lines`' credit times D (`lines`
    with `row`, `credited`, `p_days`; `types` as in `running_credit`).

    Collapsed once per rep-period, not on every line: the lines then price both modes alike.
    """
    totals = lines.group_by("row").agg(_total=_scaled_credit(scales, types).sum()).collect()
    total = pl.repeat(None, table.height, dtype=totals.schema["_total"], eager=True).scatter(totals["row"], totals["_total"])
    return table.with_columns(total.alias("_total")).with_columns(retroactive_bands(bands, pl.col("_total"), scales, types)).drop("_total")


def retroactive_bands(bands: int, total: pl.Expr, scales: Scales, types: UnitTypes | None = None) -> list[pl.Expr]:
    """`lo_b`, `hi_b` (see `band_edges`) as `band_piece` needs them on lines with `retro`:
    unchanged on a marginal rep-period; on a retroactive one, the band [lower, upper) that
    holds `total` (the rep-period's final credit, times D; compared exactly) becomes
    [0, open) and every other band is absent, so the whole line lands in that band.
    `types`: edges and total are integer units (see `running_credit`)."""
    zero = pl.lit(0, dtype=types.running if types else dec(scales.scaled_credit))
    marginal = ~pl.col(RETRO).fill_null(False)
    edges = []
    for b in range(bands):
        lo, hi = pl.col(f"lo_{b}"), pl.col(f"hi_{b}")
        holds = lo.is_not_null() & (total >= lo) & (hi.is_null() | (total < hi))
        edges.append(pl.when(marginal).then(lo).when(holds).then(zero).alias(f"lo_{b}"))
        edges.append(pl.when(marginal).then(hi).alias(f"hi_{b}"))
    return edges


def band_edges(bands: int, scales: Scales) -> list[pl.Expr]:
    """On rep-period rows with `quota`, `active_days` and the band columns (`lower_b`,
    `upper_b`, `multiplier_b` of `params.wide_by_version`): each band's edges times D,
    `lo_b` and `hi_b` (null: open band). `lo_b` is null for a band the version lacks.

    Computed once per rep and period, not per line.
    """
    s = scales.scaled_credit
    quota_days = pl.col("quota").cast(dec(s)) * pl.col("active_days")
    edges = []
    for b in range(bands):
        lower = (pl.col(f"lower_{b}").cast(dec(s)) * quota_days).fill_null(pl.lit(0, dtype=dec(s)))
        edges.append(pl.when(pl.col(f"multiplier_{b}").is_not_null()).then(lower).alias(f"lo_{b}"))
        edges.append((pl.col(f"upper_{b}").cast(dec(s)) * quota_days).alias(f"hi_{b}"))
    return edges


def band_piece(b: int) -> pl.Expr:
    """The line's piece (times D) in band b, null when the line does not reach into it.

    Needs run_from, run_to and the band's edges `lo_b`, `hi_b` (see `band_edges`).
    """
    piece = pl.min_horizontal("run_to", f"hi_{b}") - pl.max_horizontal("run_from", f"lo_{b}")  # min ignores an open edge
    return pl.when(pl.col(f"lo_{b}").is_not_null() & (piece > 0)).then(piece)


def rep_period_table(grid: pl.LazyFrame, tables: PlanTables, scales: Scales) -> tuple[pl.LazyFrame, pl.DataFrame, int]:
    """Per rep and period (grid rows, in grid order) what pricing a line needs: `pv`, `p_days`,
    `rounding`, the tier band edges times D (`lo_b`, `hi_b`, see `band_edges`) and the tier
    multipliers `multiplier_b`, and `retro` (tier_mode: retroactive) only when some plan
    version is retroactive; plus the versions' band table (`params.wide_by_version`) and
    its number of bands."""
    bands, n_bands = wide_by_version(tables.tiers, "band", ["lower", "upper", "multiplier"])
    retro = [RETRO] if tables.versions[RETRO].any() else []
    table = (
        grid.select("rep_id", "rep_no", "p_start", "p_days", "pv", "quota", "active_days", "rounding", *retro)
        .join(bands.lazy(), on="pv", how="left", maintain_order="left")
        .with_columns(band_edges(n_bands, scales))
        .drop("quota", "active_days", *[c for c in bands.columns if c.startswith(("lower_", "upper_"))])
    )
    return table, bands, n_bands


def period_index(day: pl.Expr, first: Period) -> pl.Expr:
    """How many periods of `first`'s kind lie between `first` and the period containing `day`."""
    months = month_number(day)
    start = first.start.year * 12 + first.start.month - 1
    return months - start if first.kind == MONTH else months // 3 - start // 3


def rep_period_rows(credit_lines: pl.DataFrame, run_reps: pl.Series, periods: list[Period]) -> pl.DataFrame:
    """Per credit line: `row`, its rep-period's row in a (rep_no, period)-ordered grid of the
    `run_reps` x `periods` (rep position * periods + period index), and `ok`: false for a line
    of a rep outside the run (a plan of the other kind) or dated outside the periods.

    Positions instead of a join: millions of lines meet a grid of a few thousand rows.
    Eager: the rows are used to gather, on frames already in memory.
    """
    n_periods = len(periods)
    index = per_day(pl.col("sold_on"), lambda day: period_index(day, periods[0]))
    size = max(run_reps.max() if len(run_reps) else -1, credit_lines["rep_no"].max() if credit_lines.height else -1) + 1
    position = rep_position(run_reps, size)
    return credit_lines.select(
        row=position * n_periods + index, ok=position.is_not_null() & index.is_between(0, n_periods - 1)
    )


def rep_position(run_reps: pl.Series, size: int) -> pl.Expr:
    """A line's rep's position among `run_reps` (null: not a run rep), looked up by its rep_no (a
    small integer below `size`) rather than hashed."""
    positions = pl.repeat(None, size, dtype=pl.Int64, eager=True).scatter(run_reps, pl.int_range(len(run_reps), eager=True))
    return pl.lit(positions).gather(pl.col("rep_no"))


def gather_rep_periods(
    credit_lines: pl.DataFrame, columns: list[str], grid: pl.DataFrame, table: pl.DataFrame, periods: list[Period]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, at): the `columns` of the credit lines of run reps and, row for row, `row` and
    their rep-period's row of `table` (a frame in the order of `grid`, sorted by (rep_no, p_start)).

    Collects nothing: both frames are eager; rows are gathered by position (`rep_period_rows`),
    and the lines are copied only when some are not this run's.
    """
    run_reps = grid["rep_no"].unique(maintain_order=True)
    if grid.height != len(run_reps) * len(periods):  # the positions need every rep x every period
        raise ReconciliationError(f"the rep x period grid has {grid.height} rows, not {len(run_reps)} x {len(periods)}")
    rows = rep_period_rows(credit_lines, run_reps, periods)
    lines = credit_lines.select(columns)
    if not rows["ok"].all():
        lines, rows = lines.filter(rows["ok"]), rows.filter(rows["ok"])
    return lines, pl.concat([rows.select("row"), table.select(pl.all().gather(rows["row"]))], how="horizontal")


def prorated_quota(grid: pl.LazyFrame, scales: Scales) -> pl.LazyFrame:
    """On grid rows with `quota`, `active_days`, `p_days` and `credited`: add `prorated_quota_d`
    (the prorated quota times D, exact), `quota_shown` (the prorated quota rounded half-even to
    cents) and `attainment` (credited / prorated quota, half-even to 6 decimals; null when the
    prorated quota is 0).

    Example: quota 20000, active 12 of 28 days, credited 5000: prorated_quota_d = 240000,
    quota_shown = 240000/28 = 8571.43, attainment = 5000*28/240000 = 0.583333.
    """
    prorated_d = pl.col("prorated_quota_d")
    wide = dec(scales.credited + 12)
    return grid.with_columns(prorated_quota_d=pl.col("quota").cast(dec(scales.quota)) * pl.col("active_days")).with_columns(
        quota_shown=div_round(prorated_d, scales.quota, pl.col("p_days"), 2, "half_even"),
        attainment=pl.when(prorated_d > 0).then(
            round_to(pl.col("credited").cast(wide) * pl.col("p_days") / prorated_d.cast(wide), 6, "half_even")
        ),
    )
