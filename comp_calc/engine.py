"""Compose the steps of SPEC section 3 into lazy polars queries.

credit -> attainment -> rate -> quality (-> spif) -> cap -> clawback -> holdback -> balance -> draw, each a module
of `comp_calc.steps`; this module only orders them, joins what one step gives the
next, and loops over periods when the sales are streamed from disk. `compute` takes
validated plans and inputs and a requested period and returns every computed
period's grid (rep x period) and lines (`RunResult`); `comp_calc.outputs` reads
and writes the requested period. The queries are collected at a few checkpoints
(grid, credit lines, commission lines) that later steps reuse more than once.
Before returning, the run reconciles with itself (`comp_calc.reconcile`). Stages never print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from comp_calc.data.files import file_name
from comp_calc.data.model import Inputs, Table
from comp_calc.errors import Diagnostic, InputError
from comp_calc.periods import Period, period_containing, periods_between
from comp_calc.plan.model import PlanSet
from comp_calc.reconcile.lines import reconcile
from comp_calc.steps import (
    activity, attainment, balance, cap, clawback, credit, draw, holdback, outcome_bonus, override, quality, rate, rep_periods,
    spif,
)  # fmt: skip
from comp_calc.data.closed import ClosedPeriods
from comp_calc.steps import currency, restatement
from comp_calc.steps.kinds import COLUMN, ORDER, SECTION6_COLUMNS
from comp_calc.steps.exact import INT64_LIMIT, MAX_PRECISION, MONEY, Scales, UnitTypes, dec, from_units, pricing_units, units
from comp_calc.steps.params import PlanTables, build_tables, plan_scales

MIN_INTEGER_DIGITS = 10  # least room for the integer part; larger values that do not fit raise overflow, caught below
MAX_YEARS = 100  # history a run computes at most; a date typo like 9999 must not start a 95,000-period run


@dataclass
class RunResult:
    period: Period
    periods: list[Period]
    grid: pl.DataFrame  # one row per run rep and computed period (see engine._finish)
    # the lines of every computed period: commission lines (millions, kept as computed,
    # never copied into one frame with the rest; their amounts as Int64 units where they fit,
    # `in_decimal` reads them as Decimals) and the other kinds' lines, in parts that each
    # hold only their own columns (`scan_other_lines` reads them as one frame)
    commission_lines: pl.DataFrame
    other_lines: tuple[pl.DataFrame, ...]
    tables: PlanTables
    ignored: dict[str, int]  # rows dated after the period, per input
    # False after a streaming run: of the periods before `period`, commission_lines (and the
    # spif lines of other_lines) then hold only the lines that a later cancellation claws back
    # (the grid is complete)
    complete: bool = True
    closed: ClosedPeriods | None = None  # the closed periods the requested period restates (step 9)
    # where the commission lines' text is looked up (their `sale`, see `credit.describe`)
    text: Text | None = None

    def scan_lines(self) -> pl.LazyFrame:
        """Every line with its `kind`, `order`, `period` and, on commission lines, `base`: the
        base commission before quality, rounded half-even to 6 decimals (computed only for the
        lines a query keeps); filter before collecting."""
        starts = [p.start for p in self.periods]
        days = self.days()
        base = rate.base_commission(self.tables.scales, days)
        commission = in_decimal(self.commission_lines.lazy(), self.tables.scales).with_columns(
            attainment.run_from(self.tables.scales, days), self.quality_multiplier()
        )
        if self.text is not None:
            commission = self.text.of(commission).select(*COMMISSION_COLUMNS, *_converted(self.commission_lines.columns))
        commission = commission.with_columns(order=pl.lit(ORDER["commission"]), kind=pl.lit("commission"), base=base).drop("base_d")
        period = pl.col("p_start").replace_strict(starts, [p.label for p in self.periods], return_dtype=pl.String)
        return pl.concat([commission, self.scan_other_lines()], how="diagonal_relaxed").with_columns(period=period)

    def days(self) -> pl.Expr:
        """D, the day count of a line's period, from its `p_start`."""
        return pl.col("p_start").replace_strict([p.start for p in self.periods], [p.days for p in self.periods], return_dtype=pl.Int64)

    def quality_multiplier(self) -> pl.Expr:
        """The quality multiplier a commission line was priced with (1 where its rep-period has
        none), as lines show it: looked up by the line's rep_no and p_start in the grid (a row per
        run rep and period, in that order), not stored on millions of lines."""
        values = self.grid.select(quality.applied_multiplier(self.tables.scales)).to_series()
        if not self.grid.height:
            return pl.lit(None, dtype=values.dtype).alias("quality_multiplier")
        reps = self.grid["rep_no"].unique(maintain_order=True)
        index = attainment.period_index(pl.col("p_start"), self.periods[0])
        row = attainment.rep_position(reps, int(reps.max()) + 1) * len(self.periods) + index
        return pl.lit(values).gather(row).alias("quality_multiplier")

    def scan_other_lines(self) -> pl.LazyFrame:
        """Every line but the commission lines, as one frame (a column a part lacks is null there):
        filter before collecting."""
        return pl.concat([part.lazy() for part in self.other_lines], how="diagonal_relaxed")

    @property
    def lines(self) -> pl.DataFrame:
        """Every line of every computed period as one frame (costly on large runs: prefer scan_lines)."""
        return self.scan_lines().collect()


@dataclass(frozen=True)
class Text:
    """Where the text of lines that carry `sale` is looked up: the sales and their matches
    (`credit.coded_lines`) and the rep ids (row = rep_no)."""

    sales: pl.DataFrame
    matches: pl.DataFrame
    rep_ids: pl.Series

    def of(self, lines: pl.LazyFrame, columns: list[str] | None = None) -> pl.LazyFrame:
        """`lines` with their text (`credit.describe`), or only `columns` of it."""
        return credit.describe(lines, self.sales, self.matches, self.rep_ids, columns)


