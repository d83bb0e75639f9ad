"""The command line: thin typer commands over `comp_calc.pipeline`.

Every command's options and help are declared here; explain, diff, alignment and
history do their work in `comp_calc.commands`. Each command imports the modules
it needs when it runs, so that `--help`, `run` and `validate` do not pay for
the imports of the others (`tests/test_cli_imports.py` keeps it so).
Every command is registered through `command`, the one place where an error
becomes an exit code: 0 success, 1 the run's own reconciliation failed (or
`diff --fail-over` tripped), 2 bad input or usage, 3 the machine refused a
write. A reader that stops early (`| head -1`) ends the command quietly with 0.
Commands and `comp_calc.outputs.terminal` are the only code that talks to the
terminal.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

import comp_calc
from comp_calc.commands.options import (
    AlignmentFormat, By, DataOpt, Format, FormatOpt, IncompleteOpt, MapOpt, PeriodOpt, PlansOpt, SkipOpt,
)  # fmt: skip
from comp_calc.errors import Diagnostic, InputError, MachineError, ReconciliationError
from comp_calc.pipeline import STREAMING_BYTES


class _BareFlags:
    """A flag shows no value placeholder in help: `--force`, not `--force <bool>`."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if param.param_type_name == "option" and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class HelpCommand(_BareFlags, TyperCommand):
    """Help in the README's notation: bare flags, and arguments in capitals in the usage line
    (`comp-calc diff [OPTIONS] OLD NEW`)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces += param.get_usage_pieces(ctx)
                continue
            name = (param.metavar or param.name).upper() + ("..." if param.nargs != 1 else "")
            pieces.append(name if param.required else f"[{name}]")
        return pieces


class HelpGroup(_BareFlags, TyperGroup):
    pass


app = typer.Typer(
    cls=HelpGroup,
    help="Exact, explainable sales compensation runs from CSV exports and YAML plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"comp-calc {comp_calc.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", is_eager=True, callback=_show_version)
    ] = False,
) -> None:
    pass


def exit_code(error: InputError | ReconciliationError | MachineError, as_json: bool) -> int:
    """Show `error` to the user and return its exit code: the one mapping every command uses."""
    from comp_calc.outputs import terminal as render

    if isinstance(error, ReconciliationError):
        render.error(f"reconciliation failed, nothing written: {error}")
        return 1
    if isinstance(error, MachineError):
        render.error(f"cannot write {error.path}: {error.reason}")
        return 3
    render.diagnostics(error.diagnostics, as_json=as_json)
    return 2


def _quiet_stdout() -> None:
    """The reader of our output is gone: send what is still buffered nowhere, so that
    Python's own flush at exit does not fail a second time."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def command(name: str | None = None):
    """Register a command whose bad input, failed reconciliation and refused writes end as
    `exit_code` says; a closed output pipe ends it quietly with 0."""

    def register(function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            fmt = kwargs.get("fmt")
            if kwargs.get("map_file") is not None:  # without --map no mapping is ignored
                from comp_calc.outputs import terminal as render
                from comp_calc.pipeline import stages

                if (ignored := stages.ignored_mapping(kwargs.get("data"), kwargs["map_file"])) is not None:
                    render.note(f"the mapping {kwargs['map_file']} is used; {ignored} is not read (--map wins)")
            try:
                result = function(*args, **kwargs)
                sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
                return result
            except (InputError, ReconciliationError, MachineError) as e:
                raise typer.Exit(exit_code(e, getattr(fmt, "value", fmt) == "json")) from None
            except BrokenPipeError:
                _quiet_stdout()
                raise typer.Exit(0) from None

        return app.command(name=name, cls=HelpCommand)(guarded)

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
            f"{STREAMING_BYTES >> 30} GiB.",
        ),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
    by: Annotated[
        By | None,
        typer.Option(
            "--by",
            help="Also show a rollup of credited and payout per team, or per manager (the manager and everyone "
            "below in reps.csv manager_id links), one row per group and currency.",
        ),
    ] = None,
    map_file: MapOpt = None,
) -> None:
    """Compute a period's payouts and write payouts.csv, lines.csv, exceptions.csv and manifest.json."""
    from comp_calc.data.closed import refuse_force_before_closed
    from comp_calc.outputs import terminal as render
    from comp_calc.outputs.writer import refuse_closed, refuse_unwritable
    from comp_calc.pipeline import stages as lib

    if streaming and statements:
        message = "--statements needs the whole run in memory: run without --streaming to write statements"
        raise InputError(Diagnostic("--statements", None, None, "statements-streaming", message))
    streaming = streaming or (not statements and lib.large_inputs(data, map_file))
    refuse_unwritable(out)  # --out naming a file is refused before any work, as is a closed period
    if period is not None and (asked := lib.valid_period(period)):
        refuse_closed(out, asked.label, force)
        if force:
            refuse_force_before_closed(out, asked)
    with terminate_as_exit(), lib.scratch_folder(out, streaming) as scratch:
        with render.progress("Loading plans and data"):
            prep = lib.prepare(plans, data, period, skip_invalid, scratch, allow_incomplete, strict, map_file)
            closed = lib.closed_periods(prep, out, force)
        render.diagnostics(prep.warnings)
        with render.progress(f"Computing {prep.period}"):
            result = lib.run(prep, closed)
            folder = lib.write(prep, result, out, force, statements=statements)
            left_out = lib.not_in_run(prep)  # reads the inputs: before a streaming run's scratch folder goes
    render.run_summary(prep, result, folder, fmt.value, left_out, statements, by=by.value if by else None)


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
    map_file: MapOpt = None,
) -> None:
    """Check plans and data and report every problem with file and line (warnings too)."""
    from comp_calc.outputs import terminal as render
    from comp_calc.pipeline import stages as lib

    problems = lib.validate(plans, data, streaming or lib.large_inputs(data, map_file), strict=strict, map_file=map_file)
    render.validation(problems, fmt.value)
    if any(not d.is_warning for d in problems):
        raise typer.Exit(2)


