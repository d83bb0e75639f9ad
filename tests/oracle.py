"""An independent, literal reading of SPEC section 3 in plain Python (Fractions, row by row),
with the retroactive tiers, the CES metric, the outcome bonus and the holdback of section 6.

Slow and simple on purpose: it shares no code with the engine except the
period calendar and the Plan dataclasses, so the property tests that compare
the two catch a misreading in either.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from comp_calc.periods import Period, period_containing, periods_between
from comp_calc.plan.model import PlanSet


def _round(value: Fraction, mode: str) -> Decimal:
    # exact: Decimal of a Fraction via integer division at high precision is not exact, so do it by hand
    cents = value * 100
    floor = cents.numerator // cents.denominator
    rest = cents - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (mode == "half_up" or floor % 2 == 1)):
        floor += 1
    if mode == "half_up" and value < 0:
        raise AssertionError("only non-negative values are rounded here")
    return Decimal(floor).scaleb(-2).quantize(Decimal("0.01"))


def _active(rep, day: date) -> bool:
    return rep["start_date"] <= day and (rep["end_date"] is None or day <= rep["end_date"])


def _metric_value(metric: str, scores: list[int]) -> Fraction:
    n = len(scores)
    if metric == "csat":
        return Fraction(sum(1 for x in scores if x >= 4), n)
    if metric == "ces":
        return Fraction(sum(scores), n)  # the mean ces score
    return Fraction(100 * (sum(1 for x in scores if x >= 9) - sum(1 for x in scores if x <= 6)), n)


def compute(plans: PlanSet, reps: list[dict], sales: list[dict], feedback: list[dict], contacts: list[dict], period: Period):
    """Return {(rep_id, period_label): dict(earned, cap, clawbacks, carry_in, payout, carry_out, credited, outcome_bonus,
    holdback, released, draw, draw_balance, activity_bonus, activity_line: whether an activity_bonus line is
    written, even of 0.00)}."""
    kind = period.kind
    first = period_containing(min(p.effective_from for p in plans.plans if p.period == kind), kind)
    periods = periods_between(first, period)
    end = period.end
    rep_by_id = {r["rep_id"]: r for r in reps}
    run_reps = [r for r in reps if plans.kind(r["plan"]) == kind]
    sales = [s for s in sales if s["sold_on"] <= end]
    contacts = [c for c in contacts if c["contacted_on"] <= end]

    def version(rep_id, day):
        rep = rep_by_id[rep_id]
        k = plans.kind(rep["plan"])
        return plans.in_force(rep["plan"], period_containing(day, k).start)

    # 1. credit
    lines = []  # (rep_id, role, sale, credited)
    for s in sales:
        v = version(s["rep_id"], s["sold_on"])
        ob = v.outbound_credit
        best = None
        if ob:
            for c in contacts:
                gap = (s["sold_on"] - c["contacted_on"]).days
                if (
                    c["customer_id"] == s["customer_id"]
                    and c["channel"] in ob.channels
                    and (c["connected"] or not ob.connected_only)
                    and 0 <= gap <= ob.window_days
                    and _active(rep_by_id[c["rep_id"]], s["sold_on"])
                ):
                    if best is None or (c["contacted_on"], c["contact_id"]) > (best["contacted_on"], best["contact_id"]):
                        best = c
        amount = Fraction(s["amount"])
        if best is not None and best["rep_id"] != s["rep_id"]:
            share = Fraction(ob.share)
            lines.append((best["rep_id"], "relationship", s, amount * share))
            lines.append((s["rep_id"], "seller", s, amount * (1 - share)))
        else:
            lines.append((s["rep_id"], "seller", s, amount))

    results = {}
    commission_of = {}  # (sale_id, role) -> (amount, plan version)
    # 6b. holdback: (rep_id, period label) -> the sum of its holdback lines, of its release lines, and their count
    held_back, released, held_lines = defaultdict(Decimal), defaultdict(Decimal), defaultdict(int)

    def held_part(amount, v, s):
        """(H, release day) of a commission line, or (0, None) without a holdback."""
        if v.holdback is None:
            return Decimal("0.00"), None
        return _round(Fraction(v.holdback.share) * Fraction(amount), v.rounding), s["sold_on"] + timedelta(days=v.holdback.release_after_days)

    def cancelled(s):  # as the run sees it: a cancellation after the requested period is not known yet
        return s["cancelled_on"] if s["cancelled_on"] is not None and s["cancelled_on"] <= end else None
    carry = defaultdict(lambda: Decimal("0.00"))
    owed_draw = defaultdict(lambda: Decimal("0.00"))  # the draw balance each rep still owes
    for p in periods:
        for rep in run_reps:
            rid = rep["rep_id"]
            v = plans.in_force(rep["plan"], p.start)
            start = max(rep["start_date"], p.start)
            stop = min(rep["end_date"] or p.end, p.end)
            active_days = max(0, (stop - start).days + 1)
            mine = sorted(
                [ln for ln in lines if ln[0] == rid and p.start <= ln[2]["sold_on"] <= p.end],
                key=lambda ln: (ln[2]["sold_on"], ln[2]["sale_id"], ln[1]),
            )
            # 4. quality
            qm = Fraction(1)
            if v is not None and v.quality:
                q = v.quality
                lo = p.end - timedelta(days=q.window_days - 1)
                resp = [f for f in feedback if f["rep_id"] == rid and lo <= f["responded_on"] <= p.end]
                mults = []
                for m in q.metrics:
                    scores = [f["score"] for f in resp if f["survey"] == m.metric]
                    n = len(scores)
                    if n < q.min_responses:
                        mults.append(Fraction(1))
                        continue
                    value = _metric_value(m.metric, scores)
                    mult = next((b.multiplier for b in m.bands if b.below is not None and value < Fraction(b.below)), m.bands[-1].multiplier)
                    mults.append(Fraction(mult))
                if q.combine == "min":
                    qm = min(mults)
                else:
                    qm = Fraction(1)
                    for x in mults:
                        qm *= x
            # 2-3. attainment and rate
            earned = Decimal("0.00")
            credited_total = Fraction(0)
            if mine:
                prorated = Fraction(rep["quota"]) * active_days / p.days
                retro_multiplier = None  # tier_mode retroactive: the band holding the final attainment
                if v.attainment_tiers and v.tier_mode == "retroactive":
                    total = sum((ln[3] for ln in mine), Fraction(0))
                    held = [t for t in v.attainment_tiers if t.up_to is None or total < Fraction(t.up_to) * prorated]
                    retro_multiplier = Fraction(held[0].multiplier)
                running = Fraction(0)
                for rid_, role, s, credited in mine:
                    rate = next(r.rate for r in v.rates if r.products is None or s["product"] in r.products)
                    lo_run, hi_run = running, running + credited
                    running = hi_run
                    credited_total += credited
                    base = Fraction(0)
                    if retro_multiplier is not None:
                        base = credited * Fraction(rate) * retro_multiplier
                    elif v.attainment_tiers:
                        lower = Fraction(0)
                        for t in v.attainment_tiers:
                            upper = None if t.up_to is None else Fraction(t.up_to) * prorated
                            top = hi_run if upper is None else min(hi_run, upper)
                            piece = top - max(lo_run, lower)
                            if piece > 0:
                                base += piece * Fraction(rate) * Fraction(t.multiplier)
                            lower = upper if upper is not None else lower
                    else:
                        base = credited * Fraction(rate)
                    amount = _round(base * qm, v.rounding)
                    commission_of[(s["sale_id"], role)] = (amount, v)
                    earned += amount
                    h, release_day = held_part(amount, v, s)
                    if h != 0:
                        held_back[(rid, p.label)] -= h
                        held_lines[(rid, p.label)] += 1
                        gone = cancelled(s)
                        later = period_containing(release_day, kind)
                        if not (gone is not None and gone <= release_day) and later.start <= period.start:
                            released[(rid, later.label)] += h
                            held_lines[(rid, later.label)] += 1
            cap_line = Decimal("0.00")
            if v is not None and v.cap is not None and earned > v.cap:
                cap_line = v.cap - earned
            # 6. clawback
            claws, claw_lines = Decimal("0.00"), 0
            for rid_, role, s, credited in lines:
                if rid_ != rid or s["cancelled_on"] is None or not (p.start <= s["cancelled_on"] <= min(p.end, end)):
                    continue
                amount, earned_under = commission_of[(s["sale_id"], role)]
                days = (s["cancelled_on"] - s["sold_on"]).days
                rule = next((c for c in (earned_under.clawback or ()) if days <= c.within_days), None)
                h, release_day = held_part(amount, earned_under, s)
                base = amount - h if release_day is not None and s["cancelled_on"] <= release_day else amount
                if rule is not None:
                    claw_lines += 1
                    claws -= _round(Fraction(rule.recover) * Fraction(base), earned_under.rounding)
            # 4b. outcome bonus: active, enough responses of the metric's survey in the window
            bonus = Decimal("0.00")
            if v is not None and v.outcome_bonus and active_days > 0:
                ob = v.outcome_bonus
                lo = p.end - timedelta(days=ob.window_days - 1)
                scores = [f["score"] for f in feedback if f["rep_id"] == rid and lo <= f["responded_on"] <= p.end and f["survey"] == ob.metric]
                if len(scores) >= ob.min_responses:
                    value = _metric_value(ob.metric, scores)
                    bonus = next((b.amount for b in ob.bands if b.below is not None and value < Fraction(b.below)), ob.bands[-1].amount)
            # 4c. activity bonus: active, the rep's qualifying contacts of the period reach the target
            activity_bonus, activity_line = Decimal("0.00"), False
            if v is not None and v.activity and active_days > 0:
                a = v.activity
                counted = []
                for c in contacts:
                    day = c["contacted_on"]
                    if c["rep_id"] != rid or not (p.start <= day <= p.end) or not _active(rep, day):
                        continue
                    if c["channel"] not in a.channels or (a.connected_only and not c["connected"]):
                        continue
                    if a.min_customer_value is not None:
                        value = sum(
                            (
                                Fraction(s["amount"])
                                for s in sales
                                if s["customer_id"] == c["customer_id"]
                                and day - timedelta(days=365) <= s["sold_on"] <= day - timedelta(days=1)
                                and not (s["cancelled_on"] is not None and s["cancelled_on"] <= day)
                            ),
                            Fraction(0),
                        )
                        if value < Fraction(a.min_customer_value):
                            continue
                    counted.append(c)
                count = len({c["customer_id"] for c in counted}) if a.distinct_customers else len(counted)
                if count >= a.target:
                    activity_bonus, activity_line = a.bonus, True
            # 7. balance
            carry_in = carry[rid]
            holdback, release = held_back[(rid, p.label)], released[(rid, p.label)]
            net = earned + cap_line + bonus + activity_bonus + claws + holdback + release + carry_in
            if v is not None and v.negative_balance == "pay":
                payout, carry_out = net, Decimal("0.00")
            else:
                payout, carry_out = max(net, Decimal("0.00")), min(net, Decimal("0.00"))
            carry[rid] = carry_out
            # 8. draw: top up an active rep's payout to the prorated draw, or recover what is owed
            due = Decimal("0.00")
            if v is not None and v.draw and active_days > 0:
                due = _round(Fraction(v.draw.amount) * active_days / p.days, v.rounding)
            draw_line, owed = Decimal("0.00"), owed_draw[rid]
            if v is not None and v.draw and active_days > 0 and payout < due:
                draw_line = due - payout
                if v.draw.recoverable:
                    owed_draw[rid] = owed + draw_line
            elif owed > 0 and payout - due > 0:
                draw_line = -min(owed, payout - due)
                owed_draw[rid] = owed + draw_line
            payout += draw_line
            has_lines = bool(mine) or claw_lines > 0 or carry_in != 0 or held_lines[(rid, p.label)] > 0
            if active_days > 0 or has_lines:
                results[(rid, p.label)] = dict(
                    earned=earned, cap=cap_line, clawbacks=claws, carry_in=carry_in, payout=payout, carry_out=carry_out,
                    credited=credited_total, outcome_bonus=bonus, holdback=holdback, released=release,
                    draw=draw_line, draw_balance=owed_draw[rid], activity_bonus=activity_bonus, activity_line=activity_line,
                )  # fmt: skip
    return results
