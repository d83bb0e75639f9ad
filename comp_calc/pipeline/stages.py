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
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import polars as pl

from comp_calc.data.checks import cross_checks, product_warnings, unknown_campaigns
from comp_calc.data.contract import FORMATS
from comp_calc.data.files import file_name
from comp_calc.data.load import load_inputs
from comp_calc.data.mapping import MAPPING_FILE, load_mapping, relabel
from comp_calc.data.model import OPTIONAL_FILES, REQUIRED_FILES, ROW_DATE, Inputs
from comp_calc.data.stream import load_inputs_streaming
from comp_calc.data.closed import ClosedPeriods, read_closed, refuse_force_before_closed
from comp_calc.engine import RunResult, compute, first_period, missing_fx_rates
from comp_calc.errors import Diagnostic, InputError, MachineError, UsageError
from comp_calc.outputs.results import period_files
from comp_calc.reconcile.rows import account_rows
from comp_calc.outputs.writer import clean_stale_scratch, write_period
from comp_calc.periods import MONTH, QUARTER, Period, parse_period, period_containing, previous
from comp_calc.pipeline import STREAMING_BYTES
from comp_calc.plan.load import load_plans
from comp_calc.plan.model import PlanSet


@dataclass
class Prepared:
    plans: PlanSet
    inputs: Inputs
    period: Period
    period_was_default: bool
    data_until: date | None = None  # the latest date in the data (sales, feedback, contacts)
    # products the plans and the sales do not agree on (`product_warnings`): shown, listed in
    # exceptions.csv, never a reason to stop unless --strict
    warnings: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class LeftOut:
    """Reps active in a run's period whose plan is paid by the other kind of period."""

    rep_ids: list[str]
    kind: str  # their period kind
    command: str  # the run that pays them


def not_in_run(prep: Prepared) -> LeftOut | None:
    """The reps active in the run's period but paid by the other kind of period (a monthly run has
    no quarterly reps, and the reverse), with the run that pays them; None when there are none."""
    other = QUARTER if prep.period.kind == MONTH else MONTH
    plans = [p for p in prep.plans.ids if prep.plans.kind(p) == other]
    start, end = prep.period.start, prep.period.end
    reps = prep.inputs.reps.frame.filter(
        pl.col("plan").is_in(plans) & (pl.col("start_date") <= end) & (pl.col("end_date").is_null() | (pl.col("end_date") >= start))
    )
    if not reps.height:
        return None
    containing = period_containing(prep.period.start, other)
    if prep.data_until is not None and containing.end > prep.data_until:  # not complete yet: its last complete one
        containing = latest_complete_period(prep.inputs, prep.plans, other)
    return LeftOut(sorted(reps["rep_id"].to_list()), other, f"comp-calc run --period {containing.label}")


def load_plan_set(plans_dir: str | Path) -> PlanSet:
    plans, problems = load_plans(plans_dir)
    if problems:
        raise InputError(problems)
    return plans


def latest_date(inputs: Inputs):
    """The latest date in sales, feedback or contacts (their rows' own dates), or None."""
    found = [t.scan().select(pl.col(ROW_DATE[t.name]).max()).collect().item() for t in inputs.tables() if t.name in ROW_DATE]
    return max((day for day in found if day is not None), default=None)


def latest_complete_period(inputs: Inputs, plans: PlanSet, kind: str | None = None) -> Period:
    """The latest period of `kind` (default: monthly if any plan is monthly) that the data covers
    to its last day."""
    last = latest_date(inputs)
    if last is None:
        raise InputError(Diagnostic(inputs.sales.path or "sales.csv", None, None, "no-data", "no dated rows to choose a period from; pass --period"))
    if kind is None:
        kinds = {p.period for p in plans.plans}
        kind = MONTH if MONTH in kinds or not kinds else QUARTER
    current = period_containing(last, kind)
    if current.end == last:
        return current
    return previous(current) or current


def valid_period(text: str) -> Period | None:
    """The period `text` names, or None (`choose_period` reports why)."""
    try:
        return parse_period(text)
    except ValueError:
        return None


