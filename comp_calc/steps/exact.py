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

Integers of known scale. A line's pricing (running credit, band pieces, base and commission,
steps 2-4) is computed in integers (Int64, or Int128 where needed): a quantity q of scale s is held as the integer
u = q * 10^s, its count of 10^-s units (`units`). This is the same number, not an approximation:
q has at most s decimals by the choice of s above, so u is an integer and q = u / 10^s exactly.
On integers the operations are exact as long as no result leaves the type:
- sum and difference of two quantities of one scale s: u1 +- u2, at scale s (the cumulative
  sum of the running credit is such sums);
- product: (u1 at s1) * (u2 at s2) = (q1 * q2) * 10^(s1 + s2): the product at scale s1 + s2,
  exact with no rescaling (the Decimal path casts both operands to that scale first);
- comparisons, min and max of quantities of one scale compare the quantities;
- division by a period's day count D with one rounding to r digits (`div_round_units`): the
  quotient's count of 10^-r units is n / d with n = u * 10^max(0, r - s) and
  d = D * 10^max(0, s - r), a rational number computed exactly by integer floor division
  q = floor(n / d) and remainder m = n - q * d, 0 <= m < d: 2m < d rounds down to q, 2m > d up
  to q + 1, and 2m = d is the exact tie, broken half-up (away from zero: q + 1 when q >= 0,
  q when q < 0, because the value is q + 1/2) or half-even (to whichever of q, q + 1 is even).
  No guard digits are needed: nothing is truncated before the comparison.
The half-up tie rule matches the Decimal path's `half_away_from_zero` and half-even its
`half_to_even`, applied to the same exact rational value, so both give the same cents.
The only way to be wrong is to leave the integer type's range, where polars integers wrap
silently. So the integer path is taken only when a bound computed before it (`pricing_units`)
proves that every intermediate value (listed there) stays below 2^62 in magnitude (Int64) or
2^126 (Int128), from the largest line credit, the sum of all credits, the largest band edge,
rate x multiplier and quality multiplier and the longest period; otherwise the run is priced
on the Decimal path above, which is kept as it was (and raises `number-too-large` where a value
does not fit 38 digits). The bound holds with room: each limit is a quarter of its type's
range, so doubling a bounded value (2m, two-sided differences) cannot overflow either. The
integer path is also refused where the bounds do not prove that the Decimal path's widest
values fit 38 digits, so that both paths compute, or refuse, the same runs.
Both paths give the same numbers; the integer results are turned back into Decimal columns of
the Decimal path's scales (`from_units`) where they leave pricing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

MAX_PRECISION = 38
HALF_UP = "half_up"
HALF_EVEN = "half_even"
_MODES = {HALF_UP: "half_away_from_zero", HALF_EVEN: "half_to_even"}
# a version's rounding as a column: carried by millions of lines, so an enum (4 bytes), not text
ROUNDING = pl.Enum([HALF_EVEN, HALF_UP])
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
    return pl.lit(decimal_text(value, scale), dtype=pl.String).cast(dec(scale))


def decimal_text(value: Decimal | int | None, scale: int) -> str | None:
    """`value` as plain decimal text (`1000`, not `1E+3`), which a cast to `scale` decimals keeps
    exactly. Plan numbers reach polars as such text, never as Python Decimals: converting one
    makes polars import numpy, a tenth of a second of every run."""
    if value is None:
        return None
    text = format(Decimal(value), "f")
    if len(text.partition(".")[2].rstrip("0")) > scale:  # scales are taken from the values: never
        raise ValueError(f"{value} has more than {scale} decimals")
    return text


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


# ---------------------------------------------------------------- integers of known scale (see above)

INT64_LIMIT = 2**62  # an Int64 intermediate stays below this in magnitude (`pricing_units`)
INT128_LIMIT = 2**126  # an Int128 one below this (which is also below 10^38, the Decimal's reach)


@dataclass(frozen=True)
class UnitTypes:
    """The integer types of the integer path (`pricing_units`): `running` for the running credit,
    band edges and pieces (units of `Scales.scaled_credit`), `products` for the products of
    pieces, rates and multipliers and their division (units of `Scales.base` and `Scales.commission`)."""

    running: pl.DataType
    products: pl.DataType


def units(expr: pl.Expr, scale: int, dtype: pl.DataType = pl.Int64) -> pl.Expr:
    """A Decimal column of scale <= `scale` as its count of 10^-scale units, of integer type `dtype`:
    exact (a rescale by a power of ten, then the Decimal's own 128-bit integer). A value outside
    `dtype` is an error of the cast, never a wrapped number; `pricing_units` keeps values far below."""
    return expr.cast(dec(scale)).to_physical().cast(dtype)


def from_units(expr: pl.Expr, scale: int) -> pl.Expr:
    """An integer count of 10^-scale units as the Decimal(38, scale) it stands for: u * 10^-scale,
    exact (a product of scale 0 + scale needs no rounding)."""
    return expr.cast(dec(0)) * lit(Decimal(1).scaleb(-scale), scale)


