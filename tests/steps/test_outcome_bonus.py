"""Step 4b, outcome bonus (SPEC 6.3): hand-computed runs through the engine."""

from __future__ import annotations

import polars as pl

from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from factories import D, clawback, inputs, outcome_bonus, plan, plans, rep, response, sale

# nps bands: below 30 -> 0, below 60 -> 250.00, else 500.00
NPS = outcome_bonus("nps", 90, 1, ("30", "0"), ("60", "250.00"), (None, "500.00"))


def _nps(rep_id, promoters, passives, detractors, day="2026-03-20"):
    scores = [9] * promoters + [7] * passives + [5] * detractors
    return [response(f"{rep_id}-{i}", rep_id, "nps", s, day) for i, s in enumerate(scores)]


def _run(ps, inp, period="2026-03"):
    return compute(ps, inp, parse_period(period))


def _row(result, rep_id, period=None):
    period = period or result.period.label
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period) & pl.col("present")).to_dicts()
    return rows[0] if rows else None


def _bonus_lines(result, period=None):
    lines = lines_frame(result, period)
    return lines.filter(pl.col("kind") == "outcome_bonus")


def test_a_value_on_an_edge_takes_the_next_band_and_adds_to_the_payout():
    # A: 6 promoters, 1 passive, 3 detractors: nps = 100 * (6 - 3) / 10 = 30, not < 30 -> 250.00
    # B: 6 promoters, 4 passives: nps = 100 * 6 / 10 = 60, not < 60 -> the open band, 500.00
    # A also sells 1000 at rate 0.1: earned 100.00; payout 100.00 + 250.00 = 350.00
    ps = plans(plan(outcome_bonus=NPS))
    inp = inputs([rep("A"), rep("B")], [sale("s1", "A", "1000", "2026-03-05")], _nps("A", 6, 1, 3) + _nps("B", 6, 4, 0))
    result = _run(ps, inp)
    a, b = _row(result, "A"), _row(result, "B")
    assert (a["earned"], a["outcome_bonus"], a["payout"]) == (D("100.00"), D("250.00"), D("350.00"))
    assert (b["earned"], b["outcome_bonus"], b["payout"]) == (D("0.00"), D("500.00"), D("500.00"))
    lines = _bonus_lines(result)
    assert lines["rep_id"].to_list() == ["A", "B"]
    assert lines["amount"].to_list() == [D("250.00"), D("500.00")]
    assert lines["currency"].to_list() == ["EUR", "EUR"]
    assert lines["explanation"][0] == "nps 30.00 from 10 responses, band 30.00 to below 60.00: 250.00"
    assert lines["explanation"][1] == "nps 60.00 from 10 responses, band 60.00 and above: 500.00"
    # within A: the commission line first, then the bonus
    assert lines_frame(result).filter(pl.col("rep_id") == "A")["kind"].to_list() == ["commission", "outcome_bonus"]
    payouts = payouts_frame(result)
    assert payouts["outcome_bonus"].to_list() == [D("250.00"), D("500.00")]
    assert payouts["currency"].to_list() == ["EUR", "EUR"]


def test_too_few_responses_give_no_line():
    # min_responses 11, only 10 responses: no bonus, column 0.00
    bonus = outcome_bonus("nps", 90, 11, ("30", "0"), ("60", "250.00"), (None, "500.00"))
    result = _run(plans(plan(outcome_bonus=bonus)), inputs([rep("A")], [], _nps("A", 10, 0, 0)))
    assert _row(result, "A")["outcome_bonus"] == D("0.00")
    assert _bonus_lines(result).height == 0


def test_responses_outside_the_window_do_not_count():
    # window 10 days ending 2026-03-31: [03-22, 03-31]; responses on 03-21 are outside
    bonus = outcome_bonus("nps", 10, 1, ("30", "0"), (None, "500.00"))
    inp = inputs([rep("A"), rep("B")], [], _nps("A", 5, 0, 0, "2026-03-21") + _nps("B", 5, 0, 0, "2026-03-22"))
    result = _run(plans(plan(outcome_bonus=bonus)), inp)
    assert (_row(result, "A")["outcome_bonus"], _row(result, "B")["outcome_bonus"]) == (D("0.00"), D("500.00"))


