"""Step 6b, holdback (SPEC 6.3), and its effect on the step 6 clawback base: hand-computed runs through the engine.

Unless a test says otherwise: one monthly plan from 2026-01, rate 0.1, half_up, holdback
share 0.25; a commission A of a sale of amount X is 0.1 * X and the held part H = round(0.25 * A).
"""

from __future__ import annotations

import polars as pl
import pytest

from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from comp_calc.plan.model import Holdback
from factories import D, clawback, d, inputs, plan, plans, rep, sale


def held(days=180, share="0.25"):
    return Holdback(D(share), days)


def _run(ps, inp, period):
    return compute(ps, inp, parse_period(period))


def _row(result, rep_id, period=None):
    period = period or result.period.label
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period) & pl.col("present")).to_dicts()
    assert len(rows) <= 1
    return rows[0] if rows else None


def _lines(result, period=None, kinds=("holdback", "release")):
    lines = lines_frame(result, period)
    return [(r["rep_id"], r["period"], r["kind"], r["sale_id"], r["amount"]) for r in lines.filter(pl.col("kind").is_in(kinds)).to_dicts()]


def test_held_in_the_sale_period_and_released_in_the_period_of_the_release_day():
    # sale 4000.00 on 2026-03-31: A = 400.00, H = 0.25 * 400.00 = 100.00
    # release day 2026-03-31 + 180 days: Apr 30 (30), May 31 (61), Jun 30 (91), Jul 31 (122),
    # Aug 31 (153), Sep 27 (180) -> 2026-09-27, in 2026-09
    ps = plans(plan(holdback=held(180)))
    inp = inputs([rep("A")], [sale("s1", "A", "4000", "2026-03-31")])
    result = _run(ps, inp, "2026-09")
    march, september = _row(result, "A", "2026-03"), _row(result, "A", "2026-09")
    # March: earned 400.00, held -100.00, payout 300.00
    assert (march["earned"], march["holdback"], march["released"], march["payout"]) == (D("400.00"), D("-100.00"), D("0.00"), D("300.00"))
    # September: nothing earned, released 100.00, payout 100.00
    assert (september["earned"], september["released"], september["payout"]) == (D("0.00"), D("100.00"), D("100.00"))
    for month in ("2026-04", "2026-05", "2026-06", "2026-07", "2026-08"):
        assert _row(result, "A", month)["released"] == D("0.00")
    assert _lines(result, "2026-03") == [("A", "2026-03", "holdback", "s1", D("-100.00"))]
    assert _lines(result) == [("A", "2026-09", "release", "s1", D("100.00"))]
    hold = lines_frame(result, "2026-03").filter(pl.col("kind") == "holdback").row(0, named=True)
    assert hold["explanation"] == "sale s1 sold 2026-03-31: 25% of 400.00 held until 2026-09-27"
    assert hold["reference"] is None and hold["credited"] == D("4000") and hold["product"] == "x"
    release = lines_frame(result).filter(pl.col("kind") == "release").row(0, named=True)
    assert release["explanation"] == (
        "released: held from the sale of 2026-03-31 (sale s1, 25% of 400.00 earned in 2026-03), release day 2026-09-27"
    )
    # a run of 2026-08 does not reach the release day: the 100.00 is still held, no release line
    august = _run(ps, inp, "2026-08")
    assert _lines(august, "2026-08") == [] and all(r["released"] == 0 for r in august.grid.to_dicts())


def test_a_release_day_on_a_periods_first_day_and_on_its_last_day():
    # s1 sold 2026-01-01 + 31 days = 2026-02-01, the first day of February: released in 2026-02
    # s2 sold 2026-02-01 + 31 days = 2026-03-04; s3 sold 2026-02-26 + 31 days = 2026-03-29
    # with 30 days instead (plan q): s4 sold 2026-01-01 + 30 = 2026-01-31, the last day of
    # January: released in its own period, after the holdback line
    # each sale 1000.00: A = 100.00, H = 25.00
    ps = plans(plan(holdback=held(31)), plan(plan="q", holdback=held(30)))
    inp = inputs(
        [rep("A"), rep("B", plan="q")],
        [sale("s1", "A", "1000", "2026-01-01"), sale("s2", "A", "1000", "2026-02-01"), sale("s4", "B", "1000", "2026-01-01")],
    )
    result = _run(ps, inp, "2026-03")
    assert _lines(result, "2026-01") == [
        ("A", "2026-01", "holdback", "s1", D("-25.00")),
        ("B", "2026-01", "holdback", "s4", D("-25.00")),
        ("B", "2026-01", "release", "s4", D("25.00")),
    ]
    assert _lines(result, "2026-02") == [
        ("A", "2026-02", "holdback", "s2", D("-25.00")),
        ("A", "2026-02", "release", "s1", D("25.00")),
    ]
    assert _lines(result, "2026-03") == [("A", "2026-03", "release", "s2", D("25.00"))]
    # B in January: 100.00 - 25.00 + 25.00 = 100.00
    assert _row(result, "B", "2026-01")["payout"] == D("100.00")


