"""Property tests: the engine against invariants and against an independent literal reading of SPEC section 3."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from dataclasses import replace
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import oracle
from conftest import FUZZ_SCALE
from comp_calc.engine import compute
from comp_calc.errors import InputError
from comp_calc.outputs.results import joined, lines_frame, period_files
from comp_calc.periods import parse_period, period_containing
from comp_calc.plan.model import Holdback
from factories import (
    activity, campaign_row, campaigns, clawback, contact, draw as draw_of, fx_rate, inputs, outbound, outcome_bonus, override, plan, plans,
    quality,
    rates, rep, response, sale, tiers,
)  # fmt: skip

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
        if draw(st.integers(0, 3)):  # mostly
            names = draw(st.permutations(CAMPAIGN_IDS))[: draw(st.integers(1, 3))]
            pay = [  # (per_sale, rate): 0.125 or 0.5 of an amount in cents lands on half cents
                draw(st.sampled_from([("25.00", None), ("0.00", None), ("7.5", None), (None, "0"), (None, "0.01"), (None, "0.125"), (None, "0.5"), (None, "1")]))
                for _ in names
            ]
            kw["campaigns"] = campaigns(*[(n, per_sale, rate) for n, (per_sale, rate) in zip(names, pay, strict=True)])
        if draw(st.booleans()):  # every rep is on this plan: each manager earns on the reps below
            kw["override"] = override(draw(st.sampled_from(["0.005", "0.01", "0.333"])), draw(st.integers(1, 3)))
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
        # a manager among the reps before: manager_id links form trees, as reps.csv requires
        manager = f"R{draw(st.integers(0, i - 1))}" if i and draw(st.integers(0, 3)) else None
        reps.append(rep(f"R{i}", quota=draw(st.sampled_from(["100", "1500", "2800.50", "20000"])), start=start.isoformat(),
                        end=end and end.isoformat(), manager=manager))  # fmt: skip
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


SETTINGS = settings(max_examples=30 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plan_versions(), datasets())
def test_engine_agrees_with_literal_reading_and_invariants_hold(ps, data):
    reps_, sales_, feedback_, contacts_, campaigns_ = data
    inp = inputs(reps_, sales_, feedback_, contacts_, campaigns_)
    period = parse_period("2026-03")
    result = compute(ps, inp, period)
    expected = oracle.compute(ps, *_typed(inp), period, *_typed(inp, ("campaigns",)))

    grid = result.grid.filter(pl.col("present"))
    activity_lines = set(result.lines.filter(pl.col("kind") == "activity_bonus").select("rep_id", "period").iter_rows())
    # override lines as written (by the report's rep_id), per manager and period
    override_lines = {}
    for label in {p for _, p in expected}:
        ordered = lines_frame(result, label).filter(pl.col("kind") == "override")
        for r in ordered.to_dicts():
            override_lines.setdefault((r["rep_id"], label), []).append((r["reference"], r["amount"]))
    got = {
        (r["rep_id"], r["period"]): dict(
            earned=r["earned"], cap=r["cap_adjustment"] or Decimal("0.00"), clawbacks=r["clawbacks"], carry_in=r["carry_in"],
            payout=r["payout"], carry_out=r["carry_out"], credited=r["credited"], outcome_bonus=r["outcome_bonus"],
            draw=r["draw"], draw_balance=r["draw_balance"],
            holdback=r["holdback"], released=r["released"],
            activity_bonus=r["activity_bonus"], activity_line=(r["rep_id"], r["period"]) in activity_lines, spifs=r["spifs"],
            overrides=r["overrides"], override_lines=override_lines.get((r["rep_id"], r["period"]), []),
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
            row["earned"] + (row["cap_adjustment"] or 0) + row["spifs"] + row["outcome_bonus"] + row["activity_bonus"]
            + row["overrides"] + row["clawbacks"] + row["holdback"] + row["released"] + row["carry_in"] + row["draw"]
        )  # fmt: skip
        assert row["payout"] == total - row["carry_out"]
        for kind, column in (("holdback", "holdback"), ("release", "released")):
            assert sum(mine.filter(pl.col("kind") == kind)["amount"].to_list(), Decimal("0")) == row[column]
        assert sum(mine.filter(pl.col("kind") == "spif")["amount"].to_list(), Decimal("0")) == row["spifs"]
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


@settings(max_examples=40 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=50 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@st.composite
def restatement_histories(draw):
    """Final data and, for the January and February runs, the data as it was then: some sales
    not exported yet (late sales), some cancellations not reported yet (back-dated ones)."""
    reps_, sales_, feedback_, contacts_, campaigns_ = draw(datasets())
    views = []
    for _ in range(2):
        seen = []
        for s in sales_:
            if draw(st.integers(0, 3)) == 0:
                continue  # arrives later
            # mostly reported late: a recovery larger than the next payout, left open under carry_forward
            seen.append(dict(s, cancelled_on=s["cancelled_on"] if draw(st.integers(0, 3)) == 0 else None))
        views.append(seen)
    return reps_, [*views, sales_], feedback_, contacts_, campaigns_


def _closed(recorded: dict, labels: list[str]):
    from pathlib import Path

    from comp_calc.data.closed import ClosedPeriod, ClosedPeriods

    frame = pl.DataFrame(
        [{"rep_id": r, "period": q, "recorded": v, "line": 2} for (r, q), v in sorted(recorded.items())],
        schema={"rep_id": pl.String, "period": pl.String, "recorded": pl.Decimal(38, 2), "line": pl.Int64},
    )
    return ClosedPeriods([ClosedPeriod(parse_period(q), Path(q), "0" * 64, True) for q in labels], frame)


@settings(max_examples=20 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_versions(), restatement_histories())
def test_restated_runs_pay_what_the_final_data_says_less_what_stays_open(ps, history):
    # runs of January, February and March, each on the data known then, each closing its period:
    # every run agrees with the literal reading, and after the last run, per rep,
    # sum of recorded payouts + the open remainder = sum of payouts recomputed from the final data
    reps_, views, feedback_, contacts_, campaigns_ = history
    recorded, labels = {}, []
    for label, sales_ in zip(["2026-01", "2026-02", "2026-03"], views, strict=True):
        period = parse_period(label)
        inp = inputs(reps_, sales_, feedback_, contacts_, campaigns_)
        result = compute(ps, inp, period, _closed(recorded, labels))
        expected = oracle.restate(ps, *_typed(inp), period, recorded, labels, *_typed(inp, ("campaigns",)))
        rows = {r["rep_id"]: r for r in result.grid.filter((pl.col("period") == label) & pl.col("present")).to_dicts()}
        want = {rid: row for (rid, q), row in expected.items() if q == label}
        assert rows.keys() == want.keys()
        for rid, row in want.items():
            got = rows[rid]
            assert (got["payout"], got["restatement"], got["restatement_open"]) == (
                row["payout"], row.get("restatement", Decimal("0.00")), row.get("restatement_open", Decimal("0.00"))
            ), (label, rid)
            lines = result.lines.filter((pl.col("rep_id") == rid) & (pl.col("period") == label) & (pl.col("kind") == "restatement"))
            assert lines.height == (1 if row.get("restatement", 0) != 0 or row.get("restatement_open", 0) != 0 else 0)
        for rid, got in rows.items():
            recorded[(rid, label)] = got["payout"]
        labels.append(label)
    # the last run: recorded + open = recomputed (the March payout recomputed without its restatement line)
    grid = result.grid
    for rid in {r["rep_id"] for r in reps_}:
        mine = grid.filter(pl.col("rep_id") == rid)
        recomputed = sum(mine["payout"].to_list(), Decimal("0")) - sum(mine["restatement"].to_list(), Decimal("0"))
        paid = sum((v for (r, _), v in recorded.items() if r == rid), Decimal("0"))
        open_ = mine.filter(pl.col("period") == "2026-03")["restatement_open"].item()
        assert paid + open_ == recomputed, rid
# ---------------------------------------------------------------- many currencies (SPEC 6.3)


CURRENCIES = ["EUR", "GBP", "USD"]
MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03"]


@st.composite
def currency_cases(draw):
    """Two plans, p in EUR and q in GBP (each drawn like any plan), reps on either, sales in EUR,
    GBP, USD or their seller's plan currency (empty), and rates for every pair and month: mostly
    all of them, sometimes a pair's rates left out (of one month or all). Rates with up to 6 decimals, some on no round number."""
    p = draw(plan_versions())
    q = draw(plan_versions())
    # overrides too: a manager on one plan over reports on the other prices their credit in its own currency
    q = plans(*p.plans, *(replace(v, plan="q", currency="GBP") for v in q.plans))
    reps_, sales_, feedback_, contacts_, campaigns_ = draw(datasets())
    reps_ = [r | {"plan": draw(st.sampled_from(["p", "q"]))} for r in reps_]
    sales_ = [s | {"currency": draw(st.sampled_from([None, None, *CURRENCIES]))} for s in sales_]
    fx = [
        fx_rate(a, b, m, draw(st.sampled_from(["0.92", "1.1", "0.123456", "1.000001", "2", "0.5"])))
        for a in CURRENCIES for b in ["EUR", "GBP"] if a != b for m in MONTHS
    ]  # fmt: skip
    if draw(st.integers(0, 2)) == 0:  # a pair missing (in one month or all): the run must say so, as the literal reading does
        pair = draw(st.sampled_from(sorted({(r["currency"], r["to"]) for r in fx})))
        month = draw(st.sampled_from([None, *MONTHS[1:]]))
        fx = [r for r in fx if (r["currency"], r["to"]) != pair or (month is not None and r["month"] != month)]
    return q, (reps_, sales_, feedback_, contacts_, campaigns_, fx)