def _unit_scales(scales: Scales) -> dict[str, int]:
    """The commission line columns the integer path may store as integer units, with their scales."""
    return {
        "run_to": scales.scaled_credit, "base_d": scales.base, "credited": scales.credited, "rate": scales.rate, "amount": 2,
        "sale_credited": scales.credited, "fx_rate": scales.fx,
    }  # fmt: skip


def in_decimal(commissions: pl.LazyFrame, scales: Scales) -> pl.LazyFrame:
    """Commission lines with every `_unit_scales` column Decimal: as they are after Decimal
    pricing, else the Decimals their integer units stand for (`exact.from_units`), of the same
    scales as the Decimal path's, so that both read alike."""
    schema = commissions.collect_schema()
    scale = _unit_scales(scales)
    integers = [c for c in scale if c in schema and schema[c].is_integer()]
    return commissions.with_columns(from_units(pl.col(c), scale[c]) for c in integers) if integers else commissions


def _compact(lines: pl.DataFrame, scales: Scales, scale: dict[str, int] | None = None) -> pl.DataFrame:
    """`lines` with each `_unit_scales` column (or each of `scale`) held as Int64 units where all
    its values fit (with the room of `exact.INT64_LIMIT`): 8 bytes a line instead of a Decimal's or
    an Int128's 16. Exact both ways: a Decimal of that scale is its own integer (`to_physical`),
    and a cast that did not fit would fail, never wrap. `in_decimal` reads them back."""
    scale = scale or _unit_scales(scales)
    wide = [
        c for c, t in lines.schema.items()
        if c in scale and (t == pl.Int128 or (isinstance(t, pl.Decimal) and t.scale == scale[c]))
    ]  # fmt: skip
    if not wide or not lines.height:
        return lines
    largest = lines.select(pl.col(c).to_physical().abs().max() for c in wide).row(0)
    for c, m in zip(wide, largest, strict=True):  # a column at a time: each wide one goes as its narrow one comes
        if (m or 0) < INT64_LIMIT:
            lines = lines.with_columns(pl.col(c).to_physical().cast(pl.Int64))
    return lines


def _scale(frame: pl.DataFrame, column: str) -> int:
    dtype = frame.schema[column]
    return dtype.scale if isinstance(dtype, pl.Decimal) else 0


def _fx_scale(plans: PlanSet, inputs: Inputs) -> int:
    """The decimals of the exchange rates, when a run may use one (else 0: scales as before)."""
    by_plan = pl.DataFrame([(p.plan, p.currency) for p in plans.plans], schema=["plan", "currency"], orient="row")
    currencies = currency.plan_currency(inputs.reps.frame, by_plan)
    if not inputs.fx_rates.frame.height or not currency.needs_conversion(currencies, inputs.sales.scan()):
        return 0
    return _scale(inputs.fx_rates.frame, "rate")


def first_period(plans: PlanSet, kind: str) -> Period | None:
    starts = [p.effective_from for p in plans.plans if p.period == kind]
    return period_containing(min(starts), kind) if starts else None


def compute(plans: PlanSet, inputs: Inputs, period: Period, closed: ClosedPeriods | None = None) -> RunResult:
    """Every period from the first up to `period`; with `closed` (the paid records of closed
    periods before `period`, `comp_calc.data.closed`), `period` restates them (step 9)."""
    first = _first_period(plans, period)
    scales = _scales(plans, inputs)
    try:
        return _compute(plans, inputs, period, first, scales, closed or ClosedPeriods())
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as e:
        if not _too_large(e):
            raise
        message = "a number is too large for exact 38-digit decimal arithmetic; check amounts and quotas for typos"
        raise InputError(Diagnostic(file_name("sales", inputs.sales.path), None, "amount", "number-too-large", message)) from None


def _first_period(plans: PlanSet, period: Period) -> Period:
    """The first period a run of `period` computes; a period the plans do not cover is an input error."""
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
    return first


def _scales(plans: PlanSet, inputs: Inputs) -> Scales:
    """The run's scales (`exact.Scales`); too many decimals for exact arithmetic is an input error."""
    scales = plan_scales(plans, _scale(inputs.sales.frame, "amount"), _scale(inputs.reps.frame, "quota"), _fx_scale(plans, inputs))
    if scales.division > MAX_PRECISION - MIN_INTEGER_DIGITS:
        message = (
            f"the decimals written in the data and plans need {scales.division} digits after the point for exact "
            f"arithmetic, more than {MAX_PRECISION - MIN_INTEGER_DIGITS}; write amounts, quotas, exchange rates and plan numbers with fewer decimals"
        )
        raise InputError(Diagnostic("plans", None, None, "too-many-decimals", message))
    return scales


