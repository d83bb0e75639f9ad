"""`comp-calc history --out DIR`: the closed periods in an output folder, their totals per
currency, and whether each still matches the record its manifest keeps.

A period folder holding a manifest.json is closed: it was paid. Its manifest records the
sha256 of its payouts.csv and lines.csv (`comp_calc.data.closed`); `verified` means both
still match, `changed` names the file that does not (a later run refuses to restate against
a changed payouts.csv), `not recorded` is a folder written before that record existed
(trusted as it is), `unreadable` a manifest that cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import typer

from comp_calc.commands.options import Format
from comp_calc.data.closed import FolderCheck, history as closed_history
from comp_calc.errors import UsageError
from comp_calc.outputs.terminal import console, print_fitted
from comp_calc.outputs.writer import render_csv

COLUMNS = ["period", "currency", "reps", "earned", "payout", "restatement", "restatement_open", "status", "changed"]
HEADINGS = {
    "period": "period", "currency": "currency", "reps": "reps", "earned": "earned", "payout": "payout",
    "restatement": "restatement", "restatement_open": "open", "status": "status", "changed": "changed files",
}  # fmt: skip
MONEY = {"earned", "payout", "restatement", "restatement_open"}


def _rows(check: FolderCheck) -> list[dict]:
    """One row per currency of the period (the manifest's totals per currency; an older manifest's
    single totals, not keyed by currency, with the currency left empty)."""
    manifest = check.manifest or {}
    totals = manifest.get("totals") if isinstance(manifest.get("totals"), dict) else {}
    if not totals or not all(isinstance(t, dict) for t in totals.values()):
        totals = {"": totals}
    base = {"period": check.period.label, "status": check.status, "changed": ";".join(check.changed)}
    return [
        base | {"currency": currency, "reps": t.get("reps"), **{c: t.get(c, "0.00") if t else None for c in sorted(MONEY)}}
        for currency, t in sorted(totals.items())
    ]


def history_frame(out: Path) -> pl.DataFrame:
    rows = [row for check in closed_history(out) for row in _rows(check)]
    schema = {c: pl.Int64 if c == "reps" else pl.String for c in COLUMNS}
    return pl.DataFrame(rows, schema=schema, orient="row").select(COLUMNS) if rows else pl.DataFrame(schema=schema)


def history(out: Path, fmt: Format) -> None:
    """`comp-calc history` (its options and help are in `comp_calc.cli`)."""
    if not out.is_dir():
        raise UsageError("--out", "no-output-folder", f"{out} is not a folder of period results")
    frame = history_frame(out)
    if fmt == Format.json:
        typer.echo(json.dumps({"closed_periods": frame.to_dicts()}, indent=2, ensure_ascii=False))
        return
    if fmt == Format.csv:
        typer.echo(render_csv(frame, set(), set()).decode(), nl=False)
        return
    shown = frame.with_columns(pl.col("reps").cast(pl.String))
    if not shown.height:
        console().print(f"No closed periods in {out}.", markup=False, highlight=False)
        return
    print_fitted(console(), shown, HEADINGS, MONEY | {"reps"}, 2, f"Closed periods in {out}")
    changed = frame.filter(pl.col("status") == "changed").unique("period", maintain_order=True)
    for period, files in zip(changed["period"].to_list(), changed["changed"].to_list(), strict=True):
        effect = "a run restating it is refused" if "payouts.csv" in files else "explain cannot compare its lines"
        console().print(f"{period}: {files} changed since it was paid ({effect}).", markup=False, highlight=False)
