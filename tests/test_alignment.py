"""`comp-calc alignment`: each signal on a small dataset with planted patterns, the outcome
share worked out by hand, the shipped sample data, and the JSON shape."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from decimal import Decimal

import polars as pl
import pytest

from comp_calc import alignment
from comp_calc.pipeline.stages import Prepared, run
from comp_calc.periods import parse_period
from conftest import ROOT, invoke
from factories import activity, clawback, contact, draw, inputs, outbound, outcome_bonus, plan, plans, quality, rates, rep, response, sale

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def analyze(ps, inp, period):
    prep = Prepared(ps, inp, parse_period(period), False)
    return alignment.analyze(prep, run(prep))


def flagged(report, signal, window=None):
    """The reps flagged for `signal` (in `window`, or in either)."""
    found = report.flags.filter(pl.col("signal") == signal)
    if window is not None:
        found = found.filter(pl.col("window") == window)
    return sorted(set(found["rep_id"].to_list()))


def rep_row(report, rep_id, window="trailing"):
    metrics = report.trailing if window == "trailing" else report.current
    rows = metrics.reps.filter(pl.col("rep_id") == rep_id).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# ------------------------------------------------------------------ outcome share, by hand


def _outcome_plan(**kw):
    return plan(
        rates=rates((None, "0.1")),
        quality=quality(min_responses=1, csat=[("0.70", "0.80"), (None, "1.00")]),
        clawback=clawback((30, "1.0")),
        outbound_credit=outbound(share="0.30"),
        **kw,
    )


def _outcome_inputs():
    return inputs(
        [rep("R1"), rep("R2")],
        [
            # R2 reached c1 on 01-05: R2 relationship 300.00 (commission 30.00), R1 seller 700.00
            # (base 70.00, quality 0.8 -> 56.00: effect -14.00)
            sale("S1", "R1", "1000.00", "2026-01-10", customer="c1"),
            # base 50.00 -> 40.00 (effect -10.00), cancelled after 8 days: clawback -40.00
            sale("S2", "R1", "500.00", "2026-01-12", customer="c2", cancelled_on="2026-01-20"),
        ],
        feedback=[response("F1", "R1", "csat", 1, "2026-01-20")],  # CSAT 0 < 0.70: multiplier 0.80
        contacts=[contact("K1", "R2", "c1", "2026-01-05")],
    )


def test_outcome_share_per_rep_and_plan_worked_by_hand():
    report = analyze(plans(_outcome_plan()), _outcome_inputs(), "2026-01")
    r1 = rep_row(report, "R1")
    assert (r1["volume_pay"], r1["quality_effect"], r1["quality_moved"]) == (Decimal("120.00"), Decimal("-24.00"), Decimal("24.00"))
    assert (r1["relationship_pay"], r1["clawbacks"], r1["outcome_moved"]) == (Decimal("0.00"), Decimal("-40.00"), Decimal("64.00"))
    assert r1["outcome_share"] == Decimal("0.3478")  # 64 / (120 + 64)
    r2 = rep_row(report, "R2")
    assert (r2["volume_pay"], r2["relationship_pay"], r2["outcome_share"]) == (Decimal("0.00"), Decimal("30.00"), Decimal("1.0000"))
    p = report.trailing.plans.to_dicts()[0]
    assert (p["volume_pay"], p["outcome_moved"], p["outcome_share"]) == (Decimal("120.00"), Decimal("94.00"), Decimal("0.4393"))
    assert p["volume_only"] is False and p["finding"] is None


def test_a_plan_without_outcome_terms_is_volume_only():
    inp = inputs([rep("R1")], [sale("S1", "R1", "1000.00", "2026-01-10")])
    report = analyze(plans(plan(rates=rates((None, "0.1")))), inp, "2026-01")
    p = report.trailing.plans.to_dicts()[0]
    assert p["volume_only"] is True and p["outcome_share"] == Decimal("0.0000")
    assert p["finding"] == "volume-only: customer-outcome terms moved 0.00% of pay (0.00 of 100.00), below the 5.00% threshold"


def test_outcome_share_just_above_the_threshold_is_not_volume_only():
    # base 100.00 + 100.00; one sale cancelled on day 0 with recover 0.06: clawback -6.00;
    # share 6 / (200 + 6) = 2.9% -> volume-only; with recover 0.12: 12 / 212 = 5.66% -> not
    def share(recover):
        p = plan(rates=rates((None, "0.1")), clawback=clawback((30, recover)))
        inp = inputs(
            [rep("R1")],
            [sale("S1", "R1", "1000.00", "2026-01-10"), sale("S2", "R1", "1000.00", "2026-01-11", cancelled_on="2026-01-11")],
        )
        return analyze(plans(p), inp, "2026-01").trailing.plans.to_dicts()[0]

    assert share("0.06")["volume_only"] is True
    assert share("0.12")["volume_only"] is False


def test_an_outcome_bonus_counts_in_the_outcome_share():
    # sale 1000.00 x 0.1: volume pay 100.00 and nothing else moved by outcomes: volume-only (0%);
    # with a csat bonus of 20.00 (1 response scoring 5: csat 1, the open band): moved 20.00,
    # share 20 / (100 + 20) = 0.1667 -> not volume-only
    inp = inputs([rep("R1")], [sale("S1", "R1", "1000.00", "2026-01-10")], [response("F1", "R1", "csat", 5, "2026-01-20")])
    bonus = outcome_bonus("csat", 31, 1, ("0.5", "0"), (None, "20.00"))
    report = analyze(plans(plan(rates=rates((None, "0.1")), outcome_bonus=bonus)), inp, "2026-01")
    r1 = rep_row(report, "R1")
    assert (r1["volume_pay"], r1["outcome_bonus"], r1["outcome_moved"], r1["outcome_share"]) == (
        Decimal("100.00"), Decimal("20.00"), Decimal("20.00"), Decimal("0.1667"),
    )  # fmt: skip
    p = report.trailing.plans.to_dicts()[0]
    assert (p["outcome_moved"], p["volume_only"]) == (Decimal("20.00"), False)


def test_a_draw_is_neither_volume_nor_outcome_pay_but_is_in_the_payout():
    # sale 1000.00 x 0.1: volume pay 100.00; a draw of 500.00 tops the payout up by 400.00 to 500.00.
    # The top-up is pay for no sale and no customer outcome: volume pay stays 100.00, outcome moved
    # 0.00 (share 0 -> volume-only), while the payout ranked against satisfaction is 500.00
    inp = inputs([rep("R1")], [sale("S1", "R1", "1000.00", "2026-01-10")])
    report = analyze(plans(plan(rates=rates((None, "0.1")), draw=draw("500.00"))), inp, "2026-01")
    r1 = rep_row(report, "R1")
    assert (r1["payout"], r1["volume_pay"], r1["outcome_moved"], r1["outcome_share"]) == (
        Decimal("500.00"), Decimal("100.00"), Decimal("0.00"), Decimal("0.0000"),
    )  # fmt: skip
    p = report.trailing.plans.to_dicts()[0]
    assert (p["volume_pay"], p["outcome_moved"], p["volume_only"]) == (Decimal("100.00"), Decimal("0.00"), True)


# ------------------------------------------------------------------ planted patterns

NORTH = ["N1", "N2", "N3", "N4", "N5", "N6"]
SOUTH = ["S1", "S2", "S3", "S4", "S5", "S6"]


def _planted(n4_csat=(5, 5, 4, 4, 4, 4, 3, 2)):
    """12 reps in two teams, January to June 2026, one plan with quality and clawback.

    Planted: N1 mis-sells (8 of 18 sales cancelled after 10 days), N3 sells ten times
    more with CSAT all 2 and NPS all 0, S1 logs 40 connected calls to customers who
    never buy, S3's only answers are 12 top CSAT scores from 2 customers. Clean comparisons: N2
    (2 early cancellations), N4 (second-highest pay, good CSAT), S2 (40 connected
    calls to real customers), N5 (120 answers: enough for a confident CSAT).
    """
    reps, sales, feedback, contacts = [], [], [], []
    for team, ids in (("North", NORTH), ("South", SOUTH)):
        reps += [rep(r, quota="100000", start="2025-01-01", team=team) for r in ids]
    for r in NORTH + SOUTH:
        amount = {"N3": "10000.00", "N4": "5000.00"}.get(r, "1000.00")
        for m, month in enumerate(MONTHS):
            for i in range(3):
                n = 3 * m + i
                cancelled = None
                if (r == "N1" and n < 8) or (r == "N2" and n < 2):
                    cancelled = f"{month}-{11 + i:02d}"
                sales.append(sale(f"{r}-S{n:02d}", r, amount, f"{month}-{1 + i:02d}", customer=f"{r}-C{n:02d}", cancelled_on=cancelled))
        if r == "S3":
            continue  # S3's answers are the planted pattern below
        csat = [2] * 8 if r == "N3" else list(n4_csat) if r == "N4" else [5, 5, 4, 4, 4, 4, 3, 2]
        nps = [0] * 8 if r == "N3" else [10, 9, 8, 7, 7, 6, 5, 9]
        for i, score in enumerate(csat):
            feedback.append(response(f"{r}-FC{i}", r, "csat", score, f"2026-05-{10 + i:02d}", customer=f"{r}-FC{i}"))
        for i, score in enumerate(nps):
            feedback.append(response(f"{r}-FN{i}", r, "nps", score, f"2026-05-{10 + i:02d}", customer=f"{r}-FN{i}"))
    for i in range(12):  # S3: 12 top answers from 2 customers
        feedback.append(response(f"S3-P{i:02d}", "S3", "csat", 5, f"2026-06-{1 + i:02d}", customer=f"S3-K{i % 2}"))
    for i in range(120):  # N5: 120 top answers from 120 customers in the quality window
        feedback.append(response(f"N5-Q{i:03d}", "N5", "csat", 5, f"2026-06-{1 + i % 28:02d}", customer=f"N5-Q{i:03d}"))
    for r in SOUTH:
        calls = 40 if r in ("S1", "S2") else 10
        for i in range(calls):
            # S1 calls customers who never buy; the others call their own customer n = i % 18
            # on the day of that customer's purchase (day 1 + n % 3 of its month): a gap of 0 days
            n = i % 18
            month = MONTHS[n // 3]
            if r == "S1":
                contacts.append(contact(f"{r}-K{i:02d}", r, f"Z{i:03d}", f"{month}-01"))
            else:
                contacts.append(contact(f"{r}-K{i:02d}", r, f"{r}-C{n:02d}", f"{month}-{1 + n % 3:02d}"))
    return inputs(reps, sales, feedback, contacts)


def _planted_plan():
    return plan(
        effective_from=parse_period("2026-01").start,
        rates=rates((None, "0.1")),
        quality=quality(window_days=90, min_responses=5, csat=[("0.70", "0.80"), (None, "1.00")]),
        clawback=clawback((30, "1.0"), (90, "0.5")),
    )


@pytest.fixture(scope="module")
def planted():
    return analyze(plans(_planted_plan()), _planted(), "2026-06")


def test_mis_selling_flags_the_planted_rep_only(planted):
    assert flagged(planted, "mis_selling") == ["N1"]
    n1 = rep_row(planted, "N1")
    assert (n1["sales"], n1["early_cancellations"], n1["early_days"]) == (18, 8, 90)
    assert (n1["baseline"], n1["baseline_sales"], n1["baseline_early"]) == ("team", 90, 2)
    flag = planted.flags.filter(pl.col("signal") == "mis_selling").to_dicts()[0]
    assert flag["value"] == "0.4444" and flag["threshold"] == "0.1000"
    assert flag["reason"].startswith("8 of 18 sales (44.44%) sold in the trailing 6 periods (2026-01 to 2026-06) were cancelled within 90 days of the sale; "
                                     "team excluding this rep: 2 of 90 (2.22%).")
    n2 = rep_row(planted, "N2")  # 11.1% but only 2 early cancellations
    assert (n2["early_cancellations"], n2["early_rate"]) == (2, Decimal("0.1111"))


def test_mis_selling_needs_twice_the_team_rate():
    # every North rep cancels 5 of 18 early: nobody stands out from the team
    ps = plans(_planted_plan())
    inp = _planted()
    sales = inp.sales.frame.with_columns(
        cancelled_on=pl.when(pl.col("rep_id").is_in(NORTH) & (pl.col("sale_id").str.slice(-2).cast(pl.Int64) < 5))
        .then(pl.col("sold_on") + pl.duration(days=10))
    )
    inp.sales.frame = sales
    report = analyze(ps, inp, "2026-06")
    assert flagged(report, "mis_selling") == []
    assert rep_row(report, "N1")["early_rate"] == Decimal("0.2778")


def test_contact_gaming_flags_the_box_ticker_not_the_busy_colleague(planted):
    assert flagged(planted, "contact_gaming") == ["S1"]
    s1, s2 = rep_row(planted, "S1"), rep_row(planted, "S2")
    assert (s1["connected"], s1["followed"], s1["median_customer_value"]) == (40, 0, Decimal("0"))
    assert s1["team_median_customer_value"] > 0
    assert (s2["connected"], s2["followed"], s2["follow_on_rate"]) == (40, 40, Decimal("1.0000"))
    # S1's colleagues: S2 40 + S3..S6 10 each, all followed by a purchase
    assert (s1["team_other_connected"], s1["team_other_followed"]) == (80, 80)
    flag = planted.flags.filter(pl.col("signal") == "contact_gaming").to_dicts()[0]
    assert (flag["value"], flag["threshold"]) == ("0.0000", "0.5000")
    assert "Rule: at least 30 connected contacts" in flag["reason"]


def test_pay_vs_satisfaction_flags_high_pay_with_low_csat(planted):
    assert flagged(planted, "pay_vs_satisfaction") == ["N3"]
    n3, n4 = rep_row(planted, "N3"), rep_row(planted, "N4")
    assert (n3["pay_rank"], n3["pay_top"], n3["csat_bottom"], n3["nps_bottom"]) == (1, True, True, True)
    assert (n4["pay_rank"], n4["pay_top"], n4["csat_bottom"], n4["nps_bottom"]) == (2, True, False, False)
    flag = planted.flags.filter(pl.col("signal") == "pay_vs_satisfaction").to_dicts()[0]
    assert flag["value"] == "0.0000"
    assert "ranks 1 of 12 reps (top 10.00%: the first 2)" in flag["reason"]


def test_pay_vs_satisfaction_needs_the_bottom_quartile_on_every_ranked_survey():
    # N4 (second-highest pay) now has CSAT all 1 but the usual NPS: low on one survey only
    report = analyze(plans(_planted_plan()), _planted(n4_csat=[1] * 8), "2026-06")
    n4 = rep_row(report, "N4")
    assert (n4["pay_top"], n4["csat_bottom"], n4["nps_bottom"], n4["nps_ranked"]) == (True, True, False, True)
    assert flagged(report, "pay_vs_satisfaction") == ["N3"]


def test_pay_vs_satisfaction_needs_enough_reps_to_rank():
    inp = _planted()
    keep = ["N1", "N2", "N3", "N4", "N5"]
    for t in (inp.reps, inp.sales, inp.feedback, inp.contacts):
        t.frame = t.frame.filter(pl.col("rep_id").is_in(keep))
    report = analyze(plans(_planted_plan()), inp, "2026-06")
    assert flagged(report, "pay_vs_satisfaction") == []


def test_team_rank_correlation_of_pay_and_satisfaction(planted):
    north = planted.trailing.teams.filter(pl.col("team") == "North").to_dicts()[0]
    # North: N3 paid most with the worst CSAT; the others tie on CSAT except N5 (all top answers)
    assert north["csat_reps"] == 6
    assert north["pay_csat_correlation"] < 0
    assert planted.trailing.teams["team"].to_list() == ["North", "South"]


def test_thin_survey_flags_multipliers_on_few_answers_and_shows_the_interval(planted):
    thin = flagged(planted, "thin_survey")
    assert "N2" in thin and "N5" not in thin  # 8 answers versus 128 answers
    n2 = planted.survey.filter(pl.col("rep_id") == "N2").to_dicts()[0]
    # 6 of 8 satisfied: p = 0.75, Wilson 95% [0.4093, 0.9285]
    assert (n2["csat_n"], n2["csat_value_num"]) == (8, 6)
    assert (n2["wilson_low"], n2["wilson_high"], n2["half_width"]) == (Decimal("0.4093"), Decimal("0.9285"), Decimal("0.2596"))
    assert n2["edges_spanned"] == "0.70"
    n5 = planted.survey.filter(pl.col("rep_id") == "N5").to_dicts()[0]
    assert n5["csat_n"] == 128 and n5["half_width"] < Decimal("0.10")
    flag = planted.flags.filter((pl.col("signal") == "thin_survey") & (pl.col("rep_id") == "N2")).to_dicts()[0]
    assert flag["value"] == "0.2596" and flag["threshold"] == "0.1000"
    assert "95% Wilson interval 40.93% to 92.85%" in flag["reason"]


def test_thin_survey_ignores_a_metric_below_min_responses():
    inp = inputs([rep("R1")], [sale("S1", "R1", "100.00", "2026-01-10")], feedback=[response("F1", "R1", "csat", 5, "2026-01-20")])
    p = plan(rates=rates((None, "0.1")), quality=quality(min_responses=5, csat=[("0.70", "0.80"), (None, "1.00")]))
    report = analyze(plans(p), inp, "2026-01")
    assert flagged(report, "thin_survey") == []
    assert report.survey.to_dicts()[0]["counted"] is False


def test_survey_pattern_flags_top_scores_from_few_customers(planted):
    # S3's answers are all in June: the pattern shows in the period and in the trailing window
    assert flagged(planted, "survey_pattern", "period") == flagged(planted, "survey_pattern", "trailing") == ["S3"]
    s3 = rep_row(planted, "S3")
    assert (s3["responses"], s3["top_responses"], s3["responding_customers"]) == (12, 12, 2)


def test_survey_pattern_rule():
    answers = [response(f"F{i}", "R1", "csat", 5, "2026-01-20", customer=f"c{i % 3}") for i in range(9)]
    answers.append(response("F9", "R1", "csat", 4, "2026-01-20", customer="c0"))
    inp = inputs([rep("R1")], [sale("S1", "R1", "100.00", "2026-01-10")], feedback=answers)
    report = analyze(plans(plan(rates=rates((None, "0.1")))), inp, "2026-01")
    assert flagged(report, "survey_pattern") == ["R1"]  # 10 answers, 9 top (90%), 3 customers
    flag = report.flags.to_dicts()[0]
    assert (flag["value"], flag["threshold"]) == ("0.9000", "0.9000")
    assert flag["reason"].startswith("9 of 10 survey answers in period 2026-01 (90.00%) are top scores (CSAT 5, NPS 9-10), from only 3 customers")


def test_clean_reps_are_not_flagged(planted):
    signals = {"mis_selling", "contact_gaming", "pay_vs_satisfaction", "survey_pattern"}
    hits = planted.flags.filter(pl.col("signal").is_in(signals))
    assert sorted(zip(hits["rep_id"], hits["signal"], hits["window"], strict=True)) == [
        ("N1", "mis_selling", "trailing"), ("N3", "pay_vs_satisfaction", "trailing"), ("S1", "contact_gaming", "trailing"),
        ("S3", "survey_pattern", "period"), ("S3", "survey_pattern", "trailing"),
    ]


def test_current_period_metrics_cover_only_that_period(planted):
    n1 = rep_row(planted, "N1", window="period")
    assert n1["sales"] == 3 and n1["early_cancellations"] == 0  # June sales: numbers 15-17
    assert planted.current.window.labels == ["2026-06"]
    assert planted.trailing.window.labels == MONTHS


def test_trailing_window_is_at_most_twelve_periods():
    inp = inputs([rep("R1")], [sale("S1", "R1", "100.00", "2026-01-10")])
    p = plan(rates=rates((None, "0.1")), effective_from=parse_period("2025-01").start)
    report = analyze(plans(p), inp, "2026-06")
    assert report.trailing.window.labels[0] == "2025-07" and len(report.trailing.window.labels) == 12


# ------------------------------------------------------------------ command line

def _floats(value) -> list:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


@pytest.fixture(scope="module")
def sample_json():
    result = invoke("alignment", "--plans", str(ROOT / "plans"), "--data", str(ROOT / "sample_data"), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sample_data_flags_the_planted_reps(sample_json):
    found = {(f["rep_id"], f["signal"]) for f in sample_json["flags"]}
    assert {("R0006", "mis_selling"), ("R0004", "contact_gaming"), ("R0025", "pay_vs_satisfaction")} <= found
    assert sample_json["period"] == "2026-10"
    for rep_id, signal in (("R0006", "mis_selling"), ("R0004", "contact_gaming"), ("R0025", "pay_vs_satisfaction")):
        # each planted rep shows only its own pattern among these three signals
        others = {s for r, s in found if r == rep_id} & {"mis_selling", "contact_gaming", "pay_vs_satisfaction"}
        assert others == {signal}


def test_json_shape(sample_json):
    doc = sample_json
    assert {"period", "flags", "reps", "teams", "plans"} <= set(doc)
    assert _floats(doc) == []
    assert doc["flags"], "the sample data has findings"
    for f in doc["flags"]:
        assert list(f) == ["rep_id", "team", "signal", "value", "threshold", "reason", "window"]
        assert f["signal"] in alignment.SIGNALS
        assert all(isinstance(f[k], str) for k in f)
    money = re.compile(r"^-?\d+\.\d{2}$")
    ratio = re.compile(r"^-?\d+\.\d{4}$")
    rep = next(r for r in doc["reps"] if r["rep_id"] == "R0025")
    assert {"rep_id", "name", "team", "plan", "period", "trailing"} <= set(rep)
    t = rep["trailing"]
    assert money.match(t["payout"]) and money.match(t["volume_pay"]) and ratio.match(t["outcome_share"])
    assert isinstance(t["sales"], int) and isinstance(t["pay_top"], bool)
    assert [r["rep_id"] for r in doc["reps"]] == sorted(r["rep_id"] for r in doc["reps"])
    team = doc["teams"][0]
    assert {"team", "period", "trailing"} <= set(team) and ratio.match(team["trailing"]["pay_csat_correlation"])
    assert [p["plan"] for p in doc["plans"]] == ["inbound-2026", "inbound-uk-2026", "outbound-2026", "sales-leadership-2026"]
    assert all(isinstance(p["trailing"]["volume_only"], bool) for p in doc["plans"])
    assert doc["trailing"] == {"from": "2025-11", "to": "2026-10", "periods": 12}


def test_table_output_exits_0_with_findings():
    result = invoke("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data", "--period", "2026-10", columns=200)
    assert result.exit_code == 0, result.output
    for title in ("Alignment 2026-10", "Findings", "Outcome share of pay by plan", "Teams", "Reps", "Survey health"):
        assert title in result.stdout
    assert "R0006" in result.stdout and "mis_selling" in result.stdout


def test_bad_input_exits_2(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id,name,team,plan,quota,start_date,end_date\nR1,A,T,nope,100,2026-01-01,\n")
    (tmp_path / "sales.csv").write_text("sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n")
    result = invoke("alignment", "--plans", str(ROOT / "plans"), "--data", str(tmp_path), "--period", "2026-10", "--format", "json")
    assert result.exit_code == 2
    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"]]
    assert codes


def test_bad_period_exits_2():
    result = invoke("alignment", "--plans", str(ROOT / "plans"), "--data", str(ROOT / "sample_data"), "--period", "2026-13")
    assert result.exit_code == 2


# ------------------------------------------------------------------ thin_survey needs a band edge inside the interval


def test_thin_survey_flags_only_intervals_that_hold_a_band_edge(sample_json):
    survey = {s["rep_id"]: s for s in sample_json["survey"]}
    thin = [f for f in sample_json["flags"] if f["signal"] == "thin_survey"]
    assert thin and all(survey[f["rep_id"]]["edges_spanned"] for f in thin)
    # R0025: 2 of 18 satisfied, interval 3.10% to 32.80%, wholly under the first edge (0.75): x0.75 either way
    assert survey["R0025"]["thin"] is True and survey["R0025"]["edges_spanned"] is None
    assert "R0025" not in {f["rep_id"] for f in thin}
    without_edge = sum(1 for s in survey.values() if s["thin"] and not s["edges_spanned"])
    assert sample_json["summary"]["thin_survey_without_edge"] == without_edge == 1
    assert len(thin) + without_edge == sum(1 for s in survey.values() if s["thin"])


def test_thin_survey_without_an_edge_is_counted_in_the_table(sample_table):
    assert "1 more rep has a wide CSAT interval holding no band edge" in " ".join(sample_table.split())


# ------------------------------------------------------------------ flags of the period and of the trailing window


def _windows_inputs():
    """12 reps, January to June 2026, rate 10%, every survey answer in June.

    Y sells 10000.00 a month: top pay in June (2nd of 12) and over the six months (1st).
    Z sells 10000.00 a month to May and 1000.00 in June: top over six months only (2nd).
    X sells 500.00 a month to May and 14000.00 in June: top in June (1st), 3rd over six months
    (16500.00 against Y 60000.00 and Z 51000.00). The top decile of 12 is the first ceil(1.2) = 2.
    X and Y answer CSAT 1 and NPS 0 six times each; the others CSAT 5 and NPS 10.
    """
    ids = ["X", "Y", "Z"] + [f"O{i}" for i in range(1, 10)]
    reps, sales, feedback = [rep(r, quota="100000", team="T") for r in ids], [], []
    for r in ids:
        for m, month in enumerate(MONTHS):
            june = m == 5
            amount = {"X": "14000.00" if june else "500.00", "Y": "10000.00", "Z": "1000.00" if june else "10000.00"}.get(r, "1000.00")
            sales.append(sale(f"{r}-S{m}", r, amount, f"{month}-05", customer=f"{r}-C{m}"))
        bad = r in ("X", "Y")
        for i in range(6):
            feedback.append(response(f"{r}-C{i}", r, "csat", 1 if bad else 5, f"2026-06-{10 + i}", customer=f"{r}-K{i}"))
            feedback.append(response(f"{r}-N{i}", r, "nps", 0 if bad else 10, f"2026-06-{10 + i}", customer=f"{r}-M{i}"))
    return inputs(reps, sales, feedback)


def test_flags_come_from_the_period_and_from_the_trailing_window():
    report = analyze(plans(plan(rates=rates((None, "0.1")))), _windows_inputs(), "2026-06")
    found = report.flags.filter(pl.col("signal") == "pay_vs_satisfaction")
    # X: top pay in June only; Y: in both windows (two flags, the period's first); Z: good scores
    assert list(zip(found["rep_id"], found["window"], strict=True)) == [("X", "period"), ("Y", "period"), ("Y", "trailing")]
    x = found.to_dicts()[0]
    assert "payout 1400.00 EUR in period 2026-06 ranks 1 of 12 reps" in x["reason"]
    y = found.to_dicts()[2]
    assert "payout 6000.00 EUR in the trailing 6 periods (2026-01 to 2026-06) ranks 1 of 12 reps" in y["reason"]


def test_a_one_period_run_flags_each_finding_once():
    answers = [response(f"F{i}", "R1", "csat", 5, "2026-01-20", customer=f"c{i % 3}") for i in range(10)]
    inp = inputs([rep("R1")], [sale("S1", "R1", "100.00", "2026-01-10")], feedback=answers)
    report = analyze(plans(plan(rates=rates((None, "0.1")))), inp, "2026-01")
    assert report.flags.select("rep_id", "signal", "window").rows() == [("R1", "survey_pattern", "period")]


def test_json_flags_name_their_window(sample_json):
    flags = sample_json["flags"]
    assert {f["window"] for f in flags} == {"period", "trailing"}
    assert all(f["window"] == "period" for f in flags if f["signal"] == "thin_survey")
    for f in flags:
        said = "in period 2026-10" if f["window"] == "period" else "in the trailing 12 periods (2025-11 to 2026-10)"
        assert said in f["reason"], f
    keys = [(alignment.SIGNALS.index(f["signal"]), f["rep_id"], f["window"] == "trailing") for f in flags]
    assert keys == sorted(keys)


# ------------------------------------------------------------------ outcome moved adds up


def test_outcome_moved_is_the_sum_of_the_net_columns(sample_json):
    def money(text):
        return Decimal(text)

    for kind in ("reps", "teams", "plans"):
        for row in sample_json[kind]:
            for window in ("period", "trailing"):
                m = row.get(window)
                if m is None:
                    continue
                parts = ("quality_effect", "relationship_pay", "clawbacks", "outcome_bonus", "holdback_forfeited")
                net = sum(abs(money(m[p])) for p in parts)
                assert money(m["outcome_moved"]) == net, (kind, row.get("rep_id") or row.get("team") or row.get("plan"))
    inbound = next(p for p in sample_json["plans"] if p["plan"] == "inbound-2026")["trailing"]
    # |-7957.11| + 108.87 + |-5895.41| + 3300.00 (outcome bonuses) = 17261.39;
    # share 17261.39 / (193655.54 + 0.00 activity + 17261.39) = 0.081840 -> 0.0818
    assert (inbound["quality_effect"], inbound["relationship_pay"], inbound["clawbacks"]) == ("-7957.11", "108.87", "-5895.41")
    assert (inbound["outcome_bonus"], inbound["volume_pay"], inbound["activity_bonus"]) == ("3300.00", "193655.54", "0.00")
    assert (inbound["outcome_moved"], inbound["outcome_share"]) == ("17261.39", "0.0818")
    # the head of sales is paid overrides only: neither volume pay nor an outcome, so no share at all
    leadership = next(p for p in sample_json["plans"] if p["plan"] == "sales-leadership-2026")["trailing"]
    assert (leadership["volume_pay"], leadership["outcome_moved"], leadership["outcome_share"]) == ("0.00", "0.00", None)


# ------------------------------------------------------------------ the terminal report


@pytest.fixture(scope="module")
def sample_table():
    result = invoke("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data", "--period", "2026-10", columns=80)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_terminal_report_fits_80_columns_and_wraps_reasons_at_words(sample_table, sample_json):
    lines = sample_table.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    flowing = " ".join(sample_table.split())
    for f in sample_json["flags"]:
        if f["signal"] != "thin_survey":
            assert " ".join(f["reason"].split()) in flowing, f["reason"]


def test_terminal_report_shows_units(sample_table):
    flowing = " ".join(sample_table.split())
    assert "payout 14462.14 EUR" in flowing
    assert "early-cancellation rate 39.34%, threshold 10.00%" in flowing
    # reps are paid in EUR and GBP: amounts carry no single unit; the plan table names each plan's currency
    assert "amounts in each rep's plan currency" in flowing and "volume pay (EUR)" not in flowing
    assert "currency EUR GBP EUR EUR" in flowing  # inbound-2026, inbound-uk-2026, outbound-2026, sales-leadership-2026
    assert "Pay vs CSAT" not in sample_table  # the charts are in --format html


# ------------------------------------------------------------------ the HTML page


class _Page(HTMLParser):
    """The parts of the page the tests read: elements, the charts' points, the flag table."""

    def __init__(self):
        super().__init__()
        self.tags, self.charts, self.rows = [], {}, []
        self._chart, self._table, self._row, self._cell = None, False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "svg":
            self._chart = a.get("id")
            self.charts[self._chart] = []
        elif tag == "circle" and self._chart and "data-rep" in a:
            self.charts[self._chart].append(a)
        elif tag == "table" and a.get("id") == "flags":
            self._table = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "svg":
            self._chart = None
        elif tag == "table":
            self._table = False
        elif tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def sample_page():
    result = invoke("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data", "--format", "html")
    assert result.exit_code == 0, result.output
    page = _Page()
    page.feed(result.stdout)
    return result.stdout, page


