"""`comp-calc explain`: a rep's statement on a tiny hand-computed case, and its clear refusals.

The case (written by `write_case`), plan p (monthly from 2026-01, half_up):
  rates: card 0.03, anything else 0.01; tiers x0.5 up to 50% of quota, then x1.0;
  quality: csat only, 31-day window, at least 2 responses, x0.9 below 0.8 else x1.0;
  clawback: 100% within 30 days, 50% within 90; cap 100.

Reps: A1 quota 2000 (all year); B2 quota 1000, left 2026-01-31; D4 quota 3100, joined 2026-01-17.

January, A1 (quota 2000, tier edge 0.5 * 2000 = 1000):
  S1 card 800 on 01-05: all below the edge: 800 * 0.03 * 0.5 = 12.00
  S2 loan 1000 on 01-10: running 800 -> 1800: 200 x0.5 + 800 x1.0 at 0.01 = 1.00 + 8.00 = 9.00
  CSAT: 2 responses in [01-01, 01-31], scores 5 and 3: 1/2 = 0.5 < 0.8 -> x0.9
  lines: 12.00 * 0.9 = 10.80; 9.00 * 0.9 = 8.10; earned 18.90 (cap 100 not reached); payout 18.90
February, A1:
  S3 card 4000 on 02-03: 1000 x0.5 + 3000 x1.0 at 0.03 = 15.00 + 90.00 = 105.00;
  CSAT window [01-29, 02-28] has no response: fewer than 2, x1 -> 105.00
  cap 100: cap line -5.00
  S2 cancelled 02-20, 41 days after 01-10: 90-day rule, recover 0.5 of 8.10 = -4.05
  payout 105.00 - 5.00 - 4.05 = 95.95
January, B2 (quota 1000, edge 500): S4 loan 500: 500 x0.5 at 0.01 = 2.50
January, D4: active 01-17..01-31 = 15 of 31 days: quota 3100 * 15 / 31 = 1500.00, edge 750;
  S5 loan 1000 on 01-20: 750 x0.5 + 250 x1.0 at 0.01 = 3.75 + 2.50 = 6.25; attainment 1000/1500 = 0.666667
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from comp_calc.pipeline import stages as lib
from comp_calc.outputs.results import payouts_frame
import conftest
from conftest import text


PLAN = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - product: card
    rate: 0.03
  - rate: 0.01
attainment_tiers:
  - up_to: 0.5
    multiplier: 0.5
  - multiplier: 1.0
quality:
  window_days: 31
  min_responses: 2
  metrics:
    - metric: csat
      bands:
        - below: 0.8
          multiplier: 0.9
        - multiplier: 1.0
clawback:
  - within_days: 30
    recover: 1.0
  - within_days: 90
    recover: 0.5
cap: 100
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
A1,Ann Lee,North,p,2000,2026-01-01,
B2,Bob Ray,South,p,1000,2026-01-01,2026-01-31
D4,Dee Fox,North,p,3100,2026-01-17,
"""

SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,A1,c1,card,800,2026-01-05,
S2,A1,c2,loan,1000,2026-01-10,2026-02-20
S4,B2,c4,loan,500,2026-01-15,
S5,D4,c5,loan,1000,2026-01-20,
S3,A1,c3,card,4000,2026-02-03,
"""

FEEDBACK = """\
response_id,rep_id,customer_id,responded_on,survey,score
F1,A1,c1,2026-01-20,csat,5
F2,A1,c2,2026-01-21,csat,3
"""


def write_case(root: Path, plan: str = PLAN, reps: str = REPS, sales: str = SALES) -> tuple[Path, Path]:
    return conftest.write_case(root, {"p.yaml": plan}, reps=reps, sales=sales, feedback=FEEDBACK)


invoke = partial(conftest.invoke, columns=100)  # the expected statements below are laid out for 100 columns


def explain(tmp_path: Path, *args: str):
    plans, data = write_case(tmp_path)
    return invoke("explain", "--plans", str(plans), "--data", str(data), "--allow-incomplete", *args)


JANUARY_A1 = """\
Statement 2026-01 for A1 Ann Lee (North)
Period 2026-01: 2026-01-01 to 2026-01-31
Plan p version 1 (in force from 2026-01-01); amounts in EUR
Employed from 2026-01-01 with no end date: active 31 of 31 days of the period
Quota 2000.00
Credited 1800.00, attainment 0.900000 (90.00% of quota)
Quality multiplier x0.90 = CSAT x0.90
  CSAT 50.00% (1 of 2 scored 4-5): x0.90
  responses dated 2026-01-01 to 2026-01-31 (31 days); a survey needs at least 2 to count

Commission lines
sale  sold on     product  role    credited  rate  tier pieces                  quality  amount
───────────────────────────────────────────────────────────────────────────────────────────────
S1    2026-01-05  card     seller    800.00  0.03  800.00 x0.50                    0.90   10.80
S2    2026-01-10  loan     seller   1000.00  0.01  200.00 x0.50 + 800.00 x1.00     0.90    8.10

Earned     18.90  2 commission line(s)
Cap         0.00  cap 100.00 not reached
Clawbacks   0.00  none
Carry in    0.00  nothing carried in
Payout     18.90  negative balance: carry_forward
Carry out   0.00  nothing carried to the next period
"""

FEBRUARY_A1 = """\
Statement 2026-02 for A1 Ann Lee (North)
Period 2026-02: 2026-02-01 to 2026-02-28
Plan p version 1 (in force from 2026-01-01); amounts in EUR
Employed from 2026-01-01 with no end date: active 28 of 28 days of the period
Quota 2000.00
Credited 4000.00, attainment 2.000000 (200.00% of quota)
Quality multiplier x1.00 = CSAT x1.00
  CSAT no responses: fewer than 2 responses, counts as x1.00
  responses dated 2026-01-29 to 2026-02-28 (31 days); a survey needs at least 2 to count

