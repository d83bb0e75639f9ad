"""Step 3b, SPIFs, and their clawback in step 6 (SPEC 6.3): hand-computed runs through the engine."""

from __future__ import annotations

import polars as pl

from comp_calc.engine import compute
from comp_calc.outputs.results import lines_frame, payouts_frame
from comp_calc.periods import parse_period
from factories import D, campaign_row, campaigns, clawback, contact, inputs, outbound, plan, plans, rates, rep, sale

# cards pay 0.1, everything else 0.02
RATES = rates(("card", "0.1"), (None, "0.02"))
# spring: every card sale in March; home: card sales of 10-16 March
CALENDAR = [campaign_row("spring", "card", "2026-03-01", "2026-03-31"), campaign_row("home", "card", "2026-03-10", "2026-03-16")]


def _run(ps, inp, period="2026-03"):
    return compute(ps, inp, parse_period(period))


def _row(result, rep_id, period=None):
    period = period or result.period.label
    return payouts_frame(result, period).filter(pl.col("rep_id") == rep_id).to_dicts()[0]


def _lines(result, rep_id=None, period=None):
    lines = lines_frame(result, period)
    return lines if rep_id is None else lines.filter(pl.col("rep_id") == rep_id)


def _spifs(result, period=None):
    return [(x["sale_id"], x["reference"], x["amount"]) for x in _lines(result, period=period).filter(pl.col("kind") == "spif").to_dicts()]


def test_a_per_sale_spif_adds_its_amount_to_the_payout():
    # card sale of 1000 on 5 March, inside spring: commission 1000 x 0.1 = 100.00, spif 25.00;
    # payout 100.00 + 25.00 = 125.00. Home (10-16 March) does not match the 5th.
    ps = plans(plan(rates=RATES, campaigns=campaigns(("spring", "25.00", None), ("home", "40.00", None))))
    result = _run(ps, inputs([rep("A")], [sale("s1", "A", "1000", "2026-03-05", product="card")], campaigns=CALENDAR))
    a = _row(result, "A")
    assert (a["earned"], a["spifs"], a["payout"]) == (D("100.00"), D("25.00"), D("125.00"))
    lines = _lines(result, "A")
    assert lines["kind"].to_list() == ["commission", "spif"]
    spif = lines.row(1, named=True)
    assert (spif["sale_id"], spif["role"], spif["product"], spif["amount"], spif["reference"]) == ("s1", "seller", "card", D("25.00"), "spring")
    assert spif["explanation"] == "sale s1 (card) sold 2026-03-05, spring campaign: 25.00 per sale"
    assert lines["reference"][0] is None  # a commission line has no reference


def test_a_rate_spif_rounds_once_by_the_plans_rounding():
    # 1234.50 card sale on 12 March (in spring and home); home pays 0.01:
    # 0.01 x 1234.50 = 12.345 -> half_up 12.35, half_even 12.34
    cal = campaigns(("home", None, "0.01"))
    inp = inputs([rep("A")], [sale("s1", "A", "1234.50", "2026-03-12", product="card")], campaigns=CALENDAR)
    up = _run(plans(plan(rates=RATES, campaigns=cal, rounding="half_up")), inp)
    even = _run(plans(plan(rates=RATES, campaigns=cal, rounding="half_even")), inp)
    assert _spifs(up) == [("s1", "home", D("12.35"))]
    assert _spifs(even) == [("s1", "home", D("12.34"))]
    spif = _lines(up).filter(pl.col("kind") == "spif").row(0, named=True)
    assert spif["explanation"] == "sale s1 (card) sold 2026-03-12, home campaign: 1% of 1234.50 credited = 12.35"
    assert spif["rate"] == D("0.01")
    # commission 0.1 x 1234.50 = 123.45 (exact, no tie); payout 123.45 + 12.35 = 135.80
    assert _row(up, "A")["payout"] == D("135.80")


