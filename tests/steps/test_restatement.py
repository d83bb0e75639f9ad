"""Step 9, restatement (SPEC 6.3): hand-computed runs through the engine, closed periods given
as recorded payouts (the reading of closed folders is tested in tests/test_restatement_cli.py).

Every plan prices at rate 0.1 (a sale of 4000 earns 400.00); months run from 2026-01.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from comp_calc.data.closed import ClosedPeriod, ClosedPeriods
from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from comp_calc.plan.model import Holdback
from factories import D, clawback, draw, inputs, plan, plans, rep, sale


def _closed(**paid):
    """_closed(**{"2026-01": {"A": "300.00"}}): the recorded payouts of closed periods."""
    rows = [{"rep_id": r, "period": q, "recorded": D(v), "line": 2 + i} for q, reps in paid.items() for i, (r, v) in enumerate(reps.items())]
    frame = pl.DataFrame(rows, schema={"rep_id": pl.String, "period": pl.String, "recorded": pl.Decimal(38, 2), "line": pl.Int64})
    return ClosedPeriods([ClosedPeriod(parse_period(q), Path(q), "0" * 64, True) for q in paid], frame)


def _row(result, rep_id, period):
    return result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period)).row(0, named=True)


def test_under_pay_the_whole_due_is_taken_even_below_zero():
    # January recorded 300.00, recomputed 0.00 (S1 cancelled in January): due -300.00;
    # February payout so far 100.00; under `pay` the line is the whole due: payout 100 - 300 = -200.00
    ps = plans(plan(negative_balance="pay", clawback=clawback((90, "1"))))
    inp = inputs([rep("A")], [sale("S1", "A", "3000", "2026-01-10", cancelled_on="2026-01-20"), sale("S2", "A", "1000", "2026-02-05")])
    result = compute(ps, inp, parse_period("2026-02"), _closed(**{"2026-01": {"A": "300.00"}}))
    row = _row(result, "A", "2026-02")
    assert (row["restatement"], row["restatement_open"], row["payout"]) == (D("-300.00"), D("0.00"), D("-200.00"))


def test_a_negative_due_under_carry_forward_stops_at_the_draw_paid_out():
    # draw 500.00 a month; the payout so far is after step 8, the draw; the draw balance is untouched.
    ps = plans(plan(draw=draw("500.00")))
    inp = inputs([rep("A")], [sale("S1", "A", "3000", "2026-01-10"), sale("S2", "A", "1000", "2026-02-05")])
    result = compute(ps, inp, parse_period("2026-02"), _closed(**{"2026-01": {"A": "800.00"}}))
    row = _row(result, "A", "2026-02")
    # January: 300.00 < draw 500.00: topped up 200.00 -> recomputed payout 500.00; due = 500 - 800 = -300.00
    # February: 100.00 + draw 400.00 = 500.00; line -300.00 -> payout 200.00; draw balance 200 + 400 = 600.00
    assert (row["draw"], row["draw_balance"]) == (D("400.00"), D("600.00"))
    assert (row["restatement"], row["restatement_open"], row["payout"]) == (D("-300.00"), D("0.00"), D("200.00"))


def test_a_rep_without_a_row_in_a_closed_period_counts_as_paid_zero():
    # January closed before S1 was exported: A has no row (recorded 0); recomputed 300.00: due +300.00;
    # February payout 100.00 + 300.00 = 400.00; the line names January
    ps = plans(plan())
    inp = inputs([rep("A", start="2026-01-05"), rep("B")], [sale("S1", "A", "3000", "2026-01-10"), sale("S2", "A", "1000", "2026-02-05")])
    result = compute(ps, inp, parse_period("2026-02"), _closed(**{"2026-01": {"B": "0.00"}}))
    row = _row(result, "A", "2026-02")
    assert (row["restatement"], row["payout"]) == (D("300.00"), D("400.00"))
    line = lines_frame(result).filter(pl.col("kind") == "restatement").row(0, named=True)
    assert (line["rep_id"], line["amount"], line["reference"]) == ("A", D("300.00"), "2026-01")
    assert line["explanation"] == "closed periods 2026-01: recomputed minus paid = due 300.00, restated in full"
    # lines add up to the payouts row: 100.00 + 300.00
    assert payouts_frame(result).filter(pl.col("rep_id") == "A")["payout"].item() == D("400.00")


def test_a_recovery_left_open_is_explained():
    # January recorded 300.00, recomputed 0.00: due -300.00; February payout so far 100.00:
    # line -100.00, open -300 + 100 = -200.00
    ps = plans(plan(clawback=clawback((90, "1"))))
    inp = inputs([rep("A")], [sale("S1", "A", "3000", "2026-01-10", cancelled_on="2026-01-20"), sale("S2", "A", "1000", "2026-02-05")])
    result = compute(ps, inp, parse_period("2026-02"), _closed(**{"2026-01": {"A": "300.00"}}))
    line = lines_frame(result).filter(pl.col("kind") == "restatement").row(0, named=True)
    assert line["explanation"] == (
        "closed periods 2026-01: recomputed minus paid = due -300.00; payout so far 100.00 taken to 0 at most: "
        "-100.00 now, -200.00 left open for the next run"
    )


def test_a_closed_period_recomputed_in_a_later_run_equals_its_standalone_run():
    # Step 9 takes Q's recomputed payout from the run of P (which computes every period from the first),
    # not from a run of Q itself: both agree, because nothing in Q depends on rows dated after Q
    # (a cancellation after Q is clawed back in its own period, a release after Q is paid in its own).
    # Here: holdback 25% released after 45 days, a recoverable draw, a clawback in March of a January sale.
    ps = plans(plan(draw=draw("250.00"), holdback=Holdback(D("0.25"), 45), clawback=clawback((90, "1"))))
    sales = [
        sale("S1", "A", "3000", "2026-01-10", cancelled_on="2026-03-02"),
        sale("S2", "A", "1000", "2026-01-31"),
        sale("S3", "B", "5000", "2026-02-14"),
        sale("S4", "A", "4000", "2026-03-20"),
    ]
    inp = inputs([rep("A"), rep("B", start="2026-01-15")], sales)
    late = compute(ps, inp, parse_period("2026-03"))
    for q in ("2026-01", "2026-02"):
        alone = compute(ps, inp, parse_period(q))
        for r in ("A", "B"):
            assert _row(late, r, q)["payout"] == _row(alone, r, q)["payout"], (r, q)


def test_no_closed_period_changes_nothing():
    ps = plans(plan())
    inp = inputs([rep("A")], [sale("S1", "A", "3000", "2026-01-10")])
    result = compute(ps, inp, parse_period("2026-02"), _closed(**{"2026-01": {"A": "300.00"}}))
    row = _row(result, "A", "2026-02")
    assert (row["restatement"], row["restatement_open"], row["payout"]) == (D("0.00"), D("0.00"), D("0.00"))
    assert lines_frame(result).filter(pl.col("kind") == "restatement").height == 0
