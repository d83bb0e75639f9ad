"""Closed periods and restatements through the command line (SPEC 6.3 step 9, 6.4).

The fixture (tests/fixtures/restate) has two reps on plan `flat`: rate 10%, a cancellation
within 90 days recovers the whole commission, carry_forward. Sales:
S01 A1 3000 on 01-10 (300.00), S02 B1 2000 on 01-20 (200.00), S03 A1 1000 on 02-05 (100.00),
S04 B1 4000 on 02-11 (400.00), S05 A1 1500 on 03-03 (150.00), S07 A1 2000 on 04-08 (200.00).
A test closes periods with the data as it was, then changes the data (a late sale, a
back-dated cancellation, a corrected plan) and runs the next open period.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from conftest import invoke, read_csv

FIXTURE = Path(__file__).parent / "fixtures" / "restate"


@pytest.fixture
def case(tmp_path):
    """A copy of the fixture to change between runs: (plans, data, out)."""
    shutil.copytree(FIXTURE / "plans", tmp_path / "plans")
    shutil.copytree(FIXTURE / "data", tmp_path / "data")
    return tmp_path / "plans", tmp_path / "data", tmp_path / "out"


@pytest.fixture(scope="module")
def january(tmp_path_factory) -> Path:
    """The output folder of January run on the unchanged fixture, made once for the module: a test
    that starts by closing January copies it (`close`) and goes on from there."""
    root = tmp_path_factory.mktemp("january")
    shutil.copytree(FIXTURE / "plans", root / "plans")
    shutil.copytree(FIXTURE / "data", root / "data")
    run((root / "plans", root / "data", root / "out"), "2026-01")
    return root / "out"


def close(case, january: Path) -> None:
    """January closed on the unchanged fixture, as `run(case, "2026-01")` leaves it (runs are
    byte-identical: a copy of the one run of the module)."""
    shutil.copytree(january, case[2], symlinks=True)


def run(case, period, *args, ok=True):
    plans, data, out = case
    r = invoke("run", "--plans", plans, "--data", data, "--period", period, "--out", out, "--allow-incomplete", *args, columns=200)
    if ok:
        assert r.exit_code == 0, r.output
    return r


def add_sale(case, row):
    sales = case[1] / "sales.csv"
    sales.write_text(sales.read_text() + row + "\n")


def cancel(case, sale_id, day):
    sales = case[1] / "sales.csv"
    rows = [line + day if line.startswith(sale_id + ",") else line for line in sales.read_text().splitlines()]
    sales.write_text("\n".join(rows) + "\n")


def payouts(case, period):
    return {r["rep_id"]: r for r in read_csv(case[2] / period / "payouts.csv")}


def lines(case, period, kind="restatement"):
    return [r for r in read_csv(case[2] / period / "lines.csv") if r["kind"] == kind]


def test_a_late_sale_in_a_closed_month_is_paid_in_the_next_open_one(case, january):
    close(case, january)  # closed: A1 paid 300.00, B1 200.00
    add_sale(case, "S06,A1,C06,loan,500,2026-01-28,")  # arrives after January was paid
    run(case, "2026-02")
    # A1: January recomputed 300 + 50 = 350.00, recorded 300.00: due +50.00;
    # February 1000 x 10% = 100.00 + 50.00 = 150.00
    a1 = payouts(case, "2026-02")["A1"]
    assert (a1["earned"], a1["restatement"], a1["restatement_open"], a1["payout"]) == ("100.00", "50.00", "0.00", "150.00")
    # B1: January recomputed 200.00 = recorded: no line; 400.00
    b1 = payouts(case, "2026-02")["B1"]
    assert (b1["restatement"], b1["payout"]) == ("0.00", "400.00")
    (line,) = lines(case, "2026-02")
    assert (line["rep_id"], line["amount"], line["reference"], line["currency"]) == ("A1", "50.00", "2026-01", "EUR")
    assert "due 50.00" in line["explanation"]
    # the restatement line is the last of A1's lines
    assert [r["kind"] for r in read_csv(case[2] / "2026-02" / "lines.csv") if r["rep_id"] == "A1"] == ["commission", "restatement"]
    manifest = json.loads((case[2] / "2026-02" / "manifest.json").read_text())
    jan = (case[2] / "2026-01" / "payouts.csv").read_bytes()
    import hashlib

    assert manifest["closed_periods"] == [{"period": "2026-01", "payouts.csv": hashlib.sha256(jan).hexdigest(), "verified": True}]
    assert manifest["totals"]["EUR"]["restatement"] == "50.00"
    assert manifest["totals"]["EUR"]["payout"] == "550.00"  # 150 + 400


def test_a_back_dated_cancellation_is_recovered_in_the_open_period(case, january):
    close(case, january)  # B1 paid 200.00
    cancel(case, "S02", "2026-01-25")  # reported late: S02 was cancelled in January
    run(case, "2026-02")
    # B1: January recomputed 200 - 200 (clawback) = 0.00, recorded 200.00: due -200.00;
    # February payout so far 400.00 covers it: line -200.00, payout 200.00, nothing open
    b1 = payouts(case, "2026-02")["B1"]
    assert (b1["restatement"], b1["restatement_open"], b1["payout"]) == ("-200.00", "0.00", "200.00")
    assert [(r["rep_id"], r["amount"]) for r in lines(case, "2026-02")] == [("B1", "-200.00")]


def test_a_negative_restatement_larger_than_the_open_payout_stays_open_until_recovered(case, january):
    close(case, january)  # A1 paid 300.00
    cancel(case, "S01", "2026-01-20")
    # February: January recomputed 0.00 vs recorded 300.00: due -300.00; payout so far 100.00:
    # carry_forward takes it to 0 at most: line -100.00, payout 0.00, open -300 + 100 = -200.00
    run(case, "2026-02")
    a1 = payouts(case, "2026-02")["A1"]
    assert (a1["restatement"], a1["restatement_open"], a1["payout"], a1["carry_out"]) == ("-100.00", "-200.00", "0.00", "0.00")
    # March: January -300.00, February recomputed 100.00 vs recorded 0.00: +100.00; due -200.00;
    # payout so far 150.00: line -150.00, payout 0.00, open -50.00
    run(case, "2026-03")
    a1 = payouts(case, "2026-03")["A1"]
    assert (a1["restatement"], a1["restatement_open"], a1["payout"]) == ("-150.00", "-50.00", "0.00")
    assert lines(case, "2026-03")[0]["reference"] == "2026-01;2026-02"
    # April: -300 + 100 + (150 - 0) = -50.00 due; payout so far 200.00: line -50.00, payout 150.00
    run(case, "2026-04")
    a1 = payouts(case, "2026-04")["A1"]
    assert (a1["restatement"], a1["restatement_open"], a1["payout"]) == ("-50.00", "0.00", "150.00")
    assert lines(case, "2026-04")[0]["reference"] == "2026-01;2026-02;2026-03"
    # May: -300 + 100 + 150 + (200 - 150) = 0: settled, no line; A1 is active: a row of zeros
    run(case, "2026-05")
    assert payouts(case, "2026-05")["A1"]["restatement"] == "0.00"
    assert lines(case, "2026-05") == []
    # recorded + open = recomputed: paid 0 + 0 + 0 + 150 = 150 = 0 + 100 + 150 + 200 - 300 (S01 clawed back)


def test_a_plan_version_corrected_retroactively_is_restated(case, january):
    close(case, january)  # rate 10%: A1 300.00, B1 200.00
    plan = case[0] / "flat.yaml"
    plan.write_text(plan.read_text().replace("rate: 0.1", "rate: 0.12"))  # the rate should have been 12%
    run(case, "2026-02")
    # A1: January 3000 x 12% = 360.00 vs 300.00: +60.00; February 1000 x 12% = 120.00: payout 180.00
    # B1: January 2000 x 12% = 240.00 vs 200.00: +40.00; February 4000 x 12% = 480.00: payout 520.00
    p = payouts(case, "2026-02")
    assert (p["A1"]["restatement"], p["A1"]["payout"]) == ("60.00", "180.00")
    assert (p["B1"]["restatement"], p["B1"]["payout"]) == ("40.00", "520.00")


def test_a_rep_who_left_gets_a_payouts_row_for_a_restatement_alone(case):
    reps = case[1] / "reps.csv"
    reps.write_text(reps.read_text().replace("B1,Ben Roe,North,flat,10000,2026-01-01,", "B1,Ben Roe,North,flat,10000,2026-01-01,2026-01-31"))
    sales = case[1] / "sales.csv"
    sales.write_text(sales.read_text().replace("S04,B1,C04,loan,4000,2026-02-11,\n", ""))
    run(case, "2026-01")  # B1 paid 200.00, leaves on 01-31
    add_sale(case, "S08,B1,C08,loan,700,2026-01-30,")
    run(case, "2026-02")
    # B1 is not active in February and has no other line: January 200 + 70 = 270.00 vs 200.00: +70.00
    b1 = payouts(case, "2026-02")["B1"]
    assert (b1["earned"], b1["restatement"], b1["payout"]) == ("0.00", "70.00", "70.00")


def test_a_tampered_closed_payouts_file_is_refused(case, january):
    close(case, january)
    paid = case[2] / "2026-01" / "payouts.csv"
    paid.write_text(paid.read_text().replace("300.00,0.00,EUR", "400.00,0.00,EUR"))
    r = run(case, "2026-02", ok=False)
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "paid records were changed" in text
    assert "2026-01/payouts.csv" in text
    assert not (case[2] / "2026-02").exists()


def test_a_closed_period_without_the_outputs_record_is_trusted_with_a_warning(case, january):
    close(case, january)
    manifest = case[2] / "2026-01" / "manifest.json"
    record = json.loads(manifest.read_text())
    del record["outputs"]  # as written by an older release
    manifest.write_text(json.dumps(record))
    add_sale(case, "S06,A1,C06,loan,500,2026-01-28,")
    r = run(case, "2026-02")
    assert "closed-unverified" in r.output
    assert payouts(case, "2026-02")["A1"]["restatement"] == "50.00"
    warnings = read_csv(case[2] / "2026-02" / "exceptions.csv")
    assert [(w["code"], w["severity"]) for w in warnings] == [("closed-unverified", "warning")]
    assert warnings[0]["file"].endswith("2026-01")
    assert json.loads((case[2] / "2026-02" / "manifest.json").read_text())["closed_periods"][0]["verified"] is False


def test_a_paid_rep_missing_from_the_run_is_an_input_error(case, january):
    close(case, january)
    reps = case[1] / "reps.csv"
    reps.write_text(reps.read_text().replace("B1,Ben Roe,North,flat,10000,2026-01-01,\n", ""))
    sales = case[1] / "sales.csv"
    sales.write_text("".join(line for line in sales.read_text().splitlines(True) if ",B1," not in line))
    r = run(case, "2026-02", ok=False)
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "paid-rep-not-in-run" in text and "rep B1 was paid in 2026-01" in text


def test_force_on_a_period_older_than_a_closed_one_is_refused(case, january):
    close(case, january)
    run(case, "2026-02")
    r = run(case, "2026-01", "--force", ok=False)
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "closed-period-later" in text and "Run the open period instead" in text
    run(case, "2026-02", "--force")  # the latest closed period may still be replaced


def test_reruns_and_streaming_runs_with_a_restatement_are_byte_identical(case, january, tmp_path):
    close(case, january)
    cancel(case, "S01", "2026-01-20")
    add_sale(case, "S06,B1,C06,loan,500,2026-01-28,")
    copies = [tmp_path / f"out{i}" for i in range(3)]
    for copy in copies:
        shutil.copytree(case[2], copy)
    run(case[:2] + (copies[0],), "2026-02")
    run(case[:2] + (copies[1],), "2026-02")
    run(case[:2] + (copies[2],), "2026-02", "--streaming")
    files = [{f.name: f.read_bytes() for f in (c / "2026-02").iterdir()} for c in copies]
    assert files[0] == files[1] == files[2]
    assert b"restatement" in files[0]["lines.csv"]  # A1 -100.00 (open -200.00), B1 +50.00
    p = {r["rep_id"]: r for r in read_csv(copies[2] / "2026-02" / "payouts.csv")}
    assert (p["A1"]["restatement"], p["A1"]["restatement_open"], p["B1"]["restatement"]) == ("-100.00", "-200.00", "50.00")


def test_the_manifest_records_the_files_beside_it(case):
    import hashlib

    run(case, "2026-01")
    folder = case[2] / "2026-01"
    outputs = json.loads((folder / "manifest.json").read_text())["outputs"]
    assert outputs == {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("lines.csv", "payouts.csv")}


def explain(case, rep, period, *args):
    plans, data, out = case
    r = invoke("explain", "--plans", plans, "--data", data, "--rep", rep, "--period", period, "--allow-incomplete", "--out", out, *args, columns=250)
    assert r.exit_code == 0, r.output
    return r.output


def test_explain_names_what_changed_in_each_closed_period(case, january):
    close(case, january)  # A1 paid 300.00
    add_sale(case, "S06,A1,C06,loan,500,2026-01-28,")
    cancel(case, "S01", "2026-01-25")
    # January recomputed: 300 + 50 - 300 (S01 clawed back) = 50.00; difference 50 - 300 = -250.00;
    # February payout so far 100.00: line -100.00, open -150.00
    text = " ".join(explain(case, "A1", "2026-02").split())
    assert (
        "Closed periods restated 2026-01: paid 300.00, recomputed 50.00, difference -250.00: "
        "sales added: S06; cancellations reported since: S01"
    ) in text
    assert "Restatement -100.00 closed periods 2026-01: recomputed minus paid = due -250.00" in text
    assert "Restatement open -150.00" in text
    j = json.loads(explain(case, "A1", "2026-02", "--format", "json"))
    assert (j["restatement"], j["restatement_open"]) == ("-100.00", "-150.00")
    assert j["restated_periods"] == [
        {"period": "2026-01", "recorded": "300.00", "recomputed": "50.00", "difference": "-250.00",
         "why": "sales added: S06; cancellations reported since: S01"}
    ]  # fmt: skip
    rows = explain(case, "A1", "2026-02", "--format", "csv").splitlines()
    assert rows[-1].startswith("A1,2026-02,restatement,")


def test_explain_says_plan_rules_changed_when_the_same_sales_price_differently(case, january):
    close(case, january)
    plan = case[0] / "flat.yaml"
    plan.write_text(plan.read_text().replace("rate: 0.1", "rate: 0.12"))
    # January: 3000 x 12% = 360.00 against 300.00 paid: +60.00
    text = " ".join(explain(case, "A1", "2026-02").split())
    assert "2026-01: paid 300.00, recomputed 360.00, difference +60.00: plan rules changed: the same sales price differently (S01)" in text


def test_html_statements_show_the_restated_periods(case, january):
    close(case, january)
    add_sale(case, "S06,A1,C06,loan,500,2026-01-28,")
    run(case, "2026-02", "--statements")
    pages = list((case[2] / "2026-02" / "statements").glob("A1-*.html"))
    html = pages[0].read_text()
    assert "<h2>Closed periods restated</h2>" in html
    assert "2026-01: paid 300.00, recomputed 350.00, difference +50.00: sales added: S06" in html


def test_history_lists_closed_periods_their_totals_and_whether_they_verify(case, january):
    close(case, january)
    add_sale(case, "S06,A1,C06,loan,500,2026-01-28,")
    run(case, "2026-02")
    lines_file = case[2] / "2026-01" / "lines.csv"
    lines_file.write_text(lines_file.read_text() + "edited\n")
    r = invoke("history", "--out", case[2], "--format", "csv")
    assert r.exit_code == 0, r.output
    # January 300 + 200 = 500.00; February A1 100 + 50, B1 400: 550.00, restated 50.00
    assert r.output.splitlines() == [
        "period,currency,reps,earned,payout,restatement,restatement_open,status,changed",
        "2026-01,EUR,2,500.00,500.00,0.00,0.00,changed,lines.csv",
        "2026-02,EUR,2,500.00,550.00,50.00,0.00,verified,",
    ]
    j = json.loads(invoke("history", "--out", case[2], "--format", "json").output)
    assert [p["status"] for p in j["closed_periods"]] == ["changed", "verified"]
    table = " ".join(invoke("history", "--out", case[2], columns=120).output.split())
    assert "2026-01: lines.csv changed since it was paid (explain cannot compare its lines)" in table


def test_diff_with_closed_periods_shows_the_restatement_a_plan_correction_would_cause(case, january, tmp_path):
    close(case, january)  # paid at 10%: A1 300.00, B1 200.00
    new = tmp_path / "corrected.yaml"
    new.write_text((case[0] / "flat.yaml").read_text().replace("rate: 0.1", "rate: 0.12"))
    plans, data, out = case
    r = invoke("diff", plans / "flat.yaml", new, "--plans", plans, "--data", data, "--period", "2026-02", "--allow-incomplete", "--out", out, "--format", "csv")
    assert r.exit_code == 0, r.output
    # under 12%: January A1 360 - 300 = +60.00, B1 240 - 200 = +40.00 due; February A1 120 + 60 = 180.00, B1 480 + 40 = 520.00
    rows = {row["rep_id"]: row for row in csv.DictReader(io.StringIO(r.output))}
    assert (rows["A1"]["old_restatement_due"], rows["A1"]["new_restatement_due"], rows["A1"]["new_payout"]) == ("0.00", "60.00", "180.00")
    assert (rows["B1"]["new_restatement_due"], rows["B1"]["new_payout"]) == ("40.00", "520.00")
    # without --out: no closed periods, no restatement columns
    r = invoke("diff", plans / "flat.yaml", new, "--plans", plans, "--data", data, "--period", "2026-02", "--allow-incomplete", "--format", "csv")
    assert "restatement" not in r.output.splitlines()[0]
