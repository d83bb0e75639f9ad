"""Pricing in integers of known scale (`comp_calc.steps.exact`): the rounding of an integer
quotient, the conversions, the choice of integer type and its bound, and that a line at the
bound prices exactly while one past it takes a wider type or the Decimal path."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import polars as pl
import pytest

from comp_calc import engine
from comp_calc.engine import compute, in_decimal
from comp_calc.errors import InputError
from comp_calc.periods import parse_period
from comp_calc.steps import attainment, quality, rate
from comp_calc.steps.exact import (
    HALF_EVEN, HALF_UP, INT64_LIMIT, Scales, UnitTypes, div_round_units, from_units, pricing_units, round_units, units,
)  # fmt: skip
from factories import inputs, plan, plans, rates, rep, sale, tiers


def _round(numerators, divisor, rounding, dtype=pl.Int64):
    frame = pl.DataFrame({"n": numerators, "d": [divisor] * len(numerators)}, schema={"n": dtype, "d": dtype})
    return frame.select(round_units(pl.col("n"), pl.col("d"), rounding, dtype)).to_series().to_list()


def test_an_exact_half_rounds_away_from_zero_or_to_even():
    # 5/2 = 2.5 -> 3 | 2;  7/2 = 3.5 -> 4 | 4;  -5/2 = -2.5 -> -3 | -2;  -7/2 = -3.5 -> -4 | -4
    assert _round([5, 7, -5, -7], 2, HALF_UP) == [3, 4, -3, -4]
    assert _round([5, 7, -5, -7], 2, HALF_EVEN) == [2, 4, -2, -4]


def test_off_a_half_both_modes_round_to_the_nearest():
    # 7/3 = 2.33 -> 2; 8/3 = 2.67 -> 3; -7/3 = -2.33 -> -2; -8/3 = -2.67 -> -3; 0/28 = 0
    for mode in (HALF_UP, HALF_EVEN):
        assert _round([7, 8, -7, -8, 0], 3, mode) == [2, 3, -2, -3, 0]


def test_rounding_may_be_a_column():
    frame = pl.DataFrame({"n": [25, 25, -25, -25], "d": [10] * 4, "r": [HALF_UP, HALF_EVEN, HALF_UP, HALF_EVEN]})
    # 2.5 -> 3 (half_up), 2 (half_even); -2.5 -> -3, -2
    assert frame.select(round_units(pl.col("n"), pl.col("d"), pl.col("r"), pl.Int64)).to_series().to_list() == [3, 2, -3, -2]


def test_int128_rounds_the_same_way_past_the_int64_range():
    # (10^30 + 1) / 2 = 5 * 10^29 + 0.5: half_up one more, half_even stays (5 * 10^29 is even)
    n = 10**30 + 1
    assert _round([n, -n], 2, HALF_UP, pl.Int128) == [5 * 10**29 + 1, -(5 * 10**29 + 1)]
    assert _round([n, -n], 2, HALF_EVEN, pl.Int128) == [5 * 10**29, -(5 * 10**29)]


def _div(numerators, num_scale, days, digits, modes):
    frame = pl.DataFrame({"n": numerators, "days": days, "r": modes})
    return frame.select(div_round_units(pl.col("n"), num_scale, pl.col("days"), digits, pl.col("r"), pl.Int64)).to_series().to_list()


def test_div_round_units_rescales_to_the_digits_then_rounds_once():
    # 14400 units of scale 1 = 1440.0; / 28 = 51.428571... -> 51.43 = 5143 cents
    assert _div([14400], 1, [28], 2, [HALF_UP]) == [5143]
    # 0.70 (70 units of scale 2) / 28 = 0.025 exactly: 0.03 half_up, 0.02 half_even
    assert _div([70, 70], 2, [28, 28], 2, [HALF_UP, HALF_EVEN]) == [3, 2]
    # scale 4 to cents: 0.0250 / 1 = 2.5 cents -> 3 | 2; -0.0250 -> -3 | -2
    assert _div([250, 250, -250, -250], 4, [1] * 4, 2, [HALF_UP, HALF_EVEN, HALF_UP, HALF_EVEN]) == [3, 2, -3, -2]
    # scale 0 to 1 digit (the numerator is scaled up first): 7 / 2 = 3.5 = 35 tenths, exact
    assert _div([7], 0, [2], 1, [HALF_EVEN]) == [35]


def test_units_and_back_are_exact():
    values = pl.Series([D("1.5"), D("-0.25"), None], dtype=pl.Decimal(38, 2))
    frame = pl.DataFrame({"v": values})
    # 1.50 at scale 4 is 15000 units, -0.25 is -2500
    u = frame.select(units(pl.col("v"), 4))
    assert u.to_series().to_list() == [15000, -2500, None] and u.dtypes == [pl.Int64]
    back = u.select(from_units(pl.col("v"), 4)).to_series()
    assert back.dtype == pl.Decimal(38, 4) and back.to_list() == [D("1.5000"), D("-0.2500"), None]
    # past Int64: 12345678901234567890.123456 is 12345678901234567890123456 units of 10^-6
    big = pl.DataFrame({"v": pl.Series([D("12345678901234567890.123456")], dtype=pl.Decimal(38, 6))})
    assert big.select(units(pl.col("v"), 6, pl.Int128)).item() == 12345678901234567890123456


def test_a_value_outside_the_integer_type_is_an_error_not_a_wrapped_number():
    big = pl.DataFrame({"v": pl.Series([D("10000000000000000000")], dtype=pl.Decimal(38, 0))})  # 10^19 > 2^63
    with pytest.raises(pl.exceptions.InvalidOperationError):
        big.select(units(pl.col("v"), 0, pl.Int64))


# scales that make every bound easy to read: credited and scaled_credit 2 (k = 0), commission 2
PLAIN = Scales(amount=2, quota=0, share=0, up_to=0, rate=0, tier_multiplier=0, quality_multiplier=0, recover=0)


def _types(credit_max: int, credit_sum: int, scales: Scales = PLAIN, **kw) -> UnitTypes | None:
    args = {"days_max": 1, "edge_max": 0, "rx_max": 1, "qm_max": 1, "bands": 1} | kw
    return pricing_units(scales, credit_max=credit_max, credit_sum=credit_sum, **args)


def test_the_narrowest_type_is_chosen_at_the_documented_limits():
    # running bound 2 * credit_sum * days (D = 1) below 2^62: credit_sum < 2^61; products bound
    # credit_max * rx * qm * bands = credit_max below 2^62; the divisor 2 * 1 * 10^0 is small
    assert _types(2**61 - 1, 2**61 - 1) == UnitTypes(pl.Int64(), pl.Int64())
    assert _types(2**61, 2**61) == UnitTypes(pl.Int128(), pl.Int64())  # the running credit needs Int128
    assert _types(2**62, 2**62) == UnitTypes(pl.Int128(), pl.Int128())
    assert _types(1, 2**125 - 1) == UnitTypes(pl.Int128(), pl.Int64())  # 2 * (2^125 - 1) < 2^126
    assert _types(1, 2**125) is None  # 2 * 2^125 = 2^126: not even Int128 -> the Decimal path
    # the Decimal path divides at 2 + 2 + 4 = 8 decimals, 10^6 times the commission's 2: a numerator
    # of 10^32 units would need 10^38 there, more than its 38 digits -> the Decimal path (which refuses)
    assert _types(10**32 - 1, 1) == UnitTypes(pl.Int64(), pl.Int128())
    assert _types(10**32, 1) is None
    # every factor counts: D = 31, 3 bands, rate x multiplier 125 units, quality 12 units:
    # 2^62 // (31 * 3 * 125 * 12) = 33,059,022,540,159 is the largest Int64 credit
    largest = INT64_LIMIT // (31 * 3 * 125 * 12)
    assert _types(largest, largest, days_max=31, bands=3, rx_max=125, qm_max=12).products == pl.Int64()
    assert _types(largest + 1, largest + 1, days_max=31, bands=3, rx_max=125, qm_max=12).products == pl.Int128()
    # a band edge counts like the running credit: 2 * edge below 2^62
    assert _types(1, 1, edge_max=2**61).running == pl.Int128()


# one line, one open band, every factor at most: the scales of a plan with rate and multipliers of 6 decimals
WIDE = Scales(amount=2, quota=0, share=0, up_to=0, rate=6, tier_multiplier=0, quality_multiplier=6, recover=0)
RX, QM, DAYS = 999_999, 1_999_999, 31  # rate 0.999999 (tier multiplier 1), quality 1.999999


def _price_one_line(credited_units: int, rounding: str, types: UnitTypes) -> int:
    """The steps' integer path on one line alone in its rep-period: its amount in cents."""
    line = pl.LazyFrame(
        {
            "row": [0], "credited": pl.Series([D(credited_units).scaleb(-2)], dtype=pl.Decimal(38, 2)), "p_days": [DAYS],
            "rounding": [rounding], "lo_0": pl.Series([0], dtype=types.running), "hi_0": pl.Series([None], dtype=types.running),
            "rate_x_multiplier_0": pl.Series([RX], dtype=types.products), "qm_units": pl.Series([QM], dtype=types.products),
        }  # fmt: skip
    )
    priced = attainment.running_credit(line, WIDE, "row", types).with_columns(base_d=rate.base_times_days(1, WIDE, types))
    return priced.select(quality.line_commission_units(WIDE, types)).collect().item()  # cents


