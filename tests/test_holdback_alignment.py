"""Alignment: a held part forfeited by a cancellation is pay moved by a customer outcome."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from comp_calc.plan.model import Holdback
from factories import inputs, plan, plans, rates, rep, sale
from test_alignment import analyze, rep_row


def test_a_forfeited_holdback_counts_as_outcome_pay_moved_in_the_window_of_the_cancellation():
    # S1 1000.00 x 0.1 = 100.00, H = 0.25 * 100.00 = 25.00 held until 2026-01-10 + 60 = 2026-03-11;
    # cancelled 2026-02-15, before that day: 25.00 forfeited in February (no clawback rule).
    # S2 1000.00 on 2026-01-20: 25.00 held, never cancelled: not moved by any outcome.
    # volume pay 200.00 (January); moved 25.00: share 25 / (200 + 25) = 0.1111
    ps = plans(plan(rates=rates((None, "0.1")), holdback=Holdback(Decimal("0.25"), 60)))
    inp = inputs([rep("R1")], [sale("S1", "R1", "1000.00", "2026-01-10", cancelled_on="2026-02-15"), sale("S2", "R1", "1000.00", "2026-01-20")])
    report = analyze(ps, inp, "2026-02")
    r1 = rep_row(report, "R1")
    assert (r1["volume_pay"], r1["holdback_forfeited"], r1["outcome_moved"], r1["outcome_share"]) == (
        Decimal("200.00"), Decimal("25.00"), Decimal("25.00"), Decimal("0.1111"),
    )  # fmt: skip
    # the period window (February) holds the cancellation: 25.00 moved there too
    assert rep_row(report, "R1", "period")["holdback_forfeited"] == Decimal("25.00")
    p = report.trailing.plans.to_dicts()[0]
    assert (p["holdback_forfeited"], p["outcome_moved"]) == (Decimal("25.00"), Decimal("25.00"))
    team = report.trailing.teams.filter(pl.col("team") == "t").to_dicts()[0]
    assert team["holdback_forfeited"] == Decimal("25.00")
    # a run of January does not know the cancellation yet: nothing forfeited
    assert rep_row(analyze(ps, inp, "2026-01"), "R1")["holdback_forfeited"] == Decimal("0.00")