def choose_period(
    inputs: Inputs, plans: PlanSet, text: str | None, kind: str | None = None, allow_incomplete: bool = False
) -> tuple[Period, bool]:
    """(the period `text` names, False), or with no text (the latest complete period of `kind`, True).

    A period that ends after the latest date in the data is refused unless `allow_incomplete`:
    closing it would pay from part of its data (a month not yet exported, a quarter of one month)."""
    if text is None:
        return latest_complete_period(inputs, plans, kind), True
    try:
        period = parse_period(text)
    except ValueError as e:
        raise InputError(Diagnostic("--period", None, None, "bad-period", str(e))) from None
    last = latest_date(inputs)
    if not allow_incomplete and (last is None or period.end > last):
        seen = f"the latest date in the data is {last}" if last else "the data has no dated rows"
        message = (
            f"{period} ends on {period.end} but {seen}: its data may be incomplete. "
            "Choose an earlier period, or pass --allow-incomplete to run it anyway"
        )
        raise UsageError("--period", "incomplete-period", message)
    return period, False


def load_data(data_dir: str | Path, scratch: str | Path | None = None, map_file: str | Path | None = None) -> Inputs:
    """The input files of `data_dir`, every row checked. With a `scratch` folder the inputs are read
    for a streaming run: block by block, the dated rows kept on disk there (`comp_calc.data.stream`);
    the folder must outlive the run. `map_file`: the column mapping of CRM exports (default: the
    folder's mapping.yaml, if any; `comp_calc.data.mapping`)."""
    if scratch is None:
        return load_inputs(data_dir, map_file)
    return load_inputs_streaming(data_dir, scratch, map_file=map_file)


def ignored_mapping(data_dir: str | Path | None, map_file: str | Path | None) -> Path | None:
    """The data folder's mapping.yaml when `--map` names another mapping (which wins), else None."""
    if data_dir is None or map_file is None:
        return None
    found = Path(data_dir) / MAPPING_FILE
    if not found.is_file() or (Path(map_file).exists() and found.resolve() == Path(map_file).resolve()):
        return None
    return found


def in_export_terms(inputs: Inputs, diags: list[Diagnostic]) -> list[Diagnostic]:
    """`diags` about the inputs naming the columns of a mapped CRM export by the export's names
    (the loaders do it for the problems they find; this is for the checks after them)."""
    if not any(t.columns for t in inputs.tables()):
        return diags
    return relabel(diags, {file_name(t.name, t.path): t.columns for t in inputs.tables() if t.columns})


def check(
    plans: PlanSet, inputs: Inputs, period: Period, was_default: bool, skip_invalid: bool, strict: bool = False
) -> Prepared:
    """Cross-check the inputs against the plans up to `period`; bad rows stop the run unless
    `skip_invalid`, warnings only when `strict` (then as errors). Every command comes through
    here, once per plan set it computes."""
    data_until = latest_date(inputs)
    loaded = len(inputs.problems)
    inputs, _ = cross_checks(inputs, plans, until=period.end)
    if added := inputs.problems[loaded:]:
        inputs = replace(inputs, problems=[*inputs.problems[:loaded], *in_export_terms(inputs, added)])
    warnings = in_export_terms(inputs, product_warnings(inputs, plans, until=period.end))
    stop = [*([] if skip_invalid else inputs.problems), *([w.as_error() for w in warnings] if strict else [])]
    stop = [*unknown_campaigns(inputs, plans), *stop]  # plan errors: a plan names a campaign the data lacks
    if stop:
        raise InputError(stop)
    return Prepared(plans, inputs, period, was_default, data_until, warnings)


def prepare(
    plans_dir: str | Path,
    data_dir: str | Path,
    period: str | None,
    skip_invalid: bool,
    scratch: str | Path | None = None,
    allow_incomplete: bool = False,
    strict: bool = False,
    map_file: str | Path | None = None,
) -> Prepared:
    """Load and check plans and inputs for a run of `period` (default: latest complete one)."""
    plans = load_plan_set(plans_dir)
    inputs = load_data(data_dir, scratch, map_file)
    return check(plans, inputs, *choose_period(inputs, plans, period, allow_incomplete=allow_incomplete), skip_invalid, strict)


