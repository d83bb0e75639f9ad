"""`comp-calc diff OLD NEW`: the rule changes in words and every rep's payout under both.

The run is computed twice on the same data: once with the plan set of `--plans`
(OLD standing in for the version of the set with its plan id and version), once
with NEW standing in for OLD (`comp_calc.diff.sources`).

Codes (exit 2): bad-period, bad-fail-over; plus those of `comp_calc.diff.sources`,
of plan loading and of the data.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
import typer

from comp_calc.commands.options import Format
from comp_calc.commands.explain import check_after_plans
from comp_calc.diff.impact import IMPACT_MONEY, RESTATEMENT_MONEY, Impact, fail_over, payout_impact, reps_over
from comp_calc.diff.rules import PlanDiff, diff_plans
from comp_calc.diff.sources import plan_sets, read_plan
from comp_calc.errors import UsageError
from comp_calc.outputs.csvfmt import format_frame
from comp_calc.outputs.numbers import money as _money
from comp_calc.outputs.terminal import any_nonzero, console, print_fitted
from comp_calc.outputs.writer import render_csv, render_json
from comp_calc.periods import Period, period_containing
from comp_calc.pipeline import stages
from comp_calc.plan.model import Plan, PlanSet


def choose_period(
    period: str | None, inputs, old: Plan, plans: PlanSet, allow_incomplete: bool = False
) -> tuple[Period, bool, str | None]:
    """--period, or the latest complete period of OLD's kind in the data in which OLD is in force
    (a later version of its plan in `plans` ends OLD's periods); with a note when OLD is not in
    force in the chosen period, where only earlier periods' clawbacks and balances can move."""
    chosen, was_default = stages.choose_period(inputs, PlanSet((old,)), period, old.period, allow_incomplete)
    if chosen.kind != old.period:
        other = period_containing(chosen.start, old.period)
        raise UsageError(
            "--period", "bad-period",
            f"plan {old.plan} is paid by {old.period}; {chosen} is a {chosen.kind}: use --period {other.label}",
        )  # fmt: skip
    later = [p for p in plans.versions(old.plan) if p.effective_from > old.effective_from]
    if not later or chosen.start < later[0].effective_from:
        return chosen, was_default, None
    last = period_containing(later[0].effective_from - timedelta(days=1), old.period)
    if was_default and last.start >= old.effective_from:
        return last, False, (
            f"period {last} is the latest complete one in which OLD is in force (version {later[0].version} "
            f"follows from {later[0].effective_from}); use --period to choose"
        )
    return chosen, was_default, (
        f"OLD is not in force in {chosen} (version {later[0].version} is, from {later[0].effective_from}): only clawbacks "
        f"and carried balances of earlier periods can move; OLD's last period is {last} (--period {last.label})"
    )


def parse_pct(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise UsageError(option, "bad-fail-over", f"{option} takes a percentage >= 0 such as 2 or 0.5, not '{text}'")
    return value


# --------------------------------------------------------------------------
# output


def _money_columns(impact: Impact) -> set[str]:
    return (IMPACT_MONEY | RESTATEMENT_MONEY) & set(impact.reps.columns)


def diff_json(rules: PlanDiff, impact: Impact, period: Period, note: str | None = None) -> bytes:
    reps = format_frame(impact.reps, _money_columns(impact), set()).to_dicts()
    totals = {
        currency: {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in t.items()}
        for currency, t in impact.totals_dict().items()
    }  # per currency: pay in different currencies is never added up
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
    "old_restatement_due": "old restatement due",
    "new_restatement_due": "new restatement due",
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
    # the clawback columns only when a clawback moves some payout; totals on the last row
    columns = [
        c for c in TABLE_COLUMNS
        if c in impact.reps.columns and (not c.endswith(("_clawbacks", "_restatement_due")) or any_nonzero(impact.reps, c))
    ]  # fmt: skip
    several = len(impact.totals) > 1
    headings = TABLE_COLUMNS
    if several:  # each rep's amounts are in its plan's currency: a column says which
        columns.insert(1, "currency")
        headings = {"rep_id": "rep", "currency": "cur.", **TABLE_COLUMNS}
    money_columns = (IMPACT_MONEY | RESTATEMENT_MONEY) & set(columns)
    shown = format_frame(impact.reps.select(columns), money_columns, set())
    for currency, t in impact.totals.items():  # one TOTAL row per currency
        totals = {
            "rep_id": "TOTAL", "currency": currency, "name": f"{t.reps} reps", "old_payout": _money(t.old_total),
            "new_payout": _money(t.new_total), "delta": _money(t.delta),
            "delta_pct": _money(t.delta_pct) if t.delta_pct is not None else "",
        }  # fmt: skip
        shown = pl.concat([shown, pl.DataFrame({c: [totals.get(c, "")] for c in columns})], how="vertical_relaxed")
    if out.width < 100:  # names only where they fit beside every number
        shown = shown.drop("name")
    title = f"Payout impact {period} ({period.start} to {period.end})"
    if several:
        title += "; each rep in its plan's currency, totals per currency"
    print_fitted(out, shown, headings, IMPACT_MONEY | RESTATEMENT_MONEY, 2 if several else 1, title)
    say(f"{impact.gain} gain, {impact.lose} lose, {impact.same} unchanged.")
    if was_default:
        say(f"Period {period} is the latest complete period in the data (use --period to choose).")


def diff(
    old: str, new: str, plans: Path, data: Path, period: str | None, fmt: Format, fail_over_pct: str | None,
    fail_over_rep_pct: str | None, skip_invalid: bool, allow_incomplete: bool, out: Path | None, map_file: Path | None,
) -> None:
    """`comp-calc diff` (its options and help are in `comp_calc.cli`)."""
    limit, rep_limit = parse_pct(fail_over_pct, "--fail-over"), parse_pct(fail_over_rep_pct, "--fail-over-rep")
    old_plan, new_plan = read_plan(old), read_plan(new)
    base, changed, note = plan_sets(plans, old_plan, new_plan)
    inputs = stages.load_data(data, map_file=map_file)
    chosen, was_default, in_force = choose_period(period, inputs, old_plan, base, allow_incomplete)
    note = "; ".join(n for n in (note, in_force) if n) or None
    check_after_plans(base, chosen)
    prep_before = stages.check(base, inputs, chosen, was_default, skip_invalid)
    closed = stages.closed_periods(prep_before, out)
    before = stages.run(prep_before, closed)
    after = stages.run(stages.check(changed, inputs, chosen, was_default, skip_invalid), closed)
    rules = diff_plans(old_plan, new_plan)
    impact = payout_impact(before, after, restatement=out is not None)
    if fmt == Format.json:
        typer.echo(diff_json(rules, impact, chosen, note).decode(), nl=False)
    elif fmt == Format.csv:
        typer.echo(render_csv(impact.reps, _money_columns(impact), set()).decode(), nl=False)
    else:
        show(rules, impact, chosen, was_default, note)
    tripped = []
    for currency in fail_over(impact, limit) if limit is not None else ():
        t = impact.totals[currency]
        pct = f"{_money(t.delta_pct)}%" if t.delta_pct is not None else "a change from 0"
        paid_in = f" in {currency}" if len(impact.totals) > 1 else ""
        tripped.append(f"fail-over: total payout{paid_in} changes by {pct}, over the {limit}% limit")
    if rep_limit is not None and (reps := reps_over(impact, rep_limit)):
        shown = ", ".join(reps[:10]) + (f" and {len(reps) - 10} more" if len(reps) > 10 else "")
        tripped.append(f"fail-over-rep: {len(reps)} reps' payouts change by more than {rep_limit}%: {shown}")
    if tripped:
        typer.echo("\n".join(tripped), err=True)
        raise typer.Exit(1)
