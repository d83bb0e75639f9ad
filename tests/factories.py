"""Small builders for hand-computed engine tests: plans and typed input frames."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from comp_calc.data.model import Inputs, Table
from comp_calc.plan.model import (
    Activity, Band, BonusBand, ClawbackRule, Draw, Metric, OutcomeBonus, Outbound, Plan, PlanSet, Quality, RateRule, Tier,
)  # fmt: skip

D = Decimal


def d(text: str) -> date:
    return date.fromisoformat(text)


def plan(**kw) -> Plan:
    base = dict(
        plan="p",
        version=1,
        effective_from=date(2026, 1, 1),
        currency="EUR",
        period="month",
        rounding="half_up",
        rates=(RateRule(None, D("0.1")),),
    )
    base.update(kw)
    return Plan(**base)


def rates(*rules) -> tuple[RateRule, ...]:
    """rates(("mortgage", "0.004"), (None, "0.02"))"""
    return tuple(RateRule((p,) if isinstance(p, str) else p, D(r)) for p, r in rules)


def tiers(*pairs) -> tuple[Tier, ...]:
    return tuple(Tier(None if u is None else D(u), D(m)) for u, m in pairs)


def quality(window_days=90, min_responses=1, combine="multiply", **metrics) -> Quality:
    ms = tuple(
        Metric(name, tuple(Band(None if b is None else D(b), D(m)) for b, m in bands)) for name, bands in metrics.items()
    )
    return Quality(window_days, min_responses, combine, ms)


def outbound(share="0.30", window_days=90, channels=("voice", "visit"), connected_only=True) -> Outbound:
    return Outbound(tuple(channels), connected_only, window_days, D(share))


def clawback(*rules) -> tuple[ClawbackRule, ...]:
    return tuple(ClawbackRule(w, D(r)) for w, r in rules)


def plans(*ps: Plan) -> PlanSet:
    return PlanSet(tuple(sorted(ps, key=lambda p: (p.plan, p.version))))


def _scale(values) -> int:
    return max([max(0, -D(v).as_tuple().exponent) for v in values] or [0])


def _table(name: str, rows: list[dict], schema: dict) -> Table:
    frame = pl.DataFrame(rows, schema={k: pl.String for k in schema}, orient="row") if rows else pl.DataFrame(schema={k: pl.String for k in schema})
    casts = []
    for col, kind in schema.items():
        if kind == "decimal":
            casts.append(pl.col(col).str.to_decimal(scale=_scale(frame[col].to_list())))
        elif kind == "date":
            casts.append(pl.col(col).str.to_date())
        elif kind == "int":
            casts.append(pl.col(col).cast(pl.Int64))
        elif kind == "bool":
            casts.append(pl.col(col) == "true")
    frame = frame.with_columns(casts).with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    return Table(name, frame, path=f"{name}.csv", rows_read=frame.height)


REPS = {"rep_id": "id", "name": "id", "team": "id", "plan": "id", "quota": "decimal", "start_date": "date", "end_date": "date"}
SALES = {"sale_id": "id", "rep_id": "id", "customer_id": "id", "product": "id", "amount": "decimal", "sold_on": "date", "cancelled_on": "date"}
FEEDBACK = {"response_id": "id", "rep_id": "id", "customer_id": "id", "responded_on": "date", "survey": "id", "score": "int"}
CONTACTS = {"contact_id": "id", "rep_id": "id", "customer_id": "id", "contacted_on": "date", "channel": "id", "connected": "bool"}


def rep(rep_id, quota="1000", start="2020-01-01", end=None, plan="p", team="t"):
    return {"rep_id": rep_id, "name": f"Rep {rep_id}", "team": team, "plan": plan, "quota": quota, "start_date": start, "end_date": end}


def sale(sale_id, rep_id, amount, sold_on, product="x", customer="c1", cancelled_on=None):
    return {"sale_id": sale_id, "rep_id": rep_id, "customer_id": customer, "product": product, "amount": amount, "sold_on": sold_on, "cancelled_on": cancelled_on}


def response(response_id, rep_id, survey, score, responded_on, customer="c1"):
    return {"response_id": response_id, "rep_id": rep_id, "customer_id": customer, "responded_on": responded_on, "survey": survey, "score": str(score)}


def contact(contact_id, rep_id, customer, contacted_on, channel="voice", connected=True):
    return {"contact_id": contact_id, "rep_id": rep_id, "customer_id": customer, "contacted_on": contacted_on, "channel": channel, "connected": "true" if connected else "false"}


def inputs(reps, sales, feedback=(), contacts=()) -> Inputs:
    return Inputs(
        reps=_table("reps", list(reps), REPS),
        sales=_table("sales", list(sales), SALES),
        feedback=_table("feedback", list(feedback), FEEDBACK),
        contacts=_table("contacts", list(contacts), CONTACTS),
    )


def outcome_bonus(metric="nps", window_days=90, min_responses=1, *bands) -> OutcomeBonus:
    """outcome_bonus("nps", 90, 1, ("30", "0"), ("60", "250.00"), (None, "500.00"))"""
    return OutcomeBonus(metric, window_days, min_responses, tuple(BonusBand(None if b is None else D(b), D(a)) for b, a in bands))


def draw(amount="1500.00", recoverable=True) -> Draw:
    """draw("1500.00", recoverable=False)"""
    return Draw(D(amount), recoverable)


def activity(target=1, bonus="100.00", channels=("voice",), connected_only=True, distinct_customers=False, min_customer_value=None) -> Activity:
    """activity(12, "300.00", ("voice",), min_customer_value="1000")"""
    value = None if min_customer_value is None else D(min_customer_value)
    return Activity(tuple(channels), connected_only, target, D(bonus), distinct_customers, value)
