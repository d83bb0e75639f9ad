"""Does the plan pay for what the customer values? The `alignment` report.

From the same inputs and the run's results, per rep, team and plan, for the
requested period and the trailing periods up to it (12 by default, fewer when
the run has fewer):

- outcome share of pay: how much pay moved because of customer-outcome terms
  (quality multiplier, clawbacks, relationship credit) against pure volume;
- mis-selling: early cancellations against the rest of the team;
- contact-quota gaming: who is contacted (customer value) and whether a
  purchase follows;
- pay versus satisfaction: payouts against CSAT and NPS;
- survey health: multipliers resting on too few answers, and answer patterns
  that look arranged.

Flags are raised from the trailing window (the quality multiplier check,
`thin_survey`, looks at the requested period's multiplier) and each one states
its rule and numbers in `reason`. Everything is polars expressions over whole
frames; the only floats are statistics (rank correlations, the Wilson
interval), never money. Money stays Decimal; rule comparisons on counts and
amounts are exact (cross-multiplied), ratios are shown with 4 decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from comp_calc.app import Prepared
from comp_calc.engine import MONEY, RunResult
from comp_calc.periods import Period
from comp_calc.steps.exact import dec, lit, round_to, scale_of

SIGNALS = ("mis_selling", "contact_gaming", "pay_vs_satisfaction", "thin_survey", "survey_pattern")
RATIO = dec(4)
INT = pl.Int64


@dataclass(frozen=True)
class Rules:
    """The thresholds every finding is judged by (stated in each flag's reason)."""

    trailing_periods: int = 12
    # outcome share: a plan whose outcome terms move less than this share of pay is volume-only
    volume_only_share: Decimal = Decimal("0.05")
    # mis_selling: a sale is cancelled early within the plan's longest clawback window (else this)
    early_days_default: int = 90
    mis_selling_min_early: int = 5
    mis_selling_min_rate: Decimal = Decimal("0.10")
    mis_selling_team_factor: Decimal = Decimal("2")
    # contact_gaming
    gaming_min_connected: int = 30
    gaming_value_factor: Decimal = Decimal("0.5")
    gaming_follow_factor: Decimal = Decimal("0.5")
    follow_on_days: int = 90
    # pay_vs_satisfaction
    top_pay_share: Decimal = Decimal("0.10")
    low_satisfaction_share: Decimal = Decimal("0.25")
    min_survey_answers: int = 5
    min_reps_for_ranking: int = 10  # deciles and quartiles of fewer reps say little
    min_reps_for_correlation: int = 3
    # thin_survey: Wilson interval at this z (95%) wider than +- this half-width
    wilson_z: float = 1.96
    thin_half_width: Decimal = Decimal("0.10")
    # survey_pattern
    pattern_min_responses: int = 10
    pattern_top_share: Decimal = Decimal("0.90")
    pattern_per_customer: int = 3


@dataclass(frozen=True)
class Window:
    name: str  # "period" | "trailing"
    periods: tuple[Period, ...]

    @property
    def start(self):
        return self.periods[0].start

    @property
    def end(self):
        return self.periods[-1].end

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.periods]

    def describe(self) -> str:
        first, last = self.periods[0].label, self.periods[-1].label
        return first if first == last else f"{first} to {last}"


@dataclass
class WindowMetrics:
    window: Window
    reps: pl.DataFrame  # one row per rep of the run present in the window (see _rep_metrics)
    teams: pl.DataFrame  # one row per team
    plans: pl.DataFrame  # one row per plan: outcome share and the volume-only finding


@dataclass
class AlignmentReport:
    period: Period
    current: WindowMetrics  # the requested period
    trailing: WindowMetrics  # the trailing periods up to it
    survey: pl.DataFrame  # per rep: the requested period's CSAT evidence and Wilson interval
    flags: pl.DataFrame  # rep_id, name, team, signal, value, threshold, reason
    rules: Rules = field(default_factory=Rules)


