"""The alignment flags: five rules over the metrics, with the thresholds they are judged by (`Rules`).

Each flag states its rule and numbers in `reason`. The trailing window's rep
metrics feed mis_selling, contact_gaming, pay_vs_satisfaction and
survey_pattern; thin_survey reads the requested period's survey health.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from comp_calc.alignment.exact import RATIO, ge, lt
from comp_calc.alignment.text import money_text, na_text, pct, trim
from comp_calc.steps.exact import dec, lit

SIGNALS = ("mis_selling", "contact_gaming", "pay_vs_satisfaction", "thin_survey", "survey_pattern")


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


_FLAG_COLUMNS = ["rep_id", "name", "team", "signal", "value", "threshold", "reason"]


def find_flags(reps: pl.DataFrame, window: str, survey: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The five flags: `reps` of the trailing window (described as `window`), `survey` of the requested period."""
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
    rate_floor = ge(pl.col("early_cancellations"), pl.col("sales"), r.mis_selling_min_rate, 0)
    vs_team = ge(
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
            "early_cancellations", "sales", pct(pl.col("early_rate")), pl.lit(window), "early_days",
            "baseline", "baseline_early", "baseline_sales", pct(pl.col("baseline_early_rate")),
            pl.lit(r.mis_selling_min_early), pct(floor), pl.lit(str(r.mis_selling_team_factor)), "baseline",
        ),
    )


def _flag_contact_gaming(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    s = max(reps.schema["median_customer_value"].scale, reps.schema["team_median_customer_value"].scale)
    low_value = lt(pl.col("median_customer_value"), pl.col("team_median_customer_value"), r.gaming_value_factor, s)
    low_follow = lt(
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
            money_text(pl.col("median_customer_value")), money_text(pl.col("team_median_customer_value")),
            "followed", pct(pl.col("follow_on_rate")), pl.lit(r.follow_on_days),
            "team_other_followed", "team_other_connected", pct(pl.col("team_follow_on_rate")),
            pl.lit(r.gaming_min_connected), money_text(value_threshold), pct(lit(r.gaming_follow_factor, 4)),
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
            money_text(pl.col("payout")), pl.lit(window), "pay_rank", "pay_rank_of", pct(lit(r.top_pay_share, 4)), "pay_top_k",
            which, na_text(pct(pl.col("csat_share"))), "csat_n", na_text(pct(pl.col("csat_cutoff"))),
            na_text(pl.col("nps")), "nps_n", na_text(pl.col("nps_cutoff")), pl.lit(r.min_survey_answers), pl.lit(r.min_reps_for_ranking),
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
            trim(pl.col("csat_multiplier")), "csat_n", "q_window", "csat_value_num", pct(pl.col("csat_share")),
            pct(pl.col("wilson_low")), pct(pl.col("wilson_high")), pl.col("half_width").cast(pl.String),
            pl.when(pl.col("edges_spanned").is_not_null())
            .then(pl.lit(", spanning the band edge(s) ") + pl.col("edges_spanned") + pl.lit(", so the band itself is uncertain"))
            .otherwise(pl.lit(", within one band")),
            lit(r.thin_half_width, 4).cast(pl.String),
        ),
    )


def _flag_survey_pattern(reps: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    hit = (
        (pl.col("responses") >= r.pattern_min_responses)
        & ge(pl.col("top_responses"), pl.col("responses"), r.pattern_top_share, 0)
        & (pl.col("responses") >= r.pattern_per_customer * pl.col("responding_customers"))
    )
    return reps.filter(hit).with_columns(
        signal=pl.lit("survey_pattern"),
        value=pl.col("top_share").cast(pl.String),
        threshold=lit(r.pattern_top_share, 4).cast(pl.String),
        reason=pl.format(
            "{} of {} survey answers {} ({}) are top scores (CSAT 5, NPS 9-10), from only {} customers ({} answers per customer). "
            "Rule: at least {} answers, >= {} top scores and >= {} answers per distinct customer.",
            "top_responses", "responses", pl.lit(window), pct(pl.col("top_share")), "responding_customers",
            pl.col("responses_per_customer").cast(pl.String), pl.lit(r.pattern_min_responses), pct(lit(r.pattern_top_share, 4)),
            pl.lit(r.pattern_per_customer),
        ),
    )

