"""`comp-calc alignment`: each signal on a small dataset with planted patterns, the outcome
share worked out by hand, the shipped sample data, and the JSON shape."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import polars as pl
import pytest

from comp_calc import alignment
from comp_calc.pipeline.stages import Prepared, run
from comp_calc.periods import parse_period
from conftest import ROOT, invoke
from factories import clawback, contact, inputs, outbound, plan, plans, quality, rates, rep, response, sale

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def analyze(ps, inp, period):
    prep = Prepared(ps, inp, parse_period(period), False)
    return alignment.analyze(prep, run(prep))


def flagged(report, signal):
    return sorted(report.flags.filter(pl.col("signal") == signal)["rep_id"].to_list())


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
    assert flag["reason"].startswith("8 of 18 sales (44.44%) sold 2026-01 to 2026-06 were cancelled within 90 days of the sale; "
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
    assert flagged(planted, "survey_pattern") == ["S3"]
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
    assert flag["reason"].startswith("9 of 10 survey answers 2026-01 (90.00%) are top scores (CSAT 5, NPS 9-10), from only 3 customers")


def test_clean_reps_are_not_flagged(planted):
    signals = {"mis_selling", "contact_gaming", "pay_vs_satisfaction", "survey_pattern"}
    hits = planted.flags.filter(pl.col("signal").is_in(signals))
    assert sorted(zip(hits["rep_id"], hits["signal"], strict=True)) == [
        ("N1", "mis_selling"), ("N3", "pay_vs_satisfaction"), ("S1", "contact_gaming"), ("S3", "survey_pattern"),
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
        assert list(f) == ["rep_id", "team", "signal", "value", "threshold", "reason"]
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
    assert [p["plan"] for p in doc["plans"]] == ["inbound-2026", "outbound-2026"]
    assert all(isinstance(p["trailing"]["volume_only"], bool) for p in doc["plans"])
    assert doc["trailing"] == {"from": "2025-11", "to": "2026-10", "periods": 12}


def test_table_output_exits_0_with_findings():
    result = invoke("alignment", "--plans", ROOT / "plans", "--data", ROOT / "sample_data", "--period", "2026-10", columns=200)
    assert result.exit_code == 0, result.output
    for title in ("Alignment 2026-10", "Findings", "Outcome share of pay by plan", "Teams", "Pay vs CSAT", "Reps", "Survey health"):
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