# --- small exact helpers -------------------------------------------------------------------


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den with 4 decimals (display); null when den is 0."""
    return pl.when(den != 0).then(num.cast(dec(8)) / den.cast(dec(8))).cast(RATIO)


def _pct(ratio: pl.Expr) -> pl.Expr:
    """A 4-decimal ratio as text like `39.85%`."""
    return (ratio * pl.lit(100, dtype=RATIO)).cast(dec(2)).cast(pl.String) + pl.lit("%")


def _ge(left: pl.Expr, right: pl.Expr, factor: Decimal, scale: int) -> pl.Expr:
    """left >= factor * right, exactly (`scale` at least the scale of both sides)."""
    s = scale + scale_of(factor)
    return left.cast(dec(s)) >= right.cast(dec(s)) * lit(factor, s)


def _lt(left: pl.Expr, right: pl.Expr, factor: Decimal, scale: int) -> pl.Expr:
    """left < factor * right, exactly."""
    return ~_ge(left, right, factor, scale)


def _median(column: str, scale: int) -> pl.Expr:
    """Exact median of a non-null Decimal column (mean of the two middle values at scale + 1)."""
    v = pl.col(column).drop_nulls().sort()
    n = v.len()
    lo, hi = v.get((n - 1) // 2), v.get(n // 2)
    s = scale + 1
    return (lo.cast(dec(s)) + hi.cast(dec(s))) / pl.lit(2, dtype=dec(s))


def _money_text(expr: pl.Expr) -> pl.Expr:
    """Cents as text, `-0.00` shown as `0.00`."""
    return round_to(expr, 2, "half_even").cast(pl.String).str.replace(r"^-(0\.00)$", "${1}")


def trim(expr: pl.Expr) -> pl.Expr:
    """An exact value as text with trailing zeros dropped but at least 2 decimals (`1.10`, `0.8125`)."""
    return expr.cast(pl.String).str.replace(r"^(-?[0-9]+\.[0-9]{2}[0-9]*?)0*$", "${1}")


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("n/a")


# --- the report --------------------------------------------------------------------------------


def analyze(prep: Prepared, result: RunResult, rules: Rules = Rules()) -> AlignmentReport:
    """The alignment report of a computed run."""
    periods = tuple(result.periods)
    current = Window("period", periods[-1:])
    trailing = Window("trailing", periods[-rules.trailing_periods :])
    ctx = _Context.build(prep, result, rules)
    cur = _window_metrics(ctx, current)
    trl = _window_metrics(ctx, trailing)
    survey = _survey_health(ctx)
    flags = _flags(trl, survey, rules)
    return AlignmentReport(result.period, cur, trl, survey, flags, rules)


@dataclass
class _Context:
    rules: Rules
    period: Period
    reps: pl.DataFrame  # rep_id, name, team, plan, early_days
    grid: pl.DataFrame
    lines: pl.LazyFrame
    sales: pl.DataFrame  # sold_on <= period end; cancelled_on after it is null
    contacts: pl.DataFrame
    feedback: pl.DataFrame
    quality_bands: pl.DataFrame
    amount_scale: int

    @staticmethod
    def build(prep: Prepared, result: RunResult, rules: Rules) -> _Context:
        end = result.period.end
        grid = result.grid
        longest = result.tables.clawback.group_by("plan").agg(early_days=pl.col("within_days").max().cast(INT))
        reps = (
            grid.select("rep_id", "name", "team", "plan")
            .unique(subset=["rep_id"], keep="first")
            .join(longest, on="plan", how="left")
            .with_columns(pl.col("early_days").fill_null(rules.early_days_default))
            .sort("rep_id")
        )
        sales = prep.inputs.sales.frame.filter(pl.col("sold_on") <= end).with_columns(
            cancelled_on=pl.when(pl.col("cancelled_on") <= end).then(pl.col("cancelled_on"))
        )
        amount = sales.schema["amount"]
        return _Context(
            rules=rules,
            period=result.period,
            reps=reps,
            grid=grid,
            lines=result.scan_lines(),
            sales=sales,
            contacts=prep.inputs.contacts.frame.filter(pl.col("contacted_on") <= end),
            feedback=prep.inputs.feedback.frame.filter(pl.col("responded_on") <= end),
            quality_bands=result.tables.quality_bands,
            amount_scale=amount.scale if isinstance(amount, pl.Decimal) else 0,
        )


def _window_metrics(ctx: _Context, window: Window) -> WindowMetrics:
    present = (
        ctx.grid.filter(pl.col("period").is_in(window.labels))
        .group_by("rep_id")
        .agg(
            periods_present=pl.col("present").cast(INT).sum(),
            payout=pl.col("payout").sum().cast(MONEY),
            earned=pl.col("earned").sum().cast(MONEY),
            cap_adjustment=pl.col("cap_adjustment").fill_null(0).sum().cast(MONEY),
        )
        .filter(pl.col("periods_present") > 0)
    )
    reps = ctx.reps.join(present, on="rep_id", how="inner")
    parts = [_pay(ctx, window), _mis_selling(ctx, window, reps), _contacts(ctx, window, reps), _satisfaction(ctx, window)]
    for part in parts:
        reps = reps.join(part, on="rep_id", how="left")
    reps = reps.with_columns(
        pl.col(c).fill_null(0) for c in reps.columns if reps.schema[c].is_integer() and c not in ("pay_rank", "csat_rank", "nps_rank")
    ).with_columns(
        pl.col(c).fill_null(pl.lit(0, dtype=MONEY)) for c in _PAY_COLUMNS
    )
    reps = _team_baselines(reps, ctx.rules)
    reps = _ranks(reps, ctx.rules).sort("rep_id")
    return WindowMetrics(window, reps, _teams(ctx, window, reps), _plans(ctx, window, reps))


_PAY_COLUMNS = ("volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_moved")


def _pay(ctx: _Context, window: Window) -> pl.DataFrame:
    """Per rep: volume pay and the pay moved by customer-outcome terms.

    - volume_pay: the seller commission lines' commission before quality, rounded to cents;
    - quality_effect: what the quality multiplier added or removed on those lines (signed),
      quality_moved the same in absolute value (line by line);
    - relationship_pay: commission of relationship credit lines;
    - clawbacks: clawback lines (negative);
    - outcome_moved = quality_moved + |relationship_pay| + |clawbacks|.
    """
    rounding = ctx.grid.select("rep_id", "p_start", "rounding")
    lines = ctx.lines.filter(pl.col("period").is_in(window.labels)).join(rounding.lazy(), on=["rep_id", "p_start"], how="left")
    commission = pl.col("kind") == "commission"
    seller = commission & (pl.col("role") == "seller")
    volume = round_to(pl.col("base"), 2, pl.col("rounding").fill_null("half_even"))
    effect = pl.when(seller & (pl.col("quality_multiplier") != 1)).then(pl.col("amount") - volume).otherwise(pl.lit(0, dtype=MONEY))
    zero = pl.lit(0, dtype=MONEY)
    return (
        lines.with_columns(_volume=volume, _effect=effect)
        .group_by("rep_id")
        .agg(
            volume_pay=pl.when(seller).then(pl.col("_volume")).sum().cast(MONEY),
            quality_effect=pl.col("_effect").sum().cast(MONEY),
            quality_moved=pl.col("_effect").abs().sum().cast(MONEY),
            relationship_pay=pl.when(commission & (pl.col("role") == "relationship")).then(pl.col("amount")).sum().cast(MONEY),
            clawbacks=pl.when(pl.col("kind") == "clawback").then(pl.col("amount")).sum().cast(MONEY),
        )
        .with_columns(pl.col(c).fill_null(zero) for c in ("volume_pay", "relationship_pay", "clawbacks"))
        .with_columns(
            outcome_moved=(pl.col("quality_moved") + pl.col("relationship_pay").abs() + pl.col("clawbacks").abs()).cast(MONEY)
        )
        .collect()
    )


def _share(moved: str, volume: str) -> pl.Expr:
    return _ratio(pl.col(moved), pl.col(volume) + pl.col(moved))


def _mis_selling(ctx: _Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    """Per rep: own sales sold in the window and those cancelled within `early_days` of the sale."""
    days = (pl.col("cancelled_on") - pl.col("sold_on")).dt.total_days()
    return (
        ctx.sales.filter(pl.col("sold_on").is_between(window.start, window.end))
        .join(reps.select("rep_id", "early_days"), on="rep_id", how="inner")
        .group_by("rep_id")
        .agg(
            sales=pl.len().cast(INT),
            early_cancellations=(pl.col("cancelled_on").is_not_null() & (days <= pl.col("early_days"))).cast(INT).sum(),
        )
    )


def _customer_value(ctx: _Context) -> pl.DataFrame:
    """Per customer: total amount of their sales up to the period end, cancelled ones excluded."""
    return (
        ctx.sales.filter(pl.col("cancelled_on").is_null())
        .group_by("customer_id")
        .agg(customer_value=pl.col("amount").sum())
    )


def _window_contacts(ctx: _Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    value = _customer_value(ctx)
    zero = pl.lit(0, dtype=value.schema["customer_value"])
    return (
        ctx.contacts.filter(pl.col("contacted_on").is_between(window.start, window.end))
        .join(reps.select("rep_id", "team"), on="rep_id", how="inner")
        .join(value, on="customer_id", how="left")
        .with_columns(customer_value=pl.col("customer_value").fill_null(zero))
    )


def _contacts(ctx: _Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    """Per rep: contacts, connected ones, the value of the customers contacted, and follow-on purchases.

    A connected contact is followed on when the customer buys anything (any rep, any
    product, cancelled or not) 0 to `follow_on_days` days after it.
    """
    contacts = _window_contacts(ctx, window, reps)
    s = ctx.amount_scale
    purchases = ctx.sales.select("customer_id", pl.col("sold_on").alias("next_purchase")).sort("next_purchase")
    connected = (
        contacts.filter(pl.col("connected"))
        .sort("contacted_on")
        .join_asof(purchases, left_on="contacted_on", right_on="next_purchase", by="customer_id", strategy="forward", check_sortedness=False)
        .with_columns(
            followed=(pl.col("next_purchase") - pl.col("contacted_on")).dt.total_days() <= ctx.rules.follow_on_days
        )
        .group_by("rep_id")
        .agg(connected=pl.len().cast(INT), followed=pl.col("followed").fill_null(False).cast(INT).sum())
    )
    per_customer = contacts.select("rep_id", "team", "customer_id", "customer_value").unique(subset=["rep_id", "customer_id"])
    medians = per_customer.group_by("rep_id", "team").agg(
        customers_contacted=pl.len().cast(INT), median_customer_value=_median("customer_value", s)
    )
    # the typical colleague: median over the rep's teammates (with contacts) of their own median
    colleagues = (
        medians.select("rep_id", "team")
        .join(medians.select("team", pl.col("rep_id").alias("other"), pl.col("median_customer_value").alias("m")), on="team")
        .filter(pl.col("rep_id") != pl.col("other"))
        .group_by("rep_id")
        .agg(team_median_customer_value=_median("m", s + 1))
    )
    return (
        contacts.group_by("rep_id")
        .agg(contacts=pl.len().cast(INT))
        .join(connected, on="rep_id", how="left")
        .join(medians.drop("team"), on="rep_id", how="left")
        .join(colleagues, on="rep_id", how="left")
    )


def _satisfaction(ctx: _Context, window: Window) -> pl.DataFrame:
    """Per rep: survey answers in the window (CSAT, NPS) and the response pattern."""
    csat, nps = pl.col("survey") == "csat", pl.col("survey") == "nps"
    score = pl.col("score")
    top = (csat & (score == 5)) | (nps & (score >= 9))
    return (
        ctx.feedback.filter(pl.col("responded_on").is_between(window.start, window.end))
        .group_by("rep_id")
        .agg(
            csat_n=csat.cast(INT).sum(),
            csat_positive=(csat & (score >= 4)).cast(INT).sum(),
            nps_n=nps.cast(INT).sum(),
            nps_promoters=(nps & (score >= 9)).cast(INT).sum(),
            nps_detractors=(nps & (score <= 6)).cast(INT).sum(),
            responses=pl.len().cast(INT),
            top_responses=top.cast(INT).sum(),
            responding_customers=pl.col("customer_id").n_unique().cast(INT),
        )
    )


def _team_baselines(reps: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Team sums without the rep itself (the colleagues), and the derived ratios."""
    team = pl.col("team")
    others = lambda c: pl.col(c).sum().over(team) - pl.col(c)  # noqa: E731
    company = lambda c: pl.col(c).sum() - pl.col(c)  # noqa: E731
    reps = reps.with_columns(
        team_other_sales=others("sales"),
        team_other_early=others("early_cancellations"),
        team_other_connected=others("connected"),
        team_other_followed=others("followed"),
        company_other_sales=company("sales"),
        company_other_early=company("early_cancellations"),
    ).with_columns(
        # a rep alone in the team is compared with the rest of the company
        baseline=pl.when(pl.col("team_other_sales") > 0).then(pl.lit("team")).otherwise(pl.lit("company")),
        baseline_sales=pl.when(pl.col("team_other_sales") > 0).then("team_other_sales").otherwise("company_other_sales"),
        baseline_early=pl.when(pl.col("team_other_sales") > 0).then("team_other_early").otherwise("company_other_early"),
    )
    nps_value = pl.when(pl.col("nps_n") > 0).then(
        (100 * (pl.col("nps_promoters") - pl.col("nps_detractors"))).cast(dec(6)) / pl.col("nps_n").cast(dec(6))
    )
    return reps.with_columns(
        outcome_share=_share("outcome_moved", "volume_pay"),
        early_rate=_ratio(pl.col("early_cancellations"), pl.col("sales")),
        baseline_early_rate=_ratio(pl.col("baseline_early"), pl.col("baseline_sales")),
        follow_on_rate=_ratio(pl.col("followed"), pl.col("connected")),
        team_follow_on_rate=_ratio(pl.col("team_other_followed"), pl.col("team_other_connected")),
        csat_share=_ratio(pl.col("csat_positive"), pl.col("csat_n")),
        nps=nps_value.cast(dec(1)),
        top_share=_ratio(pl.col("top_responses"), pl.col("responses")),
        responses_per_customer=_ratio(pl.col("responses"), pl.col("responding_customers")).cast(dec(2)),
        _nps_float=nps_value.cast(pl.Float64),
        _csat_float=pl.when(pl.col("csat_n") > 0).then(pl.col("csat_positive") / pl.col("csat_n")),
    )