def _exact_cents(credited_units: int, rounding: str) -> int:
    """The same line by hand, in fractions: credited * D * rate * quality / D, rounded once to cents."""
    value = Fraction(credited_units, 100) * DAYS * Fraction(RX, 10**6) * Fraction(QM, 10**6) / DAYS * 100
    whole, rest = divmod(value, 1)
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (whole % 2 == 1 if rounding == HALF_EVEN else whole >= 0)):
        whole += 1
    return int(whole)


@pytest.mark.parametrize("rounding", [HALF_UP, HALF_EVEN])
def test_a_line_at_the_int64_limit_prices_exactly_and_one_past_it_takes_int128(rounding: str):
    # products bound: credit * D * RX * QM (one band) below 2^62 -> the largest Int64 credit
    largest = (INT64_LIMIT - 1) // (DAYS * RX * QM)
    at = pricing_units(WIDE, credit_max=largest, credit_sum=largest, days_max=DAYS, edge_max=0, rx_max=RX, qm_max=QM, bands=1)
    assert at == UnitTypes(pl.Int64(), pl.Int64())
    assert _price_one_line(largest, rounding, at) == _exact_cents(largest, rounding)
    # ten times more no longer fits Int64 products: the bound picks Int128, which prices exactly ...
    past = pricing_units(WIDE, credit_max=10 * largest, credit_sum=10 * largest, days_max=DAYS, edge_max=0, rx_max=RX, qm_max=QM, bands=1)
    assert past == UnitTypes(pl.Int64(), pl.Int128())
    assert _price_one_line(10 * largest, rounding, past) == _exact_cents(10 * largest, rounding)
    # ... where Int64 would have wrapped silently: the bound is what keeps the result right
    assert _price_one_line(10 * largest, rounding, UnitTypes(pl.Int64(), pl.Int64())) != _exact_cents(10 * largest, rounding)


