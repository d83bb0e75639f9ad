"""Step 3, rate, called directly: the rate table, a line's rate row and base commission times D."""

from __future__ import annotations

from decimal import Decimal as D

import polars as pl

from comp_calc.steps import rate
from comp_calc.steps.exact import Scales

SCALES = Scales(amount=2, quota=0, share=0, up_to=1, rate=2, tier_multiplier=1, quality_multiplier=0, recover=0)


def dec(values, scale):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def _rates():
    # version 0: mortgage 0.04, catch-all 0.02; version 1: catch-all 0.03
    return pl.DataFrame({"pv": [0, 0, 1], "product": ["mortgage", None, None], "rate": dec(["0.04", "0.02", "0.03"], 2)})


def _bands():
    # version 0: two bands x0.5 and x1.0; version 1: one open band x1
    return pl.DataFrame({"pv": [0, 1], "multiplier_0": dec(["0.5", "1"], 1), "multiplier_1": dec(["1.0", None], 1)})


def test_rate_table_takes_the_products_rule_else_the_catch_all():
    products = pl.Series(["loan", "mortgage"])
    table = rate.rate_table(_rates(), _bands(), 2, products, SCALES)
    # rows (pv, product) in order; rate * multiplier exact: 0.02*0.5 = 0.010, 0.04*0.5 = 0.020
    assert table.rows() == [
        (0, "loan", D("0.02"), D("0.010"), D("0.020")),
        (0, "mortgage", D("0.04"), D("0.020"), D("0.040")),
        (1, "loan", D("0.03"), D("0.030"), None),
        (1, "mortgage", D("0.03"), D("0.030"), None),
    ]
    # a line of version 1 selling a mortgage is row 1 * 2 + 1 = 3
    code = pl.DataFrame({"product": ["mortgage", "loan"]}).select(rate.product_code(products)).to_series()
    got = table.select(pl.col("rate").gather(rate.rate_rows(pl.Series([1, 0]), code, len(products))))
    assert got["rate"].to_list() == [D("0.03"), D("0.02")]


def test_base_times_days_sums_the_band_pieces():
    # pieces (times D=28) 120000 in band 0 and 20000 in band 1 at rate 0.02:
    # 120000*0.02*0.5 + 20000*0.02*1.0 = 1200 + 400 = 1600, a base of 1600/28 = 57.142857...
    line = pl.DataFrame(
        {
            "run_from": dec(["0"], 2), "run_to": dec(["140000"], 2),
            "lo_0": dec(["0"], 2), "hi_0": dec(["120000"], 2), "lo_1": dec(["120000"], 2), "hi_1": dec([None], 2),
            "rate_x_multiplier_0": dec(["0.010"], 3), "rate_x_multiplier_1": dec(["0.020"], 3), "p_days": [28],
        }  # fmt: skip
    )
    out = line.with_columns(base_d=rate.base_times_days(2, SCALES)).with_columns(base=rate.base_commission(SCALES, pl.col("p_days")))
    assert out["base_d"].item() == D("1600")
    assert out["base"].item() == D("57.142857")  # half-even to 6 decimals