def test_cancelled_on_the_release_day_forfeits_and_the_clawback_base_leaves_out_the_held_part():
    # sale 1000.00 on 2026-01-10: A = 100.00, H = 25.00; release day 2026-01-10 + 30 = 2026-02-09
    # cancelled 2026-02-09 (30 days): on the release day, so H is forfeited: no release line;
    # clawback rule 90 days -> 0.5 of the base A - H = 100.00 - 25.00 = 75.00: -37.50
    ps = plans(plan(holdback=held(30), clawback=clawback((90, "0.5"))))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-01-10", cancelled_on="2026-02-09")])
    result = _run(ps, inp, "2026-03")
    jan, feb = _row(result, "A", "2026-01"), _row(result, "A", "2026-02")
    assert (jan["earned"], jan["holdback"], jan["payout"]) == (D("100.00"), D("-25.00"), D("75.00"))
    # February: -37.50 carried forward
    assert (feb["clawbacks"], feb["released"], feb["payout"], feb["carry_out"]) == (D("-37.50"), D("0.00"), D("0.00"), D("-37.50"))
    assert _lines(result, "2026-02") == [] and _lines(result, "2026-03") == []
    claw = lines_frame(result, "2026-02").filter(pl.col("kind") == "clawback")["explanation"][0]
    assert claw.endswith("recover 0.5 of 75.00 (100.00 less 25.00 held back, never released) paid in 2026-01 = -37.50")
    # the holdback line says what became of it
    hold = lines_frame(result, "2026-01").filter(pl.col("kind") == "holdback")["explanation"][0]
    assert hold == "sale s1 sold 2026-01-10: 25% of 100.00 held until 2026-02-09; forfeited: cancelled 2026-02-09"


def test_cancelled_the_day_after_the_release_day_is_released_and_clawed_back_in_full():
    # as above, cancelled 2026-02-10: released on 2026-02-09, so a release line of 25.00 in 2026-02
    # and the clawback base is the full A: -round(0.5 * 100.00) = -50.00
    # February: 25.00 - 50.00 = -25.00, carried forward
    ps = plans(plan(holdback=held(30), clawback=clawback((90, "0.5"))))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-01-10", cancelled_on="2026-02-10")])
    result = _run(ps, inp, "2026-02")
    feb = _row(result, "A")
    assert (feb["clawbacks"], feb["released"], feb["payout"], feb["carry_out"]) == (D("-50.00"), D("25.00"), D("0.00"), D("-25.00"))
    # order within the rep: the clawback, then the release line, then nothing else
    assert lines_frame(result)["kind"].to_list() == ["clawback", "release"]


def test_a_cancellation_after_the_requested_period_is_not_known_yet():
    # the sale of the last test cancelled 2026-02-05 (before its release day 2026-02-09), run of January:
    # the cancellation lies after the run, so nothing says forfeited yet
    ps = plans(plan(holdback=held(30), clawback=clawback((90, "0.5"))))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-01-10", cancelled_on="2026-02-05")])
    hold = lines_frame(_run(ps, inp, "2026-01")).filter(pl.col("kind") == "holdback")["explanation"][0]
    assert hold == "sale s1 sold 2026-01-10: 25% of 100.00 held until 2026-02-09"


