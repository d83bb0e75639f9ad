"""The alignment report: the metrics of both windows, survey health and the flags, composed; and its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from comp_calc.alignment.flags import Rules, WindowReps, find_flags
from comp_calc.alignment.metrics import Context, Window, WindowMetrics, survey_health, window_metrics
from comp_calc.alignment.text import decimal_text, money_text
from comp_calc.pipeline.stages import Prepared
from comp_calc.engine import RunResult
from comp_calc.periods import Period


@dataclass
class AlignmentReport:
    period: Period
    current: WindowMetrics  # the requested period
    trailing: WindowMetrics  # the trailing periods up to it
    survey: pl.DataFrame  # per rep: the requested period's CSAT evidence and Wilson interval
    flags: pl.DataFrame  # rep_id, name, team, signal, window, value, threshold, measure, reason
    rules: Rules = field(default_factory=Rules)
    currency: str = ""  # the plans' currency, the unit of every amount

    @property
    def thin_without_edge(self) -> int:
        """Reps whose CSAT interval is wide but holds no band edge: the multiplier is the same at either end."""
        return self.survey.filter(pl.col("thin") & ~pl.col("edge_inside")).height


def analyze(prep: Prepared, result: RunResult, rules: Rules = Rules()) -> AlignmentReport:
    """The alignment report of a computed run."""
    periods = tuple(result.periods)
    current = Window("period", periods[-1:])
    trailing = Window("trailing", periods[-rules.trailing_periods :])
    ctx = Context.build(prep, result, rules)
    cur = window_metrics(ctx, current)
    trl = window_metrics(ctx, trailing)
    survey = survey_health(ctx)
    windows = [WindowReps("period", current.said(), cur.reps)]
    if trailing.periods != current.periods:  # a one-period run: the same window, flagged once
        windows.append(WindowReps("trailing", trailing.said(), trl.reps))
    currency = prep.plans.plans[0].currency if prep.plans.plans else ""
    flags = find_flags(windows, survey, rules, currency)
    return AlignmentReport(result.period, cur, trl, survey, flags, rules, currency)


# --- JSON --------------------------------------------------------------------------------------------

REP_FIELDS = [
    "periods_present", "payout", "earned", "cap_adjustment", "volume_pay", "quality_effect", "quality_moved",
    "relationship_pay", "clawbacks", "outcome_bonus", "holdback_forfeited", "outcome_moved", "outcome_share",
    "activity_bonus", "activity_bonuses", "activity_counted", "activity_no_value",
    "sales", "early_days", "early_cancellations", "early_rate", "baseline", "baseline_sales", "baseline_early", "baseline_early_rate",
    "contacts", "connected", "customers_contacted", "median_customer_value", "team_median_customer_value",
    "followed", "follow_on_rate", "team_other_connected", "team_other_followed", "team_follow_on_rate",
    "csat_n", "csat_positive", "csat_share", "nps_n", "nps_promoters", "nps_detractors", "nps",
    "responses", "top_responses", "responding_customers", "top_share", "responses_per_customer",
    "pay_rank", "pay_top", "csat_rank", "csat_ranked", "csat_bottom", "nps_rank", "nps_ranked", "nps_bottom",
]
TEAM_FIELDS = [
    "reps", "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks", "outcome_bonus",
    "holdback_forfeited", "outcome_moved", "outcome_share", "activity_bonus", "activity_counted", "activity_no_value",
    "sales", "early_cancellations", "early_rate", "contacts", "connected", "followed", "follow_on_rate",
    "median_customer_value", "csat_n", "csat_positive", "csat_share", "nps_n", "nps", "csat_reps", "pay_csat_correlation",
    "nps_reps", "pay_nps_correlation",
]
PLAN_FIELDS = [
    "versions", "reps", "payout", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks",
    "outcome_bonus", "holdback_forfeited", "outcome_moved", "activity_bonus", "outcome_share", "threshold", "volume_only", "finding",
]
SURVEY_FIELDS = [
    "version", "q_window", "q_min", "csat_n", "csat_value_num", "csat_share", "csat_multiplier", "quality_multiplier",
    "counted", "wilson_low", "wilson_high", "half_width", "edges_spanned", "edge_inside", "thin",
]
MONEY_FIELDS = {
    "payout", "earned", "cap_adjustment", "volume_pay", "quality_effect", "quality_moved", "relationship_pay", "clawbacks",
    "outcome_bonus", "holdback_forfeited", "outcome_moved", "median_customer_value", "team_median_customer_value", "activity_bonus",
}


def json_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals as text (money in cents), integers and booleans as they are; never a float."""
    exprs = []
    for name, dtype in frame.schema.items():
        if name in MONEY_FIELDS:
            exprs.append(money_text(pl.col(name)).alias(name))
        elif dtype.is_decimal():
            exprs.append(decimal_text(pl.col(name)).alias(name))
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
        "currency": report.currency,
        "summary": {
            "flags": report.flags.height,
            "thin_survey_without_edge": report.thin_without_edge,
        },
        "flags": report.flags.select("rep_id", "team", "signal", "value", "threshold", "reason", "window").to_dicts(),
        "reps": _nested({n: w.reps for n, w in windows.items()}, "rep_id", ["rep_id", "name", "team", "plan"], REP_FIELDS),
        "teams": _nested({n: w.teams for n, w in windows.items()}, "team", ["team"], TEAM_FIELDS),
        "plans": _nested({n: w.plans for n, w in windows.items()}, "plan", ["plan"], PLAN_FIELDS),
        "survey": json_frame(report.survey.select("rep_id", "team", *SURVEY_FIELDS)).to_dicts(),
        "rules": {k: (str(v) if isinstance(v, Decimal | float) else v) for k, v in vars(rules).items()},
    }
