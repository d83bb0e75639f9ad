"""Retroactive tiers (`tier_mode`) and CES as a quality metric (SPEC 6.2, 6.3), worked by hand.

Every engine case below uses one rate, 0.1, and the tiers
    up_to 0.5 x0.5, up_to 1.0 x1.0, open x1.5
with quota 1000 over the 31 days of March 2026 unless said otherwise.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from comp_calc.engine import compute
from comp_calc.outputs.lines import period_lines
from comp_calc.outputs.numbers import tier_pieces_text
from comp_calc.periods import parse_period
from comp_calc.plan.load import parse_plan
from conftest import invoke, read_csv, write_case
from factories import D, inputs, plan, plans, quality, rates, rep, response, sale, tiers

FIXTURE = Path(__file__).parent / "fixtures" / "retroactive_ces"
TIERS = tiers(("0.5", "0.5"), ("1.0", "1.0"), (None, "1.5"))


def retro(**kw):
    return plan(rates=rates((None, "0.1")), attainment_tiers=kw.pop("attainment_tiers", TIERS), tier_mode="retroactive", **kw)


def commissions(ps, sales, reps=(rep("R1", quota="1000"),), feedback=(), period="2026-03"):
    result = compute(ps, inputs(list(reps), sales, feedback), parse_period(period))
    lines = period_lines(result).filter(pl.col("kind") == "commission")
    return result, lines


def amounts(lines) -> list:
    return lines["amount"].to_list()


# ---------------------------------------------------------------- retroactive tiers


def test_attainment_exactly_on_an_edge_prices_every_line_in_the_next_band():
    # 600 + 400 = 1000 = 1.0 of quota 1000: band [1.0, open) x1.5 for both lines:
    # 600 * 0.1 * 1.5 = 90.00 and 400 * 0.1 * 1.5 = 60.00.
    # (marginal would give 500*0.1*0.5 + 100*0.1*1.0 = 35.00 and 400*0.1*1.0 = 40.00)
    ps = plans(retro())
    sales = [sale("S1", "R1", "600.00", "2026-03-02"), sale("S2", "R1", "400.00", "2026-03-20")]
    result, lines = commissions(ps, sales)
    assert amounts(lines) == [D("90.00"), D("60.00")]
    # one tier piece per line: the final band's multiplier @ the line's credited
    assert lines.select(tier_pieces_text(lines)).to_series().to_list() == ["1.50@600.00", "1.50@400.00"]
    assert result.grid.filter((pl.col("rep_id") == "R1") & (pl.col("period") == "2026-03"))["earned"].to_list() == [D("150.00")]


def test_attainment_below_an_edge_keeps_the_lower_band():
    # 499.99 / 1000 = 0.49999 < 0.5: band 0 x0.5: 499.99 * 0.1 * 0.5 = 24.9995 -> 25.00 (half_up)
    _, lines = commissions(plans(retro()), [sale("S1", "R1", "499.99", "2026-03-02")])
    assert amounts(lines) == [D("25.00")]
    # 999.99 / 1000 < 1.0: band 1 x1.0 for both lines: 500 * 0.1 = 50.00, 499.99 * 0.1 = 49.999 -> 50.00
    _, lines = commissions(plans(retro()), [sale("S1", "R1", "500.00", "2026-03-02"), sale("S2", "R1", "499.99", "2026-03-03")])
    assert amounts(lines) == [D("50.00"), D("50.00")]


def test_attainment_above_the_last_edge():
    # 1200 / 1000 = 1.2 >= 1.0: x1.5: 1200 * 0.1 * 1.5 = 180.00 (marginal: 25 + 50 + 30 = 105.00)
    _, lines = commissions(plans(retro()), [sale("S1", "R1", "1200.00", "2026-03-02")])
    assert amounts(lines) == [D("180.00")]


def test_a_first_band_with_multiplier_zero_is_a_gate():
    gate = tiers(("0.5", "0"), (None, "1"))
    # 400 / 1000 = 0.4 < 0.5: x0 -> 0.00
    _, lines = commissions(plans(retro(attainment_tiers=gate)), [sale("S1", "R1", "400.00", "2026-03-02")])
    assert amounts(lines) == [D("0.00")]
    assert lines.select(tier_pieces_text(lines)).item() == "0.00@400.00"
    # 400 + 200 = 600 >= 500: the gate opens for the whole period: 40.00 and 20.00
    sales = [sale("S1", "R1", "400.00", "2026-03-02"), sale("S2", "R1", "200.00", "2026-03-30")]
    _, lines = commissions(plans(retro(attainment_tiers=gate)), sales)
    assert amounts(lines) == [D("40.00"), D("20.00")]


def test_retroactive_with_a_prorated_quota_compares_exactly():
    # R1 starts 2026-03-17: active 15 of 31 days; prorated quota 1000 * 15 / 31 = 483.870967...
    # 483.87: 483.87 * 31 = 14999.97 < 1.0 * 1000 * 15 = 15000 -> x1.0: 48.387 -> 48.39
    # 483.88: 483.88 * 31 = 15000.28 >= 15000 -> x1.5: 483.88 * 0.15 = 72.582 -> 72.58
    reps = [rep("R1", quota="1000", start="2026-03-17")]
    _, lines = commissions(plans(retro()), [sale("S1", "R1", "483.87", "2026-03-20")], reps=reps)
    assert amounts(lines) == [D("48.39")]
    _, lines = commissions(plans(retro()), [sale("S1", "R1", "483.88", "2026-03-20")], reps=reps)
    assert amounts(lines) == [D("72.58")]


def test_each_period_uses_its_own_final_attainment():
    # February (28 days): 300 -> 0.3 -> x0.5: 15.00; March: 1100 -> x1.5: 165.00
    sales = [sale("S1", "R1", "300.00", "2026-02-10"), sale("S2", "R1", "1100.00", "2026-03-10")]
    result, _ = commissions(plans(retro()), sales)
    earned = result.grid.filter(pl.col("rep_id") == "R1").sort("p_start")["earned"].to_list()
    assert earned == [D("0.00"), D("15.00"), D("165.00")]


def test_marginal_is_the_default_and_can_be_written():
    # tier_mode: marginal gives what no tier_mode gives: 500*0.05 + 100*0.1 = 35.00, 400 * 0.1 = 40.00
    sales = [sale("S1", "R1", "600.00", "2026-03-02"), sale("S2", "R1", "400.00", "2026-03-20")]
    _, written = commissions(plans(plan(rates=rates((None, "0.1")), attainment_tiers=TIERS, tier_mode="marginal")), sales)
    _, default = commissions(plans(plan(rates=rates((None, "0.1")), attainment_tiers=TIERS)), sales)
    assert amounts(written) == amounts(default) == [D("35.00"), D("40.00")]


# ---------------------------------------------------------------- CES


def ces_plan(min_responses=1, combine="multiply", **metrics):
    metrics = metrics or {"ces": [("5", "0.95"), (None, "1.00")]}
    return plan(rates=rates((None, "0.1")), quality=quality(window_days=31, min_responses=min_responses, combine=combine, **metrics))


def ces(rep_id, *scores):
    return [response(f"F{i}", rep_id, "ces", s, "2026-03-15") for i, s in enumerate(scores)]


def test_ces_mean_exactly_on_an_edge_falls_in_the_next_band():
    # 4 + 5 + 6 + 5 = 20 over 4 = 5.00, not < 5: x1.00; line 1000 * 0.1 = 100.00
    result, lines = commissions(plans(ces_plan()), [sale("S1", "R1", "1000.00", "2026-03-02")], feedback=ces("R1", 4, 5, 6, 5))
    row = result.grid.filter((pl.col("rep_id") == "R1") & (pl.col("period") == "2026-03")).row(0, named=True)
    assert (row["ces_n"], row["ces_value_num"], row["quality_multiplier"]) == (4, 20, D("1.00"))
    assert amounts(lines) == [D("100.00")]
    # 4 + 5 + 6 + 4 = 19 over 4 = 4.75 < 5: x0.95: 100 * 0.95 = 95.00
    _, lines = commissions(plans(ces_plan()), [sale("S1", "R1", "1000.00", "2026-03-02")], feedback=ces("R1", 4, 5, 6, 4))
    assert amounts(lines) == [D("95.00")]


def test_ces_with_too_few_responses_counts_as_one():
    # min_responses 3, two responses (mean 1.5 < 5 would give x0.95): counts as x1 -> 100.00
    _, lines = commissions(plans(ces_plan(min_responses=3)), [sale("S1", "R1", "1000.00", "2026-03-02")], feedback=ces("R1", 1, 2))
    assert amounts(lines) == [D("100.00")]


def test_ces_combines_with_csat_like_the_others():
    # csat: 1 of 1 >= 4 -> 1.0, not < 0.8: x1.1; ces 3 < 5: x0.95; multiply: 1.1 * 0.95 = 1.045 -> 104.50;
    # min: 0.95 -> 95.00
    feedback = ces("R1", 3) + [response("G1", "R1", "csat", 5, "2026-03-15")]
    both = {"csat": [("0.8", "0.9"), (None, "1.1")], "ces": [("5", "0.95"), (None, "1")]}
    _, lines = commissions(plans(ces_plan(**both)), [sale("S1", "R1", "1000.00", "2026-03-02")], feedback=feedback)
    assert amounts(lines) == [D("104.50")]
    _, lines = commissions(plans(ces_plan(combine="min", **both)), [sale("S1", "R1", "1000.00", "2026-03-02")], feedback=feedback)
    assert amounts(lines) == [D("95.00")]


# ---------------------------------------------------------------- plans and data that are refused

BASE = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
"""
TIERS_YAML = """\
attainment_tiers:
  - up_to: 1.0
    multiplier: 1
  - multiplier: 1.5
"""


