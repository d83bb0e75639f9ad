"""Compose the steps of SPEC section 3 into lazy polars queries.

credit -> attainment -> rate -> quality -> cap -> clawback -> balance -> draw, each a module
of `comp_calc.steps`; this module only orders them, joins what one step gives the
next, and loops over periods when the sales are streamed from disk. `compute` takes
validated plans and inputs and a requested period and returns every computed
period's grid (rep x period) and lines (`RunResult`); `comp_calc.outputs` reads
and writes the requested period. The queries are collected at a few checkpoints
(grid, credit lines, commission lines) that later steps reuse more than once.
Before returning, the run reconciles with itself (`comp_calc.reconcile`). Stages never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from comp_calc.data.files import file_name
from comp_calc.data.model import Inputs, Table
from comp_calc.errors import Diagnostic, InputError
from comp_calc.periods import Period, period_containing, periods_between
from comp_calc.plan.model import PlanSet
from comp_calc.reconcile.lines import reconcile
from comp_calc.steps import (
    activity, attainment, balance, cap, clawback, credit, draw, holdback, outcome_bonus, quality, rate, rep_periods,
)  # fmt: skip
from comp_calc.steps.kinds import COLUMN, ORDER, SECTION6_COLUMNS
from comp_calc.steps.exact import MAX_PRECISION, MONEY, Scales, dec
from comp_calc.steps.params import PlanTables, build_tables, plan_scales

MIN_INTEGER_DIGITS = 10  # least room for the integer part; larger values that do not fit raise overflow, caught below
MAX_YEARS = 100  # history a run computes at most; a date typo like 9999 must not start a 95,000-period run


@dataclass
class RunResult:
    period: Period
    periods: list[Period]
    grid: pl.DataFrame  # one row per run rep and computed period (see engine._finish)
    # the lines of every computed period: commission lines (millions, kept as computed,
    # never copied into one frame with the rest) and the clawback, cap and carry lines
    commission_lines: pl.DataFrame
    other_lines: pl.DataFrame
    tables: PlanTables
    ignored: dict[str, int]  # rows dated after the period, per input
    # False after a streaming run: of the periods before `period`, commission_lines then
    # holds only the lines that a later cancellation claws back (the grid is complete)
    complete: bool = True

    def scan_lines(self) -> pl.LazyFrame:
        """Every line with its `kind`, `order`, `period` and, on commission lines, `base`: the
        base commission before quality, rounded half-even to 6 decimals (computed only for the
        lines a query keeps); filter before collecting."""
        starts = [p.start for p in self.periods]
        days = pl.col("p_start").replace_strict(starts, [p.days for p in self.periods], return_dtype=pl.Int64)
        base = rate.base_commission(self.tables.scales, days)
        commission = self.commission_lines.lazy().with_columns(
            order=pl.lit(ORDER["commission"]), kind=pl.lit("commission"), base=base
        ).drop("base_d")
        period = pl.col("p_start").replace_strict(starts, [p.label for p in self.periods], return_dtype=pl.String)
        return pl.concat([commission, self.other_lines.lazy()], how="diagonal_relaxed").with_columns(period=period)

    @property
    def lines(self) -> pl.DataFrame:
        """Every line of every computed period as one frame (costly on large runs: prefer scan_lines)."""
        return self.scan_lines().collect()


def _scale(frame: pl.DataFrame, column: str) -> int:
    dtype = frame.schema[column]
    return dtype.scale if isinstance(dtype, pl.Decimal) else 0


def first_period(plans: PlanSet, kind: str) -> Period | None:
    starts = [p.effective_from for p in plans.plans if p.period == kind]
    return period_containing(min(starts), kind) if starts else None


def compute(plans: PlanSet, inputs: Inputs, period: Period) -> RunResult:
    kind = period.kind
    first = first_period(plans, kind)
    if first is None:
        raise InputError(Diagnostic("plans", None, None, "no-plan-of-kind", f"no plan has period: {kind}, so {period} cannot be run"))
    if first.start > period.start:
        raise InputError(
            Diagnostic("plans", None, None, "period-before-plans", f"{period} is before the first plan period {first}")
        )
    if (period.start.year - first.start.year) > MAX_YEARS:
        message = f"{period} is more than {MAX_YEARS} years after the first plan period {first}; check the dates in the data"
        raise InputError(Diagnostic("--period", None, None, "period-too-far", message))
    scales = plan_scales(plans, _scale(inputs.sales.frame, "amount"), _scale(inputs.reps.frame, "quota"))
    if scales.division > MAX_PRECISION - MIN_INTEGER_DIGITS:
        message = (
            f"the decimals written in the data and plans need {scales.division} digits after the point for exact "
            f"arithmetic, more than {MAX_PRECISION - MIN_INTEGER_DIGITS}; write amounts, quotas and plan numbers with fewer decimals"
        )
        raise InputError(Diagnostic("plans", None, None, "too-many-decimals", message))
    try:
        return _compute(plans, inputs, period, first, scales)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as e:
        if "overflow" not in str(e) and "conversion from `decimal" not in str(e):
            raise
        message = "a number is too large for exact 38-digit decimal arithmetic; check amounts and quotas for typos"
        raise InputError(Diagnostic(file_name("sales", inputs.sales.path), None, "amount", "number-too-large", message)) from None


def _compute(plans: PlanSet, inputs: Inputs, period: Period, first: Period, scales: Scales) -> RunResult:
    """Every period up to `period`. Sales held in memory are priced in one pass; sales on disk
    (a streaming run) one period at a time, keeping only what later periods need of the
    earlier ones: the per rep-period sums and the lines that a later cancellation claws back."""
    kind = period.kind
    periods = periods_between(first, period)
    end = period.end
    tables = build_tables(plans, scales)
    ignored = {t.name: _rows_after(t, end) for t in (inputs.sales, inputs.contacts, inputs.feedback)} | {"reps": 0}
    # rep_no: rep_id order as an integer, so lines group, join and sort on integers
    reps = inputs.reps.frame.sort("rep_id").with_row_index("rep_no").with_columns(pl.col("rep_no").cast(pl.Int64))

    grid = rep_periods.grid(reps.lazy(), tables, periods, kind).sort("rep_no", "p_start").collect()
    qm = quality.quality_multipliers(grid.lazy(), inputs.feedback.scan(until=end), tables.quality_bands, scales).collect()
    components = _component_lines(grid.lazy(), inputs, tables, end)
    streaming = bool(inputs.sales.parts)
    turns = [(p.start if i else None, p.end) for i, p in enumerate(periods)] if streaming else [(None, end)]
    window = timedelta(days=int(tables.versions["ob_window"].max() or 0))  # the longest outbound window
    sums, kept, numbered, unbalanced = [], [], 0, 0
    held_sums, held_kept = [], []  # step 6b: per (rep, period, kind) sums of every period, the lines of those shown
    for since, until in turns:
        sales = inputs.sales.scan(since, until).with_columns(
            cancelled_on=pl.when(pl.col("cancelled_on") <= end).then(pl.col("cancelled_on"))
        )
        contacts = inputs.contacts.scan(since and since - window, until)
        # step 1; one chunk per column: eager operations on a frame of hundreds of chunks
        # (what the streaming engine returns) cost seconds each at millions of rows
        credit_lines = credit.credit_lines(sales, contacts, reps, tables.versions, scales, numbered).collect().rechunk()
        count = inputs.sales.frame.height - ignored["sales"] if not streaming else sales.select(pl.len()).collect().item()
        unbalanced += credit.unbalanced_sales(credit_lines, count)
        numbered += count
        commissions = _commissions(credit_lines, grid, qm, tables, scales, periods)  # steps 2-4
        del credit_lines
        sums.append(cap.earned(commissions.lazy()).collect())
        held = holdback.holdback_lines(commissions.lazy(), tables.versions, kind, period.start).collect()
        held_sums.append(holdback.per_rep_period(held.lazy()).collect())
        held_kept.append(held.filter(pl.col("p_start") == period.start) if streaming else held)
        last = until == end
        kept.append(commissions if last else commissions.filter(pl.col("cancelled_on").is_not_null()))
    commissions = kept[0] if len(kept) == 1 else pl.concat(kept)
    # every period's holdback and release sums enter the balance as component rows, one per (rep, period,
    # kind): their count says only that the rep-period has lines (see `_present`)
    summed = pl.concat([components, *held_sums], how="diagonal_relaxed")
    components = pl.concat([components, *held_kept], how="diagonal_relaxed")
    grid_df, lines = _finish(grid.lazy(), pl.concat(sums), commissions, components, qm.lazy(), tables, scales, kind, summed)  # steps 5-8
    _check(grid_df, inputs)
    result = RunResult(period, periods, grid_df, *lines, tables, ignored, complete=not streaming)
    reconcile(unbalanced, grid_df, result.scan_lines(), None if result.complete else period.start)
    return result


def _rows_after(table: Table, end: date) -> int:
    """How many of the table's rows are dated after `end`."""
    return int(table.scan(since=end + timedelta(days=1)).select(pl.len()).collect().item())


