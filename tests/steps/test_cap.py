"""Step 5, cap, called directly: earned per rep and period, and the cap line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl

from comp_calc.steps import cap


def dec(values, scale):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def test_earned_sums_the_rounded_line_commissions_per_rep_and_period():
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    lines = pl.LazyFrame(
        {
            "rep_no": [0, 0, 0, 1],
            "p_start": [march, march, april, march],
            "amount": dec(["10.01", "20.02", "5.00", "1.00"], 2),
            "credited": dec(["100.1000", "200.2000", "50.0000", "10.0000"], 4),
        }
    )
    out = cap.earned(lines).collect().sort("rep_no", "p_start")
    # rep 0 in March: 10.01 + 20.02 = 30.03 over two lines, credited 100.1 + 200.2 = 300.3
    assert out.rows() == [
        (0, march, D("30.03"), D("300.3000"), 2),
        (0, april, D("5.00"), D("50.0000"), 1),
        (1, march, D("1.00"), D("10.0000"), 1),
    ]


def test_earned_sums_integer_units_as_the_decimals_they_stand_for():
    march = date(2026, 3, 1)
    # the same March lines of rep 0 as above, stored as units: 1001 + 2002 cents = 30.03;
    # credited at scale 4: 1001000 + 2002000 = 3003000 units = 300.3000
    units = pl.LazyFrame({"rep_no": [0, 0], "p_start": [march] * 2, "amount": [1001, 2002], "credited": [1001000, 2002000]})
    assert cap.earned(units, 4).collect().rows() == [(0, march, D("30.03"), D("300.3000"), 2)]
    # near the Int64 limit: three lines of 2^62 cents add up past 2^63 exactly, never wrapping
    big = 2**62
    huge = pl.LazyFrame({"rep_no": [0] * 3, "p_start": [march] * 3, "amount": [big] * 3, "credited": [big] * 3})
    out = cap.earned(huge, 4).collect()
    assert out["earned"].item() == D(3 * big).scaleb(-2)
    assert out["credited"].item() == D(3 * big).scaleb(-4)


def test_cap_line_only_strictly_above_the_cap():
    rows = pl.DataFrame({"earned": dec(["20500.00", "20000.00", "99999.00"], 2), "cap": dec(["20000", "20000", None], 2)})
    # 20000 - 20500 = -500.00; exactly at the cap: no line; no cap: no line
    assert rows.select(cap.cap_adjustment())["cap"].to_list() == [D("-500.00"), None, None]