def problems(text):
    parsed, diagnostics = parse_plan(text, "p.yaml")
    assert parsed is None
    return [(d.file, d.line, d.column, d.code) for d in diagnostics]


@pytest.mark.parametrize("mode", ["marginal", "retroactive"])
def test_tier_mode_without_tiers_is_a_plan_error(mode):
    assert problems(BASE + f"tier_mode: {mode}\n") == [("p.yaml", 9, "tier_mode", "needs-tiers")]


def test_tier_mode_without_tiers_is_refused_by_the_cli(tmp_path):
    plans_dir, data = write_case(tmp_path, {"p.yaml": BASE + "tier_mode: retroactive\n"}, reps=REPS, sales=SALES)
    r = invoke("validate", "--plans", plans_dir, "--data", data)
    assert r.exit_code == 2
    assert "p.yaml:9: needs-tiers tier_mode: tier_mode says how attainment_tiers apply" in r.output, r.output


def test_an_unknown_tier_mode_is_a_plan_error():
    assert problems(BASE + TIERS_YAML + "tier_mode: cumulative\n") == [("p.yaml", 13, "tier_mode", "bad-keyword")]


def test_tier_mode_loads():
    parsed, diagnostics = parse_plan(BASE + TIERS_YAML + "tier_mode: retroactive\n", "p.yaml")
    assert diagnostics == [] and parsed.tier_mode == "retroactive"
    parsed, _ = parse_plan(BASE + TIERS_YAML, "p.yaml")
    assert parsed.tier_mode == "marginal"


