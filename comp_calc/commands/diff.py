"""`comp-calc diff OLD NEW`: the rule changes in words and every rep's payout under both.

The run is computed twice on the same data: once with the plan set of `--plans`
(OLD standing in for the version of the set with its plan id and version), once
with NEW standing in for OLD (`comp_calc.diff.sources`).

Codes (exit 2): bad-period, bad-fail-over; plus those of `comp_calc.diff.sources`,
of plan loading and of the data.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from comp_calc.commands.options import DataOpt, Format, FormatOpt, PlansOpt, SkipOpt
from comp_calc.commands.explain import check_after_plans
from comp_calc.diff.impact import IMPACT_MONEY, Impact, fail_over, payout_impact
from comp_calc.diff.rules import PlanDiff, diff_plans
from comp_calc.diff.sources import plan_sets, read_plan
from comp_calc.errors import UsageError
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.numbers import money as _money
from comp_calc.outputs.terminal import console, print_wide
from comp_calc.outputs.writer import render_csv, render_json
from comp_calc.periods import Period, period_containing
from comp_calc.pipeline import stages
from comp_calc.plan.model import Plan, PlanSet


def choose_period(period: str | None, inputs, plan: Plan) -> tuple[Period, bool]:
    """--period, or the latest complete period of OLD's kind in the data."""
    chosen, was_default = stages.choose_period(inputs, PlanSet((plan,)), period, plan.period)
    if chosen.kind != plan.period:
        other = period_containing(chosen.start, plan.period)
        raise UsageError(
            "--period", "bad-period",
            f"plan {plan.plan} is paid by {plan.period}; {chosen} is a {chosen.kind}: use --period {other.label}",
        )  # fmt: skip
    return chosen, was_default


def parse_pct(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise UsageError("--fail-over", "bad-fail-over", f"--fail-over takes a percentage >= 0 such as 2 or 0.5, not '{text}'")
    return value


# --------------------------------------------------------------------------
# output


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
        typer.Option("--fail-over", metavar="PCT", help="Exit 1 when |total delta| / old total payout * 100 is above this percentage."),
    ] = None,
    skip_invalid: SkipOpt = False,
) -> None:
    """What a plan change does: the rule changes in words, and each rep's payout under both, with totals."""
    limit = parse_pct(fail_over_pct)
    old_plan, new_plan = read_plan(old), read_plan(new)
    base, changed, note = plan_sets(plans, old_plan, new_plan)
    inputs = stages.load_data(data)
    chosen, was_default = choose_period(period, inputs, old_plan)
    check_after_plans(base, chosen)
    before = stages.run(stages.check(base, inputs, chosen, was_default, skip_invalid))
    after = stages.run(stages.check(changed, inputs, chosen, was_default, skip_invalid))
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
