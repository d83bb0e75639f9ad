"""Draws through the command line: payouts.csv, lines.csv, explain and HTML statements (SPEC 6.2-6.4).

The fixture (tests/fixtures/draw) has two reps on the same sales, rate 10%: D1 under a recoverable
draw of 2000.00 a month, G1 under a guarantee (a non-recoverable draw) of 2000.00 a month.
Commissions: January 500.00, February 1200.00, March 3500.00, April 2600.00.
"""

from __future__ import annotations

import json
from pathlib import Path

import conftest
from conftest import invoke, read_csv

FIXTURE = Path(__file__).parent / "fixtures" / "draw"
PLANS, DATA = FIXTURE / "plans", FIXTURE / "data"


def _explain(rep: str, period: str, *args: str, plans: Path = PLANS, data: Path = DATA):
    r = invoke("explain", "--plans", plans, "--data", data, "--rep", rep, "--period", period, "--allow-incomplete", *args, columns=220)
    assert r.exit_code == 0, r.output
    return r.output


def test_explain_shows_a_recovery_and_the_balance_still_owed():
    # March: 3500.00 is 1500.00 above the draw; balance 1500 + 800 = 2300.00 owed: recover 1500.00,
    # 800.00 still owed; payout 3500 - 1500 = 2000.00
    text = conftest.text(_explain("D1", "2026-03"))
    assert (
        "Draw          -1500.00  payout before the draw 3500.00, 1500.00 above the minimum pay 2000.00: "
        "recovered 1500.00 of the draw balance 2300.00; 800.00 still owed"
    ) in text
    assert "Payout         2000.00" in text
    assert "Draw balance    800.00  owed back from later pay above the minimum pay" in text
    j = json.loads(_explain("D1", "2026-03", "--format", "json"))
    assert (j["draw"], j["draw_balance"], j["payout"]) == ("-1500.00", "800.00", "2000.00")
    assert j["draw_explanation"].startswith("payout before the draw 3500.00")
    rows = _explain("D1", "2026-03", "--format", "csv").splitlines()
    assert rows[2].startswith("D1,2026-03,draw,")


def test_explain_shows_a_guarantee_top_up_and_no_balance():
    # January: 500.00 below the guarantee of 2000.00: topped up 1500.00, never owed back
    text = conftest.text(_explain("G1", "2026-01"))
    assert "Draw          1500.00  minimum pay 2000.00; payout before the draw 500.00; guarantee tops up 1500.00, not owed back" in text
    assert "Draw balance     0.00  a guarantee: its top-ups are never owed back" in text
    # March: 3500.00 is above the guarantee and nothing is owed: no draw line
    text = conftest.text(_explain("G1", "2026-03"))
    assert "Draw             0.00  pay is at or above the minimum pay 2000.00: nothing topped up or recovered" in text


def test_a_prorated_top_up_is_explained_with_its_days(tmp_path):
    # April has 30 days; N1 starts 04-15: active 16 days, draw 1500 * 16 / 30 = 800.00;
    # sale 4000 x 10% = 400.00: topped up 800 - 400 = 400.00, owed back: 400.00
    plan = (PLANS / "recoverable-draw.yaml").read_text().replace("amount: 2000.00", "amount: 1500.00")
    reps = "rep_id,name,team,plan,quota,start_date,end_date\nN1,Nia Berg,North,recoverable-draw,10000,2026-04-15,\n"
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS1,N1,C1,loan,4000,2026-04-20,\n"
    plans, data = conftest.write_case(tmp_path, {"p.yaml": plan}, reps=reps, sales=sales)
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-04", "--out", tmp_path / "out", "--allow-incomplete")
    assert r.exit_code == 0, r.output
    (row,) = read_csv(tmp_path / "out" / "2026-04" / "payouts.csv")
    assert (row["earned"], row["draw"], row["payout"], row["draw_balance"]) == ("400.00", "400.00", "800.00", "400.00")
    draw = read_csv(tmp_path / "out" / "2026-04" / "lines.csv")[-1]
    assert draw["kind"] == "draw" and draw["explanation"] == (
        "minimum pay 1500.00 (prorated 16/30 days: 800.00); payout before the draw 400.00; "
        "draw tops up 400.00, owed back from later pay: 400.00"
    )


def test_html_statements_show_the_draw_rows(tmp_path):
    r = invoke("run", "--plans", PLANS, "--data", DATA, "--period", "2026-04", "--out", tmp_path, "--allow-incomplete", "--statements")
    assert r.exit_code == 0, r.output
    (d1,) = (tmp_path / "2026-04" / "statements").glob("D1-*.html")
    html = d1.read_text()
    assert (
        '<tr><td>Draw</td><td class="num">-600.00</td><td class="note">payout before the draw 2600.00, 600.00 above the '
        "minimum pay 2000.00: recovered 600.00 of the draw balance 800.00; 200.00 still owed</td></tr>"
    ) in html
    assert '<tr><td>Draw balance</td><td class="num">200.00</td>' in html


def test_a_plan_without_a_draw_shows_no_draw_rows(tmp_path):
    plan = (PLANS / "guarantee.yaml").read_text().split("draw:")[0]
    reps = "rep_id,name,team,plan,quota,start_date,end_date\nG1,Gus Lind,North,guarantee,10000,2026-01-01,\n"
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\nS1,G1,C1,loan,4000,2026-01-20,\n"
    plans, data = conftest.write_case(tmp_path, {"p.yaml": plan}, reps=reps, sales=sales)
    text = _explain("G1", "2026-01", plans=plans, data=data)
    assert "Draw" not in text
