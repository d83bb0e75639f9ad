"""`comp-calc diff`: rule changes in words and the payout impact, on the hand-computed case of test_explain.

January under plan p (see test_explain): A1 10.80 + 8.10 = 18.90, B2 2.50, D4 6.25; total 27.65.
NEW raises the card rate 0.03 -> 0.04: only S1 (A1, card 800, all in the x0.5 tier) moves:
  800 * 0.04 * 0.5 = 16.00, x0.9 quality = 14.40; A1 14.40 + 8.10 = 22.50, delta 3.60,
  delta_pct 3.60 / 18.90 * 100 = 19.047... -> 19.05; total 27.65 -> 31.25, 3.60 / 27.65 * 100 = 13.0198... -> 13.02.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from test_explain import PLAN, invoke, text, write_case

from comp_calc.pipeline import stages as lib
from comp_calc.outputs.results import payouts_frame
from comp_calc.plan.load import parse_plan
from comp_calc.diff.rules import diff_plans

NEW_PLAN = PLAN.replace("rate: 0.03", "rate: 0.04")

# The same plan, reformatted: flow style, other key order, comments, other number spellings,
# and the rates regrouped without changing what any product gets.
REFORMATTED = """\
# plan p, rewritten by hand
version: 1
plan: "p"
period: month
currency: EUR
effective_from: 2026-01-01
rounding: half_up
cap: 100.00
rates: [{product: [card], rate: 0.030}, {rate: 0.010}]   # same rates
attainment_tiers:
  - {up_to: 0.50, multiplier: 0.50}
  - {multiplier: 1}
clawback: [{within_days: 30, recover: 1}, {within_days: 90, recover: 0.50}]
quality: {window_days: 31, min_responses: 2, combine: multiply,
          metrics: [{metric: csat, bands: [{below: 0.80, multiplier: 0.90}, {multiplier: 1.00}]}]}
negative_balance: carry_forward
"""

CARD_RATE_TABLE = """\
OLD p version 1 ({old})
NEW p version 1 ({new})

Rule changes:
  rate for card: 0.03 -> 0.04

Payout impact 2026-01 (2026-01-01 to 2026-01-31)
rep    name     old earned  new earned  old payout  new payout  delta  delta %
──────────────────────────────────────────────────────────────────────────────
A1     Ann Lee       18.90       22.50       18.90       22.50   3.60    19.05
B2     Bob Ray        2.50        2.50        2.50        2.50   0.00     0.00
D4     Dee Fox        6.25        6.25        6.25        6.25   0.00     0.00
TOTAL  3 reps                                27.65       31.25   3.60    13.02

