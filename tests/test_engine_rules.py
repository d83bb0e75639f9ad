"""Hand-computed examples, one per rule of SPEC section 3. Numbers are worked out in comments."""

from __future__ import annotations


import polars as pl
import pytest

from comp_calc.engine import compute
from comp_calc.errors import InputError
from comp_calc.periods import parse_period
from comp_calc.outputs.lines import period_lines, tier_pieces
from comp_calc.outputs.numbers import tier_pieces_text
from factories import (
    D,
    clawback,
    contact,
    d,
    inputs,
    outbound,
    plan,
    plans,
    quality,
    rates,
    rep,
    response,
    sale,
    tiers,
)


def run(ps, inp, period):
    return compute(ps, inp, parse_period(period))


def payout_row(result, rep_id, period=None):
    period = period or result.period.label
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def line_amounts(result, rep_id, period=None, kind=None):
    period = period or result.period.label
    f = period_lines(result, period).filter(pl.col("rep_id") == rep_id)
    if kind:
        f = f.filter(pl.col("kind") == kind)
    return [(r["kind"], r["sale_id"], r["role"], r["amount"]) for r in f.to_dicts()]


# ---------------------------------------------------------------- credit


def _split_plan(**kw):
    return plan(rates=rates((None, "0.1")), outbound_credit=outbound(share="0.30", window_days=90, **kw))


def test_contact_exactly_window_days_before_sale_splits_and_one_day_more_does_not():
    # sale 1000.00 on 2026-04-01; contact by R2 on 2026-01-01 = 90 days before -> qualifies:
    # R2 relationship 1000*0.30 = 300, R1 seller 700; commissions at 10%: 30.00 and 70.00.
    ps = plans(_split_plan())
    inp = inputs(
        [rep("R1"), rep("R2")],
        [sale("S1", "R1", "1000.00", "2026-04-01", customer="C1"), sale("S2", "R1", "1000.00", "2026-04-02", customer="C2")],
        contacts=[contact("K1", "R2", "C1", "2026-01-01"), contact("K2", "R2", "C2", "2026-01-01")],  # K2: 91 days
    )
    r = run(ps, inp, "2026-04")
    assert line_amounts(r, "R2") == [("commission", "S1", "relationship", D("30.00"))]
    assert line_amounts(r, "R1") == [
        ("commission", "S1", "seller", D("70.00")),
        ("commission", "S2", "seller", D("100.00")),
    ]
    lines = r.lines.filter(pl.col("sale_id") == "S1")
    assert sum(lines["credited"].to_list()) == D("1000.00")


def test_latest_contact_wins_and_same_day_tie_goes_to_greatest_contact_id():
    # R2 (K-9) and R3 (K-10) both contacted C1 on 03-10, R4 earlier on 03-01.
    # latest date: 03-10; same day: greatest id in string order: "K-9" > "K-10" -> R2 gets the share.
    ps = plans(_split_plan())
    inp = inputs(
        [rep("R1"), rep("R2"), rep("R3"), rep("R4")],
        [sale("S1", "R1", "100", "2026-03-20", customer="C1")],
        contacts=[
            contact("K-10", "R3", "C1", "2026-03-10"),
            contact("K-9", "R2", "C1", "2026-03-10"),
            contact("K-1", "R4", "C1", "2026-03-01"),
        ],
    )
    r = run(ps, inp, "2026-03")
    owners = period_lines(r).filter(pl.col("sale_id") == "S1").select("rep_id", "role", "credited").to_dicts()
    assert owners == [
        {"rep_id": "R1", "role": "seller", "credited": D("70.00")},
        {"rep_id": "R2", "role": "relationship", "credited": D("30.00")},
    ]


def test_sellers_own_latest_contact_means_no_split_even_if_older_contact_by_other():
    ps = plans(_split_plan())
    inp = inputs(
        [rep("R1"), rep("R2")],
        [sale("S1", "R1", "100", "2026-03-20", customer="C1")],
        contacts=[contact("K1", "R2", "C1", "2026-03-01"), contact("K2", "R1", "C1", "2026-03-05")],
    )
    r = run(ps, inp, "2026-03")
    assert r.lines.filter(pl.col("sale_id") == "S1").select("rep_id", "credited").to_dicts() == [
        {"rep_id": "R1", "credited": D("100")}
    ]


