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
from factories import campaign_row, campaigns, clawback, contact, inputs, outbound, outcome_bonus, plan, plans, quality, rates, rep, response, sale, tiers

FIRST = date(2026, 1, 1)
LAST = date(2026, 3, 31)
PRODUCTS = ["a", "b", "c"]
SCORES = {"csat": st.integers(1, 5), "nps": st.integers(0, 10), "ces": st.integers(1, 7)}
CAMPAIGN_IDS = ["k0", "k1", "k2"]  # every dataset's campaigns.csv has these (a plan names only known campaigns)


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
        if draw(st.integers(0, 3)):  # mostly
            names = draw(st.permutations(CAMPAIGN_IDS))[: draw(st.integers(1, 3))]
            pay = [  # (per_sale, rate): 0.125 or 0.5 of an amount in cents lands on half cents
                draw(st.sampled_from([("25.00", None), ("0.00", None), ("7.5", None), (None, "0"), (None, "0.01"), (None, "0.125"), (None, "0.5"), (None, "1")]))
                for _ in names
            ]
            kw["campaigns"] = campaigns(*[(n, per_sale, rate) for n, (per_sale, rate) in zip(names, pay, strict=True)])
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
    feedback = [
        response(f"F{i}", draw(st.sampled_from(reps))["rep_id"], survey, draw(SCORES[survey]), _day(draw, FIRST, LAST).isoformat())
        for i, survey in enumerate(draw(st.lists(st.sampled_from(list(SCORES)), max_size=10)))
    ]  # fmt: skip
    calendar = []
    sold_days = [date.fromisoformat(s_["sold_on"]) for s_ in sales]
    for name in CAMPAIGN_IDS:  # campaigns often start or end on a sale's day, so their edges are reached
        days = [FIRST, LAST, *(_day(draw, date(2025, 12, 20), date(2026, 4, 10)) for _ in range(2))]
        days += draw(st.lists(st.sampled_from(sold_days), max_size=2)) if sold_days else []
        starts, ends = sorted(draw(st.lists(st.sampled_from(days), min_size=2, max_size=2)))
        calendar.append(campaign_row(name, draw(st.sampled_from(PRODUCTS)), starts.isoformat(), ends.isoformat()))
    return reps, sales, feedback, contacts, calendar


def _typed(inp, tables=("reps", "sales", "feedback", "contacts")):
    frames = [getattr(inp, t).frame for t in tables]
    return [[{k: (Decimal(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in f.to_dicts()] for f in frames]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plan_versions(), datasets())
def test_engine_agrees_with_literal_reading_and_invariants_hold(ps, data):
    reps_, sales_, feedback_, contacts_, campaigns_ = data
    inp = inputs(reps_, sales_, feedback_, contacts_, campaigns_)
    period = parse_period("2026-03")
    result = compute(ps, inp, period)
    expected = oracle.compute(ps, *_typed(inp), period, *_typed(inp, ("campaigns",)))

    grid = result.grid.filter(pl.col("present"))
    got = {
        (r["rep_id"], r["period"]): dict(
            earned=r["earned"], cap=r["cap_adjustment"] or Decimal("0.00"), clawbacks=r["clawbacks"], carry_in=r["carry_in"],
            payout=r["payout"], carry_out=r["carry_out"], credited=r["credited"], outcome_bonus=r["outcome_bonus"], spifs=r["spifs"],
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
        assert total == row["earned"] + (row["cap_adjustment"] or 0) + row["spifs"] + row["outcome_bonus"] + row["clawbacks"] + row["carry_in"]
        assert sum(mine.filter(pl.col("kind") == "spif")["amount"].to_list(), Decimal("0")) == row["spifs"]
        bonus_lines = mine.filter(pl.col("kind") == "outcome_bonus")
        assert bonus_lines.height <= 1 and sum(bonus_lines["amount"].to_list(), Decimal("0")) == row["outcome_bonus"]
        if row["negative_balance"] == "carry_forward":
            assert row["payout"] >= 0

    # a rerun is byte-identical
    again = compute(ps, inp, period)
    assert joined(period_files(result, ps, inp, [], None)) == joined(period_files(again, ps, inp, [], None))


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
