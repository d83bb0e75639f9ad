"""`comp-calc diff OLD NEW`: the rule changes in words and every rep's payout under both.

OLD and NEW are plan files, or `path@REV` for a file at a git revision
(`plans/inbound-2026-v2.yaml@HEAD`). The run is computed twice on the same
data: once with the plan set of `--plans` (OLD standing in for the version of
the set with its plan id and version), once with NEW standing in for OLD.

Codes (exit 2): not-a-git-checkout, git-failed (unknown revision or path), plan-version-clash,
plan-not-in-set (OLD's plan and version are not among --plans), bad-period,
bad-fail-over; plus those of plan loading and of the data.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from comp_calc import app as lib
from comp_calc.commands.explain import (
    DataOpt,
    Format,
    FormatOpt,
    PlansOpt,
    SkipOpt,
    check_after_plans,
    console,
    print_wide,
    report_error,
)
from comp_calc.data.checks import cross_checks
from comp_calc.data.load import load_inputs
from comp_calc.errors import Diagnostic, InputError, ReconciliationError
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.writer import render_csv, render_json
from comp_calc.periods import Period, parse_period, period_containing
from comp_calc.plan.load import check_plan_set, load_plan_file, parse_plan
from comp_calc.plan.model import Plan, PlanSet
from comp_calc.plandiff import IMPACT_MONEY, Impact, PlanDiff, diff_plans, fail_over, payout_impact


class DiffError(InputError):
    """A usage problem of `diff`, shown as one line."""

    def __init__(self, where: str, code: str, message: str):
        super().__init__(Diagnostic(where, None, None, code, message))
        self.message = message


# --------------------------------------------------------------------------
# reading OLD and NEW


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, env=env, check=False)


def git_show(spec: str, path_text: str, rev: str) -> bytes:
    """The bytes of `path_text` at git revision `rev`, in the repository holding that path."""
    if not rev or rev.startswith("-") or not path_text:
        raise DiffError(spec, "git-failed", f"{spec}: write a plan at a revision as PATH@REV, e.g. plans/plan.yaml@HEAD")
    path = Path(path_text)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DiffError(spec, "git-failed", f"{spec}: folder {folder} does not exist")
    try:
        top = _git(folder, "rev-parse", "--show-prefix")
    except OSError:
        raise DiffError(spec, "git-failed", f"{spec}: git is not installed or cannot run") from None
    if top.returncode != 0:
        raise DiffError(spec, "not-a-git-checkout", f"{spec}: {folder} is not inside a git checkout")
    prefix = top.stdout.decode("utf-8", "replace").strip()
    if prefix.startswith("../") or (prefix == "" and _git(folder, "rev-parse", "--is-inside-work-tree").stdout.strip() != b"true"):
        raise DiffError(spec, "not-a-git-checkout", f"{spec}: {folder} is not inside a git work tree")
    inside = prefix + path.name
    shown = _git(folder, "show", f"{rev}:{inside}")
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[0].removeprefix("fatal: ") if reason else "git show failed"
        raise DiffError(spec, "git-failed", f"{spec}: cannot read {inside} at revision {rev}: {detail}")
    return shown.stdout


def read_plan(spec: str) -> Plan:
    """A plan file, or `path@REV` for that file at a git revision."""
    path = Path(spec)
    if path.is_file() or "@" not in spec:
        plan, problems = load_plan_file(path)
    else:
        path_text, rev = spec.rsplit("@", 1)
        plan, problems = parse_plan(git_show(spec, path_text, rev), spec)
    if problems or plan is None:
        raise InputError(problems)
    return plan


def plan_sets(plans_dir: Path, old: Plan, new: Plan) -> tuple[PlanSet, PlanSet, str | None]:
    """(the set with OLD in place of its own version, the same set with NEW in place of OLD, a note).

    NEW normally keeps its own plan id, version and effective_from. When NEW is
    another version the set already has (`diff v1.yaml v2.yaml`), putting it in
    beside itself would leave OLD's periods without a version; then NEW's rules
    take OLD's slot (OLD's version number and effective_from), and the note says so.
    """
    loaded = lib.load_plan_set(plans_dir)
    match = next((p for p in loaded.plans if (p.plan, p.version) == (old.plan, old.version)), None)
    if match is None:
        have = ", ".join(f"{p.plan} v{p.version}" for p in loaded.plans) or "none"
        raise DiffError(
            old.source, "plan-not-in-set",
            f"{old.source}: plan {old.plan} version {old.version} is not in {plans_dir} (it has: {have}); "
            "OLD must be one of its versions",
        )  # fmt: skip
    base = loaded.replace(match, old)
    note = None
    clash = next((p for p in base.plans if p is not old and (p.plan, p.version) == (new.plan, new.version)), None)
    if clash is not None:
        if diff_plans(clash, new).changes:
            raise DiffError(
                new.source, "plan-version-clash",
                f"{new.source}: NEW is plan {new.plan} version {new.version}, which {plans_dir} already has "
                f"with other rules ({clash.source}); give NEW a version number of its own to stand in for OLD",
            )  # fmt: skip
        note = (
            f"NEW is version {new.version} of {plans_dir} already; its rules are applied in place of "
            f"version {old.version} (in force from {old.effective_from})"
        )
        new = replace(new, version=old.version, effective_from=old.effective_from)
    changed = base.replace(next(p for p in base.plans if p is old), new)
    problems = check_plan_set(list(base.plans)) + check_plan_set(list(changed.plans))
    if problems:
        raise InputError(problems)
    return base, changed, note


def choose_period(period: str | None, inputs, plan: Plan) -> tuple[Period, bool]:
    """--period, or the latest complete period of OLD's kind in the data."""
    if period is None:
        same_kind = PlanSet((plan,))
        return lib.latest_complete_period(inputs, same_kind), True
    try:
        chosen = parse_period(period)
    except ValueError as e:
        raise DiffError("--period", "bad-period", str(e)) from None
    if chosen.kind != plan.period:
        other = period_containing(chosen.start, plan.period)
        raise DiffError(
            "--period", "bad-period",
            f"plan {plan.plan} is paid by {plan.period}; {chosen} is a {chosen.kind}: use --period {other.label}",
        )  # fmt: skip
    return chosen, False