def test_contact_filters_channel_connected_and_contact_rep_active_on_sale_day():
    # K1 email (not listed), K2 not connected, K3 by R3 who left before the sale: none qualify.
    ps = plans(_split_plan())
    inp = inputs(
        [rep("R1"), rep("R2"), rep("R3", end="2026-03-19")],
        [sale("S1", "R1", "100", "2026-03-20")],
        contacts=[
            contact("K1", "R2", "c1", "2026-03-18", channel="email"),
            contact("K2", "R2", "c1", "2026-03-17", connected=False),
            contact("K3", "R3", "c1", "2026-03-19"),
        ],
    )
    r = run(ps, inp, "2026-03")
    assert r.lines.filter(pl.col("sale_id") == "S1")["rep_id"].to_list() == ["R1"]
    # with connected_only false, K2 (by R2, active) qualifies
    r2 = run(plans(_split_plan(connected_only=False)), inp, "2026-03")
    assert sorted(r2.lines.filter(pl.col("sale_id") == "S1")["rep_id"].to_list()) == ["R1", "R2"]


def test_relationship_line_priced_under_contact_reps_own_plan():
    # seller R1 on "in" (rate 0.1, split 0.30); contact rep R2 on "out" (rate 0.05, no split).
    # sale 1000: R1 credited 700 -> 70.00; R2 credited 300 at 0.05 -> 15.00
    p_in = plan(plan="in", rates=rates((None, "0.1")), outbound_credit=outbound())
    p_out = plan(plan="out", rates=rates((None, "0.05")))
    inp = inputs(
        [rep("R1", plan="in"), rep("R2", plan="out")],
        [sale("S1", "R1", "1000", "2026-02-10")],
        contacts=[contact("K1", "R2", "c1", "2026-02-01")],
    )
    r = run(plans(p_in, p_out), inp, "2026-02")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("70.00"))]
    assert line_amounts(r, "R2") == [("commission", "S1", "relationship", D("15.00"))]
    assert payout_row(r, "R2")["credited"] == D("300")


def test_relationship_credit_from_a_quarterly_seller_lands_in_the_monthly_run():
    # R2 sells under the quarterly plan "q" (rate 0.2, split 0.30, version from 2026-01-01); R1 and R3
    # are monthly ("m", rate 0.1). R1 contacted the buyer on 2026-01-05, so the 1000 sale of 2026-01-10
    # gives R1 a relationship line of 300 (priced under R1's monthly plan: 30.00), while R2's seller line
    # (700) belongs to the quarterly run. R3 sells 500 on its own: 50.00. In rep_id order R2 sits
    # between the two monthly reps, whose rows must still be R1's and R3's.
    pm = plan(plan="m", rates=rates((None, "0.1")))
    pq = plan(plan="q", period="quarter", rates=rates((None, "0.2")), outbound_credit=outbound())
    inp = inputs(
        [rep("R1", plan="m"), rep("R2", plan="q"), rep("R3", plan="m")],
        [sale("S1", "R2", "1000", "2026-01-10"), sale("S2", "R3", "500", "2026-01-12", customer="c2")],
        contacts=[contact("K1", "R1", "c1", "2026-01-05")],
    )
    r = run(plans(pm, pq), inp, "2026-01")
    assert line_amounts(r, "R1") == [("commission", "S1", "relationship", D("30.00"))]
    assert line_amounts(r, "R3") == [("commission", "S2", "seller", D("50.00"))]
    assert sorted(r.grid["rep_id"].unique().to_list()) == ["R1", "R3"]
    # the quarterly run prices R2's seller share: 700 * 0.2 = 140.00
    rq = run(plans(pm, pq), inp, "2026-Q1")
    assert line_amounts(rq, "R2") == [("commission", "S1", "seller", D("140.00"))]