def _component_lines(grid: pl.LazyFrame, inputs: Inputs, tables: PlanTables, end: date) -> pl.DataFrame:
    """The lines of the section 6 components that the balance nets (SPEC 6.3 steps 3b-4d): each
    component's step gives lines with rep_id, rep_no, p_start, kind, amount and its own detail
    columns. A component adds its call here, its kind to `steps.kinds`, nothing else."""
    feedback = inputs.feedback.scan(until=end)
    parts = [outcome_bonus.outcome_bonus_lines(grid, feedback, tables.bonus_bands)]
    if tables.versions["has_activity"].any():
        values = tables.versions["act_min_value"].is_not_null().any()  # customer values only when a version weighs them
        contacts, sales = inputs.contacts.scan(until=end), inputs.sales.scan(until=end)
        parts.append(activity.activity_lines(grid, contacts, sales, values))
    schema = {"rep_id": pl.String, "rep_no": pl.Int64, "p_start": pl.Date, "kind": pl.String, "amount": MONEY}
    return pl.concat([pl.LazyFrame(schema=schema), *parts], how="diagonal_relaxed").collect()


def _component_sums(components: pl.DataFrame) -> pl.LazyFrame:
    """Per (rep_no, p_start) with component lines: each section 6 column (the sum of its kind's
    lines) and `component_lines`, their count."""
    sums = [
        pl.col("amount").filter(pl.col("kind") == kind).sum().cast(MONEY).alias(column)
        for kind, column in COLUMN.items()
        if column in SECTION6_COLUMNS
    ]
    return components.lazy().group_by("rep_no", "p_start").agg(*sums, component_lines=pl.len())


