"""What a command imports: `--help` and `run` do not pay for the modules that only the other
commands use (each command imports its work when it runs, see `comp_calc.cli`).

Each check runs the command in a fresh interpreter (this one has imported everything already)
and reads its `sys.modules` afterwards; nothing is timed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PLANS, ROOT, SAMPLE

# the work of explain, diff, alignment, history, `run --statements` and schema
OTHER_COMMANDS = (
    "comp_calc.commands.explain",
    "comp_calc.commands.diff",
    "comp_calc.commands.alignment",
    "comp_calc.commands.history",
    "comp_calc.alignment",
    "comp_calc.diff",
    "comp_calc.outputs.statement",
    "comp_calc.outputs.statement_html",
    "comp_calc.plan.json_schema",
)

MARK = "imported modules: "


def imported_by(*args: str | Path) -> set[str]:
    """The modules loaded once `comp-calc ARGS` has run (to its end, exit code 0) in a new interpreter."""
    code = (
        "import sys\n"
        "from comp_calc.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"print({MARK!r} + ' '.join(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith(MARK), done.stdout
    return set(last.removeprefix(MARK).split())


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The `names` (a package counts with its submodules) among `modules`."""
    return sorted(m for m in modules if m in names or m.startswith(tuple(f"{n}." for n in names)))


def test_help_imports_neither_polars_nor_any_command_s_work():
    modules = imported_by("--help")
    assert loaded(modules, ("polars", "yaml", "comp_calc.pipeline.stages", "comp_calc.outputs", *OTHER_COMMANDS)) == []
    assert "comp_calc.cli" in modules  # the check would pass on an interpreter that never ran the command


def test_run_for_a_script_imports_no_other_command_s_work_and_no_rich(tmp_path: Path):
    modules = imported_by("run", "--plans", PLANS, "--data", SAMPLE, "--period", "2026-10", "--out", tmp_path, "--format", "json")
    assert (tmp_path / "2026-10" / "payouts.csv").is_file()
    assert loaded(modules, ("rich", "hypothesis", *OTHER_COMMANDS)) == []  # rich: nothing was shown to a person
    assert "comp_calc.engine" in modules