def test_a_ces_band_edge_outside_1_to_7_is_a_plan_error():
    text = BASE + "quality:\n  window_days: 30\n  metrics:\n    - metric: ces\n      bands:\n        - below: 8\n          multiplier: 0.9\n        - multiplier: 1\n"
    assert problems(text) == [("p.yaml", 14, "quality.metrics[0].bands[0].below", "out-of-range")]
    ok = text.replace("below: 8", "below: 7")
    assert parse_plan(ok, "p.yaml")[1] == []


REPS = "rep_id,name,team,plan,quota,start_date,end_date\nR1,Ann,t,p,1000,2026-01-01,\n"
SALES = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS1,R1,C1,x,1000.00,2026-03-02,\n"
FEEDBACK = "response_id,rep_id,customer_id,responded_on,survey,score\nF1,R1,C1,2026-03-05,ces,7\nF2,R1,C1,2026-03-05,ces,8\n"


def test_a_ces_score_of_8_is_a_row_error(tmp_path):
    plans_dir, data = write_case(tmp_path, {"p.yaml": BASE}, reps=REPS, sales=SALES, feedback=FEEDBACK)
    r = invoke("validate", "--plans", plans_dir, "--data", data)
    assert r.exit_code == 2
    assert "feedback.csv:3: out-of-range score: ces score '8' is outside 1..7" in r.output, r.output
    assert "feedback.csv:2" not in r.output  # 7 is in range


