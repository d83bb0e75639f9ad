"""Plan versions as small polars tables the steps join against.

Plans hold a handful of rules each, so building these tables loops over plan
rules in Python; no data row is touched here.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from comp_calc.plan.model import Plan, PlanSet, rate_by_product
from comp_calc.steps.exact import ROUNDING, Scales, dec, decimal_text, scale_of

MAX_PLACES = 6  # the most decimals a plan number has (`comp_calc.plan.schema`): campaign rates are held at this scale


@dataclass(frozen=True)
class PlanTables:
    versions: pl.DataFrame  # plan, version, kind, effective_from, rounding, cap, negative_balance, has_tiers, retro
    # (tier_mode: retroactive), quality and outbound settings, draw_amount (null: no draw), draw_recoverable
    # (tier_mode: retroactive), quality and outbound settings, hb_share and hb_days (holdback; null: none)
    rates: pl.DataFrame  # plan, version, product (null: catch-all), rate
    tiers: pl.DataFrame  # plan, version, band, lower, upper (null: open), multiplier
    quality_bands: pl.DataFrame  # plan, version, metric, band, below (null: open), multiplier
    clawback: pl.DataFrame  # plan, version, rule, within_days, recover
    scales: Scales
    # plan, version, band, lower (null: first band), below (null: open), amount: `outcome_bonus` bands
    bonus_bands: pl.DataFrame
    # pv, plan, version, campaign_no (list position), campaign, per_sale, rate: `campaigns` entries
    campaigns: pl.DataFrame | None = None


HOLDBACK_SCALE = 6  # a holdback share has at most 6 decimals (plan schema)


def _max_scale(values) -> int:
    return max((scale_of(v) for v in values if v is not None), default=0)


def plan_scales(plans: PlanSet, amount_scale: int, quota_scale: int, fx_scale: int = 0) -> Scales:
    """The run's `Scales`; `fx_scale` the decimals of the exchange rates used (0: none)."""
    ps = plans.plans
    quality_multiplier = 0
    for p in ps:
        if p.quality:
            per_band = _max_scale(b.multiplier for m in p.quality.metrics for b in m.bands)
            factors = len(p.quality.metrics) if p.quality.combine == "multiply" else 1
            quality_multiplier = max(quality_multiplier, per_band * factors)
    return Scales(
        amount=amount_scale,
        quota=quota_scale,
        share=_max_scale(p.outbound_credit.share for p in ps if p.outbound_credit),
        up_to=_max_scale(t.up_to for p in ps for t in (p.attainment_tiers or ())),
        rate=_max_scale(r.rate for p in ps for r in p.rates),
        tier_multiplier=_max_scale(t.multiplier for p in ps for t in (p.attainment_tiers or ())),
        quality_multiplier=quality_multiplier,
        recover=_max_scale(c.recover for p in ps for c in (p.clawback or ())),
        fx=fx_scale,
    )


def _version_row(p: Plan) -> dict:
    q, o, b = p.quality, p.outbound_credit, p.outcome_bonus
    return {
        "plan": p.plan,
        "version": p.version,
        "kind": p.period,
        "effective_from": p.effective_from,
        "rounding": p.rounding,
        "cap": p.cap,
        "negative_balance": p.negative_balance,
        "has_tiers": p.attainment_tiers is not None,
        "retro": p.attainment_tiers is not None and p.tier_mode == "retroactive",
        "has_quality": q is not None,
        "q_window": q.window_days if q else None,
        "q_min": q.min_responses if q else None,
        "q_combine": q.combine if q else None,
        "currency": p.currency,
        "has_bonus": b is not None,
        "bonus_metric": b.metric if b else None,
        "bonus_window": b.window_days if b else None,
        "bonus_min": b.min_responses if b else None,
        "draw_amount": p.draw.amount if p.draw else None,
        "draw_recoverable": p.draw.recoverable if p.draw else None,
        "hb_share": p.holdback.share if p.holdback else None,
        "hb_days": p.holdback.release_after_days if p.holdback else None,
        **_activity_columns(p),
        **_override_columns(p),
        "ob_channels": list(o.channels) if o else None,
        "ob_connected_only": o.connected_only if o else None,
        "ob_window": o.window_days if o else None,
        "ob_share": o.share if o else None,
    }