def test_a_line_at_the_last_integer_credit_prices_exactly_in_int128():
    # the commission has 14 decimals, the Decimal path divides at 20: the numerator must stay
    # below 10^32 units; the running credit, 2 * credit * 31, is then past Int64 too
    largest = (10**32 - 1) // (DAYS * RX * QM)
    types = pricing_units(WIDE, credit_max=largest, credit_sum=largest, days_max=DAYS, edge_max=0, rx_max=RX, qm_max=QM, bands=1)
    assert types == UnitTypes(pl.Int128(), pl.Int128())
    for rounding in (HALF_UP, HALF_EVEN):
        assert _price_one_line(largest, rounding, types) == _exact_cents(largest, rounding)
    assert pricing_units(WIDE, credit_max=largest + 1, credit_sum=largest + 1, days_max=DAYS, edge_max=0, rx_max=RX, qm_max=QM, bands=1) is None


def _run(amount: str, monkeypatch, integer: bool):
    monkeypatch.setattr(engine, "INTEGER_PRICING", integer)
    bands = tiers(("0.5", "1.123456"), ("1.0", "1.5"), (None, "2.654321"))
    ps = plans(plan(rates=rates((None, "0.123456")), attainment_tiers=bands))
    inp = inputs([rep("R1", quota="1000")], [sale("S1", "R1", amount, "2026-01-02"), sale("S2", "R1", "0.05", "2026-01-03")])
    return compute(ps, inp, parse_period("2026-01"))