def large_inputs(data_dir: str | Path, map_file: str | Path | None = None) -> bool:
    """Whether the input files of `data_dir` (the exports a column mapping names included) together
    exceed STREAMING_BYTES."""
    found = [Path(data_dir) / f"{name}{suffix}" for name in (*REQUIRED_FILES, *OPTIONAL_FILES) for suffix in FORMATS]
    if Path(data_dir).is_dir():
        mapping, _ = load_mapping(Path(data_dir), map_file)  # its problems are reported when the data is read
        found += [Path(data_dir) / m.file for m in mapping.inputs.values() if m.file]
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


def closed_periods(prep: Prepared, out_dir: str | Path | None, force: bool = False) -> ClosedPeriods:
    """The closed periods in `out_dir` before the run's period, each checked against its manifest
    (their warnings join `prep.warnings`); `--force` on a period older than a closed one is refused."""
    if out_dir is None:
        return ClosedPeriods()
    if force:
        refuse_force_before_closed(out_dir, prep.period)
    closed = read_closed(out_dir, prep.period, first_period(prep.plans, prep.period.kind))
    prep.warnings.extend(closed.warnings)
    return closed


def run(prep: Prepared, closed: ClosedPeriods | None = None) -> RunResult:
    """Compute the run; its input errors (a missing exchange rate, say) name a mapped export's own columns."""
    try:
        return compute(prep.plans, prep.inputs, prep.period, closed)
    except InputError as e:
        raise InputError(in_export_terms(prep.inputs, e.diagnostics)) from None


def write(prep: Prepared, result: RunResult, out_dir: str | Path, force: bool, statements: bool = False) -> Path:
    account_rows(prep.inputs, result)
    files = period_files(result, prep.plans, prep.inputs, [*prep.inputs.problems, *prep.warnings], prep.data_until)
    if statements:
        from comp_calc.outputs.statement_html import statement_files  # only with --statements: not on every run's path

        files.update(statement_files(result, prep))
    try:
        return write_period(Path(out_dir), result.period.label, files, force)
    except OSError as e:  # the machine refused (exit 3); nothing partial is left
        raise MachineError.from_os(e, str(Path(out_dir) / result.period.label)) from None


def validate(
    plans_dir: str | Path, data_dir: str | Path, streaming: bool = False, strict: bool = False,
    map_file: str | Path | None = None,
) -> list[Diagnostic]:
    """Every problem of the plans, the data and its references to the plans, then the warnings
    about products (as errors when `strict`) over the whole data.

    `streaming`: the data is read block by block (see `prepare`) into a scratch folder
    in the system's temporary folder, removed afterwards."""
    plans, problems = load_plans(plans_dir)
    with contextlib.ExitStack() as stack:
        try:
            if streaming:
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="comp-calc-validate-"))
                inputs = load_inputs_streaming(data_dir, scratch, map_file=map_file)
            else:
                inputs = load_inputs(data_dir, map_file)
        except InputError as e:
            return problems + e.diagnostics
        loaded = len(inputs.problems)
        inputs, _ = cross_checks(inputs, plans)
        warnings = in_export_terms(inputs, product_warnings(inputs, plans))
        rates = [] if problems else in_export_terms(inputs, missing_rates(plans, inputs))  # needs the streaming parts
    found = inputs.problems[:loaded] + in_export_terms(inputs, inputs.problems[loaded:])
    return problems + unknown_campaigns(inputs, plans) + found + rates + [w.as_error() if strict else w for w in warnings]


def missing_rates(plans: PlanSet, inputs: Inputs) -> list[Diagnostic]:
    """The exchange rates the data needs and fx_rates.csv lacks (`missing-fx-rate`), over the whole
    data: for each period kind of the plans, what a run of the period holding the latest date
    stops with (`engine.missing_fx_rates`, the run's own check), each diagnostic once."""
    last = latest_date(inputs)
    if last is None:
        return []
    found: dict[tuple, Diagnostic] = {}
    for kind in sorted({p.period for p in plans.plans}):
        for d in missing_fx_rates(plans, inputs, period_containing(last, kind)):
            found.setdefault((d.line, d.message), d)
    return list(found.values())
