"""Terminal rendering shared by the commands: rich tables for people, JSON/CSV for scripts,
diagnostics and errors on stderr. Only the CLI layer (`comp_calc.cli`, `comp_calc.commands`)
and this module write to the terminal."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from comp_calc.errors import Diagnostic
from comp_calc.outputs.results import PAYOUT_COLUMNS, PAYOUT_EXACT, PAYOUT_MONEY, payouts_frame
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.numbers import column_exact_text
from comp_calc.outputs.writer import exceptions_frame, render_csv

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one diagnostic, one line: grep- and click-able

MAX_SHOWN = 20
MAX_TABLE_ROWS = 200


def console() -> Console:
    """A console made per command, so the terminal width (COLUMNS) is read when the command runs."""
    return Console(highlight=False, soft_wrap=False)


def print_wide(out: Console, table: Table, blank_after: bool = True) -> None:
    """Print a table at least as wide as its cells need, so no number is ever cut, even on a narrow
    terminal (the terminal then wraps the long lines itself)."""
    wide = Console(width=10_000, file=out.file, highlight=False, soft_wrap=False)
    needed = wide.measure(table).maximum
    Console(width=max(out.width, needed), file=out.file, highlight=False, soft_wrap=False).print(table)
    if blank_after:
        out.print()


def _write(text: str | bytes) -> None:
    sys.stdout.write(text.decode() if isinstance(text, bytes) else text)
    sys.stdout.flush()


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)


def diagnostics(diags: list[Diagnostic], as_json: bool = False) -> None:
    """Bad input: the first problems as `file:line: code column: message`, then the count (when
    there are several). Warnings of a run that goes on (`is_warning`) are marked `warning:`
    and counted as such."""
    if as_json:
        _write(json.dumps({"diagnostics": [d.as_dict() for d in diags]}, indent=2) + "\n")
        return
    for d in diags[:MAX_SHOWN]:
        err.print(str(d), markup=False, highlight=False)
    if len(diags) > MAX_SHOWN:
        err.print(f"... and {len(diags) - MAX_SHOWN} more", markup=False)
    if diags and all(d.is_warning for d in diags):
        err.print(f"{_count(len(diags), 'warning')} (--strict makes them errors).", markup=False)
    elif len(diags) > 1:  # one problem is one line
        err.print(f"{len(diags)} problems found; nothing was written.", markup=False)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def validation(diags: list[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        _write(json.dumps({"diagnostics": [d.as_dict() for d in diags]}, indent=2) + "\n")
    elif fmt == "csv":
        _write(render_csv(exceptions_frame(diags), set(), set()))
    elif diags:
        for d in diags:
            out.print(str(d), markup=False, soft_wrap=True)
        warnings = sum(d.is_warning for d in diags)
        errors = len(diags) - warnings
        if not warnings:
            out.print(f"{_count(errors, 'problem')} found.", markup=False)
        elif not errors:
            out.print(f"No problems; {_count(warnings, 'warning')} found (--strict makes them errors).", markup=False)
        else:
            out.print(f"{_count(errors, 'problem')} and {_count(warnings, 'warning')} found.", markup=False)
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
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in frame.columns:
        widest = max([len(c), *(len(v) for v in frame[c].drop_nulls().to_list())])
        if c in right or c == "rep_id":  # never cut a number or an id; text columns give way
            table.add_column(c, justify="right" if c in right else "left", no_wrap=True, min_width=widest)
        else:
            table.add_column(c, no_wrap=True, overflow="ellipsis", max_width=16)
    cells = [frame[c].fill_null("").to_list() for c in frame.columns]  # a computed summary, for display
    for values in zip(*cells, strict=True):
        table.add_row(*(Text(v) for v in values))  # ids and names are data, never rich markup
    return table


SUMMARY_MONEY = [c for c in PAYOUT_COLUMNS if c in PAYOUT_MONEY - {"quota"}]  # the amounts, in payouts.csv order


def run_summary(prep, result, folder: Path, fmt: str) -> None:
    payouts = payouts_frame(result)
    totals = {c: payouts[c].sum() if payouts.height else Decimal("0.00") for c in SUMMARY_MONEY}
    if fmt == "json":
        rows = format_frame(payouts, PAYOUT_MONEY, PAYOUT_EXACT).to_dicts()
        totals_json = {"reps": payouts.height, **{c: str(v) for c, v in totals.items()}}
        _write(json.dumps({"period": result.period.label, "out": str(folder), "reps": rows, "totals": totals_json}, indent=2) + "\n")
        return
    if fmt == "csv":
        _write(render_csv(payouts, PAYOUT_MONEY, PAYOUT_EXACT))
        return
    shown = payouts.select(
        "rep_id",
        "name",
        pl.col("credited").round(2).cast(pl.Decimal(38, 2)).cast(pl.String).alias("credited"),
        (pl.col("attainment") * 100).round(1).cast(pl.Decimal(38, 1)).cast(pl.String).add("%").alias("attain."),
        column_exact_text("quality_multiplier", payouts).alias("quality"),
        *[pl.col(c).cast(pl.String) for c in ("earned", "clawbacks", "payout")],
    )
    total_row = pl.DataFrame(
        {"rep_id": ["TOTAL"], "name": [""], "earned": [str(totals["earned"])],
         "clawbacks": [str(totals["clawbacks"])], "payout": [str(totals["payout"])]}
    )  # fmt: skip
    numbers = {"credited", "attain.", "quality", "earned", "clawbacks", "payout"}
    p = result.period
    hidden = max(0, shown.height - MAX_TABLE_ROWS)  # a table of thousands of reps helps nobody; the file has them all
    frame = pl.concat([shown.head(MAX_TABLE_ROWS), total_row], how="diagonal")
    if out.width < 100:  # names only where they fit beside every number
        frame = frame.drop("name")
    table = _table_from(frame, f"Payouts {p.label} ({p.start} to {p.end}), {payouts.height} reps", numbers)
    out.print(table)
    if hidden:
        out.print(f"{hidden} more reps are not shown here; payouts.csv has every rep.", markup=False)
    if prep.period_was_default:
        out.print(f"Period {p.label} is the latest complete period in the data (use --period to choose).", markup=False)
    skipped = len(prep.inputs.problems)
    if skipped:
        out.print(f"{skipped} bad input rows were skipped; see exceptions.csv.", markup=False)
    out.print(f"Wrote {folder}/ (payouts.csv, lines.csv, exceptions.csv, manifest.json)", markup=False)
