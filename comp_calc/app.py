"""The stages a command runs, as plain functions: load, check, compute, write.

Like a loader pipeline (parse -> validate -> compute), each stage returns data
and collects user mistakes as diagnostics; a stage that cannot go on raises
`InputError` with all of them. Nothing here prints: the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from comp_calc.data.checks import cross_checks
from comp_calc.data.load import file_name, load_inputs
from comp_calc.data.model import Inputs
from comp_calc.engine import RunResult, compute
from comp_calc.errors import Diagnostic, InputError, ReconciliationError
from comp_calc.outputs.results import period_files
from comp_calc.outputs.writer import write_period
from comp_calc.periods import MONTH, QUARTER, Period, parse_period, period_containing, previous
from comp_calc.plan.load import load_plans
from comp_calc.plan.model import PlanSet
from comp_calc.statement_html import statement_files


@dataclass
class Prepared:
    plans: PlanSet
    inputs: Inputs
    period: Period
    period_was_default: bool


def load_plan_set(plans_dir: str | Path) -> PlanSet:
    plans, problems = load_plans(plans_dir)
    if problems:
        raise InputError(problems)
    return plans


def latest_complete_period(inputs: Inputs, plans: PlanSet) -> Period:
    """The latest period (monthly if any plan is monthly) that the data covers to its last day."""
    days = [
        t.frame[col].max()
        for t, col in ((inputs.sales, "sold_on"), (inputs.feedback, "responded_on"), (inputs.contacts, "contacted_on"))
        if t.frame.height
    ]
    if not days:
        raise InputError(Diagnostic(inputs.sales.path or "sales.csv", None, None, "no-data", "no dated rows to choose a period from; pass --period"))
    kinds = {p.period for p in plans.plans}
    kind = MONTH if MONTH in kinds or not kinds else QUARTER
    current = period_containing(max(days), kind)
    if current.end == max(days):
        return current
    return previous(current) or current


def prepare(plans_dir: str | Path, data_dir: str | Path, period: str | None, skip_invalid: bool) -> Prepared:
    """Load and check plans and inputs for a run of `period` (default: latest complete one)."""
    plans = load_plan_set(plans_dir)
    inputs = load_inputs(data_dir)
    if period is None:
        chosen, was_default = latest_complete_period(inputs, plans), True
    else:
        try:
            chosen, was_default = parse_period(period), False
        except ValueError as e:
            raise InputError(Diagnostic("--period", None, None, "bad-period", str(e))) from None
    inputs, _ = cross_checks(inputs, plans, until=chosen.end)
    if inputs.problems and not skip_invalid:
        raise InputError(inputs.problems)
    return Prepared(plans, inputs, chosen, was_default)


def run(prep: Prepared) -> RunResult:
    return compute(prep.plans, prep.inputs, prep.period)


# The date that decides whether an input row belongs to the run (rows dated after
# the period are ignored); reps.csv rows are all used.
_ROW_DATE = {"sales": "sold_on", "feedback": "responded_on", "contacts": "contacted_on"}


def account_rows(prep: Prepared, result: RunResult) -> dict[str, dict[str, int]]:
    """Every input row is used, rejected or ignored, exactly once; raises `ReconciliationError` if not.

    Per input: `read` (records in the file), `rejected` (rows with a problem),
    `ignored` (dated after the period), `used` (the rest). Checked from
    independent sources: the rejected rows are the distinct lines named by the
    problems of that file, the used rows are the kept rows dated within the run,
    and the ignored count is the engine's. The kept and rejected lines must not
    overlap, and read == used + rejected + ignored.
    """
    problems = pl.DataFrame(
        {"file": [d.file for d in prep.inputs.problems], "line": [d.line for d in prep.inputs.problems]},
        schema={"file": pl.String, "line": pl.Int64},
    )
    counts: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    for table in prep.inputs.tables():
        name = file_name(table.name, table.path)
        rejected_lines = problems.filter(pl.col("file") == name)["line"]
        frame = table.frame
        kept_lines = frame["line"]
        if table.name in _ROW_DATE:
            used = int((frame[_ROW_DATE[table.name]] <= result.period.end).sum())
        else:
            used = frame.height
        row = {
            "read": table.rows_read,
            "used": used,
            "rejected": rejected_lines.n_unique(),
            "ignored": result.ignored.get(table.name, 0),
        }
        counts[table.name] = row
        if row["read"] != row["used"] + row["rejected"] + row["ignored"]:
            failures.append(
                f"{name}: {row['read']} rows read but {row['used']} used + {row['rejected']} rejected"
                f" + {row['ignored']} ignored"
            )
        if row["rejected"] != table.rows_rejected:
            failures.append(f"{name}: {row['rejected']} rows have problems but {table.rows_rejected} were rejected")
        if rejected_lines.null_count() or kept_lines.null_count() or kept_lines.n_unique() != frame.height:
            failures.append(f"{name}: rows without a line number or kept twice")
        elif kept_lines.is_in(rejected_lines.drop_nulls().implode()).any():
            failures.append(f"{name}: rows both rejected and used")
    if failures:
        raise ReconciliationError("; ".join(failures))
    return counts


def write(prep: Prepared, result: RunResult, out_dir: str | Path, force: bool, statements: bool = False) -> Path:
    account_rows(prep, result)
    files = period_files(result, prep.plans, prep.inputs, prep.inputs.problems)
    if statements:
        files.update(statement_files(result, prep))
    return write_period(Path(out_dir), result.period.label, files, force)



def validate(plans_dir: str | Path, data_dir: str | Path | None) -> list[Diagnostic]:
    """Every problem of the plans and, if given, the data and its references to the plans."""
    plans, problems = load_plans(plans_dir)
    if data_dir is None:
        return problems
    try:
        inputs = load_inputs(data_dir)
    except InputError as e:
        return problems + e.diagnostics
    inputs, _ = cross_checks(inputs, plans)
    return problems + inputs.problems
