"""Step 7, balance, called directly: the period net, carried forward or paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.steps import balance


def dec(values, scale=2):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def test_period_net_is_earned_plus_cap_line_plus_clawbacks():
    rows = pl.DataFrame({"earned": dec(["150.00", "80.00"]), "cap_adjustment": dec(["-50.00", None]), "clawbacks": dec(["-10.00", "0.00"])})
    # 150 - 50 - 10 = 90.00; no cap line counts as 0: 80.00
    assert rows.select(balance.period_net())["x"].to_list() == [D("90.00"), D("80.00")]


def _grid(policy: str) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "rep_id": ["R1"] * 3,
            "p_start": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
            "x": dec(["-100.00", "30.00", "200.00"]),
            "negative_balance": [policy] * 3,
        }
    )


def test_carry_forward():
    out = balance.settle(_grid("carry_forward")).collect()
    # running sums -100, -70, 130; carry out -100, -70, 0; payouts 0, 0, 130
    assert out.select("carry_in", "payout", "carry_out").rows() == [
        (D("0.00"), D("0.00"), D("-100.00")),
        (D("-100.00"), D("0.00"), D("-70.00")),
        (D("-70.00"), D("130.00"), D("0.00")),
    ]


def test_pay_pays_the_net_as_is_and_carries_nothing():
    out = balance.settle(_grid("pay")).collect()
    assert out["payout"].to_list() == [D("-100.00"), D("30.00"), D("200.00")]
    assert set(out["carry_in"].to_list()) == set(out["carry_out"].to_list()) == {D("0.00")}


def test_each_rep_carries_its_own_balance():
    # R1: -100, +30, +20 -> running sums -100, -70, -50, never above 0: carry out -100, -70, -50;
    # payouts 0, 0, 0. R2: -20, +10, +30 -> running sums -20, -10, 20, running max(0, S) 0, 0, 20:
    # carry out -20, -10, 0; payouts 0, 0, 20. A running sum shared by the two reps would start
    # R2 at R1's -50 and pay it nothing in March.
    days = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    grid = pl.LazyFrame(
        {
            "rep_id": ["R2", "R1", "R2", "R1", "R2", "R1"],
            "p_start": [days[0], days[0], days[1], days[1], days[2], days[2]],
            "x": dec(["-20.00", "-100.00", "10.00", "30.00", "30.00", "20.00"]),
            "negative_balance": ["carry_forward"] * 6,
        }
    )
    out = balance.settle(grid).collect().sort("rep_id", "p_start")
    assert out.select("rep_id", "payout", "carry_out").rows() == [
        ("R1", D("0.00"), D("-100.00")), ("R1", D("0.00"), D("-70.00")), ("R1", D("0.00"), D("-50.00")),
        ("R2", D("0.00"), D("-20.00")), ("R2", D("0.00"), D("-10.00")), ("R2", D("20.00"), D("0.00")),
    ]  # fmt: skip
