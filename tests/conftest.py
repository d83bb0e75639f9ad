"""Helpers shared by the test modules: where the shipped files are, running the CLI
in-process at a pinned terminal width, and writing a small case to disk."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from hypothesis import settings
from typer.testing import CliRunner

from comp_calc.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
PLANS = ROOT / "plans"
PERIOD_FILES = {"payouts.csv", "lines.csv", "exceptions.csv", "manifest.json"}

# Property and fuzz tests: the default run keeps the whole suite to a few minutes on two
# cores; COMP_CALC_FUZZ=large searches 30x longer. No deadline: an example that is slow
# because the machine is busy is not a failure.
FUZZ_SCALE = {"default": 1, "large": 30}.get(os.environ.get("COMP_CALC_FUZZ", "default"), 1)
settings.register_profile("comp-calc", deadline=None)
settings.load_profile("comp-calc")


def invoke(*args: str | Path, columns: int = 80):
    """Run `comp-calc ARGS` in-process with COLUMNS pinned, so rich output is stable."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})


def text(output: str) -> str:
    """Rich pads table lines to the table width; compare without trailing blanks."""
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_case(root: Path, plans: dict[str, str], **tables: str) -> tuple[Path, Path]:
    """ROOT/plans/<name> for each plan text and ROOT/data/<table>.csv for each table text."""
    plans_dir, data = root / "plans", root / "data"
    plans_dir.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    for name, plan in plans.items():
        (plans_dir / name).write_text(plan)
    for name, content in tables.items():
        (data / f"{name}.csv").write_text(content, encoding="utf-8", newline="")
    return plans_dir, data
