"""`comp-calc explain`: one rep's statement for one period, each line and how it was computed.

The statement is read off the same run `comp-calc run` computes (see
`comp_calc.outputs.statement`), so its numbers are the payouts.csv and lines.csv ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from comp_calc.commands.options import Format
from comp_calc.engine import RunResult, first_period
from comp_calc.errors import UsageError
from comp_calc.outputs.results import LINE_EXACT, LINE_MONEY, lines_frame
from comp_calc.outputs.statement import (
    CLAWBACK_HEADINGS,
    COMMISSION_HEADINGS,
    NUMERIC_CELLS,
    SPIF_HEADINGS,
    Statement,
    check_period_has_data,
    check_rep,
    statement_dict,
    statement_for,
)
from comp_calc.outputs.terminal import console, print_fitted
from comp_calc.outputs.writer import render_csv
from comp_calc.periods import Period
from comp_calc.pipeline import stages
from comp_calc.pipeline.stages import Prepared
from comp_calc.plan.model import PlanSet


def currency_of(plans: PlanSet) -> str:
    return plans.plans[0].currency if plans.plans else ""


def check_after_plans(plans: PlanSet, period: Period) -> None:
    first = first_period(plans, period.kind)
    if first is not None and first.start > period.start:
        raise UsageError(
            "--period",
            "period-before-plans",
            f"{period} is before the plans: the first {period.kind} any plan pays is {first} ({first.start} to {first.end})",
        )


def _prepare_for_rep(
    plans_dir: Path, data_dir: Path, period: str | None, skip_invalid: bool, rep: str, allow_incomplete: bool = False,
    map_file: Path | None = None,
) -> Prepared:
    """Prepare like `run`; a defaulted period follows the rep's plan kind (the latest complete quarter
    for a rep paid by quarter), since a monthly run has no quarterly reps."""
    plans = stages.load_plan_set(plans_dir)
    inputs = stages.load_data(data_dir, map_file=map_file)
    found = inputs.reps.frame.filter(pl.col("rep_id") == rep)
    kind = plans.kind(found["plan"][0]) if found.height else None
    same_kind = PlanSet(tuple(p for p in plans.plans if p.period == kind)) if kind is not None else plans
    prep = stages.check(plans, inputs, *stages.choose_period(inputs, same_kind, period, kind, allow_incomplete), skip_invalid)
    check_rep(prep.inputs, rep, kind, prep.period)
    return prep


def explain(
    rep: str, period: str | None, plans: Path, data: Path, skip_invalid: bool, fmt: Format, allow_incomplete: bool,
    out: Path | None, map_file: Path | None,
) -> None:
    """`comp-calc explain` (its options and help are in `comp_calc.cli`)."""
    prep = _prepare_for_rep(plans, data, period, skip_invalid, rep, allow_incomplete, map_file)
    check_after_plans(prep.plans, prep.period)
    result = stages.run(prep, stages.closed_periods(prep, out))
    check_period_has_data(prep.inputs, prep.period)
    statement = statement_for(result, prep.inputs, rep, currency_of(prep.plans))
    if fmt == Format.json:
        typer.echo(json.dumps(statement_dict(statement), indent=2, ensure_ascii=False))
        return
    if fmt == Format.csv:
        typer.echo(rep_lines_csv(result, rep).decode(), nl=False)
        return
    show(statement, console())
    if prep.period_was_default:
        typer.echo(f"Period {prep.period} is the latest complete period in the data (use --period to choose).")


def rep_lines_csv(result: RunResult, rep: str) -> bytes:
    """The rep's rows of lines.csv for the period (the statement's one table for scripts)."""
    lines = lines_frame(result).filter(pl.col("rep_id") == rep)
    return render_csv(lines, LINE_MONEY, LINE_EXACT)


def show(s: Statement, out: Console) -> None:
    """The statement as a person reads it: header, lines, clawbacks, then the way to the payout."""
    say = lambda text="": out.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    say(s.title)
    say(s.period_sentence)
    say(s.plan_sentence)
    say(s.dates_sentence)
    say(s.quota_sentence)
    say(s.attainment_sentence)
    say(s.quality_sentence)
    if s.quality is not None:
        for m in s.quality.metrics:
            say("  " + s.quality.metric_sentence(m))
        say("  " + s.quality.window_sentence)
    say()
    if s.commissions.height:
        print_fitted(out, s.commissions.select(list(COMMISSION_HEADINGS)), COMMISSION_HEADINGS, NUMERIC_CELLS, 1, "Commission lines")
    else:
        say("Commission lines: none")
        say()
    if s.spif_lines is not None:
        print_fitted(out, s.spif_lines.select(list(SPIF_HEADINGS)), SPIF_HEADINGS, NUMERIC_CELLS, 1, "Campaign lines (spifs)")
    if s.clawback_lines.height:
        print_fitted(out, s.clawback_lines.select(list(CLAWBACK_HEADINGS)), CLAWBACK_HEADINGS, NUMERIC_CELLS, 1, "Clawbacks")
    if s.override_notes:
        say("Overrides: a share of each report's net credit")
        for note in s.override_notes:
            say("  " + note)
        say()
    if s.holdback_notes or s.release_notes:
        say("Held back and released")
        for note in (*s.holdback_notes, *s.release_notes):
            say("  " + note)
        say()
    if s.restated:
        say("Closed periods restated")
        for r in s.restated:
            say("  " + r.sentence)
        say()
    summary = Table(box=None, show_header=False, pad_edge=False)
    summary.add_column("", justify="left", no_wrap=True)
    summary.add_column("", justify="right", no_wrap=True)
    summary.add_column("", justify="left")  # the notes wrap at word boundaries; amounts never do
    for label, amount, note in s.summary_rows():
        summary.add_row(label, amount, note)
    out.print(summary)