def test_the_campaign_days_are_both_included():
    # home runs 10-16 March: sales on the 9th and 17th are out, the 10th and 16th in;
    # a savings sale (not the campaign's product) on the 12th is out. 10.00 per sale: 2 x 10.00
    ps = plans(plan(rates=RATES, campaigns=campaigns(("home", "10.00", None))))
    sales = [
        sale("s09", "A", "100", "2026-03-09", product="card"),
        sale("s10", "A", "100", "2026-03-10", product="card"),
        sale("s12", "A", "100", "2026-03-12", product="savings"),
        sale("s16", "A", "100", "2026-03-16", product="card"),
        sale("s17", "A", "100", "2026-03-17", product="card"),
    ]
    result = _run(ps, inputs([rep("A")], sales, campaigns=CALENDAR))
    assert _spifs(result) == [("s10", "home", D("10.00")), ("s16", "home", D("10.00"))]
    assert _row(result, "A")["spifs"] == D("20.00")


def test_a_relationship_line_earns_no_spif():
    # B's connected call to c1 on 1 March gives B 30% of A's 1000 card sale on the 5th:
    # A (seller) credited 700: spif round(0.01 x 700) = 7.00; B (relationship, 300) earns none
    ps = plans(plan(rates=RATES, outbound_credit=outbound("0.30"), campaigns=campaigns(("spring", None, "0.01"))))
    inp = inputs(
        [rep("A"), rep("B")], [sale("s1", "A", "1000", "2026-03-05", product="card", customer="c1")],
        contacts=[contact("k1", "B", "c1", "2026-03-01")], campaigns=CALENDAR,
    )  # fmt: skip
    result = _run(ps, inp)
    assert _spifs(result) == [("s1", "spring", D("7.00"))]
    assert _lines(result, "B")["kind"].to_list() == ["commission"]
    assert (_row(result, "A")["spifs"], _row(result, "B")["spifs"]) == (D("7.00"), D("0.00"))


def test_two_campaigns_pay_in_the_plans_list_order_after_every_commission_line():
    # the plan lists home before spring (not alphabetical); two sales inside both:
    # s1 on the 11th (1000): home 1000 x 0.02 = 20.00, spring 25.00
    # s2 on the 12th (500):  home 500 x 0.02 = 10.00, spring 25.00
    ps = plans(plan(rates=RATES, campaigns=campaigns(("home", None, "0.02"), ("spring", "25.00", None))))
    sales = [sale("s1", "A", "1000", "2026-03-11", product="card"), sale("s2", "A", "500", "2026-03-12", product="card")]
    result = _run(ps, inputs([rep("A")], sales, campaigns=CALENDAR))
    lines = _lines(result, "A")
    assert list(zip(lines["kind"], lines["sale_id"], lines["reference"], lines["amount"], strict=True)) == [
        ("commission", "s1", None, D("100.00")),
        ("commission", "s2", None, D("50.00")),
        ("spif", "s1", "home", D("20.00")),
        ("spif", "s1", "spring", D("25.00")),
        ("spif", "s2", "home", D("10.00")),
        ("spif", "s2", "spring", D("25.00")),
    ]
    # payout 150.00 + 80.00 = 230.00
    assert (_row(result, "A")["spifs"], _row(result, "A")["payout"]) == (D("80.00"), D("230.00"))


def test_a_zero_spif_is_written_and_spifs_are_not_capped():
    # per_sale 0.00 and rate 0 both write a 0.00 line; cap 50: commission 100.00 is capped
    # (cap line -50.00), the spifs are not: payout 100.00 - 50.00 + 0 + 0 + 30.00 = 80.00
    cal = campaigns(("spring", "0.00", None), ("home", None, "0"), ("spring2", "30.00", None))
    calendar = [*CALENDAR, campaign_row("spring2", "card", "2026-03-01", "2026-03-31")]
    ps = plans(plan(rates=RATES, campaigns=cal, cap=D("50")))
    result = _run(ps, inputs([rep("A")], [sale("s1", "A", "1000", "2026-03-12", product="card")], campaigns=calendar))
    assert _spifs(result) == [("s1", "spring", D("0.00")), ("s1", "home", D("0.00")), ("s1", "spring2", D("30.00"))]
    a = _row(result, "A")
    assert (a["earned"], a["cap_adjustment"], a["spifs"], a["payout"]) == (D("100.00"), D("-50.00"), D("30.00"), D("80.00"))