@pytest.mark.parametrize("rounding, held_part, base, claw", [
    # sale 1234.50: A = 123.45; 0.25 * 123.45 = 30.8625 -> H = 30.86 (either rounding)
    # base = 123.45 - 30.86 = 92.59; recover 0.333: 0.333 * 92.59 = 30.83247 -> 30.83
    ("half_up", "30.86", "92.59", "-30.83"),
    ("half_even", "30.86", "92.59", "-30.83"),
])  # fmt: skip
def test_clawback_base_with_a_partial_recover_rule(rounding, held_part, base, claw):
    ps = plans(plan(rounding=rounding, holdback=held(180), clawback=clawback((30, "1"), (90, "0.333"))))
    # cancelled 45 days after the sale: the 90-day rule; long before the release day: H not released
    inp = inputs([rep("A")], [sale("s1", "A", "1234.50", "2026-01-10", cancelled_on="2026-02-24")])
    result = _run(ps, inp, "2026-02")
    assert _row(result, "A", "2026-01")["holdback"] == -D(held_part)
    assert _row(result, "A")["clawbacks"] == D(claw)
    assert D("123.45") - D(held_part) == D(base)


@pytest.mark.parametrize("rounding, amount, held_part", [
    # sale 123.40: A = 12.34; 0.25 * 12.34 = 3.085: half_up 3.09, half_even 3.08 (8 is even)
    ("half_up", "123.40", "3.09"),
    ("half_even", "123.40", "3.08"),
    # sale 123.00: A = 12.30; 0.25 * 12.30 = 3.075: half_even 3.08 (7 is odd: up)
    ("half_even", "123.00", "3.08"),
])  # fmt: skip
def test_the_held_part_rounds_by_the_plans_rounding(rounding, amount, held_part):
    ps = plans(plan(rounding=rounding, holdback=held(180)))
    result = _run(ps, inputs([rep("A")], [sale("s1", "A", amount, "2026-01-10")]), "2026-01")
    assert _lines(result) == [("A", "2026-01", "holdback", "s1", -D(held_part))]


def test_a_rep_who_left_still_receives_the_release():
    # A leaves 2026-01-31; sale 4000.00 on 2026-01-15: A = 400.00, H = 100.00,
    # release day 2026-01-15 + 30 = 2026-02-14: A is not active in February but gets a row
    ps = plans(plan(holdback=held(30)))
    inp = inputs([rep("A", end="2026-01-31"), rep("B")], [sale("s1", "A", "4000", "2026-01-15")])
    result = _run(ps, inp, "2026-02")
    payouts = payouts_frame(result)
    assert payouts["rep_id"].to_list() == ["A", "B"]
    a = payouts.row(0, named=True)
    assert (a["earned"], a["released"], a["payout"]) == (D("0.00"), D("100.00"), D("100.00"))
    # March: no line, not active: no row
    assert _row(_run(ps, inp, "2026-03"), "A") is None


@pytest.mark.parametrize("rounding, lines", [
    # sale 0.10: A = 0.01; 0.25 * 0.01 = 0.0025 -> 0.00 either way: no line
    ("half_up", []),
    ("half_even", []),
])  # fmt: skip
def test_a_held_part_of_zero_writes_no_line(rounding, lines):
    ps = plans(plan(rounding=rounding, holdback=held(1)))
    result = _run(ps, inputs([rep("A")], [sale("s1", "A", "0.10", "2026-01-10")]), "2026-01")
    assert _lines(result) == lines
    assert (_row(result, "A")["holdback"], _row(result, "A")["payout"]) == (D("0.00"), D("0.01"))


def test_half_even_can_round_the_held_part_to_zero_where_half_up_does_not():
    # sale 0.20: A = 0.02; 0.25 * 0.02 = 0.005: half_up 0.01 (a holdback and a release line),
    # half_even 0.00 (no line)
    sales = [sale("s1", "A", "0.20", "2026-01-10")]
    up = _run(plans(plan(rounding="half_up", holdback=held(1))), inputs([rep("A")], sales), "2026-01")
    even = _run(plans(plan(rounding="half_even", holdback=held(1))), inputs([rep("A")], sales), "2026-01")
    assert _lines(up) == [("A", "2026-01", "holdback", "s1", D("-0.01")), ("A", "2026-01", "release", "s1", D("0.01"))]
    assert _lines(even) == []


