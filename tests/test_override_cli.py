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