# ---------------------------------------------------------------- the fixture: both features end to end


def test_fixture_run_statement_and_explain(tmp_path):
    # fixture: tiers up_to 0.5 x0 (a gate), up_to 1.0 x1, open x1.5, retroactive; rate 0.1;
    # quality ces below 5 x0.9, else x1.00 (min_responses 2).
    # A1 quota 1000: 600 + 400 = 1000, exactly the 1.0 edge -> x1.5; ces 5, 5, 5, 6 = 21/4 = 5.25 -> x1.00:
    #   600 * 0.1 * 1.5 = 90.00, 400 * 0.1 * 1.5 = 60.00
    # B2 quota 1000: 450 < 500, behind the gate -> x0: 0.00; ces 4, 5 = 4.5 < 5 -> x0.9
    out = tmp_path / "out"
    r = invoke("run", "--plans", FIXTURE / "plans", "--data", FIXTURE / "data", "--out", out, "--period", "2026-03",
               "--statements")  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = [row for row in read_csv(out / "2026-03" / "lines.csv") if row["kind"] == "commission"]
    assert [(x["rep_id"], x["tiers"], x["amount"]) for x in lines] == [
        ("A1", "1.50@600.00", "90.00"), ("A1", "1.50@400.00", "60.00"), ("B2", "0.00@450.00", "0.00"),
    ]
    r = invoke("explain", "--plans", FIXTURE / "plans", "--data", FIXTURE / "data", "--rep", "A1", "--period", "2026-03")
    assert r.exit_code == 0, r.output
    assert "CES 5.25 (4 responses): x1.00" in r.output
    r = invoke("explain", "--plans", FIXTURE / "plans", "--data", FIXTURE / "data", "--rep", "B2", "--period", "2026-03")
    assert "CES 4.50 (2 responses): x0.9" in r.output


def test_fixture_diff_says_the_rule_changes_in_words(tmp_path):
    # v1 (in the plans folder) marginal with a ces edge at 4.5; v2 is the fixture's plan
    text = (FIXTURE / "plans" / "retro-ces.yaml").read_text()
    (tmp_path / "plans").mkdir()
    old = tmp_path / "plans" / "retro-ces.yaml"
    old.write_text(text.replace("tier_mode: retroactive", "tier_mode: marginal").replace("below: 5", "below: 4.5"))
    new = tmp_path / "retro-ces-v2.yaml"
    new.write_text(text.replace("version: 1", "version: 2"))
    r = invoke("diff", old, new, "--plans", tmp_path / "plans", "--data", FIXTURE / "data", "--period", "2026-03")
    assert r.exit_code == 0, r.output
    assert "tier mode: marginal -> retroactive" in r.output
    assert "ces band 1 edge (below): 4.5 -> 5" in r.output
