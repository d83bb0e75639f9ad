"""An independent, literal reading of SPEC section 3 in plain Python (Fractions, row by row),
with the retroactive tiers, the CES metric, the campaign spifs, the outcome bonus, the activity quota, the
manager overrides, the holdback, the draw and the currencies of section 6.

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


def _round_signed(value: Fraction, mode: str) -> Decimal:
    # both modes are symmetric about zero: round the size, keep the sign
    return -_round(-value, mode) if value < 0 else _round(value, mode)


def _levels_below(rep_by_id: dict, manager: str, report: str) -> int | None:
    """How many manager_id links lead up from `report` to `manager` (None: not above it)."""
    steps, at = 0, rep_by_id[report]
    while at.get("manager_id"):
        steps += 1
        if at["manager_id"] == manager:
            return steps
        at = rep_by_id[at["manager_id"]]
    return None


def _active(rep, day: date) -> bool:
    return rep["start_date"] <= day and (rep["end_date"] is None or day <= rep["end_date"])


def _metric_value(metric: str, scores: list[int]) -> Fraction:
    n = len(scores)
    if metric == "csat":
        return Fraction(sum(1 for x in scores if x >= 4), n)
    if metric == "ces":
        return Fraction(sum(scores), n)  # the mean ces score
    return Fraction(100 * (sum(1 for x in scores if x >= 9) - sum(1 for x in scores if x <= 6)), n)


class MissingRate(Exception):
    """A rate the run needs that fx_rates lacks: (sale_id, from, to, month as YYYY-MM)."""


def compute(
    plans: PlanSet, reps: list[dict], sales: list[dict], feedback: list[dict], contacts: list[dict], period: Period,
    campaigns: list[dict] = (), fx_rates: list[dict] = (),
):  # fmt: skip
    """Return {(rep_id, period_label): dict(earned, cap, clawbacks, carry_in, payout, carry_out, credited, outcome_bonus,
    spifs, holdback, released, draw, draw_balance, activity_bonus, activity_line: whether an activity_bonus line is
    written, even of 0.00, overrides, override_lines: [(report rep_id, amount)] in report order)}. `campaigns` are
    campaigns.csv rows (campaign_id, product, starts_on, ends_on). Amounts are in each rep's plan currency: a sale's
    `currency` (None: the seller's plan's) is converted with `fx_rates` rows (currency, to, month 'YYYY-MM', rate) of
    its sold_on month; a needed rate that is not there raises MissingRate with every one missing."""
    calendar = {c["campaign_id"]: c for c in campaigns}
    kind = period.kind
    first = period_containing(min(p.effective_from for p in plans.plans if p.period == kind), kind)
    periods = periods_between(first, period)
    end = period.end
    rep_by_id = {r["rep_id"]: r for r in reps}
    run_reps = [r for r in reps if plans.kind(r["plan"]) == kind]
    sales = [s for s in sales if s["sold_on"] <= end]
    contacts = [c for c in contacts if c["contacted_on"] <= end]

    rates = {(r["currency"], r["to"], str(r["month"])[:7]): Fraction(r["rate"]) for r in fx_rates}
    plan_currency = {p.plan: p.currency for p in plans.plans}
    missing = set()

    def fx(s, rep_id) -> Fraction:
        """The factor from the sale's currency to `rep_id`'s plan currency, at the sale month's rate."""
        frm = s.get("currency") or plan_currency[rep_by_id[s["rep_id"]]["plan"]]
        to = plan_currency[rep_by_id[rep_id]["plan"]]
        if frm == to:
            return Fraction(1)
        key = (frm, to, s["sold_on"].isoformat()[:7])
        if key not in rates:
            missing.add((s["sale_id"], *key))
            return Fraction(0)
        return rates[key]

    def version(rep_id, day):
        rep = rep_by_id[rep_id]
        k = plans.kind(rep["plan"])
        return plans.in_force(rep["plan"], period_containing(day, k).start)

    # 1. credit
    lines = []  # (rep_id, role, sale, credited, part: the line's share of the sale)
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
            lines.append((best["rep_id"], "relationship", s, amount * share * fx(s, best["rep_id"]), share))
            lines.append((s["rep_id"], "seller", s, amount * (1 - share) * fx(s, s["rep_id"]), 1 - share))
        else:
            lines.append((s["rep_id"], "seller", s, amount * fx(s, s["rep_id"]), Fraction(1)))

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

    spifs_of = defaultdict(list)  # (sale_id, role) -> the amounts of its spif lines
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
            spifs = Decimal("0.00")
            credited_total = Fraction(0)
            if mine:
                prorated = Fraction(rep["quota"]) * active_days / p.days
                retro_multiplier = None  # tier_mode retroactive: the band holding the final attainment
                if v.attainment_tiers and v.tier_mode == "retroactive":
                    total = sum((ln[3] for ln in mine), Fraction(0))
                    held = [t for t in v.attainment_tiers if t.up_to is None or total < Fraction(t.up_to) * prorated]
                    retro_multiplier = Fraction(held[0].multiplier)
                running = Fraction(0)
                for rid_, role, s, credited, _ in mine:
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
                    # 3b. spifs: a seller line, each campaign of the version (list order) whose product and days hold the sale
                    for entry in (v.campaigns or ()) if role == "seller" else ():
                        c = calendar[entry.campaign]
                        if c["product"] == s["product"] and c["starts_on"] <= s["sold_on"] <= c["ends_on"]:
                            spif = entry.per_sale if entry.per_sale is not None else _round(Fraction(entry.rate) * credited, v.rounding)
                            spifs_of[(s["sale_id"], role)].append(spif)
                            spifs += spif
            cap_line = Decimal("0.00")
            if v is not None and v.cap is not None and earned > v.cap:
                cap_line = v.cap - earned
            # 6. clawback
            claws, claw_lines = Decimal("0.00"), 0
            for rid_, role, s, credited, _ in lines:
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
                    for spif in spifs_of[(s["sale_id"], role)]:  # the same rule, the spif line's amount as base
                        claw_lines += 1
                        claws -= _round(Fraction(rule.recover) * Fraction(spif), earned_under.rounding)
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
                                Fraction(s["amount"]) * fx(s, rid)
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
            # 4d. overrides: each report within `levels` links below, its net credit of the period
            overrides, override_lines = Decimal("0.00"), []
            if v is not None and v.override and active_days > 0:
                for r in sorted(reps, key=lambda r: r["rep_id"]):
                    depth = _levels_below(rep_by_id, rid, r["rep_id"])
                    if depth is None or depth > v.override.levels:
                        continue
                    report_net = Fraction(0)
                    for owner, role, s, credited, part in lines:
                        if owner != r["rep_id"]:
                            continue
                        # in the manager's currency: amount * part * fx(sale currency -> rid's, sold_on month),
                        # never the report's own credit (in the report's currency) times a second rate
                        gone = cancelled(s)
                        sold_in = p.start <= s["sold_on"] <= p.end
                        gone_in = gone is not None and p.start <= gone <= p.end
                        if not (sold_in or gone_in):
                            continue
                        in_mine = Fraction(s["amount"]) * part * fx(s, rid)
                        if sold_in:
                            report_net += in_mine
                        if gone_in:
                            report_net -= in_mine
                    if report_net != 0:
                        amount = _round_signed(Fraction(v.override.rate) * report_net, v.rounding)
                        override_lines.append((r["rep_id"], amount))
                        overrides += amount
            # 7. balance
            carry_in = carry[rid]
            holdback, release = held_back[(rid, p.label)], released[(rid, p.label)]
            net = earned + cap_line + spifs + bonus + activity_bonus + overrides + claws + holdback + release + carry_in
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
                    spifs=spifs, overrides=overrides, override_lines=override_lines,
                )  # fmt: skip
    if missing:
        raise MissingRate(sorted(missing))
    return results