def _prepared(plans: PlanSet, raw, period: Period, was_default: bool, skip_invalid: bool) -> lib.Prepared:
    inputs, _ = cross_checks(raw, plans, until=period.end)
    if inputs.problems and not skip_invalid:
        raise InputError(inputs.problems)
    return lib.Prepared(plans, inputs, period, was_default)


def parse_pct(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise DiffError("--fail-over", "bad-fail-over", f"--fail-over takes a percentage >= 0 such as 2 or 0.5, not '{text}'")
    return value


# --------------------------------------------------------------------------
# output


def _money(value: Decimal | None) -> str:
    from comp_calc.statement import money

    return money(value)


def diff_json(rules: PlanDiff, impact: Impact, period: Period, note: str | None = None) -> bytes:
    reps = format_frame(impact.reps, IMPACT_MONEY, set()).to_dicts()
    totals = impact.totals_dict()
    totals = {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in totals.items()}
    return render_json(
        {
            "period": period.label,
            "note": note,
            "old": {"plan": rules.old_plan, "version": rules.old_version, "source": rules.old_source},
            "new": {"plan": rules.new_plan, "version": rules.new_version, "source": rules.new_source},
            "rule_changes": [c.as_dict() for c in rules.changes],
            "reps": reps,
            "totals": totals,
        }
    )


TABLE_COLUMNS = {
    "rep_id": "rep",
    "name": "name",
    "old_earned": "old earned",
    "new_earned": "new earned",
    "old_clawbacks": "old clawbacks",
    "new_clawbacks": "new clawbacks",
    "old_payout": "old payout",
    "new_payout": "new payout",
    "delta": "delta",
    "delta_pct": "delta %",
}


def show(rules: PlanDiff, impact: Impact, period: Period, was_default: bool, note: str | None = None) -> None:
    out = console()
    say = lambda text="": out.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    say(f"OLD {rules.old_plan} version {rules.old_version} ({rules.old_source})")
    say(f"NEW {rules.new_plan} version {rules.new_version} ({rules.new_source})")
    say()
    if rules.has_rule_changes:
        say("Rule changes:")
        for c in rules.direct:
            say(f"  {c.sentence}")
    else:
        say("No change in rules.")
    for c in rules.metadata:
        say(f"  {c.sentence} (cannot change any payout)")
    if note:
        say(f"Note: {note}.")
    say()
    shown = format_frame(impact.reps.select(list(TABLE_COLUMNS)), IMPACT_MONEY & set(TABLE_COLUMNS), set())
    table = Table(
        title=f"Payout impact {period} ({period.start} to {period.end})", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for col, heading in TABLE_COLUMNS.items():
        table.add_column(heading, justify="right" if col in IMPACT_MONEY else "left", no_wrap=True)
    cells = [shown[c].fill_null("").to_list() for c in TABLE_COLUMNS]  # a computed summary, for display
    for values in zip(*cells, strict=True):
        table.add_row(*values)
    total_pct = _money(impact.delta_pct) if impact.delta_pct is not None else ""
    table.add_section()
    table.add_row(
        "TOTAL", f"{impact.reps.height} reps", "", "", "", "",
        _money(impact.old_total), _money(impact.new_total), _money(impact.delta), total_pct,
    )  # fmt: skip
    print_wide(out, table)
    say(f"{impact.gain} gain, {impact.lose} lose, {impact.same} unchanged.")
    if was_default:
        say(f"Period {period} is the latest complete period in the data (use --period to choose).")


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
        typer.Option("--fail-over", help="Exit 1 when |total delta| / old total payout * 100 is above this percentage."),
    ] = None,
    skip_invalid: SkipOpt = False,
) -> None:
    """What a plan change does: the rule changes in words, and each rep's payout under both, with totals."""
    try:
        limit = parse_pct(fail_over_pct)
        old_plan, new_plan = read_plan(old), read_plan(new)
        base, changed, note = plan_sets(plans, old_plan, new_plan)
        raw = load_inputs(data)
        chosen, was_default = choose_period(period, raw, old_plan)
        check_after_plans(base, chosen)
        before = lib.run(_prepared(base, raw, chosen, was_default, skip_invalid))
        after = lib.run(_prepared(changed, raw, chosen, was_default, skip_invalid))
    except InputError as e:
        if isinstance(e, DiffError):
            if fmt == Format.json:
                raise report_error(e, fmt) from None
            typer.echo(f"error: {e.message}", err=True)
            raise typer.Exit(2) from None
        raise report_error(e, fmt) from None
    except ReconciliationError as e:
        typer.echo(f"error: reconciliation failed: {e}", err=True)
        raise typer.Exit(1) from None
    rules = diff_plans(old_plan, new_plan)
    impact = payout_impact(before, after)
    if fmt == Format.json:
        typer.echo(diff_json(rules, impact, chosen, note).decode(), nl=False)
    elif fmt == Format.csv:
        typer.echo(render_csv(impact.reps, IMPACT_MONEY, set()).decode(), nl=False)
    else:
        show(rules, impact, chosen, was_default, note)
    if limit is not None and fail_over(impact, limit):
        pct = f"{_money(impact.delta_pct)}%" if impact.delta_pct is not None else "a change from 0"
        typer.echo(f"fail-over: total payout changes by {pct}, over the {limit}% limit", err=True)
        raise typer.Exit(1)