def test_html_is_one_self_contained_page(sample_page):
    html, page = sample_page
    tags = {t for t, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not any(k in ("src", "href") or k.startswith("on") for _, a in page.tags for k in a)
    assert "url(" not in html and "@import" not in html
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html


def test_html_scatters_have_one_point_per_ranked_rep_in_order(sample_page, sample_json):
    _, page = sample_page
    floor = int(sample_json["rules"]["min_survey_answers"])
    for chart, n, measure in (("pay-csat", "csat_n", "csat_share"), ("pay-nps", "nps_n", "nps")):
        ranked = {r["rep_id"]: r["trailing"] for r in sample_json["reps"] if r["trailing"][n] >= floor}
        points = page.charts[chart]
        assert sorted(p["data-rep"] for p in points) == sorted(ranked)
        for p in points:
            for q in points:
                a, b = ranked[p["data-rep"]], ranked[q["data-rep"]]
                if Decimal(a[measure]) < Decimal(b[measure]):
                    assert float(p["cx"]) <= float(q["cx"])  # coordinates have one decimal: close values may meet
                if Decimal(a["payout"]) > Decimal(b["payout"]):
                    assert float(p["cy"]) <= float(q["cy"])  # SVG y grows downwards: more pay is higher up
        flagged = {f["rep_id"] for f in sample_json["flags"]} & set(ranked)
        assert {p["data-rep"] for p in points if p.get("data-flagged") == "true"} == flagged
    texts = " ".join(html for html in [sample_page[0]])
    assert "CSAT: share of answers 4 or 5 (%)" in texts and "NPS (points)" in texts
    # reps paid in EUR and in GBP share the axis: it says so, and each point names its rep's currency
    assert "payout (each rep&#x27;s plan currency)" in texts
    tips = {p["data-rep"]: p for p in page.charts["pay-csat"]}
    assert "R0036" in tips and "R0025" in tips
    assert re.search(r'data-rep="R0036"[^>]*><title>R0036 [^<]*Inbound UK \(GBP\): payout \d+\.\d{2} GBP,', texts)
    assert re.search(r'data-rep="R0025"[^>]*><title>R0025 [^<]*Inbound East \(EUR\): payout 14462\.14 EUR,', texts)


def test_html_outcome_bars_mark_the_volume_only_threshold(sample_page, sample_json):
    html, page = sample_page
    bars = [a for t, a in page.tags if t == "rect" and "data-plan" in a]
    assert sorted({b["data-plan"] for b in bars}) == [p["plan"] for p in sample_json["plans"]]
    assert any(t == "line" and a.get("class") == "threshold" for t, a in page.tags)
    assert "volume-only below 5%" in html


def test_html_flag_table_holds_the_json_flags(sample_page, sample_json):
    _, page = sample_page
    rows = [(r[0], r[2], r[3], r[-1]) for r in page.rows]
    assert rows == [(f["rep_id"], f["signal"], f["window"], f["reason"]) for f in sample_json["flags"]]


def test_html_out_writes_the_file(tmp_path):
    target = tmp_path / "alignment.html"
    args = ("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data", "--format", "html", "--out", target)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert result.stdout.strip() == f"wrote {target}"


def test_html_out_refuses_an_unwritable_place_and_other_formats(tmp_path):
    base = ("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data")
    result = invoke(*base, "--format", "html", "--out", tmp_path / "missing" / "a.html")
    assert result.exit_code == 2
    assert "unwritable-output" in result.output and not (tmp_path / "missing").exists()
    result = invoke(*base, "--format", "json", "--out", tmp_path / "a.html")
    assert result.exit_code == 2 and "out-needs-html" in result.output
    assert not (tmp_path / "a.html").exists()


# ------------------------------------------------------------------ activity quota


def _activity_case(min_customer_value=None):
    # rich bought 1000.00 from R1 on 01-05 (R1: volume pay 1000 x 0.1 = 100.00); nobody else ever bought.
    # Quota: 2 connected voice contacts pay 50.00. R1 calls rich once and two customers worth nothing;
    # R2 calls rich twice and one customer worth nothing: both reach 3 >= 2 and are paid 50.00.
    quota = activity(2, "50.00", min_customer_value=min_customer_value)
    contacts = [
        contact("K1", "R1", "rich", "2026-01-10"), contact("K2", "R1", "n1", "2026-01-11"), contact("K3", "R1", "n2", "2026-01-12"),
        contact("K4", "R2", "rich", "2026-01-10"), contact("K5", "R2", "rich", "2026-01-11"), contact("K6", "R2", "n3", "2026-01-12"),
    ]  # fmt: skip
    inp = inputs([rep("R1"), rep("R2")], [sale("S1", "R1", "1000.00", "2026-01-05", customer="rich")], contacts=contacts)
    return analyze(plans(plan(rates=rates((None, "0.1")), activity=quota)), inp, "2026-01")


def test_an_activity_bonus_earned_mostly_on_customers_worth_nothing_is_contact_gaming():
    report = _activity_case()
    # R1: 2 of 3 counted contacts with customers worth nothing: 2 > 0.5 x 3 = 1.5 -> flagged;
    # R2: 1 of 3: 1 <= 1.5 -> not flagged
    assert flagged(report, "contact_gaming") == ["R1"]
    r1, r2 = rep_row(report, "R1"), rep_row(report, "R2")
    assert (r1["activity_bonus"], r1["activity_counted"], r1["activity_no_value"]) == (Decimal("50.00"), 3, 2)
    assert (r2["activity_bonus"], r2["activity_counted"], r2["activity_no_value"]) == (Decimal("50.00"), 3, 1)
    flag = report.flags.filter(pl.col("signal") == "contact_gaming").to_dicts()[0]
    assert (flag["value"], flag["threshold"]) == ("0.6667", "0.5000")
    assert flag["reason"].startswith(
        "activity bonus 50.00 EUR in period 2026-01 (1 period(s)) earned on 3 counted contacts, 2 of them (66.67%) "
        "with customers who kept no purchase in the 365 days before the contact."
    )
    # activity pay is not an outcome: volume 100.00 + activity 100.00, nothing moved by outcomes
    p = report.trailing.plans.to_dicts()[0]
    assert (p["volume_pay"], p["activity_bonus"], p["outcome_share"], p["volume_only"]) == (
        Decimal("100.00"), Decimal("100.00"), Decimal("0.0000"), True,
    )  # fmt: skip
    assert p["finding"] == "volume-only: customer-outcome terms moved 0.00% of pay (0.00 of 200.00), below the 5.00% threshold"


def test_the_value_weighted_fix_leaves_no_box_ticking_to_flag():
    # min_customer_value 500: R1 counts only rich (1 < 2: no bonus), R2 counts rich twice (2: 50.00, none worth nothing)
    report = _activity_case("500")
    assert flagged(report, "contact_gaming") == []
    r1, r2 = rep_row(report, "R1"), rep_row(report, "R2")
    assert (r1["activity_bonus"], r1["activity_counted"]) == (Decimal("0.00"), 0)
    assert (r2["activity_bonus"], r2["activity_counted"], r2["activity_no_value"]) == (Decimal("50.00"), 2, 0)
