"""The alignment flags: five rules over the metrics, with the thresholds they are judged by (`Rules`).

Each flag states its rule, its window and its numbers in `reason`.
mis_selling, contact_gaming, pay_vs_satisfaction and survey_pattern are judged
on each window's rep metrics (the period P and the trailing window), one flag
per window that trips; thin_survey reads the survey health of the multiplier
paid in P (window "period").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from comp_calc.alignment.exact import RATIO, ge, lt
from comp_calc.alignment.text import money_text, na_text, pct, trim
from comp_calc.steps.exact import dec, lit, scale_of

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
    # contact_gaming, activity quota: a bonus whose counted contacts are more than this share with
    # customers worth nothing (no purchase kept in the year before the contact)
    activity_no_value_share: Decimal = Decimal("0.5")
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


WINDOWS = ("period", "trailing")
# `measure`: the value and threshold with their units, for people (the JSON keeps `value` and `threshold` plain)
_FLAG_COLUMNS = ["rep_id", "name", "team", "signal", "window", "value", "threshold", "measure", "reason"]


@dataclass(frozen=True)
class WindowReps:
    """One window's rep metrics for the flags: `name` "period" or "trailing", `said` how reasons name it."""

    name: str
    said: str
    reps: pl.DataFrame


def find_flags(windows: list[WindowReps], survey: pl.DataFrame, rules: Rules, currency: str) -> pl.DataFrame:
    """The five flags, each rule on each window's reps; thin_survey on `survey`, the requested period's
    multipliers (window "period"). Sorted by signal, rep and window (the period first)."""
    period = next(w.said for w in windows if w.name == "period")
    parts = [_flag_thin_survey(survey, rules, period)]
    for w in windows:
        parts += [
            _flag_mis_selling(w.reps, rules, w.said),
            _flag_contact_gaming(w.reps, rules, w.said, currency),
            _flag_activity_box_ticking(w.reps, rules, w.said, currency),
            _flag_pay_vs_satisfaction(w.reps, rules, w.said, currency),
            _flag_survey_pattern(w.reps, rules, w.said),
        ]
        parts = [p if "window" in p.columns else p.with_columns(window=pl.lit(w.name)) for p in parts]
    order = pl.DataFrame({"signal": list(SIGNALS), "_order": list(range(len(SIGNALS)))})
    worder = pl.DataFrame({"window": list(WINDOWS), "_worder": list(range(len(WINDOWS)))})
    flags = pl.concat([p.select(_FLAG_COLUMNS) for p in parts], how="vertical")
    return (
        flags.join(order, on="signal")
        .join(worder, on="window")
        .sort("_order", "rep_id", "_worder", maintain_order=True)
        .drop("_order", "_worder")
    )


def _with_unit(expr: pl.Expr, currency: str) -> pl.Expr:
    return expr + pl.lit(f" {currency}" if currency else "")


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
        measure=pl.format("early-cancellation rate {}, threshold {}", pct(pl.col("early_rate")), pct(threshold.cast(RATIO))),
        reason=pl.format(
            "{} of {} sales ({}) sold {} were cancelled within {} days of the sale; {} excluding this rep: {} of {} ({}). "
            "Rule: at least {} early cancellations, rate >= {} and >= {}x the {} rate.",
            "early_cancellations", "sales", pct(pl.col("early_rate")), pl.lit(window), "early_days",
            "baseline", "baseline_early", "baseline_sales", pct(pl.col("baseline_early_rate")),
            pl.lit(r.mis_selling_min_early), pct(floor), pl.lit(str(r.mis_selling_team_factor)), "baseline",
        ),
    )


def _flag_contact_gaming(reps: pl.DataFrame, r: Rules, window: str, currency: str) -> pl.DataFrame:
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
        measure=pl.format("follow-on rate {}, threshold {}", pct(pl.col("follow_on_rate")), pct(follow_threshold)),
        reason=pl.format(
            "{} connected contacts {} ({} in all, {} customers); median purchase value of the customers contacted {} "
            "against {} for the typical teammate; {} of the connected contacts ({}) were followed by a purchase within {} days, "
            "teammates {} of {} ({}). Rule: at least {} connected contacts, median customer value below {} "
            "and follow-on rate below {} of the teammates'.",
            "connected", pl.lit(window), "contacts", "customers_contacted",
            _with_unit(money_text(pl.col("median_customer_value")), currency),
            _with_unit(money_text(pl.col("team_median_customer_value")), currency),
            "followed", pct(pl.col("follow_on_rate")), pl.lit(r.follow_on_days),
            "team_other_followed", "team_other_connected", pct(pl.col("team_follow_on_rate")),
            pl.lit(r.gaming_min_connected), _with_unit(money_text(value_threshold), currency), pct(lit(r.gaming_follow_factor, 4)),
        ),
    )


