"""Holdbacks through the command line: a streaming run equals the run in memory byte for byte,
with parts held in one period and released in a later one."""

from __future__ import annotations

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
