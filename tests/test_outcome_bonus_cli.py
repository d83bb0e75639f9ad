"""The outcome bonus through the command line: payouts.csv, lines.csv, explain (SPEC 6.2-6.4)."""

from __future__ import annotations

import json
from pathlib import Path

import conftest
from conftest import invoke, read_csv

PLAN = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
outcome_bonus:
  metric: csat
  window_days: 31
  min_responses: 2
  bands:
    - below: 0.5
      amount: 0
    - below: 0.8
      amount: 100.00
    - amount: 300.00
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
A1,Ann Lee,North,p,1000,2026-01-01,
B2,Bob Ray,South,p,1000,2026-01-01,
"""

SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,A1,c1,card,800,2026-01-05,
"""

# A1: 2 of 4 csat responses score 4-5: csat 0.5, not < 0.5 -> 100.00; B2: one response, fewer than 2: nothing
FEEDBACK = """\
response_id,rep_id,customer_id,responded_on,survey,score
F1,A1,c1,2026-01-20,csat,5
F2,A1,c2,2026-01-21,csat,3
F3,A1,c3,2026-01-22,csat,4
F4,A1,c4,2026-01-23,csat,2
F5,B2,c5,2026-01-23,csat,5
"""


def _case(tmp_path: Path) -> tuple[Path, Path]:
    return conftest.write_case(tmp_path, {"p.yaml": PLAN}, reps=REPS, sales=SALES, feedback=FEEDBACK)


def test_run_writes_the_bonus_in_payouts_and_lines(tmp_path):
    plans, data = _case(tmp_path)
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", tmp_path / "out", "--allow-incomplete")
    assert r.exit_code == 0, r.output
    folder = tmp_path / "out" / "2026-01"
    header = (folder / "payouts.csv").read_text().splitlines()[0]
    assert header.endswith(
        ",payout,carry_out,currency,spifs,outcome_bonus,activity_bonus,overrides,holdback,released,draw,draw_balance,restatement,restatement_open"
    )
    # A1: earned 800 x 0.1 = 80.00, bonus 100.00: payout 180.00; B2: nothing
    a1, b2 = read_csv(folder / "payouts.csv")
    assert (a1["earned"], a1["outcome_bonus"], a1["payout"], a1["currency"]) == ("80.00", "100.00", "180.00", "EUR")
    assert (b2["outcome_bonus"], b2["payout"], b2["spifs"], b2["draw_balance"]) == ("0.00", "0.00", "0.00", "0.00")
    lines = read_csv(folder / "lines.csv")
    assert [(x["rep_id"], x["kind"], x["amount"], x["currency"], x["reference"]) for x in lines] == [
        ("A1", "commission", "80.00", "EUR", ""), ("A1", "outcome_bonus", "100.00", "EUR", ""),
    ]  # fmt: skip
    assert lines[1]["explanation"] == "csat 0.50 from 4 responses, band 0.50 to below 0.80: 100.00"


def test_explain_lists_the_bonus(tmp_path):
    plans, data = _case(tmp_path)
    args = ("explain", "--plans", plans, "--data", data, "--rep", "A1", "--period", "2026-01", "--allow-incomplete")
    r = invoke(*args, columns=200)
    assert r.exit_code == 0, r.output
    assert "Outcome bonus" in r.output and "csat 0.50 from 4 responses, band 0.50 to below 0.80: 100.00" in r.output
    j = json.loads(invoke(*args, "--format", "json").output)
    assert (j["outcome_bonus"], j["payout"]) == ("100.00", "180.00")
    csv_rows = invoke(*args, "--format", "csv").output.splitlines()
    assert csv_rows[2].startswith("A1,2026-01,outcome_bonus,")