Commission lines
sale  sold on     product  role    credited  rate  tier pieces                    quality  amount
─────────────────────────────────────────────────────────────────────────────────────────────────
S3    2026-02-03  card     seller   4000.00  0.03  1000.00 x0.50 + 3000.00 x1.00     1.00  105.00

Clawbacks
sale  product  role    sold on     cancelled   days  window hit      recover  of paid  paid in
──────────────────────────────────────────────────────────────────────────────────────────────
S2    loan     seller  2026-01-10  2026-02-20    41  within 90 days      0.5     8.10  2026-01

sale  amount
────────────
S2     -4.05

Earned     105.00  1 commission line(s)
Cap         -5.00  earned 105.00 is above the cap 100.00
Clawbacks   -4.05  1 cancelled sale line(s)
Carry in     0.00  nothing carried in
Payout      95.95  negative balance: carry_forward
Carry out    0.00  nothing carried to the next period
"""


def test_explain_january_statement_exact_text(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-01")
    assert result.exit_code == 0, result.output
    assert text(result.output) == JANUARY_A1


def test_explain_cap_and_clawback_exact_text(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-02")
    assert result.exit_code == 0, result.output
    assert text(result.output) == FEBRUARY_A1


def test_explain_prorated_quota_for_a_joiner(tmp_path):
    result = explain(tmp_path, "--rep", "D4", "--period", "2026-01")
    assert result.exit_code == 0, result.output
    lines = text(result.output).splitlines()
    assert "Employed from 2026-01-17 with no end date: active 15 of 31 days of the period" in lines
    assert "Quota 1500.00 (prorated: 3100.00 x 15/31 days)" in lines
    assert "Credited 1000.00, attainment 0.666667 (66.67% of quota)" in lines
    assert any(line.split()[:1] == ["S5"] and "750.00 x0.50 + 250.00 x1.00" in line and line.endswith("6.25") for line in lines)


def test_explain_period_defaults_like_run(tmp_path):
    # the data's last sale is 2026-02-03, so the latest complete month is January
    result = explain(tmp_path, "--rep", "A1")
    assert result.exit_code == 0, result.output
    assert text(result.output) == JANUARY_A1 + "Period 2026-01 is the latest complete period in the data (use --period to choose).\n"


def test_explain_numbers_equal_the_run(tmp_path):
    plans, data = write_case(tmp_path)
    prep = lib.prepare(plans, data, "2026-02", False, allow_incomplete=True)
    row = payouts_frame(lib.run(prep)).filter(rep_id="A1").row(0, named=True)
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-02", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    for key in ("earned", "clawbacks", "carry_in", "payout", "carry_out", "cap_adjustment"):
        assert got[key] == f"{row[key]:.2f}", key
    assert got["quota"] == "2000.00" and got["credited"] == "4000.00" and got["attainment"] == "2.000000"
    assert got["quality"]["metrics"] == [
        {"metric": "csat", "responses": 0, "value_num": 0, "value": "no responses", "counted": False, "multiplier": "1.00"}
    ]
    assert [(line["sale_id"], line["tiers"], line["amount"]) for line in got["lines"]] == [
        ("S3", "1000.00 x0.50 + 3000.00 x1.00", "105.00")
    ]
    assert [(c["sale_id"], c["days"], c["rule"], c["recover"], c["original_amount"], c["amount"]) for c in got["clawback_lines"]] == [
        ("S2", "41", "within 90 days", "0.5", "8.10", "-4.05")
    ]


def test_explain_csv_is_the_reps_lines_csv_rows(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-02", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert rows[0] == "rep_id,period,kind,sale_id,role,product,credited,rate,tiers,quality_multiplier,amount,explanation,currency,reference"
    assert [r.split(",")[2] for r in rows[1:]] == ["commission", "cap", "clawback"]


def test_unknown_rep_is_one_clear_line(tmp_path):
    result = explain(tmp_path, "--rep", "Z9", "--period", "2026-01")
    assert result.exit_code == 2
    assert result.output == "--rep: unknown-rep unknown rep 'Z9': no such rep_id in " + str(tmp_path / "data" / "reps.csv") + "\n"


def test_rep_who_left_is_named_with_dates(tmp_path):
    result = explain(tmp_path, "--rep", "B2", "--period", "2026-02")
    assert result.exit_code == 2
    assert result.output == (
        "--period: rep-not-in-period rep B2 (Bob Ray) is not in 2026-02 (2026-02-01 to 2026-02-28): left on 2026-01-31 "
        "(employed from 2026-01-01 to 2026-01-31) and has no line in that period\n"
    )


def test_period_with_no_data(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-05")
    assert result.exit_code == 2
    assert result.output == (
        "--period: no-data-in-period no data in 2026-05 (2026-05-01 to 2026-05-31): no sale, cancellation, response or contact "
        "is dated in it; the latest date in the data is 2026-02-20\n"
    )


def test_period_before_the_plans(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2025-12")
    assert result.exit_code == 2
    assert result.output == "--period: period-before-plans 2025-12 is before the plans: the first month any plan pays is 2026-01 (2026-01-01 to 2026-01-31)\n"


def test_quarter_for_a_monthly_rep(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "2026-Q1")
    assert result.exit_code == 2
    assert result.output == "--period: other-period-kind rep A1 is on plan p, paid by month; 2026-Q1 is a quarter: use --period 2026-01\n"


def test_bad_period_text(tmp_path):
    result = explain(tmp_path, "--rep", "A1", "--period", "Jan")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "bad-period" in result.output and "Traceback" not in result.output