def _top_k(n: int, share: Decimal) -> int:
    """How many of n make the top (or bottom) `share`: ceil(n * share), at least 1 when n > 0."""
    return max(1, math.ceil(n * share)) if n else 0


def _ranks(reps: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Company-wide: the top pay decile and the bottom satisfaction quartiles."""
    enough = reps.height >= rules.min_reps_for_ranking
    k_pay = _top_k(reps.height, rules.top_pay_share) if enough else 0
    # rank "max": a group of equal values is in the top (bottom) k only if the whole group fits
    reps = reps.with_columns(pay_rank=pl.col("payout").rank("max", descending=True).cast(INT)).with_columns(
        pay_top=pl.col("pay_rank") <= k_pay
    )
    for metric, value, n in (("csat", "_csat_float", "csat_n"), ("nps", "_nps_float", "nps_n")):
        eligible = pl.col(n) >= rules.min_survey_answers
        m = reps.filter(eligible).height
        k = _top_k(m, rules.low_satisfaction_share) if m >= rules.min_reps_for_ranking else 0
        ranked = pl.when(eligible).then(pl.col(value)).rank("max")
        bottom = pl.col(f"{metric}_rank") <= k
        reps = reps.with_columns(ranked.cast(INT).alias(f"{metric}_rank")).with_columns(
            bottom.fill_null(False).alias(f"{metric}_bottom"),
            (eligible & pl.lit(k > 0)).alias(f"{metric}_ranked"),
            # the highest value still in the bottom group
            pl.col(value).filter(bottom).max().alias(f"_{metric}_cutoff"),
        )
    return reps.with_columns(
        csat_cutoff=pl.col("_csat_cutoff").cast(RATIO),
        nps_cutoff=pl.col("_nps_cutoff").cast(dec(1)),
        pay_rank_of=pl.lit(reps.height, dtype=INT),
        pay_top_k=pl.lit(k_pay, dtype=INT),
    )


def _spearman(x: str, y: str) -> pl.Expr:
    return pl.corr(pl.col(x), pl.col(y), method="spearman").fill_nan(None)


def _teams(ctx: _Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    rules = ctx.rules
    pooled = (
        _window_contacts(ctx, window, reps)
        .unique(subset=["team", "customer_id"])
        .group_by("team")
        .agg(median_customer_value=_median("customer_value", ctx.amount_scale))
    )

    def corr(metric: str, n: str) -> pl.DataFrame:
        eligible = reps.filter(pl.col(n) >= rules.min_survey_answers).with_columns(
            _pay=pl.col("payout").rank()  # Spearman only needs the order: ranks, never the amount as a float
        )
        return eligible.group_by("team").agg(
            pl.len().cast(INT).alias(f"{metric}_reps"),
            _spearman("_pay", f"_{metric}_float").alias(f"_rho_{metric}"),
        ).with_columns(
            pl.when(pl.col(f"{metric}_reps") >= rules.min_reps_for_correlation)
            .then(pl.col(f"_rho_{metric}"))
            .cast(RATIO)
            .alias(f"pay_{metric}_correlation")
        ).drop(f"_rho_{metric}")

    sums = [
        "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_moved",
        "sales", "early_cancellations", "contacts", "connected", "followed",
        "csat_n", "csat_positive", "nps_n", "nps_promoters", "nps_detractors",
    ]
    teams = (
        reps.group_by("team")
        .agg(pl.len().cast(INT).alias("reps"), *[pl.col(c).sum() for c in sums])
        .with_columns(pl.col(c).cast(MONEY) for c in _PAY_COLUMNS + ("payout",))
        .join(pooled, on="team", how="left")
        .join(corr("csat", "csat_n"), on="team", how="left")
        .join(corr("nps", "nps_n"), on="team", how="left")
    )
    return teams.with_columns(
        outcome_share=_share("outcome_moved", "volume_pay"),
        early_rate=_ratio(pl.col("early_cancellations"), pl.col("sales")),
        follow_on_rate=_ratio(pl.col("followed"), pl.col("connected")),
        csat_share=_ratio(pl.col("csat_positive"), pl.col("csat_n")),
        nps=pl.when(pl.col("nps_n") > 0)
        .then((100 * (pl.col("nps_promoters") - pl.col("nps_detractors"))).cast(dec(6)) / pl.col("nps_n").cast(dec(6)))
        .cast(dec(1)),
    ).sort("team")


def _plans(ctx: _Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    rules = ctx.rules
    versions = (
        ctx.grid.filter(pl.col("period").is_in(window.labels) & pl.col("present") & pl.col("version").is_not_null())
        .group_by("plan")
        .agg(versions=pl.col("version").unique().sort().cast(pl.String).str.join(", "))
    )
    plans = (
        reps.group_by("plan")
        .agg(pl.len().cast(INT).alias("reps"), *[pl.col(c).sum().cast(MONEY) for c in ("payout", *_PAY_COLUMNS)])
        .join(versions, on="plan", how="left")
        .with_columns(outcome_share=_share("outcome_moved", "volume_pay"))
    )
    basis = pl.col("volume_pay") + pl.col("outcome_moved")
    volume_only = (basis > 0) & _lt(pl.col("outcome_moved"), basis, rules.volume_only_share, 2)
    return plans.with_columns(volume_only=volume_only, threshold=pl.lit(rules.volume_only_share, dtype=RATIO)).with_columns(
        finding=pl.when(pl.col("volume_only")).then(
            pl.format(
                "volume-only: customer-outcome terms moved {} of pay ({} of {}), below the {} threshold",
                _pct(pl.col("outcome_share")),
                _money_text(pl.col("outcome_moved")),
                _money_text(basis),
                _pct(pl.col("threshold")),
            )
        )
    ).sort("plan")


# --- survey health of the requested period ---------------------------------------------------------


def _survey_health(ctx: _Context) -> pl.DataFrame:
    """Per rep of the requested period with a CSAT metric in its plan: the evidence behind the multiplier."""
    z = ctx.rules.wilson_z
    n = pl.col("csat_n").cast(pl.Float64)
    p = pl.col("csat_value_num").cast(pl.Float64) / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).sqrt()) / denom
    survey = (
        ctx.grid.filter((pl.col("period") == ctx.period.label) & pl.col("present") & pl.col("csat_multiplier").is_not_null())
        .select(
            "rep_id", "name", "team", "plan", "version", "q_window", "q_min",
            pl.col("csat_n").fill_null(0).cast(INT), pl.col("csat_value_num").fill_null(0).cast(INT),
            "csat_multiplier", "quality_multiplier",
        )
        .with_columns(
            counted=pl.col("csat_n") >= pl.col("q_min"),
            csat_share=_ratio(pl.col("csat_value_num"), pl.col("csat_n")),
            _lo=pl.when(pl.col("csat_n") > 0).then((center - half).clip(0.0, 1.0)),
            _hi=pl.when(pl.col("csat_n") > 0).then((center + half).clip(0.0, 1.0)),
            _half=pl.when(pl.col("csat_n") > 0).then(half),
        )
    )
    # band edges of the plan's CSAT metric inside the interval: the evidence does not settle the band
    edges = ctx.quality_bands.filter((pl.col("metric") == "csat") & pl.col("below").is_not_null()).select("plan", "version", "below")
    spanned = (
        survey.select("rep_id", "plan", "version", "_lo", "_hi")
        .join(edges, on=["plan", "version"])
        .filter((pl.col("below").cast(pl.Float64) > pl.col("_lo")) & (pl.col("below").cast(pl.Float64) <= pl.col("_hi")))
        .group_by("rep_id")
        .agg(edges_spanned=trim(pl.col("below").sort()).str.join(", "))
    )
    return (
        survey.join(spanned, on="rep_id", how="left")
        .with_columns(
            wilson_low=pl.col("_lo").cast(RATIO),
            wilson_high=pl.col("_hi").cast(RATIO),
            half_width=pl.col("_half").cast(RATIO),
            thin=pl.col("counted") & (pl.col("_half") > float(ctx.rules.thin_half_width)),
        )
        .drop("_lo", "_hi", "_half")
        .sort("rep_id")
    )


# --- flags ----------------------------------------------------------------------------------------------


_FLAG_COLUMNS = ["rep_id", "name", "team", "signal", "value", "threshold", "reason"]


def _flags(trailing: WindowMetrics, survey: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    reps = trailing.reps
    window = trailing.window.describe()
    parts = [
        _flag_mis_selling(reps, rules, window),
        _flag_contact_gaming(reps, rules, window),
        _flag_pay_vs_satisfaction(reps, rules, window),
        _flag_thin_survey(survey, rules),
        _flag_survey_pattern(reps, rules, window),
    ]
    order = pl.DataFrame({"signal": list(SIGNALS), "_order": list(range(len(SIGNALS)))})
    flags = pl.concat([p.select(_FLAG_COLUMNS) for p in parts], how="vertical")
    return flags.join(order, on="signal").sort("_order", "rep_id").drop("_order")


def _flag_mis_selling(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    rate_floor = _ge(pl.col("early_cancellations"), pl.col("sales"), r.mis_selling_min_rate, 0)
    vs_team = _ge(
        pl.col("early_cancellations") * pl.col("baseline_sales"),
        pl.col("baseline_early") * pl.col("sales"),
        r.mis_selling_team_factor,
        0,
    )
    hit = (pl.col("early_cancellations") >= r.mis_selling_min_early) & rate_floor & vs_team & (pl.col("baseline_sales") > 0)
    floor = lit(r.mis_selling_min_rate, 4).cast(RATIO)
    relative = (pl.col("baseline_early_rate") * lit(r.mis_selling_team_factor, 0).cast(RATIO)).cast(RATIO)
    threshold = pl.max_horizontal(floor, relative)
    return reps.filter(hit).with_columns(
        signal=pl.lit("mis_selling"),
        value=pl.col("early_rate").cast(pl.String),
        threshold=threshold.cast(pl.String),
        reason=pl.format(
            "{} of {} sales ({}) sold {} were cancelled within {} days of the sale; {} excluding this rep: {} of {} ({}). "
            "Rule: at least {} early cancellations, rate >= {} and >= {}x the {} rate.",
            "early_cancellations", "sales", _pct(pl.col("early_rate")), pl.lit(window), "early_days",
            "baseline", "baseline_early", "baseline_sales", _pct(pl.col("baseline_early_rate")),
            pl.lit(r.mis_selling_min_early), _pct(floor), pl.lit(str(r.mis_selling_team_factor)), "baseline",
        ),
    )


def _flag_contact_gaming(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    s = max(reps.schema["median_customer_value"].scale, reps.schema["team_median_customer_value"].scale)
    low_value = _lt(pl.col("median_customer_value"), pl.col("team_median_customer_value"), r.gaming_value_factor, s)
    low_follow = _lt(
        pl.col("followed") * pl.col("team_other_connected"),
        pl.col("team_other_followed") * pl.col("connected"),
        r.gaming_follow_factor,
        0,
    )
    hit = (
        (pl.col("connected") >= r.gaming_min_connected)
        & pl.col("team_median_customer_value").is_not_null()
        & (pl.col("team_other_connected") > 0)
        & low_value.fill_null(False)
        & low_follow
    )
    follow_threshold = (pl.col("team_follow_on_rate") * lit(r.gaming_follow_factor, 4)).cast(RATIO)
    value_threshold = pl.col("team_median_customer_value").cast(dec(s + 1)) * lit(r.gaming_value_factor, s + 1)
    return reps.filter(hit).with_columns(
        signal=pl.lit("contact_gaming"),
        value=pl.col("follow_on_rate").cast(pl.String),
        threshold=follow_threshold.cast(pl.String),
        reason=pl.format(
            "{} connected contacts {} ({} in all, {} customers); median purchase value of the customers contacted {} "
            "against {} for the typical teammate; {} of the connected contacts ({}) were followed by a purchase within {} days, "
            "teammates {} of {} ({}). Rule: at least {} connected contacts, median customer value below {} "
            "and follow-on rate below {} of the teammates'.",
            "connected", pl.lit(window), "contacts", "customers_contacted",
            _money_text(pl.col("median_customer_value")), _money_text(pl.col("team_median_customer_value")),
            "followed", _pct(pl.col("follow_on_rate")), pl.lit(r.follow_on_days),
            "team_other_followed", "team_other_connected", _pct(pl.col("team_follow_on_rate")),
            pl.lit(r.gaming_min_connected), _money_text(value_threshold), _pct(lit(r.gaming_follow_factor, 4)),
        ),
    )


def _flag_pay_vs_satisfaction(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    # bottom quartile on every survey the rep is ranked on (and ranked on at least one)
    csat_low = pl.col("csat_bottom") | ~pl.col("csat_ranked")
    nps_low = pl.col("nps_bottom") | ~pl.col("nps_ranked")
    low = csat_low & nps_low & (pl.col("csat_ranked") | pl.col("nps_ranked"))
    which = (
        pl.when(pl.col("csat_bottom") & pl.col("nps_bottom")).then(pl.lit("CSAT and NPS"))
        .when(pl.col("csat_bottom")).then(pl.lit("CSAT (NPS not ranked)"))
        .otherwise(pl.lit("NPS (CSAT not ranked)"))
    )
    value = pl.when(pl.col("csat_bottom")).then(pl.col("csat_share").cast(pl.String)).otherwise(pl.col("nps").cast(pl.String))
    threshold = pl.when(pl.col("csat_bottom")).then(pl.col("csat_cutoff").cast(pl.String)).otherwise(pl.col("nps_cutoff").cast(pl.String))
    return reps.filter(pl.col("pay_top") & low).with_columns(
        signal=pl.lit("pay_vs_satisfaction"),
        value=value,
        threshold=threshold,
        reason=pl.format(
            "payout {} {} ranks {} of {} reps (top {}: the first {}); satisfaction in the company's bottom quartile on {}: "
            "CSAT {} satisfied of {} answers (bottom quartile up to {}), NPS {} of {} answers (bottom quartile up to {}). "
            "Rule: top-decile pay and bottom-quartile satisfaction on every survey the rep is ranked on; a survey ranks reps "
            "with at least {} answers of it, when there are at least {} of them.",
            _money_text(pl.col("payout")), pl.lit(window), "pay_rank", "pay_rank_of", _pct(lit(r.top_pay_share, 4)), "pay_top_k",
            which, _text(_pct(pl.col("csat_share"))), "csat_n", _text(_pct(pl.col("csat_cutoff"))),
            _text(pl.col("nps")), "nps_n", _text(pl.col("nps_cutoff")), pl.lit(r.min_survey_answers), pl.lit(r.min_reps_for_ranking),
        ),
    )


def _flag_thin_survey(survey: pl.DataFrame, r: Rules) -> pl.DataFrame:
    return survey.filter(pl.col("thin")).with_columns(
        signal=pl.lit("thin_survey"),
        value=pl.col("half_width").cast(pl.String),
        threshold=lit(r.thin_half_width, 4).cast(pl.String),
        reason=pl.format(
            "CSAT multiplier {} rests on {} answers in the {}-day window ({} satisfied, {}); 95% Wilson interval {} to {} "
            "(+-{}){}. Rule: an interval wider than +-{} is too thin to move pay.",
            trim(pl.col("csat_multiplier")), "csat_n", "q_window", "csat_value_num", _pct(pl.col("csat_share")),
            _pct(pl.col("wilson_low")), _pct(pl.col("wilson_high")), pl.col("half_width").cast(pl.String),
            pl.when(pl.col("edges_spanned").is_not_null())
            .then(pl.lit(", spanning the band edge(s) ") + pl.col("edges_spanned") + pl.lit(", so the band itself is uncertain"))
            .otherwise(pl.lit(", within one band")),
            lit(r.thin_half_width, 4).cast(pl.String),
        ),
    )


def _flag_survey_pattern(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    hit = (
        (pl.col("responses") >= r.pattern_min_responses)
        & _ge(pl.col("top_responses"), pl.col("responses"), r.pattern_top_share, 0)
        & (pl.col("responses") >= r.pattern_per_customer * pl.col("responding_customers"))
    )
    return reps.filter(hit).with_columns(
        signal=pl.lit("survey_pattern"),
        value=pl.col("top_share").cast(pl.String),
        threshold=lit(r.pattern_top_share, 4).cast(pl.String),
        reason=pl.format(
            "{} of {} survey answers {} ({}) are top scores (CSAT 5, NPS 9-10), from only {} customers ({} answers per customer). "
            "Rule: at least {} answers, >= {} top scores and >= {} answers per distinct customer.",
            "top_responses", "responses", pl.lit(window), _pct(pl.col("top_share")), "responding_customers",
            pl.col("responses_per_customer").cast(pl.String), pl.lit(r.pattern_min_responses), _pct(lit(r.pattern_top_share, 4)),
            pl.lit(r.pattern_per_customer),
        ),
    )


# --- JSON ---------------------------------------------------------------------------------------------------

REP_FIELDS = [
    "periods_present", "payout", "earned", "cap_adjustment", "volume_pay", "quality_effect", "quality_moved",
    "relationship_pay", "clawbacks", "outcome_moved", "outcome_share",
    "sales", "early_days", "early_cancellations", "early_rate", "baseline", "baseline_sales", "baseline_early", "baseline_early_rate",
    "contacts", "connected", "customers_contacted", "median_customer_value", "team_median_customer_value",
    "followed", "follow_on_rate", "team_other_connected", "team_other_followed", "team_follow_on_rate",
    "csat_n", "csat_positive", "csat_share", "nps_n", "nps_promoters", "nps_detractors", "nps",
    "responses", "top_responses", "responding_customers", "top_share", "responses_per_customer",
    "pay_rank", "pay_top", "csat_rank", "csat_ranked", "csat_bottom", "nps_rank", "nps_ranked", "nps_bottom",
]
TEAM_FIELDS = [
    "reps", "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_moved",
    "outcome_share", "sales", "early_cancellations", "early_rate", "contacts", "connected", "followed", "follow_on_rate",
    "median_customer_value", "csat_n", "csat_positive", "csat_share", "nps_n", "nps", "csat_reps", "pay_csat_correlation",
    "nps_reps", "pay_nps_correlation",
]
PLAN_FIELDS = [
    "versions", "reps", "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks",
    "outcome_moved", "outcome_share", "threshold", "volume_only", "finding",
]
SURVEY_FIELDS = [
    "version", "q_window", "q_min", "csat_n", "csat_value_num", "csat_share", "csat_multiplier", "quality_multiplier",
    "counted", "wilson_low", "wilson_high", "half_width", "edges_spanned", "thin",
]
MONEY_FIELDS = {
    "payout", "earned", "cap_adjustment", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks",
    "outcome_moved", "median_customer_value", "team_median_customer_value",
}


def json_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals as text (money in cents), integers and booleans as they are; never a float."""
    exprs = []
    for name, dtype in frame.schema.items():
        if name in MONEY_FIELDS:
            exprs.append(_money_text(pl.col(name)).alias(name))
        elif dtype.is_decimal():
            exprs.append(pl.col(name).cast(pl.String).str.replace(r"^-(0(?:\.0*)?)$", "${1}").alias(name))
        elif dtype.is_float():
            raise TypeError(f"column {name!r} is floating point")
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def _nested(frames: dict[str, pl.DataFrame], key: str, ids: list[str], fields: list[str]) -> list[dict]:
    """One JSON object per `key`, the window metrics nested under the window names."""
    structs = [
        json_frame(f.select(*ids, *fields)).select(*ids, pl.struct(fields).alias(name)) for name, f in frames.items()
    ]
    joined = structs[0]
    for s in structs[1:]:
        joined = joined.join(s, on=ids, how="full", coalesce=True)
    return joined.sort(ids).to_dicts()


def to_json(report: AlignmentReport) -> dict:
    """The `alignment --format json` document."""
    cur, trl = report.current, report.trailing
    windows = {w.window.name: w for w in (cur, trl)}
    rules = report.rules
    return {
        "period": report.period.label,
        "trailing": {"from": trl.window.periods[0].label, "to": trl.window.periods[-1].label, "periods": len(trl.window.periods)},
        "flags": report.flags.select("rep_id", "team", "signal", "value", "threshold", "reason").to_dicts(),
        "reps": _nested({n: w.reps for n, w in windows.items()}, "rep_id", ["rep_id", "name", "team", "plan"], REP_FIELDS),
        "teams": _nested({n: w.teams for n, w in windows.items()}, "team", ["team"], TEAM_FIELDS),
        "plans": _nested({n: w.plans for n, w in windows.items()}, "plan", ["plan"], PLAN_FIELDS),
        "survey": json_frame(report.survey.select("rep_id", "team", *SURVEY_FIELDS)).to_dicts(),
        "rules": {k: (str(v) if isinstance(v, Decimal | float) else v) for k, v in vars(rules).items()},
    }