# SPEC 6.2 `activity`: the quota's settings on the version row (channels as one sorted,
# comma-separated text, so the grid that carries version columns holds no list)
ACTIVITY_SCHEMA = {
    "has_activity": pl.Boolean,
    "act_channels": pl.String,
    "act_connected_only": pl.Boolean,
    "act_target": pl.Int64,
    "act_bonus": dec(2),
    "act_distinct": pl.Boolean,
    "act_min_value": dec(2),
}


def _activity_columns(p: Plan) -> dict:
    a = p.activity
    return {
        "has_activity": a is not None,
        "act_channels": ",".join(sorted(a.channels)) if a else None,
        "act_connected_only": a.connected_only if a else None,
        "act_target": a.target if a else None,
        "act_bonus": a.bonus if a else None,
        "act_distinct": a.distinct_customers if a else None,
        "act_min_value": a.min_customer_value if a else None,
    }


# SPEC 6.2 `override`: a manager's share of the reports' net credit (null: no override). The
# rate has at most 6 decimals (plan schema), so it is held at that scale.
OVERRIDE_RATE_SCALE = 6
OVERRIDE_SCHEMA = {"ov_rate": dec(OVERRIDE_RATE_SCALE), "ov_levels": pl.Int64}


def _override_columns(p: Plan) -> dict:
    o = p.override
    return {"ov_rate": o.rate if o else None, "ov_levels": o.levels if o else None}


def build_tables(plans: PlanSet, scales: Scales) -> PlanTables:
    s = scales
    versions = _table(
        [_version_row(p) for p in plans.plans],
        {
            "plan": pl.String,
            "version": pl.Int64,
            "kind": pl.String,
            "effective_from": pl.Date,
            "rounding": ROUNDING,
            "cap": dec(2),
            "negative_balance": pl.String,
            "has_tiers": pl.Boolean,
            "retro": pl.Boolean,
            "has_quality": pl.Boolean,
            "q_window": pl.Int64,
            "q_min": pl.Int64,
            "q_combine": pl.String,
            "currency": pl.String,
            "has_bonus": pl.Boolean,
            "bonus_metric": pl.String,
            "bonus_window": pl.Int64,
            "bonus_min": pl.Int64,
            "draw_amount": dec(2),
            "draw_recoverable": pl.Boolean,
            "hb_share": dec(HOLDBACK_SCALE),
            "hb_days": pl.Int64,
            **ACTIVITY_SCHEMA,
            **OVERRIDE_SCHEMA,
            "ob_channels": pl.List(pl.String),
            "ob_connected_only": pl.Boolean,
            "ob_window": pl.Int64,
            "ob_share": dec(s.share),
        },
    ).with_row_index("pv").with_columns(pl.col("pv").cast(pl.Int64)).sort("plan", "effective_from")

    rates, tiers, bands, clawback, bonus_bands, campaigns = [], [], [], [], [], []
    for pv, p in enumerate(plans.plans):
        key = {"pv": pv, "plan": p.plan, "version": p.version}
        rates.extend({**key, "product": product, "rate": rate} for product, rate in rate_by_product(p.rates).items())
        # no tiers: one open band with multiplier 1, so every plan is priced the same way
        plan_tiers = p.attainment_tiers or ()
        lower = None
        for band, t in enumerate(plan_tiers or [None]):
            upper = t.up_to if t else None
            tiers.append({**key, "band": band, "lower": lower, "upper": upper, "multiplier": t.multiplier if t else 1})
            lower = upper
        for m in p.quality.metrics if p.quality else ():
            for band, b in enumerate(m.bands):
                bands.append({**key, "metric": m.metric, "band": band, "below": b.below, "multiplier": b.multiplier})
        lower = None
        for band, b in enumerate(p.outcome_bonus.bands if p.outcome_bonus else ()):
            bonus_bands.append({**key, "band": band, "lower": lower, "below": b.below, "amount": b.amount})
            lower = b.below
        for rule, c in enumerate(p.clawback or ()):
            clawback.append({**key, "rule": rule, "within_days": c.within_days, "recover": c.recover})
        for position, c in enumerate(p.campaigns or ()):
            campaigns.append({**key, "campaign_no": position, "campaign": c.campaign, "per_sale": c.per_sale, "rate": c.rate})

    keyschema = {"pv": pl.Int64, "plan": pl.String, "version": pl.Int64}
    return PlanTables(
        versions=versions,
        rates=_table(rates, {**keyschema, "product": pl.String, "rate": dec(s.rate)}),
        tiers=_table(
            tiers,
            {**keyschema, "band": pl.Int64, "lower": dec(s.up_to), "upper": dec(s.up_to), "multiplier": dec(s.tier_multiplier)},
        ),
        quality_bands=_table(
            bands,
            {**keyschema, "metric": pl.String, "band": pl.Int64, "below": dec(6), "multiplier": dec(max(s.quality_multiplier, 1))},
        ),
        clawback=_table(clawback, {**keyschema, "rule": pl.Int64, "within_days": pl.Int64, "recover": dec(s.recover)}),
        scales=scales,
        bonus_bands=_table(
            bonus_bands,
            {**keyschema, "band": pl.Int64, "lower": dec(6), "below": dec(6), "amount": dec(2)},
        ),
        campaigns=_table(
            campaigns,
            {**keyschema, "campaign_no": pl.Int64, "campaign": pl.String, "per_sale": dec(2), "rate": dec(MAX_PLACES)},
        ),
    )