# Scales: credited 2, scaled_credit max(2, 0 + 1) = 2, rate x multiplier 6 + 6 = 12 (the largest
# 0.123456 * 2.654321 = 0.327694... = 327,694,... units, about 3.28e11), base 14, commission 14;
# 3 bands, D = 31; the products bound is 3 * credit units * 31 * 3.28e11
@pytest.mark.parametrize(
    "amount, stored",
    [
        # 1000.00 = 10^5 units: 3 * 10^5 * 31 * 3.28e11 = 3.0e18 < 2^62 = 4.6e18: Int64 throughout
        ("1000.00", (pl.Int64, pl.Int64)),
        # 12 integer digits, 10^14 units: 3.0e27, past Int64: Int128 products (the running credit,
        # 2 * 10^14 * 31 = 6.2e15, stays Int64); the Decimal path's widest value, 3.0e27 * 10^6, fits 10^38
        ("999999999999.99", (pl.Int64, pl.Int128)),
        # 5 * 10^18 units: 3 * 5e18 * 31 * 3.28e11 * 10^6 = 1.5e38 cannot be proven to fit the
        # Decimal path's 38 digits, so the Decimal path runs (and does fit: one band holds the line)
        ("50000000000000000.00", (pl.Decimal, pl.Decimal)),
    ],
)
def test_the_engine_takes_the_documented_path_and_prices_as_the_decimal_path_does(amount: str, stored, monkeypatch):
    fast = _run(amount, monkeypatch, True)
    assert tuple(type(fast.commission_lines.schema[c]) for c in ("run_to", "base_d")) == tuple(stored)
    if stored[0] is not pl.Decimal:  # the integer path keeps what fits Int64 as units: 8 bytes a line, not 16
        assert [fast.commission_lines.schema[c] for c in ("credited", "rate", "amount")] == [pl.Int64] * 3
    slow = _run(amount, monkeypatch, False)
    assert isinstance(slow.commission_lines.schema["base_d"], pl.Decimal)
    assert in_decimal(fast.commission_lines.lazy(), fast.tables.scales).collect().equals(slow.commission_lines)
    assert fast.grid.equals(slow.grid)


def test_a_run_too_large_for_exact_arithmetic_is_refused_on_either_path(monkeypatch):
    # 10^22 units: even one band's numerator, 10^22 * 31 * 3.28e11 * 10^6 at the guard scale, passes 10^38
    for integer in (True, False):
        with pytest.raises(InputError) as e:
            _run("100000000000000000000.00", monkeypatch, integer)
        assert e.value.diagnostics[0].code == "number-too-large"


def _credits(values: list[str], scale: int = 4) -> pl.DataFrame:
    return pl.DataFrame({"credited": [D(v) for v in values]}, schema={"credited": pl.Decimal(38, scale)})


def test_the_credit_bound_adds_up_the_decimals_integers_in_units_of_the_run_scale():
    # credits 1.5000, -2.2500, 0.0001 at scale 4, in units of 10^-6 (the run's credited scale):
    # largest |-2.25| = 2250000; sum of magnitudes 1.5 + 2.25 + 0.0001 = 3.7501 -> 3750100
    assert engine._credit_units(_credits(["1.5", "-2.25", "0.0001"]), 6) == (2_250_000, 3_750_100)
    assert engine._credit_units(_credits([]), 6) == (0, 0)


def test_credits_whose_sum_may_pass_38_digits_are_added_as_decimals_and_refused_when_they_do():
    # two credits of 6 * 10^33 at scale 4 are 6 * 10^37 units each: largest * 2 >= 10^38, so the
    # Decimal sum decides; it is 1.2 * 10^38 units, past 38 digits: None (the Decimal path refuses)
    big = str(6 * 10**33)
    assert engine._credit_units(_credits([big, big]), 4) is None
    # one of them and a small one: 6 * 10^37 * 2 >= 10^38 still takes the Decimal sum, which fits;
    # in units exactly (38 digits: Decimal arithmetic's default 28 would round the 10^4 away)
    assert engine._credit_units(_credits([big, "1"]), 4) == (6 * 10**37, 6 * 10**37 + 10**4)
