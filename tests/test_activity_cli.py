"""The activity quota through the command line: payouts.csv, lines.csv, explain, statements,
diff and validate (SPEC 6.2-6.4)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import conftest
from conftest import invoke, read_csv

from comp_calc.diff.rules import diff_plans
from comp_calc.outputs.statement_html import statement_name
from comp_calc.plan.load import parse_plan

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
QUOTA = """\
activity:
  channels: [voice]
  target: 2
  bonus: 300.00
  min_customer_value: 1000
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
A1,Ann Lee,North,p,1000,2026-01-01,
B2,Bob Ray,South,p,1000,2026-01-01,
"""

# rich bought 1500 from B2 on 01-05 (B2 earns 1500 x 0.1 = 150.00 in January); poor never bought
SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,B2,rich,card,1500,2026-01-05,
"""

# February. A1: rich twice (value 1500 >= 1000: 2 count), poor once (value 0: left out), rich by
# email (not a listed channel): 2 >= target 2 -> 300.00. B2: rich once: 1 < 2, nothing.
CONTACTS = """\
contact_id,rep_id,customer_id,contacted_on,channel,connected
K1,A1,rich,2026-02-02,voice,true
K2,A1,rich,2026-02-03,voice,true
K3,A1,poor,2026-02-04,voice,true
K4,A1,rich,2026-02-05,email,true
K5,B2,rich,2026-02-10,voice,true
"""

NOTE = "2 qualifying contacts, target 2: bonus 300.00; 1 contact with a customer worth less than 1000.00 not counted"


def _case(tmp_path: Path, plan: str = BASE + QUOTA) -> tuple[Path, Path]:
    return conftest.write_case(tmp_path, {"p.yaml": plan}, reps=REPS, sales=SALES, contacts=CONTACTS)


def test_run_writes_the_bonus_in_payouts_and_lines_and_statements(tmp_path):
    plans, data = _case(tmp_path)
    out = tmp_path / "out"
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-02", "--out", out, "--allow-incomplete", "--statements")
    assert r.exit_code == 0, r.output
    folder = out / "2026-02"
    a1, b2 = read_csv(folder / "payouts.csv")
    assert (a1["earned"], a1["activity_bonus"], a1["payout"]) == ("0.00", "300.00", "300.00")
    assert (b2["activity_bonus"], b2["payout"]) == ("0.00", "0.00")
    lines = read_csv(folder / "lines.csv")
    assert [(x["rep_id"], x["kind"], x["amount"], x["currency"], x["reference"], x["explanation"]) for x in lines] == [
        ("A1", "activity_bonus", "300.00", "EUR", "", NOTE),
    ]
    html = (folder / statement_name("A1")).read_text()
    assert "Activity bonus" in html and NOTE in html
    assert "Activity bonus" not in (folder / statement_name("B2")).read_text()


def test_explain_lists_the_bonus_in_words(tmp_path):
    plans, data = _case(tmp_path)
    args = ("explain", "--plans", plans, "--data", data, "--rep", "A1", "--period", "2026-02", "--allow-incomplete")
    r = invoke(*args, columns=250)
    assert r.exit_code == 0, r.output
    assert "Activity bonus" in r.output and NOTE in r.output
    j = json.loads(invoke(*args, "--format", "json").output)
    assert (j["activity_bonus"], j["activity_bonus_explanation"], j["payout"]) == ("300.00", NOTE, "300.00")
    rows = list(csv.DictReader(io.StringIO(invoke(*args, "--format", "csv").output)))
    assert [(x["kind"], x["amount"]) for x in rows] == [("activity_bonus", "300.00")]


def test_a_plan_without_the_quota_writes_no_activity_line(tmp_path):
    plans, data = _case(tmp_path, BASE)
    out = tmp_path / "out"
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-02", "--out", out, "--allow-incomplete")
    assert r.exit_code == 0, r.output
    assert [row["activity_bonus"] for row in read_csv(out / "2026-02" / "payouts.csv")] == ["0.00", "0.00"]
    assert read_csv(out / "2026-02" / "lines.csv") == []


def test_diff_names_the_quota_in_words_and_shows_what_it_pays(tmp_path):
    plans, data = _case(tmp_path, BASE)
    new = tmp_path / "new.yaml"
    new.write_text(BASE + QUOTA)
    r = invoke("diff", plans / "p.yaml", new, "--plans", plans, "--data", data, "--period", "2026-02", "--allow-incomplete", "--format", "json")
    assert r.exit_code == 0, r.output
    j = json.loads(r.output)
    assert [c["description"] for c in j["rule_changes"]] == [
        "added activity quota: 2 connected voice contacts pays 300.00, only contacts with customers worth at least 1000.00"
    ]
    # A1 gains the bonus: 0.00 -> 300.00; B2 stays at 0.00
    assert [(x["rep_id"], x["old_payout"], x["new_payout"], x["delta"]) for x in j["reps"]] == [
        ("A1", "0.00", "300.00", "300.00"), ("B2", "0.00", "0.00", "0.00"),
    ]  # fmt: skip


def test_diff_names_every_activity_key_change():
    old, _ = parse_plan(BASE + QUOTA.replace("  min_customer_value: 1000\n", ""), "a.yaml")
    fixed, _ = parse_plan(BASE + QUOTA, "b.yaml")
    assert [c.sentence for c in diff_plans(old, fixed).changes] == ["added activity minimum customer value: 1000.00"]
    assert [c.sentence for c in diff_plans(fixed, old).changes] == ["removed activity minimum customer value: 1000.00"]
    changed, problems = parse_plan(
        BASE + "activity:\n  channels: [visit, voice]\n  connected_only: false\n  target: 12\n  bonus: 250\n"
        "  distinct_customers: true\n  min_customer_value: 2500.5\n",
        "c.yaml",
    )
    assert not problems
    assert [c.sentence for c in diff_plans(fixed, changed).changes] == [
        "activity quota channels: voice -> visit or voice",
        "activity quota counts connected contacts only: true -> false",
        "activity quota target (contacts): 2 -> 12",
        "activity bonus: 300.00 -> 250.00",
        "activity quota counts each customer once: false -> true",
        "activity minimum customer value: 1000.00 -> 2500.50",
    ]
    # the same rule written differently is no change
    same, _ = parse_plan(BASE + QUOTA.replace("300.00", "300").replace("1000", "1000.00"), "d.yaml")
    assert diff_plans(fixed, same).changes == ()


def test_validate_names_file_line_and_key_of_every_activity_mistake(tmp_path):
    bad = BASE + "activity:\n  channels: [voice]\n  target: 0\n  bonus: 300.005\n  min_customer_value: -1\n  window: 3\n"
    plans, data = _case(tmp_path, bad)
    r = invoke("validate", "--plans", plans, "--data", data, "--format", "json")
    assert r.exit_code == 2
    diagnostics = json.loads(r.output)["diagnostics"]
    # every mistake of the plan file at once (the data rows on the refused plan are reported too)
    found = [(d["line"], d["column"], d["code"]) for d in diagnostics if Path(d["file"]).name == "p.yaml"]
    assert sorted(found) == [
        (11, "activity.target", "out-of-range"),
        (12, "activity.bonus", "too-precise"),
        (13, "activity.min_customer_value", "out-of-range"),
        (14, "activity.window", "unknown-key"),
    ]
