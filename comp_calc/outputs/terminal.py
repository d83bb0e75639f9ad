"""Terminal rendering shared by the commands: rich tables for people, JSON/CSV for scripts,
diagnostics and errors on stderr. Only the CLI layer (`comp_calc.cli`, `comp_calc.commands`)
and this module write to the terminal.

rich is imported where a console is made, not with this module: a run whose output is JSON
or CSV for a script, with nothing to say on stderr, never imports it. The consoles are made
when the command writes (`console`, `_stderr`), so they read the terminal width then."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from comp_calc.errors import Diagnostic
from comp_calc.outputs.results import PAYOUT_COLUMNS, PAYOUT_EXACT, PAYOUT_MONEY, currency_totals, payouts_frame
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.numbers import column_exact_text, money, money_text
from comp_calc.outputs.rollup import ROLLUP_MONEY, rollup
from comp_calc.outputs.writer import exceptions_frame, render_csv

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

MAX_SHOWN = 20
MAX_TABLE_ROWS = 200


def console() -> Console:
    """A console made per command, so the terminal width (COLUMNS) is read when the command runs."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, emoji=False)


def _stderr() -> Console:
    """The console of diagnostics and errors: one diagnostic, one line (grep- and click-able)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _surely_no_terminal() -> bool:
    """Whether stderr is surely no terminal, as rich would judge it (then rich need not be imported
    to ask): not a tty, and neither TTY_COMPATIBLE nor FORCE_COLOR (which rich honours) is set."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return False
    try:
        return not sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return True


def _write(text: str | bytes) -> None:
    sys.stdout.write(text.decode() if isinstance(text, bytes) else text)
    sys.stdout.flush()


def error(message: str) -> None:
    from rich.markup import escape

    _stderr().print(f"[bold red]error:[/] {escape(message)}", markup=True)


def note(message: str) -> None:
    _stderr().print(f"note: {message}", markup=False, highlight=False)


def diagnostics(diags: list[Diagnostic], as_json: bool = False) -> None:
    """Bad input: the first problems as `file:line: code column: message`, then the count (when
    there are several). Warnings of a run that goes on (`is_warning`) are marked `warning:`
    and counted as such."""
    if as_json:
        _write(json.dumps({"diagnostics": [d.as_dict() for d in diags]}, indent=2) + "\n")
        return
    if not diags:
        return
    err = _stderr()
    for d in diags[:MAX_SHOWN]:
        err.print(str(d), markup=False, highlight=False)
    if len(diags) > MAX_SHOWN:
        err.print(f"... and {len(diags) - MAX_SHOWN} more", markup=False)
    if all(d.is_warning for d in diags):
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
        out = console()
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
        console().print("All clear: no problems found.", markup=False)


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while a long stage runs (only on a terminal)."""
    err = None if _surely_no_terminal() else _stderr()
    if err is not None and err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


def _table(frame: pl.DataFrame, columns: list[str], headings: dict[str, str], right: set[str]) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for c in columns:  # every cell stays on one line: a number or an id is never cut or folded
        table.add_column(headings.get(c, c), justify="right" if c in right else "left", no_wrap=True)
    cells = [frame[c].fill_null("").to_list() for c in columns]  # a computed summary, for display
    for values in zip(*cells, strict=True):
        table.add_row(*(Text(v) for v in values))  # ids and names are data, never rich markup
    return table


def fitted_tables(frame: pl.DataFrame, headings: dict[str, str], right: set[str], keys: int, width: int) -> list[Table]:
    """`frame` (text cells) as tables no wider than `width`: when the columns do not fit side by
    side, those after the first `keys` are split over several tables, each repeating the key
    columns, so no number is cut (a single column wider than the terminal is still printed whole)."""
    from rich.console import Console

    measure = Console(width=10_000, highlight=False).measure
    key_columns, groups = frame.columns[:keys], [[]]
    for column in frame.columns[keys:]:
        candidate = [*key_columns, *groups[-1], column]
        if groups[-1] and measure(_table(frame, candidate, headings, right)).maximum > width:
            groups.append([])
        groups[-1].append(column)
    return [_table(frame, [*key_columns, *group], headings, right) for group in groups]


def print_fitted(out: Console, frame: pl.DataFrame, headings: dict[str, str], right: set[str], keys: int, title: str | None) -> None:
    """`title` on a line of its own, then `frame` as `fitted_tables` at the console's width."""
    if title:
        out.print(title, markup=False, highlight=False, soft_wrap=True)
    for table in fitted_tables(frame, headings, right, keys, out.width):
        out.print(table)
        out.print()


