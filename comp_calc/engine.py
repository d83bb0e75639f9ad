"""Compose the steps of SPEC section 3 into lazy polars queries.

`compute` takes validated plans and inputs and a requested period and returns
every computed period's grid (rep x period) and lines; the outputs module
writes the requested period. The queries are collected at a few checkpoints
(grid, credit lines, commission lines) that later steps reuse more than once.
Stages never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from comp_calc.data.model import Inputs, Table
from comp_calc.errors import Diagnostic, InputError, ReconciliationError
from comp_calc.periods import MONTH as MONTH_KIND, Period, period_containing, periods_between
from comp_calc.plan.model import PlanSet
from comp_calc.steps import attainment, balance, cap, clawback, credit, quality, rate
from comp_calc.steps.exact import MAX_PRECISION, Scales, dec, div_round, round_to
from comp_calc.steps.params import PlanTables, attach_version, build_tables, month_number, plan_scales, wide_by_version

MONEY = dec(2)
MIN_INTEGER_DIGITS = 10  # least room for the integer part; larger values that do not fit raise overflow, caught below
MAX_YEARS = 100  # history a run computes at most; a date typo like 9999 must not start a 95,000-period run


@dataclass
class RunResult:
    period: Period
    periods: list[Period]
    grid: pl.DataFrame  # one row per run rep and computed period (see _grid and _finish)
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
        base = div_round(pl.col("base_d"), self.tables.scales.base, days, 6, "half_even")
        commission = self.commission_lines.lazy().with_columns(order=pl.lit(0), kind=pl.lit("commission"), base=base).drop("base_d")
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
        raise InputError(Diagnostic("sales.csv", None, "amount", "number-too-large", message)) from None


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

    grid = _grid(reps.lazy(), tables, periods, kind).sort("rep_no", "p_start").collect()
    qm = quality.quality_multipliers(grid.lazy(), inputs.feedback.scan(until=end), tables.quality_bands, scales).collect()
    streaming = bool(inputs.sales.parts)
    turns = [(p.start if i else None, p.end) for i, p in enumerate(periods)] if streaming else [(None, end)]
    window = timedelta(days=int(tables.versions["ob_window"].max() or 0))  # the longest outbound window
    sums, kept, numbered, unbalanced = [], [], 0, 0
    for since, until in turns:
        sales = inputs.sales.scan(since, until).with_columns(
            cancelled_on=pl.when(pl.col("cancelled_on") <= end).then(pl.col("cancelled_on"))
        )
        contacts = inputs.contacts.scan(since and since - window, until)
        # one chunk per column: eager operations on a frame of hundreds of chunks (what the
        # streaming engine returns) cost seconds each at millions of rows
        credit_lines = credit.credit_lines(sales, contacts, reps, tables.versions, scales, numbered).collect().rechunk()
        count = inputs.sales.frame.height - ignored["sales"] if not streaming else sales.select(pl.len()).collect().item()
        unbalanced += credit.unbalanced_sales(credit_lines, count)
        numbered += count
        commissions = _commissions(credit_lines, grid, qm, tables, scales, periods)
        del credit_lines
        sums.append(_earned(commissions))
        last = until == end
        kept.append(commissions if last else commissions.filter(pl.col("cancelled_on").is_not_null()))
    commissions = kept[0] if len(kept) == 1 else pl.concat(kept)
    grid_df, lines = _finish(grid.lazy(), pl.concat(sums), commissions, qm.lazy(), tables, scales, kind)
    _check(grid_df, inputs)
    result = RunResult(period, periods, grid_df, *lines, tables, ignored, complete=not streaming)
    reconcile(unbalanced, grid_df, result.scan_lines(), None if result.complete else period.start)
    return result


def _rows_after(table: Table, end: date) -> int:
    """How many of the table's rows are dated after `end`."""
    return int(table.scan(since=end + timedelta(days=1)).select(pl.len()).collect().item())


def _earned(commissions: pl.DataFrame) -> pl.DataFrame:
    """Per rep and period: earned (the sum of the rounded commissions), credited, line count."""
    return (
        commissions.lazy()
        .group_by("rep_no", "p_start")
        .agg(earned=pl.col("amount").sum().cast(MONEY), credited=pl.col("credited").sum(), commission_lines=pl.len())
        .collect()
    )