def _compute(plans: PlanSet, inputs: Inputs, period: Period, first: Period, scales: Scales, closed: ClosedPeriods) -> RunResult:
    """Every period up to `period`. Sales held in memory are priced in one pass; sales on disk
    (a streaming run) one period at a time, keeping only what later periods need of the
    earlier ones: the per rep-period sums and the lines that a later cancellation claws back."""
    kind = period.kind
    periods = periods_between(first, period)
    end = period.end
    tables = build_tables(plans, scales)
    ignored = {t.name: _rows_after(t, end) for t in (inputs.sales, inputs.contacts, inputs.feedback)} | {"reps": 0}
    reps = _numbered(inputs.reps.frame)

    grid = rep_periods.grid(reps.lazy(), tables, periods, kind).sort("rep_no", "p_start").collect()
    recorded = _recorded(grid, closed)
    qm = quality.quality_multipliers(grid.lazy(), inputs.feedback.scan(until=end), tables.quality_bands, scales).collect()
    currencies = currency.plan_currency(reps, tables.versions)
    converting = currency.needs_conversion(currencies, inputs.sales.scan(until=end))
    fx = currency.rate_table(inputs.fx_rates.frame)
    missing = []  # rates needed that fx_rates.csv lacks: an input error, once all are found
    pricing = currency.Pricing(fx, reps, currencies, scales) if converting else None
    components = _component_lines(grid.lazy(), inputs, tables, end, (pricing, missing) if pricing else None)
    streaming = bool(inputs.sales.parts)
    sums, kept, unbalanced = [], [], 0
    held_sums, held_kept = [], []  # step 6b: per (rep, period, kind) sums of every period, the lines of those shown
    spif_sums, spif_kept = [], []  # step 3b, kept as the commissions are
    calendar = inputs.campaigns.frame.lazy()
    pairs, reports, net_sums = _override_reports(grid, reps, tables)  # step 4d: who overrides whom
    texts = _KeptSales()
    for credit_lines, text, count, until in _credit_turns(inputs, tables, reps, scales, periods, end, ignored["sales"]):
        unbalanced += credit.unbalanced_sales(credit_lines, count)
        credit_lines = credit_lines.drop("amount")  # the sale's: read only by the check above
        credit_lines = _priced(credit_lines, text, pricing, reports, kind, first.start, net_sums, missing)
        if credit_lines is None:
            continue  # reported below, with every other missing rate
        commissions = _commissions(credit_lines, text, grid, qm, tables, scales, periods)  # steps 2-4
        del credit_lines
        sums.append(cap.earned(commissions.lazy(), scales.credited).collect())  # summed as stored
        decimal = in_decimal(commissions.lazy(), scales)  # what the other steps read of the lines
        # the in-memory engine: a join on the plan version that keeps the lines' order, about twice
        # as fast there at millions of lines (the spif and clawback queries are faster streamed)
        held = holdback.holdback_lines(decimal, tables.versions, kind, period.start, text.of).collect(engine="in-memory")
        held_sums.append(holdback.per_rep_period(held.lazy()).collect())
        held_kept.append(held.filter(pl.col("p_start") == period.start) if streaming else held)
        spifs = spif.spif_lines(text.of(decimal, ["role", "product"]), tables.campaigns, calendar, scales, text.of).collect()
        spif_sums.append(spif.per_rep_period(spifs.lazy()).collect())  # step 3b
        last = until == end
        kept.append(texts.keep(commissions if last else commissions.filter(pl.col("cancelled_on").is_not_null()), text, last))
        spif_kept.append(spifs if last else spifs.filter(pl.col("cancelled_on").is_not_null()))
    if any(m.height for m in missing):
        raise InputError(missing_rate_problems(pl.concat(missing), inputs, end))
    if len({tuple(k.schema.dtypes()) for k in kept}) > 1:  # turns priced or stored alike or not: one dtype for all
        kept = [in_decimal(k.lazy(), scales).collect() for k in kept]
    commissions = kept[0] if len(kept) == 1 else pl.concat(kept)
    if reports.height:  # step 4d: override lines of every period, from the net credits of all turns
        lines = override.override_lines(grid.lazy(), pairs, override.add_up(net_sums), reps, converting).collect()
        components = pl.concat([components, lines], how="diagonal_relaxed")
    # every period's holdback and release sums enter the balance as component rows, one per (rep, period,
    # kind): their count says only that the rep-period has lines (see `_present`)
    summed = pl.concat([components, *held_sums], how="diagonal_relaxed")
    spifs = (spif_kept[0] if len(spif_kept) == 1 else pl.concat(spif_kept), pl.concat(spif_sums))
    text = texts.text(reps["rep_id"])
    grid_df, lines = _finish(
        grid.lazy(), pl.concat(sums), commissions, [components, *held_kept], qm.lazy(), tables, scales, kind, spifs, summed, recorded, period, text
    )  # steps 5-9
    _check(grid_df, inputs)
    result = RunResult(period, periods, grid_df, *lines, tables, ignored, complete=not streaming, closed=closed, text=text)
    reconcile(unbalanced, grid_df, result.scan_lines(), None if result.complete else period.start)
    return result


def _numbered(reps: pl.DataFrame) -> pl.DataFrame:
    """reps.csv with rep_no: rep_id order as an integer, so lines group, join and sort on integers."""
    return reps.sort("rep_id").with_row_index("rep_no").with_columns(pl.col("rep_no").cast(pl.Int64))


class _KeptSales:
    """The sales whose text the kept commission lines need, over the turns: all of a turn whose
    lines are all kept, the few that a later cancellation claws back of the others."""

    def __init__(self) -> None:
        self.parts: list[tuple[pl.DataFrame, pl.DataFrame]] = []  # (sales, matches)
        self.height = 0
        self.matched = 0

    def keep(self, lines: pl.DataFrame, text: Text, every: bool) -> pl.DataFrame:
        """`lines` of a turn whose text is `text`, with `sale` renumbered into the kept sales (and
        the sales' `match` into the kept matches)."""
        sales, matches = text.sales, text.matches
        if not every:  # the sales of `lines` alone, and their matches
            used_sales = lines["sale"].unique().sort()
            sales = sales[used_sales]
            lines = lines.with_columns(sale=pl.lit(used_sales).search_sorted(pl.col("sale")).cast(pl.Int64))
            used_matches = sales["match"].drop_nulls().unique().sort()
            matches = matches[used_matches]
            renumbered = pl.lit(used_matches).search_sorted(pl.col("match")).cast(pl.UInt32)
            sales = sales.with_columns(match=pl.when(pl.col("match").is_not_null()).then(renumbered))
        if self.height:
            lines = lines.with_columns(sale=pl.col("sale") + self.height)
            sales = sales.with_columns(match=pl.col("match") + self.matched)
        self.parts.append((sales, matches))
        self.height += sales.height
        self.matched += matches.height
        return lines

    def text(self, rep_ids: pl.Series) -> Text:
        if not self.parts:
            return Text(pl.DataFrame(), credit.NO_MATCHES, rep_ids)
        sales, matches = zip(*self.parts, strict=True)
        return Text(*(f[0] if len(f) == 1 else pl.concat(f) for f in (sales, matches)), rep_ids)