def test_unbalanced_sales_finds_a_sale_whose_lines_do_not_add_up():
    # sale 0 (line_no 0 relationship 30 + line_no 1 seller 70 = 100): fine; sale 1 (line_no 3, seller 40
    # of a 50 sale): off; sale 2 has no line at all. Of 3 sales, 2 are not covered.
    from comp_calc.steps.credit import unbalanced_sales

    money = pl.Decimal(38, 2)
    lines = pl.DataFrame(
        {"line_no": [0, 1, 3], "credited": ["30", "70", "40"], "amount": ["100", "100", "50"]},
        schema_overrides={"line_no": pl.Int64},
    ).with_columns(pl.col("credited", "amount").cast(money))
    assert unbalanced_sales(lines, 2) == 1
    assert unbalanced_sales(lines, 3) == 2
    assert unbalanced_sales(lines.filter(pl.col("line_no") != 3), 1) == 0


# ---------------------------------------------------------------- attainment and rate


def test_line_straddling_two_tier_edges_is_split_exactly():
    # quota 1000, tiers <0.5 x0.5, <1.0 x1.0, open x1.5; rate 0.1.
    # S1 200 fills [0,200). S2 1000 spans [200,1200): 300 in band 1, 500 in band 2, 200 in band 3.
    # S2 base = (300*0.5 + 500*1 + 200*1.5) * 0.1 = (150+500+300)*0.1 = 95.00
    # S1 base = 200*0.5*0.1 = 10.00
    ps = plans(plan(attainment_tiers=tiers(("0.5", "0.5"), ("1.0", "1"), (None, "1.5"))))
    inp = inputs([rep("R1", quota="1000")], [sale("S1", "R1", "200", "2026-01-03"), sale("S2", "R1", "1000", "2026-01-04")])
    r = run(ps, inp, "2026-01")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("10.00")), ("commission", "S2", "seller", D("95.00"))]
    row = payout_row(r, "R1")
    assert row["attainment"] == D("1.200000")
    s2 = tier_pieces(r, r.lines.filter(pl.col("sale_id") == "S2"))
    assert s2.select(pl.col("^tier_.*$")).row(0) == (D("0.50"), D("300.00"), D("1.00"), D("500.00"), D("1.50"), D("200.00"))
    assert s2.select(tier_pieces_text(s2).alias("tiers"))["tiers"].to_list() == ["0.50@300.00|1.00@500.00|1.50@200.00"]


def test_attainment_order_is_sold_on_then_sale_id_in_string_order():
    # two sales on the same day: "S10" < "S9", so S10 takes the first 500 (x0.5), S9 the next (x1).
    ps = plans(plan(attainment_tiers=tiers(("0.5", "0.5"), (None, "1"))))
    inp = inputs([rep("R1", quota="1000")], [sale("S9", "R1", "500", "2026-01-03"), sale("S10", "R1", "500", "2026-01-03")])
    r = run(ps, inp, "2026-01")
    assert line_amounts(r, "R1") == [("commission", "S10", "seller", D("25.00")), ("commission", "S9", "seller", D("50.00"))]


def test_proration_for_rep_starting_on_10th_and_rep_leaving_on_20th():
    # February 2026 has 28 days, quota 2800, tiers <1.0 x1, open x2, rate 0.1.
    # R1 starts 02-10: active 19 days -> prorated quota 2800*19/28 = 1900. Sale 2000: 1900 x1 + 100 x2
    #   base = (1900 + 200) * 0.1 = 210.00
    # R2 leaves 02-20: active 20 days -> 2000. Sale 2000: all x1 -> 200.00
    ps = plans(plan(attainment_tiers=tiers(("1.0", "1"), (None, "2"))))
    inp = inputs(
        [rep("R1", quota="2800", start="2026-02-10"), rep("R2", quota="2800", end="2026-02-20")],
        [sale("S1", "R1", "2000", "2026-02-11"), sale("S2", "R2", "2000", "2026-02-11")],
    )
    r = run(ps, inp, "2026-02")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("210.00"))]
    assert line_amounts(r, "R2") == [("commission", "S2", "seller", D("200.00"))]
    assert payout_row(r, "R1")["quota_shown"] == D("1900.00")
    assert payout_row(r, "R2")["attainment"] == D("1.000000")


