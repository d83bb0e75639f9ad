"""The benchmark's smallest size end to end: generate, run comp-calc, run the pandas baseline.

No timing is asserted: this only proves the benchmark works and that the independent
pandas implementation of the bench plan agrees with comp-calc to the cent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BENCH = ROOT / "bench"

pytest.importorskip("numpy")
pytest.importorskip("pandas")


def _run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    sys.path.insert(0, str(BENCH))
    try:
        import run as bench_run
    finally:
        sys.path.remove(str(BENCH))
    reps, sales, feedback, contacts = bench_run.SIZES["tiny"]
    data = tmp_path_factory.mktemp("bench") / "tiny"
    done = _run(
        BENCH / "generate.py", "--out", data, "--seed", "3", "--reps", reps, "--sales", sales,
        "--feedback", feedback, "--contacts", contacts, "--start", bench_run.START, "--months", bench_run.MONTHS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data


@pytest.fixture(scope="module")
def tiny_run(tiny_data: Path, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """comp-calc run of the bench plan on the tiny data, once for the module: the process and its
    output folder (the tests only read them)."""
    out = tmp_path_factory.mktemp("tiny-run") / "out"
    done = _run(
        "-c", "from comp_calc.cli import app; app()", "run", "--plans", BENCH / "plan", "--data", tiny_data,
        "--period", "2026-10", "--out", out, "--format", "json", "--force",
    )  # fmt: skip
    return done, out


def test_comp_calc_and_pandas_agree_to_the_cent(tiny_data: Path, tiny_run) -> None:
    ours, _ = tiny_run
    assert ours.returncode == 0, ours.stderr
    theirs = _run(BENCH / "pandas_impl.py", "--plans", BENCH / "plan", "--data", tiny_data, "--period", "2026-10", "--payouts")
    assert theirs.returncode == 0, theirs.stderr
    ours_json, theirs_json = json.loads(ours.stdout), json.loads(theirs.stdout)
    (ours_totals,) = ours_json["totals"].values()  # totals per currency: the bench plan has one

    assert ours_totals["reps"] > 20
    # the bench plan uses no key of SPEC section 6: those totals are 0.00 and the pandas one has none
    section6 = {k: v for k, v in ours_totals.items() if k not in theirs_json["totals"]}
    assert section6 and set(section6.values()) == {"0.00"}
    assert {k: v for k, v in ours_totals.items() if k not in section6} == theirs_json["totals"]
    assert {r["rep_id"]: r["payout"] for r in ours_json["reps"]} == theirs_json["payouts"]


def test_bench_plan_exercises_every_step(tiny_run) -> None:
    """The bench data and plan produce every kind of line: split credit, quality, cap, clawback, carry."""
    done, out = tiny_run
    assert done.returncode == 0, done.stderr
    lines = (out / "2026-10" / "lines.csv").read_text(encoding="utf-8")
    assert ",relationship," in lines
    assert ",clawback," in lines
    payouts = (out / "2026-10" / "payouts.csv").read_text(encoding="utf-8").splitlines()
    header = payouts[0].split(",")
    qualities = {row.split(",")[header.index("quality_multiplier")] for row in payouts[1:]}
    assert qualities - {"1.00", ""}, "some rep's quality multiplier differs from 1"


def test_run_script_end_to_end(tiny_data: Path, tmp_path: Path) -> None:
    done = _run(BENCH / "run.py", "--data", tiny_data, "--out", tmp_path / "out", "--json", tmp_path / "figures.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equal to the cent" in done.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["match"] is True
    assert set(figures["results"]) == {"(a) polars read", "(b) comp-calc", "(c) pandas"}


def test_repeated_sales_run_streaming(tiny_data: Path, tmp_path: Path) -> None:
    """The 100M size is the 10M one with each sale repeated: ids stay unique and in order, and
    bench/run.py runs comp-calc --streaming on it."""
    sys.path.insert(0, str(BENCH))
    try:
        import run as bench_run
    finally:
        sys.path.remove(str(BENCH))
    data = bench_run.repeat_sales(tiny_data, tmp_path / "repeated", 3)
    original = (tiny_data / "sales.csv").read_text().splitlines()
    repeated = (data / "sales.csv").read_text().splitlines()
    assert repeated[0] == original[0] and len(repeated) - 1 == 3 * (len(original) - 1)
    first = original[1].split(",", 1)
    assert repeated[1:4] == [f"{first[0]}-{k},{first[1]}" for k in range(3)]
    ids = [row.split(",", 1)[0] for row in repeated[1:]]
    assert ids == sorted(set(ids))
    done = _run(BENCH / "run.py", "--data", data, "--out", tmp_path / "out", "--skip-pandas", "--streaming", "--json", tmp_path / "f.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "f.json").read_text())["streaming"] is True


def test_the_s6_world_runs_every_section_6_component(tmp_path: Path) -> None:
    """bench/plan-s6 on the sample (the generator's sample preset: --currencies --managers), the
    world chosen by its plans folder: comp-calc exits 0 (its own reconciliation of lines against
    payouts passed), pays in EUR and GBP, writes a line of every section 6 kind, and pandas is
    skipped, saying why."""
    done = _run(BENCH / "run.py", "--data", ROOT / "sample_data", "--plans", BENCH / "plan-s6", "--out", tmp_path / "out",
                "--json", tmp_path / "figures.json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(c) pandas: skipped in the s6 world" in done.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["world"] == "s6" and set(figures["total_payout"]) == {"EUR", "GBP"}
    assert set(figures["results"]) == {"(a) polars read", "(b) comp-calc"}
    lines = (tmp_path / "out" / "2026-10" / "lines.csv").read_text(encoding="utf-8")
    kinds = {row.split(",")[2] for row in lines.splitlines()[1:]}
    assert {"spif", "outcome_bonus", "activity_bonus", "override", "holdback", "release", "draw", "clawback"} <= kinds
