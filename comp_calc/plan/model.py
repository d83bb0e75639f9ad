"""The parsed, validated plan: plain frozen data, numbers as exact Decimals.

Everything here has already passed validation (see `comp_calc.plan.load`);
the engine trusts these objects. Defaults of SPEC section 3 ("Optional keys
and defaults") are applied by the loader, so no field here is "unset" except
the optional sections themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class RateRule:
    products: tuple[str, ...] | None  # None: the catch-all rule (always last)
    rate: Decimal
    line: int | None = field(default=None, compare=False)  # of the rule in its plan file, for warnings


def rate_by_product(rules: tuple[RateRule, ...]) -> dict[str | None, Decimal]:
    """The rate of each product a rule names, and under the key None the catch-all's: the first
    rule naming a product wins (later mentions are dead). In the order products are first named."""
    rates: dict[str | None, Decimal] = {}
    for rule in rules:
        for product in rule.products or (None,):
            rates.setdefault(product, rule.rate)
    return rates


def rate_of(rules: tuple[RateRule, ...], product: str) -> Decimal | None:
    """The rate `product` gets: its first rule, else the catch-all (None when there is none)."""
    rates = rate_by_product(rules)
    return rates.get(product, rates.get(None))


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # None: the open-ended last tier
    multiplier: Decimal


@dataclass(frozen=True)
class Band:
    below: Decimal | None  # None: the open-ended last band
    multiplier: Decimal


@dataclass(frozen=True)
class Metric:
    metric: str  # "csat" | "nps" | "ces"
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Quality:
    window_days: int
    min_responses: int
    combine: str  # "multiply" | "min"
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class BonusBand:
    below: Decimal | None  # None: the open-ended last band
    amount: Decimal  # plan currency, at most 2 decimals


@dataclass(frozen=True)
class OutcomeBonus:
    """A fixed amount per period for a customer outcome (SPEC 6.2 `outcome_bonus`)."""

    metric: str  # "csat" | "nps" | "ces"
    window_days: int
    min_responses: int
    bands: tuple[BonusBand, ...]


@dataclass(frozen=True)
class Draw:
    """A minimum payout per period (SPEC 6.2 `draw`): what pay falls short of it is topped up,
    and with `recoverable` owed back from later pay above it."""

    amount: Decimal  # plan currency, at most 2 decimals, prorated by active days
    recoverable: bool = True


@dataclass(frozen=True)
class Holdback:
    """Long-term pay (SPEC 6.2 `holdback`): `share` of each commission line waits
    `release_after_days` days after the sale for the customer to stay."""

    share: Decimal  # in (0, 1)
    release_after_days: int  # >= 1


@dataclass(frozen=True)
class Activity:
    """An outbound activity quota and its value-weighted fix (SPEC 6.2 `activity`)."""

    channels: tuple[str, ...]
    connected_only: bool
    target: int  # qualifying contacts in the period, >= 1
    bonus: Decimal  # plan currency, at most 2 decimals; paid once when the count reaches target
    distinct_customers: bool
    min_customer_value: Decimal | None  # None: no value weighting (every qualifying contact counts)


@dataclass(frozen=True)
class Outbound:
    channels: tuple[str, ...]
    connected_only: bool
    window_days: int
    share: Decimal


@dataclass(frozen=True)
class ClawbackRule:
    within_days: int
    recover: Decimal


@dataclass(frozen=True)
class Plan:
    """One version of one plan, as one YAML file describes it."""

    plan: str
    version: int
    effective_from: date
    currency: str
    period: str  # "month" | "quarter"
    rounding: str  # "half_up" | "half_even"
    rates: tuple[RateRule, ...]
    attainment_tiers: tuple[Tier, ...] | None = None
    quality: Quality | None = None
    outbound_credit: Outbound | None = None
    clawback: tuple[ClawbackRule, ...] | None = None
    cap: Decimal | None = None
    negative_balance: str = "carry_forward"  # "carry_forward" | "pay"
    tier_mode: str = "marginal"  # "marginal" | "retroactive": how attainment_tiers apply (SPEC 6.2)
    outcome_bonus: OutcomeBonus | None = None
    draw: Draw | None = None
    holdback: Holdback | None = None
    activity: Activity | None = None
    source: str = ""  # the file it came from, as given
    sha256: str = ""  # of the file's bytes


@dataclass(frozen=True)
class PlanSet:
    """All plan versions of a plans directory, sorted by (plan, version)."""

    plans: tuple[Plan, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[str]:
        return sorted({p.plan for p in self.plans})

    def versions(self, plan_id: str) -> list[Plan]:
        return sorted((p for p in self.plans if p.plan == plan_id), key=lambda p: p.effective_from)

    def kind(self, plan_id: str) -> str | None:
        versions = self.versions(plan_id)
        return versions[0].period if versions else None

    def in_force(self, plan_id: str, day: date) -> Plan | None:
        """The version with the greatest effective_from <= day (a period start)."""
        best = None
        for p in self.versions(plan_id):
            if p.effective_from <= day:
                best = p
        return best

    def replace(self, old: Plan, new: Plan) -> PlanSet:
        """This set with `new` standing in for `old` (used by `diff`)."""
        rest = [p for p in self.plans if p is not old]
        return PlanSet(tuple(sorted([*rest, new], key=lambda p: (p.plan, p.version))))