def test_fractional_prorated_edge_is_exact():
    # quota 20000, R1 active 12 of 28 days (02-17..02-28): prorated 20000*12/28 = 8571.428571...
    # tiers <1.0 x1, open x2, rate 0.01. Sale 10000: 8571.428571.. x1 + 1428.571428.. x2
    # base = (8571.4285714 + 2857.1428571) * 0.01 = 114.285714... -> 114.29
    ps = plans(plan(rates=rates((None, "0.01")), attainment_tiers=tiers(("1.0", "1"), (None, "2"))))
    inp = inputs([rep("R1", quota="20000", start="2026-02-17")], [sale("S1", "R1", "10000", "2026-02-20")])
    r = run(ps, inp, "2026-02")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("114.29"))]
    assert payout_row(r, "R1")["quota_shown"] == D("8571.43")


def test_first_matching_rate_rule_wins():
    ps = plans(plan(rates=rates(("a", "0.01"), (("a", "b"), "0.02"), (None, "0.03"))))
    inp = inputs(
        [rep("R1")],
        [sale("S1", "R1", "100", "2026-01-02", "a"), sale("S2", "R1", "100", "2026-01-02", "b"), sale("S3", "R1", "100", "2026-01-02", "z")],
    )
    assert line_amounts(run(ps, inp, "2026-01"), "R1") == [
        ("commission", "S1", "seller", D("1.00")),
        ("commission", "S2", "seller", D("2.00")),
        ("commission", "S3", "seller", D("3.00")),
    ]


def test_quota_zero_without_tiers_is_fine_and_with_tiers_is_an_input_error():
    inp = inputs([rep("R1", quota="0")], [sale("S1", "R1", "100", "2026-01-02")])
    r = run(plans(plan()), inp, "2026-01")
    assert payout_row(r, "R1")["attainment"] is None
    with pytest.raises(InputError) as e:
        run(plans(plan(attainment_tiers=tiers(("1", "1"), (None, "2")))), inp, "2026-01")
    assert [(x.file, x.line, x.column, x.code) for x in e.value.diagnostics] == [("reps.csv", 2, "quota", "zero-quota-with-tiers")]


# ---------------------------------------------------------------- quality and rounding


def _csat_plan(**kw):
    return plan(
        rates=rates((None, "0.1")),
        quality=quality(window_days=30, csat=[("0.70", "0.8"), ("0.85", "1.0"), (None, "1.1")], **kw),
    )


def test_csat_exactly_on_band_edge_belongs_to_next_band():
    # 10 responses, 7 with score >= 4: CSAT 0.70, not < 0.70 -> second band, multiplier 1.0.
    # 6 of 10 -> 0.60 < 0.70 -> 0.8. Sale 100 at 10% -> 10.00 vs 8.00.
    fb = [response(f"F{i}", "R1", "csat", 5 if i < 7 else 3, "2026-01-15") for i in range(10)]
    fb += [response(f"G{i}", "R2", "csat", 5 if i < 6 else 3, "2026-01-15") for i in range(10)]
    inp = inputs([rep("R1"), rep("R2")], [sale("S1", "R1", "100", "2026-01-02"), sale("S2", "R2", "100", "2026-01-02")], feedback=fb)
    r = run(plans(_csat_plan()), inp, "2026-01")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("10.00"))]
    assert line_amounts(r, "R2") == [("commission", "S2", "seller", D("8.00"))]


def test_quality_window_is_last_window_days_of_period():
    # window 30 days ending 01-31: [01-02, 01-31]. A bad response on 01-01 is outside; on 01-02 inside.
    inp_out = inputs([rep("R1")], [sale("S1", "R1", "100", "2026-01-02")], feedback=[response("F1", "R1", "csat", 1, "2026-01-01")])
    inp_in = inputs([rep("R1")], [sale("S1", "R1", "100", "2026-01-02")], feedback=[response("F1", "R1", "csat", 1, "2026-01-02")])
    assert line_amounts(run(plans(_csat_plan()), inp_out, "2026-01"), "R1")[0][3] == D("10.00")
    assert line_amounts(run(plans(_csat_plan()), inp_in, "2026-01"), "R1")[0][3] == D("8.00")


def test_fewer_than_min_responses_gives_multiplier_one():
    # 2 terrible responses, min_responses 3 -> multiplier 1 -> 10.00
    fb = [response(f"F{i}", "R1", "csat", 1, "2026-01-15") for i in range(2)]
    inp = inputs([rep("R1")], [sale("S1", "R1", "100", "2026-01-02")], feedback=fb)
    r = run(plans(_csat_plan(min_responses=3)), inp, "2026-01")
    assert line_amounts(r, "R1")[0][3] == D("10.00")
    assert payout_row(r, "R1")["quality_multiplier"] == D("1")


