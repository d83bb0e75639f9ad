"""The command line: thin typer commands over `comp_calc.pipeline`.

Every command is registered through `command`, the one place where an error
becomes an exit code: 0 success, 1 the run's own reconciliation failed (or
`diff --fail-over` tripped), 2 bad input or usage. Commands and
`comp_calc.outputs.terminal` are the only code that talks to the terminal.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from comp_calc.commands import alignment as _alignment
from comp_calc.commands import diff as _diff
from comp_calc.commands import explain as _explain
from comp_calc.commands.options import DataOpt, Format, FormatOpt, IncompleteOpt, PeriodOpt, PlansOpt
from comp_calc.errors import Diagnostic, InputError, ReconciliationError
from comp_calc.outputs import terminal as render
from comp_calc.outputs.writer import refuse_closed
from comp_calc.pipeline import stages as lib

app = typer.Typer(
    help="Exact, explainable sales compensation runs from CSV exports and YAML plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)



def exit_code(error: InputError | ReconciliationError, as_json: bool) -> int:
    """Show `error` to the user and return its exit code: the one mapping every command uses."""
    if isinstance(error, ReconciliationError):
        render.error(f"reconciliation failed, nothing written: {error}")
        return 1
    render.diagnostics(error.diagnostics, as_json=as_json)
    return 2


def command(name: str | None = None):
    """Register a command whose bad input and failed reconciliation end as `exit_code` says."""

    def register(function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            fmt = kwargs.get("fmt")
            try:
                return function(*args, **kwargs)
            except (InputError, ReconciliationError) as e:
                raise typer.Exit(exit_code(e, getattr(fmt, "value", fmt) == "json")) from None

        return app.command(name=name)(guarded)

    return register


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Make SIGTERM end the command like Ctrl-C does: as an exception raised in the
    main thread (`SystemExit(143)`), so every `finally` and cleanup runs on the way
    out and a half-written period folder is removed. The previous handler is put
    back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - signals not available here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


STRICT_HELP = "Treat warnings (a product that looks like a typo, a plan rule for a product never sold) as errors."


@command()
def run(
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    period: PeriodOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder; the period's results go to OUT/PERIOD/.")] = Path("out"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing (closed) period folder.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Run without bad input rows; every one is listed in exceptions.csv.")
    ] = False,
    fmt: FormatOpt = Format.table,
    allow_incomplete: IncompleteOpt = False,
    statements: Annotated[
        bool, typer.Option("--statements", help="Also write one HTML statement per rep to OUT/PERIOD/statements/.")
    ] = False,
    streaming: Annotated[
        bool,
        typer.Option(
            "--streaming",
            help="For inputs larger than memory: read them in blocks into a scratch folder under OUT and compute "
            "one period at a time (same results). Chosen by itself when the inputs exceed "
            f"{lib.STREAMING_BYTES >> 30} GiB.",
        ),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Compute a period's payouts and write payouts.csv, lines.csv, exceptions.csv and manifest.json."""
    if streaming and statements:
        message = "--statements needs the whole run in memory: run without --streaming to write statements"
        raise InputError(Diagnostic("--statements", None, None, "statements-streaming", message))
    streaming = streaming or (not statements and lib.large_inputs(data))
    if period is not None and (asked := lib.valid_period(period)):  # a closed period is refused before any work
        refuse_closed(out, asked.label, force)
    with terminate_as_exit(), lib.scratch_folder(out, streaming) as scratch:
        with render.progress("Loading plans and data"):
            prep = lib.prepare(plans, data, period, skip_invalid, scratch, allow_incomplete, strict)
        render.diagnostics(prep.warnings)
        with render.progress(f"Computing {prep.period}"):
            result = lib.run(prep)
            folder = lib.write(prep, result, out, force, statements=statements)
            left_out = lib.not_in_run(prep)  # reads the inputs: before a streaming run's scratch folder goes
    render.run_summary(prep, result, folder, fmt.value, left_out, statements)


@command()
def validate(
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    fmt: FormatOpt = Format.table,
    streaming: Annotated[
        bool,
        typer.Option("--streaming", help="Read the data in blocks, as run --streaming does (chosen by itself for large inputs)."),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Check plans and data and report every problem with file and line (warnings too)."""
    problems = lib.validate(plans, data, streaming or lib.large_inputs(data), strict=strict)
    render.validation(problems, fmt.value)
    if any(not d.is_warning for d in problems):
        raise typer.Exit(2)


# Further commands live in comp_calc/commands/, one module each, registered here.
command("explain")(_explain.explain)
command("diff")(_diff.diff)
command("alignment")(_alignment.alignment)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
