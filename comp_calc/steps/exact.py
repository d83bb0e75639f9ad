"""Exact decimal arithmetic on polars Decimal columns.

polars keeps a Decimal product at the larger of the two operand scales and
rounds the rest away, so a product is exact only when both operands are first
cast to a scale at least the sum of their own scales. The engine therefore
works at one *working scale* chosen from the inputs (see `Scales`): every
product it forms fits in it exactly, and the only inexact operation, the
division by a period's day count that proration needs, is immediately
rounded by `div_round`, which is proven exact below.

Overflow. A Decimal holds 38 digits, so a value of scale s has 38 - s digits for its
integer part. Every scale below is a sum of the decimals written in the inputs (amounts,
quotas, exchange rates: at most 6 each; plan numbers: at most 6), and the engine refuses a
run whose largest one, `Scales.division`, leaves fewer than 10 integer digits
(`engine.MIN_INTEGER_DIGITS`). A product that still does not fit (an amount of 15 integer
digits times an exchange rate of 15, say) is not wrapped or truncated: polars raises an
overflow error, which the engine reports as `number-too-large` (an input error), so no
result is ever computed from a value that lost digits. The exchange rate enters through
`credited` (amount * share * rate), whose scale includes the rate's (`Scales.fx`), and so
through every scale built on it (`scaled_credit`, `base`, `commission`, `division`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

MAX_PRECISION = 38
HALF_UP = "half_up"
HALF_EVEN = "half_even"
_MODES = {HALF_UP: "half_away_from_zero", HALF_EVEN: "half_to_even"}
MONEY = pl.Decimal(MAX_PRECISION, 2)  # amounts in cents: line commissions, sums, payouts
# Guard digits for div_round. With a numerator of scale s divided by an
# integer d <= 999 and rounded to r digits, the exact quotient V = n/(d*10^s)
# differs from any rounding tie t = (2m+1)/(2*10^r), unless equal, by at least
# 1/(2*d*10^(s+r)) > 10^-(s+r+4). Computing V at scale s+r+4 (error at most one
# unit there) therefore lands on the same side of every tie, and an exact tie
# is representable at that scale; so one rounding of the quotient at that scale
# equals the rounding of the exact rational value.
_GUARD = 4


def scale_of(value: Decimal) -> int:
    """Decimals written in `value` (0.004 -> 3, 10 -> 0, 1.50 -> 2)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def dec(scale: int) -> pl.Decimal:
    return pl.Decimal(MAX_PRECISION, scale)


def lit(value: Decimal | int | None, scale: int) -> pl.Expr:
    return pl.lit(None if value is None else Decimal(value), dtype=dec(scale))


def round_to(expr: pl.Expr, digits: int, rounding: pl.Expr | str) -> pl.Expr:
    """Round half_up (away from zero) or half_even; `rounding` may be a column."""
    if isinstance(rounding, str):
        return expr.round(digits, mode=_MODES[rounding]).cast(dec(digits))
    return (
        pl.when(rounding == HALF_UP)
        .then(expr.round(digits, mode=_MODES[HALF_UP]))
        .otherwise(expr.round(digits, mode=_MODES[HALF_EVEN]))
        .cast(dec(digits))
    )


def division_scale(num_scale: int, digits: int) -> int:
    """The scale `div_round` divides at (see _GUARD)."""
    return max(num_scale, digits) + digits + _GUARD


def div_round(numerator: pl.Expr, num_scale: int, divisor: pl.Expr, digits: int, rounding: pl.Expr | str) -> pl.Expr:
    """round(numerator / divisor, digits) of the exact quotient.

    `numerator` is an exact Decimal of scale <= num_scale; `divisor` is a
    positive integer column no larger than 999 (a period's day count).
    """
    work = division_scale(num_scale, digits)
    quotient = numerator.cast(dec(work)) / divisor.cast(dec(work))
    return round_to(quotient, digits, rounding)


@dataclass(frozen=True)
class Scales:
    """How many decimals each exact quantity of a run needs.

    amount: sales amounts; quota: reps' quotas; the rest are the largest
    numbers of decimals written in any plan for that parameter.
    """

    amount: int
    quota: int
    share: int
    up_to: int
    rate: int
    tier_multiplier: int
    quality_multiplier: int  # of the combined multiplier (two metrics multiplied: twice a band's)
    recover: int
    fx: int = 0  # fx_rates.csv rates (SPEC 6.3 currency); 0 when no rate is used

    @property
    def credited(self) -> int:  # amount * share * fx rate
        return self.amount + self.share + self.fx

    @property
    def scaled_credit(self) -> int:  # credited * days and quota * up_to * days share one scale
        return max(self.credited, self.quota + self.up_to)

    @property
    def base(self) -> int:  # scaled piece * rate * tier multiplier
        return self.scaled_credit + self.rate + self.tier_multiplier

    @property
    def commission(self) -> int:  # base * quality multiplier, before the division by days
        return self.base + self.quality_multiplier

    @property
    def division(self) -> int:  # the scale a line's commission is divided at
        return division_scale(self.commission, 2)

    @property
    def clawback(self) -> int:  # recover * a rounded commission
        return 2 + self.recover
