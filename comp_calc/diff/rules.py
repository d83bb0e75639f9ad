"""What changed between two plan versions: the rule changes, as plain data.

The rule diff compares parsed `Plan` objects, never file text, so a plan that
is only reformatted or re-commented (or writes `0.50` for `0.5`) has no change.
Rates are compared per product by the rate that product actually gets (the
first rule naming it, else the catch-all), so regrouping products without
changing any rate is no change either. Tiers, bands and clawback rules are
compared position by position; whole sections that appear or disappear are
reported as added or removed.

Each change has a category, as in a model diff:
    direct    it can change a payout (every rule, `effective_from`, `currency`, the plan id)
    metadata  it cannot change any amount (the version number)

    diff_plans(old, new) -> PlanDiff

The payout impact is `comp_calc.diff.impact`; rendering lives in `comp_calc.commands.diff`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from comp_calc.outputs.numbers import as_written, money, percent
from comp_calc.plan.model import (
    Activity, Band, BonusBand, ClawbackRule, Holdback, OutcomeBonus, Outbound, Plan, Quality, RateRule, Tier, rate_of,
)  # fmt: skip

__all__ = ["DIRECT", "METADATA", "PlanDiff", "RuleChange", "diff_plans"]

DIRECT = "direct"
METADATA = "metadata"


@dataclass(frozen=True)
class RuleChange:
    path: str  # where in the plan: "rates[credit_card]", "attainment_tiers[1].up_to", ...
    label: str  # the same in words: "rate for credit_card", "tier 2 upper edge (fraction of quota)"
    old: str | None  # None: added
    new: str | None  # None: removed
    category: str = DIRECT

    @property
    def change(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    @property
    def sentence(self) -> str:
        if self.old is None:
            return f"added {self.label}: {self.new}"
        if self.new is None:
            return f"removed {self.label}: {self.old}"
        return f"{self.label}: {self.old} -> {self.new}"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "change": self.change,
            "old": self.old,
            "new": self.new,
            "category": self.category,
            "description": self.sentence,
        }


@dataclass(frozen=True)
class PlanDiff:
    old_plan: str
    old_version: int
    old_source: str
    new_plan: str
    new_version: int
    new_source: str
    changes: tuple[RuleChange, ...] = field(default_factory=tuple)

    @property
    def direct(self) -> tuple[RuleChange, ...]:
        return tuple(c for c in self.changes if c.category == DIRECT)

    @property
    def metadata(self) -> tuple[RuleChange, ...]:
        return tuple(c for c in self.changes if c.category == METADATA)

    @property
    def has_rule_changes(self) -> bool:
        return bool(self.direct)


# --------------------------------------------------------------------------
# value text


def _edge(value: Decimal | int | None) -> str:
    """A tier or band edge; None is the open-ended last one."""
    return "open (last)" if value is None else as_written(value)


def _tier(t: Tier) -> str:
    return f"x{as_written(t.multiplier)} up to {as_written(t.up_to)} of quota" if t.up_to is not None else f"x{as_written(t.multiplier)} above"


def _band(b: Band) -> str:
    return f"x{as_written(b.multiplier)} below {as_written(b.below)}" if b.below is not None else f"x{as_written(b.multiplier)} otherwise"


def _claw(c: ClawbackRule) -> str:
    return f"recover {as_written(c.recover)} within {c.within_days} days"


def _list(items, fmt) -> str:
    return "; ".join(fmt(i) for i in items)


def _quality(q: Quality) -> str:
    metrics = ", ".join(f"{m.metric} [{_list(m.bands, _band)}]" for m in q.metrics)
    return f"{q.window_days}-day window, at least {q.min_responses} responses, combine {q.combine}: {metrics}"


def _bonus_band(b: BonusBand) -> str:
    return f"{as_written(b.amount)} below {as_written(b.below)}" if b.below is not None else f"{as_written(b.amount)} otherwise"


def _outcome_bonus(o: OutcomeBonus) -> str:
    """`nps over 90 days, at least 10 responses: 250.00 from 30, 500.00 from 60` (bands paying 0 left out)."""
    paying, lower = [], None
    for b in o.bands:
        if b.amount != 0:
            edge = f"from {as_written(lower)}" if lower is not None else f"below {as_written(b.below)}" if b.below is not None else "for any value"
            paying.append(f"{as_written(b.amount)} {edge}")
        lower = b.below
    return f"{o.metric} over {o.window_days} days, at least {o.min_responses} responses: {', '.join(paying) or 'nothing'}"


def _draw_owed(recoverable: bool) -> str:
    return "recoverable: top-ups owed back from later pay" if recoverable else "a guarantee: top-ups never owed back"


def _draw(period: str):
    """`1500.00 a month (recoverable: top-ups owed back from later pay)`."""
    return lambda d: f"{as_written(d.amount)} a {period} ({_draw_owed(d.recoverable)})"


def _holdback(h: Holdback) -> str:
    """`25% of each commission held back, released after 180 days`."""
    return f"{percent(h.share)} of each commission held back, released after {h.release_after_days} days"


def _outbound(o: Outbound) -> str:
    connected = "connected only" if o.connected_only else "connected or not"
    return f"share {as_written(o.share)} for {', '.join(sorted(o.channels))} ({connected}) within {o.window_days} days"


def _activity(a: Activity) -> str:
    """`12 connected voice contacts pays 300.00`, with `, each customer once` and
    `, only contacts with customers worth at least 1000.00` when they apply."""
    connected = "connected " if a.connected_only else ""
    text = f"{a.target} {connected}{' or '.join(sorted(a.channels))} contacts pays {money(a.bonus)}"
    if a.distinct_customers:
        text += ", each customer once"
    if a.min_customer_value is not None:
        text += f", only contacts with customers worth at least {money(a.min_customer_value)}"
    return text


# --------------------------------------------------------------------------
# the rule diff


class _Collector:
    def __init__(self) -> None:
        self.changes: list[RuleChange] = []

    def compare(self, path: str, label: str, old, new, text=as_written, category: str = DIRECT) -> None:
        if old != new:
            self.changes.append(RuleChange(path, label, text(old), text(new), category))

    def section(self, path: str, label: str, old, new, text) -> bool:
        """Report a section that appears or disappears; True when both sides have it."""
        if old is None and new is None:
            return False
        if old is None or new is None:
            self.changes.append(RuleChange(path, label, None if old is None else text(old), None if new is None else text(new)))
            return False
        return True

    def positional(self, path: str, noun: str, old: tuple, new: tuple, fields: list[tuple[str, str]], whole) -> None:
        for i in range(max(len(old), len(new))):
            here = f"{path}[{i}]"
            if i >= len(old):
                self.changes.append(RuleChange(here, f"{noun} {i + 1}", None, whole(new[i])))
            elif i >= len(new):
                self.changes.append(RuleChange(here, f"{noun} {i + 1}", whole(old[i]), None))
            else:
                for attr, words in fields:
                    self.compare(f"{here}.{attr}", f"{noun} {i + 1} {words}", getattr(old[i], attr), getattr(new[i], attr), _edge)


def effective_rates(rates: tuple[RateRule, ...], products: list[str]) -> dict[str, Decimal | None]:
    """The rate each product gets: the first rule naming it, else the catch-all."""
    return {product: rate_of(rates, product) for product in products}


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Every difference in meaning between two plan versions, in plan-file order."""
    c = _Collector()
    c.compare("plan", "plan id", old.plan, new.plan, str)
    c.compare("version", "version", old.version, new.version, str, METADATA)
    c.compare("effective_from", "effective from", old.effective_from, new.effective_from, str)
    c.compare("currency", "currency", old.currency, new.currency, str)
    c.compare("period", "pay period", old.period, new.period, str)
    c.compare("rounding", "rounding of line amounts", old.rounding, new.rounding, str)

    products: list[str] = []
    for rule in (*old.rates, *new.rates):
        for p in rule.products or ():
            if p not in products:
                products.append(p)
    old_rates, new_rates = effective_rates(old.rates, products), effective_rates(new.rates, products)
    for p in products:
        c.compare(f"rates[{p}]", f"rate for {p}", old_rates[p], new_rates[p])
    c.compare("rates[*]", "rate for other products", effective_rates(old.rates, [""])[""], effective_rates(new.rates, [""])[""])

    if c.section("attainment_tiers", "attainment tiers", old.attainment_tiers, new.attainment_tiers, lambda ts: _list(ts, _tier)):
        c.positional(
            "attainment_tiers", "tier", old.attainment_tiers, new.attainment_tiers,
            [("up_to", "upper edge (fraction of quota)"), ("multiplier", "multiplier")], _tier,
        )  # fmt: skip
    c.compare("tier_mode", "tier mode", old.tier_mode, new.tier_mode, str)

    if c.section("quality", "quality multiplier", old.quality, new.quality, _quality):
        oq, nq = old.quality, new.quality
        c.compare("quality.window_days", "quality window (days)", oq.window_days, nq.window_days)
        c.compare("quality.min_responses", "quality minimum responses", oq.min_responses, nq.min_responses)
        c.compare("quality.combine", "quality combine", oq.combine, nq.combine, str)
        old_metrics = {m.metric: m for m in oq.metrics}
        new_metrics = {m.metric: m for m in nq.metrics}
        for name in [*old_metrics, *(m for m in new_metrics if m not in old_metrics)]:
            om, nm = old_metrics.get(name), new_metrics.get(name)
            path = f"quality.metrics[{name}]"
            if c.section(path, f"{name} metric", om, nm, lambda m: _list(m.bands, _band)):
                c.positional(
                    f"{path}.bands", f"{name} band", om.bands, nm.bands,
                    [("below", "edge (below)"), ("multiplier", "multiplier")], _band,
                )  # fmt: skip

    if c.section("outcome_bonus", "outcome bonus", old.outcome_bonus, new.outcome_bonus, _outcome_bonus):
        ob, nb = old.outcome_bonus, new.outcome_bonus
        c.compare("outcome_bonus.metric", "outcome bonus metric", ob.metric, nb.metric, str)
        c.compare("outcome_bonus.window_days", "outcome bonus window (days)", ob.window_days, nb.window_days)
        c.compare("outcome_bonus.min_responses", "outcome bonus minimum responses", ob.min_responses, nb.min_responses)
        c.positional(
            "outcome_bonus.bands", "outcome bonus band", ob.bands, nb.bands,
            [("below", "edge (below)"), ("amount", "amount")], _bonus_band,
        )  # fmt: skip

    if c.section("outbound_credit", "relationship credit", old.outbound_credit, new.outbound_credit, _outbound):
        oo, no = old.outbound_credit, new.outbound_credit
        channels = lambda cs: ", ".join(sorted(cs))  # noqa: E731
        c.compare("outbound_credit.channels", "relationship credit channels", frozenset(oo.channels), frozenset(no.channels), channels)
        c.compare("outbound_credit.connected_only", "relationship credit connected only", oo.connected_only, no.connected_only, lambda b: str(b).lower())
        c.compare("outbound_credit.window_days", "relationship credit window (days)", oo.window_days, no.window_days)
        c.compare("outbound_credit.share", "relationship credit share", oo.share, no.share)

    if c.section("activity", "activity quota", old.activity, new.activity, _activity):
        oa, na = old.activity, new.activity
        channels = lambda cs: " or ".join(sorted(cs))  # noqa: E731
        yes_no = lambda b: str(b).lower()  # noqa: E731
        c.compare("activity.channels", "activity quota channels", frozenset(oa.channels), frozenset(na.channels), channels)
        c.compare("activity.connected_only", "activity quota counts connected contacts only", oa.connected_only, na.connected_only, yes_no)
        c.compare("activity.target", "activity quota target (contacts)", oa.target, na.target)
        c.compare("activity.bonus", "activity bonus", oa.bonus, na.bonus, money)
        c.compare("activity.distinct_customers", "activity quota counts each customer once", oa.distinct_customers, na.distinct_customers, yes_no)
        if c.section("activity.min_customer_value", "activity minimum customer value", oa.min_customer_value, na.min_customer_value, money):
            c.compare("activity.min_customer_value", "activity minimum customer value", oa.min_customer_value, na.min_customer_value, money)

    if c.section("clawback", "clawback rules", old.clawback, new.clawback, lambda rs: _list(rs, _claw)):
        c.positional(
            "clawback", "clawback rule", old.clawback, new.clawback,
            [("within_days", "window (days)"), ("recover", "recovered share")], _claw,
        )  # fmt: skip

    if c.section("draw", "draw (minimum pay)", old.draw, new.draw, _draw(new.period)):
        c.compare("draw.amount", f"draw a {new.period}", old.draw.amount, new.draw.amount)
        c.compare("draw.recoverable", "draw", old.draw.recoverable, new.draw.recoverable, _draw_owed)
    if c.section("holdback", "holdback", old.holdback, new.holdback, _holdback):
        oh, nh = old.holdback, new.holdback
        c.compare("holdback.share", "holdback share", oh.share, nh.share, percent)
        c.compare("holdback.release_after_days", "holdback released after (days)", oh.release_after_days, nh.release_after_days)

    c.compare("cap", "cap", old.cap, new.cap)
    c.compare("negative_balance", "negative balance", old.negative_balance, new.negative_balance, str)
    return PlanDiff(old.plan, old.version, old.source, new.plan, new.version, new.source, tuple(c.changes))