def test_nps_and_combine_min_versus_multiply():
    # csat: 2 of 2 >= 4 -> 1.0 -> 1.1; nps: scores 0 and 10 -> 100*(1-1)/2 = 0, not < 0 -> 1.0 band;
    # a third nps 5 -> 100*(1-2)/3 = -33.3 < 0 -> 0.9.
    bands = dict(csat=[("0.85", "1.0"), (None, "1.1")], nps=[("0", "0.9"), (None, "1.0")])
    fb = [
        response("F1", "R1", "csat", 5, "2026-01-10"),
        response("F2", "R1", "csat", 4, "2026-01-10"),
        response("F3", "R1", "nps", 0, "2026-01-10"),
        response("F4", "R1", "nps", 10, "2026-01-10"),
    ]
    inp = inputs([rep("R1")], [sale("S1", "R1", "1000", "2026-01-02")], feedback=fb)
    multiply = plan(rates=rates((None, "0.1")), quality=quality(combine="multiply", **bands))
    minimum = plan(rates=rates((None, "0.1")), quality=quality(combine="min", **bands))
    # multiply: 1.1 * 1.0 = 1.1 -> 110.00; min: min(1.1, 1.0) = 1.0 -> 100.00
    assert payout_row(run(plans(multiply), inp, "2026-01"), "R1")["earned"] == D("110.00")
    assert payout_row(run(plans(minimum), inp, "2026-01"), "R1")["earned"] == D("100.00")
    inp3 = inputs([rep("R1")], [sale("S1", "R1", "1000", "2026-01-02")], feedback=fb + [response("F5", "R1", "nps", 5, "2026-01-11")])
    # multiply: 1.1 * 0.9 = 0.99 -> 99.00; min: 0.9 -> 90.00
    assert payout_row(run(plans(multiply), inp3, "2026-01"), "R1")["earned"] == D("99.00")
    assert payout_row(run(plans(minimum), inp3, "2026-01"), "R1")["earned"] == D("90.00")


def test_half_up_versus_half_even_on_a_half_cent():
    # 0.25 * 0.1 = 0.025: half_up -> 0.03, half_even -> 0.02
    inp = inputs([rep("R1")], [sale("S1", "R1", "0.25", "2026-01-02")])
    assert line_amounts(run(plans(plan(rounding="half_up")), inp, "2026-01"), "R1")[0][3] == D("0.03")
    assert line_amounts(run(plans(plan(rounding="half_even")), inp, "2026-01"), "R1")[0][3] == D("0.02")


def test_rounding_is_of_the_exact_value_not_a_rounded_intermediate():
    # quota 28, active 14 of 28 days (prorated 14), tiers <1 x1, open x2, rate 0.1, half_up.
    # sale 14.05: 14 x1 + 0.05 x2 = 14.10 * 0.1 = 1.41 exactly.
    # sale 0.0003 more would not matter; instead check a value one ulp below a tie:
    # quota 7 over 28 days active 10 -> prorated 2.5; sale 2.55: 2.5 x1 + 0.05 x2 = 2.6 * 0.1 = 0.26
    ps = plans(plan(attainment_tiers=tiers(("1", "1"), (None, "2"))))
    inp = inputs([rep("R1", quota="7", start="2026-02-19")], [sale("S1", "R1", "2.55", "2026-02-20")])
    assert line_amounts(run(ps, inp, "2026-02"), "R1")[0][3] == D("0.26")


# ---------------------------------------------------------------- cap, clawback, balance


def test_cap_hit_adds_negative_cap_line_and_not_at_equality():
    # rate 0.1, cap 100: sale 1200 -> earned 120.00 -> cap line -20.00; sale 1000 -> earned 100.00 = cap -> no line
    ps = plans(plan(cap=D("100")))
    inp = inputs([rep("R1"), rep("R2")], [sale("S1", "R1", "1200", "2026-01-02"), sale("S2", "R2", "1000", "2026-01-02")])
    r = run(ps, inp, "2026-01")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("120.00")), ("cap", None, None, D("-20.00"))]
    assert payout_row(r, "R1")["payout"] == D("100.00")
    assert line_amounts(r, "R2") == [("commission", "S2", "seller", D("100.00"))]


