"""Step 2, attainment, called directly: running credit, band edges, pieces, proration, positions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl
import pytest

from comp_calc.errors import ReconciliationError
from comp_calc.periods import parse_period
from comp_calc.steps import attainment
from comp_calc.steps.exact import Scales

# credited with 2 decimals, quota 0, up_to 1: scaled_credit = max(2, 0 + 1) = 2
SCALES = Scales(amount=2, quota=0, share=0, up_to=1, rate=2, tier_multiplier=1, quality_multiplier=0, recover=0)


def dec(values, scale):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, scale))


def test_running_credit_is_per_rep_period_times_days():
    lines = pl.LazyFrame({"row": [0, 0, 1], "credited": dec(["100.00", "50.00", "10.00"], 2), "p_days": [28, 28, 28]})
    out = attainment.running_credit(lines, SCALES, "row").collect()
    # rep-period 0: 100*28 = 2800, then 2800 + 50*28 = 4200; rep-period 1 starts again: 10*28 = 280
    assert out["run_from"].to_list() == [D("0.00"), D("2800.00"), D("0.00")]
    assert out["run_to"].to_list() == [D("2800.00"), D("4200.00"), D("280.00")]


def test_run_from_is_run_to_less_the_lines_credit_times_days():
    # the lines above: run_to 2800, 4200, 280 with credits 100.00, 50.00, 10.00 and D = 28:
    # 2800 - 100*28 = 0, 4200 - 50*28 = 2800, 280 - 10*28 = 0, as the running credit has them
    lines = pl.LazyFrame({"row": [0, 0, 1], "credited": dec(["100.00", "50.00", "10.00"], 2), "p_days": [28, 28, 28]})
    out = attainment.running_credit(lines, SCALES, "row").collect()
    found = out.drop("run_from").select(attainment.run_from(SCALES, pl.col("p_days")))
    assert found["run_from"].to_list() == [D("0.00"), D("2800.00"), D("0.00")]
    assert found.schema["run_from"] == out.schema["run_from"]


def test_band_edges_and_a_line_straddling_an_edge():
    # quota 20000, active 12 of 28 days, tiers up_to 0.5 / open: edges times D at
    # 0.5 * 20000 * 12 = 120000 (the prorated 4285.71... times 28)
    rows = pl.DataFrame(
        {
            "quota": dec(["20000"], 0),
            "active_days": [12],
            "lower_0": dec([None], 1), "upper_0": dec(["0.5"], 1), "multiplier_0": dec(["0.5"], 1),
            "lower_1": dec(["0.5"], 1), "upper_1": dec([None], 1), "multiplier_1": dec(["1.0"], 1),
        }  # fmt: skip
    )
    edges = rows.select(attainment.band_edges(2, SCALES)).row(0)
    assert edges == (D("0"), D("120000"), D("120000"), None)  # lo_0, hi_0, lo_1, hi_1 (open)
    # a line from 100000 to 140000 (times D): 20000 in band 0, 20000 in band 1
    line = rows.select(attainment.band_edges(2, SCALES)).with_columns(
        run_from=dec(["100000"], 2), run_to=dec(["140000"], 2)
    )
    pieces = line.select(attainment.band_piece(0).alias("b0"), attainment.band_piece(1).alias("b1")).row(0)
    assert pieces == (D("20000"), D("20000"))


def test_prorated_quota_shown_and_attainment():
    grid = pl.LazyFrame(
        {"quota": dec(["20000", "0"], 0), "active_days": [12, 28], "p_days": [28, 28], "credited": dec(["5000.00", "10.00"], 2)}
    )
    out = attainment.prorated_quota(grid, SCALES).collect()
    # 20000 * 12 = 240000 (times D); shown 240000 / 28 = 8571.428... -> 8571.43;
    # attainment 5000 * 28 / 240000 = 0.58333... -> 0.583333. Quota 0: no attainment.
    assert out["prorated_quota_d"].to_list() == [D("240000"), D("0")]
    assert out["quota_shown"].to_list() == [D("8571.43"), D("0.00")]
    assert out["attainment"].to_list() == [D("0.583333"), None]


def test_lines_find_their_rep_period_by_position():
    periods = [parse_period("2026-01"), parse_period("2026-02"), parse_period("2026-03")]
    # two run reps (rep_no 0 and 2) x three months, in (rep_no, p_start) order: rows 0..5
    grid = pl.DataFrame({"rep_no": [0, 0, 0, 2, 2, 2], "p_start": [p.start for p in periods] * 2})
    table = grid.with_columns(tag=pl.Series(["a1", "a2", "a3", "c1", "c2", "c3"]))
    lines = pl.DataFrame(
        {
            "line_no": [1, 3, 5, 7],
            "rep_no": [2, 0, 1, 2],  # rep 1 is not in the run (a plan of the other kind)
            "sold_on": [date(2026, 2, 10), date(2026, 3, 31), date(2026, 2, 1), date(2026, 1, 1)],
        }
    )
    kept, at = attainment.gather_rep_periods(lines, ["line_no"], grid, table, periods)
    # rep 2 is position 1: row 1*3 + 1 = 4 (c2); rep 0 in March: row 0*3 + 2 = 2 (a3); rep 2 in January: row 3
    assert kept["line_no"].to_list() == [1, 3, 7]
    assert at.select("row", "tag").rows() == [(4, "c2"), (2, "a3"), (3, "c1")]


def test_a_grid_missing_a_rep_period_is_a_reconciliation_error():
    periods = [parse_period("2026-01"), parse_period("2026-02")]
    grid = pl.DataFrame({"rep_no": [0, 0, 1], "p_start": [periods[0].start, periods[1].start, periods[0].start]})
    lines = pl.DataFrame({"line_no": [1], "rep_no": [0], "sold_on": [date(2026, 1, 5)]})
    with pytest.raises(ReconciliationError):
        attainment.gather_rep_periods(lines, ["line_no"], grid, grid, periods)


def test_quarter_period_index():
    q = parse_period("2026-Q1")
    days = pl.DataFrame({"d": [date(2026, 3, 31), date(2026, 4, 1), date(2027, 1, 1)]})
    # Q1 -> 0, Q2 -> 1, next year's Q1 -> 4
    assert days.select(attainment.period_index(pl.col("d"), q))["d"].to_list() == [0, 1, 4]


def test_retroactive_rep_periods_put_each_whole_line_in_the_band_of_the_final_credit():
    # edges times D=28 for quota 1000 active 28 days, tiers up_to 0.5 / open: band 0 [0, 14000), band 1 [14000, open).
    # Rep-period 0 (retroactive): lines 300 and 200, total 500 * 28 = 14000, exactly the edge -> band 1 for both:
    # pieces 300*28 = 8400 and 200*28 = 5600 in band 1. Rep-period 1 (marginal): the same lines split at 14000.
    # Rep-period 2 (retroactive, no line) keeps no band.
    table = pl.DataFrame(
        {"retro": [True, False, True], "lo_0": dec(["0"] * 3, 2), "hi_0": dec(["14000"] * 3, 2), "lo_1": dec(["14000"] * 3, 2), "hi_1": dec([None] * 3, 2)}
    )
    lines = pl.LazyFrame({"row": [0, 0, 1, 1], "credited": dec(["300.00", "200.00", "300.00", "200.00"], 2), "p_days": [28] * 4})

    def pieces(lines):
        collapsed = attainment.collapse_retroactive(table, lines, 2, SCALES)
        assert collapsed.columns == table.columns
        edges = [pl.lit(collapsed[c]).gather(pl.col("row")).alias(c) for c in ("lo_0", "hi_0", "lo_1", "hi_1")]
        out = attainment.running_credit(lines, SCALES, "row").with_columns(edges).collect()
        return collapsed, out.select(attainment.band_piece(0).alias("b0"), attainment.band_piece(1).alias("b1")).rows()

    collapsed, found = pieces(lines)
    assert found == [(None, D("8400")), (None, D("5600")), (D("8400"), None), (D("5600"), None)]
    assert collapsed.row(0) == (True, None, None, D("0"), None)  # band 1 became [0, open), band 0 absent
    assert collapsed.row(1) == table.row(1)  # marginal: unchanged
    assert collapsed.row(2) == (True, None, None, None, None)
    # one cent less in total (499.99 * 28 = 13999.72 < 14000): band 0 for both
    _, found = pieces(lines.with_columns(credited=dec(["300.00", "199.99", "300.00", "199.99"], 2)))
    assert found[:2] == [(D("8400"), None), (D("5599.72"), None)]