def test_the_sellers_version_in_force_for_the_sales_period_decides():
    # version 1 (from January) pays spring 25.00; version 2 (from April) names no campaign.
    # A card sale on 31 March earns under version 1, even when the run is April's.
    v1 = plan(rates=RATES, campaigns=campaigns(("spring", "25.00", None)))
    v2 = plan(version=2, effective_from=parse_period("2026-04").start, rates=RATES)
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-03-31", product="card")], campaigns=CALENDAR)
    result = _run(plans(v1, v2), inp, "2026-04")
    assert _spifs(result, "2026-03") == [("s1", "spring", D("25.00"))]
    assert _row(result, "A", "2026-03")["spifs"] == D("25.00")
    assert _row(result, "A")["spifs"] == D("0.00")


def test_spifs_of_a_cancelled_sale_are_clawed_back_by_the_commissions_rules():
    # rules: within 30 days recover 1.0, within 90 days 0.5.
    # s1 (1000, 5 March) cancelled 20 March, 15 days: full. Commission 100.00 -> -100.00,
    #   spring 25.00 -> -25.00, all in March.
    # s2 (1234.50, 12 March) cancelled 7 May, 56 days: half. Commission 123.45 ->
    #   -round(61.725) = -61.73; home round(0.01 x 1234.50) = 12.35 -> -round(6.175) = -6.18;
    #   spring 25.00 -> -12.50. In May, the commission's clawback first, then its spifs' in list order.
    ps = plans(plan(rates=RATES, clawback=clawback((30, "1.0"), (90, "0.5")), campaigns=campaigns(("home", None, "0.01"), ("spring", "25.00", None))))
    sales = [
        sale("s1", "A", "1000", "2026-03-05", product="card", cancelled_on="2026-03-20"),
        sale("s2", "A", "1234.50", "2026-03-12", product="card", cancelled_on="2026-05-07"),
    ]
    result = _run(ps, inputs([rep("A")], sales, campaigns=CALENDAR), "2026-05")
    march = _lines(result, "A", "2026-03")
    assert list(zip(march["kind"], march["sale_id"], march["reference"], march["amount"], strict=True)) == [
        ("commission", "s1", None, D("100.00")),
        ("commission", "s2", None, D("123.45")),
        ("spif", "s1", "spring", D("25.00")),
        ("spif", "s2", "home", D("12.35")),
        ("spif", "s2", "spring", D("25.00")),
        ("clawback", "s1", None, D("-100.00")),
        ("clawback", "s1", "spring", D("-25.00")),
    ]
    # March: earned 223.45 + spifs 62.35 + clawbacks -125.00 = 160.80
    m = _row(result, "A", "2026-03")
    assert (m["spifs"], m["clawbacks"], m["payout"]) == (D("62.35"), D("-125.00"), D("160.80"))
    may = _lines(result, "A", "2026-05")
    assert list(zip(may["kind"], may["reference"], may["amount"], strict=True)) == [
        ("clawback", None, D("-61.73")),
        ("clawback", "home", D("-6.18")),
        ("clawback", "spring", D("-12.50")),
    ]
    assert may["explanation"][1] == (
        "sale s2 sold 2026-03-12 cancelled 2026-05-07 (56 days, 90-day rule): recover 0.5 of the home campaign's 12.35 paid in 2026-03 = -6.18"
    )
    assert may["role"].to_list() == ["seller"] * 3 and may["credited"].to_list() == [D("1234.50")] * 3
    # May: clawbacks -61.73 - 6.18 - 12.50 = -80.41, carried forward
    assert (_row(result, "A")["clawbacks"], _row(result, "A")["carry_out"]) == (D("-80.41"), D("-80.41"))


def test_without_campaigns_nothing_changes():
    # a plan with campaigns but a sale of another product, and a plan run without campaigns.csv
    ps = plans(plan(rates=RATES))
    inp = inputs([rep("A")], [sale("s1", "A", "1000", "2026-03-05", product="card")])
    result = _run(ps, inp)
    assert _lines(result)["kind"].to_list() == ["commission"]
    assert _row(result, "A")["spifs"] == D("0.00")
