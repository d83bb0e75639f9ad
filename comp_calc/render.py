"""Terminal rendering: rich tables for people, JSON/CSV for scripts.

The only module besides the CLI that writes to the terminal.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from comp_calc.errors import Diagnostic
from comp_calc.outputs.results import PAYOUT_EXACT, PAYOUT_MONEY, payouts_frame
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.writer import render_csv

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

MAX_SHOWN = 20


def _write(text: str | bytes) -> None:
    sys.stdout.write(text.decode() if isinstance(text, bytes) else text)
    sys.stdout.flush()


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True)


def diagnostics(diags: list[Diagnostic], as_json: bool = False) -> None:
    """Bad input: the first problems as `file:line: code column: message`, then the count."""
    if as_json:
        _write(json.dumps({"diagnostics": [d.as_dict() for d in diags]}, indent=2) + "\n")
        return
    for d in diags[:MAX_SHOWN]:
        err.print(str(d), markup=False, highlight=False)
    if len(diags) > MAX_SHOWN:
        err.print(f"... and {len(diags) - MAX_SHOWN} more", markup=False)
    noun = "problem" if len(diags) == 1 else "problems"
    err.print(f"{len(diags)} {noun} found; nothing was written.", markup=False)


def validation(diags: list[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        _write(json.dumps({"diagnostics": [d.as_dict() for d in diags]}, indent=2) + "\n")
    elif fmt == "csv":
        from comp_calc.outputs.writer import exceptions_frame

        _write(render_csv(exceptions_frame(diags), set(), set()))
    elif diags:
        for d in diags:
            out.print(str(d), markup=False)
        out.print(f"{len(diags)} problem{'s' if len(diags) != 1 else ''} found.", markup=False)
    else:
        out.print("All clear: no problems found.", markup=False)


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while a long stage runs (only on a terminal)."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


def _table_from(frame: pl.DataFrame, title: str, right: set[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in frame.columns:
        table.add_column(c, justify="right" if c in right else "left")
    cells = [frame[c].fill_null("").to_list() for c in frame.columns]  # a computed summary, for display
    for values in zip(*cells, strict=True):
        table.add_row(*values)
    return table


SUMMARY_COLUMNS = ["rep_id", "name", "team", "credited", "attainment", "quality_multiplier", "earned", "clawbacks", "payout"]


def run_summary(prep, result, folder: Path, fmt: str) -> None:
    payouts = payouts_frame(result)
    totals = {c: str(payouts[c].sum()) for c in ["earned", "cap_adjustment", "clawbacks", "carry_in", "payout", "carry_out"]}
    if fmt == "json":
        rows = format_frame(payouts, PAYOUT_MONEY, PAYOUT_EXACT).to_dicts()
        _write(json.dumps({"period": result.period.label, "out": str(folder), "reps": rows, "totals": {"reps": payouts.height, **totals}}, indent=2) + "\n")
        return
    if fmt == "csv":
        _write(render_csv(payouts, PAYOUT_MONEY, PAYOUT_EXACT))
        return
    shown = format_frame(payouts.select(SUMMARY_COLUMNS), PAYOUT_MONEY & set(SUMMARY_COLUMNS), PAYOUT_EXACT)
    numbers = set(SUMMARY_COLUMNS[3:])
    total_row = pl.DataFrame(
        {c: [None] for c in SUMMARY_COLUMNS}, schema={c: pl.String for c in SUMMARY_COLUMNS}
    ).with_columns(
        rep_id=pl.lit("TOTAL"),
        name=pl.lit(f"{payouts.height} reps"),
        credited=pl.lit(None, pl.String),
        earned=pl.lit(totals["earned"]),
        clawbacks=pl.lit(totals["clawbacks"]),
        payout=pl.lit(totals["payout"]),
    )
    table = _table_from(pl.concat([shown, total_row]), f"Payouts {result.period.label} ({result.period.start} to {result.period.end})", numbers)
    out.print(table)
    if prep.period_was_default:
        out.print(f"Period {result.period.label} is the latest complete period in the data (use --period to choose).", markup=False)
    skipped = len(prep.inputs.problems)
    if skipped:
        out.print(f"{skipped} bad input rows were skipped; see exceptions.csv.", markup=False)
    out.print(f"Wrote {folder}/ (payouts.csv, lines.csv, exceptions.csv, manifest.json)", markup=False)
