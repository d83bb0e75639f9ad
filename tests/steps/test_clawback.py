"""Step 6, clawback, called directly: the first matching rule, placed in the period of cancellation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.steps import clawback
from comp_calc.steps.exact import Scales

SCALES = Scales(amount=2, quota=0, share=0, up_to=0, rate=2, tier_multiplier=0, quality_multiplier=0, recover=1)


def dec(values, scale):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def _rules():
    # one version: within 30 days recover 1.0, within 90 days 0.5
    return pl.DataFrame({"pv": [0, 0], "rule": [0, 1], "within_days": [30, 90], "recover": dec(["1.0", "0.5"], 1)})


def _commissions(rounding: str) -> pl.LazyFrame:
    sold = date(2026, 1, 10)
    return pl.LazyFrame(
        {
            "line_no": [1, 3, 5, 7],
            "rep_no": [0, 0, 0, 0],
            "pv": [0, 0, 0, 0],
            "rounding": [rounding] * 4,
            "p_start": [date(2026, 1, 1)] * 4,
            "amount": dec(["123.45"] * 4, 2),
            "sold_on": [sold] * 4,
            # 30 days (edge included), 31 days, 91 days (no rule), not cancelled
            "cancelled_on": [date(2026, 2, 9), date(2026, 2, 10), date(2026, 4, 11), None],
        }
    )


def test_first_matching_rule_and_rounding():
    up = clawback.clawback_lines(_commissions("half_up"), _rules(), SCALES, "month").collect()
    # 30 days: rule 0, -1.0 * 123.45 = -123.45; 31 days: rule 1, -0.5 * 123.45 = -61.725 -> -61.73 (half_up)
    assert up.select("line_no", "days", "rule", "clawback").rows() == [(1, 30, 0, D("-123.45")), (3, 31, 1, D("-61.73"))]
    even = clawback.clawback_lines(_commissions("half_even"), _rules(), SCALES, "month").collect()
    assert even["clawback"].to_list() == [D("-123.45"), D("-61.72")]  # half_even: -61.725 -> -61.72


def test_clawed_back_in_the_period_of_cancellation():
    lines = clawback.clawback_lines(_commissions("half_up"), _rules(), SCALES, "quarter").collect()
    # sold in January, cancelled in February: the quarter starting 2026-01-01; amounts become original_*
    assert lines.select("original_start", "original_amount", "p_start").rows()[0] == (date(2026, 1, 1), D("123.45"), date(2026, 1, 1))
    monthly = clawback.clawback_lines(_commissions("half_up"), _rules(), SCALES, "month").collect()
    assert monthly["p_start"].to_list() == [date(2026, 2, 1), date(2026, 2, 1)]
    sums = clawback.per_rep_period(monthly.lazy()).collect()
    # -123.45 + -61.73 = -185.18 over two lines, in February
    assert sums.rows() == [(0, date(2026, 2, 1), D("-185.18"), 2)]