def restate(plans: PlanSet, reps, sales, feedback, contacts, period: Period, recorded: dict, closed: list[str], campaigns=()):
    """Step 9 read literally on top of `compute`: `recorded` {(rep_id, closed period label): paid payout}
    of the closed periods `closed` (labels before `period`). Returns `compute`'s result with, on each
    of `period`'s rows, `restatement`, `restatement_open` and the payout after them; a rep with a
    nonzero due and no row gets one (other columns 0)."""
    results = compute(plans, reps, sales, feedback, contacts, period, campaigns)
    zero = Decimal("0.00")
    for rep in reps:
        if plans.kind(rep["plan"]) != period.kind:
            continue
        rid = rep["rep_id"]
        due = sum(
            ((results[(rid, q)]["payout"] if (rid, q) in results else zero) - recorded.get((rid, q), zero) for q in closed), zero
        )
        row = results.get((rid, period.label))
        if row is None and due == 0:
            continue
        if row is None:
            row = results[(rid, period.label)] = dict(payout=zero)
        v = plans.in_force(rep["plan"], period.start)
        line = due
        if (v is None or v.negative_balance == "carry_forward") and due < -row["payout"]:
            line = -row["payout"]  # takes the payout so far to 0 at most
        row["restatement"], row["restatement_open"] = line, due - line
        row["payout"] = row["payout"] + line
    return results
