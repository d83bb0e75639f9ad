"""Step 8, draw (SPEC 6.3): hand-computed runs through the engine.

Every plan prices at rate 0.1 (a sale of 4000 earns 400.00); months run from 2026-01.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from factories import D, clawback, draw, inputs, plan, plans, rep, sale


def _run(ps, inp, period="2026-03"):
    return compute(ps, inp, parse_period(period))


def _row(result, rep_id, period):
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period) & pl.col("present")).to_dicts()
    return rows[0] if rows else None


def _draws(result, rep_id="A"):
    """(draw, draw_balance, payout) of each computed period of `rep_id`, in order."""
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & pl.col("present")).sort("p_start")
    return [(r["draw"], r["draw_balance"], r["payout"]) for r in rows.to_dicts()]


def _money(*values):
    return [tuple(D(v) for v in row) for row in values]


def _sales(*per_month):
    """One sale per (month, amount): sale m1 of `amount` on 2026-0m-10."""
    return [sale(f"s{m}", "A", amount, f"2026-{m:02d}-10") for m, amount in per_month]


def test_a_draw_tops_up_pay_below_it_and_the_top_up_is_owed():
    # January: 4000 x 0.1 = 400.00 < draw 1,500.00 (whole month: 1500 * 31 / 31):
    # draw line 1500 - 400 = 1,100.00; balance 0 + 1,100 = 1,100.00; payout 400 + 1,100 = 1,500.00
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A")], _sales((1, "4000"))), "2026-01")
    assert _draws(result) == _money(("1100.00", "1100.00", "1500.00"))
    row = _row(result, "A", "2026-01")
    assert (row["earned"], row["draw_due"], row["carry_out"]) == (D("400.00"), D("1500.00"), D("0.00"))
    lines = lines_frame(result).filter(pl.col("rep_id") == "A")
    assert lines["kind"].to_list() == ["commission", "draw"]
    assert lines["amount"].to_list() == [D("400.00"), D("1100.00")]
    payouts = payouts_frame(result)
    assert (payouts["draw"].to_list(), payouts["draw_balance"].to_list()) == ([D("1100.00")], [D("1100.00")])


def test_recovery_is_limited_by_the_pay_above_the_draw():
    # January: 400.00 -> top-up 1,100.00, balance 1,100.00
    # February: 17000 x 0.1 = 1,700.00; 1,700 - 1,500 = 200.00 above the draw, balance 1,100 > 0:
    # recover -min(1,100, 200) = -200.00; balance 900.00; payout 1,700 - 200 = 1,500.00
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A")], _sales((1, "4000"), (2, "17000"))), "2026-02")
    assert _draws(result) == _money(("1100.00", "1100.00", "1500.00"), ("-200.00", "900.00", "1500.00"))


def test_recovery_is_limited_by_the_balance():
    # January: 12000 x 0.1 = 1,200.00 -> top-up 300.00, balance 300.00
    # February: 25000 x 0.1 = 2,500.00, 1,000.00 above the draw: recover -min(300, 1,000) = -300.00;
    # balance 0.00; payout 2,500 - 300 = 2,200.00
    # March: 30000 x 0.1 = 3,000.00: nothing owed, no line; payout 3,000.00
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A")], _sales((1, "12000"), (2, "25000"), (3, "30000"))))
    assert _draws(result) == _money(
        ("300.00", "300.00", "1500.00"), ("-300.00", "0.00", "2200.00"), ("0.00", "0.00", "3000.00")
    )
    assert lines_frame(result).filter(pl.col("kind") == "draw").height == 0  # March: no draw line


def test_the_draw_is_prorated_for_a_rep_starting_mid_period():
    # April 2026 has 30 days; A starts 04-15: active days 15..30 = 16; draw 1500 * 16 / 30 = 800.00
    # B starts 04-17: 14 days; draw 1000 * 14 / 30 = 466.666... -> 466.67 (half_up)
    # no sales: top-ups 800.00 and 466.67 make rows for the two (active) reps
    ps = plans(plan(draw=draw("1500.00")), plan(plan="q", draw=draw("1000.00")))
    inp = inputs([rep("A", start="2026-04-15"), rep("B", start="2026-04-17", plan="q")], [])
    result = _run(ps, inp, "2026-04")
    assert _draws(result, "A") == _money(("800.00", "800.00", "800.00"))
    assert _draws(result, "B") == _money(("466.67", "466.67", "466.67"))
    assert _row(result, "A", "2026-04")["draw_due"] == D("800.00")


def test_a_non_recoverable_draw_tops_up_but_leaves_no_balance():
    # January: 400.00 -> top-up 1,100.00, not owed: balance stays 0.00; payout 1,500.00
    # February: 1,700.00 is above the draw but nothing is owed: no line; payout 1,700.00
    ps = plans(plan(draw=draw("1500.00", recoverable=False)))
    result = _run(ps, inputs([rep("A")], _sales((1, "4000"), (2, "17000"))), "2026-02")
    assert _draws(result) == _money(("1100.00", "0.00", "1500.00"), ("0.00", "0.00", "1700.00"))


def test_a_negative_balance_carried_under_carry_forward_is_still_topped_up():
    # draw 500.00, clawback within 60 days recovers all.
    # January: s1 3000 -> 300.00; top-up 200.00; balance 200.00; payout 500.00
    # February: s2 1000 -> 100.00; s1 cancelled 02-05: clawback -300.00; net -200.00 -> payout so far
    #   0.00, carry_out -200.00; top-up 500 - 0 = 500.00, balance 700.00, payout 500.00; the carry
    #   stays -200.00 (the draw does not pay it off)
    # March: s3 10000 -> 1,000.00; net 1,000 - 200 = 800.00, carry_out 0; 800 - 500 = 300.00 above:
    #   recover -300.00, balance 400.00, payout 500.00
    ps = plans(plan(draw=draw("500.00"), clawback=clawback((60, "1"))))
    sales = [
        sale("s1", "A", "3000", "2026-01-10", cancelled_on="2026-02-05"),
        sale("s2", "A", "1000", "2026-02-10"),
        sale("s3", "A", "10000", "2026-03-10"),
    ]
    result = _run(ps, inputs([rep("A")], sales))
    assert _draws(result) == _money(("200.00", "200.00", "500.00"), ("500.00", "700.00", "500.00"), ("-300.00", "400.00", "500.00"))
    feb, mar = _row(result, "A", "2026-02"), _row(result, "A", "2026-03")
    assert (feb["carry_out"], mar["carry_in"], mar["carry_out"]) == (D("-200.00"), D("-200.00"), D("0.00"))
    assert lines_frame(result).filter(pl.col("rep_id") == "A")["kind"].to_list() == ["commission", "carry", "draw"]


def test_under_pay_a_negative_payout_is_topped_up_to_the_draw():
    # as above with negative_balance: pay. February: net -200.00 paid as is (payout so far -200.00);
    # top-up 500 - (-200) = 700.00; balance 200 + 700 = 900.00; payout 500.00
    # March: 1,000.00, 500.00 above the draw: recover -500.00, balance 400.00, payout 500.00
    ps = plans(plan(draw=draw("500.00"), clawback=clawback((60, "1")), negative_balance="pay"))
    sales = [
        sale("s1", "A", "3000", "2026-01-10", cancelled_on="2026-02-05"),
        sale("s2", "A", "1000", "2026-02-10"),
        sale("s3", "A", "10000", "2026-03-10"),
    ]
    result = _run(ps, inputs([rep("A")], sales))
    assert _draws(result) == _money(("200.00", "200.00", "500.00"), ("700.00", "900.00", "500.00"), ("-500.00", "400.00", "500.00"))
    assert _row(result, "A", "2026-02")["draw_payout_before"] == D("-200.00")


def test_recovery_continues_after_the_version_drops_the_draw():
    # version 1 (January): draw 1,500.00; 400.00 -> top-up 1,100.00, balance 1,100.00
    # version 2 (from February): no draw, so the draw is 0.00
    # February: 7,000 x 0.1 = 700.00, all of it above 0: recover -min(1,100, 700) = -700.00;
    #   balance 400.00; payout 0.00
    # March: 1,000.00: recover -400.00; balance 0.00; payout 600.00
    ps = plans(plan(draw=draw("1500.00")), plan(version=2, effective_from=date(2026, 2, 1)))
    result = _run(ps, inputs([rep("A")], _sales((1, "4000"), (2, "7000"), (3, "10000"))))
    assert _draws(result) == _money(("1100.00", "1100.00", "1500.00"), ("-700.00", "400.00", "0.00"), ("-400.00", "0.00", "600.00"))
    assert _row(result, "A", "2026-02")["draw_due"] == D("0.00")


def test_pay_exactly_at_the_draw_writes_no_line():
    # January: 1,200.00 -> top-up 300.00, balance 300.00
    # February: 15000 x 0.1 = 1,500.00 = the draw: not below it (no top-up), 0 above it (no
    # recovery): no line, balance stays 300.00, payout 1,500.00
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A")], _sales((1, "12000"), (2, "15000"))), "2026-02")
    assert _draws(result) == _money(("300.00", "300.00", "1500.00"), ("0.00", "300.00", "1500.00"))
    assert lines_frame(result).filter(pl.col("kind") == "draw").height == 0


def test_a_rep_who_has_left_gets_no_draw_and_no_row():
    # A leaves 2026-01-31: January top-up 1,500.00 (no sales); February: not active, draw 0, no
    # lines: no payouts row, the balance stays 1,500.00 on the grid
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A", end="2026-01-31")], []), "2026-02")
    assert _row(result, "A", "2026-02") is None
    feb = result.grid.filter((pl.col("rep_id") == "A") & (pl.col("period") == "2026-02")).row(0, named=True)
    assert (feb["draw"], feb["draw_balance"]) == (D("0.00"), D("1500.00"))


def test_the_recurring_example_of_the_module_docstring():
    # draw 2,000.00; commissions 500, 1,200, 3,500, 2,600 (sales x 0.1):
    # top-ups 1,500 and 800 (balance 2,300), then recover 1,500 (3,500 - 2,000; balance 800) and
    # 600 (2,600 - 2,000; balance 200): every payout 2,000.00
    sales = _sales((1, "5000"), (2, "12000"), (3, "35000"), (4, "26000"))
    result = _run(plans(plan(draw=draw("2000.00"))), inputs([rep("A")], sales), "2026-04")
    assert _draws(result) == _money(
        ("1500.00", "1500.00", "2000.00"), ("800.00", "2300.00", "2000.00"),
        ("-1500.00", "800.00", "2000.00"), ("-600.00", "200.00", "2000.00"),
    )  # fmt: skip


def test_without_a_draw_the_columns_are_zero():
    result = _run(plans(plan()), inputs([rep("A")], _sales((1, "4000"))), "2026-01")
    assert _draws(result) == _money(("0.00", "0.00", "400.00"))


def test_the_prorated_draw_rounds_by_the_plan_rounding():
    # April (30 days), start 04-16: 15 days; 1000.05 * 15 / 30 = 500.025 exactly:
    # half_up 500.03, half_even 500.02 (the one rounding of the draw)
    ps = plans(plan(draw=draw("1000.05")), plan(plan="q", rounding="half_even", draw=draw("1000.05")))
    inp = inputs([rep("A", start="2026-04-16"), rep("B", start="2026-04-16", plan="q")], [])
    result = _run(ps, inp, "2026-04")
    assert (_row(result, "A", "2026-04")["draw_due"], _row(result, "B", "2026-04")["draw_due"]) == (D("500.03"), D("500.02"))


def test_balances_of_reps_side_by_side_stay_apart():
    # A: January 400.00 -> top-up 1,100.00 (balance 1,100.00); February 1,700.00 -> recover -200.00 (900.00)
    # B: January 2,000.00 (no top-up, nothing owed); February 400.00 -> top-up 1,100.00 (1,100.00)
    # A's balance never reaches B's pay above the draw in January, nor B's top-up A's balance
    sales = _sales((1, "4000"), (2, "17000")) + [sale("b1", "B", "20000", "2026-01-10"), sale("b2", "B", "4000", "2026-02-10")]
    result = _run(plans(plan(draw=draw("1500.00"))), inputs([rep("A"), rep("B")], sales), "2026-02")
    assert _draws(result, "A") == _money(("1100.00", "1100.00", "1500.00"), ("-200.00", "900.00", "1500.00"))
    assert _draws(result, "B") == _money(("0.00", "0.00", "2000.00"), ("1100.00", "1100.00", "1500.00"))


def test_a_guarantee_after_a_recoverable_version_keeps_the_old_balance():
    # v1 (January) recoverable 1,500.00: 400.00 -> top-up 1,100.00, balance 1,100.00
    # v2 (from February) a guarantee of 1,500.00: 400.00 -> top-up 1,100.00, not owed: balance stays 1,100.00
    # March (v2): 2,000.00 is 500.00 above the draw: recover -500.00 of the old balance: 600.00 left
    ps = plans(plan(draw=draw("1500.00")), plan(version=2, effective_from=date(2026, 2, 1), draw=draw("1500.00", recoverable=False)))
    result = _run(ps, inputs([rep("A")], _sales((1, "4000"), (2, "4000"), (3, "20000"))))
    assert _draws(result) == _money(("1100.00", "1100.00", "1500.00"), ("1100.00", "1100.00", "1500.00"), ("-500.00", "600.00", "1500.00"))
    (feb,) = lines_frame(result, "2026-02").filter(pl.col("kind") == "draw")["explanation"]
    assert feb == (
        "minimum pay 1500.00; payout before the draw 400.00; guarantee tops up 1100.00, not owed back; "
        "draw balance still owed: 1100.00"
    )
