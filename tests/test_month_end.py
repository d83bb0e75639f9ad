"""Month end as a finance analyst lives it: nothing closed by accident, reps left out are named,
a summary that adds up. Run through the CLI on the shipped plans and sample data (its latest
date is 2026-10-31)."""

from __future__ import annotations

import json
import re

import pytest

from decimal import Decimal as D

from comp_calc.outputs.terminal import SUMMARY_HEADINGS, SUMMARY_MONEY
from conftest import PLANS, SAMPLE, invoke, read_csv, write_case

LATEST = "2026-10-31"


@pytest.mark.parametrize("period", ["2026-11", "2027-03", "2026-Q4"])
def test_a_period_the_data_does_not_cover_is_refused(tmp_path, period):
    # 2026-Q4 ends on 2026-12-31: the data has one month of it
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", tmp_path / "out", "--period", period)
    assert result.exit_code == 2
    assert "incomplete-period" in result.stderr and f"the latest date in the data is {LATEST}" in result.stderr
    assert "--allow-incomplete" in result.stderr
    assert not (tmp_path / "out").exists()


def test_allow_incomplete_runs_it_and_the_manifest_records_it(tmp_path):
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", tmp_path / "out", "--period", "2026-Q4", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "2026-Q4" / "manifest.json").read_text())
    assert manifest["incomplete_period"] is True and manifest["data_until"] == LATEST


@pytest.fixture(scope="module")
def october(tmp_path_factory):
    """`run --period 2026-10` on the shipped plans and sample, once for the module: its printed
    summary and its output folder (the tests only read them)."""
    out = tmp_path_factory.mktemp("october") / "out"
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", out, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    return result.stdout, out


def test_a_complete_period_is_recorded_as_complete(october):
    _, out = october
    manifest = json.loads((out / "2026-10" / "manifest.json").read_text())
    assert manifest["incomplete_period"] is False and manifest["data_until"] == LATEST


@pytest.mark.parametrize(
    "command",
    [
        ("explain", "--rep", "R0002"),
        ("diff", str(PLANS / "inbound-2026-v2.yaml"), str(PLANS / "inbound-2026-v2.yaml")),
        ("alignment",),
    ],
)
def test_every_command_refuses_the_same_incomplete_period(command):
    result = invoke(*command, "--plans", PLANS, "--data", SAMPLE, "--period", "2026-11")
    assert result.exit_code == 2, result.output
    assert "incomplete-period" in result.stderr


# --------------------------------------------------------------------------
# the run summary


def _summary(tmp_path, *args):
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", tmp_path / "out", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _total_rows(out: str) -> dict[str, dict[str, str]]:
    """currency -> heading -> TOTAL cell, over every table of the summary (a narrow terminal
    splits it in two; with several currencies each table has a TOTAL row per currency)."""
    lines = out.splitlines()
    rows: dict[str, dict[str, str]] = {}
    for start in (i for i, line in enumerate(lines) if line.startswith("rep ")):
        names = re.split(r"\s{2,}", lines[start].strip())  # headings are one or two words, columns 2+ blanks apart
        for line in lines[start + 1 :]:
            if not line.strip() or line.startswith("payout ="):
                break
            if line.startswith("TOTAL"):
                currency, *values = line.split()[1:]
                rows.setdefault(currency, {}).update(zip(names[-len(values):], values, strict=True))
    return rows


def test_the_summary_adds_up_and_fits_80_columns(october):
    out, folder = october
    assert all(len(line) <= 80 for line in out.splitlines()), out
    by_currency = _total_rows(out)
    assert set(by_currency) == {"EUR", "GBP"}  # the sample pays a UK team in GBP: never one total of both
    payouts = read_csv(folder / "2026-10" / "payouts.csv")
    shown = set().union(*by_currency.values())
    for column in SUMMARY_MONEY:  # a column is shown exactly when some rep has a nonzero amount in it
        nonzero = any(D(r[column] or "0") for r in payouts)
        assert (SUMMARY_HEADINGS[column] in shown) == (column in ("earned", "payout") or nonzero), column
    for currency, totals in by_currency.items():
        rows = [r for r in payouts if r["currency"] == currency]
        for column in SUMMARY_MONEY:
            if SUMMARY_HEADINGS[column] in totals:
                assert D(totals[SUMMARY_HEADINGS[column]]) == sum((D(r[column] or "0") for r in rows), D("0.00")), (currency, column)
        terms = [h for h in totals if h not in ("payout", "carried out")]
        assert sum(D(totals[h]) for h in terms) - D(totals.get("carried out", "0")) == D(totals["payout"]), currency
    # the shipped plans pay more than commission this month, overrides among it
    assert {"outcome bonus", "activity bonus", "overrides", "draw"} <= shown
    terms = [h for h in by_currency["EUR"] if h not in ("payout", "carried out")]
    assert f"payout = {' + '.join(terms)}" in " ".join(out.split())


