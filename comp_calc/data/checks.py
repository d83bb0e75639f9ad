"""Input checks that need the plans as well as the data (SPEC sections 1 and 3).

`cross_checks(inputs, plans, until)` runs after `load_inputs` and the plan
loader. Codes:

  unknown-plan               reps.csv `plan` is not a plan id of the plans
                             directory; the rep is rejected and so are the
                             sales, feedback and contacts rows that refer to it
                             (`rep-rejected`, naming the reps.csv line)
  sale-outside-active-dates  sales `sold_on` is not within the seller's
                             `start_date <= sold_on <= end_date` (empty end: open)
  no-plan-version            the seller's plan has no version in force at the
                             start of the period (of that plan's kind) holding
                             `sold_on`

The two date rules only look at sales with `sold_on <= until` (rows dated
after the requested period are ignored for computation; `until=None` checks
all). Offending rows leave the frames like any other rejected row.

`unknown_campaigns(inputs, plans)` finds the plan entries of `campaigns` that name a
campaign campaigns.csv lacks (absent file: no campaigns). They are plan errors, at the
plan file and the line of the entry, and stop every run, `--skip-invalid` or not:

  unknown-campaign    a plan's `campaigns` entry names a campaign_id that campaigns.csv
                      has not (or whose row was rejected)

`product_warnings(inputs, plans, until)` runs after `cross_checks` and finds
products the plans and the sales do not agree on, most often a typo. They are
warnings: nothing is rejected, and only `--strict` makes them stop a run.

  similar-product     a product sold by reps of a plan that no rule of that plan
                      names (in any of its versions: the catch-all prices it) while
                      a rule of the plan names a similar product; once per
                      (product, plan), at the first such sale's line
  product-never-sold  a plan rule names a product that no sale has; at the plan
                      file and the line of the rule, once per version (only the
                      versions in force by `until`)

Both look at the valid sales with `sold_on <= until` (all with None, as
`validate` does). Similar means `difflib.get_close_matches` with cutoff
SIMILAR_CUTOFF: 0.8 takes one or two letters wrong, swapped, missing or
extra in a name of ordinary length (`personal_laon`, `home_insurence`,
`mortgages`), but not neighbouring products (`debit_card` against
`credit_card` is 0.76).
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl

from comp_calc.data.files import file_name
from comp_calc.data.model import Inputs, Table
from comp_calc.data.rules import Rule, apply_rules, reference_rules, rejected_rep_lines
from comp_calc.errors import WARNING, Diagnostic
from comp_calc.periods import MONTH
from comp_calc.plan.model import PlanSet

SIMILAR_CUTOFF = 0.8


def cross_checks(inputs: Inputs, plans: PlanSet, until: date | None = None) -> tuple[Inputs, list[Diagnostic]]:
    """Reject rows that contradict the plans; return (updated inputs, new diagnostics)."""
    new: list[Diagnostic] = []

    def run(table: Table, prepare) -> tuple[Table, pl.DataFrame]:
        """Apply the rules `prepare(frame) -> (frame, rules)` gives to the table's rows (its parts in turn)."""
        fname = file_name(table.name, table.path)
        columns = table.frame.columns
        if not table.parts:
            kept, rejected, diags = apply_rules(*prepare(table.frame), fname)
            new.extend(diags)
            # one chunk per column instead of the reader's many: the calculation over millions
            # of rows then takes less memory (about 600 MiB less at 10M sales)
            kept = kept.select(columns).rechunk()
            return replace(table, frame=kept, rows_rejected=table.rows_rejected + rejected.height), rejected
        found, count = [], 0  # (the rejected rows themselves are only needed of reps, which is never in parts)
        for _, path in table.parts:
            kept, rejected, diags = apply_rules(*prepare(pl.read_parquet(path)), fname)
            if rejected.height:
                kept.select(columns).write_parquet(path, compression="lz4")
                count += rejected.height
                found += diags
        found.sort(key=lambda d: d.line)  # parts are by month: back to file order (stable within a row)
        new.extend(found)
        return replace(table, rows_rejected=table.rows_rejected + count), table.frame

    known = pl.Series(plans.ids, dtype=pl.String).implode()
    unknown_plan = Rule(
        "plan", "unknown-plan", ~pl.col("plan").is_in(known),
        pl.format("plan '{}' is not defined in the plans directory", pl.col("plan")),
    )
    reps, rejected = run(inputs.reps, lambda frame: (frame, [unknown_plan]))
    cascade = rejected_rep_lines(rejected, reps.frame["rep_id"])
    kept_reps = reps.frame["rep_id"]
    reps_file = Path(file_name("reps", inputs.reps.path)).name  # bare, in messages about another file
    reference = [r for r in reference_rules(kept_reps, cascade, reps_file) if r.code == "rep-rejected"]

    def sale_rules(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Rule]]:
        frame, date_rules = _sale_date_rules(frame, reps.frame, plans, until)
        return frame, reference + date_rules

    sales, _ = run(inputs.sales, sale_rules)
    feedback, _ = run(inputs.feedback, lambda frame: (frame, reference))
    contacts, _ = run(inputs.contacts, lambda frame: (frame, reference))

    out = Inputs(reps, sales, feedback, contacts, [*inputs.problems, *new], inputs.campaigns, inputs.fx_rates)
    return out, new