def exact_sum(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """The sum of `column`: of Decimals, their Decimal sum; of integer units of 10^-scale (as the
    engine may store a line's values), the Decimal(38, scale) they add up to. Int64 units are added
    up as 128-bit integers: fewer than 2^63 values below 2^63 each sum below 2^126, inside Int128,
    and a sum past 38 digits fails the Decimal cast, as a Decimal sum would. Wider units are made
    Decimals first, whose sum fails rather than wraps."""
    if dtype == pl.Int128:
        return from_units(pl.col(column), scale).sum()
    if dtype.is_integer():
        return from_units(pl.col(column).cast(pl.Int128).sum(), scale)
    return pl.col(column).sum()


def round_units(numerator: pl.Expr, divisor: pl.Expr, rounding: pl.Expr | str, dtype: pl.DataType) -> pl.Expr:
    """round(numerator / divisor) of two integer columns of type `dtype`, `divisor` > 0, half_up
    (away from zero) or half_even; `rounding` may be a column. Exact (see the module docstring):
    q = floor(n / d), m = n - q * d; up when 2m > d, or 2m = d and the tie goes up."""
    q = numerator // divisor
    twice = 2 * (numerator - q * divisor)
    if isinstance(rounding, str):
        tie_up = q >= 0 if rounding == HALF_UP else (q & 1) == 1
    else:
        tie_up = pl.when(rounding == HALF_UP).then(q >= 0).otherwise((q & 1) == 1)
    up = (twice > divisor) | ((twice == divisor) & tie_up)
    return q + up.cast(dtype)


def div_round_units(
    numerator: pl.Expr, num_scale: int, divisor: pl.Expr, digits: int, rounding: pl.Expr | str, dtype: pl.DataType
) -> pl.Expr:
    """`div_round` on integers of type `dtype`: `numerator` counts 10^-num_scale units, `divisor`
    is a positive integer column (a period's day count); the result counts 10^-digits units of
    the exact quotient rounded once."""
    numerator, divisor = numerator.cast(dtype), divisor.cast(dtype)
    if num_scale >= digits:
        return round_units(numerator, divisor * pl.lit(10 ** (num_scale - digits), dtype=dtype), rounding, dtype)
    return round_units(numerator * pl.lit(10 ** (digits - num_scale), dtype=dtype), divisor, rounding, dtype)


def _int_type(bound: int) -> pl.DataType | None:
    """The narrower integer type that holds every value of magnitude <= `bound` with room (None: neither)."""
    return pl.Int64() if bound < INT64_LIMIT else pl.Int128() if bound < INT128_LIMIT else None


def pricing_units(
    scales: Scales, *, credit_max: int, credit_sum: int, days_max: int, edge_max: int, rx_max: int, qm_max: int, bands: int
) -> UnitTypes | None:
    """The integer types a line's pricing fits in (None: it must take the Decimal path).

    Arguments are magnitudes in units: `credit_max` and `credit_sum` the largest line credit and
    the sum of all line credits' magnitudes (at scale `scales.credited`), `edge_max` the largest
    band edge (at `scales.scaled_credit`, times D), `rx_max` the largest rate x tier multiplier
    (at `scales.rate + scales.tier_multiplier`), `qm_max` the largest quality multiplier (at
    `scales.quality_multiplier`, 1 included), `days_max` the longest period, `bands` the most
    bands. With k = scaled_credit - credited and P = credit_max * 10^k * days_max (a line's
    credit times D), R = credit_sum * 10^k * days_max (any running credit or rep-period total):

    - running: run_from, run_to, totals <= R; min/max against an edge <= max(R, edge_max), so
      the difference of a piece <= 2 max(R, edge_max);
    - products: a counted piece <= P (a line's pieces add up to at most its own credit);
      base_d <= bands * P * rx_max; the commission numerator <= base_d * qm_max (times
      10^(2 - commission) when its scale is below 2); its divisor D * 10^(commission - 2), and
      twice a remainder (< 2 divisors).

    Each group takes Int64 when its bound is below 2^62, else Int128 below 2^126; the room of a
    factor 2 covers doubling a bounded value. Quantities shown to the reader (the base, tier
    pieces) are computed from `from_units` columns on the Decimal path, not here.

    None also when the same bounds do not prove that the Decimal path would fit its 38 digits
    (its widest values: the running credit, and the numerator of the line's division at
    `division_scale(commission, 2)`): the integer path is taken only where the Decimal path
    would compute too, so a run the Decimal path refuses (`number-too-large`) is refused as
    before, and every run gives what it gave before. (So Int128 products stay below 10^32.)
    """
    k = scales.scaled_credit - scales.credited
    piece = credit_max * 10**k * days_max
    running = credit_sum * 10**k * days_max
    numerator = bands * piece * rx_max * qm_max
    run_bound = 2 * max(running, edge_max)
    run_type = _int_type(run_bound)
    product_type = _int_type(max(numerator * 10 ** max(0, 2 - scales.commission), 2 * days_max * 10 ** max(0, scales.commission - 2)))
    # the Decimal path's widest values (the numerators of its divisions at their guard scales, the
    # running credit): where one might not fit 38 digits, the Decimal path runs and says so
    decimal = 10**MAX_PRECISION
    within = run_bound < decimal and numerator * 10 ** (division_scale(scales.commission, 2) - scales.commission) < decimal
    if run_type is None or product_type is None or not within:
        return None
    return UnitTypes(run_type, product_type)


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