1 gain, 0 lose, 2 unchanged.
"""


def case(tmp_path: Path, new_text: str = NEW_PLAN) -> tuple[Path, Path, Path]:
    plans, data = write_case(tmp_path)
    new = tmp_path / "new.yaml"
    new.write_text(new_text)
    return plans, data, new


def run_diff(plans: Path, data: Path, old: str, new: str, *args: str):
    return invoke("diff", old, new, "--plans", str(plans), "--data", str(data), "--allow-incomplete", *args)


def test_rate_change_exact_table(tmp_path):
    plans, data, new = case(tmp_path)
    old = str(plans / "p.yaml")
    result = run_diff(plans, data, old, str(new), "--period", "2026-01")
    assert result.exit_code == 0, result.output
    assert text(result.output) == CARD_RATE_TABLE.format(old=old, new=new)


def test_json_has_rule_changes_reps_and_totals(tmp_path):
    plans, data, new = case(tmp_path)
    result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert [(c["path"], c["old"], c["new"], c["category"], c["change"]) for c in got["rule_changes"]] == [
        ("rates[card]", "0.03", "0.04", "direct", "changed")
    ]
    assert [(r["rep_id"], r["old_payout"], r["new_payout"], r["delta"], r["delta_pct"]) for r in got["reps"]] == [
        ("A1", "18.90", "22.50", "3.60", "19.05"),
        ("B2", "2.50", "2.50", "0.00", "0.00"),
        ("D4", "6.25", "6.25", "0.00", "0.00"),
    ]
    assert got["totals"] == {
        "reps": 3, "old_payout": "27.65", "new_payout": "31.25", "delta": "3.60", "delta_pct": "13.02",
        "gain": 1, "lose": 0, "same": 2,
    }  # fmt: skip


def test_csv_one_row_per_rep(tmp_path):
    plans, data, new = case(tmp_path)
    result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["rep_id"], r["old_payout"], r["new_payout"], r["delta"], r["delta_pct"]) for r in rows] == [
        ("A1", "18.90", "22.50", "3.60", "19.05"),
        ("B2", "2.50", "2.50", "0.00", "0.00"),
        ("D4", "6.25", "6.25", "0.00", "0.00"),
    ]


def test_delta_pct_empty_when_old_payout_is_zero(tmp_path):
    # February: B2 has left (not in the run); everyone else is compared. A plan that pays
    # nothing (rate 0) as OLD gives old payouts of 0, so delta_pct is empty.
    zero = PLAN.replace("rate: 0.03", "rate: 0").replace("rate: 0.01", "rate: 0")
    plans, data = write_case(tmp_path, plan=zero)
    new = tmp_path / "new.yaml"
    new.write_text(PLAN)
    result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["rep_id"], r["old_payout"], r["new_payout"], r["delta"], r["delta_pct"]) for r in rows] == [
        ("A1", "0.00", "18.90", "18.90", ""),
        ("D4", "0.00", "6.25", "6.25", ""),
        ("B2", "0.00", "2.50", "2.50", ""),
    ]
    tripped = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--fail-over", "1000")
    assert tripped.exit_code == 1  # old total 0 and the new one differs: always trips


@pytest.mark.parametrize("new_text", [PLAN, REFORMATTED])
def test_same_plan_or_reformatted_copy_is_no_change(tmp_path, new_text):
    plans, data, new = case(tmp_path, new_text)
    result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-02")
    assert result.exit_code == 0, result.output
    out = text(result.output)
    assert "No change in rules.\n" in out
    assert "0 gain, 0 lose, 2 unchanged.\n" in out
    as_json = json.loads(run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-02", "--format", "json").output)
    assert as_json["rule_changes"] == []
    assert {r["delta"] for r in as_json["reps"]} == {"0.00"} and as_json["totals"]["delta"] == "0.00"


def test_reformatted_plan_parses_to_the_same_rules():
    old, _ = parse_plan(PLAN, "a.yaml")
    new, _ = parse_plan(REFORMATTED, "b.yaml")
    assert old is not None and new is not None
    assert diff_plans(old, new).changes == ()


def test_each_delta_is_run_under_new_minus_run_under_old(tmp_path):
    plans, data, new = case(tmp_path)
    new_dir = tmp_path / "plans_new"
    new_dir.mkdir()
    shutil.copy(new, new_dir / "p.yaml")
    for period in ("2026-01", "2026-02"):
        old_run = payouts_frame(lib.run(lib.prepare(plans, data, period, False, allow_incomplete=True)))
        new_run = payouts_frame(lib.run(lib.prepare(new_dir, data, period, False, allow_incomplete=True)))
        expected = {
            r: n - o
            for r, o, n in zip(old_run["rep_id"], old_run["payout"], new_run["payout"], strict=True)
        }
        result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", period, "--format", "json")
        assert result.exit_code == 0, result.output
        got = {r["rep_id"]: Decimal(r["delta"]) for r in json.loads(result.output)["reps"]}
        assert got == expected


def test_fail_over(tmp_path):
    plans, data, new = case(tmp_path)
    args = (str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "json", "--fail-over")
    over = run_diff(plans, data, *args, "13")  # 13.0198...% > 13
    assert over.exit_code == 1
    assert json.loads(over.stdout)["totals"]["delta_pct"] == "13.02"
    assert over.stderr == "fail-over: total payout changes by 13.02%, over the 13% limit\n"
    assert run_diff(plans, data, *args, "13.02").exit_code == 0  # 13.0198...% <= 13.02
    bad = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--fail-over", "lots")
    assert bad.exit_code == 2
    assert bad.output == "--fail-over: bad-fail-over --fail-over takes a percentage >= 0 such as 2 or 0.5, not 'lots'\n"


def test_new_with_another_version_stands_in_for_old(tmp_path):
    plans, data, new = case(tmp_path, NEW_PLAN.replace("version: 1", "version: 2"))
    result = run_diff(plans, data, str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert [(c["path"], c["old"], c["new"], c["category"]) for c in got["rule_changes"]] == [
        ("version", "1", "2", "metadata"),
        ("rates[card]", "0.03", "0.04", "direct"),
    ]
    assert got["totals"]["delta"] == "3.60"


def test_old_must_be_a_version_of_the_plan_set(tmp_path):
    plans, data, new = case(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(PLAN.replace("plan: p", "plan: q"))
    result = run_diff(plans, data, str(other), str(new), "--period", "2026-01")
    assert result.exit_code == 2
    assert result.output == (
        f"{other}: plan-not-in-set plan q version 1 is not in {plans} (it has: p v1); OLD must be one of its versions\n"
    )


def test_old_outside_plans_stands_in_for_its_version(tmp_path):
    # OLD is a file outside --plans with the same (plan, version): it replaces the set's copy.
    plans, data, new = case(tmp_path)
    outside = tmp_path / "old.yaml"
    outside.write_text(NEW_PLAN)
    result = run_diff(plans, data, str(outside), str(new), "--period", "2026-01", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["rule_changes"] == [] and got["totals"]["old_payout"] == "31.25" and got["totals"]["delta"] == "0.00"


# --------------------------------------------------------------------------
# OLD or NEW at a git revision


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git checkout holding plans/p.yaml as committed, then edited (card rate 0.04) in the work tree."""
    root = tmp_path / "repo"
    plans, data = write_case(root)
    git(root, "init", "-q")
    git(root, "add", "plans/p.yaml")
    git(root, "commit", "-q", "-m", "plan p")
    (plans / "p.yaml").write_text(NEW_PLAN)
    monkeypatch.chdir(root)
    return root


