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
