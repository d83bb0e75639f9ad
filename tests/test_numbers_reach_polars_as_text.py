"""Plan numbers reach polars as exact text, never as Python Decimals (`steps.exact.decimal_text`).

Handing polars a Python Decimal makes it import numpy, a tenth of a second of every run
(more than the whole pricing of a small month). A run, a run with statements, and validate
over the shipped sample are watched for any import of numpy after polars' own start-up check.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from comp_calc.steps.exact import decimal_text, lit

ROOT = Path(__file__).resolve().parent.parent

WATCH = """
import sys, traceback
tried = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        # polars looks for numpy once at start-up without importing it (`_lazy_import`)
        if name.split(".")[0] == "numpy" and not any(f.name == "_lazy_import" for f in traceback.extract_stack()):
            tried.append("".join(traceback.format_stack(limit=12)))
        return None
sys.meta_path.insert(0, Watch())
from comp_calc.cli import app
sys.argv = ["comp-calc", *sys.argv[1:]]
try:
    app()
except SystemExit as e:
    code = e.code
print("NUMPY" if tried else "CLEAN", code, tried[:1], file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["run", "--period", "2026-Q3"], ["run", "--statements"], ["validate"]],
    ids=["run-quarter", "run-statements", "validate"],
)
def test_a_run_hands_polars_no_python_decimal(tmp_path: Path, args: list[str]):
    out = ["--out", str(tmp_path)] if args[0] == "run" else []
    done = subprocess.run([sys.executable, "-c", WATCH, *args, *out], cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.stderr
    assert last.startswith("CLEAN 0"), done.stderr[-3000:]


def test_decimal_text_is_exact_plain_text():
    # 1E+3 is written out; 2.50 keeps its value at 2 decimals; 0.0005 does not fit 3 decimals
    assert decimal_text(Decimal("1E+3"), 0) == "1000"
    assert decimal_text(Decimal("2.50"), 1) == "2.50"
    assert decimal_text(7, 2) == "7" and decimal_text(None, 2) is None
    with pytest.raises(ValueError):
        decimal_text(Decimal("0.0005"), 3)

    assert pl.select(lit(Decimal("-12.345"), 3)).item() == Decimal("-12.345")
