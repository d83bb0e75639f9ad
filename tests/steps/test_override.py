"""Step 4d, overrides (SPEC 6.3): hand-computed runs through the engine.

Unless a test says otherwise: plan "mgr" (monthly from 2026-01, rate 0.1, override rate
0.01) for the manager M, plan "rep" (monthly from 2026-01, rate 0.1, no override) for
everyone else; M sells nothing, so M's payout is the sum of the override lines.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame
from comp_calc.periods import parse_period
from factories import D, contact, inputs, outbound, override, plan, plans, rep, sale

START = date(2026, 1, 1)


def _plans(rate="0.01", levels=1, mgr_period="month", rounding="half_up", rep_kw=None):
    mgr = plan(plan="mgr", period=mgr_period, rounding=rounding, override=override(rate, levels))
    return plans(mgr, plan(plan="rep", **(rep_kw or {})))


def _run(ps, reps, sales, period="2026-03", contacts=()):
    return compute(ps, inputs(reps, sales, (), list(contacts)), parse_period(period))


def _row(result, rep_id, period=None):
    period = period or result.period.label
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period) & pl.col("present")).to_dicts()
    return rows[0] if rows else None


def _overrides(result, period=None):
    lines = lines_frame(result, period).filter(pl.col("kind") == "override")
    return [(r["rep_id"], r["reference"], r["amount"]) for r in lines.to_dicts()]


# M <- A <- B <- C: A reports to M, B to A, C to B
TEAM = [rep("M", plan="mgr"), rep("A", plan="rep", manager="M"), rep("B", plan="rep", manager="A"), rep("C", plan="rep", manager="B")]
SALES = [
    sale("s1", "A", "1000.00", "2026-03-05"),
    sale("s2", "A", "400.00", "2026-02-10", cancelled_on="2026-03-15"),
    sale("s3", "B", "250.00", "2026-03-02"),
    sale("s4", "C", "999.00", "2026-03-03"),
]


def test_levels_1_counts_direct_reports_and_a_cancellation_nets_the_credit():
    # March, A: sold 1000.00, s2 (sold in February) cancelled 03-15: net 1000.00 - 400.00 = 600.00
    # -> round(0.01 * 600.00) = 6.00; B and C are 2 and 3 levels down: nothing
    result = _run(_plans(levels=1), TEAM, SALES)
    assert _overrides(result) == [("M", "A", D("6.00"))]
    m = _row(result, "M")
    assert (m["overrides"], m["earned"], m["payout"]) == (D("6.00"), D("0.00"), D("6.00"))
    # February, A: s2 400.00 -> 4.00 (the cancellation of March does not reach back)
    assert _overrides(result, "2026-02") == [("M", "A", D("4.00"))]


def test_levels_2_adds_the_reports_of_reports_one_line_each_by_report():
    # A 600.00 -> 6.00 as above; B (2 levels down) 250.00 -> 2.50; C is 3 levels down: nothing
    # overrides 6.00 + 2.50 = 8.50
    result = _run(_plans(levels=2), TEAM, SALES)
    assert _overrides(result) == [("M", "A", D("6.00")), ("M", "B", D("2.50"))]
    assert _row(result, "M")["overrides"] == D("8.50")
    line = lines_frame(result).filter(pl.col("kind") == "override").row(1, named=True)
    assert (line["credited"], line["sale_id"], line["reference"]) == (None, None, "B")


def test_lines_are_ordered_by_the_reports_rep_id_and_each_rounded_once():
    # rate 0.005, half_up: Z 101.00 -> 0.505 -> 0.51; Y 101.00 -> 0.51; 0.51 + 0.51 = 1.02
    # (one rounding of the sum, 1.01, would differ: each line is rounded on its own)
    # half_even: 0.505 -> 0.50 each
    reps = [rep("M", plan="mgr"), rep("Z", plan="rep", manager="M"), rep("Y", plan="rep", manager="M")]
    sales = [sale("s1", "Z", "101.00", "2026-03-01"), sale("s2", "Y", "101.00", "2026-03-01")]
    up = _run(_plans("0.005"), reps, sales)
    assert _overrides(up) == [("M", "Y", D("0.51")), ("M", "Z", D("0.51"))]
    assert _row(up, "M")["overrides"] == D("1.02")
    even = _run(_plans("0.005", rounding="half_even"), reps, sales)
    assert _overrides(even) == [("M", "Y", D("0.50")), ("M", "Z", D("0.50"))]


def test_a_report_with_zero_net_gives_no_line():
    # B: sold 300.00 on 03-02, and a February sale of 300.00 cancelled 03-20: net 0 -> no line
    # A: 500.00 -> 5.00
    reps = [rep("M", plan="mgr"), rep("A", plan="rep", manager="M"), rep("B", plan="rep", manager="M")]
    sales = [
        sale("s1", "A", "500.00", "2026-03-04"),
        sale("s2", "B", "300.00", "2026-03-02"),
        sale("s3", "B", "300.00", "2026-02-01", cancelled_on="2026-03-20"),
    ]
    result = _run(_plans(), reps, sales)
    assert _overrides(result) == [("M", "A", D("5.00"))]
    # a report whose net is negative still gives a (negative) line: April, B's s4 of March
    # cancelled, nothing sold: net -200.00 -> -2.00
    sales.append(sale("s4", "B", "200.00", "2026-03-25", cancelled_on="2026-04-02"))
    april = _run(_plans(), reps, sales, "2026-04")
    assert _overrides(april) == [("M", "B", D("-2.00"))]


def test_a_monthly_report_under_a_quarterly_manager_counts_the_quarter():
    # M on a quarterly plan; A monthly: January 1000.00 + March 2000.00, and a sale of April
    # (outside Q1): Q1 net 3000.00 -> round(0.01 * 3000.00) = 30.00
    reps = [rep("M", plan="mgr"), rep("A", plan="rep", manager="M")]
    sales = [
        sale("s1", "A", "1000.00", "2026-01-15"),
        sale("s2", "A", "2000.00", "2026-03-31"),
        sale("s3", "A", "5000.00", "2026-04-01"),
    ]
    ps = _plans(mgr_period="quarter")
    result = _run(ps, reps, sales, "2026-Q1")
    assert _overrides(result) == [("M", "A", D("30.00"))]
    # the monthly run of March knows nothing of M: A alone, with no override line
    march = _run(ps, reps, sales, "2026-03")
    assert _overrides(march) == [] and _row(march, "M") is None


def test_a_relationship_split_counts_each_reps_part_of_the_sale():
    # "rep" plan splits with share 0.30: S sells 1000.00 to c1 on 03-10, R called c1 on 03-01
    # R (under M) gets 1000.00 * 0.30 = 300.00 -> 3.00; S (under N) 700.00 -> 7.00
    ps = _plans(rep_kw={"outbound_credit": outbound("0.30")})
    reps = [rep("M", plan="mgr"), rep("N", plan="mgr"), rep("R", plan="rep", manager="M"), rep("S", plan="rep", manager="N")]
    result = _run(ps, reps, [sale("s1", "S", "1000.00", "2026-03-10")], contacts=[contact("k1", "R", "c1", "2026-03-01")])
    assert _overrides(result) == [("M", "R", D("3.00")), ("N", "S", D("7.00"))]


def test_only_an_active_manager_under_an_override_version_earns():
    # M left on 2026-02-28: no override in March, 5.00 in February (A: 500.00 each month)
    reps = [rep("M", plan="mgr", end="2026-02-28"), rep("A", plan="rep", manager="M")]
    sales = [sale("s1", "A", "500.00", "2026-02-03"), sale("s2", "A", "500.00", "2026-03-03")]
    result = _run(_plans(), reps, sales)
    assert _overrides(result) == [] and _overrides(result, "2026-02") == [("M", "A", D("5.00"))]
    # a version of 2026-03 without override: nothing in March
    ps = plans(
        plan(plan="mgr", override=override("0.01")),
        plan(plan="mgr", version=2, effective_from=date(2026, 3, 1)),
        plan(plan="rep"),
    )
    result = _run(ps, [rep("M", plan="mgr"), rep("A", plan="rep", manager="M")], sales)
    assert _overrides(result) == [] and _overrides(result, "2026-02") == [("M", "A", D("5.00"))]


def test_a_manager_with_its_own_sales_and_a_manager_above():
    # T <- M <- A, T and M both on "mgr" (levels 2): M sells 800.00 (commission 80.00),
    # A 500.00. M: override on A 5.00, payout 80.00 + 5.00 = 85.00.
    # T: M 800.00 -> 8.00, A 500.00 -> 5.00, overrides 13.00
    reps = [rep("T", plan="mgr"), rep("M", plan="mgr", manager="T"), rep("A", plan="rep", manager="M")]
    sales = [sale("s1", "M", "800.00", "2026-03-01"), sale("s2", "A", "500.00", "2026-03-02")]
    result = _run(_plans(levels=2), reps, sales)
    assert _overrides(result) == [("M", "A", D("5.00")), ("T", "A", D("5.00")), ("T", "M", D("8.00"))]
    assert (_row(result, "M")["payout"], _row(result, "T")["overrides"]) == (D("85.00"), D("13.00"))


def _credit_lines(rows):
    """Credit lines as step 1 gives them to `net_credit`: (rep_no, seller_no, currency, sold_on, cancelled_on, credited)."""
    schema = {"rep_no": pl.Int64, "seller_no": pl.Int64, "currency": pl.String, "sold_on": pl.Date, "cancelled_on": pl.Date, "credited": pl.Decimal(38, 6)}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def test_net_credits_are_added_up_before_they_are_priced_and_keep_their_periods():
    from comp_calc.steps import currency
    from comp_calc.steps.exact import Scales
    from comp_calc.steps.override import net_credit

    # rep 0 (plan currency EUR) reports to a GBP manager (quarters from 2026-01) and a EUR one
    reports = pl.DataFrame(
        [(0, "GBP", date(2026, 1, 1)), (0, "EUR", date(2026, 1, 1)), (0, "GBP", date(2026, 4, 1))],
        schema={"rep_no": pl.Int64, "currency": pl.String, "p_start": pl.Date}, orient="row",
    )
    reps = pl.DataFrame({"rep_id": ["R", "S"], "plan": ["p", "p"]})
    fx = pl.DataFrame(
        [("EUR", "GBP", date(2026, 1, 1), D("0.8")), ("EUR", "GBP", date(2026, 2, 1), D("0.9")), ("USD", "EUR", date(2026, 2, 1), D("0.5"))],
        schema={"currency": pl.String, "to": pl.String, "month": pl.Date, "fx_rate": pl.Decimal(38, 1)}, orient="row",
    )
    scales = Scales(amount=2, quota=0, share=2, up_to=0, rate=0, tier_multiplier=0, quality_multiplier=0, recover=0, fx=1)
    pricing = currency.Pricing(fx, reps, pl.Series("currency", ["EUR", "EUR"]), scales)
    lines = _credit_lines([
        (0, 0, None, date(2026, 1, 5), None, D("100.00")),  # EUR (the seller's plan)
        (0, 0, "EUR", date(2026, 1, 20), date(2026, 2, 3), D("50.00")),  # cancelled in February: same quarter
        (0, 0, None, date(2026, 2, 1), date(2026, 4, 2), D("10.00")),  # cancelled in the next quarter
        (0, 0, "USD", date(2026, 2, 9), None, D("40.00")),  # USD -> EUR 0.5 in February; no USD -> GBP rate
        (1, 1, None, date(2026, 1, 5), None, D("999.00")),  # not a report
        (0, 0, None, date(2025, 12, 31), date(2026, 1, 2), D("7.00")),  # sold before the first period, cancelled in it
    ])
    net = net_credit(lines, reports, "quarter", date(2026, 1, 1), pricing).collect().sort("currency", "p_start")
    # GBP Q1: (100 + 50) * 0.8 - 50 * 0.8 + 10 * 0.9 = 120 - 40 + 9 = 89.00 over the terms with a rate; the USD line
    #   (no USD -> GBP rate) and the December sale's cancellation (no rate for 2025-12) lack one: `unpriced` 2
    #   (the December sale's own term is in a period before the first: left out)
    # GBP Q2: -10 * 0.9 = -9.00
    # EUR Q1: 100 + 50 - 50 + 10 + 40 * 0.5 - 7 = 123.00, every term priced
    assert net.select("currency", "p_start", "net", "unpriced").rows() == [
        ("EUR", date(2026, 1, 1), D("123"), 0),
        ("GBP", date(2026, 1, 1), D("89"), 2),
        ("GBP", date(2026, 4, 1), D("-9"), 0),
    ]