def _grid(reps: pl.LazyFrame, tables: PlanTables, periods: list[Period], kind: str) -> pl.LazyFrame:
    """Every run rep (plan of this kind) x every computed period, with its plan version's settings."""
    period_frame = pl.DataFrame(
        {
            "period": [p.label for p in periods],
            "p_start": [p.start for p in periods],
            "p_end": [p.end for p in periods],
            "p_days": [p.days for p in periods],
        }
    ).lazy()
    run_plans = tables.versions.lazy().filter(pl.col("kind") == kind).select("plan").unique()
    from_day = pl.max_horizontal("start_date", "p_start")
    to_day = pl.min_horizontal(pl.col("end_date").fill_null(pl.col("p_end")), "p_end")
    active_days = pl.when(to_day >= from_day).then((to_day - from_day).dt.total_days() + 1).otherwise(0)
    grid = (
        reps.join(run_plans, on="plan", how="semi")
        .rename({"line": "rep_line"})
        .join(period_frame, how="cross")
        .with_columns(active_days=active_days.cast(pl.Int64))
        .with_columns(active=pl.col("active_days") > 0)
    )
    versions = tables.versions.drop("kind", "ob_channels", "ob_connected_only", "ob_window", "ob_share")
    return attach_version(grid, versions, on="p_start")


# descriptive columns a commission line carries from its credit line into the statement
_DESCRIPTION = ["sale_id", "role", "customer_id", "contact_id", "seller_id"]


def _owner(grid: pl.LazyFrame, tables: PlanTables, scales: Scales) -> tuple[pl.LazyFrame, pl.DataFrame, int]:
    """Per rep and period what pricing a line needs: plan version, day counts, rounding and
    the tier band edges times D; plus the version's band table and its number of bands."""
    bands, n_bands = wide_by_version(tables.tiers, "band", ["lower", "upper", "multiplier"])
    owner = (
        grid.select("rep_id", "rep_no", "p_start", "p_days", "pv", "quota", "active_days", "rounding")
        .join(bands.lazy(), on="pv", how="left", maintain_order="left")
        .with_columns(attainment.band_edges(n_bands, scales))
        .drop("quota", "active_days", *[c for c in bands.columns if c.startswith(("lower_", "upper_"))])
    )
    return owner, bands, n_bands


def _period_index(day: pl.Expr, first: Period) -> pl.Expr:
    """How many periods of `first`'s kind lie between `first` and the period containing `day`."""
    months = month_number(day)
    start = first.start.year * 12 + first.start.month - 1
    return months - start if first.kind == MONTH_KIND else months // 3 - start // 3


