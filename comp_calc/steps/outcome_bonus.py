"""Step 4b, outcome bonus (SPEC 6.3): a fixed amount per period for a customer outcome.

For a rep active in the period whose plan version has `outcome_bonus`, with at least
`min_responses` responses of the metric's survey in [period end - window_days + 1,
period end]: one `outcome_bonus` line with the `amount` of the first band whose `below`
exceeds the metric's value (strict `<`: a value on an edge belongs to the next band),
else the open last band's. The metric values are those of step 4 (`quality.metric_counts`),
compared exactly as a fraction. A zero amount writes no line. Not prorated, not capped;
the lines add to the payout through the balance (step 7).

Example: bands below 30: 0, below 60: 250.00, else 500.00; 10 nps responses, 6 promoters
and 3 detractors: nps = 100 * (6 - 3) / 10 = 30, not < 30, so the second band: 250.00.
"""

from __future__ import annotations

import polars as pl

from comp_calc.steps.exact import dec
from comp_calc.steps.quality import metric_counts

KIND = "outcome_bonus"


def outcome_bonus_lines(grid: pl.LazyFrame, feedback: pl.LazyFrame, bands: pl.DataFrame) -> pl.LazyFrame:
    """One line per rep-period earning a nonzero bonus: rep_id, rep_no, p_start, kind, amount,
    and for the explanation `metric`, `responses`, `value_num` (see `quality.metric_counts`),
    `band_lower` and `band_below` (null: no edge on that side).

    `grid` has rep_id, rep_no, p_start, p_end, active, plan, version, has_bonus, bonus_metric,
    bonus_window and bonus_min; `bands` is `PlanTables.bonus_bands`."""
    keyed = grid.filter(pl.col("active") & pl.col("has_bonus").fill_null(False))
    counts = metric_counts(keyed, feedback, flag="has_bonus", window="bonus_window")
    return (
        keyed.select("rep_id", "rep_no", "p_start", "plan", "version", "bonus_min", pl.col("bonus_metric").alias("metric"))
        .join(counts, on=["rep_id", "p_start", "metric"])
        .filter(pl.col("n") >= pl.col("bonus_min"))
        .join(bands.lazy(), on=["plan", "version"])
        # value < below  <=>  numerator < below * n (see quality.SURVEY_VALUE): exact, never a rounded fraction
        .filter(pl.col("below").is_null() | (pl.col("numerator").cast(dec(6)) < pl.col("below") * pl.col("n").cast(dec(6))))
        .sort("rep_no", "p_start", "band")
        .unique(["rep_no", "p_start"], keep="first", maintain_order=True)
        .filter(pl.col("amount") != 0)
        .select(
            "rep_id", "rep_no", "p_start", pl.lit(KIND).alias("kind"), "amount", "metric",
            pl.col("n").alias("responses"), pl.col("numerator").alias("value_num"),
            pl.col("lower").alias("band_lower"), pl.col("below").alias("band_below"),
        )  # fmt: skip
    )
