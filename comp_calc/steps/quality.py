"""Step 4, quality: a customer-outcome multiplier per rep and period.

Responses with responded_on in [period end - window_days + 1, period end]
count. CSAT = #(score >= 4) / n; NPS = 100 * (#(9..10) - #(0..6)) / n; CES =
sum of scores / n (the mean ces score, 1..7). The
metric's multiplier is that of the first band whose `below` exceeds the
value, compared exactly: `value < below` is tested as `count < below * n`
in integers and exact decimals, so no fraction is ever rounded. Fewer than
min_responses responses: multiplier 1. Metrics combine by product or min.

Example: 10 csat responses, 7 of them >= 4: CSAT = 0.7, not < 0.70, so it
falls in the next band (edge values belong to the next band).

Line commission = round(base commission * quality multiplier) to cents, by the
plan version's `rounding` (`line_commission`): the one rounding of a line.
Example: base_d 1600 (a base of 1600/28 = 57.142857...) under a multiplier 0.9:
1600 * 0.9 / 28 = 51.428571... -> 51.43.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import Scales, UnitTypes, dec, div_round, div_round_units

SURVEY_VALUE = {
    # metric -> (numerator over responses, factor): value < below  <=>  factor * numerator < below * n
    "csat": ((pl.col("score") >= 4).cast(pl.Int64).sum(), 1),
    "nps": ((pl.col("score") >= 9).cast(pl.Int64).sum() - (pl.col("score") <= 6).cast(pl.Int64).sum(), 100),
    "ces": (pl.col("score").cast(pl.Int64).sum(), 1),  # mean < below  <=>  sum < below * n
}


def metric_counts(grid: pl.LazyFrame, feedback: pl.LazyFrame, flag: str = "has_quality", window: str = "q_window") -> pl.LazyFrame:
    """Per (rep_id, p_start, metric): `n` responses in the window and the metric's `numerator`,
    for the grid rows where `flag` holds, with the window of `window` days ending on p_end."""
    windows = grid.filter(pl.col(flag).fill_null(False)).select(
        "rep_id", "p_start", "p_end", (pl.col("p_end") - pl.duration(days=pl.col(window) - 1)).alias("w_start")
    )
    in_window = feedback.join(windows, on="rep_id").filter(
        (pl.col("responded_on") >= pl.col("w_start")) & (pl.col("responded_on") <= pl.col("p_end"))
    )
    parts = [
        in_window.filter(pl.col("survey") == metric)
        .group_by("rep_id", "p_start")
        .agg(n=pl.len().cast(pl.Int64), numerator=(num * factor).cast(pl.Int64))
        .with_columns(metric=pl.lit(metric))
        for metric, (num, factor) in SURVEY_VALUE.items()
    ]
    return pl.concat(parts)


def quality_multipliers(grid: pl.LazyFrame, feedback: pl.LazyFrame, bands: pl.DataFrame, scales: Scales) -> pl.LazyFrame:
    """Per grid row with a quality section: `quality_multiplier` plus per-metric detail columns.

    Detail columns: `{metric}_n`, `{metric}_value_num` (numerator: csat positives,
    100*(promoters-detractors) or the sum of ces scores), `{metric}_multiplier` (null: metric
    not in the plan).
    """
    qs = scales.quality_multiplier
    keyed = grid.filter(pl.col("has_quality")).select("rep_id", "rep_no", "p_start", "plan", "version", "q_min", "q_combine")
    metric_rows = keyed.join(bands.lazy().select("plan", "version", "metric").unique(), on=["plan", "version"])
    counts = metric_rows.join(metric_counts(grid, feedback), on=["rep_id", "p_start", "metric"], how="left").with_columns(
        pl.col("n").fill_null(0), pl.col("numerator").fill_null(0)
    )
    # the first band (in order) with value < below; the open last band always matches
    matched = (
        counts.join(bands.lazy(), on=["plan", "version", "metric"])
        .filter(
            pl.col("below").is_null()
            | (pl.col("numerator").cast(dec(6)) < pl.col("below") * pl.col("n").cast(dec(6)))
        )
        .group_by("rep_id", "p_start", "metric")
        .agg(pl.col("multiplier").sort_by("band").first(), pl.col("n").first(), pl.col("numerator").first(), pl.col("q_min").first())
        .with_columns(
            multiplier=pl.when(pl.col("n") >= pl.col("q_min")).then(pl.col("multiplier")).otherwise(pl.lit(1, dtype=dec(qs)))
        )
    )
    wide = keyed
    for metric in SURVEY_VALUE:
        m = matched.filter(pl.col("metric") == metric).select(
            "rep_id",
            "p_start",
            pl.col("n").alias(f"{metric}_n"),
            pl.col("numerator").alias(f"{metric}_value_num"),
            pl.col("multiplier").cast(dec(qs)).alias(f"{metric}_multiplier"),
        )
        wide = wide.join(m, on=["rep_id", "p_start"], how="left")
    one = pl.lit(1, dtype=dec(qs))
    multipliers = [pl.col(f"{metric}_multiplier") for metric in SURVEY_VALUE]
    product = multipliers[0].fill_null(one)
    for m in multipliers[1:]:
        product = product * m.fill_null(one)
    minimum = pl.min_horizontal(multipliers)  # min ignores a metric the plan does not list
    return wide.with_columns(
        quality_multiplier=pl.when(pl.col("q_combine") == "min").then(minimum).otherwise(product).cast(dec(qs))
    ).drop("q_min", "q_combine", "plan", "version")


def applied_multiplier(scales: Scales) -> pl.Expr:
    """The quality multiplier applied, on rows with `quality_multiplier` (null: the rep-period has
    none): that multiplier, 1 where null, at `scales.quality_multiplier` decimals."""
    return pl.col("quality_multiplier").fill_null(pl.lit(1, dtype=dec(scales.quality_multiplier)))


def line_commission(scales: Scales) -> list[pl.Expr]:
    """On lines with `base_d` (base commission times D, see `rate.base_times_days`), `p_days`,
    `rounding` and `quality_multiplier` (null: the rep-period has none): `qm_used`, the
    multiplier applied (1 where null), and `amount` = round(base_d * qm_used / D, 2), exact
    before the one rounding."""
    w = scales.commission
    qm_used = applied_multiplier(scales)
    amount = div_round(pl.col("base_d").cast(dec(w)) * qm_used.cast(dec(w)), w, pl.col("p_days"), 2, pl.col("rounding"))
    return [qm_used.alias("qm_used"), amount.alias("amount")]


def line_commission_units(scales: Scales, types: UnitTypes) -> pl.Expr:
    """`line_commission`'s `amount` on the integer path: `base_d` in units of `scales.base`,
    `qm_units` the multiplier applied (1 where none) in units of `scales.quality_multiplier`, so
    their product counts units of `scales.commission` (as `types.products`, see
    `exact.pricing_units`); divided by D and rounded once to cents exactly
    (`exact.div_round_units`): the amount in cents, of `types.products` (`exact.from_units(amount, 2)`
    is the Decimal it stands for)."""
    p = types.products
    numerator = pl.col("base_d").cast(p) * pl.col("qm_units").cast(p)
    return div_round_units(numerator, scales.commission, pl.col("p_days"), 2, pl.col("rounding"), p).alias("amount")