def test_cancellation_exactly_on_within_days_edge_takes_that_rule():
    # rules 30 -> 1.0, 90 -> 0.5. S1 sold 01-01 cancelled 01-31 (30 days): -100% of 12.35.
    # S2 cancelled 02-01 (31 days): -round(0.5 * 12.35) = -6.175 -> half_up -6.18. S3 cancelled 91 days: nothing.
    ps = plans(plan(clawback=clawback((30, "1.0"), (90, "0.5"))))
    inp = inputs(
        [rep("R1")],
        [
            sale("S1", "R1", "123.45", "2026-01-01", cancelled_on="2026-01-31"),
            sale("S2", "R1", "123.45", "2026-01-01", cancelled_on="2026-02-01"),
            sale("S3", "R1", "123.45", "2026-01-01", cancelled_on="2026-04-02"),
        ],
    )
    jan = run(ps, inp, "2026-01")
    assert line_amounts(jan, "R1", kind="clawback") == [("clawback", "S1", "seller", D("-12.35"))]
    feb = run(ps, inp, "2026-02")
    assert line_amounts(feb, "R1", kind="clawback") == [("clawback", "S2", "seller", D("-6.18"))]
    apr = run(ps, inp, "2026-04")
    assert line_amounts(apr, "R1", kind="clawback") == []


def test_cancellation_after_requested_period_is_not_cancelled_yet():
    ps = plans(plan(clawback=clawback((90, "1.0"),)))
    inp = inputs([rep("R1")], [sale("S1", "R1", "100", "2026-01-05", cancelled_on="2026-02-03")])
    assert payout_row(run(ps, inp, "2026-01"), "R1")["clawbacks"] == D("0.00")
    assert payout_row(run(ps, inp, "2026-02"), "R1")["clawbacks"] == D("-10.00")


def test_clawbacks_exceeding_earnings_carry_forward_over_two_periods():
    # Jan: S1 5000 -> 500.00 paid. Feb: S1 cancelled (100%) -500.00, S2 100 -> 10.00:
    #   net -490 -> payout 0, carry -490. Mar: S3 2000 -> 200.00: net -290 -> payout 0, carry -290.
    # Apr: S4 4000 -> 400.00: net 110 -> payout 110.00, carry 0.
    ps = plans(plan(clawback=clawback((60, "1.0"),)))
    inp = inputs(
        [rep("R1")],
        [
            sale("S1", "R1", "5000", "2026-01-05", cancelled_on="2026-02-03"),
            sale("S2", "R1", "100", "2026-02-05"),
            sale("S3", "R1", "2000", "2026-03-05"),
            sale("S4", "R1", "4000", "2026-04-05"),
        ],
    )
    r = run(ps, inp, "2026-04")
    got = [
        (x["period"], x["earned"], x["clawbacks"], x["carry_in"], x["payout"], x["carry_out"])
        for x in r.grid.filter(pl.col("rep_id") == "R1").sort("period").to_dicts()
    ]
    assert got == [
        ("2026-01", D("500.00"), D("0.00"), D("0.00"), D("500.00"), D("0.00")),
        ("2026-02", D("10.00"), D("-500.00"), D("0.00"), D("0.00"), D("-490.00")),
        ("2026-03", D("200.00"), D("0.00"), D("-490.00"), D("0.00"), D("-290.00")),
        ("2026-04", D("400.00"), D("0.00"), D("-290.00"), D("110.00"), D("0.00")),
    ]
    assert line_amounts(r, "R1", "2026-03", kind="carry") == [("carry", None, None, D("-490.00"))]


def test_negative_balance_pay_pays_the_negative_net():
    ps = plans(plan(clawback=clawback((60, "1.0"),), negative_balance="pay"))
    inp = inputs([rep("R1")], [sale("S1", "R1", "5000", "2026-01-05", cancelled_on="2026-02-03")])
    row = payout_row(run(ps, inp, "2026-02"), "R1")
    assert (row["payout"], row["carry_out"]) == (D("-500.00"), D("0.00"))