def _sale_date_rules(sales: pl.DataFrame, reps: pl.DataFrame, plans: PlanSet, until: date | None):
    """`sales` with `_rep`, the position of the seller's row in `reps` (null for a sale whose rep is
    not kept, which the reference rules reject), and the rules for active dates and plan version.

    The sellers' dates and plans are small columns of `reps`, looked up by `_rep` in the rules
    (not copied beside every sale). A sale's period starts before its plan's first version
    exactly when it is sold before `_ceiling`, the first period start on or after that version's
    date (period starts only grow with the day), so the rules compare dates and only the messages
    of the offending rows name the period.
    """
    plan_table = pl.DataFrame(
        {
            "plan": plans.ids,
            "_kind": [plans.kind(p) for p in plans.ids],
            "_first_from": [plans.versions(p)[0].effective_from for p in plans.ids],
        },
        schema={"plan": pl.String, "_kind": pl.String, "_first_from": pl.Date},
    )
    monthly = pl.col("_kind") == MONTH
    first = pl.col("_first_from")
    start = pl.when(monthly).then(first.dt.truncate("1mo")).otherwise(first.dt.truncate("1q"))
    seller = (
        reps.select(_start=pl.col("start_date"), _end=pl.col("end_date"), _plan=pl.col("plan"))
        .join(plan_table, left_on="_plan", right_on="plan", how="left", maintain_order="left")
        .with_columns(_ceiling=pl.when(start >= first).then(start)
                      .otherwise(pl.when(monthly).then(start.dt.offset_by("1mo")).otherwise(start.dt.offset_by("3mo"))))
    )

    def of_seller(column: str) -> pl.Expr:
        return pl.lit(seller[column]).gather(pl.col("_rep"))

    # the seller's position by an enum of the kept rep ids (far cheaper over millions of sales
    # than a join or a replace on text)
    rep_ids = reps["rep_id"]
    if rep_ids.len():
        frame = sales.with_columns(_rep=pl.col("rep_id").cast(pl.Enum(rep_ids), strict=False).to_physical())
    else:
        frame = sales.with_columns(_rep=pl.lit(None, pl.UInt32))
    sold = pl.col("sold_on")
    in_scope = pl.lit(True) if until is None else sold <= pl.lit(until)
    kind = of_seller("_kind")
    # text only for the messages, which are built for the offending rows alone
    period_start = pl.when(kind == MONTH).then(sold.dt.truncate("1mo")).otherwise(sold.dt.truncate("1q"))
    period = (
        pl.when(kind == MONTH)
        .then(period_start.dt.strftime("%Y-%m"))
        .otherwise(pl.format("{}-Q{}", period_start.dt.year(), period_start.dt.quarter()))
    )
    end_text = of_seller("_end").dt.to_string("%Y-%m-%d").fill_null("open")
    rules = [
        Rule("sold_on", "sale-outside-active-dates", in_scope & ((sold < of_seller("_start")) | (sold > of_seller("_end"))),
             pl.format("sold on {}, outside the active dates of rep '{}' ({} to {})",
                       sold, pl.col("rep_id"), of_seller("_start"), end_text)),
        Rule("sold_on", "no-plan-version", in_scope & (sold < of_seller("_ceiling")),
             pl.format("plan '{}' of rep '{}' has no version in force for period {} (first version from {})",
                       of_seller("_plan"), pl.col("rep_id"), period, of_seller("_first_from"))),
    ]
    return frame, rules


