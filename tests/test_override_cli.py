"""Manager overrides through the command line: reps.csv `manager_id` checks, the plan key, the
written files and streaming (SPEC 6.1-6.4).

The fixture (tests/fixtures/override): D1 (regional, quarterly, override 0.5% one level) manages
L1 and L2 (team-lead, monthly, override 1% two levels); L1 manages S1, S1 manages S2; L2 manages
S3; S4 has no manager. Sellers split with share 0.30 on a voice contact.
March: S2 sells x3 4000.00 and x2 (sold in February, 1500.00) is cancelled on 03-10; S3 sells x4
1000.00 and gets 900.00 of x5 (3000.00 by S4, contact k1 by S3); L1 sells x6 500.00.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import conftest
from conftest import invoke, read_csv, write_case
from test_streaming import assert_same_run

FIXTURE = Path(__file__).parent / "fixtures" / "override"
PLANS, DATA = FIXTURE / "plans", FIXTURE / "data"
PLAN = "plan: p\nversion: 1\neffective_from: 2026-01-01\ncurrency: EUR\nperiod: month\nrounding: half_up\nrates:\n  - rate: 0.1\n"
SALES = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\ns1,A,c,x,10,2026-01-02,\n"


def _run(tmp_path: Path, period: str, *args: str):
    r = invoke("run", "--plans", PLANS, "--data", DATA, "--period", period, "--out", tmp_path, "--allow-incomplete", *args)
    assert r.exit_code == 0, r.output
    return r


def test_the_override_lines_of_a_month_and_a_quarter(tmp_path: Path):
    _run(tmp_path, "2026-03")
    lines = [r for r in read_csv(tmp_path / "2026-03" / "lines.csv") if r["kind"] == "override"]
    # L1 (levels 2): S1 nothing in March; S2 (2 levels down) 4000.00 - 1500.00 = 2500.00 -> 25.00
    # L2: S3 1000.00 + 900.00 = 1900.00 -> 19.00
    assert [(r["rep_id"], r["reference"], r["amount"], r["sale_id"], r["currency"]) for r in lines] == [
        ("L1", "S2", "25.00", "", "EUR"),
        ("L2", "S3", "19.00", "", "EUR"),
    ]
    payouts = {r["rep_id"]: r for r in read_csv(tmp_path / "2026-03" / "payouts.csv")}
    # L1: commission 0.05 * 500.00 = 25.00, override 25.00: payout 50.00
    assert (payouts["L1"]["earned"], payouts["L1"]["overrides"], payouts["L1"]["payout"]) == ("25.00", "25.00", "50.00")
    _run(tmp_path, "2026-Q1")
    # D1 (quarterly, levels 1): L1's Q1 credit 500.00 -> 0.005 * 500.00 = 2.50; L2 none
    lines = [r for r in read_csv(tmp_path / "2026-Q1" / "lines.csv") if r["kind"] == "override"]
    assert [(r["rep_id"], r["reference"], r["amount"]) for r in lines] == [("D1", "L1", "2.50")]


@pytest.mark.parametrize("block_bytes, period", [(200, "2026-03"), (200, "2026-Q1"), (1 << 20, "2026-03")])
def test_overrides_stream_to_the_same_files(tmp_path: Path, monkeypatch, block_bytes: int, period: str):
    assert_same_run(DATA, tmp_path, "--period", period, "--allow-incomplete", block_bytes=block_bytes, monkeypatch=monkeypatch,
                    succeeds=True, plans=PLANS)  # fmt: skip
    lines = read_csv(tmp_path / "memory" / period / "lines.csv")
    assert any(r["kind"] == "override" for r in lines)


def test_unknown_self_and_cycle_managers_are_reported_at_once(tmp_path: Path):
    reps = (
        "rep_id,name,team,plan,quota,start_date,end_date,manager_id\n"
        "A,a,t,p,1,2026-01-01,,C\n"  # line 2: A -> C -> B -> A
        "B,b,t,p,1,2026-01-01,,A\n"
        "C,c,t,p,1,2026-01-01,,B\n"
        "D,d,t,p,1,2026-01-01,,D\n"  # line 5: itself
        "E,e,t,p,1,2026-01-01,,ZZ\n"  # line 6: no such rep
        "F,f,t,p,1,2026-01-01,,A\n"  # line 7: under a loop, not on it: not reported
        "G,g,t,p,1,2026-01-01,,\n"
    )
    plans, data = write_case(tmp_path, {"p.yaml": PLAN}, reps=reps, sales=SALES.replace(",A,", ",G,"))
    r = invoke("validate", "--plans", plans, "--data", data, "--format", "json")
    assert r.exit_code == 2, r.output
    found = [(d["line"], d["column"], d["code"], d["message"]) for d in json.loads(r.output)["diagnostics"] if d["file"].endswith("reps.csv")]
    loop = "reps A, B, C manage each other in a circle"
    assert found == [
        (2, "manager_id", "manager-cycle", f"manager_id links loop back to rep 'A': {loop}"),
        (3, "manager_id", "manager-cycle", f"manager_id links loop back to rep 'B': {loop}"),
        (4, "manager_id", "manager-cycle", f"manager_id links loop back to rep 'C': {loop}"),
        (5, "manager_id", "self-manager", "rep 'D' cannot be its own manager"),
        (6, "manager_id", "unknown-manager", "manager_id 'ZZ' is not a rep_id of reps.csv"),
    ]
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", tmp_path / "out", "--allow-incomplete")
    assert r.exit_code == 2 and "manager-cycle" in r.output and not (tmp_path / "out" / "2026-01").exists()


def test_two_separate_loops_are_named_apart_and_a_file_without_the_column_is_fine(tmp_path: Path):
    reps = (
        "rep_id,name,team,plan,quota,start_date,end_date,manager_id\n"
        "A,a,t,p,1,2026-01-01,,B\nB,b,t,p,1,2026-01-01,,A\nX,x,t,p,1,2026-01-01,,Y\nY,y,t,p,1,2026-01-01,,X\n"
    )
    plans, data = write_case(tmp_path, {"p.yaml": PLAN}, reps=reps, sales=SALES)
    r = invoke("validate", "--plans", plans, "--data", data, "--format", "json")
    messages = [d["message"] for d in json.loads(r.output)["diagnostics"] if d["code"] == "manager-cycle"]
    assert [m.split(": ")[1] for m in messages] == ["reps A, B manage each other in a circle"] * 2 + ["reps X, Y manage each other in a circle"] * 2
    plain = "rep_id,name,team,plan,quota,start_date,end_date\nA,a,t,p,1,2026-01-01,\n"
    plans, data = write_case(tmp_path / "plain", {"p.yaml": PLAN}, reps=plain, sales=SALES)
    assert invoke("validate", "--plans", plans, "--data", data).exit_code == 0


@pytest.mark.parametrize(
    "block, code, key",
    [
        ("override:\n  rate: 0.01\n", "missing-key", "override.levels"),
        ("override:\n  rate: 1.5\n  levels: 1\n", "out-of-range", "override.rate"),
        ("override:\n  rate: 0.01\n  levels: 0\n", "out-of-range", "override.levels"),
        ("override:\n  rate: 0.01\n  levels: 1\n  cap: 5\n", "unknown-key", "override.cap"),
    ],
)
def test_override_keys_are_checked(tmp_path: Path, block: str, code: str, key: str):
    plans, data = write_case(tmp_path, {"p.yaml": PLAN + block}, reps="rep_id,name,team,plan,quota,start_date,end_date\nA,a,t,p,1,2026-01-01,\n", sales=SALES)
    r = invoke("validate", "--plans", plans, "--format", "json")
    assert r.exit_code == 2
    found = [(d["code"], d["column"]) for d in json.loads(r.output)["diagnostics"]]
    assert (code, key) in found, found


def test_the_schema_file_is_current():
    r = invoke("schema")
    assert r.exit_code == 0
    assert json.loads(r.output) == json.loads((conftest.ROOT / "plans.schema.json").read_text())


def test_explain_lists_the_reports_with_their_net_credit_and_override(tmp_path: Path):
    args = ("--plans", PLANS, "--data", DATA, "--period", "2026-03", "--rep", "L1", "--allow-incomplete")
    r = invoke("explain", *args, columns=200)
    assert r.exit_code == 0, r.output
    text = conftest.text(r.output)
    assert "Overrides: a share of each report's net credit\n  S2, 2 levels down: net credit 2500.00 (sold less cancelled in the period) x 1% = 25.00\n" in text
    assert "Overrides  25.00  1 report below: a share of their net credit (not capped)" in text
    assert "Payout     50.00" in text
    j = json.loads(invoke("explain", *args, "--format", "json").output)
    assert (j["overrides"], j["payout"]) == ("25.00", "50.00")
    assert j["override_explanations"] == ["S2, 2 levels down: net credit 2500.00 (sold less cancelled in the period) x 1% = 25.00"]
    # a direct report
    r = invoke("explain", "--plans", PLANS, "--data", DATA, "--period", "2026-03", "--rep", "L2", "--allow-incomplete", "--format", "json")
    assert json.loads(r.output)["override_explanations"] == ["S3, direct report: net credit 1900.00 (sold less cancelled in the period) x 1% = 19.00"]


def test_html_statements_show_the_overrides(tmp_path: Path):
    _run(tmp_path, "2026-03", "--statements")
    page = next((tmp_path / "2026-03" / "statements").glob("L2*.html")).read_text()
    assert "<h2>Overrides: the reports" in page
    assert "S3, direct report: net credit 1900.00 (sold less cancelled in the period) x 1% = 19.00" in page


def test_diff_names_override_changes_in_words(tmp_path: Path):
    source = (PLANS / "team-lead.yaml").read_text()
    without = tmp_path / "without.yaml"
    without.write_text(source.split("override:")[0])
    changed = tmp_path / "changed.yaml"
    changed.write_text(source.replace("version: 1", "version: 2").replace("rate: 0.01", "rate: 0.015").replace("levels: 2", "levels: 1"))
    common = ("--plans", PLANS, "--data", DATA, "--period", "2026-03", "--allow-incomplete", "--format", "json")
    added = json.loads(invoke("diff", without, PLANS / "team-lead.yaml", *common).output)
    assert [(c["path"], c["change"], c["description"]) for c in added["rule_changes"]] == [
        ("override", "added", "added override: 1% of the team's net credit, 2 levels (direct reports and their reports)")
    ]
    r = invoke("diff", PLANS / "team-lead.yaml", changed, "--plans", PLANS, "--data", DATA, "--period", "2026-03", "--allow-incomplete", columns=200)
    assert "override share of the team's net credit: 1% -> 1.5%" in r.output
    assert "override reaches down: 2 levels (direct reports and their reports) -> 1 level (direct reports)" in r.output
    # L2: 1.5% of S3's 1900.00 = 28.50 instead of 19.00
    reps = {row["rep_id"]: row for row in json.loads(invoke("diff", PLANS / "team-lead.yaml", changed, *common).output)["reps"]}
    assert (reps["L2"]["old_payout"], reps["L2"]["new_payout"]) == ("19.00", "28.50")


def test_run_rolls_up_by_team_and_by_manager(tmp_path: Path):
    r = _run(tmp_path, "2026-03", "--by", "team", "--format", "json")
    groups = json.loads(r.output)["rollup"]
    # north: L1, S1, S2: credited 500 + 0 + 4000; payouts 50.00 + 0.00 + 400.00 = 450.00
    # south: L2, S3, S4: credited 0 + 1900 + 2100; payouts 19.00 + 190.00 + 210.00 = 419.00
    assert groups["by"] == "team"
    assert [(g["group"], g["reps"], g["credited"], g["payout"]) for g in groups["groups"]] == [
        ("north", "3", "4500.00", "450.00"),
        ("south", "3", "4000.00", "419.00"),
    ]
    r = _run(tmp_path, "2026-03", "--by", "manager", "--format", "json", "--force")
    groups = json.loads(r.output)["rollup"]["groups"]
    # D1's subtree: D1 (quarterly, not in this run), L1, L2, S1, S2, S3: 5 reps,
    # credited 500 + 0 + 0 + 4000 + 1900 = 6400, payout 50 + 19 + 0 + 400 + 190 = 659.00
    # L1: L1, S1, S2 = 450.00; L2: L2, S3 = 19 + 190 = 209.00; S1: S1, S2 = 400.00
    assert [(g["group"], g["reps"], g["credited"], g["overrides"], g["payout"]) for g in groups] == [
        ("D1", "5", "6400.00", "44.00", "659.00"),
        ("L1", "3", "4500.00", "25.00", "450.00"),
        ("L2", "2", "1900.00", "19.00", "209.00"),
        ("S1", "2", "4000.00", "0.00", "400.00"),
    ]
    r = _run(tmp_path, "2026-03", "--by", "team", "--force")
    assert "By team" in r.output and "north" in r.output


def test_a_rollup_never_adds_up_two_currencies(tmp_path: Path):
    lead = PLAN.replace("plan: p", "plan: lead") + "override:\n  rate: 0.01\n  levels: 1\n"
    uk = PLAN.replace("plan: p", "plan: uk").replace("currency: EUR", "currency: GBP")
    reps = (
        "rep_id,name,team,plan,quota,start_date,end_date,manager_id\n"
        "M,Mia,t,lead,1000,2026-01-01,,\nA,Ann,t,lead,1000,2026-01-01,,M\nB,Ben,t,uk,1000,2026-01-01,,M\n"
    )
    sales = "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\ns1,A,c,x,1000,2026-01-02,\ns2,B,c,x,2000,2026-01-03,\n"
    plans, data = write_case(tmp_path, {"lead.yaml": lead, "uk.yaml": uk}, reps=reps, sales=sales,
                             fx_rates="currency,to,month,rate\nGBP,EUR,2026-01,1.15\n")  # fmt: skip
    # A: 10% x 1000 = 100.00 EUR; B: 10% x 2000 = 200.00 GBP; M's override: 1% x 1000 = 10.00
    # plus 1% x 2000 GBP x 1.15 = 23.00, so M is paid 33.00 EUR. Team t and manager M hold
    # EUR reps (M, A: credited 1000, payout 133.00) and a GBP rep (B: 2000, 200.00): two rows each.
    expected = [("EUR", "2", "1000.00", "100.00", "33.00", "133.00"), ("GBP", "1", "2000.00", "200.00", "0.00", "200.00")]
    for by, group in (("team", "t"), ("manager", "M")):
        r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", tmp_path / by, "--allow-incomplete",
                   "--by", by, "--format", "json")  # fmt: skip
        assert r.exit_code == 0, r.output
        groups = json.loads(r.output)["rollup"]["groups"]
        assert [(g["currency"], g["reps"], g["credited"], g["earned"], g["overrides"], g["payout"]) for g in groups] == expected
        assert {g["group"] for g in groups} == {group}
    r = invoke("run", "--plans", plans, "--data", data, "--period", "2026-01", "--out", tmp_path / "t", "--allow-incomplete", "--by", "team")
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.output.splitlines() if line.startswith("t ")]
    assert rows == [["t", "EUR", "2", "1000.00", "100.00", "33.00", "133.00"], ["t", "GBP", "1", "2000.00", "200.00", "0.00", "200.00"]]