def _commissions(
    credit_lines: pl.DataFrame,
    grid: pl.DataFrame,
    qm: pl.DataFrame,
    tables: PlanTables,
    scales: Scales,
    periods: list[Period],
) -> pl.DataFrame:
    """One commission line per credit line of a run rep, priced under its owner's plan version.

    Lines stay in line_no (attainment) order throughout, so the running credit is a
    window over that order and nothing is sorted or joined back by line. What a line
    needs from small tables is gathered by position instead of joined: the grid is
    every run rep x every period in (rep_no, period) order, so a line's rep-period is
    row `rep position * periods + period index`; a rate is row `pv * products +
    product code` of the rate table. Keeps `pv`, `run_from` and `run_to`, from which
    `tiers_for` rebuilds the tier pieces of the lines that are shown.
    """
    n_periods = len(periods)
    run_reps = grid["rep_no"].unique(maintain_order=True)
    if grid.height != len(run_reps) * n_periods:  # the positions below need every rep x every period
        raise ReconciliationError(f"the rep x period grid has {grid.height} rows, not {len(run_reps)} x {n_periods}")
    owner, bands, n_bands = _owner(grid.lazy(), tables, scales)
    owner = owner.join(qm.lazy().select("rep_no", "p_start", "quality_multiplier"), on=["rep_no", "p_start"], how="left", maintain_order="left")
    owner = owner.drop("rep_id", "rep_no", *[f"multiplier_{b}" for b in range(n_bands)]).collect()
    products = credit_lines["product"].unique().sort()
    rates = rate.rate_table(tables.rates, bands, n_bands, products, scales)
    # rep-period row of the grid; null for a line of a rep outside the run (a plan of the other kind)
    period_index = _period_index(pl.col("sold_on"), periods[0])
    position = pl.col("rep_no").replace_strict(run_reps, pl.int_range(len(run_reps), eager=True), default=None)
    rows = credit_lines.select(
        row=position * n_periods + period_index, ok=position.is_not_null() & period_index.is_between(0, n_periods - 1)
    )
    lines = credit_lines.select("line_no", "rep_id", "rep_no", "product", "sold_on", "cancelled_on", "credited", *_DESCRIPTION)
    if not rows["ok"].all():  # copy only when some lines are not this run's
        lines, rows = lines.filter(rows["ok"]), rows.filter(rows["ok"])
    at = owner.select(pl.all().gather(rows["row"]))
    rate_rows = pl.DataFrame([at["pv"], lines["product"]]).select(rate.rate_row(products)).to_series()
    line_rates = rates.drop("pv", "product").select(pl.all().gather(rate_rows))
    one = pl.lit(1, dtype=dec(scales.quality_multiplier))
    w = scales.commission
    priced = (
        pl.concat([lines.select("credited"), rows.select("row"), at, line_rates], how="horizontal")
        .lazy()
        .pipe(attainment.running_credit, scales, "row")
        .with_columns(qm_used=pl.col("quality_multiplier").fill_null(one), base_d=rate.base_times_days(n_bands, scales))
        .select(
            "p_start", "pv", "p_days", "rounding", "run_from", "run_to", "rate", "qm_used",
            "base_d",  # the base commission (before quality) times D, exact; see RunResult.scan_lines
            amount=div_round(
                pl.col("base_d").cast(dec(w)) * pl.col("qm_used").cast(dec(w)), w, pl.col("p_days"), 2, pl.col("rounding")
            ),
        )  # fmt: skip
        .collect()
        .rechunk()
    )
    return pl.concat([lines, priced], how="horizontal")


def _period_start(day: pl.Expr, kind: str) -> pl.Expr:
    return day.dt.truncate("1q" if kind == "quarter" else "1mo")