def test_clawback_reaches_rep_who_left_and_uses_rules_of_version_earned_under():
    # v1 (Jan): recover 1.0 within 60; v2 (from Feb): recover 0.5. Sale in Jan under v1, cancelled in Feb
    # after the rep left on 01-31: clawback under v1 rules: -100% of 100.00.
    v1 = plan(version=1, clawback=clawback((60, "1.0"),))
    v2 = plan(version=2, effective_from=d("2026-02-01"), clawback=clawback((60, "0.5"),))
    inp = inputs([rep("R1", end="2026-01-31")], [sale("S1", "R1", "1000", "2026-01-05", cancelled_on="2026-02-03")])
    r = run(plans(v1, v2), inp, "2026-02")
    row = payout_row(r, "R1")
    assert (row["active"], row["plan_version"] if "plan_version" in row else row["version"]) == (False, 2)
    assert (row["clawbacks"], row["payout"], row["carry_out"]) == (D("-100.00"), D("0.00"), D("-100.00"))


def test_plan_version_change_mid_year():
    # v1 rate 0.1 until June, v2 rate 0.2 from 2026-07-01.
    v1 = plan(version=1, rates=rates((None, "0.1")))
    v2 = plan(version=2, effective_from=d("2026-07-01"), rates=rates((None, "0.2")))
    inp = inputs([rep("R1")], [sale("S1", "R1", "100", "2026-06-30"), sale("S2", "R1", "100", "2026-07-01")])
    r = run(plans(v1, v2), inp, "2026-07")
    assert line_amounts(r, "R1", "2026-06") == [("commission", "S1", "seller", D("10.00"))]
    assert line_amounts(r, "R1", "2026-07") == [("commission", "S2", "seller", D("20.00"))]
    assert payout_row(r, "R1")["version"] == 2


def test_quarterly_plan():
    # quarterly plan from 2026-Q1, quota 3000 per quarter, tiers <1 x1, open x2, rate 0.1.
    # Q1 sales 2000 (Jan) + 2000 (Mar): second straddles 3000: 1000 x1 + 1000 x2 -> 300.00; first 200.00.
    ps = plans(plan(period="quarter", attainment_tiers=tiers(("1", "1"), (None, "2"))))
    inp = inputs([rep("R1", quota="3000")], [sale("S1", "R1", "2000", "2026-01-15"), sale("S2", "R1", "2000", "2026-03-15")])
    r = run(ps, inp, "2026-Q1")
    assert line_amounts(r, "R1") == [("commission", "S1", "seller", D("200.00")), ("commission", "S2", "seller", D("300.00"))]
    assert payout_row(r, "R1")["payout"] == D("500.00")


def test_monthly_run_leaves_out_quarterly_reps():
    pm = plan(plan="m")
    pq = plan(plan="q", period="quarter")
    inp = inputs([rep("R1", plan="m"), rep("R2", plan="q")], [sale("S1", "R1", "100", "2026-01-02"), sale("S2", "R2", "100", "2026-01-02")])
    r = run(plans(pm, pq), inp, "2026-01")
    assert sorted(r.grid["rep_id"].unique().to_list()) == ["R1"]


def test_rep_without_version_in_force_is_an_input_error():
    inp = inputs([rep("R1", plan="late"), rep("R0", plan="p")], [sale("S1", "R0", "100", "2026-01-02")])
    early = plan(plan="p")
    late = plan(plan="late", effective_from=d("2026-03-01"))
    with pytest.raises(InputError) as e:
        run(plans(early, late), inp, "2026-03")
    codes = {(x.line, x.code) for x in e.value.diagnostics}
    assert codes == {(2, "no-plan-version")}


def test_numbers_too_large_for_exact_arithmetic_are_a_clear_input_error():
    # 10^15 amounts are accepted by the loader, but 999999999999999 * 92 days * 1e6 (rate scale) overflows 38 digits
    ps = plans(plan(rates=rates((None, "0.123456")), attainment_tiers=tiers(("0.000001", "1.123456"), (None, "2.654321"))))
    inp = inputs([rep("R1", quota="999999999999999.999999")], [sale("S1", "R1", "999999999999999.999999", "2026-01-02")])
    with pytest.raises(InputError) as e:
        run(ps, inp, "2026-01")
    assert e.value.diagnostics[0].code in {"number-too-large", "too-many-decimals"}
