"""The alignment metrics: per rep, team and plan over a window of periods, and survey health.

Everything is polars expressions over whole frames; the only floats are
statistics (rank correlations, the Wilson interval), never money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from comp_calc.alignment.exact import INT, RATIO, lt, median, ratio
from comp_calc.alignment.flags import Rules
from comp_calc.alignment.text import money_text, pct, trim
from comp_calc.pipeline.stages import Prepared
from comp_calc.engine import MONEY, RunResult
from comp_calc.periods import Period
from comp_calc.steps import activity
from comp_calc.steps.exact import dec, round_to


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

    def said(self) -> str:
        """The window as the flags' reasons name it: `in period 2026-10`, `in the trailing 12 periods (2025-11 to 2026-10)`."""
        if self.name == "period":
            return f"in period {self.describe()}"
        return f"in the trailing {len(self.periods)} periods ({self.describe()})"


@dataclass
class WindowMetrics:
    window: Window
    reps: pl.DataFrame  # one row per rep of the run present in the window (see window_metrics)
    teams: pl.DataFrame  # one row per team
    plans: pl.DataFrame  # one row per plan: outcome share and the volume-only finding


@dataclass
class Context:
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
    def build(prep: Prepared, result: RunResult, rules: Rules) -> Context:
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
        return Context(
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


def window_metrics(ctx: Context, window: Window) -> WindowMetrics:
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
    parts = [
        _pay(ctx, window), _mis_selling(ctx, window, reps), _contacts(ctx, window, reps), _satisfaction(ctx, window),
        _activity(ctx, window),
    ]  # fmt: skip
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


_PAY_COLUMNS = (
    "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_bonus", "holdback_forfeited",
    "outcome_moved", "activity_bonus",
)  # fmt: skip


def _pay(ctx: Context, window: Window) -> pl.DataFrame:
    """Per rep: volume pay and the pay moved by customer-outcome terms.

    - volume_pay: the seller commission lines' commission before quality, rounded to cents;
    - quality_effect: what the quality multiplier added or removed on those lines (signed),
      quality_moved the same in absolute value (line by line);
    - relationship_pay: commission of relationship credit lines;
    - clawbacks: clawback lines (negative);
    - outcome_bonus: outcome_bonus lines (SPEC 6.3 step 4b);
    - holdback_forfeited: the held parts (SPEC 6.3 step 6b) never released because the sale was
      cancelled on or before the release day, counted in the window that holds the cancellation;
    - outcome_moved = |quality_effect| + |relationship_pay| + |clawbacks| + |outcome_bonus| +
      |holdback_forfeited| (the net columns, see `net_moved`);
    - activity_bonus: activity_bonus lines (SPEC 6.3 step 4c). Pay for activity, not for a customer
      outcome: it sits beside volume pay in the outcome share's base (see `_share`).

    A draw line (SPEC 6.3 step 8) is neither volume nor outcome pay: it pays for no sale and no
    customer outcome, so it is in the payout but in neither figure.
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
            outcome_bonus=pl.when(pl.col("kind") == "outcome_bonus").then(pl.col("amount")).sum().cast(MONEY),
            activity_bonus=pl.when(pl.col("kind") == "activity_bonus").then(pl.col("amount")).sum().cast(MONEY),
        )
        # a rep may lose a held part in a window where it has no line
        .join(_forfeited(ctx, window), on="rep_id", how="full", coalesce=True)
        .with_columns(pl.col(c).fill_null(zero) for c in _PAY_COLUMNS if c != "outcome_moved")
        .with_columns(outcome_moved=net_moved())
        .collect()
    )


def _forfeited(ctx: Context, window: Window) -> pl.LazyFrame:
    """Per rep: `holdback_forfeited`, the held parts lost to a cancellation dated in the window (a holdback
    line is -H; its `forfeited` says the sale was cancelled on or before the release day)."""
    names = ctx.lines.collect_schema().names()
    if "forfeited" not in names:
        return pl.LazyFrame(schema={"rep_id": pl.String, "holdback_forfeited": MONEY})
    lost = (pl.col("kind") == "holdback") & pl.col("forfeited").fill_null(False) & pl.col("cancelled_on").is_between(window.start, window.end)
    return ctx.lines.filter(lost).group_by("rep_id").agg(holdback_forfeited=(-pl.col("amount")).sum().cast(MONEY))


def net_moved() -> pl.Expr:
    """Pay moved by customer-outcome terms, from the net columns shown beside it (so they add up):
    |quality_effect| + |relationship_pay| + |clawbacks| + |outcome_bonus| + |holdback_forfeited|, at whatever
    level the columns are summed."""
    moved = pl.col("quality_effect").abs() + pl.col("relationship_pay").abs() + pl.col("clawbacks").abs()
    return (moved + pl.col("outcome_bonus").abs() + pl.col("holdback_forfeited").abs()).cast(MONEY)


def _share(moved: str, volume: str) -> pl.Expr:
    """moved / (volume pay + activity bonuses + moved): pay for volume or activity is the pay not moved by outcomes."""
    return ratio(pl.col(moved), pl.col(volume) + pl.col("activity_bonus") + pl.col(moved))


def _activity(ctx: Context, window: Window) -> pl.DataFrame:
    """Per rep paid an activity bonus in the window: the bonus lines, the contacts that counted
    toward them (`activity_counted`) and how many of those were with customers worth nothing
    (`activity_no_value`: no purchase kept in the 365 days before the contact, the customer value
    of the quota's value-weighted fix). A bonus earned mostly on such contacts is box-ticking."""
    paid = (
        ctx.lines.filter((pl.col("kind") == "activity_bonus") & pl.col("period").is_in(window.labels))
        .select("rep_id", "p_start")
        .collect()
    )
    empty = pl.DataFrame(schema={"rep_id": pl.String, "activity_bonuses": INT, "activity_counted": INT, "activity_no_value": INT})
    if not paid.height:
        return empty
    grid = ctx.grid.lazy().join(paid.lazy(), on=["rep_id", "p_start"], how="semi")
    counted = activity.counted_contacts(grid, ctx.contacts.lazy(), ctx.sales.lazy(), values=True).filter(~pl.col("low_value"))
    per_rep = counted.group_by("rep_id").agg(
        activity_counted=pl.len().cast(INT), activity_no_value=(pl.col("customer_value") == 0).sum().cast(INT)
    )
    bonuses = paid.lazy().group_by("rep_id").agg(activity_bonuses=pl.len().cast(INT))
    return bonuses.join(per_rep, on="rep_id", how="left").collect().select(empty.columns)


def _mis_selling(ctx: Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
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


def _customer_value(ctx: Context) -> pl.DataFrame:
    """Per customer: total amount of their sales up to the period end, cancelled ones excluded."""
    return (
        ctx.sales.filter(pl.col("cancelled_on").is_null())
        .group_by("customer_id")
        .agg(customer_value=pl.col("amount").sum())
    )


def _window_contacts(ctx: Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    value = _customer_value(ctx)
    zero = pl.lit(0, dtype=value.schema["customer_value"])
    return (
        ctx.contacts.filter(pl.col("contacted_on").is_between(window.start, window.end))
        .join(reps.select("rep_id", "team"), on="rep_id", how="inner")
        .join(value, on="customer_id", how="left")
        .with_columns(customer_value=pl.col("customer_value").fill_null(zero))
    )


def _contacts(ctx: Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
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
        customers_contacted=pl.len().cast(INT), median_customer_value=median("customer_value", s)
    )
    # the typical colleague: median over the rep's teammates (with contacts) of their own median
    colleagues = (
        medians.select("rep_id", "team")
        .join(medians.select("team", pl.col("rep_id").alias("other"), pl.col("median_customer_value").alias("m")), on="team")
        .filter(pl.col("rep_id") != pl.col("other"))
        .group_by("rep_id")
        .agg(team_median_customer_value=median("m", s + 1))
    )
    return (
        contacts.group_by("rep_id")
        .agg(contacts=pl.len().cast(INT))
        .join(connected, on="rep_id", how="left")
        .join(medians.drop("team"), on="rep_id", how="left")
        .join(colleagues, on="rep_id", how="left")
    )


def _satisfaction(ctx: Context, window: Window) -> pl.DataFrame:
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
        early_rate=ratio(pl.col("early_cancellations"), pl.col("sales")),
        baseline_early_rate=ratio(pl.col("baseline_early"), pl.col("baseline_sales")),
        follow_on_rate=ratio(pl.col("followed"), pl.col("connected")),
        team_follow_on_rate=ratio(pl.col("team_other_followed"), pl.col("team_other_connected")),
        csat_share=ratio(pl.col("csat_positive"), pl.col("csat_n")),
        nps=nps_value.cast(dec(1)),
        top_share=ratio(pl.col("top_responses"), pl.col("responses")),
        responses_per_customer=ratio(pl.col("responses"), pl.col("responding_customers")).cast(dec(2)),
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


def _teams(ctx: Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    rules = ctx.rules
    pooled = (
        _window_contacts(ctx, window, reps)
        .unique(subset=["team", "customer_id"])
        .group_by("team")
        .agg(median_customer_value=median("customer_value", ctx.amount_scale))
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
        "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_bonus",
        "holdback_forfeited", "outcome_moved", "activity_bonus", "activity_bonuses", "activity_counted", "activity_no_value",
        "sales", "early_cancellations", "contacts", "connected", "followed",
        "csat_n", "csat_positive", "nps_n", "nps_promoters", "nps_detractors",
    ]
    teams = (
        reps.group_by("team")
        .agg(pl.len().cast(INT).alias("reps"), *[pl.col(c).sum() for c in sums])
        .with_columns(pl.col(c).cast(MONEY) for c in _PAY_COLUMNS + ("payout",))
        .with_columns(outcome_moved=net_moved())
        .join(pooled, on="team", how="left")
        .join(corr("csat", "csat_n"), on="team", how="left")
        .join(corr("nps", "nps_n"), on="team", how="left")
    )
    return teams.with_columns(
        outcome_share=_share("outcome_moved", "volume_pay"),
        early_rate=ratio(pl.col("early_cancellations"), pl.col("sales")),
        follow_on_rate=ratio(pl.col("followed"), pl.col("connected")),
        csat_share=ratio(pl.col("csat_positive"), pl.col("csat_n")),
        nps=pl.when(pl.col("nps_n") > 0)
        .then((100 * (pl.col("nps_promoters") - pl.col("nps_detractors"))).cast(dec(6)) / pl.col("nps_n").cast(dec(6)))
        .cast(dec(1)),
    ).sort("team")


def _plans(ctx: Context, window: Window, reps: pl.DataFrame) -> pl.DataFrame:
    rules = ctx.rules
    versions = (
        ctx.grid.filter(pl.col("period").is_in(window.labels) & pl.col("present") & pl.col("version").is_not_null())
        .group_by("plan")
        .agg(versions=pl.col("version").unique().sort().cast(pl.String).str.join(", "))
    )
    plans = (
        reps.group_by("plan")
        .agg(pl.len().cast(INT).alias("reps"), *[pl.col(c).sum().cast(MONEY) for c in ("payout", *_PAY_COLUMNS)])
        .with_columns(outcome_moved=net_moved())
        .join(versions, on="plan", how="left")
        .with_columns(outcome_share=_share("outcome_moved", "volume_pay"))
    )
    basis = pl.col("volume_pay") + pl.col("activity_bonus") + pl.col("outcome_moved")
    volume_only = (basis > 0) & lt(pl.col("outcome_moved"), basis, rules.volume_only_share, 2)
    return plans.with_columns(volume_only=volume_only, threshold=pl.lit(rules.volume_only_share, dtype=RATIO)).with_columns(
        finding=pl.when(pl.col("volume_only")).then(
            pl.format(
                "volume-only: customer-outcome terms moved {} of pay ({} of {}), below the {} threshold",
                pct(pl.col("outcome_share")),
                money_text(pl.col("outcome_moved")),
                money_text(basis),
                pct(pl.col("threshold")),
            )
        )
    ).sort("plan")


# --- survey health of the requested period ---------------------------------------------------------


def survey_health(ctx: Context) -> pl.DataFrame:
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
            csat_share=ratio(pl.col("csat_value_num"), pl.col("csat_n")),
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
            edge_inside=pl.col("edges_spanned").is_not_null(),
        )
        .drop("_lo", "_hi", "_half")
        .sort("rep_id")
    )

