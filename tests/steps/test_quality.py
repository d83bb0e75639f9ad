"""Step 4, quality, called directly: the multiplier per rep and period, and the line commission."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.steps import quality
from comp_calc.steps.exact import Scales

SCALES = Scales(amount=2, quota=0, share=0, up_to=0, rate=2, tier_multiplier=0, quality_multiplier=1, recover=0)


def dec(values, scale):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def test_line_commission_applies_the_multiplier_then_rounds_once():
    lines = pl.DataFrame(
        {
            "base_d": dec(["1600", "1600", "35"], 2),
            "p_days": [28, 28, 28],
            "rounding": ["half_up", "half_up", "half_even"],
            "quality_multiplier": dec(["0.9", None, None], 1),
        }
    )
    out = lines.with_columns(quality.line_commission(SCALES))
    # 1600 * 0.9 / 28 = 51.428571... -> 51.43; no multiplier: 1600 / 28 = 57.142857... -> 57.14;
    # 35 / 28 = 1.25 exactly, already in cents: 1.25 under either rounding
    assert out["qm_used"].to_list() == [D("0.9"), D("1"), D("1")]
    assert out["amount"].to_list() == [D("51.43"), D("57.14"), D("1.25")]


def test_half_even_and_half_up_differ_on_an_exact_half_cent():
    # base_d 0.70 over D=28 is 0.025 exactly: half_up 0.03, half_even 0.02
    lines = pl.DataFrame(
        {"base_d": dec(["0.70", "0.70"], 2), "p_days": [28, 28], "rounding": ["half_up", "half_even"], "quality_multiplier": dec([None, None], 1)}
    )
    assert lines.with_columns(quality.line_commission(SCALES))["amount"].to_list() == [D("0.03"), D("0.02")]


def test_csat_at_a_band_edge_falls_in_the_next_band():
    grid = pl.LazyFrame(
        {
            "rep_id": ["R1"], "rep_no": [0], "p_start": [date(2026, 3, 1)], "p_end": [date(2026, 3, 31)],
            "plan": ["p"], "version": [1], "has_quality": [True], "q_window": [90], "q_min": [5], "q_combine": ["multiply"],
        }  # fmt: skip
    )
    scores = [5, 5, 5, 5, 4, 4, 4, 1, 2, 3]  # 7 of 10 are >= 4: CSAT = 0.7
    feedback = pl.LazyFrame({"rep_id": ["R1"] * 10, "survey": ["csat"] * 10, "score": scores, "responded_on": [date(2026, 3, 15)] * 10})
    bands = pl.DataFrame(
        {"plan": ["p", "p"], "version": [1, 1], "metric": ["csat", "csat"], "band": [0, 1], "below": dec(["0.70", None], 6), "multiplier": dec(["0.8", "1.1"], 1)}
    )
    out = quality.quality_multipliers(grid, feedback, bands, SCALES).collect()
    # 7 < 0.70 * 10 is false: not band 0 (edge values belong to the next band) -> 1.1
    assert out.select("csat_n", "csat_value_num", "quality_multiplier").row(0) == (10, 7, D("1.1"))


def test_ces_is_the_mean_score_and_its_edge_belongs_to_the_next_band():
    grid = pl.LazyFrame(
        {
            "rep_id": ["R1", "R2"], "rep_no": [0, 1], "p_start": [date(2026, 3, 1)] * 2, "p_end": [date(2026, 3, 31)] * 2,
            "plan": ["p", "p"], "version": [1, 1], "has_quality": [True, True], "q_window": [90, 90], "q_min": [2, 2],
            "q_combine": ["multiply", "multiply"],
        }  # fmt: skip
    )
    # R1: 5 + 5 + 5 + 6 = 21 over 4 = 5.25; R2: 4 + 5 + 6 + 5 = 20 over 4 = 5, not < 5 (the edge: next band)
    scores = {"R1": [5, 5, 5, 6], "R2": [4, 5, 6, 5]}
    feedback = pl.LazyFrame(
        {"rep_id": [r for r, s in scores.items() for _ in s], "survey": ["ces"] * 8, "score": [x for s in scores.values() for x in s],
         "responded_on": [date(2026, 3, 15)] * 8}  # fmt: skip
    )
    bands = pl.DataFrame(
        {"plan": ["p", "p"], "version": [1, 1], "metric": ["ces", "ces"], "band": [0, 1], "below": dec(["5", None], 6), "multiplier": dec(["0.9", "1.0"], 1)}
    )
    out = quality.quality_multipliers(grid, feedback, bands, SCALES).collect().sort("rep_no")
    assert out.select("ces_n", "ces_value_num", "quality_multiplier").rows() == [(4, 21, D("1.0")), (4, 20, D("1.0"))]
    # R2 with a 4 instead of the last 5: 19 over 4 = 4.75 < 5 -> 0.9
    feedback = feedback.with_columns(score=pl.Series([5, 5, 5, 6, 4, 5, 6, 4]))
    out = quality.quality_multipliers(grid, feedback, bands, SCALES).collect().sort("rep_no")
    assert out["quality_multiplier"].to_list() == [D("1.0"), D("0.9")]