def _credit_turns(
    inputs: Inputs, tables: PlanTables, reps: pl.DataFrame, scales: Scales, periods: list[Period], end: date, ignored: int
) -> Iterator[tuple[pl.DataFrame, Text, int, date]]:
    """Step 1, turn by turn: (the credit lines, in the sale's currency, where their text is looked
    up (see `credit.coded_lines`), how many sales they come from, the turn's last day). Sales held in memory make one turn; sales on disk (a streaming
    run) one per period. A cancellation after `end` is not known yet. `ignored`: the sales
    dated after `end`."""
    streaming = bool(inputs.sales.parts)
    turns = [(p.start if i else None, p.end) for i, p in enumerate(periods)] if streaming else [(None, end)]
    window = timedelta(days=int(tables.versions["ob_window"].max() or 0))  # the longest outbound window
    numbered = 0
    for since, until in turns:
        sales = inputs.sales.scan(since, until).with_columns(
            cancelled_on=pl.when(pl.col("cancelled_on") <= end).then(pl.col("cancelled_on"))
        )
        contacts = inputs.contacts.scan(since and since - window, until)
        count = inputs.sales.frame.height - ignored if not streaming else sales.select(pl.len()).collect().item()
        # made by a function, so that no variable here holds the lines while the caller prices them
        # (a suspended generator keeps its variables): the caller can let them go
        yield _credit_turn(sales, contacts, reps, tables.versions, scales, numbered) + (count, until)
        numbered += count


def _credit_turn(
    sales: pl.LazyFrame, contacts: pl.LazyFrame, reps: pl.DataFrame, versions: pl.DataFrame, scales: Scales, numbered: int
) -> tuple[pl.DataFrame, Text]:
    """One turn's credit lines, in one chunk per column (eager operations on a frame of hundreds
    of chunks, what the streaming engine returns, cost seconds each at millions of rows), and
    where their text is looked up."""
    lines, described, matches = credit.coded_lines(sales, contacts, reps, versions, scales, numbered)
    return lines.rechunk(), Text(described, matches, reps["rep_id"])


def _priced(
    credit_lines: pl.DataFrame,
    text: Text,
    pricing: currency.Pricing | None,
    reports: pl.DataFrame,
    kind: str,
    first: date,
    net_sums: list[pl.DataFrame],
    missing: list[pl.DataFrame],
) -> pl.DataFrame | None:
    """One turn's credit lines in their receiving rep's currency (SPEC 6.3 currency), after
    step 4d took the reports' net credits of the turn, in each manager's currency, into
    `net_sums` (whatever the reports' period kind). `pricing` None: one currency, nothing to
    convert. The rates the lines or the net credits need and fx_rates.csv lacks go to
    `missing`; when there are any (of this turn or an earlier one), None: the run stops."""
    if reports.height:
        described = text.of(credit_lines.lazy())  # only what the net credits read is looked up
        net = override.net_credit(described, reports, kind, first, pricing).collect()
        if pricing is not None and net["unpriced"].sum():
            missing.append(override.missing_rates(described, reports, kind, first, pricing).collect())
        net_sums.append(net)
    if pricing is None:
        return currency.as_is(credit_lines)
    # one chunk per column, as the lines are (the streaming engine would return hundreds, and the
    # eager steps of the conversion would then cost seconds at millions of lines)
    with_seller = text.of(credit_lines.lazy(), ["seller_no"]).collect(engine="in-memory")
    credit_lines = currency.in_rep_currency(with_seller, pricing.reps, pricing.currencies, pricing.fx, pricing.scales).drop("seller_no")
    missing.append(currency.missing_rates(text.of(credit_lines.lazy(), ["sale_id"])).collect())
    # the lines' rep currency is read only by the missing rates: millions of cells not carried on
    return None if any(m.height for m in missing) else credit_lines.drop("rep_currency")


def missing_fx_rates(plans: PlanSet, inputs: Inputs, period: Period) -> list[Diagnostic]:
    """The `missing-fx-rate` diagnostics a run of `period` stops with, found as the run finds
    them (credit lines, overrides, customer values) without pricing any pay: what `validate`
    reports. Empty when the plans cannot run `period` at all (the run says why)."""
    try:
        first, scales = _first_period(plans, period), _scales(plans, inputs)
        return _missing_fx_rates(plans, inputs, period, first, scales)
    except InputError:
        return []
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as e:
        if not _too_large(e):
            raise
        return []  # number-too-large: the run says so


def _too_large(error: Exception) -> bool:
    """Whether a polars error says a decimal did not fit its 38 digits."""
    return "overflow" in str(error) or "conversion from `decimal" in str(error)


def _missing_fx_rates(plans: PlanSet, inputs: Inputs, period: Period, first: Period, scales: Scales) -> list[Diagnostic]:
    """`missing_fx_rates` once the run's first period and scales are known."""
    kind, end = period.kind, period.end
    periods = periods_between(first, period)
    tables = build_tables(plans, scales)
    reps = _numbered(inputs.reps.frame)
    currencies = currency.plan_currency(reps, tables.versions)
    if not currency.needs_conversion(currencies, inputs.sales.scan(until=end)):
        return []
    grid = rep_periods.grid(reps.lazy(), tables, periods, kind).sort("rep_no", "p_start").collect()
    pricing = currency.Pricing(currency.rate_table(inputs.fx_rates.frame), reps, currencies, scales)
    missing: list[pl.DataFrame] = []
    if tables.versions["act_min_value"].is_not_null().any():
        missing.append(_missing_value_rates(grid.lazy(), inputs, end, pricing))
    _, reports, net_sums = _override_reports(grid, reps, tables)
    for credit_lines, text, _, _ in _credit_turns(inputs, tables, reps, scales, periods, end, _rows_after(inputs.sales, end)):
        _priced(credit_lines, text, pricing, reports, kind, first.start, net_sums, missing)
        net_sums.clear()
    found = [m for m in missing if m.height]
    return missing_rate_problems(pl.concat(found), inputs, end) if found else []


