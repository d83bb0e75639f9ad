"""The rep x period grid, called directly: run reps x periods, active days, the version in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.periods import parse_period
from comp_calc.plan.model import Plan, PlanSet, RateRule
from comp_calc.steps import rep_periods
from comp_calc.steps.exact import Scales
from comp_calc.steps.params import build_tables

SCALES = Scales(amount=2, quota=0, share=0, up_to=0, rate=1, tier_multiplier=0, quality_multiplier=0, recover=0)


def test_active_days_and_plan_of_the_other_kind():
    monthly = Plan("m", 1, date(2026, 1, 1), "EUR", "month", "half_up", (RateRule(None, D("0.1")),))
    quarterly = Plan("q", 1, date(2026, 1, 1), "EUR", "quarter", "half_up", (RateRule(None, D("0.1")),))
    tables = build_tables(PlanSet((monthly, quarterly)), SCALES)
    reps = pl.LazyFrame(
        {
            "rep_id": ["R1", "R2"], "rep_no": [0, 1], "plan": ["m", "q"], "quota": [1000, 1000], "line": [2, 3],
            "start_date": [date(2026, 2, 17), date(2020, 1, 1)], "end_date": [None, None],
        },  # fmt: skip
        schema_overrides={"end_date": pl.Date},
    )
    periods = [parse_period("2026-01"), parse_period("2026-02")]
    grid = rep_periods.grid(reps, tables, periods, "month").sort("rep_no", "p_start").collect()
    # R2 is on a quarterly plan: not in a monthly run. R1 starts 2026-02-17: none of January,
    # 17..28 of February = 12 days
    assert grid.select("rep_id", "period", "active_days", "active", "version", "rep_line").rows() == [
        ("R1", "2026-01", 0, False, 1, 2),
        ("R1", "2026-02", 12, True, 1, 2),
    ]