# descriptive columns a commission line carries from its credit line into the statement
_DESCRIPTION = ["sale_id", "role", "customer_id", "contact_id", "seller_id"]


def _commissions(
    credit_lines: pl.DataFrame,
    grid: pl.DataFrame,
    qm: pl.DataFrame,
    tables: PlanTables,
    scales: Scales,
    periods: list[Period],
) -> pl.DataFrame:
    """Steps 2-4: one commission line per credit line of a run rep, priced under its owner's plan version.

    Lines stay in line_no (attainment) order throughout, so the running credit is a
    window over that order and nothing is sorted or joined back by line. What a line
    needs from small tables is gathered by position instead of joined: its rep-period's
    row of the grid (`attainment.gather_rep_periods`), its rate row (`rate.line_rates`).
    Keeps `pv`, `run_from` and `run_to`, from which `outputs.lines.tier_pieces` rebuilds the tier
    pieces of the lines that are shown.
    """
    keys = ["rep_no", "p_start"]
    table, bands, n_bands = attainment.rep_period_table(grid.lazy(), tables, scales)
    table = (
        table.join(qm.lazy().select(*keys, "quality_multiplier"), on=keys, how="left", maintain_order="left")
        .drop("rep_id", "rep_no", *[f"multiplier_{b}" for b in range(n_bands)])
        .collect()
    )
    columns = ["line_no", "rep_id", "rep_no", "product", "sold_on", "cancelled_on", "credited", *_DESCRIPTION]
    lines, at = attainment.gather_rep_periods(credit_lines, columns, grid, table, periods)
    products = credit_lines["product"].unique().sort()
    rates = rate.rate_table(tables.rates, bands, n_bands, products, scales)
    line_rates = rate.line_rates(rates, at["pv"], lines["product"], products)
    priced = (
        pl.concat([lines.select("credited"), at, line_rates], how="horizontal")
        .lazy()
        .pipe(attainment.running_credit, scales, "row")  # step 2
        .with_columns(base_d=rate.base_times_days(n_bands, scales))  # step 3
        .with_columns(quality.line_commission(scales))  # step 4
        .select(
            "p_start", "pv", "p_days", "rounding", "run_from", "run_to", "rate", "qm_used",
            "base_d",  # the base commission (before quality) times D, exact; see RunResult.scan_lines
            "amount",
        )  # fmt: skip
        .collect()
        .rechunk()
    )
    return pl.concat([lines, priced], how="horizontal")


