"""Self-reconciliation, called directly: lines against the payouts row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl
import pytest

from comp_calc.errors import ReconciliationError
from comp_calc.reconcile.lines import reconcile

JAN = date(2026, 1, 1)


def dec(values):
    return pl.Series([None if v is None else D(v) for v in values], dtype=pl.Decimal(38, 2))


def _grid(payout="90.00", cap_adjustment="-50.00") -> pl.DataFrame:
    # earned 150.00 over a cap of 100: cap line -50.00; a clawback of -10.00: payout 150 - 50 - 10 = 90.00
    return pl.DataFrame(
        {
            "rep_no": [0], "p_start": [JAN], "present": [True], "earned": dec(["150.00"]), "cap": dec(["100.00"]),
            "cap_adjustment": dec([cap_adjustment]), "clawbacks": dec(["-10.00"]), "carry_in": dec(["0.00"]),
            "carry_out": dec(["0.00"]), "payout": dec([payout]), "negative_balance": ["carry_forward"],
        }  # fmt: skip
    )


def _lines(*kinds_amounts) -> pl.LazyFrame:
    kinds, amounts = zip(*kinds_amounts, strict=True)
    n = len(kinds)
    return pl.LazyFrame({"rep_no": [0] * n, "p_start": [JAN] * n, "kind": list(kinds), "amount": dec(list(amounts))})


GOOD = (("commission", "100.00"), ("commission", "50.00"), ("cap", "-50.00"), ("clawback", "-10.00"))


def test_lines_that_add_up_pass():
    reconcile(0, _grid(), _lines(*GOOD))


def test_a_lost_line_raises():
    with pytest.raises(ReconciliationError, match="1 rep-periods whose lines do not add up"):
        reconcile(0, _grid(), _lines(*GOOD[:-1]))  # the clawback line is gone: -10.00 missing


def test_a_payout_off_by_a_cent_raises():
    with pytest.raises(ReconciliationError):
        reconcile(0, _grid(payout="90.01"), _lines(*GOOD))


def test_a_wrong_cap_line_raises_even_when_lines_match_it():
    # earned 150 + cap line -51 = 99, not the cap 100
    lines = _lines(("commission", "150.00"), ("cap", "-51.00"), ("clawback", "-10.00"))
    with pytest.raises(ReconciliationError):
        reconcile(0, _grid(payout="89.00", cap_adjustment="-51.00"), lines)


def test_unbalanced_sales_and_lines_outside_the_payouts_raise():
    with pytest.raises(ReconciliationError, match="2 sales whose credit lines"):
        reconcile(2, _grid(), _lines(*GOOD))
    outside = pl.concat([_lines(*GOOD), _lines(("commission", "1.00")).with_columns(rep_no=pl.lit(5, dtype=pl.Int64))])
    with pytest.raises(ReconciliationError, match="lines of 1 rep-periods missing from the payouts"):
        reconcile(0, _grid(), outside)


def _two_periods(carry_in_feb: str, feb_rule: str = "pay") -> pl.DataFrame:
    # January under carry_forward: earned 0, clawback -500.00 -> payout 0, carry_out -500.00.
    # February under `feb_rule`: earned 800.00, carry_in should be January's -500.00 -> payout 300.00.
    feb = date(2026, 2, 1)
    payout = D("800.00") + D(carry_in_feb)
    return pl.DataFrame(
        {
            "rep_no": [0, 0], "p_start": [JAN, feb], "present": [True, True], "earned": dec(["0.00", "800.00"]),
            "cap": dec([None, None]), "cap_adjustment": dec([None, None]), "clawbacks": dec(["-500.00", "0.00"]),
            "carry_in": dec(["0.00", carry_in_feb]), "carry_out": dec(["-500.00", "0.00"]),
            "payout": dec(["0.00", str(payout)]), "negative_balance": ["carry_forward", feb_rule],
        }  # fmt: skip
    )


def _two_period_lines(carry_in_feb: str) -> pl.LazyFrame:
    feb = date(2026, 2, 1)
    rows = [(JAN, "clawback", "-500.00"), (feb, "commission", "800.00")]
    if D(carry_in_feb):
        rows.append((feb, "carry", carry_in_feb))
    starts, kinds, amounts = zip(*rows, strict=True)
    return pl.LazyFrame({"rep_no": [0] * len(rows), "p_start": list(starts), "kind": list(kinds), "amount": dec(list(amounts))})


def test_a_balance_carried_across_a_switch_to_pay_passes():
    reconcile(0, _two_periods("-500.00"), _two_period_lines("-500.00"))


def test_a_carried_balance_that_vanishes_raises():
    # February's own lines and row agree (800.00 paid), but January's -500.00 never arrived
    with pytest.raises(ReconciliationError, match="carried balance does not follow"):
        reconcile(0, _two_periods("0.00"), _two_period_lines("0.00"))


def _grid_with_bonus(payout="340.00") -> pl.DataFrame:
    # the grid of _grid (payout 90.00) with an outcome bonus of 250.00: payout 90 + 250 = 340.00
    return _grid(payout=payout).with_columns(outcome_bonus=dec(["250.00"]))


def test_an_outcome_bonus_line_adds_up_to_its_column():
    reconcile(0, _grid_with_bonus(), _lines(*GOOD, ("outcome_bonus", "250.00")))


def test_a_dropped_outcome_bonus_line_raises():
    with pytest.raises(ReconciliationError, match="1 rep-periods whose lines do not add up"):
        reconcile(0, _grid_with_bonus(), _lines(*GOOD))  # the bonus line is gone: 250.00 missing


def test_a_payout_that_leaves_out_the_bonus_raises():
    # lines match every column, but the payout 90.00 forgets the bonus column
    with pytest.raises(ReconciliationError):
        reconcile(0, _grid_with_bonus(payout="90.00"), _lines(*GOOD, ("outcome_bonus", "250.00")))


def _drawn(balances, draws, recoverable=(True, True), active=(True, True)) -> pl.DataFrame:
    # two months of one rep with no lines but draws: payout = draw line
    n = len(balances)
    starts = [JAN, date(2026, 2, 1)][:n]
    zero = dec(["0.00"] * n)
    return pl.DataFrame(
        {
            "rep_no": [0] * n, "p_start": starts, "present": [True] * n, "active": list(active[:n]), "earned": zero,
            "cap": dec([None] * n), "cap_adjustment": dec([None] * n), "clawbacks": zero, "carry_in": zero, "carry_out": zero,
            "payout": dec(draws), "negative_balance": ["carry_forward"] * n, "draw": dec(draws), "draw_balance": dec(balances),
            "draw_recoverable": list(recoverable[:n]),
        }  # fmt: skip
    )


def _draw_lines(*amounts) -> pl.LazyFrame:
    starts = [JAN, date(2026, 2, 1)]
    return pl.LazyFrame({"rep_no": [0] * len(amounts), "p_start": starts[: len(amounts)], "kind": ["draw"] * len(amounts), "amount": dec(list(amounts))})


def test_draw_balances_that_follow_pass():
    # January: top-up 500.00, balance 500.00; February: top-up 200.00, balance 700.00
    reconcile(0, _drawn(["500.00", "700.00"], ["500.00", "200.00"]), _draw_lines("500.00", "200.00"))
    # non-recoverable February: the balance stays 500.00
    reconcile(0, _drawn(["500.00", "500.00"], ["500.00", "200.00"], recoverable=(True, False)), _draw_lines("500.00", "200.00"))


def test_a_draw_balance_that_does_not_follow_raises():
    # February's balance should be 500 + 200 = 700.00, not 600.00
    with pytest.raises(ReconciliationError, match="draw balance does not follow"):
        reconcile(0, _drawn(["500.00", "600.00"], ["500.00", "200.00"]), _draw_lines("500.00", "200.00"))


def test_a_top_up_of_a_rep_not_active_raises():
    with pytest.raises(ReconciliationError, match="draw balance"):
        reconcile(0, _drawn(["500.00"], ["500.00"], active=(False,)), _draw_lines("500.00"))


def test_a_recovery_below_zero_raises():
    # January balance 100.00, February recovers 300.00: the balance would be -200.00
    with pytest.raises(ReconciliationError, match="draw balance"):
        reconcile(0, _drawn(["100.00", "-200.00"], ["100.00", "-300.00"]), _draw_lines("100.00", "-300.00"))