@settings(max_examples=20 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(currency_cases())
def test_two_currencies_agree_with_literal_reading(case):
    ps, (reps_, sales_, feedback_, contacts_, campaigns_, fx) = case
    inp = inputs(reps_, sales_, feedback_, contacts_, campaigns_, fx_rates=fx)
    period = parse_period("2026-03")
    typed = _typed(inp)
    typed[1] = [s | {"currency": s["currency"]} for s in inp.sales.frame.to_dicts()]
    typed[1] = [{k: (Decimal(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in typed[1]]
    try:
        expected = oracle.compute(ps, *typed, period, *_typed(inp, ("campaigns",)), fx_rates=fx)
    except oracle.MissingRate as missing:
        event("a needed rate is missing")
        with pytest.raises(InputError) as error:
            compute(ps, inp, period)
        found = {d.message.split(" needs")[0].removeprefix("sale ") for d in error.value.diagnostics}
        assert {d.code for d in error.value.diagnostics} == {"missing-fx-rate"}
        assert found == {m[0] for m in missing.args[0]}
        return
    result = compute(ps, inp, period)
    converting = "fx_rate" in result.lines.columns  # only a run with a sale in another currency than its rep's
    event(f"converted lines: {converting and result.lines.filter(pl.col('fx_rate').is_not_null()).height > 0}")
    event(f"override lines: {any(v['override_lines'] for v in expected.values())}")
    got = {
        (r["rep_id"], r["period"]): (r["credited"], r["earned"], r["clawbacks"], r["payout"], r["activity_bonus"], r["overrides"], r["currency"])
        for r in result.grid.filter(pl.col("present")).to_dicts()
    }
    plan_currency = {"p": "EUR", "q": "GBP"}
    rep_plan = {r["rep_id"]: r["plan"] for r in reps_}
    want = {
        k: (v["credited"], v["earned"], v["clawbacks"], v["payout"], v["activity_bonus"], v["overrides"], plan_currency[rep_plan[k[0]]])
        for k, v in expected.items()
    }
    assert got == want
    # every credit line, divided by its rate, gives back its part of the sale: the parts add up to the amount
    rates = {(r["currency"], r["to"], r["month"]): Decimal(r["rate"]) for r in fx}
    lines = result.lines.filter(pl.col("kind") == "commission")
    lines = (lines if converting else lines.with_columns(fx_rate=None, sale_currency=None, sale_credited=None)).to_dicts()
    amounts = {s["sale_id"]: s["amount"] for s in inp.sales.frame.to_dicts()}
    parts: dict[str, Decimal] = {}
    for line in lines:
        rate = Decimal(1) if line["fx_rate"] is None else line["fx_rate"]
        if line["fx_rate"] is not None:
            to = plan_currency[rep_plan[line["rep_id"]]]
            assert rate == rates[(line["sale_currency"], to, line["sold_on"].isoformat()[:7])]
        assert line["credited"] == line["sale_credited"] * rate if line["fx_rate"] is not None else True
        parts[line["sale_id"]] = parts.get(line["sale_id"], Decimal(0)) + (line["sale_credited"] if line["fx_rate"] is not None else line["credited"])
    assert all(parts[k] == amounts[k] for k in parts)
    # the files are the same in a rerun
    again = compute(ps, inp, period)
    assert joined(period_files(result, ps, inp, [], None)) == joined(period_files(again, ps, inp, [], None))
