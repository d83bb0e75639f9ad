"""Property tests: the engine against invariants and against an independent literal reading of SPEC section 3."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
from comp_calc.engine import compute
from comp_calc.outputs.results import joined, period_files
from comp_calc.periods import parse_period
from factories import activity, clawback, contact, draw as draw_of, inputs, outbound, outcome_bonus, plan, plans, quality, rates, rep, response, sale, tiers
from comp_calc.periods import period_containing
from comp_calc.plan.model import Holdback

FIRST = date(2026, 1, 1)
LAST = date(2026, 3, 31)
PRODUCTS = ["a", "b", "c"]
SCORES = {"csat": st.integers(1, 5), "nps": st.integers(0, 10), "ces": st.integers(1, 7)}


def _day(draw, lo: date, hi: date) -> date:
    return lo + timedelta(days=draw(st.integers(0, (hi - lo).days)))


@st.composite
def plan_versions(draw):
    def one(version, effective_from):
        kw = dict(version=version, effective_from=effective_from, rounding=draw(st.sampled_from(["half_up", "half_even"])))
        kw["rates"] = rates(("a", draw(st.sampled_from(["0.01", "0.025", "0.1"]))), (("b", "c"), "0.03"), (None, "0.007"))
        if draw(st.booleans()):
            first = draw(st.sampled_from(["0.5", "0"]))  # 0: a gate below half of quota
            kw["attainment_tiers"] = tiers(("0.5", first), (draw(st.sampled_from(["1", "1.2"])), "1"), (None, "1.5"))
            kw["tier_mode"] = draw(st.sampled_from(["marginal", "retroactive"]))
        if draw(st.booleans()):
            metrics = dict(csat=[("0.7", "0.8"), ("0.85", "1"), (None, "1.1")], nps=[("0", "0.9"), (None, "1.05")])
            if draw(st.integers(0, 3)):  # mostly: the mean ces score lands on and around its edges
                metrics["ces"] = [("2", "0.95"), ("5.5", "1"), (None, "1.2")]
            kw["quality"] = quality(
                window_days=draw(st.sampled_from([1, 30, 90])),
                min_responses=draw(st.integers(1, 3)),
                combine=draw(st.sampled_from(["multiply", "min"])),
                **metrics,
            )
        if draw(st.booleans()):
            kw["outbound_credit"] = outbound(
                share=draw(st.sampled_from(["0.3", "0.25", "0.333"])),
                window_days=draw(st.sampled_from([0, 30, 90])),
                connected_only=draw(st.booleans()),
            )
        if draw(st.booleans()):
            kw["clawback"] = clawback((draw(st.sampled_from([0, 15, 30])), "1"), (90, draw(st.sampled_from(["0.5", "0.333"]))))
        if draw(st.booleans()):
            kw["cap"] = Decimal(draw(st.sampled_from(["50", "200.5", "1000"])))
        if draw(st.booleans()):
            metric = draw(st.sampled_from(list(SCORES)))
            edges = {"csat": ("0.5", "0.8"), "nps": ("0", "50"), "ces": ("3", "5")}[metric]  # values land on them
            kw["outcome_bonus"] = outcome_bonus(
                metric, draw(st.sampled_from([1, 30, 90])), draw(st.integers(1, 3)),
                (edges[0], draw(st.sampled_from(["0", "25.50"]))), (edges[1], "100.00"), (None, draw(st.sampled_from(["0", "250.00"]))),
            )  # fmt: skip
        if draw(st.booleans()):
            kw["draw"] = draw_of(draw(st.sampled_from(["0", "12.34", "150.00", "1500.00"])), recoverable=draw(st.integers(0, 3)) > 0)
        if draw(st.booleans()):  # releases 1 to 45 days on: in the sale's period, the next, or after the run
            kw["holdback"] = Holdback(Decimal(draw(st.sampled_from(["0.25", "0.333", "0.5"]))), draw(st.sampled_from([1, 15, 30, 45])))
        if draw(st.booleans()):
            kw["activity"] = activity(
                draw(st.integers(1, 3)), draw(st.sampled_from(["0.00", "12.34", "300.00"])),
                draw(st.sampled_from([("voice",), ("voice", "email")])), draw(st.booleans()), draw(st.booleans()),
                draw(st.sampled_from([None, "0", "100", "2500.00"])),  # amounts reach 5000.00: both sides of the value
            )  # fmt: skip
        kw["negative_balance"] = draw(st.sampled_from(["carry_forward", "pay"]))
        return plan(**kw)

    versions = [one(1, FIRST)]
    if draw(st.booleans()):
        versions.append(one(2, date(2026, 2, 1)))
    return plans(*versions)


@st.composite
def datasets(draw):
    n_reps = draw(st.integers(1, 4))
    reps = []
    for i in range(n_reps):
        start = _day(draw, date(2025, 12, 1), date(2026, 3, 15))
        end = _day(draw, start, date(2026, 4, 30)) if draw(st.booleans()) else None
        reps.append(rep(f"R{i}", quota=draw(st.sampled_from(["100", "1500", "2800.50", "20000"])), start=start.isoformat(), end=end and end.isoformat()))
    sales = []
    for i in range(draw(st.integers(0, 12))):
        r = draw(st.sampled_from(reps))
        lo = max(date.fromisoformat(r["start_date"]), FIRST)
        hi = min(date.fromisoformat(r["end_date"]) if r["end_date"] else LAST, LAST)
        if lo > hi:
            continue
        sold = _day(draw, lo, hi)
        cents = draw(st.integers(1, 500_000))
        cancelled = (sold + timedelta(days=draw(st.integers(0, 100)))).isoformat() if draw(st.booleans()) else None
        sales.append(
            sale(f"S{i}", r["rep_id"], f"{cents // 100}.{cents % 100:02d}", sold.isoformat(), draw(st.sampled_from(PRODUCTS)),
                 customer=draw(st.sampled_from(["c1", "c2"])), cancelled_on=cancelled)
        )  # fmt: skip
    contacts = [
        contact(f"K{i}", draw(st.sampled_from(reps))["rep_id"], draw(st.sampled_from(["c1", "c2"])),
                _day(draw, date(2025, 12, 1), LAST).isoformat(), draw(st.sampled_from(["voice", "voice", "email"])), draw(st.booleans()))
        for i in range(draw(st.integers(0, 10)))
    ]  # fmt: skip
    # contacts on the edges of a sale's value window: on its sale day, the day after, its cancellation day
    for i, s in enumerate(draw(st.lists(st.sampled_from(sales), max_size=4)) if sales else []):
        edge = s["cancelled_on"] if s["cancelled_on"] and draw(st.booleans()) else s["sold_on"]
        day = date.fromisoformat(edge) + timedelta(days=draw(st.integers(0, 1)))
        contacts.append(contact(f"E{i}", draw(st.sampled_from(reps))["rep_id"], s["customer_id"], day.isoformat(), "voice", draw(st.booleans())))
    feedback = [
        response(f"F{i}", draw(st.sampled_from(reps))["rep_id"], survey, draw(SCORES[survey]), _day(draw, FIRST, LAST).isoformat())
        for i, survey in enumerate(draw(st.lists(st.sampled_from(list(SCORES)), max_size=10)))
    ]  # fmt: skip
    return reps, sales, feedback, contacts


def _typed(inp):
    frames = [t.frame for t in (inp.reps, inp.sales, inp.feedback, inp.contacts)]
    return [[{k: (Decimal(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in f.to_dicts()] for f in frames]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plan_versions(), datasets())
def test_engine_agrees_with_literal_reading_and_invariants_hold(ps, data):
    reps_, sales_, feedback_, contacts_ = data
    inp = inputs(reps_, sales_, feedback_, contacts_)
    period = parse_period("2026-03")
    result = compute(ps, inp, period)
    expected = oracle.compute(ps, *_typed(inp), period)

    grid = result.grid.filter(pl.col("present"))
    activity_lines = set(result.lines.filter(pl.col("kind") == "activity_bonus").select("rep_id", "period").iter_rows())
    got = {
        (r["rep_id"], r["period"]): dict(
            earned=r["earned"], cap=r["cap_adjustment"] or Decimal("0.00"), clawbacks=r["clawbacks"], carry_in=r["carry_in"],
            payout=r["payout"], carry_out=r["carry_out"], credited=r["credited"], outcome_bonus=r["outcome_bonus"],
            draw=r["draw"], draw_balance=r["draw_balance"],
            holdback=r["holdback"], released=r["released"],
            activity_bonus=r["activity_bonus"], activity_line=(r["rep_id"], r["period"]) in activity_lines,
        )  # fmt: skip
        for r in grid.to_dicts()
    }
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        assert got[key] == want, key

    # credit lines of each sale add up exactly to its amount
    commissions = result.lines.filter(pl.col("kind") == "commission")
    credited = commissions.group_by("sale_id").agg(pl.col("credited").sum())
    amounts = inp.sales.frame.select("sale_id", "amount").join(credited, on="sale_id")
    assert (amounts["amount"] == amounts["credited"]).all()

    # each rep's lines add up to its payouts row; totals equal the sum of lines
    for row in grid.to_dicts():
        mine = result.lines.filter((pl.col("rep_id") == row["rep_id"]) & (pl.col("period") == row["period"]))
        total = sum(mine["amount"].to_list(), Decimal("0"))
        assert total == (
            row["earned"] + (row["cap_adjustment"] or 0) + row["outcome_bonus"] + row["activity_bonus"] + row["clawbacks"]
            + row["holdback"] + row["released"] + row["carry_in"] + row["draw"]
        )  # fmt: skip
        assert row["payout"] == total - row["carry_out"]
        for kind, column in (("holdback", "holdback"), ("release", "released")):
            assert sum(mine.filter(pl.col("kind") == kind)["amount"].to_list(), Decimal("0")) == row[column]
        bonus_lines = mine.filter(pl.col("kind") == "outcome_bonus")
        assert bonus_lines.height <= 1 and sum(bonus_lines["amount"].to_list(), Decimal("0")) == row["outcome_bonus"]
        draw_lines = mine.filter(pl.col("kind") == "draw")
        assert draw_lines.height <= 1 and sum(draw_lines["amount"].to_list(), Decimal("0")) == row["draw"]
        if row["negative_balance"] == "carry_forward":
            assert row["payout"] >= 0
    # a draw balance never goes below 0; a top-up brings an active rep's payout exactly to the draw
    assert (result.grid["draw_balance"] >= 0).all()
    topped = result.grid.filter(pl.col("draw") > 0)
    assert (topped["payout"] == topped["draw_due"]).all() and topped["active"].all()

    # every part held back is released, forfeited (cancelled on or before its release day) or still
    # held (its release day after the run's end), read off the sales and plans, not the engine's lines
    _held_parts_are_accounted_for(ps, inp, result, period)

    # a rerun is byte-identical
    again = compute(ps, inp, period)
    assert joined(period_files(result, ps, inp, [], None)) == joined(period_files(again, ps, inp, [], None))


def _held_parts_are_accounted_for(ps, inp, result, period):
    lines = result.lines
    sales = {s["sale_id"]: s for s in inp.sales.frame.to_dicts()}
    released_lines = {(r["sale_id"], r["role"]): r["amount"] for r in lines.filter(pl.col("kind") == "release").to_dicts()}
    held = released = forfeited = still_held = Decimal("0.00")
    for line in lines.filter(pl.col("kind") == "holdback").to_dicts():
        s = sales[line["sale_id"]]
        h = -line["amount"]
        terms = ps.in_force("p", period_containing(s["sold_on"], "month").start).holdback
        release_day = s["sold_on"] + timedelta(days=terms.release_after_days)
        cancelled = s["cancelled_on"] if s["cancelled_on"] is not None and s["cancelled_on"] <= period.end else None
        held += h
        if cancelled is not None and cancelled <= release_day:
            forfeited += h
            assert (line["sale_id"], line["role"]) not in released_lines
        elif release_day > period.end:
            still_held += h
            assert (line["sale_id"], line["role"]) not in released_lines
        else:
            released += h
            assert released_lines[(line["sale_id"], line["role"])] == h
    assert held == released + forfeited + still_held
    assert released == sum(released_lines.values(), Decimal("0.00"))


@st.composite
def edge_cases(draw):
    """One March, one rep: retroactive (or marginal) tiers and a ces metric whose edges the
    data reach exactly (amounts that sum to 0.5 or 1.0 of quota 1000, means like 2 or 4)."""
    first = draw(st.sampled_from(["0.5", "0"]))
    kw = dict(effective_from=date(2026, 3, 1), rates=rates((None, draw(st.sampled_from(["0.1", "0.025"])))))
    kw["attainment_tiers"] = tiers(("0.5", first), (draw(st.sampled_from(["1", "1.2"])), "1"), (None, "1.5"))
    kw["tier_mode"] = draw(st.sampled_from(["marginal", "retroactive", "retroactive"]))
    edges = sorted(draw(st.lists(st.sampled_from(["2", "3.5", "4", "5", "7"]), min_size=1, max_size=2, unique=True)), key=Decimal)
    metrics = {"ces": [*zip(edges, ["0.9", "0.95"]), (None, "1.1")]}
    if draw(st.booleans()):
        metrics["csat"] = [("0.5", "0.8"), (None, "1")]
    kw["quality"] = quality(window_days=31, min_responses=draw(st.integers(1, 3)), combine=draw(st.sampled_from(["multiply", "min"])), **metrics)
    start = draw(st.sampled_from(["2026-01-01", "2026-03-17"]))  # the second: a prorated quota (15 of 31 days)
    reps = [rep("R1", quota="1000", start=start)]
    amounts = draw(st.lists(st.sampled_from(["100.00", "250.00", "400.00", "500.00", "0.01", "483.87", "483.88"]), max_size=4))
    sales = [sale(f"S{i}", "R1", a, f"2026-03-{17 + i}") for i, a in enumerate(amounts)]
    surveys = draw(st.lists(st.sampled_from(["ces", "ces", "csat"]), max_size=6))
    feedback = [response(f"F{i}", "R1", s, draw(SCORES[s]), "2026-03-20") for i, s in enumerate(surveys)]
    return plans(plan(**kw)), (reps, sales, feedback, [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_cases())
def test_retroactive_tiers_and_ces_on_their_edges_agree_with_literal_reading(case):
    ps, data = case
    inp = inputs(*data)
    period = parse_period("2026-03")
    expected = oracle.compute(ps, *_typed(inp), period)
    got = compute(ps, inp, period).grid.filter(pl.col("present"))
    assert {(r["rep_id"], r["period"]): r["earned"] for r in got.to_dicts()} == {k: v["earned"] for k, v in expected.items()}


@st.composite
def activity_cases(draw):
    """The activity quota where its rules bite: one plan from 2025-01 with a quota, a few customers
    whose sales (some cancelled) lie up to a year before March 2026, and contacts placed on the
    edges of their value window (on the sale day, 1, 365 and 366 days after it; on the
    cancellation day and the days around it), by reps who may start or leave in March."""
    quota = activity(
        draw(st.integers(1, 3)), draw(st.sampled_from(["0.00", "300.00"])), draw(st.sampled_from([("voice",), ("voice", "visit")])),
        draw(st.booleans()), draw(st.booleans()), draw(st.sampled_from([None, "0", "1000", "1500.50"])),
    )  # fmt: skip
    ps = plans(plan(effective_from=date(2025, 1, 1), activity=quota))
    reps = [rep("S", start="2024-01-01")]
    for i in range(draw(st.integers(1, 2))):
        start = draw(st.sampled_from(["2024-01-01", "2026-03-10"]))
        reps.append(rep(f"R{i}", start=start, end=draw(st.sampled_from([None, "2026-03-20"]))))
    sales, contacts = [], []
    for i in range(draw(st.integers(0, 5))):
        # a contact day in March, and a sale that many days before it: the window holds 1..365
        anchor = _day(draw, date(2026, 3, 1), date(2026, 3, 31))
        sold = anchor - timedelta(days=draw(st.sampled_from([0, 1, 2, 30, 364, 365, 366])))
        cancelled = draw(st.sampled_from([None, None, sold, sold + timedelta(days=1), anchor - timedelta(days=1), anchor, anchor + timedelta(days=1)]))
        cancelled = max(cancelled, sold) if cancelled else None
        customer = draw(st.sampled_from(["c1", "c2", "c3"]))
        amount = draw(st.sampled_from(["500.00", "1000.00", "1500.50", "999.99"]))
        sales.append(sale(f"S{i}", "S", amount, sold.isoformat(), customer=customer, cancelled_on=cancelled and cancelled.isoformat()))
        for _ in range(draw(st.integers(1, 3))):
            who = draw(st.sampled_from(reps[1:]))["rep_id"]
            channel = draw(st.sampled_from(["voice", "voice", "visit", "email"]))
            contacts.append(contact(f"K{len(contacts)}", who, customer, anchor.isoformat(), channel, draw(st.integers(0, 3)) > 0))
    return ps, (reps, sales, [], contacts)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activity_cases())
def test_activity_quota_on_the_edges_of_its_value_window_agrees_with_literal_reading(case):
    ps, data = case
    inp = inputs(*data)
    period = parse_period("2026-03")
    expected = oracle.compute(ps, *_typed(inp), period)
    result = compute(ps, inp, period)
    lines = set(result.lines.filter(pl.col("kind") == "activity_bonus").select("rep_id", "period").iter_rows())
    got = {(r["rep_id"], r["period"]): (r["activity_bonus"], (r["rep_id"], r["period"]) in lines) for r in result.grid.filter(pl.col("present")).to_dicts()}
    assert got == {k: (v["activity_bonus"], v["activity_line"]) for k, v in expected.items()}