# The other commands' work lives in comp_calc/commands/, one module each, imported when the
# command runs: their options and help are declared here, so that `--help` (and `run`) does not
# import what only they need.


@command()
def explain(
    rep: Annotated[str, typer.Option("--rep", help="The rep_id whose statement to show.")],
    period: PeriodOpt = None,
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    skip_invalid: SkipOpt = False,
    fmt: FormatOpt = Format.table,
    allow_incomplete: IncompleteOpt = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The run's output folder: its closed periods are restated as `run` does, and explained."),
    ] = None,
    map_file: MapOpt = None,
) -> None:
    """One rep's statement for a period: each line and how it was computed, then cap, clawbacks, carry and payout."""
    from comp_calc.commands import explain as work

    work.explain(
        rep=rep, period=period, plans=plans, data=data, skip_invalid=skip_invalid, fmt=fmt,
        allow_incomplete=allow_incomplete, out=out, map_file=map_file,
    )  # fmt: skip


@command()
def diff(
    old: Annotated[str, typer.Argument(help="The plan as it is: a file, or PATH@REV for a file at a git revision.")],
    new: Annotated[str, typer.Argument(help="The changed plan: a file, or PATH@REV.")],
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    period: Annotated[
        str | None, typer.Option("--period", help="2026-10 or 2026-Q4. Default: latest complete period of OLD's kind.")
    ] = None,
    fmt: FormatOpt = Format.table,
    fail_over_pct: Annotated[
        str | None,
        typer.Option("--fail-over", metavar="PCT", help="Exit 1 when |total delta| / old total payout * 100 is above this percentage."),
    ] = None,
    fail_over_rep_pct: Annotated[
        str | None,
        typer.Option(
            "--fail-over-rep",
            metavar="PCT",
            help="Exit 1 when any rep's |delta| / old payout * 100 is above this percentage (a rep paid 0 before trips on any change).",
        ),
    ] = None,
    skip_invalid: SkipOpt = False,
    allow_incomplete: IncompleteOpt = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The run's output folder: both runs restate its closed periods as `run` does, and each rep's "
            "restatement due under OLD and NEW is shown (what a change to a paid plan version would pay or recover).",
        ),
    ] = None,
    map_file: MapOpt = None,
) -> None:
    """What a plan change does: the rule changes in words, and each rep's payout under both, with totals."""
    from comp_calc.commands import diff as work

    work.diff(
        old=old, new=new, plans=plans, data=data, period=period, fmt=fmt, fail_over_pct=fail_over_pct,
        fail_over_rep_pct=fail_over_rep_pct, skip_invalid=skip_invalid, allow_incomplete=allow_incomplete, out=out,
        map_file=map_file,
    )  # fmt: skip


@command()
def alignment(
    plans: PlansOpt = Path("plans"),
    data: DataOpt = Path("sample_data"),
    period: PeriodOpt = None,
    skip_invalid: SkipOpt = False,
    allow_incomplete: IncompleteOpt = False,
    fmt: Annotated[
        AlignmentFormat, typer.Option("--format", help="table (for people), json (for scripts) or html (one page with charts).")
    ] = AlignmentFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="With --format html: write the page to this file (default: standard output).")
    ] = None,
    map_file: MapOpt = None,
) -> None:
    """Whether pay follows customer outcomes: mis-selling, contact-quota gaming, pay versus satisfaction, survey health."""
    from comp_calc.commands import alignment as work

    work.alignment(
        plans=plans, data=data, period=period, skip_invalid=skip_invalid, allow_incomplete=allow_incomplete, fmt=fmt,
        out=out, map_file=map_file,
    )  # fmt: skip


@command()
def schema() -> None:
    """Print the JSON Schema of the plan YAML, for editors (the same as the shipped plans.schema.json)."""
    from comp_calc.plan.json_schema import schema_text

    sys.stdout.write(schema_text())


@command()
def history(
    out: Annotated[Path, typer.Option("--out", help="The output folder whose closed periods to list.")] = Path("out"),
    fmt: FormatOpt = Format.table,
) -> None:
    """The closed (paid) periods in OUT: totals per currency, and whether each still matches its manifest."""
    from comp_calc.commands import history as work

    work.history(out=out, fmt=fmt)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
