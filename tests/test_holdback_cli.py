"""Holdbacks through the command line: a streaming run equals the run in memory byte for byte,
with parts held in one period and released in a later one."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import conftest
from comp_calc.data import stream
from test_streaming import assert_same_run

FIXTURE = Path(__file__).parent / "fixtures" / "holdback"


@pytest.mark.parametrize("block_bytes", [300, 2_000, stream.BLOCK_BYTES])
def test_holdbacks_stream_to_the_same_files(tmp_path: Path, monkeypatch, block_bytes: int):
    assert_same_run(
        FIXTURE / "data", tmp_path, "--period", "2026-03", block_bytes=block_bytes, monkeypatch=monkeypatch, succeeds=True,
        plans=FIXTURE / "plans",
    )  # fmt: skip
    lines = conftest.read_csv(tmp_path / "memory" / "2026-03" / "lines.csv")
    releases = [r for r in lines if r["kind"] == "release"]
    # parts held in January and February come back in March (release after 45 days)
    assert any("earned in 2026-01" in r["explanation"] for r in releases)
    assert any("earned in 2026-02" in r["explanation"] for r in releases)
    assert any(r["kind"] == "holdback" for r in lines)
    # R2 left on 2026-01-31 and still has a row in March, for its releases
    payouts = {r["rep_id"]: r for r in conftest.read_csv(tmp_path / "memory" / "2026-03" / "payouts.csv")}
    assert payouts["R2"]["earned"] == "0.00" and payouts["R2"]["released"] != "0.00"
    # lines add up to the payouts columns
    for rep_id, row in payouts.items():
        for kind, column in (("holdback", "holdback"), ("release", "released")):
            total = sum((Decimal(r["amount"]) for r in lines if r["rep_id"] == rep_id and r["kind"] == kind), Decimal("0.00"))
            assert total == Decimal(row[column])


PLAN = """\
plan: p
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
clawback:
  - within_days: 90
    recover: 0.5
holdback:
  share: 0.25
  release_after_days: 30
"""
REPS = "rep_id,name,team,plan,quota,start_date,end_date\nA1,Ann Lee,North,p,1000,2026-01-01,\n"
# S1: 4000.00 -> commission 400.00, 100.00 held until 2026-01-20 + 30 = 2026-02-19, released in February
# S2: 1000.00 -> commission 100.00, 25.00 held until 2026-02-04; cancelled 2026-02-03: forfeited,
#     clawback 0.5 of (100.00 - 25.00) = -37.50 in February
SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,A1,c1,card,4000,2026-01-20,
S2,A1,c2,card,1000,2026-01-05,2026-02-03
S3,A1,c3,card,10,2026-02-27,
"""


def _case(tmp_path: Path) -> tuple[Path, Path]:
    return conftest.write_case(tmp_path, {"p.yaml": PLAN}, reps=REPS, sales=SALES)


def test_lines_and_payouts_name_what_is_held_and_released(tmp_path: Path):
    plans, data = _case(tmp_path)
    assert conftest.invoke("run", "--plans", plans, "--data", data, "--out", tmp_path / "out", "--period", "2026-02", "--allow-incomplete").exit_code == 0
    lines = conftest.read_csv(tmp_path / "out" / "2026-02" / "lines.csv")
    # February: S3's commission 1.00 holds 0.25; clawback of S2, then the holdback of S3, then S1's release
    assert [(r["kind"], r["sale_id"], r["amount"]) for r in lines] == [
        ("commission", "S3", "1.00"), ("clawback", "S2", "-37.50"), ("holdback", "S3", "-0.25"), ("release", "S1", "100.00"),
    ]  # fmt: skip
    assert lines[1]["explanation"].endswith("recover 0.5 of 75.00 (100.00 less 25.00 held back, never released) paid in 2026-01 = -37.50")
    assert lines[2]["explanation"] == "sale S3 sold 2026-02-27: 25% of 1.00 held until 2026-03-29"
    assert lines[3]["explanation"] == (
        "released: held from the sale of 2026-01-20 (sale S1, 25% of 400.00 earned in 2026-01), release day 2026-02-19"
    )
    assert all(r["reference"] == "" for r in lines)
    (row,) = conftest.read_csv(tmp_path / "out" / "2026-02" / "payouts.csv")
    # 1.00 - 37.50 - 0.25 + 100.00 = 63.25
    assert (row["holdback"], row["released"], row["clawbacks"], row["payout"]) == ("-0.25", "100.00", "-37.50", "63.25")


def test_explain_and_the_html_statement_say_what_is_held_and_released(tmp_path: Path):
    plans, data = _case(tmp_path)
    args = ("--plans", plans, "--data", data, "--allow-incomplete", "--period", "2026-01", "--rep", "A1")
    shown = conftest.text(conftest.invoke("explain", *args, columns=200).output)
    # January: 400.00 + 100.00 earned, 100.00 + 25.00 held: payout 375.00
    assert "Held back and released" in shown
    assert "sale S1 sold 2026-01-20: 25% of 400.00 held until 2026-02-19: -100.00" in shown
    assert "sale S2 sold 2026-01-05: 25% of 100.00 held until 2026-02-04: -25.00" in shown
    assert "Held back  -125.00  2 line(s): part of the commission waits for the customer to stay" in shown
    as_json = json.loads(conftest.invoke("explain", *args, "--format", "json").output)
    assert (as_json["holdback"], as_json["released"], as_json["payout"]) == ("-125.00", "0.00", "375.00")
    assert len(as_json["holdback_explanations"]) == 2 and as_json["release_explanations"] == []
    february = json.loads(conftest.invoke("explain", *args[:-4], "--period", "2026-02", "--rep", "A1", "--format", "json").output)
    assert february["release_explanations"] == [
        "released: held from the sale of 2026-01-20 (sale S1, 25% of 400.00 earned in 2026-01), release day 2026-02-19: 100.00"
    ]
    (claw,) = february["clawback_lines"]
    assert claw["original_amount"] == "75.00"  # what was paid of the 100.00: 25.00 was still held
    out = tmp_path / "out"
    assert conftest.invoke("run", "--plans", plans, "--data", data, "--out", out, "--period", "2026-02", "--statements", "--allow-incomplete").exit_code == 0
    (page,) = (out / "2026-02" / "statements").glob("*.html")
    html = page.read_text()
    assert "<h2>Held back and released</h2>" in html
    assert "released: held from the sale of 2026-01-20" in html and "<td>Released</td>" in html
