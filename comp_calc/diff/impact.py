"""A plan change priced per rep: each rep's payout under the old and the new plans, as plain data.

    payout_impact(old_result, new_result) -> Impact (one row per rep of either run, totals and counts per currency)
    fail_over(impact, pct) -> the currencies whose total moves by more than pct percent

Totals are per currency (each rep's plan currency, the new run's when it has the rep): pay in
different currencies is never added up.
    reps_over(impact, pct) -> the reps whose payout moves by more than pct percent
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import polars as pl

from comp_calc.engine import RunResult
from comp_calc.outputs.results import payouts_frame
from comp_calc.steps.exact import dec, round_to

MONEY = pl.Decimal(38, 2)
IMPACT_COLUMNS = [
    "rep_id", "name", "team", "plan", "old_earned", "new_earned", "old_clawbacks", "new_clawbacks",
    "old_payout", "new_payout", "delta", "delta_pct", "currency",
]  # fmt: skip
IMPACT_MONEY = {"old_earned", "new_earned", "old_clawbacks", "new_clawbacks", "old_payout", "new_payout", "delta", "delta_pct"}
RESTATEMENT_MONEY = {"old_restatement_due", "new_restatement_due"}


@dataclass(frozen=True)
class Totals:
    """The payout totals of the reps paid in one currency."""

    reps: int
    old_total: Decimal
    new_total: Decimal
    delta: Decimal
    delta_pct: Decimal | None  # None when the old total is 0
    gain: int
    lose: int
    same: int

    def as_dict(self) -> dict:
        return {
            "reps": self.reps,
            "old_payout": self.old_total,
            "new_payout": self.new_total,
            "delta": self.delta,
            "delta_pct": self.delta_pct,
            "gain": self.gain,
            "lose": self.lose,
            "same": self.same,
        }


@dataclass(frozen=True)
class Impact:
    reps: pl.DataFrame  # IMPACT_COLUMNS, by largest absolute delta, then rep_id
    totals: dict[str, Totals]  # per currency, in code order

    def totals_dict(self) -> dict:
        return {currency: t.as_dict() for currency, t in self.totals.items()}

    @property
    def gain(self) -> int:
        return sum(t.gain for t in self.totals.values())

    @property
    def lose(self) -> int:
        return sum(t.lose for t in self.totals.values())

    @property
    def same(self) -> int:
        return sum(t.same for t in self.totals.values())


def _totals(rows: pl.DataFrame) -> Totals:
    old_total = rows["old_payout"].sum() if rows.height else Decimal("0.00")
    new_total = rows["new_payout"].sum() if rows.height else Decimal("0.00")
    old_total, new_total = Decimal(old_total).quantize(Decimal("0.01")), Decimal(new_total).quantize(Decimal("0.01"))
    delta = new_total - old_total
    pct = None
    if old_total != 0:
        with localcontext() as ctx:
            ctx.prec = 60
            pct = (delta * 100 / old_total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    counts = rows.select(
        gain=(pl.col("delta") > 0).sum(), lose=(pl.col("delta") < 0).sum(), same=(pl.col("delta") == 0).sum()
    ).row(0, named=True)
    return Totals(rows.height, old_total, new_total, delta, pct, int(counts["gain"]), int(counts["lose"]), int(counts["same"]))


def _pct(delta: pl.Expr, old: pl.Expr) -> pl.Expr:
    """round(delta / old * 100, 2), half away from zero, exactly.

    With delta and old in cents (d, o integers, |o| < 10^16), the quotient
    100 d / o differs from a rounding tie by at least 1 / (200 |o|) > 10^-19
    unless it is one, so computing it at 20 decimals and rounding once gives
    the rounding of the exact value.
    """
    work = dec(20)
    return pl.when(old != 0).then(round_to(delta.cast(work) * 100 / old.cast(work), 2, "half_up"))


RESTATEMENT_COLUMNS = ["old_restatement_due", "new_restatement_due"]


def payout_impact(old: RunResult, new: RunResult, restatement: bool = False) -> Impact:
    """Each rep of either run with old/new earned, clawbacks, payout and the delta; with
    `restatement` (runs that restate closed periods) also each run's restatement due (the
    restatement line plus what stays open) after `currency`."""
    due = (pl.col("restatement") + pl.col("restatement_open")).cast(MONEY).alias("restatement_due")
    keep = ["rep_id", "name", "team", "plan", "earned", "clawbacks", "payout", "currency", *(["restatement_due"] if restatement else [])]
    o = payouts_frame(old).with_columns(due).select(keep).rename({c: f"old_{c}" for c in keep[1:]})
    n = payouts_frame(new).with_columns(due).select(keep).rename({c: f"new_{c}" for c in keep[1:]})
    zero = pl.lit(0, dtype=MONEY)
    extra = RESTATEMENT_COLUMNS if restatement else []
    rows = (
        o.join(n, on="rep_id", how="full", coalesce=True)
        .with_columns(
            name=pl.coalesce("old_name", "new_name"),
            team=pl.coalesce("old_team", "new_team"),
            plan=pl.coalesce("new_plan", "old_plan"),
            currency=pl.coalesce("new_currency", "old_currency").fill_null(""),
            **{c: pl.col(c).fill_null(zero) for c in sorted(IMPACT_MONEY - {"delta", "delta_pct"}) + extra},
        )
        .with_columns(delta=(pl.col("new_payout") - pl.col("old_payout")).cast(MONEY))
        .with_columns(delta_pct=_pct(pl.col("delta"), pl.col("old_payout")))
        .sort([pl.col("delta").abs(), pl.col("rep_id")], descending=[True, False])
        .select(IMPACT_COLUMNS + extra)
    )
    currencies = sorted(set(rows["currency"].to_list()))
    return Impact(rows, {c: _totals(rows.filter(pl.col("currency") == c)) for c in currencies})


def fail_over(impact: Impact, pct: Decimal) -> list[str]:
    """The currencies whose |total delta| / old total * 100 > pct (an old total of 0 trips on any change)."""
    return [
        c for c, t in impact.totals.items()
        if (t.delta != 0 if t.old_total == 0 else abs(t.delta) * 100 > pct * abs(t.old_total))
    ]  # fmt: skip


def reps_over(impact: Impact, pct: Decimal) -> list[str]:
    """The reps whose |delta| / |old payout| * 100 > pct (a rep paid 0 before: any change), by rep_id.
    Compared exactly, cross-multiplied, not through the rounded delta_pct."""
    over = impact.reps.filter(
        pl.when(pl.col("old_payout") == 0)
        .then(pl.col("delta") != 0)
        .otherwise(pl.col("delta").abs().cast(dec(20)) * 100 > pl.lit(pct).cast(dec(20)) * pl.col("old_payout").abs().cast(dec(20)))
    )
    return sorted(over["rep_id"].to_list())