# the amounts that make up the payout, in payouts.csv order (balances left open are not among them)
SUMMARY_MONEY = [c for c in PAYOUT_COLUMNS if c in PAYOUT_MONEY - {"quota", "draw_balance", "restatement_open"}]


# what moves a payout, in the order of the calculation: payout = earned + cap + clawbacks + carry in - carried out
SUMMARY_HEADINGS = {
    "rep_id": "rep", "name": "name", "credited": "credited", "attain.": "attain.", "quality": "quality",
    "earned": "earned", "spifs": "spifs", "outcome_bonus": "outcome bonus", "activity_bonus": "activity bonus",
    "overrides": "overrides", "cap_adjustment": "cap", "clawbacks": "clawbacks", "holdback": "held back",
    "released": "released", "carry_in": "carry in", "draw": "draw", "restatement": "restatement",
    "carry_out": "carried out", "payout": "payout",
}  # fmt: skip
# hidden when all zero: every amount but earned and payout
OPTIONAL_AMOUNTS = tuple(c for c in SUMMARY_MONEY if c not in ("earned", "payout"))


def run_summary(prep, result, folder: Path, fmt: str, left_out=None, statements: bool = False, by: str | None = None) -> None:
    """The run's summary: JSON, CSV or a table; `left_out` names the reps of the other period kind;
    `by` ("team" or "manager") adds a rollup per group (`outputs.rollup`)."""
    payouts = payouts_frame(result)
    by_currency = currency_totals(payouts, SUMMARY_MONEY)  # never summed across currencies
    groups = rollup(payouts, prep.inputs.reps.frame, by) if by else None
    if fmt == "json":
        rows = format_frame(payouts, PAYOUT_MONEY, PAYOUT_EXACT).to_dicts()
        totals_json = {cur: {k: v if k == "reps" else str(v) for k, v in t.items()} for cur, t in by_currency.items()}
        summary = {"period": result.period.label, "out": str(folder), "reps": rows, "totals": totals_json}
        if groups is not None:
            summary["rollup"] = {"by": by, "groups": format_frame(groups, set(ROLLUP_MONEY), {"credited"}).to_dicts()}
        if left_out is not None:
            summary["not_in_run"] = {"reps": left_out.rep_ids, "kind": left_out.kind, "command": left_out.command}
        _write(json.dumps(summary, indent=2) + "\n")
        return
    if fmt == "csv":
        _write(render_csv(payouts, PAYOUT_MONEY, PAYOUT_EXACT))
        return
    out = console()
    amounts = [c for c in SUMMARY_MONEY if c not in OPTIONAL_AMOUNTS or any_nonzero(payouts, c)]
    shown = payouts.select(
        "rep_id",
        "name",
        pl.col("credited").round(2).cast(pl.Decimal(38, 2)).cast(pl.String).alias("credited"),
        (pl.col("attainment") * 100).round(1).cast(pl.Decimal(38, 1)).cast(pl.String).add("%").alias("attain."),
        column_exact_text("quality_multiplier", payouts).alias("quality"),
        *[money_text(pl.col(c)).alias(c) for c in SUMMARY_HEADINGS if c in amounts],
    )
    # one TOTAL row per currency
    several = len(by_currency) > 1
    totals = by_currency or {"": {c: Decimal("0.00") for c in SUMMARY_MONEY}}
    total_row = pl.DataFrame(
        {
            "rep_id": ["TOTAL"] * len(totals),
            "name": [""] * len(totals),
            **{c: [money(t[c]) for t in totals.values()] for c in amounts},
        }
    )
    headings, keys = SUMMARY_HEADINGS, 1
    if several:  # each rep's amounts are in its plan's currency: a column says which, beside the rep
        shown = shown.insert_column(1, payouts["currency"].fill_null(""))
        total_row = total_row.insert_column(1, pl.Series("currency", list(totals)))
        headings, keys = {"rep_id": "rep", "currency": "cur.", **SUMMARY_HEADINGS}, 2
    p = result.period
    hidden = max(0, shown.height - MAX_TABLE_ROWS)  # a table of thousands of reps helps nobody; the file has them all
    frame = pl.concat([shown.head(MAX_TABLE_ROWS), total_row], how="diagonal")
    if out.width < 100:  # names only where they fit beside every number
        frame = frame.drop("name")
    right = set(SUMMARY_HEADINGS) - {"rep_id", "name"}
    say = lambda text: out.print(text, markup=False, highlight=False)  # noqa: E731 - sentences wrap at words
    say(f"Payouts {p.label} ({p.start} to {p.end}), {payouts.height} reps")
    if several:
        say("Amounts are in each rep's plan currency; totals are per currency: " + ", ".join(by_currency) + ".")
    for i, table in enumerate(fitted_tables(frame, headings, right, keys, out.width)):
        if i:
            out.print()
        out.print(table)
    terms = " + ".join(h for c, h in SUMMARY_HEADINGS.items() if c in amounts and c not in ("payout", "carry_out"))
    say(f"payout = {terms}" + (" - carried out" if "carry_out" in amounts else ""))
    if groups is not None:
        _rollup_table(out, groups, by, say)
    if any_nonzero(payouts, "restatement_open"):
        still = payouts.filter(pl.col("restatement_open") != 0)
        opens = ", ".join(f"{money(t['restatement_open'])} {c}".strip() for c, t in currency_totals(still, ["restatement_open"]).items())
        say(f"Restatement left open for later runs: {opens} ({still.height} reps; restatement_open in payouts.csv).")
    if hidden:
        say(f"{hidden} more reps are not shown here; payouts.csv has every rep.")
    if prep.period_was_default:
        say(f"Period {p.label} is the latest complete period in the data (use --period to choose).")
    if left_out is not None:
        ids = ", ".join(left_out.rep_ids[:5]) + (f" and {len(left_out.rep_ids) - 5} more" if len(left_out.rep_ids) > 5 else "")
        say(f"Not in this run: {len(left_out.rep_ids)} reps paid by {left_out.kind} ({ids}); pay them with: {left_out.command}")
    skipped = len(prep.inputs.problems)
    if skipped:
        say(f"{skipped} bad input rows were skipped; see exceptions.csv.")
    written = "payouts.csv, lines.csv, exceptions.csv, manifest.json" + (", statements/" if statements else "")
    say(f"Wrote {folder}/ ({written})")