def _missing_value_rates(grid: pl.LazyFrame, inputs: Inputs, end: date, pricing: currency.Pricing) -> pl.DataFrame:
    """The rates step 4c's customer values need and fx_rates.csv lacks (`activity.missing_value_rates`)."""
    return activity.missing_value_rates(grid, inputs.contacts.scan(until=end), inputs.sales.scan(until=end), pricing).collect()


MAX_LISTED = 50  # missing rates listed one by one; the rest are counted


def missing_rate_problems(missing: pl.DataFrame, inputs: Inputs, end: date) -> list[Diagnostic]:
    """One diagnostic per sale and missing rate (sale_id, sale_currency, rep_currency, month), at
    the sale's line, in line order; past MAX_LISTED, one more saying how many are not listed."""
    lines = inputs.sales.scan(until=end).select("sale_id", "line")
    found = (
        missing.unique().lazy().join(lines, on="sale_id").sort("line", "rep_currency").collect()
    )
    sales_file = file_name("sales", inputs.sales.path)
    fx_file = Path(file_name("fx_rates", inputs.fx_rates.path)).name
    problems = [
        Diagnostic(sales_file, r["line"], "currency", "missing-fx-rate",
                   f"sale {r['sale_id']} needs a rate from {r['sale_currency']} to {r['rep_currency']} for "
                   f"{r['month']:%Y-%m}, which {fx_file} lacks")
        for r in found.head(MAX_LISTED).to_dicts()
    ]
    if found.height > MAX_LISTED:
        pairs = found.select("sale_currency", "rep_currency", "month").unique().height
        problems.append(Diagnostic(sales_file, None, "currency", "missing-fx-rate",
                                   f"{found.height - MAX_LISTED} more sales need a rate {fx_file} lacks "
                                   f"({pairs} currency pairs and months in all)"))
    return problems


def _rows_after(table: Table, end: date) -> int:
    """How many of the table's rows are dated after `end`."""
    return int(table.scan(since=end + timedelta(days=1)).select(pl.len()).collect().item())


def _component_lines(grid: pl.LazyFrame, inputs: Inputs, tables: PlanTables, end: date, pricing: tuple | None = None) -> pl.DataFrame:
    """The lines of the section 6 components that the balance nets (SPEC 6.3 steps 3b-4d): each
    component's step gives lines with rep_id, rep_no, p_start, kind, amount and its own detail
    columns. A component adds its call here, its kind to `steps.kinds`, nothing else."""
    feedback = inputs.feedback.scan(until=end)
    parts = [outcome_bonus.outcome_bonus_lines(grid, feedback, tables.bonus_bands)]
    if tables.versions["has_activity"].any():
        values = tables.versions["act_min_value"].is_not_null().any()  # customer values only when a version weighs them
        contacts, sales = inputs.contacts.scan(until=end), inputs.sales.scan(until=end)
        prices = None
        if pricing is not None and values:  # SPEC 6.3 step 4c: values in the contacting rep's currency
            prices, missing = pricing
        lines, unpriced = activity.activity_lines(grid, contacts, sales, values, prices)  # with the rates the values lack
        if prices is not None:
            missing.append(unpriced)
        parts.append(lines)
    schema = {"rep_id": pl.String, "rep_no": pl.Int64, "p_start": pl.Date, "kind": pl.String, "amount": MONEY}
    return pl.concat([pl.LazyFrame(schema=schema), *parts], how="diagonal_relaxed").collect()


def _override_reports(grid: pl.DataFrame, reps: pl.DataFrame, tables: PlanTables) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    """Step 4d's (manager, report, depth) pairs and the (report, currency) whose credit lines the
    turns add up (none when no version has `override`), and the list the turns' sums go to."""
    deepest = int(tables.versions["ov_levels"].max() or 0)
    pairs = override.reporting_lines(reps, deepest)
    return pairs, override.report_currencies(grid.lazy(), pairs), []


def _component_sums(components: pl.DataFrame, *more: pl.DataFrame) -> pl.LazyFrame:
    """Per (rep_no, p_start) with component lines: each section 6 column (the sum of its kind's
    lines) and `component_lines`, their count; `more` are such sums made elsewhere (the spifs,
    computed beside the commissions), added in."""
    sums = [
        pl.col("amount").filter(pl.col("kind") == kind).sum().cast(MONEY).alias(column)
        for kind, column in COLUMN.items()
        if column in SECTION6_COLUMNS
    ]
    own = components.lazy().group_by("rep_no", "p_start").agg(*sums, component_lines=pl.len())
    if not any(m.height for m in more):
        return own
    every = pl.concat([own, *(m.lazy() for m in more)], how="diagonal_relaxed")
    return every.group_by("rep_no", "p_start").agg(
        *[pl.col(c).sum().cast(MONEY) for c in SECTION6_COLUMNS], pl.col("component_lines").sum()
    )


# descriptive columns a commission line carries from its credit line into the statement
_DESCRIPTION = ["sale_id", "role", "customer_id", "contact_id", "seller_id"]
# the text of a line, looked up by its `sale` (`credit.describe`) rather than stored on millions of lines
_TEXT = ("rep_id", "product", *_DESCRIPTION)
_DERIVED = ("run_from", "quality_multiplier")  # a commission line's values computed where read, not stored
# a commission line's columns (RunResult.commission_lines stores `sale` in place of the `_TEXT` ones,
# and not the `_DERIVED` ones: `attainment.run_from` and `RunResult.quality_multiplier` give them)
COMMISSION_COLUMNS = [
    "line_no", "rep_id", "rep_no", "sale", "p_start", "sold_on", "product", "credited", "rate", "quality_multiplier", "amount",
    "base_d", "cancelled_on", *_DESCRIPTION, "pv", "run_from", "run_to",
]  # fmt: skip
# SPEC 6.3 currency: the sale's currency, rate and credit, on the lines of a run that converts (absent otherwise)
_CONVERTED = ["sale_currency", "fx_rate", "sale_credited"]