def _table(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A plan table from its rows: the plan's Decimals passed as their exact text and cast
    (see `exact.decimal_text`)."""
    decimals = {c: t.scale for c, t in schema.items() if isinstance(t, pl.Decimal)}
    as_text = [{**r, **{c: decimal_text(r[c], scale) for c, scale in decimals.items()}} for r in rows]
    frame = pl.DataFrame(as_text, schema={**schema, **dict.fromkeys(decimals, pl.String)}, orient="row")
    return frame.with_columns(pl.col(c).cast(schema[c]) for c in decimals)


def wide_by_version(table: pl.DataFrame, index: str, columns: list[str]) -> tuple[pl.DataFrame, int]:
    """A per-version rule table (tiers by `band`, clawback rules by `rule`) as one row per
    plan version `pv`, with `{column}_{i}` for each rule i (null where a version has fewer),
    and the number of rules. Plans have a handful of rules, so steps evaluate them side by
    side on a line's own row instead of joining one row per rule."""
    n = int(table[index].max()) + 1 if table.height else 0
    wide = table.select("pv").unique().sort("pv")
    for i in range(n):
        rule = table.filter(pl.col(index) == i).select("pv", *[pl.col(c).alias(f"{c}_{i}") for c in columns])
        wide = wide.join(rule, on="pv", how="left")
    return wide, n


def month_number(day: pl.Expr) -> pl.Expr:
    """Months since year 0 (`year * 12 + month - 1`): consecutive months are consecutive integers."""
    return day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64) - 1


def attach_version(lf: pl.LazyFrame, versions: pl.DataFrame, on: str, plan: str = "plan") -> pl.LazyFrame:
    """Join the version of `plan` in force on date column `on` (greatest effective_from <= on).

    Rows whose plan has no version in force get nulls in every version column.
    """
    right = versions.lazy().rename({"plan": plan} if plan != "plan" else {}).sort("effective_from")
    # match the few distinct (plan, day) pairs, then join them back: far cheaper than an
    # as-of join over every row
    pairs = lf.select(plan, on).unique().sort(on)
    matched = pairs.join_asof(right, left_on=on, right_on="effective_from", by=plan, strategy="backward", check_sortedness=False)
    return lf.join(matched, on=[plan, on], how="left", nulls_equal=True)