def test_diff_against_head_inside_a_checkout(repo):
    result = invoke("diff", "plans/p.yaml@HEAD", "plans/p.yaml", "--plans", "plans", "--data", "data", "--period", "2026-01", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    assert text(result.output) == CARD_RATE_TABLE.format(old="plans/p.yaml@HEAD", new="plans/p.yaml")


def test_revision_path_is_resolved_from_a_subfolder(repo, monkeypatch):
    monkeypatch.chdir(repo / "plans")
    result = invoke("diff", "p.yaml@HEAD", "p.yaml", "--plans", ".", "--data", "../data", "--period", "2026-01", "--allow-incomplete", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["delta"] == "3.60"


def test_unknown_revision_is_a_clear_error(repo):
    result = invoke("diff", "plans/p.yaml@nosuchrev", "plans/p.yaml", "--plans", "plans", "--data", "data", "--period", "2026-01", "--allow-incomplete")
    assert result.exit_code == 2
    assert result.output.startswith("plans/p.yaml@nosuchrev: git-failed cannot read plans/p.yaml at revision nosuchrev: ")
    assert result.output.count("\n") == 1


def test_unknown_path_at_revision_is_a_clear_error(repo):
    result = invoke("diff", "plans/gone.yaml@HEAD", "plans/p.yaml", "--plans", "plans", "--data", "data")
    assert result.exit_code == 2
    assert result.output.startswith("plans/gone.yaml@HEAD: git-failed cannot read plans/gone.yaml at revision HEAD: ")
    assert result.output.count("\n") == 1


def test_revision_outside_a_checkout_is_a_clear_error(tmp_path, monkeypatch):
    plans, data, new = case(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = invoke("diff", "plans/p.yaml@HEAD", "new.yaml", "--plans", "plans", "--data", "data")
    assert result.exit_code == 2
    assert result.output == "plans/p.yaml@HEAD: not-a-git-checkout plans is not inside a git checkout\n"


def two_versions(tmp_path: Path, v2_rules: str = NEW_PLAN) -> tuple[Path, Path]:
    """plans/ with p version 1 (from 2026-01) and version 2 (from 2026-02) with `v2_rules`."""
    plans, data = write_case(tmp_path)
    (plans / "p2.yaml").write_text(v2_rules.replace("version: 1", "version: 2").replace("2026-01-01", "2026-02-01"))
    return plans, data


def test_diff_of_two_versions_of_the_set_applies_new_rules_in_old_slot(tmp_path):
    plans, data = two_versions(tmp_path)
    result = run_diff(plans, data, str(plans / "p.yaml"), str(plans / "p2.yaml"), "--period", "2026-01", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert [(c["path"], c["old"], c["new"]) for c in got["rule_changes"]] == [
        ("version", "1", "2"),
        ("effective_from", "2026-01-01", "2026-02-01"),
        ("rates[card]", "0.03", "0.04"),
    ]
    assert got["note"] == f"NEW is version 2 of {plans} already; its rules are applied in place of version 1 (in force from 2026-01-01)"
    assert got["totals"]["delta"] == "3.60"  # the card rate of version 2 in January, as computed above


def test_new_clashing_with_another_version_of_the_set_is_refused(tmp_path):
    plans, data = two_versions(tmp_path)
    other = tmp_path / "other-v2.yaml"
    other.write_text(PLAN.replace("version: 1", "version: 2").replace("2026-01-01", "2026-02-01").replace("cap: 100", "cap: 50"))
    result = run_diff(plans, data, str(plans / "p.yaml"), str(other), "--period", "2026-01")
    assert result.exit_code == 2
    assert result.output == (
        f"{other}: plan-version-clash NEW is plan p version 2, which {plans} already has with other rules ({plans / 'p2.yaml'}); "
        "give NEW a version number of its own to stand in for OLD\n"
    )


def test_fail_over_rep(tmp_path):
    # A1: 18.90 -> 22.50, delta 3.60 = 19.047...% of 18.90; B2 and D4 do not move
    plans, data, new = case(tmp_path)
    args = (str(plans / "p.yaml"), str(new), "--period", "2026-01", "--format", "csv", "--fail-over-rep")
    over = run_diff(plans, data, *args, "19.04")
    assert over.exit_code == 1
    assert over.stderr == "fail-over-rep: 1 reps' payouts change by more than 19.04%: A1\n"
    assert run_diff(plans, data, *args, "19.05").exit_code == 0  # 19.047...% <= 19.05, compared exactly
    bad = run_diff(plans, data, *args, "-1")
    assert bad.exit_code == 2 and "--fail-over-rep takes a percentage" in bad.stderr


BONUS = """\
outcome_bonus:
  metric: nps
  window_days: 90
  min_responses: 10
  bands:
    - below: 30
      amount: 0
    - below: 60
      amount: 250.00
    - amount: 500.00
"""


def test_outcome_bonus_changes_are_named_in_words():
    old, _ = parse_plan(PLAN, "a.yaml")
    new, problems = parse_plan(PLAN + BONUS, "b.yaml")
    assert not problems
    (added,) = diff_plans(old, new).changes
    assert added.sentence == "added outcome bonus: nps over 90 days, at least 10 responses: 250.00 from 30, 500.00 from 60"
    assert [c.sentence for c in diff_plans(new, old).changes] == [
        "removed outcome bonus: nps over 90 days, at least 10 responses: 250.00 from 30, 500.00 from 60"
    ]
    changed, _ = parse_plan(PLAN + BONUS.replace("250.00", "300").replace("window_days: 90", "window_days: 60"), "c.yaml")
    assert [c.sentence for c in diff_plans(new, changed).changes] == [
        "outcome bonus window (days): 90 -> 60",
        "outcome bonus band 2 amount: 250.00 -> 300",
    ]


DRAW = "draw:\n  amount: 1500.00\n"


def test_draw_changes_are_named_in_words():
    old, _ = parse_plan(PLAN, "a.yaml")
    new, problems = parse_plan(PLAN + DRAW, "b.yaml")
    assert not problems
    assert [c.sentence for c in diff_plans(old, new).changes] == [
        "added draw (minimum pay): 1500.00 a month (recoverable: top-ups owed back from later pay)"
    ]
    assert [c.sentence for c in diff_plans(new, old).changes] == [
        "removed draw (minimum pay): 1500.00 a month (recoverable: top-ups owed back from later pay)"
    ]
    guarantee, _ = parse_plan(PLAN + DRAW.replace("1500.00", "2000") + "  recoverable: false\n", "c.yaml")
    assert [c.sentence for c in diff_plans(new, guarantee).changes] == [
        "draw a month: 1500.00 -> 2000",
        "draw: recoverable: top-ups owed back from later pay -> a guarantee: top-ups never owed back",
    ]


def test_diff_of_a_guarantee_made_recoverable_shows_the_recovered_pay(tmp_path):
    # the draw fixture in March: G1 earns 3500.00 after top-ups of 1500.00 and 800.00 (Jan, Feb).
    # As a guarantee nothing is owed: payout 3500.00. Recoverable: 2300.00 owed, 3500 - 2000 = 1500.00
    # recovered: payout 2000.00, delta -1500.00 (-42.86% of 3500.00); D1's plan is untouched
    fixture = Path(__file__).parent / "fixtures" / "draw"
    old = fixture / "plans" / "guarantee.yaml"
    new = tmp_path / "guarantee-recoverable.yaml"
    new.write_text(old.read_text().replace("recoverable: false", "recoverable: true"))
    result = run_diff(fixture / "plans", fixture / "data", str(old), str(new), "--period", "2026-03", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["description"] for c in report["rule_changes"]] == [
        "draw: a guarantee: top-ups never owed back -> recoverable: top-ups owed back from later pay"
    ]
    rows = {r["rep_id"]: (r["old_payout"], r["new_payout"], r["delta"]) for r in report["reps"]}
    assert rows == {"D1": ("2000.00", "2000.00", "0.00"), "G1": ("3500.00", "2000.00", "-1500.00")}
