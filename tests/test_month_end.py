"""Month end as a finance analyst lives it: nothing closed by accident, reps left out are named,
a summary that adds up. Run through the CLI on the shipped plans and sample data (its latest
date is 2026-10-31)."""

from __future__ import annotations

import json

import pytest

from conftest import PLANS, SAMPLE, invoke

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


def test_a_complete_period_is_recorded_as_complete(tmp_path):
    result = invoke("run", "--plans", PLANS, "--data", SAMPLE, "--out", tmp_path / "out", "--period", "2026-10")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "2026-10" / "manifest.json").read_text())
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


def test_the_summary_adds_up_and_fits_80_columns(tmp_path):
    out = _summary(tmp_path, "--period", "2026-10")
    assert all(len(line) <= 80 for line in out.splitlines()), out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL")).split()
    payouts = json.loads((tmp_path / "out" / "2026-10" / "manifest.json").read_text())["totals"]
    # in 2026-10 nobody carries a balance: earned, cap, clawbacks and payout are shown, carry hidden
    assert "payout = earned + cap + clawbacks" in out and "carry" not in out.split("payout =")[0]
    earned, cap, clawbacks, payout = total[1:]
    assert (earned, cap, clawbacks, payout) == (payouts["earned"], payouts["cap_adjustment"], payouts["clawbacks"], payouts["payout"])
    from decimal import Decimal as D

    assert D(earned) + D(cap) + D(clawbacks) == D(payout)


def test_carry_columns_appear_when_a_balance_is_carried(tmp_path):
    # 2026-Q3 of the quarterly branch plan: a rep carries -24.00 in and out
    out = _summary(tmp_path, "--period", "2026-Q3")
    assert "payout = earned + clawbacks + carry in - carried out" in " ".join(out.split())
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_reps_paid_by_the_other_kind_of_period_are_named_with_the_run_that_pays_them(tmp_path):
    out = _summary(tmp_path, "--period", "2026-10")
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
    assert got["totals"]["delta"] != "0.00"


def test_diff_in_a_period_after_old_says_why_little_moves():
    result = invoke("diff", V1, V2, "--plans", PLANS, "--data", SAMPLE, "--period", "2026-09", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "OLD is not in force in 2026-09" in json.loads(result.stdout)["note"]
    assert "--period 2026-06" in json.loads(result.stdout)["note"]


def test_diff_of_two_different_plans_says_they_must_be_versions_of_one_plan():
    result = invoke("diff", V1, PLANS / "outbound-2026-v1.yaml", "--plans", PLANS, "--data", SAMPLE)
    assert result.exit_code == 2
    assert "different-plans" in result.stderr and "OLD and NEW must be versions of the same plan" in result.stderr