def _finish(
    grid: pl.LazyFrame,
    earned: pl.DataFrame,
    commissions: pl.DataFrame,
    qm: pl.LazyFrame,
    tables: PlanTables,
    scales: Scales,
    kind: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The payouts grid (cap, clawbacks, balance) from `earned` (see `_earned`) and the commission
    lines, at least every one that a cancellation in a computed period claws back."""
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    per_rep = earned.lazy()
    claw_lines = (
        clawback.clawbacks(commissions.lazy(), tables.clawback, scales)
        .rename({"p_start": "original_start", "amount": "original_amount"})
        .with_columns(p_start=_period_start(pl.col("cancelled_on"), kind))
        .collect()
    )
    claw_sum = claw_lines.lazy().group_by(keys).agg(clawbacks=pl.col("clawback").sum().cast(MONEY), clawback_lines=pl.len())

    g = (
        grid.join(per_rep, on=keys, how="left")
        .join(claw_sum, on=keys, how="left")
        .join(qm.drop("rep_id"), on=keys, how="left")
        .with_columns(
            earned=pl.col("earned").fill_null(zero),
            clawbacks=pl.col("clawbacks").fill_null(zero),
            credited=pl.col("credited").fill_null(pl.lit(0, dtype=dec(scales.credited))),
            commission_lines=pl.col("commission_lines").fill_null(0),
            clawback_lines=pl.col("clawback_lines").fill_null(0),
        )
        .with_columns(cap_adjustment=cap.cap_adjustment())
        .with_columns(x=pl.col("earned") + pl.col("cap_adjustment").fill_null(zero) + pl.col("clawbacks"))
    )
    g = balance.settle(g).with_columns(
        present=pl.col("active")
        | (pl.col("commission_lines") > 0)
        | (pl.col("clawback_lines") > 0)
        | (pl.col("carry_in") != 0),
        prorated_quota_d=pl.col("quota").cast(dec(scales.quota)) * pl.col("active_days"),
    )
    g = g.with_columns(
        quota_shown=div_round(pl.col("prorated_quota_d"), scales.quota, pl.col("p_days"), 2, "half_even"),
        attainment=pl.when(pl.col("prorated_quota_d") > 0).then(
            round_to(
                pl.col("credited").cast(dec(scales.credited + 12)) * pl.col("p_days") / pl.col("prorated_quota_d").cast(dec(scales.credited + 12)),
                6,
                "half_even",
            )
        ),
    ).sort("rep_no", "p_start").collect()

    return g, _lines(g.lazy(), commissions, claw_lines.lazy())


def _lines(grid: pl.LazyFrame, commissions: pl.DataFrame, claw_lines: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(commission lines, clawback + cap + carry lines) of every computed period, unordered
    (`period_lines` orders one period's). The commission lines share the commissions' columns."""
    commission = commissions.select(
        "line_no", "rep_id", "rep_no", "p_start", "sold_on", "product", "credited", "rate",
        pl.col("qm_used").alias("quality_multiplier"), "amount", "base_d", "cancelled_on", *_DESCRIPTION, "pv", "run_from", "run_to",
    )  # fmt: skip
    periods = grid.select("p_start", "period").unique()
    claw = claw_lines.join(periods.rename({"p_start": "original_start", "period": "original_period"}), on="original_start").select(
        "line_no", "rep_id", "rep_no", "p_start", pl.lit(2).alias("order"), pl.lit("clawback").alias("kind"), "sold_on", "product",
        "credited", pl.col("clawback").alias("amount"), "cancelled_on", "within_days", "days",
        pl.col("recover").cast(pl.String), "original_period", "original_amount", *_DESCRIPTION,
    )  # fmt: skip
    cap_lines = grid.filter(pl.col("cap_adjustment").is_not_null()).select(
        "rep_id", "rep_no", "p_start", pl.lit(1).alias("order"), pl.lit("cap").alias("kind"), pl.col("cap_adjustment").alias("amount"),
        "earned", "cap",
    )  # fmt: skip
    carry = grid.filter(pl.col("carry_in") != 0).select(
        "rep_id", "rep_no", "p_start", pl.lit(3).alias("order"), pl.lit("carry").alias("kind"), pl.col("carry_in").alias("amount")
    )
    return commission, pl.concat([claw, cap_lines, carry], how="diagonal_relaxed").collect()


def period_lines(result: RunResult, period: str | None = None, reps: tuple[int, int] | None = None) -> pl.DataFrame:
    """The lines of one period in SPEC order, with their `tiers` text; with `reps=(first, last)`,
    only those of the reps whose rep_no lies in that range.

    Order: by rep_id (rep_no); within a rep, commission lines in attainment order,
    the cap line, clawbacks by the original (sold_on, sale_id, role), which
    line_no encodes, then the carry line.
    """
    lines = result.scan_lines().filter(_in_period(result, period))
    if reps is not None:
        lines = lines.filter(pl.col("rep_no").is_between(*reps))
    lines = tiers_for(result, lines.collect())
    # the pricing columns have served the tier text; fewer columns make the sort cheaper
    return lines.drop("rep_no", "pv", "run_from", "run_to").sort(lines["rep_no"], "order", "line_no", nulls_last=True)


def _in_period(result: RunResult, period: str | None) -> pl.Expr:
    period = period or result.period.label
    starts = [p.start for p in result.periods if p.label == period]
    return (pl.col("p_start") == starts[0]) if starts else pl.lit(False)


def rep_groups(result: RunResult, size: int) -> list[tuple[int, int]]:
    """(first, last) rep_no ranges, in order, that split the requested period's lines into
    groups of about `size` lines (a rep's lines are never split); at least one range."""
    counts = (
        result.scan_lines()
        .filter(_in_period(result, None))
        .group_by("rep_no")
        .agg(n=pl.len())
        .sort("rep_no")
        .with_columns(group=(pl.col("n").cum_sum() - pl.col("n")) // size)
        .group_by("group")
        .agg(first=pl.col("rep_no").min(), last=pl.col("rep_no").max())
        .sort("group")
        .collect()
    )
    return list(zip(counts["first"], counts["last"], strict=True)) or [(0, -1)]


def tiers_for(result: RunResult, lines: pl.DataFrame) -> pl.DataFrame:
    """`lines` (a slice of result.lines) with a `tiers` column: "multiplier@piece|..." per band touched."""
    owner, _, n_bands = _owner(result.grid.lazy(), result.tables, result.tables.scales)
    owner = owner.with_columns(rate.multiplier_texts(n_bands, result.tables.scales))  # per rep-period, not per line
    return (
        lines.lazy()
        .join(owner.drop("rep_id", "pv", "rounding"), on=["rep_no", "p_start"], how="left", maintain_order="left")
        .with_columns(tiers=pl.when(pl.col("kind") == "commission").then(rate.tiers_text(n_bands, result.tables.scales)))
        .select(*lines.columns, "tiers")
        .collect()
    )


def _check(grid: pl.DataFrame, inputs: Inputs) -> None:
    """Input errors only visible after computing: a present rep without a plan version, quota 0 under tiers."""
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


def reconcile(bad_sales: int, grid: pl.DataFrame, lines: pl.LazyFrame, lines_from: date | None = None) -> None:
    """The run's own invariants; a failure is a bug in this tool, never a user mistake.

    - no sale's credit lines fail to add up to its amount (`bad_sales`, from
      `credit.unbalanced_sales`);
    - per rep and period, the lines add up to the payouts row (with `lines_from`,
      only in the periods from that day on: before it, a streaming run keeps only the
      commission lines of later-cancelled sales), and
      payout = earned + cap + clawbacks + carry_in - carry_out;
    - under carry_forward no payout is negative;
    - the cap holds: above it, earned + cap line = cap; at or below it, no cap line.
    """
    failures = []
    if bad_sales:
        failures.append(f"{bad_sales} sales whose credit lines do not add up to the amount")
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    kinds = ("commission", "cap", "clawback", "carry")
    # kind as a group key, then a column per kind on the small result (a filter inside
    # the aggregation is many times slower over millions of lines); lazy, so that only
    # the columns it reads are touched
    sums = lines.group_by(*keys, "kind").agg(pl.col("amount").sum().cast(MONEY)).collect()
    by_kind = sums.pivot(on="kind", index=keys, values="amount")
    by_kind = by_kind.with_columns(pl.lit(None, dtype=MONEY).alias(k) for k in kinds if k not in by_kind.columns).rename(
        {k: f"_{k}" for k in kinds}
    )
    present = grid.filter(pl.col("present"))
    rows = present.join(by_kind, on=keys, how="left").with_columns(pl.col("^_.*$").fill_null(zero))
    lines_kept = pl.lit(True) if lines_from is None else pl.col("p_start") >= lines_from
    mismatched = rows.filter(
        lines_kept
        & (
            (pl.col("_commission") != pl.col("earned"))
            | (pl.col("_cap") != pl.col("cap_adjustment").fill_null(zero))
            | (pl.col("_clawback") != pl.col("clawbacks"))
            | (pl.col("_carry") != pl.col("carry_in"))
        )
        | (pl.col("payout") != pl.col("earned") + pl.col("cap_adjustment").fill_null(zero) + pl.col("clawbacks") + pl.col("carry_in") - pl.col("carry_out"))
        | ((pl.col("negative_balance") == "carry_forward") & (pl.col("payout") < 0))
        # the cap rule itself: above the cap, earned plus the cap line is exactly the cap; no cap line otherwise
        | ((pl.col("earned") > pl.col("cap")).fill_null(False) & (pl.col("earned") + pl.col("cap_adjustment").fill_null(zero) != pl.col("cap")))
        | (pl.col("cap_adjustment").is_not_null() & ~(pl.col("earned") > pl.col("cap")).fill_null(False))
    )
    if mismatched.height:
        failures.append(f"{mismatched.height} rep-periods whose lines do not add up to their payouts row")
    outside = by_kind.join(present, on=keys, how="anti")
    if outside.height:
        failures.append(f"lines of {outside.height} rep-periods missing from the payouts")
    if failures:
        raise ReconciliationError("; ".join(failures))