def _flag_activity_box_ticking(reps: pl.DataFrame, r: Rules, window: str, currency: str) -> pl.DataFrame:
    """contact_gaming of an activity quota: a bonus earned mostly on contacts with customers worth nothing."""
    # more than the share, exactly: no_value > share * counted
    s = scale_of(r.activity_no_value_share)
    more = pl.col("activity_no_value").cast(dec(s)) > pl.col("activity_counted").cast(dec(s)) * lit(r.activity_no_value_share, s)
    hit = (pl.col("activity_counted") > 0) & more
    share = (pl.col("activity_no_value").cast(dec(8)) / pl.col("activity_counted").cast(dec(8))).cast(RATIO)
    threshold = lit(r.activity_no_value_share, 4).cast(RATIO)
    return reps.filter(hit).with_columns(
        signal=pl.lit("contact_gaming"),
        value=share.cast(pl.String),
        threshold=threshold.cast(pl.String),
        measure=pl.format("activity contacts with customers worth nothing {}, threshold {}", pct(share), pct(threshold)),
        reason=pl.format(
            "activity bonus {} {} ({} period(s)) earned on {} counted contacts, {} of them ({}) with customers who kept "
            "no purchase in the 365 days before the contact. Rule: an activity bonus paid and more than {} of its counted "
            "contacts with customers worth nothing; the plan's min_customer_value counts only customers worth at least that.",
            _with_unit(money_text(pl.col("activity_bonus")), currency), pl.lit(window), "activity_bonuses", "activity_counted",
            "activity_no_value", pct(share), pct(threshold),
        ),
    )


def _flag_pay_vs_satisfaction(reps: pl.DataFrame, r: Rules, window: str, currency: str) -> pl.DataFrame:
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
        measure=pl.when(pl.col("csat_bottom"))
        .then(pl.format("CSAT {} satisfied, bottom quartile up to {}", pct(pl.col("csat_share")), pct(pl.col("csat_cutoff"))))
        .otherwise(pl.format("NPS {} points, bottom quartile up to {}", pl.col("nps"), pl.col("nps_cutoff"))),
        reason=pl.format(
            "payout {} {} ranks {} of {} reps (top {}: the first {}); satisfaction in the company's bottom quartile on {}: "
            "CSAT {} satisfied of {} answers (bottom quartile up to {}), NPS {} of {} answers (bottom quartile up to {}). "
            "Rule: top-decile pay and bottom-quartile satisfaction on every survey the rep is ranked on; a survey ranks reps "
            "with at least {} answers of it, when there are at least {} of them.",
            _with_unit(money_text(pl.col("payout")), currency), pl.lit(window), "pay_rank", "pay_rank_of", pct(lit(r.top_pay_share, 4)), "pay_top_k",
            which, na_text(pct(pl.col("csat_share"))), "csat_n", na_text(pct(pl.col("csat_cutoff"))),
            na_text(pl.col("nps")), "nps_n", na_text(pl.col("nps_cutoff")), pl.lit(r.min_survey_answers), pl.lit(r.min_reps_for_ranking),
        ),
    )


def _flag_thin_survey(survey: pl.DataFrame, r: Rules, window: str) -> pl.DataFrame:
    """Only where a band edge of the plan lies inside the interval: the multiplier paid could be the wrong one."""
    return survey.filter(pl.col("thin") & pl.col("edges_spanned").is_not_null()).with_columns(
        signal=pl.lit("thin_survey"),
        window=pl.lit("period"),
        measure=pl.format("95% interval +-{} points, threshold +-{} points", pct(pl.col("half_width")).str.strip_suffix("%"),
                          pct(lit(r.thin_half_width, 4)).str.strip_suffix("%")),
        value=pl.col("half_width").cast(pl.String),
        threshold=lit(r.thin_half_width, 4).cast(pl.String),
        reason=pl.format(
            "CSAT multiplier {} paid {} rests on {} answers in the {}-day window ({} satisfied, {}); "
            "95% Wilson interval {} to {} (+-{}), spanning the band edge(s) {}, so the band itself is uncertain. "
            "Rule: an interval wider than +-{} that holds a band edge of the plan's CSAT bands.",
            trim(pl.col("csat_multiplier")), pl.lit(window), "csat_n", "q_window", "csat_value_num", pct(pl.col("csat_share")),
            pct(pl.col("wilson_low")), pct(pl.col("wilson_high")), pl.col("half_width").cast(pl.String),
            "edges_spanned", lit(r.thin_half_width, 4).cast(pl.String),
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
        measure=pl.format("top scores {}, threshold {}", pct(pl.col("top_share")), pct(lit(r.pattern_top_share, 4))),
        reason=pl.format(
            "{} of {} survey answers {} ({}) are top scores (CSAT 5, NPS 9-10), from only {} customers ({} answers per customer). "
            "Rule: at least {} answers, >= {} top scores and >= {} answers per distinct customer.",
            "top_responses", "responses", pl.lit(window), pct(pl.col("top_share")), "responding_customers",
            pl.col("responses_per_customer").cast(pl.String), pl.lit(r.pattern_min_responses), pct(lit(r.pattern_top_share, 4)),
            pl.lit(r.pattern_per_customer),
        ),
    )