def _rollup_table(out: Console, groups: pl.DataFrame, by: str, say) -> None:
    """The `--by` rollup under the summary table: one row per group and currency, with a
    currency column when there are several."""
    out.print()
    if by == "team":
        say("By team")
    else:
        say("By manager: each manager with everyone below (a rep counts under every manager above it)")
    several = groups["currency"].n_unique() > 1
    if several:
        say("A group with reps paid in several currencies has one row per currency.")
    shown = groups.select(
        pl.col("group").alias("team" if by == "team" else "manager"),
        *([] if by == "team" else ["name"]),
        *([pl.col("currency").alias("cur.")] if several else []),
        pl.col("reps").cast(pl.String),
        pl.col("credited").round(2).cast(pl.Decimal(38, 2)).cast(pl.String),
        *[money_text(pl.col(c)).alias(c) for c in ROLLUP_MONEY],
    )
    headings = {c: c for c in shown.columns}
    right = {"reps", "credited", *ROLLUP_MONEY}
    for table in fitted_tables(shown, headings, right, 1, out.width):
        out.print(table)


def any_nonzero(frame: pl.DataFrame, column: str) -> bool:
    """Whether some row of `frame` has a nonzero amount in `column` (null counts as 0): a column
    that is zero throughout is left out of a table."""
    return bool(frame.height) and bool(frame.select((pl.col(column).fill_null(0) != 0).any()).item())
