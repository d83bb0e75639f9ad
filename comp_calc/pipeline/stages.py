"""The stages every command runs, as plain functions: load, check, choose the period, compute, write.

Like a loader pipeline (parse -> validate -> compute), each stage returns data
and collects user mistakes as diagnostics; a stage that cannot go on raises
`InputError` with all of them. Nothing here prints: the CLI renders.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from comp_calc.data.checks import cross_checks
from comp_calc.data.contract import FORMATS
from comp_calc.data.load import load_inputs
from comp_calc.data.model import OPTIONAL_FILES, REQUIRED_FILES, ROW_DATE, Inputs
from comp_calc.data.stream import load_inputs_streaming
from comp_calc.engine import RunResult, compute
from comp_calc.errors import Diagnostic, InputError, MachineError
from comp_calc.outputs.results import period_files
from comp_calc.reconcile.rows import account_rows
from comp_calc.outputs.writer import clean_stale_scratch, write_period
from comp_calc.periods import MONTH, QUARTER, Period, parse_period, period_containing, previous
from comp_calc.plan.load import load_plans
from comp_calc.plan.model import PlanSet
from comp_calc.outputs.statement_html import statement_files


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


def latest_complete_period(inputs: Inputs, plans: PlanSet, kind: str | None = None) -> Period:
    """The latest period of `kind` (default: monthly if any plan is monthly) that the data covers
    to its last day."""
    found = [t.scan().select(pl.col(ROW_DATE[t.name]).max()).collect().item() for t in inputs.tables() if t.name in ROW_DATE]
    days = [day for day in found if day is not None]
    if not days:
        raise InputError(Diagnostic(inputs.sales.path or "sales.csv", None, None, "no-data", "no dated rows to choose a period from; pass --period"))
    if kind is None:
        kinds = {p.period for p in plans.plans}
        kind = MONTH if MONTH in kinds or not kinds else QUARTER
    current = period_containing(max(days), kind)
    if current.end == max(days):
        return current
    return previous(current) or current


def valid_period(text: str) -> Period | None:
    """The period `text` names, or None (`choose_period` reports why)."""
    try:
        return parse_period(text)
    except ValueError:
        return None


def choose_period(inputs: Inputs, plans: PlanSet, text: str | None, kind: str | None = None) -> tuple[Period, bool]:
    """(the period `text` names, False), or with no text (the latest complete period of `kind`, True)."""
    if text is None:
        return latest_complete_period(inputs, plans, kind), True
    try:
        return parse_period(text), False
    except ValueError as e:
        raise InputError(Diagnostic("--period", None, None, "bad-period", str(e))) from None


def load_data(data_dir: str | Path, scratch: str | Path | None = None) -> Inputs:
    """The input files of `data_dir`, every row checked. With a `scratch` folder the inputs are read
    for a streaming run: block by block, the dated rows kept on disk there (`comp_calc.data.stream`);
    the folder must outlive the run."""
    return load_inputs(data_dir) if scratch is None else load_inputs_streaming(data_dir, scratch)


def check(plans: PlanSet, inputs: Inputs, period: Period, was_default: bool, skip_invalid: bool) -> Prepared:
    """Cross-check the inputs against the plans up to `period`; bad rows stop the run unless
    `skip_invalid`. Every command comes through here, once per plan set it computes."""
    inputs, _ = cross_checks(inputs, plans, until=period.end)
    if inputs.problems and not skip_invalid:
        raise InputError(inputs.problems)
    return Prepared(plans, inputs, period, was_default)


def prepare(
    plans_dir: str | Path, data_dir: str | Path, period: str | None, skip_invalid: bool, scratch: str | Path | None = None
) -> Prepared:
    """Load and check plans and inputs for a run of `period` (default: latest complete one)."""
    plans = load_plan_set(plans_dir)
    inputs = load_data(data_dir, scratch)
    return check(plans, inputs, *choose_period(inputs, plans, period), skip_invalid)


# inputs larger than this (all files together) are read for a streaming run by default: in
# memory a run takes about 12 times the CSV size (8 GiB for 689 MiB, see bench/README.md)
STREAMING_BYTES = 1 << 30


def large_inputs(data_dir: str | Path) -> bool:
    """Whether the input files of `data_dir` together exceed STREAMING_BYTES."""
    found = [Path(data_dir) / f"{name}{suffix}" for name in (*REQUIRED_FILES, *OPTIONAL_FILES) for suffix in FORMATS]
    return sum(p.stat().st_size for p in found if p.is_file()) > STREAMING_BYTES


SCRATCH_PREFIX = ".streaming-"  # folders `.streaming-<pid>-<random>`: a later run can tell those of dead runs


# errors that mean the disk would not take more: full, a size limit, a quota, read-only
_REFUSED_WRITES = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}
_OS_ERROR_RE = re.compile(r"\(os error (\d+)\)")


def _refused_write(exc: Exception, folder: str) -> MachineError | None:
    """A `MachineError` for `folder` if `exc` says a write was refused (polars reports it in its
    message as `(os error 27)`), else None."""
    number = exc.errno if isinstance(exc, OSError) else None
    if number is None and (m := _OS_ERROR_RE.search(str(exc))):
        number = int(m.group(1))
    if number not in _REFUSED_WRITES:
        return None
    return MachineError(folder, f"{os.strerror(number)} (writing the streaming run's scratch folder)")


@contextlib.contextmanager
def scratch_folder(out_dir: str | Path, wanted: bool) -> Iterator[Path | None]:
    """A fresh folder under `out_dir` for a streaming run's typed input parts, removed afterwards
    (also when the run fails or is interrupted; what a killed run left is removed by the next
    one); None when `wanted` is false. `MachineError` when it cannot be created."""
    if not wanted:
        yield None
        return
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    clean_stale_scratch(out_dir, SCRATCH_PREFIX)  # left by a killed run
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        folder = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=out_dir)
    except OSError as exc:  # the machine refused (exit 3): --out is a file, no space, no permission
        reason = f"cannot create a scratch folder for the streaming run: {exc.strerror or exc}"
        raise MachineError(str(out_dir), reason) from None
    try:
        with folder as path:
            try:
                yield Path(path)
            except (OSError, pl.exceptions.PolarsError) as exc:
                refused = _refused_write(exc, path)
                if refused is None:
                    raise
                raise refused from None
    finally:
        if created:  # a failed run leaves no output folder behind, as in memory
            with contextlib.suppress(OSError):
                out_dir.rmdir()


def run(prep: Prepared) -> RunResult:
    return compute(prep.plans, prep.inputs, prep.period)


def write(prep: Prepared, result: RunResult, out_dir: str | Path, force: bool, statements: bool = False) -> Path:
    account_rows(prep.inputs, result)
    files = period_files(result, prep.plans, prep.inputs, prep.inputs.problems)
    if statements:
        files.update(statement_files(result, prep))
    try:
        return write_period(Path(out_dir), result.period.label, files, force)
    except OSError as e:  # the machine refused (exit 3); nothing partial is left
        raise MachineError.from_os(e, str(Path(out_dir) / result.period.label)) from None



def validate(plans_dir: str | Path, data_dir: str | Path | None, streaming: bool = False) -> list[Diagnostic]:
    """Every problem of the plans and, if given, the data and its references to the plans.

    `streaming`: the data is read block by block (see `prepare`) into a scratch folder
    in the system's temporary folder, removed afterwards."""
    plans, problems = load_plans(plans_dir)
    if data_dir is None:
        return problems
    with contextlib.ExitStack() as stack:
        try:
            if streaming:
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="comp-calc-validate-"))
                inputs = load_inputs_streaming(data_dir, scratch)
            else:
                inputs = load_inputs(data_dir)
        except InputError as e:
            return problems + e.diagnostics
        inputs, _ = cross_checks(inputs, plans)
    return problems + inputs.problems