def unknown_campaigns(inputs: Inputs, plans: PlanSet) -> list[Diagnostic]:
    """`unknown-campaign` errors (see the module docstring), in plan file and line order."""
    known = set(inputs.campaigns.frame["campaign_id"].to_list())
    where = Path(file_name("campaigns", inputs.campaigns.path)).name
    found = []
    for plan in plans.plans:
        for i, entry in enumerate(plan.campaigns or ()):
            if entry.campaign not in known:
                message = f"campaign '{entry.campaign}' is not in {where}"
                if close := difflib.get_close_matches(entry.campaign, sorted(known), n=1, cutoff=SIMILAR_CUTOFF):
                    message += f"; did you mean '{close[0]}'?"
                found.append(Diagnostic(plan.source, entry.line, f"campaigns[{i}].campaign", "unknown-campaign", message))
    return sorted(found, key=lambda d: (d.file, d.line or 0))


def product_warnings(inputs: Inputs, plans: PlanSet, until: date | None = None) -> list[Diagnostic]:
    """`product-never-sold` and `similar-product` warnings (see the module docstring): those of
    the plans first (as `validate` lists plan problems before data problems), each in file and
    line order."""
    sales_file = file_name("sales", inputs.sales.path)
    # one row per (plan, product) sold, with the line of its first sale: a handful of rows
    sold = (
        inputs.sales.scan(until=until)
        .group_by("rep_id", "product")
        .agg(pl.col("line").min())
        .join(inputs.reps.frame.lazy().select("rep_id", "plan"), on="rep_id")
        .group_by("plan", "product")
        .agg(pl.col("line").min())
        .sort("line", "plan")
        .collect()
    )
    named: dict[str, set[str]] = {}
    for plan in plans.plans:
        named.setdefault(plan.plan, set()).update(p for rule in plan.rates for p in rule.products or ())
    similar = []
    for plan_id, product, line in sold.rows():
        names = named.get(plan_id, set())
        if product in names:
            continue
        if close := difflib.get_close_matches(product, sorted(names), n=1, cutoff=SIMILAR_CUTOFF):
            message = (f"product '{product}' has no rate of its own in plan '{plan_id}' and is paid at the "
                       f"catch-all rate; the plan has a rule for '{close[0]}'")
            similar.append(Diagnostic(sales_file, line, "product", "similar-product", message, WARNING))
    never_sold = []
    products = sorted(set(sold["product"]))
    for plan in plans.plans:
        if until is not None and plan.effective_from > until:
            continue
        for i, rule in enumerate(plan.rates):
            for product in rule.products or ():
                if product in products:
                    continue
                message = f"the rule names product '{product}', which no sale in the data has"
                if close := difflib.get_close_matches(product, products, n=1, cutoff=SIMILAR_CUTOFF):
                    message += f"; the data has '{close[0]}'"
                never_sold.append(
                    Diagnostic(plan.source, rule.line, f"rates[{i}].product", "product-never-sold", message, WARNING)
                )
    return [*sorted(never_sold, key=lambda d: (d.file, d.line or 0)), *similar]