def _finish(
    grid: pl.LazyFrame,
    earned: pl.DataFrame,
    commissions: pl.DataFrame,
    components: pl.DataFrame,
    qm: pl.LazyFrame,
    tables: PlanTables,
    scales: Scales,
    kind: str,
    summed: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Steps 5-8: the payouts grid (cap, clawbacks, balance, draw, the attainment shown) from
    `earned` (see `cap.earned`) and the commission lines, at least every one that a
    cancellation in a computed period claws back; and the run's lines (`_lines`). The section 6
    columns add up `summed` (rows of rep_no, p_start, kind, amount: lines, or sums of the lines
    a streaming run does not keep), else the `components` lines."""
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    claw_lines = clawback.clawback_lines(holdback.with_held(commissions.lazy(), tables.versions), tables.clawback, scales, kind).collect()
    g = (
        grid.join(earned.lazy(), on=keys, how="left")
        .join(clawback.per_rep_period(claw_lines.lazy()), on=keys, how="left")
        .join(qm.drop("rep_id"), on=keys, how="left")
        .join(_component_sums(components if summed is None else summed), on=keys, how="left")
        .with_columns(
            *[pl.col(c).fill_null(zero) for c in SECTION6_COLUMNS],
            pl.col("component_lines").fill_null(0),
            restatement_open=zero,  # SPEC 6.3 step 9; no restatement yet
        )
        .with_columns(
            earned=pl.col("earned").fill_null(zero),
            clawbacks=pl.col("clawbacks").fill_null(zero),
            credited=pl.col("credited").fill_null(pl.lit(0, dtype=dec(scales.credited))),
            commission_lines=pl.col("commission_lines").fill_null(0),
            clawback_lines=pl.col("clawback_lines").fill_null(0),
        )
        .with_columns(cap_adjustment=cap.cap_adjustment())
    )
    g = g.with_columns(balance.period_net(g.collect_schema().names()))
    g = (
        balance.settle(g)
        .pipe(draw.settle)  # step 8
        .with_columns(present=_present())
        .pipe(attainment.prorated_quota, scales)
        .sort("rep_no", "p_start")
        .collect()
    )
    return g, _lines(g.lazy(), commissions, claw_lines.lazy(), components)


def _present() -> pl.Expr:
    """A rep-period is a payouts row when the rep is active, or has lines or a carry in it."""
    lines = (pl.col("commission_lines") > 0) | (pl.col("clawback_lines") > 0) | (pl.col("component_lines") > 0)
    return pl.col("active") | lines | (pl.col("carry_in") != 0)


def _lines(
    grid: pl.LazyFrame, commissions: pl.DataFrame, claw_lines: pl.LazyFrame, components: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(commission lines, every other kind's lines) of every computed period, unordered
    (`outputs.lines.period_lines` orders one period's). The commission lines share the commissions' columns."""
    commission = commissions.select(
        "line_no", "rep_id", "rep_no", "p_start", "sold_on", "product", "credited", "rate",
        pl.col("qm_used").alias("quality_multiplier"), "amount", "base_d", "cancelled_on", *_DESCRIPTION, "pv", "run_from", "run_to",
    )  # fmt: skip
    periods = grid.select("p_start", "period").unique()
    claw = claw_lines.join(periods.rename({"p_start": "original_start", "period": "original_period"}), on="original_start").select(
        "line_no", "rep_id", "rep_no", "p_start", pl.lit(ORDER["clawback"]).alias("order"), pl.lit("clawback").alias("kind"), "sold_on", "product",
        "credited", pl.col("clawback").alias("amount"), "cancelled_on", "within_days", "days",
        pl.col("recover").cast(pl.String), "original_period", "original_amount", "held", *_DESCRIPTION,
    )  # fmt: skip
    cap_lines = grid.filter(pl.col("cap_adjustment").is_not_null()).select(
        "rep_id", "rep_no", "p_start", pl.lit(ORDER["cap"]).alias("order"), pl.lit("cap").alias("kind"), pl.col("cap_adjustment").alias("amount"),
        "earned", "cap",
    )  # fmt: skip
    carry = grid.filter(pl.col("carry_in") != 0).select(
        "rep_id", "rep_no", "p_start", pl.lit(ORDER["carry"]).alias("order"), pl.lit("carry").alias("kind"), pl.col("carry_in").alias("amount")
    )
    draws = draw.draw_lines(grid)
    ordered = pl.concat([components.lazy(), draws], how="diagonal_relaxed").with_columns(
        order=pl.col("kind").replace_strict(ORDER, return_dtype=pl.Int32)
    )
    if "original_start" in components.columns:  # holdback and release lines: the commission's period label
        ordered = ordered.join(periods.rename({"p_start": "original_start", "period": "original_period"}), on="original_start", how="left")
    return commission, pl.concat([claw, cap_lines, carry, ordered], how="diagonal_relaxed").collect()


def _check(grid: pl.DataFrame, inputs: Inputs) -> None:
    """Input errors only visible after computing: a present rep without a plan version, quota 0 under tiers.

    Kept here, not in a step: whether a rep is present, and whether a zero quota matters
    (active, or credited lines), is known only once the steps are composed; and these are
    the user's mistakes, reported as diagnostics with their text, which steps never build.
    """
    reps_file = inputs.reps.path or "reps.csv"
    problems = []
    no_version = grid.filter(pl.col("present") & pl.col("version").is_null())
    for r in no_version.select("rep_id", "plan", "period", "rep_line").unique().sort("rep_id", "period").head(50).to_dicts():
        message = f"rep {r['rep_id']}: plan {r['plan']} has no version in force in {r['period']}"
        problems.append(Diagnostic(reps_file, r["rep_line"], "plan", "no-plan-version", message))
    zero_quota = grid.filter(
        pl.col("has_tiers").fill_null(False)
        & (pl.col("quota") == 0)
        & (pl.col("active") | (pl.col("commission_lines") > 0))
    )
    for r in zero_quota.select("rep_id", "period", "rep_line").unique().sort("rep_id", "period").head(50).to_dicts():
        message = f"rep {r['rep_id']} has quota 0 under a plan with attainment tiers in {r['period']}"
        problems.append(Diagnostic(reps_file, r["rep_line"], "quota", "zero-quota-with-tiers", message))
    if problems:
        raise InputError(problems)