def test_a_rep_not_active_in_the_period_gets_no_bonus():
    # A leaves 2026-02-28: active in February (bonus 500.00 from responses of 02-20), not in
    # March, where the same responses still lie in the 90-day window: no line and no row
    inp = inputs([rep("A", end="2026-02-28")], [], _nps("A", 5, 0, 0, "2026-02-20"))
    result = _run(plans(plan(outcome_bonus=NPS)), inp)
    assert _row(result, "A") is None
    assert _bonus_lines(result).height == 0
    assert _row(result, "A", "2026-02")["outcome_bonus"] == D("500.00")


def test_a_zero_band_writes_no_line():
    # 2 promoters, 3 passives, 5 detractors: nps = 100 * (2 - 5) / 10 = -30 < 30: amount 0 -> no line
    result = _run(plans(plan(outcome_bonus=NPS)), inputs([rep("A")], [], _nps("A", 2, 3, 5)))
    assert _row(result, "A")["outcome_bonus"] == D("0.00")
    assert _bonus_lines(result).height == 0


def test_the_value_is_compared_as_an_exact_fraction():
    # ces scores 4, 5, 5: mean 14/3 = 4.6666...; rounded to 4 decimals it would be 4.6667, not
    # below 4.6667, but exactly it is (14 < 4.6667 * 3 = 14.0001): the first band, 100.00
    bonus = outcome_bonus("ces", 90, 1, ("4.6667", "100.00"), (None, "200.00"))
    feedback = [response(f"r{i}", "A", "ces", s, "2026-03-10") for i, s in enumerate([4, 5, 5])]
    result = _run(plans(plan(outcome_bonus=bonus)), inputs([rep("A")], [], feedback))
    assert _row(result, "A")["outcome_bonus"] == D("100.00")


def test_the_bonus_is_not_capped_and_not_prorated():
    # cap 50: earned 100.00 -> cap line -50.00; the bonus 500.00 is not capped; A starts 03-25
    # (7 of 31 days) and still gets the whole 500.00: payout 100 - 50 + 500 = 550.00
    ps = plans(plan(outcome_bonus=NPS, cap=D("50")))
    inp = inputs([rep("A", start="2026-03-25")], [sale("s1", "A", "1000", "2026-03-26")], _nps("A", 5, 0, 0, "2026-03-28"))
    row = _row(_run(ps, inp), "A")
    assert (row["cap_adjustment"], row["outcome_bonus"], row["payout"]) == (D("-50.00"), D("500.00"), D("550.00"))


def test_the_bonus_nets_against_a_carried_balance():
    # carry_forward. January: sale 3000 x 0.1 = 300.00 paid. February: cancelled 02-05 (26 days,
    # rule 60 days recover 1): clawback -300.00, net -300.00 -> payout 0, carry_out -300.00.
    # March: bonus 250.00 (window 10 days: February has no responses in its own window);
    # net 250.00 - 300.00 = -50.00 -> payout 0.00, carry_out -50.00.
    bonus = outcome_bonus("nps", 10, 1, ("30", "0"), ("60", "250.00"), (None, "500.00"))
    ps = plans(plan(outcome_bonus=bonus, clawback=clawback((60, "1"))))
    inp = inputs([rep("A")], [sale("s1", "A", "3000", "2026-01-10", cancelled_on="2026-02-05")], _nps("A", 6, 1, 3, "2026-03-25"))
    result = _run(ps, inp)
    feb, mar = _row(result, "A", "2026-02"), _row(result, "A")
    assert (feb["outcome_bonus"], feb["payout"], feb["carry_out"]) == (D("0.00"), D("0.00"), D("-300.00"))
    assert (mar["outcome_bonus"], mar["carry_in"], mar["payout"], mar["carry_out"]) == (
        D("250.00"), D("-300.00"), D("0.00"), D("-50.00"),
    )  # fmt: skip
    assert lines_frame(result).filter(pl.col("rep_id") == "A")["kind"].to_list() == ["outcome_bonus", "carry"]
