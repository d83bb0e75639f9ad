"""The generated data looks like a real sales force: attainment clusters around quota.

The shipped sample must be exactly what `bench/generate.py --preset sample` writes, and
at the benchmark's tiny size most rep-periods land between 50% and 150% of quota, a few
above 200%, and the monthly cap of the shipped inbound plan rarely bites. The bare
`comp-calc run` on it pays in two currencies and pays managers overrides.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import PLANS, ROOT, SAMPLE, invoke, read_csv

BENCH = ROOT / "bench"
TABLES = ("reps", "sales", "feedback", "contacts", "campaigns", "fx_rates")

pytest.importorskip("numpy")


def _generate(out: Path, *args: str | int) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--out", str(out), *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _rep_periods(data: Path, out: Path, periods: list[str]) -> list[dict[str, str]]:
    """Every rep row of `comp-calc run --format json` for each period."""
    rows = []
    for period in periods:
        result = invoke("run", "--plans", PLANS, "--data", data, "--period", period, "--out", out, "--format", "json", "--force")
        assert result.exit_code == 0, result.output
        rows += json.loads(result.stdout)["reps"]
    return rows


def test_shipped_sample_is_the_generators_output(tmp_path: Path) -> None:
    """The command documented in sample_data/README.md reproduces the files byte for byte."""
    _generate(tmp_path, "--preset", "sample")
    for name in TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (SAMPLE / f"{name}.csv").read_bytes(), name


def test_tiny_size_attainment_clusters_around_quota(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import run as bench_run
    finally:
        sys.path.remove(str(BENCH))
    reps, sales, feedback, contacts = bench_run.SIZES["tiny"]
    data = tmp_path / "tiny"
    _generate(data, "--seed", 3, "--reps", reps, "--sales", sales, "--feedback", feedback,
              "--contacts", contacts, "--start", bench_run.START, "--months", bench_run.MONTHS)  # fmt: skip
    rows = _rep_periods(data, tmp_path / "out", ["2026-01", "2026-04", "2026-07", "2026-10", "2026-Q2", "2026-Q3"])
    attainment = [Decimal(r["attainment"]) for r in rows if r["attainment"]]
    assert len(attainment) > 100
    near_quota = sum(Decimal("0.5") <= a <= Decimal("1.5") for a in attainment) / len(attainment)
    far_above = sum(a > 2 for a in attainment) / len(attainment)
    capped = sum(Decimal(r["cap_adjustment"]) != 0 for r in rows) / len(rows)
    # the old generator (one fixed quota per group, any sale to any rep) had about a
    # quarter of inbound rep-months between 50% and 150% and a third above 200%
    assert near_quota >= 0.7, near_quota
    assert 0 < far_above <= 0.1, far_above
    assert capped < 0.05, capped


def test_the_bare_run_pays_two_currencies_and_overrides(tmp_path: Path, monkeypatch) -> None:
    """`comp-calc run` with no arguments, as the README's first command runs it."""
    monkeypatch.chdir(ROOT)
    result = invoke("run", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "totals are per currency: EUR, GBP." in said
    assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith("TOTAL")][:2] == [["TOTAL", "EUR"], ["TOTAL", "GBP"]]
    assert "overrides" in said
    payouts = read_csv(tmp_path / "2026-10" / "payouts.csv")
    assert {r["currency"] for r in payouts} == {"EUR", "GBP"}
    assert {r["rep_id"] for r in payouts if r["currency"] == "GBP"} == {"R0007", "R0018", "R0036"}  # the UK team
    overrides = {(r["rep_id"], r["reference"]): r for r in read_csv(tmp_path / "2026-10" / "lines.csv") if r["kind"] == "override"}
    assert {manager for manager, _ in overrides} == {"R0005", "R0007", "R0012", "R0033", "R0041"}  # four team leads, the head
    # R0018 (UK, GBP) sold in October, nothing cancelled: S0003636 2977.05 and S0003830 2077.49, each with
    # 25% relationship credit to an outbound rep (R0018's part 75%), and S0003966 178000.00 alone:
    # net credit 2232.7875 + 1558.1175 + 178000.00 = 181790.905 GBP.
    # The UK lead R0007 (GBP, 0.05%): 181790.905 x 0.0005 = 90.8954525 -> 90.90 GBP.
    # The head R0041 (EUR, 0.02%, 2 levels down): 181790.905 x 1.132227 (GBP->EUR, 2026-10)
    # = 205828.570995435 EUR x 0.0002 = 41.165714... -> 41.17 EUR.
    lead, head = overrides[("R0007", "R0018")], overrides[("R0041", "R0018")]
    assert (lead["amount"], lead["currency"]) == ("90.90", "GBP")
    assert "net credit 181790.905 GBP" in lead["explanation"]
    assert (head["amount"], head["currency"]) == ("41.17", "EUR")
    assert "2 levels down: net credit 205828.570995435 EUR" in head["explanation"]