def test_the_held_part_is_taken_from_the_commission_before_the_cap():
    # sale 4000.00: A = 400.00, cap 300 -> cap line -100.00; H = 0.25 * 400.00 = 100.00 (not of 300)
    # payout 400.00 - 100.00 - 100.00 = 200.00
    ps = plans(plan(cap=D("300"), holdback=held(180)))
    result = _run(ps, inputs([rep("A")], [sale("s1", "A", "4000", "2026-01-10")]), "2026-01")
    row = _row(result, "A")
    assert (row["cap_adjustment"], row["holdback"], row["payout"]) == (D("-100.00"), D("-100.00"), D("200.00"))
    assert lines_frame(result)["kind"].to_list() == ["commission", "cap", "holdback"]


def test_a_plan_version_without_holdback_holds_nothing_back():
    # version 2 from 2026-02 drops the holdback: a February sale is paid whole; the January
    # sale's part is still released under its own (version 1) terms on 2026-01-10 + 30 = 2026-02-09
    ps = plans(plan(holdback=held(30)), plan(version=2, effective_from=d("2026-02-01")))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-01-10"), sale("s2", "A", "1000", "2026-02-10")])
    result = _run(ps, inp, "2026-02")
    assert _lines(result) == [("A", "2026-02", "release", "s1", D("25.00"))]
    # February: 100.00 earned + 25.00 released
    assert _row(result, "A")["payout"] == D("125.00")


@pytest.mark.parametrize("cancelled_on, payouts", [
    # the plans.md example: holdback 0.25 after 180 days, clawback 30 days 1.0, 90 days 0.5, rate 0.1;
    # S1 4000.00 sold 2026-03-31: 400.00 earned, 100.00 held until 2026-09-27
    (None, {"2026-03": "300.00", "2026-09": "100.00"}),
    # on the release day: forfeited; 180 days is past every clawback rule
    ("2026-09-27", {"2026-03": "300.00", "2026-09": "0.00"}),
    # the day after: released on the 27th
    ("2026-09-28", {"2026-03": "300.00", "2026-09": "100.00"}),
    # 20 days: 1.0 x (400.00 - 100.00) = -300.00 in April (carried forward), 100.00 forfeited
    ("2026-04-20", {"2026-03": "300.00", "2026-04": "0.00", "2026-09": "0.00"}),
    # 45 days: 0.5 x 300.00 = -150.00 in May, 100.00 forfeited
    ("2026-05-15", {"2026-03": "300.00", "2026-05": "0.00", "2026-09": "0.00"}),
])  # fmt: skip
def test_the_worked_example_of_the_plan_reference(cancelled_on, payouts):
    ps = plans(plan(holdback=held(180), clawback=clawback((30, "1.0"), (90, "0.5"))))
    inp = inputs([rep("A")], [sale("S1", "A", "4000", "2026-03-31", cancelled_on=cancelled_on)])
    result = _run(ps, inp, "2026-10")
    assert {p: _row(result, "A", p)["payout"] for p in payouts} == {p: D(v) for p, v in payouts.items()}
    claws = {"2026-04-20": ("2026-04", "-300.00"), "2026-05-15": ("2026-05", "-150.00")}
    if cancelled_on in claws:
        period, amount = claws[cancelled_on]
        assert (_row(result, "A", period)["clawbacks"], _row(result, "A", period)["carry_out"]) == (D(amount), D(amount))


def test_a_quarterly_rep_gets_the_release_in_the_quarter_of_the_release_day():
    # sale 1000.00 on 2026-03-15 (Q1): A = 100.00, H = 25.00; 2026-03-15 + 30 = 2026-04-14, in Q2;
    # sale 1000.00 on 2026-01-02: 2026-01-02 + 30 = 2026-02-01, still Q1: held and released in Q1
    ps = plans(plan(period="quarter", holdback=held(30)))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-03-15"), sale("s0", "A", "1000", "2026-01-02")])
    result = _run(ps, inp, "2026-Q2")
    assert _lines(result, "2026-Q1") == [
        ("A", "2026-Q1", "holdback", "s0", D("-25.00")),
        ("A", "2026-Q1", "holdback", "s1", D("-25.00")),
        ("A", "2026-Q1", "release", "s0", D("25.00")),
    ]
    assert _lines(result) == [("A", "2026-Q2", "release", "s1", D("25.00"))]
    # Q1: 200.00 - 50.00 + 25.00 = 175.00; Q2: 25.00
    assert (_row(result, "A", "2026-Q1")["payout"], _row(result, "A")["payout"]) == (D("175.00"), D("25.00"))