def _converted(columns: list[str]) -> list[str]:
    return [c for c in _CONVERTED if c in columns]


def _commissions(
    credit_lines: pl.DataFrame,
    text: Text,
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
    row of the grid (`attainment.gather_rep_periods`), its rate row (`rate.rate_rows`); what
    only pricing reads of them is looked up inside the pricing query.
    Keeps `pv` and `run_to` (`attainment.run_from` gives `run_from`), from which `outputs.lines.tier_pieces` rebuilds the tier
    pieces of the lines that are shown.
    """
    keys = ["rep_no", "p_start"]
    table, bands, n_bands = attainment.rep_period_table(grid.lazy(), tables, scales)
    table = (
        table.join(qm.lazy().select(*keys, "quality_multiplier"), on=keys, how="left", maintain_order="left")
        .drop("rep_id", "rep_no", *[f"multiplier_{b}" for b in range(n_bands)])
        .with_columns(qm_used=quality.applied_multiplier(scales))  # as `RunResult.quality_multiplier` shows it
        .collect()
    )
    columns = ["line_no", "rep_no", "sale", "sold_on", "cancelled_on", "credited", *_converted(credit_lines.columns)]
    products = text.sales["product"].unique().sort()  # every sale has a line
    rates = rate.rate_table(tables.rates, bands, n_bands, products, scales)
    types = _unit_types(credit_lines, table, rates, n_bands, scales, periods) if INTEGER_PRICING else None
    if types:  # the small tables' quantities as integer units, before they are gathered onto the lines
        table, rates = _units_tables(table, rates, n_bands, scales, types)
        rates = _compact(rates, scales, {"rate": scales.rate})  # the rate lines show, as units: gathered onto every line
    # what the lines keep of their rep-period and rate rows is gathered now; what only pricing reads
    # (band edges, multipliers) is looked up inside the query, where it need not be held whole
    priced_only = [c for c in table.columns if c.startswith(("lo_", "hi_")) or c in ("qm_units", "qm_used", "quality_multiplier")]
    lines, at = attainment.gather_rep_periods(credit_lines, columns, grid, table.drop(*priced_only, attainment.RETRO, strict=False), periods)
    product = text.sales.select(rate.product_code(products)).to_series().gather(lines["sale"])  # hashed once per sale
    rate_row = rate.rate_rows(at["pv"], product, len(products)).alias("_rate_row")
    line_rates = rates.select(pl.col("rate").gather(rate_row))
    frame = pl.concat([lines.select("credited"), at, rate_row.to_frame()], how="horizontal")
    if attainment.RETRO in table.columns:  # the edges of retroactive rep-periods, collapsed on the table's rows
        table = attainment.collapse_retroactive(table, frame.lazy(), n_bands, scales, types)
    look_up = [pl.lit(table[c]).gather(pl.col("row")).alias(c) for c in priced_only]
    look_up += [pl.lit(rates[c]).gather(pl.col("_rate_row")).alias(c) for c in rates.columns if c.startswith("rate_x_multiplier_")]
    commission = [quality.line_commission_units(scales, types)] if types else quality.line_commission(scales)
    priced = (
        frame.lazy()
        .pipe(attainment.running_credit, scales, "row", types)  # step 2
        .with_columns(look_up)
        .with_columns(base_d=rate.base_times_days(n_bands, scales, types))  # step 3
        .with_columns(commission)  # step 4
        .select(
            "run_to",  # run_from is run_to less the line's credit times D: not stored (`attainment.run_from`)
            "base_d",  # the base commission (before quality) times D, exact; see RunResult.scan_lines
            "amount",
        )  # fmt: skip
    )
    # narrowed as collected (no variable holds the wide frame meanwhile), then one chunk per column:
    # only what was computed, what the lines take from `at` and `line_rates` is one chunk already
    priced = (_compact(priced.collect(), scales) if types else priced.collect()).rechunk()
    lines = _compact(lines, scales) if types else lines  # the credit (and a converted sale's credit and rate), now priced
    return pl.concat([lines, at.select("p_start", "pv", "rounding"), line_rates, priced], how="horizontal").select(
        *lines.columns, "p_start", "pv", "rounding", "run_to", "rate", "base_d", "amount"
    )


# Steps 2-4 price lines as integers of known scale when `exact.pricing_units` proves it safe (see
# `comp_calc.steps.exact`), else as Decimal; the same numbers either way. Tests switch it off to
# compare the two paths.
INTEGER_PRICING = True


def _in_units(value: Decimal | int, scale: int) -> int:
    """`value` in units of 10^-scale, rounded up: exact (Decimal arithmetic would round to 28 digits)."""
    return math.ceil(Fraction(value) * 10**scale)


def _max_units(frame: pl.DataFrame, columns: list[str], scale: int) -> int:
    """The largest magnitude among `columns` of `frame` (Decimal, scale <= `scale`) in units of 10^-scale (0: none)."""
    if not columns or not frame.height:
        return 0
    found = frame.select(pl.max_horizontal(pl.col(c).abs().max() for c in columns)).item()
    return 0 if found is None else _in_units(found, scale)


def _credit_units(credit_lines: pl.DataFrame, scale: int) -> tuple[int, int] | None:
    """(the largest, the sum of) the lines' credits' magnitudes in units of 10^-scale (the credits'
    scale is at most `scale`), added up as the Decimals' integers (a Decimal sum is far slower);
    None when the sum is past 38 digits, as a Decimal sum would fail."""
    if not credit_lines.height:
        return 0, 0
    units = pl.col("credited").to_physical().abs()  # exact: a Decimal(38, s) is its integer times 10^-s
    shift = 10 ** (scale - credit_lines.schema["credited"].scale)
    largest = credit_lines.select(units.max()).item() or 0
    if largest * credit_lines.height < 10**MAX_PRECISION:  # the sum fits: add up the integers
        total = credit_lines.select(units.sum()).item() or 0
    else:  # it may not: the Decimal sum decides (and fails when it does not fit)
        try:
            found = credit_lines.select(pl.col("credited").abs().sum()).item()
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
            return None
        total = _in_units(found or 0, credit_lines.schema["credited"].scale)
    return largest * shift, total * shift


def _unit_types(
    credit_lines: pl.DataFrame, table: pl.DataFrame, rates: pl.DataFrame, bands: int, scales: Scales, periods: list[Period]
) -> UnitTypes | None:
    """The integer types this turn's lines are priced in (`exact.pricing_units`; None: Decimal)."""
    credit = _credit_units(credit_lines, scales.credited)
    if credit is None:
        return None  # too large even to add up: the Decimal path says so
    edges = [f"{side}_{b}" for b in range(bands) for side in ("lo", "hi")]
    qm = table.select(pl.col("quality_multiplier").fill_null(1).cast(dec(scales.quality_multiplier)))
    return pricing_units(
        scales,
        credit_max=credit[0],
        credit_sum=credit[1],
        days_max=max(p.days for p in periods),
        edge_max=_max_units(table, edges, scales.scaled_credit),
        rx_max=_max_units(rates, [f"rate_x_multiplier_{b}" for b in range(bands)], scales.rate + scales.tier_multiplier),
        qm_max=max(1, _max_units(qm, ["quality_multiplier"], scales.quality_multiplier)),
        bands=bands,
    )


def _units_tables(
    table: pl.DataFrame, rates: pl.DataFrame, bands: int, scales: Scales, types: UnitTypes
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rep-period table and the rate table with what pricing reads as integer units: band
    edges (of `scales.scaled_credit`), rate x multiplier (of rate + tier multiplier), the quality
    multiplier applied (`qm_units` of `qm_used`, 1 where none; `qm_used` stays the Decimal that lines show)."""
    table = table.with_columns(
        *[units(pl.col(f"{side}_{b}"), scales.scaled_credit, types.running) for b in range(bands) for side in ("lo", "hi")],
    ).drop("quality_multiplier")
    # multipliers and rates are small numbers: Int64 where they fit (the products are formed in `types.products`)
    qs = scales.quality_multiplier
    table = table.with_columns(qm_units=units(pl.col("qm_used"), qs, _narrow(table, ["qm_used"], qs, types.products)))
    rx = scales.rate + scales.tier_multiplier
    columns = [f"rate_x_multiplier_{b}" for b in range(bands)]
    rates = rates.with_columns(units(pl.col(c), rx, _narrow(rates, columns, rx, types.products)) for c in columns)
    return table, rates


def _narrow(frame: pl.DataFrame, columns: list[str], scale: int, wide: pl.DataType) -> pl.DataType:
    """Int64 when every value of `columns` fits it as units of `scale` (with the room of `exact.INT64_LIMIT`), else `wide`."""
    return pl.Int64() if _max_units(frame, columns, scale) < INT64_LIMIT else wide


def _finish(
    grid: pl.LazyFrame,
    earned: pl.DataFrame,
    commissions: pl.DataFrame,
    components: list[pl.DataFrame],
    qm: pl.LazyFrame,
    tables: PlanTables,
    scales: Scales,
    kind: str,
    spifs: tuple[pl.DataFrame, pl.DataFrame],
    summed: pl.DataFrame,
    recorded: tuple[pl.DataFrame, list[date]],
    period: Period,
    text: Text,
) -> tuple[pl.DataFrame, tuple[pl.DataFrame, tuple[pl.DataFrame, ...]]]:
    """Steps 5-8: the payouts grid (cap, clawbacks, balance, draw, the attainment shown) from
    `earned` (see `cap.earned`) and the commission lines, at least every one that a
    cancellation in a computed period claws back; and the run's lines (`_lines`), of which
    `components` are the section 6 lines, in frames of their own columns. The section 6
    columns add up `summed` (rows of rep_no, p_start, kind, amount: lines, or sums of the lines
    a streaming run does not keep).
    `spifs` is (the spif lines, kept as the commission lines are; their per rep-period sums)."""
    zero = pl.lit(0, dtype=MONEY)
    keys = ["rep_no", "p_start"]
    decimal = in_decimal(commissions.lazy(), scales)
    claw_lines = clawback.clawback_lines(holdback.with_held(decimal, tables.versions), tables.clawback, scales, kind).collect()
    spif_lines, spif_sums = spifs
    spif_claws = clawback.clawback_lines(spif.clawable(spif_lines.lazy()), tables.clawback, scales, kind).collect()
    every_claw = pl.concat([claw_lines, spif_claws], how="diagonal_relaxed") if spif_claws.height else claw_lines
    g = (
        grid.join(earned.lazy(), on=keys, how="left")
        .join(clawback.per_rep_period(every_claw.lazy()), on=keys, how="left")
        .join(qm.drop("rep_id"), on=keys, how="left")
        .join(_component_sums(summed, spif_sums), on=keys, how="left")
        .with_columns(
            *[pl.col(c).fill_null(zero) for c in SECTION6_COLUMNS],
            pl.col("component_lines").fill_null(0),
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
        .pipe(restatement.settle, *(recorded or _no_record()), period.start if period else date.min)  # step 9
        .with_columns(present=_present())
        .pipe(attainment.prorated_quota, scales)
        .sort("rep_no", "p_start")
        .collect()
    )
    return g, _lines(g.lazy(), commissions, claw_lines.lazy(), components, (spif_lines, spif_claws), text)


def _present() -> pl.Expr:
    """A rep-period is a payouts row when the rep is active, or has lines or a carry in it."""
    lines = (pl.col("commission_lines") > 0) | (pl.col("clawback_lines") > 0) | (pl.col("component_lines") > 0)
    return pl.col("active") | lines | (pl.col("carry_in") != 0) | (pl.col("restatement_due") != 0)


def _no_record() -> tuple[pl.DataFrame, list[date]]:
    return pl.DataFrame(schema={"rep_no": pl.Int64, "p_start": pl.Date, "recorded": MONEY}), []


def _recorded(grid: pl.DataFrame, closed: ClosedPeriods) -> tuple[pl.DataFrame, list[date]]:
    """(rep_no, p_start, recorded) of the closed periods' paid records, and their starts, for
    step 9. A recorded rep who is no longer part of the run (not in reps.csv, or now on a plan
    of the other period kind) is an input error: a paid record must not be lost."""
    if not closed.periods:
        return _no_record()
    labels = grid.select("period", "p_start").unique()
    starts = dict(zip(labels["period"].to_list(), labels["p_start"].to_list(), strict=True))
    run_reps = grid.select("rep_id", "rep_no").unique()
    recorded = closed.payouts.filter(pl.col("period").is_in(list(starts)))
    lost = recorded.join(run_reps, on="rep_id", how="anti").sort("period", "line")
    if lost.height:
        problems = [
            Diagnostic(
                closed.file(r["period"]), r["line"], "rep_id", "paid-rep-not-in-run",
                f"rep {r['rep_id']} was paid in {r['period']} but is no longer part of its run (not in reps.csv, or now on "
                "a plan of the other period kind): a paid record must not be lost",
            )  # fmt: skip
            for r in lost.head(50).to_dicts()
        ]
        raise InputError(problems)
    frame = recorded.join(run_reps, on="rep_id").select(
        "rep_no", pl.col("period").replace_strict(starts, return_dtype=pl.Date).alias("p_start"), pl.col("recorded").cast(MONEY)
    )
    return frame, sorted(starts[p.period.label] for p in closed.periods if p.period.label in starts)


def _lines(
    grid: pl.LazyFrame,
    commissions: pl.DataFrame,
    claw_lines: pl.LazyFrame,
    components: list[pl.DataFrame],
    spifs: tuple[pl.DataFrame, pl.DataFrame],
    text: Text,
) -> tuple[pl.DataFrame, tuple[pl.DataFrame, ...]]:
    """(commission lines, every other kind's lines) of every computed period, unordered
    (`outputs.lines.period_lines` orders one period's). The commission lines share the
    commissions' columns, with `sale` in place of their text (looked up in `text`,
    `RunResult.text`). The other lines are parts that each keep only their own columns (the
    section 6 `components` as they come, the clawback, cap, carry, draw, restatement and spif
    lines): one wide frame of them all would hold, say, a holdback line's empty cell for every
    column of every other kind.
    `spifs` is (spif lines, their clawback lines): each carries its campaign as `reference` and
    `campaign_no`, its place in the plan's list, which orders the lines of one sale."""
    stored = [c for c in COMMISSION_COLUMNS if c not in (*_TEXT, *_DERIVED)]
    commission = commissions.select(*stored, *_converted(commissions.columns))
    claw_lines = text.of(claw_lines, list(_TEXT))  # the clawback lines' text, looked up now (a few lines)
    periods = grid.select("p_start", "period").unique()

    def clawbacks(lines: pl.LazyFrame, *extra) -> pl.LazyFrame:
        return lines.join(periods.rename({"p_start": "original_start", "period": "original_period"}), on="original_start").select(
            "line_no", "rep_id", "rep_no", "p_start", pl.lit(ORDER["clawback"]).alias("order"), pl.lit("clawback").alias("kind"), "sold_on", "product",
            "credited", pl.col("clawback").alias("amount"), "cancelled_on", "within_days", "days",
            pl.col("recover").cast(pl.String), "original_period", "original_amount", *_DESCRIPTION, *extra,
        )  # fmt: skip

    claw = clawbacks(claw_lines, "held", *_converted(claw_lines.collect_schema().names()))
    spif_lines, spif_claws = [], []
    if spifs[0].height:
        campaign = (pl.col("campaign").alias("reference"), "campaign_no")
        spif_lines.append(spifs[0].with_columns(order=pl.lit(ORDER["spif"])).rename({"campaign": "reference"}).drop("rounding"))
        spif_claws.append(clawbacks(spifs[1].lazy(), *campaign))
    cap_lines = grid.filter(pl.col("cap_adjustment").is_not_null()).select(
        "rep_id", "rep_no", "p_start", pl.lit(ORDER["cap"]).alias("order"), pl.lit("cap").alias("kind"), pl.col("cap_adjustment").alias("amount"),
        "earned", "cap",
    )  # fmt: skip
    carry = grid.filter(pl.col("carry_in") != 0).select(
        "rep_id", "rep_no", "p_start", pl.lit(ORDER["carry"]).alias("order"), pl.lit("carry").alias("kind"), pl.col("carry_in").alias("amount")
    )

    balances = pl.concat([draw.draw_lines(grid), restatement.restatement_lines(grid)], how="diagonal_relaxed")
    small = pl.collect_all([claw, cap_lines, carry, balances, *spif_claws, periods])
    labels = small.pop()

    def ordered(lines: pl.DataFrame) -> pl.DataFrame:
        """`lines` with their `order` and, on holdback and release lines, the commission's period
        label: eager, so that the lines' own columns are shared, not copied (millions of lines)."""
        lines = lines.with_columns(order=pl.col("kind").replace_strict(ORDER, return_dtype=pl.Int32))
        if "original_start" in lines.columns:
            label = pl.col("original_start").replace_strict(labels["p_start"], labels["period"], default=None, return_dtype=pl.String)
            lines = lines.with_columns(original_period=label)
        return lines

    claw, cap_lines, carry, balances, *spif_claws = small
    return commission, (claw, cap_lines, carry, *(ordered(c) for c in [*components, balances]), *spif_lines, *spif_claws)


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