CARRY_PLAN = """\
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
    recover: 1
"""
CARRY_REPS = "rep_id,name,team,plan,quota,start_date,end_date\nA1,Ann,T,p,1000,2026-01-01,\n"
# January: 5000 sold -> earned 500.00. February: 300 sold (30.00) and January's sale cancelled:
# clawback -500.00, net -470.00 -> payout 0, carried out -470.00. March: 100 sold (10.00) + carry in -470.00
# -> payout 0, carried out -460.00.
CARRY_SALES = (
    "sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on\n"
    "S1,A1,C1,x,5000,2026-01-10,2026-02-05\nS2,A1,C2,x,300,2026-02-10,\nS3,A1,C3,x,100,2026-03-31,\n"
)


def test_carry_columns_appear_when_a_balance_is_carried(tmp_path):
    plans, data = write_case(tmp_path, {"p.yaml": CARRY_PLAN}, reps=CARRY_REPS, sales=CARRY_SALES)
    result = invoke("run", "--plans", plans, "--data", data, "--out", tmp_path / "out", "--period", "2026-03")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "payout = earned + carry in - carried out" in said
    assert "TOTAL 10.00 -470.00 -460.00 0.00" in said


def test_reps_paid_by_the_other_kind_of_period_are_named_with_the_run_that_pays_them(tmp_path, october):
    out, _ = october
    said = " ".join(out.split())  # sentences wrap at the terminal width
    assert "Not in this run: 5 reps paid by quarter (R0001, R0009, R0029, R0034, R0039); pay them with: comp-calc run --period 2026-Q3" in said
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", tmp_path / "o2", "--period", "2026-09", "--format", "json")
    assert json.loads(result.stdout)["not_in_run"] == {
        "reps": ["R0001", "R0009", "R0029", "R0034", "R0039"], "kind": "quarter", "command": "comp-calc run --period 2026-Q3",
    }  # fmt: skip


def test_the_closing_line_names_the_statements(tmp_path):
    out = _summary(tmp_path, "--period", "2026-10", "--statements")
    assert " ".join(out.split()).endswith("(payouts.csv, lines.csv, exceptions.csv, manifest.json, statements/)")


# --------------------------------------------------------------------------
# plan changes

V1, V2 = PLANS / "inbound-2026-v1.yaml", PLANS / "inbound-2026-v2.yaml"


def test_diff_of_two_versions_defaults_to_the_last_period_old_is_in_force():
    # v2 takes over from 2026-07-01, so v1's rules move payouts up to 2026-06 only
    result = invoke("diff", V1, V2, "--plans", PLANS, "--data", SAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["period"] == "2026-06"
    assert "period 2026-06 is the latest complete one in which OLD is in force" in got["note"]
    assert got["totals"]["EUR"]["delta"] != "0.00"


def test_diff_in_a_period_after_old_says_why_little_moves():
    result = invoke("diff", V1, V2, "--plans", PLANS, "--data", SAMPLE, "--period", "2026-09", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "OLD is not in force in 2026-09" in json.loads(result.stdout)["note"]
    assert "--period 2026-06" in json.loads(result.stdout)["note"]


def test_diff_of_two_different_plans_says_they_must_be_versions_of_one_plan():
    result = invoke("diff", V1, PLANS / "outbound-2026-v1.yaml", "--plans", PLANS, "--data", SAMPLE)
    assert result.exit_code == 2
    assert "different-plans" in result.stderr and "OLD and NEW must be versions of the same plan" in result.stderr


def test_a_location_like_line_100_is_printed_as_written_not_as_an_emoji(capsys):
    from comp_calc.errors import Diagnostic
    from comp_calc.outputs import terminal

    terminal.diagnostics([Diagnostic("data/sales.csv", 100, "sold_on", "bad-date", "not a date: '2026-13-01'")])
    assert capsys.readouterr().err == "data/sales.csv:100: bad-date sold_on: not a date: '2026-13-01'\n"
